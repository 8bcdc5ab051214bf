"""Merging contacts into one, and undoing it (``crm contact merge``, ``crm contact unmerge``).

A merge keeps one contact (KEEP) and moves each other one (OTHER) to the trash, marked "merged
into KEEP". KEEP gets every email, phone, tag, custom field, yearly date and UID of OTHER that it
lacks; a single value both have and that differs (company, title, birthday, a custom field...) is
chosen by a preference or by the person, field by field. Addresses, web addresses, handles,
related people, flagged values and kept vCard properties join KEEP's lists like emails do. Whatever points at OTHER (:data:`REPOINTED`: notes, reminders, deals, purchases,
messages sent, the contacts it referred) then points at KEEP; a request not to be contacted or
mailed that either made holds for the one kept; deals and purchases keep their
own currency.

All of it happens in one transaction and is recorded in ``contact_merges``, so :func:`unmerge`
puts everything back: OTHER itself is left as it was (only marked as in the trash), and on KEEP
only what the merge changed, and has not been changed since, is undone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from crmcli import contact_lists, contacts, search
from crmcli.clock import to_utc_text
from crmcli.contact_lists import KINDS, PLAIN_KINDS
from crmcli.contact_tables import CONTACT_TABLES
from crmcli.db import transaction
from crmcli.errors import NotFound, UsageError, ValidationError
from crmcli.identity import exact, same_phone

#: Every (table, column) whose rows point at a contact and follow it to the contact kept: those
#: of crmcli.contact_tables (the one list of tables about a contact) marked ``repoint``. A row
#: that cannot move because of a UNIQUE constraint (the send log has one greeting per contact,
#: occasion and year) stays with the merged-away contact.
REPOINTED: list[tuple[str, str]] = [
    (t.table, t.column) for t in CONTACT_TABLES if t.merge == "repoint"
]
#: how the dry run names them (default: the table's name)
REPOINTED_LABELS = {
    "sends.contact_id": "messages sent",
    "contacts.referred_by_id": "referrals",
}

PREFERENCES = ("keep", "other", "newest")

#: columns of ``contacts`` chosen together, as one value
GROUPS = {
    "name": ("first_name", "middle_name", "last_name", "name_prefix", "name_suffix",
             "display_name"),
}  # fmt: skip
_SINGLE_COLUMNS = tuple(
    c for c in contacts.TEXT_FIELDS if not any(c in cols for cols in GROUPS.values())
)
#: the tables of the lists a merge joins like emails (crmcli.contact_lists)
_LIST_TABLES = tuple(KINDS[name].table for name in PLAIN_KINDS)
#: how the dry run names an item of each list
_LIST_LABELS = {"addresses": "address", "urls": "URL", "handles": "handle",
                "related": "related person", "invalid": "flagged value",
                "vcard": "vCard property"}  # fmt: skip
#: columns of ``contacts`` an undo may set back
_UNDOABLE = {*contacts.TEXT_FIELDS, "cadence_days", "referred_by_id", "created_at", "updated_at"}

#: (slot, id of the contact its current value came from, id of the other) -> take the other's?
Chooser = Callable[[str, int, int], bool]


class Conflict(NamedTuple):
    """A single value the contacts to merge hold differently: one must be chosen."""

    slot: str
    #: (contact id, the value as shown) for each contact that has one
    values: list[tuple[int, str]]


class PlanRow(NamedTuple):
    """What a merge does with one field (``crm contact merge --dry-run`` lists these)."""

    other_id: int
    field: str
    keep: str | None
    other: str | None
    result: str | None
    #: same, kept, filled, replaced, kept (conflict), added, moved
    action: str

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class _Data:
    """One contact's data as a merge sees it: its row and its own tables."""

    def __init__(self, conn: sqlite3.Connection, contact_id: int) -> None:
        row = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        if row is None:
            raise NotFound(f"no contact with id {contact_id}")
        self.id = contact_id
        self.row = row
        self.emails = conn.execute(
            "SELECT id, email, label FROM contact_emails WHERE contact_id = ? ORDER BY position, id",
            (contact_id,),
        ).fetchall()
        self.phones = conn.execute(
            "SELECT id, phone, label, digits FROM contact_phones WHERE contact_id = ? "
            "ORDER BY position, id",
            (contact_id,),
        ).fetchall()
        self.tags = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT t.id, t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id "
                "WHERE ct.contact_id = ?",
                (contact_id,),
            )
        }
        self.slots: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}  # the row behind a date or field slot
        for name, columns in GROUPS.items():
            value = tuple(row[c] for c in columns)
            self.slots[name] = value if any(value) else None
        for column in _SINGLE_COLUMNS:
            self.slots[column] = row[column]
        self.slots["cadence"] = row["cadence_days"]
        self.slots["referred_by"] = row["referred_by_id"]
        for date in conn.execute(
            "SELECT id, kind, label, year, month, day, lead_days FROM contact_dates "
            "WHERE contact_id = ? ORDER BY id",
            (contact_id,),
        ):
            slot = f"date:{date['label'].lower()}"
            self.slots[slot] = (date["year"], date["month"], date["day"])
            self.extra[slot] = date
        for key, value in conn.execute(
            "SELECT key, value FROM contact_fields WHERE contact_id = ? ORDER BY key",
            (contact_id,),
        ):
            slot = f"field:{key.lower()}"
            self.slots[slot] = value
            self.extra[slot] = key
        photo = conn.execute(
            "SELECT media_type, data, uri FROM contact_photos WHERE contact_id = ?", (contact_id,)
        ).fetchone()
        if photo is not None:
            self.slots["photo"] = (photo[0], hashlib.sha256(photo[1] or b"").hexdigest(), photo[2])
            self.extra["photo"] = tuple(photo)
        self.lists = {
            name: contact_lists.read(conn, KINDS[name], contact_id) for name in PLAIN_KINDS
        }


