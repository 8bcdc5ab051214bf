"""Tags: listing with counts, renaming, merging. Tag names are case-insensitive."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import NamedTuple

from crmcli import search
from crmcli.clock import to_utc_text
from crmcli.contacts import validate_tag
from crmcli.db import transaction
from crmcli.errors import NotFound, UsageError, ValidationError


class TagCount(NamedTuple):
    """A tag in use, and how many contacts (not in the trash) carry it."""

    tag: str
    contacts: int


def list_tags(conn: sqlite3.Connection) -> list[TagCount]:
    """Every tag in use with the number of (non-trashed) contacts that carry it."""
    rows = conn.execute(
        "SELECT t.name, count(c.id) AS contacts FROM tags t "
        "JOIN contact_tags ct ON ct.tag_id = t.id "
        "JOIN contacts c ON c.id = ct.contact_id AND c.deleted_at IS NULL "
        "GROUP BY t.id ORDER BY t.name COLLATE NOCASE"
    )
    return [TagCount(row["name"], row["contacts"]) for row in rows]


def _tag_id(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT id FROM tags WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound(f"no tag {name!r} (see: crm tag list)")
    return int(row[0])


def _tagged(conn: sqlite3.Connection, tag_id: int) -> list[int]:
    return [
        r[0]
        for r in conn.execute("SELECT contact_id FROM contact_tags WHERE tag_id = ?", (tag_id,))
    ]


def _touch(conn: sqlite3.Connection, contact_ids: list[int], now: datetime) -> None:
    conn.executemany(
        "UPDATE contacts SET updated_at = ? WHERE id = ?",
        [(to_utc_text(now), cid) for cid in contact_ids],
    )
    search.reindex(conn, contact_ids)


def rename(conn: sqlite3.Connection, old: str, new: str, *, now: datetime) -> int:
    """Rename a tag everywhere; returns how many contacts carry it. Refuses to merge silently."""
    new = validate_tag(new)
    with transaction(conn):
        tag_id = _tag_id(conn, old)
        clash = conn.execute("SELECT id FROM tags WHERE name = ?", (new,)).fetchone()
        if clash and clash[0] != tag_id:
            raise ValidationError(
                f"tag {new!r} exists already; to combine them run: crm tag merge {old!r} --into {new!r}"
            )
        conn.execute("UPDATE tags SET name = ? WHERE id = ?", (new, tag_id))
        contact_ids = _tagged(conn, tag_id)
        _touch(conn, contact_ids, now)
    return len(contact_ids)


def merge(conn: sqlite3.Connection, sources: list[str], into: str, *, now: datetime) -> int:
    """Fold ``sources`` into the tag ``into`` (created if needed); returns contacts affected."""
    into = validate_tag(into)
    with transaction(conn):
        source_ids = [_tag_id(conn, name) for name in sources]
        row = conn.execute("SELECT id FROM tags WHERE name = ?", (into,)).fetchone()
        # By id, so "LEAD --into lead" counts too (names are case-insensitive). Before any write.
        for name, source_id in zip(sources, source_ids, strict=True):
            if row and source_id == row[0]:
                raise UsageError(
                    f"cannot merge tag {name!r} into itself (--into {into!r}); give the other "
                    f"tags to fold into it: crm tag merge TAG... --into {into!r}"
                )
        target_id = (
            int(row[0])
            if row
            else int(conn.execute("INSERT INTO tags (name) VALUES (?)", (into,)).lastrowid or 0)
        )
        affected: set[int] = set()
        for source_id in source_ids:
            contact_ids = _tagged(conn, source_id)
            affected.update(contact_ids)
            conn.executemany(
                "INSERT OR IGNORE INTO contact_tags (contact_id, tag_id) VALUES (?, ?)",
                [(cid, target_id) for cid in contact_ids],
            )
            conn.execute("DELETE FROM tags WHERE id = ?", (source_id,))
        _touch(conn, sorted(affected), now)
    return len(affected)
