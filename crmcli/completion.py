"""Names for shell completion: contacts, tags, stages, templates and segments matching a prefix.

Each lookup is one or two index range scans with a small LIMIT, so a TAB stays instant on a
book of 100,000 contacts (benchmarks/completion.py measures it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
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
    """Live contacts whose email, name or a word of the name starts with ``typed``.

    Each value is a REF that starts with what was typed (shells keep only such values): the
    email, else the whole name (an exact name is the closest match a REF has), else the word of
    the name; an id for digits. The description says who it is.
    """
    typed = typed.strip()
    if _prefix(typed) == "%":
        return []  # nothing typed (or only LIKE wildcards): never the whole book
    live = "c.deleted_at IS NULL"
    email = (
        "(SELECT email FROM contact_emails WHERE contact_id = c.id ORDER BY position, id LIMIT 1)"
    )
    found: dict[int, Candidate] = {}

    def take(sql: str, params: tuple[object, ...], value: Callable[[str, str], str]) -> None:
        for contact_id, shown, name, company, address in conn.execute(sql, params):
            if len(found) < limit and contact_id not in found:
                who = f"{name} ({company})" if company else str(name)
                extra = f" <{address}>" if address and address != shown else ""
                found[contact_id] = Candidate(value(str(shown), str(name)), who + extra)

    def keep(shown: str, _name: str) -> str:
        return typed + shown[len(typed) :]  # in the case the person typed it

    if typed.isdigit():
        take(
            f"SELECT c.id, c.id, c.name, c.company, {email} FROM contacts c "
            f"WHERE c.id = ? AND {live}",
            (int(typed),),
            keep,
        )
    take(
        f"SELECT c.id, e.email, c.name, c.company, e.email FROM contact_emails e "
        f"JOIN contacts c ON c.id = e.contact_id WHERE e.email LIKE ? AND {live} LIMIT ?",
        (_prefix(typed), limit),
        keep,
    )
    take(
        f"SELECT c.id, c.name, c.name, c.company, {email} FROM contacts c "
        f"WHERE c.name LIKE ? AND {live} LIMIT ?",
        (_prefix(typed), limit),
        keep,
    )
    words = "".join(c for c in typed if c.isalnum())
    if len(found) < limit and words == typed:

        def word(_shown: str, name: str) -> str:
            starts = [w for w in name.split() if w.lower().startswith(typed.lower())]
            return keep(starts[0], name) if starts else typed

        # a later word of the name ("lee" for Ann Lee), through the full-text index
        take(
            f"SELECT c.id, c.name, c.name, c.company, {email} FROM "
            f"(SELECT rowid FROM contact_search WHERE contact_search MATCH ? LIMIT ?) s "
            f"JOIN contacts c ON c.id = s.rowid WHERE {live}",
            (f'name:"{words}"*', limit),
            word,
        )
    return list(found.values())


#: name and description of each kind of name, for a LIKE prefix
_NAME_QUERIES = {
    "tags": "SELECT t.name, count(ct.contact_id) || ' contacts' FROM tags t "
    "LEFT JOIN contact_tags ct ON ct.tag_id = t.id WHERE t.name LIKE ? "
    "GROUP BY t.id ORDER BY t.name COLLATE NOCASE LIMIT 100",
    "stages": "SELECT name, kind || ', ' || probability || '%' FROM stages WHERE name LIKE ? "
    "ORDER BY position",
    "templates": "SELECT name, subject FROM templates WHERE name LIKE ? "
    "ORDER BY name COLLATE NOCASE",
    "segments": "SELECT name, '' FROM segments WHERE name LIKE ? ORDER BY name COLLATE NOCASE",
    "campaigns": "SELECT name, query FROM campaigns WHERE name LIKE ? ORDER BY name COLLATE NOCASE",
}


def _names(conn: sqlite3.Connection, kind: str, typed: str) -> list[Candidate]:
    rows = conn.execute(_NAME_QUERIES[kind], (_prefix(typed),))
    return [Candidate(str(row[0]), str(row[1] or "")) for row in rows]


def tags(conn: sqlite3.Connection, typed: str) -> list[Candidate]:
    return _names(conn, "tags", typed)


def stages(conn: sqlite3.Connection, typed: str) -> list[Candidate]:
    return _names(conn, "stages", typed)


def templates(conn: sqlite3.Connection, typed: str) -> list[Candidate]:
    return _names(conn, "templates", typed)


def campaigns(conn: sqlite3.Connection, typed: str) -> list[Candidate]:
    return _names(conn, "campaigns", typed)


def segments(conn: sqlite3.Connection, typed: str) -> list[Candidate]:
    """Saved segments, once the database has them (an older schema has no such table)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'segments'"
    ).fetchone()
    return _names(conn, "segments", typed) if exists else []
