"""The agenda: what to do today, as sections of items assembled from providers.

A provider is a function ``(conn, window) -> Found``: the :class:`Window` says what is asked,
``now`` (naive local wall-clock time), the look-ahead ``days`` ("the coming N days"), and
``limit``, when not None, how many items of each section will be shown (a terminal shows 25):
the provider may then return only the first ``limit`` of each of its sections by time, but its
``counts`` are always complete. Reminders and the keep-in-touch cadence, yearly dates within
their lead time and stale deals are here; a new capability adds a section to :data:`SECTIONS`
and its provider to :data:`crmcli.registry.AGENDA_PROVIDERS`::

    Section("calls", "Calls to return", True),                            # in SECTIONS
    AGENDA_PROVIDERS.register("calls", "crmcli.calls:agenda_items")       # in crmcli/registry.py

A provider only needs to set ``contact_id``: :func:`build` fills in the contact's name,
company, first phone and first email. The user's settings come in the window too (the caller
reads them): the agenda never reads config itself.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, NamedTuple

from crmcli.clock import to_utc_text


@dataclass(frozen=True)
class Section:
    """A heading of the agenda. ``title`` may use ``{days}``; ``due`` sections are the ones
    that make ``--quiet`` print and ``--exit-code`` exit 3 (the coming days are not due yet)."""

    key: str
    title: str
    due: bool


#: display order; a new section goes here
SECTIONS: tuple[Section, ...] = (
    Section("overdue", "Overdue", True),
    Section("today", "Today", True),
    Section("dates_today", "Birthdays and anniversaries today", True),
    Section("upcoming", "Next {days} days", False),
    Section("dates", "Coming birthdays and anniversaries", False),
    Section("touch", "Due a touch", True),
    Section("deals", "Stale deals", True),
)

#: days ahead a yearly date shows, by kind, unless the settings say otherwise
LEAD_DAYS: Mapping[str, int] = {"birthday": 7, "anniversary": 14, "other": 7}


class Window(NamedTuple):
    """What the agenda is asked for: ``now`` (naive local time), the look-ahead ``days``, at
    most ``limit`` items per section (None: all), and the user's date settings: how many days
    ahead each kind of yearly date shows, and where Feb 29 falls in other years."""

    now: datetime
    days: int
    limit: int | None = None
    lead_days: Mapping[str, int] = LEAD_DAYS
    feb29: str = "feb28"


class AgendaItem(NamedTuple):
    """One line of the agenda. ``when`` is naive local time (midnight when not ``has_time``);
    ``ref`` names the record to act on ("reminder 12", "contact 7", "deal 3")."""

    section: str
    when: datetime
    text: str
    ref: str
    has_time: bool = False
    contact_id: int | None = None
    contact: str | None = None
    company: str | None = None
    phone: str | None = None
    email: str | None = None
    #: ``when`` as stored UTC text, when the provider has it (saves a conversion)
    when_utc: str | None = None

    def row(self) -> tuple[Any, ...]:
        """The item's values in the order of :data:`KEYS` (TSV and CSV write these)."""
        local = self.when.isoformat()
        return (
            self.section,
            local[:10],
            local[11:16] if self.has_time else None,
            self.when_utc or to_utc_text(self.when),
            self.text,
            self.ref,
            self.contact_id,
            self.contact,
            self.company,
            self.phone,
            self.email,
        )

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of an agenda item (documented in docs/json.md)."""
        return dict(zip(KEYS, self.row(), strict=True))


#: the keys of an agenda item in JSON, and the columns of TSV and CSV
KEYS = (
    "section",
    "date",
    "time",
    "when",
    "text",
    "ref",
    "contact_id",
    "contact",
    "company",
    "phone",
    "email",
)


class Found(NamedTuple):
    """What a provider found: its items, and how many items each of its sections has in all
    (with a limit, ``items`` may hold only the first ones of each section)."""

    items: list[AgendaItem]
    counts: dict[str, int]

    @classmethod
    def of(cls, items: list[AgendaItem]) -> Found:
        """Every item, counted (for a provider that ignores the limit)."""
        counts: dict[str, int] = {}
        for item in items:
            counts[item.section] = counts.get(item.section, 0) + 1
        return cls(items, counts)


AgendaProvider = Callable[[sqlite3.Connection, Window], Found]


class Agenda(NamedTuple):
    """The agenda: items in section order, each section sorted by time (at most ``limit`` per
    section when :func:`build` was given one), and every section's full count."""

    items: list[AgendaItem]
    counts: dict[str, int]


