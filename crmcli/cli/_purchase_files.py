"""Order files: ``crm import purchases FILE`` and ``crm export purchases`` (commands of the
import and export groups, crmcli/cli/io.py, which call these)."""

from __future__ import annotations

import sys
from typing import Any

import typer

from crmcli import contacts, purchases
from crmcli.cli._common import currency_option, database, input_file, now, parse_date_option
from crmcli.cli._output import message
from crmcli.cli._query import compile_words

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

    with input_file(file) as (binary, name):
        text = csv_in.open_text(binary, encoding)
        with database(ctx, write=not dry_run) as conn:
            if use_map:
                overrides = {**importer.load_map(conn, f"purchases:{use_map}"), **overrides}
            orders = purchase_import.open_orders(text, delimiter=delimiter, overrides=overrides)
            if orders.mapper.ignored:
                message(f"Ignored columns: {', '.join(orders.mapper.ignored[:8])}")
            options = purchase_import.ReadOptions(
                default_currency=currency_option(currency),
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
