"""``crm import FILE`` and ``crm export ...``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from crmcli.cli._common import (
    CrmTyper,
    ForceOpt,
    complete_contact,
    complete_file,
    complete_tag,
    database,
    database_path,
    input_file,
    now,
    parse_when_option,
)
from crmcli.cli._contact_options import (
    CompanyFilter,
    CreatedSince,
    DescOpt,
    LimitOpt,
    NotTouchedSince,
    SortOpt,
    TagFilter,
    TextFilter,
    UpdatedSince,
    list_filters,
    touched_threshold,
)
from crmcli.cli._output import message, open_private, output_file
from crmcli.cli._query import QUERY_CONTEXT, QueryArg, compile_words
from crmcli.errors import UsageError, ValidationError


class ImportFormat(str, Enum):
    auto = "auto"
    csv = "csv"
    vcf = "vcf"
    json = "json"


class Duplicate(str, Enum):
    merge = "merge"
    update = "update"
    skip = "skip"
    create = "create"


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    vcf = "vcf"
    xlsx = "xlsx"


ImportFileArg = Annotated[
    str,
    typer.Argument(
        help="CSV, vCard (.vcf) or JSON file; - for stdin; or 'purchases' then an order CSV.",
        autocompletion=complete_file,
    ),
]
OrdersArg = Annotated[
    str | None,
    typer.Argument(
        help="After 'purchases': the order export (CSV); - for stdin.", show_default=False
    ),
]
ImportFormatOpt = Annotated[
    ImportFormat,
    typer.Option("--format", "-f", help="File format (auto: by extension and content)."),
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="Column to field: 'Mail=email', 'Region=field:region', 'Fax=ignore'. Repeatable.",
    ),
]
SaveMapOpt = Annotated[
    str | None, typer.Option(help="Save this import's --map choices under a name.")
]
UseMapOpt = Annotated[str | None, typer.Option(help="Use a mapping saved with --save-map.")]
EncodingOpt = Annotated[
    str | None,
    typer.Option(help="Text encoding (default: detected; UTF-8/UTF-16 BOM, UTF-8, cp1252)."),
]
DelimiterOpt = Annotated[
    str | None, typer.Option(help="CSV delimiter: ',' ';' or tab (default: detected).")
]
ImportTagOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--tag",
        "-t",
        help="Add this tag to every imported contact. Repeatable.",
        autocompletion=complete_tag,
    ),
]
OnDuplicateOpt = Annotated[
    Duplicate,
    typer.Option(help="A row matching a contact: merge (fill gaps), update, skip or create."),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would happen; save nothing.")]
SkipInvalidOpt = Annotated[
    bool,
    typer.Option(
        "--skip-invalid", help="Import the good rows; write the bad ones to a rejects file."
    ),
]
RejectsOpt = Annotated[
    Path | None,
    typer.Option(help="Rejects file for --skip-invalid [default: FILE.rejects.csv/.vcf]."),
]
CurrencyOpt = Annotated[
    str | None,
    typer.Option(help="Purchases: the currency of rows without one. [default: [deals] currency]"),
]
CreateContactsOpt = Annotated[
    bool,
    typer.Option(help="Purchases: add a customer that is not a contact yet (else an error)."),
]
RejectsForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing rejects file.")]


@dataclass
class _ContactImport:
    """What ``crm import FILE`` was asked for, beside the file itself."""

    fmt: str
    overrides: dict[str, str]
    use_map: str | None
    save_map: str | None
    encoding: str | None
    delimiter: str | None
    on_duplicate: str
    dry_run: bool
    skip_invalid: bool
    tags: list[str]
    rejects: Path | None
    force: bool


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress line on stderr, only when stderr is a terminal."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from crmcli.cli._output import console

    with Progress(
        SpinnerColumn(),
        TextColumn("Importing: {task.completed:,} rows read"),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=None)
        yield lambda rows: bar.update(task, completed=rows)


def _rejects_path(file: str, rejects: Path | None, kind: str, force: bool, database: Path) -> Path:
    """The rejects file of --skip-invalid, checked before anything is imported: never the
    input, the database or (without --force) a file that exists."""
    from crmcli.files import check_target
    from crmcli.io.rejects import default_path

    path = rejects or default_path(file, kind)
    inputs = [Path(file)] if file != "-" else []
    check_target(path, what="--rejects", force=force, inputs=inputs, database=database)
    return path


def _name_the_file(error: ValidationError, name: str) -> None:
    """A reader's error says where in the file (``line 3: ...``); say which file too."""
    if error.message.startswith(("line ", "card ")):
        error.message = f"{name}, {error.message}"
    elif error.message.startswith("the file "):
        error.message = f"{name}{error.message[len('the file') :]}"


