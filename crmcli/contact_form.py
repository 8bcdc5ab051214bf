"""The text form ``crm contact edit`` opens in $EDITOR: render a contact, parse it back.

One ``key: value`` per line; emails, phones, addresses, URLs, handles and related people one per
line (``email: work:alice@example.com``); custom fields as ``field.NAME: value``. Values a file
brought that could not be read as what they claim (``invalid.phone: work:BusinessPhone``) and
vCard properties kept as they came (``vcard: X-ABUID:...``) can be kept or removed. Parsing
computes the changes against the original, and validates everything before anything is saved.
Only what the user changed is applied, and only if the contact did not change while the form
was open: otherwise the form reopens with both versions (:func:`conflict_form`), so neither the
user's edit nor the other change is lost.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from crmcli import contacts
from crmcli.contact_changes import ContactChanges, ListChange
from crmcli.contact_lists import KINDS
from crmcli.contact_values import parse_address, parse_handle, parse_related
from crmcli.contacts import Contact, Labeled, parse_labeled
from crmcli.db import transaction
from crmcli.errors import ValidationError

HEADER = """\
# Edit contact {id} ({name}), then save and quit. An empty value clears a field; removing a line
# removes that email, phone, address, custom field... Lines starting with # are ignored.
#   email: work:alice@example.com      (one line each; the "label:" part is optional)
#   address: work:1 Main St; Springfield; IL; 62701; USA   (street; city; region; code; country)
#   im: skype:ann.lee                  (social: twitter:https://x.example/ann (work))
#   related: spouse:Bob Stone
#   tags: customer, vip                (comma-separated)
#   birthday: 1980-04-15 or --04-15    (no year)
#   referred_by: an id, name or email of another contact
#   cadence: 30d                       (keep in touch at least this often)
#   field.territory: North             (custom fields)
#   invalid.* and vcard: lines can be kept or removed, not changed (put a fixed value on its
#   own line: phone: ..., and remove the invalid one)
"""

#: the name lines, then the rest of the plain text fields (after the lists)
_NAME_KEYS = ("first_name", "middle_name", "last_name", "name_prefix", "name_suffix",
              "nickname", "display_name", "company", "department", "title", "role")  # fmt: skip
_OTHER_KEYS = ("time_zone", "geo", "source")
#: line key -> (the contact's list, how a line's value is read)
_LIST_LINES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "email": ("emails", parse_labeled),
    "phone": ("phones", parse_labeled),
    "address": ("addresses", parse_address),
    "url": ("urls", parse_labeled),
    "im": ("handles", lambda text: parse_handle(text, "im")),
    "social": ("handles", lambda text: parse_handle(text, "social")),
    "related": ("related", parse_related),
}


def render(contact: Contact) -> str:
    """The contact as an editable text form."""
    lines = [HEADER.format(id=contact.id, name=contact.name)]
    lines.extend(f"{key}: {contact.text.get(key) or ''}" for key in _NAME_KEYS)
    lines.extend(f"email: {entry}" for entry in contact.emails or [Labeled("")])
    lines.extend(f"phone: {entry}" for entry in contact.phones or [Labeled("")])
    lines.extend(f"address: {entry}" for entry in contact.addresses)
    lines.extend(f"url: {entry}" for entry in contact.urls)
    lines.extend(f"{handle.kind}: {handle}" for handle in contact.handles)
    lines.extend(f"related: {entry}" for entry in contact.related)
    lines.append(f"tags: {', '.join(contact.tags)}")
    lines.extend(f"{key}: {contact.text.get(key) or ''}" for key in _OTHER_KEYS)
    lines.append(f"birthday: {contact.dates.get('birthday') or ''}")
    lines.append(f"anniversary: {contact.dates.get('anniversary') or ''}")
    lines.append(f"referred_by: {contact.referred_by[0] if contact.referred_by else ''}")
    lines.append(f"cadence: {f'{contact.cadence_days}d' if contact.cadence_days else ''}")
    lines.extend(f"field.{key}: {value}" for key, value in contact.fields.items())
    if contact.photo is not None:
        lines.append(f"photo: {_photo_text(contact)}")
    for item in contact.invalid:
        lines.append(f"# {item.reason}")
        lines.append(f"invalid.{item.field}: {Labeled(item.value, item.label)}")
    lines.extend(f"vcard: {prop.line()}" for prop in contact.vcard)
    return "\n".join(lines) + "\n"


def _photo_text(contact: Contact) -> str:
    photo = contact.photo
    assert photo is not None
    return photo.uri or f"{photo.media_type or 'image'}, {photo.size or 0} bytes"


class _Form:
    """What the lines of an edited form say, before it is compared with the contact."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.lists: dict[str, list[Any]] = {name: [] for name, _ in _LIST_LINES.values()}
        self.fields: dict[str, str] = {}
        self.kept: dict[str, list[str]] = {"invalid": [], "vcard": []}

    def read(self, raw: str, key: str, value: str) -> None:
        if key in _LIST_LINES:
            name, parse_value = _LIST_LINES[key]
            if value:
                self.lists[name].append(parse_value(value))
        elif key.startswith("field."):
            field_key = contacts.validate_field_key(raw.split(":", 1)[0].strip()[6:])
            if value:
                self.fields[field_key] = value
        elif key.startswith("invalid."):
            self.kept["invalid"].append(f"{key[8:]}\x1f{value}")
        elif key == "vcard":
            self.kept["vcard"].append(value)
        elif key in contacts.KNOWN_FIELDS:
            if key in self.values:
                raise ValidationError(f"{key!r} appears twice")
            self.values[key] = value
        else:
            raise ValidationError(
                f"unknown field {key!r} (known: {', '.join(contacts.KNOWN_FIELDS)}, field.NAME)"
            )


