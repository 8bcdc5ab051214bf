"""Notes and reminders: the notes' columns, and their parts of ``crm contact show``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmcli.cli._output import Column, Kind, aligned, line


def local_time(value: str | None) -> str:
    """A stored UTC timestamp as local ``2026-11-23 09:00`` for tables."""
    if not value:
        return ""
    from crmcli.clock import from_utc_text

    return from_utc_text(value).strftime("%Y-%m-%d %H:%M")


NOTE_COLUMNS = [
    Column("id", "ID", priority=1),
    Column("at", "When", show=local_time, kind=Kind.date, priority=1),
    Column("contact_id", in_table=False),
    Column("contact"),
    Column("kind", priority=3),
    Column("body", "Note", priority=1),
    Column("created_at", in_table=False),
    Column("updated_at", in_table=False),
    Column("deleted_at", in_table=False),
]


def notes_section(out: Any, record: dict[str, Any]) -> None:
    """``crm contact show``: the last notes."""
    shown = record.get("notes") or []
    if not shown:
        return
    out.print(line("\n", ("Latest notes", "bold")))
    rows = []
    for note in shown:
        first, *rest = note["body"].splitlines() or [""]
        more = " …" if rest else ""
        when, ref = local_time(note["at"]), f"note {note['id']}"
        rows.append([(when, "dim"), f"{note['kind']}: {first}{more}", (ref, "dim")])
    aligned(out, rows, prose={1})


def reminders_section(out: Any, record: dict[str, Any]) -> None:
    """``crm contact show``: the open reminders."""
    from crmcli.dates import When, format_when

    shown = record.get("reminders") or []
    if not shown:
        return
    out.print(line("\n", ("Open reminders", "bold")))
    rows = []
    for item in shown:
        at = datetime.fromisoformat(f"{item['due_date']}T{item['due_time'] or '00:00'}")
        due = format_when(When(at, item["has_time"]))
        every = f" ({item['every']})" if item["every"] else ""
        rows.append([(due, "dim"), f"{item['body']}{every}", (f"reminder {item['id']}", "dim")])
    aligned(out, rows, prose={1})
