"""``crm deal ...``: deals and their way through the stages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from crmcli import contacts, deals, money, pipeline
from crmcli.cli._common import (
    CrmTyper,
    FormatOpt,
    YesOpt,
    complete_contact,
    complete_stage,
    complete_tag,
    confirm,
    currency_option,
    database,
    interactive,
    now,
    parse_date_option,
    print_created,
    prompt,
)
from crmcli.cli._output import OutputFormat, console, emit, emit_record, line, message
from crmcli.cli.views.deals import list_columns
from crmcli.errors import UsageError, ValidationError

app = CrmTyper(help="Add deals and move them through the pipeline: won, lost, reopened.")

DealId = Annotated[str, typer.Argument(help="Deal id (crm deal list shows them).", metavar="ID")]


def _table_rows(rows: Any, fmt: OutputFormat | None) -> Any:
    """Add a human money column for the table view only (scripts get exact keys)."""
    for row in rows:
        row["display_value"] = money.format_money(row["value_minor"], row["currency"])
        yield row


def _parse_value(text: str, currency: str) -> int:
    return money.parse_amount(text, currency)


def _echo_close(close: date | None) -> str:
    from crmcli.dates import format_date

    return f", closing {format_date(close)}" if close else ""


def _show(conn: Any, deal_id: int, fmt: OutputFormat | None) -> None:
    record = deals.record(conn, deal_id, now=now())
    emit_record(record.to_dict(), fmt, render=lambda _: render_deal(record))


def _probability(text: str | None) -> tuple[int | None, bool]:
    """``--probability 40`` -> (40, False); ``--probability stage`` or "" -> (None, True)."""
    if text is None:
        return None, False
    raw = text.strip().rstrip("%")
    if raw.lower() in ("", "stage", "default"):
        return None, True
    if not raw.isdigit() or not 0 <= int(raw) <= 100:
        raise ValidationError(
            f"probability {text!r} is not a percentage from 0 to 100 (or 'stage' for the stage's)"
        )
    return int(raw), False


@app.command("add")
def add(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The contact: id, or a unique name/email fragment.")],
    title: Annotated[str, typer.Argument(help="What is being sold: 'Website redesign'.")],
    value: Annotated[
        str, typer.Option("--value", "-v", help="Amount: 12000, 12000.50, 12,000.50.")
    ] = "0",
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency", "-c", help="ISO 4217 code. [default: [deals] currency, else USD]"
        ),
    ] = None,
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage", "-s", help="Open stage. [default: the first]", autocompletion=complete_stage
        ),
    ] = None,
    close: Annotated[
        str | None, typer.Option(help="Expected close date: 2026-12-15, 'end of month', +3w.")
    ] = None,
    probability: Annotated[
        str | None, typer.Option(help="Override the stage's probability (percent).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Where the deal came from.")] = None,
    notes: Annotated[str | None, typer.Option(help="Free text about the deal.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Add a deal for a contact.

    The value is stored exactly in the currency's minor unit (cents). The deal starts in the
    first open stage unless --stage says otherwise; the stage gives its probability.

    Example: crm deal add ann "Website redesign" --value 12000 --currency EUR --stage qualified
    --close "end of month"
    """
    from crmcli.deal_changes import NewDeal

    code = currency_option(currency)
    value_minor = _parse_value(value, code)
    override, _ = _probability(probability)
    close_day = parse_date_option(close) if close else None
    with database(ctx, write=True) as conn:
        contact_id = contacts.resolve(conn, ref)
        deal_id = deals.add(
            conn,
            NewDeal(
                contact_id=contact_id,
                title=title,
                value_minor=value_minor,
                currency=code,
                stage=stage,
                probability=override,
                expected_close=close_day,
                source=source,
                notes=notes,
            ),
            now=now(),
        )
        row = pipeline.deal_row_by_id(conn, deal_id, now=now())
        message(
            f"Added deal {deal_id}: {row.title} ({row.contact}), "
            f"{money.format_money(value_minor, code)}, {row.stage} {row.probability}%"
            f"{_echo_close(close_day)}"
        )
        print_created(deal_id, fmt)
        if fmt is not None:
            _show(conn, deal_id, fmt)


@app.command("move")
def move(
    ctx: typer.Context,
    deal_id: DealId,
    stage: Annotated[str, typer.Argument(help="An open stage (crm stage list).")],
    fmt: FormatOpt = None,
) -> None:
    """Move an open deal to another stage (recorded in its history)."""
    with database(ctx, write=True) as conn:
        number = deals.parse_ref(deal_id)
        before = pipeline.deal_row_by_id(conn, number, now=now())
        target = deals.move(conn, number, stage, now=now())
        message(f"Moved deal {number} ({before.title}): {before.stage} -> {target.name}")
        if fmt is not None:
            _show(conn, number, fmt)