def _shown(conn: sqlite3.Connection, slot: str, value: Any) -> str | None:
    """A slot's value as a person reads it."""
    if value is None:
        return None
    if slot == "name":
        first, middle, last, prefix, suffix, display = value
        full = " ".join(p for p in (prefix, first, middle, last, suffix) if p)
        return f"{display} ({full})" if display and full else display or full
    if slot == "photo":
        media_type, digest, uri = value
        return uri or f"{media_type or 'photo'} ({digest[:8]})"
    if slot == "cadence":
        return f"every {value} days"
    if slot == "referred_by":
        row = conn.execute("SELECT name FROM contacts WHERE id = ?", (value,)).fetchone()
        return f"{row[0] if row else '?'} (#{value})"
    if slot.startswith("date:"):
        return contacts.yearly_text(*value)
    return str(value)


def _field_name(slot: str, data: _Data) -> str:
    if slot.startswith("field:"):
        return f"field {data.extra[slot]}"
    if slot.startswith("date:"):
        return str(data.extra[slot]["label"])
    return slot


def _json(values: Any) -> str:
    return json.dumps(values)


# --- checks and choices ---------------------------------------------------------------------------


def check(conn: sqlite3.Connection, keep: int, others: Sequence[int]) -> None:
    """Refuse what cannot be merged: a contact with itself, twice, or one in the trash."""
    if not others:
        raise UsageError("give the contact to keep and at least one to merge into it")
    seen: set[int] = set()
    for contact_id in (keep, *others):
        if contact_id in seen:
            if contact_id == keep:
                raise ValidationError(f"cannot merge contact {keep} with itself")
            raise UsageError(f"contact {contact_id} is given twice")
        seen.add(contact_id)
        row = conn.execute(
            "SELECT name, deleted_at FROM contacts WHERE id = ?", (contact_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no contact with id {contact_id}")
        if row["deleted_at"]:
            into = merged_into(conn, contact_id)
            why = f"was merged into {into}" if into else "is in the trash"
            raise ValidationError(
                f"contact {contact_id} ({row['name']}) {why}; restore it first "
                f"(crm contact restore {contact_id}) or leave it out"
            )


def conflicts(conn: sqlite3.Connection, keep: int, others: Sequence[int]) -> list[Conflict]:
    """The single values that the contacts hold differently, with each contact's value."""
    group = {keep, *others}
    datas = [_Data(conn, c) for c in (keep, *others)]
    found: dict[str, list[tuple[int, Any]]] = {}
    for data in datas:
        for slot, value in data.slots.items():
            if value is None or (slot == "referred_by" and value in group):
                continue
            found.setdefault(slot, []).append((data.id, value))
    out = []
    for slot, values in found.items():
        if len({value for _, value in values}) > 1:
            label = _field_name(slot, next(d for d in datas if d.id == values[0][0]))
            shown = [(cid, _shown(conn, slot, value) or "") for cid, value in values]
            out.append(Conflict(label, shown))
    return out


def chooser(
    conn: sqlite3.Connection,
    prefer: str | None,
    choices: dict[str, int] | None = None,
    *,
    ids: Sequence[int] = (),
) -> Chooser:
    """How conflicts are settled: ``choices`` (field -> id of the contact whose value wins, as a
    person chose them), else ``prefer``: keep (the default), other, or newest (the value of the
    contact changed last, among ``ids``)."""
    if prefer not in (None, *PREFERENCES):
        raise UsageError(f"--prefer {prefer!r} is not one of: {', '.join(PREFERENCES)}")
    changed = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT id, updated_at FROM contacts WHERE id IN (SELECT value FROM json_each(?))",
            (_json(list(ids)),),
        )
    }

    def choose(field: str, current: int, other: int) -> bool:
        if choices and field in choices:
            return choices[field] == other
        if prefer == "other":
            return True
        if prefer == "newest":
            return str(changed.get(other, "")) > str(changed.get(current, ""))
        return False

    return choose


