"""crm import and the identity rules: one contact per person, never two people in one."""

from __future__ import annotations

import csv
import io
import random
import sqlite3
from pathlib import Path

from crmcli import identity, importer
from crmcli.io.record import Record
from tests.conftest import NOW, Cli

FIRST = ["Oskar", "Ana", "Ben", "Chloé", "Daniel", "Elif"]
LAST = ["Ito", "García", "Okafor", "Dubois", "Kim"]
COMPANIES = ["Acme", "Globex", "Initech", "Hooli"]


def count(conn: sqlite3.Connection, table: str = "contacts") -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def namesakes(rows: int, planted: int, seed: int = 3) -> tuple[str, int]:
    """crmcli CSV: ``rows`` people, each their own email and phone, 30 names at 4 companies,
    and ``planted`` true duplicates (half the same email in other case, half the same UID with
    a new email). Returns the text and how many planted ones bring a new email."""
    rng = random.Random(seed)
    people = []
    for n in range(rows):
        first, last = FIRST[n % len(FIRST)], LAST[n // len(FIRST) % len(LAST)]
        company = COMPANIES[n // (len(FIRST) * len(LAST)) % len(COMPANIES)]
        email = f"{identity.fold(first)}.{identity.fold(last)}.{n}@{company}.example".lower()
        uid = f"uid-{n}" if n % 2 else ""
        people.append([uid, f"{first} {last}", first, last, company, email, f"+1 555 {n:07d}"])
    copies = []
    for index in rng.sample(range(rows), planted):
        uid, name, first, last, company, email, _ = people[index]
        if uid:
            copies.append([uid, name, first, last, company, f"new.{email}", ""])
        else:
            copies.append(["", name, first, last, company, email.upper(), ""])
    everyone = people + copies
    rng.shuffle(everyone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["uid", "name", "first_name", "last_name", "company", "email_1", "phone_1"])
    writer.writerows(everyone)
    return out.getvalue(), sum(1 for c in copies if c[0])


def test_every_row_its_own_email_is_its_own_contact_and_planted_copies_merge(
    cli: Cli, conn: sqlite3.Connection
) -> None:
    text, new_emails = namesakes(1200, 40)
    result = cli("import", "-", input=text)
    assert "1240 rows from stdin" in result.stderr
    assert "1200 created, 0 updated, 40 merged" in result.stderr
    assert count(conn) == 1200
    assert count(conn, "contact_emails") == 1200 + new_emails
    # the UIDs of the file are kept: the same file again changes nothing
    again = cli("import", "-", input=text)
    assert "0 created, 0 updated, 1240 merged" in again.stderr
    assert count(conn) == 1200 and count(conn, "contact_emails") == 1200 + new_emails


def test_small_batches_and_duplicates_inside_one_file(conn: sqlite3.Connection) -> None:
    text, _ = namesakes(300, 20, seed=9)
    rows = list(csv.DictReader(io.StringIO(text)))

    def record(n: int, row: dict[str, str]) -> Record:
        rec = Record(f"line {n}")
        rec.uid = row["uid"] or None
        rec.text = {"first_name": row["first_name"], "last_name": row["last_name"],
                    "company": row["company"]}  # fmt: skip
        rec.emails = [(row["email_1"], None)]
        rec.phones = [(row["phone_1"], None)] if row["phone_1"] else []
        return rec

    records = [record(n, row) for n, row in enumerate(rows, 2)]
    options = importer.ImportOptions(batch_size=7)
    result = importer.import_records(conn, records, options, now=NOW)
    assert (result.created, result.merged) == (300, 20)
    assert result.possible_duplicates > 0  # namesakes at one company, with their own emails


def test_a_shared_office_phone_is_two_people(cli: Cli, conn: sqlite3.Connection) -> None:
    rows = (
        "First Name,Last Name,Company,Business Phone\n"
        "Ann,Lee,Acme,+1 555 0100\n"
        "Bob,Lee,Acme,+1 555 0100\n"
        "Robert,Lee,Acme,555 0100\n"  # Bob, by his phone and nickname
    )
    result = cli("import", "-", input=rows)
    assert "2 created, 0 updated, 1 merged" in result.stderr
    assert "; 1 of the new contacts may be duplicates (listed by crm dedupe)" in result.stderr
    assert [c["name"] for c in cli.json("contact", "list")] == ["Ann Lee", "Bob Lee"]
    [pair] = cli.json("dedupe")
    assert pair["reasons"] == ["same phone", "different names", "same company"]


def test_conflicting_evidence_never_merges(cli: Cli, conn: sqlite3.Connection) -> None:
    cards = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:phone-1\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\n"
        "EMAIL:ann@acme.example\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:laptop-7\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\n"
        "EMAIL:ANN@acme.example\r\nEND:VCARD\r\n"
    )
    result = cli("import", "-", "--format", "vcf", input=cards)
    # two address books' own records of Ann: two records, offered by crm dedupe
    assert "2 created, 0 updated, 0 merged" in result.stderr
    assert "1 of the new contacts may be duplicates" in result.stderr
    [pair] = cli.json("dedupe")
    assert pair["reasons"] == ["same email", "same name", "different UIDs"]
    assert not pair["same"] and not pair["safe"]
    # the oskar.ito.587 / oskar.ito.5587 of the issue: one name, one company, two people
    rows = (
        "First Name,Last Name,Company,E-mail Address,Mobile Phone\n"
        "Oskar,Ito,Acme,oskar.ito.587@acme.example,+1 555 0587\n"
        "Oskar,Ito,Acme,oskar.ito.5587@acme.example,+1 555 5587\n"
    )
    assert "2 created" in cli("import", "-", input=rows).stderr


def test_an_external_uid_finds_the_contact_later(cli: Cli, conn: sqlite3.Connection) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@acme.example")
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:iphone-42\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\n"
        "EMAIL:{email}\r\nTEL:+1 555 0100\r\nEND:VCARD\r\n"
    )
    first = cli("import", "-", "-f", "vcf", input=card.format(email="ann@acme.example"))
    assert "0 created, 0 updated, 1 merged" in first.stderr
    found = conn.execute("SELECT uid, contact_id FROM contact_uids").fetchall()
    assert [tuple(row) for row in found] == [("iphone-42", 1)]
    # she changed her email on the phone: the UID still says who she is
    later = cli("import", "-", "-f", "vcf", input=card.format(email="ann@new.example"))
    assert "0 created, 0 updated, 1 merged" in later.stderr
    assert [e["email"] for e in cli.json("contact", "show", "1")["emails"]] == [
        "ann@acme.example",
        "ann@new.example",
    ]


