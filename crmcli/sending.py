"""Sending each message exactly once: the send log, the claim before sending, the outcome after.

Greetings and campaigns both send through here (docs/dates-greetings.md and docs/campaigns.md
explain it for users). Step by step:

1. Each message has one row in ``sends``, named by its identity: a greeting by (contact,
   occasion, year of the occasion), a campaign message by (campaign, contact); two UNIQUE
   indexes hold that. A run *claims* the row in a write transaction (BEGIN IMMEDIATE) before
   sending: a missing row is inserted as ``claimed``; a ``failed`` one is claimed again (a
   retry); a ``sent`` one is skipped. Two runs at once serialise on the write lock, so only one
   claims.
2. The message is handed to the SMTP server (or written to the outbox).
3. Once the server has accepted it, the row becomes ``sent`` and the contact's history gets
   its note, in one transaction; if it was refused, ``failed`` with the reason, and the next
   run retries it.

A crash between 2 and 3 leaves a ``claimed`` row with no outcome. Such a claim is taken over by
a later run once its owner is known to be gone (same machine, process no longer running) or
after :data:`CLAIM_TIMEOUT`; the message is then sent again with the same Message-ID. So a
message is never lost; it is sent twice only if the crash falls in the instant between the
server's acceptance and the log update, and that duplicate carries the same Message-ID.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crmcli.clock import from_utc_text, to_utc_text
from crmcli.db import savepoint, transaction
from crmcli.errors import CrmError
from crmcli.mailer import SendError
from crmcli.transports import Transport

#: a claim with no outcome older than this is taken to be a crashed run's (see module docstring)
CLAIM_TIMEOUT = timedelta(minutes=30)
#: the states of a row of the send log
STATUSES = ("sent", "failed", "claimed")


@dataclass
class Letter:
    """One message to one contact: rendered, with its place in the send log, and (once a run
    has dealt with it) what happened to it.

    ``identity`` are the log columns that name the message (see the module docstring);
    ``columns`` more log columns, written at each claim. ``item`` is what the message is for
    (a greeting's :class:`crmcli.greetings.Due`, a campaign's recipient). ``note_label`` says
    what the contact's history records once it is sent ("birthday greeting"). With
    ``unsubscribe`` (the sender's address) the message carries ``List-Unsubscribe`` with the
    row's token. ``status``: would-send, sent, failed, no-email, skipped (sent before) or busy
    (another run is sending it)."""

    kind: str
    identity: dict[str, Any]
    contact_id: int
    to_name: str
    to_email: str | None
    subject: str = ""
    body: str = ""
    message_id: str = ""
    item: Any = None
    html: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    stem: str = "message"
    note_label: str | None = None
    note_kind: str = "note"
    unsubscribe: str | None = None
    status: str = "would-send"
    error: str | None = None
    log_id: int | None = None
    token: str | None = None
    retried: bool = False
    warnings: list[str] = field(default_factory=list)


def owner_id() -> str:
    """Who holds a claim: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_gone(claimed_by: str | None) -> bool:
    """True when the claim's process is known to have ended (or is this very process)."""
    if not claimed_by:
        return True
    host, _, pid_text = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine: only the timeout can tell
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # an earlier attempt in this process ended without an outcome
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def find(conn: sqlite3.Connection, kind: str, identity: dict[str, Any]) -> sqlite3.Row | None:
    """The log row of the message ``identity`` names, if there is one."""
    where = " AND ".join(f"{column} = ?" for column in identity)
    row: sqlite3.Row | None = conn.execute(
        f"SELECT * FROM sends WHERE kind = ? AND {where}", (kind, *identity.values())
    ).fetchone()
    return row


def new_token() -> str:
    """An unsubscribe token: 16 characters nobody can guess (96 random bits)."""
    import secrets

    return secrets.token_urlsafe(12)


def claim(conn: sqlite3.Connection, letter: Letter, *, now: datetime, me: str) -> str:
    """Claim the letter's log row; returns "claimed", "sent" (already done) or "busy".

    A letter may come with its token (it is in its text: a campaign's {unsubscribe}); the row's
    own token, from an earlier attempt, wins."""
    stamp = to_utc_text(now)
    with transaction(conn):
        row = find(conn, letter.kind, letter.identity)
        if row is None:
            if letter.unsubscribe and not letter.token:
                letter.token = new_token()
            values = {
                **letter.identity,
                **letter.columns,
                "kind": letter.kind,
                "to_email": letter.to_email,
                "subject": letter.subject,
                "message_id": letter.message_id,
                "token": letter.token,
                "status": "claimed",
                "attempts": 1,
                "claimed_at": stamp,
                "claimed_by": me,
            }
            cursor = conn.execute(
                f"INSERT INTO sends ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                tuple(values.values()),
            )
            letter.log_id = int(cursor.lastrowid or 0)
            return "claimed"
        letter.log_id = row["id"]
        if row["status"] == "sent":
            return "sent"
        if row["status"] == "claimed":
            age = now.astimezone() - from_utc_text(row["claimed_at"])
            if not (owner_gone(row["claimed_by"]) or age >= CLAIM_TIMEOUT):
                return "busy"
            letter.warnings.append(
                "an earlier run was interrupted while sending this message; sending it again "
                f"with the same Message-ID {row['message_id']}"
            )
        letter.retried = True
        # Keep the Message-ID (and token) of the first attempt: a resend is then recognisably
        # the same mail, and an unsubscribe link of an earlier attempt still works.
        letter.message_id = row["message_id"]
        letter.token = row["token"] or letter.token or (new_token() if letter.unsubscribe else None)
        values = {
            **letter.columns,
            "to_email": letter.to_email,
            "subject": letter.subject,
            "token": letter.token,
            "status": "claimed",
            "claimed_at": stamp,
            "claimed_by": me,
        }
        conn.execute(
            f"UPDATE sends SET {', '.join(f'{k} = ?' for k in values)}, attempts = attempts + 1 "
            "WHERE id = ?",
            (*values.values(), row["id"]),
        )
        return "claimed"


def finish(
    conn: sqlite3.Connection,
    letter: Letter,
    *,
    status: str,
    method: str | None,
    now: datetime,
    me: str,
) -> None:
    """Record the outcome of a claimed letter; a sent one becomes a note in the contact's
    history in the same transaction (a note that cannot be written is a warning, never a
    reason to send again)."""
    sent = status == "sent"
    with transaction(conn):
        changed = conn.execute(
            "UPDATE sends SET status = ?, method = ?, sent_at = ?, error = ?, claimed_by = NULL "
            "WHERE id = ? AND claimed_by = ?",
            (status, method, to_utc_text(now) if sent else None, letter.error, letter.log_id, me),
        ).rowcount
        if sent and changed and letter.note_label:
            _record_note(conn, letter, method or "", now)


def _record_note(conn: sqlite3.Connection, letter: Letter, method: str, now: datetime) -> None:
    from crmcli import notes

    text = f"{letter.note_label} sent to {letter.to_email} ({method}): {letter.subject}"
    try:
        with savepoint(conn, "crm_send_note"):
            notes.add(conn, letter.contact_id, text, now=now, kind=letter.note_kind, at=now)
    except (CrmError, sqlite3.Error) as exc:
        letter.warnings.append(f"sent, but not recorded on the contact's history: {exc}")


def _build(letter: Letter, *, sender: str, date: datetime) -> Any:
    """The message itself, or the reason it cannot be made (in ``letter.error``)."""
    from crmcli.mailer import build_message, unsubscribe_header

    headers = {}
    if letter.unsubscribe and letter.token:
        headers["List-Unsubscribe"] = unsubscribe_header(letter.unsubscribe, letter.token)
    try:
        msg = build_message(
            sender=sender,
            to_name=letter.to_name,
            to_address=letter.to_email or "",
            subject=letter.subject,
            body=letter.body,
            html=letter.html,
            headers=headers,
            msg_id=letter.message_id,
            date=date,
        )
        msg.as_bytes()  # a header the policy cannot write fails here, not half-sent
        return msg
    except SendError as exc:
        letter.error = exc.message
    except Exception as exc:  # one contact's data must not stop the batch
        letter.error = f"cannot build the message: {exc}"
    return None


def send_one(
    conn: sqlite3.Connection,
    letter: Letter,
    *,
    transport: Transport,
    sender: str,
    now: Callable[[], datetime],
    me: str,
    late: bool = False,
    pace: Callable[[], None] | None = None,
) -> Letter:
    """Claim, send and log one letter; its ``status`` says what happened. ``pace`` is called
    just before the message is handed over (it may wait, to keep a rate)."""
    state = claim(conn, letter, now=now(), me=me)
    if state in ("sent", "busy"):
        letter.status = "skipped" if state == "sent" else "busy"
        letter.error = None
        return letter
    if letter.error is None and late:
        letter.error = "not attempted: the run's deadline (smtp.deadline) passed; retried next run"
    if letter.error is None and not letter.to_email:
        letter.status = "no-email"
        letter.error = "the contact has no email address"
        finish(conn, letter, status="failed", method=None, now=now(), me=me)
        return letter
    msg = _build(letter, sender=sender, date=now()) if letter.error is None else None
    if letter.error is None:
        if pace is not None:
            pace()
        try:
            transport.deliver(msg, f"{letter.stem}-{letter.log_id or 0}")
        except SendError as exc:
            letter.error = exc.message
    letter.status = "failed" if letter.error is not None else "sent"
    finish(conn, letter, status=letter.status, method=transport.method, now=now(), me=me)
    return letter


def deliver_all(
    conn: sqlite3.Connection,
    letters: Iterable[Letter],
    *,
    transport: Transport,
    sender: str,
    now: Callable[[], datetime],
    report: Callable[[Letter], None] | None = None,
    deadline: float | None = None,
    limit: int | None = None,
    interval: float = 0.0,
) -> list[Letter]:
    """Claim, send and log each letter; one failure does not stop the batch.

    A letter that cannot be rendered, built or sent (a contact's data that makes no valid
    message, a refused address, a silent server) is marked failed for that contact alone, with
    the reason, and retried on the next run; the others go out. ``now`` is a clock function (a
    batch may take a while; each log entry gets its own time). ``report`` is called with each
    letter as soon as its outcome is known. ``deadline`` (a ``time.monotonic()`` value):
    letters still waiting when it passes are marked failed, not attempted. ``limit``: stop
    after this many attempts (sent or failed: a batch); ``interval``: seconds between two
    attempts (a rate the server accepts).
    """
    me = owner_id()
    done: list[Letter] = []
    attempts = 0
    last_handed: list[float] = []

    def pace() -> None:
        if interval and last_handed:
            wait = last_handed[-1] + interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        last_handed[:] = [time.monotonic()]

    try:
        for letter in letters:
            if limit is not None and attempts >= limit:
                break
            late = deadline is not None and time.monotonic() >= deadline
            send_one(conn, letter, transport=transport, sender=sender, now=now, me=me,
                     late=late, pace=pace)  # fmt: skip
            attempts += letter.status in ("sent", "failed", "no-email")
            done.append(letter)
            if report is not None:
                report(letter)
    finally:
        transport.close()
    return done
