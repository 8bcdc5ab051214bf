"""``crm sync``: the database in step with a contacts vdir and a calendar vdir, both ways;
``crm sync status`` and ``crm sync conflicts``."""

from __future__ import annotations

import json
import sqlite3
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from crmcli.cli._common import CrmTyper, FormatOpt, database, database_path, interactive, now
from crmcli.cli._output import Column, emit, message

app = CrmTyper(
    help="Sync with a contacts vdir and a calendar vdir (vdirsyncer: CardDAV, CalDAV), both ways.",
    invoke_without_command=True,
    no_args_is_help=False,
)


class Prefer(str, Enum):
    local = "local"
    remote = "remote"


ACTION_COLUMNS = [
    Column("kind", priority=3),
    Column("side", "Changed in"),
    Column("action"),
    Column("file", priority=4),
    Column("contact_id", "ID"),
    Column("name"),
    Column("detail", priority=3),
]
STATUS_COLUMNS = [
    Column("kind"),
    Column("folder"),
    Column("last_sync_at", "Last sync"),
    Column("items", justify="right"),
    Column("pending_to_crmcli", "To crmcli", justify="right"),
    Column("pending_to_vdir", "To the vdir", justify="right"),
    Column("conflicts", justify="right"),
    Column("skipped", justify="right"),
]
CONFLICT_COLUMNS = [
    Column("id"),
    Column("kind", priority=3),
    Column("file", priority=4),
    Column("contact_id", "ID"),
    Column("name"),
    Column("fields"),
    Column("detected_at", "Detected"),
    Column("resolution"),
    Column("local", in_table=False),
    Column("remote", in_table=False),
    Column("lost", in_table=False),
]

_RESOLVE_HELP = "Settle the open conflicts: asked one by one on a terminal, else by --prefer."
ContactsDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--contacts-dir",
        metavar="DIR",
        help="The contacts vdir (one .vcf per contact). [default: sync.contacts_dir]",
        show_default=False,
    ),
]
CalendarDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--calendar-dir",
        metavar="DIR",
        help="The calendar vdir (.ics: yearly dates, reminders). [default: sync.calendar_dir]",
        show_default=False,
    ),
]


def _options(contacts_dir: Path | None, calendar_dir: Path | None) -> Any:
    from crmcli import config, sync

    settings = sync.settings(config.load())
    options = sync.Options(
        contacts_dir=contacts_dir or settings.contacts_dir,
        calendar_dir=calendar_dir or settings.calendar_dir,
        prefer=settings.prefer,
    )
    return settings, options


