"""Deals: create, move through the stages, win, lose, reopen, change, trash and restore.

Every stage change is a row in ``deal_stage_changes`` (the deal's history, the time spent in each
stage, and the contact's timeline). Owns the ``deals`` and ``deal_stage_changes`` tables' SQL;
listings, the board and stale deals are in :mod:`crmcli.pipeline`.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from crmcli import money, stages
from crmcli.clock import from_utc_text, to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, UsageError, ValidationError
from crmcli.stages import LOST, OPEN, WON, Stage

if TYPE_CHECKING:
    from crmcli.deal_changes import DealChanges, NewDeal
    from crmcli.history import HistoryEvent
    from crmcli.pipeline import DealRow

_DAY = 86_400


def parse_ref(text: str) -> int:
    """A deal reference: its id, optionally written ``#12``."""
    raw = text.strip().removeprefix("#")
    if not raw.isdigit():
        raise NotFound(f"deal {text!r} is not a deal id (deals are referred to by number: 12)")
    return int(raw)


def _clean(text: str | None, what: str, *, required: bool = False) -> str | None:
    value = (text or "").strip()
    if not value:
        if required:
            raise ValidationError(f"a deal needs a {what}; nothing was saved")
        return None
    return value


def _row(conn: sqlite3.Connection, deal_id: int, *, include_deleted: bool = False) -> sqlite3.Row:
    row = conn.execute(
        "SELECT d.*, s.kind, s.name AS stage_name FROM deals d JOIN stages s ON s.id = d.stage_id "
        "WHERE d.id = ?",
        (deal_id,),
    ).fetchone()
    if row is None or (row["deleted_at"] and not include_deleted):
        raise NotFound(f"no deal with id {deal_id} (see crm deal list)")
    return row  # type: ignore[no-any-return]


def _record_change(
    conn: sqlite3.Connection,
    deal_id: int,
    source: Stage | None,
    target: Stage,
    at: str,
    note: str | None = None,
) -> None:
    _emit_change(conn, deal_id, source, target, at)
    conn.execute(
        "INSERT INTO deal_stage_changes (deal_id, from_stage_id, from_stage, to_stage_id, "
        "to_stage, at, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            deal_id,
            source.id if source else None,
            source.name if source else None,
            target.id,
            target.name,
            at,
            note,
        ),
    )


def _emit_change(
    conn: sqlite3.Connection, deal_id: int, source: Stage | None, target: Stage, at: str
) -> None:
    """The events of a stage change (rules, hooks): deal-added for a new deal; deal-stage for
    every move, won and lost too; deal-won, deal-lost. ``close`` is the day it closed, else
    its expected close."""
    from crmcli import events
    from crmcli.clock import local_naive

    row = conn.execute(
        "SELECT contact_id, title, expected_close FROM deals WHERE id = ?", (deal_id,)
    ).fetchone()
    when = from_utc_text(at)
    closed = target.kind != OPEN
    details = {
        "title": row["title"],
        "from_stage": source.name if source else None,
        "to_stage": target.name,
        "close": local_naive(when).date().isoformat() if closed else row["expected_close"],
    }
    names = ["deal-added"] if source is None else ["deal-stage"]
    if target.kind in (WON, LOST):
        names.append("deal-won" if target.kind == WON else "deal-lost")
    for name in names:
        events.emit(conn, name, deal_id, contact_id=row["contact_id"], now=when, **details)


def add(conn: sqlite3.Connection, new: NewDeal, *, now: datetime) -> int:
    """Create a deal in an open stage (the first one by default); returns its id."""
    title = _clean(new.title, "title", required=True)
    currency = money.currency_code(new.currency)
    if new.value_minor < 0:
        raise ValidationError("a deal's value cannot be negative")
    if new.probability is not None:
        stages.validate_probability(new.probability)
    with transaction(conn):
        if not conn.execute(
            "SELECT 1 FROM contacts WHERE id = ? AND deleted_at IS NULL", (new.contact_id,)
        ).fetchone():
            raise NotFound(f"no contact with id {new.contact_id}")
        if new.stage is None:
            stage = stages.open_stages(conn)[0]
        else:
            stage = stages.find(conn, new.stage)
            if stage.kind != OPEN:
                raise ValidationError(
                    f"a new deal starts in an open stage, not {stage.name} "
                    "(add it, then use crm deal won/lost)"
                )
        stamp = to_utc_text(now)
        cur = conn.execute(
            "INSERT INTO deals (contact_id, title, value_minor, currency, stage_id, probability, "
            "expected_close, source, notes, stage_changed_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new.contact_id,
                title,
                new.value_minor,
                currency,
                stage.id,
                new.probability,
                new.expected_close.isoformat() if new.expected_close else None,
                _clean(new.source, "source"),
                _clean(new.notes, "notes"),
                stamp,
                stamp,
                stamp,
            ),
        )
        deal_id = int(cur.lastrowid or 0)
        _record_change(conn, deal_id, None, stage, stamp)
        return deal_id