# --- merging --------------------------------------------------------------------------------------


class _Step:
    """One OTHER merged into KEEP: the writes, the plan rows and what to undo."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        keep: int,
        other: int,
        choose: Chooser,
        source: dict[str, int],
    ) -> None:
        self.conn = conn
        self.keep = _Data(conn, keep)
        self.other = _Data(conn, other)
        self.choose = choose
        self.source = source  # slot -> id of the contact its current value came from
        self.plan: list[PlanRow] = []
        self.undo: dict[str, Any] = {
            "columns": {},
            "rows": {
                table: []
                for table in ("contact_emails", "contact_phones", "contact_dates", *_LIST_TABLES)
            },
            "photo": None,
            "tags": [],
            "fields_added": {},
            "fields_changed": {},
            "dates_changed": {},
            "uids_moved": [],
            "uids_added": [],
            "repointed": {},
            "consent": {"created": False, "set": {}},
        }

    def row(self, field: str, keep: Any, other: Any, result: Any, action: str) -> None:
        self.plan.append(PlanRow(self.other.id, field, keep, other, result, action))

    def set_column(self, column: str, value: Any) -> None:
        old = self.conn.execute(
            f"SELECT {column} FROM contacts WHERE id = ?", (self.keep.id,)
        ).fetchone()[0]
        if old == value:
            return
        self.conn.execute(f"UPDATE contacts SET {column} = ? WHERE id = ?", (value, self.keep.id))
        recorded = self.undo["columns"]
        recorded[column] = [recorded[column][0] if column in recorded else old, value]

    def slots(self) -> None:
        keep, other = self.keep, self.other
        for slot in dict.fromkeys([*keep.slots, *other.slots]):
            mine, theirs = keep.slots.get(slot), other.slots.get(slot)
            if slot == "referred_by":  # a contact is not referred by itself
                mine = None if mine == other.id else mine
                theirs = None if theirs == keep.id else theirs
            if mine is None and theirs is None:
                if keep.slots.get(slot) is not None:
                    self.set_column("referred_by_id", None)
                continue
            field = _field_name(slot, keep if slot in keep.slots else other)
            shown = [_shown(self.conn, slot, v) for v in (mine, theirs)]
            if theirs is None or theirs == mine:
                self.row(field, shown[0], shown[1], shown[0], "same" if theirs else "kept")
                continue
            if mine is None:
                take, action = True, "filled"
            else:
                take = self.choose(field, self.source.get(slot, keep.id), other.id)
                action = "replaced" if take else "kept (conflict)"
            self.row(field, shown[0], shown[1], shown[1] if take else shown[0], action)
            if take:
                self.source[slot] = other.id
                self.take(slot, theirs)

    def take(self, slot: str, value: Any) -> None:
        """Set KEEP's ``slot`` to OTHER's ``value``."""
        if slot in GROUPS:
            for column, part in zip(GROUPS[slot], value, strict=True):
                self.set_column(column, part)
        elif slot == "cadence":
            self.set_column("cadence_days", value)
        elif slot == "referred_by":
            self.set_column("referred_by_id", value)
        elif slot.startswith("date:"):
            self.take_date(slot, value)
        elif slot.startswith("field:"):
            self.add_field(self.other.extra[slot], value)
        elif slot == "photo":
            self.take_photo()
        else:
            self.set_column(slot, value)

    def take_photo(self) -> None:
        """KEEP's photo becomes OTHER's (KEEP's own, if any, is kept for an unmerge)."""
        old = self.keep.extra.get("photo")
        if self.undo["photo"] is None:
            self.undo["photo"] = {"old": _photo_json(old)}
        self.conn.execute(
            "INSERT OR REPLACE INTO contact_photos (contact_id, media_type, data, uri) "
            "VALUES (?, ?, ?, ?)",
            (self.keep.id, *self.other.extra["photo"]),
        )

    def take_date(self, slot: str, value: tuple[Any, ...]) -> None:
        date = self.other.extra[slot]
        new = [*value, date["lead_days"]]
        mine = self.keep.extra.get(slot)
        if mine is None:
            cursor = self.conn.execute(
                "INSERT INTO contact_dates (contact_id, kind, label, year, month, day, lead_days) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.keep.id, date["kind"], date["label"], *new),
            )
            self.undo["rows"]["contact_dates"].append(cursor.lastrowid)
            return
        old = [mine["year"], mine["month"], mine["day"], mine["lead_days"]]
        self.conn.execute(
            "UPDATE contact_dates SET year = ?, month = ?, day = ?, lead_days = ? WHERE id = ?",
            (*new, mine["id"]),
        )
        self.undo["dates_changed"][str(mine["id"])] = [old, new]

    def add_field(self, key: str, value: str) -> None:
        conn, keep = self.conn, self.keep.id
        row = conn.execute(
            "SELECT key, value FROM contact_fields WHERE contact_id = ? AND key = ?", (keep, key)
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO contact_fields (contact_id, key, value) VALUES (?, ?, ?)",
                (keep, key, value),
            )
            self.undo["fields_added"][key] = value
        elif row["value"] != value:
            conn.execute(
                "UPDATE contact_fields SET value = ? WHERE contact_id = ? AND key = ?",
                (value, keep, row["key"]),
            )
            self.undo["fields_changed"][row["key"]] = [row["value"], value]

    def lists(self) -> None:
        """Emails, phones, tags and UIDs: KEEP gets those of OTHER it lacks."""
        conn, keep, other = self.conn, self.keep, self.other
        have = {exact(r["email"]) for r in keep.emails}
        position = len(keep.emails)
        for r in other.emails:
            if exact(r["email"]) not in have:
                have.add(exact(r["email"]))
                cursor = conn.execute(
                    "INSERT INTO contact_emails (contact_id, email, label, position) "
                    "VALUES (?, ?, ?, ?)",
                    (keep.id, r["email"], r["label"], position),
                )
                position += 1
                self.undo["rows"]["contact_emails"].append(cursor.lastrowid)
                self.row("email", None, r["email"], r["email"], "added")
        digits = [r["digits"] for r in keep.phones]
        position = len(keep.phones)
        for r in other.phones:
            if not any(same_phone(r["digits"], d) for d in digits):
                digits.append(r["digits"])
                cursor = conn.execute(
                    "INSERT INTO contact_phones (contact_id, phone, label, digits, digits_rev, "
                    "position) VALUES (?, ?, ?, ?, ?, ?)",
                    (keep.id, r["phone"], r["label"], r["digits"], r["digits"][::-1], position),
                )
                position += 1
                self.undo["rows"]["contact_phones"].append(cursor.lastrowid)
                self.row("phone", None, r["phone"], r["phone"], "added")
        for tag_id, name in other.tags.items():
            if tag_id not in keep.tags:
                conn.execute(
                    "INSERT INTO contact_tags (contact_id, tag_id) VALUES (?, ?)", (keep.id, tag_id)
                )
                self.undo["tags"].append(tag_id)
                self.row("tag", None, name, name, "added")
        for list_name in PLAIN_KINDS:
            self.join_list(list_name)
        self.uids()

    def join_list(self, name: str) -> None:
        """KEEP gets the items of one of OTHER's lists (addresses, URLs...) that it lacks."""
        kind = KINDS[name]
        have = {kind.key(item) for item in self.keep.lists[name]}
        position = len(self.keep.lists[name])
        for item in self.other.lists[name]:
            if kind.key(item) in have:
                continue
            have.add(kind.key(item))
            if name == "related" and item.contact_id == self.keep.id:
                item = item._replace(contact_id=None)  # a contact is not related to itself
            cursor = self.conn.execute(kind.insert(), (self.keep.id, *item, position))
            position += 1
            self.undo["rows"][kind.table].append(cursor.lastrowid)
            shown = _item_text(name, item)
            self.row(_LIST_LABELS[name], None, shown, shown, "added")

    def uids(self) -> None:
        conn, keep, other = self.conn, self.keep.id, self.other.id
        moved = [
            r[0]
            for r in conn.execute("SELECT uid FROM contact_uids WHERE contact_id = ?", (other,))
        ]
        conn.execute("UPDATE contact_uids SET contact_id = ? WHERE contact_id = ?", (keep, other))
        self.undo["uids_moved"] = moved
        own = self.other.row["uid"]
        if conn.execute(
            "INSERT OR IGNORE INTO contact_uids (uid, contact_id) VALUES (?, ?)", (own, keep)
        ).rowcount:
            self.undo["uids_added"].append(own)
        self.row("UIDs", None, ", ".join([own, *(u for u in moved if u != own)]), None, "added")

    def consent(self) -> None:
        """A request OTHER made (no contact, no e-mail) that KEEP has not: KEEP makes it now. A
        person who asked for no mail must not get it again because their record was merged."""
        pairs = {"do_not_contact": "do not contact", "email_optout": "e-mail opt-out"}
        columns = [f"{p}_{s}" for p in pairs for s in ("at", "source")]
        select = f"SELECT {', '.join(columns)} FROM contact_consent WHERE contact_id = ?"
        theirs = self.conn.execute(select, (self.other.id,)).fetchone()
        if theirs is None:
            return
        mine = self.conn.execute(select, (self.keep.id,)).fetchone()
        for index, (prefix, label) in enumerate(pairs.items()):
            at, source = theirs[2 * index], theirs[2 * index + 1]
            if at is None or (mine is not None and mine[2 * index] is not None):
                continue
            if mine is None:
                self.conn.execute(
                    "INSERT INTO contact_consent (contact_id) VALUES (?)", (self.keep.id,)
                )
                mine = (None,) * len(columns)
                self.undo["consent"]["created"] = True
            self.conn.execute(
                f"UPDATE contact_consent SET {prefix}_at = ?, {prefix}_source = ? "
                "WHERE contact_id = ?",
                (at, source, self.keep.id),
            )
            self.undo["consent"]["set"][prefix] = [at, source]
            self.row(label, None, f"{at[:10]} ({source})", "kept", "added")

    def repoint(self) -> None:
        """Whatever points at OTHER now points at KEEP (:data:`REPOINTED`)."""
        conn, keep, other = self.conn, self.keep.id, self.other.id
        for table, column in REPOINTED:
            extra = " AND id != ?" if table == "contacts" else ""
            params: tuple[int, ...] = (other, keep) if extra else (other,)
            ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT rowid FROM {table} WHERE {column} = ?{extra}", params
                )
            ]
            if not ids:
                continue
            conn.execute(
                f"UPDATE OR IGNORE {table} SET {column} = ? "
                "WHERE rowid IN (SELECT value FROM json_each(?))",
                (keep, _json(ids)),
            )
            moved = [
                r[0]
                for r in conn.execute(
                    f"SELECT rowid FROM {table} WHERE rowid IN (SELECT value FROM json_each(?)) "
                    f"AND {column} = ?",
                    (_json(ids), keep),
                )
            ]
            key = f"{table}.{column}"
            self.undo["repointed"][key] = moved
            left = (
                f", {len(ids) - len(moved)} left (already there)" if len(moved) < len(ids) else ""
            )
            result = f"{len(moved)} moved{left}"
            if table == "deals":
                result += _currencies(conn, keep)
            self.row(REPOINTED_LABELS.get(key, table), None, str(len(ids)), result, "moved")


