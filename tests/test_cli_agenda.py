"""The notes, reminders and agenda commands through the CLI, and a few real runs of `crm`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli, installed_crm


def setup_book(cli: Cli) -> None:
    cli(
        "contact",
        "add",
        "Ann Lee",
        "--company",
        "Acme",
        "-e",
        "ann@acme.example",
        "-p",
        "+1 555 0100",
    )
    cli("contact", "add", "Ben Okafor", "--cadence", "30d")


# --- agenda ------------------------------------------------------------------------------------


def test_agenda_on_an_empty_database(cli: Cli) -> None:
    assert cli("agenda", "--format", "json").stdout == "[]\n"
    result = cli("agenda", "--quiet", "--exit-code")
    assert (result.stdout, result.stderr) == ("", "")
    assert cli("agenda", "--format", "table").stderr == "Nothing on the agenda.\n"


def test_agenda_sections(cli: Cli) -> None:
    setup_book(cli)
    cli("remind", "ann", "overdue call", "--due", "today 8:00")
    cli("remind", "ann", "today's call", "--due", "today 17:00")
    cli("remind", "general to-do", "--due", "today")
    cli("remind", "ann", "in a week", "--due", "+7d")
    cli("remind", "ann", "too far", "--due", "+8d")
    # Ben: cadence 30 days, added today, no notes -> not due; Carl: added long ago -> due.
    cli("contact", "add", "Carl Berg", "--cadence", "2w")
    from crmcli import db

    conn = db.connect(db.resolve_path(None))
    conn.execute("UPDATE contacts SET created_at = '2026-10-01T12:00:00Z' WHERE name = 'Carl Berg'")
    conn.close()
    items = cli.json("agenda")
    assert [(i["section"], i["text"]) for i in items] == [
        ("overdue", "overdue call"),
        ("today", "general to-do"),
        ("today", "today's call"),
        ("upcoming", "in a week"),
        ("touch", "no notes since added 2026-10-01, keep in touch every 14 days"),
    ]
    first = items[0]
    assert first == {
        "section": "overdue",
        "date": "2026-11-23",
        "time": "08:00",
        "when": "2026-11-23T08:00:00Z",
        "text": "overdue call",
        "ref": "reminder 1",
        "contact_id": 1,
        "contact": "Ann Lee",
        "company": "Acme",
        "phone": "+1 555 0100",
        "email": "ann@acme.example",
    }
    assert items[4]["ref"] == "contact 3" and items[4]["date"] == "2026-10-15"
    table = cli("agenda", "--format", "table", "--days", "7").stdout
    for heading in ("Overdue (1)", "Today (2)", "Next 7 days (1)", "Due a touch (1)"):
        assert heading in table
    assert [i["text"] for i in cli.json("agenda", "--days", "0")][:3] == [
        "overdue call",
        "general to-do",
        "today's call",
    ]


@pytest.mark.parametrize(
    ("due", "code", "printed"),
    [
        ("today 8:00", 3, True),  # overdue: due
        ("today", 3, True),  # today: due
        ("+3d", 0, False),  # only coming days: nothing due, --quiet prints nothing
    ],
)
def test_quiet_and_exit_code(cli: Cli, due: str, code: int, printed: bool) -> None:
    cli("remind", "something", "--due", due)
    result = cli("agenda", "--quiet", "--exit-code", "--format", "tsv", code=code)
    assert bool(result.stdout) is printed
    assert cli("agenda", "--format", "tsv").stdout.startswith(
        "section\tdate"
    )  # exit 0 without flag


def test_crm_now_gives_the_agenda_of_that_day(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("remind", "later", "--due", "2026-12-10")
    assert cli.json("agenda") == []
    monkeypatch.setenv("CRM_NOW", "2026-12-10T07:00")
    assert [i["section"] for i in cli.json("agenda")] == ["today"]


# --- reminders ---------------------------------------------------------------------------------


def test_remind_echoes_and_done_twice(cli: Cli) -> None:
    setup_book(cli)
    result = cli("remind", "ann", "call back about the quote", "--due", "next tue 10am")
    assert result.stderr == "Reminder 1 due Tue 2026-11-24 10:00 (Ann Lee)\n"
    result = cli("remind", "ann", "weekly check-in", "-d", "mon 10:00", "-e", "week")
    assert result.stderr == "Reminder 2 due Mon 2026-11-30 10:00, every week (Ann Lee)\n"
    result = cli("done", "2")
    assert result.stderr == (
        "Done: reminder 2 (weekly check-in); next: Reminder 3 due Mon 2026-12-07 10:00, "
        "every week (Ann Lee)\n"
    )
    result = cli("done", "2", code=1)
    assert result.stderr == (
        "Error: reminder 2 was already done on 2026-11-23; cannot complete it "
        "(its next occurrence is reminder 3: crm reminders)\n"
    )
    assert [r["id"] for r in cli.json("reminders")] == [1, 3]
    assert [r["status"] for r in cli.json("reminders", "--all")] == ["open", "done", "open"]


def test_done_at_the_end_of_the_calendar_speaks_the_users_words(cli: Cli) -> None:
    cli("remind", "renew", "--due", "9999-12-25", "--every", "week")
    result = cli("done", "1", code=1)
    assert result.stderr == (
        "Error: reminder 1 (every week) has no next date after 9999-12-25; to finish it, "
        "stop it repeating first: crm reminders edit 1 --every '' && crm done 1\n"
    )
    assert cli.json("reminders")[0]["status"] == "open"
    cli("reminders", "edit", "1", "--every", "")
    cli("done", "1")
    assert cli.json("reminders", "--all")[0]["status"] == "done"


def test_done_is_all_or_nothing(cli: Cli) -> None:
    cli("remind", "a", "--due", "tomorrow")
    cli("done", "1", "99", code=1)
    assert cli.json("reminders")[0]["status"] == "open"


def test_snooze_edit_rm_restore(cli: Cli) -> None:
    cli("remind", "renew the domain", "--due", "tomorrow 9:30")
    assert cli("snooze", "1", "+2d").stderr == "Reminder 1 snoozed to Wed 2026-11-25 09:30\n"
    data = cli.json("reminders", "edit", "1", "renew domain and TLS", "--every", "year")
    assert (data["body"], data["every"], data["due_date"]) == (
        "renew domain and TLS",
        "every year",
        "2026-11-25",
    )
    cli("reminders", "rm", "1", code=2)  # not on a terminal: needs --yes
    cli("reminders", "rm", "1", "--yes")
    assert cli.json("reminders") == []
    assert [r["id"] for r in cli.json("reminders", "--trash")] == [1]
    cli("reminders", "restore", "1")
    assert [r["id"] for r in cli.json("reminders")] == [1]


def test_bad_dates_and_rules_write_nothing(cli: Cli) -> None:
    result = cli("remind", "x", "--due", "blurg", code=2)
    assert result.stderr == (
        "Error: cannot understand date 'blurg' (try 2026-12-01, tomorrow, +3d, next fri)\n"
    )
    result = cli("remind", "x", "--every", "sometimes", code=2)
    assert result.stderr.startswith("Error: cannot understand recurrence 'sometimes'")
    assert cli.json("reminders", "--all") == []


def test_when(cli: Cli) -> None:
    assert cli("when", "next", "fri").stdout == "Fri 2026-11-27\n"
    assert cli("when", "tomorrow 10am").stdout == "Tue 2026-11-24 10:00\n"
    data = cli.json("when", "eom")
    assert (data["date"], data["has_time"], data["at"]) == (
        "2026-11-30",
        False,
        "2026-11-30T00:00:00Z",
    )
    assert cli("when", "--every", "2nd tue", "-n", "3").stdout == (
        "Tue 2026-12-08\nTue 2027-01-12\nTue 2027-02-09\n"
    )
    assert cli("when", "blurg", code=2).stderr.startswith("Error: cannot understand date 'blurg'")


# --- notes -------------------------------------------------------------------------------------


def test_note_text_from_stdin_and_errors(cli: Cli) -> None:
    setup_book(cli)
    result = cli("note", "ann", "-", "--kind", "email", input="Sent the price list\n")
    assert result.stderr == "Added note 1 to Ann Lee (email, 2026-11-23 09:00)\n"
    result = cli("note", "ann", code=2)
    assert result.stderr == (
        "Error: no note text: give it as an argument, '-' to read it from stdin, "
        "or --editor to write it in $EDITOR\n"
    )
    assert cli("note", "ann", "-", input="  \n", code=1).stderr == (
        "Error: the note is empty; nothing was saved\n"
    )
    assert cli("note", "ann", "x", "--at", "tomorrow", code=1).stderr.startswith(
        "Error: --at 2026-11-24"
    )
    assert [n["body"] for n in cli.json("notes")] == ["Sent the price list"]


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """EDITOR is a small script that appends ' (edited)' to the file, or writes it if empty."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "text = p.read_text().strip()\n"
        "p.write_text((text + ' (edited)') if text else 'Written in the editor')\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    return script


