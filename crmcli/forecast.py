"""What the pipeline will bring: the forecast by period, sales goals, and pipeline statistics.

All money is exact integer minor units, per currency, never summed across currencies. A
weighted value is value x probability / 100; sums of weighted values are summed exactly as
value x probability and rounded once, half up, to a whole minor unit (:func:`money.weighted`).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any, NamedTuple

from crmcli import money
from crmcli.clock import from_utc_text, to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, UsageError

_DAY = 86_400


@dataclass(frozen=True)
class Period:
    """A month (``2026-11``), a quarter (``2026-Q4``) or a year (``2026``), with its first and
    last day (inclusive)."""

    key: str
    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def _month_end(year: int, month: int) -> date:
    from calendar import monthrange

    return date(year, month, monthrange(year, month)[1])


def month_period(year: int, month: int) -> Period:
    return Period(f"{year}-{month:02d}", date(year, month, 1), _month_end(year, month))


def quarter_period(year: int, quarter: int) -> Period:
    first = (quarter - 1) * 3 + 1
    return Period(f"{year}-Q{quarter}", date(year, first, 1), _month_end(year, first + 2))


def parse_period(text: str) -> Period:
    """``2026-Q4`` (also ``2026q4``, ``Q4 2026``), ``2026-11`` or ``2026``."""
    raw = text.strip()
    s = raw.upper().replace(" ", "-")
    year_text = re.match(r"Q[1-4]-?(\d{4})|(\d{4})", s)
    if year_text and not 1900 <= int(year_text.group(1) or year_text.group(2)) <= 2999:
        raise UsageError(f"period {raw!r}: give a year from 1900 to 2999")
    if match := re.fullmatch(r"(\d{4})-?Q([1-4])", s) or re.fullmatch(r"Q([1-4])-?(\d{4})", s):
        year, quarter = match.groups() if s[0] != "Q" else match.groups()[::-1]
        return quarter_period(int(year), int(quarter))
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})", s):
        year, month = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12:
            return month_period(year, month)
    if re.fullmatch(r"\d{4}", s):
        year = int(s)
        return Period(s, date(year, 1, 1), date(year, 12, 31))
    raise UsageError(
        f"period {raw!r} is not a month, quarter or year (examples: 2026-11, 2026-Q4, 2026)"
    )


def periods(by: str, today: date, months: int) -> list[Period]:
    """The periods of a forecast: ``months`` months from the current one, as months or as the
    quarters that cover them."""
    if by not in ("month", "quarter"):
        raise UsageError(f"--by {by!r}: choose month or quarter")
    if months < 1:
        raise UsageError("--months must be 1 or more")
    out: list[Period] = []
    for offset in range(months):
        index = today.year * 12 + today.month - 1 + offset
        year, month = divmod(index, 12)
        period = (
            month_period(year, month + 1) if by == "month" else quarter_period(year, month // 3 + 1)
        )
        if not out or out[-1] != period:
            out.append(period)
    return out


def _local_day(stamp: str) -> date:
    return from_utc_text(stamp).date()


def _won_in(conn: sqlite3.Connection, start: date, end: date) -> list[tuple[date, str, int]]:
    """Won deals closed between two local days: (day, currency, value)."""
    # Timestamps are UTC: widen by a day each side, then compare local days exactly.
    low = to_utc_text(datetime.combine(start - timedelta(days=1), datetime.min.time()))
    high = to_utc_text(datetime.combine(end + timedelta(days=2), datetime.min.time()))
    rows = conn.execute(
        "SELECT d.closed_at, d.currency, d.value_minor FROM deals d "
        "JOIN stages s ON s.id = d.stage_id JOIN contacts c ON c.id = d.contact_id "
        "WHERE s.kind = 'won' AND d.deleted_at IS NULL AND c.deleted_at IS NULL "
        "AND d.closed_at >= ? AND d.closed_at < ?",
        (low, high),
    )
    out = []
    for stamp, currency, value in rows:
        day = _local_day(stamp)
        if start <= day <= end:
            out.append((day, currency, value))
    return out


def _open_deals(conn: sqlite3.Connection) -> list[tuple[str | None, str, int, int]]:
    """Open deals: (expected close, currency, value, probability)."""
    rows = conn.execute(
        "SELECT d.expected_close, d.currency, d.value_minor, "
        "coalesce(d.probability, s.probability) FROM deals d "
        "JOIN stages s ON s.id = d.stage_id JOIN contacts c ON c.id = d.contact_id "
        "WHERE s.kind = 'open' AND d.deleted_at IS NULL AND c.deleted_at IS NULL"
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _goals(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    return {
        (r["period"], r["currency"]): r["amount_minor"]
        for r in conn.execute("SELECT period, currency, amount_minor FROM goals")
    }


def _pct(part: int, whole: int | None) -> int | None:
    """A whole percentage, rounded down (never shows 100% before the goal is reached)."""
    if not whole:
        return None
    return part * 100 // whole


def _row(
    period: str, start: date | None, end: date | None, currency: str, acc: list[int]
) -> dict[str, Any]:
    return {
        "period": period,
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
        "currency": currency,
        "open_deals": acc[0],
        "open_minor": acc[1],
        "weighted_minor": money.weighted(acc[2]),
        "won_deals": acc[3],
        "won_minor": acc[4],
        "goal_minor": None,
        "goal_pct": None,
        "projected_minor": acc[4] + money.weighted(acc[2]),
        "projected_pct": None,
    }


def forecast(
    conn: sqlite3.Connection, *, today: date, by: str = "month", months: int = 3
) -> list[dict[str, Any]]:
    """Rows per period and currency: open deals expected to close in it (count, total,
    weighted), deals won in it so far, and the goal with progress when one is set.

    Besides the periods: ``overdue`` (open, expected close before the first period), ``undated``
    (open, no close date) and ``open`` (every open deal) rows. A row that would be all zeros
    (nothing open, nothing won, no goal) is left out.
    """
    spans = periods(by, today, months)
    first = spans[0].start
    acc = _totals(conn, spans)
    goals = _goals(conn)
    currencies = sorted(
        {c for _, c in acc} | {c for (p, c) in goals if p in {s.key for s in spans}}
    )
    rows: list[dict[str, Any]] = []
    order: list[tuple[str, date | None, date | None]] = [("overdue", None, first - timedelta(1))]
    order += [(p.key, p.start, p.end) for p in spans]
    order += [("undated", None, None), ("open", None, None)]
    for key, start, end in order:
        for currency in currencies:
            entry = acc.get((key, currency))
            goal = goals.get((key, currency))
            if entry is None and goal is None:
                continue
            row = _row(key, start, end, currency, entry or [0, 0, 0, 0, 0])
            if goal is not None:
                row["goal_minor"] = goal
                row["goal_pct"] = _pct(row["won_minor"], goal)
                row["projected_pct"] = _pct(row["projected_minor"], goal)
            rows.append(row)
    return rows


def _totals(conn: sqlite3.Connection, spans: list[Period]) -> dict[tuple[str, str], list[int]]:
    """Per (period key or overdue/undated/open, currency): open count, open total,
    sum(value x pct), won count, won total."""
    first, last = spans[0].start, spans[-1].end
    acc: dict[tuple[str, str], list[int]] = {}

    def add(key: str, currency: str, index: int, amount: int, weight: int = 0) -> None:
        entry = acc.setdefault((key, currency), [0, 0, 0, 0, 0])
        if index == 0:
            entry[0] += 1
            entry[1] += amount
            entry[2] += weight
        else:
            entry[3] += 1
            entry[4] += amount

    for close, currency, value, probability in _open_deals(conn):
        add("open", currency, 0, value, value * probability)
        if close is None:
            add("undated", currency, 0, value, value * probability)
            continue
        day = date.fromisoformat(close)
        if day < first:
            add("overdue", currency, 0, value, value * probability)
        for period in spans:
            if period.contains(day):
                add(period.key, currency, 0, value, value * probability)
    for day, currency, value in _won_in(conn, first, last):
        for period in spans:
            if period.contains(day):
                add(period.key, currency, 1, value)
    return acc


# --- goals ------------------------------------------------------------------------------------


def set_goal(
    conn: sqlite3.Connection, period_text: str, amount_minor: int, currency: str, *, now: datetime
) -> Period:
    """Set (or replace) the sales goal for a period and currency."""
    period = parse_period(period_text)
    code = money.currency_code(currency)
    with transaction(conn):
        conn.execute(
            "INSERT INTO goals (period, currency, amount_minor, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (period, currency) DO UPDATE SET amount_minor = excluded.amount_minor",
            (period.key, code, amount_minor, to_utc_text(now)),
        )
    return period


def remove_goal(conn: sqlite3.Connection, period_text: str, currency: str) -> Period:
    period = parse_period(period_text)
    code = money.currency_code(currency)
    with transaction(conn):
        cur = conn.execute(
            "DELETE FROM goals WHERE period = ? AND currency = ?", (period.key, code)
        )
        if not cur.rowcount:
            raise NotFound(f"no goal for {period.key} in {code} (see crm goal list)")
    return period


def goal_progress(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every goal with its progress: won in the period, and weighted open deals closing in it."""
    out = []
    open_deals = _open_deals(conn)
    rows = conn.execute("SELECT period, currency, amount_minor FROM goals").fetchall()
    parsed = sorted(
        ((parse_period(r["period"]), r["currency"], r["amount_minor"]) for r in rows),
        key=lambda item: (item[0].start, item[0].end, item[1]),
    )
    for period, currency, goal in parsed:
        won = [v for _, c, v in _won_in(conn, period.start, period.end) if c == currency]
        weight = sum(
            value * probability
            for close, code, value, probability in open_deals
            if code == currency and close and period.contains(date.fromisoformat(close))
        )
        won_total, weighted_total = sum(won), money.weighted(weight)
        out.append(
            {
                "period": period.key,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
                "currency": currency,
                "goal_minor": goal,
                "won_deals": len(won),
                "won_minor": won_total,
                "weighted_minor": weighted_total,
                "goal_pct": _pct(won_total, goal),
                "projected_pct": _pct(won_total + weighted_total, goal),
            }
        )
    return out


