"""What to change on a contact (or what a new one holds): the input of contacts.create/update.

Kept out of :mod:`crmcli.contacts` so that commands which only read contacts (show, search,
list) do not pay for building this many-field class at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crmcli.contacts import Labeled


@dataclass
class ListChange:
    """A change to one of a contact's lists (:data:`crmcli.contact_lists.PLAIN_KINDS`): replace
    it whole (when not None), add items, remove items (by their text form)."""

    replace: list[Any] | None = None
    add: list[Any] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)


@dataclass
class ContactChanges:
    """What to change on a contact; also describes a new contact. Empty means "leave as is".

    ``text`` maps a :data:`TEXT_FIELDS` name to a value, or to None to clear it. ``replace_*``
    lists, when not None, replace the whole collection (the edit form does that); ``add_*`` and
    ``remove_*`` change it piece by piece (the command-line options).
    """

    text: dict[str, str | None] = field(default_factory=dict)
    add_emails: list[Labeled] = field(default_factory=list)
    remove_emails: list[str] = field(default_factory=list)
    replace_emails: list[Labeled] | None = None
    add_phones: list[Labeled] = field(default_factory=list)
    remove_phones: list[str] = field(default_factory=list)
    replace_phones: list[Labeled] | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    replace_tags: list[str] | None = None
    set_fields: dict[str, str] = field(default_factory=dict)
    clear_fields: list[str] = field(default_factory=list)
    replace_fields: dict[str, str] | None = None
    #: "birthday"/"anniversary" -> "YYYY-MM-DD" or "--MM-DD", or None to clear
    dates: dict[str, str | None] = field(default_factory=dict)
    referred_by_id: int | None = None
    clear_referred_by: bool = False
    cadence_days: int | None = None
    clear_cadence: bool = False
    #: parts of the first address (street, city, region, postal_code, country; None clears)
    address_parts: dict[str, str | None] = field(default_factory=dict)
    #: the first URL ("" removes it)
    website: str | None = None
    #: addresses, urls, handles, related, invalid, vcard (crmcli.contact_lists.PLAIN_KINDS)
    lists: dict[str, ListChange] = field(default_factory=dict)
    #: a new photo: (media type, bytes)
    photo: tuple[str | None, bytes] | None = None
    clear_photo: bool = False

    def list_change(self, name: str) -> ListChange:
        """The change to list ``name``, made on first use."""
        return self.lists.setdefault(name, ListChange())

    def is_empty(self) -> bool:
        return self == ContactChanges()
