"""``crm agenda``: the day's picture, grouped on a terminal, flat for scripts and cron."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crmcli.cli._common import FormatOpt, database
from crmcli.cli._output import (
    OutputFormat,
    emit,
    message,
    resolve_format,
)
from crmcli.cli.views.agenda import SECTION_LIMIT, render, window

#: exit status of `crm agenda --exit-code` when something is due
EXIT_DUE = 3


def agenda_command(
    ctx: typer.Context,
    days: Annotated[
        int, typer.Option("--days", "-d", help="How many coming days to look ahead.", min=0)
    ] = 7,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print nothing at all when nothing is due."),
    ] = False,
    exit_code: Annotated[
        bool,
        typer.Option("--exit-code", help=f"Exit {EXIT_DUE} when something is due, 0 when not."),
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """Show what to do: overdue reminders, today's, the coming days, contacts due a touch.

    "Due" means overdue, today and due a touch (the coming days are shown, not due). With
    --quiet nothing is printed when nothing is due; with --exit-code the exit status is 3 when
    something is due and 0 when not. CRM_NOW=2026-12-01T08:00 shows the agenda of that morning.

    Cron: crm agenda --quiet --exit-code --format tsv > /tmp/agenda.txt || mail -s Agenda me < /tmp/agenda.txt
    """
    from crmcli import agenda

    resolved = resolve_format(fmt)
    # A terminal shows the first SECTION_LIMIT of each section: only those are read in full.
    limit = SECTION_LIMIT if resolved is OutputFormat.table else None
    with database(ctx) as conn:
        found = agenda.build(conn, window(days, limit))
    due = agenda.is_due(found.counts)
    if not (quiet and not due):
        show(found, days, resolved)
    if exit_code and due:
        raise typer.Exit(EXIT_DUE)


def show(found: Any, days: int, fmt: OutputFormat) -> None:
    """The agenda in ``fmt``: grouped sections on a terminal, a flat list otherwise."""
    from crmcli.agenda import KEYS

    if fmt is not OutputFormat.table:
        emit((item.row() for item in found.items), KEYS, fmt, tuples=True)
        return
    if not found.items:
        message("Nothing on the agenda.")
        return
    render(found, days)
