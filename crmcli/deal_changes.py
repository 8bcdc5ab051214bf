"""What a new deal holds and what to change on one: the input of deals.add and deals.edit.

Kept out of :mod:`crmcli.deals` so that commands which only read deals (``contact show``, the
pipeline, the agenda) do not pay for building these classes at start-up, as with
:mod:`crmcli.contact_changes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class NewDeal:
    """What ``crm deal add`` knows about a new deal."""

    contact_id: int
    title: str
    value_minor: int
    currency: str
    stage: str | None = None
    probability: int | None = None
    expected_close: date | None = None
    source: str | None = None
    notes: str | None = None


@dataclass
class DealChanges:
    """What ``crm deal edit`` changes; None means "leave as is"."""

    title: str | None = None
    value_minor: int | None = None
    currency: str | None = None
    probability: int | None = None
    clear_probability: bool = False
    expected_close: date | None = None
    clear_close: bool = False
    source: str | None = None
    notes: str | None = None
    contact_id: int | None = None
    cleared: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return self == DealChanges()
