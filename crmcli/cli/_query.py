"""The QUERY argument every command that selects contacts shares (docs/query.md)."""

from __future__ import annotations

import sqlite3
from typing import Annotated

import typer

from crmcli import clock

#: for commands with a QUERY: ``-tag:former`` is a query word, not an unknown option (a real typo
#: like ``--tga`` is then refused by the query parser)
QUERY_CONTEXT = {"ignore_unknown_options": True}

QueryArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[QUERY]...",
        help="Which contacts: tag:vip city:berlin -tag:former spent>5000EUR ... (docs/query.md).",
        show_default=False,
    ),
]


def query_text(words: list[str] | None) -> str | None:
    """The QUERY words as one query (None when none were given)."""
    if not words:
        return None
    from crmcli.query import join_words

    return join_words(words)


def compile_words(
    conn: sqlite3.Connection, words: list[str] | None
) -> tuple[str, tuple[object, ...]] | None:
    """The QUERY words compiled to SQL over ``contacts c`` (None when none were given)."""
    text = query_text(words)
    if text is None:
        return None
    from crmcli.query import compile_query

    compiled = compile_query(conn, text, today=clock.today())
    return compiled.sql, compiled.params
