"""The sales process: ordered open stages, and the two fixed end states ``won`` and ``lost``.

Each stage has a default probability (percent) and an optional "stale after N days" threshold.
Owns the ``stages`` table's SQL.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, NamedTuple

from crmcli.clock import to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, UsageError, ValidationError

OPEN, WON, LOST = "open", "won", "lost"


class Stage(NamedTuple):
    id: int
    name: str
    kind: str
    position: int
    probability: int
    stale_days: int | None

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


def _stage(row: sqlite3.Row) -> Stage:
    return Stage(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        position=row["position"],
        probability=row["probability"],
        stale_days=row["stale_days"],
    )


def all_stages(conn: sqlite3.Connection) -> list[Stage]:
    """Every stage: open ones in order, then won, then lost."""
    rows = conn.execute(
        "SELECT * FROM stages ORDER BY CASE kind WHEN 'open' THEN 0 WHEN 'won' THEN 1 ELSE 2 END, "
        "position, id"
    )
    return [_stage(row) for row in rows]


def open_stages(conn: sqlite3.Connection) -> list[Stage]:
    return [s for s in all_stages(conn) if s.kind == OPEN]


def end_stage(conn: sqlite3.Connection, kind: str) -> Stage:
    """The ``won`` or ``lost`` stage."""
    row = conn.execute("SELECT * FROM stages WHERE kind = ?", (kind,)).fetchone()
    return _stage(row)


def find(conn: sqlite3.Connection, name: str) -> Stage:
    """A stage by name (case-insensitive) or by a unique prefix of its name."""
    text = name.strip()
    row = conn.execute("SELECT * FROM stages WHERE name = ?", (text,)).fetchone()
    if row:
        return _stage(row)
    matches = (
        [s for s in all_stages(conn) if s.name.lower().startswith(text.lower())] if text else []
    )
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(s.name for s in all_stages(conn))
    if matches:
        raise ValidationError(f"stage {name!r} is ambiguous (stages: {names})")
    raise NotFound(f"no stage {name!r} (stages: {names}; see crm stage list)")


def validate_probability(value: int) -> int:
    if not 0 <= value <= 100:
        raise ValidationError(f"probability {value} is not a percentage from 0 to 100")
    return value


def _validate_name(conn: sqlite3.Connection, name: str, *, except_id: int | None = None) -> str:
    name = name.strip()
    if not name or len(name) > 40 or "\t" in name or "\n" in name:
        raise ValidationError(f"stage name {name!r} must be 1 to 40 characters on one line")
    if name.isdigit():
        raise ValidationError(f"stage name {name!r} cannot be only digits")
    row = conn.execute("SELECT id FROM stages WHERE name = ?", (name,)).fetchone()
    if row and row[0] != except_id:
        raise ValidationError(f"a stage named {name!r} already exists")
    return name


def open_deal_counts(conn: sqlite3.Connection) -> dict[int, int]:
    """Number of deals (trash included: they may come back) per stage id."""
    return {
        row[0]: row[1]
        for row in conn.execute("SELECT stage_id, count(*) FROM deals GROUP BY stage_id")
    }


def _renumber(conn: sqlite3.Connection, ordered_ids: list[int]) -> None:
    for position, stage_id in enumerate(ordered_ids, 1):
        conn.execute("UPDATE stages SET position = ? WHERE id = ?", (position, stage_id))


def _insert_at(order: list[int], stage_id: int, before: Stage | None, after: Stage | None) -> None:
    if before is not None:
        order.insert(order.index(before.id), stage_id)
    elif after is not None:
        order.insert(order.index(after.id) + 1, stage_id)
    else:
        order.append(stage_id)


def _anchor(conn: sqlite3.Connection, name: str | None) -> Stage | None:
    if name is None:
        return None
    stage = find(conn, name)
    if stage.kind != OPEN:
        raise ValidationError(
            f"{stage.name} is a fixed end state; place stages relative to an open stage"
        )
    return stage


def add(
    conn: sqlite3.Connection,
    name: str,
    *,
    probability: int,
    stale_days: int | None,
    before: str | None = None,
    after: str | None = None,
) -> Stage:
    """Add an open stage (at the end of the open stages, or before/after another)."""
    if before and after:
        raise UsageError("give --before or --after, not both")
    with transaction(conn):
        name = _validate_name(conn, name)
        validate_probability(probability)
        before_stage, after_stage = _anchor(conn, before), _anchor(conn, after)
        cur = conn.execute(
            "INSERT INTO stages (name, kind, position, probability, stale_days) "
            "VALUES (?, 'open', 0, ?, ?)",
            (name, probability, stale_days),
        )
        new_id = int(cur.lastrowid or 0)
        order = [s.id for s in open_stages(conn) if s.id != new_id]
        _insert_at(order, new_id, before_stage, after_stage)
        _renumber(conn, order)
        return get(conn, new_id)


def get(conn: sqlite3.Connection, stage_id: int) -> Stage:
    row = conn.execute("SELECT * FROM stages WHERE id = ?", (stage_id,)).fetchone()
    if row is None:
        raise NotFound(f"no stage with id {stage_id}")
    return _stage(row)


def rename(conn: sqlite3.Connection, old: str, new: str) -> Stage:
    """Rename a stage (won and lost too: their role stays fixed)."""
    with transaction(conn):
        stage = find(conn, old)
        new = _validate_name(conn, new, except_id=stage.id)
        conn.execute("UPDATE stages SET name = ? WHERE id = ?", (new, stage.id))
        return get(conn, stage.id)


def move(
    conn: sqlite3.Connection,
    name: str,
    *,
    position: int | None = None,
    before: str | None = None,
    after: str | None = None,
) -> Stage:
    """Reorder an open stage: to a 1-based position, or before/after another open stage."""
    if sum(x is not None for x in (position, before, after)) != 1:
        raise UsageError("give exactly one of POSITION, --before or --after")
    with transaction(conn):
        stage = find(conn, name)
        if stage.kind != OPEN:
            raise ValidationError(f"{stage.name} is a fixed end state and always comes last")
        order = [s.id for s in open_stages(conn) if s.id != stage.id]
        if position is not None:
            if not 1 <= position <= len(order) + 1:
                raise ValidationError(
                    f"position {position} is out of range (1 to {len(order) + 1})"
                )
            order.insert(position - 1, stage.id)
        else:
            anchor_before, anchor_after = _anchor(conn, before), _anchor(conn, after)
            if stage in (anchor_before, anchor_after):
                raise ValidationError(f"cannot place {stage.name} relative to itself")
            _insert_at(order, stage.id, anchor_before, anchor_after)
        _renumber(conn, order)
        return get(conn, stage.id)


def set_values(
    conn: sqlite3.Connection,
    name: str,
    *,
    probability: int | None = None,
    stale_days: int | None = None,
    clear_stale: bool = False,
) -> Stage:
    """Change a stage's default probability and/or stale threshold."""
    with transaction(conn):
        stage = find(conn, name)
        if probability is not None:
            validate_probability(probability)
            if stage.kind != OPEN:
                raise ValidationError(
                    f"{stage.name} is a fixed end state: its probability is always "
                    f"{stage.probability}%"
                )
            conn.execute("UPDATE stages SET probability = ? WHERE id = ?", (probability, stage.id))
        if stale_days is not None or clear_stale:
            if stage.kind != OPEN:
                raise ValidationError(
                    f"{stage.name} is a fixed end state: its deals are never stale"
                )
            conn.execute(
                "UPDATE stages SET stale_days = ? WHERE id = ?",
                (None if clear_stale else stale_days, stage.id),
            )
        return get(conn, stage.id)


