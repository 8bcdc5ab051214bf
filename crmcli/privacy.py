"""A person's data: all of it as JSON (a data-subject request), or erased for good.

Both work through :data:`crmcli.contact_tables.CONTACT_TABLES`, the one list of tables that
hold something about a contact, so neither can miss a table the other knows.

Erasing is for good: the rows are deleted with SQLite's ``secure_delete`` on (freed pages are
overwritten with zeros, not left in the file), the search index is merged without them, the file
is rewritten whole (VACUUM: older versions of their rows may sit in pages' free space), and the
write-ahead log is checkpointed and truncated, so the person's name is no longer anywhere in the
database file. That costs about 2 s on a database of 100,000 contacts. What stays is a count: ``erasures`` (when, nothing else) and, on each campaign
that wrote to them, ``forgotten``. Backups made before (``crm db backup``) still hold them.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, NamedTuple

from crmcli.clock import to_utc_text
from crmcli.contact_tables import CONTACT_TABLES, DEPENDENT_TABLES
from crmcli.db import transaction

#: what the rows of each table are, for a person reading what goes ("12 notes")
_WORDS = {
    "rule_firings": ("rule firing", "rule firings"),
    "sends": ("message sent", "messages sent"),
    "notes": ("note", "notes"),
    "reminders": ("reminder", "reminders"),
    "purchases": ("purchase", "purchases"),
    "purchase_totals": ("purchase total", "purchase totals"),
    "deals": ("deal", "deals"),
    "deal_stage_changes": ("deal stage change", "deal stage changes"),
    "contact_consent": ("consent record", "consent records"),
    "contact_emails": ("email", "emails"),
    "contact_phones": ("phone", "phones"),
    "contact_tags": ("tag", "tags"),
    "contact_fields": ("custom field", "custom fields"),
    "contact_dates": ("yearly date", "yearly dates"),
    "contact_search": ("search index entry", "search index entries"),
    "contact_addresses": ("address", "addresses"),
    "contact_urls": ("web address", "web addresses"),
    "contact_handles": ("messaging handle", "messaging handles"),
    "contact_related": ("related person", "related people"),
    "contact_photos": ("photo", "photos"),
    "contact_invalid": ("flagged value", "flagged values"),
    "contact_vcard_properties": ("vCard property", "vCard properties"),
}


def _count(n: int, table: str) -> str:
    one, many = _WORDS.get(table, (f"{table} row", f"{table} rows"))
    return f"{n} {one if n == 1 else many}"


def _rows(conn: sqlite3.Connection, table: str, column: str, contact_id: int) -> list[Any]:
    cursor = conn.execute(f"SELECT * FROM {table} WHERE {column} = ?", (contact_id,))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, map(_json_value, row), strict=True)) for row in cursor]


def _json_value(value: Any) -> Any:
    """A column's value as JSON holds it: bytes (a photo) as base64 text."""
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    return value


def _dependent_sql(table: str, column: str, parent: str) -> str:
    owner = next(t for t in CONTACT_TABLES if t.table == parent)
    return f"{column} IN (SELECT id FROM {parent} WHERE {owner.column} = ?)"


def export_data(conn: sqlite3.Connection, contact_id: int, *, now: datetime) -> dict[str, Any]:
    """Everything crmcli holds about one person (docs/consent.md): the contact as ``crm contact
    show`` gives it, their consent, and every row of every table about them. Other people are
    named by id only (who referred them, who they referred, as a count)."""
    from crmcli import consent, contacts

    contact = contacts.get(conn, contact_id, include_deleted=True)
    tables = _tables_of(conn, contact_id)
    record = contact.to_dict()
    if record["referred_by"]:
        record["referred_by"] = {"id": record["referred_by"]["id"]}
    asked = consent.of(conn, contact_id)
    return {
        "exported_at": to_utc_text(now),
        "contact": record,
        "consent": asked.to_dict() if asked else consent.NOTHING,
        "referred_contacts": conn.execute(
            "SELECT count(*) FROM contacts WHERE referred_by_id = ?", (contact_id,)
        ).fetchone()[0],
        "tables": tables,
        # the person's earlier records merged into this one (in the trash, for an unmerge)
        "merged_records": [
            {"id": other, "tables": _tables_of(conn, other)}
            for other in merged_away(conn, contact_id)
        ],
    }


def _tables_of(conn: sqlite3.Connection, contact_id: int) -> dict[str, list[Any]]:
    """Every row of every table about one contact record."""
    tables: dict[str, list[Any]] = {}
    for entry in CONTACT_TABLES:
        if entry.export:
            # a table may name the person in two columns (a merge: kept, merged away)
            rows = _rows(conn, entry.table, entry.column, contact_id)
            tables.setdefault(entry.table, []).extend(rows)
    for dependent in DEPENDENT_TABLES:
        where = _dependent_sql(*dependent)
        cursor = conn.execute(f"SELECT * FROM {dependent.table} WHERE {where}", (contact_id,))
        names = [d[0] for d in cursor.description]
        tables[dependent.table] = [dict(zip(names, row, strict=True)) for row in cursor]
    return tables


