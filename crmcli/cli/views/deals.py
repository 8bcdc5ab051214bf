"""Deals and the pipeline: the listing's columns, the board, a contact's deals."""

from __future__ import annotations

import sqlite3
from typing import Any

from crmcli import money, pipeline
from crmcli.cli._output import (
    Column,
    OutputFormat,
    aligned,
    heading,
    line,
    resolve_format,
    styled,
    visible,
)

LIST_COLUMNS = [
    Column("id", "ID", priority=1),
    Column("title", priority=1),
    Column("contact_id", in_table=False),
    Column("contact"),
    Column("stage"),
    Column("status", in_table=False),
    Column("value_minor", in_table=False),
    Column("currency", in_table=False),
    Column("value", in_table=False),
    Column("display_value", "Value", justify="right"),
    Column("probability", "%", justify="right", priority=3),
    Column("weighted_minor", in_table=False),
    Column("expected_close", "Close"),
    Column("days_in_stage", "Days", justify="right", priority=3),
    Column("idle_days", in_table=False),
    Column("stale", "Stale", show=lambda v: "stale" if v else "", priority=4),
    Column("last_activity_at", in_table=False),
    Column("stage_changed_at", in_table=False),
    Column("closed_at", in_table=False),
    Column("lost_reason", in_table=False),
    Column("created_at", in_table=False),
    Column("updated_at", in_table=False),
]


def list_columns(fmt: OutputFormat | None) -> list[Column]:
    """The listing's columns in ``fmt``: the table's money column for a table only."""
    if resolve_format(fmt) is OutputFormat.table:
        return LIST_COLUMNS
    return [c for c in LIST_COLUMNS if c.key != "display_value"]


def contact_section(out: Any, record: dict[str, Any]) -> None:
    """``crm contact show``: the contact's deals."""
    if not record.get("deals"):
        return
    out.print(line("\n", ("Deals", "bold")))
    rows = []
    for deal in record["deals"]:
        value = money.format_money(deal["value_minor"], deal["currency"])
        close = (
            f"  close {deal['expected_close']}"
            if deal["expected_close"] and deal["status"] == "open"
            else ""
        )
        rows.append([f"#{deal['id']}", deal["title"], value, (deal["stage"] + close, "dim")])
    aligned(out, rows, prose={1, 3})


#: the listing's columns without the table's money column: the fields of pipeline.DealRow
ROW_COLUMNS = [c for c in LIST_COLUMNS if c.key != "display_value"]


#: columns a stage gets on the board at least; fewer fit -> stages wrap onto another band
_MIN_STAGE_WIDTH = 19


def _money(minor: int, currency: str) -> str:
    return money.format_money(minor, currency, cents=False)


def _totals_line(totals: list[pipeline.Total]) -> str:
    return " · ".join(
        f"{_money(t.total_minor, t.currency)} (~{_money(t.weighted_minor, t.currency)})"
        for t in totals
    )


def _cards(column: pipeline.Column) -> Any:
    cell = line()
    for index, deal in enumerate(column.deals):
        if index:
            cell.append("\n")
        if deal.stale:
            cell.append("! ", style="bold red")
        # titles and names are data: one line each, their control characters made visible
        cell.append(visible(deal.title) + "\n", style="bold")
        cell.append(visible(deal.contact) + "\n", style="dim")
        cell.append(f"{_money(deal.value_minor, deal.currency)} ")
        cell.append(f"{deal.days_in_stage}d\n", style="red" if deal.stale else "")
    if column.more:
        cell.append(f"+{column.more} more", style="italic")
    elif not column.deals:
        cell.append("-", style="dim")
    cell.rstrip()
    return cell


def render_board(data: pipeline.Board, out: Any) -> None:
    """Draw the board on ``out`` (a rich Console), fitting its width: stages that do not fit
    side by side wrap onto another band."""
    from rich import box
    from rich.table import Table

    fancy = styled()
    columns = data.stages
    stale = sum(c.stale for c in columns)
    head = line(
        ("Pipeline", "bold"), f": {data.open_deals} open deal{'s' if data.open_deals != 1 else ''}"
    )
    if data.totals:
        head.append(f" · {_totals_line(data.totals)}")
    if stale:
        head.append(f" · {stale} stale", style="red")
    out.print(head)
    if not columns:
        return
    per_band = max(1, min(len(columns), out.width // _MIN_STAGE_WIDTH))
    for start in range(0, len(columns), per_band):
        band = columns[start : start + per_band]
        table = Table(
            box=box.SIMPLE_HEAD if fancy else box.ASCII2,
            expand=True,
            show_footer=True,
            pad_edge=False,
            padding=(0, 1),
        )
        for column in band:
            header = line((f"{column.stage} {column.probability}%", "bold"))
            header.append(f"\n{column.open_deals} deal{'s' if column.open_deals != 1 else ''}")
            # every header has three lines, so the columns line up
            header.append("\n")
            if column.stale:
                header.append(f"{column.stale} stale", style="red")
            footer = line()
            for index, total in enumerate(column.totals):
                if index:
                    footer.append("\n")
                footer.append(_money(total.total_minor, total.currency))
                footer.append(f"\n~{_money(total.weighted_minor, total.currency)}", "dim")
            table.add_column(
                header, footer=footer, ratio=1, no_wrap=True, overflow="ellipsis", min_width=8
            )
        cells = [_cards(column) for column in band]
        table.add_row(*cells)
        out.print(table)
    legend = "~ weighted by probability · ! stale (idle longer than its stage allows) · "
    out.print(line((legend + "Nd: days in stage", "dim")))


def demo_view(conn: sqlite3.Connection) -> None:
    """``crm demo``: the board, three deals a stage."""
    from crmcli.cli._common import now
    from crmcli.cli._output import console

    heading("Pipeline (crm pipeline)")
    render_board(pipeline.board(conn, now=now(), per_stage=3), console())