def parse(conn: sqlite3.Connection, text: str, original: Contact, *, today: date) -> ContactChanges:
    """The changes the edited form asks for; ValidationError names the offending line."""
    form = _Form()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValidationError(
                f"line {number} of the form: expected 'name: value', got {line!r}"
            )
        try:
            form.read(raw, key.strip().lower(), value.strip())
        except ValidationError as error:
            raise ValidationError(f"line {number} of the form: {error.message}") from None
    changes = ContactChanges()
    _text_changes(form, original, changes)
    _list_changes(form, original, changes)
    _kept_changes(form, original, changes)
    _other_changes(conn, form, original, changes)
    contacts.validate_changes(changes, today=today)
    return changes


def _text_changes(form: _Form, original: Contact, changes: ContactChanges) -> None:
    for key in contacts.TEXT_FIELDS:
        new = form.values.get(key, "") or None
        if new != (original.text.get(key) or None):
            changes.text[key] = new
    tags = [t.strip() for t in form.values.get("tags", "").split(",") if t.strip()]
    if sorted(tags, key=str.lower) != sorted(original.tags, key=str.lower):
        changes.replace_tags = tags
    if form.fields != original.fields:
        changes.replace_fields = form.fields
    for label in contacts.DATE_FIELDS:
        new_date = form.values.get(label) or None
        if new_date != original.dates.get(label):
            changes.dates[label] = new_date


def _list_changes(form: _Form, original: Contact, changes: ContactChanges) -> None:
    if form.lists["emails"] != original.emails:
        changes.replace_emails = form.lists["emails"]
    if form.lists["phones"] != original.phones:
        changes.replace_phones = form.lists["phones"]
    for name in ("addresses", "urls", "handles", "related"):
        items, before = form.lists[name], getattr(original, name)
        if name == "related":  # the links stay with the names that keep them
            links = {(r.name, r.label): r.contact_id for r in before}
            items = [r._replace(contact_id=links.get((r.name, r.label))) for r in items]
        if items != before:
            changes.lists[name] = ListChange(replace=items)


def _kept_changes(form: _Form, original: Contact, changes: ContactChanges) -> None:
    """Flagged values and kept vCard properties: lines kept stay, lines removed go."""
    shown: dict[str, dict[str, Any]] = {
        "invalid": {f"{i.field}\x1f{Labeled(i.value, i.label)}": i for i in original.invalid},
        "vcard": {prop.line(): prop for prop in original.vcard},
    }
    for name, lines in form.kept.items():
        unknown = [line for line in lines if line not in shown[name]]
        if unknown:
            what = unknown[0].replace("\x1f", ": ")
            raise ValidationError(
                f"{name} line {what!r} was changed; such lines can only be kept or removed "
                "(put a fixed value on a line of its own)"
            )
        kept = [shown[name][line] for line in dict.fromkeys(lines)]
        if kept != list(shown[name].values()):
            changes.lists[name] = ListChange(replace=kept)


def _other_changes(
    conn: sqlite3.Connection, form: _Form, original: Contact, changes: ContactChanges
) -> None:
    from crmcli.dates import parse_days

    if original.photo is not None and not form.values.get("photo"):
        changes.clear_photo = True
    # lines the form does not show, but a person may type (they change the first ones)
    for part in contacts.ADDRESS_PARTS:
        if part in form.values:
            changes.address_parts[part] = form.values[part]
    if "website" in form.values:
        changes.website = form.values["website"]
    referred = form.values.get("referred_by", "")
    old_referred = str(original.referred_by[0]) if original.referred_by else ""
    if referred != old_referred:
        if referred:
            changes.referred_by_id = contacts.resolve(conn, referred)
        else:
            changes.clear_referred_by = True
    cadence = form.values.get("cadence", "")
    if cadence != (f"{original.cadence_days}d" if original.cadence_days else ""):
        if cadence:
            changes.cadence_days = parse_days(cadence)
        else:
            changes.clear_cadence = True


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


def _merge_items(
    base: list[Any], mine: list[Any], now: list[Any], key: Callable[[Any], str]
) -> list[Any]:
    """A list as saved now, less what the user removed, plus what they added (or changed), in
    their order."""
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


def _by_value(entry: Labeled) -> str:
    return entry.value.strip().lower()


def overlay(base: Contact, current: Contact, changes: ContactChanges) -> Contact:
    """The contact as saved now with the user's changes (made on ``base``) on top: a field the
    user changed shows their value; the lists, tags and custom fields are merged item by
    item, so what was added elsewhere meanwhile stays."""
    merged = current._replace(text={**current.text, **changes.text})
    for name, mine in (("emails", changes.replace_emails), ("phones", changes.replace_phones)):
        if mine is not None:
            lists = (getattr(base, name), mine, getattr(current, name))
            merged = merged._replace(**{name: _merge_items(*lists, _by_value)})  # type: ignore[arg-type]
    for name, change in changes.lists.items():
        if change.replace is not None:
            lists = (getattr(base, name), change.replace, getattr(current, name))
            items = _merge_items(*lists, KINDS[name].key)
            merged = merged._replace(**{name: items})  # type: ignore[arg-type]
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
    if changes.clear_photo:
        merged = merged._replace(photo=None)
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