class Erasure(NamedTuple):
    """Who goes, and how many rows of what (the confirmation names them)."""

    contact_id: int
    name: str
    counts: dict[str, int]
    unlinked: int
    #: the person's earlier records merged into this one (in the trash): they go too
    merged_away: tuple[int, ...] = ()

    def describe(self) -> str:
        """``12 notes, 2 reminders, 1 deal...``: what goes besides the contact itself."""
        parts = [_count(n, t) for t, n in self.counts.items() if n]
        if self.merged_away:
            ids = ", ".join(f"#{i}" for i in self.merged_away)
            parts.append(f"the records merged into them ({ids}, in the trash)")
        if self.unlinked:
            parts.append(f"the link from {self.unlinked} contact(s) they referred (kept)")
        return ", ".join(parts) or "nothing else"


def merged_away(conn: sqlite3.Connection, contact_id: int) -> tuple[int, ...]:
    """The records merged into ``contact_id`` (crm contact merge), and those merged into them:
    the same person, kept in the trash for an unmerge."""
    rows = conn.execute(
        "WITH RECURSIVE away(id) AS (SELECT other_id FROM contact_merges WHERE keep_id = ? "
        "UNION SELECT m.other_id FROM contact_merges m JOIN away ON m.keep_id = away.id) "
        "SELECT id FROM away ORDER BY id",
        (contact_id,),
    )
    return tuple(row[0] for row in rows)


def what_goes(conn: sqlite3.Connection, contact_id: int) -> Erasure:
    """What ``forget`` erases: the contact, its rows, and the records merged into it."""
    from crmcli import contacts

    contact = contacts.get(conn, contact_id, include_deleted=True)
    away = merged_away(conn, contact_id)
    counts: dict[str, int] = {}
    unlinked = 0
    for person in (contact_id, *away):
        for entry in CONTACT_TABLES:
            found = conn.execute(
                f"SELECT count(*) FROM {entry.table} WHERE {entry.column} = ?", (person,)
            ).fetchone()[0]
            if entry.forget == "unlink":
                unlinked += found if person == contact_id else 0
            elif entry.table != "contacts":
                counts[entry.table] = counts.get(entry.table, 0) + found
        for dependent in DEPENDENT_TABLES:
            counts[dependent.table] = (
                counts.get(dependent.table, 0)
                + conn.execute(
                    f"SELECT count(*) FROM {dependent.table} WHERE {_dependent_sql(*dependent)}",
                    (person,),
                ).fetchone()[0]
            )
    return Erasure(contact_id, contact.name, counts, unlinked, away)


def forget(conn: sqlite3.Connection, contact_id: int, *, now: datetime) -> Erasure:
    """Erase a contact and everything about them for good (see the module docstring)."""
    from crmcli import events
    from crmcli.sync import state as sync_state

    secure = conn.execute("PRAGMA secure_delete").fetchone()[0]
    conn.execute("PRAGMA secure_delete = ON")
    try:
        with transaction(conn):
            gone = what_goes(conn, contact_id)
            conn.execute(
                "UPDATE campaigns SET forgotten = forgotten + 1 WHERE id IN (SELECT campaign_id "
                "FROM sends WHERE kind = 'campaign' AND status = 'sent' AND contact_id IN "
                "(SELECT value FROM json_each(?)))",
                (json.dumps([contact_id, *gone.merged_away]),),
            )
            files: list[tuple[str, str]] = []
            for person in (contact_id, *gone.merged_away):
                files += sync_state.forget(conn, person)  # their vdir files go too
                _erase_rows(conn, person)
            _remove_files_after_commit(conn, files)
            conn.execute("INSERT INTO erasures (erased_at) VALUES (?)", (to_utc_text(now),))
            events.emit(conn, "contact-forgotten", contact_id, contact_id=None, now=now)
        # The search index keeps deleted text in its older segments until they are merged.
        with transaction(conn):
            conn.execute("INSERT INTO contact_search (contact_search) VALUES ('optimize')")
        # Older versions of their rows (a name changed long ago) may still sit in the free
        # space of pages written before: VACUUM writes the whole file anew, without them.
        conn.execute("VACUUM")
    finally:
        conn.execute(f"PRAGMA secure_delete = {int(secure)}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return gone


def _remove_files_after_commit(conn: sqlite3.Connection, files: list[tuple[str, str]]) -> None:
    """The person's files in the synced folders are removed once the erasure is committed
    (what cannot be removed now, the next crm sync removes: crmcli.sync.state.forget)."""
    if not files:
        return
    from pathlib import Path

    from crmcli import sync
    from crmcli.db import after_commit

    folders = {r[0]: Path(r[1]) for r in conn.execute("SELECT kind, path FROM sync_collections")}
    after_commit(conn, lambda: sync.remove_now(folders, files))


def _erase_rows(conn: sqlite3.Connection, contact_id: int) -> None:
    """Every row about one contact record, through the one list of tables."""
    for dependent in DEPENDENT_TABLES:
        where = _dependent_sql(*dependent)
        conn.execute(f"DELETE FROM {dependent.table} WHERE {where}", (contact_id,))
    for entry in CONTACT_TABLES:
        if entry.forget == "unlink":
            conn.execute(
                f"UPDATE {entry.table} SET {entry.column} = NULL WHERE {entry.column} = ?",
                (contact_id,),
            )
        else:
            conn.execute(f"DELETE FROM {entry.table} WHERE {entry.column} = ?", (contact_id,))


def erasures(conn: sqlite3.Connection) -> int:
    """How many people were erased from this database (a count, nothing else)."""
    return int(conn.execute("SELECT count(*) FROM erasures").fetchone()[0])