def _currencies(conn: sqlite3.Connection, contact_id: int) -> str:
    codes = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT currency FROM deals WHERE contact_id = ? AND deleted_at IS NULL "
            "ORDER BY currency",
            (contact_id,),
        )
    ]
    if len(codes) < 2:
        return ""
    return f"; in {', '.join(codes)}, each kept in its own currency"


def _merge_one(
    conn: sqlite3.Connection,
    keep: int,
    other: int,
    choose: Chooser,
    source: dict[str, int],
    *,
    stamp: str,
    batch: int | None,
) -> tuple[list[PlanRow], int]:
    step = _Step(conn, keep, other, choose, source)
    step.slots()
    step.lists()
    step.consent()
    step.repoint()
    if step.other.row["created_at"] < step.keep.row["created_at"]:
        step.set_column("created_at", step.other.row["created_at"])
    step.set_column("updated_at", stamp)
    conn.execute("UPDATE contacts SET deleted_at = ? WHERE id = ?", (stamp, other))
    contacts.refresh_name(conn, keep)
    search.reindex(conn, [keep, other])
    merge_id = int(
        conn.execute(
            "INSERT INTO contact_merges (batch, keep_id, other_id, merged_at, undo_json) "
            "VALUES (coalesce(?, 0), ?, ?, ?, ?)",
            (batch, keep, other, stamp, _json(step.undo)),
        ).lastrowid
        or 0
    )
    if batch is None:
        conn.execute("UPDATE contact_merges SET batch = id WHERE id = ?", (merge_id,))
    return step.plan, merge_id


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def merge(
    conn: sqlite3.Connection,
    keep: int,
    others: Sequence[int],
    *,
    choose: Chooser,
    now: datetime,
    dry_run: bool = False,
) -> list[PlanRow]:
    """Merge ``others`` into ``keep``, in order, in one transaction; what was done, field by field.

    A dry run does it all and rolls it back, so what it shows is exactly what a merge would do.
    """
    stamp = to_utc_text(now)
    plan: list[PlanRow] = []
    try:
        with transaction(conn):
            check(conn, keep, others)
            source: dict[str, int] = {}
            batch: int | None = None
            for other in others:
                rows, merge_id = _merge_one(
                    conn, keep, other, choose, source, stamp=stamp, batch=batch
                )
                batch = batch or merge_id
                plan.extend(rows)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return plan


