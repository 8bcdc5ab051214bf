"""Importing contacts: validate, find duplicates, write in bulk, all or nothing.

Readers (``crmcli.io``) turn a file into :class:`~crmcli.io.record.Record` objects; this module
checks each one, matches it against existing contacts and against the file itself, and writes
batches with ``executemany`` inside one transaction. Nothing is held per row beyond the current
batch, so memory stays flat however long the file; duplicates across batches are found in the
database itself, which already holds the earlier batches (uncommitted, visible to this
connection).

Which row is which contact is decided by the identity rules (:mod:`crmcli.identity`, the same
ones as ``crm contact add`` and ``crm dedupe``): the same UID, email, phone and name, or name and
company, with no conflicting evidence. A row that conflicts becomes a new contact, counted as a
possible duplicate when the rules say so.
"""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crmcli.clock import local_naive, to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, UsageError, ValidationError

# the checks and the writes live apart; these names stay importable here
from crmcli.import_validate import Validator
from crmcli.import_validate import clean_field_key as clean_field_key
from crmcli.import_validate import validate_record as validate_record
from crmcli.import_write import ActionHook as ActionHook
from crmcli.import_write import BatchWriter
from crmcli.import_write import store_imported_notes as store_imported_notes
from crmcli.io.record import Record, Rejected

POLICIES = ("skip", "update", "merge", "create")
BATCH_SIZE = 5000
#: a batch is written sooner when its records hold this much (photos): memory stays bounded
BATCH_BYTES = 16 * 1024 * 1024
#: how many bad rows an all-or-nothing failure lists (the count is always exact)
MAX_LISTED = 1000


@dataclass
class ImportOptions:
    """How to import: duplicate policy, dry run, skip invalid rows, tags to add to every row."""

    on_duplicate: str = "merge"
    dry_run: bool = False
    skip_invalid: bool = False
    tags: list[str] = field(default_factory=list)
    day_first: bool = False
    batch_size: int = BATCH_SIZE
    #: save this mapping (column -> target) under a name, in the same transaction
    save_map: tuple[str, dict[str, str]] | None = None


@dataclass
class Problem:
    """A row or card that cannot be imported, and why."""

    position: str
    reason: str

    def __str__(self) -> str:
        return f"{self.position}: {self.reason}"


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    skipped: int = 0
    rejected: int = 0
    #: rows that became new contacts although they may be existing ones (see crm dedupe)
    possible_duplicates: int = 0
    #: values kept flagged (not what they claim to be: crm contact issues), by field
    flagged: dict[str, int] = field(default_factory=dict)
    #: the order the file's dates were read in, and the date that proved it (or None)
    day_first: bool = False
    date_proof: str | None = None
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "merged": self.merged,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "possible_duplicates": self.possible_duplicates,
            "flagged": sum(self.flagged.values()),
        }


class ImportRejected(ValidationError):
    """The file has bad rows and --skip-invalid was not given: nothing was imported."""

    def __init__(self, result: ImportResult) -> None:
        count = result.rejected
        listed = "\n".join(f"  {p}" for p in result.problems)
        more = count - len(result.problems)
        if more > 0:
            listed += f"\n  ... and {more} more"
        super().__init__(
            f"{count} row(s) cannot be imported, so nothing was imported",
            hint=f"{listed}\nFix them and import again, or add --skip-invalid to import the "
            "other rows and write these to a rejects file.",
        )
        self.result = result


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


RejectHook = Callable[[Problem, Any], None]
ProgressHook = Callable[[int], None]


