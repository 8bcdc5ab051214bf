"""``crm agenda``: the day's picture, grouped on a terminal, flat for scripts and cron."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crmcli.cli._common import FormatOpt, database, now
from crmcli.cli._output import (
    OutputFormat,
    console,
    emit,
    heading,
    line,
    message,
    resolve_format,
)

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
    from crmcli.clock import local_naive

    resolved = resolve_format(fmt)
    # A terminal shows the first SECTION_LIMIT of each section: only those are read in full.
    limit = SECTION_LIMIT if resolved is OutputFormat.table else None
    with database(ctx) as conn:
        found = agenda.build(conn, local_naive(now()), days, limit=limit)
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


#: items shown per section on a terminal; the rest is counted (scripts get everything)
SECTION_LIMIT = 25


def render(found: Any, days: int) -> None:
    """The agenda grouped by section: each section's first items (``found.items``, as many as
    :func:`crmcli.agenda.build` was given as its limit) under a heading with the full count."""
    from rich.table import Table

    from crmcli import agenda
    from crmcli.dates import When, format_when

    out = console()
    sections: dict[str, list[Any]] = {}
    for item in found.items:
        sections.setdefault(item.section, []).append(item)
    for section, members in sections.items():
        title = agenda.section_title(section, days)
        total = found.counts[section]
        out.print(line("\n", (title, "bold"), f" ({total})"))
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True)
        table.add_column()
        for item in members:
            about = [p for p in (item.contact, item.company, item.phone, item.email) if p]
            what = [item.text, "  ", (item.ref, "dim")]
            if about:
                what += ["\n", " · ".join(about)]
            table.add_row(line((format_when(When(item.when, item.has_time)), "dim")), line(*what))
        out.print(table)
        if total > len(members):
            # A morning screen, not a report: the full list is one command away.
            more = f"  … and {total - len(members)} more (all of them: crm agenda --format tsv)"
            out.print(line((more, "dim")))


def demo_view(conn: Any) -> None:
    """``crm demo``: the agenda of the demo book."""
    from crmcli import agenda
    from crmcli.clock import local_naive

    heading("Agenda (crm agenda)")
    render(agenda.build(conn, local_naive(now()), 7, limit=SECTION_LIMIT), 7)
