"""The mail client: crm search --format mutt, and crm note --from-mail."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from crmcli import db
from crmcli.io import mail
from tests.conftest import Cli

PLAIN = b"""\
From: =?utf-8?q?Ana_Garc=C3=ADa?= <Ana@Solaris.example>
To: Me <me@example.com>
Cc: Ben Okafor <ben@northwind.example>, stranger@else.example
Subject: =?utf-8?q?Pilot_=E2=80=94_next_steps?=
Date: Fri, 20 Nov 2026 16:45:00 +0100
Message-ID: <pilot-1@solaris.example>
Content-Type: text/plain; charset=utf-8

Hi,

we can start the pilot in January.
Budget is approved.

On Thu, Me wrote:
> when can you start?
> thanks

--\x20
Ana Garc\xc3\xada, Solaris
"""

HTML_ONLY = b"""\
From: Ana <ana@solaris.example>
To: me@example.com
Subject: Invoice
Date: Sat, 21 Nov 2026 10:00:00 +0000
Message-ID: <inv-7@solaris.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

<html><head><style>p {color: red}</style><script>alert(1)</script></head>
<body><p>Gr=FC=DFe,</p><p>the invoice is <b>paid</b> &amp; filed.</p></body></html>
--b
Content-Type: application/pdf
Content-Disposition: attachment; filename="x.pdf"
Content-Transfer-Encoding: base64

JVBERi0=
--b--
"""


@pytest.fixture
def people(cli: Cli) -> None:
    cli("contact", "add", "Ana García", "-e", "ana@solaris.example", "--company", "Solaris")
    cli("contact", "add", "Ben Okafor", "-e", "ben@northwind.example", "-e", "ben@home.example")
    cli("contact", "add", "Cleo Park", "--company", "Solaris Labs")  # no email


def test_parse_plain_message() -> None:
    found = mail.parse(PLAIN)
    assert found.message_id == "<pilot-1@solaris.example>"
    assert found.subject == "Pilot — next steps"
    assert found.date is not None and found.date.isoformat() == "2026-11-20T16:45:00+01:00"
    assert found.sender == ("Ana García", "ana@solaris.example")
    assert [a for _, a in found.recipients] == [
        "me@example.com",
        "ben@northwind.example",
        "stranger@else.example",
    ]
    # no quoted reply, no "On ... wrote:", no signature
    assert found.summary == "Hi,\n\nwe can start the pilot in January.\nBudget is approved."
    assert found.note_body() == f"Subject: Pilot — next steps\n\n{found.summary}\n"


def test_parse_html_only_message_in_latin1() -> None:
    found = mail.parse(HTML_ONLY)
    assert found.summary == "Grüße,\n\nthe invoice is paid & filed."
    assert "alert" not in found.summary and "color" not in found.summary


@pytest.mark.parametrize("data", [b"", b"just some text\nwithout headers\n"])
def test_not_a_message_is_a_usage_error(data: bytes) -> None:
    from crmcli.errors import UsageError

    with pytest.raises(UsageError):
        mail.parse(data)


def test_hostile_headers_are_cleaned() -> None:
    evil = (
        b"From: \x1b]0;pwned\x07Eve <eve@evil.example>\nTo: me@example.com\n"
        b"Subject: " + b"A" * 5000 + b"\n\nbody\n"
    )
    found = mail.parse(evil)
    assert found.sender is not None and "\x1b" not in found.sender[0]
    assert len(found.subject) <= 300


def test_note_from_mail_for_every_contact_in_it_once(cli: Cli, people: None) -> None:
    result = cli("note", "--from-mail", input=PLAIN.decode())
    assert result.stderr.splitlines() == [
        "Added note 1 to Ana García (email, 2026-11-20 15:45)",
        "Added note 2 to Ben Okafor (email, 2026-11-20 15:45)",
    ]
    assert result.stdout == "1\n2\n"  # piped: the new ids
    again = cli("note", "--from-mail", input=PLAIN.decode())
    assert again.stderr.splitlines() == [
        "Already recorded: note 1 of Ana García is this message",
        "Already recorded: note 2 of Ben Okafor is this message",
    ]
    notes = cli.json("notes", "--contact", "ana")
    assert len(notes) == 1
    assert notes[0]["kind"] == "email" and notes[0]["at"] == "2026-11-20T15:45:00Z"
    assert notes[0]["body"].startswith("Subject: Pilot — next steps\n\nHi,")
    # the cadence counts from the mail's date, not from when it was filed
    history = cli.json("history", "ben")
    assert history[0]["at"] == "2026-11-20T15:45:00Z"


def test_note_from_mail_for_a_named_contact(cli: Cli, people: None) -> None:
    cli("note", "cleo", "--from-mail", input=HTML_ONLY.decode("latin-1"))
    [note] = cli.json("notes", "--contact", "cleo")
    assert note["body"] == "Subject: Invoice\n\nGrüße,\n\nthe invoice is paid & filed.\n".rstrip()


def test_unknown_sender_is_an_error_unless_added(cli: Cli) -> None:
    result = cli("note", "--from-mail", input=PLAIN.decode(), code=1)
    assert result.stderr.startswith(
        "Error: no contact has any address of this message (ana@solaris.example, me@example.com"
    )
    assert "--add-sender" in result.stderr
    added = cli("note", "--from-mail", "--add-sender", input=PLAIN.decode())
    assert added.stderr.splitlines()[0] == "Added contact 1: Ana García <ana@solaris.example>"
    contact = cli.json("contact", "show", "1")
    assert contact["first_name"] == "Ana" and contact["source"] == "e-mail"


def test_from_mail_refuses_text_and_needs_a_message(cli: Cli, people: None) -> None:
    assert "takes the text" in cli("note", "ana", "x", "--from-mail", code=2).stderr
    assert "no message on stdin" in cli("note", "--from-mail", input="", code=2).stderr
    assert "give the contact" in cli("note", code=2).stderr


def test_message_id_migration(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old, isolation_level=None)
    db.migrate(conn, stop_before="m009_note_message_id")
    conn.close()
    upgraded = db.connect(old)
    columns = [row[1] for row in upgraded.execute("PRAGMA table_info(notes)")]
    assert "message_id" in columns
    indexes = [row[1] for row in upgraded.execute("PRAGMA index_list(notes)")]
    assert "notes_message_id" in indexes
    upgraded.close()


def test_search_mutt_format(cli: Cli, people: None) -> None:
    result = cli("search", "ben", "--format", "mutt")
    assert result.stdout == (
        "crm: 2 addresses for 'ben'\n"
        "ben@northwind.example\tBen Okafor\t\n"
        "ben@home.example\tBen Okafor\t\n"
    )
    solaris = cli("search", "solaris", "--format", "mutt").stdout.splitlines()
    assert solaris == ["crm: 1 address for 'solaris'", "ana@solaris.example\tAna García\tSolaris"]
    nothing = cli("search", "zebra", "--format", "mutt", code=1)
    assert nothing.stdout == "crm: no address matches 'zebra'\n"
    assert json.loads(cli("search", "ben", "--format", "json").stdout)[0]["name"] == "Ben Okafor"


def test_mutt_lines_stay_one_line_per_address(cli: Cli) -> None:
    cli("contact", "add", "--display", "Tab\there\nnewline", "-e", "t@x.example")
    lines = cli("search", "tab", "--format", "mutt").stdout.splitlines()
    assert lines[1] == "t@x.example\tTab here newline\t"
