"""Importing contacts: validate, find duplicates, write in bulk, all or nothing.

Readers (``crmcli.io``) turn a file into :class:`~crmcli.io.record.Record` objects; this module
checks each one, matches it against existing contacts and against the file itself, and writes
batches with ``executemany`` inside one transaction. Nothing is held per row beyond the current
batch, so memory stays flat however long the file; duplicates across batches are found in the
database itself, which already holds the earlier batches (uncommitted, visible to this
connection).

Which row is which contact is decided by the identity rules (:mod:`crmcli.identity`, the same
ones as ``crm contact add`` and ``crm dedupe``): the same UID, email, phone and name, or name and
company, with no conflicting evidence. A row that conflicts becomes a new contact, counted as a
possible duplicate when the rules say so.
"""

from __future__ import annotations

import gc
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from crmcli import search
from crmcli.clock import local_naive, to_utc_text
from crmcli.contacts import EMAIL_PATTERN, PHONE_PATTERN, TEXT_FIELDS
from crmcli.db import transaction
from crmcli.errors import NotFound, UsageError, ValidationError
from crmcli.identity import phone_digits, same_phone
from crmcli.import_matching import Matcher, RowKeys, personal_name
from crmcli.io.record import NOTES_SEPARATOR, Record, Rejected

POLICIES = ("skip", "update", "merge", "create")
BATCH_SIZE = 5000
#: how many bad rows an all-or-nothing failure lists (the count is always exact)
MAX_LISTED = 1000
#: the custom field that keeps imported notes until the notes module is connected

# the same rules as crm contact add, compiled once for the row loop
_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE = re.compile(PHONE_PATTERN, re.IGNORECASE)
_FIELD_KEY_BAD = re.compile(r"[^A-Za-z0-9_. -]+")
_BUILTIN_KEYS = {*TEXT_FIELDS, "birthday", "anniversary", "referred_by", "cadence", "emails",
                 "phones", "tags", "email", "phone", "tag", "name", "id"}  # fmt: skip
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_TIME_SUFFIX = re.compile(
    r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2}|am|pm)?$", re.I
)
_SHORT_YEAR = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2})$")


@dataclass
class ImportOptions:
    """How to import: duplicate policy, dry run, skip invalid rows, tags to add to every row."""

    on_duplicate: str = "merge"
    dry_run: bool = False
    skip_invalid: bool = False
    tags: list[str] = field(default_factory=list)
    day_first: bool = False
    batch_size: int = BATCH_SIZE
    #: save this mapping (column -> target) under a name, in the same transaction
    save_map: tuple[str, dict[str, str]] | None = None


@dataclass
class Problem:
    """A row or card that cannot be imported, and why."""

    position: str
    reason: str

    def __str__(self) -> str:
        return f"{self.position}: {self.reason}"


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    skipped: int = 0
    rejected: int = 0
    #: rows that became new contacts although they may be existing ones (see crm dedupe)
    possible_duplicates: int = 0
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "merged": self.merged,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "possible_duplicates": self.possible_duplicates,
        }


class ImportRejected(ValidationError):
    """The file has bad rows and --skip-invalid was not given: nothing was imported."""

    def __init__(self, result: ImportResult) -> None:
        count = result.rejected
        listed = "\n".join(f"  {p}" for p in result.problems)
        more = count - len(result.problems)
        if more > 0:
            listed += f"\n  ... and {more} more"
        super().__init__(
            f"{count} row(s) cannot be imported, so nothing was imported",
            hint=f"{listed}\nFix them and import again, or add --skip-invalid to import the "
            "other rows and write these to a rejects file.",
        )
        self.result = result


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


#: called with (position, action, contact name, contact id, id of a contact it may duplicate)
#: for every row, in a dry run
ActionHook = Callable[[str, str, str, int | None, int | None], None]
RejectHook = Callable[[Problem, Any], None]
ProgressHook = Callable[[int], None]


# --- validation -----------------------------------------------------------------------------------


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$|^--(\d{2})-?(\d{2})$")
_NOT_DIGIT = re.compile(r"\D")


