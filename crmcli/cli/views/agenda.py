"""The agenda on a terminal (``crm agenda``, ``crm demo``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from crmcli.cli._common import now
from crmcli.cli._output import console, heading, line

#: items shown per section on a terminal; the rest is counted (scripts get everything)
SECTION_LIMIT = 25


def window(days: int, limit: int | None) -> Any:
    """The agenda asked for now (:class:`crmcli.agenda.Window`), with the user's settings."""
    from crmcli import agenda, config
    from crmcli.clock import local_naive

    settings = config.load()
    return agenda.Window(
        local_naive(now()),
        days,
        limit,
        lead_days={kind: settings.lead_days(kind) for kind in agenda.LEAD_DAYS},
        feb29=settings.feb29,
    )


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


def demo_view(conn: sqlite3.Connection) -> None:
    """``crm demo``: the agenda of the demo book."""
    from crmcli import agenda

    heading("Agenda (crm agenda)")
    render(agenda.build(conn, window(7, SECTION_LIMIT)), 7)
