"""crm import: every source format and encoding, dedup policies, dry run, all or nothing, rejects,
saved maps, and an import killed mid-way."""

from __future__ import annotations

import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crmcli import contacts, importer
from crmcli.clock import now
from crmcli.contact_changes import ContactChanges
from crmcli.contacts import Labeled
from crmcli.io import csv_headers, csv_in
from crmcli.io.record import Record

FIXTURES = Path(__file__).parent / "fixtures"


def show(cli: Any, ref: str) -> dict[str, Any]:
    result: dict[str, Any] = cli.json("contact", "show", ref)
    return result


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM contacts").fetchone()[0])


# --- each source, each encoding ---------------------------------------------------------------------


def test_google_current_with_bom_multiline_notes_and_multi_values(cli: Any) -> None:
    result = cli("import", str(FIXTURES / "google.csv"))
    assert "Google Contacts, utf-8" in result.stderr
    assert "3 created" in result.stderr
    ann = show(cli, "ann@acme.example")
    assert (ann["first_name"], ann["last_name"], ann["company"], ann["title"]) == (
        "Ann",
        "Lee",
        "Acme Corp",
        "CTO",
    )
    # "* " marks the primary value of a ::: cell; labels come from the Label column
    assert ann["emails"] == [
        {"email": "ann@acme.example", "label": "work"},
        {"email": "ann.lee@acme.example", "label": "work"},
        {"email": "ann@home.example", "label": "home"},
    ]
    assert [p["phone"] for p in ann["phones"]] == ["+1 555 0100", "+1 555 0101", "+1 555 0199"]
    assert ann["tags"] == ["coworkers", "vip"]  # myContacts is Google's, not a label
    assert ann["addresses"] == [
        {"label": "work", "street": "1 Main St", "city": "Springfield", "region": "IL",
         "postal_code": "62701", "country": "USA", "po_box": None, "extended": "Suite 4"}
    ]  # fmt: skip
    assert ann["website"] == "https://ann.example"
    assert ann["birthday"] == "1980-04-15"
    assert ann["anniversary"] == "2010-06-12"
    assert [(n["kind"], n["body"]) for n in ann["notes"]] == [
        ("imported", "Met at the fair.\nLikes tea, not coffee.")
    ]
    assert "import note" not in ann["fields"]
    assert (ann["nickname"], ann["middle_name"], ann["department"]) == ("Annie", "Marie", "R&D")
    assert ann["source"] == "Google Contacts"
    bob = show(cli, "bob@stone.example")
    assert bob["birthday"] == "--07-04"  # no year stays without a year


def test_google_older_format_in_utf16(cli: Any, conn: sqlite3.Connection) -> None:
    result = cli("import", str(FIXTURES / "google-old-utf16.csv"))
    assert "utf-16" in result.stderr
    dana = show(cli, "dana@whitfield.example")
    assert (dana["first_name"], dana["last_name"], dana["company"], dana["title"]) == (
        "Dana",
        "Whitfield",
        "Whitfield & Co",
        "Owner",
    )
    assert dana["tags"] == ["Friends"]
    assert dana["emails"][1] == {"email": "dana@corp.example", "label": "work"}
    assert show(cli, "erik@sand.example")["birthday"] == "--02-29"


def test_outlook_with_empty_dates(cli: Any) -> None:
    cli("import", str(FIXTURES / "outlook.csv"))
    farah = show(cli, "farah@cedar.example")
    assert farah["title"] == "IT Director"  # "Title" (Dr.) is not the job title
    assert farah["birthday"] == "1980-04-15"
    assert farah["anniversary"] is None  # 0/0/00 means no date
    assert farah["tags"] == ["Customers", "Key account"]
    assert farah["phones"] == [
        {"phone": "+961 3 555 012", "label": "work"},
        {"phone": "+961 70 555 013", "label": "mobile"},
    ]
    assert farah["fields"]["referred by"] == "Omar Farouk"
    gustav = show(cli, "gustav@nordlys.example")
    assert gustav["city"] == "Stockholm"  # the home address when there is no business one
    assert gustav["anniversary"] == "2019-06-01"
    assert gustav["birthday"] is None
    assert len(gustav["emails"]) == 2


