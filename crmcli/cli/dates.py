"""``crm dates``: upcoming birthdays, anniversaries and labelled yearly dates; add and remove them."""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli import contacts
from crmcli.cli._common import (
    ContactRef,
    CrmTyper,
    FormatOpt,
    YesOpt,
    complete_tag,
    confirm,
    database,
    now,
)
from crmcli.cli._output import emit, message
from crmcli.cli.views.dates import COLUMNS

app = CrmTyper(
    help="Upcoming yearly dates (birthdays, anniversaries, labelled dates); add and remove them.",
    no_args_is_help=False,
    invoke_without_command=True,
    epilog=(
        "Examples: crm dates --days 60 --kind birthday | crm dates add ann 'customer since' "
        "2021-03-01 | crm dates rm ann 'customer since'"
    ),
)


@app.callback()
def dates(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", "-d", help="How many days ahead.")] = 30,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind", "-k", help="birthday, anniversary, other, or a label ('customer since')."
        ),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag", "-t", help="Only contacts with this tag.", autocompletion=complete_tag
        ),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """List upcoming yearly dates, soonest first (the default when no subcommand is given).

    Shows days until, weekday, and the age or number of years when the year is known ("turns
    40", "5th anniversary"). Feb 29 falls on Feb 28 in other years (dates.feb29 = "mar1" in
    the config file for Mar 1).
    """
    if ctx.invoked_subcommand is not None:
        return
    from crmcli import anniversaries, config

    feb29 = config.load().feb29
    with database(ctx) as conn:
        found = anniversaries.upcoming(
            conn, now().date(), days=days, kind=kind, tags=tag or [], feb29=feb29
        )
        emit(
            (u.row() for u in found),
            COLUMNS,
            fmt,
            title=f"Upcoming dates (next {days} days)",
            empty=f"No dates in the next {days} days.",
            tuples=True,
        )


@app.command("add")
def add(
    ctx: typer.Context,
    ref: ContactRef,
    label: Annotated[
        str, typer.Argument(help="birthday, anniversary, or any label ('customer since').")
    ],
    when: Annotated[
        str, typer.Argument(metavar="DATE", help="1980-04-15, or --04-15 / 'Apr 15' without year.")
    ],
    lead: Annotated[
        int | None,
        typer.Option(
            "--lead",
            help="Days ahead crm agenda shows it. [default: birthday 7, anniversary 14, other 7]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Add a yearly date to a contact, or change the one with that label.

    A date without a year stays without one (no age is shown): crm dates add ann birthday --04-15
    """
    from crmcli import anniversaries, config
    from crmcli.dates import format_date, next_occurrence, parse_yearly

    cfg = config.load()
    yearly = parse_yearly(when, day_first=cfg.day_first)
    with database(ctx, write=True) as conn:
        contact_id = contacts.resolve(conn, ref)
        created = anniversaries.set_date(
            conn, contact_id, label, yearly, today=now().date(), lead_days=lead
        )
        name = contacts.get(conn, contact_id).name
    nxt = next_occurrence(yearly.month, yearly.day, now().date(), feb29=cfg.feb29)
    verb = "Added" if created else "Changed"
    message(
        f"{verb} {anniversaries.clean_label(label)} of {name}: {yearly.iso()} "
        f"(next {format_date(nxt)})"
    )


@app.command("rm")
def remove(
    ctx: typer.Context,
    ref: ContactRef,
    label: Annotated[str, typer.Argument(help="The date's label (any case).")],
    yes: YesOpt = False,
) -> None:
    """Remove a yearly date from a contact."""
    from crmcli import anniversaries

    with database(ctx, write=True) as conn:
        contact_id = contacts.resolve(conn, ref)
        # A missing date is the error, not a question about it (nor "add --yes" off a terminal).
        _, stored = anniversaries.find_date(conn, contact_id, label)
        confirm(f"Remove {stored} of {contacts.get(conn, contact_id).name}?", yes=yes)
        removed = anniversaries.remove_date(conn, contact_id, label)
        name = contacts.get(conn, contact_id).name
    message(f"Removed {removed} of {name}")
