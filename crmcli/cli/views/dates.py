"""Yearly dates: the columns of ``crm dates``, and the demo's coming two weeks."""

from __future__ import annotations

import sqlite3
from typing import Any

from crmcli.cli._common import now
from crmcli.cli._output import Column, Kind, OutputFormat, emit, heading, line, styled


def _when(days: Any) -> str:
    text = {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")
    if styled() and days in (0, 1):
        return line((text, "bold red" if days == 0 else "bold yellow"))  # type: ignore[no-any-return]
    return text


COLUMNS = [
    Column("date", "Date", priority=1),
    Column("weekday", "Day", priority=3),
    Column("days_until", "When", show=_when, kind=Kind.date),
    Column("contact_id", "ID", priority=3),
    Column("name", priority=1),
    Column("email", in_table=False),
    Column("label", in_table=False),
    Column("kind", in_table=False),
    Column("original", "Since", kind=Kind.date, priority=3),
    Column("years", in_table=False),
    Column("what", "What", priority=1),
]


def demo_view(conn: sqlite3.Connection) -> None:
    """``crm demo``: the next two weeks of birthdays and anniversaries."""
    from crmcli import anniversaries, config

    heading("Upcoming dates (crm dates --days 14)")
    found = anniversaries.upcoming(conn, now().date(), days=14, feb29=config.load().feb29)
    emit((u.to_dict() for u in found), COLUMNS, OutputFormat.table)
