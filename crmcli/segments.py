"""Segments: saved queries, used as ``segment:NAME`` inside any query. Owns the ``segments`` table.

A segment stores the query's text, not its members: it is evaluated when used, so it always
reflects the contacts as they are now.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date, datetime
from typing import Any, NamedTuple

from crmcli.clock import to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, ValidationError

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class SavedSegment(NamedTuple):
    id: int
    name: str
    query: str
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a segment (docs/json.md): its fields, in order."""
        return dict(self._asdict())


def validate_name(name: str) -> str:
    name = name.strip()
    if not re.match(_NAME, name):
        raise ValidationError(
            f"segment name {name!r} is not valid (letters, digits, - _ . up to 64, no spaces)"
        )
    return name


def find(conn: sqlite3.Connection, name: str) -> SavedSegment | None:
    """The segment called ``name`` (any case), or None."""
    row = conn.execute(
        "SELECT id, name, query, created_at, updated_at FROM segments WHERE name = ?",
        (name.strip(),),
    ).fetchone()
    return SavedSegment(*row) if row else None


def get(conn: sqlite3.Connection, name: str) -> SavedSegment:
    """The segment called ``name``; NotFound (naming the saved ones) otherwise."""
    found = find(conn, name)
    if found is None:
        known = names(conn)
        listed = f" (saved: {', '.join(known)})" if known else " (none saved yet)"
        raise NotFound(f"no segment {name!r}{listed}")
    return found


def names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM segments ORDER BY name COLLATE NOCASE")]


def list_segments(conn: sqlite3.Connection) -> list[SavedSegment]:
    return [
        SavedSegment(*row)
        for row in conn.execute(
            "SELECT id, name, query, created_at, updated_at FROM segments "
            "ORDER BY name COLLATE NOCASE"
        )
    ]


def save(
    conn: sqlite3.Connection, name: str, text: str, *, now: datetime, replace: bool = False
) -> SavedSegment:
    """Save ``text`` as segment ``name`` after checking that it compiles (a broken segment would
    only fail later, wherever it is used). ``replace`` allows changing an existing one."""
    from crmcli import query

    name = validate_name(name)
    text = text.strip()
    if not text:
        raise ValidationError("a segment needs a query, e.g. crm segment add vip 'tag:vip'")
    today: date = now.date()
    with transaction(conn):
        existing = find(conn, name)
        if existing is not None and not replace:
            raise ValidationError(
                f"segment {existing.name!r} exists already ({existing.query}); "
                "add --replace to change it"
            )
        stamp = to_utc_text(now)
        if existing is None:
            conn.execute(
                "INSERT INTO segments (name, query, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (name, text, stamp, stamp),
            )
        else:
            conn.execute(
                "UPDATE segments SET query = ?, updated_at = ? WHERE id = ?",
                (text, stamp, existing.id),
            )
        # Checked with the new text in place, so a segment that uses itself is caught too.
        query.compile_query(conn, f"segment:{name}", today=today)
    return get(conn, name)


def remove(conn: sqlite3.Connection, name: str) -> SavedSegment:
    """Remove a segment; others that use it stop working, so they are named and it stays."""
    with transaction(conn):
        found = get(conn, name)
        users = [
            s.name
            for s in list_segments(conn)
            if s.id != found.id
            and re.search(rf"(?i)(^|[\s(-])segment:{re.escape(found.name)}($|[\s)])", s.query)
        ]
        if users:
            raise ValidationError(
                f"segment {found.name!r} is used by {', '.join(users)}; change or remove those first"
            )
        conn.execute("DELETE FROM segments WHERE id = ?", (found.id,))
        return found
