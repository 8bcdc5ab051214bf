"""``purchase_totals``: each customer's live purchases per currency, kept by triggers. Whatever
writes the purchases, the table must equal grouping the purchases again."""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli import db, rfm

GROUPED = (
    "SELECT contact_id, currency, count(*), sum(amount_minor), min(purchased_on), "
    "max(purchased_on) FROM purchases WHERE deleted_at IS NULL "
    "GROUP BY contact_id, currency ORDER BY contact_id, currency"
)
KEPT = (
    "SELECT contact_id, currency, purchases, total_minor, first_on, last_on "
    "FROM purchase_totals ORDER BY contact_id, currency"
)
STAMP = "2026-11-23T09:00:00Z"
CONTACTS = (1, 2, 3)
CURRENCIES = ("EUR", "USD")


def _book() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    db.migrate(conn)
    for contact_id in CONTACTS:
        conn.execute(
            "INSERT INTO contacts (id, uid, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            (contact_id, f"u{contact_id}", f"Person {contact_id}", STAMP, STAMP),
        )
    return conn


def _same(conn: sqlite3.Connection) -> None:
    assert conn.execute(KEPT).fetchall() == conn.execute(GROUPED).fetchall()


# few customers, currencies and days: purchases often share a group and a first or last day
_day = st.integers(0, 6).map(lambda n: (date(2026, 1, 1) + timedelta(days=n)).isoformat())
_which = st.integers(0, 30)  # which purchase (modulo how many there are)
_add = st.tuples(
    st.just("add"),
    st.sampled_from(CONTACTS[:2]),
    st.sampled_from(CURRENCIES),
    st.integers(0, 10_000),
    _day,
    st.booleans(),
)
_change = st.one_of(
    st.tuples(st.just("change"), _which, st.just("contact_id"), st.sampled_from(CONTACTS)),
    st.tuples(st.just("change"), _which, st.just("currency"), st.sampled_from(CURRENCIES)),
    st.tuples(st.just("change"), _which, st.just("amount_minor"), st.integers(0, 10_000)),
    st.tuples(st.just("change"), _which, st.just("purchased_on"), _day),
    st.tuples(st.just("change"), _which, st.just("deleted_at"), st.sampled_from([None, STAMP])),
)
_remove = st.tuples(st.just("remove"), _which)
_forget_contact = st.tuples(st.just("forget"), st.sampled_from(CONTACTS))
_OPERATION = st.one_of(_add, _add, _add, _change, _change, _remove, _forget_contact)


def _apply(conn: sqlite3.Connection, operation: tuple[Any, ...]) -> None:
    ids = [r[0] for r in conn.execute("SELECT id FROM purchases ORDER BY id")]
    kind = operation[0]
    if kind == "add":
        _, contact_id, currency, amount, day, trashed = operation
        if conn.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone():
            conn.execute(
                "INSERT INTO purchases (contact_id, purchased_on, amount_minor, currency, "
                "created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (contact_id, day, amount, currency, STAMP, STAMP, STAMP if trashed else None),
            )
    elif kind == "change" and ids:
        _, which, column, value = operation
        with suppress(sqlite3.IntegrityError):  # moved to a contact deleted by an earlier step
            conn.execute(
                f"UPDATE purchases SET {column} = ? WHERE id = ?", (value, ids[which % len(ids)])
            )
    elif kind == "remove" and ids:
        conn.execute("DELETE FROM purchases WHERE id = ?", (ids[operation[1] % len(ids)],))
    elif kind == "forget":  # deleting a contact deletes its purchases (ON DELETE CASCADE)
        conn.execute("DELETE FROM contacts WHERE id = ?", (operation[1],))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=st.lists(_OPERATION, max_size=40))
def test_the_totals_equal_the_grouped_purchases_after_any_writes(
    operations: list[tuple[Any, ...]],
) -> None:
    conn = _book()
    for operation in operations:
        _apply(conn, operation)
        _same(conn)


def test_a_rolled_back_write_leaves_the_totals_as_they_were() -> None:
    conn = _book()
    _apply(conn, ("add", 1, "EUR", 500, "2026-01-05", False))
    conn.execute("BEGIN")
    _apply(conn, ("add", 1, "EUR", 700, "2026-01-01", False))
    _apply(conn, ("change", 0, "deleted_at", STAMP))
    conn.execute("ROLLBACK")
    assert conn.execute(KEPT).fetchall() == [(1, "EUR", 1, 500, "2026-01-05", "2026-01-05")]
    _same(conn)


