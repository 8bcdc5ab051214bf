"""The full-text index behind ``crm search``: one FTS5 document per contact.

The document is an aggregate of several tables (emails, phones, tags, custom fields, notes), so it
is rebuilt here, in one INSERT ... SELECT per batch, by the code that changes those tables, rather
than by triggers on each of them.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from crmcli.errors import UsageError

# The search document of a contact. Phones are indexed by their digits, so "555 0100" and
# "(555) 0100" are the same token stream; tags by their text; the "fields" column holds what
# else a person may remember of someone: custom fields, nickname, middle name, department,
# role, addresses, handles and related people.
_DOCUMENT_SELECT = """
SELECT c.id, c.name,
  coalesce((SELECT group_concat(email, ' ') FROM contact_emails WHERE contact_id = c.id), ''),
  coalesce((SELECT group_concat(digits, ' ') FROM contact_phones WHERE contact_id = c.id), ''),
  coalesce(c.company, ''),
  coalesce(c.title, ''),
  coalesce((SELECT group_concat(t.name, ' ') FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id
            WHERE ct.contact_id = c.id), ''),
  coalesce(c.nickname || ' ', '') || coalesce(c.middle_name || ' ', '')
    || coalesce(c.department || ' ', '') || coalesce(c.role || ' ', '')
    || coalesce((SELECT group_concat(key || ' ' || value, ' ') FROM contact_fields
                 WHERE contact_id = c.id) || ' ', '')
    || coalesce((SELECT group_concat(coalesce(street, '') || ' ' || coalesce(city, '') || ' '
                 || coalesce(region, '') || ' ' || coalesce(postal_code, '') || ' '
                 || coalesce(country, ''), ' ') FROM contact_addresses
                 WHERE contact_id = c.id) || ' ', '')
    || coalesce((SELECT group_concat(handle, ' ') FROM contact_handles
                 WHERE contact_id = c.id) || ' ', '')
    || coalesce((SELECT group_concat(name, ' ') FROM contact_related
                 WHERE contact_id = c.id), ''),
  coalesce((SELECT group_concat(body, ' ') FROM notes
            WHERE contact_id = c.id AND deleted_at IS NULL), '')
