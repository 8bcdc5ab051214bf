"""``crm campaign ...``: one personal message to each contact of a segment or query, sent
exactly once per contact, in batches if you like, with a report of who got it and who did not."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from crmcli import campaigns
from crmcli.cli._common import (
    CrmTyper,
    FormatOpt,
    YesOpt,
    complete_campaign,
    complete_segment,
    complete_template,
    confirm,
    database,
    now,
    report_created,
)
from crmcli.cli._output import (
    Column,
    OutputFormat,
    console,
    emit,
    emit_record,
    message,
    resolve_format,
    short_time,
)
from crmcli.cli.views.campaigns import (
    RECIPIENT_COLUMNS,
    print_letter,
    sender_or_placeholder,
    summary,
)
from crmcli.errors import CrmError, UsageError

app = CrmTyper(
    help="Campaigns: one personal message to each contact of a segment, exactly once.",
    epilog=(
        "Example: crm campaign add spring --segment big-spenders --template spring-offer ; "
        "crm campaign preview spring ; crm campaign send spring --limit 100 --rate 30/min ; "
        "crm campaign show spring. See docs/campaigns.md."
    ),
)

Name = Annotated[str, typer.Argument(help="The campaign's name.", autocompletion=complete_campaign)]


LIST_COLUMNS = [
    Column("id", "ID", in_table=False),
    Column("name", priority=1),
    Column("query"),
    Column("template", priority=3),
    Column("sent", justify="right", priority=1),
    Column("to_send", "To send", justify="right", priority=1),
    Column("failed", justify="right"),
    Column("excluded", justify="right"),
    Column("locked_at", "First sent (UTC)", show=short_time, priority=3),
    Column("created_at", in_table=False),
    Column("updated_at", in_table=False),
]
RESULT_COLUMNS = [
    Column("log_id", "Log", priority=3),
    Column("status", priority=1),
    Column("contact_id", "ID"),
    Column("name", priority=1),
    Column("to_email", "To"),
    Column("subject", priority=3),
    Column("message_id", in_table=False),
    Column("error"),
    Column("retried", in_table=False),
]
#: the order a report lists recipients in: what needs a look first
_STATUS_ORDER = {"failed": 0, "claimed": 1, "left": 2, "excluded": 3, "to-send": 4, "sent": 5}


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name: letters, digits, - _ .")],
    template: Annotated[
        str,
        typer.Option(
            "--template",
            "-T",
            help="The message (crm template add).",
            autocompletion=complete_template,
        ),
    ],
    segment: Annotated[
        str | None,
        typer.Option(
            "--segment", "-s", help="Who: a saved segment.", autocompletion=complete_segment
        ),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="Who: a query (docs/query.md); 'all' for everyone."),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Add a campaign: a template for the contacts of a segment or query.

    Nothing is sent yet: crm campaign preview shows the message and who gets it; crm campaign
    send sends it. The segment is read when sending, so it reaches who is in it then.
    """
    with database(ctx, write=True) as conn:
        found = campaigns.add(
            conn, name, query=query, segment=segment, template=template, now=now()
        )
        counts = campaigns.counts(found, campaigns.audience(conn, found, today=now().date()))
    message(
        f"Added campaign {found.name} ({found.query}, template {found.template}): {summary(counts)}"
    )
    report_created(found.name, found.to_dict(), fmt)


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """List the campaigns, with how many messages went out and how many are still to send."""
    with database(ctx) as conn:
        rows = []
        for found in campaigns.list_campaigns(conn):
            counts = campaigns.counts(found, campaigns.audience(conn, found, today=now().date()))
            rows.append(
                {
                    **found.to_dict(),
                    "sent": counts.sent + counts.forgotten,
                    "to_send": counts.to_send,
                    "failed": counts.failed,
                    "excluded": sum(counts.excluded.values()),
                }
            )
    emit(
        rows,
        LIST_COLUMNS,
        fmt,
        empty="No campaigns yet (crm campaign add NAME --segment S --template T).",
    )


