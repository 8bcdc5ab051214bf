"""Writing a contact's changes (:class:`~crmcli.contact_changes.ContactChanges`): checked whole
first (:func:`validate`), then applied table by table (:func:`apply`), inside the caller's
transaction. Imported by the commands that write contacts only."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from crmcli import contact_lists, search
from crmcli.clock import to_utc_text
from crmcli.contact_changes import ContactChanges, ListChange
from crmcli.contact_lists import KINDS, PLAIN_KINDS
from crmcli.contact_values import Address, Labeled, validate_email, validate_geo, validate_phone
from crmcli.contacts import (
    ADDRESS_PARTS,
    DATE_FIELDS,
    KNOWN_FIELDS,
    TEXT_FIELDS,
    display_name,
    get,
    refresh_name,
    validate_field_key,
    validate_tag,
)
from crmcli.errors import ValidationError

#: the largest photo kept (what a vCard property of 4 MiB holds once decoded)
MAX_PHOTO = 3 * 1024 * 1024


def validate(changes: ContactChanges, *, today: date) -> None:
    """Every check before any write: a bad value anywhere means nothing is saved."""
    _move_legacy_keys(changes)
    _check_names(changes)
    for entry in [*changes.add_emails, *(changes.replace_emails or [])]:
        validate_email(entry.value)
    for entry in [*changes.add_phones, *(changes.replace_phones or [])]:
        validate_phone(entry.value)
    for tag in [*changes.add_tags, *(changes.replace_tags or [])]:
        validate_tag(tag)
    for key in [*changes.set_fields, *(changes.replace_fields or {})]:
        validate_field_key(key)
    _check_dates(changes, today)
    if changes.photo is not None and len(changes.photo[1]) > MAX_PHOTO:
        raise ValidationError(
            f"the photo is {len(changes.photo[1]) / 1048576:.1f} MiB; crmcli keeps photos of up "
            f"to {MAX_PHOTO >> 20} MiB (make it smaller first)"
        )


def _move_legacy_keys(changes: ContactChanges) -> None:
    """The first address and URL by their names from before there were lists ("city")."""
    for key in [k for k in changes.text if k in ADDRESS_PARTS or k == "website"]:
        value = changes.text.pop(key)
        if key == "website":
            changes.website = value or ""
        else:
            changes.address_parts[key] = value


def _check_names(changes: ContactChanges) -> None:
    """Field, address part and list names are ours; a geo value is normalised here."""
    for key, value in changes.text.items():
        if key not in TEXT_FIELDS:
            raise ValidationError(f"unknown field {key!r} (known: {', '.join(KNOWN_FIELDS)})")
        if key == "geo" and value and value.strip():
            changes.text["geo"] = validate_geo(value)
    for part in changes.address_parts:
        if part not in ADDRESS_PARTS:
            raise ValidationError(f"unknown address part {part!r} ({', '.join(ADDRESS_PARTS)})")
    for name in changes.lists:
        if name not in PLAIN_KINDS:
            raise ValidationError(f"unknown list {name!r} (known: {', '.join(PLAIN_KINDS)})")


def _check_dates(changes: ContactChanges, today: date) -> None:
    from crmcli.dates import check_birthday, parse_yearly

    for label, value in changes.dates.items():
        if label not in DATE_FIELDS:
            raise ValidationError(f"unknown date field {label!r} (known: {', '.join(DATE_FIELDS)})")
        if value is not None:
            yearly = parse_yearly(value)
            if label == "birthday":
                check_birthday(yearly, today)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def new_row(conn: sqlite3.Connection, changes: ContactChanges, *, uid: str, now: datetime) -> int:
    """Insert the contact's own row (its lists come with :func:`apply`); returns its id."""
    text = {key: _clean(changes.text.get(key)) for key in TEXT_FIELDS}
    emails = changes.replace_emails or changes.add_emails
    phones = changes.replace_phones or changes.add_phones
    name = display_name(
        text, emails[0].value if emails else None, phones[0].value if phones else None
    )
    if not name:
        raise ValidationError("a contact needs a name, a company, an email or a phone")
    stamp = to_utc_text(now)
    return int(
        conn.execute(
            f"INSERT INTO contacts (uid, name, {', '.join(TEXT_FIELDS)}, created_at, updated_at)"
            f" VALUES (?, ?, {', '.join('?' for _ in TEXT_FIELDS)}, ?, ?)",
            (uid, name, *text.values(), stamp, stamp),
        ).lastrowid
        or 0
    )