def _parse_date(text: str, day_first: bool) -> tuple[int | None, int, int]:
    from crmcli.dates import parse_yearly

    iso = _ISO_DATE.match(text)
    if iso:  # the common forms, without the general parser
        if iso.group(1):
            year, month, day = int(iso.group(1)), int(iso.group(2)), int(iso.group(3))
        else:
            year, month, day = 2000, int(iso.group(4)), int(iso.group(5))
        date(year, month, day)  # ValueError for a day that does not exist
        return (None if not iso.group(1) or year == 1604 else year), month, day
    value = _TIME_SUFFIX.sub("", text.strip())
    short = _SHORT_YEAR.match(value)
    if short:  # 4/15/80: a two-digit year is 19xx when that is in the past
        year = int(short.group(3))
        value = f"{short.group(1)}/{short.group(2)}/{1900 + year if year > 30 else 2000 + year}"
    yearly = parse_yearly(value, day_first=day_first)
    # 1604 is the "no year" placeholder of Apple and CardBook
    return (None if yearly.year == 1604 else yearly.year), yearly.month, yearly.day


def clean_field_key(key: str) -> str:
    """A custom field name from a file, made acceptable (letters first, no odd characters)."""
    key = " ".join(_FIELD_KEY_BAD.sub(" ", key).split())[:64]
    if not key or not key[0].isalpha():
        key = f"field {key}".strip()[:64]
    if key.lower() in _BUILTIN_KEYS:
        key = f"custom {key}"
    return key


def validate_record(rec: Record, day_first: bool = False, *, today: date) -> str | None:
    """Check and normalise ``rec`` in place; the reason it cannot be imported, or None."""
    from crmcli.dates import YearlyDate, check_birthday

    text = rec.text
    if rec.full_name and not (
        text.get("first_name") or text.get("last_name") or text.get("display_name")
    ):
        parts = rec.full_name.split(None, 1) or [""]  # a name of spaces is no name
        text["first_name"] = parts[0]
        if len(parts) > 1:
            text["last_name"] = parts[1]
    seen: set[str] = set()
    emails = []
    for value, label in rec.emails:
        if not _EMAIL.match(value) or value.startswith("@") or value.endswith("@"):
            return f"email {value!r} is not an address"
        lower = value.lower()
        if lower not in seen:
            seen.add(lower)
            emails.append((value, label))
    rec.emails = emails
    phones: list[tuple[Any, ...]] = []
    for value, label, *_ in rec.phones:
        value = value.lstrip("'")  # a spreadsheet's "text" mark
        if value.lower().startswith("tel:"):
            value = value[4:]
        digits = (
            phone_digits(value) if any(c in value for c in "xX#") else _NOT_DIGIT.sub("", value)
        )
        if not _PHONE.match(value) or len(digits) < 3:
            return f"phone {value!r} is not a phone number"
        if not phones or not any(same_phone(digits, p[2]) for p in phones):
            phones.append((value, label, digits))
    rec.phones = phones
    dates: list[tuple[Any, ...]] = []
    labels: set[str] = set()
    for kind, label, value in rec.dates:
        value = value.lstrip("'")
        try:
            year, month, day = _parse_date(value, day_first)
        except Exception:
            return f"{label} {value!r} is not a date (use 1980-04-15, or --04-15 without a year)"
        if kind == "birthday" and year is not None:
            try:
                check_birthday(YearlyDate(month, day, year), today)
            except ValidationError as error:
                return error.message
        label = kind if kind != "other" else label.strip()[:40] or "other"
        if label.lower() not in labels:
            labels.add(label.lower())
            dates.append((kind, label, year, month, day))
    rec.dates = dates
    tags: list[str] = []
    for tag in rec.tags:
        tag = tag.strip().replace(",", " ")
        if tag and tag.lower() not in (t.lower() for t in tags):
            tags.append(tag)
    rec.tags = tags
    if rec.fields:
        fields: dict[str, str] = {}
        lowered: set[str] = set()
        for key, value in rec.fields.items():
            key = clean_field_key(key)
            if key.lower() not in lowered:
                lowered.add(key.lower())
                fields[key] = value
        rec.fields = fields
    if rec.cadence_days is not None and (
        not rec.cadence_days.isdigit() or int(rec.cadence_days) <= 0
    ):
        return f"cadence_days {rec.cadence_days!r} is not a positive number of days"
    if rec.created_at and not _STAMP.match(rec.created_at):
        rec.created_at = None
    if rec.updated_at and not _STAMP.match(rec.updated_at):
        rec.updated_at = None
    if not (personal_name(rec) or text.get("company") or rec.emails):
        return "no name, company or email"
    return None


