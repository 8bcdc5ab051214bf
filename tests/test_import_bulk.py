"""The import's bulk path (an empty database: indexes built at the end, the search index in one
pass) writes exactly what the row-by-row path writes: every table compared row for row."""

from __future__ import annotations

import csv
import io
import itertools
import sqlite3
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crmcli import db, import_write, importer, schema_guard
from crmcli.clock import now
from crmcli.io import csv_in

HEADER = [
    "First Name", "Last Name", "Nickname", "Organization Name", "Organization Title",
    "Birthday", "Notes", "Labels", "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label",
    "E-mail 2 - Value", "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label",
    "Phone 2 - Value", "Address 1 - Label", "Address 1 - Street", "Address 1 - City",
    "Address 1 - Postal Code", "Address 1 - Country", "Address 2 - Label", "Address 2 - Street",
    "Address 2 - City", "Website 1 - Label", "Website 1 - Value", "Event 1 - Label",
    "Event 1 - Value", "Custom Field 1 - Label", "Custom Field 1 - Value",
]  # fmt: skip

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Gus"]
LAST = ["García", "Okafor", "Dubois", "Kim", "Nowak"]
COMPANIES = ["Acme", "Vigna Alta", ""]


def _row(i: int) -> dict[str, str]:
    """Row ``i`` of a varied file: namesakes (the names repeat), duplicates by email and by
    phone, several emails, phones and addresses, labels, flagged values, dates read either
    way round, notes repeated."""
    same = i - 35 if i % 7 == 3 and i >= 35 else i  # the same person again (35: 7 and 5 names)
    first, last = FIRST[same % len(FIRST)], LAST[same % len(LAST)]
    email = f"{first.lower()}.{last.lower()}{same}@example.org"
    if i % 11 == 5:
        email = f"not an email {i}"
    emails = email if i % 5 else f"{email} ::: {first.lower()}{i}@home.example"
    phone = f"+1 555 010 {same:04d}" if i % 9 != 4 else f"+1 555 010 {i - 9:04d}"
    birthdays = ["1980-02-14", "--07-22", f"03/{i % 12 + 1:02d}/1981", "someday", ""]
    return {
        "First Name": first,
        "Last Name": last,
        "Nickname": "Nick" if i % 13 == 0 else "",
        "Organization Name": COMPANIES[same % 3],
        "Organization Title": "CTO" if i % 4 == 0 else "",
        "Birthday": birthdays[i % len(birthdays)],
        "Notes": f"met at fair {i % 4}\nsecond line" if i % 3 == 0 or same != i else "",
        "Labels": "* myContacts ::: friends" if i % 2 else "vip ::: Work",
        "E-mail 1 - Label": "* Work" if i % 2 else "Home",
        "E-mail 1 - Value": emails,
        "E-mail 2 - Label": "Other" if i % 6 == 0 else "",
        "E-mail 2 - Value": f"{first.lower()}{i}@other.example" if i % 6 == 0 else "",
        "Phone 1 - Label": "Mobile",
        "Phone 1 - Value": phone if i % 17 != 8 else "call me",
        "Phone 2 - Label": "Work" if i % 4 == 1 else "",
        "Phone 2 - Value": f"020 7946 {i:04d} ::: 020 7946 9{i:03d}" if i % 4 == 1 else "",
        "Address 1 - Label": "Home" if i % 3 else "",
        "Address 1 - Street": f"{i} Main Street" if i % 3 else "",
        "Address 1 - City": "Leeds" if i % 3 else "",
        "Address 1 - Postal Code": "LS1 4AP" if i % 3 else "",
        "Address 1 - Country": "United Kingdom" if i % 3 else "",
        "Address 2 - Label": "Work" if i % 8 == 2 else "",
        "Address 2 - Street": "1 Quay" if i % 8 == 2 else "",
        "Address 2 - City": "Porto" if i % 8 == 2 else "",
        "Website 1 - Label": "Blog" if i % 4 == 2 else "",
        "Website 1 - Value": f"https://example.org/{i}" if i % 4 == 2 else "",
        "Event 1 - Label": "Anniversary" if i % 6 == 1 else "",
        "Event 1 - Value": "2010-06-0" + str(i % 9 + 1) if i % 6 == 1 else "",
        "Custom Field 1 - Label": "Shoe size" if i % 5 == 2 else "",
        "Custom Field 1 - Value": str(38 + i % 8) if i % 5 == 2 else "",
    }


def _csv(rows: range) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER)
    writer.writeheader()
    writer.writerows(_row(i) for i in rows)
    return out.getvalue().encode()


def _import(
    conn: sqlite3.Connection, data: bytes, batch_size: int, policy: str, at: datetime
) -> importer.ImportResult:
    source = csv_in.open_csv(csv_in.open_text(io.BufferedReader(io.BytesIO(data))))
    options = importer.ImportOptions(on_duplicate=policy, batch_size=batch_size, tags=["fair"])
    return importer.import_records(conn, source.records(), options, now=at)


