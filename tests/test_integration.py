"""Where capabilities meet: the agenda, a contact's history and show, greetings as notes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli


def test_agenda_joins_reminders_dates_touch_and_stale_deals(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee", "--birthday", "1986-11-25", "--cadence", "7d")
    cli("contact", "add", "Bob Ray", "--anniversary", "--11-23")
    cli("remind", "ann", "send the quote", "--due", "today 15:00")
    # A deal that has sat in its stage since long ago is stale.
    with_deal = cli(
        "deal",
        "add",
        "bob",
        "Fleet renewal",
        "--value",
        "1200",
        "--currency",
        "EUR",
        "--stage",
        "proposal",
        "--format",
        "json",
    )
    assert json.loads(with_deal.stdout)["title"] == "Fleet renewal"
    items = cli.json("agenda")
    by_section: dict[str, list[str]] = {}
    for item in items:
        by_section.setdefault(item["section"], []).append(item["text"])
    assert by_section["today"] == ["send the quote"]
    assert by_section["dates"] == ["turns 40"]  # Nov 25, within the birthday's 7 days
    assert len(by_section["dates_today"]) == 1  # Bob's anniversary is today
    assert "touch" not in by_section  # Ann was added today; 7 days have not passed
    later = cli.runner.invoke(
        cli.app, ["agenda", "-f", "json"], env={"CRM_NOW": "2027-03-01T09:00"}
    )
    later_sections = {item["section"] for item in json.loads(later.stdout)}
    assert {"overdue", "touch", "deals"} <= later_sections
    stale = [i for i in json.loads(later.stdout) if i["section"] == "deals"]
    assert stale[0]["ref"].startswith("deal ") and stale[0]["contact"] == "Bob Ray"
    assert "Fleet renewal (proposal, " in stale[0]["text"]


def test_history_has_notes_reminders_and_deal_moves(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee")
    cli("note", "ann", "first call", "--kind", "call", "--at", "yesterday 10:00")
    cli("deal", "add", "ann", "Pilot", "--value", "500", "--currency", "EUR")
    cli("deal", "move", "1", "proposal")
    cli("remind", "ann", "follow up", "--due", "tomorrow")
    events = [(e["event"], e["text"]) for e in cli.json("history", "ann")]
    kinds = [kind for kind, _ in events]
    assert "call" in kinds and "stage" in kinds and "deal" in kinds
    assert ("stage", "Deal 'Pilot' moved lead -> proposal") in events
    assert events[-1] == ("call", "first call")  # oldest last


def test_greeting_sent_becomes_a_note(cli: Cli, tmp_path: Path) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@example.com", "--birthday", "1980-11-23")
    cli(
        "template",
        "add",
        "bday",
        "--subject",
        "Happy birthday {first_name}!",
        "--body",
        "Many happy returns, {first_name}.",
    )
    cli("greet", "rule", "add", "birthday", "bday")
    (tmp_path / "outbox").mkdir()
    cli("greet", "--due", "--outbox", str(tmp_path / "outbox"))
    notes = cli.json("notes", "--contact", "ann")
    assert [n["kind"] for n in notes] == ["greeting"]
    assert "Happy birthday Ann!" in notes[0]["body"]
    assert any(e["event"] == "greeting" for e in cli.json("history", "ann"))
    cli("greet", "--due", "--outbox", str(tmp_path / "outbox"))  # exactly once: no second note
    assert len(cli.json("notes", "--contact", "ann")) == 1


def test_contact_show_gathers_everything(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee", "--birthday", "--04-15")
    cli("dates", "add", "ann", "customer since", "2019-03-01")
    cli("note", "ann", "met at the fair")
    cli("remind", "ann", "send brochure", "--due", "tomorrow")
    cli("deal", "add", "ann", "Pilot", "--value", "500", "--currency", "EUR")
    record = cli.json("contact", "show", "ann")
    assert [d["label"] for d in record["dates"]] == ["birthday", "customer since"]
    assert [n["body"] for n in record["notes"]] == ["met at the fair"]
    assert [r["body"] for r in record["reminders"]] == ["send brochure"]
    assert [d["title"] for d in record["deals"]] == ["Pilot"]
    table = cli("contact", "show", "ann", "--format", "table").stdout
    for expected in (
        "Apr 15 (year unknown)",
        "customer since",
        "2019-03-01",
        "Open reminders",
        "send brochure",
        "Latest notes",
        "met at the fair",
        "Deals",
        "Pilot",
    ):
        assert expected in table, expected


def test_agenda_on_a_terminal_shows_a_screenful_per_section(cli: Cli) -> None:
    for i in range(30):
        cli("remind", f"task {i:02d}", "--due", "yesterday")
    table = cli("agenda", "--format", "table").stdout
    assert "Overdue (30)" in table
    assert "task 24" in table and "task 25" not in table
    assert "… and 5 more (all of them: crm agenda --format tsv)" in table
    assert len(cli.json("agenda")) == 30  # scripts get everything
