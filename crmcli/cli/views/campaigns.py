"""Campaigns: a letter as it will be sent, the recipients' columns, the counts, and the demo's
preview."""

from __future__ import annotations

import sqlite3
from typing import Any

from crmcli import campaigns
from crmcli.cli._common import now
from crmcli.cli._output import (
    Column,
    OutputFormat,
    console,
    emit,
    heading,
    line,
    short_time,
    text,
)

RECIPIENT_COLUMNS = [
    Column("contact_id", "ID", priority=1),
    Column("name", priority=1),
    Column("email"),
    Column("status", priority=1),
    Column("reason"),
    Column("in_query", in_table=False),
    Column("log_id", in_table=False),
    Column("sent_at", "Sent (UTC)", show=short_time, priority=3),
]


def summary(counts: campaigns.Counts) -> str:
    """``120 sent, 78 to send, 2 failed; excluded: 3 opted out, 1 no email``."""
    parts = [f"{counts.sent} sent", f"{counts.to_send} to send"]
    others = {"failed": counts.failed, "claimed": counts.claimed, "left": counts.left}
    parts += [f"{n} {status}" for status, n in others.items() if n]
    if counts.forgotten:
        parts.append(f"{counts.forgotten} sent to people erased since")
    excluded = [f"{n} {why}" for why, n in counts.excluded.items() if n]
    return ", ".join(parts) + (f"; excluded: {', '.join(excluded)}" if excluded else "")


def print_letter(letter: Any, *, html: bool) -> None:
    out = console()
    out.print(line("To: ", letter.to_name, f" <{letter.to_email or 'NO EMAIL ADDRESS'}>"))
    out.print(line("Subject: ", letter.subject))
    if letter.unsubscribe:
        out.print(
            line("List-Unsubscribe: ", f"<mailto:{letter.unsubscribe}?subject=unsubscribe ...>")
        )
    if html:
        out.print(line(("Sent as text and HTML (the body is Markdown)", "dim")))
    if letter.error:
        out.print(line(("Cannot be sent: ", "bold"), letter.error))
    out.print(line("\n"))
    out.print(text(letter.body.rstrip("\n"), multiline=True))


def sender_or_placeholder() -> str:
    from crmcli import config, mailer

    return mailer.sender_setting(config.load()) or "Your Name <you@example.invalid>"


def demo_view(conn: sqlite3.Connection) -> None:
    """``crm demo``: a campaign's preview, the message for its first recipient and who is
    excluded and why."""
    found = campaigns.list_campaigns(conn)
    if not found:
        return
    campaign = found[0]
    today = now().date()
    heading(f"Campaign preview (crm campaign preview {campaign.name})")
    recipients = campaigns.audience(conn, campaign, today=today)
    first = next((r for r in recipients if r.status == "to-send"), None)
    if first is not None:
        tpl = campaigns.text_of(conn, campaign)
        letter = campaigns.letter_for(
            conn, campaign, tpl, first, sender=sender_or_placeholder(), today=today
        )
        print_letter(letter, html=letter.html is not None)
    out = console()
    out.print(line("\n", "Recipients: ", summary(campaigns.counts(campaign, recipients))))
    emit(
        [r.to_dict() for r in recipients if r.status == "excluded"],
        RECIPIENT_COLUMNS,
        OutputFormat.table,
    )
