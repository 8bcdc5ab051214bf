"""``crm purchase ...``, ``crm export purchases`` and ``crm import purchases FILE``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from crmcli import contacts, money, purchases
from crmcli.cli._common import (
    CrmTyper,
    FormatOpt,
    YesOpt,
    confirm,
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


def _currency(text: str | None) -> str:
    from crmcli.cli.deals import default_currency

    return money.currency_code(text) if text else default_currency()


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
    code = _currency(currency)
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


# --- files --------------------------------------------------------------------------------------

#: the columns of `crm export purchases` (crm import purchases reads them back)
EXPORT_KEYS = (
    "id", "order_ref", "purchased_on", "contact_id", "contact", "email", "product", "quantity",
    "amount", "currency", "amount_minor", "deal_id", "source", "import_key", "created_at",
    "updated_at",
)  # fmt: skip


def export_rows(conn: Any, query: list[str] | None, contact: str | None, since: str | None,
                until: str | None) -> Any:  # fmt: skip
    """The purchases `crm export purchases` writes, oldest first."""
    filters = purchases.PurchaseFilters(
        contact_id=contacts.resolve(conn, contact) if contact else None,
        since=parse_date_option(since) if since else None,
        until=parse_date_option(until) if until else None,
        contacts=compile_words(conn, query),  # type: ignore[arg-type]
        oldest_first=True,
    )
    return purchases.list_purchases(conn, filters)


@contextmanager
def _opened(file: str) -> Iterator[tuple[IO[bytes], str]]:
    """The order file (``-``: stdin) in binary, with the name messages give it."""
    if file == "-":
        yield sys.stdin.buffer, "stdin"
        return
    path = Path(file)
    if path.is_dir():
        raise UsageError(f"{file} is a folder; give a file to import")
    with open(path, "rb") as binary:
        yield binary, path.name


def import_purchases(
    ctx: typer.Context,
    file: str,
    *,
    overrides: dict[str, str],
    save_map: str | None,
    use_map: str | None,
    encoding: str | None,
    delimiter: str | None,
    currency: str | None,
    dry_run: bool,
    create_contacts: bool,
) -> None:
    """``crm import purchases FILE``: see crmcli.purchase_import."""
    from crmcli import config, importer, purchase_import
    from crmcli.io import csv_in

    with _opened(file) as (binary, name):
        text = csv_in.open_text(binary, encoding)
        with database(ctx, write=not dry_run) as conn:
            if use_map:
                overrides = {**importer.load_map(conn, f"purchases:{use_map}"), **overrides}
            orders = purchase_import.open_orders(text, delimiter=delimiter, overrides=overrides)
            if orders.mapper.ignored:
                message(f"Ignored columns: {', '.join(orders.mapper.ignored[:8])}")
            options = purchase_import.ReadOptions(
                default_currency=_currency(currency),
                today=now().date(),
                day_first=config.load().day_first,
            )
            on_action = None
            if dry_run:
                sys.stdout.write("position\taction\tcustomer\tpurchase\n")

                def on_action(position: str, action: str, who: str, what: str) -> None:
                    sys.stdout.write(f"{position}\t{action}\t{who}\t{what}\n")

            result = purchase_import.import_purchases(
                conn,
                purchase_import.read_lines(orders.rows, orders.mapper, options),
                now=now(),
                dry_run=dry_run,
                create_contacts=create_contacts,
                on_action=on_action,
            )
            if save_map and not dry_run:
                importer.save_map(conn, f"purchases:{save_map}", overrides, now=now())
    counts = result.summary()
    head = "Dry run, nothing saved: would have imported" if dry_run else "Imported"
    message(
        f"{head} {counts['rows']} row{'s' if counts['rows'] != 1 else ''} from {name}: "
        f"{counts['added']} purchases added, {counts['skipped']} already there, "
        f"{counts['contacts_created']} new contacts"
    )
    if save_map and not dry_run:
        message(f"Saved the column mapping as {save_map!r} (reuse: --use-map {save_map})")