# --- statistics -------------------------------------------------------------------------------


def _days(seconds: float) -> float:
    return round(seconds / _DAY, 1)


class AverageWon(NamedTuple):
    """The won deals of one currency: how many, their total and their average value."""

    currency: str
    deals: int
    total_minor: int
    average_minor: int


class StageTime(NamedTuple):
    """How long deals stayed in an open stage, on average over the stays that ended."""

    stage: str
    stays: int
    avg_days: float


class LostReason(NamedTuple):
    """A reason deals were lost (as first written, any case), how often and what share."""

    reason: str
    deals: int
    pct: float


class PipelineStats(NamedTuple):
    """``crm pipeline stats``: over the deals closed since ``since`` (None: all time).
    :meth:`to_dict` is its JSON (docs/json.md)."""

    since: str | None
    closed: int
    won: int
    lost: int
    win_rate_pct: float | None
    avg_days_to_close: float | None
    average_won: list[AverageWon]
    stages: list[StageTime]
    lost_reasons: list[LostReason]

    def to_dict(self) -> dict[str, Any]:
        nested = ("average_won", "stages", "lost_reasons")
        return {
            key: [item._asdict() for item in value] if key in nested else value
            for key, value in self._asdict().items()
        }


def stats(conn: sqlite3.Connection, *, since: datetime | None, now: datetime) -> PipelineStats:
    """Win rate, average won deal per currency, average time to close, time per stage, lost
    reasons ranked: over deals closed (and stage stays ended) since ``since`` (all time if None).
    """
    low = to_utc_text(since) if since else ""
    closed = conn.execute(
        "SELECT s.kind, d.currency, d.value_minor, d.created_at, d.closed_at, d.lost_reason "
        "FROM deals d JOIN stages s ON s.id = d.stage_id JOIN contacts c ON c.id = d.contact_id "
        "WHERE s.kind IN ('won', 'lost') AND d.deleted_at IS NULL AND c.deleted_at IS NULL "
        "AND d.closed_at >= ?",
        (low,),
    ).fetchall()
    won = [r for r in closed if r["kind"] == "won"]
    lost = [r for r in closed if r["kind"] == "lost"]
    sizes: dict[str, list[int]] = {}
    for r in won:
        entry = sizes.setdefault(r["currency"], [0, 0])
        entry[0] += 1
        entry[1] += r["value_minor"]
    close_seconds = [
        (from_utc_text(r["closed_at"]) - from_utc_text(r["created_at"])).total_seconds()
        for r in won
    ]
    reasons: dict[str, list[Any]] = {}
    for r in lost:
        text = r["lost_reason"] or "(none)"
        entry = reasons.setdefault(text.lower(), [text, 0])
        entry[1] += 1
    return PipelineStats(
        since=low or None,
        closed=len(closed),
        won=len(won),
        lost=len(lost),
        win_rate_pct=round(len(won) * 100 / len(closed), 1) if closed else None,
        avg_days_to_close=_days(sum(close_seconds) / len(close_seconds)) if close_seconds else None,
        average_won=[
            # exact average, rounded half up to a whole minor unit
            AverageWon(code, count, total, (2 * total + count) // (2 * count))
            for code, (count, total) in sorted(sizes.items())
        ],
        stages=_time_per_stage(conn, low),
        lost_reasons=[
            LostReason(text, count, round(count * 100 / len(lost), 1))
            for text, count in sorted(reasons.values(), key=lambda e: (-e[1], e[0].lower()))
        ],
    )


def _time_per_stage(conn: sqlite3.Connection, low: str) -> list[StageTime]:
    """Average time in each open stage, over stays that ended (the deal moved on) since ``low``."""
    rows = conn.execute(
        "SELECT h.deal_id, h.at, h.to_stage_id, coalesce(s.name, h.to_stage) AS stage, "
        "s.kind, s.position FROM deal_stage_changes h "
        "JOIN deals d ON d.id = h.deal_id LEFT JOIN stages s ON s.id = h.to_stage_id "
        "WHERE d.deleted_at IS NULL ORDER BY h.deal_id, h.at, h.id"
    ).fetchall()
    totals: dict[str, list[Any]] = {}
    for current, following in pairwise(rows):
        if current["deal_id"] != following["deal_id"] or following["at"] < low:
            continue
        if current["kind"] not in ("open", None):
            continue  # time "in won" before a reopen is not time in the process
        seconds = (from_utc_text(following["at"]) - from_utc_text(current["at"])).total_seconds()
        position = current["position"] if current["position"] is not None else 10**6
        entry = totals.setdefault(current["stage"], [position, 0, 0.0])
        entry[1] += 1
        entry[2] += seconds
    return [
        StageTime(name, count, _days(total / count))
        for name, (_, count, total) in sorted(totals.items(), key=lambda item: item[1][0])
    ]
