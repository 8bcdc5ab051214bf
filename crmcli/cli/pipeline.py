"""``crm pipeline`` (the board, and ``pipeline stats``), ``crm forecast`` and ``crm goal ...``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import typer

from crmcli import forecast, money, pipeline
from crmcli.cli._common import (
    CrmTyper,
    FormatOpt,
    complete_tag,
    currency_option,
    database,
    now,
    parse_when_option,
)
from crmcli.cli._output import (
    Column,
    Kind,
    OutputFormat,
    console,
    emit,
    emit_record,
    line,
    message,
    resolve_format,
    visible,
)
from crmcli.cli.views.deals import ROW_COLUMNS, render_board

app = CrmTyper(
    help="The pipeline board: open deals by stage, with totals. 'crm pipeline stats' for rates.",
    invoke_without_command=True,
    no_args_is_help=False,
)
goal_app = CrmTyper(help="Sales goals per period (month, quarter, year) and currency.")


@app.callback()
def board(
    ctx: typer.Context,
    limit: Annotated[
        int,
        typer.Option("--limit", "-n", help="Deals shown per stage (the rest: '+N more').", min=1),
    ] = 8,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag", "-t", help="Only contacts with this tag.", autocompletion=complete_tag
        ),
    ] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", "-c", help="Only deals in this currency.")
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Show the pipeline board: one column per open stage with its deals.

    Each stage shows its deals (stale ones first, marked !), the number of deals, and per
    currency the total and weighted (~) value. With --format json/tsv/csv it is a plain list
    of the open deals (the keys of crm deal list).
    """
    if ctx.invoked_subcommand is not None:
        return
    filters = pipeline.DealFilters(tags=list(tag or []), currency=currency)
    with database(ctx) as conn:
        if resolve_format(fmt) is not OutputFormat.table:
            filters.status = "open"
            rows = pipeline.deal_rows(conn, filters, now=now())
            emit(rows, ROW_COLUMNS, fmt, tuples=True)
            return
        data = pipeline.board(conn, now=now(), per_stage=limit, filters=filters)
    render_board(data, console())


