"""``crm demo``: a separate demo database filled with sample data, and the day's picture."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer

from crmcli import contacts, demo
from crmcli.cli._common import now, state
from crmcli.cli._output import OutputFormat, emit, heading
from crmcli.cli.views import DEMO_VIEWS
from crmcli.cli.views.contacts import LIST_COLUMNS
from crmcli.clock import to_utc_text
from crmcli.db import DbLocation, connect, data_dir, transaction
from crmcli.errors import CrmError
from crmcli.registry import load


def _is_demo(path: Path) -> bool:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as probe:
            return bool(
                probe.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_crm_demo'"
                ).fetchone()
            )
    except sqlite3.Error:
        return False


def demo_path() -> Path:
    return data_dir() / "demo.db"


def demo_command(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Option(
            "--path",
            help="Where to build the demo database. [default: demo.db beside the real one]",
        ),
    ] = None,
) -> None:
    """Build a demo database with sample customers and show what a salesperson sees first.

    The demo lives in its own file (never your real database) and is rebuilt on every run.
    Explore it afterwards with: crm --db <that file> contact list
    """
    target = path or demo_path()
    real = state(ctx).location.path
    if target.exists() and target.resolve() == real.resolve():
        raise CrmError(f"{target} is your real database; the demo needs a file of its own (--path)")
    if target.exists() and not _is_demo(target):
        raise CrmError(f"{target} exists and is not a crmcli demo database; choose another --path")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    conn = connect(DbLocation(target, "demo", make_folder=path is None), write=True)
    try:
        with transaction(conn):
            ids = demo.build(conn, now())
            # The mark that lets the next `crm demo` replace this file, and no other.
            conn.execute("CREATE TABLE _crm_demo (built_at TEXT)")
            conn.execute("INSERT INTO _crm_demo VALUES (?)", (to_utc_text(now()),))
        # The demo is a document for a person, on a terminal or piped to a pager or a file:
        # all of it goes to stdout, each part under a heading, tables as tables.
        print(f"Demo database with {len(ids)} contacts: {target}")
        for view in DEMO_VIEWS:
            load(view)(conn)
        heading("Contacts (8 of them: crm contact list shows all)")
        emit(
            contacts.list_contacts(
                conn, contacts.ListFilters(sort="updated", descending=True, limit=8)
            ),
            LIST_COLUMNS,
            OutputFormat.table,
        )
    finally:
        conn.close()
    print(f"\nTry:\n  crm --db {target} contact show ana\n  crm --db {target} search robotics")
