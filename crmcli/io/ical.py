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
from datetime import date, datetime, timedelta, timezone, tzinfo

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
    #: the VTODO's UID (default: reminder-ID@crmcli)
    uid: str | None = None
    #: the local time zone's IANA name: a timed DUE is written with it (TZID), else in UTC
    tzid: str | None = None
    #: when it was done (STATUS:COMPLETED), or None (NEEDS-ACTION)
    done_at: datetime | None = None
    #: the contact's name in SUMMARY ("call back (Ann Lee)"), or in DESCRIPTION only
    name_in_summary: bool = True


def _due(reminder: ReminderData) -> str:
    """``DUE`` (a date; a time in the local zone with its TZID, or in UTC when the zone is not
    known: never a floating time, which a phone elsewhere would misread)."""
    if not reminder.has_time:
        return f"DUE;VALUE=DATE:{reminder.due:%Y%m%d}"
    if reminder.tzid and reminder.tzid not in ("UTC", "Etc/UTC"):
        return f"DUE;TZID={reminder.tzid}:{reminder.due:%Y%m%dT%H%M%S}"
    return f"DUE:{_stamp(reminder.due.astimezone())}"


def reminder_todo(reminder: ReminderData, dtstamp: datetime) -> list[str]:
    """A VTODO with DUE (a date, or a time with its zone), an alarm at the due time, and its
    recurrence (RRULE) when it repeats."""
    due = _due(reminder)
    summary = reminder.text
    if reminder.contact_name and reminder.name_in_summary:
        summary = f"{reminder.text} ({reminder.contact_name})"
    lines = [
        "BEGIN:VTODO",
        f"UID:{reminder.uid or f'reminder-{reminder.id}@crmcli'}",
        f"DTSTAMP:{_stamp(dtstamp)}",
        due.replace("DUE", "DTSTART", 1),
        due,
        f"SUMMARY:{escape_text(summary)}",
    ]
    if reminder.contact_name and not reminder.name_in_summary:
        lines.append(f"DESCRIPTION:{escape_text(f'Contact: {reminder.contact_name}')}")
    if reminder.done_at is not None:
        lines += ["STATUS:COMPLETED", f"COMPLETED:{_stamp(reminder.done_at)}"]
    else:
        lines.append("STATUS:NEEDS-ACTION")
    if reminder.rule:
        lines.append(f"RRULE:{reminder.rule.removeprefix('RRULE:')}")
    if reminder.has_time and reminder.done_at is None:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(summary)}",
            "TRIGGER:PT0S",
            "END:VALARM",
        ]
    lines.append("END:VTODO")
    return lines


def vtimezone(name: str, around: date) -> list[str]:
    """A VTIMEZONE for ``name`` (IANA) with its changes of offset from the year before
    ``around`` to the year after (RFC 5545 wants one for each TZID used)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(name)
    return _vtimezone(name, zone, around.year)


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _vtimezone(name: str, zone: tzinfo, year: int) -> list[str]:
    def offset(moment: datetime) -> timedelta:
        return moment.astimezone(zone).utcoffset() or timedelta()

    moment = datetime(year - 1, 1, 1, tzinfo=timezone.utc)
    end = datetime(year + 2, 1, 1, tzinfo=timezone.utc)
    before = offset(moment)
    changes: list[tuple[datetime, timedelta, timedelta]] = []
    while moment < end:
        following = moment + timedelta(days=1)
        if offset(following) != before:
            low, high = moment, following
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == before else (low, middle)
            changes.append((high, before, offset(high)))
            before = offset(high)
        moment = following
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    if not changes:
        text = _offset_text(before)
        return [*lines, "BEGIN:STANDARD", "DTSTART:19700101T000000", f"TZOFFSETFROM:{text}",
                f"TZOFFSETTO:{text}", "END:STANDARD", "END:VTIMEZONE"]  # fmt: skip
    for at, old, new in changes:
        kind = "DAYLIGHT" if at.astimezone(zone).dst() else "STANDARD"
        lines += [
            f"BEGIN:{kind}",
            f"DTSTART:{(at.replace(second=0, microsecond=0) + old):%Y%m%dT%H%M%S}",
            f"TZOFFSETFROM:{_offset_text(old)}",
            f"TZOFFSETTO:{_offset_text(new)}",
            f"END:{kind}",
        ]
    return [*lines, "END:VTIMEZONE"]


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
    reminders = list(reminders)
    zones = {
        r.tzid for r in reminders if r.has_time and r.tzid and r.tzid not in ("UTC", "Etc/UTC")
    }
    for zone in sorted(zones):
        lines += vtimezone(zone, dtstamp.date())
    for item in dates:
        lines += yearly_event(item, dtstamp)
    for reminder in reminders:
        lines += reminder_todo(reminder, dtstamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