def test_an_older_database_gets_its_totals_when_upgraded(tmp_path: Any) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("PRAGMA foreign_keys = ON")
    db.migrate(old, stop_before="m011_purchase_totals")
    old.execute(
        "INSERT INTO contacts (id, uid, name, created_at, updated_at) VALUES (1, 'u', 'A', ?, ?)",
        (STAMP, STAMP),
    )
    for day, amount, trashed in (("2026-02-01", 100, None), ("2026-01-01", 50, None),
                                 ("2025-01-01", 999, STAMP)):  # fmt: skip
        old.execute(
            "INSERT INTO purchases (contact_id, purchased_on, amount_minor, currency, "
            "created_at, updated_at, deleted_at) VALUES (1, ?, ?, 'EUR', ?, ?, ?)",
            (day, amount, STAMP, STAMP, trashed),
        )
    old.close()
    upgraded = db.connect(path)
    kept = [tuple(row) for row in upgraded.execute(KEPT)]
    upgraded.close()
    assert kept == [(1, "EUR", 2, 150, "2026-01-01", "2026-02-01")]


BOUGHT = [(1, "EUR", 100, 3), (1, "USD", 100, 9), (1, "USD", 5, 2), (2, "EUR", 300, 1),
          (3, "EUR", 300, 7), (3, "EUR", 1, 8), (2, "JPY", 80, 5)]  # fmt: skip


@pytest.mark.parametrize("currency", [None, "EUR"])
def test_scores_from_the_totals_equal_scores_from_the_purchases(currency: str | None) -> None:
    """With --since the scores are grouped from the purchases: both ways agree."""
    conn = _book()
    for number, (contact_id, code, amount, day) in enumerate(BOUGHT):
        _apply(conn, ("add", contact_id, code, amount, f"2026-01-0{day}", number == 5))
    today = date(2026, 2, 1)
    kept = rfm.score_customers(conn, today, currency=currency)
    grouped = rfm.score_customers(conn, today, currency=currency, since=date(1900, 1, 1))
    assert kept == grouped
    assert [s.contact_id for s in kept] == [1, 2, 3]
    if currency is None:  # most purchases first, then by code
        assert kept[0].totals == (rfm.Total("USD", 105, 2), rfm.Total("EUR", 100, 1))
        assert kept[1].totals == (rfm.Total("EUR", 300, 1), rfm.Total("JPY", 80, 1))
    else:
        assert kept[0].totals == (rfm.Total("EUR", 100, 1),)


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        # the earliest and the latest purchase go: the dates are looked up again
        ([("remove", 0)], [(1, "EUR", 2, 30, "2026-01-03", "2026-01-05")]),
        ([("remove", 2)], [(1, "EUR", 2, 15, "2026-01-01", "2026-01-03")]),
        # a trashed purchase restored into a customer's only live one
        ([("remove", 0), ("remove", 0), ("change", 1, "deleted_at", None)],
         [(1, "EUR", 2, 119, "2026-01-05", "2026-01-07")]),
        # moved to another customer, then to another currency
        ([("change", 2, "contact_id", 2)],
         [(1, "EUR", 2, 15, "2026-01-01", "2026-01-03"),
          (2, "EUR", 1, 20, "2026-01-05", "2026-01-05")]),
        ([("change", 0, "currency", "USD")],
         [(1, "EUR", 2, 30, "2026-01-03", "2026-01-05"),
          (1, "USD", 1, 5, "2026-01-01", "2026-01-01")]),
        # a new amount and a new day for the first purchase
        ([("change", 0, "amount_minor", 7), ("change", 0, "purchased_on", "2026-01-09")],
         [(1, "EUR", 3, 37, "2026-01-03", "2026-01-09")]),
        # trashed, then the customer deleted
        ([("change", 1, "deleted_at", STAMP)], [(1, "EUR", 2, 25, "2026-01-01", "2026-01-05")]),
        ([("forget", 1)], []),
    ],
)  # fmt: skip
def test_each_kind_of_write(operations: list[tuple[Any, ...]], expected: list[Any]) -> None:
    conn = _book()
    for contact_id, amount, day, trashed in (
        (1, 5, "2026-01-01", False), (1, 10, "2026-01-03", False), (1, 20, "2026-01-05", False),
        (1, 99, "2026-01-07", True),
    ):  # fmt: skip
        _apply(conn, ("add", contact_id, "EUR", amount, day, trashed))
    for operation in operations:
        _apply(conn, operation)
    assert conn.execute(KEPT).fetchall() == expected
    _same(conn)
