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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Any, NamedTuple

from crmcli import money, rfm
from crmcli.errors import UsageError

#: "longer than usual": this many times the customer's average gap between purchases
OVERDUE_FACTOR = 1.5
#: ... and never less than this many days (two orders on one day make no rhythm)
MIN_GAP_DAYS = 30


class Customer(NamedTuple):
    """One row of ``crm customers``; :meth:`as_dict` is its JSON (docs/json.md)."""

    contact_id: int
    name: str
    email: str | None
    segment: str
    score: str
    r: int
    f: int
    m: int
    recency_days: int
    frequency: int
    monetary: str
    #: the :class:`crmcli.rfm.Total` tuples, or what find_customers' ``totals`` made of them
    totals: Any
    first_purchase: str
    last_purchase: str
    last_touch_at: str | None
    days_since_last_touch: int | None
    at_risk: str | None

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON (with ``totals`` as :class:`crmcli.rfm.Total` tuples)."""
        row = self._asdict()
        row["totals"] = totals_json(self.totals)
        return row


#: the keys of a customer row, in order (docs/json.md)
ROW_KEYS = Customer._fields


def totals_json(totals: tuple[rfm.Total, ...]) -> list[dict[str, Any]]:
    """The ``totals`` of a customer row as JSON: what they spent in each currency."""
    return [
        {
            "currency": t.currency,
            "total_minor": t.total_minor,
            "total": money.to_decimal_text(t.total_minor, t.currency),
            "purchases": t.purchases,
        }
        for t in totals
    ]


def _score_sum(s: rfm.Score) -> int:
    return s.r + s.f + s.m


_LAST_ON = itemgetter(2)
_FREQUENCY = itemgetter(3)

#: how to sort: stable descending sorts, the last one first; scores come in contact id order,
#: so ties end in contact id order ("name" is ascending, see find_customers)
SORTS: dict[str, tuple[Callable[[rfm.Score], Any], ...]] = {
    "score": (_LAST_ON, _score_sum),
    "recency": (_LAST_ON,),
    "frequency": (_LAST_ON, _FREQUENCY),
    "name": (),
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


@dataclass
class CustomerList:
    """The customers that match: how many (``total``, whatever the limit), and the rows to show,
    built as they are read."""

    total: int
    rows: Iterator[Customer]


def find_customers(
    conn: sqlite3.Connection,
    filters: CustomerFilters,
    *,
    today: date,
    totals: Callable[[tuple[rfm.Total, ...]], Any] | None = None,
) -> CustomerList:
    """The customers ``filters`` select, best first by default (:data:`SORTS`).

    Every customer is scored once (:func:`crmcli.rfm.score_customers`); filtering and sorting
    work on those scores, and a row's contact details (name, email, last touch) are read only
    for the rows shown. ``totals`` turns each row's :class:`crmcli.rfm.Total` tuples into what
    its ``totals`` column holds (a view's JSON or text) as the row is made.
    """
    if filters.sort not in SORTS:
        raise UsageError(f"cannot sort customers by {filters.sort!r} (choose: {', '.join(SORTS)})")
    segment = None
    if filters.segment is not None:
        segment = rfm.segment_name(filters.segment)
        if segment is None:
            raise UsageError(
                f"--segment {filters.segment!r} is not an RFM segment "
                f"(one of: {', '.join(rfm.SEGMENT_NAMES)})"
            )
    currency = money.currency_code(filters.currency) if filters.currency else None
    scores = rfm.score_customers(conn, today, currency=currency, since=filters.since)
    if segment is not None:
        scores = [s for s in scores if s.segment == segment]
    if filters.at_risk:
        scores = [s for s in scores if s.frequency >= 2 and (s.f >= 4 or s.m >= 4)]
    names = None
    if filters.contacts is not None or filters.sort == "name":
        names = _names(conn, filters.contacts)
        scores = [s for s in scores if s.contact_id in names]
    for key in SORTS[filters.sort]:
        scores.sort(key=key, reverse=True)
    if filters.sort == "name":
        assert names is not None
        scores.sort(key=lambda s: _nocase(names[s.contact_id]))
    limit = filters.limit
    if filters.at_risk:  # known only once the last touches are read
        risky = [c for c in _rows(conn, scores, today, totals) if c.at_risk is not None]
        return CustomerList(len(risky), iter(risky[:limit]))
    return CustomerList(len(scores), _rows(conn, scores[:limit], today, totals))


def list_customers(
    conn: sqlite3.Connection, filters: CustomerFilters, *, today: date
) -> Iterator[dict[str, Any]]:
    """Customers as rows (:data:`ROW_KEYS`), best first by default; streamed."""
    return (c.as_dict() for c in find_customers(conn, filters, today=today).rows)


def _names(conn: sqlite3.Connection, query: tuple[str, tuple[Any, ...]] | None) -> dict[int, str]:
    """The names of the live contacts (that match ``query``, when given), by id."""
    sql = "SELECT c.id, c.name FROM contacts c WHERE c.deleted_at IS NULL"
    params: tuple[Any, ...] = ()
    if query is not None:
        sql += f" AND ({query[0]})"
        params = query[1]
    cursor = conn.cursor()
    cursor.row_factory = None
    return dict(cursor.execute(sql, params))


#: what SQLite's NOCASE does: only ASCII letters are folded
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _nocase(name: str) -> str:
    return name.translate(_ASCII_LOWER)


# The last touch is kept on the contact (migration m010); the first email: as contact show
# orders them.
_DETAILS_SQL = """
SELECT c.id, c.name, c.cadence_days, c.last_touch_at,
  (SELECT e.email FROM contact_emails e WHERE e.contact_id = c.id ORDER BY e.position, e.id
   LIMIT 1)
FROM contacts c WHERE c.id IN (SELECT value FROM json_each(?))"""


def _rows(
    conn: sqlite3.Connection,
    scores: list[rfm.Score],
    today: date,
    render: Callable[[tuple[rfm.Total, ...]], Any] | None,
) -> Iterator[Customer]:
    """The rows of ``scores``, in their order, with each contact's details."""
    from crmcli.clock import local_date_reader

    local_date = local_date_reader()
    # tuple.__new__ directly: a Customer without a Python call of 17 arguments per row
    new_row = tuple.__new__
    cursor = conn.cursor()
    cursor.row_factory = None
    # One statement for all the rows: it reads the contacts in id order (the pages of each
    # table once, in order), where batches in the rows' order would read pages all over the
    # file again and again (twice as slow for 58,000 rows).
    with rfm.collector_paused():
        ids = "[" + ",".join(str(s.contact_id) for s in scores) + "]"
        details = {row[0]: row for row in cursor.execute(_DETAILS_SQL, (ids,))}
        for score in scores:
            (contact_id, first_on, last_on, frequency, recency, r, f, m, totals, segment) = score
            found = details.get(contact_id)
            if found is None:  # deleted by another process a moment ago
                continue
            _, name, cadence, touched, email = found
            touch_days = (today - local_date(touched)).days if touched else None
            monetary = _monetary(totals)
            if render is not None:
                totals = render(totals)
            at_risk = None
            if frequency >= 2 and (f >= 4 or m >= 4):
                at_risk = _at_risk(score, cadence, touch_days, today)
            yield new_row(
                Customer, (contact_id, name, email, segment, f"{r}{f}{m}", r, f, m, recency,
                           frequency, monetary, totals, first_on, last_on, touched, touch_days,
                           at_risk)
            )  # fmt: skip


#: the currencies with two decimals, nearly every amount: formatted without a call
_TWO_DECIMALS = frozenset(code for code, digits in money.CURRENCIES.items() if digits == 2)


def _monetary(totals: tuple[rfm.Total, ...]) -> str:
    """The ``monetary`` column: each total as :func:`crmcli.money.format_money` writes it."""
    parts = [
        f"{minor // 100:,}.{minor % 100:02d} {code}"
        if code in _TWO_DECIMALS and minor >= 0
        else money.format_money(minor, code)
        for code, minor, _ in totals
    ]
    return parts[0] if len(parts) == 1 else "; ".join(parts)


def usual_gap(first_on: str, last_on: str, frequency: int) -> int:
    """How long is longer than usual for this customer, in days (see the module docstring)."""
    span = (date.fromisoformat(last_on) - date.fromisoformat(first_on)).days
    average = span / (frequency - 1)
    return max(MIN_GAP_DAYS, round(average * OVERDUE_FACTOR))


def _at_risk(s: rfm.Score, cadence: int | None, touch_days: int | None, today: date) -> str | None:
    """Why this customer is at risk (a sentence), or None."""
    if s.frequency < 2 or (s.f < 4 and s.m < 4):
        return None
    recency = s.recency_days
    gap = usual_gap(s.first_on, s.last_on, s.frequency)
    reasons = []
    if recency > gap:
        reasons.append(f"no purchase for {recency} days (usual: within {gap})")
    touch_limit = cadence or gap
    if touch_days is None:
        customer_for = (today - date.fromisoformat(s.first_on)).days
        if customer_for > touch_limit:
            reasons.append(f"never in touch in {customer_for} days as a customer")
    elif touch_days > touch_limit:
        usual = f"cadence {cadence}" if cadence else f"usual: within {gap}"
        reasons.append(f"not in touch for {touch_days} days ({usual})")
    return "; ".join(reasons) or None