def test_linkedin_with_preamble(cli: Any) -> None:
    result = cli("import", str(FIXTURES / "linkedin.csv"))
    assert "LinkedIn connections" in result.stderr
    hannah = show(cli, "Hannah Schmidt")
    assert hannah["company"] == "Rheinwerk GmbH, Köln"  # a comma inside a quoted cell
    assert hannah["title"] == "Plant Manager"
    assert hannah["emails"] == []
    assert hannah["fields"]["connected on"] == "2024-03-12"
    assert hannah["source"] == "LinkedIn"


def test_semicolon_cp1252_with_map_and_saved_map(cli: Any, tmp_path: Path) -> None:
    source = FIXTURES / "excel-semicolon-cp1252.csv"
    args = [
        "--map",
        "Vorname=first_name",
        "--map",
        "Nachname=last_name",
        "--map",
        "Firma=company",
        "--map",
        "Telefon=phone:work",
        "--map",
        "Stadt=field:Stadt",
    ]
    result = cli("import", str(source), *args, "--save-map", "german")
    assert "cp1252, delimiter ';'" in result.stderr
    assert "Saved the column mapping as 'german'" in result.stderr
    juergen = show(cli, "juergen@mueller.example")
    assert (juergen["first_name"], juergen["last_name"]) == ("Jürgen", "Müller")
    assert juergen["company"] == "Müller; Söhne"
    assert juergen["phones"] == [{"phone": "+49 30 5550123", "label": "work"}]
    assert juergen["fields"] == {"Stadt": "Köln"}
    # the saved map in a fresh database file gives the same contacts
    other = tmp_path / "other.db"
    cli("--db", str(other), "import", str(source), "--save-map", "german", *args)
    cli("--db", str(other), "import", str(source), "--use-map", "german")
    assert cli.json("--db", str(other), "contact", "list")[0]["name"] == "Jürgen Müller"
    missing = cli("import", str(source), "--use-map", "nope", code=1)
    assert "no saved import map 'nope' (saved maps: german)" in missing.stderr


def test_tab_separated_generic_aliases(cli: Any) -> None:
    cli("import", str(FIXTURES / "generic.tsv"), "--tag", "trade-show-2026")
    kenji = show(cli, "kenji@hikari.example")
    assert (kenji["first_name"], kenji["last_name"]) == ("Kenji", "Watanabe")
    assert kenji["company"] == "Hikari Robotics"
    assert kenji["phones"] == [{"phone": "+81 90 5555 0123", "label": "mobile"}]
    assert kenji["birthday"] == "--08-21"
    assert kenji["tags"] == ["lead", "robotics", "trade-show-2026"]
    assert kenji["region"] == "Kansai"


def test_encoding_override_and_wrong_encoding(cli: Any) -> None:
    source = str(FIXTURES / "excel-semicolon-cp1252.csv")
    bad = cli("import", source, "--encoding", "utf-8", code=1)
    assert "not valid utf-8" in bad.stderr and "--encoding cp1252" in bad.stderr
    assert cli.json("contact", "list") == []
    cli("import", source, "--encoding", "latin-1", "--map", "Nachname=last_name")
    assert show(cli, "renee@fass.example")["last_name"] == "Faßbender"
    unknown = cli("import", source, "--encoding", "klingon", code=2)
    assert "unknown encoding 'klingon'" in unknown.stderr


