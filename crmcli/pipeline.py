"""Seeing the pipeline: deal listings and filters, the board, stale deals.

A deal is *stale* when its last activity (its last stage change, or the latest note on its
contact once notes exist) is more than its stage's ``stale_days`` ago: exactly N days is not
stale yet, N days and one second is.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any, NamedTuple

from crmcli import money, stages
from crmcli.clock import to_utc_text
from crmcli.errors import NotFound, UsageError

_DAY = 86_400


class DealRow(NamedTuple):
    """A deal listing row (``crm deal list``, ``crm pipeline --format json``): the JSON keys, in
    order, are its fields (documented in docs/json.md)."""

    id: int
    title: str
    contact_id: int
    contact: str
    stage: str
    status: str
    value_minor: int
    currency: str
    value: str
    probability: int
    weighted_minor: int
    expected_close: str | None
    days_in_stage: int
    idle_days: int
    stale: bool
    last_activity_at: str
    stage_changed_at: str
    closed_at: str | None
    lost_reason: str | None
    created_at: str
    updated_at: str


#: the keys of a deal listing row
ROW_KEYS = DealRow._fields


def _last_activity_expression(conn: sqlite3.Connection) -> str:
    """The deal's last stage change, or the latest live note on its contact if later (kept on
    the contact by triggers, m010: no notes lookup per deal)."""
    return "max(d.stage_changed_at, coalesce(c.last_touch_at, ''))"


def _select(conn: sqlite3.Connection) -> str:
    return f"""
SELECT d.id, d.title, d.contact_id, c.name AS contact, s.name AS stage, s.kind AS status,
  s.position AS stage_position, s.stale_days, d.value_minor, d.currency,
  CASE WHEN s.kind = 'open' THEN coalesce(d.probability, s.probability) ELSE s.probability END
    AS probability,
  d.expected_close, d.stage_changed_at, d.closed_at, d.lost_reason, d.created_at, d.updated_at,
  d.deleted_at, {_last_activity_expression(conn)} AS last_activity_at
