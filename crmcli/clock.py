"""The one place that knows what time it is.

``CRM_NOW`` fixes the clock for tests and for cron dry runs: ``CRM_NOW=2026-03-01T09:00 crm agenda``
behaves as on that morning. A value without an offset is local wall-clock time.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone

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
