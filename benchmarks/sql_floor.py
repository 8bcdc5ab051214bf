"""The SQL floor of ``crm import``: write the rows an import wrote, with no reading or mapping.

    python benchmarks/sql_floor.py dump IMPORTED_DB ROWS_PICKLE
    python benchmarks/sql_floor.py load ROWS_PICKLE FRESH_DB

``dump`` takes the tables a ``crm import`` filled (contacts, emails, phones, tags, custom
fields, dates, notes, UIDs and the other lists: addresses, URLs, handles, related people,
flagged values, vCard properties, photos) and pickles their rows. ``load`` is what the benchmark times: a fresh
database through crmcli's own open-and-migrate, every row inserted with ``executemany`` in one
transaction (the same statements' shape, the same indexes), then the search index built the way
the importer builds it. What is left is the time SQLite needs to store what crmcli stores: no
CSV parsing, no mapping, no validation, no duplicate detection. It shows how close to
``sqlite3 .import`` an import can get with crmcli's schema, whatever the Python around it does.
"""

from __future__ import annotations

import pickle
import sqlite3
import sys
from pathlib import Path

TABLES = (
    "contacts",
    "tags",
    "contact_emails",
    "contact_phones",
    "contact_tags",
    "contact_fields",
    "contact_dates",
    "notes",
    "contact_uids",
    "contact_addresses",
    "contact_urls",
    "contact_handles",
    "contact_related",
    "contact_invalid",
    "contact_vcard_properties",
    "contact_photos",
)


def dump(source: Path, target: Path) -> None:
    conn = sqlite3.connect(source)
    tables = {}
    for table in TABLES:
        cursor = conn.execute(f"SELECT * FROM {table}")  # table names are the fixed TABLES
        tables[table] = ([d[0] for d in cursor.description], cursor.fetchall())
    with target.open("wb") as out:
        pickle.dump(tables, out, protocol=pickle.HIGHEST_PROTOCOL)


def load(source: Path, target: Path) -> None:
    from crmcli import db, search

    with source.open("rb") as stream:
        tables = pickle.load(stream)  # our own file, written by dump()
    conn = db.connect(target)
    db.migrate(conn)
    with db.transaction(conn):
        for table in TABLES:
            columns, rows = tables[table]
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})",
                rows,
            )
        search.reindex(conn)
    conn.close()


if __name__ == "__main__":
    command, first, second = sys.argv[1:4]
    {"dump": dump, "load": load}[command](Path(first), Path(second))
