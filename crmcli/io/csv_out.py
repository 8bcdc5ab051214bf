"""Exporting contacts: one streamed query, written as CSV (for spreadsheets), JSON, JSONL or vCard.

Each contact comes out of one SQL query with its emails, phones, tags, custom fields and dates
packed into single columns (joined with ASCII unit/record separators), so nothing is held in
memory beyond the current row. The CSV writer is generic (:func:`write_csv`), so another table
(notes, reminders, deals) only needs a function that yields dictionaries.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from crmcli.contact_values import Address
from crmcli.contacts import ADDRESS_PARTS, TEXT_FIELDS, ListFilters, filter_sql, order_sql
from crmcli.errors import NotFound, UsageError

# the one CSV writer and its spreadsheet policy (crmcli.io.csv_policy), for the exports
from crmcli.io.csv_policy import write_csv as write_csv

# the one JSON writer (crmcli.io.json_out), for the exports
from crmcli.io.json_out import write_json as write_json

_US, _RS = "\x1f", "\x1e"

#: the first address and URL under their names from before there were lists (JSON only)
LEGACY_KEYS = (*ADDRESS_PARTS, "website")
#: the keys of one exported contact (JSON, JSONL; CSV flattens the lists)
EXPORT_KEYS = (
    "uid",
    "name",
    *TEXT_FIELDS,
    *LEGACY_KEYS,
    "emails",
    "phones",
    "addresses",
    "urls",
    "handles",
    "related",
    "photo",
    "tags",
    "fields",
    "birthday",
    "anniversary",
    "dates",
    "notes",
    "cadence_days",
    "referred_by_uid",
    "invalid",
    "vcard",
    "created_at",
    "updated_at",
)
#: what --fields accepts
FIELD_NAMES = ("id", *EXPORT_KEYS, "email", "phone")
#: the lists read as JSON arrays (any character is safe in them), and their items' keys
_JSON_LISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "addresses": ("contact_addresses", Address._fields),
    "urls": ("contact_urls", ("url", "label")),
    "handles": ("contact_handles", ("kind", "service", "handle", "label")),
    "related": ("contact_related", ("name", "label", "uid")),
    "invalid": ("contact_invalid", ("field", "label", "value", "reason")),
}
_COLUMNS_SQL = {"uid": "(SELECT r.uid FROM contacts r WHERE r.id = related_id)"}


def _json_list(name: str) -> str:
    table, keys = _JSON_LISTS[name]
    columns = ", ".join(f"{_COLUMNS_SQL.get(key, key)} AS {key}" for key in keys)
    return (
        f"(SELECT CASE WHEN count(*) THEN json_group_array(json_array({', '.join(keys)})) END "
        f"FROM (SELECT {columns} FROM {table} WHERE contact_id = c.id "
        f"ORDER BY position, id)) AS {name}"
    )


_NOTES = """(SELECT group_concat(body, char(10) || char(10)) FROM  -- record.NOTES_SEPARATOR
     (SELECT body FROM notes WHERE contact_id = c.id AND deleted_at IS NULL ORDER BY at, id))"""
_QUERY = """
SELECT c.id, c.uid, c.name, {text}, c.cadence_days, c.created_at, c.updated_at,
  (SELECT r.uid FROM contacts r WHERE r.id = c.referred_by_id) AS referred_by_uid,
  (SELECT group_concat(email || char(31) || coalesce(label, ''), char(30)) FROM
     (SELECT email, label FROM contact_emails WHERE contact_id = c.id ORDER BY position, id))
     AS emails,
  (SELECT group_concat(phone || char(31) || coalesce(label, ''), char(30)) FROM
     (SELECT phone, label FROM contact_phones WHERE contact_id = c.id ORDER BY position, id))
     AS phones,
  (SELECT group_concat(name, char(30)) FROM
     (SELECT t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id
      WHERE ct.contact_id = c.id ORDER BY t.name COLLATE NOCASE)) AS tags,
  (SELECT group_concat(key || char(31) || value, char(30)) FROM
     (SELECT key, value FROM contact_fields WHERE contact_id = c.id ORDER BY key)) AS fields,
  (SELECT group_concat(kind || char(31) || label || char(31) || coalesce(year, '')
                       || char(31) || month || char(31) || day, char(30)) FROM
     (SELECT * FROM contact_dates WHERE contact_id = c.id ORDER BY kind, label COLLATE NOCASE))
     AS dates,
  {notes} AS notes,
  {lists},
  (SELECT CASE WHEN count(*) THEN json_group_array(line) END FROM
     (SELECT coalesce(grp || '.', '') || name || params || ':' || value AS line
      FROM contact_vcard_properties WHERE contact_id = c.id ORDER BY position, id)) AS vcard,
  p.media_type, p.data, p.uri
