"""``crm purchase ...`` (``crm export purchases`` and ``crm import purchases FILE`` are in
crmcli/cli/_purchase_files.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from crmcli import contacts, money, purchases
from crmcli.cli._common import (
    CrmTyper,
    FormatOpt,
    YesOpt,
    confirm,
    currency_option,
    database,
    now,
    parse_date_option,
)
from crmcli.cli._output import (
    Column,
    Kind,
    OutputFormat,
    emit,
    emit_record,
    message,
    resolve_format,
)
from crmcli.cli._query import QUERY_CONTEXT, QueryArg, compile_words
from crmcli.errors import UsageError, ValidationError

app = CrmTyper(help="Record what customers bought; list, change, remove and restore purchases.")

PurchaseId = Annotated[str, typer.Argument(help="Purchase id (crm purchase list).", metavar="ID")]
Amount = Annotated[
    str | None,
    typer.Option(
        "--amount", "-a", help="The line's total: 1200, 1200.50, 1,200.50.", show_default=False
    ),
]
Currency = Annotated[
    str | None,
    typer.Option("--currency", "-c", help="ISO 4217 code. [default: [deals] currency, else USD]"),
]
On = Annotated[
    str | None, typer.Option("--on", help="When it was bought: 2026-03-01, yesterday, -2w.")
]
Product = Annotated[str | None, typer.Option("--product", "-p", help="What was bought.")]
Quantity = Annotated[int | None, typer.Option("--qty", help="How many units.", min=1)]
OrderRef = Annotated[
    str | None, typer.Option("--ref", help="The order or invoice id (an import skips it then).")
]

COLUMNS = [
    Column("id", "ID", priority=1),
    Column("purchased_on", "Date", priority=1),
    Column("contact_id", in_table=False),
    Column("contact"),
    Column("email", in_table=False),
    Column("product"),
    Column("quantity", "Qty", justify="right", priority=3),
    Column("amount_minor", in_table=False),
    Column("currency", in_table=False),
    Column("amount", in_table=False),
    Column("display_amount", "Amount", priority=1),
    Column("order_ref", "Order", kind=Kind.id, justify="left", priority=3),
    Column("deal_id", in_table=False),
    Column("source", in_table=False),
    Column("import_key", in_table=False),
    Column("created_at", in_table=False),
    Column("updated_at", in_table=False),
    Column("deleted_at", in_table=False),
]


def _columns(fmt: OutputFormat | None) -> list[Column]:
    if resolve_format(fmt) is OutputFormat.table:
        return COLUMNS
    return [c for c in COLUMNS if c.key != "display_amount"]


def _shown(rows: Any) -> Any:
    for row in rows:
        row["display_amount"] = money.format_money(row["amount_minor"], row["currency"])
        yield row


def _day(text: str | None) -> date:
    day = parse_date_option(text) if text else now().date()
    if day > now().date():
        raise ValidationError(
            f"--on {day.isoformat()} is in the future: a purchase records what was bought"
        )
    return day


def _describe(row: dict[str, Any]) -> str:
    quantity = f"{row['quantity']} x " if row["quantity"] != 1 else ""
    what = row["product"] or "a purchase"
    value = money.format_money(row["amount_minor"], row["currency"])
    return f"{quantity}{what}, {value}, {row['contact']}, on {row['purchased_on']}"


@app.command("add")
def add(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The customer: id, or a unique name/email fragment.")],
    amount: Amount = None,
    currency: Currency = None,
    on: On = None,
    product: Product = None,
    qty: Quantity = 1,
    order: OrderRef = None,
    fmt: FormatOpt = None,
) -> None:
    """Record a purchase: what a customer bought, when, for how much.

    The amount is the line's total (all units together), stored exactly in the currency's
    minor unit. With --ref (the order id), importing the shop's export later does not add it
    again.

    Example: crm purchase add ann --amount 1200 --currency EUR --product "Widget Pro" --qty 4
    --on 2026-03-01 --ref SO-1042
    """
    if amount is None:
        raise UsageError("a purchase needs an amount: crm purchase add REF --amount 1200")
    code = currency_option(currency)
    new = purchases.NewPurchase(
        contact_id=0,
        amount_minor=money.parse_amount(amount, code, what="amount"),
        currency=code,
        purchased_on=_day(on),
        product=product,
        quantity=qty or 1,
        order_ref=order,
    )
    with database(ctx, write=True) as conn:
        new = new._replace(contact_id=contacts.resolve(conn, ref))
        purchase_id = purchases.add(conn, new, now=now())
        row = purchases.get(conn, purchase_id)
        message(f"Added purchase {purchase_id}: {_describe(row)}")
        if fmt is not None:
            emit_record(row, fmt)


@app.command("list", context_settings=QUERY_CONTEXT)
def list_(
    ctx: typer.Context,
    query: QueryArg = None,
    contact: Annotated[str | None, typer.Option(help="Only this customer (REF).")] = None,
    product: Annotated[str | None, typer.Option(help="Product name starts with this.")] = None,
    currency: Annotated[str | None, typer.Option(help="Only in this currency.")] = None,
    since: Annotated[str | None, typer.Option(help="Bought on or after (a date).")] = None,
    until: Annotated[str | None, typer.Option(help="Bought before (a date).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.", min=1)] = None,
    trash: Annotated[
        bool, typer.Option("--trash", help="List the purchases in the trash.")
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """List purchases, newest first; the QUERY selects the customers (docs/query.md).

    Examples: crm purchase list --contact ann ; crm purchase list tag:wholesale --since -3m
    """
    with database(ctx) as conn:
        filters = purchases.PurchaseFilters(
            contact_id=contacts.resolve(conn, contact) if contact else None,
            product=product,
            currency=currency,
            since=parse_date_option(since) if since else None,
            until=parse_date_option(until) if until else None,
            contacts=compile_words(conn, query),  # type: ignore[arg-type]
            limit=limit,
            deleted=trash,
        )
        emit(
            _shown(purchases.list_purchases(conn, filters)),
            _columns(fmt),
            fmt,
            empty="No purchases." if not trash else "The trash has no purchases.",
        )


@app.command("edit")
def edit(
    ctx: typer.Context,
    purchase_id: PurchaseId,
    amount: Amount = None,
    currency: Currency = None,
    on: On = None,
    product: Product = None,
    qty: Quantity = None,
    order: OrderRef = None,
    contact: Annotated[
        str | None, typer.Option(help="Give the purchase to another contact.")
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Change a purchase's amount, currency, date, product, quantity, order id or customer.

    Example: crm purchase edit 12 --amount 1,150.00 --qty 3
    """
    number = purchases.parse_ref(purchase_id)
    with database(ctx, write=True) as conn:
        current = purchases.get(conn, number)
        code = money.currency_code(currency) if currency else current["currency"]
        changes = purchases.PurchaseChanges(
            amount_minor=money.parse_amount(amount, code, what="amount") if amount else None,
            currency=currency,
            purchased_on=_day(on) if on else None,
            product=product,
            quantity=qty,
            order_ref=order,
            contact_id=contacts.resolve(conn, contact) if contact else None,
        )
        row = purchases.edit(conn, number, changes, now=now())
        message(f"Updated purchase {number}: {_describe(row)}")
        if fmt is not None:
            emit_record(row, fmt)


@app.command("rm")
def remove(ctx: typer.Context, purchase_id: PurchaseId, yes: YesOpt = False) -> None:
    """Move a purchase to the trash (crm purchase restore brings it back)."""
    number = purchases.parse_ref(purchase_id)
    with database(ctx, write=True) as conn:
        row = purchases.get(conn, number)
        confirm(f"Move purchase {number} ({_describe(row)}) to the trash?", yes=yes)
        purchases.trash(conn, number, now=now())
        message(f"Moved purchase {number} to the trash; undo: crm purchase restore {number}")


@app.command("restore")
def restore(ctx: typer.Context, purchase_id: PurchaseId) -> None:
    """Bring a purchase back from the trash."""
    number = purchases.parse_ref(purchase_id)
    with database(ctx, write=True) as conn:
        row = purchases.restore(conn, number)
        message(f"Restored purchase {number}: {_describe(row)}")
