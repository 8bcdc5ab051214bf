"""Follow-up rules: their columns, and the demo's rules with what they set."""

from __future__ import annotations

import sqlite3

from crmcli.cli._output import Column, OutputFormat, emit, heading

COLUMNS = [
    Column("id", "ID", priority=1),
    Column("on", priority=1),
    Column("event", in_table=False),
    Column("stage", in_table=False),
    Column("actions", priority=1),
    Column("remind_when", in_table=False),
    Column("remind_text", in_table=False),
    Column("tag", in_table=False),
    Column("cadence_days", in_table=False),
    Column("fired", justify="right", priority=3),
    Column("created_at", in_table=False),
]


def demo_view(conn: sqlite3.Connection) -> None:
    """``crm demo``: the after-sales rules, and the follow-ups they set by themselves."""
    from crmcli import reminders, rules

    heading("After-sales rules (crm rule list)")
    emit([r.to_dict() for r in rules.list_rules(conn)], COLUMNS, OutputFormat.table)
    heading("Follow-ups the rules set (crm reminders)")
    found = [
        {**r.to_dict(), "due": r.due_text}
        for r in reminders.list_reminders(conn, reminders.ReminderFilters())
        if r.origin
    ]
    emit(found, SET_BY_RULE, OutputFormat.table, empty="None yet.")


SET_BY_RULE = [
    Column("id", "ID", priority=1),
    Column("due", priority=1),
    Column("contact"),
    Column("body", "To do", priority=1),
    Column("origin", "Set by"),
]
