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

from datetime import date
from typing import Any, NamedTuple


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


def _segment_case() -> str:
    whens = " ".join(
        f"WHEN r_score BETWEEN {s.recency[0]} AND {s.recency[1]} "
        f"AND f_score BETWEEN {s.frequency[0]} AND {s.frequency[1]} THEN '{s.name}'"
        for s in SEGMENTS
    )
    return f"CASE {whens} END"


#: the columns of :func:`scores_sql`, in order
COLUMNS = (
    "contact_id",
    "first_on",
    "last_on",
    "frequency",
    "recency_days",
    "r_score",
    "f_score",
    "m_score",
    "totals",
    "segment",
)


def scores_sql(
    today: date, *, currency: str | None = None, since: date | None = None
) -> tuple[str, list[Any]]:
    """One SELECT giving :data:`COLUMNS` for every customer, and its parameters.

    ``currency``: only purchases in it count (then every figure is in that one currency);
    ``since``: only purchases on or after that day. ``totals`` is packed text:
    ``CUR total_minor count`` per currency, joined by ``;``, largest count first.
    """
    where = ["p.deleted_at IS NULL"]
    params: list[Any] = []
    if currency is not None:
        where.append("p.currency = ?")
        params.append(currency)
    if since is not None:
        where.append("p.purchased_on >= ?")
        params.append(since.isoformat())
    params.append(today.isoformat())
    sql = f"""
WITH bought AS (
  SELECT p.contact_id, p.purchased_on, p.amount_minor, p.currency
  FROM purchases p JOIN contacts pc ON pc.id = p.contact_id AND pc.deleted_at IS NULL
  WHERE {" AND ".join(where)}
), per_customer AS (
  SELECT contact_id, min(purchased_on) AS first_on, max(purchased_on) AS last_on,
         count(*) AS frequency
  FROM bought GROUP BY contact_id
), per_currency AS (
  SELECT contact_id, currency, sum(amount_minor) AS total, count(*) AS n,
         1 + 5 * (rank() OVER (PARTITION BY currency ORDER BY sum(amount_minor)) - 1)
           / count(*) OVER (PARTITION BY currency) AS score
  FROM bought GROUP BY contact_id, currency
), money AS (
  SELECT contact_id, max(score) AS m_score,
         group_concat(currency || ' ' || total || ' ' || n, ';') AS totals
  FROM (SELECT * FROM per_currency ORDER BY contact_id, n DESC, currency)
  GROUP BY contact_id
), scored AS (
  SELECT pc.contact_id, pc.first_on, pc.last_on, pc.frequency,
         max(0, CAST(julianday(?) - julianday(pc.last_on) AS INTEGER)) AS recency_days,
         1 + 5 * (rank() OVER (ORDER BY pc.last_on) - 1) / count(*) OVER () AS r_score,
         1 + 5 * (rank() OVER (ORDER BY pc.frequency) - 1) / count(*) OVER () AS f_score,
         m.m_score, m.totals
  FROM per_customer pc JOIN money m ON m.contact_id = pc.contact_id
)
SELECT contact_id, first_on, last_on, frequency, recency_days, r_score, f_score, m_score,
       totals, {_segment_case()} AS segment
FROM scored"""
    return sql, params


class Total(NamedTuple):
    """What a customer spent in one currency."""

    currency: str
    total_minor: int
    purchases: int


def unpack_totals(packed: str | None) -> list[Total]:
    """The ``totals`` column of :func:`scores_sql` as :class:`Total` tuples."""
    out = []
    for part in (packed or "").split(";"):
        if part:
            currency, total, count = part.split(" ")
            out.append(Total(currency, int(total), int(count)))
    return out