def test_undecodable_bytes_are_one_line_with_an_encoding_that_works(
    cli: Any, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    def bad(name: str, data: bytes, *args: str) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        result = cli("import", str(path), *args, code=1)
        assert len(result.stderr.splitlines()) == 1
        return str(result.stderr)

    latin = "José García,jose@example.com\n".encode("latin-1")
    # the user's word (utf-8), not the codec we read it with (utf-8-sig)
    assert bad("a.csv", b"Name,Email\n" + latin, "--encoding", "utf-8") == (
        "Error: a.csv is not valid utf-8; give its encoding, e.g. --encoding cp1252\n"
    )
    # after cp1252 fails (0x81 is undefined there), not cp1252 again: latin-1 reads any byte
    assert bad("b.csv", b"Name,Email\nJos\x81,j@example.com\n") == (
        "Error: b.csv is not valid cp1252; give its encoding, e.g. --encoding latin-1\n"
    )
    # vCard and JSON: an error line, not a traceback, and nothing imported
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{}\r\nEND:VCARD\r\n"
    vcards = card.format("Ann Lee").encode() + card.format("José").encode("latin-1")
    assert bad("c.vcf", vcards, "--encoding", "utf-8") == (
        "Error: c.vcf is not valid utf-8; give its encoding, e.g. --encoding cp1252\n"
    )
    people = '[{"name": "Ann Lee"}, {"name": "José"}]'.encode("latin-1")
    assert "not valid utf-8;" in bad("d.json", people, "--encoding", "utf-8")
    assert count(conn) == 0
    cli("import", str(tmp_path / "c.vcf"), "--encoding", "cp1252")
    assert count(conn) == 2


def test_stdin_and_map_errors(cli: Any) -> None:
    data = "Name,Mail\nZoe Quinn,zoe@example.com\n"
    cli("import", "-", input=data)
    assert show(cli, "zoe@example.com")["last_name"] == "Quinn"
    wrong = cli("import", "-", "--map", "Nope=email", input=data, code=2)
    assert "--map names column 'Nope', which is not in the file" in wrong.stderr
    target = cli("import", "-", "--map", "Mail=emial", input=data, code=2)
    assert "--map target 'emial' is not known" in target.stderr


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        (["First Name", "Last Name", "E-mail 1 - Label", "E-mail 1 - Value"], "google"),
        (["Name", "Given Name", "Family Name", "Group Membership"], "google"),
        (["Title", "First Name", "E-mail Address", "Business Phone", "Job Title"], "outlook"),
        (["First Name", "Last Name", "URL", "Email Address", "Connected On"], "linkedin"),
        (["uid", "name", "first_name", "last_name", "email_1"], "crmcli"),
        (["Record ID", "First Name", "Email", "Phone Number"], "generic"),
    ],
)
def test_detect_format(header: list[str], fmt: str) -> None:
    assert csv_in.detect_format(header) == fmt


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("E-mail", ("email", None, "email")),
        ("Email Address", ("email", None, "emailaddress")),
        ("Mail", ("email", None, "mail")),
        ("Work Email", ("email", "work", "workemail")),
        ("Mobile", ("phone", "mobile", "mobile")),
        ("Phone Number", ("phone", None, "phonenumber")),
        ("Person - Email - Work", ("email", "work", "email - work")),
        ("Zip", ("addr", "postal_code", "")),
        ("Organisation", ("text", "company", None)),
        ("Date of Birth", ("event", "birthday", "birthday")),
        ("Favourite colour", None),
    ],
)
def test_generic_aliases(header: str, target: Any) -> None:
    assert csv_headers.generic(header) == target


@pytest.mark.parametrize(
    ("sample", "delimiter"),
    [("a,b,c\n1,2,3", ","), ("a;b;c\n", ";"), ("a\tb\tc\n", "\t"), ('"x,y";b;c\n', ";")],
)
def test_sniff_delimiter(sample: str, delimiter: str) -> None:
    assert csv_in.sniff_delimiter(sample) == delimiter


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        (b"\xef\xbb\xbfName", "utf-8-sig"),
        (b"\xff\xfeN\x00", "utf-16"),
        ("Jürgen".encode(), "utf-8"),
        ("Jürgen".encode("cp1252"), "cp1252"),
    ],
)
def test_detect_encoding(head: bytes, encoding: str) -> None:
    assert csv_in.detect_encoding(head) == encoding


# --- duplicates -------------------------------------------------------------------------------------


@pytest.fixture
def ann(conn: sqlite3.Connection) -> int:
    return contacts.create(
        conn,
        ContactChanges(
            text={"first_name": "Ann", "last_name": "Lee", "title": "Engineer"},
            add_emails=[Labeled("ANN@acme.example", "work")],
            add_tags=["old"],
        ),
        now=now(),
    )


