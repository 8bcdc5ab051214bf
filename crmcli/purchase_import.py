"""``crm import purchases FILE``: order exports from shops and accounting tools, as purchases.

A CSV file with one row per order line (or per order): order id, date, customer email or name,
product, quantity, amount, currency. Columns are found by name (:data:`ALIASES`, or ``--map``),
never by position. Shop exports that write the order's details on its first line only (the
customer, the date) have them carried to the order's other lines.

The customer of a row is found by the identity rules, as an imported contact is
(:mod:`crmcli.identity`): its email, else its full name and company; one that is not there yet
is created (unless told not to), and a row that could be several contacts is refused. All or nothing: a bad row
stops the whole import, and every bad row is listed. A line already imported (the same import
key, see :mod:`crmcli.purchases`) is skipped, so importing the same orders again adds nothing.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from crmcli import money, purchases
from crmcli.clock import to_utc_text
from crmcli.db import transaction
from crmcli.errors import UsageError, ValidationError

#: what ``--map "Column=TARGET"`` accepts for purchases
TARGETS = ("order", "date", "email", "name", "company", "product", "quantity", "amount",
           "unit_price", "currency", "key", "ignore")  # fmt: skip
#: header (lower case, letters and digits only) -> target
ALIASES: dict[str, str] = {}
for _target, _names in (
    ("order", ("order", "order id", "order number", "order no", "order ref", "order_ref",
               "order reference", "order name", "invoice", "invoice number", "invoice no",
               "transaction id", "receipt", "receipt number", "ref")),
    ("date", ("date", "order date", "purchase date", "purchased on", "purchased_on", "created at",
              "created", "paid at", "invoice date", "transaction date", "date paid")),
    ("email", ("email", "e-mail", "customer email", "billing email", "buyer email",
               "email address", "customer e-mail", "contact email")),
    ("name", ("customer", "customer name", "billing name", "buyer", "buyer name", "client",
              "client name", "contact", "contact name", "full name", "billing full name")),
    ("company", ("company", "company name", "billing company", "customer company",
                 "organization", "organisation")),
    ("product", ("product", "product name", "item", "item name", "lineitem name", "line item",
                 "description", "article", "service")),
    ("quantity", ("quantity", "qty", "lineitem quantity", "units", "item quantity", "count")),
    ("amount", ("amount", "line total", "item total", "line amount", "total amount",
                "amount_minor_text", "net amount", "gross amount", "subtotal", "total")),
    ("unit_price", ("unit price", "price", "lineitem price", "item price", "item cost",
                    "price per unit")),
    ("currency", ("currency", "order currency", "currency code")),
):  # fmt: skip
    for _name in _names:
        ALIASES[re.sub(r"[^a-z0-9]", "", _name)] = _target
# an order total is a line's amount only when nothing better is there
_WEAK = {"total", "subtotal"}
#: the columns of crmcli's own export (crm export purchases): read back as they are
_OWN = {
    "order_ref": "order",
    "purchased_on": "date",
    "contact": "name",
    "amount": "amount",
    "import_key": "key",
}


def _compact(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.replace("\ufeff", "").strip().lower())


def parse_map_option(text: str) -> tuple[str, str]:
    """``"Kunde=name"`` -> ("Kunde", "name"), the target checked."""
    column, sep, target = text.rpartition("=")
    target = target.strip().lower().replace("-", "_")
    if not sep or not column.strip() or not target:
        raise UsageError(f"--map {text!r} needs the form 'Column name=target' (e.g. 'Kunde=name')")
    if target not in TARGETS:
        raise UsageError(
            f"--map target {target!r} is not known for purchases; use one of: {', '.join(TARGETS)}"
        )
    return column.strip(), target


@dataclass
class OrderMapper:
    """Which column holds what (target -> column index), from a header and ``--map``."""

    header: list[str]
    columns: dict[str, int] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def build_mapper(header: list[str], overrides: dict[str, str]) -> OrderMapper:
    by_name = {k.strip().lower(): v for k, v in overrides.items()}
    known = {h.strip().lower() for h in header}
    missing = [k for k in overrides if k.strip().lower() not in known]
    if missing:
        raise UsageError(
            f"--map names column {missing[0]!r}, which is not in the file "
            f"(its columns: {', '.join(h for h in header[:12] if h)})"
        )
    mapper = OrderMapper(header)
    weak: dict[str, int] = {}
    # Shopify names the order "Name" (#1001) and the customer "Billing Name"
    shopify = "lineitem name" in known
    for index, name in enumerate(header):
        key = name.strip().lower()
        target = by_name.get(key) or _OWN.get(key) or ALIASES.get(_compact(name))
        if shopify and key == "name" and key not in by_name:
            target = "order"
        if target is None:
            if name.strip():
                mapper.ignored.append(name.strip())
            continue
        if target == "ignore":
            continue
        if key not in by_name and _compact(name) in _WEAK:
            weak.setdefault(target, index)
        else:
            mapper.columns.setdefault(target, index)
    for target, index in weak.items():
        if target == "amount" and "unit_price" in mapper.columns:
            continue  # a per-order total beside line prices (Shopify): the lines are better
        mapper.columns.setdefault(target, index)
    _check_required(mapper)
    return mapper


def _check_required(mapper: OrderMapper) -> None:
    """An amount, a customer and a date column, or the way to name them."""
    if "amount" not in mapper.columns and "unit_price" not in mapper.columns:
        raise ValidationError(
            "the file has no amount column (amount, total, line total or price); "
            "name it with --map 'COLUMN=amount'"
        )
    if "email" not in mapper.columns and "name" not in mapper.columns:
        raise ValidationError(
            "the file has no customer column (email or customer name); "
            "name it with --map 'COLUMN=email' or --map 'COLUMN=name'"
        )
    if "date" not in mapper.columns:
        raise ValidationError("the file has no date column; name it with --map 'COLUMN=date'")


@dataclass
class OrderLine:
    """One row of an order file, read and checked (amount in minor units)."""

    position: str
    order_ref: str | None
    purchased_on: date
    email: str | None
    name: str | None
    company: str | None
    product: str | None
    quantity: int
    amount_minor: int
    currency: str
    key: str = ""


_SYMBOLS = str.maketrans("", "", "$€£¥₹₩₽₺₪฿ \u00a0'")
_EURO_DECIMAL = re.compile(r"^\d{1,3}(?:\.\d{3})+,\d+$|^\d+,\d{1,4}$")


def parse_money_cell(text: str, currency: str, what: str) -> Decimal:
    """``"€1,200.50"``, ``"1.200,50"``, ``"1200.50 EUR"`` -> Decimal("1200.50"), exactly."""
    raw = text.strip()
    cleaned = re.sub(rf"(?i)^{currency}\s*|\s*{currency}$", "", raw).translate(_SYMBOLS)
    if _EURO_DECIMAL.match(cleaned):
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    if cleaned.startswith("-"):
        raise ValidationError(f"{what} {raw!r} is negative (a refund: remove or edit the purchase)")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError(f"{what} {raw!r} is not an amount") from None
    if not value.is_finite():
        raise ValidationError(f"{what} {raw!r} is not an amount")
    return value


def to_minor(value: Decimal, currency: str, what: str, shown: str) -> int:
    scaled = value.scaleb(money.CURRENCIES[currency])
    if scaled != scaled.to_integral_value():
        raise ValidationError(f"{what} {shown!r} has more decimals than {currency} has")
    return int(scaled)


_ISO_START = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")
_TIME_END = re.compile(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2}|[ap]m)?$", re.I)


def parse_order_date(text: str, today: date, day_first: bool) -> date:
    """An order's date: ISO (with or without a time and offset), or any date expression."""
    from crmcli.dates import parse_date

    iso = _ISO_START.match(text.strip())
    if iso:
        return date(int(iso[1]), int(iso[2]), int(iso[3]))
    return parse_date(_TIME_END.sub("", text.strip()), today, day_first=day_first)


