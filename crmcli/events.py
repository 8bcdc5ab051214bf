"""Events: the things that happen to customers' records, declared in one place.

Rules (``crm rule add --on deal-won ...``, :mod:`crmcli.rules`) and hooks (executables in
``$XDG_CONFIG_HOME/crmcli/hooks/``, :mod:`crmcli.hooks`) react to the same events, declared in
:data:`EVENTS`. A domain function that changes data calls :func:`emit` inside its transaction:

* the listeners (:data:`crmcli.registry.LISTENERS`) run at once, in that transaction, so a
  change and what a rule does about it (a reminder, a tag) are saved together or not at all;
* the occurrence is kept for the hooks once the transaction commits (a rolled-back change
  never reaches a hook), on the connection's ``afterwards`` list; the command runs the hooks
  at its end (:func:`crmcli.hooks.run_pending`), so a slow hook never holds the database.

Adding an event: one :class:`Event` in :data:`EVENTS` and an :func:`emit` where it happens.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from crmcli.registry import LISTENERS, Registry, load


class Event(NamedTuple):
    """One kind of thing that happens. ``subject`` is the kind of record it happens to (its
    id travels with each occurrence); ``rules``: rules may be set on it (``crm rule add --on``).
    (NamedTuples, not dataclasses: this module is imported by every write, at start-up.)"""

    name: str
    hook: str
    subject: str
    help: str
    rules: bool = False


EVENTS: Registry[Event] = Registry("event")
for _event in (
    Event(
        "contact-added", "on-contact-add", "contact", "a contact was added (also by import)", True
    ),
    Event("contact-changed", "on-contact-edit", "contact", "a contact was changed"),
    Event("contact-removed", "on-contact-rm", "contact", "a contact went to the trash"),
    Event("contact-forgotten", "on-contact-forget", "contact", "a contact was erased for good"),
    Event("deal-added", "on-deal-add", "deal", "a deal was added"),
    Event(
        "deal-stage",
        "on-deal-stage",
        "deal",
        "a deal changed stage, won and lost too (rules: stage:NAME)",
        True,
    ),
    Event("deal-won", "on-deal-won", "deal", "a deal was won", True),
    Event("deal-lost", "on-deal-lost", "deal", "a deal was lost", True),
    Event("note", "on-note", "note", "a note was written (calls, greetings, campaigns...)"),
    Event("purchase", "on-purchase", "purchase", "a purchase was recorded (also by import)", True),
    Event("reminder-added", "on-reminder-add", "reminder", "a reminder was set (also by a rule)"),
    Event("reminder-done", "on-reminder-done", "reminder", "a reminder was marked done"),
    Event("optout", "on-optout", "contact", "a contact opted out or asked not to be contacted"),
):
    EVENTS.register(_event.name, _event)


class Occurrence(NamedTuple):
    """One event that happened: to which record (``subject_id``), for which contact, when
    (``at``, the time of the change), and what else a rule or hook needs to know."""

    event: str
    subject_id: int
    contact_id: int | None
    at: datetime
    details: Mapping[str, Any] = {}  # never changed: one empty mapping is enough

    @property
    def subject(self) -> str:
        """``"deal 12"``: the kind of record and its id (what a rule fires once for)."""
        return f"{EVENTS[self.event].subject} {self.subject_id}"


def emit(
    conn: sqlite3.Connection,
    event: str,
    subject_id: int,
    *,
    contact_id: int | None,
    now: datetime,
    **details: Any,
) -> None:
    """Record that ``event`` happened to ``subject_id`` (inside the transaction that did it)."""
    emit_all(conn, [Occurrence(event, subject_id, contact_id, now, details)])


def emit_all(conn: sqlite3.Connection, occurrences: Sequence[Occurrence]) -> None:
    """:func:`emit` for many occurrences at once (an import): listeners see them as one batch."""
    if not occurrences:
        return
    names = {occurrence.event for occurrence in occurrences}
    for name in names:
        EVENTS[name]  # a misspelt event is a programming error: fail loudly
    for target in LISTENERS:
        load(target)(conn, occurrences)
    from crmcli import hooks

    hooked = {name for name in names if hooks.wanted(name)}
    wanted = [o for o in occurrences if o.event in hooked]
    if wanted and hasattr(conn, "afterwards"):
        from crmcli.db import after_commit

        queue: list[Any] = conn.afterwards
        after_commit(conn, lambda: queue.extend(wanted))


def pending(conn: sqlite3.Connection) -> list[Occurrence]:
    """The committed occurrences whose hooks have not run yet (taken off the connection)."""
    queue: list[Any] | None = getattr(conn, "afterwards", None)
    if not queue:
        return []
    taken = [o for o in queue if isinstance(o, Occurrence)]
    queue[:] = [o for o in queue if not isinstance(o, Occurrence)]
    return taken
