"""crm deal / stage / pipeline / forecast / goal through the CLI, and the installed `crm`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, installed_crm


@pytest.fixture
def ann(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee", "--company", "Acme")
    cli("contact", "add", "Bob Ray")


def _counts(db_path: Path) -> tuple[int, int]:
    with sqlite3.connect(db_path) as conn:
        deals = conn.execute("SELECT count(*) FROM deals").fetchone()[0]
        changes = conn.execute("SELECT count(*) FROM deal_stage_changes").fetchone()[0]
    return deals, changes


def test_add_echoes_resolved_close_date(cli: Cli, ann: None) -> None:
    result = cli(
        "deal", "add", "ann", "Website redesign", "--value", "12,000.50", "--currency", "EUR",
        "--stage", "qualified", "--close", "end of month",
    )  # fmt: skip
    assert result.stderr == (
        "Added deal 1: Website redesign (Ann Lee), 12,000.50 EUR, qualified 25%, "
        "closing Mon 2026-11-30\n"
    )
    [deal] = cli.json("deal", "list")
    assert {k: deal[k] for k in ("value_minor", "currency", "value", "expected_close")} == {
        "value_minor": 1_200_050,
        "currency": "EUR",
        "value": "12000.50",
        "expected_close": "2026-11-30",
    }


def test_default_currency_from_config(cli: Cli, ann: None, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("deal", "add", "ann", "A", "--value", "10")
    monkeypatch.setenv("CRM_CURRENCY", "gbp")
    cli("deal", "add", "ann", "B", "--value", "10")
    assert [d["currency"] for d in cli.json("deal", "list", "--sort", "id")] == ["USD", "GBP"]
    monkeypatch.setenv("CRM_CURRENCY", "pounds")
    result = cli("deal", "add", "ann", "C", "--value", "10", code=1)
    assert "setting deals.currency = 'pounds' is not an ISO 4217 code" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["--stage", "nope"], 1, "Error: no stage 'nope' (stages: lead, qualified, proposal, "
         "negotiation, won, lost; see crm stage list)\n"),
        (["--value", "-100"], 1, "Error: value '-100' is negative; give an amount of 0 or more\n"),
        (["--currency", "EUX"], 1, "Error: unknown currency code 'EUX' (use an ISO 4217 code "
         "such as EUR, USD, GBP, JPY)\n"),
        (["--value", "10.5", "--currency", "JPY"], 1,
         "Error: value '10.5' has too many decimals: JPY takes no decimals\n"),
        (["--close", "someday"], 2,
         "Error: cannot understand date 'someday' (try 2026-12-01, tomorrow, +3d, next fri)\n"),
        (["--stage", "won"], 1, "Error: a new deal starts in an open stage, not won (add it, "
         "then use crm deal won/lost)\n"),
    ],
)  # fmt: skip
def test_bad_input_writes_nothing(
    cli: Cli, ann: None, db_path: Path, args: list[str], code: int, error: str
) -> None:
    result = cli("deal", "add", "ann", "Deal", *args, code=code)
    assert result.stderr == error
    assert result.stdout == ""
    assert _counts(db_path) == (0, 0)


def test_lost_without_reason_in_a_script(cli: Cli, ann: None, db_path: Path) -> None:
    cli("deal", "add", "ann", "Deal", "--value", "100")
    before = _counts(db_path)
    result = cli("deal", "lost", "1", code=2)
    assert result.stderr == (
        "Error: a lost deal needs a reason: crm deal lost 1 --reason TEXT (not on a terminal, "
        "so it cannot be asked); nothing was changed\n"
    )
    assert _counts(db_path) == before
    assert cli.json("deal", "show", "1")["status"] == "open"
    cli("deal", "lost", "1", "--reason", "price")
    shown = cli.json("deal", "show", "1")
    assert (shown["status"], shown["lost_reason"]) == ("lost", "price")


def test_lifecycle_and_show(cli: Cli, ann: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-11-01T09:00")
    cli("deal", "add", "ann", "Website", "--value", "1000")
    monkeypatch.setenv("CRM_NOW", "2026-11-04T09:00")
    assert (
        cli("deal", "move", "1", "proposal").stderr == "Moved deal 1 (Website): lead -> proposal\n"
    )
    monkeypatch.setenv("CRM_NOW", "2026-11-10T09:00")
    cli("deal", "won", "#1")
    result = cli("deal", "move", "1", "lead", code=1)
    assert result.stderr == "Error: deal 1 is won; reopen it first (crm deal reopen 1) to move it\n"
    cli("deal", "reopen", "1")
    monkeypatch.setenv("CRM_NOW", "2026-11-23T09:00")
    shown = cli.json("deal", "show", "1")
    assert shown["stage"] == "proposal"
    assert [(h["to_stage"], h["days"]) for h in shown["history"]] == [
        ("lead", 3.0),
        ("proposal", 6.0),
        ("won", 0.0),
        ("proposal", 13.0),
    ]
    table = cli("deal", "show", "1", "--format", "table").stdout
    assert "lead -> proposal" in table and "Website" in table
    contact = cli.json("contact", "show", "ann")
    assert [(d["id"], d["stage"], d["status"]) for d in contact["deals"]] == [
        (1, "proposal", "open")
    ]
    assert "Deals" in cli("contact", "show", "ann", "--format", "table").stdout


def test_edit_rm_restore(cli: Cli, ann: None) -> None:
    cli("deal", "add", "ann", "Website", "--value", "1000", "--currency", "EUR")
    result = cli(
        "deal", "edit", "1", "--value", "1,500.25", "--probability", "60", "--close", "eom"
    )
    assert result.stderr == "Updated deal 1: Website, 1,500.25 EUR, 60%, closing Mon 2026-11-30\n"
    assert cli.json("deal", "show", "1")["weighted_minor"] == 90_015
    cli("deal", "edit", "1", "--probability", "stage", "--close", "")
    shown = cli.json("deal", "show", "1")
    assert (shown["probability"], shown["expected_close"]) == (10, None)
    assert cli("deal", "rm", "1", code=2).stderr.startswith(
        "Error: Move deal 1 (Website) to the trash"
    )
    cli("deal", "rm", "1", "--yes")
    assert cli.json("deal", "list") == []
    assert [d["id"] for d in cli.json("deal", "list", "--trash")] == [1]
    cli("deal", "restore", "1")
    assert len(cli.json("deal", "list")) == 1


def test_list_filters(cli: Cli, ann: None) -> None:
    cli("contact", "edit", "bob", "--tag", "vip")
    cli("deal", "add", "ann", "Small", "--value", "100", "--close", "2026-11-25")
    cli(
        "deal",
        "add",
        "bob",
        "Big",
        "--value",
        "9000",
        "--stage",
        "proposal",
        "--close",
        "2027-02-01",
    )
    cli("deal", "add", "bob", "Yen", "--value", "5000", "--currency", "JPY")
    cli("deal", "won", "1")

    def titles(*args: str) -> list[str]:
        return [d["title"] for d in cli.json("deal", "list", "--sort", "id", *args)]

    assert titles() == ["Small", "Big", "Yen"]
    assert titles("--status", "open") == ["Big", "Yen"]
    assert titles("--status", "won") == ["Small"]
    assert titles("--stage", "proposal") == ["Big"]
    assert titles("--contact", "bob") == ["Big", "Yen"]
    assert titles("--tag", "vip") == ["Big", "Yen"]
    assert titles("--closing-before", "eom") == ["Small"]
    assert titles("--closing-after", "2026-12-01") == ["Big"]
    assert titles("--min-value", "5000") == ["Big", "Yen"]
    assert titles("--max-value", "5,000") == ["Small", "Yen"]
    assert titles("--currency", "jpy") == ["Yen"]
    assert titles("--limit", "1") == ["Small"]
    result = cli("deal", "list", "--status", "pending", code=2)
    assert result.stderr == "Error: status 'pending' is not one of: open, won, lost, all\n"
    csv_out = cli("deal", "list", "--format", "csv").stdout
    assert csv_out.splitlines()[0].startswith(
        "id,title,contact_id,contact,stage,status,value_minor"
    )


def test_stale_list(cli: Cli, ann: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-11-09T09:00")
    cli("deal", "add", "ann", "Old", "--stage", "proposal")  # proposal: stale after 14 days
    monkeypatch.setenv("CRM_NOW", "2026-11-09T09:00:01")
    cli("deal", "add", "ann", "Newer", "--stage", "proposal")
    monkeypatch.setenv("CRM_NOW", "2026-11-23T09:00:01")
    assert [d["title"] for d in cli.json("deal", "list", "--stale")] == ["Old"]


def test_stage_commands(cli: Cli, ann: None) -> None:
    cli("deal", "add", "ann", "A", "--stage", "proposal")
    result = cli("stage", "rm", "proposal", "--yes", code=2)
    assert (
        result.stderr
        == "Error: stage proposal has 1 deal; say where they go with --move-to STAGE\n"
    )
    result = cli("stage", "rm", "proposal", "--move-to", "negotiation", "--yes")
    assert result.stderr == "Removed stage proposal; moved 1 deal to negotiation\n"
    assert cli.json("deal", "show", "1")["stage"] == "negotiation"
    cli("stage", "add", "demo", "--probability", "40", "--stale", "2w", "--after", "lead")
    cli("stage", "set", "demo", "--probability", "45")
    cli("stage", "rename", "demo", "demo call")
    cli("stage", "move", "demo call", "3")
    rows = cli.json("stage", "list")
    assert [(r["name"], r["position"], r["probability"], r["stale_days"]) for r in rows] == [
        ("lead", 1, 10, 30),
        ("qualified", 2, 25, 21),
        ("demo call", 3, 45, 14),
        ("negotiation", 4, 75, 10),
        ("won", None, 100, None),
        ("lost", None, 0, None),
    ]
    result = cli("stage", "rm", "won", "--yes", code=1)
    assert result.stderr == "Error: won is a fixed end state and cannot be removed\n"


def _many_deals(db_path: Path, count: int) -> None:
    with sqlite3.connect(db_path) as conn:
        stages = [r[0] for r in conn.execute("SELECT id FROM stages WHERE kind = 'open'")]
        rows = []
        for index in range(count):
            rows.append(
                (
                    1 + index % 2,
                    f"A rather long deal title number {index}",
                    100_000 + index,
                    ["EUR", "USD", "JPY"][index % 3],
                    stages[index % len(stages)],
                    f"2026-11-{1 + index % 28:02d}T09:00:00Z",
                )
            )
        conn.executemany(
            "INSERT INTO deals (contact_id, title, value_minor, currency, stage_id, "
            "stage_changed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(*r, r[-1], r[-1]) for r in rows],
        )


def test_board_at_80_columns_with_200_deals(
    cli: Cli, ann: None, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many_deals(db_path, 200)
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("pipeline", "--format", "table").stdout
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].startswith("Pipeline: 200 open deals")
    assert out.count("+42 more") == 4  # 50 per stage, 8 shown
    assert "50 deals" in out
    assert len(lines) < 60  # readable: one screen or so
    # totals per currency, never summed across currencies
    summary = lines[0] + lines[1]
    assert [summary.count(code) for code in ("EUR", "JPY", "USD")] == [2, 2, 2]
    # as data it is the plain list of open deals
    assert len(cli.json("pipeline")) == 200


def test_board_bands_when_stages_do_not_fit(cli: Cli, ann: None) -> None:
    from rich.console import Console

    from crmcli import db, pipeline
    from crmcli.cli.views.deals import render_board
    from crmcli.clock import now

    for name in ("a1", "a2", "a3", "a4"):
        cli("stage", "add", name)
    cli("deal", "add", "ann", "Deal in a1", "--stage", "a1", "--value", "10")
    buffer = StringIO()
    conn = db.connect(Path(os.environ["XDG_DATA_HOME"]) / "crmcli" / "crm.db")
    render_board(pipeline.board(conn, now=now()), Console(file=buffer, width=80))
    conn.close()
    text = buffer.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "a4" in text and "Deal in a1" in text


def test_forecast_and_goals(cli: Cli, ann: None) -> None:
    cli("deal", "add", "ann", "E", "--value", "1000", "--currency", "EUR", "--stage", "proposal",
        "--close", "2026-12-15")  # fmt: skip
    cli("deal", "add", "ann", "U", "--value", "1000", "--currency", "USD", "--stage", "lead",
        "--close", "2026-12-15")  # fmt: skip
    result = cli("goal", "set", "2026-Q4", "5,000", "--currency", "eur")
    assert result.stderr == "Goal for 2026-Q4 (2026-10-01 to 2026-12-31): 5,000.00 EUR\n"
    rows = cli.json("forecast", "--by", "quarter", "--months", "1")
    got = {(r["period"], r["currency"]): r for r in rows}
    assert got[("2026-Q4", "EUR")]["weighted_minor"] == 50_000
    assert got[("2026-Q4", "EUR")]["goal_minor"] == 500_000
    assert got[("2026-Q4", "EUR")]["projected_pct"] == 10
    assert got[("2026-Q4", "USD")]["weighted_minor"] == 10_000
    assert got[("2026-Q4", "USD")]["goal_minor"] is None
    [goal] = cli.json("goal", "list")
    assert (goal["period"], goal["currency"], goal["weighted_minor"]) == ("2026-Q4", "EUR", 50_000)
    assert cli("goal", "set", "2026-Q5", "1", code=2).stderr.startswith("Error: period '2026-Q5'")
    assert (
        cli("forecast", "--by", "week", code=2).stderr
        == "Error: --by 'week': choose month or quarter\n"
    )
    assert "2026-Q4" in cli("forecast", "--by", "quarter", "--format", "table").stdout
    cli("goal", "rm", "2026-Q4", "--currency", "EUR")
    assert cli.json("goal", "list") == []


def test_stats_command(cli: Cli, ann: None) -> None:
    cli("deal", "add", "ann", "A", "--value", "100")
    cli("deal", "add", "ann", "B", "--value", "300")
    cli("deal", "won", "1")
    cli("deal", "lost", "2", "--reason", "price")
    stats = cli.json("pipeline", "stats")
    assert (stats["won"], stats["lost"], stats["win_rate_pct"]) == (1, 1, 50.0)
    assert stats["lost_reasons"] == [{"reason": "price", "deals": 1, "pct": 100.0}]
    table = cli("pipeline", "stats", "--format", "table").stdout
    assert "win rate 50.0%" in table


def test_empty_outputs(cli: Cli) -> None:
    assert cli.json("deal", "list") == []
    assert cli.json("pipeline") == []
    assert cli.json("forecast") == []
    assert cli.json("goal", "list") == []


# --- the installed command ---------------------------------------------------------------------


def _crm(tmp_path: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    exe = installed_crm()
    env = {**os.environ, "CRM_DB": str(tmp_path / "sub.db"), "COLUMNS": "80"}
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, **kwargs
    )


@pytest.mark.slow
def test_installed_crm_pipeline(tmp_path: Path) -> None:
    assert _crm(tmp_path, "contact", "add", "Ann Lee").returncode == 0
    added = _crm(
        tmp_path, "deal", "add", "ann", "Website", "--value", "12,000", "--currency", "EUR",
        "--close", "end of month",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "closing Mon 2026-11-30" in added.stderr
    lost = _crm(tmp_path, "deal", "lost", "1")
    assert lost.returncode == 2
    assert lost.stderr.startswith("Error: a lost deal needs a reason: crm deal lost 1 --reason")
    board = _crm(tmp_path, "pipeline")  # piped: TSV, a plain list
    assert board.returncode == 0
    header, row = board.stdout.splitlines()
    assert header.startswith("id\ttitle\tcontact_id\tcontact\tstage")
    assert row.split("\t")[:5] == ["1", "Website", "1", "Ann Lee", "lead"]
    forecast = _crm(tmp_path, "forecast", "--format", "json")
    assert json.loads(forecast.stdout)[0]["open_minor"] == 1_200_000
    table = _crm(tmp_path, "pipeline", "--format", "table")
    assert table.returncode == 0 and "Website" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80


def test_pipeline_tsv_columns_are_the_deal_row_fields() -> None:
    # `crm pipeline --format tsv` writes DealRow tuples as they are, under these headers
    from crmcli import pipeline
    from crmcli.cli.views.deals import ROW_COLUMNS

    assert [c.key for c in ROW_COLUMNS] == list(pipeline.ROW_KEYS)
