"""Writing an import, batch by batch: which contact each record is, and its rows.

:class:`BatchWriter` places each validated record (a new contact, or part of one the identity
rules found: :mod:`crmcli.import_matching`) and writes each batch with ``executemany``: the
contacts, then every list of theirs (:mod:`crmcli.contact_lists`), their photos and notes.
Nothing is held beyond the current batch, so memory stays flat however long the file.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from crmcli import search
from crmcli.clock import to_utc_text
from crmcli.contact_lists import KINDS, PLAIN_KINDS
from crmcli.contacts import TEXT_FIELDS, display_name
from crmcli.identity import same_phone
from crmcli.import_matching import Matcher, RowKeys, personal_name
from crmcli.import_validate import DateOrder, absorb
from crmcli.io.record import NOTES_SEPARATOR, Record

#: called with (position, action, contact name, contact id, id of a contact it may duplicate)
#: for every row, in a dry run
ActionHook = Callable[[str, str, str, int | None, int | None], None]

#: Into an empty database an import writes in bulk: the indexes below are built once at the
#: end (a sorted build, several times cheaper than keeping them row by row) and the search
#: index in one pass. False writes row by row, as into a database that has contacts: the
#: tests compare the two, table by table.
BULK_INTO_EMPTY = True

#: The indexes nothing reads while an import runs: the identity lookups (emails, phone digits,
#: names, UIDs), the search documents and the merges of a file's own duplicates use the
#: others (by contact id). Dropped at the start of a bulk import and made again, from the
#: very SQL they had, at its end: all inside the import's one transaction.
DEFERRED_INDEXES = (
    "contacts_company", "contacts_updated", "contacts_created", "contacts_cadence",
    "contacts_touch", "contacts_trashed", "contacts_referred_by", "contact_tags_tag",
    "contact_dates_month_day", "contact_dates_lead", "contact_fields_key", "notes_at",
    "contact_addresses_city", "contact_related_related", "contact_invalid_field",
)  # fmt: skip


def _json_list(values: Iterable[Any]) -> str:
    return json.dumps(list(values))


def _name_of(text: dict[str, Any], rec: Record, first_email: str | None) -> str:
    first_phone = rec.phones[0][0] if rec.phones else None
    return display_name(text, first_email, first_phone)


class BatchWriter:
    """One import's writes (``policy`` as ``--on-duplicate``); counts go to ``result``."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        options: Any,
        result: Any,
        now: datetime,
        on_action: ActionHook | None,
    ) -> None:
        self.conn = conn
        self.options = options
        self.now = now
        self.stamp = to_utc_text(now)
        self.on_action = on_action
        self.result = result
        self.first_new_id = int(
            conn.execute("SELECT coalesce(max(id), 0) + 1 FROM contacts").fetchone()[0]
        )
        self.next_id = self.first_new_id
        self.fresh = conn.execute("SELECT 1 FROM contacts LIMIT 1").fetchone() is None
        self.matcher = Matcher(conn, policy=options.on_duplicate, fresh=self.fresh)
        self.bulk = self.fresh and BULK_INTO_EMPTY
        #: the SQL of the indexes dropped for a bulk import, to make them again at the end
        self.deferred = _drop_indexes(conn, DEFERRED_INDEXES) if self.bulk else []
        # UIDs of new contacts: a random prefix and a counter, so they go into the UNIQUE index
        # in order (a random uuid4 each costs a random B-tree insert)
        self.uid_prefix = str(uuid.uuid4())[:24]
        self.uid_count = 0
        self.tag_ids: dict[str, int] = {}
        self.referrals: list[tuple[int, str]] = []
        self.consents: list[tuple[int, str | None, str | None]] = []
        #: related people named with a UID: (contact id, name, UID), linked at the end
        self.links: list[tuple[int, str, str]] = []
        #: dates read before the file proved its order: (contact, label, month, day, year)
        self.unsure: list[tuple[int, str, int, int, int | None]] = []
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
        if not self.bulk:
            search.reindex(self.conn, [*new, *existing])
        self._contacts_added(new)
        self.matcher.end()

    def _contacts_added(self, new: dict[int, Record]) -> None:
        # per batch, not once at the end: a list of every new contact's event would grow with the
        # file (a million of them took 100+ MiB)
        if new:
            from crmcli import events

            events.emit_all(
                self.conn, [events.Occurrence("contact-added", i, i, self.now) for i in new]
            )

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
        shown = name or _name_of(rec.text, rec, rec.emails[0][0] if rec.emails else None)
        if target is None:
            target = self.next_id
            self.next_id += 1
            new[target] = rec
            result.created += 1
            if decision.possible is not None:
                result.possible_duplicates += 1
            self._act(rec.position, "create", shown, target, decision.possible)
        elif target >= self.first_new_id or self.options.on_duplicate != "skip":
            # an earlier row of this file is merged, never overwritten
            overwrite = self.options.on_duplicate == "update" and target < self.first_new_id
            into = new.get(target) or existing.get(target)
            if into is not None:
                absorb(into, rec, overwrite=overwrite)
            else:
                existing[target] = rec
            if overwrite:
                result.updated += 1
            else:
                result.merged += 1
            self._act(rec.position, "update" if overwrite else "merge", shown, target)
        else:
            result.skipped += 1
            self._act(rec.position, "skip", shown, target)
            return None
        self.matcher.place(rec, name, row, target)
        return target

    def _new_uid(self) -> str:
        self.uid_count += 1
        return f"{self.uid_prefix}{self.uid_count:012x}"

    def _act(self, position: str, action: str, name: str, contact_id: int | None,
             possible: int | None = None) -> None:  # fmt: skip
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

    # -- the rows of a batch

    def _begin_rows(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {
            name: [] for name in ("emails", "phones", "tags", "fields", "dates", "photos",
                                  *PLAIN_KINDS)
        }  # fmt: skip
        self.notes: list[tuple[int, str]] = []

    def _children(self, contact_id: int, rec: Record, start: dict[str, int]) -> None:
        """Rows for the lists of ``contact_id``, appended to the pending executemany lists;
        ``start`` is where each list's positions start (after what the contact has).

        Called once a contact, 100,000 times for a large file: most lists are empty, so each
        is looked at before any work is done for it."""
        rows = self.rows
        if rec.emails:
            first = start.get("emails", 0)
            rows["emails"].extend(
                [
                    (contact_id, value, label, first + i)
                    for i, (value, label) in enumerate(rec.emails)
                ]
            )
        if rec.phones:
            first = start.get("phones", 0)
            rows["phones"].extend(
                [(contact_id, value, label, digits, digits[::-1], first + i)
                 for i, (value, label, digits) in enumerate(rec.phones)]
            )  # fmt: skip
        tags = [*rec.tags, *self.options.tags] if self.options.tags else rec.tags
        if tags:
            rows["tags"].extend([(contact_id, self._tag_id(tag)) for tag in tags])
        if rec.fields:
            rows["fields"].extend([(contact_id, key, value) for key, value in rec.fields.items()])
        for kind, label, year, month, day, unsure in rec.dates:
            rows["dates"].append((contact_id, kind, label, year, month, day))
            if unsure:
                self.unsure.append((contact_id, label, month, day, year))
        for name, items in (
            ("addresses", rec.addresses), ("urls", rec.urls), ("handles", rec.handles),
            ("related", [(n, lab, None) for n, lab, _ in rec.related] if rec.related else ()),
            ("invalid", rec.invalid), ("vcard", rec.props),
        ):  # fmt: skip
            if items:
                first = start.get(name, 0)
                rows[name].extend([(contact_id, *item, first + i) for i, item in enumerate(items)])
        self._extras(contact_id, rec)

    def _extras(self, contact_id: int, rec: Record) -> None:
        """What else a row holds besides its lists: photo, notes, links to other contacts
        (related people, who referred them) and consent, each written after the batch."""
        if rec.photo is not None:
            self.rows["photos"].append((contact_id, *rec.photo))
        if rec.notes:
            self.notes.extend((contact_id, note) for note in rec.notes)
        if rec.related:
            self.links.extend((contact_id, n, uid) for n, _, uid in rec.related if uid)
        if rec.referred_by_uid:
            self.referrals.append((contact_id, rec.referred_by_uid))
        if rec.email_optout or rec.do_not_contact:
            self.consents.append((contact_id, rec.email_optout, rec.do_not_contact))

    def _flush_rows(self, *, replace: bool, new: bool = False) -> None:
        conn, rows = self.conn, self.rows
        conn.executemany(
            "INSERT INTO contact_emails (contact_id, email, label, position) VALUES (?, ?, ?, ?)",
            rows["emails"],
        )
        conn.executemany(
            "INSERT INTO contact_phones (contact_id, phone, label, digits, digits_rev, position) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows["phones"],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO contact_tags (contact_id, tag_id) VALUES (?, ?)", rows["tags"]
        )
        verb = "REPLACE" if replace else "IGNORE"
        conn.executemany(
            f"INSERT OR {verb} INTO contact_fields (contact_id, key, value) VALUES (?, ?, ?)",
            rows["fields"],
        )
        if replace:
            conn.executemany(
                "DELETE FROM contact_dates WHERE contact_id = ? AND label = ? COLLATE NOCASE",
                [(row[0], row[2]) for row in rows["dates"]],
            )
        conn.executemany(
            "INSERT OR IGNORE INTO contact_dates (contact_id, kind, label, year, month, day) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows["dates"],
        )
        for name in PLAIN_KINDS:
            conn.executemany(KINDS[name].insert(), rows[name])
        conn.executemany(
            f"INSERT OR {verb} INTO contact_photos (contact_id, media_type, data, uri) "
            "VALUES (?, ?, ?, ?)",
            rows["photos"],
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
                    _name_of(text, rec, rec.emails[0][0] if rec.emails else None),
                    *map(text.get, TEXT_FIELDS),
                    int(rec.cadence_days) if rec.cadence_days else None,
                    rec.created_at or self.stamp,
                    rec.updated_at or rec.created_at or self.stamp,
                )
            )
            self._children(contact_id, rec, {})
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
        conn = self.conn
        # New external UIDs (not the contact's own, coming back from crmcli's own export)
        conn.executemany(
            "INSERT OR IGNORE INTO contact_uids (uid, contact_id) SELECT ?1, ?2 "
            "WHERE NOT EXISTS (SELECT 1 FROM contacts WHERE id = ?2 AND uid = ?1)",
            [(uid, target) for target in existing for uid in dict.fromkeys(uids.get(target, ()))],
        )
        overwrite = self.options.on_duplicate == "update"
        ids = _json_list(existing)
        current = {
            row["id"]: row
            for row in conn.execute(
                "SELECT * FROM contacts WHERE id IN (SELECT value FROM json_each(?))", (ids,)
            )
        }
        have = _existing_items(conn, ids)
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
            start = _only_new(rec, have, contact_id)
            mine = have["emails"].get(contact_id, [])
            first_email = mine[0] if mine else (rec.emails[0][0] if rec.emails else None)
            cadence = row["cadence_days"]
            if rec.cadence_days and (replace or not cadence):
                cadence = int(rec.cadence_days)
            if rec.photo is not None and not replace and contact_id in have["photos"]:
                rec.photo = None
            updates.append(
                (_name_of(text, rec, first_email), *[text[key] for key in TEXT_FIELDS], cadence,
                 self.stamp, contact_id)
            )  # fmt: skip
            self._children(contact_id, rec, start)
        conn.executemany(
            f"UPDATE contacts SET name = ?, {', '.join(f'{k} = ?' for k in TEXT_FIELDS)}, "
            "cadence_days = ?, updated_at = ? WHERE id = ?",
            updates,
        )
        self._flush_rows(replace=overwrite)

    def finish(self, order: DateOrder) -> None:
        """After the last batch: referrers, related people, dates read the wrong way round,
        the search index and consent."""
        conn = self.conn
        for sql in self.deferred:
            conn.execute(sql)
        for contact_id, referrer_uid in self.referrals:
            conn.execute(
                "UPDATE contacts SET referred_by_id = (SELECT id FROM contacts WHERE uid = ? "
                "AND id != ?) WHERE id = ? AND referred_by_id IS NULL",
                (referrer_uid, contact_id, contact_id),
            )
        from crmcli.contact_apply import link_related

        link_related(conn, self.links)
        if order.needs_turning():
            conn.executemany(
                "UPDATE contact_dates SET month = day, day = month WHERE contact_id = ? "
                "AND label = ? COLLATE NOCASE AND month = ? AND day = ? AND year IS ?",
                self.unsure,
            )
        if self.bulk:
            search.reindex(conn)
        from crmcli import consent

        consent.record_imported(conn, self.consents, now=self.now)