def _print_action(position: str, action: str, name: str, cid: int | None, like: int | None) -> None:
    """One row of ``crm import --dry-run``: TSV like every listing, names from the file
    escaped, never raw; ``like`` is the contact the row may duplicate."""
    from crmcli.controls import tsv_escaped

    cells = (tsv_escaped(position), action, tsv_escaped(name), str(cid or ""), str(like or ""))
    sys.stdout.write("\t".join(cells) + "\n")


def import_command(
    ctx: typer.Context,
    file: ImportFileArg,
    orders: OrdersArg = None,
    fmt: ImportFormatOpt = ImportFormat.auto,
    map_: MapOpt = None,
    save_map: SaveMapOpt = None,
    use_map: UseMapOpt = None,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    tag: ImportTagOpt = None,
    on_duplicate: OnDuplicateOpt = Duplicate.merge,
    dry_run: DryRunOpt = False,
    skip_invalid: SkipInvalidOpt = False,
    rejects: RejectsOpt = None,
    currency: CurrencyOpt = None,
    create_contacts: CreateContactsOpt = True,
    force: RejectsForceOpt = False,
) -> None:
    """Import contacts from CSV (Google, Outlook, LinkedIn, crmcli, any), vCard or JSON.

    Known exports are recognised by their headers; other CSV columns by name (see
    docs/import-export.md for the aliases), with --map for the rest. A row that is an existing
    contact (same UID, email, phone and name, or name and company, with nothing conflicting:
    docs/identity.md) is merged by default; one that may be is added and counted as a possible
    duplicate for crm dedupe. All or nothing: a bad row stops the whole import and every bad
    row is listed, unless --skip-invalid.

    'crm import purchases ORDERS.csv' imports an order export (one row per order line: order
    id, date, customer email or name, product, quantity, amount, currency) as purchases, all or
    nothing; importing the same orders again adds nothing (docs/purchases.md).

    Examples: crm import contacts.csv --tag trade-show-2026 --dry-run ;
    crm import export.csv --map 'Mail=email' --map 'Region=field:region' --save-map shop ;
    crm import purchases orders.csv --currency EUR --dry-run
    """
    from crmcli.io import csv_in

    if file == "purchases" and orders is not None:
        _import_purchases(
            ctx, orders, map_, save_map, use_map, encoding, delimiter, currency, dry_run,
            create_contacts,
            contact_options=fmt is not ImportFormat.auto or bool(tag) or skip_invalid or rejects is not None
            or on_duplicate is not Duplicate.merge,
        )  # fmt: skip
        return
    if orders is not None:
        raise UsageError(
            f"one file at a time: {orders!r} is one too many (for orders: crm import purchases FILE)"
        )
    if currency is not None or not create_contacts:
        raise UsageError("--currency and --no-create-contacts apply to 'crm import purchases' only")
    overrides = dict(csv_in.parse_map_option(item) for item in map_ or [])
    request = _ContactImport(
        fmt.value, overrides, use_map, save_map, encoding, delimiter, on_duplicate.value,
        dry_run, skip_invalid, list(tag or []), rejects, force,
    )  # fmt: skip
    _import_contacts(ctx, file, request)


