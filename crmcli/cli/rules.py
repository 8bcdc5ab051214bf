"""``crm rule ...``: follow-ups that set themselves (a reminder, a tag, a cadence when a deal is
won, a contact added, a deal reaches a stage, a purchase is made), and the events hooks see."""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli.cli._common import (
    CrmTyper,
    FormatOpt,
    YesOpt,
    complete_tag,
    confirm,
    database,
    now,
    report_created,
)
from crmcli.cli._output import Column, emit, message
from crmcli.cli.views.rules import COLUMNS

app = CrmTyper(
    help="Follow-ups that set themselves: on deal-won, contact-added, stage:NAME, purchase...",
    epilog=(
        'Examples: crm rule add --on deal-won --remind "+7d" "Check the delivery went well" ; '
        'crm rule add --on deal-won --remind "close+11mo" "Renewal talk" ; '
        'crm rule add --on contact-added --tag lead --remind "+2d" "First call" ; '
        "crm rule add --on purchase --cadence 90d. Hooks: crm rule events; docs/rules.md."
    ),
)

EVENT_COLUMNS = [
    Column("event", priority=1),
    Column("hook", priority=1),
    Column("subject", in_table=False),
    Column("rules"),
    Column("installed", "Hook files"),
    Column("help", "What happened"),
]


@app.command("add")
def add(
    ctx: typer.Context,
    text: Annotated[
        str | None, typer.Argument(metavar="[TEXT]", help="The reminder's text (with --remind).")
    ] = None,
    on: Annotated[
        str,
        typer.Option(
            "--on",
            metavar="EVENT",
            help="deal-won, deal-lost, contact-added, purchase, or stage:NAME.",
        ),
    ] = "",
    remind: Annotated[
        str | None,
        typer.Option(
            "--remind",
            metavar="WHEN",
            help="Set a reminder: +7d, +2w 10am, close+11mo (the deal's close), purchase+3w.",
        ),
    ] = None,
    tag: Annotated[
        str | None,
        typer.Option(
            "--tag", "-t", help="Add this tag to the contact.", autocompletion=complete_tag
        ),
    ] = None,
    cadence: Annotated[
        str | None,
        typer.Option("--cadence", help="Keep in touch with the contact this often: 90d, 3m."),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Add a rule: when EVENT happens, set a reminder, add a tag or set a cadence.

    A rule fires once per deal, contact or purchase, in the same transaction as the change; the
    reminders it sets name it in the contact's history. It acts on what happens from now on,
    not on the past. A reminder that would already be due before the day it fires (an old
    order imported) is not set.
    """
    from crmcli import rules
    from crmcli.dates import parse_days
    from crmcli.errors import UsageError

    if not on:
        raise UsageError(f"say when the rule fires: --on EVENT ({', '.join(rules.rule_events())})")
    if text is not None and remind is None:
        raise UsageError(f"{text!r} is a reminder's text: give its date with --remind WHEN")
    if remind is not None and text is None:
        raise UsageError('--remind WHEN needs the reminder\'s text: --remind "+7d" "Call them"')
    with database(ctx, write=True) as conn:
        rule = rules.add(
            conn,
            on,
            remind_when=remind,
            remind_text=text,
            tag=tag,
            cadence_days=parse_days(cadence) if cadence is not None else None,
            now=now(),
        )
    message(f"Added rule {rule.id}: on {rule.on}, {rule.actions()}")
    report_created(rule.id, rule.to_dict(), fmt)


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """List the rules, with how many times each has fired."""
    from crmcli import rules

    with database(ctx) as conn:
        rows = [r.to_dict() for r in rules.list_rules(conn)]
    emit(rows, COLUMNS, fmt, empty="No rules yet (crm rule add --on EVENT ...).")


@app.command("rm")
def remove(
    ctx: typer.Context,
    rule_id: Annotated[int, typer.Argument(metavar="ID", help="Rule id (crm rule list).")],
    yes: YesOpt = False,
) -> None:
    """Remove a rule (the reminders and tags it set stay)."""
    from crmcli import rules

    with database(ctx, write=True) as conn:
        rule = rules.get(conn, rule_id)
        confirm(f"Remove rule {rule.id} (on {rule.on}: {rule.actions()})?", yes=yes)
        rules.remove(conn, rule_id)
    message(f"Removed rule {rule.id}: on {rule.on}, {rule.actions()}")


@app.command("events")
def events_command(fmt: FormatOpt = None) -> None:
    """List the events rules and hooks react to, each hook's file name, and the hooks installed.

    A hook is an executable in $XDG_CONFIG_HOME/crmcli/hooks/ named after the event's hook
    (on-deal-won, or on-deal-won.NAME for several); it reads the record as JSON on stdin.
    """
    from crmcli import hooks
    from crmcli.events import EVENTS

    found = hooks.installed()
    rows = [
        {
            "event": event.name,
            "hook": event.hook,
            "subject": event.subject,
            "rules": event.rules,
            "installed": [path.name for path in found.get(event.hook, [])],
            "help": event.help,
        }
        for event in EVENTS
    ]
    message(f"Hooks folder: {hooks.hooks_dir()}")
    emit(rows, EVENT_COLUMNS, fmt)
