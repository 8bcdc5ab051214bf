"""Purchases: what each customer bought, when, for how much. Owns the ``purchases`` table's SQL.

A purchase is one order line: a product (optional), a quantity, and the line's total amount in
integer minor units of its currency (as the pipeline keeps money: never a float, never summed
across currencies). ``purchased_on`` is a local calendar date.

Every purchase has an *import key*. An order line with an order id (``--ref``, or the order
column of an imported file) has ``order:<ref>`` + the product + its occurrence within the order;
a line without one that came from a file, a key made of all its values; any other purchase a
random one. A line whose key is known already is never added again, so importing the same orders
twice adds nothing, an order typed in by hand is not doubled when the shop's export is imported
later, and ``crm export purchases`` (which writes the key) imports back as nothing new.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from crmcli import money
from crmcli.clock import to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, UsageError, ValidationError

#: the longest product name and order id kept (longer ones are refused, not cut)
MAX_TEXT = 200
#: the most units one line may have (a typo guard, far above any real order line)
MAX_QUANTITY = 1_000_000


class NewPurchase(NamedTuple):
    """What ``crm purchase add`` (or an import row) knows about a purchase."""

    contact_id: int
    amount_minor: int
    currency: str
    purchased_on: date
    product: str | None = None
    quantity: int = 1
    order_ref: str | None = None


@dataclass
class PurchaseChanges:
    """What ``crm purchase edit`` changes; None means "leave as is"."""

    contact_id: int | None = None
    amount_minor: int | None = None
    currency: str | None = None
    purchased_on: date | None = None
    product: str | None = None
    quantity: int | None = None
    order_ref: str | None = None

    def is_empty(self) -> bool:
        return self == PurchaseChanges()


#: the keys of a purchase row (listing, export, JSON), in order
ROW_KEYS = (
    "id",
    "contact_id",
    "contact",
    "email",
    "purchased_on",
    "product",
    "quantity",
    "amount_minor",
    "currency",
    "amount",
    "order_ref",
    "deal_id",
    "source",
    "import_key",
    "created_at",
    "updated_at",
    "deleted_at",
)

_SELECT = """SELECT p.id, p.contact_id, c.name,
  (SELECT email FROM contact_emails WHERE contact_id = c.id ORDER BY position, id LIMIT 1),
  p.purchased_on, p.product, p.quantity, p.amount_minor, p.currency, NULL, p.order_ref,
  p.deal_id, p.source, p.import_key, p.created_at, p.updated_at, p.deleted_at
FROM purchases p JOIN contacts c ON c.id = p.contact_id"""


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    out = dict(zip(ROW_KEYS, values, strict=True))
    out["amount"] = money.to_decimal_text(out["amount_minor"], out["currency"])
    return out


def clean_text(value: str | None, what: str) -> str | None:
    """A product name or order id: trimmed, one line, not too long; empty is None."""
    if value is None:
        return None
    text = " ".join(value.split())
    if len(text) > MAX_TEXT:
        raise ValidationError(f"{what} is {len(text)} characters long; at most {MAX_TEXT}")
    return text or None


def validate_quantity(quantity: int) -> int:
    if not 0 < quantity <= MAX_QUANTITY:
        raise ValidationError(f"quantity {quantity} is not from 1 to {MAX_QUANTITY:,}")
    return quantity


def order_key(order_ref: str, product: str | None, occurrence: int) -> str:
    """The import key of the ``occurrence``-th line of ``product`` in order ``order_ref``."""
    import json

    return "order:" + json.dumps(
        [order_ref, (product or "").casefold(), occurrence], ensure_ascii=False
    )


def _next_order_key(conn: sqlite3.Connection, order_ref: str, product: str | None) -> str:
    occurrence = 1
    while conn.execute(
        "SELECT 1 FROM purchases WHERE import_key = ?", (order_key(order_ref, product, occurrence),)
    ).fetchone():
        occurrence += 1
    return order_key(order_ref, product, occurrence)


def _live_contact(conn: sqlite3.Connection, contact_id: int) -> None:
    if not conn.execute(
        "SELECT 1 FROM contacts WHERE id = ? AND deleted_at IS NULL", (contact_id,)
    ).fetchone():
        raise NotFound(f"no contact with id {contact_id}")


def add(
    conn: sqlite3.Connection,
    new: NewPurchase,
    *,
    now: datetime,
    source: str = "manual",
    deal_id: int | None = None,
) -> int:
    """Record a purchase; returns its id."""
    currency = money.currency_code(new.currency)
    if new.amount_minor < 0:
        raise ValidationError("a purchase's amount cannot be negative")
    validate_quantity(new.quantity)
    product = clean_text(new.product, "the product name")
    order_ref = clean_text(new.order_ref, "the order id")
    stamp = to_utc_text(now)
    with transaction(conn):
        _live_contact(conn, new.contact_id)
        # Every purchase has a key, so an export imported back adds nothing (see the module doc).
        key = _next_order_key(conn, order_ref, product) if order_ref else f"id:{uuid.uuid4()}"
        cursor = conn.execute(
            "INSERT INTO purchases (contact_id, purchased_on, product, quantity, amount_minor, "
            "currency, order_ref, import_key, deal_id, source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new.contact_id,
                new.purchased_on.isoformat(),
                product,
                new.quantity,
                new.amount_minor,
                currency,
                order_ref,
                key,
                deal_id,
                source,
                stamp,
                stamp,
            ),
        )
        purchase_id = int(cursor.lastrowid or 0)
        emit_purchase(conn, purchase_id, new.contact_id, new.purchased_on, now=now)
        return purchase_id


def emit_purchase(
    conn: sqlite3.Connection, purchase_id: int, contact_id: int, on: date, *, now: datetime
) -> None:
    """The ``purchase`` event (rules, hooks), for every way a purchase is recorded."""
    from crmcli import events

    events.emit(
        conn, "purchase", purchase_id, contact_id=contact_id, now=now, purchased_on=on.isoformat()
    )


def parse_ref(text: str) -> int:
    """A purchase reference: its id, optionally written ``#12``."""
    raw = text.strip().removeprefix("#")
    if not raw.isdigit():
        raise NotFound(f"purchase {text!r} is not a purchase id (see crm purchase list)")
    return int(raw)