FROM deals d JOIN stages s ON s.id = d.stage_id JOIN contacts c ON c.id = d.contact_id"""


def _wrap(inner: str) -> str:
    """``inner`` (a deal query) with its idle and in-stage seconds at ``:now`` and whether it
    is stale: the one place the stale rule is written, for the listing and its filter alike."""
    timed = (
        "SELECT b.*, CAST(strftime('%s', :now) AS INTEGER) "
        "- CAST(strftime('%s', b.last_activity_at) AS INTEGER) AS idle_seconds, "
        "CAST(strftime('%s', :now) AS INTEGER) "
        "- CAST(strftime('%s', b.stage_changed_at) AS INTEGER) AS stage_seconds "
        f"FROM ({inner}) b"
    )
    return f"SELECT t.*, {_STALE_SQL} AS stale FROM ({timed}) t"


#: open, with a threshold, and idle longer than it: exactly N days is not stale yet
_STALE_SQL = f"(status = 'open' AND stale_days IS NOT NULL AND idle_seconds > stale_days * {_DAY})"


def _deal_row(row: Sequence[Any]) -> DealRow:
    """A row of :func:`_wrap`'s query (its columns in order) as a listing row."""
    (id_, title, contact_id, contact, stage, status, _position, _stale_days, value, currency,
     probability, expected_close, stage_changed_at, closed_at, lost_reason, created_at,
     updated_at, _deleted_at, last_activity_at, idle_seconds, stage_seconds, stale) = row  # fmt: skip
    return DealRow(
        id_,
        title,
        contact_id,
        contact,
        stage,
        status,
        value,
        currency,
        money.to_decimal_text(value, currency),
        probability,
        money.weighted(value * probability),
        expected_close,
        max(0, stage_seconds // _DAY),
        max(0, idle_seconds // _DAY),
        bool(stale),
        last_activity_at,
        stage_changed_at,
        closed_at,
        lost_reason,
        created_at,
        updated_at,
    )


STATUSES = ("open", "won", "lost", "all")
SORTS = {
    "stage": "CASE status WHEN 'open' THEN 0 WHEN 'won' THEN 1 ELSE 2 END, stage_position, "
    "expected_close IS NULL, expected_close",
    "close": "expected_close IS NULL, expected_close",
    "value": "value_minor DESC",
    "idle": "idle_seconds DESC",
    "created": "created_at",
    "updated": "updated_at DESC",
    "title": "title COLLATE NOCASE",
    "id": "id",
}


@dataclass
class DealFilters:
    """Filters of ``crm deal list`` (and of the board, the stale list, exports)."""

    stages: list[str] = field(default_factory=list)
    status: str = "all"
    contact_id: int | None = None
    tags: list[str] = field(default_factory=list)
    closing_after: date | None = None
    closing_before: date | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    currency: str | None = None
    stale: bool = False
    deleted: bool = False
    sort: str = "stage"
    limit: int | None = None


def list_deals(
    conn: sqlite3.Connection, filters: DealFilters, *, now: datetime
) -> Iterator[dict[str, Any]]:
    """Deals matching ``filters`` as listing rows (see :data:`ROW_KEYS`), streamed."""
    return (dict(zip(ROW_KEYS, row, strict=True)) for row in deal_rows(conn, filters, now=now))


def deal_rows(
    conn: sqlite3.Connection, filters: DealFilters, *, now: datetime
) -> Iterator[DealRow]:
    """:func:`list_deals` as :class:`DealRow` tuples (TSV writes them as they are)."""
    sql, params = _query(conn, filters, now=now)
    sql += f" ORDER BY {SORTS[filters.sort]}, id"
    if filters.limit is not None and filters.min_value is None and filters.max_value is None:
        sql += f" LIMIT {int(filters.limit)}"  # cut in SQL: rows past it are never built
    cursor = conn.cursor()
    cursor.row_factory = None  # tuples: the columns are unpacked in order
    rows: Iterable[DealRow] = map(_deal_row, cursor.execute(sql, params))
    if filters.min_value is not None or filters.max_value is not None:
        rows = (row for row in rows if _in_range(row, filters.min_value, filters.max_value))
    return islice(rows, filters.limit)


def count_deals(conn: sqlite3.Connection, filters: DealFilters, *, now: datetime) -> int:
    """How many deals :func:`deal_rows` gives for ``filters`` (without its limit)."""
    if filters.min_value is not None or filters.max_value is not None:
        unlimited = dataclasses.replace(filters, limit=None)
        return sum(1 for _ in deal_rows(conn, unlimited, now=now))
    sql, params = _query(conn, filters, now=now)
    return int(conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0])


def _query(
    conn: sqlite3.Connection, filters: DealFilters, *, now: datetime
) -> tuple[str, dict[str, Any]]:
    """The statement (without ORDER BY) and parameters of a deal listing."""
    if filters.status not in STATUSES:
        raise UsageError(f"status {filters.status!r} is not one of: {', '.join(STATUSES)}")
    if filters.sort not in SORTS:
        raise UsageError(f"cannot sort deals by {filters.sort!r} (choose: {', '.join(SORTS)})")
    where = ["d.deleted_at IS NOT NULL" if filters.deleted else "d.deleted_at IS NULL"]
    where.append("c.deleted_at IS NULL")
    params: dict[str, Any] = {"now": to_utc_text(now)}
    if filters.stages:
        ids = sorted({stages.find(conn, name).id for name in filters.stages})
        where.append(f"d.stage_id IN ({', '.join(str(i) for i in ids)})")
    if filters.status != "all":
        where.append("s.kind = :status")
        params["status"] = filters.status
    if filters.contact_id is not None:
        where.append("d.contact_id = :contact_id")
        params["contact_id"] = filters.contact_id
    for index, tag in enumerate(filters.tags):
        where.append(
            "d.contact_id IN (SELECT ct.contact_id FROM contact_tags ct JOIN tags t "
            f"ON t.id = ct.tag_id WHERE t.name = :tag{index})"
        )
        params[f"tag{index}"] = tag
    if filters.closing_after:
        where.append("d.expected_close >= :after")
        params["after"] = filters.closing_after.isoformat()
    if filters.closing_before:
        where.append("d.expected_close <= :before")
        params["before"] = filters.closing_before.isoformat()
    if filters.currency:
        where.append("d.currency = :currency")
        params["currency"] = money.currency_code(filters.currency)
    sql = _wrap(f"{_select(conn)} WHERE {' AND '.join(where)}")
    if filters.stale:
        sql += " WHERE stale"
    return sql, params


def _in_range(row: DealRow, low: Decimal | None, high: Decimal | None) -> bool:
    value = Decimal(row.value_minor).scaleb(-money.CURRENCIES.get(row.currency, 2))
    return (low is None or value >= low) and (high is None or value <= high)


def deal_row_by_id(conn: sqlite3.Connection, deal_id: int, *, now: datetime) -> DealRow:
    """One deal as a listing row, trash included."""
    sql = _wrap(f"{_select(conn)} WHERE d.id = :id")
    row = conn.execute(sql, {"id": deal_id, "now": to_utc_text(now)}).fetchone()
    if row is None:
        raise NotFound(f"no deal with id {deal_id} (see crm deal list)")
    return _deal_row(row)


def stale_deals(conn: sqlite3.Connection, now: datetime) -> list[dict[str, Any]]:
    """Open deals idle longer than their stage's threshold, the longest idle first.

    Each is a listing row (:data:`ROW_KEYS`): ``id``, ``title``, ``contact_id``, ``contact``,
    ``stage``, ``idle_days``, ``last_activity_at``... For ``crm agenda`` and ``deal list --stale``.
    """
    return list(list_deals(conn, STALE_FILTERS, now=now))


#: open deals idle longer than their stage allows, the longest idle first
STALE_FILTERS = DealFilters(status="open", stale=True, sort="idle")


# --- the board --------------------------------------------------------------------------------


class Total(NamedTuple):
    """Deals of one currency: how many, their total value, and weighted by probability."""

    currency: str
    deals: int
    total_minor: int
    weighted_minor: int


class Column(NamedTuple):
    """A stage on the board: its deals shown (``deals``, stale first, then soonest to close)
    and how many are not (``more``), its count and per-currency totals of all of them."""

    stage: str
    probability: int
    stale_days: int | None
    #: how many open deals the stage has (``count`` would shadow the tuple's method)
    open_deals: int
    stale: int
    totals: list[Total]
    deals: list[DealRow]
    more: int


class Board(NamedTuple):
    """The board: a column per open stage, and the totals of the whole pipeline."""

    stages: list[Column]
    totals: list[Total]
    open_deals: int


def _totals(rows: list[DealRow]) -> list[Total]:
    """Per currency (never summed across currencies): count, total and weighted, exact."""
    sums: dict[str, list[int]] = {}
    for row in rows:
        entry = sums.setdefault(row.currency, [0, 0, 0])
        entry[0] += 1
        entry[1] += row.value_minor
        entry[2] += row.value_minor * row.probability
    return [
        Total(code, count, total, money.weighted(weighted))
        for code, (count, total, weighted) in sorted(sums.items())
    ]


def board(
    conn: sqlite3.Connection,
    *,
    now: datetime,
    per_stage: int = 8,
    filters: DealFilters | None = None,
) -> Board:
    """The board: one column per open stage with its deals (stale first, then soonest to close),
    at most ``per_stage`` of them (``more`` says how many are left out), and per stage the count
    and per-currency totals and weighted values; plus the same totals for the whole pipeline.
    """
    base = filters or DealFilters()
    base.status, base.sort = "open", "stage"
    rows = list(deal_rows(conn, base, now=now))
    by_stage: dict[str, list[DealRow]] = {}
    for row in rows:
        by_stage.setdefault(row.stage, []).append(row)
    columns = []
    for stage in stages.open_stages(conn):
        in_stage = by_stage.get(stage.name, [])
        in_stage.sort(key=lambda r: (not r.stale, r.expected_close or "9999", r.id))
        columns.append(
            Column(
                stage.name,
                stage.probability,
                stage.stale_days,
                open_deals=len(in_stage),
                stale=sum(1 for r in in_stage if r.stale),
                totals=_totals(in_stage),
                deals=in_stage[:per_stage],
                more=max(0, len(in_stage) - per_stage),
            )
        )
    return Board(columns, _totals(rows), len(rows))