FROM contacts c
"""

# Column weights for bm25(): a hit in the name counts most, a hit in a note least.
_WEIGHTS = "10.0, 6.0, 6.0, 4.0, 2.0, 3.0, 1.0, 1.0"

_PHONE_LIKE = re.compile(r"[\d\s()+.\-/]+")
_MIN_PHONE_DIGITS = 7


def reindex(conn: sqlite3.Connection, contact_ids: Iterable[int] | None = None) -> None:
    """Rebuild the search documents of ``contact_ids`` (all contacts when None)."""
    select = _DOCUMENT_SELECT
    if contact_ids is None:
        conn.execute("DELETE FROM contact_search")
        conn.execute(
            f"INSERT INTO contact_search(rowid, name, emails, phones, company, title, tags, fields, notes) {select}"
        )
        return
    import json  # here, not at the top: a plain word search never needs it

    ids = json.dumps(sorted(set(contact_ids)))
    conn.execute(
        "DELETE FROM contact_search WHERE rowid IN (SELECT value FROM json_each(?))", (ids,)
    )
    conn.execute(
        "INSERT INTO contact_search(rowid, name, emails, phones, company, title, tags, fields, notes) "
        f"{select} WHERE c.id IN (SELECT value FROM json_each(?))",
        (ids,),
    )


def fts_query(text: str) -> str:
    """Turn what a user typed into an FTS5 query: every word must match, as a prefix.

    Words are quoted, so FTS5 operators typed by accident (AND, NEAR, a stray quote) are plain text.
    """
    words = re.findall(r"\w+", text)
    if not words:
        raise UsageError(f"search text {text!r} has no letters or digits to look for")
    return " ".join(f'"{word}"*' for word in words)


def phone_digits(text: str) -> str | None:
    """The digits of a query that looks like a phone number, else None."""
    if not _PHONE_LIKE.fullmatch(text.strip()):
        return None
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) >= _MIN_PHONE_DIGITS else None


def _phone_matches(conn: sqlite3.Connection, digits: str) -> list[int]:
    """Contacts whose phone equals the digits, or ends with them, or is a suffix of them.

    "+1 (555) 010-2000" (15550102000) finds a stored 5550102000 (a suffix of the query), and
    "010-2000" finds 15550102000 (the stored number ends with the query).
    """
    import json

    reversed_digits = digits[::-1]
    suffixes = [digits[-k:] for k in range(_MIN_PHONE_DIGITS, len(digits) + 1)]
    rows = conn.execute(
        "SELECT DISTINCT contact_id FROM contact_phones "
        "WHERE (digits_rev >= ? AND digits_rev < ?) "
        "   OR digits IN (SELECT value FROM json_each(?))",
        # digits_rev starts with the reversed query: a range scan on its index (':' follows '9').
        (reversed_digits, reversed_digits + ":", json.dumps(suffixes)),
    )
    return [row[0] for row in rows]


def search_contacts(
    conn: sqlite3.Connection, text: str, *, limit: int = 50, include_deleted: bool = False
) -> Iterator[dict[str, Any]]:
    """Contacts matching ``text``, best first: phone-number matches, then FTS5 by bm25 rank."""
    from crmcli.contacts import LIST_COLUMNS_SQL

    seen: set[int] = set()
    live = "" if include_deleted else "AND c.deleted_at IS NULL"
    digits = phone_digits(text)
    if digits:
        ids = _phone_matches(conn, digits)[:limit]
        if ids:
            import json

            rows = conn.execute(
                f"SELECT {LIST_COLUMNS_SQL} FROM contacts c "
                f"WHERE c.id IN (SELECT value FROM json_each(?)) {live} ORDER BY c.name",
                (json.dumps(ids),),
            )
            for row in rows:
                seen.add(row["id"])
                yield _search_row(row, "phone")
    words = re.findall(r"\w+", text)
    if not words and digits:
        return
    query = fts_query(text)
    rows = conn.execute(
        f"SELECT {LIST_COLUMNS_SQL}, s.rank_ FROM ("
        f"  SELECT rowid, bm25(contact_search, {_WEIGHTS}) AS rank_ FROM contact_search"
        f"  WHERE contact_search MATCH ? ORDER BY rank_ LIMIT ?"
        f") s JOIN contacts c ON c.id = s.rowid WHERE 1 {live} ORDER BY s.rank_",
        (query, limit + len(seen)),
    )
    count = len(seen)
    for row in rows:
        if row["id"] in seen or count >= limit:
            continue
        count += 1
        yield _search_row(row, "text")


def count_matches(conn: sqlite3.Connection, text: str, *, include_deleted: bool = False) -> int:
    """How many contacts :func:`search_contacts` would find without a limit."""
    live = "" if include_deleted else "AND c.deleted_at IS NULL"
    found: set[int] = set()
    digits = phone_digits(text)
    if digits:
        found.update(_phone_matches(conn, digits))
    if re.findall(r"\w+", text):
        found.update(
            row[0]
            for row in conn.execute(
                "SELECT rowid FROM contact_search WHERE contact_search MATCH ?", (fts_query(text),)
            )
        )
    if not found:
        return 0
    import json

    row = conn.execute(
        f"SELECT count(*) FROM contacts c WHERE c.id IN (SELECT value FROM json_each(?)) {live}",
        (json.dumps(sorted(found)),),
    ).fetchone()
    return int(row[0])


def count_listed(conn: sqlite3.Connection, filters: Any) -> int:
    """How many contacts a query search (``ListFilters``) finds without its limit."""
    from crmcli.contacts import filter_sql

    where, params = filter_sql(filters)
    return int(conn.execute(f"SELECT count(*) FROM contacts c WHERE {where}", params).fetchone()[0])


def _search_row(row: sqlite3.Row, matched: str) -> dict[str, Any]:
    from crmcli.contacts import list_row

    out = list_row(row)
    out["matched"] = matched
    return out


def mail_addresses(
    conn: sqlite3.Connection, found: Iterable[dict[str, Any]]
) -> Iterator[tuple[str, str, str]]:
    """``(email, name, company)`` for every address of the contacts ``found`` (search rows),
    in their order: what a mail client's address query (mutt's query_command) wants."""
    import json

    rows = list(found)
    emails: dict[int, list[str]] = {}
    for contact_id, email in conn.execute(
        "SELECT contact_id, email FROM contact_emails "
        "WHERE contact_id IN (SELECT value FROM json_each(?)) ORDER BY contact_id, position, id",
        (json.dumps([row["id"] for row in rows]),),
    ):
        emails.setdefault(contact_id, []).append(email)
    for row in rows:
        for email in emails.get(row["id"], []):
            yield email, row["name"], row.get("company") or ""
