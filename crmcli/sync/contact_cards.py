"""The seam between sync and the contact model: a contact as a vCard, and a card's
properties applied to a contact, both as the lossless model reads and writes them.

Everything sync knows of how a contact is stored is here, in four functions:

- :func:`local_rows`: every live contact with a fingerprint of what its card is written from
  (a change of it is a change on crmcli's side; nothing is rendered for an unchanged contact);
- :func:`render`: the card of a contact (the one writer, :mod:`crmcli.io.vcard_write`: 4.0
  for a file crmcli makes, 3.0 for what goes into a phone's 3.0 card);
- :func:`create`: new contacts from cards, in bulk, matched first by UID and then by the
  identity rules (the importer, :mod:`crmcli.importer`): a card of someone crmcli knows
  already is not added again;
- :func:`apply`: the properties of a card that changed on the vdir's side, put on a contact
  (read by the one reader, :mod:`crmcli.io.vcard` and :mod:`crmcli.io.vcard_map`: addresses,
  URLs, handles, related people, photo, dates, flagged values, and every property no field
  holds kept verbatim).

A card's NOTE is the contact's custom field ``note`` (crmcli's notes are a history of calls and
meetings, not a property of the card).
"""

from __future__ import annotations

import functools
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
#: the names an anniversary comes in (crmcli.io.vcard_map reads them all as one)
_ANNIVERSARIES = frozenset(
    {"ANNIVERSARY", "X-ANNIVERSARY", "X-MS-ANNIVERSARY", "X-EVOLUTION-ANNIVERSARY",
     "X-KADDRESSBOOK-X-ANNIVERSARY"}
)  # fmt: skip
#: the text fields each property fills (the others fill lists: see :func:`part_of`)
_TEXT_PARTS: dict[str, tuple[str, ...]] = {
    "N": ("first_name", "middle_name", "last_name", "name_prefix", "name_suffix"),
    "ORG": ("company", "department"),
    "TITLE": ("title",),
    "ROLE": ("role",),
    "NICKNAME": ("nickname",),
    "GEO": ("geo",),
    "TZ": ("time_zone",),
    "X-CRM-SOURCE": ("source",),
}
#: a flagged value (``invalid``) is the property it came in as: EMAIL, TEL, BDAY...
_INVALID_FROM: dict[str, frozenset[str]] = {
    "email": frozenset({"EMAIL"}),
    "phone": frozenset({"TEL"}),
    "birthday": frozenset({"BDAY"}),
    "anniversary": _ANNIVERSARIES,
    "date": frozenset({"X-ABDATE"}),
    "geo": frozenset({"GEO"}),
    "cadence_days": frozenset({"X-CRM-CADENCE-DAYS"}),
}
#: the card's properties crmcli does not take from a file: the referrer is a link between two
#: of crmcli's own contacts (it goes out, for another crmcli, and is never read back here)
NOT_TAKEN = frozenset({"X-CRM-REFERRED-BY"})


class LocalRow:
    """A live contact as sync sees it: id, its own UID, the fingerprint of what its card is
    written from, and (made on first use: an unchanged contact never needs it) the export
    dictionary the card is written from."""

    __slots__ = ("_data", "_row", "id", "signature", "uid")

    def __init__(self, row: tuple[Any, ...]) -> None:
        from crmcli.io.csv_out import card_fingerprint

        self.id: int = row[0]
        self.uid: str = row[1]
        self.signature = card_fingerprint(row)
        self._row = row
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            from crmcli.io.csv_out import export_dict

            self._data = export_dict(self._row)
        return self._data


def local_rows(conn: sqlite3.Connection, ids: Iterable[int] | None = None) -> Iterator[LocalRow]:
    """Every live contact (or those of ``ids``) with its signature, in id order."""
    from crmcli.contacts import ListFilters
    from crmcli.io.csv_out import export_rows

    filters = ListFilters(sort="id")
    if ids is not None:
        filters.query = ("c.id IN (SELECT value FROM json_each(?))", [json.dumps(sorted(ids))])
    return map(LocalRow, export_rows(conn, filters))


