"""A contact's history: one timeline, newest first, assembled from providers.

Each capability that knows something about a contact's past has a provider, a function
``(conn, contact_id) -> list[HistoryEvent]``, registered in
:data:`crmcli.registry.HISTORY_PROVIDERS`. Notes, reminders, deal stage changes and purchases
are there; a new capability adds its own line to it::

    HISTORY_PROVIDERS.register("invoices", "crmcli.invoices:history_events")
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HistoryEvent:
    """One thing that happened: ``at`` is UTC text (``2026-11-23T09:00:00Z``).

    ``event`` is a short label ("call", "note", "reminder added", "reminder done", "stage"),
    ``ref`` says where it came from and how to act on it ("note 5", "reminder 12", "deal 3").
    """

    at: str
    event: str
    text: str
    ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "event": self.event, "text": self.text, "ref": self.ref}


HistoryProvider = Callable[[sqlite3.Connection, int], list[HistoryEvent]]


def note_events(conn: sqlite3.Connection, contact_id: int) -> list[HistoryEvent]:
    """Every live note, as an event of its kind (call, email, note...)."""
    rows = conn.execute(
        "SELECT id, kind, body, at FROM notes WHERE contact_id = ? AND deleted_at IS NULL",
        (contact_id,),
    )
    return [HistoryEvent(r["at"], r["kind"], r["body"], f"note {r['id']}") for r in rows]


def reminder_events(conn: sqlite3.Connection, contact_id: int) -> list[HistoryEvent]:
    """Reminders set (not the occurrences a recurrence made by itself) and reminders done; one
    a rule set says so ("set by rule 3 (on deal-won, deal 12)")."""
    from crmcli.clock import from_utc_text, local_naive
    from crmcli.dates import When, format_when

    rows = conn.execute(
        "SELECT id, body, due_at, has_time, previous_id, created_at, done_at, origin FROM reminders "
        "WHERE contact_id = ? AND deleted_at IS NULL",
        (contact_id,),
    )
    events: list[HistoryEvent] = []
    for r in rows:
        ref = f"reminder {r['id']}"
        if r["previous_id"] is None:
            due = format_when(When(local_naive(from_utc_text(r["due_at"])), bool(r["has_time"])))
            by = f"; set by {r['origin']}" if r["origin"] else ""
            events.append(
                HistoryEvent(r["created_at"], "reminder added", f"{r['body']} (due {due}{by})", ref)
            )
        if r["done_at"]:
            events.append(HistoryEvent(r["done_at"], "reminder done", r["body"], ref))
    return events


def deal_events(conn: sqlite3.Connection, contact_id: int) -> list[HistoryEvent]:
    """Deals created, moved between stages, won, lost and reopened."""
    from crmcli.deals import history_events

    return history_events(conn, contact_id)


def purchase_events(conn: sqlite3.Connection, contact_id: int) -> list[HistoryEvent]:
    """Purchases, on their day."""
    from crmcli.purchases import history_events

    return history_events(conn, contact_id)


def timeline(
    conn: sqlite3.Connection, contact_id: int, *, limit: int | None = None
) -> list[HistoryEvent]:
    """Every provider's events for one contact, newest first (ties: in provider order)."""
    from crmcli.registry import HISTORY_PROVIDERS, load

    events: list[HistoryEvent] = []
    for target in HISTORY_PROVIDERS:
        provider: HistoryProvider = load(target)
        events.extend(provider(conn, contact_id))
    # Stable sort: equal timestamps keep provider order, reversed only by time.
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit] if limit is not None else events
