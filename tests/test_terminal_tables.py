"""Tables on a real terminal of 80, 100 and 120 columns, with the long names, companies,
addresses and amounts real books have: every row is one line, an email, date, amount, phone or
id is never broken (it is there whole, on its row's line), the important columns stay, and a
column left out is said below the table."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.terminal import run_on_pty, terminal_env

PEOPLE = [
    # first, last, company, email, phone, tags
    ("Alexandra", "Kowalczyk-Brennan", "Northwind Logistics International GmbH",
     "alexandra.kowalczyk-brennan@northwind-logistics.example", "+49 30 1234 5678",
     "customer, vip, newsletter"),
    ("Bartholomew", "Fitzgerald-Okonkwo", "Fitzgerald & Okonkwo Architects LLP",
     "bart.fitzgerald@fitzgerald-okonkwo-architects.example", "+44 20 7946 0000",
     "lead, architecture"),
    ("Chen", "Wei", "Shenzhen Bright Future Electronics Co. Ltd", "wei.chen@brightfuture.example",
     "+86 755 8888 1234", "prospect"),
    ("Dolores", "Ibarra de la Fuente", "", "d.ibarra@example.com", "", ""),
    ("Émilie", "Lefèvre-Santos", "Agence Lefèvre & Associés SARL", "emilie@lefevre-associes.example",
     "+33 1 23 45 67 89", "customer, partner, events, newsletter, referral"),
    ("Sven", "Johansson", "Johansson Bygg AB", "sven@johansson-bygg.example", "+46 8 123 456 78",
     "customer"),
]  # fmt: skip

DEALS = [
    ("1", "Winter fleet renewal: 40 refrigerated trailers with telematics", "12000", "EUR",
     "qualified", "2026-11-30"),
    ("2", "Office fit-out, three floors", "1250000.50", "GBP", "proposal", "2027-01-15"),
    ("3", "Component supply framework agreement 2027", "987654.32", "USD", "lead", "2026-12-31"),
    ("5", "Spring event sponsorship", "4500", "EUR", "negotiation", "2027-03-01"),
]  # fmt: skip


@pytest.fixture
def long_book(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["first name", "last name", "company", "email", "phone", "tags"])
        writer.writerows(PEOPLE)
    cli("import", str(source))
    for contact, title, value, currency, stage, close in DEALS:
        cli("deal", "add", contact, title, "--value", value, "--currency", currency,
            "--stage", stage, "--close", close)  # fmt: skip
    for contact, amount, product, ref in [
        ("1", "12,345.67", "Telematics retrofit kit for refrigerated trailers", "SO-2026-004217"),
        ("5", "899.00", "Event stand rental (3 days)", "INV-88812"),
        ("6", "1,200,000.00", "Prefabricated timber frame house, two storeys", "AB-2026-000001"),
    ]:
        cli("purchase", "add", contact, "--amount", amount, "--currency", "EUR",
            "--product", product, "--ref", ref, "--on", "2026-10-02")  # fmt: skip
    for contact in ("1", "2", "5"):
        cli("note", contact, "Long call about the winter fleet: wants a quote with telematics, "
            "financing over 36 months, and a visit to the Hamburg depot before Christmas")  # fmt: skip
        cli("remind", contact, "Send the revised quote with the financing options and the "
            "telematics data sheet", "--due", "2026-12-01")  # fmt: skip


#: command -> (columns that must be there at 80, {column: key of a value never broken})
VIEWS: dict[str, tuple[list[str], dict[str, str]]] = {
    "contact list": (["ID", "Name", "Email"], {"ID": "id", "Email": "email", "Phone": "phone"}),
    "search example": (["ID", "Name", "Email"], {"ID": "id", "Email": "email"}),
    "deal list": (
        ["ID", "Title", "Value"],
        {"ID": "id", "Value": "display_value", "Close": "expected_close"},
    ),
    "purchase list": (
        ["ID", "Date", "Amount"],
        {"ID": "id", "Date": "purchased_on", "Amount": "display_amount", "Order": "order_ref"},
    ),
    "customers": (
        ["ID", "Name", "Spent"],
        {"ID": "contact_id", "Spent": "monetary", "Last": "last_purchase"},
    ),
    "notes": (["ID", "When", "Note"], {"ID": "id"}),
    "reminders": (["ID", "Due", "To do"], {"ID": "id"}),
}

_RULE = re.compile(r"^[ ─-]*─[ ─]*$")


def _body(lines: list[str]) -> tuple[list[str], list[str]]:
    """The header's titles and the table's body lines (between the rule under the header and
    the first blank line)."""
    rule = next(n for n, line in enumerate(lines) if _RULE.match(line))
    header = lines[rule - 1].split()
    body = []
    for line in lines[rule + 1 :]:
        if not line.strip():
            break
        body.append(line)
    return header, body


def _values(row: dict[str, Any], whole: dict[str, str], header: list[str]) -> list[str]:
    """The row's values that must be whole, of the columns shown."""
    keys = [key for title, key in whole.items() if title in header]
    return [str(row[key]) for key in keys if row.get(key) not in (None, "")]