@dataclass
class ReadOptions:
    default_currency: str
    today: date
    day_first: bool = False


def read_lines(
    rows: Iterable[tuple[str, list[str]]], mapper: OrderMapper, options: ReadOptions
) -> Iterator[OrderLine | tuple[str, str]]:
    """Each row as an :class:`OrderLine`, or ``(position, reason)`` when it cannot be one."""
    columns = mapper.columns
    previous: dict[str, str] = {}
    occurrences: dict[str, int] = {}
    for position, row in rows:

        def cell(target: str, row: list[str] = row) -> str:
            index = columns.get(target)
            return row[index].strip() if index is not None and index < len(row) else ""

        values = {target: cell(target) for target in columns}
        order = values.get("order", "")
        if order and previous.get("order") == order:
            for carried in ("date", "email", "name", "company", "currency"):
                if not values.get(carried):
                    values[carried] = previous.get(carried, "")
        previous = values
        try:
            line = _line(position, values, options)
        except (ValidationError, UsageError) as error:
            yield position, error.message
            continue
        line.key = values.get("key") or _import_key(line, occurrences)
        yield line


def _line(position: str, values: dict[str, str], options: ReadOptions) -> OrderLine:
    from crmcli import purchases
    from crmcli.contacts import validate_email

    code = money.currency_code(values.get("currency") or options.default_currency)
    if not values.get("date"):
        raise ValidationError("no date")
    try:
        on = parse_order_date(values["date"], options.today, options.day_first)
    except UsageError:
        raise ValidationError(f"date {values['date']!r} is not a date") from None
    email = values.get("email") or None
    if email:
        email = validate_email(email)
    name = " ".join((values.get("name") or "").split()) or None
    if not (email or name):
        raise ValidationError("no customer (an email or a name)")
    quantity_text = values.get("quantity") or "1"
    try:
        quantity_value = Decimal(quantity_text.replace(",", "."))
    except InvalidOperation:
        quantity_value = Decimal(0)
    if quantity_value != quantity_value.to_integral_value() or quantity_value < 1:
        raise ValidationError(f"quantity {quantity_text!r} is not a whole number of 1 or more")
    quantity = purchases.validate_quantity(int(quantity_value))
    if values.get("amount"):
        amount = parse_money_cell(values["amount"], code, "amount")
        minor = to_minor(amount, code, "amount", values["amount"])
    elif values.get("unit_price"):
        unit = parse_money_cell(values["unit_price"], code, "price")
        minor = to_minor(unit, code, "price", values["unit_price"]) * quantity
    else:
        raise ValidationError("no amount")
    return OrderLine(
        position=position,
        order_ref=purchases.clean_text(values.get("order"), "the order id"),
        purchased_on=on,
        email=email,
        name=name,
        company=" ".join((values.get("company") or "").split()) or None,
        product=purchases.clean_text(values.get("product"), "the product name"),
        quantity=quantity,
        amount_minor=minor,
        currency=code,
    )