@app.command("preview")
def preview(
    ctx: typer.Context,
    name: Name,
    ref: Annotated[
        str | None,
        typer.Argument(help="Render it for this contact (default: the first one to send to)."),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Show the message as one contact will get it, and who is in and who is excluded and why.

    Nothing is written. Table: the message, the figures, then every recipient with their status
    (to-send, sent, failed, excluded...) and the reason. JSON: all of it in one object; CSV,
    TSV, JSONL: the recipients.
    """
    from crmcli import contacts

    with database(ctx) as conn:
        found = campaigns.get(conn, name)
        today = now().date()
        recipients = campaigns.audience(conn, found, today=today)
        if ref is not None:
            contact_id = contacts.resolve(conn, ref)
            chosen = next((r for r in recipients if r.contact_id == contact_id), None)
            if chosen is None:
                contact = contacts.get(conn, contact_id)
                chosen = campaigns.Recipient(
                    contact.id, contact.name, contact.emails[0].value if contact.emails else None,
                    "not in the campaign", "the query does not find this contact", False, None, None,
                )  # fmt: skip
        else:
            chosen = next((r for r in recipients if r.status == "to-send"), None)
            chosen = chosen or (recipients[0] if recipients else None)
        tpl = campaigns.text_of(conn, found)
        letter = None
        if chosen is not None:
            letter = campaigns.letter_for(
                conn, found, tpl, chosen, sender=sender_or_placeholder(), today=today
            )
        counts = campaigns.counts(found, recipients)
    ordered = sorted(recipients, key=lambda r: (_STATUS_ORDER.get(r.status, 9), r.contact_id))
    shape = resolve_format(fmt)
    if shape is OutputFormat.json:
        emit_record(
            {
                **found.to_dict(),
                "message": (
                    {**campaigns.outcome_dict(letter), "body": letter.body, "html": letter.html}
                    if letter
                    else None
                ),
                "counts": counts.to_dict(),
                "recipients": [r.to_dict() for r in ordered],
            },
            fmt,
        )
        return
    if shape is OutputFormat.table:
        message(f"Campaign {found.name}: {found.query}, template {found.template}")
        if letter is None:
            message("Nobody is in the campaign's query now.")
        else:
            if chosen is not None and chosen.status != "to-send":
                message(f"Shown for {chosen.name}, who is {chosen.status}: {chosen.reason or ''}")
            print_letter(letter, html=letter.html is not None)
        message(f"Recipients: {summary(counts)}")
    emit([r.to_dict() for r in ordered], RECIPIENT_COLUMNS, fmt)


@app.command("show")
def show(
    ctx: typer.Context,
    name: Name,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="Only recipients in this state: sent, to-send, failed, excluded..."
        ),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """The campaign's report: sent, failed (with reasons), excluded (no email, opted out, do not
    contact), still to send; every recipient with their status.

    JSON: one object with the figures and the recipients; CSV, TSV, JSONL: the recipients.
    """
    with database(ctx) as conn:
        report = campaigns.report(conn, name, today=now().date())
    recipients = sorted(
        report.recipients, key=lambda r: (_STATUS_ORDER.get(r.status, 9), r.contact_id)
    )
    if status is not None:
        recipients = [r for r in recipients if r.status == status.strip().lower()]
    shape = resolve_format(fmt)
    if shape is OutputFormat.json:
        emit_record(report._replace(recipients=recipients).to_dict(), fmt)
        return
    if shape is OutputFormat.table:
        found = report.campaign
        message(
            f"Campaign {found.name}: {found.query}, template {found.template}; "
            f"first sent: {found.locked_at or 'not yet'}"
        )
        message(summary(report.counts))
    emit([r.to_dict() for r in recipients], RECIPIENT_COLUMNS, fmt, empty="No recipients.")


def _say(letter: Any) -> None:
    what = f"{letter.to_name} <{letter.to_email}>"
    for warning in letter.warnings:
        message(f"Warning: {what}: {warning}")
    if letter.status == "sent":
        message(f"Sent to {what} (log {letter.log_id})")
    elif letter.status == "failed":
        message(f"Failed: {what}: {letter.error}; retried next run")
    elif letter.status == "busy":
        message(f"Skipped {what}: another crm run is sending it right now")


def _transport(outbox: Path | None) -> tuple[Any, str]:
    """Where the messages go, and the From address (also where unsubscribe requests go, so it
    must be a real one, for an outbox too)."""
    from crmcli import config, mailer, transports

    cfg = config.load()
    sender = mailer.sender_setting(cfg)
    if sender is None:
        raise CrmError(
            "no From address: a campaign needs smtp.from (unsubscribe requests go there); "
            "set it in the config file or CRM_SMTP_FROM (crm config show smtp)"
        )
    if outbox is not None:
        return transports.OutboxTransport(outbox), sender
    settings = mailer.load_settings(cfg)
    mail = mailer.SmtpMailer(settings, mailer.password(settings))
    return transports.SmtpTransport(mail), settings.sender


@app.command("send")
def send(
    ctx: typer.Context,
    name: Name,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent; write nothing.")
    ] = False,
    outbox: Annotated[
        Path | None,
        typer.Option(
            "--outbox",
            metavar="DIR",
            help="Write each message as a .eml file in DIR instead of sending (logged as sent).",
            file_okay=False,
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="Send at most N messages (a batch).", min=1)
    ] = None,
    rate: Annotated[
        str | None,
        typer.Option("--rate", metavar="N/min", help="At most N messages a minute (30/min, 1/s)."),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Send the campaign to each contact who has no message from it yet, exactly once.

    A second run (or a batch after --limit) continues where the last one stopped; a failed
    message is retried then. Opted-out and do-not-contact contacts and contacts without an
    email get nothing, whatever the query says. Exit codes: 0 every attempted message went out
    (or none was left), 1 a message failed (retried next run).
    """
    if dry_run and outbox is not None:
        raise UsageError("give --dry-run or --outbox, not both")
    interval = campaigns.parse_rate(rate) if rate is not None else 0.0
    if dry_run:
        _dry_run(ctx, name, limit, fmt)
        return
    letters: list[Any] = []
    with database(ctx, write=True) as conn:
        found = campaigns.get(conn, name)
        waiting = campaigns.counts(found, campaigns.audience(conn, found, today=now().date()))
        # the settings (and a password command) only once there is something to send
        if waiting.to_send or waiting.failed or waiting.claimed:
            transport, sender = _transport(outbox)
            letters = campaigns.send(
                conn, name, transport=transport, sender=sender, now=now, limit=limit,
                interval=interval, report=_say,
            )  # fmt: skip
        report = campaigns.report(conn, name, today=now().date())
    tally: dict[str, int] = {}
    for letter in letters:
        tally[letter.status] = tally.get(letter.status, 0) + 1
    done = ", ".join(f"{n} {status}" for status, n in sorted(tally.items())) or "nothing to send"
    message(f"Campaign {report.campaign.name}: {done} in this run; now {summary(report.counts)}")
    if report.counts.to_send or report.counts.failed:
        message(f"Continue with: crm campaign send {report.campaign.name}")
    if fmt is not None:
        emit([campaigns.outcome_dict(letter) for letter in letters], RESULT_COLUMNS, fmt)
    if tally.get("failed"):
        raise typer.Exit(1)


def _dry_run(ctx: typer.Context, name: str, limit: int | None, fmt: Any) -> None:
    with database(ctx) as conn:
        found = campaigns.get(conn, name)
        letters: list[Any] = []
        for letter in campaigns.pending_letters(
            conn, found, sender=sender_or_placeholder(), today=now().date()
        ):
            if limit is not None and len(letters) >= limit:
                break
            letters.append(letter)
    if not letters:
        message(
            f"Nothing to send: every contact of campaign {found.name} has had it or is excluded"
        )
    elif (fmt is None and sys.stdout.isatty()) or fmt is OutputFormat.table:
        for index, letter in enumerate(letters):
            if index:
                console().print("-" * 60)
            print_letter(letter, html=letter.html is not None)
        message(f"{len(letters)} message(s) would be sent; nothing was written")
    else:
        emit([campaigns.outcome_dict(letter) for letter in letters], RESULT_COLUMNS, fmt)


@app.command("rm")
def remove(ctx: typer.Context, name: Name, yes: YesOpt = False) -> None:
    """Remove a campaign and its send log (the notes in the contacts' histories stay)."""
    with database(ctx, write=True) as conn:
        found = campaigns.get(conn, name)
        sent = campaigns.sent_count(conn, found.id)
        warning = (
            f"; it sent {sent} message(s), and adding it again would send them again"
            if sent
            else ""
        )
        confirm(f"Remove campaign {found.name}{warning}?", yes=yes)
        campaigns.remove(conn, found.name)
    message(f"Removed campaign {found.name}")
