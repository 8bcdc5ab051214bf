"""Customers: the columns of ``crm customers``, the customer part of ``crm contact show``, and the
demo's best and at-risk customers."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

from crmcli import money
from crmcli.cli._common import now
from crmcli.cli._output import Column, Kind, OutputFormat, emit, heading, line

COLUMNS = [
    Column("contact_id", "ID", priority=1),
    Column("name", priority=1),
    Column("email", in_table=False),
    Column("segment"),
    Column("score", "RFM", kind=Kind.number, justify="left", priority=3),
    Column("r", in_table=False),
    Column("f", in_table=False),
    Column("m", in_table=False),
    Column("recency_days", "Days", justify="right"),
    Column("frequency", "Orders", justify="right", priority=3),
    Column("monetary", "Spent", justify="right"),
    Column("totals", in_table=False),
    Column("first_purchase", in_table=False),
    Column("last_purchase", "Last bought", priority=3),
    Column("last_touch_at", in_table=False),
    Column(
        "days_since_last_touch",
        "Touch",
        justify="right",
        show=lambda v: "never" if v is None else str(v),
        priority=4,
    ),
    Column("at_risk", "At risk", in_table=False),
]


def totals_form(fmt: OutputFormat) -> Callable[[tuple[Any, ...]], Any]:
    """What the ``totals`` column holds in ``fmt`` (for :func:`crmcli.customers.find_customers`):
    the JSON list, or for TSV and CSV its text, made here directly: the same text the sink makes
    of the JSON list (a test compares them), without a ``json.dumps`` per currency and row."""
    from crmcli.customers import totals_json

    return _totals_text if fmt in (OutputFormat.tsv, OutputFormat.csv) else totals_json


def emit_customers(
    rows: Iterable[Any], fmt: OutputFormat, *, at_risk: bool = False, **options: Any
) -> None:
    """Write customer rows (:class:`crmcli.customers.Customer`, made with the
    :func:`totals_form` of ``fmt``) in ``fmt``, each to the sink as the tuple it is."""
    columns = [*COLUMNS[:-1], Column("at_risk", "Why", priority=1)] if at_risk else COLUMNS
    emit(rows, columns, fmt, tuples=True, **options)


def _totals_text(totals: tuple[Any, ...]) -> str:
    """The TSV/CSV cell of ``totals``: each currency's JSON object, keys sorted, by ", "."""
    parts = []
    for t in totals:
        if t.currency not in money.CURRENCIES:  # not a plain code: let json quote it
            import json

            from crmcli.customers import totals_json

            parts.append(json.dumps(totals_json((t,))[0], ensure_ascii=False, sort_keys=True))
            continue
        minor = t.total_minor
        if minor >= 0 and money.CURRENCIES[t.currency] == 2:  # nearly all: no call
            decimal = f"{minor // 100}.{minor % 100:02d}"
        else:
            decimal = money.to_decimal_text(minor, t.currency)
        parts.append(
            f'{{"currency": "{t.currency}", "purchases": {t.purchases}, '
            f'"total": "{decimal}", "total_minor": {minor}}}'
        )
    return ", ".join(parts)


def contact_section(out: Any, record: dict[str, Any]) -> None:
    """``crm contact show``: the contact as a customer, and who they referred."""
    customer = record.get("customer") or {}
    touch = customer.get("days_since_last_touch")
    if customer.get("purchases"):
        out.print(line("\n", ("As a customer", "bold")))
        count = customer["purchases"]
        out.print(
            line(
                f"  {count} purchase{'s' if count != 1 else ''}, first {customer['first_purchase']}, "
                f"last {customer['last_purchase']} ({_ago(customer['days_since_last_purchase'])})"
            )
        )
        for total in customer["totals"]:
            out.print(
                line(
                    f"  {money.format_money(total['total_minor'], total['currency'])} in "
                    f"{total['purchases']}, on average "
                    f"{money.format_money(total['average_minor'], total['currency'])}"
                )
            )
        favourites = ", ".join(
            f"{p['product']} ({p['purchases']}x)" for p in customer["favourite_products"]
        )
        if favourites:
            out.print(line(f"  favourites: {favourites}"))
    if customer.get("purchases") or touch is not None:
        last = f"last touch {_ago(touch)}" if touch is not None else "never in touch"
        out.print(line(("  " + last, "dim")))
    if record.get("referred"):
        names = ", ".join(f"{r['name']} (#{r['id']})" for r in record["referred"])
        out.print(line("\n", ("Referred", "bold"), "  ", names))


def _ago(days: int | None) -> str:
    if days is None:
        return "never"
    if days == 0:
        return "today"
    return f"{days} day{'s' if days != 1 else ''} ago"


def demo_view(conn: sqlite3.Connection) -> None:
    """``crm demo``: the best customers, and who is slipping away."""
    from crmcli import customers

    today = now().date()
    heading("Customers (best first: crm customers)")
    table = totals_form(OutputFormat.table)
    best = customers.find_customers(
        conn, customers.CustomerFilters(limit=8), today=today, totals=table
    )
    emit_customers(best.rows, OutputFormat.table)
    heading("At risk (crm customers --at-risk)")
    risky = customers.find_customers(
        conn, customers.CustomerFilters(at_risk=True, limit=5), today=today, totals=table
    )
    emit_customers(
        risky.rows,
        OutputFormat.table,
        at_risk=True,
        empty="No customers at risk.",
    )