FROM contacts c LEFT JOIN contact_photos p ON p.contact_id = c.id
WHERE {where} ORDER BY {order}
"""


def _yearly(year: str, month: str, day: str) -> str:
    if year:
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return f"--{int(month):02d}-{int(day):02d}"


def _where(filters: ListFilters) -> tuple[str, list[Any], str]:
    order = order_sql(filters)
    where, params = filter_sql(filters)
    return where, params, order


def export_query(filters: ListFilters, *, notes: bool = True) -> tuple[str, list[Any]]:
    """The one query behind ``crm export contacts`` (and sync's fingerprints) and its
    parameters; ``notes=False`` leaves the notes out."""
    where, params, order = _where(filters)
    sql = _QUERY.format(
        text=", ".join(f"c.{k}" for k in TEXT_FIELDS),
        notes=_NOTES if notes else "NULL",
        lists=",\n  ".join(_json_list(name) for name in _JSON_LISTS),
        where=where,
        order=order,
    )
    if filters.limit is not None:
        sql += " LIMIT ?"
        params.append(filters.limit)
    return sql, params


def _export_cursor(
    conn: sqlite3.Connection, filters: ListFilters, *, notes: bool = True
) -> sqlite3.Cursor:
    sql, params = export_query(filters, notes=notes)
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: faster than sqlite3.Row for 100,000 rows
    return cursor.execute(sql, params)


#: where each plain key sits in a row of _QUERY; the packed lists follow them
_AT = {
    "id": 0,
    "uid": 1,
    "name": 2,
    **{key: 3 + i for i, key in enumerate(TEXT_FIELDS)},
    "cadence_days": 3 + len(TEXT_FIELDS),
    "created_at": 4 + len(TEXT_FIELDS),
    "updated_at": 5 + len(TEXT_FIELDS),
    "referred_by_uid": 6 + len(TEXT_FIELDS),
    "notes": 12 + len(TEXT_FIELDS),
}
_PACKED = slice(7 + len(TEXT_FIELDS), 12 + len(TEXT_FIELDS))  # emails .. dates
_LISTS = slice(13 + len(TEXT_FIELDS), 19 + len(TEXT_FIELDS))  # addresses .. vcard
_PHOTO = slice(19 + len(TEXT_FIELDS), 22 + len(TEXT_FIELDS))  # media type, bytes, URI


def _unpack(packed: str | None, parts: int = 2) -> list[list[str]]:
    """A packed list column of _QUERY (records split by RS, their parts by US) as lists."""
    return [p.split(_US, parts - 1) for p in packed.split(_RS)] if packed else []


def _lists(row: tuple[Any, ...]) -> dict[str, list[Any]]:
    """The JSON-packed lists of a row of _QUERY, as lists of dictionaries."""
    out: dict[str, list[Any]] = {}
    for (name, (_, keys)), packed in zip(_JSON_LISTS.items(), row[_LISTS], strict=False):
        items = json.loads(packed) if packed else []
        out[name] = [dict(zip(keys, item, strict=True)) for item in items]
    vcard = row[_LISTS][-1]
    out["vcard"] = json.loads(vcard) if vcard else []
    return out


def _photo(row: tuple[Any, ...]) -> dict[str, Any] | None:
    media_type, data, uri = row[_PHOTO]
    if data is None and uri is None:
        return None
    encoded = base64.b64encode(data).decode("ascii") if data is not None else None
    return {"media_type": media_type, "data": encoded, "uri": uri}


def export_contacts(conn: sqlite3.Connection, filters: ListFilters) -> Iterator[dict[str, Any]]:
    """Contacts matching ``filters`` as export dictionaries (:data:`EXPORT_KEYS` and ``id``)."""
    return map(export_dict, _export_cursor(conn, filters))


def export_rows(conn: sqlite3.Connection, filters: ListFilters) -> Iterator[tuple[Any, ...]]:
    """The rows :func:`export_contacts` makes its dictionaries of, without the notes (a card
    does not carry them), for a caller that looks at many contacts and reads few (sync:
    :func:`card_fingerprint` of each, :func:`export_dict` of the changed ones)."""
    return iter(_export_cursor(conn, filters, notes=False))


#: the parts of an export row a vCard is written from: all but created_at, updated_at (side
#: by side) and the notes
_IN_CARD = (
    slice(0, _AT["created_at"]),
    slice(_AT["updated_at"] + 1, _AT["notes"]),
    slice(_AT["notes"] + 1, None),
)


def card_fingerprint(row: tuple[Any, ...]) -> str:
    """A fingerprint of what a row's vCard is written from (all but the record's times and
    the notes): equal fingerprints, equal cards."""
    import hashlib

    material = repr(tuple(row[part] for part in _IN_CARD))
    return hashlib.blake2b(material.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def export_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """One row of the export query as an export dictionary."""
    out: dict[str, Any] = {key: row[index] for key, index in _AT.items()}
    emails, phones, tags, fields, dates = row[_PACKED]
    out["emails"] = [{"email": e, "label": label or None} for e, label in _unpack(emails)]
    out["phones"] = [{"phone": v, "label": label or None} for v, label in _unpack(phones)]
    out.update(_lists(row))
    first = out["addresses"][0] if out["addresses"] else {}
    out.update({part: first.get(part) for part in ADDRESS_PARTS})
    out["website"] = out["urls"][0]["url"] if out["urls"] else None
    out["photo"] = _photo(row)
    out["tags"] = tags.split(_RS) if tags else []
    out["fields"] = dict(_unpack(fields))
    out["birthday"] = out["anniversary"] = None
    others = []
    for kind, label, year, month, day in _unpack(dates, 5):
        if kind == "other":
            others.append({"label": label, "date": _yearly(year, month, day)})
        else:
            out[kind] = _yearly(year, month, day)
    out["dates"] = others
    return out


def contact_card(conn: sqlite3.Connection, contact_id: int, version: str = "4.0") -> str:
    """One contact as the text of one vCard (a vdir's file), live or in the trash."""
    from crmcli.io.vcard import write_card

    filters = ListFilters(query=("c.id = ?", [contact_id]))
    for deleted in (False, True):
        filters.deleted = deleted
        for row in export_contacts(conn, filters):
            return write_card(row, version)
    raise NotFound(f"no contact with id {contact_id}")


def content_hash(conn: sqlite3.Connection, contact_id: int) -> str:
    """A fingerprint of everything a contact holds that its vCard 4.0 shows (what a sync
    compares): the SHA-256 of :func:`contact_card`."""
    import hashlib

    return hashlib.sha256(contact_card(conn, contact_id).encode("utf-8")).hexdigest()


def _more_cells(row: tuple[Any, ...]) -> dict[str, Any]:
    """The cells of a CSV row that come from the lists: email_1, address_1_city..."""
    emails, phones, tags, fields, dates = row[_PACKED]
    more: dict[str, Any] = {"tags": tags.replace(_RS, ", ") if tags else ""}
    for kind, packed in (("email", emails), ("phone", phones)):
        for i, (value, label) in enumerate(_unpack(packed), 1):
            more[f"{kind}_{i}"] = value
            more[f"{kind}_{i}_label"] = label or None
        if packed:
            more[kind] = more[f"{kind}_1"]  # the first one, for --fields email,phone
    for key, value in _unpack(fields):
        more[f"field:{key}"] = value
    for kind, label, year, month, day in _unpack(dates, 5):
        more[f"date:{label}" if kind == "other" else kind] = _yearly(year, month, day)
    lists = _lists(row)
    for name, prefix in _CSV_GROUPS.items():
        for i, item in enumerate(lists[name], 1):
            for key, value in item.items():
                more[_cell_name(prefix, i, key)] = value
    more["vcard"] = "\n".join(lists["vcard"]) or None
    photo = _photo(row)
    if photo:
        more["photo"] = photo["uri"] or f"data:{photo['media_type'] or ''};base64,{photo['data']}"
    first = lists["addresses"][0] if lists["addresses"] else {}
    more.update({part: first.get(part) for part in ADDRESS_PARTS})
    more["website"] = lists["urls"][0]["url"] if lists["urls"] else None
    return more


#: the numbered column groups of a CSV export: list -> column prefix
_CSV_GROUPS = {"addresses": "address", "urls": "url", "handles": "handle",
               "related": "related", "invalid": "invalid"}  # fmt: skip
#: the key of each group's item that is its plain column (url_1, not url_1_url)
_VALUE_KEYS = {"url", "handle", "name", "value"}


def _cell_name(prefix: str, number: int, key: str) -> str:
    return f"{prefix}_{number}" if key in _VALUE_KEYS else f"{prefix}_{number}_{key}"


def csv_rows(
    conn: sqlite3.Connection, filters: ListFilters, columns: Sequence[str]
) -> Iterator[list[Any]]:
    """The cells of ``columns`` (see :func:`csv_columns`) for each contact, straight from the
    query's tuples: the CSV export builds no dictionaries of lists per contact."""
    plan = [(_AT.get(column), column) for column in columns]
    for row in _export_cursor(conn, filters):
        more = _more_cells(row)
        yield [row[index] if index is not None else more.get(column) for index, column in plan]


@dataclass
class Shape:
    """The CSV columns an export needs: how many of each list, which fields and date labels."""

    counts: dict[str, int]
    fields: list[str]
    dates: list[str]


def csv_shape(conn: sqlite3.Connection, filters: ListFilters) -> Shape:
    """Count the numbered columns before streaming (small aggregate queries)."""
    where, params, _ = _where(filters)
    ids = f"SELECT c.id FROM contacts c WHERE {where}"

    def most(table: str) -> int:
        row = conn.execute(
            f"SELECT max(n) FROM (SELECT count(*) AS n FROM {table} "
            f"WHERE contact_id IN ({ids}) GROUP BY contact_id)",
            params,
        ).fetchone()
        return int(row[0] or 0)

    fields = [
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT key FROM contact_fields WHERE contact_id IN ({ids}) ORDER BY key",
            params,
        )
    ]
    dates = [
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT label FROM contact_dates WHERE kind = 'other' AND contact_id IN "
            f"({ids}) ORDER BY label COLLATE NOCASE",
            params,
        )
    ]
    tables = {"emails": "contact_emails", "phones": "contact_phones",
              **{name: table for name, (table, _) in _JSON_LISTS.items()}}  # fmt: skip
    return Shape({name: most(table) for name, table in tables.items()}, fields, dates)


