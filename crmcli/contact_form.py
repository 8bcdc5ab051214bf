"""The text form ``crm contact edit`` opens in $EDITOR: render a contact, parse it back.

One ``key: value`` per line; emails and phones one per line (``email: work:alice@example.com``);
custom fields as ``field.NAME: value``. Parsing computes the changes against the original, and
validates everything before anything is saved.
"""

from __future__ import annotations

import sqlite3
from datetime import date

from crmcli import contacts
from crmcli.contact_changes import ContactChanges
from crmcli.contacts import Contact, Labeled, parse_labeled
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
