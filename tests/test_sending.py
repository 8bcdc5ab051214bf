"""The send log and its claim (crmcli.sending): each message goes out once, whoever else runs.

Greetings and campaigns test the whole path through their commands; here the mechanism itself:
the UNIQUE indexes of the log, the states of a claim, who may finish it, and what a batch
counts. See the module docstring of crmcli.sending for the design.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest

from crmcli import campaigns, sending, templates
from crmcli.mailer import SendError
from crmcli.sending import CLAIM_TIMEOUT, Letter
from tests.conftest import NOW, ContactFactory

#: a process that is running and is not this one: a claim it holds is live
LIVE_OTHER = f"{socket.gethostname()}:{os.getppid()}"


class Collector:
    """A transport that keeps what it is handed, or refuses everything."""

    method = "outbox"

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.delivered: list[EmailMessage] = []

    def deliver(self, msg: EmailMessage, stem: str) -> None:
        if self.refuse:
            raise SendError("550 mailbox unavailable")
        self.delivered.append(msg)

    def close(self) -> None:
        pass


def birthday_letter(contact_id: int, *, message_id: str = "<first@example.com>") -> Letter:
    return Letter(
        kind="greeting",
        identity={"contact_id": contact_id, "occasion": "birthday", "year": 2026},
        contact_id=contact_id,
        to_name="Ann Lee",
        to_email="ann@example.com",
        subject="Happy birthday",
        body="Dear Ann,\n\nhappy birthday!\n",
        message_id=message_id,
        columns={"occurs_on": "2026-11-23"},
        note_label="birthday greeting",
    )


def log_row(conn: sqlite3.Connection) -> sqlite3.Row:
    (row,) = conn.execute("SELECT * FROM sends").fetchall()
    return row  # type: ignore[no-any-return]  # sqlite3 types rows as Any


def dead_process() -> str:
    """``host:pid`` of a process that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{socket.gethostname()}:{done.stdout.strip()}"


# --- the log: one row per message, held by the database itself -------------------------------