def _import_contacts(ctx: typer.Context, file: str, request: _ContactImport) -> None:
    from crmcli import config, importer
    from crmcli.io import sources

    overrides, use_map, save_map = request.overrides, request.use_map, request.save_map
    with input_file(file) as (binary, name):
        try:
            csv_options = bool(overrides or use_map or save_map or request.delimiter)
            text, kind = sources.open_text(binary, name, fmt=request.fmt, encoding=request.encoding,
                                           csv_options=csv_options)  # fmt: skip
            with database(ctx, write=not request.dry_run) as conn:
                if use_map:
                    overrides = {**importer.load_map(conn, use_map), **overrides}
                source = sources.open_source(text, kind, encoding=request.encoding,
                                             delimiter=request.delimiter, overrides=overrides)  # fmt: skip
                options = importer.ImportOptions(
                    on_duplicate=request.on_duplicate, dry_run=request.dry_run,
                    skip_invalid=request.skip_invalid, tags=request.tags,
                    day_first=config.load().day_first,
                    save_map=(save_map, overrides) if save_map else None,
                )  # fmt: skip
                target = (file, request.rejects, request.force, database_path(ctx))
                result, rejected = _run_import(conn, source, options, target)
        except ValidationError as error:
            _name_the_file(error, name)
            raise
    _report_import(result, name, source)
    if rejected is not None:
        message(f"Rejected rows written to {rejected}: fix them and run crm import {rejected}")
    if save_map and not request.dry_run:
        message(f"Saved the column mapping as {save_map!r} (reuse: --use-map {save_map})")


def _run_import(
    conn: Any, source: Any, options: Any, target: tuple[str, Path | None, bool, Path]
) -> tuple[Any, Path | None]:
    """Import ``source``'s records; the result and the rejects file written, if any.
    ``target`` is the file imported, --rejects, --force and the database file."""
    from crmcli import importer
    from crmcli.io.rejects import RejectsFile

    file, rejects, force, database_file = target
    reject_file: RejectsFile | None = None
    if options.skip_invalid and not options.dry_run:
        path = _rejects_path(file, rejects, source.kind, force, database_file)
        opener = lambda p: open_private(p, replace=force)  # noqa: E731
        reject_file = RejectsFile(path, source.kind, source.header, opener)
    if options.dry_run:
        sys.stdout.write("position\taction\tname\tcontact_id\tpossible_duplicate_of\n")
    try:
        with _progress(sys.stderr.isatty() and not options.dry_run) as progress:
            result = importer.import_records(
                conn, source.records, options, now=now(), on_reject=reject_file,
                on_action=_print_action if options.dry_run else None, on_progress=progress,
            )  # fmt: skip
    finally:
        if reject_file is not None:
            reject_file.close()
    written = reject_file.path if reject_file is not None and reject_file.handle else None
    return result, written


def _report_import(result: Any, name: str, source: Any) -> None:
    """The import's summary on stderr: the counts, the values kept flagged, where each column
    or property went, and how the dates were read."""
    from crmcli.io.import_report import describe

    for text in describe(result, name, source):
        message(text)


def _import_purchases(
    ctx: typer.Context,
    file: str,
    map_: list[str] | None,
    save_map: str | None,
    use_map: str | None,
    encoding: str | None,
    delimiter: str | None,
    currency: str | None,
    dry_run: bool,
    create_contacts: bool,
    *,
    contact_options: bool,
) -> None:
    from crmcli import purchase_import
    from crmcli.cli._purchase_files import import_purchases

    if contact_options:
        raise UsageError(
            "--format, --tag, --on-duplicate, --skip-invalid and --rejects apply to contacts; "
            "an order import is all or nothing"
        )
    overrides = dict(purchase_import.parse_map_option(item) for item in map_ or [])
    import_purchases(
        ctx,
        file,
        overrides=overrides,
        save_map=save_map,
        use_map=use_map,
        encoding=encoding,
        delimiter=delimiter,
        currency=currency,
        dry_run=dry_run,
        create_contacts=create_contacts,
    )


export_app = CrmTyper(
    help="Export contacts, notes, reminders, deals, purchases (CSV, JSON, vCard) and dates (iCalendar)."
)


