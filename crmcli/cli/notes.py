"""``crm note``, ``crm notes [edit|rm|restore]`` and ``crm history``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from crmcli import contacts, notes
from crmcli.cli._common import (
    ContactRef,
    CrmTyper,
    Draft,
    FormatOpt,
    YesOpt,
    complete_contact,
    complete_tag,
    confirm,
    database,
    edit_text,
    interactive,
    kept_on_failure,
    now,
    parse_when_text,
    print_created,
    read_stdin_text,
)
from crmcli.cli._output import Column, Kind, OutputFormat, emit, emit_record, message
from crmcli.cli.views.notes import NOTE_COLUMNS, local_time
from crmcli.errors import UsageError

app = CrmTyper(
    help="List notes across contacts; edit, remove and restore them.",
    invoke_without_command=True,
    no_args_is_help=False,
)


NoteId = Annotated[int, typer.Argument(help="Note id (see: crm notes).", show_default=False)]
KindOpt = Annotated[
    str | None,
    typer.Option("--kind", "-k", help="call, email, meeting, note (default), or any word."),
]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="When it happened, if not now: yesterday, 'fri 14:30', -2d."),
]
EditorOpt = Annotated[
    bool, typer.Option("--editor", help="Write the text in $EDITOR even when not on a terminal.")
]


def note_text(
    text: str | None, *, editor: bool, initial: str = "", draft: Draft | None = None
) -> str | None:
    """TEXT as given, stdin for ``-``, $EDITOR when asked or on a terminal; None: none given.
    What was typed in the editor is also kept in ``draft``, in case saving it fails."""
    if text == "-":
        return read_stdin_text("note")
    if text is not None:
        return text
    if editor or interactive():
        typed = edit_text(initial, what="note")
        if draft is not None:
            draft.text = typed
        return typed
    return None


def _print_note(note: notes.Note, fmt: OutputFormat | None) -> None:
    if fmt is not None:
        emit_record(note.to_dict(), fmt)


def note_command(
    ctx: typer.Context,
    ref: Annotated[
        str | None,
        typer.Argument(
            help="Contact id, or a unique fragment of name or email.",
            autocompletion=complete_contact,
        ),
    ] = None,
    text: Annotated[
        str | None,
        typer.Argument(help="The note; '-' reads it from stdin; omitted: opens $EDITOR."),
    ] = None,
    kind: KindOpt = None,
    at: AtOpt = None,
    editor: EditorOpt = False,
    from_mail: Annotated[
        bool,
        typer.Option(
            "--from-mail",
            help="Read an e-mail on stdin and note it for the contacts in its From/To/Cc.",
        ),
    ] = False,
    add_sender: Annotated[
        bool,
        typer.Option("--add-sender", help="With --from-mail: add an unknown sender as a contact."),
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """Write down what happened with a contact: a call, an email, a meeting.

    The text comes from the argument, from stdin with '-', or from $EDITOR when omitted on a
    terminal. --at records something that happened earlier. --from-mail records a piped e-mail
    (subject, date, first lines) as an 'email' note dated when it was sent, once per message.

    Examples: crm note ann "Called, wants a quote by Friday" --kind call;
    crm note ann --at "yesterday 16:00" -k meeting "Demo went well";
    crm note ann - < call-notes.txt;  crm note --from-mail < message.eml
    """
    if from_mail:
        if text is not None or kind or at or editor:
            raise UsageError("--from-mail takes the text, kind and date from the message")
        from crmcli.cli._mail import note_from_mail

        note_from_mail(ctx, ref, add_sender=add_sender, fmt=fmt)
        return
    if ref is None:
        raise UsageError("give the contact: crm note REF TEXT (or crm note --from-mail)")
    moment = parse_when_text(at).at if at else None
    with database(ctx, write=True) as conn, kept_on_failure("note") as draft:
        contact_id = contacts.resolve(conn, ref)
        body = note_text(text, editor=editor, draft=draft)
        if body is None:
            raise UsageError(
                "no note text: give it as an argument, '-' to read it from stdin, "
                "or --editor to write it in $EDITOR"
            )
        from crmcli.clock import local_naive

        current = local_naive(now())
        note_id = notes.add(conn, contact_id, body, now=current, kind=kind or "note", at=moment)
        note = notes.get(conn, note_id)
        message(f"Added note {note_id} to {note.contact} ({note.kind}, {local_time(note.at)})")
        print_created(note_id, fmt)
        _print_note(note, fmt)


@app.callback()
def list_notes(
    ctx: typer.Context,
    contact: Annotated[
        str | None,
        typer.Option(
            "--contact", "-c", help="Only this contact (REF).", autocompletion=complete_contact
        ),
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", "-k", help="Only this kind. Repeatable.")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            "-t",
            help="Only contacts with this tag (repeat: all of them).",
            autocompletion=complete_tag,
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Happened on or after: 2026-11-01, -2w, 'last mon'.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Happened before (a date alone: up to its end).")
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", "-q", help="The note contains this text.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.", min=1)] = None,
    oldest_first: Annotated[bool, typer.Option("--oldest-first", help="Oldest first.")] = False,
    trash: Annotated[bool, typer.Option("--trash", help="List the notes in the trash.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """List notes across contacts, newest first; or edit, remove, restore one.

    Example: crm notes --kind call --since -2w --tag vip --format csv
    """
    if ctx.invoked_subcommand is not None:
        return
    filters = notes.NoteFilters(
        kinds=list(kind or []),
        tags=list(tag or []),
        text=text,
        limit=limit,
        deleted=trash,
        oldest_first=oldest_first,
    )
    if since:
        filters.since = parse_when_text(since).at
    if until:
        end = parse_when_text(until)
        filters.until = end.at if end.has_time else end.at + timedelta(days=1)
    with database(ctx) as conn:
        if contact:
            filters.contact_id = contacts.resolve(conn, contact)
        emit(
            (note.to_dict() for note in notes.list_notes(conn, filters)),
            NOTE_COLUMNS,
            fmt,
            empty="The trash has no notes." if trash else "No notes.",
        )


@app.command("edit")
def edit(
    ctx: typer.Context,
    note_id: NoteId,
    text: Annotated[
        str | None,
        typer.Argument(help="The new text; '-' reads stdin; omitted: $EDITOR (on a terminal)."),
    ] = None,
    kind: KindOpt = None,
    at: AtOpt = None,
    editor: EditorOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Change a note's text, kind or time.

    Without new text or options, on a terminal (or with --editor), opens the note in $EDITOR.
    """
    moment = parse_when_text(at).at if at else None
    with database(ctx, write=True) as conn, kept_on_failure("note") as draft:
        note = notes.get(conn, note_id)
        body: str | None = None
        if text is not None or editor or (kind is None and at is None):
            body = note_text(text, editor=editor, initial=note.body + "\n", draft=draft)
            if body is None:
                raise UsageError(
                    "nothing to change: give new text, '-' for stdin, --kind, --at or --editor"
                )
            if body.strip() == note.body and kind is None and moment is None:
                message("No changes.")
                return
        from crmcli.clock import local_naive

        saved = notes.edit(conn, note_id, now=local_naive(now()), body=body, kind=kind, at=moment)
        message(f"Updated note {note_id} ({saved.contact}, {saved.kind}, {local_time(saved.at)})")
        _print_note(saved, fmt)