def _dump(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the search index by its documents), and the schema; not the
    migrations' log (stamped with the real clock when the file was made)."""
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'contact_search%' AND name != '_crm_migrations'"
        )
    ]
    dump = {t: sorted(map(tuple, conn.execute(f'SELECT * FROM "{t}"')), key=repr) for t in tables}
    dump["contact_search"] = [
        tuple(r) for r in conn.execute("SELECT rowid, * FROM contact_search ORDER BY rowid")
    ]
    dump["schema"] = [
        tuple(r)
        for r in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
    ]
    return dump


def _run(
    path: Path, batches: list[tuple[bytes, str]], batch_size: int, monkeypatch: pytest.MonkeyPatch
) -> dict[str, list[tuple[Any, ...]]]:
    # new contacts' UIDs start with a random prefix, one per import: the same ones in each run
    prefixes = itertools.count(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(prefixes) << 64))
    conn = db.connect(path)
    try:
        for data, policy in batches:
            _import(conn, data, batch_size, policy, now())
        assert schema_guard.digest(conn) == db.SCHEMA_DIGESTS[db.SCHEMA_VERSION]
        return _dump(conn)
    finally:
        conn.close()


@pytest.mark.parametrize("batch_size", [7, 5000])
def test_bulk_into_an_empty_database_writes_what_row_by_row_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> None:
    imports = [(_csv(range(120)), "merge")]
    bulk = _run(tmp_path / "bulk.db", imports, batch_size, monkeypatch)
    monkeypatch.setattr(import_write, "BULK_INTO_EMPTY", False)
    plain = _run(tmp_path / "plain.db", imports, batch_size, monkeypatch)
    assert bulk.keys() == plain.keys()
    for table in bulk:
        assert bulk[table] == plain[table], table
    # the file really is varied: merges, flagged values, several of each list
    assert len(bulk["contacts"]) < 120
    assert bulk["contact_invalid"] and bulk["contact_addresses"] and bulk["contact_urls"]
    assert bulk["notes"] and bulk["contact_fields"] and bulk["contact_dates"]
    assert any("fair" in str(row) for row in bulk["contact_search"])


@pytest.mark.parametrize("policy", ["merge", "update", "skip", "create"])
def test_a_second_import_writes_the_same_whichever_way_the_first_went(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    imports = [(_csv(range(0, 90)), "merge"), (_csv(range(40, 140)), policy)]
    bulk = _run(tmp_path / "bulk.db", imports, 13, monkeypatch)
    monkeypatch.setattr(import_write, "BULK_INTO_EMPTY", False)
    plain = _run(tmp_path / "plain.db", imports, 13, monkeypatch)
    for table in bulk:
        assert bulk[table] == plain[table], table


def test_a_refused_bulk_import_leaves_the_schema_whole(tmp_path: Path) -> None:
    nameless = ",".join(
        ["", "", "", "", "", "", "a note and nothing else"] + [""] * (len(HEADER) - 7)
    )
    data = _csv(range(10)) + nameless.encode() + b"\r\n"
    conn = db.connect(tmp_path / "crm.db")
    before = _dump(conn)
    with pytest.raises(importer.ImportRejected):
        _import(conn, data, 3, "merge", now())
    assert _dump(conn) == before
    assert schema_guard.digest(conn) == db.SCHEMA_DIGESTS[db.SCHEMA_VERSION]


@pytest.mark.parametrize("batch_size", [7, 5000])
def test_a_contact_added_rule_fires_once_for_each_new_contact_whatever_the_batches(
    tmp_path: Path, batch_size: int
) -> None:
    from crmcli import rules

    conn = db.connect(tmp_path / "crm.db")
    try:
        rules.add(conn, "contact-added", tag="new-lead", remind_when="+2d", remind_text="Call",
                  now=now())  # fmt: skip
        _import(conn, _csv(range(60)), batch_size, "merge", now())
        created = {r[0] for r in conn.execute("SELECT id FROM contacts")}
        reminded = [r[0] for r in conn.execute("SELECT contact_id FROM reminders")]
        tagged = {
            r[0]
            for r in conn.execute(
                "SELECT contact_id FROM contact_tags JOIN tags ON tags.id = tag_id "
                "WHERE tags.name = 'new-lead'"
            )
        }
        assert len(created) > 7  # more than one batch of new contacts at batch size 7
        assert sorted(reminded) == sorted(created) and tagged == created
        # and the search index knows the tag the rule set
        found = conn.execute(
            "SELECT count(*) FROM contact_search WHERE contact_search MATCH 'tags:\"new-lead\"'"
        ).fetchone()[0]
        assert found == len(created)
    finally:
        conn.close()