@export_app.command("contacts", context_settings=QUERY_CONTEXT)
def export_contacts_command(
    ctx: typer.Context,
    query: QueryArg = None,
    fmt: Annotated[
        ExportFormat,
        typer.Option("--format", "-f", help="csv (spreadsheets), json, jsonl, vcf, xlsx."),
    ] = ExportFormat.csv,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
    fields: Annotated[
        list[str] | None,
        typer.Option(help="Only these fields, in order: 'name,email,phone,tags'. Repeatable."),
    ] = None,
    excel: Annotated[
        bool, typer.Option("--excel", help="CSV for Excel: UTF-8 with BOM, CRLF line ends.")
    ] = False,
    raw: Annotated[
        bool,
        typer.Option("--raw", help="CSV cells as they are (no ' before =, +, -, @): for scripts."),
    ] = False,
    vcard_version: Annotated[
        str, typer.Option(help="vCard version: 4.0 or 3.0 (Apple, older phones).")
    ] = "4.0",
    force: ForceOpt = False,
    tag: TagFilter = None,
    company: CompanyFilter = None,
    text: TextFilter = None,
    created_since: CreatedSince = None,
    updated_since: UpdatedSince = None,
    sort: SortOpt = "name",
    desc: DescOpt = False,
    limit: LimitOpt = None,
    not_touched_since: NotTouchedSince = None,
    trash: Annotated[
        bool, typer.Option("--trash", help="Export the contacts in the trash.")
    ] = False,
) -> None:
    """Export contacts, with the same query and filters as 'crm contact list'.

    CSV has a header row and one contact per row (emails and phones in numbered columns); it is
    crmcli's own format, so 'crm import' reads it back. Cells starting with = + - @ get a leading
    ' so a spreadsheet shows them instead of running them (phone numbers like +44... too); --raw
    turns that off.

    Examples: crm export contacts --excel -o contacts.csv ;
    crm export contacts -f vcf tag:vip city:berlin > vip.vcf ; crm export contacts -f json --fields name,email
    """
    from crmcli.io import csv_out

    if vcard_version not in ("3.0", "4.0"):
        raise UsageError(f"--vcard-version {vcard_version!r} must be 4.0 or 3.0")
    chosen = csv_out.parse_fields(fields)
    filters = list_filters(
        tag, company, text, created_since, updated_since, sort, desc, limit, trash=trash
    )
    if not_touched_since:
        filters.not_touched_since = touched_threshold(not_touched_since)
    if fmt is ExportFormat.xlsx:
        with database(ctx) as conn:
            filters.query = compile_words(conn, query)
            columns = csv_out.csv_columns(csv_out.csv_shape(conn, filters), chosen)
            rows_ = csv_out.csv_rows(conn, filters, columns)
            target = (output, force, database_path(ctx))
            count = _write_workbook(rows_, columns, target, "contacts")
        message(
            f"Exported {count} contact{'s' if count != 1 else ''}{f' to {output}' if output else ''}"
        )
        return
    with (
        database(ctx) as conn,
        output_file(output, force=force, database=database_path(ctx)) as out,
    ):
        filters.query = compile_words(conn, query)
        count = _write_contacts(conn, filters, fmt, out, (chosen, excel, raw, vcard_version))
    where = f" to {output}" if output else ""
    message(f"Exported {count} contact{'s' if count != 1 else ''}{where}")


def _write_contacts(
    conn: Any, filters: Any, fmt: ExportFormat, out: Any, how: tuple[Any, bool, bool, str]
) -> int:
    """Write the contacts as CSV, vCard or JSON; ``how`` is --fields (parsed), --excel, --raw
    and --vcard-version. Returns how many were written."""
    from crmcli.io import csv_out

    chosen, excel, raw, vcard_version = how
    if fmt is ExportFormat.csv:
        columns = csv_out.csv_columns(csv_out.csv_shape(conn, filters), chosen)
        rows = csv_out.csv_rows(conn, filters, columns)
        return csv_out.write_csv(rows, columns, out, excel=excel, raw=raw)
    contacts = csv_out.export_contacts(conn, filters)
    if fmt is ExportFormat.vcf:
        from crmcli.io.vcard import write_card

        count = 0
        for count, row in enumerate(contacts, 1):  # noqa: B007
            out.write(write_card(row, vcard_version))
        return count
    keys = chosen or list(csv_out.EXPORT_KEYS)
    return csv_out.write_json(
        csv_out.select_keys(contacts, keys), out, lines=fmt is ExportFormat.jsonl
    )