@pytest.mark.parametrize(
    ("policy", "contacts_after", "title", "company", "counts"),
    [
        ("merge", 3, "Engineer", "Acme Corp", {"merged": 1, "created": 2}),
        ("update", 3, "CTO", "Acme Corp", {"updated": 1, "created": 2}),
        ("skip", 3, "Engineer", None, {"skipped": 1, "created": 2}),
        ("create", 4, "Engineer", None, {"created": 3}),
    ],
)
def test_duplicate_policies(
    cli: Any,
    conn: sqlite3.Connection,
    ann: int,
    policy: str,
    contacts_after: int,
    title: str,
    company: str | None,
    counts: dict[str, int],
) -> None:
    result = cli("import", str(FIXTURES / "google.csv"), "--on-duplicate", policy)
    for key, value in counts.items():
        assert f"{value} {key}" in result.stderr
    assert count(conn) == contacts_after
    mine = contacts.get(conn, ann)
    assert mine.text["title"] == title
    assert mine.text["company"] == company
    if policy in ("merge", "update"):
        # new emails, phones and tags are added, nothing removed
        assert [e.value for e in mine.emails] == [
            "ANN@acme.example",
            "ann.lee@acme.example",
            "ann@home.example",
        ]
        assert mine.tags == ["coworkers", "old", "vip"]
        assert len(mine.phones) == 3
    else:
        assert len(mine.emails) == 1


def test_dedup_by_phone_and_by_name_and_company(cli: Any, conn: sqlite3.Connection) -> None:
    cli("contact", "add", "Bob Stone", "-p", "+1 (555) 010-2000")
    cli("contact", "add", "Chloé Dubois", "--company", "Atelier Lumière")
    result = cli("import", str(FIXTURES / "google.csv"))
    assert "1 created, 0 updated, 2 merged" in result.stderr
    assert count(conn) == 3
    bob = show(cli, "Bob Stone")
    assert bob["emails"] == [{"email": "bob@stone.example", "label": "home"}]
    assert len(bob["phones"]) == 1  # "(555) 010-2000" is the number it had


def test_duplicates_inside_the_file_are_merged_across_batches(conn: sqlite3.Connection) -> None:
    def rec(n: int, email: str, **text: str) -> Record:
        r = Record(f"line {n}")
        r.emails = [(email, None)]
        r.text = dict(text)
        return r

    rows = [
        rec(2, "a@x.example", first_name="Ann"),
        rec(3, "b@x.example", first_name="Bob"),
        rec(4, "c@x.example", first_name="Cy"),
        rec(5, "A@X.example", company="Acme"),  # same as line 2, in a later batch
    ]
    result = importer.import_records(conn, rows, importer.ImportOptions(batch_size=2), now=now())
    assert (result.created, result.merged) == (3, 1)
    ann = contacts.get(conn, contacts.resolve(conn, "a@x.example"))
    assert ann.text["company"] == "Acme"
    assert [e.value for e in ann.emails] == ["a@x.example"]


def test_vcard_uid_reimport_updates_instead_of_duplicating(
    cli: Any, conn: sqlite3.Connection
) -> None:
    cli("import", str(FIXTURES / "apple-3.0.vcf"))
    cli("contact", "edit", "julia@vigna.example", "--title", "Director")
    result = cli("import", str(FIXTURES / "apple-3.0.vcf"), "--on-duplicate", "update")
    assert "2 updated" in result.stderr
    assert count(conn) == 2
    julia = show(cli, "julia@vigna.example")
    assert julia["uid"] == "4B1C2D3E-0000-4000-8000-000000000001"
    assert julia["title"] == "Export Manager"


# --- dry run, all or nothing, rejects ------------------------------------------------------------------


BAD = (
    "First Name,Last Name,Email,Birthday\n"
    "Ann,Lee,ann@example.com,1980-04-15\n"
    "Bob,Stone,bob-at-example,\n"
    ",,,1970-01-01\n"
    "Cy,Young,cy@example.com,1980-02-30\n"
    "Di,Ray,di@example.com,--12-24\n"
)


