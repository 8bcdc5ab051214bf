"""Numbered schema migrations, applied in order, each recorded by name.

Rules: add only; never edit, rename or reorder a migration once it has been released. The schema
version stored in ``PRAGMA user_version`` is the number of migrations applied, so opening an
up-to-date database costs one pragma read; the ``_crm_migrations`` table records which ran and when.

A migration receives a ``sqlite_utils.Database`` wrapping the open connection (already inside the
upgrade transaction), so it can use plain SQL or sqlite-utils' table API (``transform`` for changes
that SQLite's ALTER TABLE cannot make).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Migration = Callable[[Any], None]

MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration (its name is its identity)."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def _sql(db: Any, *statements: str) -> None:
    # Statement by statement: executescript() would COMMIT the surrounding upgrade transaction.
    for statement in statements:
        db.execute(statement)


@migration
def m001_contacts(db: Any) -> None:
    _sql(
        db,
        """CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            first_name TEXT,
            last_name TEXT,
            display_name TEXT,
            company TEXT,
            title TEXT,
            street TEXT,
            city TEXT,
            region TEXT,
            postal_code TEXT,
            country TEXT,
            website TEXT,
            source TEXT,
            referred_by_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
            cadence_days INTEGER CHECK (cadence_days IS NULL OR cadence_days > 0),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted_at TEXT
        )""",
        "CREATE INDEX contacts_name ON contacts(name COLLATE NOCASE)",
        "CREATE INDEX contacts_company ON contacts(company COLLATE NOCASE)",
        "CREATE INDEX contacts_updated ON contacts(updated_at)",
        "CREATE INDEX contacts_created ON contacts(created_at)",
        """CREATE TABLE contact_emails (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            email TEXT NOT NULL,
            label TEXT,
            position INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX contact_emails_contact ON contact_emails(contact_id, position)",
        "CREATE INDEX contact_emails_email ON contact_emails(email COLLATE NOCASE)",
        """CREATE TABLE contact_phones (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            phone TEXT NOT NULL,
            label TEXT,
            digits TEXT NOT NULL,
            -- reversed digits, indexed: "ends with" phone searches become prefix range scans
            digits_rev TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX contact_phones_contact ON contact_phones(contact_id, position)",
        "CREATE INDEX contact_phones_digits ON contact_phones(digits)",
        "CREATE INDEX contact_phones_digits_rev ON contact_phones(digits_rev)",
        """CREATE TABLE tags (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE
        )""",
        """CREATE TABLE contact_tags (
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
            PRIMARY KEY (contact_id, tag_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX contact_tags_tag ON contact_tags(tag_id)",
        """CREATE TABLE contact_fields (
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            key TEXT NOT NULL COLLATE NOCASE,
            value TEXT NOT NULL,
            PRIMARY KEY (contact_id, key)
        ) WITHOUT ROWID""",
        """CREATE TABLE contact_dates (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('birthday', 'anniversary', 'other')),
            label TEXT NOT NULL,
            year INTEGER,
            month INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
            day INTEGER NOT NULL CHECK (day BETWEEN 1 AND 31),
            UNIQUE (contact_id, label COLLATE NOCASE)
        )""",
        "CREATE INDEX contact_dates_month_day ON contact_dates(month, day)",
        # One search document per contact (rowid = contact id), rebuilt by crmcli.search.
        """CREATE VIRTUAL TABLE contact_search USING fts5(
            name, emails, phones, company, title, tags, fields, notes,
            tokenize = "unicode61 remove_diacritics 2"
        )""",
    )


@migration
def m005_import_export(db: Any) -> None:
    # Column mappings saved by `crm import --save-map NAME`, reused with --use-map NAME.
    _sql(
        db,
        """CREATE TABLE import_maps (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            mapping_json TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
    )