def import_records(
    conn: sqlite3.Connection,
    records: Iterable[Record | Rejected],
    options: ImportOptions,
    *,
    now: datetime,
    on_reject: RejectHook | None = None,
    on_action: ActionHook | None = None,
    on_progress: ProgressHook | None = None,
) -> ImportResult:
    """Import ``records`` in one transaction; see the module docstring for the rules.

    Raises :class:`ImportRejected` (nothing written) when a record is bad and
    ``options.skip_invalid`` is off; otherwise bad records go to ``on_reject``. In a dry run the
    whole import is done and then rolled back, so the counts are exact and nothing is saved.
    """
    if options.on_duplicate not in POLICIES:
        raise UsageError(
            f"--on-duplicate {options.on_duplicate!r} is not one of: {', '.join(POLICIES)}"
        )
    from crmcli.contacts import validate_tag

    for tag in options.tags:
        validate_tag(tag)
    result = ImportResult(dry_run=options.dry_run)
    # "now" may be any zone; birthdays are local days
    validator = Validator(today=local_naive(now).date(), day_first=options.day_first)
    # Batches allocate many small, acyclic objects; the cyclic collector would walk them all
    # again and again (about 10% of an import's time) for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with transaction(conn):
            writer = BatchWriter(conn, options, result, now, on_action)
            _import_all(writer, validator, records, options, (on_reject, on_action, on_progress))
            if writer.failed:
                raise ImportRejected(result)
            writer.finish(validator.order)
            result.day_first, result.date_proof = validator.order.day_first, validator.order.proof
            if options.save_map:
                save_map(conn, *options.save_map, now=now)
            if options.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    finally:
        if collecting:
            gc.enable()
    return result


def _import_all(
    writer: BatchWriter,
    validator: Validator,
    records: Iterable[Record | Rejected],
    options: ImportOptions,
    hooks: tuple[RejectHook | None, ActionHook | None, ProgressHook | None],
) -> None:
    """Check each record, and write them a batch at a time (by count, or by size: photos)."""
    on_reject, on_action, on_progress = hooks
    result = writer.result
    batch: list[Record] = []
    size = 0
    for rec in records:
        result.rows += 1
        reason = rec.reason if isinstance(rec, Rejected) else validator.check(rec)
        if reason is not None:
            _reject(writer, rec, reason, options, on_reject)
            if on_action is not None:
                on_action(rec.position, "reject", reason, None, None)
            continue
        assert isinstance(rec, Record)
        rec.raw = None  # kept only for a rejects file; a photo's text would double its memory
        for field_name, label, value, why, *_ in rec.invalid:
            result.flagged[field_name] = result.flagged.get(field_name, 0) + 1
            if on_action is not None:  # --dry-run lists each value it would keep flagged
                kind = f"{field_name} ({label})" if label else field_name
                on_action(rec.position, "flag", f"{kind}: {value} ({why})", None, None)
        batch.append(rec)
        size += rec.size
        if len(batch) >= options.batch_size or size >= BATCH_BYTES:
            writer.flush(batch)
            batch, size = [], 0
            if on_progress is not None:
                on_progress(result.rows)
    writer.flush(batch)
    if on_progress is not None:
        on_progress(result.rows)


def _reject(
    writer: BatchWriter,
    rec: Record | Rejected,
    reason: str,
    options: ImportOptions,
    on_reject: RejectHook | None,
) -> None:
    result = writer.result
    result.rejected += 1
    problem = Problem(rec.position, reason)
    if options.skip_invalid:
        if on_reject is not None:
            on_reject(problem, rec.raw)
    else:
        writer.failed = True
        if len(result.problems) < MAX_LISTED:
            result.problems.append(problem)


# --- saved column mappings ------------------------------------------------------------------------


def save_map(
    conn: sqlite3.Connection, name: str, mapping: dict[str, str], *, now: datetime
) -> None:
    """Save (or replace) a column mapping under ``name``."""
    name = name.strip()
    if not name:
        raise UsageError("--save-map needs a name")
    with transaction(conn):
        conn.execute(
            "INSERT INTO import_maps (name, mapping_json, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET mapping_json = excluded.mapping_json, "
            "updated_at = excluded.updated_at",
            (name, json.dumps(mapping, ensure_ascii=False), to_utc_text(now)),
        )


def load_map(conn: sqlite3.Connection, name: str) -> dict[str, str]:
    """A saved column mapping; NotFound names the saved ones."""
    row = conn.execute("SELECT mapping_json FROM import_maps WHERE name = ?", (name,)).fetchone()
    if row is None:
        names = [r[0] for r in conn.execute("SELECT name FROM import_maps ORDER BY name")]
        known = (
            f" (saved maps: {', '.join(names)})" if names else " (none saved yet: --save-map NAME)"
        )
        raise NotFound(f"no saved import map {name!r}{known}")
    mapping: dict[str, str] = json.loads(row[0])
    return mapping