@pytest.mark.slow
@pytest.mark.parametrize("columns", [80, 100, 120])
def test_tables_fit_the_terminal_without_breaking_a_value(
    long_book: None, cli: Cli, columns: int
) -> None:
    env = terminal_env(CRM_PAGER="cat")
    for command, (important, whole) in VIEWS.items():
        rows = cli.json(*command.split(), "--format", "json")
        screen = run_on_pty(command.split(), columns=columns, env=env, quiet=0.2)
        assert screen.code == 0, screen.text
        lines = screen.lines
        assert all(len(line.rstrip()) <= columns for line in lines), (command, screen.text)
        header, body = _body(lines)
        for title in important:
            assert title in " ".join(header), (command, columns, header)
        assert len(body) == len(rows), (command, columns, screen.text)  # one line a row
        for line, row in zip(body, rows, strict=True):
            for value in _values(row, whole, header):
                assert value in line, (command, columns, value, line)
        if "hidden" in screen.text:
            assert re.search(r"\d columns? hidden \(.+\); --format tsv for all", screen.text)


@pytest.mark.slow
def test_narrow_terminal_says_which_columns_are_hidden(long_book: None) -> None:
    env = terminal_env(CRM_PAGER="cat")
    screen = run_on_pty(["contact", "list"], columns=80, env=env, quiet=0.2)
    header, _ = _body(screen.lines)
    assert header == ["ID", "Name", "Email"]
    assert "3 columns hidden (Company, Phone, Tags); --format tsv for all" in screen.text
    wide = run_on_pty(["contact", "list"], columns=200, env=env, quiet=0.2)
    assert _body(wide.lines)[0] == ["ID", "Name", "Company", "Email", "Phone", "Tags"]
    assert "hidden" not in wide.text
    assert "Northwind Logistics International GmbH" in wide.text


@pytest.mark.slow
@pytest.mark.parametrize("columns", [60, 80, 100])
def test_contact_show_keeps_amounts_dates_and_refs_whole(
    long_book: None, cli: Cli, columns: int
) -> None:
    """A record view wraps its prose within a column; an amount, a date or a ref stays on one
    line (one long line would break "12,000.00 EUR" at its space)."""
    record = cli.json("contact", "show", "1", "--format", "json")
    env = terminal_env(CRM_PAGER="cat")
    screen = run_on_pty(["contact", "show", "1"], columns=columns, env=env, quiet=0.2)
    assert screen.code == 0
    text = screen.text
    assert all(len(line.rstrip()) <= columns for line in screen.lines)
    for whole in ["12,000.00 EUR", "2026-11-30", "2026-12-01", "reminder 1", "note 1"]:
        assert whole in text, (columns, whole, text)
    if columns >= 80:
        assert record["emails"][0]["email"] in text
    assert "Long call about the" in text
