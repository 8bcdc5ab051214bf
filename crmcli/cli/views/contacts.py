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

    def row(label: str, value: Any) -> None:
        if value:
            grid.add_row(line(label), line(value))

    job = " at ".join(p for p in (record.get("title"), record.get("company")) if p)
    row("work", job)
    for entry in record["emails"]:
        row(f"email {entry['label'] or ''}".strip(), entry["email"])
    for entry in record["phones"]:
        row(f"phone {entry['label'] or ''}".strip(), entry["phone"])
    address = ", ".join(
        p
        for p in (
            record.get("street"),
            " ".join(x for x in (record.get("postal_code"), record.get("city")) if x),
            record.get("region"),
            record.get("country"),
        )
        if p
    )
    row("address", address)
    row("website", record.get("website"))
    row("tags", ", ".join(record["tags"]))
    row("birthday", _yearly(record.get("birthday")))
    row("anniversary", _yearly(record.get("anniversary")))
    for other in record.get("dates", []):
        if other["kind"] == "other":
            row(other["label"], _yearly(other["date"]))
    row("source", record.get("source"))
    if record.get("referred_by"):
        row("referred by", f"{record['referred_by']['name']} (#{record['referred_by']['id']})")
    if record.get("cadence_days"):
        row("keep in touch", f"every {record['cadence_days']} days")
    for key, value in record["fields"].items():
        row(key, value)
    row("added", record["created_at"][:10])
    out.print(grid)
    from crmcli.cli.views import CONTACT_SECTIONS
    from crmcli.registry import load

    for section in CONTACT_SECTIONS:
        load(section)(out, record)


def _yearly(value: str | None) -> str | None:
    """``--04-15`` reads as "Apr 15 (year unknown)" for a person; full dates stay ISO."""
    if not value or not value.startswith("--"):
        return value
    from crmcli.dates import MONTH_NAMES

    month, day = int(value[2:4]), int(value[5:7])
    return f"{MONTH_NAMES[month - 1][:3]} {day} (year unknown)"


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