# --- undoing --------------------------------------------------------------------------------------


def merged_into(conn: sqlite3.Connection, contact_id: int) -> int | None:
    """The contact ``contact_id`` was merged into (and is still merged), if any."""
    row = conn.execute(
        "SELECT keep_id FROM contact_merges WHERE other_id = ?", (contact_id,)
    ).fetchone()
    return int(row[0]) if row else None


def unmerge(conn: sqlite3.Connection, contact_id: int, *, now: datetime) -> list[tuple[int, int]]:
    """Undo a merge: of ``contact_id`` (merged away), or the latest into it (kept).

    Returns the (kept, merged-away) pairs undone. One transaction.
    """
    with transaction(conn):
        row = conn.execute(
            "SELECT * FROM contact_merges WHERE other_id = ?", (contact_id,)
        ).fetchone()
        if row is not None:
            rows = [row]
        else:
            rows = conn.execute(
                "SELECT * FROM contact_merges WHERE keep_id = ? AND batch = "
                "(SELECT max(batch) FROM contact_merges WHERE keep_id = ?) ORDER BY id DESC",
                (contact_id, contact_id),
            ).fetchall()
        if not rows:
            name = conn.execute("SELECT name FROM contacts WHERE id = ?", (contact_id,)).fetchone()
            if name is None:
                raise NotFound(f"no contact with id {contact_id}")
            raise ValidationError(
                f"contact {contact_id} ({name[0]}) was not merged with another: nothing to undo"
            )
        for merged in rows:
            keep = merged["keep_id"]
            into = merged_into(conn, keep)
            if into is not None:
                raise ValidationError(
                    f"contact {keep}, where contact {merged['other_id']} was merged, was itself "
                    f"merged into {into} later; undo that first: crm contact unmerge {keep}"
                )
            _undo(conn, merged, to_utc_text(now))
        return [(r["keep_id"], r["other_id"]) for r in rows]


