"""``crm sync``: the database in step with a contacts vdir and a calendar vdir.

A vdir is a folder with one file per item, the format vdirsyncer, khard, khal and todoman
share; vdirsyncer carries it to and from a CardDAV/CalDAV server (docs/sync.md). This package
syncs the database with the folders, both ways:

- :mod:`crmcli.sync.contacts_vdir`: contacts <-> vCard 4.0 files, property by property;
- :mod:`crmcli.sync.calendar_vdir`: yearly dates -> all-day events, reminders <-> to-dos;
- :mod:`crmcli.sync.card`: a vCard's entries and the three-way merge;
- :mod:`crmcli.sync.contact_cards`: the contact model's side of a card;
- :mod:`crmcli.sync.vdir`: the folder's files, written atomically; the lock;
- :mod:`crmcli.sync.state`: what is remembered between runs, what a run reports.

One sync of a database runs at a time (a lock next to the database file). The optional
``before`` and ``after`` commands of ``[sync]`` (``vdirsyncer sync``) run around it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crmcli.errors import CrmError
from crmcli.sync.state import Report

#: seconds a before/after command may run (``sync.timeout``)
TIMEOUT_SECONDS = 300.0


@dataclass
class Options:
    """What to sync and how."""

    contacts_dir: Path | None = None
    calendar_dir: Path | None = None
    #: how a field changed differently on both sides is settled: local, remote, or None
    #: (then it is a conflict, left for crm sync --resolve)
    prefer: str | None = None
    #: per file name: local or remote (crm sync --resolve, asked conflict by conflict)
    choices: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False


@dataclass
class Settings:
    """``[sync]`` of config.toml (and the CRM_SYNC_* variables), checked."""

    contacts_dir: Path | None
    calendar_dir: Path | None
    before: str | None
    after: str | None
    timeout: float
    prefer: str | None


def settings(cfg: Any) -> Settings:
    """The ``[sync]`` settings; CrmError naming the one that is not usable."""

    def text(key: str) -> str | None:
        value = cfg.get("sync", key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise cfg.invalid("sync", key, value, "must be text")
        return value

    def folder(key: str) -> Path | None:
        value = text(key)
        return Path(value).expanduser() if value else None

    timeout = cfg.get("sync", "timeout", TIMEOUT_SECONDS)
    try:
        seconds = float(timeout)
    except (TypeError, ValueError):
        seconds = -1
    if not seconds > 0:
        raise cfg.invalid("sync", "timeout", timeout, "must be a number of seconds above 0")
    prefer = text("prefer")
    if prefer is not None and prefer not in PREFER:
        raise cfg.invalid("sync", "prefer", prefer, "must be 'local' or 'remote'")
    return Settings(folder("contacts_dir"), folder("calendar_dir"), text("before"),
                    text("after"), seconds, prefer)  # fmt: skip


#: the two ways a conflict can be settled
PREFER = ("local", "remote")


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def lock_file(database: Path) -> Path:
    """The lock that keeps two syncs of one database apart."""
    return database.with_name(database.name + ".sync-lock")


def run(conn: sqlite3.Connection, database: Path, options: Options, *, now: datetime) -> Report:
    """Sync the database with the folders of ``options`` (one sync at a time per database)."""
    from crmcli.sync import vdir

    if options.contacts_dir is None and options.calendar_dir is None:
        raise CrmError(
            "no folder to sync: set [sync] contacts_dir (and calendar_dir) in config.toml, or "
            "give --contacts-dir DIR (docs/sync.md)"
        )
    for folder, what in ((options.contacts_dir, "contacts folder"),
                         (options.calendar_dir, "calendar folder")):  # fmt: skip
        if folder is not None:
            vdir.check_folder(folder, what)
    report = Report(dry_run=options.dry_run)
    with vdir.locked(lock_file(database)):
        if options.contacts_dir is not None:
            _collection(conn, "contacts", options.contacts_dir.resolve(), options, report, now)
        if options.calendar_dir is not None:
            _collection(conn, "calendar", options.calendar_dir.resolve(), options, report, now)
    return report


def _collection(
    conn: sqlite3.Connection,
    kind: str,
    folder: Path,
    options: Options,
    report: Report,
    now: datetime,
) -> None:
    from crmcli.clock import to_utc_text
    from crmcli.db import transaction
    from crmcli.sync import calendar_vdir, contacts_vdir, state, vdir
    from crmcli.sync.engine import Run

    engine: Any = contacts_vdir if kind == "contacts" else calendar_vdir
    sync_run = Run(kind, conn, folder, report, now, options.prefer, dict(options.choices))
    try:
        with transaction(conn):
            moved = state.start_collection(conn, kind, folder)
            if moved is not None:
                report.act(kind, "crmcli", "restart", str(folder), None, None,
                           f"the {kind} folder was {moved}: matched anew, by UID first")  # fmt: skip
            engine.sync(sync_run)
            if options.dry_run:
                raise _DryRun
    except _DryRun:
        return
    vdir.remove_stale_temporaries(folder)
    engine.write_files(sync_run)
    with transaction(conn):
        state.finish_collection(conn, kind, report.counts(kind), to_utc_text(now))


def status(
    conn: sqlite3.Connection, database: Path, options: Options, *, now: datetime
) -> list[dict[str, Any]]:
    """Per folder: when it was last synced, and what a sync now would do (a dry run)."""
    from crmcli.sync import state

    if options.contacts_dir is None and options.calendar_dir is None:
        return []
    pending = run(
        conn, database, Options(options.contacts_dir, options.calendar_dir, None, {}, True), now=now
    )
    rows = []
    for kind, folder in (("contacts", options.contacts_dir), ("calendar", options.calendar_dir)):
        if folder is None:
            continue
        known = state.collection(conn, kind)
        counts = pending.counts(kind)
        rows.append(
            {
                "kind": kind,
                "folder": str(folder.resolve()),
                "last_sync_at": known["last_sync_at"] if known else None,
                "items": conn.execute(
                    "SELECT count(*) FROM sync_items WHERE kind = ?", (kind,)
                ).fetchone()[0],
                "pending_to_crmcli": counts["to_crmcli"],
                "pending_to_vdir": counts["to_vdir"],
                "conflicts": len(state.open_conflicts(conn, kind)),
                "skipped": counts["skipped"],
            }
        )
    return rows


STATUS_KEYS = (
    "kind",
    "folder",
    "last_sync_at",
    "items",
    "pending_to_crmcli",
    "pending_to_vdir",
    "conflicts",
    "skipped",
)


def run_command(command: str, *, timeout: float, what: str, say: Callable[[str], None]) -> None:
    """Run a ``before``/``after`` command (no shell; its output goes to ``say``, for stderr):
    CrmError when it fails or runs longer than ``timeout`` seconds (then it is stopped, with
    whatever it started)."""
    import os
    import shlex
    import signal
    import subprocess

    try:
        args = shlex.split(command)
    except ValueError as exc:
        raise CrmError(f"sync.{what} = {command!r} is not a command line ({exc})") from None
    if not args:
        return
    try:
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        raise CrmError(f"cannot run sync.{what} command {args[0]!r}: {exc.strerror}") from None
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise CrmError(
            f"sync.{what} command {command!r} ran longer than {timeout:g} s and was stopped "
            "(sync.timeout sets the limit)"
        ) from None
    text = output.decode("utf-8", "replace").rstrip()
    if text:
        say(text)
    if process.returncode != 0:
        raise CrmError(f"sync.{what} command {command!r} failed (exit {process.returncode})")


def remove_now(folders: dict[str, Path], files: list[tuple[str, str]]) -> None:
    """Remove erased people's files at once (``crm contact forget``); a file that cannot be
    removed now is removed by the next sync."""
    import os

    for kind, href in files:
        folder = folders.get(kind)
        if folder is not None:
            with contextlib.suppress(OSError):
                os.unlink(folder / href)
