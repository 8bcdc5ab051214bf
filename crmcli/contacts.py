"""Contacts: create, read, change, find, trash and restore. Owns the contact tables' SQL."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from crmcli import search
from crmcli.clock import local_naive, to_utc_text
from crmcli.db import transaction
from crmcli.errors import AmbiguousRef, NotFound, UsageError, ValidationError

if TYPE_CHECKING:  # the class lives apart: reading a contact never needs it (start-up time)
    from crmcli.contact_changes import ContactChanges
    from crmcli.identity import Match

#: plain text columns a user sets directly, in the order forms and JSON show them
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "display_name",
    "company",
    "title",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "website",
    "source",
)
#: yearly dates that have their own option (issue: birthdays and anniversaries)
DATE_FIELDS = ("birthday", "anniversary")
#: every name `crm contact edit --clear` and the edit form understand, besides custom fields
KNOWN_FIELDS = (
    *TEXT_FIELDS,
    *DATE_FIELDS,
    "referred_by",
    "cadence",
    "emails",
    "phones",
    "tags",
)

# Patterns as text, matched through re's own cache: compiled on first use, not at import
# (every command imports this module; few validate anything).
_LABEL_PREFIX = r"^([A-Za-z][A-Za-z0-9 _-]{0,29}):(?!//)(.+)$"
# a domain may not end with a dot (ann@example. is a typo)
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@[^@\s.]+$"
PHONE_PATTERN = r"^\+?[\d\s().\-/]+((ext\.?|x|#)\s*\d+)?$"
_FIELD_KEY = r"^[A-Za-z][A-Za-z0-9_. -]{0,63}$"


class Labeled(NamedTuple):
    """An email or phone with its optional label (work, home, mobile...)."""

    value: str
    label: str | None = None

    def __str__(self) -> str:
        return f"{self.label}:{self.value}" if self.label else self.value


def parse_labeled(text: str) -> Labeled:
    """``"work:alice@example.com"`` -> Labeled("alice@example.com", "work"); the label is optional."""
    text = text.strip()
    match = re.match(_LABEL_PREFIX, text)
    if match:
        return Labeled(match.group(2).strip(), match.group(1).strip().lower())
    return Labeled(text)


def validate_email(value: str) -> str:
    value = value.strip()
    if not re.match(EMAIL_PATTERN, value) or value.startswith("@") or value.endswith("@"):
        raise ValidationError(f"email {value!r} is not an address (expected name@example.com)")
    return value


def validate_phone(value: str) -> str:
    value = value.strip()
    if not re.match(PHONE_PATTERN, value, re.IGNORECASE) or len(re.sub(r"\D", "", value)) < 3:
        raise ValidationError(
            f"phone {value!r} is not a phone number (digits, spaces, + ( ) - . / and ext)"
        )
    return value


def validate_tag(name: str) -> str:
    name = name.strip()
    if not name or "," in name:
        raise ValidationError(f"tag {name!r} is not valid (a tag is non-empty and has no comma)")
    return name


def validate_field_key(key: str) -> str:
    key = key.strip()
    if not re.match(_FIELD_KEY, key):
        raise ValidationError(
            f"custom field name {key!r} is not valid (start with a letter; letters, digits, "
            "space, _ - . up to 64)"
        )
    if key.lower() in KNOWN_FIELDS or key.lower() in ("email", "phone", "tag", "name", "id"):
        raise ValidationError(
            f"custom field name {key!r} is a built-in field; use its own option instead"
        )
    return key


def parse_field_assignment(text: str) -> tuple[str, str]:
    """``"region=EMEA"`` -> ("region", "EMEA")."""
    key, sep, value = text.partition("=")
    if not sep:
        raise ValidationError(f"custom field {text!r} needs the form key=value (e.g. region=EMEA)")
    return validate_field_key(key), value.strip()


class Contact(NamedTuple):
    """Everything about one contact, as read from the database (a NamedTuple: read-only, and
    cheaper than a dataclass to define at start-up)."""

    id: int
    uid: str
    name: str
    text: dict[str, str | None]
    emails: list[Labeled]
    phones: list[Labeled]
    tags: list[str]
    fields: dict[str, str]
    dates: dict[str, str]
    referred_by: tuple[int, str] | None
    cadence_days: int | None
    created_at: str
    updated_at: str
    deleted_at: str | None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a contact (documented in docs/json.md)."""
        return {
            "id": self.id,
            "uid": self.uid,
            "name": self.name,
            **{key: self.text.get(key) for key in TEXT_FIELDS},
            "emails": [{"email": e.value, "label": e.label} for e in self.emails],
            "phones": [{"phone": p.value, "label": p.label} for p in self.phones],
            "tags": self.tags,
            "fields": self.fields,
            "birthday": self.dates.get("birthday"),
            "anniversary": self.dates.get("anniversary"),
            "referred_by": (
                {"id": self.referred_by[0], "name": self.referred_by[1]}
                if self.referred_by
                else None
            ),
            "cadence_days": self.cadence_days,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "deleted_at": self.deleted_at,
        }