def _undo(conn: sqlite3.Connection, merged: sqlite3.Row, stamp: str) -> None:
    keep, other = merged["keep_id"], merged["other_id"]
    undo = json.loads(merged["undo_json"])
    for column, (old, new) in undo["columns"].items():
        if column in _UNDOABLE and column != "updated_at":  # only what nobody changed since
            conn.execute(
                f"UPDATE contacts SET {column} = ? WHERE id = ? AND {column} IS ?",
                (old, keep, new),
            )
    for table, ids in undo["rows"].items():
        if table in ("contact_emails", "contact_phones", "contact_dates", *_LIST_TABLES):
            conn.execute(
                f"DELETE FROM {table} WHERE contact_id = ? "
                "AND id IN (SELECT value FROM json_each(?))",
                (keep, _json(ids)),
            )
    conn.execute(
        "DELETE FROM contact_tags WHERE contact_id = ? "
        "AND tag_id IN (SELECT value FROM json_each(?))",
        (keep, _json(undo["tags"])),
    )
    for key, value in undo["fields_added"].items():
        conn.execute(
            "DELETE FROM contact_fields WHERE contact_id = ? AND key = ? AND value = ?",
            (keep, key, value),
        )
    for key, (old, new) in undo["fields_changed"].items():
        conn.execute(
            "UPDATE contact_fields SET value = ? WHERE contact_id = ? AND key = ? AND value = ?",
            (old, keep, key, new),
        )
    for date_id, (old, new) in undo["dates_changed"].items():
        conn.execute(
            "UPDATE contact_dates SET year = ?, month = ?, day = ?, lead_days = ? "
            "WHERE id = ? AND contact_id = ? AND year IS ? AND month = ? AND day = ? "
            "AND lead_days IS ?",
            (*old, int(date_id), keep, *new),
        )
    _undo_links(conn, keep, other, undo)
    _undo_consent(conn, keep, undo)
    _undo_photo(conn, keep, other, undo)
    conn.execute("UPDATE contacts SET deleted_at = NULL WHERE id = ?", (other,))
    conn.execute("UPDATE contacts SET updated_at = ? WHERE id = ?", (stamp, keep))
    contacts.refresh_name(conn, keep)
    search.reindex(conn, [keep, other])
    conn.execute("DELETE FROM contact_merges WHERE id = ?", (merged["id"],))


