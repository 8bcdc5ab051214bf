"""Templates, rules and `crm greet`: against a real SMTP server on localhost (aiosmtpd), with
the exactly-once rule tested through crashes, failures, reruns and two concurrent runs."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from crmcli import contacts, greetings, mailer, sending, templates, transports
from crmcli.contact_changes import ContactChanges
from crmcli.contacts import Labeled
from crmcli.errors import ValidationError
from tests.conftest import NOW, Cli, ContactFactory

REPO = Path(__file__).resolve().parent.parent


# --- a real SMTP server -----------------------------------------------------------------------


class Recorder:
    """aiosmtpd handler: keeps every accepted message; can refuse some recipients."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"

    def to(self) -> list[str]:
        return sorted(str(m["To"].addresses[0].addr_spec) for m in self.messages)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def use_server(monkeypatch: pytest.MonkeyPatch, port: int, sender: str) -> None:
    """Point crm's SMTP settings at a server on 127.0.0.1 (no TLS: it is this machine)."""
    monkeypatch.setenv("CRM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRM_SMTP_PORT", str(port))
    monkeypatch.setenv("CRM_SMTP_SECURITY", "none")
    monkeypatch.setenv("CRM_SMTP_FROM", sender)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    use_server(monkeypatch, port, "Søren Sælger <soren@seller.example>")
    try:
        yield recorder
    finally:
        controller.stop()


@pytest.fixture
def book(conn: sqlite3.Connection, make_contact: ContactFactory) -> sqlite3.Connection:
    """Three birthdays today (2026-11-23), one tomorrow, one anniversary in 3 days; rules."""
    make_contact("Chloé Dubois", email="chloe@example.com", company="Acme", birthday="1986-11-23")
    make_contact("Ann Lee", email="ann@example.com", company="Acme", birthday="--11-23")
    make_contact("Zoë Åberg", email="zoe@example.com", company="Acme", birthday="1990-11-23")
    make_contact("Tom Morrow", email="tom@example.com", company="Acme", birthday="1990-11-24")
    make_contact("Ada Wed", email="ada@example.com", company="Acme", anniversary="2021-11-26")
    templates.add(
        conn,
        "bday",
        "Joyeux anniversaire {first_name} — {years}!",
        "Chère {first_name},\n\nBon anniversaire ({nth}), {day}.\n\n— {sender}\n",
        now=NOW,
    )
    templates.add(conn, "thanks", "Thank you, {first_name}", "{nth} year with us!", now=NOW)
    greetings.add_rule(conn, "birthday", "bday", now=NOW)
    greetings.add_rule(conn, "anniversary", "thanks", days_before=3, now=NOW)
    return conn


# --- templates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{contact.__class__}",
        "{first_name.__class__.__mro__}",
        "{first_name[0]}",
        "{first_name!r}",
        "{first_name:>10}",
        "{nope}",
        "{}",
        "{ first_name }",
    ],
)
def test_unknown_or_unsafe_placeholders_are_refused_at_save(
    conn: sqlite3.Connection, text: str
) -> None:
    with pytest.raises(ValidationError, match="unknown placeholder"):
        templates.add(conn, "t", "Hi", text, now=NOW)
    with pytest.raises(ValidationError, match="unknown placeholder"):
        templates.add(conn, "t", text, "body", now=NOW)
    assert templates.list_templates(conn) == []


@pytest.mark.parametrize("text", ["a { b", "a } b", "{first_name"])
def test_stray_braces_are_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="lone"):
        templates.placeholders(text)


def test_render_substitutes_only_known_names() -> None:
    values = {"first_name": "Ann", "years": "", "name": "{first_name}"}
    text = "{{literal}} {first_name} {years}|{name}|{{{first_name}}}"
    assert templates.render(text, values) == "{literal} Ann |{first_name}|{Ann}"