# --- the other tables: notes, reminders, deals (same files, same spreadsheet safety) ----------


class TableFormat(str, Enum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    xlsx = "xlsx"


TableFormatOpt = Annotated[
    TableFormat,
    typer.Option("--format", "-f", help="csv (spreadsheets), json, jsonl, xlsx (a workbook)."),
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
]
ExcelOpt = Annotated[
    bool, typer.Option("--excel", help="CSV for Excel: UTF-8 with BOM, CRLF line ends.")
]
RawOpt = Annotated[
    bool, typer.Option("--raw", help="Do not neutralise cells a spreadsheet would run as formulas.")
]
ContactOpt = Annotated[
    str | None,
    typer.Option(
        "--contact", "-c", help="Only this contact (REF).", autocompletion=complete_contact
    ),
]


def _write_workbook(
    rows: Iterable[Sequence[Any]],
    keys: Sequence[str],
    target: tuple[Path | None, bool, Path],
    sheet: str,
) -> int:
    """An xlsx workbook to the output file (written whole or not at all), or to stdout in a
    pipe; ``target`` is the output file (or None), --force and the database file."""
    from crmcli.io.xlsx import describe_cuts, write_xlsx

    output, force, database_file = target
    if (output is None or str(output) == "-") and sys.stdout.isatty():
        raise UsageError(f"a workbook is a binary file: write it with -o {sheet}.xlsx")
    with output_file(output, force=force, database=database_file) as out:
        out.flush()
        count, cuts = write_xlsx(rows, keys, out.buffer, sheet=sheet)  # type: ignore[attr-defined]
        out.buffer.flush()  # type: ignore[attr-defined]
    if cuts:
        message(f"Warning: {describe_cuts(cuts)}")
    return count


def _export_table(
    rows: Iterable[dict[str, Any]],
    keys: Sequence[str],
    fmt: TableFormat,
    target: tuple[Path | None, bool, Path],
    *,
    excel: bool,
    raw: bool,
    what: str,
) -> None:
    """Stream ``rows`` to stdout or a file (written whole or not at all); ``target`` is the
    output file (or None), --force and the database file."""
    from crmcli.io import csv_out

    output, force, database_file = target
    if fmt is TableFormat.xlsx:
        count = _write_workbook(
            ([row.get(key) for key in keys] for row in rows), keys, target, what
        )
        message(f"Exported {count} {what}{f' to {output}' if output else ''}")
        return
    with output_file(output, force=force, database=database_file) as out:
        if fmt is TableFormat.csv:
            count = csv_out.write_csv(
                ([row.get(key) for key in keys] for row in rows), keys, out, excel=excel, raw=raw
            )
        else:
            count = csv_out.write_json(
                ({key: row.get(key) for key in keys} for row in rows),
                out,
                lines=fmt is TableFormat.jsonl,
            )
    where = f" to {output}" if output else ""
    message(f"Exported {count} {what}{where}")


@export_app.command("notes")
def export_notes_command(
    ctx: typer.Context,
    fmt: TableFormatOpt = TableFormat.csv,
    output: OutputOpt = None,
    contact: ContactOpt = None,
    since: Annotated[str | None, typer.Option(help="Happened on or after (a date).")] = None,
    until: Annotated[str | None, typer.Option(help="Happened before (a date).")] = None,
    excel: ExcelOpt = False,
    raw: RawOpt = False,
    force: ForceOpt = False,
) -> None:
    """Export notes (the customers' history), oldest first.

    Example: crm export notes --since 2026-01-01 --excel -o notes.csv
    """
    from crmcli import contacts, notes

    keys = ("id", "contact_id", "contact", "kind", "at", "body", "created_at", "updated_at")
    with database(ctx) as conn:
        filters = notes.NoteFilters(
            contact_id=contacts.resolve(conn, contact) if contact else None,
            since=parse_when_option(since) if since else None,
            until=parse_when_option(until) if until else None,
            oldest_first=True,
        )
        rows = (note.to_dict() for note in notes.list_notes(conn, filters))
        _export_table(
            rows, keys, fmt, (output, force, database_path(ctx)), excel=excel, raw=raw, what="notes"
        )


@export_app.command("reminders")
def export_reminders_command(
    ctx: typer.Context,
    fmt: TableFormatOpt = TableFormat.csv,
    output: OutputOpt = None,
    contact: ContactOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Done reminders too.")] = False,
    excel: ExcelOpt = False,
    raw: RawOpt = False,
    force: ForceOpt = False,
) -> None:
    """Export reminders (open ones unless --all), soonest due first."""
    from crmcli import contacts, reminders

    keys = (
        "id", "contact_id", "contact", "body", "due_at", "due_date", "due_time", "every",
        "rule", "status", "done_at", "created_at", "updated_at",
    )  # fmt: skip
    with database(ctx) as conn:
        filters = reminders.ReminderFilters(
            contact_id=contacts.resolve(conn, contact) if contact else None,
            include_done=all_,
        )
        rows = (r.to_dict() for r in reminders.list_reminders(conn, filters))
        _export_table(
            rows,
            keys,
            fmt,
            (output, force, database_path(ctx)),
            excel=excel,
            raw=raw,
            what="reminders",
        )


@export_app.command("deals")
def export_deals_command(
    ctx: typer.Context,
    fmt: TableFormatOpt = TableFormat.csv,
    output: OutputOpt = None,
    contact: ContactOpt = None,
    status: Annotated[str, typer.Option(help="open, won, lost or all.")] = "all",
    excel: ExcelOpt = False,
    raw: RawOpt = False,
    force: ForceOpt = False,
) -> None:
    """Export deals with their stage, value (exact, in minor units too) and dates."""
    from crmcli import contacts, pipeline

    with database(ctx) as conn:
        filters = pipeline.DealFilters(
            status=status, contact_id=contacts.resolve(conn, contact) if contact else None
        )
        rows = pipeline.list_deals(conn, filters, now=now())
        _export_table(
            rows,
            pipeline.ROW_KEYS,
            fmt,
            (output, force, database_path(ctx)),
            excel=excel,
            raw=raw,
            what="deals",
        )


@export_app.command("purchases", context_settings=QUERY_CONTEXT)
def export_purchases_command(
    ctx: typer.Context,
    query: QueryArg = None,
    fmt: TableFormatOpt = TableFormat.csv,
    output: OutputOpt = None,
    contact: ContactOpt = None,
    since: Annotated[str | None, typer.Option(help="Bought on or after (a date).")] = None,
    until: Annotated[str | None, typer.Option(help="Bought before (a date).")] = None,
    excel: ExcelOpt = False,
    raw: RawOpt = False,
    force: ForceOpt = False,
) -> None:
    """Export purchases, oldest first; the QUERY selects the customers (docs/query.md).

    Amounts are exact (amount as a decimal, amount_minor in minor units, with the currency);
    'crm import purchases' reads the CSV back without adding anything twice.

    Example: crm export purchases --since 2026-01-01 --excel -o purchases.csv
    """
    from crmcli.cli._purchase_files import EXPORT_KEYS, export_rows

    with database(ctx) as conn:
        rows = export_rows(conn, query, contact, since, until)
        _export_table(
            rows,
            EXPORT_KEYS,
            fmt,
            (output, force, database_path(ctx)),
            excel=excel,
            raw=raw,
            what="purchases",
        )


# The calendar export lives in its own module, imported only when used.
export_app.command_from("ics", "crmcli.cli.export_ics:ics")
