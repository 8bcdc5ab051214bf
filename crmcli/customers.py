"""``crm customers``: every customer with recency, frequency, monetary value, RFM scores and
segment (see :mod:`crmcli.rfm`), and the good customers you are losing (``--at-risk``).

At risk: a good customer (frequency or monetary score 4 or 5, at least two purchases) who has
not bought for longer than usual for them, or has not been in touch for longer than usual.
"Usual" is their own rhythm: :data:`OVERDUE_FACTOR` times the average gap between their
purchases, at least :data:`MIN_GAP_DAYS`; for touches, their keep-in-touch cadence when they
have one. docs/customers.md says the same for users.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from crmcli import money, rfm
from crmcli.contacts import LAST_TOUCH_SQL
from crmcli.errors import UsageError

#: "longer than usual": this many times the customer's average gap between purchases
OVERDUE_FACTOR = 1.5
#: ... and never less than this many days (two orders on one day make no rhythm)
MIN_GAP_DAYS = 30

#: the keys of a customer row, in order (docs/json.md)
ROW_KEYS = (
    "contact_id",
    "name",
    "email",
    "segment",
    "score",
    "r",
    "f",
    "m",
    "recency_days",
    "frequency",
    "monetary",
    "totals",
    "first_purchase",
    "last_purchase",
    "last_touch_at",
    "days_since_last_touch",
    "at_risk",
)

SORTS = {
    "score": "(s.r_score + s.f_score + s.m_score) DESC, s.last_on DESC, s.contact_id",
    "recency": "s.last_on DESC, s.contact_id",
    "frequency": "s.frequency DESC, s.last_on DESC, s.contact_id",
    "name": "c.name COLLATE NOCASE, s.contact_id",
}


@dataclass
class CustomerFilters:
    """What ``crm customers`` shows."""

    segment: str | None = None
    currency: str | None = None
    since: date | None = None
    at_risk: bool = False
    #: a compiled contact query (crmcli.query): only these contacts
    contacts: tuple[str, tuple[Any, ...]] | None = None
    sort: str = "score"
    limit: int | None = None


def list_customers(
    conn: sqlite3.Connection, filters: CustomerFilters, *, today: date
) -> Iterator[dict[str, Any]]:
    """Customers as rows (:data:`ROW_KEYS`), best first by default; streamed."""
    from crmcli.clock import local_date_reader

    if filters.sort not in SORTS:
        raise UsageError(f"cannot sort customers by {filters.sort!r} (choose: {', '.join(SORTS)})")
    currency = money.currency_code(filters.currency) if filters.currency else None
    scores, params = rfm.scores_sql(today, currency=currency, since=filters.since)
    where = ["1"]
    if filters.segment is not None:
        name = rfm.segment_name(filters.segment)
        if name is None:
            raise UsageError(
                f"--segment {filters.segment!r} is not an RFM segment "
                f"(one of: {', '.join(rfm.SEGMENT_NAMES)})"
            )
        where.append("s.segment = ?")
        params.append(name)
    if filters.at_risk:
        where.append("s.frequency >= 2 AND (s.f_score >= 4 OR s.m_score >= 4)")
    if filters.contacts is not None:
        where.append(f"({filters.contacts[0]})")
        params.extend(filters.contacts[1])
    sql = (
        f"SELECT s.*, c.name, c.cadence_days, {LAST_TOUCH_SQL} AS touched, "
        "(SELECT email FROM contact_emails WHERE contact_id = c.id ORDER BY position, id LIMIT 1) "
        f"FROM ({scores}) s JOIN contacts c ON c.id = s.contact_id "
        f"WHERE {' AND '.join(where)} ORDER BY {SORTS[filters.sort]}"
    )
    if filters.limit is not None and not filters.at_risk:
        sql += " LIMIT ?"
        params.append(filters.limit)
    cursor = conn.cursor()
    cursor.row_factory = None
    local_date = local_date_reader()
    shown = 0
    for values in cursor.execute(sql, params):
        row = _row(values, today, local_date)
        if filters.at_risk:
            if row["at_risk"] is None:
                continue
            if filters.limit is not None and shown >= filters.limit:
                return
        shown += 1
        yield row


def _row(values: tuple[Any, ...], today: date, local_date: Any) -> dict[str, Any]:
    (contact_id, first_on, last_on, frequency, recency, r, f, m, packed, segment) = values[:10]
    name, cadence, touched, email = values[10:]
    totals = rfm.unpack_totals(packed)
    touch_days = (today - local_date(touched)).days if touched else None
    return {
        "contact_id": contact_id,
        "name": name,
        "email": email,
        "segment": segment,
        "score": f"{r}{f}{m}",
        "r": r,
        "f": f,
        "m": m,
        "recency_days": recency,
        "frequency": frequency,
        "monetary": "; ".join(money.format_money(t.total_minor, t.currency) for t in totals),
        "totals": [
            {
                "currency": t.currency,
                "total_minor": t.total_minor,
                "total": money.to_decimal_text(t.total_minor, t.currency),
                "purchases": t.purchases,
            }
            for t in totals
        ],
        "first_purchase": first_on,
        "last_purchase": last_on,
        "last_touch_at": touched,
        "days_since_last_touch": touch_days,
        "at_risk": _at_risk(
            first_on, last_on, frequency, recency, f, m, cadence, touch_days, today
        ),
    }


def usual_gap(first_on: str, last_on: str, frequency: int) -> int:
    """How long is longer than usual for this customer, in days (see the module docstring)."""
    span = (date.fromisoformat(last_on) - date.fromisoformat(first_on)).days
    average = span / (frequency - 1)
    return max(MIN_GAP_DAYS, round(average * OVERDUE_FACTOR))


def _at_risk(
    first_on: str,
    last_on: str,
    frequency: int,
    recency: int,
    f: int,
    m: int,
    cadence: int | None,
    touch_days: int | None,
    today: date,
) -> str | None:
    """Why this customer is at risk (a sentence), or None."""
    if frequency < 2 or (f < 4 and m < 4):
        return None
    gap = usual_gap(first_on, last_on, frequency)
    reasons = []
    if recency > gap:
        reasons.append(f"no purchase for {recency} days (usual: within {gap})")
    touch_limit = cadence or gap
    if touch_days is None:
        customer_for = (today - date.fromisoformat(first_on)).days
        if customer_for > touch_limit:
            reasons.append(f"never in touch in {customer_for} days as a customer")
    elif touch_days > touch_limit:
        usual = f"cadence {cadence}" if cadence else f"usual: within {gap}"
        reasons.append(f"not in touch for {touch_days} days ({usual})")
    return "; ".join(reasons) or None
