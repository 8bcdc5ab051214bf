"""RFM: recency, frequency and monetary value of every customer, scored 1-5, and named segments.

A customer is a live contact with at least one live purchase. Over all customers:

- recency is the number of days since the last purchase (fewer is better),
- frequency the number of purchases,
- monetary value the total spent, per currency (never summed across currencies).

Each is scored 1 to 5 by quintile over the customers in the database: a customer's score is
``1 + 5 * (rank - 1) // N``, where ``rank`` is its place (1 = worst) among the ``N`` customers,
and customers with equal values share the lowest place of their group (SQL's ``rank()``). With
20 customers and no ties the 4 worst score 1 and the 4 best score 5. The monetary score is
computed within each currency among the customers who bought in it, and a customer's M is the
best of theirs. The segment comes from R and F (the table below, after FORMATS.md's RFM section);
docs/customers.md has the same table for users.
"""

from __future__ import annotations

import gc
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, NamedTuple, TypeVar

_V = TypeVar("_V", str, int)


class Segment(NamedTuple):
    """A named RFM segment: the R and F scores it covers (inclusive ranges)."""

    name: str
    label: str
    recency: tuple[int, int]
    frequency: tuple[int, int]


#: every (R, F) pair falls in exactly one segment (a test checks it); order: best first
SEGMENTS = (
    Segment("champions", "champions", (5, 5), (4, 5)),
    Segment("loyal", "loyal", (3, 4), (4, 5)),
    Segment("potential", "potential loyalists", (4, 5), (2, 3)),
    Segment("new", "new", (5, 5), (1, 1)),
    Segment("promising", "promising", (4, 4), (1, 1)),
    Segment("attention", "needing attention", (3, 3), (3, 3)),
    Segment("about-to-sleep", "about to sleep", (3, 3), (1, 2)),
    Segment("cant-lose", "can't lose them", (1, 2), (5, 5)),
    Segment("at-risk", "at risk", (1, 2), (3, 4)),
    Segment("hibernating", "hibernating", (2, 2), (1, 2)),
    Segment("lost", "lost", (1, 1), (1, 2)),
)
SEGMENT_NAMES = tuple(s.name for s in SEGMENTS)
_ALIASES = {
    "potential-loyalists": "potential",
    "potential-loyalist": "potential",
    "needing-attention": "attention",
    "need-attention": "attention",
    "cant-lose-them": "cant-lose",
    "cannot-lose": "cant-lose",
    "champion": "champions",
}


def segment_name(text: str) -> str | None:
    """The segment a user means: ``champions``, ``at risk``, ``can't lose``; None if none."""
    key = "-".join(text.lower().replace("'", "").replace("_", " ").replace("-", " ").split())
    key = _ALIASES.get(key, key)
    return key if key in SEGMENT_NAMES else None


def segment_of(r_score: int, f_score: int) -> str:
    """The segment of an (R, F) pair of scores."""
    for segment in SEGMENTS:
        if (
            segment.recency[0] <= r_score <= segment.recency[1]
            and segment.frequency[0] <= f_score <= segment.frequency[1]
        ):
            return segment.name
    raise ValueError(f"no segment covers R {r_score}, F {f_score}")  # pragma: no cover


class Total(NamedTuple):
    """What a customer spent in one currency."""

    currency: str
    total_minor: int
    purchases: int


class Score(NamedTuple):
    """One customer's RFM figures (:func:`score_customers`)."""

    contact_id: int
    first_on: str
    last_on: str
    frequency: int
    recency_days: int
    r: int
    f: int
    m: int
    #: per currency, the one with most purchases first (then by code)
    totals: tuple[Total, ...]
    segment: str


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while tens of thousands of rows are built.

    They are tuples and lists of numbers and strings, without reference cycles, so reference
    counting frees them all the same; but each collection walks every object still alive, and
    as the rows pile up it ran again and again: a third of the time of ``crm customers`` on
    58,000 customers. Back on, as it was, at the end.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@collector_paused()
