"""Names for shell completion: contacts, tags, stages, templates and segments matching a prefix.

Each lookup is one or two index range scans with a small LIMIT, so a TAB stays instant on a
book of 100,000 contacts (benchmarks/completion.py measures it). A contact is offered as the
value a REF accepts that is also typed most easily: its first email (an exact email is the
closest match a REF has), else its id; the name and company go in the description.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

#: at most this many contacts are offered: a shell shows no more usefully
CONTACT_LIMIT = 30


class Candidate(NamedTuple):
    value: str
    help: str = ""


def _prefix(text: str) -> str:
    """The text as a LIKE prefix: the wildcards and the escape character cannot be typed."""
    return "".join(c for c in text if c not in "%_\\") + "%"


def contacts(conn: sqlite3.Connection, typed: str, limit: int = CONTACT_LIMIT) -> list[Candidate]:
    """Live contacts whose email, name or a word of the name starts with ``typed``."""
    typed = typed.strip()
    if not typed:
        return []
    live = "c.deleted_at IS NULL"
    first_email = (
        "(SELECT email FROM contact_emails WHERE contact_id = c.id ORDER BY position, id LIMIT 1)"
    )
    found: dict[int, tuple[str, str, str | None]] = {}

    def take(rows: sqlite3.Cursor) -> None:
        for contact_id, value, name, company in rows:
            if len(found) < limit:
                found.setdefault(contact_id, (value, name, company))

    if typed.isdigit():
        take(
            conn.execute(
                f"SELECT c.id, c.id, c.name, c.company FROM contacts c WHERE c.id = ? AND {live}",
                (int(typed),),
            )
        )
    take(
        conn.execute(
            f"SELECT c.id, e.email, c.name, c.company FROM contact_emails e "
            f"JOIN contacts c ON c.id = e.contact_id WHERE e.email LIKE ? AND {live} LIMIT ?",
            (_prefix(typed), limit),
        )
    )
    if len(found) < limit:
        take(
            conn.execute(
                f"SELECT c.id, coalesce({first_email}, c.id), c.name, c.company FROM contacts c "
                f"WHERE c.name LIKE ? AND {live} LIMIT ?",
                (_prefix(typed), limit),
            )
        )
    words = "".join(c for c in typed if c.isalnum())
    if len(found) < limit and words:
        # a later word of the name ("lee" for Ann Lee), through the full-text index
        take(
            conn.execute(
                f"SELECT c.id, coalesce({first_email}, c.id), c.name, c.company FROM "
                f"(SELECT rowid FROM contact_search WHERE contact_search MATCH ? LIMIT ?) s "
                f"JOIN contacts c ON c.id = s.rowid WHERE {live}",
                (f'name:"{words}"*', limit),
            )
        )
    return [
        Candidate(str(value), f"{name} ({company})" if company else name)
        for value, name, company in found.values()
    ]


def _names(conn: sqlite3.Connection, sql: str, typed: str) -> list[Candidate]:
    return [
        Candidate(str(row[0]), str(row[1] or "")) for row in conn.execute(sql, (_prefix(typed),))
    ]


def tags(conn: sqlite3.Connection, typed: str) -> list[Candidate]:
    return _names(
        conn,
        "SELECT t.name, count(ct.contact_id) || ' contacts' FROM tags t "
        "LEFT JOIN contact_tags ct ON ct.tag_id = t.id WHERE t.name LIKE ? "
        "GROUP BY t.id ORDER BY t.name COLLATE NOCASE LIMIT 100",
        typed,
    )


def stages(conn: sqlite3.Connection, typed: str) -> list[Candidate]:
    return _names(
        conn,
        "SELECT name, kind || ', ' || probability || '%' FROM stages WHERE name LIKE ? "
        "ORDER BY position",
        typed,
    )


def templates(conn: sqlite3.Connection, typed: str) -> list[Candidate]:
    return _names(
        conn,
        "SELECT name, subject FROM templates WHERE name LIKE ? ORDER BY name COLLATE NOCASE",
        typed,
    )


def segments(conn: sqlite3.Connection, typed: str) -> list[Candidate]:
    """Saved segments, once the database has them (an older schema has no such table)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'segments'"
    ).fetchone()
    if not exists:
        return []
    return _names(
        conn,
        "SELECT name, '' FROM segments WHERE name LIKE ? ORDER BY name COLLATE NOCASE",
        typed,
    )