def get(
    conn: sqlite3.Connection, purchase_id: int, *, include_deleted: bool = False
) -> dict[str, Any]:
    """One purchase as a row (:data:`ROW_KEYS`); NotFound when missing or in the trash."""
    cursor = conn.cursor()
    cursor.row_factory = None
    found = cursor.execute(f"{_SELECT} WHERE p.id = ?", (purchase_id,)).fetchone()
    if found is None or (found[-1] and not include_deleted):
        raise NotFound(f"no purchase with id {purchase_id} (see crm purchase list)")
    return _row(found)


def edit(
    conn: sqlite3.Connection, purchase_id: int, changes: PurchaseChanges, *, now: datetime
) -> dict[str, Any]:
    """Change a purchase; returns it as saved."""
    if changes.is_empty():
        raise UsageError("nothing to change: give options (see crm purchase edit --help)")
    sets: dict[str, Any] = {}
    with transaction(conn):
        row = get(conn, purchase_id)
        sets.update(
            money.amount_change(
                row, changes.currency, changes.amount_minor, what="amount", owner="a purchase"
            )
        )
        if changes.quantity is not None:
            sets["quantity"] = validate_quantity(changes.quantity)
        if changes.purchased_on is not None:
            sets["purchased_on"] = changes.purchased_on.isoformat()
        if changes.product is not None:
            sets["product"] = clean_text(changes.product, "the product name")
        if changes.order_ref is not None:
            sets["order_ref"] = clean_text(changes.order_ref, "the order id")
        if changes.contact_id is not None:
            _live_contact(conn, changes.contact_id)
            sets["contact_id"] = changes.contact_id
        sets["updated_at"] = to_utc_text(now)
        assignments = ", ".join(f"{column} = ?" for column in sets)
        conn.execute(
            f"UPDATE purchases SET {assignments} WHERE id = ?", (*sets.values(), purchase_id)
        )
        return get(conn, purchase_id)


def trash(conn: sqlite3.Connection, purchase_id: int, *, now: datetime) -> dict[str, Any]:
    """Move a purchase to the trash (``crm purchase restore`` brings it back)."""
    with transaction(conn):
        row = get(conn, purchase_id)
        conn.execute(
            "UPDATE purchases SET deleted_at = ? WHERE id = ?", (to_utc_text(now), purchase_id)
        )
        return row


def restore(conn: sqlite3.Connection, purchase_id: int) -> dict[str, Any]:
    """Bring a purchase back from the trash."""
    with transaction(conn):
        row = get(conn, purchase_id, include_deleted=True)
        if not row["deleted_at"]:
            raise ValidationError(f"purchase {purchase_id} is not in the trash")
        conn.execute("UPDATE purchases SET deleted_at = NULL WHERE id = ?", (purchase_id,))
        return get(conn, purchase_id)


# --- won deals ----------------------------------------------------------------------------------