def _item_text(name: str, item: Any) -> str:
    """A list item as the dry run shows it."""
    if name == "addresses":
        return str(item.one_line())
    return str(item.line()) if name == "vcard" else str(item)


def _photo_json(photo: tuple[Any, ...] | None) -> list[Any] | None:
    """A photo row (media type, bytes, URI) as JSON holds it."""
    if photo is None:
        return None
    media_type, data, uri = photo
    return [media_type, base64.b64encode(data).decode("ascii") if data else None, uri]


def _undo_photo(conn: sqlite3.Connection, keep: int, other: int, undo: dict[str, Any]) -> None:
    """KEEP's photo back, unless it was changed again since the merge."""
    done = undo.get("photo")
    select = "SELECT media_type, data, uri FROM contact_photos WHERE contact_id = ?"
    now, theirs = (conn.execute(select, (cid,)).fetchone() for cid in (keep, other))
    if not done or now is None or theirs is None or tuple(now) != tuple(theirs):
        return
    conn.execute("DELETE FROM contact_photos WHERE contact_id = ?", (keep,))
    if done["old"] is not None:
        media_type, data, uri = done["old"]
        conn.execute(
            "INSERT INTO contact_photos (contact_id, media_type, data, uri) VALUES (?, ?, ?, ?)",
            (keep, media_type, base64.b64decode(data) if data is not None else None, uri),
        )