def _display(text: dict[str, Any], first_email: str | None) -> str:
    if text.get("display_name"):
        return str(text["display_name"])
    full = " ".join(p for p in (text.get("first_name"), text.get("last_name")) if p)
    return full or first_email or str(text.get("company") or "")


# --- merging two descriptions of one person -------------------------------------------------------


def _absorb(into: Record, other: Record, *, overwrite: bool) -> None:
    """Fold ``other`` into ``into``: fill (or with ``overwrite``, replace) and add new values."""
    for key, value in other.text.items():
        if overwrite or not into.text.get(key):
            into.text[key] = value
    known = {e[0].lower() for e in into.emails}
    into.emails.extend(e for e in other.emails if e[0].lower() not in known)
    for phone in other.phones:
        if not any(same_phone(phone[2], p[2]) for p in into.phones):
            into.phones.append(phone)
    tags = {t.lower() for t in into.tags}
    into.tags.extend(t for t in other.tags if t.lower() not in tags)
    keys = {k.lower(): k for k in into.fields}
    for key, value in other.fields.items():
        if key.lower() not in keys:
            into.fields[key] = value
        elif overwrite:
            into.fields[keys[key.lower()]] = value
    labels = {d[1].lower(): i for i, d in enumerate(into.dates)}
    for entry in other.dates:
        if entry[1].lower() not in labels:
            into.dates.append(entry)
        elif overwrite:
            into.dates[labels[entry[1].lower()]] = entry
    into.notes.extend(n for n in other.notes if n not in into.notes)
    if other.cadence_days and (overwrite or not into.cadence_days):
        into.cadence_days = other.cadence_days
    if other.referred_by_uid and (overwrite or not into.referred_by_uid):
        into.referred_by_uid = other.referred_by_uid


# --- the import -----------------------------------------------------------------------------------


def _json_list(values: Iterable[Any]) -> str:
    return json.dumps(list(values))


