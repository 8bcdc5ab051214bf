"""RFM scores and segments (against a hand-computed book of 20 customers), at-risk customers,
the customer profile of `contact show`, referrals, and the losing-touch listings."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from crmcli import customers, deals, notes, profile, referrals, rfm
from crmcli.deal_changes import NewDeal
from tests.conftest import NOW

TODAY = date(2026, 11, 23)

# Customer i (1..20) last bought 10*i days ago, bought FREQUENCY[i] times, and spent 100*i EUR
# in all: so recency and value have no ties, and frequency has ties of every size.
FREQUENCY = {1: 6, 2: 1, 3: 5, 4: 2, 5: 6, 6: 1, 7: 4, 8: 3, 9: 6, 10: 2,
             11: 5, 12: 1, 13: 6, 14: 3, 15: 4, 16: 1, 17: 2, 18: 1, 19: 3, 20: 5}  # fmt: skip

# Worked out by hand from the rule in docs/customers.md (score = 1 + 5 * (rank - 1) // 20, ties
# taking the lowest rank of their group):
# - R: customer i has rank 21 - i (the oldest purchase ranks first): 1-4 -> 5, 5-8 -> 4,
#   9-12 -> 3, 13-16 -> 2, 17-20 -> 1.
# - F: five customers bought once (rank 1 -> 1), three twice (rank 6 -> 2), three three times
#   (rank 9 -> 3), two four times (rank 12 -> 3), three five times (rank 14 -> 4), four six
#   times (rank 17 -> 5).
# - M: customer i has rank i: 1-4 -> 1, 5-8 -> 2, 9-12 -> 3, 13-16 -> 4, 17-20 -> 5.
# - segment by (R, F), from the table.
EXPECTED = {
    1: ("551", "champions"), 2: ("511", "new"), 3: ("541", "champions"),
    4: ("521", "potential"), 5: ("452", "loyal"), 6: ("412", "promising"),
    7: ("432", "potential"), 8: ("432", "potential"), 9: ("353", "loyal"),
    10: ("323", "about-to-sleep"), 11: ("343", "loyal"), 12: ("313", "about-to-sleep"),
    13: ("254", "cant-lose"), 14: ("234", "at-risk"), 15: ("234", "at-risk"),
    16: ("214", "hibernating"), 17: ("125", "lost"), 18: ("115", "lost"),
    19: ("135", "at-risk"), 20: ("145", "at-risk"),
}  # fmt: skip


@pytest.fixture
def book(
    conn: sqlite3.Connection,
    make_contact: Callable[..., int],
    make_purchase: Callable[..., int],
) -> dict[int, int]:
    """The 20 customers (number -> contact id), plus a contact without purchases, a trashed
    purchase and a trashed customer that must not count."""
    from crmcli import contacts, purchases

    ids = {}
    for i in range(1, 21):
        contact_id = make_contact(f"Customer {i:02d}", email=f"c{i}@example.com")
        ids[i] = contact_id
        last = TODAY - timedelta(days=10 * i)
        for extra in range(1, FREQUENCY[i]):
            make_purchase(contact_id, "1.00", on=last - timedelta(days=extra), product="Small")
        make_purchase(contact_id, f"{100 * i - (FREQUENCY[i] - 1)}.00", on=last, product="Big")
    make_contact("Not A Customer")
    trashed = make_purchase(ids[20], "5000.00", on=TODAY)
    purchases.trash(conn, trashed, now=NOW)
    gone = make_contact("Gone Customer")
    make_purchase(gone, "9999.00", on=TODAY)
    contacts.trash(conn, gone, now=NOW)
    return ids


def _rows(conn: sqlite3.Connection, **options: Any) -> dict[int, dict[str, Any]]:
    filters = customers.CustomerFilters(**options)
    return {row["contact_id"]: row for row in customers.list_customers(conn, filters, today=TODAY)}


def test_rfm_matches_the_hand_computed_book(conn: sqlite3.Connection, book: dict[int, int]) -> None:
    rows = _rows(conn)
    assert set(rows) == set(book.values())
    for i, (score, segment) in EXPECTED.items():
        row = rows[book[i]]
        assert (row["score"], row["segment"]) == (score, segment), f"customer {i}"
        assert row["recency_days"] == 10 * i
        assert row["frequency"] == FREQUENCY[i]
        assert row["totals"] == [
            {"currency": "EUR", "total_minor": 10_000 * i, "total": f"{100 * i}.00",
             "purchases": FREQUENCY[i]}
        ]  # fmt: skip


def test_segment_filter_and_sort(conn: sqlite3.Connection, book: dict[int, int]) -> None:
    at_risk = _rows(conn, segment="at risk")
    assert set(at_risk) == {book[i] for i in (14, 15, 19, 20)}
    ordered = list(customers.list_customers(conn, customers.CustomerFilters(), today=TODAY))
    sums = [int(r["r"]) + int(r["f"]) + int(r["m"]) for r in ordered]
    assert sums == sorted(sums, reverse=True)
    with pytest.raises(Exception, match="not an RFM segment"):
        _rows(conn, segment="vip")


def test_every_rf_pair_has_exactly_one_segment() -> None:
    for r in range(1, 6):
        for f in range(1, 6):
            covering = [
                s.name
                for s in rfm.SEGMENTS
                if s.recency[0] <= r <= s.recency[1] and s.frequency[0] <= f <= s.frequency[1]
            ]
            assert len(covering) == 1, (r, f, covering)
            assert rfm.segment_of(r, f) == covering[0]


@pytest.mark.parametrize(
    ("text", "name"),
    [("can't lose", "cant-lose"), ("At Risk", "at-risk"), ("potential loyalists", "potential"),
     ("champions", "champions"), ("vip", None)],
)  # fmt: skip
def test_segment_names(text: str, name: str | None) -> None:
    assert rfm.segment_name(text) == name


def test_currency_and_since_restrict_the_purchases(
    conn: sqlite3.Connection, make_contact: Callable[..., int], make_purchase: Callable[..., int]
) -> None:
    ann = make_contact("Ann Lee")
    bob = make_contact("Bob Roe")
    make_purchase(ann, "100.00", on=TODAY - timedelta(days=400), currency="EUR")
    make_purchase(ann, "50.00", on=TODAY - timedelta(days=5), currency="USD")
    make_purchase(bob, "70.00", on=TODAY - timedelta(days=30), currency="EUR")
    both = _rows(conn)
    assert both[ann]["monetary"] == "100.00 EUR; 50.00 USD"  # never added up
    assert both[ann]["frequency"] == 2
    eur = _rows(conn, currency="eur")
    assert eur[ann]["recency_days"] == 400
    assert [t["currency"] for t in eur[ann]["totals"]] == ["EUR"]
    recent = _rows(conn, since=TODAY - timedelta(days=100))
    assert recent[ann]["frequency"] == 1 and recent[ann]["monetary"] == "50.00 USD"


def test_at_risk_uses_each_customers_own_rhythm(
    conn: sqlite3.Connection, make_contact: Callable[..., int], make_purchase: Callable[..., int]
) -> None:
    regular = make_contact("Rita Regular")  # every 10 days, stopped 60 days ago
    for k in range(10):
        make_purchase(regular, "100.00", on=TODAY - timedelta(days=60 + 10 * k))
    steady = make_contact("Sam Steady")  # every 10 days, bought 5 days ago, in touch
    for k in range(10):
        make_purchase(steady, "100.00", on=TODAY - timedelta(days=5 + 10 * k))
    notes.add(conn, steady, "called", now=NOW, kind="call")
    once = make_contact("Olga Once")  # one purchase: no rhythm, never at risk
    make_purchase(once, "9000.00", on=TODAY - timedelta(days=300))
    for k in range(5):  # small one-off buyers: scores are relative to the whole book
        make_purchase(make_contact(f"Small Buyer{k}"), f"{k + 1}.00", on=TODAY - timedelta(days=k))
    rows = list(
        customers.list_customers(conn, customers.CustomerFilters(at_risk=True), today=TODAY)
    )
    assert [r["contact_id"] for r in rows] == [regular]
    assert "no purchase for 60 days (usual: within 30)" in rows[0]["at_risk"]
    assert "never in touch" in rows[0]["at_risk"]


def test_profile_per_currency_favourites_and_touch(
    conn: sqlite3.Connection, make_contact: Callable[..., int], make_purchase: Callable[..., int]
) -> None:
    ann = make_contact("Ann Lee")
    make_purchase(ann, "10.00", on=date(2026, 1, 5), product="Widget", quantity=2)
    make_purchase(ann, "10.01", on=date(2026, 6, 1), product="widget")
    make_purchase(ann, "5000", on=date(2026, 11, 3), product="Robot", currency="JPY")
    notes.add(conn, ann, "imported text", now=NOW, kind="imported")
    found = profile.customer_profile(conn, ann, today=TODAY)
    assert found["purchases"] == 3
    assert (found["first_purchase"], found["last_purchase"]) == ("2026-01-05", "2026-11-03")
    assert found["days_since_last_purchase"] == 20
    assert found["last_product"] == "Robot"
    assert found["totals"] == [
        {"currency": "EUR", "purchases": 2, "total_minor": 2001, "total": "20.01",
         "average_minor": 1001, "average": "10.01"},  # 10.005 rounded half up
        {"currency": "JPY", "purchases": 1, "total_minor": 5000, "total": "5000",
         "average_minor": 5000, "average": "5000"},
    ]  # fmt: skip
    assert found["favourite_products"][0] == {"product": "Widget", "purchases": 2, "quantity": 3}
    assert found["last_touch_at"] is None  # an imported note is no touch
    notes.add(conn, ann, "called", now=NOW, kind="call", at=NOW - timedelta(days=3))
    assert profile.customer_profile(conn, ann, today=TODAY)["days_since_last_touch"] == 3
    values = profile.placeholder_values(conn, ann, today=TODAY)
    assert set(values) == set(profile.PLACEHOLDERS)
    assert values["first_purchase_year"] == "2026"
    assert values["last_product"] == "Robot"
    assert values["total_spent"] == "20.01 EUR"


def test_placeholders_of_someone_who_never_bought(
    conn: sqlite3.Connection, make_contact: Callable[..., int]
) -> None:
    values = profile.placeholder_values(conn, make_contact("New Person"), today=TODAY)
    assert values["purchases"] == "0"
    assert values["last_product"] == values["first_purchase_year"] == ""


def test_referrals_value_counts_a_won_deal_once(
    conn: sqlite3.Connection, make_contact: Callable[..., int], make_purchase: Callable[..., int]
) -> None:
    ann = make_contact("Ann Lee")
    bob = make_contact("Bob Roe", referred_by=ann)
    cat = make_contact("Cat Poe", referred_by=ann)
    make_contact("Dan Moe", referred_by=bob)
    make_purchase(bob, "100.00")
    make_purchase(bob, "20.00", currency="USD")
    deal = deals.add(
        conn, NewDeal(contact_id=cat, title="Big", value_minor=50_000, currency="EUR"), now=NOW
    )
    deals.win(conn, deal, now=NOW, as_purchase=True)  # a purchase now: must not count twice
    other = deals.add(
        conn, NewDeal(contact_id=cat, title="Other", value_minor=1_000, currency="EUR"), now=NOW
    )
    deals.win(conn, other, now=NOW)
    listed = list(referrals.list_referrals(conn))
    assert [(r["referrer"], r["name"]) for r in listed] == [
        ("Ann Lee", "Bob Roe"), ("Ann Lee", "Cat Poe"), ("Bob Roe", "Dan Moe")
    ]  # fmt: skip
    cat_row = listed[1]
    assert cat_row["bought"] == [{"currency": "EUR", "amount_minor": 50_000, "amount": "500.00"}]
    assert cat_row["won"] == [{"currency": "EUR", "amount_minor": 1_000, "amount": "10.00"}]
    top = referrals.top_referrers(conn, currency="EUR")
    assert [(t["referrer"], t["value_minor"], t["referred"], t["customers"]) for t in top] == [
        ("Ann Lee", 61_000, 2, 2),
        ("Bob Roe", 0, 1, 0),
    ]
    assert top[0]["other_currencies"] == "20.00 USD"
    assert profile.referred(conn, ann) == [
        {"id": bob, "name": "Bob Roe"}, {"id": cat, "name": "Cat Poe"}
    ]  # fmt: skip


# --- the CLI --------------------------------------------------------------------------------------


def test_customers_command_every_format(
    cli: Any, book: dict[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    rows = cli.json("customers")
    assert rows[0]["segment"] == "champions"
    assert {r["contact_id"]: r["score"] for r in rows}[book[13]] == "254"
    jsonl = cli("customers", "--format", "jsonl").stdout.splitlines()
    assert len(jsonl) == 20 and json.loads(jsonl[0]) == rows[0]
    csv_text = cli("customers", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("contact_id,name,email,segment,score")
    tsv = cli("customers", "--format", "tsv").stdout.splitlines()
    assert len(tsv) == 21
    table = cli("customers", "--segment", "champions", "--format", "table").stdout
    assert "Customer 01" in table and "Customer 05" not in table
    lost = cli.json("customers", "--segment", "lost")
    assert {r["contact_id"] for r in lost} == {book[17], book[18]}
    narrowed = cli.json("customers", "email:c1@example.com")
    assert [r["contact_id"] for r in narrowed] == [book[1]]
    result = cli("customers", "--segment", "vips", code=2)
    assert "not an RFM segment" in result.stderr


def test_contact_show_has_the_customer_section(
    cli: Any,
    make_contact: Callable[..., int],
    make_purchase: Callable[..., int],
) -> None:
    ann = make_contact("Ann Lee")
    make_contact("Bob Roe", referred_by=ann)
    make_purchase(ann, "1200.00", product="Widget Pro", quantity=4, on=date(2026, 3, 1))
    record = cli.json("contact", "show", str(ann))
    assert record["customer"]["purchases"] == 1
    assert record["customer"]["totals"][0]["total"] == "1200.00"
    assert record["referred"][0]["name"] == "Bob Roe"
    table = cli("contact", "show", str(ann), "--format", "table").stdout
    assert "As a customer" in table and "1,200.00 EUR" in table and "Widget Pro (1x)" in table
    assert "Referred" in table and "Bob Roe" in table


def test_referrals_command(cli: Any, make_contact: Callable[..., int]) -> None:
    ann = make_contact("Ann Lee")
    make_contact("Bob Roe", referred_by=ann)
    assert [r["name"] for r in cli.json("referrals")] == ["Bob Roe"]
    assert [r["name"] for r in cli.json("referrals", "ann")] == ["Bob Roe"]
    top = cli.json("referrals", "--top", "--currency", "EUR")
    assert top[0]["referrer"] == "Ann Lee" and top[0]["referred"] == 1


def test_losing_touch_listings(
    cli: Any, conn: sqlite3.Connection, make_contact: Callable[..., int]
) -> None:
    recent = make_contact("Rae Recent")
    old = make_contact("Olly Old")
    never = make_contact("Nev Never")
    notes.add(conn, recent, "call", now=NOW, kind="call", at=NOW - timedelta(days=10))
    notes.add(conn, old, "lunch", now=NOW, kind="meeting", at=NOW - timedelta(days=200))
    notes.add(conn, recent, "csv text", now=NOW, kind="imported")
    rows = cli.json("contact", "list", "--sort", "last-touch")
    assert [r["id"] for r in rows] == [never, old, recent]
    assert rows[0]["last_touch_at"] is None
    stale = cli.json("contact", "list", "--not-touched-since", "90d")
    assert {r["id"] for r in stale} == {never, old}
    by_date = cli.json("contact", "list", "--not-touched-since", "2026-11-20")
    assert {r["id"] for r in by_date} == {never, old, recent}
    assert "Last touch" in cli("contact", "list", "--sort", "last-touch", "-f", "table").stdout


# --- what makes `crm customers` fast must not change what it writes ------------------------------


@pytest.mark.parametrize(
    "totals",
    [
        (rfm.Total("EUR", 123_456_789, 7),),
        (rfm.Total("USD", 5, 2), rfm.Total("EUR", 0, 1)),
        (rfm.Total("JPY", 12_000, 1), rfm.Total("KWD", 1_234_567, 1), rfm.Total("CLF", 1, 1)),
        (rfm.Total('E"\\', 1, 1),),  # not a currency code: quoted as JSON quotes it
    ],
)
def test_the_totals_text_and_monetary_are_what_the_generic_code_writes(
    totals: tuple[rfm.Total, ...],
) -> None:
    from crmcli import money
    from crmcli.cli._output import _plain
    from crmcli.cli.views.customers import _totals_text

    assert _totals_text(totals) == _plain(customers.totals_json(totals))
    expected = "; ".join(money.format_money(t.total_minor, t.currency) for t in totals)
    assert customers._monetary(totals) == expected


@pytest.mark.parametrize("fmt", ["tsv", "csv", "json", "jsonl"])
@pytest.mark.parametrize("options", [(), ("--at-risk",), ("--sort", "name", "--limit", "7")])
def test_every_format_writes_what_the_sink_writes_of_the_json_rows(
    cli: Any,
    conn: sqlite3.Connection,
    book: dict[int, int],
    make_contact: Callable[..., int],
    make_purchase: Callable[..., int],
    fmt: str,
    options: tuple[str, ...],
) -> None:
    import io

    from crmcli.cli._output import emit
    from crmcli.cli.views.customers import COLUMNS

    tricky = make_contact("Tab\tand [b]bold[/b]", email="t@example.com")
    make_purchase(tricky, "12.34", currency="USD")
    make_purchase(tricky, "1000", currency="JPY", on=TODAY - timedelta(days=400))
    notes.add(conn, book[3], "called", now=NOW, kind="call", at=NOW - timedelta(days=100))
    at_risk = "--at-risk" in options
    filters = customers.CustomerFilters(
        at_risk=at_risk,
        sort="name" if "name" in options else "score",
        limit=7 if "--limit" in options else None,
    )
    columns = [*COLUMNS[:-1], COLUMNS[-1]._replace(header="Why")] if at_risk else COLUMNS
    generic = io.StringIO()
    emit(customers.list_customers(conn, filters, today=TODAY), columns, fmt, out=generic)
    assert cli("customers", *options, "--format", fmt).stdout == generic.getvalue()
    assert generic.getvalue().count("\n") > 2


def test_sort_by_name_is_sqlites_nocase_order(
    conn: sqlite3.Connection, make_contact: Callable[..., int], make_purchase: Callable[..., int]
) -> None:
    for name in ("bob", "Émile", "Alice", "alice", "Zoë", "émile", "BOB", "_under"):
        make_purchase(make_contact(name), "1.00")
    rows = [r["name"] for r in _rows_in_order(conn, sort="name")]
    in_sql = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM contacts WHERE deleted_at IS NULL ORDER BY name COLLATE NOCASE, id"
        )
    ]
    assert rows == in_sql


def _rows_in_order(conn: sqlite3.Connection, **options: Any) -> list[dict[str, Any]]:
    filters = customers.CustomerFilters(**options)
    return list(customers.list_customers(conn, filters, today=TODAY))


def test_a_terminal_table_shows_the_first_customers_and_counts_the_rest(
    cli: Any, book: dict[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from crmcli.cli import customers as view

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(view, "TABLE_LIMIT", 5)
    shown = cli("customers", "--format", "table")
    assert shown.stdout.count("Customer ") == 5
    assert "… and 15 more (all of them: --limit 20 or --format tsv)" in shown.stderr
    everyone = cli("customers", "--format", "table", "--limit", "20")
    assert everyone.stdout.count("Customer ") == 20 and "more" not in everyone.stderr
    assert len(cli("customers", "--format", "tsv").stdout.splitlines()) == 21  # scripts: all


def test_rfm_terms_score_once_per_connection_while_the_data_stays_the_same(
    conn: sqlite3.Connection,
    book: dict[int, int],
    make_purchase: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from crmcli import query, segments

    calls: list[date] = []
    score = rfm.score_customers

    def counted(conn: sqlite3.Connection, today: date, **options: Any) -> list[rfm.Score]:
        calls.append(today)
        return score(conn, today, **options)

    monkeypatch.setattr(rfm, "score_customers", counted)

    def members(text: str, today: date = TODAY) -> set[int]:
        sql, params = query.contact_ids_sql(conn, text, today=today)
        return {r[0] for r in conn.execute(sql, params)}

    segments.save(conn, "best", "rfm:champions or rfm:loyal", now=NOW)
    champions = members("rfm:champions")
    assert champions == {book[1], book[3]}
    assert members("segment:best and not rfm:champions") == {book[5], book[9], book[11]}
    assert len(calls) == 1  # three rfm: terms, two statements, one segment: scored once
    make_purchase(book[20], "1.00", on=TODAY)  # customer 20 bought today: no longer lost
    assert book[20] not in members("rfm:lost")
    assert len(calls) == 2
    members("rfm:lost", today=TODAY + timedelta(days=1))
    assert len(calls) == 3
