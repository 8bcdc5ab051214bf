"""Is this database file crmcli's own? Its schema, compared with the one crmcli creates.

A database is code as well as data: a file from someone else (``--db their.db``) can carry
triggers that copy notes out or rewrite a contact's email, views that hide rows, or a
definition that makes a query hang. So before crmcli uses a file, every table, index, trigger
and view in it must be one that crmcli's migrations create, with the same definition; anything
else is refused, untouched, with a message that names what was found (docs/security.md).

The usual case costs one read of ``sqlite_master`` and a SHA-256 of it, compared with
:data:`crmcli.db.SCHEMA_DIGESTS`. Only when that differs is the expected schema built (the
migrations run on an empty in-memory database) to say exactly what is foreign.

``python -m crmcli.schema_guard`` prints the digest table for crmcli/db.py (after a migration
is added; a test says when it is due).
"""

from __future__ import annotations

import importlib
import sqlite3
from typing import Any, NamedTuple

#: the FTS5 virtual tables crmcli creates: their shadow tables are made by SQLite itself, with
#: definitions that may vary between SQLite versions, so they are checked by name only
FTS_TABLES = ("contact_search",)
_FTS_SHADOWS = ("_config", "_content", "_data", "_docsize", "_idx")
#: objects crmcli creates outside the migrations, accepted with exactly this definition (the
#: mark of a `crm demo` database, which lets the next `crm demo` replace that file only)
OPTIONAL = {("table", "_crm_demo"): "CREATE TABLE _crm_demo (built_at TEXT)"}
#: objects SQLite itself may add (AUTOINCREMENT, ANALYZE / PRAGMA optimize)
_SQLITE_TABLES = {"sqlite_sequence", "sqlite_stat1", "sqlite_stat2", "sqlite_stat3", "sqlite_stat4"}


class Entry(NamedTuple):
    kind: str  # table, index, trigger, view
    name: str
    table: str
    sql: str


def _shadow(name: str) -> bool:
    return any(name == f"{fts}{end}" for fts in FTS_TABLES for end in _FTS_SHADOWS)


def entries(conn: sqlite3.Connection) -> tuple[list[Entry], list[Entry]]:
    """(the schema objects compared by definition, SQLite's own objects that are not allowed);
    SQLite's internal ones that are allowed (autoindexes, statistics) are left out."""
    compared: list[Entry] = []
    odd: list[Entry] = []
    cursor = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
    for kind, name, table, sql in cursor:
        entry = Entry(str(kind), str(name), str(table), sql or "")
        if OPTIONAL.get((entry.kind, entry.name)) == entry.sql:
            continue
        if name.startswith("sqlite_"):
            allowed = (kind == "index" and sql is None) or (
                kind == "table" and name in _SQLITE_TABLES
            )
            if not allowed:
                odd.append(entry)
            continue
        compared.append(entry._replace(sql="") if kind == "table" and _shadow(name) else entry)
    return compared, odd


def _sha256() -> Any:
    """SHA-256 from CPython's own module where there is one: hashlib loads OpenSSL first,
    2.5 ms on every start for one small hash."""
    for name in ("_sha2", "_sha256"):  # Python 3.12+, then 3.10 and 3.11
        try:
            return importlib.import_module(name).sha256
        except ImportError:
            continue
    import hashlib

    return hashlib.sha256


def digest(conn: sqlite3.Connection) -> str:
    """A fingerprint of the schema (the odd objects count too, so they never match). SHA-256,
    not a checksum: a foreign schema must not be craftable to look like crmcli's."""
    compared, odd = entries(conn)
    text = "\0".join("\x1f".join(e) for e in sorted(compared + odd))
    return str(_sha256()(text.encode("utf-8")).hexdigest())


def expected(version: int) -> sqlite3.Connection:
    """An empty in-memory database with the schema crmcli has at ``version``."""
    from crmcli.db import migrate
    from crmcli.migrations import MIGRATIONS

    conn = sqlite3.connect(":memory:", isolation_level=None)
    stop = MIGRATIONS[version][0] if version < len(MIGRATIONS) else None
    migrate(conn, stop_before=stop)
    return conn


def _describe(entry: Entry) -> str:
    where = f" on {entry.table}" if entry.kind in ("index", "trigger") else ""
    return f"{entry.kind} {entry.name}{where}"


def foreign_objects(conn: sqlite3.Connection, version: int) -> list[str]:
    """What in ``conn`` is not crmcli's schema at ``version`` (objects crmcli does not create,
    or with another definition), one phrase each; empty when it is crmcli's own. A missing
    object is no danger (and SQLite reports what a query lacks): it is not listed."""
    found, odd = entries(conn)
    reference = expected(version)
    try:
        wanted, _ = entries(reference)
    finally:
        reference.close()
    by_name = {(e.kind, e.name): e for e in wanted}
    problems = [f"{_describe(e)} that crmcli did not create" for e in odd]
    for entry in sorted(found, key=lambda e: (e.kind != "table", e.kind, e.name)):
        key = (entry.kind, entry.name)
        if key not in by_name:
            problems.append(f"{_describe(entry)} that crmcli did not create")
        elif by_name[key] != entry:
            problems.append(f"{_describe(entry)} with another definition than crmcli's")
    return problems


def main() -> None:
    """Print the digest of every schema version, for ``SCHEMA_DIGESTS`` in crmcli/db.py."""
    from crmcli.migrations import MIGRATIONS

    print("SCHEMA_DIGESTS: dict[int, str] = {")
    for version in range(len(MIGRATIONS) + 1):
        conn = expected(version)
        print(f'    {version}: "{digest(conn)}",')
        conn.close()
    print("}")


if __name__ == "__main__":
    main()
