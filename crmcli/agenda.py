"""The agenda: what to do today, as sections of items assembled from providers.

A provider is a function ``(conn, now, days) -> list[AgendaItem]`` where ``now`` is naive local
wall-clock time and ``days`` the look-ahead ("the coming N days"). Reminders and the
keep-in-touch cadence, yearly dates within their lead time and stale deals are here; a new
capability adds a section and a provider::

    from crmcli import agenda
    agenda.SECTIONS.append(agenda.Section("calls", "Calls to return", due=True))
    agenda.PROVIDERS.append(call_items)

A provider only needs to set ``contact_id``: :func:`build` fills in the contact's name,
company, first phone and first email.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from crmcli.clock import to_utc_text


@dataclass(frozen=True)
class Section:
    """A heading of the agenda. ``title`` may use ``{days}``; ``due`` sections are the ones
    that make ``--quiet`` print and ``--exit-code`` exit 3 (the coming days are not due yet)."""

    key: str
    title: str
    due: bool


#: display order; append yours
SECTIONS: list[Section] = [
    Section("overdue", "Overdue", True),
    Section("today", "Today", True),
    Section("dates_today", "Birthdays and anniversaries today", True),
    Section("upcoming", "Next {days} days", False),
    Section("dates", "Coming birthdays and anniversaries", False),
    Section("touch", "Due a touch", True),
    Section("deals", "Stale deals", True),
]


@dataclass
class AgendaItem:
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

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of an agenda item (documented in docs/json.md)."""
        return {
            "section": self.section,
            "date": self.when.date().isoformat(),
            "time": self.when.strftime("%H:%M") if self.has_time else None,
            "when": self.when_utc or to_utc_text(self.when),
            "text": self.text,
            "ref": self.ref,
            "contact_id": self.contact_id,
            "contact": self.contact,
            "company": self.company,
            "phone": self.phone,
            "email": self.email,
        }


AgendaProvider = Callable[[sqlite3.Connection, datetime, int], list[AgendaItem]]


def _local(utc_text: str) -> datetime:
    """Stored UTC text -> naive local wall-clock time."""
    moment = datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    return moment.astimezone().replace(tzinfo=None)


def reminder_items(conn: sqlite3.Connection, now: datetime, days: int) -> list[AgendaItem]:
    """Open reminders: overdue, due today, and due in the next ``days`` days."""
    from crmcli import reminders
    from crmcli.dates import describe_rule

    today = now.date()
    now_utc = to_utc_text(now)
    today_utc = reminders.day_start_utc(today)
    tomorrow_utc = reminders.day_start_utc(today + timedelta(days=1))
    end_utc = reminders.day_start_utc(today + timedelta(days=days + 1))
    items: list[AgendaItem] = []
    for row in reminders.agenda_rows(conn, end_utc):
        rid, contact_id, body, due_at, has_time, rule, name, company, phone, email = row
        # Text comparisons of UTC timestamps: a timed reminder is overdue once its time has
        # passed, a date-only one once its day is over.
        if due_at < (now_utc if has_time else today_utc):
            section = "overdue"
        elif due_at < tomorrow_utc:
            section = "today"
        else:
            section = "upcoming"
        items.append(
            AgendaItem(
                section,
                _local(due_at),
                f"{body} ({describe_rule(rule)})" if rule else body,
                f"reminder {rid}",
                has_time=bool(has_time),
                contact_id=contact_id,
                contact=name,
                company=company,
                phone=phone,
                email=email,
                when_utc=due_at,
            )
        )
    return items


def touch_items(conn: sqlite3.Connection, now: datetime, days: int) -> list[AgendaItem]:
    """Contacts due a touch by their keep-in-touch cadence."""
    from crmcli import notes
    from crmcli.clock import from_utc_text

    items: list[AgendaItem] = []
    for due in notes.due_a_touch(conn, now.date()):
        since = from_utc_text(due.since).date().isoformat()
        if due.last_at:
            text = f"last note {since}, keep in touch every {due.cadence_days} days"
        else:
            text = f"no notes since added {since}, keep in touch every {due.cadence_days} days"
        items.append(
            AgendaItem(
                "touch",
                datetime.combine(due.due_on, time()),
                text,
                f"contact {due.contact_id}",
                contact_id=due.contact_id,
            )
        )
    return items


def date_items(conn: sqlite3.Connection, now: datetime, days: int) -> list[AgendaItem]:
    """Yearly dates within their lead time (birthday 7 days ahead, anniversary 14...).

    The lead time, not ``days``, decides how far ahead a date shows: a salesperson wants a
    week's warning for a birthday card whatever the agenda's look-ahead.
    """
    from crmcli import anniversaries, config

    settings = config.load()
    leads = {kind: settings.lead_days(kind) for kind in ("birthday", "anniversary", "other")}
    upcoming = anniversaries.upcoming_for_agenda(
        conn, now.date(), lead_days=leads, feb29=settings.feb29
    )
    return [
        AgendaItem(
            "dates_today" if occurrence.days_until == 0 else "dates",
            datetime.combine(occurrence.occurs_on, time()),
            occurrence.what,
            f"contact {occurrence.contact_id}",
            contact_id=occurrence.contact_id,
        )
        for occurrence in upcoming
    ]


def stale_deal_items(conn: sqlite3.Connection, now: datetime, days: int) -> list[AgendaItem]:
    """Open deals with no stage change or note for longer than their stage allows."""
    from crmcli import money, pipeline

    return [
        AgendaItem(
            "deals",
            _local(deal["last_activity_at"]),
            f"{deal['title']} ({deal['stage']}, "
            f"{money.format_money(deal['value_minor'], deal['currency'])}): "
            f"no activity for {deal['idle_days']} days",
            f"deal {deal['id']}",
            contact_id=deal["contact_id"],
        )
        for deal in pipeline.stale_deals(conn, now.astimezone())
    ]


#: run in order; append yours
PROVIDERS: list[AgendaProvider] = [reminder_items, touch_items, date_items, stale_deal_items]


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


def build(conn: sqlite3.Connection, now: datetime, days: int = 7) -> list[AgendaItem]:
    """The whole agenda, in section order, each section sorted by time.

    ``now`` is naive local time (as the date parser uses); ``days`` the look-ahead.
    """
    items: list[AgendaItem] = []
    for provider in PROVIDERS:
        items.extend(provider(conn, now, days))
    details = _contact_details(
        conn, {i.contact_id for i in items if i.contact_id is not None and i.contact is None}
    )
    for item in items:
        if item.contact_id in details and item.contact is None:
            item.contact, item.company, item.phone, item.email = details[item.contact_id]
    order = {section.key: index for index, section in enumerate(SECTIONS)}
    # A section nobody registered in SECTIONS goes last.
    items.sort(key=lambda i: (order.get(i.section, len(order)), i.when))
    return items


def is_due(items: list[AgendaItem]) -> bool:
    """Whether anything needs doing now (a ``due`` section has items)."""
    due = {section.key for section in SECTIONS if section.due}
    return any(item.section in due for item in items)
