"""Rules through the CLI (each fires once per event, names itself in the history) and hooks as
real executables (the record on stdin after the commit; failures and timeouts reported, never
undoing or blocking the change)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crmcli import events, registry
from crmcli.errors import UsageError
from tests.conftest import Cli

REPO = Path(__file__).resolve().parent.parent


# --- rules -------------------------------------------------------------------------------------


def test_the_issue_s_rules_through_the_cli(cli: Cli) -> None:
    assert (
        cli(
            "rule", "add", "--on", "deal-won", "--remind", "+7d", "Check the delivery went well"
        ).stdout
        == "1\n"
    )
    cli("rule", "add", "--on", "deal-won", "--remind", "close+11mo", "Renewal talk")
    cli("rule", "add", "--on", "contact-added", "--tag", "lead", "--remind", "+2d", "First call")
    cli("rule", "add", "--on", "stage:proposal", "--remind", "+5d", "Chase the proposal")
    cli("rule", "add", "--on", "purchase", "--cadence", "90d")
    listed = cli.json("rule", "list")
    assert [(r["on"], r["actions"]) for r in listed] == [
        ("deal-won", "remind +7d 'Check the delivery went well'"),
        ("deal-won", "remind close+11mo 'Renewal talk'"),
        ("contact-added", "remind +2d 'First call'; tag lead"),
        ("stage:proposal", "remind +5d 'Chase the proposal'"),
        ("purchase", "cadence 90d"),
    ]
    cli("contact", "add", "Ann Lee", "-e", "ann@example.com")
    ann = cli.json("contact", "show", "ann")
    assert ann["tags"] == ["lead"]
    assert [(r["body"], r["due_date"]) for r in ann["reminders"]] == [("First call", "2026-11-25")]
    cli("deal", "add", "ann", "40 seats", "--value", "12000", "--close", "2026-12-15")
    cli("deal", "move", "1", "proposal")
    cli("deal", "won", "1")
    due = {r["body"]: r["due_date"] for r in cli.json("reminders")}
    assert due == {
        "First call": "2026-11-25",
        "Chase the proposal": "2026-11-28",
        "Check the delivery went well": "2026-11-30",
        "Renewal talk": "2027-10-23",  # the deal closed today, + 11 months
    }
    origins = {r["body"]: r["origin"] for r in cli.json("reminders")}
    assert origins["Renewal talk"] == "rule 2 (on deal-won, deal 1)"
    history = [e["text"] for e in cli.json("history", "ann") if e["event"] == "reminder added"]
    assert "Renewal talk (due Sat 2027-10-23; set by rule 2 (on deal-won, deal 1))" in history
    cli("purchase", "add", "ann", "--amount", "100")
    assert cli.json("contact", "show", "ann")["cadence_days"] == 90
    assert [r["fired"] for r in cli.json("rule", "list")] == [1, 1, 1, 1, 1]


def test_a_rule_fires_once_per_event(cli: Cli) -> None:
    cli("rule", "add", "--on", "deal-won", "--remind", "+7d", "Check the delivery")
    cli("rule", "add", "--on", "stage:proposal", "--remind", "+5d", "Chase")
    cli("contact", "add", "Ann Lee")
    cli("deal", "add", "ann", "deal", "--value", "10")
    cli("deal", "move", "1", "proposal")
    cli("deal", "move", "1", "negotiation")
    cli("deal", "move", "1", "proposal")  # back again: the same deal, the same stage
    cli("deal", "won", "1")
    cli("deal", "reopen", "1")
    cli("deal", "won", "1")  # won again after a reopen: still one deal
    bodies = sorted(r["body"] for r in cli.json("reminders"))
    assert bodies == ["Chase", "Check the delivery"]
    # a second deal fires them again, for itself
    cli("deal", "add", "ann", "second", "--value", "10", "--stage", "proposal")
    cli("deal", "won", "2")
    assert len(cli.json("reminders")) == 3  # stage:proposal is for a deal *moving* there


def test_rules_on_imports_set_no_reminder_already_past(cli: Cli, tmp_path: Path) -> None:
    """Importing two years of orders fires the purchase rules, anchored on each order's day,
    and sets no reminder that is already overdue."""
    cli("rule", "add", "--on", "purchase", "--remind", "+3w", "How is it going?")
    cli("rule", "add", "--on", "purchase", "--tag", "customer")
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "Order,Date,Email,Customer,Product,Amount,Currency\n"
        "SO-1,2024-03-01,old@example.com,Old Buyer,Widget,10.00,EUR\n"
        "SO-2,2026-11-20,new@example.com,New Buyer,Widget,10.00,EUR\n",
        encoding="utf-8",
    )
    cli("import", "purchases", str(orders))
    reminders = cli.json("reminders")
    assert [(r["contact"], r["due_date"]) for r in reminders] == [("New Buyer", "2026-12-11")]
    assert {c["name"]: c["tags"] for c in cli.json("contact", "list")} == {
        "New Buyer": ["customer"],
        "Old Buyer": ["customer"],
    }
    # the same file again: nothing new (the orders are known, the rules fired once each)
    cli("import", "purchases", str(orders))
    assert len(cli.json("reminders")) == 1


def test_contact_added_rules_fire_for_imports_but_not_for_a_dry_run(
    cli: Cli, tmp_path: Path
) -> None:
    cli("rule", "add", "--on", "contact-added", "--remind", "+2d", "First call")
    source = tmp_path / "c.csv"
    source.write_text("Name,Email\nAnn Lee,ann@example.com\nBob Ray,bob@example.com\n", "utf-8")
    cli("import", str(source), "--dry-run")
    assert cli.json("reminders") == []
    cli("import", str(source))
    assert sorted(r["contact"] for r in cli.json("reminders")) == ["Ann Lee", "Bob Ray"]


def test_a_cadence_rule_only_tightens(cli: Cli) -> None:
    cli("rule", "add", "--on", "purchase", "--cadence", "90d")
    cli("contact", "add", "Ann Lee", "--cadence", "30d")
    cli("contact", "add", "Bob Ray", "--cadence", "180d")
    cli("purchase", "add", "ann", "--amount", "1")
    cli("purchase", "add", "bob", "--amount", "1")
    assert {
        c["name"]: c["cadence_days"]
        for c in map(
            lambda r: cli.json("contact", "show", str(r["id"])), cli.json("contact", "list")
        )
    } == {
        "Ann Lee": 30,
        "Bob Ray": 90,
    }


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--on", "deal-wonn", "--tag", "x"],
            "Error: --on 'deal-wonn': choose contact-added, deal-won,",
        ),
        (["--on", "stage:nope", "--tag", "x"], "Error: no stage"),
        (["--on", "deal-won"], "Error: say what the rule does"),
        (["--on", "deal-won", "--remind", "+7d"], "Error: --remind WHEN needs the reminder's text"),
        (["--on", "deal-won", "Call"], "Error: 'Call' is a reminder's text"),
        (
            ["--on", "contact-added", "--remind", "close+1m", "x"],
            "Error: --remind 'close+1m': 'close' is not known on contact-added",
        ),
        (
            ["--on", "deal-won", "--remind", "someday", "x"],
            "Error: cannot understand date 'someday'",
        ),
        (["--tag", "x"], "Error: say when the rule fires: --on EVENT"),
    ],
)
def test_bad_rules_are_refused(cli: Cli, args: list[str], error: str) -> None:
    result = cli("rule", "add", *args, code=None)
    assert result.exit_code in (1, 2)
    assert result.stderr.startswith(error), result.stderr
    assert cli.json("rule", "list") == []


def test_rule_rm_keeps_what_it_set(cli: Cli) -> None:
    cli("rule", "add", "--on", "contact-added", "--remind", "+2d", "First call")
    cli("contact", "add", "Ann Lee")
    assert cli("rule", "rm", "1", code=2).stderr.startswith("Error: Remove rule 1")
    cli("rule", "rm", "1", "--yes")
    assert cli.json("rule", "list") == []
    (reminder,) = cli.json("reminders")
    assert reminder["origin"] == "rule 1 (on contact-added, contact 1)"
    assert (
        cli("rule", "rm", "1", "--yes", code=1).stderr == "Error: no rule 1 (see: crm rule list)\n"
    )


# --- the registry ------------------------------------------------------------------------------


def test_the_registry_refuses_doubles_and_names_what_it_knows() -> None:
    found: registry.Registry[int] = registry.Registry("thing")
    found.register("one", 1)
    with pytest.raises(ValueError, match="thing 'one' is registered already"):
        found.register("one", 2)
    with pytest.raises(
        UsageError, match=r"unknown thing 'onee'; did you mean 'one'\? \(known: one\)"
    ):
        found["onee"]
    with found.replaced(two=2, one=None):
        assert found.names() == ["two"]
    assert found.names() == ["one"] and list(found) == [1] and "one" in found


def test_every_event_is_declared_once_with_its_hook() -> None:
    hooks = [e.hook for e in events.EVENTS]
    assert len(hooks) == len(set(hooks))
    assert {"on-contact-add", "on-deal-stage", "on-deal-won", "on-note"} <= set(hooks)
    assert all(h.startswith("on-") for h in hooks)
    with pytest.raises(UsageError, match="unknown event"):
        events.emit_all(None, [events.Occurrence("no-such-event", 1, 1, None)])  # type: ignore[arg-type]


# --- hooks: real executables ---------------------------------------------------------------------


def hook(name: str, script: str) -> Path:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "crmcli" / "hooks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_hooks_get_the_record_after_the_commit(cli: Cli, tmp_path: Path, db_path: Path) -> None:
    seen = tmp_path / "seen"
    seen.mkdir()
    # the hook reads the database it is told of: the change is committed when it runs
    check = (
        "import os, sqlite3; print(sqlite3.connect(os.environ['CRM_DB'])"
        ".execute('select closed_at is not null from deals').fetchone()[0])"
    )
    hook(
        "on-deal-won",
        f'cat > {seen}/won.json; echo "$CRM_HOOK $CRM_EVENT" > {seen}/env; '
        f'{sys.executable} -c "{check}" > {seen}/db',
    )
    hook("on-note.one", f"cat > {seen}/note1.json")
    hook("on-note.two", f"cat > {seen}/note2.json")
    hook("on-contact-add", f"cat >> {seen}/added.jsonl; echo >> {seen}/added.jsonl")
    cli("contact", "add", "Ann Lee", "-e", "ann@example.com")
    cli("deal", "add", "ann", "40 seats", "--value", "100")
    cli("deal", "won", "1")
    payload = json.loads((seen / "won.json").read_text())
    assert payload["event"] == "deal-won" and payload["subject"] == "deal 1"
    assert payload["contact_id"] == 1 and payload["at"] == "2026-11-23T09:00:00Z"
    assert payload["record"]["title"] == "40 seats" and payload["record"]["status"] == "won"
    assert payload["details"]["to_stage"] == "won"
    assert (seen / "env").read_text() == "on-deal-won deal-won\n"
    assert (seen / "db").read_text() == "1\n"
    cli("note", "ann", "called")
    for name in ("note1.json", "note2.json"):
        assert json.loads((seen / name).read_text())["record"]["body"] == "called"
    added = json.loads((seen / "added.jsonl").read_text().splitlines()[0])
    assert added["record"]["emails"] == [{"email": "ann@example.com", "label": None}]
    hook("on-reminder-add", f"cat > {seen}/reminder.json")
    cli("remind", "ann", "send the quote", "--due", "tomorrow")
    reminder = json.loads((seen / "reminder.json").read_text())
    assert (reminder["subject"], reminder["record"]["due_date"]) == ("reminder 1", "2026-11-24")


def test_a_failing_or_slow_hook_is_reported_and_undoes_nothing(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hook("on-contact-add", 'echo "webhook said 500" >&2; exit 3')
    result = cli("contact", "add", "Ann Lee")
    assert result.stderr == (
        "Added contact 1: Ann Lee\n"
        "Warning: hook on-contact-add (contact-added, contact 1): exit 3: webhook said 500\n"
    )
    assert cli.json("contact", "list")[0]["name"] == "Ann Lee"
    # a hook that hangs, and leaves a child holding its output, is killed with it at the timeout
    marker = tmp_path / "survived"
    hook("on-note", f"(sleep 30; touch {marker}) & sleep 30")
    monkeypatch.setenv("CRM_HOOKS_TIMEOUT", "0.5")
    start = time.monotonic()
    result = cli("note", "ann", "called")
    assert time.monotonic() - start < 10
    assert (
        "Warning: hook on-note (note, note 1): killed after 0.5 s (hooks.timeout)" in result.stderr
    )
    assert cli.json("notes")[0]["body"] == "called"
    hook("on-note", "exit 0").chmod(0o644)
    result = cli("note", "ann", "again")
    assert "is not an executable file (chmod +x it)" in result.stderr
    hook("on-note", f"touch {marker}").chmod(0o777)  # anyone could have written it
    result = cli("note", "ann", "and again")
    assert "is not yours alone (chown it; chmod o-w)" in result.stderr
    time.sleep(0.2)
    assert not marker.exists()


def test_a_rolled_back_change_reaches_no_hook(cli: Cli, tmp_path: Path) -> None:
    log = tmp_path / "hook.log"
    hook("on-contact-add", f"cat >> {log}")
    source = tmp_path / "c.csv"
    source.write_text("Name,Email\nAnn Lee,ann@example.com\n,not-an-email\n", "utf-8")
    cli("import", str(source), "--dry-run", code=None)
    cli("import", str(source), code=1)  # a bad row: nothing imported
    assert not log.exists()
    cli("import", str(source), "--skip-invalid")
    assert json.loads(log.read_text())["record"]["name"] == "Ann Lee"


@pytest.mark.slow
def test_a_hook_that_runs_crm_runs_no_hooks_of_its_own(tmp_path: Path, db_path: Path) -> None:
    """A hook on-note that writes a note would loop forever; inside a hook, crm runs none."""
    log = tmp_path / "count"
    crm = f"{sys.executable} -m crmcli"
    hook("on-note", f'echo x >> {log}; PYTHONPATH={REPO} {crm} note 1 "from the hook" > /dev/null')
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    db_path.parent.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "crmcli", "--db", str(db_path), "contact", "add", "Ann"],
        env=env,
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [sys.executable, "-m", "crmcli", "--db", str(db_path), "note", "1", "hello"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert log.read_text() == "x\n"
    with sqlite3.connect(db_path) as conn:
        bodies = [r[0] for r in conn.execute("SELECT body FROM notes ORDER BY id")]
    assert bodies == ["hello", "from the hook"]


def test_rule_events_lists_the_registry_and_installed_hooks(cli: Cli) -> None:
    hook("on-deal-won.notify", "exit 0")
    rows = {r["event"]: r for r in cli.json("rule", "events")}
    assert set(rows) == set(events.EVENTS.names())
    assert rows["deal-won"]["installed"] == ["on-deal-won.notify"]
    assert rows["deal-won"]["rules"] is True and rows["note"]["rules"] is False