def _local(utc_text: str) -> datetime:
    """Stored UTC text -> naive local wall-clock time."""
    moment = datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    return moment.astimezone().replace(tzinfo=None)


def reminder_items(conn: sqlite3.Connection, window: Window) -> Found:
    """Open reminders: overdue, due today, and due in the next ``days`` days."""
    from crmcli import reminders
    from crmcli.dates import describe_rule

    now, days, limit = window.now, window.days, window.limit
    today = now.date()
    rows, counts = reminders.agenda_rows(
        conn,
        now_utc=to_utc_text(now),
        today_utc=reminders.day_start_utc(today),
        tomorrow_utc=reminders.day_start_utc(today + timedelta(days=1)),
        end_utc=reminders.day_start_utc(today + timedelta(days=days + 1)),
        limit=limit,
    )
    # Many reminders share a due time or a rule: convert each once per run (a cache made per
    # run, since the time zone may change between runs).
    local = functools.cache(_local)
    every = functools.cache(describe_rule)
    items = [
        AgendaItem(
            section,
            local(due_at),
            f"{body} ({every(rule)})" if rule else body,
            f"reminder {rid}",
            bool(has_time),
            contact_id,
            name,
            company,
            phone,
            email,
            due_at,
        )
        for section, rid, contact_id, body, due_at, has_time, rule, name, company, phone, email in (
            rows
        )
    ]
    return Found(items, counts)


def touch_items(conn: sqlite3.Connection, window: Window) -> Found:
    """Contacts due a touch by their keep-in-touch cadence, the longest-waiting first."""
    from crmcli import notes

    due, count = notes.due_a_touch(conn, window.now.date(), limit=window.limit)
    midnight = functools.cache(lambda day: datetime.combine(day, time()))
    midnight_utc = functools.cache(lambda day: to_utc_text(midnight(day)))
    items = []
    for touch in due:
        since = touch.since_on.isoformat()
        if touch.last_at:
            text = f"last note {since}, keep in touch every {touch.cadence_days} days"
        else:
            text = f"no notes since added {since}, keep in touch every {touch.cadence_days} days"
        items.append(
            AgendaItem(
                "touch",
                midnight(touch.due_on),
                text,
                f"contact {touch.contact_id}",
                contact_id=touch.contact_id,
                when_utc=midnight_utc(touch.due_on),
            )
        )
    return Found(items, {"touch": count} if count else {})


def date_items(conn: sqlite3.Connection, window: Window) -> Found:
    """Yearly dates within their lead time (birthday 7 days ahead, anniversary 14...).

    The lead time, not ``days``, decides how far ahead a date shows: a salesperson wants a
    week's warning for a birthday card whatever the agenda's look-ahead.
    """
    from crmcli import anniversaries

    upcoming = anniversaries.upcoming_for_agenda(
        conn, window.now.date(), lead_days=dict(window.lead_days), feb29=window.feb29
    )
    # Soonest first, so today's come first: with a limit, only the first of each section
    # become items (a million-contact book has 11,000 dates within their lead times).
    today = sum(1 for occurrence in upcoming if occurrence.days_until == 0)
    counts = {key: n for key, n in (("dates_today", today), ("dates", len(upcoming) - today)) if n}
    limit = len(upcoming) if window.limit is None else window.limit
    shown = [*upcoming[:today][:limit], *upcoming[today:][:limit]]
    items = [
        AgendaItem(
            "dates_today" if occurrence.days_until == 0 else "dates",
            datetime.combine(occurrence.occurs_on, time()),
            occurrence.what,
            f"contact {occurrence.contact_id}",
            contact_id=occurrence.contact_id,
        )
        for occurrence in shown
    ]
    return Found(items, counts)