def render(data: dict[str, Any], uid: str, version: str = "4.0") -> str:
    """The vCard 4.0 of a contact (an export dictionary of :func:`local_rows`) under ``uid``
    (the UID its file has: a card from a phone keeps the phone's)."""
    from crmcli.io.vcard import write_card

    fields = dict(data.get("fields") or {})
    card = {**data, "uid": uid, "fields": fields, "notes": fields.pop(NOTE_FIELD, None)}
    return write_card(card, version)


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
    as they are), as the lossless model reads them: a value that is not what it claims to be
    (an email without @) is kept flagged, like an import keeps it. A card that names nobody
    raises CrmError."""
    from crmcli import contacts
    from crmcli.importer import validate_record

    names = names - NOT_TAKEN
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
        text.update({key: got.get(key) for key in _TEXT_PARTS["N"]})
        text["display_name"] = got.get("display_name") or _display_from_fn(rec)
    for name, keys in _TEXT_PARTS.items():
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
    dates = {d[0]: yearly_text(*d[2:5]) for d in rec.dates if d[0] != "other"}
    if "BDAY" in names:
        changes.dates["birthday"] = dates.get("birthday")
    if names & _ANNIVERSARIES:
        changes.dates["anniversary"] = dates.get("anniversary")
    if "X-CRM-CADENCE-DAYS" in names:
        if rec.cadence_days:
            changes.cadence_days = int(rec.cadence_days)
        else:
            changes.clear_cadence = True
    if "PHOTO" in names:
        _photo_change(conn, contact_id, rec, changes)
    _list_changes(conn, contact_id, rec, names, changes)
    _field_changes(conn, contact_id, rec, names, changes)
    return changes


def _list_changes(
    conn: sqlite3.Connection, contact_id: int, rec: Record, names: set[str], changes: Any
) -> None:
    """Addresses, URLs, handles, related people, flagged values and the properties kept
    verbatim: each list a changed property fills is replaced by what the card says."""
    from crmcli import contact_lists
    from crmcli.contact_values import Address, Handle, Invalid, Labeled, Related, VcardProperty

    parts = {part_of(name) for name in names}
    if "addresses" in parts:
        changes.list_change("addresses").replace = [Address(*a) for a in rec.addresses]
    if "urls" in parts:
        changes.list_change("urls").replace = [Labeled(*u) for u in rec.urls]
    if "handles" in parts:
        changes.list_change("handles").replace = [Handle(*h) for h in rec.handles]
    if "related" in parts:
        changes.list_change("related").replace = [Related(n, label) for n, label, _ in rec.related]
    flagged = contact_lists.read(conn, contact_lists.KINDS["invalid"], contact_id)
    governed = {
        field
        for field in {*(i.field for i in flagged), *(i[0] for i in rec.invalid)}
        if names & _INVALID_FROM.get(field, frozenset({"X-CRM-INVALID"}))
    }
    if governed:
        kept = [i for i in flagged if i.field not in governed]
        incoming = [Invalid(*i) for i in rec.invalid if i[0] in governed]
        changes.list_change("invalid").replace = [*kept, *incoming]
    verbatim = contact_lists.read(conn, contact_lists.KINDS["vcard"], contact_id)
    incoming_props = [VcardProperty(*p) for p in rec.props]
    kept_names = {p.name.upper() for p in [*verbatim, *incoming_props]}
    if ("kept as is" in parts or names & kept_names) and incoming_props != verbatim:
        changes.list_change("vcard").replace = incoming_props
    if "dates" in parts:
        _other_dates(conn, contact_id, rec)


def _photo_change(conn: sqlite3.Connection, contact_id: int, rec: Record, changes: Any) -> None:
    """The card's photo: its bytes, or a link to it (kept as the link), or none."""
    media, data, uri = rec.photo or (None, None, None)
    if data is not None:
        changes.photo = (media, data)
    elif uri:
        conn.execute(
            "INSERT INTO contact_photos (contact_id, media_type, data, uri) VALUES (?, ?, NULL, ?) "
            "ON CONFLICT (contact_id) DO UPDATE SET media_type = excluded.media_type, "
            "data = NULL, uri = excluded.uri",
            (contact_id, media, uri),
        )
    else:
        changes.clear_photo = True


@functools.cache
def part_of(name: str) -> str:
    """Which part of the contact a property fills, as the reader says (``IMPP`` -> handles,
    ``X-AIM`` -> handles, ``RELATED`` -> related; ``kept as is`` for one it keeps verbatim)."""
    from crmcli.io.vcard import Property
    from crmcli.io.vcard_map import card_record

    tally: dict[str, int] = {}
    card_record([Property(None, name, {}, "")], "probe", "", tally=tally)
    return next((key.partition(" -> ")[2] for key in tally), "")


def _other_dates(conn: sqlite3.Connection, contact_id: int, rec: Record) -> None:
    """The labelled dates besides birthday and anniversary (Apple's X-ABDATE), as the card has
    them (written in the caller's transaction, before the contact's update)."""
    conn.execute("DELETE FROM contact_dates WHERE contact_id = ? AND kind = 'other'", (contact_id,))
    conn.executemany(
        "INSERT OR IGNORE INTO contact_dates (contact_id, kind, label, year, month, day) "
        "VALUES (?, 'other', ?, ?, ?, ?)",
        [(contact_id, d[1], d[2], d[3], d[4]) for d in rec.dates if d[0] == "other"],
    )


def _field_changes(
    conn: sqlite3.Connection, contact_id: int, rec: Record, names: set[str], changes: Any
) -> None:
    """Custom fields: NOTE fills the field ``note``; with X-CRM-FIELD every other one is set to
    what the card says (cleared when it has none)."""
    current = {
        row[0]: row[1]
        for row in conn.execute(
            "SELECT key, value FROM contact_fields WHERE contact_id = ?", (contact_id,)
        )
    }
    wanted: set[str] = {NOTE_FIELD} if "NOTE" in names else set()
    if "X-CRM-FIELD" in names:
        wanted.update(k for k in {*current, *rec.fields} if k.lower() != NOTE_FIELD)
    lowered = {key.lower(): value for key, value in rec.fields.items()}
    for key in wanted:
        value = lowered.get(key.lower())
        stored = next((k for k in current if k.lower() == key.lower()), None)
        if value is not None and value.strip():
            if current.get(stored or "") != value.strip():
                changes.set_fields[stored or key] = value
        elif stored is not None:
            changes.clear_fields.append(stored)
