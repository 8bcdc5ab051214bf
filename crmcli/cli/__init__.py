"""The ``crm`` command: the root app, its global options, and ``main()``.

Only this package imports typer and rich; each command group lives in its own module, and is
imported only when it runs: ``crm contact show`` never loads the pipeline's or the importer's code.
The table below is the whole top level of the command tree; its short help is what
``crm --help`` lists (a test checks it against each command's own help).
"""

from __future__ import annotations

import copy
import importlib
import os
from typing import Annotated, Any, NamedTuple

import typer

from crmcli import __version__
from crmcli.cli import _pager
from crmcli.cli._common import CliState, CrmGroup, CrmTyper, command_of, holder_of


class Entry(NamedTuple):
    """A top-level command: where it lives (module, attribute) and its one-line help."""

    module: str
    attribute: str
    help: str


COMMANDS: dict[str, Entry] = {
    "demo": Entry(
        "crmcli.cli.demo",
        "demo_command",
        "Build a demo database with sample customers and show what a salesperson sees first.",
    ),
    "config": Entry(
        "crmcli.cli.config",
        "app",
        "Show, check and edit the settings (config.toml and CRM_* variables).",
    ),
    "agenda": Entry(
        "crmcli.cli.agenda",
        "agenda_command",
        "Show what to do: overdue reminders, today's, the coming days, contacts due a touch.",
    ),
    # contacts
    "contact": Entry("crmcli.cli.contacts", "app", "Add, show, change, find and remove contacts."),
    "search": Entry(
        "crmcli.cli.contacts",
        "search_command",
        "Find contacts by name, email, phone, company, title, tags, custom fields and notes.",
    ),
    "dedupe": Entry(
        "crmcli.cli.dedupe",
        "app",
        "Find contacts that may be one person, best first, with reasons; merge the safe ones.",
    ),
    "tag": Entry("crmcli.cli.tags", "app", "List, rename and merge tags."),
    "segment": Entry(
        "crmcli.cli.segments",
        "app",
        "Saved queries: add, list, show and remove segments (segment:NAME).",
    ),
    # the customer's history and follow-ups
    "note": Entry(
        "crmcli.cli.notes",
        "note_command",
        "Write down what happened with a contact: a call, an email, a meeting.",
    ),
    "notes": Entry(
        "crmcli.cli.notes", "app", "List notes across contacts; edit, remove and restore them."
    ),
    "history": Entry(
        "crmcli.cli.notes",
        "history_command",
        "Show a contact's whole journey, newest first: notes, reminders set and done, and more.",
    ),
    "remind": Entry(
        "crmcli.cli.reminders",
        "remind_command",
        "Set a follow-up reminder, for a contact or (with TEXT alone) a general to-do.",
    ),
    "reminders": Entry(
        "crmcli.cli.reminders",
        "app",
        "List follow-up reminders; edit, remove and restore them.",
    ),
    "done": Entry(
        "crmcli.cli.reminders",
        "done_command",
        "Mark reminders done. A recurring one gets its next occurrence (a new id).",
    ),
    "snooze": Entry(
        "crmcli.cli.reminders",
        "snooze_command",
        "Put a reminder off to a later date (a date alone keeps its time of day).",
    ),
    "when": Entry(
        "crmcli.cli.reminders",
        "when_command",
        "Show what a date expression (or a recurrence) resolves to, without changing anything.",
    ),
    # the pipeline
    "deal": Entry(
        "crmcli.cli.deals",
        "app",
        "Add deals and move them through the pipeline: won, lost, reopened.",
    ),
    "stage": Entry(
        "crmcli.cli.stages",
        "app",
        "List and adapt the pipeline's stages (won and lost are fixed end states).",
    ),
    "pipeline": Entry(
        "crmcli.cli.pipeline",
        "app",
        "The pipeline board: open deals by stage, with totals. 'crm pipeline stats' for rates.",
    ),
    "forecast": Entry(
        "crmcli.cli.pipeline",
        "forecast_command",
        "Forecast: weighted value of open deals by expected close period, and won so far.",
    ),
    "goal": Entry(
        "crmcli.cli.pipeline",
        "goal_app",
        "Sales goals per period (month, quarter, year) and currency.",
    ),
    # customers: what they bought, who matters most, who sent whom
    "purchase": Entry(
        "crmcli.cli.purchases",
        "app",
        "Record what customers bought; list, change, remove and restore purchases.",
    ),
    "customers": Entry(
        "crmcli.cli.customers",
        "customers_command",
        "Who matters most: every customer with recency, frequency, value, RFM score and segment.",
    ),
    "referrals": Entry(
        "crmcli.cli.customers",
        "referrals_command",
        "Word of mouth: who referred whom, and what the referred people bought or won.",
    ),
    # yearly dates and greetings
    "dates": Entry(
        "crmcli.cli.dates",
        "app",
        "Upcoming yearly dates (birthdays, anniversaries, labelled dates); add and remove them.",
    ),
    "template": Entry(
        "crmcli.cli.greet",
        "template_app",
        "Message templates for greetings and campaigns: a subject and a body with {placeholders}.",
    ),
    "greet": Entry(
        "crmcli.cli.greet",
        "greet_app",
        "Send the greetings due today (exactly once), show the send log, manage rules.",
    ),
    # campaigns, consent, and follow-ups that set themselves
    "campaign": Entry(
        "crmcli.cli.campaigns",
        "app",
        "Campaigns: one personal message to each contact of a segment, exactly once.",
    ),
    "optout": Entry(
        "crmcli.cli.consent",
        "optout_command",
        "Record an opt-out: no more campaign e-mail for this person (never undone by an import).",
    ),
    "rule": Entry(
        "crmcli.cli.rules",
        "app",
        "Follow-ups that set themselves: on deal-won, contact-added, stage:NAME, purchase...",
    ),
    # files in and out, and the database itself
    "import": Entry(
        "crmcli.cli.io",
        "import_command",
        "Import contacts from CSV (Google, Outlook, LinkedIn, crmcli, any), vCard or JSON.",
    ),
    "export": Entry(
        "crmcli.cli.io",
        "export_app",
        "Export contacts, notes, reminders, deals, purchases (CSV, JSON, vCard) and dates (iCalendar).",
    ),
    "sync": Entry(
        "crmcli.cli.sync",
        "app",
        "Sync with a contacts vdir and a calendar vdir (vdirsyncer: CardDAV, CalDAV), both ways.",
    ),
    "db": Entry("crmcli.cli.db", "app", "The database file: where it is, back it up, check it."),
    "completion": Entry(
        "crmcli.cli.completion",
        "app",
        "Shell completion for bash, zsh and fish, and the manual page.",
    ),
}