def _import_key(line: OrderLine, occurrences: dict[str, int]) -> str:
    import json

    from crmcli.purchases import order_key

    product = (line.product or "").casefold()
    if line.order_ref:
        parts: list[Any] = [line.order_ref, product]
    else:
        who = (line.email or line.name or "").casefold()
        parts = [line.purchased_on.isoformat(), who, product, line.quantity, line.amount_minor,
                 line.currency]  # fmt: skip
    base = json.dumps(parts, ensure_ascii=False)
    occurrences[base] = occurrences.get(base, 0) + 1
    if line.order_ref:
        return order_key(line.order_ref, line.product, occurrences[base])
    return "row:" + json.dumps([*parts, occurrences[base]], ensure_ascii=False)


# --- the import -----------------------------------------------------------------------------------


@dataclass
class PurchaseImportResult:
    rows: int = 0
    added: int = 0
    skipped: int = 0
    contacts_created: int = 0
    rejected: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "added": self.added,
            "skipped": self.skipped,
            "contacts_created": self.contacts_created,
            "rejected": self.rejected,
        }


#: how many bad rows an all-or-nothing failure lists (the count is always exact)
MAX_LISTED = 100


class PurchasesRejected(ValidationError):
    """Bad rows: nothing was imported."""

    def __init__(self, result: PurchaseImportResult) -> None:
        listed = "\n".join(f"  {pos}: {reason}" for pos, reason in result.problems)
        more = result.rejected - len(result.problems)
        if more > 0:
            listed += f"\n  ... and {more} more"
        super().__init__(
            f"{result.rejected} row(s) cannot be imported, so nothing was imported",
            hint=f"{listed}\nFix them (or map the columns with --map) and import again.",
        )
        self.result = result


class _DryRun(Exception):
    pass


#: (position, action, contact name, purchase text) for every row, in a dry run
ActionHook = Callable[[str, str, str, str], None]


def _find_contact(conn: sqlite3.Connection, line: OrderLine) -> int | None:
    """The live contact of a line by the identity rules (its email, else its full name and
    company), None when there is none; ValidationError when it could be several."""
    from crmcli import identity

    incoming = identity.profile(
        emails=[line.email] if line.email else (), name=line.name, company=line.company
    )
    found = identity.strongest(identity.find_matches(conn, incoming))
    if len(found) > 1:
        ids = " or ".join(str(m.contact_id) for m in found[:2])
        if found[0].verdict.level == identity.EMAIL:
            raise ValidationError(
                f"contact {ids}: both have the email {line.email!r}; merge them (crm dedupe) "
                "and import again"
            )
        if line.email:
            raise ValidationError(
                f"{line.name!r} could be contact {ids}, and neither has the email "
                f"{line.email!r}; add it to the right one (crm contact edit) and import again"
            )
        raise ValidationError(
            f"several contacts are named {line.name!r} (contacts {ids}); "
            "add an email column to tell them apart"
        )
    return found[0].contact_id if found else None


def _create_contact(conn: sqlite3.Connection, line: OrderLine, now: datetime) -> int:
    from crmcli import contacts
    from crmcli.contact_changes import ContactChanges
    from crmcli.contacts import Labeled

    text: dict[str, str | None] = {"source": "purchase import", "company": line.company}
    if line.name:
        first, _, last = line.name.partition(" ")
        text.update(first_name=first, last_name=last or None)
    changes = ContactChanges(
        text=text, add_emails=[Labeled(line.email)] if line.email else [], add_tags=["customer"]
    )
    return contacts.create(conn, changes, now=now)