def _require_open(row: sqlite3.Row, action: str) -> None:
    if row["kind"] != OPEN:
        raise ValidationError(
            f"deal {row['id']} is {row['kind']}; reopen it first (crm deal reopen {row['id']}) "
            f"to {action} it"
        )


def _change_stage(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    target: Stage,
    now: datetime,
    *,
    lost_reason: str | None = None,
    note: str | None = None,
) -> None:
    stamp = to_utc_text(now)
    source = stages.get(conn, row["stage_id"])
    _record_change(conn, row["id"], source, target, stamp, note)
    conn.execute(
        "UPDATE deals SET stage_id = ?, stage_changed_at = ?, updated_at = ?, closed_at = ?, "
        "lost_reason = ? WHERE id = ?",
        (
            target.id,
            stamp,
            stamp,
            stamp if target.kind != OPEN else None,
            lost_reason,
            row["id"],
        ),
    )


def move(conn: sqlite3.Connection, deal_id: int, stage_name: str, *, now: datetime) -> Stage:
    """Move an open deal to another open stage."""
    with transaction(conn):
        row = _row(conn, deal_id)
        target = stages.find(conn, stage_name)
        if target.kind == WON:
            raise UsageError(f"to close deal {deal_id} as won, use: crm deal won {deal_id}")
        if target.kind == LOST:
            raise UsageError(
                f"to close deal {deal_id} as lost, use: crm deal lost {deal_id} --reason TEXT"
            )
        _require_open(row, "move")
        if target.id == row["stage_id"]:
            raise ValidationError(f"deal {deal_id} is already in {target.name}")
        _change_stage(conn, row, target, now)
        return target


def win(
    conn: sqlite3.Connection, deal_id: int, *, now: datetime, as_purchase: bool = False
) -> int | None:
    """Close an open deal as won; ``as_purchase`` records it as a purchase too (its id is
    returned; see :func:`crmcli.purchases.record_won_deal`)."""
    with transaction(conn):
        row = _row(conn, deal_id)
        _require_open(row, "win")
        _change_stage(conn, row, stages.end_stage(conn, WON), now)
        if as_purchase:
            from crmcli import purchases

            return purchases.record_won_deal(conn, deal_id, now=now)
        return None


def lose(conn: sqlite3.Connection, deal_id: int, reason: str, *, now: datetime) -> None:
    """Close an open deal as lost, with the reason (required: lost reasons feed the stats)."""
    text = " ".join((reason or "").split())
    if not text:
        raise UsageError(f"a lost deal needs a reason: crm deal lost {deal_id} --reason TEXT")
    with transaction(conn):
        row = _row(conn, deal_id)
        _require_open(row, "lose")
        _change_stage(conn, row, stages.end_stage(conn, LOST), now, lost_reason=text)


def reopen(
    conn: sqlite3.Connection, deal_id: int, *, stage_name: str | None, now: datetime
) -> Stage:
    """Reopen a won or lost deal, into ``stage_name`` or the open stage it was closed from."""
    with transaction(conn):
        row = _row(conn, deal_id)
        if row["kind"] == OPEN:
            raise ValidationError(f"deal {deal_id} is open already (in {row['stage_name']})")
        if stage_name is not None:
            target = stages.find(conn, stage_name)
            if target.kind != OPEN:
                raise ValidationError(f"reopen into an open stage, not {target.name}")
        else:
            last = conn.execute(
                "SELECT s.* FROM deal_stage_changes h JOIN stages s ON s.id = h.from_stage_id "
                "WHERE h.deal_id = ? AND s.kind = 'open' ORDER BY h.at DESC, h.id DESC LIMIT 1",
                (deal_id,),
            ).fetchone()
            target = stages.get(conn, last["id"]) if last else stages.open_stages(conn)[0]
        _change_stage(conn, row, target, now, note="reopened")
        if row["kind"] == WON:
            from crmcli import purchases

            # not a sale after all: the purchase it became goes to the trash with it
            purchases.trash_for_deal(conn, deal_id, now=now)
        return target


