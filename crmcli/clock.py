"""The one place that knows what time it is.

``CRM_NOW`` fixes the clock for tests and for cron dry runs: ``CRM_NOW=2026-03-01T09:00 crm agenda``
behaves as on that morning. A value without an offset is local wall-clock time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

from crmcli.errors import UsageError


def now() -> datetime:
    """The current moment as an aware datetime in the local time zone."""
    fixed = os.environ.get("CRM_NOW", "").strip()
    if not fixed:
        return datetime.now().astimezone()
    try:
        moment = datetime.fromisoformat(fixed)
    except ValueError:
        raise UsageError(
            f"CRM_NOW={fixed!r} is not an ISO date-time (try CRM_NOW=2026-03-01T09:00)"
        ) from None
    # A naive value is local wall-clock time; astimezone() attaches the local offset (DST-aware).
    return moment.astimezone()


def local_zone_name() -> str | None:
    """The IANA name of the local time zone (``$TZ``, else the link /etc/localtime), for a
    calendar's TZID; None when it cannot be known (then times are written in UTC)."""
    name = os.environ.get("TZ", "").lstrip(":").strip()
    if not name:
        try:
            target = os.readlink("/etc/localtime")
        except OSError:
            target = ""
        name = target.partition("zoneinfo/")[2]
    if not name:
        return None
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(name)
    except (ValueError, OSError, LookupError):
        return None
    return name


def today() -> date:
    """The local calendar date of :func:`now`."""
    return now().date()


def local_naive(moment: datetime) -> datetime:
    """An aware moment as naive local wall-clock time (what the date parser works in)."""
    return moment.astimezone().replace(tzinfo=None)


def to_utc_text(moment: datetime) -> str:
    """Storage form of a moment: UTC, ISO 8601, seconds, with a ``Z``.

    A naive moment is taken as local wall-clock time.
    """
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_utc_text(text: str) -> datetime:
    """Parse a stored UTC timestamp back into an aware local datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone()


def now_text() -> str:
    """:func:`now` in storage form."""
    return to_utc_text(now())


def local_date_reader() -> Callable[[str], date]:
    """A function from stored UTC text to its local calendar date: what
    ``from_utc_text(text).date()`` gives, at a fraction of the cost (the agenda reads one date
    per contact with a keep-in-touch cadence, thousands of them).

    Within a UTC day whose UTC offset does not change, the local date changes at one moment;
    that moment is computed once per UTC day and kept by the returned function only. Make one
    per query: the time zone may change in between (tests set TZ).
    """
    days: dict[str, tuple[str, date, date] | None] = {}

    def local_date(text: str) -> date:
        key = text[:10]
        if key not in days:
            days[key] = _date_change(key) if len(text) == 20 else None
        found = days[key]
        if found is None or len(text) != 20:
            return from_utc_text(text).date()
        change, before, after = found
        return before if text < change else after

    return local_date


_ONE_DAY = timedelta(days=1)
_LAST_SECOND = timedelta(seconds=86_399)


def _date_change(utc_day: str) -> tuple[str, date, date] | None:
    """For one UTC day: the moment (UTC text) the local date changes, and the local dates before
    and after it; None when the day has a change of UTC offset (then each time is converted).

    The offset is compared at the day's first and last second only: in the tz database two
    changes of offset are always days apart, so equal ends mean no change in between.
    """
    try:
        start = datetime.fromisoformat(utc_day).replace(tzinfo=timezone.utc)
        offset = start.astimezone().utcoffset()
        if offset is None or (start + _LAST_SECOND).astimezone().utcoffset() != offset:
            return None
        day = start.date()
        if offset >= timedelta(0):
            return to_utc_text(start + _ONE_DAY - offset), day, day + _ONE_DAY
        return to_utc_text(start - offset), day - _ONE_DAY, day
    except (ValueError, OverflowError):  # next to year 1 or 9999
        return None
