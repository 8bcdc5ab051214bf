"""``crm db ...``: where the database is, a consistent backup, an integrity check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crmcli import db
from crmcli.cli._common import CrmTyper, database, state
from crmcli.cli._output import message
from crmcli.errors import CrmError

app = CrmTyper(help="The database file: where it is, back it up, check it.")


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print the database file in use, and why that one (--db, $CRM_DB or the default)."""
    location = state(ctx).location
    print(location.path)
    exists = "" if location.path.exists() else "; not created yet (made on first change)"
    message(f"({location.reason}{exists})")


@app.command("backup")
def backup(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(help="File to write (must not exist yet).")],
) -> None:
    """Write a consistent copy of the database, even while other crm commands are writing."""
    if not state(ctx).location.path.exists():
        raise CrmError(f"there is no database at {state(ctx).location.path} to back up yet")
    with database(ctx) as conn:
        db.backup(conn, target)
    message(f"Backed up {state(ctx).location.path} to {target}")


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Check the database: schema objects crmcli did not create (triggers, views, tables,
    indexes, changed definitions), then SQLite's integrity and foreign-key checks; exit 1 if
    anything is wrong. The file is only read, never changed."""
    location = state(ctx).location
    if not location.path.exists():
        raise CrmError(f"there is no database at {location.path} yet")
    problems = db.inspect(location.path)
    if problems:
        for problem in problems:
            message(problem)
        raise CrmError(
            f"{location.path} has {len(problems)} problem(s); restore a backup (crm db backup)"
        )
    print(
        f"ok: {location.path} has crmcli's schema and passed the integrity and foreign-key checks"
    )
