"""Contacts: create, read, change, find, trash and restore. Owns the contact tables' SQL."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from crmcli import contact_lists, search
from crmcli.clock import local_naive, to_utc_text
from crmcli.contact_lists import KINDS

# the value types and rules live in crmcli.contact_values; these names stay importable here
from crmcli.contact_values import Address as Address
from crmcli.contact_values import Handle as Handle
from crmcli.contact_values import Invalid as Invalid
from crmcli.contact_values import Labeled as Labeled
from crmcli.contact_values import Photo, Related, VcardProperty
from crmcli.contact_values import parse_labeled as parse_labeled
from crmcli.contact_values import validate_email as validate_email
from crmcli.contact_values import validate_phone as validate_phone
from crmcli.contact_values import validate_tag as validate_tag
from crmcli.db import transaction
from crmcli.errors import AmbiguousRef, NotFound, UsageError, ValidationError

if TYPE_CHECKING:  # the class lives apart: reading a contact never needs it (start-up time)
    from crmcli.contact_changes import ContactChanges
    from crmcli.identity import Match

#: plain text columns a user sets directly, in the order forms and JSON show them
TEXT_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "name_prefix",
    "name_suffix",
    "nickname",
    "display_name",
    "company",
    "department",
    "title",
    "role",
    "time_zone",
    "geo",
    "source",
)
#: the parts of an address, which options and the form set on the first address
ADDRESS_PARTS = ("street", "city", "region", "postal_code", "country")
#: yearly dates that have their own option (issue: birthdays and anniversaries)
DATE_FIELDS = ("birthday", "anniversary")
#: every name `crm contact edit --clear` and the edit form understand, besides custom fields
KNOWN_FIELDS = (
    *TEXT_FIELDS,
    *ADDRESS_PARTS,
    "website",
    *DATE_FIELDS,
    "referred_by",
    "cadence",
    "emails",
    "phones",
    "tags",
    "addresses",
    "urls",
    "handles",
    "related",
    "photo",
    "invalid",
    "vcard",
)

_FIELD_KEY = r"^[A-Za-z][A-Za-z0-9_. -]{0,63}$"


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
    addresses: list[Address]
    urls: list[Labeled]
    handles: list[Handle]
    related: list[Related]
    photo: Photo | None
    invalid: list[Invalid]
    vcard: list[VcardProperty]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a contact (documented in docs/json.md)."""
        first = self.addresses[0] if self.addresses else Address()
        return {
            "id": self.id,
            "uid": self.uid,
            "name": self.name,
            **{key: self.text.get(key) for key in TEXT_FIELDS},
            # the first address and URL under their names from before there were lists
            **{key: getattr(first, key) for key in ADDRESS_PARTS},
            "website": self.urls[0].value if self.urls else None,
            "emails": [{"email": e.value, "label": e.label} for e in self.emails],
            "phones": [{"phone": p.value, "label": p.label} for p in self.phones],
            "addresses": [a._asdict() for a in self.addresses],
            "urls": [{"url": u.value, "label": u.label} for u in self.urls],
            "handles": [h._asdict() for h in self.handles],
            "related": [r._asdict() for r in self.related],
            "photo": self.photo._asdict() if self.photo else None,
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
            "invalid": [i._asdict() for i in self.invalid],
            "vcard": [v.line() for v in self.vcard],
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
    lists = {name: contact_lists.read(conn, kind, contact_id) for name, kind in KINDS.items()}
    photo = conn.execute(
        "SELECT media_type, length(data), uri FROM contact_photos WHERE contact_id = ?",
        (contact_id,),
    ).fetchone()
    return Contact(
        id=row["id"],
        uid=row["uid"],
        name=row["name"],
        text={key: row[key] for key in TEXT_FIELDS},
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
        photo=Photo(*photo) if photo else None,
        **lists,
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


# --- writing (crmcli.contact_apply does the work; imported by writes only) -----------------


def display_name(
    text: dict[str, Any], first_email: str | None, first_phone: str | None = None
) -> str:
    """The name a contact is shown by: its display name, else given and family name, else its
    nickname, first email, company or first phone."""
    if text.get("display_name"):
        return str(text["display_name"])
    full = " ".join(p for p in (text.get("first_name"), text.get("last_name")) if p)
    return full or text.get("nickname") or first_email or text.get("company") or first_phone or ""


def validate_changes(changes: ContactChanges, *, today: date) -> None:
    """Every check before any write: a bad value anywhere means nothing is saved."""
    from crmcli.contact_apply import validate

    validate(changes, today=today)


def create(conn: sqlite3.Connection, changes: ContactChanges, *, now: datetime) -> int:
    """Add a contact described by ``changes``; returns its id."""
    from crmcli.contact_apply import apply, new_row

    validate_changes(changes, today=local_naive(now).date())
    with transaction(conn):
        contact_id = new_row(conn, changes, uid=str(uuid.uuid4()), now=now)
        apply(conn, contact_id, changes, now=now, touch=False)
        _emit(conn, "contact-added", contact_id, now)
    return contact_id


def update(
    conn: sqlite3.Connection, contact_id: int, changes: ContactChanges, *, now: datetime
) -> None:
    """Apply ``changes`` to an existing contact, all or nothing."""
    from crmcli.contact_apply import apply

    validate_changes(changes, today=local_naive(now).date())
    with transaction(conn):
        get(conn, contact_id)  # NotFound for a missing or trashed contact
        apply(conn, contact_id, changes, now=now, touch=True)
        _emit(conn, "contact-changed", contact_id, now)


def _emit(conn: sqlite3.Connection, event: str, contact_id: int, now: datetime) -> None:
    """The contact's event for rules and hooks (crmcli.events; imported by writes only)."""
    from crmcli import events

    events.emit(conn, event, contact_id, contact_id=contact_id, now=now)


def refresh_name(conn: sqlite3.Connection, contact_id: int) -> None:
    """Set the shown name from the contact's fields (see :func:`display_name`)."""
    row = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    first = conn.execute(
        "SELECT (SELECT email FROM contact_emails WHERE contact_id = ?1 ORDER BY position, id "
        "LIMIT 1), (SELECT phone FROM contact_phones WHERE contact_id = ?1 "
        "ORDER BY position, id LIMIT 1)",
        (contact_id,),
    ).fetchone()
    name = display_name({key: row[key] for key in TEXT_FIELDS}, first[0], first[1])
    if not name:
        raise ValidationError(
            "a contact needs a name, a company, an email or a phone; nothing was changed"
        )
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


def flagged_values(conn: sqlite3.Connection, filters: ListFilters) -> Iterator[dict[str, Any]]:
    """Every value an import kept flagged (not what it claims to be) on the contacts that
    ``filters`` selects: ``crm contact issues``."""
    where, params = filter_sql(filters)
    rows = conn.execute(
        "SELECT c.id, c.name, i.field, i.label, i.value, i.reason FROM contact_invalid i "
        f"JOIN contacts c ON c.id = i.contact_id WHERE {where} "
        "ORDER BY c.name COLLATE NOCASE, c.id, i.position, i.id",
        params,
    )
    for row in rows:
        yield {"id": row[0], "name": row[1], "field": row[2], "label": row[3],
               "value": row[4], "reason": row[5]}  # fmt: skip
