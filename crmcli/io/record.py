"""The neutral record every reader produces and the importer consumes."""

from __future__ import annotations

from typing import Any

#: how ``crm export contacts`` joins a contact's notes in one cell (CSV ``notes``, vCard NOTE)
NOTES_SEPARATOR = "\n\n"


class Record:
    """One incoming contact, as read from a file, before validation.

    ``position`` says where it came from ("line 12", "card 3"), for messages; ``raw`` is what the
    file held (the CSV cells, or the card's text), so a rejected row can be written back out.
    Dates are ``(kind, label, text)``: kind is birthday, anniversary or other. The lists hold
    tuples in the field order of :mod:`crmcli.contact_values`' types: ``addresses`` (label,
    street, city, region, postal_code, country, po_box, extended), ``urls`` (url, label),
    ``handles`` (kind, service, handle, label), ``related`` (name, label, UID or None),
    ``props`` (group, name, params, value: vCard properties kept verbatim); ``photo`` is
    (media type, bytes or None, URI or None); ``invalid`` is filled by validation.
    """

    __slots__ = (
        "addresses",
        "cadence_days",
        "created_at",
        "dates",
        "do_not_contact",
        "email_optout",
        "emails",
        "fields",
        "full_name",
        "handles",
        "invalid",
        "notes",
        "phones",
        "photo",
        "position",
        "props",
        "raw",
        "referred_by_uid",
        "related",
        "size",
        "tags",
        "text",
        "uid",
        "updated_at",
        "urls",
    )

    def __init__(self, position: str, raw: Any = None) -> None:
        self.position = position
        self.raw = raw
        self.text: dict[str, str] = {}
        self.full_name: str | None = None
        self.emails: list[tuple[Any, ...]] = []
        self.phones: list[tuple[Any, ...]] = []
        self.addresses: list[tuple[str | None, ...]] = []
        self.urls: list[tuple[str, str | None]] = []
        self.handles: list[tuple[str, str | None, str, str | None]] = []
        self.related: list[tuple[str, str | None, str | None]] = []
        self.photo: tuple[str | None, bytes | None, str | None] | None = None
        self.props: list[tuple[str | None, str, str, str]] = []
        self.invalid: list[tuple[str, str | None, str, str]] = []
        self.tags: list[str] = []
        self.fields: dict[str, str] = {}
        self.dates: list[tuple[Any, ...]] = []
        self.notes: list[str] = []
        self.uid: str | None = None
        self.created_at: str | None = None
        self.updated_at: str | None = None
        self.cadence_days: str | None = None
        self.referred_by_uid: str | None = None
        #: a consent column's cell (crmcli.consent): any value but no/false/0 means yes
        self.email_optout: str | None = None
        self.do_not_contact: str | None = None
        #: about how many bytes the record holds beyond the usual (a photo, long properties):
        #: the importer writes a batch sooner when its records are large
        self.size = 0

    def add_value(self, field: str, label: str | None, value: str) -> None:
        """A value by the name of the field it claims to be (``email``, ``phone``,
        ``birthday``, ``date``...): how a flagged value exported by crmcli comes back, to be
        checked again."""
        if field in ("email", "phone"):
            (self.emails if field == "email" else self.phones).append((value, label))
        elif field in ("birthday", "anniversary"):
            self.dates.append((field, field, value))
        elif field == "date":
            self.dates.append(("other", label or "other", value))
        elif field == "geo" and "geo" not in self.text:
            self.text["geo"] = value
        elif field == "cadence_days" and self.cadence_days is None:
            self.cadence_days = value
        else:
            self.invalid.append((field, label, value, "kept as it came"))


class Rejected:
    """A piece of the file that could not even be read as a record (a broken vCard)."""

    __slots__ = ("position", "raw", "reason")

    def __init__(self, position: str, reason: str, raw: Any = None) -> None:
        self.position = position
        self.reason = reason
        self.raw = raw


#: labels as crmcli keeps them, for what programs call them
_LABELS = {"cell": "mobile", "cellular": "mobile", "mobil": "mobile", "homepage": "homepage",
           "business": "work", "office": "work", "private": "home", "privat": "home"}  # fmt: skip


def normalize_label(label: str | None) -> str | None:
    """``"* Mobile"`` -> ``"mobile"``; vCard's ``cell`` is crmcli's ``mobile``; Apple's
    ``_$!<Spouse>!$_`` is ``spouse``."""
    if not label:
        return None
    label = label.strip().lstrip("*").strip().lower()
    if label.startswith("_$!<") and label.endswith(">!$_"):  # Apple's built-in labels
        label = label[4:-4]
    label = " ".join(label.split())
    return _LABELS.get(label, label) or None