# --- reading ----------------------------------------------------------------------------------

#: the columns of a contact listing row; shared by `contact list` and `search`
LIST_COLUMNS_SQL = """c.id, c.name, c.company, c.title,
  (SELECT email FROM contact_emails WHERE contact_id = c.id ORDER BY position LIMIT 1) AS email,
  (SELECT phone FROM contact_phones WHERE contact_id = c.id ORDER BY position LIMIT 1) AS phone,
  (SELECT group_concat(name, ', ') FROM (
     SELECT t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id
     WHERE ct.contact_id = c.id ORDER BY t.name)) AS tags,
  c.created_at, c.updated_at"""

LIST_COLUMNS = (
    "id",
    "name",
    "company",
    "title",
    "email",
    "phone",
    "tags",
    "created_at",
    "updated_at",
)


def list_row(row: sqlite3.Row) -> dict[str, Any]:
    """A listing row as a dict with a stable shape (tags as a list)."""
    return {
        "id": row["id"],
        "name": row["name"],
        "company": row["company"],
        "title": row["title"],
        "email": row["email"],
        "phone": row["phone"],
        # ", " between tags (a tag has no comma): TSV writes the text as it is
        "tags": row["tags"].split(", ") if row["tags"] else [],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def get(conn: sqlite3.Connection, contact_id: int, *, include_deleted: bool = False) -> Contact:
    """One contact by id; NotFound if it does not exist (or is in the trash)."""
    row = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if row is None or (row["deleted_at"] and not include_deleted):
        raise NotFound(f"no contact with id {contact_id}")
    referred = None
    if row["referred_by_id"]:
        ref = conn.execute(
            "SELECT id, name FROM contacts WHERE id = ?", (row["referred_by_id"],)
        ).fetchone()
        if ref:
            referred = (ref["id"], ref["name"])
    return Contact(
        id=row["id"],
        uid=row["uid"],
        name=row["name"],
        text={key: row[key] for key in TEXT_FIELDS},
        emails=[
            Labeled(r["email"], r["label"])
            for r in conn.execute(
                "SELECT email, label FROM contact_emails WHERE contact_id = ? ORDER BY position, id",
                (contact_id,),
            )
        ],
        phones=[
            Labeled(r["phone"], r["label"])
            for r in conn.execute(
                "SELECT phone, label FROM contact_phones WHERE contact_id = ? ORDER BY position, id",
                (contact_id,),
            )
        ],
        tags=[
            r[0]
            for r in conn.execute(
                "SELECT t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id "
                "WHERE ct.contact_id = ? ORDER BY t.name COLLATE NOCASE",
                (contact_id,),
            )
        ],
        fields={
            r["key"]: r["value"]
            for r in conn.execute(
                "SELECT key, value FROM contact_fields WHERE contact_id = ? ORDER BY key",
                (contact_id,),
            )
        },
        dates={
            r["label"]: yearly_text(r["year"], r["month"], r["day"])
            for r in conn.execute(
                "SELECT label, year, month, day FROM contact_dates "
                "WHERE contact_id = ? AND kind IN ('birthday', 'anniversary')",
                (contact_id,),
            )
        },
        referred_by=referred,
        cadence_days=row["cadence_days"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
    )


def yearly_text(year: int | None, month: int, day: int) -> str:
    """A yearly date as text: 1980-04-15, or --04-15 without a year."""
    return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _describe(row: sqlite3.Row) -> str:
    parts = [f"{row['id']:>6}  {row['name']}"]
    if row["email"]:
        parts.append(f"<{row['email']}>")
    if row["company"]:
        parts.append(f"({row['company']})")
    return " ".join(parts)


def resolve(conn: sqlite3.Connection, ref: str, *, include_deleted: bool = False) -> int:
    """A contact id from a REF: an id, or a unique fragment of a name or an email.

    Closer matches win: an exact name or email first, then the start of a word of the name or
    of an email, then any fragment. So "Ann" finds the contact named exactly "Ann" even when
    "Anna" and "Joanne" exist too. Several matches at the first level that has any raise
    AmbiguousRef with the candidates.
    """
    ref = ref.strip()
    if not ref:
        raise NotFound("an empty contact reference matches nothing; give an id, name or email")
    live = "" if include_deleted else "AND c.deleted_at IS NULL"
    where_trash = "in the trash " if include_deleted else ""
    if ref.isdigit():
        row = conn.execute(f"SELECT id FROM contacts c WHERE id = ? {live}", (int(ref),)).fetchone()
        if row is None:
            raise NotFound(f"no contact {where_trash}with id {ref}")
        return int(row[0])
    select = f"SELECT {LIST_COLUMNS_SQL} FROM contacts c"
    exact = conn.execute(
        f"{select} WHERE (c.name = ? COLLATE NOCASE OR c.id IN ("
        f"  SELECT contact_id FROM contact_emails WHERE email = ? COLLATE NOCASE)) {live} LIMIT 11",
        (ref, ref),
    ).fetchall()
    if len(exact) == 1:
        return int(exact[0]["id"])
    candidates = exact
    if not candidates:
        # A word of the name, or the start of an email: "ana" is Ana García, not Tanaka.
        escaped = _escape_like(ref)
        candidates = conn.execute(
            f"{select} WHERE ((' ' || c.name) LIKE ? ESCAPE '\\' OR c.id IN ("
            f"  SELECT contact_id FROM contact_emails WHERE email LIKE ? ESCAPE '\\')) {live} "
            "ORDER BY c.name LIMIT 11",
            (f"% {escaped}%", f"{escaped}%"),
        ).fetchall()
    if not candidates:
        pattern = f"%{_escape_like(ref)}%"
        candidates = conn.execute(
            f"{select} WHERE (c.name LIKE ? ESCAPE '\\' OR c.id IN ("
            f"  SELECT contact_id FROM contact_emails WHERE email LIKE ? ESCAPE '\\')) {live} "
            "ORDER BY c.name LIMIT 11",
            (pattern, pattern),
        ).fetchall()
    if not candidates:
        raise NotFound(f"no contact {where_trash}matches {ref!r} (try: crm search {ref})")
    if len(candidates) == 1:
        return int(candidates[0]["id"])
    shown = [_describe(row) for row in candidates[:10]]
    more = " (and more)" if len(candidates) > 10 else ""
    raise AmbiguousRef(
        f"{ref!r} matches several contacts{more}; use an id or a longer fragment", shown
    )


def duplicates_of(
    conn: sqlite3.Connection, changes: ContactChanges, *, exclude: int | None = None
) -> list[Match]:
    """Live contacts that the contact ``changes`` describes is, or may be, by the identity rules
    (:mod:`crmcli.identity`), strongest evidence first."""
    from crmcli import identity

    text = changes.text
    name = text.get("display_name") or " ".join(
        p for p in (text.get("first_name"), text.get("last_name")) if p
    )
    emails = changes.replace_emails if changes.replace_emails is not None else changes.add_emails
    phones = changes.replace_phones if changes.replace_phones is not None else changes.add_phones
    incoming = identity.profile(
        emails=[e.value for e in emails],
        phones=[identity.phone_digits(p.value) for p in phones],
        name=name or None,
        company=text.get("company"),
    )
    return identity.find_matches(conn, incoming, exclude=exclude)


@dataclass
class ListFilters:
    """Filters of ``crm contact list`` (and of ``crm export contacts``)."""

    tags: list[str] = field(default_factory=list)
    company: str | None = None
    text: str | None = None
    created_since: datetime | None = None
    updated_since: datetime | None = None
    sort: str = "name"
    descending: bool = False
    limit: int | None = None
    deleted: bool = False
    #: a compiled query (crmcli.query): SQL over ``contacts c`` and its parameters
    query: tuple[str, Sequence[Any]] | None = None
    #: only contacts not touched since this moment (their last touch is before it, or never)
    not_touched_since: datetime | None = None

    def with_touch(self) -> bool:
        """Whether the listing shows each contact's last touch (sorted or filtered by it)."""
        return self.sort == "last-touch" or self.not_touched_since is not None


#: a contact's last touch: its latest live note, not counting the notes an import brought in
#: (they carry the import's time, not when anything happened)
#: (kept on the contact by triggers: see migration m010)
LAST_TOUCH_SQL = "c.last_touch_at"

SORTS = {
    "name": "c.name COLLATE NOCASE",
    "company": "c.company COLLATE NOCASE",
    "created": "c.created_at",
    "updated": "c.updated_at",
    "id": "c.id",
    # never touched first: the most neglected
    "last-touch": LAST_TOUCH_SQL,
}


def filter_sql(filters: ListFilters) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) for ``filters``, over ``contacts c``."""
    where = ["c.deleted_at IS NOT NULL" if filters.deleted else "c.deleted_at IS NULL"]
    params: list[Any] = []
    for tag in filters.tags:
        where.append(
            "c.id IN (SELECT ct.contact_id FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id "
            "WHERE t.name = ?)"
        )
        params.append(tag)
    if filters.company:
        where.append("c.company LIKE ? ESCAPE '\\'")
        params.append(f"%{_escape_like(filters.company)}%")
    if filters.text:
        where.append("c.id IN (SELECT rowid FROM contact_search WHERE contact_search MATCH ?)")
        params.append(search.fts_query(filters.text))
    if filters.created_since:
        where.append("c.created_at >= ?")
        params.append(to_utc_text(filters.created_since))
    if filters.updated_since:
        where.append("c.updated_at >= ?")
        params.append(to_utc_text(filters.updated_since))
    if filters.not_touched_since:
        where.append(f"coalesce({LAST_TOUCH_SQL}, '') < ?")
        params.append(to_utc_text(filters.not_touched_since))
    if filters.query is not None:
        where.append(f"({filters.query[0]})")
        params.extend(filters.query[1])
    return " AND ".join(where), params


def order_sql(filters: ListFilters) -> str:
    """The ORDER BY of a listing; an unknown --sort is a usage error (exit 2)."""
    if filters.sort not in SORTS:
        raise UsageError(f"cannot sort by {filters.sort!r} (choose one of: {', '.join(SORTS)})")
    direction = "DESC" if filters.descending else "ASC"
    return f"{SORTS[filters.sort]} {direction}, c.id {direction}"


def list_contacts(conn: sqlite3.Connection, filters: ListFilters) -> Iterator[dict[str, Any]]:
    """Contacts matching ``filters``, streamed row by row (never the whole result in memory)."""
    touch = filters.with_touch()
    for row in list_rows(conn, filters):
        out = list_row(row)
        if touch:
            out["last_touch_at"] = row["last_touch_at"]
        if filters.deleted:
            out["merged_into"] = row["merged_into"]
        yield out


def list_rows(conn: sqlite3.Connection, filters: ListFilters) -> sqlite3.Cursor:
    """The rows of :func:`list_contacts` as the query gives them (``LIST_COLUMNS`` in order,
    tags as one text, "a, b"): for writers that need no dictionary per row."""
    where, params = filter_sql(filters)
    order = order_sql(filters)
    # Rows come in the order of the sort column's index, without a sort: a scan of the table
    # and a sort would be about twice as fast for a listing of everything, but SQLite's sorter
    # then held over 130 MiB for 100,000 contacts in some runs, and memory must stay bounded.
    touch = f", {LAST_TOUCH_SQL} AS last_touch_at" if filters.with_touch() else ""
    if filters.deleted:  # the trash says which contacts were merged away, and into which
        touch += ", (SELECT keep_id FROM contact_merges WHERE other_id = c.id) AS merged_into"
    sql = f"SELECT {LIST_COLUMNS_SQL}{touch} FROM contacts c WHERE {where} ORDER BY {order}"
    if filters.limit is not None:
        sql += " LIMIT ?"
        params.append(filters.limit)
    return conn.execute(sql, params)


# --- writing ----------------------------------------------------------------------------------


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _display_name(text: dict[str, str | None], emails: list[str]) -> str | None:
    if text.get("display_name"):
        return text["display_name"]
    full = " ".join(p for p in (text.get("first_name"), text.get("last_name")) if p)
    if full:
        return full
    if emails:
        return emails[0]
    return text.get("company")


def validate_changes(changes: ContactChanges, *, today: date) -> None:
    """Every check before any write: a bad value anywhere means nothing is saved."""
    from crmcli.dates import check_birthday, parse_yearly

    for key in changes.text:
        if key not in TEXT_FIELDS:
            raise ValidationError(f"unknown field {key!r} (known: {', '.join(KNOWN_FIELDS)})")
    for entry in [*changes.add_emails, *(changes.replace_emails or [])]:
        validate_email(entry.value)
    for entry in [*changes.add_phones, *(changes.replace_phones or [])]:
        validate_phone(entry.value)
    for tag in [*changes.add_tags, *(changes.replace_tags or [])]:
        validate_tag(tag)
    for key in [*changes.set_fields, *(changes.replace_fields or {})]:
        validate_field_key(key)
    for label, value in changes.dates.items():
        if label not in DATE_FIELDS:
            raise ValidationError(f"unknown date field {label!r} (known: {', '.join(DATE_FIELDS)})")
        if value is not None:
            yearly = parse_yearly(value)
            if label == "birthday":
                check_birthday(yearly, today)


def _emit(conn: sqlite3.Connection, event: str, contact_id: int, now: datetime) -> None:
    """The contact's event for rules and hooks (crmcli.events; imported by writes only)."""
    from crmcli import events

    events.emit(conn, event, contact_id, contact_id=contact_id, now=now)


def _tag_id(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT id FROM tags WHERE name = ?", (name,)).fetchone()
    if row:
        return int(row[0])
    return int(conn.execute("INSERT INTO tags (name) VALUES (?)", (name,)).lastrowid or 0)


def create(conn: sqlite3.Connection, changes: ContactChanges, *, now: datetime) -> int:
    """Add a contact described by ``changes``; returns its id."""
    validate_changes(changes, today=local_naive(now).date())
    text = {key: _clean_text(changes.text.get(key)) for key in TEXT_FIELDS}
    emails = [e.value for e in (changes.replace_emails or changes.add_emails)]
    name = _display_name(text, emails)
    if not name:
        raise ValidationError("a contact needs a name, a company or an email")
    stamp = to_utc_text(now)
    with transaction(conn):
        contact_id = int(
            conn.execute(
                f"INSERT INTO contacts (uid, name, {', '.join(TEXT_FIELDS)}, created_at, updated_at)"
                f" VALUES (?, ?, {', '.join('?' for _ in TEXT_FIELDS)}, ?, ?)",
                (str(uuid.uuid4()), name, *text.values(), stamp, stamp),
            ).lastrowid
            or 0
        )
        _apply(conn, contact_id, changes, now=now, touch=False)
        _emit(conn, "contact-added", contact_id, now)
    return contact_id


def update(
    conn: sqlite3.Connection, contact_id: int, changes: ContactChanges, *, now: datetime
) -> None:
    """Apply ``changes`` to an existing contact, all or nothing."""
    validate_changes(changes, today=local_naive(now).date())
    with transaction(conn):
        get(conn, contact_id)  # NotFound for a missing or trashed contact
        _apply(conn, contact_id, changes, now=now, touch=True)
        _emit(conn, "contact-changed", contact_id, now)


def _apply(
    conn: sqlite3.Connection,
    contact_id: int,
    changes: ContactChanges,
    *,
    now: datetime,
    touch: bool,
) -> None:
    from crmcli.dates import parse_yearly

    if changes.referred_by_id is not None:
        if changes.referred_by_id == contact_id:
            raise ValidationError("a contact cannot be referred by itself")
        get(conn, changes.referred_by_id)
        conn.execute(
            "UPDATE contacts SET referred_by_id = ? WHERE id = ?",
            (changes.referred_by_id, contact_id),
        )
    if changes.clear_referred_by:
        conn.execute("UPDATE contacts SET referred_by_id = NULL WHERE id = ?", (contact_id,))
    if changes.cadence_days is not None:
        if not 0 < changes.cadence_days <= 3650:
            raise ValidationError("a keep-in-touch cadence is from 1 day to 3650 days (10 years)")
        conn.execute(
            "UPDATE contacts SET cadence_days = ? WHERE id = ?", (changes.cadence_days, contact_id)
        )
    if changes.clear_cadence:
        conn.execute("UPDATE contacts SET cadence_days = NULL WHERE id = ?", (contact_id,))
    if touch and changes.text:
        assignments = ", ".join(f"{key} = ?" for key in changes.text)
        conn.execute(
            f"UPDATE contacts SET {assignments} WHERE id = ?",
            (*(_clean_text(v) for v in changes.text.values()), contact_id),
        )

    _apply_labeled(
        conn,
        "contact_emails",
        "email",
        contact_id,
        changes.replace_emails,
        changes.add_emails,
        changes.remove_emails,
    )
    _apply_labeled(
        conn,
        "contact_phones",
        "phone",
        contact_id,
        changes.replace_phones,
        changes.add_phones,
        changes.remove_phones,
    )

    if changes.replace_tags is not None:
        conn.execute("DELETE FROM contact_tags WHERE contact_id = ?", (contact_id,))
    for tag in [*(changes.replace_tags or []), *changes.add_tags]:
        conn.execute(
            "INSERT OR IGNORE INTO contact_tags (contact_id, tag_id) VALUES (?, ?)",
            (contact_id, _tag_id(conn, validate_tag(tag))),
        )
    for tag in changes.remove_tags:
        removed = conn.execute(
            "DELETE FROM contact_tags WHERE contact_id = ? AND tag_id = "
            "(SELECT id FROM tags WHERE name = ?)",
            (contact_id, tag.strip()),
        ).rowcount
        if not removed:
            raise ValidationError(f"the contact has no tag {tag!r}")

    if changes.replace_fields is not None:
        conn.execute("DELETE FROM contact_fields WHERE contact_id = ?", (contact_id,))
    for key, value in {**(changes.replace_fields or {}), **changes.set_fields}.items():
        if value.strip():
            conn.execute(
                "INSERT INTO contact_fields (contact_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (contact_id, key) DO UPDATE SET value = excluded.value",
                (contact_id, key, value.strip()),
            )
        else:
            conn.execute(
                "DELETE FROM contact_fields WHERE contact_id = ? AND key = ?", (contact_id, key)
            )
    for key in changes.clear_fields:
        removed = conn.execute(
            "DELETE FROM contact_fields WHERE contact_id = ? AND key = ?", (contact_id, key)
        ).rowcount
        if not removed:
            raise ValidationError(
                f"unknown field {key!r}: not a built-in field ({', '.join(KNOWN_FIELDS)}) "
                "nor a custom field of this contact"
            )

    for label, date_value in changes.dates.items():
        conn.execute(
            "DELETE FROM contact_dates WHERE contact_id = ? AND label = ?", (contact_id, label)
        )
        if date_value is not None:
            yearly = parse_yearly(date_value)
            conn.execute(
                "INSERT INTO contact_dates (contact_id, kind, label, year, month, day) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (contact_id, label, label, yearly.year, yearly.month, yearly.day),
            )

    refresh_name(conn, contact_id)
    conn.execute("UPDATE contacts SET updated_at = ? WHERE id = ?", (to_utc_text(now), contact_id))
    search.reindex(conn, [contact_id])


def _apply_labeled(
    conn: sqlite3.Connection,
    table: str,
    column: str,
    contact_id: int,
    replace: list[Labeled] | None,
    add: list[Labeled],
    remove: list[str],
) -> None:
    """Emails or phones: replace all, add (no duplicates), remove (must exist)."""
    if replace is not None:
        conn.execute(f"DELETE FROM {table} WHERE contact_id = ?", (contact_id,))
    from crmcli.identity import phone_digits

    existing = [
        r[0]
        for r in conn.execute(f"SELECT {column} FROM {table} WHERE contact_id = ?", (contact_id,))
    ]
    position = len(existing)
    for entry in [*(replace or []), *add]:
        if _same_value(column, entry.value, existing):
            continue
        values: tuple[Any, ...] = (contact_id, entry.value.strip(), entry.label, position)
        if column == "phone":
            digits = phone_digits(entry.value)
            conn.execute(
                "INSERT INTO contact_phones (contact_id, phone, label, position, digits, digits_rev)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (*values, digits, digits[::-1]),
            )
        else:
            conn.execute(
                "INSERT INTO contact_emails (contact_id, email, label, position) VALUES (?, ?, ?, ?)",
                values,
            )
        existing.append(entry.value)
        position += 1
    for value in remove:
        matches = [v for v in existing if _same_value(column, value, [v])]
        if not matches:
            raise ValidationError(f"the contact has no {column} {value!r}")
        conn.execute(
            f"DELETE FROM {table} WHERE contact_id = ? AND {column} = ?", (contact_id, matches[0])
        )


def _same_value(column: str, value: str, existing: Iterable[str]) -> bool:
    from crmcli.identity import phone_digits, same_phone

    if column == "phone":
        digits = phone_digits(value)
        return any(same_phone(digits, phone_digits(v)) for v in existing)
    return any(v.lower() == value.strip().lower() for v in existing)


def refresh_name(conn: sqlite3.Connection, contact_id: int) -> None:
    """Set the shown name from the contact's fields (display, first and last, email, company)."""
    row = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    emails = [
        r[0]
        for r in conn.execute(
            "SELECT email FROM contact_emails WHERE contact_id = ? ORDER BY position", (contact_id,)
        )
    ]
    name = _display_name({key: row[key] for key in TEXT_FIELDS}, emails)
    if not name:
        raise ValidationError("a contact needs a name, a company or an email; nothing was changed")
    conn.execute("UPDATE contacts SET name = ? WHERE id = ?", (name, contact_id))


def trash(conn: sqlite3.Connection, contact_id: int, *, now: datetime) -> None:
    """Move a contact to the trash (``crm contact restore`` brings it back)."""
    with transaction(conn):
        get(conn, contact_id)
        conn.execute(
            "UPDATE contacts SET deleted_at = ? WHERE id = ?", (to_utc_text(now), contact_id)
        )
        _emit(conn, "contact-removed", contact_id, now)


def restore(conn: sqlite3.Connection, contact_id: int) -> None:
    """Bring a contact back from the trash (one merged away: :func:`crmcli.merge.unmerge`)."""
    from crmcli.merge import merged_into

    with transaction(conn):
        contact = get(conn, contact_id, include_deleted=True)
        if contact.deleted_at is None:
            raise ValidationError(f"contact {contact_id} ({contact.name}) is not in the trash")
        into = merged_into(conn, contact_id)
        if into is not None:
            raise ValidationError(
                f"contact {contact_id} ({contact.name}) was merged into {into}; "
                f"crm contact unmerge {contact_id} brings it back"
            )
        conn.execute("UPDATE contacts SET deleted_at = NULL WHERE id = ?", (contact_id,))