def test_the_log_refuses_a_second_row_for_a_greeting(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    insert = (
        "INSERT INTO sends (kind, contact_id, occasion, year, message_id, status) "
        "VALUES ('greeting', ?, 'birthday', ?, ?, 'claimed')"
    )
    conn.execute(insert, (ann, 2026, "<a@x>"))
    conn.execute(insert, (ann, 2027, "<b@x>"))  # next year's birthday is another message
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(insert, (ann, 2026, "<c@x>"))


def test_the_log_refuses_a_second_row_for_a_campaign_message(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann, bob = make_contact("Ann Lee"), make_contact("Bob Ray")
    templates.add(conn, "offer", "Offer", "Hi {first_name}\n\n{unsubscribe}\n", now=NOW)
    spring = campaigns.add(conn, "spring", query="all", template="offer", now=NOW).id
    autumn = campaigns.add(conn, "autumn", query="all", template="offer", now=NOW).id
    insert = (
        "INSERT INTO sends (kind, campaign_id, contact_id, message_id, status) "
        "VALUES ('campaign', ?, ?, ?, 'claimed')"
    )
    conn.execute(insert, (spring, ann, "<a@x>"))
    conn.execute(insert, (spring, bob, "<b@x>"))  # another recipient
    conn.execute(insert, (autumn, ann, "<c@x>"))  # another campaign
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(insert, (spring, ann, "<d@x>"))


# --- claiming ------------------------------------------------------------------------------------


def test_a_live_claim_is_busy_until_the_timeout_then_taken_over(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    first = birthday_letter(ann)
    assert sending.claim(conn, first, now=NOW, me=LIVE_OTHER) == "claimed"
    token_before = log_row(conn)["token"]
    just_before = NOW + CLAIM_TIMEOUT - timedelta(seconds=1)
    second = birthday_letter(ann, message_id="<second@example.com>")
    assert sending.claim(conn, second, now=just_before, me="elsewhere:1") == "busy"
    assert log_row(conn)["claimed_by"] == LIVE_OTHER
    # at the timeout exactly, the claim is taken to be a crashed run's
    assert sending.claim(conn, second, now=NOW + CLAIM_TIMEOUT, me="elsewhere:1") == "claimed"
    assert second.retried and second.warnings
    assert second.message_id == "<first@example.com>"  # a resend is the same mail
    row = log_row(conn)
    assert (row["claimed_by"], row["attempts"], row["token"]) == ("elsewhere:1", 2, token_before)


def test_a_retry_keeps_the_message_id_and_the_unsubscribe_token(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    first = birthday_letter(ann)
    first.unsubscribe = "me@example.com"  # a campaign's letter: it gets a token
    sending.deliver_all(
        conn, [first], transport=Collector(refuse=True), sender="me@example.com", now=lambda: NOW
    )
    assert first.status == "failed" and first.token
    again = birthday_letter(ann, message_id="<other@example.com>")
    again.unsubscribe, again.token = "me@example.com", "a-new-token-that-loses"
    collector = Collector()
    sending.deliver_all(
        conn, [again], transport=collector, sender="me@example.com", now=lambda: NOW
    )
    assert (again.status, again.retried) == ("sent", True)
    assert (again.message_id, again.token) == ("<first@example.com>", first.token)
    (msg,) = collector.delivered
    assert msg["Message-ID"] == "<first@example.com>"
    assert str(first.token) in str(msg["List-Unsubscribe"])
    assert log_row(conn)["attempts"] == 2


def test_only_the_holder_of_a_claim_records_its_outcome(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    """A run that was too slow (its claim timed out and another run took the message over) must
    not overwrite the outcome of the run that holds the claim now."""
    ann = make_contact()
    slow, fast = birthday_letter(ann), birthday_letter(ann)
    sending.claim(conn, slow, now=NOW, me="host:1")
    sending.claim(conn, fast, now=NOW + CLAIM_TIMEOUT, me="host:2")
    fast.error = None
    sending.finish(conn, fast, status="sent", method="outbox", now=NOW, me="host:2")
    slow.error = "timed out"
    sending.finish(conn, slow, status="failed", method="outbox", now=NOW, me="host:1")
    row = log_row(conn)
    assert (row["status"], row["error"], row["claimed_by"]) == ("sent", None, None)
    notes = conn.execute("SELECT body FROM notes WHERE contact_id = ?", (ann,)).fetchall()
    assert [n[0] for n in notes] == [
        "birthday greeting sent to ann@example.com (outbox): Happy birthday"
    ]


@pytest.mark.parametrize(
    ("claimed_by", "gone"),
    [
        (None, True),
        ("", True),
        (f"{socket.gethostname()}:{os.getpid()}", True),  # this process: an earlier attempt
        (LIVE_OTHER, False),
        ("another-machine.example:1", False),  # another machine: only the timeout can tell
        (f"{socket.gethostname()}:not-a-pid", False),
    ],
)
def test_owner_gone(claimed_by: str | None, gone: bool) -> None:
    assert sending.owner_gone(claimed_by) is gone


def test_owner_gone_for_a_process_that_ended() -> None:
    assert sending.owner_gone(dead_process()) is True


# --- a batch -------------------------------------------------------------------------------------


def test_a_limit_counts_messages_attempted_not_those_skipped(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    people = [make_contact(f"P{n} Q{n}") for n in range(4)]
    sent_before = birthday_letter(people[0])
    sending.deliver_all(
        conn, [sent_before], transport=Collector(), sender="me@example.com", now=lambda: NOW
    )
    busy = birthday_letter(people[1])
    sending.claim(conn, busy, now=NOW, me=LIVE_OTHER)
    collector = Collector()
    done = sending.deliver_all(
        conn,
        [birthday_letter(p) for p in people],
        transport=collector,
        sender="me@example.com",
        now=lambda: NOW,
        limit=2,
    )
    assert [letter.status for letter in done] == ["skipped", "busy", "sent", "sent"]
    assert len(collector.delivered) == 2


def test_nothing_is_noted_for_a_message_that_was_not_sent(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    letter = birthday_letter(ann)
    sending.deliver_all(
        conn, [letter], transport=Collector(refuse=True), sender="me@example.com", now=lambda: NOW
    )
    assert (letter.status, letter.error) == ("failed", "550 mailbox unavailable")
    assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0
    later = datetime(2026, 11, 23, 10, 0)
    sending.deliver_all(
        conn, [birthday_letter(ann)], transport=Collector(), sender="me@example.com",
        now=lambda: later,
    )  # fmt: skip
    assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 1
    row = log_row(conn)
    assert (row["status"], row["sent_at"], row["attempts"]) == ("sent", "2026-11-23T10:00:00Z", 2)