def test_dry_run_writes_nothing(cli: Any, conn: sqlite3.Connection, ann: int) -> None:
    before = conn.execute("SELECT * FROM contacts").fetchall()
    result = cli("import", str(FIXTURES / "google.csv"), "--dry-run")
    assert "Dry run, nothing saved: would have imported 3 rows" in result.stderr
    assert "2 created, 0 updated, 1 merged" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "position\taction\tname\tcontact_id\tpossible_duplicate_of"
    assert lines[1] == f"line 2\tmerge\tAnn Lee\t{ann}\t"
    assert lines[2].startswith("line 5\tcreate\tBob Stone\t")  # line 2's notes take 2 lines
    assert conn.execute("SELECT * FROM contacts").fetchall() == before
    assert count(conn) == 1


def test_all_or_nothing_lists_every_bad_row(cli: Any, conn: sqlite3.Connection) -> None:
    bad = BAD + ",,,,\n" + ",,,--01-02\n"
    result = cli("import", "-", input=bad, code=1)
    assert result.stderr.splitlines()[:3] == [
        "Error: 2 row(s) cannot be imported, so nothing was imported",
        "  line 4: no name, company, email or phone",
        "  line 8: no name, company, email or phone",
    ]
    assert count(conn) == 0


def test_values_that_are_not_what_they_claim_are_kept_flagged(
    cli: Any, conn: sqlite3.Connection
) -> None:
    rows = BAD.replace(",,,1970-01-01\n", "")
    result = cli("import", "-", input=rows)
    assert "4 created, 0 updated, 0 merged, 0 skipped, 0 rejected" in result.stderr
    assert (
        "Kept 2 values that are not what they claim to be, flagged (1 birthday, 1 email); "
        "see them with crm contact issues"
    ) in result.stderr
    bob = show(cli, "bob")
    assert bob["emails"] == []
    assert bob["invalid"] == [
        {
            "field": "email",
            "label": None,
            "value": "bob-at-example",
            "reason": "not an email address",
        }
    ]
    assert show(cli, "cy@example.com")["birthday"] is None
    issues = cli.json("contact", "issues")
    assert [(i["name"], i["field"], i["value"], i["reason"]) for i in issues] == [
        ("Bob Stone", "email", "bob-at-example", "not an email address"),
        ("Cy Young", "birthday", "1980-02-30", "not a date"),
    ]
    assert [c["name"] for c in cli.json("contact", "list", "invalid:birthday")] == ["Cy Young"]
    # fixed by hand: the right value on its own, the flagged one dropped
    cli("contact", "edit", "bob", "-e", "bob@example.com", "--clear", "invalid")
    assert [i["name"] for i in cli.json("contact", "issues")] == ["Cy Young"]


def test_a_birthday_in_the_future_is_kept_flagged(cli: Any, conn: sqlite3.Connection) -> None:
    rows = (
        "Name,Email,Birthday,Anniversary\n"
        "Ann Lee,ann@example.com,2031-05-01,\n"
        "Bob Stone,bob@example.com,1980-04-15,2031-05-01\n"
    )
    result = cli("import", "-", input=rows)
    assert "flagged (1 birthday)" in result.stderr
    ann = show(cli, "ann")
    assert ann["birthday"] is None
    assert ann["invalid"] == [
        {"field": "birthday", "label": None, "value": "2031-05-01", "reason": "in the future"}
    ]
    vcard = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cy Young\r\nBDAY:2031-05-01\r\nEND:VCARD\r\n"
    cli("import", "-", "--format", "vcf", input=vcard)
    assert show(cli, "cy")["invalid"][0]["reason"] == "in the future"
    assert show(cli, "bob")["anniversary"] == "2031-05-01"  # a future anniversary is fine


