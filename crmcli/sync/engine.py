"""What the contacts and the calendar syncs share: one run's state, reading the folder (files
checked: unchanged by their state alone, bad ones skipped, duplicate UIDs skipped), and
writing the files once the database is committed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crmcli.clock import to_utc_text
from crmcli.sync import state, vdir
from crmcli.sync.state import Item, Report


@dataclass
class Seen:
    """A file of the folder as this run found it; ``text`` and ``uid`` when it changed since
    the last sync (or is new), and ``card`` (parsed) when it changed (and, unless the engine
    said otherwise, when it is new)."""

    href: str
    state: str
    hash: str | None = None
    text: str | None = None
    card: Any = None
    uid: str | None = None


@dataclass
class Pending:
    """A file to write (``text``) or remove (None) once the database is committed, and the
    item to record when that is done (None: drop the item)."""

    href: str
    text: str | None
    expected: str | None
    item: Item | None


@dataclass
class Run:
    """One sync of one folder: the options, and what is decided on the way."""

    kind: str
    conn: sqlite3.Connection
    folder: Path
    report: Report
    now: datetime
    prefer: str | None = None
    choices: dict[str, str] = field(default_factory=dict)
    known: dict[str, Item] = field(default_factory=dict)
    seen: dict[str, Seen] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    #: crmcli's side: what each engine reads of the database
    local: dict[Any, Any] = field(default_factory=dict)
    save: list[Item] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)

    @property
    def stamp(self) -> str:
        return to_utc_text(self.now)

    def prefer_for(self, href: str) -> str | None:
        return self.choices.get(href, self.prefer)


def skip(run: Run, href: str, reason: str) -> None:
    """A file left alone this time, and why (reported by name; the sync exits 1)."""
    run.report.skip(run.kind, href, reason)
    run.skipped.add(href)


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise vdir.Skip("is not UTF-8 text (a vdir holds UTF-8 files)") from None


def read_folder(
    run: Run,
    ext: str,
    parse: Callable[[str], Any],
    error: type[Exception],
    *,
    keep_new: bool = True,
) -> None:
    """Every file of the folder: unchanged ones by their state alone, the others read and
    parsed (``parse``, raising ``error`` for what it cannot take; the result has a ``uid``); a
    file that cannot be read or parsed, or that has a UID another file has too, is reported
    and skipped. Without ``keep_new`` a new file's parse is checked and dropped, its text and
    UID kept: a first sync of 10,000 cards would otherwise hold about 100 MiB of them."""
    for found in vdir.scan(run.folder, ext):
        item = run.known.get(found.href)
        seen = Seen(found.href, found.state)
        run.seen[found.href] = seen
        if item is not None and item.remote_state == found.state:
            continue
        try:
            data, seen.state = vdir.read(run.folder, found.href)
            seen.hash = vdir.digest(data)
            if item is not None and item.remote_hash == seen.hash:
                continue  # touched, not changed
            seen.text = decode(data)
            parsed = parse(seen.text)
            seen.uid = parsed.uid
            if keep_new or item is not None:
                seen.card = parsed
        except (vdir.Skip, error) as problem:
            skip(run, found.href, str(problem))
    _skip_duplicate_uids(run)


def _skip_duplicate_uids(run: Run) -> None:
    by_uid: dict[str, list[str]] = {}
    for href, seen in run.seen.items():
        if href in run.skipped:
            continue
        uid = seen.uid if seen.uid is not None else run.known[href].uid
        by_uid.setdefault(uid, []).append(href)
    for hrefs in by_uid.values():
        if len(hrefs) > 1:
            for href in hrefs:
                others = ", ".join(h for h in hrefs if h != href)
                skip(run, href, f"has the same UID as {others}; fix one of them")


def write_files(run: Run) -> None:
    """Write and remove the pending files, then record their items (one transaction)."""
    from crmcli.db import transaction

    done: list[Item] = []
    gone: list[str] = []
    for pending in run.pending:
        item = pending.item
        try:
            if pending.text is None or item is None:
                vdir.remove(run.folder, pending.href, expected=pending.expected)
                gone.append(pending.href)
                continue
            data = pending.text.encode("utf-8")
            item.remote_state = vdir.write(
                run.folder, pending.href, data, expected=pending.expected
            )
        except vdir.Skip as problem:
            skip(run, pending.href, str(problem))
            continue
        item.remote_hash, item.remote_card = vdir.digest(data), pending.text
        done.append(item)
    with transaction(run.conn):
        state.save(run.conn, done, now=run.stamp)
        state.drop(run.conn, run.kind, gone)
