"""The neutral record every reader produces and the importer consumes."""

from __future__ import annotations

from typing import Any

#: how ``crm export contacts`` joins a contact's notes in one cell (CSV ``notes``, vCard NOTE)
NOTES_SEPARATOR = "\n\n"


class Record:
    """One incoming contact, as read from a file, before validation.

    ``position`` says where it came from ("line 12", "card 3"), for messages; ``raw`` is what the
    file held (the CSV cells, or the card's text), so a rejected row can be written back out.
    Dates are ``(kind, label, text)``: kind is birthday, anniversary or other.
    """

    __slots__ = (
        "cadence_days",
        "created_at",
        "dates",
        "do_not_contact",
        "email_optout",
        "emails",
        "fields",
        "full_name",
        "notes",
        "phones",
        "position",
        "raw",
        "referred_by_uid",
        "tags",
        "text",
        "uid",
        "updated_at",
    )

    def __init__(self, position: str, raw: Any = None) -> None:
        self.position = position
        self.raw = raw
        self.text: dict[str, str] = {}
        self.full_name: str | None = None
        self.emails: list[tuple[Any, ...]] = []
        self.phones: list[tuple[Any, ...]] = []
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


class Rejected:
    """A piece of the file that could not even be read as a record (a broken vCard)."""

    __slots__ = ("position", "raw", "reason")

    def __init__(self, position: str, reason: str, raw: Any = None) -> None:
        self.position = position
        self.reason = reason
        self.raw = raw


def normalize_label(label: str | None) -> str | None:
    """``"* Mobile"`` -> ``"mobile"``; vCard's ``cell`` is crmcli's ``mobile``."""
    if not label:
        return None
    label = label.strip().lstrip("*").strip().lower()
    if label.startswith("_$!<") and label.endswith(">!$_"):  # Apple's built-in labels
        label = label[4:-4]
    if label in ("cell", "cellular", "mobil"):
        return "mobile"
    return label or None
