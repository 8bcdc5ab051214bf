"""One contact as a customer: what they bought, how much per currency, when, and how long ago
you were last in touch. ``crm contact show`` shows it; message templates read
:func:`placeholder_values` (``{last_product}``, ``{first_purchase_year}``...).

Every figure is read from the contact's own rows through the ``purchases_contact`` index (a few
index seeks), so showing a contact costs the same with 5 or 500,000 purchases in the database.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from crmcli import money

#: how many favourite products the profile lists
FAVOURITES = 3


def _days_between(earlier: date, later: date) -> int:
    return max(0, (later - earlier).days)


def last_touch_at(conn: sqlite3.Connection, contact_id: int) -> str | None:
    """When the contact was last in touch: the latest live note (a call, an email, a meeting, a
    note, a greeting sent...), not counting notes an import brought (they carry the import's time)."""
    row = conn.execute("SELECT last_touch_at FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    return row[0] if row else None


def customer_profile(conn: sqlite3.Connection, contact_id: int, *, today: date) -> dict[str, Any]:
    """The customer section of a contact (docs/json.md, ``customer``)."""
    from crmcli.clock import from_utc_text

    totals = []
    first: str | None = None
    last: str | None = None
    count = 0
    for row in conn.execute(
        "SELECT currency, count(*), sum(amount_minor), min(purchased_on), max(purchased_on) "
        "FROM purchases WHERE contact_id = ? AND deleted_at IS NULL "
        "GROUP BY currency ORDER BY count(*) DESC, currency",
        (contact_id,),
    ):
        currency, n, total, earliest, latest = row
        # the average, rounded half up to a whole minor unit
        average = (2 * total + n) // (2 * n)
        totals.append(
            {
                "currency": currency,
                "purchases": n,
                "total_minor": total,
                "total": money.to_decimal_text(total, currency),
                "average_minor": average,
                "average": money.to_decimal_text(average, currency),
            }
        )
        count += n
        first = earliest if first is None else min(first, earliest)
        last = latest if last is None else max(last, latest)
    favourites = [
        {"product": r[0], "purchases": r[1], "quantity": r[2]}
        for r in conn.execute(
            "SELECT min(product), count(*), sum(quantity) FROM purchases "
            "WHERE contact_id = ? AND deleted_at IS NULL AND product IS NOT NULL "
            "GROUP BY product COLLATE NOCASE ORDER BY count(*) DESC, sum(quantity) DESC, "
            "max(purchased_on) DESC LIMIT ?",
            (contact_id, FAVOURITES),
        )
    ]
    last_product = conn.execute(
        "SELECT product FROM purchases WHERE contact_id = ? AND deleted_at IS NULL "
        "AND product IS NOT NULL ORDER BY purchased_on DESC, id DESC LIMIT 1",
        (contact_id,),
    ).fetchone()
    touched = last_touch_at(conn, contact_id)
    return {
        "purchases": count,
        "first_purchase": first,
        "last_purchase": last,
        "last_product": last_product[0] if last_product else None,
        "totals": totals,
        "favourite_products": favourites,
        "days_since_last_purchase": (
            _days_between(date.fromisoformat(last), today) if last else None
        ),
        "last_touch_at": touched,
        "days_since_last_touch": (
            _days_between(from_utc_text(touched).date(), today) if touched else None
        ),
    }


def referred(conn: sqlite3.Connection, contact_id: int) -> list[dict[str, Any]]:
    """The live contacts this one referred (``contact show``: who they sent you)."""
    return [
        {"id": r[0], "name": r[1]}
        for r in conn.execute(
            "SELECT id, name FROM contacts WHERE referred_by_id = ? AND deleted_at IS NULL "
            "ORDER BY name COLLATE NOCASE, id",
            (contact_id,),
        )
    ]


#: the placeholders :func:`placeholder_values` fills (for message templates)
PLACEHOLDERS = (
    "purchases",
    "first_purchase",
    "first_purchase_year",
    "last_purchase",
    "last_product",
    "favourite_product",
    "total_spent",
    "days_since_last_purchase",
    "days_since_last_touch",
)


def placeholder_values(conn: sqlite3.Connection, contact_id: int, *, today: date) -> dict[str, str]:
    """A contact's customer profile as template text: every :data:`PLACEHOLDERS` name, ``""``
    where there is nothing to say (no purchase yet). ``total_spent`` is in the currency the
    contact bought most in (``1,250.00 EUR``), never a sum across currencies."""
    found = customer_profile(conn, contact_id, today=today)
    top = found["totals"][0] if found["totals"] else None

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    return {
        "purchases": str(found["purchases"]),
        "first_purchase": text(found["first_purchase"]),
        "first_purchase_year": text(found["first_purchase"] and found["first_purchase"][:4]),
        "last_purchase": text(found["last_purchase"]),
        "last_product": text(found["last_product"]),
        "favourite_product": (
            found["favourite_products"][0]["product"] if found["favourite_products"] else ""
        ),
        "total_spent": (
            money.format_money(top["total_minor"], top["currency"]) if top is not None else ""
        ),
        "days_since_last_purchase": text(found["days_since_last_purchase"]),
        "days_since_last_touch": text(found["days_since_last_touch"]),
    }
