"""``crm template ...`` and ``crm greet ...``: message templates, greeting rules, sending greetings
exactly once, and the send log."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from crmcli import contacts
from crmcli.cli._common import (
    CrmTyper,
    Draft,
    FormatOpt,
    YesOpt,
    complete_contact,
    complete_tag,
    complete_template,
    confirm,
    database,
    edit_text,
    interactive,
    kept_on_failure,
    now,
    read_stdin_text,
    report_created,
)
from crmcli.cli._output import (
    Column,
    OutputFormat,
    console,
    emit,
    emit_record,
    line,
    message,
    short_time,
    text,
)
from crmcli.errors import UsageError

# --- templates --------------------------------------------------------------------------------

template_app = CrmTyper(
    help="Message templates for greetings and campaigns: a subject and a body with {placeholders}.",
    epilog=(
        "Placeholders: {first_name} {last_name} {name} {company} {title} {city} {email} "
        "{sender}, the customer's {purchases} {first_purchase} {first_purchase_year} "
        "{last_purchase} {last_product} {favourite_product} {total_spent} "
        "{days_since_last_purchase} {days_since_last_touch}; greetings only: {occasion} {date} "
        "{day} {weekday} {years} {nth}; campaigns only: {campaign} {unsubscribe}. "
        "{{ and }} are literal braces. See docs/dates-greetings.md and docs/campaigns.md."
    ),
)

TemplateName = Annotated[
    str,
    typer.Argument(
        help="Template name (letters, digits, _ . -).", autocompletion=complete_template
    ),
]
Subject = Annotated[str | None, typer.Option("--subject", "-s", help="Subject line.")]
Body = Annotated[str | None, typer.Option("--body", "-b", help="Body text.")]
BodyFile = Annotated[
    Path | None,
    typer.Option(
        "--body-file", help="Read the body from this file ('-' for stdin).", dir_okay=False
    ),
]
Markdown = Annotated[
    bool | None,
    typer.Option(
        "--markdown/--plain",
        help="The body is Markdown, sent as text and HTML (--plain: plain text, the default).",
        show_default=False,
    ),
]

TEMPLATE_COLUMNS = [
    Column("id", "ID", priority=1),
    Column("name", priority=1),
    Column("subject"),
    Column("body", in_table=False),
    Column("format", in_table=False),
    Column("placeholders", priority=3),
    Column("created_at", in_table=False),
    Column("updated_at", in_table=False),
]

_FORM_HELP = "Subject: {subject}\n\n{body}"


def _body_from(body: str | None, body_file: Path | None) -> str | None:
    if body is not None and body_file is not None:
        raise UsageError("give --body or --body-file, not both")
    if body_file is None:
        return body
    if str(body_file) == "-":
        return read_stdin_text("template body")
    try:
        return body_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read --body-file {body_file}: {exc}") from None


def _edit_form(subject: str, body: str, draft: Draft) -> tuple[str, str]:
    """Open $VISUAL/$EDITOR on a ``Subject:`` + body form in a private temporary file."""

    from crmcli import templates

    draft.text = edit_text(_FORM_HELP.format(subject=subject, body=body), what="template")
    return templates.parse_form(draft.text)


@template_app.command("add")
def template_add(
    ctx: typer.Context,
    name: TemplateName,
    subject: Subject = None,
    body: Body = None,
    body_file: BodyFile = None,
    markdown: Markdown = None,
    fmt: FormatOpt = None,
) -> None:
    """Save a new template; an unknown {placeholder} is refused now, not when sending.

    Without --subject/--body on a terminal, opens $EDITOR with a form.
    """
    from crmcli import templates

    text = _body_from(body, body_file)
    with kept_on_failure("template") as draft:
        if (subject is None or text is None) and interactive():
            subject, text = _edit_form(subject or "", text or "", draft)
        if subject is None or text is None:
            raise UsageError("give --subject and --body (or --body-file)")
        with database(ctx, write=True) as conn:
            templates.add(
                conn, name, subject, text, now=now(), fmt="markdown" if markdown else "text"
            )
            tpl = templates.get(conn, name)
    message(f"Added template {tpl.name}")
    report_created(tpl.name, tpl.to_dict(), fmt)


@template_app.command("edit")
def template_edit(
    ctx: typer.Context,
    name: TemplateName,
    subject: Subject = None,
    body: Body = None,
    body_file: BodyFile = None,
    markdown: Markdown = None,
    fmt: FormatOpt = None,
) -> None:
    """Change a template's subject, body or format; with none, on a terminal, opens $EDITOR."""
    from crmcli import templates

    text = _body_from(body, body_file)
    body_format = None if markdown is None else ("markdown" if markdown else "text")
    with database(ctx, write=True) as conn, kept_on_failure("template") as draft:
        if subject is None and text is None and body_format is None:
            if not interactive():
                raise UsageError("give --subject or --body (or run on a terminal for $EDITOR)")
            current = templates.get(conn, name)
            subject, text = _edit_form(current.subject, current.body, draft)
        tpl = templates.edit(conn, name, subject=subject, body=text, fmt=body_format, now=now())
    message(f"Changed template {tpl.name}")
    if fmt is not None:
        emit_record(tpl.to_dict(), fmt)


