"""Pure date parsing and arithmetic: what the user typed -> a date, a time, a recurrence rule.

Nothing here reads the clock, the environment or the database: "now" and "today" are always
parameters (``crmcli.clock`` is the one place that knows the real time). Every datetime is naive
local wall-clock time, so a 10:00 reminder stays at 10:00 across daylight-saving changes.

dateutil is imported inside the functions that need it, never at module level: this module is
imported on every run of the CLI, and ``dateutil.parser`` alone costs tens of milliseconds. The
common forms (ISO dates, today, +3d, in 2 weeks, fri, eom...) go through the small grammar below
and never load the parser. The accepted forms are listed for users in ``docs/dates.md``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from crmcli.errors import DateParseError, UsageError, ValidationError

__all__ = [
    "DAY_NAMES",
    "MONTH_NAMES",
    "When",
    "YearlyDate",
    "describe_rule",
    "format_date",
    "format_when",
    "next_occurrence",
    "next_occurrence_of_rule",
    "occurrence_in_year",
    "parse_date",
    "parse_days",
    "parse_every",
    "parse_when",
    "parse_yearly",
]

# Fixed English names, the only copy in crmcli: strftime("%a") and calendar.day_name follow the
# locale and would change the output (and the JSON contract) with the user's LANG.
#: "January"... "December"
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
#: "Monday"... "Sunday" (``date.weekday()`` order)
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_NAMES = tuple(name[:3] for name in DAY_NAMES)
_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_MONTHS = tuple(name[:3].lower() for name in MONTH_NAMES)

_WEEKDAY = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:s|nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)"
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORD = r"(?:st|nd|rd|th)?"

# Patterns are kept as strings and matched with re.fullmatch(), whose own cache compiles each one
# on first use: compiling all of them at import would cost every CLI run a few milliseconds.

# Absolute calendar forms, shared by parse_when and parse_yearly (year optional where shown).
_ISO_RE = r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
_COMPACT_RE = r"(\d{4})(\d{2})(\d{2})"
_NO_YEAR_RE = r"--(\d{2})-?(\d{2})"
_MONTH_DAY_RE = r"(\d{1,2})-(\d{1,2})"
_SLASH_RE = r"(\d{1,2})/(\d{1,2})(?:/(\d{4}))?"
_DAY_NAME_RE = rf"(\d{{1,2}}){_ORD} (?:of )?({_MONTH}),?(?: (\d{{4}}))?"
_NAME_DAY_RE = rf"({_MONTH}) (\d{{1,2}}){_ORD}(?:,? (\d{{4}}))?"

_WEEKDAY_PREFIX_RE = rf"({_WEEKDAY}),? (.+)"
_WEEKDAY_RE = rf"(?:(next|this|last) )?({_WEEKDAY})"
_WEEKDAY_WORD_RE = rf"\b({_WEEKDAY})\b"

_UNIT = r"d|days?|w|wks?|weeks?|m|mos?|months?|y|yrs?|years?|h|hrs?|hours?"
_COUNT = r"(?:(?P<n>\d+) ?|(?P<a>an?) )"
_OFFSET_RE = rf"(?P<sign>[+-]) ?(?P<n>\d+) ?(?P<unit>{_UNIT})"
_IN_RE = rf"in {_COUNT}(?P<unit>{_UNIT})"
_AGO_RE = rf"{_COUNT}(?P<unit>{_UNIT}) ago"

# A trailing time of day. A bare number is never a time ("dec 1 10" stays an error), so a time
# needs a colon, am/pm or the word noon. The lazy optional date part lets "at 10am" mean today.
_TIME_RE = (
    r"(?:(?P<day>.*?) )??(?:at )?"
    r"(?:(?P<h12>\d{1,2})(?::(?P<m12>\d{2}))? ?(?P<ap>[ap])\.?m\.?"
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})(?::(?P<s24>\d{2}))?"
    r"|(?P<noon>noon))"
)
_ISO_T_RE = r"(\d{4}-\d{1,2}-\d{1,2})t(?=\d)"

_PERIOD_WORDS = {
    "eod": "day",
    "end of day": "day",
    "eow": "week",
    "end of week": "week",
    "eom": "month",
    "end of month": "month",
    "eoq": "quarter",
    "end of quarter": "quarter",
    "eoy": "year",
    "end of year": "year",
}


class When(NamedTuple):
    """A resolved date expression.

    ``at`` is naive local wall-clock time. ``has_time`` is False when the user gave only a date:
    ``at`` is then midnight of that day (or the caller's ``default_time``).
    """

    at: datetime
    has_time: bool


def parse_when(
    text: str, now: datetime, *, day_first: bool = False, default_time: time | None = None
) -> When:
    """Resolve a date expression typed by the user ("tomorrow 10am", "+3d", "next fri", "eom").

    ``now`` is naive local time. ``day_first`` reads ``01/12`` as 1 December. Without a time in
    the text, ``has_time`` is False and ``at`` is midnight, or ``default_time`` when given.
    Raises :class:`DateParseError` for anything else, including impossible dates (2026-02-30)
    and dates past the calendar (year 9999).
    """
    try:
        return _parse_when(text, now, day_first, default_time)
    except (OverflowError, ValueError):
        raise _date_error(text[:40], "out of the calendar's range (years 1 to 9999)") from None


def _parse_when(text: str, now: datetime, day_first: bool, default_time: time | None) -> When:
    s = _normalize(text)
    if not s:
        raise DateParseError(text)
    day_text, clock = _split_time(s, text)
    day = (now.date(), None) if day_text is None else _parse_day(day_text, now, day_first, text)
    if day is None:
        return _parse_with_dateutil(s, text, now.date(), day_first, default_time)
    on, exact = day
    if exact is not None:
        if clock is not None:  # "now 10am", "+4h 9:00": two times, no sensible meaning
            raise DateParseError(text)
        return When(datetime.combine(on, exact), True)
    if clock is not None:
        return When(datetime.combine(on, clock), True)
    return When(datetime.combine(on, default_time or time()), False)


def parse_date(text: str, today: date, *, day_first: bool = False) -> date:
    """Resolve a date expression to a calendar date; any time in the text is ignored."""
    return parse_when(text, datetime.combine(today, time()), day_first=day_first).at.date()


def format_date(d: date) -> str:
    """The echo form of a date: ``Fri 2026-12-04``."""
    return f"{_DAY_NAMES[d.weekday()]} {d.isoformat()}"


def format_when(w: When) -> str:
    """The echo form of a :class:`When`: ``Fri 2026-12-04 10:00``, or ``Fri 2026-12-04``."""
    if w.has_time:
        return f"{format_date(w.at.date())} {w.at:%H:%M}"
    return format_date(w.at.date())


# --- parse_when internals -------------------------------------------------------------------


#: the longest date expression read, and the most digits in one number of it: past these, the
#: text is a mistake (or hostile: Python refuses to convert 5,000-digit numbers with a ValueError)
MAX_EXPRESSION = 100
_TOO_MANY_DIGITS = re.compile(r"\d{10}")


def _normalize(text: str) -> str:
    if len(text) > MAX_EXPRESSION or _TOO_MANY_DIGITS.search(text):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise _date_error(shown, "too long, or a number of more than 9 digits")
    s = " ".join(text.lower().split())
    return re.sub(_ISO_T_RE, r"\1 ", s)


def _split_time(s: str, text: str) -> tuple[str | None, time | None]:
    """Split off a trailing time of day; the date part is None when the text is only a time."""
    m = re.fullmatch(_TIME_RE, s)
    if m is None:
        return s, None
    if m["noon"]:
        clock = time(12)
    elif m["ap"]:
        hour, minute = int(m["h12"]), int(m["m12"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise _date_error(text, "no such time of day")
        # 12am is midnight and 12pm is noon: the hour is taken modulo 12 before adding pm.
        clock = time(hour % 12 + (12 if m["ap"] == "p" else 0), minute)
    else:
        hour, minute, second = int(m["h24"]), int(m["m24"]), int(m["s24"] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise _date_error(text, "no such time of day")
        clock = time(hour, minute, second)
    return m["day"], clock


def _parse_day(
    s: str, now: datetime, day_first: bool, text: str
) -> tuple[date, time | None] | None:
    """The date part of an expression; a time too for now and hour offsets. None: not ours."""
    today = now.date()
    if s == "now":
        return today, now.time()
    simple = {"today": 0, "tomorrow": 1, "yesterday": -1}
    if s in simple:
        return today + timedelta(days=simple[s]), None
    if s in _PERIOD_WORDS:
        return _period_end(_PERIOD_WORDS[s], today), None

    offset = _match_offset(s)
    if offset is not None:
        n, unit = offset
        if unit == "h":
            try:
                moment = now + timedelta(hours=n)
            except OverflowError:
                raise DateParseError(text) from None
            return moment.date(), moment.time()
        return _shift(today, n, unit, text), None

    m = re.fullmatch(_WEEKDAY_RE, s)
    if m:
        return _weekday(today, _RRULE_DAYS.index(m[2][:2].upper()), m[1]), None

    weekday: int | None = None
    m = re.fullmatch(_WEEKDAY_PREFIX_RE, s)
    if m:
        # "Fri 2026-12-04" (the echo form) reads back; the weekday must agree with the date.
        weekday, s = _RRULE_DAYS.index(m[1][:2].upper()), m[2]
    ymd = _match_calendar(s, day_first)
    if ymd is None:
        return None
    on = _resolve(ymd, today, text)
    if weekday is not None and on.weekday() != weekday:
        raise _date_error(text, f"{on.isoformat()} is a {_DAY_NAMES[on.weekday()]}")
    return on, None


def _match_offset(s: str) -> tuple[int, str] | None:
    """``+3d``, ``in 2 weeks``, ``3 days ago`` -> (signed count, unit letter d/w/m/y/h)."""
    m = re.fullmatch(_OFFSET_RE, s)
    if m:
        n = int(m["n"])
        return (-n if m["sign"] == "-" else n), m["unit"][0]
    for pattern, sign in ((_IN_RE, 1), (_AGO_RE, -1)):
        m = re.fullmatch(pattern, s)
        if m:
            return sign * (int(m["n"]) if m["n"] else 1), m["unit"][0]
    return None


def _shift(day: date, n: int, unit: str, text: str) -> date:
    try:
        if unit == "d":
            return day + timedelta(days=n)
        if unit == "w":
            return day + timedelta(weeks=n)
        # Deferred import (start-up time). relativedelta clips to the month's last day:
        # Jan 31 + 1 month = Feb 28, which is what a person means, not Mar 3.
        from dateutil.relativedelta import (  # type: ignore[import-untyped, unused-ignore]
            relativedelta,
        )

        step = relativedelta(months=n) if unit == "m" else relativedelta(years=n)
        shifted: date = day + step
        return shifted
    except (OverflowError, ValueError):
        raise DateParseError(text) from None


def _weekday(today: date, target: int, modifier: str | None) -> date:
    """Bare, ``this`` and ``next``: the first such day after today (1-7 days ahead, never
    today). ``last``: the most recent such day before today (1-7 days back)."""
    if modifier == "last":
        return today - timedelta(days=(today.weekday() - target) % 7 or 7)
    return today + timedelta(days=(target - today.weekday()) % 7 or 7)


def _period_end(period: str, today: date) -> date:
    from calendar import monthrange  # here, not at the top: most commands never need it

    if period == "day":
        return today
    if period == "week":
        # End of the work week: this Friday (today on a Friday); at the weekend, next Friday.
        return today + timedelta(days=(4 - today.weekday()) % 7)
    if period == "month":
        return date(today.year, today.month, monthrange(today.year, today.month)[1])
    if period == "quarter":
        month = (today.month - 1) // 3 * 3 + 3
        return date(today.year, month, monthrange(today.year, month)[1])
    return date(today.year, 12, 31)


def _match_calendar(s: str, day_first: bool) -> tuple[int | None, int, int] | None:
    """The absolute forms as (year or None, month, day), unchecked; None when none matches."""
    for pattern in (_ISO_RE, _COMPACT_RE):
        m = re.fullmatch(pattern, s)
        if m:
            return int(m[1]), int(m[2]), int(m[3])
    for pattern in (_NO_YEAR_RE, _MONTH_DAY_RE):
        # Hyphenated forms without a year are ISO order (--MM-DD) whatever day_first says.
        m = re.fullmatch(pattern, s)
        if m:
            return None, int(m[1]), int(m[2])
    m = re.fullmatch(_SLASH_RE, s)
    if m:
        first, second = int(m[1]), int(m[2])
        month, day = (second, first) if day_first else (first, second)
        return (int(m[3]) if m[3] else None), month, day
    m = re.fullmatch(_DAY_NAME_RE, s)
    if m:
        return (int(m[3]) if m[3] else None), _MONTHS.index(m[2][:3]) + 1, int(m[1])
    m = re.fullmatch(_NAME_DAY_RE, s)
    if m:
        return (int(m[3]) if m[3] else None), _MONTHS.index(m[1][:3]) + 1, int(m[2])
    return None


def _resolve(ymd: tuple[int | None, int, int], today: date, text: str) -> date:
    """A concrete date; a year-less one is the next such date on or after today."""
    year, month, day = ymd
    try:
        if year is not None:
            return date(year, month, day)
        date(2000, month, day)  # a leap year: Feb 29 is a real year-less date
    except ValueError:
        if not 1 <= month <= 12:
            raise _date_error(text, f"there is no month {month}") from None
        where = f"{MONTH_NAMES[month - 1]} {year}" if year is not None else MONTH_NAMES[month - 1]
        raise _date_error(text, f"{where} has no day {day}") from None
    for candidate_year in range(today.year, today.year + 9):
        # Feb 29 may be up to 8 years away (2096 -> 2104 skips 2100).
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise DateParseError(text)  # only past year 9999


def _date_error(text: str, reason: str) -> DateParseError:
    """The date error with the reason said on the same line (one line, always)."""
    error = DateParseError(text)
    error.message = f"cannot understand date {text!r}: {reason}"
    error.reason = reason
    return error


def _parse_with_dateutil(
    s: str, text: str, today: date, day_first: bool, default_time: time | None
) -> When:
    """Last resort for absolute forms the grammar does not know ("1.12.2026", "1st of december").

    dateutil fills anything missing from its ``default`` argument, so "dec" alone would become a
    date. Parsing twice with two different defaults shows which parts the text really gave.
    """
    # Only texts with a 4-digit year or a month name: dateutil reads "1 2 3" as 2003-01-02.
    if not (re.search(r"\d{4}", s) or re.search(rf"\b{_MONTH}", s)):
        raise DateParseError(text)
    from dateutil import parser  # type: ignore[import-untyped, unused-ignore]

    try:
        with warnings.catch_warnings():
            # An unknown time-zone name is only a warning in dateutil: make it a refusal.
            warnings.simplefilter("error")
            a: datetime = parser.parse(s, default=datetime(2000, 1, 1), dayfirst=day_first)
            b: datetime = parser.parse(s, default=datetime(2004, 2, 2, 1, 1, 1), dayfirst=day_first)
    except (ValueError, OverflowError, Warning):
        raise DateParseError(text) from None
    if a.tzinfo is not None or (a.month, a.day) != (b.month, b.day):
        raise DateParseError(text)
    if a.year == b.year:
        # dateutil expands a 2-digit year around the real current year: refuse, stay pure.
        if f"{a.year:04d}" not in s:
            raise DateParseError(text)
        on = a.date()
    else:
        on = _resolve((None, a.month, a.day), today, text)
    for name in re.findall(_WEEKDAY_WORD_RE, s):
        # dateutil ignores a weekday that contradicts the date; we refuse it.
        if _RRULE_DAYS.index(name[:2].upper()) != on.weekday():
            raise _date_error(text, f"{on.isoformat()} is a {_DAY_NAMES[on.weekday()]}")
    if a.hour == b.hour:  # the text gave a time (the defaults differ in the hour)
        return When(datetime.combine(on, a.time()), True)
    return When(datetime.combine(on, default_time or time()), False)


# --- yearly dates (birthdays, anniversaries) ------------------------------------------------


@dataclass(frozen=True)
class YearlyDate:
    """A date that comes back every year, with or without a known year."""

    month: int
    day: int
    year: int | None

    def __post_init__(self) -> None:
        # Year 2000 is a leap year, so a year-less Feb 29 is accepted.
        date(2000 if self.year is None else self.year, self.month, self.day)

    def iso(self) -> str:
        """``1980-04-15``, or ``--04-15`` without a year (vCard 4 and Google Contacts)."""
        if self.year is None:
            return f"--{self.month:02d}-{self.day:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


def parse_yearly(text: str, *, day_first: bool = False) -> YearlyDate:
    """Parse a birthday or anniversary; a date without a year stays without one.

    Accepts ``1980-04-15``, ``19800415``, ``--04-15``, ``--0415``, ``04-15``, ``15 Apr``,
    ``Apr 15``, ``April 15 1980``, ``15 April 1980``, ``4/15/1980`` and ``4/15`` (day first
    with ``day_first``). Feb 29 without a year is valid; Feb 29 1981 is not.
    """
    ymd = _match_calendar(_normalize(text), day_first)
    if ymd is not None:
        year, month, day = ymd
        try:
            return YearlyDate(month, day, year)
        except ValueError:
            pass  # no such day (Feb 29 1981, 04-31): same message as an unknown form
    raise UsageError(f"cannot understand date {text!r} (try 1980-04-15 or --04-15 for no year)")


def check_birthday(yearly: YearlyDate, today: date) -> None:
    """Refuse a birthday after ``today``: a typo, or this year's party given as the birth date.

    Anniversaries and labelled dates may lie ahead (a wedding being planned); birthdays not.
    """
    if yearly.year is not None and date(yearly.year, yearly.month, yearly.day) > today:
        raise ValidationError(
            f"birthday {yearly.iso()} is in the future; give the year it happened, "
            f"or --{yearly.month:02d}-{yearly.day:02d} without a year"
        )


def occurrence_in_year(month: int, day: int, year: int, *, feb29: str = "feb28") -> date:
    """The date a yearly (month, day) falls on in ``year``.

    Feb 29 in a non-leap year falls on Feb 28 (``feb29="feb28"``) or Mar 1 (``"mar1"``).
    """
    if feb29 not in ("feb28", "mar1"):
        raise ValueError(f"feb29 must be 'feb28' or 'mar1', not {feb29!r}")
    import calendar

    if (month, day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28) if feb29 == "feb28" else date(year, 3, 1)
    return date(year, month, day)


def next_occurrence(month: int, day: int, on_or_after: date, *, feb29: str = "feb28") -> date:
    """The first occurrence of a yearly (month, day) on or after ``on_or_after``."""
    this_year = occurrence_in_year(month, day, on_or_after.year, feb29=feb29)
    if this_year >= on_or_after:
        return this_year
    return occurrence_in_year(month, day, on_or_after.year + 1, feb29=feb29)


# --- durations and recurrences --------------------------------------------------------------

_DAYS_RE = r"(\d+) ?(d|days?|w|weeks?|m|months?|y|years?)?"
_DAYS_PER_UNIT = {"d": 1, "w": 7, "m": 30, "y": 365}


def parse_days(text: str) -> int:
    """A number of days for cadences and staleness thresholds: ``30``, ``30d``, ``2w``.

    ``m`` is exactly 30 days and ``y`` exactly 365: a threshold is a count of days, not a
    calendar step (for calendar months use a recurrence, see :func:`parse_every`).
    """
    m = re.fullmatch(_DAYS_RE, _normalize(text))
    days = int(m[1]) * _DAYS_PER_UNIT[(m[2] or "d")[0]] if m else 0
    if days < 1:
        raise UsageError(f"cannot understand number of days {text!r} (try 30, 30d, 2w, 3m or 1y)")
    if days > MAX_DAYS:
        raise UsageError(f"{text!r} is more than {MAX_DAYS} days (10 years); give a shorter span")
    return days


#: the longest cadence or threshold: longer ones are typos, and would run past the calendar
MAX_DAYS = 3650


_WEEKDAYS_RULE = "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"
_EVERY_WORDS = {
    "day": "FREQ=DAILY",
    "daily": "FREQ=DAILY",
    "week": "FREQ=WEEKLY",
    "weekly": "FREQ=WEEKLY",
    "month": "FREQ=MONTHLY",
    "monthly": "FREQ=MONTHLY",
    "quarter": "FREQ=MONTHLY;INTERVAL=3",
    "quarterly": "FREQ=MONTHLY;INTERVAL=3",
    "year": "FREQ=YEARLY",
    "yearly": "FREQ=YEARLY",
    "annually": "FREQ=YEARLY",
    "weekday": _WEEKDAYS_RULE,
    "weekdays": _WEEKDAYS_RULE,
}
_EVERY_COUNT_RE = r"(\d+) ?(d|days?|w|weeks?|m|months?|q|quarters?|y|years?)"
_EVERY_UNIT = {
    "d": ("DAILY", 1),
    "w": ("WEEKLY", 1),
    "m": ("MONTHLY", 1),
    "q": ("MONTHLY", 3),
    "y": ("YEARLY", 1),
}
_ORDINALS = {
    "1st": 1,
    "first": 1,
    "2nd": 2,
    "second": 2,
    "3rd": 3,
    "third": 3,
    "4th": 4,
    "fourth": 4,
    "last": -1,
}
_NTH_WEEKDAY_RE = rf"({'|'.join(_ORDINALS)}) ({_WEEKDAY})(?: of (?:the|each|every) month)?"
_EVERY_WEEKDAY_RE = rf"({_WEEKDAY})s?"


def parse_every(text: str) -> str:
    """Turn a recurrence ("2w", "month", "quarter", "weekday", "2nd tue") into RRULE text.

    The result is RFC 5545 without the ``RRULE:`` prefix, e.g. ``FREQ=WEEKLY;INTERVAL=2``.
    A leading "every" is accepted. Raises :class:`UsageError` for anything else.
    """
    s = _normalize(text)
    s = s.removeprefix("every ")
    if s in _EVERY_WORDS:
        return _EVERY_WORDS[s]
    m = re.fullmatch(_EVERY_COUNT_RE, s)
    if m and int(m[1]) > 0:
        freq, factor = _EVERY_UNIT[m[2][0]]
        interval = int(m[1]) * factor
        return f"FREQ={freq}" + (f";INTERVAL={interval}" if interval > 1 else "")
    m = re.fullmatch(_NTH_WEEKDAY_RE, s)
    if m:
        # Only 1st-4th and last: a "5th tue" rule would silently skip most months.
        return f"FREQ=MONTHLY;BYDAY={_ORDINALS[m[1]]:+d}{m[2][:2].upper()}"
    m = re.fullmatch(_EVERY_WEEKDAY_RE, s)
    if m:
        return f"FREQ=WEEKLY;BYDAY={m[1][:2].upper()}"
    raise _recurrence_error(text)


def _recurrence_error(text: str) -> UsageError:
    return UsageError(
        f'cannot understand recurrence {text!r} (try 2w, month, quarter, year, weekday, "2nd tue")'
    )


def _rule_parts(rule: str) -> dict[str, str]:
    body = rule.strip().upper().removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for item in body.split(";"):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise _recurrence_error(rule)
        parts[key] = value
    if "FREQ" not in parts:
        raise _recurrence_error(rule)
    return parts


_BY_KEYS = (
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "BYEASTER",
)


def _pin_to_month_end(parts: dict[str, str], dtstart: datetime) -> dict[str, str]:
    """Rewrite a plain monthly/yearly rule so short months clip instead of being skipped.

    dateutil follows RFC 5545 to the letter: monthly from Jan 31 skips every month without a
    31st, and yearly from Feb 29 fires only in leap years. "The last of (28..day) that exists in
    the month" gives Feb 28/29, Mar 31, Apr 30... and Feb 28 in non-leap years.
    """
    if any(key in parts for key in _BY_KEYS):
        return parts  # the rule says which days it wants: leave it alone
    if parts["FREQ"] == "MONTHLY" and dtstart.day >= 29:
        days = ",".join(str(d) for d in range(28, dtstart.day + 1))
        return {**parts, "BYMONTHDAY": days, "BYSETPOS": "-1"}
    if parts["FREQ"] == "YEARLY" and (dtstart.month, dtstart.day) == (2, 29):
        return {**parts, "BYMONTH": "2", "BYMONTHDAY": "28,29", "BYSETPOS": "-1"}
    return parts


def next_occurrence_of_rule(rule: str, dtstart: datetime, after: datetime) -> datetime | None:
    """The first occurrence of ``rule`` (RRULE text) strictly after ``after``, or None.

    Naive wall-clock datetimes in, naive out. None when the rule has ended (COUNT or UNTIL)
    or its next date would be past the end of the calendar (year 9999): see
    :func:`rule_has_end` to tell the two apart.
    A monthly, quarterly or yearly rule from the 29th-31st falls on the last day of shorter
    months (Jan 31 -> Feb 28 -> Mar 31) and from Feb 29 on Feb 28 in non-leap years.
    """
    parts = _pin_to_month_end(_rule_parts(rule), dtstart)
    body = ";".join(f"{key}={value}" for key, value in parts.items())
    # Deferred import (start-up time): only reminders and recurring tasks need rrule.
    from dateutil.rrule import rrulestr  # type: ignore[import-untyped, unused-ignore]

    try:
        # ignoretz: an imported UNTIL=...Z must not make the rule aware; we work in wall time.
        recurrence = rrulestr(body, dtstart=dtstart, ignoretz=True)
    except (ValueError, TypeError):
        raise _recurrence_error(rule) from None
    try:
        found: datetime | None = recurrence.after(after, inc=False)
    except (ValueError, OverflowError) as error:
        # dateutil returns None at the end of the calendar for some rules and raises "year
        # 10000 is out of range" for others (weekly from Dec 25, 9999): the same thing.
        if isinstance(error, ValueError) and "out of range" not in str(error):
            raise _recurrence_error(rule) from None
        return None
    return found


def rule_has_end(rule: str) -> bool:
    """True when ``rule`` stops by itself (COUNT or UNTIL); else it repeats forever."""
    parts = _rule_parts(rule)
    return "COUNT" in parts or "UNTIL" in parts


_FREQ_UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
_BYDAY_ITEM_RE = r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)"


def describe_rule(rule: str) -> str:
    """Short human text for a rule: "every 2 weeks", "every month", "every 2nd Tue".

    A rule outside the shapes crmcli writes (an imported one, say) is returned as it is.
    """
    raw = rule.strip().removeprefix("RRULE:").removeprefix("rrule:")
    try:
        parts = _rule_parts(rule)
        interval = int(parts.get("INTERVAL", "1"))
    except (UsageError, ValueError):
        return raw
    unit = _FREQ_UNITS.get(parts["FREQ"])
    known = {"FREQ", "INTERVAL", "BYDAY", "WKST", "COUNT", "UNTIL"}
    if unit is None or interval < 1 or not known.issuperset(parts):
        return raw
    every = f"every {interval} {unit}s" if interval > 1 else f"every {unit}"
    if unit == "month" and interval == 3:
        every = "every quarter"
    byday = parts.get("BYDAY")
    if byday is not None:
        items = [re.fullmatch(_BYDAY_ITEM_RE, item) for item in byday.split(",")]
        if not all(items):
            return raw
        days = [(int(m[1]) if m[1] else None, _RRULE_DAYS.index(m[2])) for m in items if m]
        if unit == "day" and interval == 1 and days == [(None, d) for d in range(5)]:
            every = "every weekday"
        elif unit == "week" and all(n is None for n, _ in days):
            names = ", ".join(_DAY_NAMES[d] for _, d in days)
            every = f"every {names}" if interval == 1 else f"{every} on {names}"
        elif unit == "month" and len(days) == 1 and (n := days[0][0]) is not None:
            nth = f"{_ordinal(n)} {_DAY_NAMES[days[0][1]]}"
            every = f"every {nth}" if interval == 1 else f"{every} on the {nth}"
        else:
            return raw
    if "COUNT" in parts:
        every += f", {parts['COUNT']} times"
    if "UNTIL" in parts:
        until = parts["UNTIL"][:8]
        every += f", until {until[:4]}-{until[4:6]}-{until[6:8]}"
    return every


def _ordinal(n: int) -> str:
    if n == -1:
        return "last"
    if n < 0:
        return f"{_ordinal(-n)} last"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