@app.callback()
def sync_command(
    ctx: typer.Context,
    contacts_dir: ContactsDirOpt = None,
    calendar_dir: CalendarDirOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show what would change; change nothing.")
    ] = False,
    prefer: Annotated[
        Prefer | None,
        typer.Option(
            "--prefer",
            help="Settle a field changed differently on both sides: keep crmcli's (local) or "
            "the vdir's (remote) version; the other is kept as a resolved conflict. "
            "[default: sync.prefer, else leave it as a conflict]",
            show_default=False,
        ),
    ] = None,
    resolve: Annotated[bool, typer.Option("--resolve", help=_RESOLVE_HELP)] = False,
    no_commands: Annotated[
        bool, typer.Option("--no-commands", help="Do not run sync.before and sync.after.")
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """Sync contacts (and yearly dates and reminders) with vdir folders, both ways.

    A vdir is a folder with one file per item, as vdirsyncer, khard, khal and todoman use it;
    vdirsyncer carries it to a CardDAV/CalDAV server (Radicale, Nextcloud, iCloud, Google,
    Fastmail: docs/sync.md). What changed on one side since the last sync is applied to the
    other; a contact changed on both sides is merged field by field, and a field changed
    differently on both is a conflict, settled by --prefer or left for crm sync --resolve.
    A removed file puts its contact in the trash; a deleted contact removes its file.
    sync.before and sync.after (e.g. vdirsyncer sync) run around it, so from cron crm sync
    is the whole job. Exit 1 when a file was skipped or a conflict is left.

    Examples: crm sync --contacts-dir ~/.contacts/work --dry-run ; crm sync ;
    crm sync --resolve --prefer remote ; crm sync status
    """
    if ctx.invoked_subcommand is not None:
        return
    from crmcli import sync

    settings, options = _options(contacts_dir, calendar_dir)
    options.dry_run = dry_run
    if prefer is not None:
        options.prefer = prefer.value
    commands = not (no_commands or dry_run)
    if commands and settings.before:
        sync.run_command(settings.before, timeout=settings.timeout, what="before", say=message)
    with database(ctx, write=True) as conn:
        if resolve:
            options.choices = _choices(conn, options.prefer)
        report = sync.run(conn, database_path(ctx), options, now=now())
    if commands and settings.after:
        sync.run_command(settings.after, timeout=settings.timeout, what="after", say=message)
    _report(report, fmt)


def _choices(conn: sqlite3.Connection, prefer: str | None) -> dict[str, str]:
    """``--resolve``: which side wins each open conflict (asked on a terminal)."""
    from crmcli.cli._common import prompt
    from crmcli.errors import UsageError
    from crmcli.sync import state

    conflicts = state.open_conflicts(conn)
    if prefer is not None or not conflicts:
        return {}
    if not interactive():
        raise UsageError("crm sync --resolve: not on a terminal, so add --prefer local|remote")
    choices: dict[str, str] = {}
    for conflict in conflicts:
        fields = ", ".join(json.loads(conflict["fields"]))
        message(f"{conflict['href']} ({conflict['name'] or 'no contact'}): {fields}")
        for side, text in (
            ("crmcli (local)", conflict["local"]),
            ("vdir (remote)", conflict["remote"]),
        ):
            message(f"  {side}:")
            for line in (text or "").splitlines():
                if line.split(":", 1)[0].split(";", 1)[0].rpartition(".")[2].upper() in json.loads(
                    conflict["fields"]
                ):
                    message(f"    {line}")
        answer = ""
        while answer not in ("l", "r", "s"):
            answer = prompt("Keep [l]ocal, [r]emote, or [s]kip").strip().lower()[:1]
        if answer != "s":
            choices[conflict["href"]] = "local" if answer == "l" else "remote"
    return choices


def _report(report: Any, fmt: FormatOpt) -> None:
    """The actions (data: a dry run's always, a real run's with --format), the summary and
    the skipped files (stderr); exit 1 when something was skipped or left in conflict."""
    rows = [action.to_dict() for action in report.actions]
    if report.dry_run or fmt is not None:
        empty = "Nothing to sync." if report.dry_run else None
        emit(rows, ACTION_COLUMNS, fmt, empty=empty)
    for kind, href, reason in report.problems:
        message(f"Skipped {kind} file {href}: {reason}")
    if report.actions or report.problems:
        prefix = "Would sync" if report.dry_run else "Synced"
        message(f"{prefix}: {report.summary()}")
    conflicts = any(a.action == "conflict" for a in report.actions)
    if report.problems or conflicts:
        raise typer.Exit(1)


@app.command("status")
def status_command(
    ctx: typer.Context,
    contacts_dir: ContactsDirOpt = None,
    calendar_dir: CalendarDirOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Show when each folder was last synced and what a sync now would change.

    Pending changes are counted by a dry run (nothing is changed). Example: crm sync status
    """
    from crmcli import sync

    _, options = _options(contacts_dir, calendar_dir)
    with database(ctx, write=True) as conn:
        rows = sync.status(conn, database_path(ctx), options, now=now())
    emit(rows, STATUS_COLUMNS, fmt, empty="No folder to sync (see crm sync --help).")


@app.command("conflicts")
def conflicts_command(
    ctx: typer.Context,
    all_: Annotated[
        bool, typer.Option("--all", help="Resolved conflicts too (with the version that lost).")
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """List the sync conflicts: fields changed differently in crmcli and in the vdir.

    An open conflict waits for crm sync --resolve; a resolved one keeps the version that lost.
    Example: crm sync conflicts --all --format json
    """
    with database(ctx) as conn:
        where = "" if all_ else "WHERE c.resolved_at IS NULL"
        rows = [
            {
                "id": row["id"],
                "kind": row["kind"],
                "file": row["href"],
                "contact_id": row["contact_id"],
                "name": row["name"],
                "fields": json.loads(row["fields"]),
                "detected_at": row["detected_at"],
                "resolution": row["resolution"],
                "local": row["local"],
                "remote": row["remote"],
                "lost": row["lost"],
            }
            for row in conn.execute(
                "SELECT c.*, k.name FROM sync_conflicts c LEFT JOIN contacts k "
                f"ON k.id = c.contact_id {where} ORDER BY c.id"
            )
        ]
    emit(rows, CONFLICT_COLUMNS, fmt, empty="No sync conflicts.")
