"""The text form ``crm contact edit`` opens in $EDITOR: render a contact, parse it back.

One ``key: value`` per line; emails and phones one per line (``email: work:alice@example.com``);
custom fields as ``field.NAME: value``. Parsing computes the changes against the original, and
validates everything before anything is saved. Only what the user changed is applied, and only
if the contact did not change while the form was open: otherwise the form reopens with both
versions (:func:`conflict_form`), so neither the user's edit nor the other change is lost.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

from crmcli import contacts
from crmcli.contact_changes import ContactChanges
from crmcli.contacts import Contact, Labeled, parse_labeled
from crmcli.db import transaction
from crmcli.errors import ValidationError

HEADER = """\
# Edit contact {id} ({name}), then save and quit. An empty value clears a field; removing a line
# removes that email, phone or custom field. Lines starting with # are ignored.
#   email: work:alice@example.com      (one line each; the "label:" part is optional)
#   tags: customer, vip                (comma-separated)
#   birthday: 1980-04-15 or --04-15    (no year)
#   referred_by: an id, name or email of another contact
#   cadence: 30d                       (keep in touch at least this often)
#   field.territory: North             (custom fields)
"""


def render(contact: Contact) -> str:
    """The contact as an editable text form."""
    lines = [HEADER.format(id=contact.id, name=contact.name)]
    for key in ("first_name", "last_name", "display_name", "company", "title"):
        lines.append(f"{key}: {contact.text.get(key) or ''}")
    lines.extend(f"email: {entry}" for entry in contact.emails or [Labeled("")])
    lines.extend(f"phone: {entry}" for entry in contact.phones or [Labeled("")])
    lines.append(f"tags: {', '.join(contact.tags)}")
    for key in ("street", "city", "region", "postal_code", "country", "website", "source"):
        lines.append(f"{key}: {contact.text.get(key) or ''}")
    lines.append(f"birthday: {contact.dates.get('birthday') or ''}")
    lines.append(f"anniversary: {contact.dates.get('anniversary') or ''}")
    lines.append(f"referred_by: {contact.referred_by[0] if contact.referred_by else ''}")
    lines.append(f"cadence: {f'{contact.cadence_days}d' if contact.cadence_days else ''}")
    lines.extend(f"field.{key}: {value}" for key, value in contact.fields.items())
    return "\n".join(lines) + "\n"


def parse(conn: sqlite3.Connection, text: str, original: Contact, *, today: date) -> ContactChanges:
    """The changes the edited form asks for; ValidationError names the offending line."""
    from crmcli.dates import parse_days

    values: dict[str, str] = {}
    emails: list[Labeled] = []
    phones: list[Labeled] = []
    fields: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not sep:
            raise ValidationError(
                f"line {number} of the form: expected 'name: value', got {line!r}"
            )
        try:
            if key == "email":
                if value:
                    emails.append(parse_labeled(value))
            elif key == "phone":
                if value:
                    phones.append(parse_labeled(value))
            elif key.startswith("field."):
                field_key = contacts.validate_field_key(raw.split(":", 1)[0].strip()[6:])
                if value:
                    fields[field_key] = value
            elif key in contacts.KNOWN_FIELDS:
                if key in values:
                    raise ValidationError(f"{key!r} appears twice")
                values[key] = value
            else:
                raise ValidationError(
                    f"unknown field {key!r} (known: {', '.join(contacts.KNOWN_FIELDS)}, field.NAME)"
                )
        except ValidationError as error:
            raise ValidationError(f"line {number} of the form: {error.message}") from None

    changes = ContactChanges()
    for key in contacts.TEXT_FIELDS:
        new = values.get(key, "") or None
        if new != (original.text.get(key) or None):
            changes.text[key] = new
    if emails != original.emails:
        changes.replace_emails = emails
    if phones != original.phones:
        changes.replace_phones = phones
    tags = [t.strip() for t in values.get("tags", "").split(",") if t.strip()]
    if sorted(tags, key=str.lower) != sorted(original.tags, key=str.lower):
        changes.replace_tags = tags
    if fields != original.fields:
        changes.replace_fields = fields
    for label in contacts.DATE_FIELDS:
        new_date = values.get(label) or None
        if new_date != original.dates.get(label):
            changes.dates[label] = new_date
    referred = values.get("referred_by", "")
    old_referred = str(original.referred_by[0]) if original.referred_by else ""
    if referred != old_referred:
        if referred:
            changes.referred_by_id = contacts.resolve(conn, referred)
        else:
            changes.clear_referred_by = True
    cadence = values.get("cadence", "")
    if cadence != (f"{original.cadence_days}d" if original.cadence_days else ""):
        if cadence:
            changes.cadence_days = parse_days(cadence)
        else:
            changes.clear_cadence = True
    contacts.validate_changes(changes, today=today)
    return changes


# --- saving, when the contact may have changed while the form was open ---------------------------


def save(
    conn: sqlite3.Connection,
    contact_id: int,
    base: Contact,
    changes: ContactChanges,
    *,
    now: datetime,
) -> Contact | None:
    """Apply ``changes`` (what the user changed in a form opened on ``base``) if the contact is
    still ``base``; otherwise save nothing and return the contact as it is now. Checked and
    applied in one transaction, so nothing can slip in between."""
    with transaction(conn):
        current = contacts.get(conn, contact_id)
        if current != base:
            return current
        contacts.update(conn, contact_id, changes, now=now)
    return None


def _merge_labeled(base: list[Labeled], mine: list[Labeled], now: list[Labeled]) -> list[Labeled]:
    """Emails or phones: what is saved now, less what the user removed, plus what they added
    (or relabelled), in their order."""

    def key(entry: Labeled) -> str:
        return entry.value.strip().lower()

    before = {key(e): e for e in base}
    mine_keys = {key(e) for e in mine}
    removed = {k for k in before if k not in mine_keys}
    changed = {key(e): e for e in mine if before.get(key(e)) != e}
    merged = [changed.pop(key(e), e) for e in now if key(e) not in removed]
    return merged + list(changed.values())


def _merge_tags(base: list[str], mine: list[str], now: list[str]) -> list[str]:
    lower = {t.lower() for t in mine}
    removed = {t.lower() for t in base} - lower
    kept = [t for t in now if t.lower() not in removed]
    have = {t.lower() for t in kept}
    return kept + [t for t in mine if t.lower() not in have]


def _merge_fields(
    base: dict[str, str], mine: dict[str, str], now: dict[str, str]
) -> dict[str, str]:
    merged = dict(now)
    for key in {*base, *mine}:
        if mine.get(key) != base.get(key):
            if key in mine:
                merged[key] = mine[key]
            else:
                merged.pop(key, None)
    return merged


def overlay(base: Contact, current: Contact, changes: ContactChanges) -> Contact:
    """The contact as saved now with the user's changes (made on ``base``) on top: a field the
    user changed shows their value; emails, phones, tags and custom fields are merged item by
    item, so what was added elsewhere meanwhile stays."""
    merged = current._replace(text={**current.text, **changes.text})
    if changes.replace_emails is not None:
        merged = merged._replace(
            emails=_merge_labeled(base.emails, changes.replace_emails, current.emails)
        )
    if changes.replace_phones is not None:
        merged = merged._replace(
            phones=_merge_labeled(base.phones, changes.replace_phones, current.phones)
        )
    if changes.replace_tags is not None:
        merged = merged._replace(tags=_merge_tags(base.tags, changes.replace_tags, current.tags))
    if changes.replace_fields is not None:
        merged = merged._replace(
            fields=_merge_fields(base.fields, changes.replace_fields, current.fields)
        )
    dates = {**current.dates, **{k: v for k, v in changes.dates.items() if v}}
    merged = merged._replace(dates={k: v for k, v in dates.items() if changes.dates.get(k, v)})
    if changes.referred_by_id is not None:
        merged = merged._replace(referred_by=(changes.referred_by_id, ""))
    elif changes.clear_referred_by:
        merged = merged._replace(referred_by=None)
    if changes.cadence_days is not None or changes.clear_cadence:
        merged = merged._replace(cadence_days=changes.cadence_days)
    return merged


def _form_lines(contact: Contact) -> list[str]:
    return [line for line in render(contact).splitlines() if line and not line.startswith("#")]


def conflict_form(base: Contact, current: Contact, changes: ContactChanges) -> str:
    """The form reopened after the contact changed meanwhile: both versions. Comments say what
    was saved elsewhere (``+``/``-`` lines against what the form was opened on); the form is
    the contact as saved now with the user's changes on top (:func:`overlay`)."""
    before, now = _form_lines(base), _form_lines(current)
    meanwhile = [f"#   - {line}" for line in before if line not in now]
    meanwhile += [f"#   + {line}" for line in now if line not in before]
    notes = [
        f"# Contact {current.id} was changed elsewhere while you were editing; nothing was",
        "# saved yet. Changed meanwhile (- what it was, + what is saved now):",
        *meanwhile,
        "# Below: the contact as saved now, with your changes on top. Check it and save again.",
        "",
    ]
    return "\n".join(notes) + render(overlay(base, current, changes))
