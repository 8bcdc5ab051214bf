"""Consent and a person's data: contact edit, import columns, greetings and consent, export-data,
forget (erased for good, from the file itself), and the one list of tables about a contact."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from crmcli import consent, db, greetings, privacy, templates
from crmcli.contact_tables import CONTACT_TABLES, DEPENDENT_TABLES
from tests.conftest import NOW, Cli, ContactFactory

#: a name that appears nowhere else in the database: what forget must leave no trace of
MARKER = "Zqxjvorak"


# --- the one list of tables -----------------------------------------------------------------


def _schema_references(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    """Every (table, column) the schema has that holds a contact's id: a foreign key to
    contacts, or a column called contact_id."""
    found = set()
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'contact_search_%'"
        )
    ]
    for table in tables:
        for fk in conn.execute(f"PRAGMA foreign_key_list({table})"):
            if fk["table"] == "contacts":
                found.add((table, fk["from"]))
        for column in conn.execute(f"PRAGMA table_info({table})"):
            if column["name"] == "contact_id":
                found.add((table, "contact_id"))
    return found


def test_every_table_that_refers_to_a_contact_is_in_the_list(conn: sqlite3.Connection) -> None:
    """A new table that points at contacts (a merge log, external ids...) fails here until it
    is one line in crmcli/contact_tables.py: forget and export-data then cover it."""
    listed = {(t.table, t.column) for t in CONTACT_TABLES}
    assert _schema_references(conn) <= listed, sorted(_schema_references(conn) - listed)
    for dependent in DEPENDENT_TABLES:
        assert dependent.parent in {t.table for t in CONTACT_TABLES}
    # and every table that refers to one of the contact's own rows is a dependent
    own = {t.table for t in CONTACT_TABLES if t.forget == "delete"} - {"contacts"}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        if table.startswith("sqlite_") or table.startswith("contact_search"):
            continue
        for fk in conn.execute(f"PRAGMA foreign_key_list({table})"):
            if fk["table"] in own and table not in own:
                assert (table, fk["from"]) in {(d.table, d.column) for d in DEPENDENT_TABLES} or (
                    table == "purchases"
                ), (table, fk["table"])


# --- a person with something in every table --------------------------------------------------


def _full_history(cli: Cli, tmp_path: Path) -> None:
    """Ann has a row in every table about a contact, each with the marker in its text."""
    cli("contact", "add", f"Ann {MARKER}", "-e", f"{MARKER.lower()}@example.com",
        "-p", "+44 20 7946 0000", "-t", "vip", "--field", f"nick={MARKER}",
        "--birthday", "1980-11-23", "--company", f"{MARKER} Ltd")  # fmt: skip
    cli("contact", "add", "Bob Other", "--referred-by", "1", "-e", "bob@example.com")
    cli("note", "1", f"Met {MARKER} at the fair", "--kind", "meeting")
    cli("remind", "1", f"call {MARKER}", "--due", "tomorrow")
    cli("deal", "add", "1", f"{MARKER} deal", "--value", "100")
    cli("deal", "move", "1", "proposal")
    cli("purchase", "add", "1", "--amount", "50", "--product", f"{MARKER} widget")
    cli("rule", "add", "--on", "deal-won", "--remind", "+7d", "Check the delivery")
    cli("deal", "won", "1")
    cli("contact", "edit", "1", "--email-optout", "--consent-source", f"{MARKER} call")
    # earlier versions of her rows (an edit leaves the old text in the page's free space)
    cli("contact", "edit", "1", "--title", f"Head of {MARKER}", "--city", f"{MARKER}ville")
    cli("contact", "edit", "1", "--title", "CTO")
    cli(
        "template",
        "add",
        "t",
        "--subject",
        "Happy birthday {first_name} {last_name}",
        "--body",
        "Hi",
    )
    cli("greet", "rule", "add", "birthday", "t", "--to-opted-out")
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    cli("greet", "--due", "--outbox", str(outbox))


def test_export_data_holds_everything(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_SMTP_FROM", "me@seller.example")
    _full_history(cli, tmp_path)
    data = json.loads(cli("contact", "export-data", "1").stdout)
    assert data["contact"]["name"] == f"Ann {MARKER}"
    assert data["consent"]["email_optout"]["source"] == f"{MARKER} call"
    assert data["referred_contacts"] == 1
    counts = {table: len(rows) for table, rows in data["tables"].items()}
    for table in ("notes", "reminders", "deals", "deal_stage_changes", "purchases", "sends",
                  "rule_firings", "contact_emails", "contact_phones", "contact_tags",
                  "contact_fields", "contact_dates", "contact_consent", "purchase_totals"):  # fmt: skip
        assert counts[table] >= 1, table
    assert "Bob Other" not in json.dumps(data)  # other people are not in someone's export
    target = tmp_path / "ann.json"
    cli("contact", "export-data", "ann", "-o", str(target))
    assert target.stat().st_mode & 0o777 == 0o600
    assert json.loads(target.read_text())["contact"]["id"] == 1
    assert cli("contact", "export-data", "ann", "-o", str(target), code=2).stderr.startswith(
        f"Error: --output {target} exists"
    )


def test_forget_erases_for_good_from_the_file(
    cli: Cli, tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_SMTP_FROM", "me@seller.example")
    _full_history(cli, tmp_path)
    cli("segment", "add", "vips", "tag:vip")
    cli("template", "add", "offer", "--subject", "Offer", "--body", "Hi {first_name}")
    cli("contact", "edit", "1", "--email-optin")
    cli("campaign", "add", "c", "--segment", "vips", "--template", "offer")
    cli("campaign", "send", "c", "--outbox", str(tmp_path / "outbox"))
    assert MARKER.encode() in _database_bytes(db_path)
    refused = cli("contact", "forget", "1", code=2)
    assert refused.stderr.startswith(
        f"Error: Erase Ann {MARKER} (#1) for good (the contact, 1 rule firing, 2 messages sent, "
    )
    assert "3 deal stage changes" in refused.stderr
    assert "the link from 1 contact(s) they referred (kept)" in refused.stderr
    result = cli("contact", "forget", "1", "--yes")
    assert result.stderr.startswith("Erased contact 1 for good: the contact, ")
    with db.connect(db_path) as conn:
        for entry in CONTACT_TABLES:
            if entry.forget == "delete":
                found = conn.execute(
                    f"SELECT count(*) FROM {entry.table} WHERE {entry.column} = 1"
                ).fetchone()[0]
                assert found == 0, entry.table
        assert (
            conn.execute("SELECT referred_by_id FROM contacts WHERE id = 2").fetchone()[0] is None
        )
        assert privacy.erasures(conn) == 1
        assert conn.execute("SELECT count(*) FROM deal_stage_changes").fetchone()[0] == 0
    # not in the file (pages overwritten, search index merged, log checkpointed)
    assert MARKER.encode() not in _database_bytes(db_path)
    assert MARKER.lower().encode() not in _database_bytes(db_path)
    # what stays is a count
    assert cli.json("campaign", "show", "c")["counts"]["forgotten"] == 1
    assert cli.json("campaign", "list")[0]["sent"] == 1
    assert cli("contact", "show", "1", code=1).stderr == "Error: no contact with id 1\n"
    assert cli.json("search", MARKER) == []


def _database_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            data += extra.read_bytes()
    return data


# --- consent ---------------------------------------------------------------------------------


def test_contact_edit_consent_with_date_and_source(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@example.com")
    assert cli.json("contact", "show", "1")["consent"] == {
        "do_not_contact": None,
        "email_optout": None,
    }
    cli(
        "contact",
        "edit",
        "1",
        "--do-not-contact",
        "--consent-source",
        "letter of 3 Nov",
        "--title",
        "CTO",
    )
    shown = cli.json("contact", "show", "1")
    assert shown["title"] == "CTO"
    assert shown["consent"]["do_not_contact"] == {
        "at": "2026-11-23T09:00:00Z",
        "source": "letter of 3 Nov",
    }
    cli("contact", "edit", "1", "--email-optout")
    assert (
        cli.json("contact", "show", "1")["consent"]["email_optout"]["source"] == "crm contact edit"
    )
    cli("contact", "edit", "1", "--may-contact", "--email-optin")
    assert cli.json("contact", "show", "1")["consent"] == {
        "do_not_contact": None,
        "email_optout": None,
    }
    # all or nothing: a bad change keeps the consent as it was
    cli("contact", "edit", "1", "--do-not-contact", "--email", "not-an-email", code=1)
    assert cli.json("contact", "show", "1")["consent"]["do_not_contact"] is None


def test_import_records_opt_outs_and_never_takes_one_back(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "crm.csv"
    source.write_text(
        "Name,Email,Email Opt Out,Do Not Contact\n"
        "Ann Lee,ann@example.com,true,\n"
        "Bob Ray,bob@example.com,0,yes\n"
        "Cy Day,cy@example.com,no,false\n",
        encoding="utf-8",
    )
    cli("import", str(source))
    shown = {
        c["name"]: cli.json("contact", "show", str(c["id"]))["consent"]
        for c in cli.json("contact", "list")
    }
    assert shown["Ann Lee"]["email_optout"]["source"] == "import"
    assert shown["Ann Lee"]["do_not_contact"] is None
    assert shown["Bob Ray"]["do_not_contact"]["source"] == "import"
    assert shown["Cy Day"] == consent.NOTHING
    # the same file with Ann saying "false" now: her opt-out stays
    source.write_text("Name,Email,Email Opt Out\nAnn Lee,ann@example.com,false\n", encoding="utf-8")
    cli("import", str(source), "--on-duplicate", "update")
    assert cli.json("contact", "show", "1")["consent"]["email_optout"] is not None
    assert [consent.says_yes(v) for v in ("x", "2024-01-02", "No", " FALSE ", "", None)] == [
        True, True, False, False, False, False,
    ]  # fmt: skip


def test_greetings_follow_consent_unless_the_rule_says_otherwise(
    conn: sqlite3.Connection, make_contact: Callable[..., int]
) -> None:
    from crmcli import contacts
    from crmcli.contact_changes import ContactChanges

    people = {}
    for name in ("Ann Out", "Bob Never", "Cy Fine"):
        people[name] = make_contact(name, email=f"{name.split()[0].lower()}@example.com")
        contacts.update(conn, people[name], ContactChanges(dates={"birthday": "--11-23"}), now=NOW)
    consent.record(conn, people["Ann Out"], source="t", now=NOW, email_optout=True)
    consent.record(conn, people["Bob Never"], source="t", now=NOW, do_not_contact=True)
    templates.add(conn, "t", "Happy birthday", "Hi {first_name}", now=NOW)
    rule = greetings.add_rule(conn, "birthday", "t", now=NOW)
    due = {d.upcoming.name: d.excluded for d in greetings.due(conn, NOW.date())}
    assert due == {"Ann Out": "opted out", "Bob Never": "do not contact", "Cy Fine": None}
    greetings.remove_rule(conn, rule.id)
    greetings.add_rule(conn, "birthday", "t", to_opted_out=True, now=NOW)
    due = {d.upcoming.name: d.excluded for d in greetings.due(conn, NOW.date())}
    assert due == {"Ann Out": None, "Bob Never": "do not contact", "Cy Fine": None}


def test_greet_reports_excluded_contacts_and_sends_them_nothing(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@example.com", "--birthday", "--11-23")
    cli("contact", "add", "Bob Ray", "-e", "bob@example.com", "--birthday", "--11-23")
    cli("optout", "bob@example.com", "--do-not-contact")
    cli("template", "add", "t", "--subject", "Happy birthday", "--body", "Hi")
    cli("greet", "rule", "add", "birthday", "t")
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    result = cli("greet", "--due", "--outbox", str(outbox))
    assert "Not sent: birthday greeting to Bob Ray: do not contact" in result.stderr
    assert result.stderr.endswith("Greetings: 1 excluded, 1 sent\n")
    assert len(list(outbox.iterdir())) == 1
    assert [r["name"] for r in cli.json("greet", "log")] == ["Ann Lee"]
    dry = cli.json("greet", "--due", "--dry-run")
    assert [(r["name"], r["status"]) for r in dry] == [("Bob Ray", "excluded")]


def test_forget_erases_the_records_merged_into_the_person(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    """A merged-away duplicate sits in the trash for an unmerge: it is the same person, so it
    goes too, with its rows, and the merge and dedupe records that name either."""
    cli("contact", "add", "Wilhelmina Quarrington", "-e", "wq@one.example", "--city", "Zennor")
    cli("contact", "add", "Mina Quarrington", "-e", "wq@two.example", "--force")
    cli("contact", "add", "Old Quarrington", "-e", "wq@three.example", "--force")
    cli("note", "2", "Met Mina at the Zennorfest fair")
    cli("contact", "merge", "2", "3", "--prefer", "keep", "--yes")
    cli("contact", "merge", "1", "2", "--prefer", "keep", "--yes")
    asked = cli("contact", "forget", "1", code=2)
    assert "the records merged into them (#2, #3, in the trash)" in asked.stderr
    assert "1 note" in asked.stderr
    cli("contact", "forget", "1", "--yes")
    with db.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM contact_merges").fetchone()[0] == 0
        assert privacy.erasures(conn) == 1
    data = _database_bytes(db_path)
    for text in (b"Quarrington", b"Zennorfest", b"wq@two.example", b"wq@three.example"):
        assert text not in data, text


def test_export_data_holds_the_records_merged_into_the_person(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@one.example")
    cli("contact", "add", "Annie Lee", "-e", "ann@two.example", "--force")
    cli("note", "2", "Asked about the spring catalogue")
    cli("contact", "merge", "1", "2", "--prefer", "keep", "--yes")
    data = json.loads(cli("contact", "export-data", "1").stdout)
    assert [r["id"] for r in data["merged_records"]] == [2]
    away = data["merged_records"][0]["tables"]
    assert [e["email"] for e in away["contact_emails"]] == ["ann@two.example"]
    merges = data["tables"]["contact_merges"]
    assert [(m["keep_id"], m["other_id"]) for m in merges] == [(1, 2)]
    assert [(m["keep_id"], m["other_id"]) for m in away["contact_merges"]] == [(1, 2)]


def test_forget_leaves_no_older_version_of_a_row_behind(
    conn: sqlite3.Connection, db_path: Path, make_contact: ContactFactory
) -> None:
    # Where SQLite is built without secure_delete on by default (this connection plays one),
    # a name changed long ago sits in a page's free space while the page holds other rows:
    # only rewriting the file (VACUUM) takes it away.
    conn.execute("PRAGMA secure_delete = OFF")
    person = make_contact(f"Ann {MARKER}", company="Acme")
    for n in range(5):
        make_contact(f"Neighbour {n}", company="Acme")
    # a longer name: the new row cannot take the old one's place, which stays as it was
    longer = "Lee-Fairweather-Montgomery-Ashbury-Whitcombe"
    conn.execute(
        "UPDATE contacts SET last_name = ?, display_name = NULL WHERE id = ?", (longer, person)
    )
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert MARKER.encode() in _database_bytes(db_path)  # the old version, in free space
    privacy.forget(conn, person, now=NOW)
    assert MARKER.encode() not in _database_bytes(db_path)
    assert MARKER.lower().encode() not in _database_bytes(db_path)