@app.command("won")
def won(
    ctx: typer.Context,
    deal_id: DealId,
    as_purchase: Annotated[
        bool | None,
        typer.Option(
            "--as-purchase/--no-purchase",
            help="Record the deal as a purchase too. [default: [deals] won_as_purchase, else no]",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Close a deal as won (and, with --as-purchase, record it as the customer's purchase)."""
    from crmcli import config

    if as_purchase is None:
        as_purchase = config.load().flag("deals", "won_as_purchase")
    with database(ctx, write=True) as conn:
        number = deals.parse_ref(deal_id)
        purchase_id = deals.win(conn, number, now=now(), as_purchase=as_purchase)
        row = pipeline.deal_row_by_id(conn, number, now=now())
        recorded = f"; recorded as purchase {purchase_id}" if purchase_id else ""
        message(
            f"Won deal {number}: {row.title} "
            f"({money.format_money(row.value_minor, row.currency)}){recorded}"
        )
        if fmt is not None:
            _show(conn, number, fmt)


@app.command("lost")
def lost(
    ctx: typer.Context,
    deal_id: DealId,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason", "-r", help="Why: price, timing, competitor... Asked on a terminal."
        ),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Close a deal as lost, with the reason (asked for on a terminal, required otherwise)."""
    number = deals.parse_ref(deal_id)
    if reason is None and not interactive():
        raise UsageError(
            f"a lost deal needs a reason: crm deal lost {number} --reason TEXT "
            "(not on a terminal, so it cannot be asked); nothing was changed"
        )
    with database(ctx, write=True) as conn:
        row = pipeline.deal_row_by_id(conn, number, now=now())
        if reason is None:
            reason = prompt(f"Why was {row.title!r} lost?")
        deals.lose(conn, number, reason or "", now=now())
        message(f"Lost deal {number}: {row.title} ({' '.join((reason or '').split())})")
        if fmt is not None:
            _show(conn, number, fmt)


@app.command("reopen")
def reopen(
    ctx: typer.Context,
    deal_id: DealId,
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage",
            "-s",
            help="Open stage. [default: the one it was closed from]",
            autocompletion=complete_stage,
        ),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Reopen a won or lost deal."""
    with database(ctx, write=True) as conn:
        number = deals.parse_ref(deal_id)
        target = deals.reopen(conn, number, stage_name=stage, now=now())
        message(f"Reopened deal {number} in {target.name}")
        if fmt is not None:
            _show(conn, number, fmt)


@app.command("edit")
def edit(
    ctx: typer.Context,
    deal_id: DealId,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    value: Annotated[str | None, typer.Option("--value", "-v", help="New amount.")] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", "-c", help="New currency code.")
    ] = None,
    probability: Annotated[
        str | None, typer.Option(help="Percent; 'stage' goes back to the stage's.")
    ] = None,
    close: Annotated[
        str | None, typer.Option(help="Expected close date (any date expression); '' clears.")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Source; '' clears.")] = None,
    notes: Annotated[str | None, typer.Option(help="Notes; '' clears.")] = None,
    contact: Annotated[str | None, typer.Option(help="Give the deal to another contact.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Change a deal's title, value, currency, probability, close date, source or notes.

    Example: crm deal edit 12 --value 15,000 --close 2027-01-31 --probability 60
    """
    from crmcli.deal_changes import DealChanges

    override, back_to_stage = _probability(probability)
    changes = DealChanges(
        title=title,
        currency=currency,
        probability=override,
        clear_probability=back_to_stage,
        source=source,
        notes=notes,
    )
    close_day = None
    if close is not None:
        if close.strip():
            close_day = parse_date_option(close)
            changes.expected_close = close_day
        else:
            changes.clear_close = True
    with database(ctx, write=True) as conn:
        number = deals.parse_ref(deal_id)
        row = pipeline.deal_row_by_id(conn, number, now=now())
        if value is not None:
            changes.value_minor = _parse_value(value, currency or row.currency)
        if contact is not None:
            changes.contact_id = contacts.resolve(conn, contact)
        deals.edit(conn, number, changes, now=now())
        row = pipeline.deal_row_by_id(conn, number, now=now())
        message(
            f"Updated deal {number}: {row.title}, "
            f"{money.format_money(row.value_minor, row.currency)}, {row.probability}%"
            f"{_echo_close(close_day)}"
        )
        if fmt is not None:
            _show(conn, number, fmt)


@app.command("rm")
def remove(ctx: typer.Context, deal_id: DealId, yes: YesOpt = False) -> None:
    """Move a deal to the trash (crm deal restore brings it back)."""
    with database(ctx, write=True) as conn:
        number = deals.parse_ref(deal_id)
        row = pipeline.deal_row_by_id(conn, number, now=now())
        confirm(f"Move deal {number} ({row.title}) to the trash?", yes=yes)
        title = deals.trash(conn, number, now=now())
        message(f"Moved deal {number} ({title}) to the trash; undo: crm deal restore {number}")


@app.command("restore")
def restore(ctx: typer.Context, deal_id: DealId) -> None:
    """Bring a deal back from the trash."""
    with database(ctx, write=True) as conn:
        number = deals.parse_ref(deal_id)
        title = deals.restore(conn, number)
        message(f"Restored deal {number}: {title}")


def _amount(text: str | None, what: str) -> Decimal | None:
    if text is None:
        return None
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValidationError(f"{what} {text!r} is not an amount (example: 5000)") from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError(f"{what} {text!r} must be an amount of 0 or more")
    return amount


@app.command("list")
def list_(
    ctx: typer.Context,
    stage: Annotated[
        list[str] | None,
        typer.Option(
            "--stage", "-s", help="In this stage. Repeatable.", autocompletion=complete_stage
        ),
    ] = None,
    status: Annotated[str, typer.Option(help="open, won, lost or all.")] = "all",
    contact: Annotated[
        str | None,
        typer.Option(help="Deals of this contact (REF).", autocompletion=complete_contact),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag", "-t", help="Contact has this tag. Repeatable.", autocompletion=complete_tag
        ),
    ] = None,
    closing_after: Annotated[
        str | None, typer.Option(help="Expected close on or after this date.")
    ] = None,
    closing_before: Annotated[
        str | None, typer.Option(help="Expected close on or before this date: eom, eoq...")
    ] = None,
    min_value: Annotated[str | None, typer.Option(help="Value at least (in its currency).")] = None,
    max_value: Annotated[str | None, typer.Option(help="Value at most.")] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", "-c", help="Only this currency.")
    ] = None,
    stale: Annotated[
        bool, typer.Option("--stale", help="Only open deals idle longer than their stage allows.")
    ] = False,
    sort: Annotated[
        str, typer.Option(help="stage, close, value, idle, created, updated, title or id.")
    ] = "stage",
    limit: Annotated[int | None, typer.Option(help="At most this many.", min=1)] = None,
    trash: Annotated[bool, typer.Option("--trash", help="List the deals in the trash.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """List deals, filtered and sorted.

    Example: crm deal list --status open --closing-before eom --min-value 5000 --format csv
    """
    filters = pipeline.DealFilters(
        stages=list(stage or []),
        status=status.lower(),
        tags=list(tag or []),
        closing_after=parse_date_option(closing_after) if closing_after else None,
        closing_before=parse_date_option(closing_before) if closing_before else None,
        min_value=_amount(min_value, "--min-value"),
        max_value=_amount(max_value, "--max-value"),
        currency=currency,
        stale=stale,
        sort=sort.lower(),
        limit=limit,
        deleted=trash,
    )
    with database(ctx) as conn:
        if contact is not None:
            filters.contact_id = contacts.resolve(conn, contact)
        rows = pipeline.list_deals(conn, filters, now=now())
        emit(
            _table_rows(rows, fmt),
            list_columns(fmt),
            fmt,
            empty="No deals." if not trash else "No deals in the trash.",
        )


@app.command("show")
def show(ctx: typer.Context, deal_id: DealId, fmt: FormatOpt = None) -> None:
    """Show a deal with its stage history and the time it spent in each stage."""
    with database(ctx) as conn:
        _show(conn, deals.parse_ref(deal_id), fmt)


def render_deal(record: deals.DealRecord) -> None:
    """The terminal view of one deal (``crm deal show``)."""
    from rich.table import Table

    out = console()
    deal = record.row
    state = deal.status if deal.status != "open" else deal.stage
    out.print(line((deal.title, "bold"), "  ", (f"deal #{deal.id}", "dim"), "  ", state))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", justify="right")
    grid.add_column()

    def row(label: str, value: Any) -> None:
        if value not in (None, ""):
            grid.add_row(label, line(value))

    row("contact", f"{deal.contact} (#{deal.contact_id})")
    row("value", money.format_money(deal.value_minor, deal.currency))
    if deal.status == "open":
        weighted = money.format_money(deal.weighted_minor, deal.currency)
        row("probability", f"{deal.probability}% (weighted {weighted})")
        row("in stage", f"{deal.days_in_stage} days" + ("  STALE" if deal.stale else ""))
    row("expected close", deal.expected_close)
    row("lost because", deal.lost_reason)
    row("closed", (deal.closed_at or "")[:10])
    row("source", record.source)
    row("notes", record.notes)
    row("added", deal.created_at[:10])
    if record.deleted_at:
        row("in the trash since", record.deleted_at[:10])
    out.print(grid)
    history = Table(title="History", title_justify="left", box=None, pad_edge=False)
    for header in ("When", "Change", "Time there"):
        history.add_column(header)
    for entry in record.history:
        change = (
            f"{entry.from_stage} -> {entry.to_stage}"
            if entry.from_stage
            else f"created in {entry.to_stage}"
        )
        if entry.note:
            change += f" ({entry.note})"
        running = " so far" if entry.until is None and entry.days is not None else ""
        spent = f"{entry.days} d{running}" if entry.days is not None else ""
        history.add_row(entry.at[:16].replace("T", " "), line(change), spent)
    out.print(history)
