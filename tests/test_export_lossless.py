"""CSV and JSON export carry every part of a contact (name parts, department, role, time zone,
geo, every address, URL, handle and related person, the photo, flagged values, kept vCard
properties), and what they write imports back into an empty database as the same contacts."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

#: the smallest PNG there is (1x1): a real image, so --photo takes it
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def everything(cli: Cli, tmp_path: Path) -> None:
    """One contact with every part, made through the command line as a person would."""
    photo = tmp_path / "ann.png"
    photo.write_bytes(PNG)
    cli("contact", "add", "Ann Lee", "-e", "work:ann@example.com", "-p", "mobile:+49 170 1234567",
        "--middle", "Mae", "--prefix", "Dr.", "--suffix", "PhD", "--nickname", "Annie",
        "--company", "Acme", "--department", "R&D", "--title", "CTO", "--role", "Lead",
        "--tz", "Europe/Berlin", "--geo", "52.52,13.405",
        "--address", "work:1 Main St; Berlin; ; 10115; Germany",
        "--address", "home:2 Side St; Potsdam",
        "--url", "work:https://acme.example", "--url", "https://ann.example",
        "--im", "skype:ann.lee", "--social", "mastodon:@ann@example.social",
        "--related", "spouse:Bob Lee", "--photo", str(photo), "-t", "vip",
        "--field", "shoe size=38", "--birthday", "1980-04-15")  # fmt: skip
    # a value an import kept flagged, and a vCard property crmcli keeps as it came
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cy Young\r\nEMAIL:not-an-address\r\n"
        "X-MS-OL-DESIGN;CHARSET=utf-8:<card/>\r\nEND:VCARD\r\n"
    )
    cli("import", "-", "--format", "vcf", input=card)


def test_json_carries_every_field(cli: Cli, everything: None) -> None:
    people = {p["name"]: p for p in cli.json("export", "contacts")}
    ann, cy = people["Ann Lee"], people["Cy Young"]
    assert [ann[k] for k in ("name_prefix", "first_name", "middle_name", "last_name",
                             "name_suffix", "nickname")] == ["Dr.", "Ann", "Mae", "Lee", "PhD",
                                                             "Annie"]  # fmt: skip
    assert [ann[k] for k in ("company", "department", "title", "role", "time_zone", "geo")] == [
        "Acme", "R&D", "CTO", "Lead", "Europe/Berlin", "52.52,13.405"
    ]  # fmt: skip
    assert ann["addresses"] == [
        {"label": "work", "street": "1 Main St", "city": "Berlin", "region": None,
         "postal_code": "10115", "country": "Germany", "po_box": None, "extended": None},
        {"label": "home", "street": "2 Side St", "city": "Potsdam", "region": None,
         "postal_code": None, "country": None, "po_box": None, "extended": None},
    ]  # fmt: skip
    # the first address and URL also under the keys from before there were lists
    assert (ann["street"], ann["city"], ann["website"]) == (
        "1 Main St",
        "Berlin",
        "https://acme.example",
    )
    assert ann["urls"] == [
        {"url": "https://acme.example", "label": "work"},
        {"url": "https://ann.example", "label": None},
    ]
    assert ann["handles"] == [
        {"kind": "im", "service": "skype", "handle": "ann.lee", "label": None},
        {"kind": "social", "service": "mastodon", "handle": "@ann@example.social", "label": None},
    ]
    assert ann["related"] == [{"name": "Bob Lee", "label": "spouse", "uid": None}]
    # the photo whole: its bytes as base64, so the export is a backup of it
    assert ann["photo"] == {
        "media_type": "image/png",
        "data": base64.b64encode(PNG).decode(),
        "uri": None,
    }
    assert cy["invalid"] == [
        {
            "field": "email",
            "label": None,
            "value": "not-an-address",
            "reason": "not an email address",
        }
    ]
    assert cy["vcard"] == ["X-MS-OL-DESIGN;CHARSET=utf-8:<card/>"]
    assert cy["photo"] is None and cy["addresses"] == []


def test_csv_has_a_column_for_every_part(cli: Cli, everything: None) -> None:
    rows = list(csv.DictReader(io.StringIO(cli("export", "contacts").stdout)))
    ann = next(r for r in rows if r["name"] == "Ann Lee")
    cy = next(r for r in rows if r["name"] == "Cy Young")
    expected = {
        "middle_name": "Mae", "name_prefix": "Dr.", "name_suffix": "PhD", "nickname": "Annie",
        "department": "R&D", "role": "Lead", "time_zone": "Europe/Berlin", "geo": "52.52,13.405",
        "address_1_label": "work", "address_1_street": "1 Main St", "address_1_city": "Berlin",
        "address_1_postal_code": "10115", "address_1_country": "Germany",
        "address_2_label": "home", "address_2_street": "2 Side St", "address_2_city": "Potsdam",
        "url_1": "https://acme.example", "url_1_label": "work", "url_2": "https://ann.example",
        "handle_1": "ann.lee", "handle_1_kind": "im", "handle_1_service": "skype",
        "handle_2": "'@ann@example.social", "handle_2_kind": "social",
        "related_1": "Bob Lee", "related_1_label": "spouse",
        "photo": "data:image/png;base64," + base64.b64encode(PNG).decode(),
        "field:shoe size": "38", "birthday": "1980-04-15",
    }  # fmt: skip
    assert {key: ann[key] for key in expected} == expected
    assert (cy["invalid_1"], cy["invalid_1_field"]) == ("not-an-address", "email")
    assert cy["vcard"] == "X-MS-OL-DESIGN;CHARSET=utf-8:<card/>"
    # a spreadsheet's view: the old single-address columns are not repeated in CSV
    assert "street" not in ann and "website" not in ann


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_every_part_comes_back_from_an_export(
    cli: Cli, everything: None, tmp_path: Path, fmt: str
) -> None:
    first, second = tmp_path / f"first.{fmt}", tmp_path / f"second.{fmt}"
    cli("export", "contacts", "-f", fmt, "-o", str(first))
    empty = tmp_path / "empty.db"
    result = cli("--db", str(empty), "import", str(first))
    assert "0 rejected" in result.stderr
    cli("--db", str(empty), "export", "contacts", "-f", fmt, "-o", str(second))
    assert first.read_bytes() == second.read_bytes()
    shown: Any = cli.json("--db", str(empty), "contact", "show", "Ann Lee")
    assert shown["photo"]["size"] == len(PNG) and shown["photo"]["media_type"] == "image/png"
    flagged = json.loads(cli("--db", str(empty), "contact", "issues", "--format", "json").stdout)
    assert [(f["name"], f["value"]) for f in flagged] == [("Cy Young", "not-an-address")]