def apply(
    conn: sqlite3.Connection,
    contact_id: int,
    changes: ContactChanges,
    *,
    now: datetime,
    touch: bool,
) -> None:
    """Write ``changes`` to contact ``contact_id`` (checked by :func:`validate` before)."""
    _apply_links(conn, contact_id, changes)
    if touch and changes.text:
        assignments = ", ".join(f"{key} = ?" for key in changes.text)
        conn.execute(
            f"UPDATE contacts SET {assignments} WHERE id = ?",
            (*(_clean(v) for v in changes.text.values()), contact_id),
        )
    _apply_labeled(conn, "phone", contact_id, changes.replace_phones, changes.add_phones,
                   changes.remove_phones)  # fmt: skip
    _apply_labeled(conn, "email", contact_id, changes.replace_emails, changes.add_emails,
                   changes.remove_emails)  # fmt: skip
    _apply_tags(conn, contact_id, changes)
    _apply_fields(conn, contact_id, changes)
    _apply_dates(conn, contact_id, changes)
    _apply_first_address(conn, contact_id, changes.address_parts)
    _apply_website(conn, contact_id, changes.website)
    for name, change in changes.lists.items():
        apply_list(conn, name, contact_id, change)
    if changes.clear_photo:
        conn.execute("DELETE FROM contact_photos WHERE contact_id = ?", (contact_id,))
    if changes.photo is not None:
        set_photo(conn, contact_id, *changes.photo)
    if "related" in changes.lists:
        link_related(conn)
    refresh_name(conn, contact_id)
    conn.execute("UPDATE contacts SET updated_at = ? WHERE id = ?", (to_utc_text(now), contact_id))
    search.reindex(conn, [contact_id])


def _apply_links(conn: sqlite3.Connection, contact_id: int, changes: ContactChanges) -> None:
    """Who referred the contact, and the keep-in-touch cadence."""
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


