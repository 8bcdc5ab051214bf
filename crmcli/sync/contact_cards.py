"""The seam between sync and the contact model: a contact as vCard 4.0, and a card's fields
applied to a contact.

Everything sync knows of how a contact is stored is here, in four functions:

- :func:`local_rows`: every live contact with a signature of what its card holds (a change of
  the signature is a change on crmcli's side; nothing is rendered for an unchanged contact);
- :func:`render`: the card of a contact (the export's vCard 4.0 writer, :mod:`crmcli.io.vcard`);
- :func:`create`: new contacts from cards, in bulk, matched first by UID and then by the
  identity rules (the importer, :mod:`crmcli.importer`): a card of someone crmcli knows
  already is not added again;
- :func:`apply`: the fields of a card that changed on the vdir's side, put on a contact.

A card's NOTE is the contact's custom field ``note`` (crmcli's notes are a history of calls and
meetings, not a property of the card). What the model cannot hold (IMPP, RELATED, a second
address...) never reaches these functions' callers as lost: the merge keeps it in the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from crmcli.clock import local_naive
from crmcli.io.record import Record

#: the card's NOTE: a custom field of this name
NOTE_FIELD = "note"
#: custom fields the reader fills from standard properties (not from X-CRM-FIELD)
_FROM_PROPERTIES = {
    "N": ("middle name",),
    "ORG": ("department",),
    "NICKNAME": ("nickname",),
    "NOTE": (NOTE_FIELD,),
    "BDAY": ("birthday text",),
}
#: what a signature covers: every key of the export dictionary a card is written from (not
#: the notes, which a card does not carry, nor the times of the record itself)
_UNSIGNED = ("notes", "created_at", "updated_at")


#: the card's properties the contact model holds (the others stay in the file only)
HELD = frozenset(
    {"FN", "N", "X-CRM-DISPLAY-NAME", "ORG", "TITLE", "URL", "ADR", "X-CRM-SOURCE", "EMAIL",
     "TEL", "CATEGORIES", "BDAY", "ANNIVERSARY", "X-ANNIVERSARY", "X-MS-ANNIVERSARY",
     "X-ABDATE", "X-CRM-CADENCE-DAYS", "NOTE", "NICKNAME", "X-CRM-FIELD"}
)  # fmt: skip


class LocalRow(NamedTuple):
    """A live contact as sync sees it: id, its own UID, signature, and the export dictionary
    the card is written from."""

    id: int
    uid: str
    signature: str
    data: dict[str, Any]


def _signature(data: dict[str, Any]) -> str:
    from crmcli.io.csv_out import EXPORT_KEYS

    signed = json.dumps(
        [data.get(k) for k in EXPORT_KEYS if k not in _UNSIGNED], ensure_ascii=False
    )
    return hashlib.blake2b(signed.encode(), digest_size=16).hexdigest()


def local_rows(conn: sqlite3.Connection, ids: Iterable[int] | None = None) -> Iterator[LocalRow]:
    """Every live contact (or those of ``ids``) with its signature, in id order."""
    from crmcli.contacts import ListFilters
    from crmcli.io.csv_out import export_contacts

    filters = ListFilters(sort="id")
    if ids is not None:
        filters.query = ("c.id IN (SELECT value FROM json_each(?))", [json.dumps(sorted(ids))])
    for data in export_contacts(conn, filters):
        yield LocalRow(data["id"], data["uid"], _signature(data), data)


def render(data: dict[str, Any], uid: str) -> str:
    """The vCard 4.0 of a contact (an export dictionary of :func:`local_rows`) under ``uid``
    (the UID its file has: a card from a phone keeps the phone's)."""
    from crmcli.io.vcard import write_card

    fields = dict(data.get("fields") or {})
    card = {**data, "uid": uid, "fields": fields, "notes": fields.pop(NOTE_FIELD, None)}
    return write_card(card, "4.0")


def read(text: str, position: str) -> Record:
    """The importer's record of one card (``position`` names it in messages)."""
    from crmcli.io.vcard import read_vcards

    found = [rec for rec in read_vcards(io.StringIO(text)) if isinstance(rec, Record)]
    if not found:
        raise ValueError("not a vCard")
    rec = found[0]
    rec.position = position
    if rec.notes:
        rec.fields[NOTE_FIELD] = "\n\n".join(rec.notes)
        rec.notes = []
    return rec


class Created(NamedTuple):
    """What :func:`create` did with each card: the contact it is (None: rejected, ``reason``
    says why), and whether that contact existed already (then the card is merged with it)."""

    contact_id: int | None
    existed: bool
    reason: str | None = None


def create(
    conn: sqlite3.Connection, cards: list[tuple[str, str]], *, now: datetime
) -> dict[str, Created]:
    """Contacts for new cards ((position, text) pairs), in one pass of the importer: a card
    that is someone crmcli knows (the same UID, email...: the identity rules) is not added but
    named with that contact; the others become contacts (two cards of one person, one)."""
    from crmcli.importer import ImportOptions, Problem, import_records

    out: dict[str, Created] = {}

    def placed(position: str, action: str, name: str, contact_id: int | None, _: Any) -> None:
        if action == "reject":
            out[position] = Created(None, False, name)
        elif contact_id is not None:
            out[position] = Created(contact_id, action == "skip", None)

    def rejected(problem: Problem, raw: Any) -> None:
        out[problem.position] = Created(None, False, problem.reason)

    records = (read(text, position) for position, text in cards)
    options = ImportOptions(on_duplicate="skip", skip_invalid=True)
    import_records(conn, records, options, now=now, on_action=placed, on_reject=rejected)
    return out


def apply(
    conn: sqlite3.Connection, contact_id: int, text: str, names: set[str], *, now: datetime
) -> None:
    """Put the properties ``names`` of the card ``text`` on the contact (the others are left
    as they are). A value the contact model refuses (an email without @) raises CrmError."""
    from crmcli import contacts
    from crmcli.importer import validate_record

    rec = read(text, "card")
    reason = validate_record(rec, today=local_naive(now).date())
    if reason is not None:
        from crmcli.errors import ValidationError

        raise ValidationError(reason)
    changes = _changes(conn, contact_id, rec, names)
    if not changes.is_empty():
        contacts.update(conn, contact_id, changes, now=now)


def _text_changes(rec: Record, names: set[str]) -> dict[str, str | None]:
    text: dict[str, str | None] = {}
    got = rec.text
    if names & {"N", "FN", "X-CRM-DISPLAY-NAME"}:
        text["first_name"] = got.get("first_name")
        text["last_name"] = got.get("last_name")
        text["display_name"] = got.get("display_name") or _display_from_fn(rec)
    singles: dict[str, tuple[str, ...]] = {"ORG": ("company",), "TITLE": ("title",)}
    singles["URL"] = ("website",)
    singles["ADR"] = ("street", "city", "region", "postal_code", "country")
    singles["X-CRM-SOURCE"] = ("source",)
    for name, keys in singles.items():
        if name in names:
            text.update({key: got.get(key) for key in keys})
    return text


def _display_from_fn(rec: Record) -> str | None:
    """FN as the name shown, when it is more than "given family" (``Dr. Ann Lee``)."""
    fn = rec.full_name
    if not fn:
        return None
    plain = " ".join(p for p in (rec.text.get("first_name"), rec.text.get("last_name")) if p)
    return None if fn in (plain, rec.text.get("company")) else fn


def _changes(conn: sqlite3.Connection, contact_id: int, rec: Record, names: set[str]) -> Any:
    from crmcli.contact_changes import ContactChanges
    from crmcli.contacts import Labeled, yearly_text

    changes = ContactChanges(text=_text_changes(rec, names))
    if "EMAIL" in names:
        changes.replace_emails = [Labeled(value, label) for value, label in rec.emails]
    if "TEL" in names:
        changes.replace_phones = [Labeled(p[0], p[1]) for p in rec.phones]
    if "CATEGORIES" in names:
        changes.replace_tags = list(rec.tags)
    dates = {kind: yearly_text(year, month, day) for kind, _, year, month, day in rec.dates}
    if "BDAY" in names:
        changes.dates["birthday"] = dates.get("birthday")
    if names & {"ANNIVERSARY", "X-ANNIVERSARY", "X-MS-ANNIVERSARY", "X-ABDATE"}:
        changes.dates["anniversary"] = dates.get("anniversary")
    if "X-CRM-CADENCE-DAYS" in names:
        if rec.cadence_days:
            changes.cadence_days = int(rec.cadence_days)
        else:
            changes.clear_cadence = True
    _field_changes(conn, contact_id, rec, names, changes)
    return changes


def _field_changes(
    conn: sqlite3.Connection, contact_id: int, rec: Record, names: set[str], changes: Any
) -> None:
    """Custom fields: those a changed standard property fills (NOTE, NICKNAME...), and with
    X-CRM-FIELD every other one, set to what the card says (cleared when it has none)."""
    current = {
        row[0]: row[1]
        for row in conn.execute(
            "SELECT key, value FROM contact_fields WHERE contact_id = ?", (contact_id,)
        )
    }
    wanted: set[str] = set()
    for name, keys in _FROM_PROPERTIES.items():
        if name in names:
            wanted.update(keys)
    if "X-CRM-FIELD" in names:
        standard = {key for keys in _FROM_PROPERTIES.values() for key in keys}
        wanted.update(k for k in {*current, *rec.fields} if k.lower() not in standard)
    lowered = {key.lower(): value for key, value in rec.fields.items()}
    for key in wanted:
        value = lowered.get(key.lower())
        stored = next((k for k in current if k.lower() == key.lower()), None)
        if value is not None and value.strip():
            if current.get(stored or "") != value.strip():
                changes.set_fields[stored or key] = value
        elif stored is not None:
            changes.clear_fields.append(stored)
