"""``crm remind``, ``crm reminders [edit|rm|restore]``, ``crm done``, ``crm snooze``, ``crm when``."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from crmcli import contacts, reminders
from crmcli.cli._common import (
    CrmTyper,
    FormatOpt,
    YesOpt,
    ask,
    complete_contact,
    confirm,
    database,
    interactive,
    now,
    parse_when_text,
    print_created,
)
from crmcli.cli._output import (
    Column,
    OutputFormat,
    emit,
    emit_record,
    message,
    resolve_format,
)
from crmcli.clock import to_utc_text
from crmcli.errors import CrmError, UsageError

app = CrmTyper(
    help="List follow-up reminders; edit, remove and restore them.",
    invoke_without_command=True,
    no_args_is_help=False,
)

#: every key of a reminder, in JSON/CSV/TSV order
REMINDER_KEYS = [
    "id",
    "due_at",
    "due_date",
    "due_time",
    "has_time",
    "contact_id",
    "contact",
    "body",
    "every",
    "rule",
    "status",
    "done_at",
    "previous_id",
    "next_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "origin",
]
TABLE_COLUMNS = [
    Column("id", "ID", priority=1),
    Column("due", "Due", priority=1),
    Column("contact"),
    Column("body", "To do", priority=1),
    Column("every", priority=3),
]

ReminderId = Annotated[
    int, typer.Argument(help="Reminder id (see: crm reminders).", show_default=False)
]
EveryOpt = Annotated[
    str | None,
    typer.Option(
        "--every",
        "-e",
        help='Repeat: day, week, 2w, month, quarter, year, weekday, "2nd tue", fri.',
    ),
]


def _row(reminder: reminders.Reminder) -> dict[str, Any]:
    return {**reminder.to_dict(), "due": reminder.due_text}


def emit_reminders(
    items: Any, fmt: OutputFormat | None, *, empty: str | None = None, status: bool = False
) -> None:
    fmt = resolve_format(fmt)
    if fmt is OutputFormat.table:
        columns = [*TABLE_COLUMNS, Column("status")] if status else TABLE_COLUMNS
        emit((_row(r) for r in items), columns, fmt, empty=empty)
    else:
        emit((r.to_dict() for r in items), REMINDER_KEYS, fmt, empty=empty)


def _say_due(reminder: reminders.Reminder, verb: str = "due") -> str:
    text = f"Reminder {reminder.id} {verb} {reminder.due_text}"
    if reminder.every:
        text += f", {reminder.every}"
    if reminder.contact:
        text += f" ({reminder.contact})"
    return text


def _check_not_past(when: Any, what: str) -> None:
    """A due date in the past is most often a slip (-2d for +2d, last year's date): asked on a
    terminal, a warning elsewhere (a script may mean it: recording an overdue task)."""
    from crmcli.clock import local_naive
    from crmcli.dates import format_when

    current = local_naive(now())
    if when.at >= current or (not when.has_time and when.at.date() >= current.date()):
        return
    text = f"{what} {format_when(when)} is in the past"
    if interactive():
        if not ask(f"{text}; set it anyway?"):
            raise CrmError("cancelled; nothing was changed")
    else:
        message(f"Warning: {text}")


def _recurrence(every: str) -> str:
    from crmcli.dates import parse_every

    return parse_every(every)


def remind_command(
    ctx: typer.Context,
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="[REF] TEXT",
            help="Contact (id, name or email fragment) and what to do; TEXT alone: no contact.",
            autocompletion=complete_contact,
            show_default=False,
        ),
    ],
    due: Annotated[
        str | None,
        typer.Option(
            "--due", "-d", help="When: 'next tue 10am', +3d, 2026-12-01. [default: tomorrow]"
        ),
    ] = None,
    every: EveryOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Set a follow-up reminder, for a contact or (with TEXT alone) a general to-do.

    The resolved due date is echoed back. With --every the reminder repeats: completing it
    (crm done ID) schedules the next occurrence. Without --due: tomorrow, or with --every the
    rule's first day from today.

    Examples: crm remind ann "call back about the quote" --due "next tue 10am";
    crm remind "renew the domain" --due eom;  crm remind ben "weekly check-in" -d "mon 10:00" -e week
    """
    if len(words) > 2:
        raise UsageError(
            f"expected [REF] TEXT, got {len(words)} words; quote the text: "
            'crm remind ann "call back about the quote"'
        )
    ref, text = (words[0], words[1]) if len(words) == 2 else (None, words[0])
    rule = _recurrence(every) if every else None
    if due:
        when = parse_when_text(due)
        _check_not_past(when, "due date")
    elif rule:
        when = reminders.first_occurrence(rule, now().date())
    else:
        when = parse_when_text("tomorrow")
    with database(ctx, write=True) as conn:
        contact_id = contacts.resolve(conn, ref) if ref is not None else None
        reminder = reminders.add(conn, text, when, now=now(), contact_id=contact_id, rule=rule)
        message(_say_due(reminder))
        print_created(reminder.id, fmt)
        if fmt is not None:
            emit_record(reminder.to_dict(), fmt)


@app.callback()
def list_command(
    ctx: typer.Context,
    contact: Annotated[
        str | None,
        typer.Option(
            "--contact", "-c", help="Only this contact (REF).", autocompletion=complete_contact
        ),
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only past-due reminders.")] = False,
    today: Annotated[
        bool, typer.Option("--today", help="Due by the end of today (overdue included).")
    ] = False,
    week: Annotated[
        bool, typer.Option("--week", help="Due by the end of the 7th day from today.")
    ] = False,
    all_: Annotated[bool, typer.Option("--all", help="Done reminders too.")] = False,
    trash: Annotated[bool, typer.Option("--trash", help="List reminders in the trash.")] = False,
    limit: Annotated[int | None, typer.Option(help="At most this many.", min=1)] = None,
    fmt: FormatOpt = None,
) -> None:
    """List open reminders, soonest first; or edit, remove, restore one.

    Example: crm reminders --week --contact ann --format json
    """
    if ctx.invoked_subcommand is not None:
        return
    days = 0 if today else 7 if week else None
    filters = reminders.ReminderFilters(
        overdue=overdue, days=days, include_done=all_, deleted=trash, limit=limit
    )
    with database(ctx) as conn:
        if contact:
            filters.contact_id = contacts.resolve(conn, contact)
        emit_reminders(
            reminders.list_reminders(conn, filters, now=now()),
            fmt,
            empty="Nothing to do." if not trash else "The trash has no reminders.",
            status=all_ or trash,
        )


@app.command("edit")
def edit(
    ctx: typer.Context,
    reminder_id: ReminderId,
    text: Annotated[str | None, typer.Argument(help="New text.")] = None,
    due: Annotated[str | None, typer.Option("--due", "-d", help="New due date.")] = None,
    every: Annotated[
        str | None,
        typer.Option("--every", "-e", help="New recurrence (from the due date); '' stops it."),
    ] = None,
    contact: Annotated[
        str | None,
        typer.Option(
            "--contact",
            "-c",
            help="Attach to this contact (REF).",
            autocompletion=complete_contact,
        ),
    ] = None,
    no_contact: Annotated[
        bool, typer.Option("--no-contact", help="Detach from its contact.")
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """Change an open reminder: its text, due date, recurrence or contact."""
    new_due = parse_when_text(due) if due else None
    if new_due is not None:
        _check_not_past(new_due, "due date")
    changes = reminders.ReminderChanges(
        body=text,
        due=new_due,
        rule=(_recurrence(every) if every else "") if every is not None else None,
        clear_contact=no_contact,
    )
    with database(ctx, write=True) as conn:
        if contact:
            changes.contact_id = contacts.resolve(conn, contact)
        reminder = reminders.edit(conn, reminder_id, changes, now=now())
        message(_say_due(reminder, "now due"))
        if fmt is not None:
            emit_record(reminder.to_dict(), fmt)


@app.command("rm")
def remove(ctx: typer.Context, reminder_id: ReminderId, yes: YesOpt = False) -> None:
    """Move a reminder to the trash (crm reminders restore brings it back).

    A recurring reminder's series stops with it.
    """
    with database(ctx, write=True) as conn:
        reminder = reminders.get(conn, reminder_id)
        confirm(f"Move reminder {reminder_id} ({reminder.body}) to the trash?", yes=yes)
        reminders.trash(conn, reminder_id, now=now())
        message(
            f"Moved reminder {reminder_id} to the trash; undo: crm reminders restore {reminder_id}"
        )


@app.command("restore")
def restore(ctx: typer.Context, reminder_id: ReminderId) -> None:
    """Bring a reminder back from the trash (crm reminders --trash lists them)."""
    with database(ctx, write=True) as conn:
        reminder = reminders.restore(conn, reminder_id)
        message(_say_due(reminder, "restored, due"))


def done_command(
    ctx: typer.Context,
    reminder_ids: Annotated[
        list[int], typer.Argument(metavar="ID...", help="Reminder id(s).", show_default=False)
    ],
    fmt: FormatOpt = None,
) -> None:
    """Mark reminders done. A recurring one gets its next occurrence (a new id).

    Completing a reminder that is already done is refused, naming its next occurrence, so
    running the same command twice never skips an occurrence.
    """
    from crmcli.db import transaction

    changed: list[reminders.Reminder] = []
    lines: list[str] = []
    with database(ctx, write=True) as conn, transaction(conn):
        for reminder_id in dict.fromkeys(reminder_ids):
            done, following = reminders.complete(conn, reminder_id, now=now())
            changed.append(done)
            line = f"Done: reminder {done.id} ({done.body})"
            if following is not None:
                changed.append(following)
                line += f"; next: {_say_due(following)}"
            elif done.rule:
                line += "; its recurrence has ended"
            lines.append(line)
    # Said only once all of them are saved: one bad id means none was done, and nothing
    # claims otherwise.
    for line in lines:
        message(line)
    if fmt is not None:
        emit_reminders(changed, fmt)


def snooze_command(
    ctx: typer.Context,
    reminder_id: ReminderId,
    when: Annotated[
        str,
        typer.Argument(help="New due date: +2d, tomorrow, 'mon 9am'.", show_default=False),
    ],
    fmt: FormatOpt = None,
) -> None:
    """Put a reminder off to a later date (a date alone keeps its time of day).

    Example: crm snooze 12 +2d
    """
    due = parse_when_text(when)
    _check_not_past(due, "snooze date")
    with database(ctx, write=True) as conn:
        reminder = reminders.snooze(conn, reminder_id, due, now=now())
        message(_say_due(reminder, "snoozed to"))
        if fmt is not None:
            emit_record(reminder.to_dict(), fmt)


def when_command(
    expression: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[EXPR]...", help="A date expression: 'next fri', +3d, 'tomorrow 10am'."
        ),
    ] = None,
    every: EveryOpt = None,
    count: Annotated[
        int,
        typer.Option(
            "--count", "-n", help="With --every: how many dates (at most 500).", min=1, max=500
        ),
    ] = 5,
    fmt: FormatOpt = None,
) -> None:
    """Show what a date expression (or a recurrence) resolves to, without changing anything.

    Examples: crm when next fri;  crm when "tomorrow 10am";  crm when --every "2nd tue" -n 3
    """
    from crmcli.dates import When, format_when, next_occurrence_of_rule

    text = " ".join(expression or [])
    if not text and not every:
        raise UsageError("give a date expression (crm when next fri) or --every RULE")
    rule = _recurrence(every) if every else None
    if text:
        first = parse_when_text(text)
    else:
        assert rule is not None
        first = reminders.first_occurrence(rule, now().date())
    results = [first]
    if rule:
        anchor = first.at
        while len(results) < count:
            found = next_occurrence_of_rule(rule, anchor, results[-1].at)
            if found is None:
                break
            results.append(When(found, first.has_time))
    if fmt is None:
        for item in results:
            print(format_when(item))
        return
    rows = [
        {
            "input": text or None,
            "every": every,
            "date": item.at.date().isoformat(),
            "time": item.at.strftime("%H:%M") if item.has_time else None,
            "has_time": item.has_time,
            "at": to_utc_text(item.at),
            "text": format_when(item),
        }
        for item in results
    ]
    if OutputFormat(fmt) is OutputFormat.json and not rule:
        sys.stdout.write(json.dumps(rows[0], ensure_ascii=False, indent=2) + "\n")
        return
    emit(rows, ["input", "every", "date", "time", "has_time", "at", "text"], fmt)