def load_command(name: str) -> Any:
    """Import the module of a top-level command and build its click command."""
    entry = COMMANDS[name]
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    if isinstance(target, typer.Typer):
        # Always a group, even with a single subcommand for now (`crm export ics`). The group
        # itself (its callback and options) is built now, its subcommands when one is used
        # (CrmGroup.lazy_source): typer builds a copy of the Typer without them. Its command
        # lists are typer's public but undocumented fields: tests/test_typer_contract.py.
        shell = copy.copy(target)
        shell.registered_commands = []
        shell.registered_groups = []
        holder = holder_of(target)
        holder.add_typer(shell, name=name)
        command: Any = typer.main.get_command(holder).commands[name]  # type: ignore[attr-defined]
        command.lazy_source = target
    else:
        command = command_of(target)
    command.name = name
    return command


class LazyRootGroup(CrmGroup):
    """The root group: knows its commands by name, imports one only when it is used."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands[cmd_name]

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        # typer suggests from the commands built so far, and here none is built yet.
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-") and not ctx.resilient_parsing:
            from difflib import get_close_matches

            matches = get_close_matches(name, list(COMMANDS))
            hint = f" Did you mean {', '.join(map(repr, matches))}?" if matches else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        # From the table, like the help: completing `crm <TAB>` imports no command module.
        from typer._click.shell_completion import CompletionItem

        items = [
            CompletionItem(name, help=entry.help)
            for name, entry in COMMANDS.items()
            if name.startswith(incomplete)
        ]
        if incomplete.startswith("-"):
            for param in self.get_params(ctx):
                for option in getattr(param, "opts", []):
                    if option.startswith(incomplete) and option.startswith("-"):
                        items.append(CompletionItem(option, help=getattr(param, "help", None)))
        return items

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # From the table, so `crm --help` imports no command module at all.
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.help) for name, entry in COMMANDS.items()])


app = CrmTyper(
    name="crm",
    cls=LazyRootGroup,
    help=(
        "A contact manager and personal CRM for the terminal.\n\n"
        "The database is --db PATH, else $CRM_DB, else $XDG_DATA_HOME/crmcli/crm.db. "
        "CRM_NOW=2026-03-01T09:00 fixes the clock (tests, cron dry runs)."
    ),
    epilog="Start with: crm demo. Docs: docs/guide.md. Exit codes: 0 ok, 1 error, 2 usage.",
)


def _version(value: bool) -> None:
    if value:
        print(f"crm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db_path: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH",
            help="Database file. [default: $CRM_DB, else $XDG_DATA_HOME/crmcli/crm.db]",
            show_default=False,
        ),
    ] = None,
    no_pager: Annotated[
        bool,
        typer.Option(
            "--no-pager",
            help="Never page long output on a terminal. [default: $CRM_PAGER, else $PAGER, "
            "else less -FRX; empty or cat: none]",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    if no_pager:
        _pager.disable()
    ctx.obj = CliState(db_option=db_path)


def main() -> None:
    """Console-script entry point."""
    if "_CRM_COMPLETE" in os.environ:  # a shell asking what can come next (crm completion)
        from crmcli.cli.completion import register

        register()
    try:
        app()
    finally:
        _pager.stop()  # the pager has all the output: wait until the person leaves it
