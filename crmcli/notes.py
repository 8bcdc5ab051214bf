"""Notes: what happened with a contact (a call, an email, a meeting), and the keep-in-touch cadence.

Owns the ``notes`` table. Every change to a note rebuilds the contact's search document, so
``crm search`` finds contacts by the text of their notes.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from crmcli import search
from crmcli.clock import local_date_reader, to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, ValidationError

#: kinds suggested in help and docs; any short lowercase word is accepted
KINDS = ("note", "call", "email", "meeting", "message", "visit")
_KIND = r"^[a-z][a-z0-9_-]{0,29}$"  # matched via re's cache: compiled on first use


class Note(NamedTuple):
    """One note as stored; ``at`` is when it happened (UTC text)."""

    id: int
    contact_id: int
    contact: str
    kind: str
    body: str
    at: str
    created_at: str
    updated_at: str
    deleted_at: str | None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a note (documented in docs/json.md)."""
        return {
            "id": self.id,
            "contact_id": self.contact_id,
            "contact": self.contact,
            "kind": self.kind,
            "at": self.at,
            "body": self.body,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "deleted_at": self.deleted_at,
        }


_SELECT = (
    "SELECT n.id, n.contact_id, c.name AS contact, n.kind, n.body, n.at, n.created_at, "
    "n.updated_at, n.deleted_at FROM notes n JOIN contacts c ON c.id = n.contact_id"
)


def _note(row: sqlite3.Row) -> Note:
    return Note(**{key: row[key] for key in row.keys()})  # noqa: SIM118 - sqlite3.Row


def validate_kind(kind: str) -> str:
    """A kind is one short lowercase word: call, email, meeting, note..."""
    value = kind.strip().lower()
    if not re.match(_KIND, value):
        raise ValidationError(
            f"note kind {kind!r} is not valid (one word, e.g. {', '.join(KINDS)})"
        )
    return value


def validate_body(body: str) -> str:
    text = body.strip()
    if not text:
        raise ValidationError("the note is empty; nothing was saved")
    return text


def _validate_at(at: datetime, now: datetime) -> None:
    if at > now:
        raise ValidationError(
            f"--at {at:%Y-%m-%d %H:%M} is in the future: a note records what happened "
            "(for what is to come, use crm remind)"
        )


def add(
    conn: sqlite3.Connection,
    contact_id: int,
    body: str,
    *,
    now: datetime,
    kind: str = "note",
    at: datetime | None = None,
    message_id: str | None = None,
) -> int:
    """Add a note to a (non-trashed) contact; ``at`` (default: now) is when it happened.
    ``message_id``: the e-mail it records (see :func:`by_message_id`)."""
    from crmcli import contacts

    text = validate_body(body)
    kind = validate_kind(kind)
    moment = at or now
    _validate_at(moment, now)
    stamp = to_utc_text(now)
    with transaction(conn):
        contacts.get(conn, contact_id)
        note_id = conn.execute(
            "INSERT INTO notes (contact_id, kind, body, at, created_at, updated_at, message_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (contact_id, kind, text, to_utc_text(moment), stamp, stamp, message_id),
        ).lastrowid
        search.reindex(conn, [contact_id])
        from crmcli import events

        events.emit(conn, "note", int(note_id or 0), contact_id=contact_id, now=now, kind=kind)
    return int(note_id or 0)


def by_message_id(conn: sqlite3.Connection, contact_id: int, message_id: str) -> int | None:
    """The note (trashed ones too) that already records this e-mail for this contact."""
    row = conn.execute(
        "SELECT id FROM notes WHERE contact_id = ? AND message_id = ?", (contact_id, message_id)
    ).fetchone()
    return int(row[0]) if row else None


def get(conn: sqlite3.Connection, note_id: int, *, include_deleted: bool = False) -> Note:
    """One note; NotFound when missing, in the trash (unless asked) or its contact is trashed."""
    row = conn.execute(f"{_SELECT} WHERE n.id = ?", (note_id,)).fetchone()
    if row is None or (row["deleted_at"] and not include_deleted):
        raise NotFound(f"no note with id {note_id} (see: crm notes)")
    return _note(row)


def edit(
    conn: sqlite3.Connection,
    note_id: int,
    *,
    now: datetime,
    body: str | None = None,
    kind: str | None = None,
    at: datetime | None = None,
) -> Note:
    """Change a note's text, kind or time; returns the note as saved."""
    sets: dict[str, Any] = {}
    if body is not None:
        sets["body"] = validate_body(body)
    if kind is not None:
        sets["kind"] = validate_kind(kind)
    if at is not None:
        _validate_at(at, now)
        sets["at"] = to_utc_text(at)
    if not sets:
        raise ValidationError("nothing to change: give new text, --kind or --at")
    with transaction(conn):
        note = get(conn, note_id)
        sets["updated_at"] = to_utc_text(now)
        assignments = ", ".join(f"{key} = ?" for key in sets)
        conn.execute(f"UPDATE notes SET {assignments} WHERE id = ?", (*sets.values(), note_id))
        search.reindex(conn, [note.contact_id])
        return get(conn, note_id)