def test_template_cli(cli: Cli, tmp_path: Path) -> None:
    cli("template", "add", "bday", "--subject", "Happy birthday {first_name}", "--body", "Hi!")
    body = tmp_path / "body.txt"
    body.write_text("Dear {first_name},\nall the best.\n", encoding="utf-8")
    cli("template", "edit", "BDAY", "--body-file", str(body))
    shown = cli.json("template", "show", "bday")
    assert shown["body"] == "Dear {first_name},\nall the best.\n"
    assert shown["placeholders"] == ["first_name"]
    assert [t["name"] for t in cli.json("template", "list")] == ["bday"]
    result = cli("template", "add", "x", "--subject", "{oops}", "--body", "b", code=1)
    assert result.stderr.startswith("Error: unknown placeholder {oops} in the template (known: ")
    result = cli("template", "add", "bday", "--subject", "s", "--body", "b", code=1)
    assert result.stderr == (
        "Error: a template named 'bday' exists; change it with: crm template edit bday\n"
    )
    cli("greet", "rule", "add", "birthday", "bday")
    result = cli("template", "rm", "bday", "--yes", code=1)
    assert "used by greeting rule(s) 1" in result.stderr
    assert cli.json("greet", "rule", "list")[0]["template"] == "bday"
    cli("greet", "rule", "rm", "1", "--yes")
    cli("template", "rm", "bday", "--yes")
    assert cli.json("template", "list") == []