class _Importer:
    def __init__(
        self,
        conn: sqlite3.Connection,
        options: ImportOptions,
        now: datetime,
        on_action: ActionHook | None,
    ) -> None:
        self.conn = conn
        self.options = options
        self.now = now
        self.stamp = to_utc_text(now)
        self.on_action = on_action
        self.result = ImportResult(dry_run=options.dry_run)
        self.first_new_id = int(
            conn.execute("SELECT coalesce(max(id), 0) + 1 FROM contacts").fetchone()[0]
        )
        self.next_id = self.first_new_id
        self.fresh = conn.execute("SELECT 1 FROM contacts LIMIT 1").fetchone() is None
        self.matcher = Matcher(conn, policy=options.on_duplicate, fresh=self.fresh)
        # UIDs of new contacts: a random prefix and a counter, so they go into the UNIQUE index
        # in order (a random uuid4 each costs a random B-tree insert)
        self.uid_prefix = str(uuid.uuid4())[:24]
        self.uid_count = 0
        self.tag_ids: dict[str, int] = {}
        self.referrals: list[tuple[int, str]] = []
        self.created: list[int] = []
        self.consents: list[tuple[int, str | None, str | None]] = []
        self.failed = False

    # -- one batch

    def flush(self, batch: list[Record]) -> None:
        if not batch:
            return
        names = [personal_name(rec) for rec in batch]
        keys = self.matcher.begin(batch, names)
        new: dict[int, Record] = {}
        existing: dict[int, Record] = {}
        #: the UIDs the rows placed on each contact came with (all kept: crmcli.identity)
        uids: dict[int, list[str]] = {}
        for rec, name, row in zip(batch, names, keys, strict=True):
            target = self._place(rec, name, row, new, existing)
            if target is not None and rec.uid:
                uids.setdefault(target, []).append(rec.uid)
        if self.failed:
            return  # still checking the rest of the file, but nothing more is written
        self._write_new(new, uids)
        self._write_existing(existing, uids)
        if not self.fresh:
            search.reindex(self.conn, [*new, *existing])
        self.matcher.end()

    def _place(
        self,
        rec: Record,
        name: str | None,
        row: RowKeys,
        new: dict[int, Record],
        existing: dict[int, Record],
    ) -> int | None:
        """Decide what ``rec`` becomes (a new contact, or part of one); its target, or None."""
        decision = self.matcher.match(rec, name, row)
        target = decision.target
        result = self.result
        display = name or (rec.emails[0][0] if rec.emails else rec.text.get("company", ""))
        if target is None:
            target = self.next_id
            self.next_id += 1
            new[target] = rec
            result.created += 1
            if decision.possible is not None:
                result.possible_duplicates += 1
            self._act(rec.position, "create", display, target, decision.possible)
        elif target in new:
            _absorb(new[target], rec, overwrite=False)
            result.merged += 1
            self._act(rec.position, "merge", display, target)
        elif target >= self.first_new_id:  # created by an earlier batch of this file
            if target in existing:
                _absorb(existing[target], rec, overwrite=False)
            else:
                existing[target] = rec
            result.merged += 1
            self._act(rec.position, "merge", display, target)
        elif self.options.on_duplicate == "skip":
            result.skipped += 1
            self._act(rec.position, "skip", display, target)
            return None
        else:
            overwrite = self.options.on_duplicate == "update"
            if target in existing:
                _absorb(existing[target], rec, overwrite=overwrite)
            else:
                existing[target] = rec
            if overwrite:
                result.updated += 1
            else:
                result.merged += 1
            self._act(rec.position, "update" if overwrite else "merge", display, target)
        self.matcher.place(rec, name, row, target)
        return target

    def _new_uid(self) -> str:
        self.uid_count += 1
        return f"{self.uid_prefix}{self.uid_count:012x}"

    def _act(
        self,
        position: str,
        action: str,
        name: str,
        contact_id: int | None,
        possible: int | None = None,
    ) -> None:
        if self.on_action is not None:
            self.on_action(position, action, name, contact_id, possible)

    def _tag_id(self, name: str) -> int:
        key = name.lower()
        tag_id = self.tag_ids.get(key)
        if tag_id is None:
            row = self.conn.execute("SELECT id FROM tags WHERE name = ?", (name,)).fetchone()
            tag_id = int(
                row[0]
                if row
                else self.conn.execute("INSERT INTO tags (name) VALUES (?)", (name,)).lastrowid or 0
            )
            self.tag_ids[key] = tag_id
        return tag_id

    def _children(self, contact_id: int, rec: Record, emails: int, phones: int) -> None:
        """Rows for the child tables, appended to the pending executemany lists."""
        for position, (value, label) in enumerate(rec.emails, emails):
            self.rows_emails.append((contact_id, value, label, position))
        for position, (value, label, digits) in enumerate(rec.phones, phones):
            self.rows_phones.append((contact_id, value, label, digits, digits[::-1], position))
        for tag in rec.tags:
            self.rows_tags.append((contact_id, self._tag_id(tag)))
        for tag in self.options.tags:
            self.rows_tags.append((contact_id, self._tag_id(tag)))
        for key, value in rec.fields.items():
            self.rows_fields.append((contact_id, key, value))
        for entry in rec.dates:
            self.rows_dates.append((contact_id, *entry))
        for note in rec.notes:
            self.notes.append((contact_id, note))
        if rec.referred_by_uid:
            self.referrals.append((contact_id, rec.referred_by_uid))
        if rec.email_optout or rec.do_not_contact:
            self.consents.append((contact_id, rec.email_optout, rec.do_not_contact))

    def _begin_rows(self) -> None:
        self.rows_emails: list[tuple[Any, ...]] = []
        self.rows_phones: list[tuple[Any, ...]] = []
        self.rows_tags: list[tuple[Any, ...]] = []
        self.rows_fields: list[tuple[Any, ...]] = []
        self.rows_dates: list[tuple[Any, ...]] = []
        self.notes: list[tuple[int, str]] = []

    def _flush_rows(self, *, replace: bool, new: bool = False) -> None:
        conn = self.conn
        conn.executemany(
            "INSERT INTO contact_emails (contact_id, email, label, position) VALUES (?, ?, ?, ?)",
            self.rows_emails,
        )
        conn.executemany(
            "INSERT INTO contact_phones (contact_id, phone, label, digits, digits_rev, position) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            self.rows_phones,
        )
        conn.executemany(
            "INSERT OR IGNORE INTO contact_tags (contact_id, tag_id) VALUES (?, ?)", self.rows_tags
        )
        verb = "REPLACE" if replace else "IGNORE"
        conn.executemany(
            f"INSERT OR {verb} INTO contact_fields (contact_id, key, value) VALUES (?, ?, ?)",
            self.rows_fields,
        )
        if replace:
            conn.executemany(
                "DELETE FROM contact_dates WHERE contact_id = ? AND label = ? COLLATE NOCASE",
                [(row[0], row[2]) for row in self.rows_dates],
            )
        conn.executemany(
            "INSERT OR IGNORE INTO contact_dates (contact_id, kind, label, year, month, day) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            self.rows_dates,
        )
        if self.notes:
            store_imported_notes(conn, self.notes, stamp=self.stamp, new_contacts=new)

    def _write_new(self, new: dict[int, Record], uids: dict[int, list[str]]) -> None:
        if not new:
            return
        self._begin_rows()
        contact_rows = []
        external: list[tuple[str, int]] = []
        for contact_id, rec in new.items():
            text = rec.text
            seen_uids = uids.get(contact_id, ())
            external.extend((uid, contact_id) for uid in dict.fromkeys(seen_uids))
            contact_rows.append(
                (
                    contact_id,
                    seen_uids[0] if seen_uids else self._new_uid(),
                    _display(text, rec.emails[0][0] if rec.emails else None),
                    *[text.get(key) for key in TEXT_FIELDS],
                    int(rec.cadence_days) if rec.cadence_days else None,
                    rec.created_at or self.stamp,
                    rec.updated_at or rec.created_at or self.stamp,
                )
            )
            self._children(contact_id, rec, 0, 0)
        self.created.extend(new)
        self.conn.executemany(
            f"INSERT INTO contacts (id, uid, name, {', '.join(TEXT_FIELDS)}, cadence_days, "
            f"created_at, updated_at) VALUES ({', '.join('?' for _ in range(len(TEXT_FIELDS) + 6))})",
            contact_rows,
        )
        # UIDs from the file are external ones: a later file with any of them finds the contact,
        # and one with another UID is a different record (crmcli.identity)
        self.conn.executemany(
            "INSERT OR IGNORE INTO contact_uids (uid, contact_id) VALUES (?, ?)", external
        )
        self._flush_rows(replace=False, new=True)

    def _write_existing(self, existing: dict[int, Record], uids: dict[int, list[str]]) -> None:
        if not existing:
            return
        # New external UIDs (not the contact's own, coming back from crmcli's own export)
        self.conn.executemany(
            "INSERT OR IGNORE INTO contact_uids (uid, contact_id) SELECT ?1, ?2 "
            "WHERE NOT EXISTS (SELECT 1 FROM contacts WHERE id = ?2 AND uid = ?1)",
            [(uid, target) for target in existing for uid in dict.fromkeys(uids.get(target, ()))],
        )
        conn = self.conn
        overwrite = self.options.on_duplicate == "update"
        ids = _json_list(existing)
        current = {
            row["id"]: row
            for row in conn.execute(
                "SELECT * FROM contacts WHERE id IN (SELECT value FROM json_each(?))", (ids,)
            )
        }
        emails: dict[int, list[str]] = {}
        for row in conn.execute(
            "SELECT contact_id, email FROM contact_emails "
            "WHERE contact_id IN (SELECT value FROM json_each(?)) ORDER BY position, id",
            (ids,),
        ):
            emails.setdefault(row[0], []).append(row[1])
        phones: dict[int, list[str]] = {}
        for row in conn.execute(
            "SELECT contact_id, digits FROM contact_phones "
            "WHERE contact_id IN (SELECT value FROM json_each(?))",
            (ids,),
        ):
            phones.setdefault(row[0], []).append(row[1])
        self._begin_rows()
        updates = []
        for contact_id, rec in existing.items():
            row = current[contact_id]
            # in-file duplicates of rows created by this import are always merged, never overwrite
            replace = overwrite and contact_id < self.first_new_id
            text = {key: row[key] for key in TEXT_FIELDS}
            for key, value in rec.text.items():
                if replace or not text.get(key):
                    text[key] = value
            have = emails.get(contact_id, [])
            lowered = {e.lower() for e in have}
            rec.emails = [e for e in rec.emails if e[0].lower() not in lowered]
            have_phones = phones.get(contact_id, [])
            rec.phones = [
                p for p in rec.phones if not any(same_phone(p[2], h) for h in have_phones)
            ]
            first_email = have[0] if have else (rec.emails[0][0] if rec.emails else None)
            cadence = row["cadence_days"]
            if rec.cadence_days and (replace or not cadence):
                cadence = int(rec.cadence_days)
            updates.append(
                (
                    _display(text, first_email),
                    *[text[key] for key in TEXT_FIELDS],
                    cadence,
                    self.stamp,
                    contact_id,
                )
            )
            self._children(contact_id, rec, len(have), len(have_phones))
        conn.executemany(
            f"UPDATE contacts SET name = ?, {', '.join(f'{k} = ?' for k in TEXT_FIELDS)}, "
            "cadence_days = ?, updated_at = ? WHERE id = ?",
            updates,
        )
        self._flush_rows(replace=overwrite)

    def finish(self) -> None:
        conn = self.conn
        for contact_id, referrer_uid in self.referrals:
            conn.execute(
                "UPDATE contacts SET referred_by_id = (SELECT id FROM contacts WHERE uid = ? "
                "AND id != ?) WHERE id = ? AND referred_by_id IS NULL",
                (referrer_uid, contact_id, contact_id),
            )
        if self.fresh:
            search.reindex(conn)
        from crmcli import consent, events

        consent.record_imported(conn, self.consents, now=self.now)
        events.emit_all(
            conn, [events.Occurrence("contact-added", i, i, self.now) for i in self.created]
        )


