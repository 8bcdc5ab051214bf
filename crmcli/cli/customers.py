"""``crm customers`` and ``crm referrals``, and the customer part of ``crm contact show``."""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli import money
from crmcli.cli._common import FormatOpt, database, default_currency, now, parse_date_option
from crmcli.cli._output import Column, OutputFormat, emit, message, resolve_format
from crmcli.cli._query import QUERY_CONTEXT, QueryArg, compile_words
from crmcli.cli.views.customers import emit_customers, totals_form


def customers_command(
    ctx: typer.Context,
    query: QueryArg = None,
    segment: Annotated[
        str | None,
        typer.Option(
            help="Only this RFM segment: champions, loyal, at-risk... (docs/customers.md)."
        ),
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency", "-c", help="Only purchases in this currency (all figures in it)."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only purchases on or after: 2026-01-01, -1y, 'last mon'.")
    ] = None,
    at_risk: Annotated[
        bool,
        typer.Option(
            "--at-risk",
            help="Good customers not buying or not in touch for longer than usual for them.",
        ),
    ] = False,
    sort: Annotated[str, typer.Option(help="score, recency, frequency or name.")] = "score",
    limit: Annotated[
        int | None,
        typer.Option(
            help="At most this many. [default: a table shows 50, other formats all]", min=1
        ),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Who matters most: every customer with recency, frequency, value, RFM score and segment.

    A customer is a contact with purchases. Each is scored 1-5 on recency (R), frequency (F)
    and monetary value (M) by quintile over all customers, and named by R and F: champions,
    loyal, potential, new, promising, attention, about-to-sleep, at-risk, cant-lose,
    hibernating, lost (thresholds in docs/customers.md). Money stays per currency.

    Examples: crm customers --segment champions ; crm customers --at-risk ;
    crm customers tag:wholesale --currency EUR --since -1y --format csv
    """
    from crmcli import customers

    filters = customers.CustomerFilters(
        segment=segment,
        currency=currency,
        since=parse_date_option(since) if since else None,
        at_risk=at_risk,
        sort=sort,
        limit=limit,
    )
    resolved = resolve_format(fmt)
    # A table is read by a person: the first screenful, the rest counted (scripts get all).
    on_screen = resolved is OutputFormat.table and limit is None
    if on_screen:
        filters.limit = TABLE_LIMIT
    with database(ctx) as conn:
        filters.contacts = compile_words(conn, query)
        found = customers.find_customers(
            conn, filters, today=now().date(), totals=totals_form(resolved)
        )
        emit_customers(
            found.rows,
            resolved,
            at_risk=at_risk,
            title="Customers at risk" if at_risk else None,
            empty="No customers at risk." if at_risk else "No customers (crm purchase add).",
        )
    if on_screen and found.total > TABLE_LIMIT:
        message(
            f"… and {found.total - TABLE_LIMIT:,} more (all of them: --limit {found.total} "
            "or --format tsv)"
        )


#: customers shown in a table when no --limit is given
TABLE_LIMIT = 50


REFERRAL_COLUMNS = [
    Column("referrer_id", "ID", priority=1),
    Column("referrer", "Referrer", priority=1),
    Column("contact_id", "Referred ID", priority=3),
    Column("name", "Referred", priority=1),
    Column("referred_at", "Added", show=lambda v: (v or "")[:10], priority=3),
    Column("bought", in_table=False),
    Column("won", in_table=False),
    Column("value", "Bought or won", justify="right"),
]
TOP_COLUMNS = [
    Column("referrer_id", "ID", priority=1),
    Column("referrer", priority=1),
    Column("referred", "Referred", justify="right"),
    Column("customers", "Bought", justify="right"),
    Column("currency", in_table=False),
    Column("value_minor", in_table=False),
    Column("value", in_table=False),
    Column("display_value", "Value", justify="right"),
    Column("other_currencies", "Other currencies", priority=3),
]


def referrals_command(
    ctx: typer.Context,
    ref: Annotated[
        str | None, typer.Argument(help="Only the people this contact referred (REF).")
    ] = None,
    top: Annotated[
        bool, typer.Option("--top", help="The top referrers instead: who sent you the most.")
    ] = False,
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency", "-c", help="Rank --top by value in this currency. [default: the main one]"
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many (--top).", min=1)] = None,
    fmt: FormatOpt = None,
) -> None:
    """Word of mouth: who referred whom, and what the referred people bought or won.

    A referral is a contact's --referred-by. Its value is the referred contact's purchases and
    won deals (a won deal recorded as a purchase counts once), per currency. --top ranks the
    referrers by that value, then by how many customers they sent.

    Examples: crm referrals ; crm referrals ann ; crm referrals --top --limit 10
    """
    from crmcli import contacts, purchases, referrals
    from crmcli.cli._output import OutputFormat, resolve_format

    with database(ctx) as conn:
        if top:
            code = currency or purchases.main_currency(conn, default_currency())
            rows = referrals.top_referrers(conn, currency=code, limit=limit)
            for row in rows:
                row["display_value"] = money.format_money(row["value_minor"], row["currency"])
            columns = TOP_COLUMNS
            if resolve_format(fmt) is not OutputFormat.table:
                columns = [c for c in TOP_COLUMNS if c.key != "display_value"]
            emit(rows, columns, fmt, title="Top referrers", empty="No referrals yet.")
            return
        referrer = contacts.resolve(conn, ref) if ref else None
        emit(
            referrals.list_referrals(conn, referrer_id=referrer),
            REFERRAL_COLUMNS,
            fmt,
            empty="No referrals yet (crm contact edit REF --referred-by OTHER).",
        )


customers_command.context_settings = QUERY_CONTEXT  # type: ignore[attr-defined]