def test_rules_pick_the_most_specific(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    vip = make_contact("Vip One", email="vip@example.com", company="Acme", birthday="--11-26")
    make_contact("Plain Two", email="plain@example.com", company="Acme", birthday="--11-26")
    contacts.update(conn, vip, ContactChanges(add_tags=["VIP"]), now=NOW)
    templates.add(conn, "plain", "Happy birthday", "b", now=NOW)
    templates.add(conn, "vip", "Happy birthday, dear friend", "b", now=NOW)
    greetings.add_rule(conn, "birthday", "plain", now=NOW)
    greetings.add_rule(conn, "Birthday", "vip", days_before=3, tag="vip", now=NOW)
    with pytest.raises(ValidationError, match="already greets everyone"):
        greetings.add_rule(conn, "birthday", "vip", now=NOW)
    due = greetings.due(conn, date(2026, 11, 23))
    assert [(d.upcoming.name, d.template.name) for d in due] == [("Vip One", "vip")]
    due = greetings.due(conn, date(2026, 11, 26))
    assert sorted((d.upcoming.name, d.template.name) for d in due) == [
        ("Plain Two", "plain"),
        ("Vip One", "vip"),
    ]


@pytest.mark.parametrize(
    ("today", "due_year"),
    [
        (date(2026, 12, 29), None),  # 4 days before: not yet
        (date(2026, 12, 30), 2027),  # 3 days before Jan 2: counts for the 2027 occasion
        (date(2027, 1, 2), 2027),  # on the day
        (date(2027, 1, 3), None),  # missed: never sent late
    ],
)
def test_due_across_the_year_end(
    conn: sqlite3.Connection, today: date, due_year: int | None, make_contact: ContactFactory
) -> None:
    make_contact("New Year", email="ny@example.com", company="Acme", birthday="1980-01-02")
    templates.add(conn, "t", "s {years}", "b", now=NOW)
    greetings.add_rule(conn, "birthday", "t", days_before=3, now=NOW)
    found = greetings.due(conn, today)
    assert [d.year for d in found] == ([due_year] if due_year else [])
    if due_year:
        assert found[0].upcoming.years == 47 and found[0].send_on == date(2026, 12, 30)


@pytest.mark.parametrize(
    ("today", "policy", "is_due"),
    [
        (date(2027, 2, 28), "feb28", True),
        (date(2027, 2, 28), "mar1", False),
        (date(2027, 3, 1), "mar1", True),
        (date(2028, 2, 28), "feb28", False),  # leap year: the real Feb 29
        (date(2028, 2, 29), "feb28", True),
    ],
)
def test_due_feb29(
    conn: sqlite3.Connection, today: date, policy: str, is_due: bool, make_contact: ContactFactory
) -> None:
    make_contact("Leap Day", email="leap@example.com", company="Acme", birthday="--02-29")
    templates.add(conn, "t", "s", "b", now=NOW)
    greetings.add_rule(conn, "birthday", "t", now=NOW)
    assert bool(greetings.due(conn, today, feb29=policy)) is is_due


# --- sending over SMTP ------------------------------------------------------------------------


def test_messages_received_with_headers_and_encoding(
    cli: Cli, book: sqlite3.Connection, smtp: Recorder
) -> None:
    result = cli("greet", "--due", code=0)
    assert "Sent birthday greeting to Chloé Dubois <chloe@example.com> (log 2)" in result.stderr
    assert result.stderr.endswith("Greetings: 4 sent\n")
    assert smtp.to() == [
        "ada@example.com",
        "ann@example.com",
        "chloe@example.com",
        "zoe@example.com",
    ]
    msg = next(m for m in smtp.messages if "chloe" in str(m["To"]))
    raw = msg.as_bytes()
    # Non-ASCII names and subjects travel RFC 2047-encoded, the body as UTF-8.
    assert b"=?utf-8?" in raw.split(b"\n\n", 1)[0]
    assert str(msg["Subject"]) == "Joyeux anniversaire Chloé — 40!"
    assert msg["To"].addresses[0].display_name == "Chloé Dubois"
    assert msg["From"].addresses[0].display_name == "Søren Sælger"
    assert msg["From"].addresses[0].addr_spec == "soren@seller.example"
    assert msg["Date"].datetime == datetime.fromisoformat("2026-11-23T09:00:00+00:00")
    uid = contacts.get(book, 1).uid
    expected_id = mailer.message_id(uid, "birthday", 2026, "seller.example")
    assert msg["Message-ID"] == expected_id
    assert expected_id.startswith("<greeting.2026.") and b"Message-ID: <greeting" in raw
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert (
        msg.get_content().replace("\r\n", "\n")
        == "Chère Chloé,\n\nBon anniversaire (40th), 23 November.\n\n— Søren Sælger\n"
    )
    assert smtp.envelopes[0][0] == "soren@seller.example"
    ann = next(m for m in smtp.messages if "ann@" in str(m["To"]))
    assert str(ann["Subject"]) == "Joyeux anniversaire Ann — !"  # no year: {years} is empty
    ada = next(m for m in smtp.messages if "ada@" in str(m["To"]))
    assert ada.get_content().replace("\r\n", "\n") == "5th year with us!\n"

    log = cli.json("greet", "log")
    assert {(r["name"], r["status"], r["method"], r["attempts"]) for r in log} == {
        ("Chloé Dubois", "sent", "smtp", 1),
        ("Ann Lee", "sent", "smtp", 1),
        ("Zoë Åberg", "sent", "smtp", 1),
        ("Ada Wed", "sent", "smtp", 1),
    }
    assert {r["year"] for r in log} == {2026}
    for fmt in ("table", "csv", "tsv", "jsonl"):
        assert "Chloé Dubois" in cli("greet", "log", "--format", fmt).stdout

    # Twice: nothing more goes out.
    result = cli("greet", "--due")
    assert result.stderr == "No greetings due today.\n"
    assert len(smtp.messages) == 4
    sent = list(greetings.log(book, contact_id=1))
    assert [(s["occasion"], s["year"], s["subject"], s["method"]) for s in sent] == [
        ("birthday", 2026, "Joyeux anniversaire Chloé — 40!", "smtp")
    ]


def test_contact_without_email_is_reported(
    cli: Cli, book: sqlite3.Connection, smtp: Recorder, make_contact: ContactFactory
) -> None:
    make_contact("No Mail", company="Acme", birthday="--11-23")
    result = cli("greet", "--due", code=1)
    assert (
        "Not sent: birthday greeting to No Mail: the contact has no email address "
        "(add one: crm contact edit 6 -e ADDRESS)\n" in result.stderr
    )
    assert len(smtp.messages) == 4
    failed = cli.json("greet", "log", "--status", "failed")
    assert [(r["name"], r["error"]) for r in failed] == [
        ("No Mail", "the contact has no email address")
    ]
    # Fixed the same day: the next run sends it.
    contacts.update(book, 6, ContactChanges(add_emails=[Labeled("no@example.com")]), now=NOW)
    cli("greet", "--due")
    assert "no@example.com" in smtp.to()


def test_failed_send_is_retried_next_run(
    cli: Cli, book: sqlite3.Connection, smtp: Recorder
) -> None:
    smtp.refuse = {"ann@example.com"}
    result = cli("greet", "--due", "--format", "json", code=1)
    assert "Failed: birthday greeting to Ann Lee <ann@example.com>: the server refused" in (
        result.stderr
    )
    rows = {r["name"]: r["status"] for r in __import__("json").loads(result.stdout)}
    assert rows["Ann Lee"] == "failed" and rows["Chloé Dubois"] == "sent"
    assert "ann@example.com" not in smtp.to() and len(smtp.messages) == 3
    smtp.refuse = set()
    result = cli("greet", "--due")
    assert result.stderr.endswith("Greetings: 1 sent\n")
    assert smtp.to().count("ann@example.com") == 1 and len(smtp.messages) == 4
    (entry,) = cli.json("greet", "log", "--contact", "ann")
    assert (entry["status"], entry["attempts"], entry["error"]) == ("sent", 2, None)


def test_server_down_is_a_failure_not_a_traceback(
    cli: Cli, book: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRM_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("CRM_SMTP_SECURITY", "none")
    monkeypatch.setenv("CRM_SMTP_FROM", "me@example.com")
    result = cli("greet", "--due", code=1)
    assert "cannot talk to SMTP server 127.0.0.1" in result.stderr
    assert {r["status"] for r in cli.json("greet", "log")} == {"failed"}


def test_missing_settings(cli: Cli, book: sqlite3.Connection) -> None:
    result = cli("greet", "--due", code=1)
    assert result.stderr.startswith("Error: no SMTP server configured: set host and from in [smtp]")
    assert cli.json("greet", "log") == []
    result = cli("greet", code=2)
    assert "Usage: crm greet" in result.stderr
    result = cli("greet", "--dry-run", code=2)
    assert result.stderr == (
        "Error: add --due to send the greetings due today (or see crm greet --help)\n"
    )


class FlakyTransport:
    """Delivers through a real SMTP mailer; 'crashes' (an exception no one handles) at message
    ``crash_at``, before or after the server accepted it."""

    method = "smtp"

    def __init__(self, mailer: Any, crash_at: int, after_accept: bool) -> None:
        self.inner = transports.SmtpTransport(mailer)
        self.count = 0
        self.crash_at = crash_at
        self.after_accept = after_accept

    def deliver(self, msg: Any, stem: str) -> None:
        self.count += 1
        if self.count == self.crash_at and not self.after_accept:
            raise RuntimeError("power cut")
        self.inner.deliver(msg, stem)
        if self.count == self.crash_at:
            raise RuntimeError("power cut")

    def close(self) -> None:
        self.inner.close()


def _mailer() -> Any:
    from crmcli import config, mailer

    settings = mailer.load_settings(config.load())
    return mailer.SmtpMailer(settings, None)


def test_crash_mid_batch_then_rerun_sends_each_once(
    cli: Cli, book: sqlite3.Connection, smtp: Recorder
) -> None:
    items = greetings.due(book, date(2026, 11, 23))
    assert len(items) == 4
    transport = FlakyTransport(_mailer(), crash_at=3, after_accept=False)
    with pytest.raises(RuntimeError):
        greetings.deliver_due(
            book, items, transport=transport, sender="me@seller.example", now=lambda: NOW
        )
    assert len(smtp.messages) == 2
    statuses = [r["status"] for r in cli.json("greet", "log")]
    assert sorted(statuses) == ["claimed", "sent", "sent"]
    # The rerun takes over the interrupted claim (its process is this one: it is not sending)
    result = cli("greet", "--due")
    assert "an earlier run was interrupted while sending this message" in result.stderr
    assert result.stderr.endswith("Greetings: 2 sent\n")
    assert len(smtp.messages) == 4 and len(set(smtp.to())) == 4
    assert sorted(r["status"] for r in cli.json("greet", "log")) == ["sent"] * 4


def test_crash_after_acceptance_resends_with_the_same_message_id(
    cli: Cli, book: sqlite3.Connection, smtp: Recorder
) -> None:
    """The one documented window: accepted by the server, not yet logged. The greeting is sent
    again on the next run, recognisably: same Message-ID."""
    items = greetings.due(book, date(2026, 11, 23))
    transport = FlakyTransport(_mailer(), crash_at=1, after_accept=True)
    with pytest.raises(RuntimeError):
        greetings.deliver_due(
            book, items, transport=transport, sender="me@seller.example", now=lambda: NOW
        )
    cli("greet", "--due")
    first_to = str(smtp.messages[0]["To"])
    copies = [m for m in smtp.messages if str(m["To"]) == first_to]
    assert len(copies) == 2 and copies[0]["Message-ID"] == copies[1]["Message-ID"]
    assert len(smtp.messages) == 5


def test_a_live_claim_of_another_process_is_left_alone(
    book: sqlite3.Connection, smtp: Recorder
) -> None:
    items = greetings.due(book, date(2026, 11, 23))[:1]
    other = f"{socket.gethostname()}:{os.getppid()}"  # a running process that is not us
    book.execute(
        "INSERT INTO sends (kind, contact_id, occasion, year, occurs_on, message_id, status, "
        "attempts, claimed_at, claimed_by) VALUES ('greeting', ?, 'birthday', 2026, '2026-11-23',"
        " '<x@y>', 'claimed', 1, '2026-11-23T08:59:00Z', ?)",
        (items[0].upcoming.contact_id, other),
    )

    def run(at: datetime) -> list[sending.Letter]:
        return greetings.deliver_due(
            book,
            items,
            transport=transports.SmtpTransport(_mailer()),
            sender="me@seller.example",
            now=lambda: at,
        )

    assert [o.status for o in run(NOW)] == ["busy"]
    assert smtp.messages == []
    # After the claim timeout the claim is taken to be a crashed run's: sent, same Message-ID.
    later = NOW + sending.CLAIM_TIMEOUT + timedelta(minutes=1)
    (outcome,) = run(later)
    assert outcome.status == "sent" and outcome.retried
    assert [m["Message-ID"] for m in smtp.messages] == ["<x@y>"]


def test_a_claim_of_a_dead_process_is_taken_over(book: sqlite3.Connection, smtp: Recorder) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    items = greetings.due(book, date(2026, 11, 23))[:1]
    book.execute(
        "INSERT INTO sends (kind, contact_id, occasion, year, occurs_on, message_id, status, "
        "attempts, claimed_at, claimed_by) VALUES ('greeting', ?, 'birthday', 2026, '2026-11-23',"
        " '<x@y>', 'claimed', 1, '2026-11-23T08:59:00Z', ?)",
        (items[0].upcoming.contact_id, f"{socket.gethostname()}:{dead.stdout.strip()}"),
    )
    (outcome,) = greetings.deliver_due(
        book,
        items,
        transport=transports.SmtpTransport(_mailer()),
        sender="me@seller.example",
        now=lambda: NOW,
    )
    assert outcome.status == "sent" and len(smtp.messages) == 1


def test_each_greeting_is_one_note_and_a_failed_note_is_only_a_warning(
    cli: Cli, book: sqlite3.Connection, smtp: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The note is written with the log's "sent", in one transaction; a note that cannot be
    written leaves the greeting sent (a warning), never a reason to send it again."""
    from crmcli import notes

    real_add = notes.add

    def add(conn: sqlite3.Connection, contact_id: int, body: str, **kwargs: Any) -> int:
        if contact_id == 2:
            raise ValidationError("notes are full")
        return real_add(conn, contact_id, body, **kwargs)

    monkeypatch.setattr(notes, "add", add)
    result = cli("greet", "--due")
    assert "not recorded on the contact's history: notes are full" in result.stderr
    cli("greet", "--due")
    assert len(smtp.messages) == 4
    rows = book.execute("SELECT contact_id, kind, body FROM notes ORDER BY contact_id").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(1, "greeting"), (3, "greeting"), (5, "greeting")]
    assert rows[0][2] == (
        "birthday greeting sent to chloe@example.com (smtp): Joyeux anniversaire Chloé — 40!"
    )
    statuses = book.execute("SELECT status FROM sends WHERE contact_id = 2").fetchall()
    assert [s[0] for s in statuses] == ["sent"]


# --- outbox and dry run -----------------------------------------------------------------------


def test_outbox_writes_eml_files_once(cli: Cli, book: sqlite3.Connection, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    missing = cli("greet", "--due", "--outbox", str(outbox), code=2)
    assert (
        missing.stderr == f"Error: --outbox {outbox}: no such folder; create it first (mkdir -p)\n"
    )
    assert cli.json("greet", "log") == []
    outbox.mkdir()
    result = cli("greet", "--due", "--outbox", str(outbox))
    assert result.stderr.endswith("Greetings: 4 sent\n")
    files = sorted(p.name for p in outbox.iterdir())
    assert {(outbox / f).stat().st_mode & 0o777 for f in files} == {0o600}
    # one file per greeting, named by its date, contact, occasion and send-log id
    logged = {(r["contact_id"], r["occasion"]): r["id"] for r in cli.json("greet", "log")}
    assert files == [
        f"2026-11-23-contact1-birthday-{logged[1, 'birthday']}.eml",
        f"2026-11-23-contact2-birthday-{logged[2, 'birthday']}.eml",
        f"2026-11-23-contact3-birthday-{logged[3, 'birthday']}.eml",
        f"2026-11-26-contact5-anniversary-{logged[5, 'anniversary']}.eml",
    ]
    msg = email.message_from_bytes((outbox / files[0]).read_bytes(), policy=email.policy.default)
    assert str(msg["Subject"]) == "Joyeux anniversaire Chloé — 40!"
    assert msg["To"].addresses[0].addr_spec == "chloe@example.com"
    assert {r["method"] for r in cli.json("greet", "log")} == {"outbox"}
    cli("greet", "--due", "--outbox", str(outbox))
    assert len(list(outbox.iterdir())) == 4


def test_dry_run_writes_nothing(cli: Cli, book: sqlite3.Connection, db_path: Path) -> None:
    before = book.execute("SELECT count(*) FROM sends").fetchone()[0]
    rows = cli.json("greet", "--due", "--dry-run")
    assert [(r["name"], r["status"]) for r in rows] == [
        ("Ann Lee", "would-send"),
        ("Chloé Dubois", "would-send"),
        ("Zoë Åberg", "would-send"),
        ("Ada Wed", "would-send"),
    ]
    assert rows[1]["body"].startswith("Chère Chloé,")
    text = cli("greet", "--due", "--dry-run", "--format", "table").stdout
    assert "To: Chloé Dubois <chloe@example.com>\nSubject: Joyeux anniversaire Chloé — 40!" in text
    assert book.execute("SELECT count(*) FROM sends").fetchone()[0] == before == 0


@pytest.mark.no_database
def test_dry_run_on_a_missing_database_creates_nothing(cli: Cli, db_path: Path) -> None:
    result = cli("greet", "--due", "--dry-run")
    assert result.stderr.startswith("No greetings due today: there is no template and no rule")
    assert not db_path.exists()


# --- settings and secrets ---------------------------------------------------------------------


def test_password_from_command_without_a_shell(tmp_path: Path) -> None:
    from crmcli import config, mailer

    script = tmp_path / "secret.py"
    script.write_text("print('s3cret; $(rm -rf /)')\n", encoding="utf-8")
    cfg_dir = tmp_path / "config" / "crmcli"
    cfg_dir.mkdir(parents=True)
    (cfg_dir / "config.toml").write_text(
        "[smtp]\nhost = 'mail.example'\nfrom = 'me@example.com'\nuser = 'me'\n"
        f"password_command = [{sys.executable!r}, {str(script)!r}]\n",
        encoding="utf-8",
    )
    settings = mailer.load_settings(config.load())
    assert (settings.port, settings.security) == (587, "starttls")
    assert mailer.password(settings, env={}) == "s3cret; $(rm -rf /)"
    assert mailer.password(settings, env={"CRM_SMTP_PASSWORD": "env"}) == "env"
    failing = mailer.SmtpSettings(
        "h", 1, "none", "u", "me@x", [sys.executable, "-c", "print('leaked'); raise SystemExit(3)"]
    )
    with pytest.raises(Exception) as info:
        mailer.password(failing, env={})
    assert "leaked" not in str(info.value) and "exit 3" in str(info.value)


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"CRM_SMTP_HOST": "h"}, "no From address configured"),
        ({"CRM_SMTP_HOST": "h", "CRM_SMTP_FROM": "nobody"}, "is not an address"),
        (
            {"CRM_SMTP_HOST": "h", "CRM_SMTP_FROM": "a@b", "CRM_SMTP_SECURITY": "tls"},
            "must be starttls, ssl or none",
        ),
        ({"CRM_SMTP_HOST": "h", "CRM_SMTP_FROM": "a@b", "CRM_SMTP_PORT": "x"}, "not a port"),
    ],
)
def test_bad_settings(env: dict[str, str], error: str) -> None:
    from crmcli import config, mailer
    from crmcli.errors import CrmError

    with pytest.raises(CrmError, match=error):
        mailer.load_settings(config.load(env))


# --- two real concurrent runs -----------------------------------------------------------------


@pytest.mark.slow
def test_two_concurrent_runs_send_each_greeting_once(
    conn: sqlite3.Connection, db_path: Path, smtp: Recorder, make_contact: ContactFactory
) -> None:
    for n in range(30):
        make_contact(f"P{n} Person", email=f"p{n}@example.com", company="Acme", birthday="--11-23")
    templates.add(conn, "t", "Happy birthday {first_name}", "Best wishes", now=NOW)
    greetings.add_rule(conn, "birthday", "t", now=NOW)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "crmcli", "--db", str(db_path), "greet", "--due"]
    runs = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sorted(smtp.to()) == sorted(f"p{n}@example.com" for n in range(30))
    assert len(smtp.messages) == 30
    rows = conn.execute("SELECT status, attempts FROM sends").fetchall()
    assert [tuple(r) for r in rows] == [("sent", 1)] * 30


# --- hostile data and silent servers (issue 13) -----------------------------------------------


def test_a_crlf_in_a_contact_field_cannot_add_a_header(
    cli: Cli, book: sqlite3.Connection, smtp: Recorder
) -> None:
    # an imported company with a line break in it, used in the subject
    book.execute(
        "UPDATE templates SET subject = 'Happy birthday from {company}' WHERE name = 'bday'"
    )
    book.execute(
        "UPDATE contacts SET company = 'Acme\r\nBcc: spy@evil.example' WHERE first_name = 'Chloé'"
    )
    result = cli("greet", "--due")
    assert result.stderr.endswith("Greetings: 4 sent\n")
    assert all(rcpts != ["spy@evil.example"] for _, rcpts in smtp.envelopes)
    assert sorted(r for _, rcpts in smtp.envelopes for r in rcpts) == smtp.to()
    chloe = next(m for m in smtp.messages if "chloe" in str(m["To"]))
    assert chloe["Bcc"] is None
    assert str(chloe["Subject"]) == "Happy birthday from Acme Bcc: spy@evil.example"


def test_one_contact_that_cannot_be_rendered_fails_alone(
    cli: Cli, book: sqlite3.Connection, smtp: Recorder
) -> None:
    # a template an older crm saved with a placeholder this one does not know, used for Ann only
    templates.add(book, "vip", "For you", "Dear {first_name}", now=NOW)
    greetings.add_rule(book, "birthday", "vip", tag="vip", now=NOW)
    book.execute("UPDATE templates SET body = 'Dear {nickname}' WHERE name = 'vip'")
    ann = contacts.resolve(book, "ann@example.com")
    contacts.update(book, ann, ContactChanges(add_tags=["vip"]), now=NOW)
    result = cli("greet", "--due", code=1)
    assert "Failed: birthday greeting to Ann Lee <ann@example.com>: cannot render" in result.stderr
    assert result.stderr.endswith("Greetings: 1 failed, 3 sent\n")
    assert smtp.to() == ["ada@example.com", "chloe@example.com", "zoe@example.com"]
    failed = cli.json("greet", "log", "--status", "failed")
    assert [(r["contact_id"], r["attempts"]) for r in failed] == [(ann, 1)]
    assert "unknown placeholder {nickname}" in failed[0]["error"]
    # the next run retries Ann alone (once the template is fixed), the others are not resent
    book.execute("UPDATE templates SET body = 'Dear {first_name}' WHERE name = 'vip'")
    assert cli("greet", "--due").stderr.endswith("Greetings: 1 sent\n")
    assert len(smtp.messages) == 4


@pytest.fixture
def silent_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A server that accepts connections and never says a word (no SMTP banner)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = int(listener.getsockname()[1])
    use_server(monkeypatch, port, "me@seller.example")
    try:
        yield port
    finally:
        listener.close()


def test_a_silent_server_costs_one_timeout_not_one_per_greeting(
    cli: Cli, book: sqlite3.Connection, silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("CRM_SMTP_TIMEOUT", "0.5")
    started = time.monotonic()
    result = cli("greet", "--due", code=1)
    elapsed = time.monotonic() - started
    assert result.stderr.endswith("Greetings: 4 failed\n")
    assert "timed out" in result.stderr
    assert elapsed < 3  # one 0.5 s timeout; the old fixed 30 s per greeting would be 2 minutes
    errors = [r["error"] for r in cli.json("greet", "log")]
    assert len(errors) == 4 and all("127.0.0.1" in e for e in errors)


def test_the_run_deadline_bounds_a_batch(
    cli: Cli, book: sqlite3.Connection, silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("CRM_SMTP_TIMEOUT", "60")
    monkeypatch.setenv("CRM_SMTP_DEADLINE", "1")
    started = time.monotonic()
    result = cli("greet", "--due", code=1)
    assert time.monotonic() - started < 5
    assert result.stderr.endswith("Greetings: 4 failed\n")


@pytest.mark.parametrize(
    ("host", "refused"),
    [("mail.example.com", True), ("192.0.2.10", True), ("localhost", False), ("::1", False)],
)
def test_no_password_in_clear_text_to_another_machine(host: str, refused: bool) -> None:
    from crmcli import config
    from crmcli.errors import CrmError

    env = {
        "CRM_SMTP_HOST": host,
        "CRM_SMTP_SECURITY": "none",
        "CRM_SMTP_USER": "sam",
        "CRM_SMTP_FROM": "sam@example.com",
    }
    cfg = config.load({**os.environ, **env})
    if not refused:
        assert mailer.load_settings(cfg).security == "none"
        return
    with pytest.raises(CrmError) as caught:
        mailer.load_settings(cfg)
    assert caught.value.message == (
        f"CRM_SMTP_SECURITY='none' would send the password of 'sam' in clear text to {host}; "
        "set security = 'starttls' (port 587) or 'ssl' (port 465), or CRM_SMTP_SECURITY; it "
        f"overrides smtp.security in {cfg.path}"
    )


def test_outbox_never_writes_through_a_planted_link(
    cli: Cli, book: sqlite3.Connection, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    # every temporary name the old scheme would use, for the first log ids
    for log_id in range(1, 8):
        for stem in (
            f"2026-11-23-contact{n}-birthday-{log_id}" for n in (1, 2, 3)
        ):  # fmt: skip
            (outbox / f".{stem}.eml.tmp").symlink_to(victim)
        (outbox / ".2026-11-23-contact1-birthday.eml.tmp").unlink(missing_ok=True)
        (outbox / ".2026-11-23-contact1-birthday.eml.tmp").symlink_to(victim)
    cli("greet", "--due", "--outbox", str(outbox))
    assert victim.read_text() == "precious\n"
    assert len(list(outbox.glob("*.eml"))) == 4


def test_outbox_names_are_unique_when_labels_slug_alike(
    cli: Cli, conn: sqlite3.Connection, tmp_path: Path, make_contact: ContactFactory
) -> None:
    make_contact("Bea Two", email="bea@example.com", company="Acme")
    bea = contacts.resolve(conn, "bea@example.com")
    for label in ("customer since", "Customer-Since!"):
        cli("dates", "add", str(bea), label, "2020-11-23")
        templates.add(conn, f"t{len(label)}", "Hello {first_name}", "{occasion}", now=NOW)
        greetings.add_rule(conn, label, f"t{len(label)}", now=NOW)
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    assert cli("greet", "--due", "--outbox", str(outbox)).stderr.endswith("Greetings: 2 sent\n")
    assert len(list(outbox.glob("*.eml"))) == 2


def test_the_greetings_log_moves_into_the_send_log_whole(tmp_path: Path) -> None:
    """m012: every greeting sent before keeps its id, status and Message-ID (so it is never
    sent again), and the last touch is recomputed without campaign notes."""
    from crmcli import db

    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    db.migrate(old, stop_before="m012_sends_campaigns")
    old.execute(
        "INSERT INTO contacts (id, uid, name, created_at, updated_at) "
        "VALUES (1, 'u1', 'Ann', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
    )
    old.execute(
        "INSERT INTO notes (contact_id, kind, body, at, created_at, updated_at) VALUES "
        "(1, 'call', 'called', '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z')"
    )
    old.execute(
        "INSERT INTO greetings (id, contact_id, occasion, year, occurs_on, message_id, status, "
        "method, attempts, sent_at) VALUES (7, 1, 'birthday', 2025, '2025-11-23', '<g@x>', 'sent', "
        "'smtp', 1, '2025-11-23T08:00:00Z')"
    )
    old.close()
    conn = db.connect(path)
    row = conn.execute("SELECT * FROM sends").fetchone()
    assert (row["id"], row["kind"], row["contact_id"], row["occasion"], row["year"]) == (
        7, "greeting", 1, "birthday", 2025,
    )  # fmt: skip
    assert (row["status"], row["message_id"], row["campaign_id"]) == ("sent", "<g@x>", None)
    conn.execute(
        "INSERT INTO notes (contact_id, kind, body, at, created_at, updated_at) VALUES "
        "(1, 'campaign', 'c', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z')"
    )
    touched = conn.execute("SELECT last_touch_at FROM contacts WHERE id = 1").fetchone()[0]
    assert touched == "2026-02-01T00:00:00Z"
    # the UNIQUE index is what keeps a greeting from being logged (and sent) twice
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO sends (kind, contact_id, occasion, year, message_id, status) "
            "VALUES ('greeting', 1, 'birthday', 2025, '<h@x>', 'claimed')"
        )
