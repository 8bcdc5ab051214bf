"""Purchases: the domain, `crm purchase`, `crm export/import purchases`, won deals as purchases."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from crmcli import deals, purchases
from crmcli.deal_changes import NewDeal
from crmcli.errors import NotFound, ValidationError
from tests.conftest import NOW


def _count(conn: sqlite3.Connection, where: str = "1") -> int:
    return int(conn.execute(f"SELECT count(*) FROM purchases WHERE {where}").fetchone()[0])


def test_add_edit_trash_restore(
    conn: sqlite3.Connection, make_contact: Callable[..., int], make_purchase: Callable[..., int]
) -> None:
    ann = make_contact("Ann Lee")
    bob = make_contact("Bob Roe")
    pid = make_purchase(ann, "1200.50", product="  Widget   Pro ", quantity=4, ref="SO-1")
    row = purchases.get(conn, pid)
    assert (row["amount_minor"], row["amount"], row["product"]) == (120050, "1200.50", "Widget Pro")
    changed = purchases.edit(
        conn, pid, purchases.PurchaseChanges(contact_id=bob, quantity=2, amount_minor=500), now=NOW
    )
    assert (changed["contact_id"], changed["quantity"], changed["amount"]) == (bob, 2, "5.00")
    with pytest.raises(ValidationError, match="different minor units"):
        purchases.edit(conn, pid, purchases.PurchaseChanges(currency="JPY"), now=NOW)
    purchases.trash(conn, pid, now=NOW)
    with pytest.raises(NotFound):
        purchases.get(conn, pid)
    assert list(purchases.list_purchases(conn, purchases.PurchaseFilters())) == []
    assert purchases.restore(conn, pid)["deleted_at"] is None
    with pytest.raises(ValidationError, match="not in the trash"):
        purchases.restore(conn, pid)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount_minor": -1}, "cannot be negative"),
        ({"quantity": 0}, "quantity 0"),
        ({"currency": "EUROS"}, "unknown currency"),
        ({"product": "x" * 201}, "at most 200"),
        ({"contact_id": 999}, "no contact with id 999"),
    ],
)
def test_add_refuses_bad_values(
    conn: sqlite3.Connection, make_contact: Callable[..., int], kwargs: dict[str, Any], message: str
) -> None:
    base: dict[str, Any] = {
        "contact_id": make_contact("Ann Lee"),
        "amount_minor": 100,
        "currency": "EUR",
        "purchased_on": date(2026, 1, 1),
    }
    with pytest.raises((ValidationError, NotFound), match=message):
        purchases.add(conn, purchases.NewPurchase(**{**base, **kwargs}), now=NOW)
    assert _count(conn) == 0


def test_won_deal_as_purchase_and_reopen(
    conn: sqlite3.Connection, make_contact: Callable[..., int]
) -> None:
    ann = make_contact("Ann Lee")
    deal = deals.add(
        conn, NewDeal(contact_id=ann, title="Robot arms", value_minor=4_800_000, currency="JPY"),
        now=NOW,
    )  # fmt: skip
    pid = deals.win(conn, deal, now=NOW, as_purchase=True)
    assert pid is not None
    row = purchases.get(conn, pid)
    assert (row["amount_minor"], row["currency"], row["product"], row["deal_id"]) == (
        4_800_000, "JPY", "Robot arms", deal
    )  # fmt: skip
    assert row["source"] == "deal" and row["purchased_on"] == "2026-11-23"
    deals.reopen(conn, deal, stage_name=None, now=NOW)
    assert _count(conn, "deleted_at IS NULL") == 0  # not a sale after all
    assert deals.win(conn, deal, now=NOW, as_purchase=True) == pid  # the same one, back
    assert _count(conn) == 1 and _count(conn, "deleted_at IS NULL") == 1


# --- the CLI --------------------------------------------------------------------------------------


def test_purchase_commands(cli: Any, make_contact: Callable[..., int]) -> None:
    make_contact("Ann Lee", email="ann@acme.example")
    added = cli(
        "purchase", "add", "ann", "--amount", "1,200.50", "--currency", "eur", "--product",
        "Widget", "--qty", "4", "--on", "2026-03-01", "--ref", "SO-9",
    )  # fmt: skip
    assert added.stderr == "Added purchase 1: 4 x Widget, 1,200.50 EUR, Ann Lee, on 2026-03-01\n"
    listed = cli.json("purchase", "list")
    assert listed[0]["amount_minor"] == 120050 and listed[0]["currency"] == "EUR"
    assert listed[0]["order_ref"] == "SO-9" and listed[0]["email"] == "ann@acme.example"
    assert "display_amount" not in listed[0]
    assert "1,200.50 EUR" in cli("purchase", "list", "--format", "table").stdout
    cli("purchase", "edit", "1", "--amount", "99", "--qty", "1")
    assert cli.json("purchase", "list")[0]["amount"] == "99.00"
    assert "--yes" in cli("purchase", "rm", "1", code=2).stderr
    cli("purchase", "rm", "1", "--yes")
    assert cli.json("purchase", "list") == []
    assert cli.json("purchase", "list", "--trash")[0]["id"] == 1
    cli("purchase", "restore", "1")
    errors = [
        (("purchase", "add", "ann"), "needs an amount"),
        (("purchase", "add", "ann", "--amount", "1.234"), "too many decimals"),
        (("purchase", "add", "ann", "--amount", "5", "--on", "tomorrow"), "in the future"),
        (("purchase", "add", "nobody", "--amount", "5"), "no contact matches"),
        (("purchase", "edit", "1"), "nothing to change"),
        (("purchase", "rm", "x7", "--yes"), "is not a purchase id"),
    ]
    for args, message in errors:
        result = cli(*args, code=None)
        assert result.exit_code in (1, 2) and message in result.stderr, (args, result.stderr)
        assert result.stderr.startswith("Error: ")


def test_deal_won_as_purchase_setting(
    cli: Any, make_contact: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_contact("Ann Lee")
    cli("deal", "add", "ann", "First", "--value", "100", "--currency", "EUR")
    cli("deal", "add", "ann", "Second", "--value", "200", "--currency", "EUR")
    cli("deal", "add", "ann", "Third", "--value", "300", "--currency", "EUR")
    assert "recorded as purchase 1" in cli("deal", "won", "1", "--as-purchase").stderr
    assert "recorded" not in cli("deal", "won", "2").stderr
    monkeypatch.setenv("CRM_WON_AS_PURCHASE", "yes")
    cli("deal", "won", "3")
    assert [p["product"] for p in cli.json("purchase", "list")] == ["Third", "First"]


SHOP_CSV = """Name,Email,Financial Status,Currency,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Billing Name
#1001,ann@acme.example,paid,EUR,130.00,2026-10-01 10:15:00 +0200,2,Widget,50.00,Ann Lee
#1001,,,,,,1,Gadget,30.00,
#1002,new@beta.example,paid,EUR,99.90,2026-10-05 11:00:00 +0200,1,Widget Pro,99.90,Nia New
"""

ACCOUNTING_CSV = """Invoice No;Invoice Date;Customer;Description;Qty;Line Total
INV-7;15.09.2026;Ann Lee;Consulting day;1;1.200,00
INV-7;15.09.2026;Ann Lee;Consulting day;1;1.200,00
INV-8;16.09.2026;Ann Lee;Travel;1;85,50
"""


def test_import_orders_dry_run_then_twice(
    cli: Any, tmp_path: Path, make_contact: Callable[..., int]
) -> None:
    make_contact("Ann Lee", email="ann@acme.example")
    orders = tmp_path / "orders.csv"
    orders.write_text(SHOP_CSV, encoding="utf-8")
    dry = cli("import", "purchases", str(orders), "--dry-run")
    assert dry.stdout.splitlines()[1:] == [
        "line 2\tadd\tann@acme.example\tWidget 100.00 EUR",
        "line 3\tadd\tann@acme.example\tGadget 30.00 EUR",
        "line 4\tadd (new contact)\tnew@beta.example\tWidget Pro 99.90 EUR",
    ]
    assert cli.json("purchase", "list") == []
    first = cli("import", "purchases", str(orders))
    assert "3 purchases added, 0 already there, 1 new contacts" in first.stderr
    again = cli("import", "purchases", str(orders))
    assert "0 purchases added, 3 already there" in again.stderr
    rows = cli.json("purchase", "list")
    assert sorted((r["order_ref"], r["product"], r["amount_minor"]) for r in rows) == [
        ("#1001", "Gadget", 3000), ("#1001", "Widget", 10000), ("#1002", "Widget Pro", 9990)
    ]  # fmt: skip
    new = cli.json("contact", "show", "new@beta.example")
    assert new["name"] == "Nia New" and new["tags"] == ["customer"]
    # the export reads back as nothing new
    exported = tmp_path / "export.csv"
    cli("export", "purchases", "-o", str(exported))
    assert "0 purchases added, 3 already there" in cli("import", "purchases", str(exported)).stderr


def test_import_day_first_european_amounts_and_repeated_lines(
    cli: Any, tmp_path: Path, make_contact: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DAY_FIRST", "1")
    make_contact("Ann Lee")
    path = tmp_path / "invoices.csv"
    path.write_text(ACCOUNTING_CSV, encoding="cp1252")
    cli("import", "purchases", str(path), "--currency", "EUR")
    rows = cli.json("purchase", "list")
    assert [(r["purchased_on"], r["amount"]) for r in rows] == [
        ("2026-09-16", "85.50"), ("2026-09-15", "1200.00"), ("2026-09-15", "1200.00")
    ]  # fmt: skip
    assert "0 purchases added" in cli("import", "purchases", str(path), "--currency", "EUR").stderr


def test_import_is_all_or_nothing(
    cli: Any, conn: sqlite3.Connection, tmp_path: Path, make_contact: Callable[..., int]
) -> None:
    make_contact("Ann Lee", email="ann@acme.example")
    path = tmp_path / "bad.csv"
    path.write_text(
        "order,date,email,product,amount,currency\n"
        "1,2026-01-01,ann@acme.example,A,10.00,EUR\n"
        "2,someday,ann@acme.example,B,10.00,EUR\n"
        "3,2026-01-02,not-an-email,C,10.00,EUR\n"
        "4,2026-01-02,ann@acme.example,D,-5,EUR\n"
        "5,2026-01-02,ann@acme.example,E,5.001,EUR\n"
        "6,2026-01-02,,F,5,EUR\n",
        encoding="utf-8",
    )
    result = cli("import", "purchases", str(path), code=1)
    assert result.stderr.startswith("Error: 5 row(s) cannot be imported, so nothing was imported")
    for expected in ("line 3: date 'someday'", "line 4: email 'not-an-email'", "line 5: amount",
                     "line 6: amount '5.001'", "line 7: no customer"):  # fmt: skip
        assert expected in result.stderr
    assert _count(conn) == 0
    no_create = tmp_path / "unknown.csv"
    no_create.write_text("date,email,amount\n2026-01-01,zed@x.example,5\n", encoding="utf-8")
    refused = cli("import", "purchases", str(no_create), "--no-create-contacts", code=1)
    assert "no contact with email or name 'zed@x.example'" in refused.stderr


def test_import_finds_customers_by_the_identity_rules(
    cli: Any, tmp_path: Path, make_contact: Callable[..., int]
) -> None:
    # the rules of crm import (docs/identity.md): an email in any case; else the same full name
    # and company (no company matches no company); a tie is refused, not guessed
    ann = make_contact("Ann Lee", email="ann@acme.example", company="Acme")
    bo_acme = make_contact("Bo Chan", company="Acme")
    make_contact("Bo Chan", company="Beta")
    make_contact("Cy Ode")
    make_contact("Cy Ode")
    path = tmp_path / "orders.csv"
    path.write_text(
        "order,date,email,customer,company,product,amount,currency\n"
        "1,2026-01-01,ANN@acme.example,Someone Else,,A,10.00,EUR\n"
        "2,2026-01-01,,Bo Chan,acme,B,10.00,EUR\n"
        "3,2026-01-01,,Bo Chan,Gamma,C,10.00,EUR\n",
        encoding="utf-8",
    )
    dry = cli("import", "purchases", str(path), "--dry-run")
    assert dry.stdout.splitlines()[1:] == [
        "line 2\tadd\tANN@acme.example\tA 10.00 EUR",
        "line 3\tadd\tBo Chan\tB 10.00 EUR",
        "line 4\tadd (new contact)\tBo Chan\tC 10.00 EUR",
    ]
    cli("import", "purchases", str(path))
    bought = {r["product"]: r["contact_id"] for r in cli.json("purchase", "list")}
    assert (bought["A"], bought["B"]) == (ann, bo_acme)
    assert cli.json("contact", "show", str(bought["C"]))["company"] == "Gamma"
    tie = tmp_path / "tie.csv"
    tie.write_text("date,customer,amount,currency\n2026-01-01,Cy Ode,5,EUR\n", encoding="utf-8")
    refused = cli("import", "purchases", str(tie), code=1)
    assert "several contacts are named 'Cy Ode' (contacts 4 or 5)" in refused.stderr


def test_import_mapping_and_saved_maps(
    cli: Any, tmp_path: Path, make_contact: Callable[..., int]
) -> None:
    make_contact("Ann Lee", email="ann@acme.example")
    path = tmp_path / "odd.csv"
    path.write_text("Kunde,Datum,Summe,Artikel\nann@acme.example,2026-02-03,19.99,Buch\n")
    missing = cli("import", "purchases", str(path), code=1)
    assert "no amount column" in missing.stderr
    maps = ["--map", "Kunde=email", "--map", "Datum=date", "--map", "Summe=amount",
            "--map", "Artikel=product"]  # fmt: skip
    cli("import", "purchases", str(path), *maps, "--save-map", "shop", "--currency", "EUR")
    assert cli.json("purchase", "list")[0]["product"] == "Buch"
    again = cli("import", "purchases", str(path), "--use-map", "shop", "--currency", "EUR")
    assert "0 purchases added, 1 already there" in again.stderr
    bad = cli("import", "purchases", str(path), "--map", "Kunde=wat", code=2)
    assert "not known for purchases" in bad.stderr
    mixed = cli("import", "purchases", str(path), "--tag", "x", code=2)
    assert "apply to contacts" in mixed.stderr
    assert (
        "apply to 'crm import purchases' only"
        in cli("import", str(path), "--currency", "EUR", code=2).stderr
    )


def test_hostile_text_stays_data(cli: Any, make_contact: Callable[..., int]) -> None:
    make_contact("Ann Lee")
    product = "[/b]\x1b]0;pwned\x07 =1+1"
    cli("purchase", "add", "ann", "--amount", "1", "--product", product)
    assert cli.json("purchase", "list")[0]["product"] == "[/b]\x1b]0;pwned\x07 =1+1"
    exported = cli("export", "purchases").stdout
    assert ",'[/b]" not in exported  # only cells starting with = + - @ are neutralised


def test_export_purchases_formats(cli: Any, make_contact: Callable[..., int]) -> None:
    make_contact("Ann Lee")
    cli("purchase", "add", "ann", "--amount", "5", "--product", "=SUM(A1)", "--on", "2026-01-02")
    csv_out = cli("export", "purchases").stdout.splitlines()
    assert csv_out[0].startswith("id,order_ref,purchased_on,contact_id,contact,email,product")
    assert ",'=SUM(A1)," in csv_out[1]
    assert ",=SUM(A1)," in cli("export", "purchases", "--raw").stdout
    jsonl = cli("export", "purchases", "--format", "jsonl").stdout
    assert '"amount_minor": 500' in jsonl and '"currency": "USD"' in jsonl
    assert cli("export", "purchases", "--format", "json", "--since", "2026-02-01").stdout == "[]\n"


def test_history_shows_purchases(cli: Any, make_contact: Callable[..., int]) -> None:
    make_contact("Ann Lee")
    cli("purchase", "add", "ann", "--amount", "5", "--product", "Tea", "--qty", "2")
    events = cli.json("history", "ann")
    assert events[0]["event"] == "purchase" and events[0]["text"] == "Bought 2 x Tea (5.00 USD)"