def store_imported_notes(
    conn: sqlite3.Connection, notes: list[tuple[int, str]], *, stamp: str, new_contacts: bool
) -> None:
    """The notes text that came with imported contacts becomes notes of kind ``imported``.

    Dated ``stamp`` (the import's time). A text the contact has already, as one note or as all
    its notes together (what ``crm export contacts`` writes in its ``notes`` column), is not
    added again, so importing the same file twice, or an export back, adds nothing.
    ``new_contacts`` says the contacts were created by this import (then nothing can clash).
    """
    rows: list[tuple[int, str]] = []
    seen: dict[int, set[str]] = {}
    for contact_id, text in notes:
        body = text.strip()
        if not body:
            continue
        known = seen.get(contact_id)
        if known is None:
            known = set() if new_contacts else _note_texts(conn, contact_id)
            seen[contact_id] = known
        if body in known:
            continue
        known.add(body)
        rows.append((contact_id, body))
    conn.executemany(
        "INSERT INTO notes (contact_id, kind, body, at, created_at, updated_at) "
        "VALUES (?, 'imported', ?, ?, ?, ?)",
        [(contact_id, body, stamp, stamp, stamp) for contact_id, body in rows],
    )


def _note_texts(conn: sqlite3.Connection, contact_id: int) -> set[str]:
    bodies = [
        row[0]
        for row in conn.execute(
            "SELECT body FROM notes WHERE contact_id = ? AND deleted_at IS NULL ORDER BY at, id",
            (contact_id,),
        )
    ]
    return {*bodies, NOTES_SEPARATOR.join(bodies)}


