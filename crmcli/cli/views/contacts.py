"""Contacts: the listing's columns, ``crm contact show`` on a terminal, and what an unmerge says."""

from __future__ import annotations

import sqlite3
from typing import Any

from crmcli import contacts
from crmcli.cli._output import Column, console, line, message

LIST_COLUMNS = [
    Column("id", "ID", priority=1),
    Column("name", priority=1),
    Column("company", priority=3),
    Column("title", in_table=False),
    Column("email"),
    Column("phone", priority=3),
    Column("tags", priority=4),
    Column("created_at", in_table=False),
    Column("updated_at", in_table=False),
]


def render_contact(record: dict[str, Any]) -> None:
    """The terminal view of one contact (``crm contact show``)."""
    from rich.table import Table

    out = console()
    out.print(line((record["name"], "bold"), "  ", (f"#{record['id']}", "dim")))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", justify="right")
    grid.add_column()

    from crmcli.cli.views.contact_rows import detail_rows

    for label, value in detail_rows(record):
        grid.add_row(line(label), line(value))
    out.print(grid)
    from crmcli.cli.views import CONTACT_SECTIONS
    from crmcli.registry import load

    for section in CONTACT_SECTIONS:
        load(section)(out, record)


def consent_section(out: Any, record: dict[str, Any]) -> None:
    """``crm contact show`` on a terminal: what the person asked for, if anything."""
    asked = record.get("consent") or {}
    for key, words in (("do_not_contact", "Do not contact"), ("email_optout", "No e-mail")):
        part = asked.get(key)
        if part:
            out.print(line((f"{words}", "bold"), f" since {part['at'][:10]} ({part['source']})"))


def report_unmerged(conn: sqlite3.Connection, pairs: list[tuple[int, int]]) -> None:
    """Say which contacts an unmerge brought back (``crm contact unmerge``, ``restore``)."""
    for keep_id, other_id in pairs:
        message(
            f"Unmerged contact {other_id} ({contacts.get(conn, other_id).name}) from "
            f"{keep_id} ({contacts.get(conn, keep_id, include_deleted=True).name}): "
            "it is back with its notes, reminders, deals and the rest"
        )