def test_skip_invalid_writes_rejects_that_reimport(
    cli: Any, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(BAD, encoding="utf-8")
    result = cli("import", str(source), "--skip-invalid")
    assert "4 created, 0 updated, 0 merged, 0 skipped, 1 rejected" in result.stderr
    rejects = tmp_path / "people.rejects.csv"
    assert f"Rejected rows written to {rejects}" in result.stderr
    text = rejects.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "First Name,Last Name,Email,Birthday,crm_import_error"
    assert ',,,1970-01-01,"line 4: no name, company, email or phone"' in text
    # fix the row and import the rejects file itself
    rejects.write_text(text.replace("\n,,,1970-01-01,", "\nEve,,,1970-01-01,"), encoding="utf-8")
    again = cli("import", str(rejects))
    assert "1 created" in again.stderr
    assert count(conn) == 5


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            'Name,Mail\nAnn Lee,ann@example.com\n"Bob Stone,bob@example.com\nCarl,c@example.com\n',
            "Error: stdin, line 3: a quoted cell starts here and is never closed;",
        ),
        (
            'Name,Mail\nAnn Lee,ann@example.com\n"Bob"Stone,bob@example.com\n',
            "Error: stdin, line 3: the CSV cannot be read (',' expected after '\"')",
        ),
    ],
    ids=["unclosed-quote", "text-after-quote"],
)
def test_malformed_quotes_name_the_line_and_import_nothing(
    cli: Any, conn: sqlite3.Connection, data: str, error: str
) -> None:
    result = cli("import", "-", input=data, code=1)
    assert result.stderr.startswith(error)
    assert len(result.stderr.splitlines()) == 1
    assert count(conn) == 0


def test_broken_vcard_reported_by_position(cli: Any, tmp_path: Path) -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ok Person\r\nEND:VCARD\r\n"
    broken = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No End\r\n"
    path = tmp_path / "cards.vcf"
    path.write_text(card + card.replace("Ok Person", "Other Person") + broken, encoding="utf-8")
    result = cli("import", str(path), code=1)
    assert "  card 3 (line 9): the card has no END:VCARD" in result.stderr
    ok = cli("import", str(path), "--skip-invalid", "--rejects", str(tmp_path / "bad.vcf"))
    assert "2 created" in ok.stderr
    assert "X-CRM-IMPORT-ERROR:card 3 (line 9)" in (tmp_path / "bad.vcf").read_text()


# --- memory: a long file streams ------------------------------------------------------------------------


def test_records_stream_lazily() -> None:
    header = "First Name,E-mail 1 - Value\r\n"

    class Endless(io.RawIOBase):
        """An endless CSV: reading it whole would never finish."""

        def __init__(self) -> None:
            self.sent = 0
            self.head = header.encode()

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self.head or f"P{self.sent},p{self.sent}@x.example\r\n".encode()
            self.head = b""
            self.sent += 1
            buffer[: len(chunk)] = chunk
            return len(chunk)

    source = csv_in.open_csv(csv_in.open_text(io.BufferedReader(Endless())))
    records = source.records()
    first = [next(records) for _ in range(3)]
    assert [r.emails for r in first] == [
        [("p1@x.example", None)],
        [("p2@x.example", None)],
        [("p3@x.example", None)],
    ]


# --- a killed import --------------------------------------------------------------------------------


@pytest.mark.slow
def test_killed_import_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from gen_csv import write_google_csv

    big = tmp_path / "big.csv"
    write_google_csv(big, 150_000)
    database = tmp_path / "crm.db"
    crm = shutil.which("crm") or pytest.fail("the crm command is not installed")
    env = {**os.environ, "CRM_DB": str(database)}
    subprocess.run([crm, "contact", "add", "Kept Before"], env=env, check=True)
    wal = Path(f"{database}-wal")
    start_size = wal.stat().st_size if wal.exists() else 0
    proc = subprocess.Popen([crm, "import", str(big)], env=env, stderr=subprocess.DEVNULL)
    # wait until the import is writing (its transaction spills pages into the WAL), then kill
    deadline = time.monotonic() + 120
    while (
        not wal.exists() or wal.stat().st_size <= start_size + 4_000_000
    ) and proc.poll() is None:
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.02)
    assert proc.poll() is None, "the import finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    listed = subprocess.run(
        [crm, "contact", "list", "--format", "json"], env=env, check=True, capture_output=True
    )
    assert '"Kept Before"' in listed.stdout.decode()
    assert listed.stdout.decode().count('"id"') == 1
    check = subprocess.run([crm, "db", "check"], env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("ok:")