def score_customers(
    conn: sqlite3.Connection,
    today: date,
    *,
    currency: str | None = None,
    since: date | None = None,
) -> list[Score]:
    """Every customer's :class:`Score`, in contact id order.

    ``currency``: only purchases in it count (then every figure is in that one currency);
    ``since``: only purchases on or after that day.

    The figures per customer and currency come from ``purchase_totals`` (kept by triggers as
    purchases change): one row each, where grouping 500,000 purchases takes four times as
    long. With ``since`` they are grouped from the purchases. The quintiles are counted here,
    over those rows: the same ranks as SQL window functions over nested groupings, which took
    2 s on 500,000 purchases (docs/performance-notes.md).
    """
    cursor = conn.cursor()
    cursor.row_factory = None
    # Trashed contacts are few: skipping them here is cheaper than a join per row.
    trashed = {r[0] for r in cursor.execute("SELECT id FROM contacts WHERE deleted_at IS NOT NULL")}
    groups = cursor.execute(*_groups_sql(currency, since))
    # tuple.__new__: the NamedTuples without a Python call per group and per customer
    new = tuple.__new__
    people: list[list[Any]] = []  # [contact_id, first_on, last_on, frequency, [Total...]]
    spent: dict[str, list[int]] = {}  # currency -> every customer's total in it
    person: list[Any] = [None]
    for contact_id, code, count, total, first_on, last_on in groups:
        if contact_id in trashed:
            continue
        if contact_id != person[0]:
            person = [contact_id, first_on, last_on, count, [new(Total, (code, total, count))]]
            people.append(person)
        else:
            if first_on < person[1]:
                person[1] = first_on
            if last_on > person[2]:
                person[2] = last_on
            person[3] += count
            person[4].append(new(Total, (code, total, count)))
        if code in spent:
            spent[code].append(total)
        else:
            spent[code] = [total]
    r_of = _quintiles([p[2] for p in people])
    f_of = _quintiles([p[3] for p in people])
    m_of = {code: _quintiles(totals) for code, totals in spent.items()}
    days_of = {last: max(0, (today - date.fromisoformat(last)).days) for last in r_of}
    segments = {(r, f): segment_of(r, f) for r in range(1, 6) for f in range(1, 6)}
    scores = []
    for contact_id, first_on, last_on, frequency, totals in people:
        if len(totals) == 1:
            only = totals[0]
            m = m_of[only[0]][only[1]]
        else:  # most purchases first; equal counts stay in currency order (a stable sort)
            if len(totals) == 2:
                if totals[1][2] > totals[0][2]:
                    totals.reverse()
            else:
                totals.sort(key=_by_purchases)
            m = max([m_of[t[0]][t[1]] for t in totals])
        r = r_of[last_on]
        f = f_of[frequency]
        scores.append(
            new(Score, (contact_id, first_on, last_on, frequency, days_of[last_on], r, f, m,
                        tuple(totals), segments[r, f]))
        )  # fmt: skip
    return scores


def _groups_sql(currency: str | None, since: date | None) -> tuple[str, list[Any]]:
    """Live purchases per customer and currency: contact_id, currency, count, total, first and
    last day; in contact id and currency order."""
    where = []
    params: list[Any] = []
    if currency is not None:
        where.append("currency = ?")
        params.append(currency)
    if since is None:
        filters = f"WHERE {' AND '.join(where)} " if where else ""
        return (
            "SELECT contact_id, currency, purchases, total_minor, first_on, last_on "
            f"FROM purchase_totals {filters}ORDER BY contact_id, currency",
            params,
        )
    where += ["deleted_at IS NULL", "purchased_on >= ?"]
    params.append(since.isoformat())
    return (
        "SELECT contact_id, currency, count(*), sum(amount_minor), min(purchased_on), "
        f"max(purchased_on) FROM purchases WHERE {' AND '.join(where)} "
        "GROUP BY contact_id, currency ORDER BY contact_id, currency",
        params,
    )


def _by_purchases(total: Total) -> int:
    return -total.purchases


def _quintiles(values: list[_V]) -> dict[_V, int]:
    """Each distinct value's score, ``1 + 5 * (rank - 1) // N`` (the module docstring), where
    ``rank - 1`` is how many of the ``N`` values are smaller (SQL's ``rank()``)."""
    counts = Counter(values)
    scores = {}
    below = 0
    for value in sorted(counts):
        scores[value] = 1 + 5 * below // len(values)
        below += counts[value]
    return scores


#: the temporary table :func:`segment_table` fills
_SEGMENT_TABLE = "temp.crm_rfm_segments"


def segment_table(conn: sqlite3.Connection, today: date) -> str:
    """A temporary table ``(contact_id, segment)`` of every customer scored over the whole
    database, and its name; what ``rfm:`` terms of the query language read.

    Scored at most once per connection while the data stays the same: every ``rfm:`` term of a
    run (``crm segment list`` compiles each saved segment) reads the same table. The table
    records the state it was made from: ``today``, this connection's changes
    (``total_changes``) and other connections' commits (``PRAGMA data_version``). It lives in
    the connection's temporary database: nothing is written to the database file, and it goes
    with the connection.
    """
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {_SEGMENT_TABLE} "
        "(contact_id INTEGER PRIMARY KEY, segment TEXT NOT NULL)"
    )
    conn.execute("CREATE TABLE IF NOT EXISTS temp.crm_rfm_state (made_from TEXT NOT NULL)")
    made = conn.execute("SELECT made_from FROM temp.crm_rfm_state").fetchone()
    if made is not None and made[0] == _state(conn, today):
        return _SEGMENT_TABLE
    rows = [(s.contact_id, s.segment) for s in score_customers(conn, today)]
    conn.execute("SAVEPOINT crm_rfm_segments")  # one transaction of the temporary database
    try:
        conn.execute(f"DELETE FROM {_SEGMENT_TABLE}")
        conn.execute("DELETE FROM temp.crm_rfm_state")
        conn.executemany(f"INSERT INTO {_SEGMENT_TABLE} VALUES (?, ?)", rows)
        # the state after these changes of our own: only later ones make the table stale
        made_from = _state(conn, today, mine=1)
        conn.execute("INSERT INTO temp.crm_rfm_state VALUES (?)", (made_from,))
    except BaseException:
        conn.execute("ROLLBACK TO crm_rfm_segments")
        conn.execute("RELEASE crm_rfm_segments")
        raise
    conn.execute("RELEASE crm_rfm_segments")
    return _SEGMENT_TABLE


def _state(conn: sqlite3.Connection, today: date, *, mine: int = 0) -> str:
    """What the data looks like to this connection (see :func:`segment_table`); ``mine``
    counts changes about to be made."""
    version = conn.execute("PRAGMA data_version").fetchone()[0]
    return f"{today.isoformat()} {conn.total_changes + mine} {version}"