def test_ambiguous_rows_are_new_and_flagged(cli: Cli, conn: sqlite3.Connection) -> None:
    rows = (
        "First Name,Last Name,Company,E-mail Address\n"
        "John,Smith,Acme,j1@acme.example\n"
        "John,Smith,Acme,j2@acme.example\n"
        "John,Smith,Acme,\n"  # which John? either: neither
    )
    result = cli("import", "-", "--dry-run", input=rows)
    assert "3 created, 0 updated, 0 merged" in result.stderr
    assert "2 of the new contacts may be duplicates" in result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert lines[0] == ["position", "action", "name", "contact_id", "possible_duplicate_of"]
    assert [line[4] for line in lines[1:]] == ["", "1", "1"]
    assert count(conn) == 0


def test_import_and_add_agree(cli: Cli, conn: sqlite3.Connection, tmp_path: Path) -> None:
    cli("contact", "add", "Bob Lee", "--company", "Acme", "-p", "+1 555 0100")
    # contact add says the same thing the import does: a possible duplicate, added
    added = cli("contact", "add", "Ann Lee", "--company", "Acme", "-p", "+1 555 0100")
    assert "may be the same person (same phone, different names, same company)" in added.stderr
    rows = "First Name,Last Name,Company,Mobile Phone\nAnn,Lee,Acme,+1 555 0100\n"
    result = cli("import", "-", input=rows)  # Ann again: the same phone and name
    assert "0 created, 0 updated, 1 merged" in result.stderr
