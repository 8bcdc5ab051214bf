"""``crm segment ...``: saved queries, used as ``segment:NAME`` inside any query."""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli import segments
from crmcli.cli._common import (
    CrmTyper,
    FormatOpt,
    YesOpt,
    complete_segment,
    confirm,
    database,
    now,
)
from crmcli.cli._output import Column, emit, emit_record, message, resolve_format
from crmcli.cli._query import QUERY_CONTEXT

app = CrmTyper(help="Saved queries: add, list, show and remove segments (segment:NAME).")

Name = Annotated[
    str,
    typer.Argument(
        help="The segment's name: letters, digits, - _ .", autocompletion=complete_segment
    ),
]
COLUMNS = [
    Column("id", "ID", justify="right", in_table=False),
    Column("name", priority=1),
    Column("query"),
    Column("contacts", justify="right"),
    Column("created_at", in_table=False),
    Column("updated_at", in_table=False),
]


def _count(conn: object, name: str) -> int:
    from crmcli import clock, query

    sql, params = query.contact_ids_sql(conn, f"segment:{name}", today=clock.today())  # type: ignore[arg-type]
    return int(conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0])  # type: ignore[attr-defined]


@app.command("add", context_settings=QUERY_CONTEXT)
def add(
    ctx: typer.Context,
    name: Name,
    query: Annotated[
        list[str], typer.Argument(metavar="QUERY...", help="The query (docs/query.md).")
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Change the segment if it exists.")
    ] = False,
) -> None:
    """Save a query as a segment.

    The query is checked now and evaluated whenever the segment is used, so the segment always
    holds the contacts that match it today. Use it as segment:NAME in any query.

    Examples: crm segment add vip-berlin 'tag:vip city:berlin' ;
    crm segment add lapsed 'last-purchase>180d spent>1000EUR' ; crm contact list segment:lapsed
    """
    from crmcli.query import join_words

    with database(ctx, write=True) as conn:
        saved = segments.save(conn, name, join_words(query), now=now(), replace=replace)
        message(
            f"Saved segment {saved.name!r}: {saved.query} "
            f"({_count(conn, saved.name)} contacts now; use it as segment:{saved.name})"
        )


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """List the segments, with how many contacts each matches now."""
    with database(ctx) as conn:
        rows = [
            {**s.to_dict(), "contacts": _count(conn, s.name)} for s in segments.list_segments(conn)
        ]
        emit(rows, COLUMNS, fmt, empty="No segments (crm segment add NAME QUERY).")


@app.command("show")
def show(
    ctx: typer.Context,
    name: Name,
    limit: Annotated[
        int | None, typer.Option(help="List at most this many contacts.", min=1)
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Show a segment: its query and the contacts it matches now."""
    from crmcli import contacts
    from crmcli.cli._query import compile_words
    from crmcli.cli.views.contacts import LIST_COLUMNS

    with database(ctx) as conn:
        saved = segments.get(conn, name)
        filters = contacts.ListFilters(
            query=compile_words(conn, [f"segment:{saved.name}"]), limit=limit
        )
        members = list(contacts.list_contacts(conn, filters))
        from crmcli.cli._output import OutputFormat

        if resolve_format(fmt) is OutputFormat.table:
            message(f"Segment {saved.name}: {saved.query}")
            emit(members, LIST_COLUMNS, fmt, empty="No contacts match it now.")
            return
        emit_record({**saved.to_dict(), "contacts": members}, fmt)


@app.command("rm")
def remove(ctx: typer.Context, name: Name, yes: YesOpt = False) -> None:
    """Remove a segment (its contacts stay as they are)."""
    with database(ctx, write=True) as conn:
        saved = segments.get(conn, name)
        confirm(f"Remove segment {saved.name!r} ({saved.query})?", yes=yes)
        segments.remove(conn, saved.name)
        message(
            f"Removed segment {saved.name!r}; it was: crm segment add {saved.name} '{saved.query}'"
        )