@pytest.mark.usefixtures("editor")
def test_note_in_editor_and_edit_in_editor(cli: Cli) -> None:
    setup_book(cli)
    cli("note", "ann", "--editor", "-k", "meeting")
    cli("notes", "edit", "1", "--editor")
    note = cli.json("notes")[0]
    assert (note["body"], note["kind"]) == ("Written in the editor (edited)", "meeting")
    assert cli("notes", "edit", "1", code=2).stderr.startswith("Error: nothing to change")
    data = cli.json("notes", "edit", "1", "--kind", "call", "--at", "yesterday 15:00")
    assert (data["kind"], data["at"]) == ("call", "2026-11-22T15:00:00Z")


def test_notes_listing_filters_trash_and_search(cli: Cli) -> None:
    setup_book(cli)
    cli("contact", "edit", "ben", "--tag", "vip")
    cli("note", "ann", "Discussed the zeppelin", "-k", "call", "--at", "2026-11-01 10:00")
    cli("note", "ben", "Lunch; big order coming", "-k", "meeting")
    assert [n["id"] for n in cli.json("notes", "--kind", "call")] == [1]
    assert [n["id"] for n in cli.json("notes", "--tag", "vip")] == [2]
    assert [n["id"] for n in cli.json("notes", "--until", "2026-11-01")] == [1]
    assert [n["id"] for n in cli.json("notes", "--since", "-1w")] == [2]
    assert [n["id"] for n in cli.json("notes", "-c", "ann", "-q", "zeppelin")] == [1]
    csv_out = cli("notes", "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "id,at,contact_id,contact,kind,body,created_at,updated_at,deleted_at"
    assert [r["id"] for r in cli.json("search", "zeppelin")] == [1]
    cli("notes", "rm", "1", "--yes")
    assert cli.json("search", "zeppelin") == []
    assert [n["id"] for n in cli.json("notes", "--trash")] == [1]
    cli("notes", "restore", "1")
    assert [r["id"] for r in cli.json("search", "zeppelin")] == [1]
    assert cli("notes", "restore", "1", code=1).stderr == "Error: note 1 is not in the trash\n"


def test_contact_show_has_notes_and_open_reminders(cli: Cli) -> None:
    setup_book(cli)
    for i in range(7):
        cli("note", "ann", f"note {i}", "--at", f"-{i}d")
    cli("remind", "ann", "call", "--due", "tomorrow")
    cli("remind", "ann", "done already", "--due", "tomorrow")
    cli("done", "2")
    data = cli.json("contact", "show", "ann")
    assert [n["body"] for n in data["notes"]] == ["note 0", "note 1", "note 2", "note 3", "note 4"]
    assert [r["body"] for r in data["reminders"]] == ["call"]
    view = cli("contact", "show", "ann", "--format", "table").stdout
    assert "Latest notes" in view and "Open reminders" in view and "reminder 1" in view


def test_history_command(cli: Cli) -> None:
    setup_book(cli)
    cli("note", "ann", "first contact", "--at", "2026-11-01 09:00")
    cli("remind", "ann", "follow up", "--due", "tomorrow")
    rows = cli.json("history", "ann")
    assert [(r["event"], r["ref"]) for r in rows] == [
        ("reminder added", "reminder 1"),
        ("note", "note 1"),
    ]
    assert cli.json("history", "ben") == []


def test_demo_shows_the_agenda(cli: Cli, tmp_path: Path) -> None:
    result = cli("demo", "--path", str(tmp_path / "demo.db"))
    # piped: one document on stdout, each part under a heading, in the order a person reads it
    headings = [
        "Agenda (crm agenda)",
        "Upcoming dates (crm dates --days 14)",
        "Pipeline (crm pipeline)",
        "Contacts (8 of them: crm contact list shows all)",
    ]
    places = [result.stdout.index(f"\n{heading}\n") for heading in headings]
    assert places == sorted(places)
    assert "\t" not in result.stdout  # tables as tables, not TSV in the middle of the text
    assert result.stdout.rstrip().endswith(
        f"Try:\n  crm --db {tmp_path / 'demo.db'} contact show ana\n"
        f"  crm --db {tmp_path / 'demo.db'} search robotics"
    )
    for heading in ("Overdue", "Today", "Next 7 days"):
        assert heading in result.stdout


# --- the installed command -----------------------------------------------------------------------


def crm(*args: str, db: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
    command = installed_crm()
    env = {**os.environ, "CRM_DB": str(db)}
    return subprocess.run(
        [command, *args], input=input, capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.slow
def test_installed_crm_for_cron(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    assert crm("contact", "add", "Ann Lee", db=db).returncode == 0
    added = crm("note", "ann", "-", "-k", "call", db=db, input="Called from a pipe\n")
    assert added.returncode == 0, added.stderr
    quiet = crm("agenda", "--quiet", "--exit-code", db=db)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert crm("remind", "ann", "call back", "--due", "today 8:00", db=db).returncode == 0
    due = crm("agenda", "--quiet", "--exit-code", "--format", "json", db=db)
    assert due.returncode == 3
    assert [i["text"] for i in json.loads(due.stdout)] == ["call back"]
    piped = crm("agenda", db=db)  # stdout is a pipe: TSV
    assert piped.stdout.splitlines()[0].startswith("section\tdate\ttime")
    done = crm("done", "1", db=db)
    assert done.returncode == 0 and done.stderr == "Done: reminder 1 (call back)\n"
    assert crm("done", "1", db=db).returncode == 1