def _undo_consent(conn: sqlite3.Connection, keep: int, undo: dict[str, Any]) -> None:
    """The requests the merge gave KEEP, taken back unless made again since."""
    done = undo.get("consent", {"created": False, "set": {}})
    for prefix, (at, source) in done["set"].items():
        conn.execute(
            f"UPDATE contact_consent SET {prefix}_at = NULL, {prefix}_source = NULL "
            f"WHERE contact_id = ? AND {prefix}_at IS ? AND {prefix}_source IS ?",
            (keep, at, source),
        )
    if done["created"]:
        conn.execute(
            "DELETE FROM contact_consent WHERE contact_id = ? AND do_not_contact_at IS NULL "
            "AND email_optout_at IS NULL",
            (keep,),
        )


def _undo_links(conn: sqlite3.Connection, keep: int, other: int, undo: dict[str, Any]) -> None:
    """UIDs back to OTHER, and the rows that were re-pointed."""
    conn.execute(
        "UPDATE contact_uids SET contact_id = ? WHERE contact_id = ? "
        "AND uid IN (SELECT value FROM json_each(?))",
        (other, keep, _json(undo["uids_moved"])),
    )
    conn.execute(
        "DELETE FROM contact_uids WHERE contact_id = ? AND uid IN (SELECT value FROM json_each(?))",
        (keep, _json(undo["uids_added"])),
    )
    known = {f"{table}.{column}": (table, column) for table, column in REPOINTED}
    for key, ids in undo["repointed"].items():
        if key not in known:
            continue  # a table no longer re-pointed: its rows stay where they are
        table, column = known[key]
        conn.execute(
            f"UPDATE OR IGNORE {table} SET {column} = ? WHERE {column} = ? "
            "AND rowid IN (SELECT value FROM json_each(?))",
            (other, keep, _json(ids)),
        )