def import_records(
    conn: sqlite3.Connection,
    records: Iterable[Record | Rejected],
    options: ImportOptions,
    *,
    now: datetime,
    on_reject: RejectHook | None = None,
    on_action: ActionHook | None = None,
    on_progress: ProgressHook | None = None,
) -> ImportResult:
    """Import ``records`` in one transaction; see the module docstring for the rules.

    Raises :class:`ImportRejected` (nothing written) when a record is bad and
    ``options.skip_invalid`` is off; otherwise bad records go to ``on_reject``. In a dry run the
    whole import is done and then rolled back, so the counts are exact and nothing is saved.
    """
    if options.on_duplicate not in POLICIES:
        raise UsageError(
            f"--on-duplicate {options.on_duplicate!r} is not one of: {', '.join(POLICIES)}"
        )
    from crmcli.contacts import validate_tag

    for tag in options.tags:
        validate_tag(tag)
    importer: _Importer | None = None
    today = local_naive(now).date()  # "now" may be any zone; birthdays are local days
    # Batches allocate many small, acyclic objects; the cyclic collector would walk them all
    # again and again (about 10% of an import's time) for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with transaction(conn):
            importer = _Importer(conn, options, now, on_action)
            result = importer.result
            batch: list[Record] = []
            for rec in records:
                result.rows += 1
                reason = (
                    rec.reason
                    if isinstance(rec, Rejected)
                    else validate_record(rec, options.day_first, today=today)
                )
                if reason is not None:
                    result.rejected += 1
                    problem = Problem(rec.position, reason)
                    if options.skip_invalid:
                        if on_reject is not None:
                            on_reject(problem, rec.raw)
                    else:
                        importer.failed = True
                        if len(result.problems) < MAX_LISTED:
                            result.problems.append(problem)
                    if on_action is not None:
                        on_action(rec.position, "reject", reason, None, None)
                    continue
                assert isinstance(rec, Record)
                batch.append(rec)
                if len(batch) >= options.batch_size:
                    importer.flush(batch)
                    batch = []
                    if on_progress is not None:
                        on_progress(result.rows)
            importer.flush(batch)
            if importer.failed:
                raise ImportRejected(result)
            importer.finish()
            if options.save_map:
                save_map(conn, *options.save_map, now=now)
            if on_progress is not None:
                on_progress(result.rows)
            if options.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    finally:
        if collecting:
            gc.enable()
    assert importer is not None
    return importer.result


# --- saved column mappings ------------------------------------------------------------------------


def save_map(
    conn: sqlite3.Connection, name: str, mapping: dict[str, str], *, now: datetime
) -> None:
    """Save (or replace) a column mapping under ``name``."""
    name = name.strip()
    if not name:
        raise UsageError("--save-map needs a name")
    with transaction(conn):
        conn.execute(
            "INSERT INTO import_maps (name, mapping_json, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET mapping_json = excluded.mapping_json, "
            "updated_at = excluded.updated_at",
            (name, json.dumps(mapping, ensure_ascii=False), to_utc_text(now)),
        )


def load_map(conn: sqlite3.Connection, name: str) -> dict[str, str]:
    """A saved column mapping; NotFound names the saved ones."""
    row = conn.execute("SELECT mapping_json FROM import_maps WHERE name = ?", (name,)).fetchone()
    if row is None:
        names = [r[0] for r in conn.execute("SELECT name FROM import_maps ORDER BY name")]
        known = (
            f" (saved maps: {', '.join(names)})" if names else " (none saved yet: --save-map NAME)"
        )
        raise NotFound(f"no saved import map {name!r}{known}")
    mapping: dict[str, str] = json.loads(row[0])
    return mapping