def stale_deal_items(conn: sqlite3.Connection, window: Window) -> Found:
    """Open deals with no stage change or note for longer than their stage allows."""
    from crmcli import money, pipeline

    limit = window.limit
    aware = window.now.astimezone()
    filters = pipeline.STALE_FILTERS
    if limit is not None:  # the most idle first: the first ones are cut in SQL, all counted
        filters = dataclasses.replace(filters, limit=limit)
    deals = [
        (_local(deal.last_activity_at), deal)
        for deal in pipeline.deal_rows(conn, filters, now=aware)
    ]
    deals.sort(key=lambda pair: pair[0])  # as build() orders them; the text only for the shown
    count = len(deals) if limit is None else pipeline.count_deals(conn, filters, now=aware)
    items = [
        AgendaItem(
            "deals",
            when,
            f"{deal.title} ({deal.stage}, "
            f"{money.format_money(deal.value_minor, deal.currency)}): "
            f"no activity for {deal.idle_days} days",
            f"deal {deal.id}",
            contact_id=deal.contact_id,
        )
        for when, deal in deals[:limit]
    ]
    return Found(items, {"deals": count} if count else {})


def section_title(key: str, days: int) -> str:
    for section in SECTIONS:
        if section.key == key:
            return section.title.format(days=days)
    return key.replace("_", " ").capitalize()


def _contact_details(
    conn: sqlite3.Connection, ids: set[int]
) -> dict[int, tuple[str, str | None, str | None, str | None]]:
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT c.id, c.name, c.company, "
        "(SELECT phone FROM contact_phones WHERE contact_id = c.id ORDER BY position, id LIMIT 1),"
        "(SELECT email FROM contact_emails WHERE contact_id = c.id ORDER BY position, id LIMIT 1) "
        "FROM contacts c WHERE c.id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(ids)),),
    )
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


def build(conn: sqlite3.Connection, window: Window) -> Agenda:
    """The whole agenda, in section order, each section sorted by time (see :class:`Window`):
    with a ``limit``, the first ``limit`` items of each section (the counts stay complete)."""
    from crmcli.registry import AGENDA_PROVIDERS, load

    limit = window.limit
    if limit is not None and limit < 1:
        raise ValueError("build: limit must be at least 1")
    items: list[AgendaItem] = []
    counts: dict[str, int] = {}
    for target in AGENDA_PROVIDERS:
        provider: AgendaProvider = load(target)
        found = provider(conn, window)
        items.extend(found.items)
        for key, count in found.counts.items():
            counts[key] = counts.get(key, 0) + count
    order = {section.key: index for index, section in enumerate(SECTIONS)}
    # A section nobody registered in SECTIONS goes last.
    items.sort(key=lambda i: (order.get(i.section, len(order)), i.when))
    if limit is not None:
        items = _first(items, limit)
    details = _contact_details(
        conn, {i.contact_id for i in items if i.contact_id is not None and i.contact is None}
    )
    if details:
        items = [
            AgendaItem._make((*i[:6], *details[i.contact_id], i.when_utc))
            if i.contact is None and i.contact_id in details
            else i
            for i in items
        ]
    return Agenda(items, counts)


def _first(items: Iterable[AgendaItem], limit: int) -> list[AgendaItem]:
    """The first ``limit`` items of each section, in their order."""
    taken: dict[str, int] = {}
    kept: list[AgendaItem] = []
    for item in items:
        count = taken.get(item.section, 0)
        if count < limit:
            kept.append(item)
            taken[item.section] = count + 1
    return kept


def is_due(counts: dict[str, int]) -> bool:
    """Whether anything needs doing now (a ``due`` section has items)."""
    return any(counts.get(section.key) for section in SECTIONS if section.due)