@template_app.command("list")
def template_list(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """List templates."""
    from crmcli import templates

    with database(ctx) as conn:
        rows = [t.to_dict() for t in templates.list_templates(conn)]
    emit(rows, TEMPLATE_COLUMNS, fmt, empty="No templates yet (crm template add NAME).")


def _render_template(record: dict[str, Any]) -> None:
    out = console()
    out.print(line((record["name"], "bold"), "  ", (f"#{record['id']}", "dim")))
    out.print(line("Subject: ", record["subject"], "\n"))
    out.print(text(record["body"].rstrip("\n"), multiline=True))


@template_app.command("show")
def template_show(ctx: typer.Context, name: TemplateName, fmt: FormatOpt = None) -> None:
    """Show one template."""
    from crmcli import templates

    with database(ctx) as conn:
        record = templates.get(conn, name).to_dict()
    emit_record(record, fmt, render=_render_template)


@template_app.command("rm")
def template_rm(ctx: typer.Context, name: TemplateName, yes: YesOpt = False) -> None:
    """Delete a template (refused while a greeting rule uses it)."""
    from crmcli import templates

    with database(ctx, write=True) as conn:
        tpl = templates.get(conn, name)
        confirm(f"Delete template {tpl.name}?", yes=yes)
        templates.remove(conn, tpl.name)
    message(f"Deleted template {tpl.name}")


# --- greet ------------------------------------------------------------------------------------

greet_app = CrmTyper(
    help="Send the greetings due today (exactly once), show the send log, manage rules.",
    invoke_without_command=True,
    epilog=(
        "Examples: crm greet --due --dry-run | crm greet --due --outbox ~/outbox | "
        "crm greet --due (SMTP) | crm greet log. Exit codes: 0 all due greetings delivered "
        "(or none due); 1 a greeting failed or a contact has no email (retried next run)."
    ),
)
rule_app = CrmTyper(help="Greeting rules: which template for which yearly date, when, to whom.")
greet_app.add_typer(rule_app, name="rule")

RESULT_COLUMNS = [
    Column("log_id", "Log", priority=3),
    Column("status", priority=1),
    Column("contact_id", "ID"),
    Column("name", priority=1),
    Column("occasion"),
    Column("year", in_table=False),
    Column("occurs_on", "Date"),
    Column("rule_id", in_table=False),
    Column("template", in_table=False),
    Column("to_email", "To"),
    Column("subject", priority=3),
    Column("body", in_table=False),
    Column("message_id", in_table=False),
    Column("error"),
    Column("retried", in_table=False),
]


def _print_messages(outcomes: list[Any]) -> None:
    """--dry-run on a terminal: each message as it would go out."""
    out = console()
    for index, outcome in enumerate(outcomes):
        if index:
            out.print("-" * 60)
        upcoming = outcome.item.upcoming
        out.print(line("To: ", upcoming.name, f" <{outcome.to_email or 'NO EMAIL ADDRESS'}>"))
        out.print(line("Subject: ", outcome.subject))
        out.print(line(f"Occasion: {upcoming.label} {upcoming.occurs_on.isoformat()}"))
        if outcome.status == "excluded":
            out.print(line(("Not sent: ", "bold"), f"the contact asked: {outcome.error}"))
        elif outcome.error:
            out.print(line(("Cannot be sent: ", "bold"), outcome.error))
        out.print(line("\n"))
        out.print(text(outcome.body.rstrip("\n"), multiline=True))


def _say(outcome: Any) -> None:
    d = outcome.item.upcoming
    what = f"{outcome.item.occasion} greeting to {d.name}"
    for warning in outcome.warnings:
        message(f"Warning: {what}: {warning}")
    if outcome.status == "sent":
        message(f"Sent {what} <{outcome.to_email}> (log {outcome.log_id})")
    elif outcome.status == "failed":
        message(f"Failed: {what} <{outcome.to_email}>: {outcome.error}; retried next run")
    elif outcome.status == "no-email":
        message(
            f"Not sent: {what}: the contact has no email address "
            f"(add one: crm contact edit {d.contact_id} -e ADDRESS)"
        )
    elif outcome.status == "busy":
        message(f"Skipped {what}: another crm run is sending it right now")
    elif outcome.status == "excluded":
        message(f"Not sent: {what}: {outcome.error} (crm contact show {d.contact_id})")


def _nothing_due(ctx: typer.Context) -> str:
    """Why nothing is due: often simply that no rule says what to send."""
    from crmcli import greetings, templates

    with database(ctx) as conn:
        if greetings.list_rules(conn):
            return "No greetings due today."
        names = [t.name for t in templates.list_templates(conn)]
    if not names:
        return (
            "No greetings due today: there is no template and no rule yet. Add a template "
            "(crm template add birthday), then a rule (crm greet rule add birthday birthday)"
        )
    return (
        "No greetings due today: no rule says when to send a template. Add one: "
        f"crm greet rule add birthday {names[0]}"
    )


def _dry_run(ctx: typer.Context, cfg: Any, fmt: OutputFormat | None) -> None:
    """``crm greet --due --dry-run``: the messages as they would go out; nothing written."""
    from crmcli import greetings, mailer

    sender = mailer.sender_setting(cfg) or "Your Name <you@example.invalid>"
    with database(ctx) as conn:
        items = greetings.due(conn, now().date(), feb29=cfg.feb29)
        domain = sender.rpartition("@")[2].rstrip(">")
        outcomes = [greetings.prepare(conn, i, sender=sender, sender_domain=domain) for i in items]
    if not outcomes:
        message(_nothing_due(ctx))
    elif (fmt is None and sys.stdout.isatty()) or fmt is OutputFormat.table:
        _print_messages(outcomes)
    else:
        emit([greetings.outcome_dict(o) for o in outcomes], RESULT_COLUMNS, fmt)


def _warn_without_sender(sender: str) -> None:
    if sender == "crm@localhost":
        message(
            "Warning: no From address is set, so the messages say From: crm@localhost; "
            "set smtp.from in the config file or CRM_SMTP_FROM (crm config show smtp)"
        )


def _smtp_transport(cfg: Any) -> tuple[Any, str, float]:
    """The SMTP transport, its From address and the run's deadline (asks for the password)."""
    from crmcli import mailer, transports

    settings = mailer.load_settings(cfg)
    _warn_without_sender(settings.sender)
    deadline = time.monotonic() + settings.deadline
    smtp = mailer.SmtpMailer(settings, mailer.password(settings), deadline=deadline)
    return transports.SmtpTransport(smtp), settings.sender, deadline


@greet_app.callback()
def greet(
    ctx: typer.Context,
    due: Annotated[bool, typer.Option("--due", help="Send every greeting due today.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be sent; write nothing.")
    ] = False,
    outbox: Annotated[
        Path | None,
        typer.Option(
            "--outbox",
            metavar="DIR",
            help="Write each greeting as a .eml file in DIR instead of sending (logged as sent).",
            file_okay=False,
        ),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Send the greetings due today through SMTP, each exactly once, and log them.

    Rules (crm greet rule add) say which template goes with which date and how many days
    ahead. A failed send is logged and retried on the next run. Run it daily from cron; see
    docs/dates-greetings.md for SMTP settings and the exactly-once rule.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not due:
        raise UsageError("add --due to send the greetings due today (or see crm greet --help)")
    if dry_run and outbox is not None:
        raise UsageError("give --dry-run or --outbox, not both")
    from crmcli import config, greetings, mailer, transports

    cfg = config.load()
    today = now().date()
    if dry_run:
        _dry_run(ctx, cfg, fmt)
        return

    transport: Any
    deadline: float | None = None
    if outbox is not None:
        sender = mailer.sender_setting(cfg) or "crm@localhost"
        transport = transports.OutboxTransport(outbox)
    with database(ctx, write=True) as conn:
        items = greetings.due(conn, today, feb29=cfg.feb29)
        if not items:
            message(_nothing_due(ctx))
            if fmt is not None:
                emit([], RESULT_COLUMNS, fmt)
            return
        if outbox is None:
            # the SMTP settings only once something is due: no password prompt, no error else
            transport, sender, deadline = _smtp_transport(cfg)
        else:
            _warn_without_sender(sender)
        outcomes = greetings.deliver_due(
            conn,
            items,
            transport=transport,
            sender=sender,
            now=now,
            report=_say,
            deadline=deadline,
        )
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    message("Greetings: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    if fmt is not None:
        emit([greetings.outcome_dict(o) for o in outcomes], RESULT_COLUMNS, fmt)
    if counts.get("failed") or counts.get("no-email"):
        raise typer.Exit(1)


LOG_COLUMNS = [
    Column("id", "ID", priority=1),
    Column("sent_at", "Sent (UTC)", show=short_time, priority=1),
    Column("status", priority=1),
    Column("method", in_table=False),
    Column("contact_id", in_table=False),
    Column("name", priority=1),
    Column("occasion"),
    Column("year", justify="right", priority=3),
    Column("occurs_on", in_table=False),
    Column("to_email", in_table=False),
    Column("subject", in_table=False),
    Column("attempts", in_table=False),
    Column("claimed_at", in_table=False),
    Column("error"),
    Column("message_id", in_table=False),
]


@greet_app.command("log")
def greet_log(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="Only sent, failed or claimed.")
    ] = None,
    contact: Annotated[
        str | None,
        typer.Option(
            "--contact",
            "-c",
            metavar="REF",
            help="Only this contact.",
            autocompletion=complete_contact,
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="At most N entries.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Show what went out (and what failed), newest first."""
    from crmcli import greetings

    with database(ctx) as conn:
        contact_id = contacts.resolve(conn, contact) if contact else None
        emit(
            greetings.log(conn, status=status, contact_id=contact_id, limit=limit),
            LOG_COLUMNS,
            fmt,
            empty="No greetings sent yet.",
        )


RULE_COLUMNS = [
    Column("id", "ID", priority=1),
    Column("occasion", priority=1),
    Column("template", priority=1),
    Column("days_before", "Days before", justify="right"),
    Column("tag"),
    Column("to_opted_out", "To opted out", in_table=False),
    Column("created_at", in_table=False),
]


@rule_app.command("add")
def rule_add(
    ctx: typer.Context,
    occasion: Annotated[
        str, typer.Argument(help="birthday, anniversary, or a date label ('customer since').")
    ],
    template: Annotated[
        str, typer.Argument(help="Template name.", autocompletion=complete_template)
    ],
    days_before: Annotated[
        int, typer.Option("--days-before", help="Send this many days ahead (0 = on the day).")
    ] = 0,
    tag: Annotated[
        str | None,
        typer.Option(
            "--tag", "-t", help="Only contacts with this tag.", autocompletion=complete_tag
        ),
    ] = None,
    to_opted_out: Annotated[
        bool,
        typer.Option(
            "--to-opted-out",
            help="Greet contacts who opted out of e-mail campaigns too (never do-not-contact).",
        ),
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """Greet contacts on a yearly date with a template.

    One greeting per contact, occasion and year: when several rules fit a contact, a rule
    with a matching --tag wins over one for everyone. Contacts who opted out of e-mail are
    not greeted unless --to-opted-out; contacts marked do-not-contact never are.
    """
    from crmcli import greetings

    with database(ctx, write=True) as conn:
        known = greetings.known_occasions(conn)
        rule = greetings.add_rule(
            conn,
            occasion,
            template,
            days_before=days_before,
            tag=tag,
            to_opted_out=to_opted_out,
            now=now(),
        )
    if rule.occasion.lower() not in {k.lower() for k in known}:
        message(
            f"Note: no contact has a date labelled {rule.occasion!r} yet; the rule greets "
            f"those that get one (crm dates add REF {rule.occasion!r} DATE)"
        )
    ahead = f"{rule.days_before} days ahead" if rule.days_before else "on the day"
    who = f"contacts tagged {rule.tag}" if rule.tag else "every contact"
    message(f"Added rule {rule.id}: {rule.occasion} -> {rule.template}, {ahead}, to {who}")
    report_created(rule.id, rule.to_dict(), fmt)


@rule_app.command("list")
def rule_list(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """List greeting rules."""
    from crmcli import greetings

    with database(ctx) as conn:
        rows = [r.to_dict() for r in greetings.list_rules(conn)]
    emit(rows, RULE_COLUMNS, fmt, empty="No greeting rules yet (crm greet rule add).")


@rule_app.command("rm")
def rule_rm(
    ctx: typer.Context,
    rule_id: Annotated[int, typer.Argument(metavar="ID", help="Rule id (crm greet rule list).")],
    yes: YesOpt = False,
) -> None:
    """Remove a greeting rule (the send log keeps what it sent)."""
    from crmcli import greetings

    with database(ctx, write=True) as conn:
        confirm(f"Remove greeting rule {rule_id}?", yes=yes)
        rule = greetings.remove_rule(conn, rule_id)
    message(f"Removed rule {rule.id}: {rule.occasion} -> {rule.template}")
