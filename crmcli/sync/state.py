"""What crm sync remembers between runs (tables sync_collections, sync_items, sync_conflicts),
and what one run reports (actions, problems)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("contacts", "calendar")


@dataclass
class Item:
    """A row of sync_items: an item file as it was at the last sync."""

    id: int | None
    kind: str
    href: str
    uid: str
    contact_id: int | None = None
    reminder_id: int | None = None
    local_sig: str | None = None
    local_card: str | None = None
    remote_state: str | None = None
    remote_hash: str | None = None
    remote_card: str | None = None


_COLUMNS = (
    "id, kind, href, uid, contact_id, reminder_id, local_sig, local_card, remote_state, "
    "remote_hash, remote_card"
)


def items(conn: sqlite3.Connection, kind: str) -> dict[str, Item]:
    """The items of a collection, by file name."""
    cursor = conn.cursor()
    cursor.row_factory = None
    rows = cursor.execute(f"SELECT {_COLUMNS} FROM sync_items WHERE kind = ?", (kind,))
    return {row[2]: Item(*row) for row in rows}


def save(conn: sqlite3.Connection, found: Iterable[Item], *, now: str) -> None:
    """Insert or replace items (by kind and file name)."""
    conn.executemany(
        "INSERT INTO sync_items (kind, href, uid, contact_id, reminder_id, local_sig, local_card, "
        "remote_state, remote_hash, remote_card, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, href) DO UPDATE SET uid = excluded.uid, "
        "contact_id = excluded.contact_id, reminder_id = excluded.reminder_id, "
        "local_sig = excluded.local_sig, local_card = excluded.local_card, "
        "remote_state = excluded.remote_state, remote_hash = excluded.remote_hash, "
        "remote_card = excluded.remote_card, synced_at = excluded.synced_at",
        [
            (
                i.kind,
                i.href,
                i.uid,
                i.contact_id,
                i.reminder_id,
                i.local_sig,
                i.local_card,
                i.remote_state,
                i.remote_hash,
                i.remote_card,
                now,
            )
            for i in found
        ],
    )


def drop(conn: sqlite3.Connection, kind: str, hrefs: Iterable[str]) -> None:
    conn.executemany(
        "DELETE FROM sync_items WHERE kind = ? AND href = ?", [(kind, h) for h in hrefs]
    )


def collection(conn: sqlite3.Connection, kind: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM sync_collections WHERE kind = ?", (kind,)
    ).fetchone()
    return row


def start_collection(conn: sqlite3.Connection, kind: str, folder: Path) -> str | None:
    """Record the folder synced as ``kind``; when it is not the folder of the last sync, the
    items of that one are forgotten (the new folder is matched anew, by UID first) and the
    old folder is returned."""
    row = collection(conn, kind)
    path = str(folder)
    if row is not None and row["path"] == path:
        return None
    if row is not None:
        conn.execute("DELETE FROM sync_items WHERE kind = ?", (kind,))
    conn.execute(
        "INSERT INTO sync_collections (kind, path) VALUES (?, ?) "
        "ON CONFLICT (kind) DO UPDATE SET path = excluded.path",
        (kind, path),
    )
    return str(row["path"]) if row is not None else None


def finish_collection(
    conn: sqlite3.Connection, kind: str, result: dict[str, Any], now: str
) -> None:
    conn.execute(
        "UPDATE sync_collections SET last_sync_at = ?, last_result_json = ? WHERE kind = ?",
        (now, json.dumps(result), kind),
    )


# --- conflicts ------------------------------------------------------------------------------------


def open_conflicts(conn: sqlite3.Connection, kind: str | None = None) -> list[sqlite3.Row]:
    where = "resolved_at IS NULL" + (" AND kind = ?" if kind else "")
    return conn.execute(
        f"SELECT c.*, k.name FROM sync_conflicts c LEFT JOIN contacts k ON k.id = c.contact_id "
        f"WHERE {where} ORDER BY c.id",
        (kind,) if kind else (),
    ).fetchall()


def record_conflict(
    conn: sqlite3.Connection,
    kind: str,
    href: str,
    contact_id: int | None,
    fields: list[str],
    versions: tuple[str | None, str | None],
    *,
    now: str,
    resolution: str | None = None,
    lost: str | None = None,
) -> None:
    """Keep both versions of a conflict: an open one (replacing the open one of that file),
    or one settled by ``resolution``, with what lost."""
    local, remote = versions
    if (
        resolution is not None
        and conn.execute(
            "UPDATE sync_conflicts SET resolved_at = ?, resolution = ?, lost = ?, local = ?, "
            "remote = ? WHERE kind = ? AND href = ? AND resolved_at IS NULL",
            (now, resolution, lost, local, remote, kind, href),
        ).rowcount
    ):
        return
    conn.execute(
        "DELETE FROM sync_conflicts WHERE kind = ? AND href = ? AND resolved_at IS NULL",
        (kind, href),
    )
    conn.execute(
        "INSERT INTO sync_conflicts (kind, href, contact_id, fields, local, remote, lost, "
        "detected_at, resolved_at, resolution) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            kind,
            href,
            contact_id,
            json.dumps(fields),
            local,
            remote,
            lost,
            now,
            now if resolution else None,
            resolution,
        ),
    )


def resolve(conn: sqlite3.Connection, kind: str, href: str, resolution: str, *, now: str) -> None:
    """The open conflict of a file (if any) is settled."""
    conn.execute(
        "UPDATE sync_conflicts SET resolved_at = ?, resolution = ? "
        "WHERE kind = ? AND href = ? AND resolved_at IS NULL",
        (now, resolution, kind, href),
    )


def forget(conn: sqlite3.Connection, contact_id: int) -> list[tuple[str, str]]:
    """``crm contact forget``: the person's item files become removals for the next sync
    (their rows keep the file name only) and their conflicts go; returns (kind, href) of the
    files, which :func:`crmcli.sync.remove_now` also removes at once after the commit."""
    files = [
        (row[0], row[1])
        for row in conn.execute(
            "SELECT kind, href FROM sync_items WHERE contact_id = ?", (contact_id,)
        )
    ]
    conn.execute(
        "UPDATE sync_items SET contact_id = NULL, reminder_id = NULL, local_sig = NULL, "
        "local_card = NULL, remote_card = NULL, uid = href WHERE contact_id = ?",
        (contact_id,),
    )
    conn.execute("DELETE FROM sync_conflicts WHERE contact_id = ?", (contact_id,))
    return files


# --- what a run reports ---------------------------------------------------------------------------


ACTION_KEYS = ("kind", "side", "action", "file", "contact_id", "name", "detail")


@dataclass
class Action:
    """One change a sync makes (or, in a dry run, would make)."""

    kind: str
    #: where the change is made: crmcli (the database) or vdir (the folder)
    side: str
    #: add, update, delete, restore, done, conflict
    action: str
    file: str
    contact_id: int | None
    name: str | None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in ACTION_KEYS}


@dataclass
class Report:
    """What a sync did: its actions, and the files it skipped (with why)."""

    actions: list[Action] = field(default_factory=list)
    #: (kind, file name, reason)
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    dry_run: bool = False

    def act(self, *args: Any, **kwargs: Any) -> None:
        self.actions.append(Action(*args, **kwargs))

    def skip(self, kind: str, href: str, reason: str) -> None:
        self.problems.append((kind, href, reason))

    def counts(self, kind: str) -> dict[str, int]:
        """Changes per side and open conflicts, for the summary kept with the collection."""
        out = {"to_crmcli": 0, "to_vdir": 0, "conflicts": 0, "skipped": 0}
        for action in self.actions:
            if action.kind != kind:
                continue
            if action.action == "conflict":
                out["conflicts"] += 1
            elif action.side == "crmcli":
                out["to_crmcli"] += 1
            else:
                out["to_vdir"] += 1
        out["skipped"] = sum(1 for p in self.problems if p[0] == kind)
        return out

    def summary(self) -> str:
        """One sentence: ``3 changes to crmcli, 1 to the vdir, 1 conflict, 2 files skipped``."""
        to_db = sum(1 for a in self.actions if a.side == "crmcli" and a.action != "conflict")
        to_vdir = sum(1 for a in self.actions if a.side == "vdir" and a.action != "conflict")
        conflicts = sum(1 for a in self.actions if a.action == "conflict")
        parts = [f"{to_db} change(s) to crmcli", f"{to_vdir} to the vdir"]
        if conflicts:
            parts.append(f"{conflicts} conflict(s) left for crm sync --resolve")
        if self.problems:
            parts.append(f"{len(self.problems)} file(s) skipped")
        return ", ".join(parts)
