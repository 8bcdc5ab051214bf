"""Referrals (word of mouth): who referred whom, and what the people they sent were worth.

A referral is a contact's ``referred_by``. Its value is what the referred contact bought
(live purchases) plus the deals they won that are not recorded as a purchase already (a won
deal turned into a purchase counts once). Values stay per currency.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from crmcli import money

#: the keys of a referral row (docs/json.md)
ROW_KEYS = (
    "referrer_id",
    "referrer",
    "contact_id",
    "name",
    "referred_at",
    "bought",
    "won",
    "value",
)
#: the keys of a top-referrer row
TOP_KEYS = (
    "referrer_id",
    "referrer",
    "referred",
    "customers",
    "currency",
    "value_minor",
    "value",
    "other_currencies",
)

_BOUGHT = """(SELECT group_concat(currency || ' ' || total, ';') FROM (
  SELECT currency, sum(amount_minor) AS total FROM purchases
  WHERE contact_id = c.id AND deleted_at IS NULL GROUP BY currency ORDER BY currency))"""
_WON = """(SELECT group_concat(currency || ' ' || total, ';') FROM (
  SELECT d.currency, sum(d.value_minor) AS total FROM deals d JOIN stages s ON s.id = d.stage_id
  WHERE d.contact_id = c.id AND d.deleted_at IS NULL AND s.kind = 'won'
    AND NOT EXISTS (SELECT 1 FROM purchases p WHERE p.deal_id = d.id AND p.deleted_at IS NULL)
  GROUP BY d.currency ORDER BY d.currency))"""


def _amounts(packed: str | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in (packed or "").split(";"):
        if part:
            currency, total = part.split(" ")
            out[currency] = int(total)
    return out


def _listed(amounts: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"currency": cur, "amount_minor": minor, "amount": money.to_decimal_text(minor, cur)}
        for cur, minor in sorted(amounts.items())
    ]


def _pairs(conn: sqlite3.Connection, referrer_id: int | None) -> sqlite3.Cursor:
    where = "c.deleted_at IS NULL AND r.deleted_at IS NULL"
    params: tuple[Any, ...] = ()
    if referrer_id is not None:
        where += " AND r.id = ?"
        params = (referrer_id,)
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(
        f"SELECT r.id, r.name, c.id, c.name, c.created_at, {_BOUGHT}, {_WON} "
        "FROM contacts c JOIN contacts r ON r.id = c.referred_by_id "
        f"WHERE {where} ORDER BY r.name COLLATE NOCASE, r.id, c.name COLLATE NOCASE, c.id",
        params,
    )


def list_referrals(
    conn: sqlite3.Connection, *, referrer_id: int | None = None
) -> Iterator[dict[str, Any]]:
    """Every referral (or one referrer's), by referrer then referred name."""
    for rid, rname, cid, cname, created, bought, won in _pairs(conn, referrer_id):
        bought_by = _amounts(bought)
        won_by = _amounts(won)
        both = {cur: bought_by.get(cur, 0) + won_by.get(cur, 0) for cur in {*bought_by, *won_by}}
        yield {
            "referrer_id": rid,
            "referrer": rname,
            "contact_id": cid,
            "name": cname,
            "referred_at": created,
            "bought": _listed(bought_by),
            "won": _listed(won_by),
            "value": "; ".join(money.format_money(v, c) for c, v in sorted(both.items())),
        }


def top_referrers(
    conn: sqlite3.Connection, *, currency: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """Referrers ranked by the value (in ``currency``) of the people they sent, then by how many
    they sent. Values in other currencies are listed beside, never added in."""
    code = money.currency_code(currency)
    by_referrer: dict[int, dict[str, Any]] = {}
    for rid, rname, _cid, _cname, _created, bought, won in _pairs(conn, None):
        entry = by_referrer.setdefault(
            rid, {"referrer_id": rid, "referrer": rname, "referred": 0, "customers": 0, "by": {}}
        )
        entry["referred"] += 1
        amounts = _amounts(bought)
        for cur, minor in _amounts(won).items():
            amounts[cur] = amounts.get(cur, 0) + minor
        if amounts:
            entry["customers"] += 1
        for cur, minor in amounts.items():
            entry["by"][cur] = entry["by"].get(cur, 0) + minor
    rows = []
    for entry in by_referrer.values():
        values: dict[str, int] = entry.pop("by")
        minor = values.pop(code, 0)
        entry.update(
            currency=code,
            value_minor=minor,
            value=money.to_decimal_text(minor, code),
            other_currencies="; ".join(money.format_money(v, c) for c, v in sorted(values.items())),
        )
        rows.append(entry)
    rows.sort(key=lambda e: (-e["value_minor"], -e["customers"], -e["referred"], e["referrer"]))
    return rows[:limit] if limit is not None else rows
