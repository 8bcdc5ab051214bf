"""iCalendar (RFC 5545) output, written by hand: yearly all-day events for birthdays,
anniversaries and labelled dates, and VTODOs for reminders.

Stable UIDs (from the contact's uid and the date's label, or the reminder's id) make a calendar
app update its copy on re-import instead of adding duplicates. Lines are folded at 75 octets
(never inside a UTF-8 character) and end with CRLF; TEXT values are escaped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from crmcli import __version__
from crmcli.anniversaries import Upcoming, describe

#: namespace of the UUIDv5 UIDs of yearly dates (fixed forever: changing it duplicates events)
_UID_NAMESPACE = uuid.UUID("6f1c2a8e-4d3b-5e7f-9a10-c2d3e4f5a6b7")


def escape_text(value: str) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and newlines escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets joined by CRLF + space."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    pieces: list[str] = []
    current = ""
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size = "", 0
            limit = 74  # continuation lines start with a space, which counts
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def date_uid(contact_uid: str, label: str) -> str:
    """The UID of a contact's yearly date: the same on every export."""
    return f"{uuid.uuid5(_UID_NAMESPACE, f'{contact_uid}/{label.lower()}')}@crmcli"


def yearly_event(item: Upcoming, dtstamp: datetime) -> list[str]:
    """One VEVENT repeating every year, all day. A year-less date starts in 2000 (a leap year,
    so Feb 29 exists); Feb 29 repeats on the last day of February."""
    yearly = item.yearly
    start = date(yearly.year if yearly.year is not None else 2000, yearly.month, yearly.day)
    if (yearly.month, yearly.day) == (2, 29):
        rule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1"
    else:
        rule = "FREQ=YEARLY"
    summary = f"{item.name}: {item.label}"
    if yearly.year is not None:
        detail = f"Born {yearly.year}" if item.kind == "birthday" else f"Since {yearly.year}"
    else:
        detail = describe(item.kind, item.label, None)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{date_uid(item.contact_uid, item.label)}",
        f"DTSTAMP:{_stamp(dtstamp)}",
        f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
        f"DTEND;VALUE=DATE:{start + timedelta(days=1):%Y%m%d}",
        f"RRULE:{rule}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(detail)}",
        f"CATEGORIES:{escape_text(item.kind.capitalize())}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]
    return lines


@dataclass(frozen=True)
class ReminderData:
    """What a reminder needs to become a VTODO (filled by whoever owns the reminders table)."""

    id: int
    text: str
    due: datetime  # naive local wall-clock time
    has_time: bool
    contact_name: str | None = None
    rule: str | None = None  # RRULE text without the "RRULE:" prefix, e.g. FREQ=WEEKLY


def reminder_todo(reminder: ReminderData, dtstamp: datetime) -> list[str]:
    """A VTODO with DUE (a date, or a floating local time) and an alarm at the due time."""
    due = (
        f"DUE:{reminder.due:%Y%m%dT%H%M%S}"
        if reminder.has_time
        else f"DUE;VALUE=DATE:{reminder.due:%Y%m%d}"
    )
    summary = reminder.text
    if reminder.contact_name:
        summary = f"{reminder.text} ({reminder.contact_name})"
    lines = [
        "BEGIN:VTODO",
        f"UID:reminder-{reminder.id}@crmcli",
        f"DTSTAMP:{_stamp(dtstamp)}",
        due.replace("DUE", "DTSTART", 1),
        due,
        f"SUMMARY:{escape_text(summary)}",
        "STATUS:NEEDS-ACTION",
    ]
    if reminder.rule:
        lines.append(f"RRULE:{reminder.rule.removeprefix('RRULE:')}")
    if reminder.has_time:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(summary)}",
            "TRIGGER:PT0S",
            "END:VALARM",
        ]
    lines.append("END:VTODO")
    return lines


def calendar(
    dates: Iterable[Upcoming],
    *,
    dtstamp: datetime,
    reminders: Iterable[ReminderData] = (),
    name: str = "crmcli",
) -> str:
    """The whole VCALENDAR as text (CRLF line ends, folded)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//crmcli//crmcli {__version__}//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for item in dates:
        lines += yearly_event(item, dtstamp)
    for reminder in reminders:
        lines += reminder_todo(reminder, dtstamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