@app.command("stats")
def stats_command(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Deals closed on or after: 2026-01-01, -90d, 'last mon'.")
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Show win rate, average deal size, time to close, time per stage, lost reasons.

    Over the deals closed since --since (all of them by default). Time per stage averages the
    stays that ended (the deal moved on); averages of money are per currency.
    """
    moment = parse_when_option(since) if since else None
    with database(ctx) as conn:
        record = forecast.stats(conn, since=moment, now=now())
    emit_record(record.to_dict(), fmt, render=lambda _: render_stats(record))


def render_stats(record: forecast.PipelineStats) -> None:
    """``crm pipeline stats`` on a terminal."""
    out = console()
    since = f" since {record.since[:10]}" if record.since else ""
    out.print(line((f"Pipeline statistics{since}", "bold")))
    if not record.closed:
        out.print("No closed deals yet.")
    else:
        out.print(
            f"Closed {record.closed}: won {record.won}, lost {record.lost}, "
            f"win rate {record.win_rate_pct}%"
        )
    if record.avg_days_to_close is not None:
        out.print(f"Average time to close (won): {record.avg_days_to_close} days")
    for won in record.average_won:
        out.print(
            f"Average won deal: {money.format_money(won.average_minor, won.currency)} "
            f"over {won.deals} "
            f"(total {money.format_money(won.total_minor, won.currency, cents=False)})"
        )
    if record.stages:
        out.print(line("\n", ("Time per stage", "bold"), " (average of finished stays)"))
        for stay in record.stages:
            out.print(line(f"  {visible(stay.stage):<16} {stay.avg_days:>7} days  ({stay.stays})"))
    if record.lost_reasons:
        out.print(line("\n", ("Lost reasons", "bold")))
        for lost in record.lost_reasons:
            out.print(line(f"  {lost.deals:>4}  {lost.pct:>5}%  ", lost.reason))


# --- forecast ---------------------------------------------------------------------------------


def _pct(value: int | None) -> str:
    return "" if value is None else f"{value}%"


FORECAST_COLUMNS = [
    Column("period", "Period", kind=Kind.date, priority=1),
    Column("start", in_table=False),
    Column("end", in_table=False),
    Column("currency", "Cur", kind=Kind.id, justify="left", priority=1),
    Column("open_deals", "Deals", justify="right", priority=3),
    Column("open_minor", "Open", justify="right"),
    Column("weighted_minor", "~Weighted", justify="right"),
    Column("won_deals", in_table=False),
    Column("won_minor", "Won", justify="right"),
    Column("goal_minor", "Goal", justify="right"),
    Column("goal_pct", "Won%", justify="right", show=_pct, priority=3),
    Column("projected_minor", in_table=False),
    Column("projected_pct", "+Wtd%", justify="right", show=_pct, priority=3),
]
_MONEY_KEYS = ("open_minor", "weighted_minor", "won_minor", "goal_minor", "projected_minor")


def _for_table(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Money columns in the table are formatted in the row's currency; scripts get integers."""
    for row in rows:
        shown = dict(row)
        for key in _MONEY_KEYS:
            if shown.get(key) is not None:
                shown[key] = money.format_money(shown[key], row["currency"], cents=False).rsplit(
                    " ", 1
                )[0]
        yield shown


def forecast_command(
    ctx: typer.Context,
    by: Annotated[str, typer.Option(help="month or quarter.")] = "month",
    months: Annotated[
        int | None,
        typer.Option(help="How far ahead, in months. [default: 3 by month, 12 by quarter]", min=1),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Forecast: weighted value of open deals by expected close period, and won so far.

    Per period and currency: open deals expected to close in it (count, total, weighted by
    probability), deals won in it so far, and the goal with progress (won, and won plus
    weighted) when one is set with crm goal set. Rows 'overdue' (expected close already past),
    'undated' and 'open' (every open deal) follow. Never sums across currencies.
    """
    by = by.lower()
    span = months if months is not None else (12 if by == "quarter" else 3)
    with database(ctx) as conn:
        rows = forecast.forecast(conn, today=now().date(), by=by, months=span)
    fmt_resolved = resolve_format(fmt)
    emit(
        _for_table(rows) if fmt_resolved is OutputFormat.table else rows,
        FORECAST_COLUMNS,
        fmt,
        title="Forecast (amounts in the row's currency)",
        empty="No open deals and no goals: nothing to forecast.",
    )


# --- goals ------------------------------------------------------------------------------------

GOAL_COLUMNS = [
    Column("period", "Period", kind=Kind.date, priority=1),
    Column("start", in_table=False),
    Column("end", in_table=False),
    Column("currency", "Cur", kind=Kind.id, justify="left", priority=1),
    Column("goal_minor", "Goal", justify="right"),
    Column("won_deals", "Won deals", justify="right", priority=3),
    Column("won_minor", "Won", justify="right"),
    Column("weighted_minor", "Weighted open", justify="right"),
    Column("goal_pct", "Won %", justify="right", show=_pct),
    Column("projected_pct", "+Weighted %", justify="right", show=_pct, priority=3),
]


@goal_app.command("set")
def goal_set(
    ctx: typer.Context,
    period: Annotated[str, typer.Argument(help="2026-Q4, 2026-11 or 2026.")],
    amount: Annotated[str, typer.Argument(help="The goal: 50000, 50,000.00.")],
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency", "-c", help="ISO 4217 code. [default: [deals] currency, else USD]"
        ),
    ] = None,
) -> None:
    """Set the sales goal (won value) for a period; crm forecast shows the progress.

    Example: crm goal set 2026-Q4 50000 --currency EUR
    """
    code = currency_option(currency)
    minor = money.parse_amount(amount, code, what="goal")
    forecast.parse_period(period)
    with database(ctx, write=True) as conn:
        span = forecast.set_goal(conn, period, minor, code, now=now())
    message(f"Goal for {span.key} ({span.start} to {span.end}): {money.format_money(minor, code)}")


@goal_app.command("list")
def goal_list(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """List goals with their progress: won in the period, and weighted open deals closing in it."""
    with database(ctx) as conn:
        rows = forecast.goal_progress(conn)
    emit(
        _for_table(rows) if resolve_format(fmt) is OutputFormat.table else rows,
        GOAL_COLUMNS,
        fmt,
        empty="No goals yet (crm goal set 2026-Q4 50000).",
    )


@goal_app.command("rm")
def goal_rm(
    ctx: typer.Context,
    period: Annotated[str, typer.Argument(help="2026-Q4, 2026-11 or 2026.")],
    currency: Annotated[
        str | None, typer.Option("--currency", "-c", help="[default: [deals] currency, else USD]")
    ] = None,
) -> None:
    """Remove a goal."""
    code = currency_option(currency)
    with database(ctx, write=True) as conn:
        span = forecast.remove_goal(conn, period, code)
    message(f"Removed the {code} goal for {span.key}")