@app.command("rm")
def remove(ctx: typer.Context, note_id: NoteId, yes: YesOpt = False) -> None:
    """Move a note to the trash (crm notes restore brings it back)."""
    with database(ctx, write=True) as conn:
        note = notes.get(conn, note_id)
        confirm(
            f"Move note {note_id} ({note.contact}, {local_time(note.at)}) to the trash?", yes=yes
        )
        notes.trash(conn, note_id, now=now())
        message(f"Moved note {note_id} to the trash; undo: crm notes restore {note_id}")


@app.command("restore")
def restore(ctx: typer.Context, note_id: NoteId) -> None:
    """Bring a note back from the trash (crm notes --trash lists them)."""
    with database(ctx, write=True) as conn:
        note = notes.restore(conn, note_id)
        message(f"Restored note {note_id} ({note.contact}, {local_time(note.at)})")


HISTORY_COLUMNS = [
    Column("at", "When", show=local_time, kind=Kind.date, priority=1),
    Column("event"),
    Column("text", priority=1),
    Column("ref", kind=Kind.id, justify="left", priority=3),
]


def history_command(
    ctx: typer.Context,
    ref: ContactRef,
    limit: Annotated[int | None, typer.Option(help="Only the latest N events.", min=1)] = None,
    fmt: FormatOpt = None,
) -> None:
    """Show a contact's whole journey, newest first: notes, reminders set and done, and more.

    Example: crm history ann --limit 20
    """
    from crmcli import history

    with database(ctx) as conn:
        contact_id = contacts.resolve(conn, ref)
        events = history.timeline(conn, contact_id, limit=limit)
        emit(
            (event.to_dict() for event in events),
            HISTORY_COLUMNS,
            fmt,
            title=None,
            empty="No history yet (add one: crm note REF TEXT).",
        )
