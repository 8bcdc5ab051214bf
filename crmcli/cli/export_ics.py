"""``crm export ics``: yearly dates (and reminders) as an iCalendar file."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from crmcli.cli._common import ForceOpt, database, database_path, now
from crmcli.cli._output import message, output_file


def open_reminders(conn: sqlite3.Connection) -> Iterable[object]:
    """Open reminders as VTODO data. A recurring one is exported as its next occurrence only:
    completing it makes a new reminder (a new UID), so an RRULE here would show it twice."""
    from crmcli import reminders
    from crmcli.clock import local_zone_name
    from crmcli.io.ical import ReminderData

    zone = local_zone_name()
    for reminder in reminders.list_reminders(conn, reminders.ReminderFilters()):
        due = reminder.due
        yield ReminderData(
            id=reminder.id,
            text=reminder.body,
            due=due.at,
            has_time=due.has_time,
            contact_name=reminder.contact,
            rule=None,
            tzid=zone,
        )


def ics(
    ctx: typer.Context,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            "-k",
            help="Only birthday, anniversary, other, or a label. Repeatable. [default: all]",
        ),
    ] = None,
    reminders: Annotated[
        bool, typer.Option("--reminders", help="Add open reminders as to-dos (VTODO).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout."),
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Write yearly dates as an iCalendar file a calendar app can import or subscribe to.

    Each date is an all-day event repeating every year (Feb 29 on the last day of February)
    with a stable UID, so importing again updates the events instead of duplicating them.
    Example: crm export ics -o ~/crm-dates.ics
    """
    from crmcli import anniversaries, config
    from crmcli.io import ical

    cfg = config.load()
    moment = now()
    with database(ctx) as conn:
        found: list[anniversaries.Upcoming] = []
        seen: set[tuple[int, str]] = set()
        for wanted in kind or [None]:  # type: ignore[list-item]
            for item in anniversaries.every_date(conn, moment.date(), kind=wanted, feb29=cfg.feb29):
                if (item.contact_id, item.label.lower()) not in seen:
                    seen.add((item.contact_id, item.label.lower()))
                    found.append(item)
        todo = list(open_reminders(conn)) if reminders else []
        text = ical.calendar(found, dtstamp=moment, reminders=todo)  # type: ignore[arg-type]
    if (output is None or str(output) == "-") and not sys.stdout.isatty():
        sys.stdout.buffer.write(text.encode("utf-8"))  # UTF-8 whatever the locale says
        sys.stdout.flush()
        return
    with output_file(output, force=force, database=database_path(ctx)) as out:
        out.write(text)
    if output is None or str(output) == "-":
        return
    message(
        f"Wrote {len(found)} dates{f' and {len(todo)} reminders' if reminders else ''} to {output}"
    )