def _drop_indexes(conn: sqlite3.Connection, names: Iterable[str]) -> list[str]:
    """Drop the indexes ``names`` that exist; the SQL that makes each again."""
    found = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND name IN (SELECT value FROM json_each(?))",
        (_json_list(names),),
    ).fetchall()
    for name, _ in found:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def _existing_items(conn: sqlite3.Connection, ids: str) -> dict[str, dict[int, Any]]:
    """What the contacts ``ids`` (a JSON list) have already: emails and phone digits in order,
    the keys of each list's items (and their count), and who has a photo."""
    have: dict[str, dict[int, Any]] = {"emails": {}, "phones": {}, "photos": {}}
    where = "contact_id IN (SELECT value FROM json_each(?))"
    for contact_id, email in conn.execute(
        f"SELECT contact_id, email FROM contact_emails WHERE {where} ORDER BY position, id", (ids,)
    ):
        have["emails"].setdefault(contact_id, []).append(email)
    for contact_id, digits in conn.execute(
        f"SELECT contact_id, digits FROM contact_phones WHERE {where}", (ids,)
    ):
        have["phones"].setdefault(contact_id, []).append(digits)
    for name in PLAIN_KINDS:
        kind, found = KINDS[name], have.setdefault(name, {})
        for row in conn.execute(
            f"SELECT contact_id, {', '.join(kind.columns)} FROM {kind.table} WHERE {where}", (ids,)
        ):
            found.setdefault(row[0], []).append(kind.key(kind.item(*row[1:])))
    for (contact_id,) in conn.execute(
        f"SELECT contact_id FROM contact_photos WHERE {where}", (ids,)
    ):
        have["photos"][contact_id] = True
    return have


def _only_new(rec: Record, have: dict[str, dict[int, Any]], contact_id: int) -> dict[str, int]:
    """Drop from ``rec`` what contact ``contact_id`` has already; where each list's new items'
    positions start."""
    emails = {e.lower() for e in have["emails"].get(contact_id, [])}
    rec.emails = [e for e in rec.emails if e[0].lower() not in emails]
    phones = have["phones"].get(contact_id, [])
    rec.phones = [p for p in rec.phones if not any(same_phone(p[2], h) for h in phones)]
    start = {"emails": len(emails), "phones": len(phones)}
    records = {"addresses": "addresses", "urls": "urls", "handles": "handles",
               "related": "related", "invalid": "invalid", "vcard": "props"}  # fmt: skip
    for name, attribute in records.items():
        kind, known = KINDS[name], set(have[name].get(contact_id, []))
        items: list[Any] = getattr(rec, attribute)
        if name == "related":  # (name, label, UID): the UID is not part of the item
            keep = [i for i in items if kind.key(kind.item(i[0], i[1], None)) not in known]
        else:
            keep = [i for i in items if kind.key(kind.item(*i)) not in known]
        setattr(rec, attribute, keep)
        start[name] = len(have[name].get(contact_id, []))
    return start


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