def _tag_id(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT id FROM tags WHERE name = ?", (name,)).fetchone()
    if row:
        return int(row[0])
    return int(conn.execute("INSERT INTO tags (name) VALUES (?)", (name,)).lastrowid or 0)


def _apply_tags(conn: sqlite3.Connection, contact_id: int, changes: ContactChanges) -> None:
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


def _apply_fields(conn: sqlite3.Connection, contact_id: int, changes: ContactChanges) -> None:
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


def _apply_dates(conn: sqlite3.Connection, contact_id: int, changes: ContactChanges) -> None:
    from crmcli.dates import parse_yearly

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


def _apply_labeled(
    conn: sqlite3.Connection,
    column: str,
    contact_id: int,
    replace: list[Labeled] | None,
    add: list[Labeled],
    remove: list[str],
) -> None:
    """Emails or phones: replace all, add (no duplicates), remove (must exist)."""
    table = f"contact_{column}s"
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


def _apply_first_address(
    conn: sqlite3.Connection, contact_id: int, parts: dict[str, str | None]
) -> None:
    """``--street``, ``--city``...: change the first address (made when there is none)."""
    if not parts:
        return
    row = conn.execute(
        "SELECT id FROM contact_addresses WHERE contact_id = ? ORDER BY position, id LIMIT 1",
        (contact_id,),
    ).fetchone()
    values = {part: _clean(value) for part, value in parts.items()}
    if row is None:
        if any(values.values()):
            apply_list(conn, "addresses", contact_id, ListChange(add=[Address(**values)]))
        return
    assignments = ", ".join(f"{part} = ?" for part in values)
    conn.execute(
        f"UPDATE contact_addresses SET {assignments} WHERE id = ?", (*values.values(), row[0])
    )
    conn.execute(
        "DELETE FROM contact_addresses WHERE id = ? AND coalesce(street, city, region, "
        "postal_code, country, po_box, extended) IS NULL",
        (row[0],),
    )


def _apply_website(conn: sqlite3.Connection, contact_id: int, website: str | None) -> None:
    """``--website``: the first URL changes ("" removes it); the first is added if none."""
    if website is None:
        return
    row = conn.execute(
        "SELECT id FROM contact_urls WHERE contact_id = ? ORDER BY position, id LIMIT 1",
        (contact_id,),
    ).fetchone()
    url = website.strip()
    if row is None:
        if url:
            apply_list(conn, "urls", contact_id, ListChange(add=[Labeled(url)]))
    elif url:
        conn.execute("UPDATE contact_urls SET url = ? WHERE id = ?", (url, row[0]))
    else:
        conn.execute("DELETE FROM contact_urls WHERE id = ?", (row[0],))


def apply_list(conn: sqlite3.Connection, name: str, contact_id: int, change: ListChange) -> None:
    """Replace, add to (what is not there yet) and remove from one list of a contact."""
    kind = KINDS[name]
    if change.replace is not None:
        conn.execute(f"DELETE FROM {kind.table} WHERE contact_id = ?", (contact_id,))
    items = contact_lists.read(conn, kind, contact_id)
    have = {kind.key(item) for item in items}
    position = len(items)
    for item in [*(change.replace or []), *change.add]:
        key = kind.key(item)
        if key in have:
            continue
        have.add(key)
        conn.execute(kind.insert(), (contact_id, *item, position))
        position += 1
    for text in change.remove:
        wanted = text.strip().lower()
        match = next((i for i in items if str(i).strip().lower() == wanted), None)
        match = match or next((i for i in items if _value_of(i).lower() == wanted), None)
        if match is None:
            raise ValidationError(f"the contact has no {name.rstrip('s')} {text!r}")
        where = " AND ".join(f"{c} IS ?" for c in kind.columns)
        conn.execute(
            f"DELETE FROM {kind.table} WHERE rowid = (SELECT rowid FROM {kind.table} "
            f"WHERE contact_id = ? AND {where} LIMIT 1)",
            (contact_id, *match),
        )


def _value_of(item: Any) -> str:
    """The main value of a list item (a URL, a handle, a name) for ``--rm-*``."""
    for attribute in ("value", "handle", "name", "street"):
        value = getattr(item, attribute, None)
        if isinstance(value, str):
            return value.strip()
    return ""


def set_photo(
    conn: sqlite3.Connection, contact_id: int, media_type: str | None, data: bytes
) -> None:
    """The contact's photo (one per contact) is now ``data``."""
    conn.execute(
        "INSERT INTO contact_photos (contact_id, media_type, data, uri) VALUES (?, ?, ?, NULL) "
        "ON CONFLICT (contact_id) DO UPDATE SET media_type = excluded.media_type, "
        "data = excluded.data, uri = NULL",
        (contact_id, media_type, data),
    )


def link_related(conn: sqlite3.Connection, uids: Iterable[tuple[int, str, str]] = ()) -> None:
    """Link related people to the contacts they are: by the UID given for them (``uids``:
    (contact id, related name, UID)), by a name that is a contact's UID URI, else by a name
    that exactly one other live contact has. Only what is not linked yet changes."""
    for contact_id, name, uid in uids:
        conn.execute(
            f"UPDATE contact_related SET related_id = ({_by_uid('?2')}) "
            "WHERE contact_id = ?1 AND name = ?3 AND related_id IS NULL",
            (contact_id, uid, name),
        )
    conn.execute(
        f"UPDATE contact_related SET related_id = ({_by_uid('name')}) "
        "WHERE related_id IS NULL AND name LIKE '%:%'"
    )
    # each an index seek (contacts_name): the name as a person is shown, any case
    conn.execute(
        """UPDATE contact_related SET related_id = (
            SELECT min(c.id) FROM contacts c WHERE c.name = contact_related.name COLLATE NOCASE
            AND c.deleted_at IS NULL AND c.id != contact_related.contact_id HAVING count(*) = 1)
        WHERE related_id IS NULL"""
    )
    conn.execute("UPDATE contact_related SET related_id = NULL WHERE related_id = contact_id")


def _by_uid(uid: str) -> str:
    bare = f"CASE WHEN {uid} LIKE 'urn:uuid:%' THEN substr({uid}, 10) END"
    return _BY_UID.format(uid=uid, bare=bare)


#: the contact a UID (or its urn:uuid: URI) names: its own UID, or one it was imported with
_BY_UID = (
    "SELECT id FROM contacts WHERE uid IN ({uid}, {bare}) UNION ALL "
    "SELECT contact_id FROM contact_uids WHERE uid IN ({uid}, {bare}) LIMIT 1"
)