def _edited_columns(row: sqlite3.Row, changes: DealChanges) -> dict[str, Any]:
    """The columns of deal ``row`` that ``changes`` sets, each value checked."""
    sets: dict[str, Any] = {}
    if changes.title is not None:
        sets["title"] = _clean(changes.title, "title", required=True)
    for column, text in (("source", changes.source), ("notes", changes.notes)):
        if text is not None:
            sets[column] = _clean(text, column)
    sets.update(
        money.amount_change(
            dict(row), changes.currency, changes.value_minor, what="value", owner="a deal"
        )
    )
    if changes.clear_probability:
        sets["probability"] = None
    elif changes.probability is not None:
        sets["probability"] = stages.validate_probability(changes.probability)
    if changes.clear_close:
        sets["expected_close"] = None
    elif changes.expected_close is not None:
        sets["expected_close"] = changes.expected_close.isoformat()
    if changes.contact_id is not None:
        sets["contact_id"] = changes.contact_id
    return sets


def edit(conn: sqlite3.Connection, deal_id: int, changes: DealChanges, *, now: datetime) -> None:
    """Change a deal's title, value, currency, probability, close date, source, notes, contact."""
    if changes.is_empty():
        raise UsageError("nothing to change: give options (see crm deal edit --help)")
    with transaction(conn):
        row = _row(conn, deal_id)
        sets = _edited_columns(row, changes)
        sets["updated_at"] = to_utc_text(now)
        assignments = ", ".join(f"{column} = ?" for column in sets)
        conn.execute(f"UPDATE deals SET {assignments} WHERE id = ?", (*sets.values(), row["id"]))


def trash(conn: sqlite3.Connection, deal_id: int, *, now: datetime) -> str:
    """Move a deal to the trash; returns its title."""
    with transaction(conn):
        row = _row(conn, deal_id)
        conn.execute("UPDATE deals SET deleted_at = ? WHERE id = ?", (to_utc_text(now), deal_id))
        return str(row["title"])


def restore(conn: sqlite3.Connection, deal_id: int) -> str:
    """Bring a deal back from the trash; returns its title."""
    with transaction(conn):
        row = _row(conn, deal_id, include_deleted=True)
        if not row["deleted_at"]:
            raise ValidationError(f"deal {deal_id} is not in the trash")
        conn.execute("UPDATE deals SET deleted_at = NULL WHERE id = ?", (deal_id,))
        return str(row["title"])


# --- reading ----------------------------------------------------------------------------------


def _seconds(start: str, end: str) -> int:
    return int((from_utc_text(end) - from_utc_text(start)).total_seconds())


def _days(seconds: int) -> float:
    return round(seconds / _DAY, 1)


class StageStay(NamedTuple):
    """A stage the deal entered (``from_stage`` None: created in it) and how long it stayed
    there: ``until`` is None while it still is (counted up to now); a closed deal's end state
    has no duration."""

    at: str
    from_stage: str | None
    to_stage: str
    note: str | None
    until: str | None
    seconds: int | None
    days: float | None


class StageTotal(NamedTuple):
    """All the time a deal spent in one stage."""

    stage: str
    seconds: int
    days: float


def history(conn: sqlite3.Connection, deal_id: int, *, now: datetime) -> list[StageStay]:
    """The deal's stage changes, oldest first, each with how long the deal stayed there."""
    rows = conn.execute(
        "SELECT h.*, coalesce(s.name, h.to_stage) AS stage, s.kind FROM deal_stage_changes h "
        "LEFT JOIN stages s ON s.id = h.to_stage_id WHERE h.deal_id = ? ORDER BY h.at, h.id",
        (deal_id,),
    ).fetchall()
    stamp = to_utc_text(now)
    out = []
    for index, row in enumerate(rows):
        following = rows[index + 1]["at"] if index + 1 < len(rows) else None
        closed = row["kind"] in (WON, LOST)
        seconds = (
            None if (following is None and closed) else _seconds(row["at"], following or stamp)
        )
        days = None if seconds is None else _days(seconds)
        out.append(
            StageStay(
                row["at"], row["from_stage"], row["stage"], row["note"], following, seconds, days
            )
        )
    return out


def time_in_stages(stays: list[StageStay]) -> list[StageTotal]:
    """Total time per stage from :func:`history`, in the order the stages were first entered."""
    totals: dict[str, int] = {}
    for stay in stays:
        if stay.seconds is not None:
            totals[stay.to_stage] = totals.get(stay.to_stage, 0) + stay.seconds
    return [StageTotal(stage, seconds, _days(seconds)) for stage, seconds in totals.items()]


