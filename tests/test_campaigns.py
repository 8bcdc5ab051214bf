"""Campaigns against a real SMTP server on 127.0.0.1 (aiosmtpd): batches, kill -9 mid-run, two
runs at once, consent, List-Unsubscribe and the opt-out round trip, the report in every format."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from crmcli import campaigns, templates
from crmcli.errors import ValidationError
from tests.conftest import Cli
from tests.test_greetings import Recorder, free_port, use_server

REPO = Path(__file__).resolve().parent.parent
SENDER = "Søren Sælger <soren@seller.example>"


class KillingRecorder(Recorder):
    """A server that can kill -9 its client at a chosen moment: while it sends the Nth message
    (``in_data``: after the server took the message, before it said so), or when it starts the
    Nth (``at_mail``: the one before is fully accepted)."""

    def __init__(self) -> None:
        super().__init__()
        self.victim: int | None = None
        self.kill_in_data: int | None = None
        self.kill_at_mail: int | None = None
        self.mails = 0

    def _kill(self) -> None:
        if self.victim is not None:
            os.kill(self.victim, signal.SIGKILL)
            self.victim = None

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.mails += 1
        if self.kill_at_mail is not None and self.mails == self.kill_at_mail:
            self._kill()
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer: str = await super().handle_DATA(server, session, envelope)
        if self.kill_in_data is not None and len(self.messages) == self.kill_in_data:
            self._kill()  # the server has it; the client never hears "250"
        return answer


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[KillingRecorder]:
    from aiosmtpd.controller import Controller

    recorder = KillingRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    use_server(monkeypatch, port, SENDER)
    try:
        yield recorder
    finally:
        controller.stop()


def book_csv(
    path: Path, people: int, *, opted_out: int = 0, dnc: int = 0, no_email: int = 0
) -> None:
    """A CSV of customers tagged spring, with consent columns (as a shop's export has them)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["First name", "Last name", "Email", "Tags", "Email opt out", "Do not contact"])
    for n in range(people):
        writer.writerow([f"P{n}", "Person", f"p{n}@example.com", "spring", "", "no"])
    for n in range(opted_out):
        writer.writerow([f"O{n}", "Out", f"out{n}@example.com", "spring", "yes", ""])
    for n in range(dnc):
        writer.writerow([f"D{n}", "Never", f"dnc{n}@example.com", "spring", "", "true"])
    for n in range(no_email):
        writer.writerow([f"N{n}", "Nomail", "", "spring", "", ""])
    path.write_text(out.getvalue(), encoding="utf-8")


def start_campaign(cli: Cli, tmp_path: Path, people: int, **excluded: int) -> None:
    book_csv(tmp_path / "book.csv", people, **excluded)
    cli("import", str(tmp_path / "book.csv"))
    cli("segment", "add", "spring", "tag:spring")
    cli(
        "template", "add", "offer", "--subject", "Spring offer for {first_name}",
        "--body", "Dear {first_name},\n\n10% off this spring.\n\nUnsubscribe: {unsubscribe}\n",
    )  # fmt: skip
    cli("campaign", "add", "spring", "--segment", "spring", "--template", "offer")


def crm(db_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "crmcli", "--db", str(db_path), *args]


def env() -> dict[str, str]:
    """The test's environment (its SMTP server, clock, folders) for a crm subprocess."""
    return {**os.environ, "PYTHONPATH": str(REPO)}


def run(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        crm(db_path, *args), env=env(), capture_output=True, text=True, timeout=300
    )


def recipients(smtp: Recorder) -> Counter[str]:
    return Counter(str(m["To"].addresses[0].addr_spec) for m in smtp.messages)


# --- the done-means test -------------------------------------------------------------------------


@pytest.mark.slow
def test_200_contacts_in_batches_with_kill_9_each_message_once_but_the_window(
    cli: Cli, tmp_path: Path, db_path: Path, smtp: KillingRecorder, conn: sqlite3.Connection
) -> None:
    start_campaign(cli, tmp_path, 200, opted_out=5, dnc=5, no_email=3)
    # batch 1: 100 messages, cleanly
    first = run(db_path, "campaign", "send", "spring", "--limit", "100")
    assert first.returncode == 0, first.stderr
    assert len(smtp.messages) == 100 and max(recipients(smtp).values()) == 1
    assert "Continue with: crm campaign send spring" in first.stderr

    # batch 2: kill -9 as the server starts on its 31st message: the 30th was accepted and
    # logged, the 31st was claimed and not sent. Nothing is sent twice.
    smtp.kill_at_mail = smtp.mails + 31
    process = subprocess.Popen(
        crm(db_path, "campaign", "send", "spring"), env=env(), stderr=subprocess.PIPE
    )
    smtp.victim = process.pid
    process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL
    assert len(smtp.messages) == 130 and max(recipients(smtp).values()) == 1

    # batch 3: kill -9 in the one documented window: the server has taken message 151 and
    # the client dies before it hears so (and before it logs it).
    smtp.kill_at_mail = None
    smtp.kill_in_data = 151
    process = subprocess.Popen(
        crm(db_path, "campaign", "send", "spring"), env=env(), stderr=subprocess.PIPE
    )
    smtp.victim = process.pid
    process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL
    in_flight = str(smtp.messages[150]["To"].addresses[0].addr_spec)

    # the next run continues where it stopped: the claims of the dead runs are taken over
    last = run(db_path, "campaign", "send", "spring")
    assert last.returncode == 0, last.stderr
    assert "an earlier run was interrupted while sending this message" in last.stderr

    received = recipients(smtp)
    assert set(received) == {f"p{n}@example.com" for n in range(200)}
    twice = [address for address, n in received.items() if n > 1]
    assert twice == [in_flight] and received[in_flight] == 2
    copies = [m for m in smtp.messages if in_flight in str(m["To"])]
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"]
    # opted out, do-not-contact and no address: nothing, whatever the segment says
    assert not [a for a in received if a.startswith(("out", "dnc"))]
    # every message can be unsubscribed from: a mailto to the sender with the recipient's token
    tokens = set()
    for msg in smtp.messages:
        header = str(msg["List-Unsubscribe"]).strip()
        assert header.startswith("<mailto:soren@seller.example?subject=unsubscribe%20"), header
        tokens.add((str(msg["To"]), header))
        assert header[1:-1] in msg.get_content()  # the {unsubscribe} of the text, the same
    assert len({t for _, t in tokens}) == 200

    report = cli.json("campaign", "show", "spring")
    assert report["counts"] == {
        "sent": 200, "to_send": 0, "failed": 0, "claimed": 0, "left": 0, "forgotten": 0,
        "excluded": {"no email": 3, "opted out": 5, "do not contact": 5},
    }  # fmt: skip
    # each recipient's history has the message once, as a note of kind campaign
    notes = conn.execute(
        "SELECT contact_id, count(*) FROM notes WHERE kind = 'campaign' GROUP BY contact_id"
    ).fetchall()
    assert len(notes) == 200 and {n for _, n in notes} == {1}
    assert run(db_path, "campaign", "send", "spring").stderr.startswith(
        "Campaign spring: nothing to send in this run"
    )


@pytest.mark.slow
def test_two_runs_at_once_send_each_message_once(
    cli: Cli, tmp_path: Path, db_path: Path, smtp: KillingRecorder
) -> None:
    start_campaign(cli, tmp_path, 60)
    runs = [
        subprocess.Popen(
            crm(db_path, "campaign", "send", "spring"), env=env(), stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=300)[1] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    assert sorted(recipients(smtp)) == sorted(f"p{n}@example.com" for n in range(60))
    assert len(smtp.messages) == 60


# --- consent and unsubscribing -------------------------------------------------------------------


def unsubscribe_mail(msg: EmailMessage, sender: str = "Someone <forwarded@example.net>") -> str:
    """What a mail client sends when its unsubscribe button is pressed: a message to the
    List-Unsubscribe mailto, with its subject."""
    target = urlsplit(str(msg["List-Unsubscribe"]).strip().strip("<>"))
    subject = unquote(parse_qs(target.query)["subject"][0])
    return f"From: {sender}\nTo: {target.path}\nSubject: {subject}\nMessage-ID: <u@x>\n\n\n"


def test_unsubscribe_round_trip_and_replies(
    cli: Cli, tmp_path: Path, smtp: KillingRecorder
) -> None:
    start_campaign(cli, tmp_path, 4)
    cli("campaign", "send", "spring")
    by_address = {str(m["To"].addresses[0].addr_spec): m for m in smtp.messages}
    # the unsubscribe button of p0's mail client (even from another address: the token says who)
    result = cli("optout", "--from-mail", input=unsubscribe_mail(by_address["p0@example.com"]))
    assert (
        result.stderr
        == "P0 Person (#1) opted out of e-mail (recognised by its unsubscribe token)\n"
    )
    consent = cli.json("contact", "show", "1")["consent"]
    assert consent["email_optout"]["source"] == "unsubscribe mail from forwarded@example.net"
    # a reply to the campaign saying "please stop": the message it answers says who
    reply = (
        "From: P1 <p1-private@example.org>\nTo: soren@seller.example\nSubject: Re: offer\n"
        f"In-Reply-To: {by_address['p1@example.com']['Message-ID']}\n\nPlease stop.\n"
    )
    assert (
        "recognised by the message it answers" in cli("optout", "--from-mail", input=reply).stderr
    )
    # a plain mail from a known address
    plain = "From: p2@example.com\nTo: soren@seller.example\nSubject: unsubscribe\n\nno more\n"
    assert "recognised by the sender's address" in cli("optout", "--from-mail", input=plain).stderr
    # nobody: an error, nothing recorded
    stranger = "From: x@nowhere.example\nTo: soren@seller.example\nSubject: hi\n\nhello\n"
    result = cli("optout", "--from-mail", input=stranger, code=1)
    assert result.stderr.startswith("Error: cannot tell who this message opts out:")
    # a second campaign to the same people reaches only the one left
    cli("campaign", "add", "autumn", "--segment", "spring", "--template", "offer")
    cli("campaign", "send", "autumn")
    assert [str(m["To"].addresses[0].addr_spec) for m in smtp.messages[4:]] == ["p3@example.com"]
    shown = cli.json("campaign", "show", "autumn")
    assert shown["counts"]["excluded"]["opted out"] == 3
    # taken back by the person: contact edit --email-optin
    cli("contact", "edit", "1", "--email-optin")
    assert cli.json("contact", "show", "1")["consent"]["email_optout"] is None


def test_optout_by_address_and_do_not_contact(
    cli: Cli, tmp_path: Path, smtp: KillingRecorder
) -> None:
    start_campaign(cli, tmp_path, 3)
    assert cli("optout", "P0@EXAMPLE.COM").stdout == "1\n"
    cli("optout", "p1@example.com", "--do-not-contact", "--source", "phone call")
    missing = cli("optout", "nobody@example.com", code=1)
    assert (
        missing.stderr
        == "Error: no contact has the address 'nobody@example.com'; nothing recorded\n"
    )
    assert cli("optout", code=2).stderr.startswith("Error: give the address")
    shown = cli.json("contact", "show", "2")["consent"]
    assert shown["do_not_contact"]["source"] == "phone call"
    cli("campaign", "send", "spring")
    assert list(recipients(smtp)) == ["p2@example.com"]
    # the first opt-out keeps its date and source when it is asked again
    cli("optout", "p0@example.com", "--source", "later")
    assert cli.json("contact", "show", "1")["consent"]["email_optout"]["source"] == "crm optout"


# --- the report, the text, the rate ----------------------------------------------------------------


def test_report_in_every_format_with_failures_and_reasons(
    cli: Cli, tmp_path: Path, smtp: KillingRecorder
) -> None:
    start_campaign(cli, tmp_path, 3, opted_out=1, no_email=1)
    smtp.refuse.add("p1@example.com")
    result = cli("campaign", "send", "spring", code=1)
    assert "Failed: P1 Person <p1@example.com>: the server refused the recipient" in result.stderr
    report = cli.json("campaign", "show", "spring")
    by_status = {r["name"]: (r["status"], r["reason"]) for r in report["recipients"]}
    assert by_status["P1 Person"][0] == "failed" and "refused" in str(by_status["P1 Person"][1])
    assert by_status["O0 Out"] == ("excluded", "opted out")
    assert by_status["N0 Nomail"] == ("excluded", "no email")
    assert report["counts"]["sent"] == 2 and report["counts"]["failed"] == 1
    for fmt in ("table", "csv", "tsv", "jsonl"):
        out = cli("campaign", "show", "spring", "--format", fmt).stdout
        assert "P1 Person" in out and "opted out" in out, fmt
    rows = [
        json.loads(line)
        for line in cli("campaign", "show", "spring", "-f", "jsonl").stdout.splitlines()
    ]
    assert {r["status"] for r in rows} == {"sent", "failed", "excluded"}
    assert (
        cli("campaign", "show", "spring", "--status", "failed", "-f", "csv").stdout.count("\n") == 2
    )
    listed = cli.json("campaign", "list")
    assert [(c["name"], c["sent"], c["failed"], c["excluded"]) for c in listed] == [
        ("spring", 2, 1, 2)
    ]
    # the failed one is retried next run, the others are not sent again
    smtp.refuse.clear()
    cli("campaign", "send", "spring")
    assert sorted(recipients(smtp).values()) == [1, 1, 1]


def sent_to_p0_not_p1(cli: Cli, tmp_path: Path, smtp: KillingRecorder) -> None:
    """A campaign to P0 and P1 Person, sent: the server refused P1."""
    start_campaign(cli, tmp_path, 2)
    smtp.refuse.add("p1@example.com")
    cli("campaign", "send", "spring", code=1)


def test_a_failed_recipient_who_opts_out_and_leaves_is_excluded_not_left(
    cli: Cli, tmp_path: Path, smtp: KillingRecorder
) -> None:
    sent_to_p0_not_p1(cli, tmp_path, smtp)
    cli("contact", "edit", "P1 Person", "--untag", "spring", "--email-optout")
    cli("contact", "edit", "P0 Person", "--untag", "spring")
    report = cli.json("campaign", "show", "spring")
    by_name = {r["name"]: (r["status"], r["reason"]) for r in report["recipients"]}
    # consent is the reason the message is not sent: shown as such, and never retried
    assert by_name["P1 Person"] == ("excluded", "opted out")
    assert by_name["P0 Person"] == ("sent", None)  # sent before it left: still sent
    smtp.refuse.clear()
    cli("campaign", "send", "spring")
    assert recipients(smtp) == {"p0@example.com": 1}


def test_erasing_recipients_counts_only_those_sent_to(
    cli: Cli, tmp_path: Path, smtp: KillingRecorder
) -> None:
    sent_to_p0_not_p1(cli, tmp_path, smtp)
    cli("contact", "forget", "P0 Person", "--yes")  # sent to
    cli("contact", "forget", "P1 Person", "--yes")  # refused: nothing reached them
    counts = cli.json("campaign", "show", "spring")["counts"]
    assert (counts["forgotten"], counts["failed"]) == (1, 0)
    assert cli.json("campaign", "list")[0]["sent"] == 1  # erased recipients included


def test_the_text_is_locked_at_the_first_send(
    cli: Cli, tmp_path: Path, smtp: KillingRecorder
) -> None:
    start_campaign(cli, tmp_path, 2)
    cli("campaign", "send", "spring", "--limit", "1")
    cli("template", "edit", "offer", "--subject", "Changed, {first_name}")
    cli("campaign", "send", "spring")
    assert {str(m["Subject"]).split()[0] for m in smtp.messages} == {"Spring"}
    assert cli.json("campaign", "show", "spring")["subject"] == "Spring offer for {first_name}"


def test_rate_spaces_the_messages(cli: Cli, tmp_path: Path, smtp: KillingRecorder) -> None:
    start_campaign(cli, tmp_path, 3)
    start = time.monotonic()
    cli("campaign", "send", "spring", "--rate", "240/min")  # one every 0.25 s
    assert time.monotonic() - start >= 0.5
    assert len(smtp.messages) == 3
    assert campaigns.parse_rate("2/s") == 0.5 and campaigns.parse_rate("30") == 2.0
    assert cli("campaign", "send", "spring", "--rate", "fast", code=1).stderr.startswith(
        "Error: --rate 'fast': give messages per minute"
    )


def test_markdown_body_is_multipart_and_data_never_becomes_html(
    cli: Cli, smtp: KillingRecorder
) -> None:
    cli("contact", "add", "--first", "<script>x</script>", "--last", "[click](https://evil.example)",
        "-e", "eve@example.com", "-t", "md")  # fmt: skip
    cli("template", "add", "news", "--markdown", "--subject", "News",
        "--body", "Hello **{first_name}** {last_name}\n\n- one\n- two\n")  # fmt: skip
    cli("campaign", "add", "news", "--query", "tag:md", "--template", "news")
    cli("campaign", "send", "news")
    (msg,) = smtp.messages
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert "Hello **<script>x</script>**" in plain.get_content()
    page = html.get_content()
    assert "<strong>&lt;script&gt;x&lt;/script&gt;</strong>" in page
    assert "<li>one</li>" in page and "<a " not in page and "<script>" not in page


def test_campaign_checks_at_add(cli: Cli, conn: sqlite3.Connection) -> None:
    from datetime import datetime

    now = datetime(2026, 11, 23, 9)
    templates.add(conn, "bday", "Happy {nth} birthday", "Hi {first_name}", now=now)
    templates.add(conn, "ok", "Hi", "Hi {first_name}", now=now)
    with pytest.raises(ValidationError, match=r"uses \{nth\}, which a campaign cannot fill"):
        campaigns.add(conn, "c", query="tag:x", template="bday", now=now)
    err = cli("campaign", "add", "c", "--template", "ok", code=1).stderr
    assert err == "Error: give the audience: --segment NAME or --query TEXT (one of them)\n"
    err = cli("campaign", "add", "c", "--template", "ok", "--segment", "nope", code=1).stderr
    assert err.startswith("Error: no segment 'nope'")
    assert (
        cli("campaign", "add", "c", "--template", "ok", "--query", "tag:", code=None).exit_code != 0
    )
    assert cli(
        "campaign", "add", "c d", "--template", "ok", "--query", "all", code=1
    ).stderr.startswith("Error: campaign name 'c d' is not valid")
    cli("campaign", "add", "c", "--template", "ok", "--query", "all")
    assert cli("template", "rm", "ok", "--yes", code=1).stderr.startswith(
        "Error: template 'ok' is used by campaign(s) c"
    )


def test_preview_dry_run_and_rm_write_nothing_to_the_log(
    cli: Cli, tmp_path: Path, smtp: KillingRecorder, conn: sqlite3.Connection
) -> None:
    start_campaign(cli, tmp_path, 2, opted_out=1)
    preview = cli.json("campaign", "preview", "spring")
    assert preview["message"]["subject"] == "Spring offer for P0"
    assert preview["counts"]["to_send"] == 2 and preview["counts"]["excluded"]["opted out"] == 1
    for_out = cli.json("campaign", "preview", "spring", "out0@")
    assert for_out["message"]["to_email"] == "out0@example.com"
    dry = cli.json("campaign", "send", "spring", "--dry-run")
    assert [r["status"] for r in dry] == ["would-send", "would-send"]
    assert conn.execute("SELECT count(*) FROM sends").fetchone()[0] == 0
    assert smtp.messages == []
    cli("campaign", "send", "spring")
    assert cli("campaign", "rm", "spring", code=2).stderr.startswith(
        "Error: Remove campaign spring"
    )
    cli("campaign", "rm", "spring", "--yes")
    assert conn.execute("SELECT count(*) FROM sends").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM notes WHERE kind = 'campaign'").fetchone()[0] == 2


def test_a_campaign_is_not_a_touch(
    cli: Cli, tmp_path: Path, smtp: KillingRecorder, conn: sqlite3.Connection
) -> None:
    """A message to many is not keeping in touch with one: the cadence still asks for a call."""
    start_campaign(cli, tmp_path, 1)
    cli("contact", "edit", "1", "--cadence", "30d")
    cli("campaign", "send", "spring")
    assert cli.json("history", "1")[0]["event"] == "campaign"
    touched = conn.execute("SELECT last_touch_at FROM contacts WHERE id = 1").fetchone()[0]
    assert touched is None
    cli("note", "1", "called", "--kind", "call")
    touched = conn.execute("SELECT last_touch_at FROM contacts WHERE id = 1").fetchone()[0]
    assert touched == "2026-11-23T09:00:00Z"
    # trashing the call note leaves nothing that counts: the campaign note does not
    conn.execute("UPDATE notes SET deleted_at = '2026-11-23T09:00:00Z' WHERE kind = 'call'")
    assert conn.execute("SELECT last_touch_at FROM contacts WHERE id = 1").fetchone()[0] is None


def test_campaign_needs_a_from_address(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_campaign(cli, tmp_path, 1)
    outbox = tmp_path / "out"
    outbox.mkdir()
    result = cli("campaign", "send", "spring", "--outbox", str(outbox), code=1)
    assert result.stderr.startswith("Error: no From address: a campaign needs smtp.from")
    monkeypatch.setenv("CRM_SMTP_FROM", "me@seller.example")
    cli("campaign", "send", "spring", "--outbox", str(outbox))
    (eml,) = outbox.iterdir()
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert str(msg["List-Unsubscribe"]).strip().startswith("<mailto:me@seller.example?subject=")
    assert eml.stat().st_mode & 0o777 == 0o600


def test_demo_shows_an_after_sales_rule_and_a_campaign_preview(cli: Cli, tmp_path: Path) -> None:
    out = cli("demo", "--path", str(tmp_path / "demo.db")).stdout
    rules_at = out.index("\nAfter-sales rules (crm rule list)\n")
    set_at = out.index("\nFollow-ups the rules set (crm reminders)\n")
    preview_at = out.index("\nCampaign preview (crm campaign preview thank-you)\n")
    assert rules_at < set_at < preview_at < out.index("\nContacts (8 of them")
    assert "Check the delivery" in out[set_at:preview_at]  # (80 columns: cut to fit)
    assert "rule 2 (on" in out[set_at:preview_at]
    preview = out[preview_at:]
    assert "Subject: A thank-you for Solaris Energía, Ana" in preview
    assert "List-Unsubscribe: <mailto:" in preview
    assert "excluded: 1 opted out, 1 do not contact" in preview
