"""``crm dedupe``: contacts that may be one person, ranked with reasons; merge the safe pairs;
dismiss the others."""

from __future__ import annotations

import sqlite3
from typing import Annotated

import typer

from crmcli import clock, contacts, dedupe
from crmcli.cli._common import CrmTyper, FormatOpt, YesOpt, complete_contact, confirm, database, now
from crmcli.cli._output import Column, OutputFormat, emit, message, resolve_format

app = CrmTyper(
    help="Find contacts that may be one person, best first, with reasons; merge the safe ones.",
    invoke_without_command=True,
    no_args_is_help=False,
)

#: pairs a terminal table shows without --limit (the rest: --limit, or another format)
TABLE_LIMIT = 50

COLUMNS = [
    Column("score", justify="right"),
    Column("contact_id", "ID", justify="right"),
    Column("contact"),
    Column("other_id", "Other ID", justify="right"),
    Column("other"),
    Column("reasons"),
    Column("same", in_table=False),
    Column("safe"),
]
MERGED_COLUMNS = [
    Column("keep_id", "Kept", justify="right"),
    Column("keep", "Contact kept"),
    Column("other_id", "Merged", justify="right"),
    Column("other", "Contact merged into it"),
]
DISMISSED_COLUMNS = [
    Column("contact_id", "ID", justify="right"),
    Column("contact"),
    Column("other_id", "Other ID", justify="right"),
    Column("other"),
    Column("dismissed_at"),
]

ContactArg = Annotated[
    str,
    typer.Argument(
        help="Contact id, or a unique fragment of a name/email.", autocompletion=complete_contact
    ),
]


@app.callback()
def dedupe_command(
    ctx: typer.Context,
    min_score: Annotated[
        int,
        typer.Option(
            "--min-score", min=0, max=100, help="Only pairs scoring at least this (0-100)."
        ),
    ] = dedupe.DEFAULT_MIN_SCORE,
    limit: Annotated[int | None, typer.Option(help="At most this many pairs.", min=1)] = None,
    query_text: Annotated[
        str | None,
        typer.Option(
            "--query",
            "-q",
            help="Only pairs of two contacts this query selects (docs/query.md).",
        ),
    ] = None,
    apply_safe: Annotated[
        bool,
        typer.Option(
            "--apply-safe",
            help="Merge the pairs with the same email and no value that differs "
            "(each into its older contact).",
        ),
    ] = False,
    yes: YesOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Find contacts that may be one person, best first, with the reasons for each pair.

    Pairs are found by shared emails, phones and similar names (case, accents, nicknames like
    Bob/Robert, swapped first and last names, typos) and scored 0-100 by the same rules as
    import and contact add (docs/identity.md). 'same' pairs are ones those rules would merge;
    'safe' ones have the same email and no differing value: --apply-safe merges those.
    Merge others with crm contact merge; hide a pair with crm dedupe dismiss A B.
    --query compares only the contacts a query selects (both of a pair), with --apply-safe too.

    Examples: crm dedupe ; crm dedupe --min-score 80 -f json ; crm dedupe --apply-safe --yes ;
    crm dedupe -q 'company:acme'
    """
    if ctx.invoked_subcommand is not None:
        return
    table = resolve_format(fmt) is OutputFormat.table
    shown = limit or (TABLE_LIMIT if table and not apply_safe else None)
    with database(ctx, write=apply_safe) as conn:
        scope = None
        if query_text is not None:
            from crmcli.query import contact_ids_sql

            scope = contact_ids_sql(conn, query_text, today=clock.today())
        found = dedupe.find_pairs(
            conn, min_score=min_score, scope=scope, limit=None if apply_safe else shown
        )
        if apply_safe:
            _apply_safe(conn, list(found.pairs), yes=yes, fmt=fmt)
            return
        # Pairs are NamedTuples in the order of COLUMNS: TSV writes them as they are.
        count = emit(found.pairs, COLUMNS, fmt, empty="No likely duplicates.", tuples=True)
    if found.total > count and table:
        message(
            f"The best {count} of {found.total} pairs; see more with --limit, "
            "or all with --format tsv"
        )


def _apply_safe(
    conn: sqlite3.Connection, pairs: list[dedupe.Pair], *, yes: bool, fmt: FormatOpt
) -> None:
    safe = [p for p in pairs if p.safe]
    if not safe:
        message("No safe pairs to merge (the same email, and no value that differs).")
        return
    confirm(f"Merge {len(safe)} pair(s) with the same email and no value that differs?", yes=yes)
    done = dedupe.apply_safe(conn, safe, now=now())
    names = {p.contact_id: p.contact for p in safe} | {p.other_id: p.other for p in safe}
    emit(
        (
            {"keep_id": keep, "keep": names.get(keep), "other_id": other, "other": names[other]}
            for keep, other in done
        ),
        MERGED_COLUMNS,
        fmt,
    )
    message(
        f"Merged {len(done)} pair(s); undo one with crm contact unmerge ID (the merged contact)"
    )


def _two(conn: sqlite3.Connection, a: str, b: str) -> tuple[int, int]:
    return contacts.resolve(conn, a), contacts.resolve(conn, b)


@app.command("dismiss")
def dismiss_command(ctx: typer.Context, first: ContactArg, second: ContactArg) -> None:
    """Do not offer this pair again: they are two people (crm dedupe undismiss undoes it)."""
    with database(ctx, write=True) as conn:
        a, b = _two(conn, first, second)
        if dedupe.dismiss(conn, a, b, now=now()):
            message(f"Dismissed the pair {min(a, b)} and {max(a, b)}: crm dedupe will not offer it")
        else:
            message(f"The pair {min(a, b)} and {max(a, b)} was dismissed already")


@app.command("undismiss")
def undismiss_command(ctx: typer.Context, first: ContactArg, second: ContactArg) -> None:
    """Offer a dismissed pair again."""
    with database(ctx, write=True) as conn:
        a, b = _two(conn, first, second)
        dedupe.undismiss(conn, a, b)
        message(f"crm dedupe offers the pair {min(a, b)} and {max(a, b)} again (if it scores)")


@app.command("dismissed")
def dismissed_command(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """List the dismissed pairs, newest first."""
    with database(ctx) as conn:
        emit(dedupe.dismissed(conn), DISMISSED_COLUMNS, fmt, empty="No dismissed pairs.")
