"""``crm tag ...``"""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli import tags
from crmcli.cli._common import CrmTyper, FormatOpt, complete_tag, database, now
from crmcli.cli._output import Column, emit, message

app = CrmTyper(help="List, rename and merge tags.")


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """List tags with the number of contacts that carry each."""
    with database(ctx) as conn:
        emit(
            tags.list_tags(conn),
            [Column("tag", priority=1), Column("contacts", justify="right")],
            fmt,
            empty="No tags yet.",
            tuples=True,
        )


@app.command("rename")
def rename(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="The tag's current name.")],
    new: Annotated[str, typer.Argument(help="Its new name.")],
) -> None:
    """Rename a tag on every contact."""
    with database(ctx, write=True) as conn:
        count = tags.rename(conn, old, new, now=now())
    message(f"Renamed tag {old!r} to {new!r} ({count} contacts)")


@app.command("merge")
def merge(
    ctx: typer.Context,
    sources: Annotated[
        list[str],
        typer.Argument(help="Tags to fold in (they disappear).", autocompletion=complete_tag),
    ],
    into: Annotated[str, typer.Option("--into", help="The tag that remains.")],
) -> None:
    """Merge tags into one: crm tag merge prospect prospects --into lead"""
    with database(ctx, write=True) as conn:
        count = tags.merge(conn, sources, into, now=now())
    message(f"Merged {', '.join(repr(s) for s in sources)} into {into!r} ({count} contacts)")
