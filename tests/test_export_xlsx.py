"""crm export ... --format xlsx: typed cells, read back by openpyxl and by LibreOffice."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

openpyxl = pytest.importorskip("openpyxl")

LONG = "x" * 40_000
CUSTOMER_NO = "123456789012345678"  # 18 digits: a spreadsheet number keeps only 15


@pytest.fixture
def book(cli: Cli) -> None:
    cli(
        "contact", "add", "Ann Lee", "--company", "=HYPERLINK(\"http://evil.example\")",
        "--postal-code", "01234", "-p", "mobile:01712345678", "-e", "work:ann@acme.example",
        "--birthday", "1980-04-15", "--field", f"customer_no={CUSTOMER_NO}",
    )  # fmt: skip
    cli("contact", "add", "Bo Ray", "--birthday", "--04-15")
    cli("note", "ann", LONG, "--kind", "call", "--at", "2026-11-20 14:30")
    cli("note", "bo", "@SUM(A1:A2) is not a formula here")
    cli("deal", "add", "ann", "40 seats", "--value", "12000.50", "--currency", "EUR")


def _sheet(path: Path) -> tuple[Any, list[str], list[dict[str, Any]]]:
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    return sheet, header, [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_contacts_keep_every_digit_and_dates_are_dates(
    cli: Cli, book: None, tmp_path: Path
) -> None:
    target = tmp_path / "contacts.xlsx"
    result = cli("export", "contacts", "--format", "xlsx", "-o", str(target))
    assert result.stderr.splitlines() == [
        "Warning: 1 value longer than a spreadsheet cell holds (32,767 characters) was cut: "
        "row 2 notes (Ann Lee)",
        f"Exported 2 contacts to {target}",
    ]
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    sheet, header, rows = _sheet(target)
    ann = next(r for r in rows if r["name"] == "Ann Lee")
    bo = next(r for r in rows if r["name"] == "Bo Ray")
    assert ann["address_1_postal_code"] == "01234"
    assert ann["phone_1"] == "01712345678"
    assert ann["field:customer_no"] == CUSTOMER_NO
    assert ann["birthday"] == datetime(1980, 4, 15)
    assert bo["birthday"] == "--04-15"  # no year: text, never an invented one
    assert isinstance(ann["created_at"], datetime)
    # text stays text: the formula-like company is a string cell, not a formula
    company = sheet.cell(row=rows.index(ann) + 2, column=1 + header.index("company"))
    assert company.value == '=HYPERLINK("http://evil.example")' and company.data_type == "s"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(row=3, column=len(header)).coordinate}"
    assert sheet.column_dimensions["B"].width > len("name") + 2  # sized to "Ann Lee"...


def test_notes_long_values_are_cut_with_a_warning(cli: Cli, book: None, tmp_path: Path) -> None:
    target = tmp_path / "notes.xlsx"
    result = cli("export", "notes", "-f", "xlsx", "-o", str(target))
    assert result.stderr.splitlines() == [
        "Warning: 1 value longer than a spreadsheet cell holds (32,767 characters) was cut: "
        "row 2 body (id 1)",
        f"Exported 2 notes to {target}",
    ]
    _, _, rows = _sheet(target)
    assert len(rows[0]["body"]) == 32_767
    assert rows[0]["at"] == datetime(2026, 11, 20, 14, 30)
    assert rows[1]["body"] == "@SUM(A1:A2) is not a formula here"


def test_deals_money_is_a_number_beside_its_currency(cli: Cli, book: None, tmp_path: Path) -> None:
    target = tmp_path / "deals.xlsx"
    cli("export", "deals", "-f", "xlsx", "-o", str(target))
    sheet, header, rows = _sheet(target)
    assert rows[0]["value"] == 12000.5 and rows[0]["currency"] == "EUR"
    assert rows[0]["value_minor"] == 1200050 and rows[0]["stale"] is False
    value = sheet.cell(row=2, column=1 + header.index("value"))
    assert value.number_format == "#,##0.00"


def test_reminders_and_an_empty_export(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "reminders.xlsx"
    cli("export", "reminders", "-f", "xlsx", "-o", str(target))
    _, header, rows = _sheet(target)
    assert header[:3] == ["id", "contact_id", "contact"] and rows == []


def test_a_workbook_is_not_written_to_a_terminal_but_goes_down_a_pipe(
    cli: Cli, book: None, tmp_path: Path
) -> None:
    piped = cli("export", "deals", "-f", "xlsx")  # CliRunner's stdout is not a terminal
    target = tmp_path / "piped.xlsx"
    target.write_bytes(piped.stdout_bytes)
    assert _sheet(target)[2][0]["title"] == "40 seats"


def test_date_keys_and_cut_description() -> None:
    from crmcli.io.xlsx import Cut, describe_cuts

    cuts = [Cut(row, "body", f"id {row * 10}") for row in range(1, 8)]
    assert describe_cuts(cuts) == (
        "7 values longer than a spreadsheet cell holds (32,767 characters) were cut: "
        "row 2 body (id 10), row 3 body (id 20), row 4 body (id 30), row 5 body (id 40), "
        "row 6 body (id 50) and 2 more"
    )


def _libreoffice() -> str | None:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None and os.environ.get("CI"):
        pytest.fail("CI must have LibreOffice (.ci/run installs libreoffice-calc-nogui)")
    return found


@pytest.mark.slow
def test_libreoffice_reads_the_workbook_as_written(cli: Cli, book: None, tmp_path: Path) -> None:
    soffice = _libreoffice()
    if soffice is None:
        pytest.skip("LibreOffice is not installed here (CI installs it)")
    target = tmp_path / "contacts.xlsx"
    cli("export", "contacts", "-f", "xlsx", "-o", str(target))
    out = tmp_path / "lo"
    subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}",
         "--convert-to", "csv", "--outdir", str(out), str(target)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with open(out / "contacts.csv", encoding="utf-8", newline="") as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    ann = rows["Ann Lee"]
    assert ann["address_1_postal_code"] == "01234"
    assert ann["phone_1"] == "01712345678"
    assert ann["field:customer_no"] == CUSTOMER_NO
    assert ann["birthday"] == date(1980, 4, 15).isoformat()
    assert ann["company"] == '=HYPERLINK("http://evil.example")'
    assert rows["Bo Ray"]["birthday"] == "--04-15"
