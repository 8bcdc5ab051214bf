"""crm contact merge / unmerge: everything moves, nothing is lost, and undo is complete."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crmcli import contacts, db, merge, pipeline
from crmcli.errors import NotFound, UsageError, ValidationError
from tests.conftest import Cli
from tests.terminal import converse

NOW = datetime(2026, 11, 23, 9, 0)


def dump(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the search index by its documents): the whole database."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'contact_search%'"
        )
    ]
    out = {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in tables}
    out["contact_search"] = [
        tuple(r) for r in conn.execute("SELECT rowid, * FROM contact_search ORDER BY rowid")
    ]
    return out


@pytest.fixture
def book(cli: Cli, conn: sqlite3.Connection, tmp_path: Path) -> sqlite3.Connection:
    """Ann (1) and her copy (2) with notes, a recurring reminder done once, deals that moved
    through stages in two currencies, a purchase, a greeting each, and referrals both ways."""
    cli("contact", "add", "Ann Lee", "--company", "Acme", "-e", "ann@acme.example",
        "-p", "+1 555 0100", "--birthday", "1980-11-23", "--field", "territory=North",
        "--street", "1 Main St", "--city", "Springfield", "-t", "vip", "--title", "CTO")  # fmt: skip
    cli("contact", "add", "Ann Lee", "--company", "Globex", "-e", "ann@home.example",
        "-p", "555 0100", "-p", "+1 555 0199", "--birthday", "1981-11-23",
        "--field", "territory=South", "--field", "shoe=38", "--city", "Leeds", "-t", "lead",
        "--anniversary", "--06-12", "--cadence", "30d")  # fmt: skip
    cli("contact", "add", "Cy Young", "--referred-by", "2")  # 2 referred Cy
    cli("contact", "add", "Di Ray")
    cli("contact", "edit", "2", "--referred-by", "4")  # Di referred 2
    cli("note", "1", "Met at the fair", "--kind", "meeting")
    cli("note", "2", "Called about the quote", "--kind", "call")
    cli("note", "2", "Sent the samples", "--kind", "email")
    cli("remind", "2", "Weekly check-in", "--due", "2026-11-20", "--every", "weekly")
    cli("done", "1")  # the recurring reminder: done once, its next occurrence is open
    cli("remind", "1", "Send the contract", "--due", "tomorrow")
    cli("deal", "add", "1", "Seats", "--value", "1200", "--currency", "EUR")
    cli("deal", "add", "2", "Support", "--value", "500", "--currency", "USD")
    cli("deal", "move", "2", "qualified")
    cli("deal", "move", "2", "proposal")
    cli("purchase", "add", "2", "--amount", "99", "--currency", "GBP", "--on", "2026-10-01")
    cli("template", "add", "bday", "--subject", "Happy birthday", "--body", "Dear {first_name}")
    cli("greet", "rule", "add", "birthday", "bday")
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    cli("greet", "--due", "--outbox", str(outbox))
    return conn


def count(conn: sqlite3.Connection, sql: str, *params: Any) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def test_merge_moves_everything_and_unmerge_puts_it_back(
    cli: Cli, book: sqlite3.Connection
) -> None:
    conn = book
    assert count(conn, "SELECT count(*) FROM sends WHERE kind = 'greeting'") == 2
    cli("contact", "edit", "2", "--email-optout", "--consent-source", "reply to a newsletter")
    notes = count(conn, "SELECT count(*) FROM notes WHERE contact_id IN (1, 2)")
    before = dump(conn)
    result = cli("contact", "merge", "1", "2", "--prefer", "keep", "--yes")
    assert result.stderr == (
        "Merged contact 2 (Ann Lee) into 1 (Ann Lee); undo: crm contact unmerge 2\n"
    )
    ann = cli.json("contact", "show", "1")
    assert [e["email"] for e in ann["emails"]] == ["ann@acme.example", "ann@home.example"]
    assert [p["phone"] for p in ann["phones"]] == ["+1 555 0100", "+1 555 0199"]
    assert ann["tags"] == ["lead", "vip"]
    assert (ann["company"], ann["title"], ann["city"], ann["birthday"]) == (
        "Acme", "CTO", "Springfield", "1980-11-23",
    )  # fmt: skip
    assert ann["anniversary"] == "--06-12" and ann["cadence_days"] == 30
    assert ann["fields"] == {"shoe": "38", "territory": "North"}
    # one address each: Ann keeps both, hers first
    assert [(a["street"], a["city"]) for a in ann["addresses"]] == [
        ("1 Main St", "Springfield"),
        (None, "Leeds"),
    ]
    assert ann["referred_by"] == {"id": 4, "name": "Di Ray"}
    # what pointed at 2 points at 1: notes, reminders (the recurring chain too), deals with
    # their stage history, referrals; one greeting per occasion and year stays with 2
    for table in ("notes", "reminders", "deals", "purchases"):
        assert count(conn, f"SELECT count(*) FROM {table} WHERE contact_id = 2") == 0
    assert count(conn, "SELECT count(*) FROM purchases WHERE contact_id = 1") == 1
    assert count(conn, "SELECT count(*) FROM notes WHERE contact_id = 1") == notes
    assert count(conn, "SELECT count(*) FROM reminders WHERE contact_id = 1") == 3
    chain = conn.execute("SELECT contact_id, previous_id FROM reminders WHERE id = 2").fetchone()
    assert tuple(chain) == (1, 1)  # the recurring reminder's next occurrence, still chained
    assert count(conn, "SELECT count(*) FROM deal_stage_changes WHERE deal_id = 2") == 3
    assert sorted(d["currency"] for d in ann["deals"]) == ["EUR", "USD"]
    assert cli.json("contact", "show", "Cy")["referred_by"] == {"id": 1, "name": "Ann Lee"}
    assert count(conn, "SELECT count(*) FROM sends WHERE contact_id = 2") == 1
    # a request made by either record holds for the one kept: no more mail for Ann
    optout = conn.execute(
        "SELECT email_optout_source FROM contact_consent WHERE contact_id = 1"
    ).fetchone()
    assert optout is not None and optout[0] == "reply to a newsletter"
    # the merged contact is in the trash, marked; searches and references find Ann once
    [trashed] = cli.json("contact", "list", "--trash")
    assert (trashed["id"], trashed["merged_into"]) == (2, 1)
    assert [c["id"] for c in cli.json("search", "ann")] == [1]
    assert cli.json("contact", "show", "ann@home.example")["id"] == 1

    result = cli("contact", "unmerge", "2")
    assert result.stderr.startswith("Unmerged contact 2 (Ann Lee) from 1 (Ann Lee)")
    assert dump(conn) == before


def test_the_other_value_newest_and_restore(
    cli: Cli, book: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dump(book)
    cli("contact", "merge", "1", "2", "--prefer", "other", "--yes")
    ann = cli.json("contact", "show", "1")
    assert (ann["company"], ann["birthday"]) == ("Globex", "1981-11-23")
    assert [a["city"] for a in ann["addresses"]] == ["Springfield", "Leeds"]
    assert ann["title"] == "CTO"  # only one of them had a title: it is kept
    assert ann["fields"]["territory"] == "South"
    # restore is unmerge for a contact merged away
    result = cli("contact", "restore", "2")
    assert result.stderr.startswith("Unmerged contact 2 (Ann Lee) from 1")
    assert dump(book) == before
    monkeypatch.setenv("CRM_NOW", "2026-11-24T09:00")
    cli("contact", "edit", "1", "--title", "CEO")  # 1 is now the one changed last
    cli("contact", "merge", "2", "1", "--prefer", "newest", "--yes")
    kept = cli.json("contact", "show", "2")
    assert (kept["title"], kept["company"]) == ("CEO", "Acme")


def test_unmerge_keeps_what_changed_after_the_merge(cli: Cli, book: sqlite3.Connection) -> None:
    cli("contact", "merge", "1", "2", "--yes")
    cli("contact", "edit", "1", "--city", "Paris", "--title", "COO")
    cli("note", "1", "After the merge")
    cli("contact", "unmerge", "1")  # the kept contact: its latest merge is undone
    ann = cli.json("contact", "show", "1")
    assert (ann["city"], ann["title"]) == ("Paris", "COO")
    assert [e["email"] for e in ann["emails"]] == ["ann@acme.example"]
    assert "After the merge" in [n["body"] for n in ann["notes"]]
    assert "Sent the samples" not in [n["body"] for n in ann["notes"]]
    other = cli.json("contact", "show", "2")
    assert {"Sent the samples", "Called about the quote"} <= {n["body"] for n in other["notes"]}


def test_several_at_once_and_the_order_of_undoing(cli: Cli, book: sqlite3.Connection) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann.lee@old.example")  # 5
    before = dump(book)
    cli("contact", "merge", "1", "2", "5", "--yes")
    assert [c["id"] for c in cli.json("contact", "list", "--trash")] == [2, 5]
    result = cli("contact", "unmerge", "1")  # the whole merge command
    assert result.stderr.splitlines()[0].startswith("Unmerged contact 5 ")
    assert result.stderr.splitlines()[1].startswith("Unmerged contact 2 ")
    assert dump(book) == before
    # 2 into 1, then 1 into 4: 2 comes back only after 1
    cli("contact", "merge", "1", "2", "--yes")
    cli("contact", "merge", "4", "1", "--yes")
    refused = cli("contact", "unmerge", "2", code=1)
    assert refused.stderr == (
        "Error: contact 1, where contact 2 was merged, was itself merged into 4 later; "
        "undo that first: crm contact unmerge 1\n"
    )
    cli("contact", "unmerge", "1")
    cli("contact", "unmerge", "2")
    assert dump(book) == before


def test_bad_merges_are_refused_and_change_nothing(cli: Cli, book: sqlite3.Connection) -> None:
    before = dump(book)
    assert cli("contact", "merge", "1", "1", "--yes", code=1).stderr == (
        "Error: cannot merge contact 1 with itself\n"
    )
    assert cli("contact", "merge", "1", "2", "2", "--yes", code=2).stderr == (
        "Error: contact 2 is given twice\n"
    )
    assert cli("contact", "merge", "1", "99", "--yes", code=1).stderr == (
        "Error: no contact with id 99\n"
    )
    cli("contact", "rm", "4", "--yes")
    after_rm = dump(book)
    assert cli("contact", "merge", "1", "4", "--yes", code=1).stderr == (
        "Error: contact 4 (Di Ray) is in the trash; restore it first "
        "(crm contact restore 4) or leave it out\n"
    )
    assert cli("contact", "merge", "1", "2", code=2).stderr == (
        "Error: Merge contact 2 (Ann Lee) into 1 (Ann Lee): not on a terminal, so add --yes "
        "to confirm\n"
    )
    assert cli("contact", "unmerge", "3", code=1).stderr == (
        "Error: contact 3 (Cy Young) was not merged with another: nothing to undo\n"
    )
    assert dump(book) == after_rm
    cli("contact", "restore", "4")
    assert dump(book)["contacts"] == before["contacts"]


def test_dry_run_shows_every_field_and_changes_nothing(cli: Cli, book: sqlite3.Connection) -> None:
    before = dump(book)
    result = cli("contact", "merge", "1", "2", "--dry-run", "--prefer", "other", "-f", "json")
    assert result.stderr == "Dry run, nothing changed: would merge contact 2 (Ann Lee) into 1\n"
    rows = {(r["field"], r["action"]): r for r in json.loads(result.stdout)}
    assert rows[("company", "replaced")]["result"] == "Globex"
    assert rows[("title", "kept")]["result"] == "CTO"
    assert rows[("birthday", "replaced")]["keep"] == "1980-11-23"
    assert rows[("anniversary", "filled")]["result"] == "--06-12"
    assert rows[("email", "added")]["result"] == "ann@home.example"
    assert rows[("notes", "moved")]["result"] == "3 moved"  # two, and the greeting sent
    assert rows[("messages sent", "moved")]["result"] == "0 moved, 1 left (already there)"
    deals = rows[("deals", "moved")]["result"]
    assert deals == "1 moved; in EUR, USD, each kept in its own currency"
    assert dump(book) == before


def test_deals_in_two_currencies_stay_apart(book: sqlite3.Connection) -> None:
    def totals() -> dict[str, int]:
        rows = pipeline.list_deals(book, pipeline.DealFilters(status="open"), now=NOW)
        found: dict[str, int] = {}
        for row in rows:
            found[row["currency"]] = found.get(row["currency"], 0) + row["value_minor"]
        return found

    before = totals()
    merge.merge(book, 1, [2], choose=merge.chooser(book, "keep"), now=NOW)
    assert totals() == before == {"EUR": 120000, "USD": 50000}


def test_domain_checks(book: sqlite3.Connection) -> None:
    choose = merge.chooser(book, None)
    with pytest.raises(UsageError):
        merge.merge(book, 1, [], choose=choose, now=NOW)
    with pytest.raises(UsageError, match="--prefer 'oldest' is not one of"):
        merge.chooser(book, "oldest")
    with pytest.raises(NotFound):
        merge.unmerge(book, 99, now=NOW)
    with pytest.raises(ValidationError, match="was merged into 1; crm contact unmerge 2"):
        merge.merge(book, 1, [2], choose=choose, now=NOW)
        contacts.restore(book, 2)
    conflicts = {c.slot: c.values for c in merge.conflicts(book, 1, [3])}
    assert conflicts == {"name": [(1, "Ann Lee"), (3, "Cy Young")]}


def test_conflicts_list_each_value(book: sqlite3.Connection) -> None:
    found = {c.slot: c.values for c in merge.conflicts(book, 1, [2])}
    assert found["company"] == [(1, "Acme"), (2, "Globex")]
    assert found["birthday"] == [(1, "1980-11-23"), (2, "1981-11-23")]
    assert found["field territory"] == [(1, "North"), (2, "South")]
    assert "address" not in found  # addresses are a list: both are kept
    assert "anniversary" not in found and "title" not in found
    chosen = merge.chooser(book, None, {"company": 2})
    plan = merge.merge(book, 1, [2], choose=chosen, now=NOW, dry_run=True)
    assert [r.action for r in plan if r.field == "company"] == ["replaced"]
    assert [r.action for r in plan if r.field == "birthday"] == ["kept (conflict)"]
    assert [(r.result, r.action) for r in plan if r.field == "address"] == [("Leeds", "added")]


@pytest.mark.slow
def test_merge_asks_field_by_field_on_a_terminal(book: sqlite3.Connection, db_path: Path) -> None:
    env = {**os.environ, "CRM_DB": str(db_path)}
    replies = [(b"Keep which? [1-2]:", b"2\n"), (b"into 1 (Ann Lee)? [y/N]:", b"y\n")]
    code, shown = converse(["contact", "merge", "1", "2"], env, replies)
    assert code == 0, shown
    assert "company differs:\n  1) Acme  (#1, kept)\n  2) Globex  (#2)\n" in shown
    assert "Merged contact 2 (Ann Lee) into 1" in shown
    row = book.execute("SELECT company FROM contacts WHERE id = 1").fetchone()
    assert tuple(row) == ("Globex",)
    # declining changes nothing
    cli_env = {**env}
    code, shown = converse(["contact", "unmerge", "2"], cli_env, [])
    assert code == 0, shown
    code, shown = converse(
        ["contact", "merge", "1", "2", "--prefer", "keep"], env, [(b"[y/N]:", b"n\n")]
    )
    assert code == 1 and "Error: cancelled; nothing was changed" in shown
    assert book.execute("SELECT count(*) FROM contact_merges").fetchone()[0] == 0


@pytest.mark.slow
def test_killed_merge_leaves_before_or_after(tmp_path: Path) -> None:
    database = tmp_path / "crm.db"
    conn = db.connect(database)
    stamp = "2026-01-01T00:00:00Z"
    with db.transaction(conn):
        for n in (1, 2):
            conn.execute(
                "INSERT INTO contacts (id, uid, name, first_name, created_at, updated_at) "
                "VALUES (?, ?, 'Ann', 'Ann', ?, ?)",
                (n, f"u{n}", stamp, stamp),
            )
        conn.executemany(
            "INSERT INTO notes (contact_id, body, at, created_at, updated_at) "
            "VALUES (2, ?, ?, ?, ?)",
            [(f"note {i}", stamp, stamp, stamp) for i in range(400_000)],
        )
    conn.close()
    crm = shutil.which("crm") or pytest.fail("the crm command is not installed")
    env = {**os.environ, "CRM_DB": str(database)}
    wal = Path(f"{database}-wal")
    start = wal.stat().st_size if wal.exists() else 0
    proc = subprocess.Popen([crm, "contact", "merge", "1", "2", "--yes"], env=env)
    deadline = time.monotonic() + 60
    while (not wal.exists() or wal.stat().st_size <= start + 2_000_000) and proc.poll() is None:
        assert time.monotonic() < deadline, "the merge never started writing"
        time.sleep(0.005)
    assert proc.poll() is None, "the merge finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    conn = db.connect(database)
    on_keep = count(conn, "SELECT count(*) FROM notes WHERE contact_id = 1")
    merged = count(conn, "SELECT count(*) FROM contact_merges")
    trashed = count(conn, "SELECT count(*) FROM contacts WHERE deleted_at IS NOT NULL")
    assert (on_keep, merged, trashed) in ((0, 0, 0), (400_000, 1, 1))
    assert db.check(conn) == []


def test_every_reference_to_a_contact_is_handled(conn: sqlite3.Connection) -> None:
    """A table added later that points at contacts must say what a merge does with it: it is in
    crmcli.contact_tables with a merge mode, and the modes are the ones merge knows."""
    from crmcli.contact_tables import CONTACT_TABLES

    found = set()
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for ref in conn.execute(f"PRAGMA foreign_key_list({table})"):
            if ref["table"] == "contacts":
                found.add((table, ref["from"]))
    listed = {(t.table, t.column) for t in CONTACT_TABLES}
    assert found <= listed, sorted(found - listed)
    assert {t.merge for t in CONTACT_TABLES} == {"repoint", "own", "record"}
    assert set(merge.REPOINTED) == {
        (t.table, t.column) for t in CONTACT_TABLES if t.merge == "repoint"
    }
    assert ("sends", "contact_id") in merge.REPOINTED