class DealRecord(NamedTuple):
    """One deal as ``crm deal show`` has it: its listing row, what only the deal itself holds,
    its history and its time per stage. :meth:`to_dict` is its JSON (docs/json.md)."""

    row: DealRow
    source: str | None
    notes: str | None
    probability_override: int | None
    deleted_at: str | None
    history: list[StageStay]
    time_in_stages: list[StageTotal]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.row._asdict(),
            "source": self.source,
            "notes": self.notes,
            "probability_override": self.probability_override,
            "deleted_at": self.deleted_at,
            "history": [stay._asdict() for stay in self.history],
            "time_in_stages": [total._asdict() for total in self.time_in_stages],
        }


def record(conn: sqlite3.Connection, deal_id: int, *, now: datetime) -> DealRecord:
    """One deal (trash included) with its history and time per stage (``crm deal show``)."""
    from crmcli import pipeline

    row = _row(conn, deal_id, include_deleted=True)
    stays = history(conn, deal_id, now=now)
    return DealRecord(
        pipeline.deal_row_by_id(conn, deal_id, now=now),
        row["source"],
        row["notes"],
        row["probability"],
        row["deleted_at"],
        stays,
        time_in_stages(stays),
    )


class ContactDeal(NamedTuple):
    """A deal of a contact, as ``crm contact show`` lists it (JSON: ``_asdict()``)."""

    id: int
    title: str
    stage: str
    status: str
    value_minor: int
    currency: str
    value: str
    expected_close: str | None
    closed_at: str | None


def contact_deals(conn: sqlite3.Connection, contact_id: int) -> list[ContactDeal]:
    """A contact's deals (not in the trash) for ``crm contact show``: open first, newest first."""
    rows = conn.execute(
        "SELECT d.id, d.title, s.name AS stage, s.kind AS status, d.value_minor, d.currency, "
        "d.expected_close, d.closed_at FROM deals d JOIN stages s ON s.id = d.stage_id "
        "WHERE d.contact_id = ? AND d.deleted_at IS NULL "
        "ORDER BY s.kind != 'open', d.created_at DESC, d.id DESC",
        (contact_id,),
    )
    return [
        ContactDeal(
            r["id"],
            r["title"],
            r["stage"],
            r["status"],
            r["value_minor"],
            r["currency"],
            money.to_decimal_text(r["value_minor"], r["currency"]),
            r["expected_close"],
            r["closed_at"],
        )
        for r in rows
    ]


def history_events(conn: sqlite3.Connection, contact_id: int) -> list[HistoryEvent]:
    """The contact's deal events for ``crm history``: one per stage change, oldest first.

    Each event's ``at`` is a UTC timestamp, its ``event`` one of ``deal`` (created), ``stage``
    (moved), ``won``, ``lost``, ``reopened``; its ``ref`` is ``"deal 12"``.
    """
    from crmcli.history import HistoryEvent

    rows = conn.execute(
        "SELECT h.at, h.from_stage, h.to_stage, h.note, s.kind, d.id, d.title, d.value_minor, "
        "d.currency, d.lost_reason, d.stage_id = h.to_stage_id AS current "
        "FROM deal_stage_changes h JOIN deals d ON d.id = h.deal_id "
        "LEFT JOIN stages s ON s.id = h.to_stage_id "
        "WHERE d.contact_id = ? AND d.deleted_at IS NULL ORDER BY h.at, h.id",
        (contact_id,),
    )
    events = []
    for r in rows:
        title = f"Deal {r['title']!r}"
        if r["from_stage"] is None:
            kind = "deal"
            value = money.format_money(r["value_minor"], r["currency"])
            text = f"{title} created in {r['to_stage']} ({value})"
        elif r["kind"] == WON:
            kind, text = "won", f"{title} won"
        elif r["kind"] == LOST:
            kind, text = "lost", f"{title} lost"
            if r["current"] and r["lost_reason"]:
                text += f": {r['lost_reason']}"
        elif r["note"] == "reopened":
            kind, text = "reopened", f"{title} reopened in {r['to_stage']}"
        else:
            kind, text = "stage", f"{title} moved {r['from_stage']} -> {r['to_stage']}"
        events.append(HistoryEvent(r["at"], kind, text, f"deal {r['id']}"))
    return events
