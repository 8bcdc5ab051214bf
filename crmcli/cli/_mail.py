"""An e-mail piped in from a mail client: ``crm note --from-mail`` makes it a note, ``crm optout
--from-mail`` reads an unsubscribe request from it."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from crmcli import contacts
from crmcli.cli._common import database, now, print_created
from crmcli.cli._output import OutputFormat, emit, message
from crmcli.errors import CrmError, UsageError

#: the most a piped message may weigh: a note needs its headers and first lines only
MAX_MESSAGE_BYTES = 50 * 1024 * 1024


def ask_terminal(question: str) -> bool | None:
    """A yes/no question on the terminal itself (/dev/tty), since stdin is the message.
    None when there is no terminal (cron, a mail filter)."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    try:
        os.write(tty, f"{question} [y/N]: ".encode())
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = os.read(tty, 1)
            if not chunk:  # Ctrl-D
                os.write(tty, b"\n")
                break
            answer += chunk
    finally:
        os.close(tty)
    return answer.decode(errors="replace").strip().lower() in ("y", "yes")


def read_message(how: str = "") -> bytes:
    """The message on stdin (at most :data:`MAX_MESSAGE_BYTES`); ``how`` ends the message
    given when stdin is a terminal (how to pipe one in)."""
    if sys.stdin.isatty():
        raise UsageError(f"--from-mail reads the message on stdin: pipe it in{how}")
    data = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
    if len(data) > MAX_MESSAGE_BYTES:
        raise UsageError(f"the message on stdin is over {MAX_MESSAGE_BYTES // 2**20} MB")
    return data


def _add_sender(conn: Any, sender: tuple[str, str]) -> int:
    from crmcli.contact_changes import ContactChanges
    from crmcli.contacts import Labeled

    name, address = sender
    first, _, last = name.partition(" ") if name else ("", "", "")
    changes = ContactChanges(
        text={"first_name": first or None, "last_name": last or None, "source": "e-mail"},
        add_emails=[Labeled(address, None)],
    )
    contact_id = contacts.create(conn, changes, now=now())
    message(f"Added contact {contact_id}: {contacts.get(conn, contact_id).name} <{address}>")
    return contact_id


def _who(conn: Any, mail: Any, ref: str | None, add_sender: bool) -> list[int]:
    """The contacts to note the message for; an unknown sender is added when asked to."""
    from crmcli import mail_notes

    if ref is not None:
        return [contacts.resolve(conn, ref)]
    found = mail_notes.concerned(conn, mail)
    if found:
        return found
    people = ", ".join(a for _, a in ([mail.sender] if mail.sender else []) + mail.recipients)
    if mail.sender and not add_sender:
        name, address = mail.sender
        shown = f"{name} <{address}>" if name else address
        add_sender = bool(ask_terminal(f"No contact has {people}. Add {shown} as a contact?"))
    if add_sender and mail.sender:
        return [_add_sender(conn, mail.sender)]
    raise CrmError(
        f"no contact has any address of this message ({people}); add the sender with "
        "--add-sender, or name the contact: crm note REF --from-mail"
    )


def note_from_mail(
    ctx: typer.Context, ref: str | None, *, add_sender: bool, fmt: OutputFormat | None
) -> None:
    """Read the message, find its contacts, record one note each (once per Message-ID)."""
    from crmcli import mail_notes, notes
    from crmcli.cli.views.notes import NOTE_COLUMNS, local_time
    from crmcli.clock import local_naive
    from crmcli.db import transaction
    from crmcli.io.mail import parse

    mail = parse(read_message(" (in mutt: | crm note --from-mail)"))
    with database(ctx, write=True) as conn, transaction(conn):
        recorded = mail_notes.record(
            conn, mail, _who(conn, mail, ref, add_sender), now=local_naive(now())
        )
        shown = [notes.get(conn, r.note_id, include_deleted=True) for r in recorded]
    for done, note in zip(recorded, shown, strict=True):
        if done.new:
            message(f"Added note {note.id} to {note.contact} (email, {local_time(note.at)})")
        else:
            message(f"Already recorded: note {note.id} of {note.contact} is this message")
    if fmt is not None:
        emit((n.to_dict() for n in shown), NOTE_COLUMNS, fmt)
    else:
        for note in shown:
            print_created(note.id, None)
