"""crm export contacts, vCard reading and writing, and the round trips."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from crmcli.io import vcard

FIXTURES = Path(__file__).parent / "fixtures"
SOURCES = [
    "google.csv",
    "google-old-utf16.csv",
    "outlook.csv",
    "linkedin.csv",
    "generic.tsv",
    "android-2.1.vcf",
    "apple-3.0.vcf",
    "rfc-4.0.vcf",
]


@pytest.fixture
def filled(cli: Any) -> None:
    for name in SOURCES:
        cli("import", str(FIXTURES / name))
    cli(
        "contact",
        "add",
        "Eve Formula",
        "--company",
        '=HYPERLINK("http://x")',
        "-p",
        "+44 20 7946 0958",
    )
    cli("contact", "edit", "Eve Formula", "--field", "memo=@SUM(A1)", "--cadence", "30d")
    cli("contact", "edit", "Eve Formula", "--referred-by", "julia@vigna.example")
    # people a careless import would merge: a shared office phone, namesakes at one company
    # (with and without emails), people without an email at all
    cli("contact", "add", "Bob Lee", "--company", "Acme Corp", "-p", "work:+1 555 0199")
    for email in ("john.smith@acme.example", "j.smith@acme.example"):
        cli("contact", "add", "John Smith", "--company", "Acme Corp", "-e", email)
    for _ in range(2):
        cli("contact", "add", "John Smith", "--company", "Acme Corp")
        cli("contact", "add", "Kim Park", "--company", "Beta", "-p", "+82 2 555 0101")
    cli("contact", "add", "Zed Nomail", "-p", "+44 20 7946 0999", "-t", "nomail")


@pytest.mark.parametrize(
    ("fmt", "extra"),
    [
        ("csv", []),
        ("csv", ["--excel"]),
        ("json", []),
        ("jsonl", []),
        ("vcf", []),
        ("vcf", ["--vcard-version", "3.0"]),
    ],
)
def test_round_trip(cli: Any, filled: None, tmp_path: Path, fmt: str, extra: list[str]) -> None:
    first = tmp_path / f"first.{fmt}"
    second = tmp_path / f"second.{fmt}"
    cli("export", "contacts", "--format", fmt, "-o", str(first), *extra)
    empty = tmp_path / "empty.db"
    result = cli("--db", str(empty), "import", str(first))
    assert "0 rejected" in result.stderr
    cli("--db", str(empty), "export", "contacts", "--format", fmt, "-o", str(second), *extra)
    assert first.read_bytes() == second.read_bytes()
    assert len(cli.json("--db", str(empty), "contact", "list")) == len(cli.json("contact", "list"))


def test_csv_layout_and_formula_neutralisation(cli: Any, filled: None) -> None:
    text = cli("export", "contacts", "--tag", "vip").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in rows] == ["Ann Lee", "Julia Rossi"]
    ann = rows[0]
    assert (ann["email_1"], ann["email_1_label"], ann["email_3"]) == (
        "ann@acme.example",
        "work",
        "ann@home.example",
    )
    assert ann["phone_1"] == "'+1 555 0100"  # a + cell would be run as a formula
    assert ann["birthday"] == "1980-04-15"
    assert ann["tags"] == "coworkers, vip"
    eve = next(
        iter(
            csv.DictReader(io.StringIO(cli("export", "contacts", "--company", "HYPERLINK").stdout))
        )
    )
    assert eve["company"] == '\'=HYPERLINK("http://x")'
    assert eve["field:memo"] == "'@SUM(A1)"
    assert eve["referred_by_uid"] == "4B1C2D3E-0000-4000-8000-000000000001"
    raw = next(
        iter(
            csv.DictReader(
                io.StringIO(cli("export", "contacts", "--company", "HYPERLINK", "--raw").stdout)
            )
        )
    )
    assert raw["company"] == '=HYPERLINK("http://x")'
    assert raw["phone_1"] == "+44 20 7946 0958"


def test_excel_has_bom_and_crlf(cli: Any, filled: None, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    cli("export", "contacts", "--excel", "-o", str(out))
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfuid,name,")
    assert data.count(b"\r\n") >= len(cli.json("contact", "list")) + 1
    assert data.endswith(b"\r\n")
    plain = cli("export", "contacts").stdout
    assert "\r\n" not in plain.split("\n")[0]


def test_output_file_is_private_and_errors_name_the_target(
    cli: Any, filled: None, tmp_path: Path
) -> None:
    folder_path = tmp_path / "exports"
    folder_path.mkdir()
    out = folder_path / "contacts.csv"
    cli("export", "contacts", "-o", str(out))
    assert out.stat().st_mode & 0o777 == 0o600
    folder = cli("export", "contacts", "-o", str(folder_path), code=2)
    assert (
        folder.stderr == f"Error: --output {folder_path} is a folder; give a file name inside it\n"
    )
    missing = folder_path / "nope" / "x.csv"
    gone = cli("export", "contacts", "-o", str(missing), code=1)
    assert gone.stderr == f"Error: cannot write {missing}: No such file or directory\n"
    assert sorted(p.name for p in folder_path.iterdir()) == ["contacts.csv"]


def test_output_into_a_device_a_pipe_or_through_a_symlink(
    cli: Any, filled: None, tmp_path: Path
) -> None:
    # /dev/full stays a device (a rename over it would replace it) and its error is reported
    full = cli("export", "contacts", "-o", "/dev/full", code=1)
    assert full.stderr == (
        "Error: cannot write /dev/full: disk full: nothing was saved (free some space and retry)\n"
    )
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    cli("export", "contacts", "-o", str(fifo))
    reader.join(timeout=10)
    assert received and received[0].startswith(b"uid,name,")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    refused = cli("export", "contacts", "-o", str(link), code=2)
    assert "exists; add --force" in refused.stderr and real.read_text() == "old\n"
    cli("export", "contacts", "-o", str(link), "--force")
    assert link.is_symlink() and real.read_text().startswith("uid,name,")


def test_fields_and_json_shape(cli: Any, filled: None) -> None:
    rows = cli(
        "export", "contacts", "-f", "csv", "--fields", "name,email,phone", "--tag", "wine"
    ).stdout
    assert rows.splitlines() == [
        "name,email,phone",
        "Julia Rossi,julia@vigna.example,'+39 345 555 0101",
    ]
    data = json.loads(cli("export", "contacts", "-f", "json", "--tag", "wine").stdout)
    assert set(data[0]) == {
        "uid", "name", "first_name", "middle_name", "last_name", "name_prefix", "name_suffix",
        "nickname", "display_name", "company", "department", "title", "role", "time_zone",
        "geo", "source", "street", "city", "region", "postal_code", "country", "website",
        "emails", "phones", "addresses", "urls", "handles", "related", "photo", "tags",
        "fields", "birthday", "anniversary", "dates", "notes", "cadence_days",
        "referred_by_uid", "invalid", "vcard", "created_at", "updated_at",
    }  # fmt: skip
    assert data[0]["dates"] == [{"label": "first order", "date": "2020-01-10"}]
    bad = cli("export", "contacts", "--fields", "name,shoe", code=2)
    assert "--fields: unknown field 'shoe'" in bad.stderr
    assert cli("export", "contacts", "-f", "json", "--tag", "nothing").stdout == "[]\n"


# --- vCard --------------------------------------------------------------------------------------------


def read(text: str) -> list[Any]:
    return list(vcard.read_vcards(io.StringIO(text)))


def card(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCARD", "VERSION:3.0", "FN:Ann Lee", *lines, "END:VCARD"]) + "\r\n"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("BDAY:--0415", ("birthday", "birthday", "--0415")),
        ("BDAY:--04-15", ("birthday", "birthday", "--04-15")),
        ("BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-15", ("birthday", "birthday", "--04-15")),
        ("BDAY:16040415", ("birthday", "birthday", "16040415")),
        ("BDAY:1980-04-15", ("birthday", "birthday", "1980-04-15")),
        ("BDAY:19800415T000000Z", ("birthday", "birthday", "19800415")),
        ("ANNIVERSARY:20050610", ("anniversary", "anniversary", "20050610")),
        ("X-ANNIVERSARY:2005-06-10", ("anniversary", "anniversary", "2005-06-10")),
        ("X-MS-ANNIVERSARY:2005-06-10", ("anniversary", "anniversary", "2005-06-10")),
    ],
)
def test_vcard_dates(line: str, expected: tuple[str, str, str]) -> None:
    assert read(card(line))[0].dates == [expected]


@pytest.mark.parametrize(
    ("text", "year", "month", "day"),
    [
        ("--0415", None, 4, 15),
        ("16040415", None, 4, 15),
        ("1604-04-15", None, 4, 15),
        ("19800415", 1980, 4, 15),
    ],
)
def test_yearless_forms_store_no_year(text: str, year: int | None, month: int, day: int) -> None:
    from crmcli.import_validate import DateOrder

    assert DateOrder(day_first=False).parse(text, "line 2")[:3] == (year, month, day)


def test_vcard_apple_labels_groups_and_pref(cli: Any) -> None:
    cli("import", str(FIXTURES / "apple-3.0.vcf"))
    julia = cli.json("contact", "show", "julia@vigna.example")
    assert julia["phones"] == [
        {"phone": "+39 345 555 0101", "label": "mobile"},
        {"phone": "+39 045 555 0102", "label": "studio"},
    ]
    assert julia["anniversary"] == "2015-09-19"
    nora = cli.json("contact", "show", "nora@fjord.example")
    assert (nora["birthday"], nora["anniversary"]) == ("--07-22", "2012-08-18")
    dates = json.loads(cli("export", "contacts", "-f", "json", "--tag", "wine").stdout)[0]["dates"]
    assert dates == [{"label": "first order", "date": "2020-01-10"}]


def test_vcard_21_quoted_printable(cli: Any) -> None:
    cli("import", str(FIXTURES / "android-2.1.vcf"))
    juergen = cli.json("contact", "show", "juergen@home.example")
    assert (juergen["first_name"], juergen["last_name"], juergen["company"]) == (
        "Jürgen",
        "Müller",
        "Müller GmbH",
    )
    assert juergen["phones"][0] == {"phone": "+49 151 5550 1234", "label": "mobile"}
    assert [n["body"] for n in juergen["notes"]] == [
        "Erste Zeile\nZweite Zeile mit einem sehr langen Text, der umbrochen wurde"
    ]


def test_vcard_40_uri_phone_and_text_birthday(cli: Any) -> None:
    cli("import", str(FIXTURES / "rfc-4.0.vcf"))
    omar = cli.json("contact", "show", "omar@nile.example")
    assert omar["uid"] == "urn:uuid:2f0c1a7e-0000-4000-8000-000000000002"
    assert omar["phones"] == [{"phone": "+20-100-555-0123", "label": "mobile"}]
    assert (omar["birthday"], omar["anniversary"]) == ("--02-03", "2005-06-10")
    priya = cli.json("contact", "show", "priya@lotus.example")
    assert (priya["birthday"], priya["fields"]) == (None, {})
    assert priya["invalid"] == [
        {"field": "birthday", "label": None, "value": "circa 1985", "reason": "not a date"}
    ]
    # written back as it came
    assert (
        "\nBDAY;VALUE=text:circa 1985\n" in cli("export", "contacts", "-f", "vcf", "priya").stdout
    )


def test_vcard_writer_escapes_folds_and_versions() -> None:
    contact = {
        "uid": "u-1",
        "name": "Ann Lee",
        "first_name": "Ann",
        "last_name": "Lee",
        "company": "Lee, Sons; Co",
        "emails": [{"email": "ann@example.com", "label": "work"}],
        "phones": [{"phone": "+1 555 0100", "label": "mobile"}],
        "tags": ["a", "b"],
        "fields": {},
        "notes": "line one\nline two " + "x" * 80,
        "birthday": "--04-15",
        "anniversary": "2010-06-12",
        "dates": [],
    }
    v4 = vcard.write_card(contact)
    assert "ORG:Lee\\, Sons\\; Co\r\n" in v4
    assert "TEL;TYPE=cell:+1 555 0100\r\n" in v4
    assert "BDAY:--0415\r\n" in v4 and "ANNIVERSARY:20100612\r\n" in v4
    assert all(len(line.encode()) <= 75 for line in v4.split("\r\n"))
    assert "NOTE:line one\\nline two" in v4
    v3 = vcard.write_card(contact, "3.0")
    assert "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-15\r\n" in v3
    assert "X-ANNIVERSARY:2010-06-12\r\n" in v3
    back = read(v3)[0]
    assert back.text["company"] == "Lee, Sons; Co"
    assert back.notes == ["line one\nline two " + "x" * 80]
    assert back.dates == [
        ("birthday", "birthday", "--04-15"),
        ("anniversary", "anniversary", "2010-06-12"),
    ]


def test_unfolding_and_escapes() -> None:
    rec = read(card("NOTE:one\\, two\\;", " three\\nfour", "CATEGORIES:x\\,y,z"))[0]
    assert rec.notes == ["one, two;three\nfour"]
    assert rec.tags == ["x,y", "z"]


def test_notes_travel_with_contacts_and_are_not_duplicated(cli: Any, tmp_path: Path) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@lee.example")
    cli("note", "ann", "Met at the fair.", "--at", "2026-10-01 10:00")
    cli("note", "ann", "Called about = pricing", "--kind", "call")
    first = cli("export", "contacts", "-f", "csv").stdout
    assert '"Met at the fair.\n\nCalled about = pricing"' in first
    file = tmp_path / "contacts.csv"
    file.write_text(first, encoding="utf-8")
    other = str(tmp_path / "other.db")
    cli("--db", other, "import", str(file))
    imported = cli.json("--db", other, "contact", "show", "ann")["notes"]
    assert [(n["kind"], n["body"]) for n in imported] == [
        ("imported", "Met at the fair.\n\nCalled about = pricing")
    ]
    assert cli("--db", other, "export", "contacts", "-f", "csv").stdout == first
    cli("import", str(file))  # back into the first database: nothing new
    assert len(cli.json("contact", "show", "ann")["notes"]) == 2
    vcf = cli("export", "contacts", "-f", "vcf").stdout
    assert "NOTE:Met at the fair.\\n\\nCalled about = pricing\n" in vcf.replace("\r\n", "\n")