def record_won_deal(conn: sqlite3.Connection, deal_id: int, *, now: datetime) -> int:
    """The purchase a won deal became: its value, currency, title and closing day.

    At most one per deal: winning a deal again (after a reopen) brings its purchase back from
    the trash, updated, instead of adding a second one. Returns the purchase id.
    """
    from crmcli.clock import from_utc_text

    with transaction(conn):
        deal = conn.execute(
            "SELECT contact_id, title, value_minor, currency, closed_at FROM deals WHERE id = ?",
            (deal_id,),
        ).fetchone()
        if deal is None:
            raise NotFound(f"no deal with id {deal_id}")
        closed = from_utc_text(deal["closed_at"]).date() if deal["closed_at"] else now.date()
        stamp = to_utc_text(now)
        existing = conn.execute("SELECT id FROM purchases WHERE deal_id = ?", (deal_id,)).fetchone()
        if existing:
            conn.execute(
                "UPDATE purchases SET contact_id = ?, product = ?, amount_minor = ?, "
                "currency = ?, purchased_on = ?, deleted_at = NULL, updated_at = ? WHERE id = ?",
                (
                    deal["contact_id"],
                    clean_text(deal["title"][:MAX_TEXT], "the product name"),
                    deal["value_minor"],
                    deal["currency"],
                    closed.isoformat(),
                    stamp,
                    existing[0],
                ),
            )
            return int(existing[0])
        return add(
            conn,
            NewPurchase(
                contact_id=deal["contact_id"],
                amount_minor=deal["value_minor"],
                currency=deal["currency"],
                purchased_on=closed,
                product=deal["title"][:MAX_TEXT],
            ),
            now=now,
            source="deal",
            deal_id=deal_id,
        )


def trash_for_deal(conn: sqlite3.Connection, deal_id: int, *, now: datetime) -> int | None:
    """A reopened deal was not a sale after all: its purchase goes to the trash. Its id, or None."""
    row = conn.execute(
        "SELECT id FROM purchases WHERE deal_id = ? AND deleted_at IS NULL", (deal_id,)
    ).fetchone()
    if row is None:
        return None
    conn.execute(
        "UPDATE purchases SET deleted_at = ?, updated_at = ? WHERE id = ?",
        (to_utc_text(now), to_utc_text(now), row[0]),
    )
    return int(row[0])


# --- listing ------------------------------------------------------------------------------------


@dataclass
class PurchaseFilters:
    """Filters of ``crm purchase list`` and ``crm export purchases``."""

    contact_id: int | None = None
    product: str | None = None
    currency: str | None = None
    since: date | None = None
    until: date | None = None
    #: a compiled contact query (crmcli.query): only these contacts' purchases
    contacts: tuple[str, list[Any]] | None = None
    limit: int | None = None
    deleted: bool = False
    oldest_first: bool = False


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_purchases(conn: sqlite3.Connection, filters: PurchaseFilters) -> Iterator[dict[str, Any]]:
    """Purchases matching ``filters``, newest first (by day, then id); streamed."""
    where = ["p.deleted_at IS NOT NULL" if filters.deleted else "p.deleted_at IS NULL"]
    where.append("c.deleted_at IS NULL")
    params: list[Any] = []
    if filters.contact_id is not None:
        where.append("p.contact_id = ?")
        params.append(filters.contact_id)
    if filters.product:
        where.append("p.product LIKE ? ESCAPE '\\'")
        params.append(f"{_escape_like(filters.product.strip())}%")
    if filters.currency:
        where.append("p.currency = ?")
        params.append(money.currency_code(filters.currency))
    if filters.since is not None:
        where.append("p.purchased_on >= ?")
        params.append(filters.since.isoformat())
    if filters.until is not None:
        where.append("p.purchased_on < ?")
        params.append(filters.until.isoformat())
    if filters.contacts is not None:
        where.append(f"({filters.contacts[0]})")
        params.extend(filters.contacts[1])
    direction = "ASC" if filters.oldest_first else "DESC"
    sql = (
        f"{_SELECT} WHERE {' AND '.join(where)} "
        f"ORDER BY p.purchased_on {direction}, p.id {direction}"
    )
    if filters.limit is not None:
        sql += " LIMIT ?"
        params.append(filters.limit)
    cursor = conn.cursor()
    cursor.row_factory = None
    for values in cursor.execute(sql, params):
        yield _row(values)


def main_currency(conn: sqlite3.Connection, default: str) -> str:
    """The currency most live purchases are in (``default`` when there are none)."""
    row = conn.execute(
        "SELECT currency FROM purchases WHERE deleted_at IS NULL "
        "GROUP BY currency ORDER BY count(*) DESC, currency LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else default


def history_events(conn: sqlite3.Connection, contact_id: int) -> list[Any]:
    """The contact's purchases for ``crm history`` (at the local noon of their day, UTC text)."""
    from crmcli.history import HistoryEvent

    rows = conn.execute(
        "SELECT id, purchased_on, product, quantity, amount_minor, currency, created_at "
        "FROM purchases WHERE contact_id = ? AND deleted_at IS NULL",
        (contact_id,),
    )
    events = []
    for r in rows:
        what = r["product"] or "a purchase"
        quantity = f"{r['quantity']} x " if r["quantity"] != 1 else ""
        value = money.format_money(r["amount_minor"], r["currency"])
        at = to_utc_text(datetime.fromisoformat(f"{r['purchased_on']}T12:00"))
        events.append(
            HistoryEvent(
                at, "purchase", f"Bought {quantity}{what} ({value})", f"purchase {r['id']}"
            )
        )
    return events