def trash(conn: sqlite3.Connection, note_id: int, *, now: datetime) -> Note:
    """Move a note to the trash (restorable)."""
    with transaction(conn):
        note = get(conn, note_id)
        conn.execute("UPDATE notes SET deleted_at = ? WHERE id = ?", (to_utc_text(now), note_id))
        search.reindex(conn, [note.contact_id])
    return note


def restore(conn: sqlite3.Connection, note_id: int) -> Note:
    """Bring a note back from the trash."""
    with transaction(conn):
        note = get(conn, note_id, include_deleted=True)
        if note.deleted_at is None:
            raise ValidationError(f"note {note_id} is not in the trash")
        conn.execute("UPDATE notes SET deleted_at = NULL WHERE id = ?", (note_id,))
        search.reindex(conn, [note.contact_id])
        return get(conn, note_id)


@dataclass
class NoteFilters:
    """Filters of ``crm notes``."""

    contact_id: int | None = None
    kinds: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    limit: int | None = None
    deleted: bool = False
    oldest_first: bool = False


def list_notes(conn: sqlite3.Connection, filters: NoteFilters) -> Iterator[Note]:
    """Notes matching ``filters``, newest first (by when they happened); streamed."""
    where = ["n.deleted_at IS NOT NULL" if filters.deleted else "n.deleted_at IS NULL"]
    where.append("c.deleted_at IS NULL")
    params: list[Any] = []
    if filters.contact_id is not None:
        where.append("n.contact_id = ?")
        params.append(filters.contact_id)
    if filters.kinds:
        where.append(f"n.kind IN ({', '.join('?' for _ in filters.kinds)})")
        params.extend(validate_kind(k) for k in filters.kinds)
    for tag in filters.tags:
        where.append(
            "n.contact_id IN (SELECT ct.contact_id FROM contact_tags ct "
            "JOIN tags t ON t.id = ct.tag_id WHERE t.name = ?)"
        )
        params.append(tag)
    if filters.since is not None:
        where.append("n.at >= ?")
        params.append(to_utc_text(filters.since))
    if filters.until is not None:
        where.append("n.at < ?")
        params.append(to_utc_text(filters.until))
    if filters.text:
        where.append("n.body LIKE ? ESCAPE '\\'")
        escaped = filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.append(f"%{escaped}%")
    direction = "ASC" if filters.oldest_first else "DESC"
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY n.at {direction}, n.id {direction}"
    if filters.limit is not None:
        sql += " LIMIT ?"
        params.append(filters.limit)
    for row in conn.execute(sql, params):
        yield _note(row)


def recent(conn: sqlite3.Connection, contact_id: int, *, limit: int = 5) -> list[Note]:
    """The last ``limit`` notes of one contact, newest first."""
    return list(list_notes(conn, NoteFilters(contact_id=contact_id, limit=limit)))


# --- keep-in-touch cadence --------------------------------------------------------------------


class TouchDue(NamedTuple):
    """A contact whose cadence has run out: no note since ``since`` (its last note, or when it
    was added if it has none); due on ``due_on`` (local date)."""

    contact_id: int
    cadence_days: int
    last_at: str | None
    since: str
    due_on: date
    #: the local date of ``since``
    since_on: date


def _local_midnight_utc(day: date) -> str:
    return to_utc_text(datetime.combine(day, time()))


def due_a_touch(
    conn: sqlite3.Connection, today: date, *, limit: int | None = None
) -> tuple[list[TouchDue], int]:
    """Contacts with a cadence whose last note is older than it, the longest-waiting first,
    and how many there are. With ``limit``, only the first ``limit`` of them.

    Days are calendar days: a contact with a 30-day cadence whose last note was on Oct 24 is
    due on Nov 23 (and stays due until a note is added). A contact with no note counts from
    when it was added. Per distinct cadence, the due contacts are a range of the contacts_touch
    index (cadence, last touch): counted there, and read in order, at most ``limit`` of them.
    """
    cadences = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT cadence_days FROM contacts INDEXED BY contacts_touch "
            "WHERE cadence_days IS NOT NULL AND deleted_at IS NULL"
        )
    ]
    local_date = local_date_reader()
    out: list[TouchDue] = []
    total = 0
    due = (
        "FROM contacts INDEXED BY contacts_touch WHERE cadence_days = ? "
        "AND deleted_at IS NULL AND coalesce(last_touch_at, created_at) < ?"
    )
    for cadence in cadences:
        # Due when the local date of `since` is on or before today - cadence, that is when
        # `since` is before the local midnight that starts the day after: a text comparison.
        threshold = _local_midnight_utc(today - timedelta(days=cadence - 1))
        sql = f"SELECT id, created_at, last_touch_at {due} ORDER BY coalesce(last_touch_at, created_at), id"
        params: tuple[Any, ...] = (cadence, threshold)
        if limit is not None:
            total += conn.execute(f"SELECT count(*) {due}", params).fetchone()[0]
            sql += " LIMIT ?"
            params = (*params, limit)
        wait = timedelta(days=cadence)
        for contact_id, created_at, last_at in conn.execute(sql, params):
            since = last_at or created_at
            since_on = local_date(since)
            out.append(TouchDue(contact_id, cadence, last_at, since, since_on + wait, since_on))
    out.sort(key=lambda t: (t.due_on, t.since, t.contact_id))
    if limit is None:
        return out, len(out)
    return out[:limit], total