def csv_columns(shape: Shape, fields: Sequence[str] | None = None) -> list[str]:
    """The header of a contacts CSV (crmcli's own format, which ``crm import`` recognises)."""
    wanted = list(fields) if fields else [k for k in EXPORT_KEYS if k not in LEGACY_KEYS]
    columns: list[str] = []
    for key in wanted:
        if key in ("emails", "phones"):
            for i in range(1, shape.counts[key] + 1):
                columns += [f"{key[:-1]}_{i}", f"{key[:-1]}_{i}_label"]
        elif key in _CSV_GROUPS:
            _, keys = _JSON_LISTS[key]
            names = [k for k in keys if k != "reason"]
            names.sort(key=lambda k: k not in _VALUE_KEYS)  # the value first, then its parts
            for i in range(1, shape.counts[key] + 1):
                columns += [_cell_name(_CSV_GROUPS[key], i, k) for k in names]
        elif key == "fields":
            columns += [f"field:{k}" for k in shape.fields]
        elif key == "dates":
            columns += [f"date:{label}" for label in shape.dates]
        else:
            columns.append(key)
    return columns


def select_keys(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Only ``keys`` of each row, in that order (``email``/``phone``: the first one)."""
    for row in rows:
        out = {}
        for key in keys:
            if key == "email":
                out[key] = row["emails"][0]["email"] if row["emails"] else None
            elif key == "phone":
                out[key] = row["phones"][0]["phone"] if row["phones"] else None
            else:
                out[key] = row.get(key)
        yield out


def parse_fields(values: Sequence[str] | None) -> list[str] | None:
    """``--fields name,email --fields tags`` -> the list, each name checked."""
    if not values:
        return None
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    for name in names:
        if name not in FIELD_NAMES:
            raise UsageError(f"--fields: unknown field {name!r} (known: {', '.join(FIELD_NAMES)})")
    return names