def import_purchases(
    conn: sqlite3.Connection,
    lines: Iterable[OrderLine | tuple[str, str]],
    *,
    now: datetime,
    dry_run: bool = False,
    create_contacts: bool = True,
    on_action: ActionHook | None = None,
) -> PurchaseImportResult:
    """Import ``lines`` in one transaction (see the module docstring); PurchasesRejected if any
    is bad. A dry run does everything, then rolls back: its counts are exact."""
    result = PurchaseImportResult()
    act = on_action or _no_action
    try:
        with transaction(conn):
            for line in lines:
                result.rows += 1
                if isinstance(line, tuple):
                    _reject(result, *line)
                    act(line[0], "reject", "", line[1])
                    continue
                _import_line(conn, line, result, act, now=now, create_contacts=create_contacts)
            if result.rejected:
                raise PurchasesRejected(result)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


def _no_action(position: str, action: str, who: str, what: str) -> None:
    pass


def _import_line(
    conn: sqlite3.Connection,
    line: OrderLine,
    result: PurchaseImportResult,
    act: ActionHook,
    *,
    now: datetime,
    create_contacts: bool,
) -> None:
    """One checked line: skipped (imported before), rejected, or added (to its customer, found
    by the identity rules or created). After a rejection, lines are only checked."""
    who = line.email or line.name or ""
    what = f"{line.product or 'purchase'} {money.format_money(line.amount_minor, line.currency)}"
    if conn.execute("SELECT 1 FROM purchases WHERE import_key = ?", (line.key,)).fetchone():
        result.skipped += 1
        act(line.position, "skip (imported before)", who, what)
        return
    try:
        contact_id = _find_contact(conn, line)
    except ValidationError as error:
        _reject(result, line.position, error.message)
        act(line.position, "reject", who, error.message)
        return
    action = "add"
    if contact_id is None:
        if not create_contacts:
            reason = f"no contact with email or name {who!r} (or allow creating them)"
            _reject(result, line.position, reason)
            act(line.position, "reject", who, reason)
            return
        contact_id = _create_contact(conn, line, now)
        result.contacts_created += 1
        action = "add (new contact)"
    if result.rejected:
        return  # checking the rest of the file; nothing more is written
    _insert(conn, line, contact_id, stamp=to_utc_text(now), now=now)
    result.added += 1
    act(line.position, action, who, what)


def _insert(
    conn: sqlite3.Connection, line: OrderLine, contact_id: int, *, stamp: str, now: datetime
) -> None:
    cursor = conn.execute(
        "INSERT INTO purchases (contact_id, purchased_on, product, quantity, amount_minor, "
        "currency, order_ref, import_key, source, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'import', ?, ?)",
        (
            contact_id,
            line.purchased_on.isoformat(),
            line.product,
            line.quantity,
            line.amount_minor,
            line.currency,
            line.order_ref,
            line.key,
            stamp,
            stamp,
        ),
    )
    purchases.emit_purchase(
        conn, int(cursor.lastrowid or 0), contact_id, line.purchased_on, now=now
    )


def _reject(result: PurchaseImportResult, position: str, reason: str) -> None:
    result.rejected += 1
    if len(result.problems) < MAX_LISTED:
        result.problems.append((position, reason))


@dataclass
class OrderFile:
    """An open order CSV: its delimiter, its mapper and its data rows (iterate once)."""

    delimiter: str
    mapper: OrderMapper
    rows: Iterator[tuple[str, list[str]]]


def open_orders(text: Any, *, delimiter: str | None, overrides: dict[str, str]) -> OrderFile:
    """Read the header of ``text`` (crmcli.io.csv_in.TextSource) and map its columns."""
    import csv

    from crmcli.io.csv_in import sniff_delimiter
    from crmcli.io.csv_rows import data_rows, delimiter_option
    from crmcli.io.text_in import not_decodable

    used = delimiter_option(delimiter) or sniff_delimiter(text.sample)
    reader = csv.reader(text.stream, delimiter=used, strict=True)
    try:
        header = next((row for row in reader if any(c.strip() for c in row)), [])
    except UnicodeDecodeError:
        raise not_decodable(text.encoding) from None
    except csv.Error as exc:
        raise ValidationError(f"the header cannot be read as CSV ({exc})") from None
    if not header:
        raise ValidationError("the file has no header row (a first line naming the columns)")
    mapper = build_mapper([h.replace("\ufeff", "") for h in header], overrides)
    return OrderFile(used, mapper, data_rows(reader, text.encoding, own=True))
