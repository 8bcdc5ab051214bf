"""The ``crm`` command: the root app, its global options, and ``main()``.

Only this package imports typer and rich; each command group lives in its own module.
"""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli import __version__
from crmcli.cli import contacts, db, demo, tags
from crmcli.cli import io as io_cli
from crmcli.cli._common import CliState, CrmTyper

app = CrmTyper(
    name="crm",
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
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ctx.obj = CliState(db_option=db_path)


app.command("demo")(demo.demo_command)
app.add_typer(contacts.app, name="contact")
app.command("search")(contacts.search_command)
app.add_typer(tags.app, name="tag")
app.add_typer(db.app, name="db")
app.command("import")(io_cli.import_command)
app.add_typer(io_cli.export_app, name="export")


def main() -> None:
    """Console-script entry point."""
    app()