def remove(
    conn: sqlite3.Connection, name: str, *, move_to: str | None, now: datetime
) -> tuple[Stage, int, Stage | None]:
    """Remove an open stage. Its deals (trash included) must go somewhere: ``move_to``, an open
    stage; each move is recorded in the deal's history. Returns (removed, deals moved, target).
    """
    with transaction(conn):
        stage = find(conn, name)
        if stage.kind != OPEN:
            raise ValidationError(f"{stage.name} is a fixed end state and cannot be removed")
        if len(open_stages(conn)) == 1:
            raise ValidationError(f"{stage.name} is the only open stage; add another one first")
        count = open_deal_counts(conn).get(stage.id, 0)
        target = None
        if move_to is not None:
            target = find(conn, move_to)
            if target.id == stage.id:
                raise ValidationError("--move-to must name another stage")
            if target.kind != OPEN:
                raise ValidationError(
                    f"--move-to must be an open stage ({target.name} is an end state; "
                    "close deals with crm deal won/lost)"
                )
        if count and target is None:
            raise UsageError(
                f"stage {stage.name} has {count} deal{'s' if count != 1 else ''}; say where "
                "they go with --move-to STAGE"
            )
        if count and target is not None:
            stamp = to_utc_text(now)
            conn.execute(
                "INSERT INTO deal_stage_changes (deal_id, from_stage_id, from_stage, to_stage_id, "
                "to_stage, at, note) SELECT id, ?, ?, ?, ?, ?, ? FROM deals WHERE stage_id = ?",
                (
                    stage.id,
                    stage.name,
                    target.id,
                    target.name,
                    stamp,
                    f"stage {stage.name} removed",
                    stage.id,
                ),
            )
            conn.execute(
                "UPDATE deals SET stage_id = ?, stage_changed_at = ?, updated_at = ? "
                "WHERE stage_id = ?",
                (target.id, stamp, stamp, stage.id),
            )
        conn.execute("DELETE FROM stages WHERE id = ?", (stage.id,))
        _renumber(conn, [s.id for s in open_stages(conn)])
        return stage, count, target


def list_rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """``crm stage list`` rows: the stage and how many live deals sit in it."""
    counts = {
        row[0]: row[1]
        for row in conn.execute(
            "SELECT d.stage_id, count(*) FROM deals d JOIN contacts c ON c.id = d.contact_id "
            "WHERE d.deleted_at IS NULL AND c.deleted_at IS NULL GROUP BY d.stage_id"
        )
    }
    out = []
    for stage in all_stages(conn):
        row = stage.to_dict()
        if stage.kind != OPEN:
            row["position"] = None
        row["deals"] = counts.get(stage.id, 0)
        out.append(row)
    return out
