"""Broken and hostile files: every parser error is one located message, never a traceback;
encodings without a BOM are recognised; huge values are refused or skipped, never held whole."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from crmcli.io import csv_in, vcard
from crmcli.io.json_in import read_json
from crmcli.io.record import Record, Rejected
from tests.conftest import Cli

CONTACTS = "name,email\nAnn Lée,ann@example.com\nBob Ng,bob@example.com\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_wide_encodings_without_a_bom_are_recognised(
    cli: Cli, tmp_path: Path, encoding: str
) -> None:
    source = tmp_path / "contacts.csv"
    source.write_bytes(CONTACTS.encode(encoding))
    result = cli("import", str(source))
    assert f"({'CSV'}, {encoding}, delimiter ',')" in result.stderr
    names = [c["name"] for c in cli.json("contact", "list")]
    assert names == ["Ann Lée", "Bob Ng"]  # not "A\x00n\x00n..." read as cp1252


def test_utf32_with_a_bom_is_not_read_as_utf16() -> None:
    assert csv_in.detect_encoding(CONTACTS.encode("utf-32")) == "utf-32"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ('{"name": "Ann", "tags": 5}', '"tags" must be a list, not a number'),
        ('{"name": "Ann", "emails": "a@b.c"}', '"emails" must be a list, not a text'),
        ('{"name": "Ann", "emails": [5]}', '"emails" must be a list of objects'),
        ('{"name": "Ann", "phones": {"a": 1}}', '"phones" must be a list, not an object'),
        ('{"name": "Ann", "dates": [1]}', '"dates" must be a list of objects'),
        ('{"name": "Ann", "created_at": [5]}', '"created_at" must be a text, not a list'),
        ('{"name": "Ann", "uid": [1]}', '"uid" must be a text, not a list'),
        ('{"name": "Ann", "fields": [1]}', '"fields" must be an object, not a list'),
        ('{"name": "Ann", "tags": [{"x": 1}]}', '"tags" must be a list of texts'),
        ('{"name": " "}', "no name, company, email or phone"),
        ('{"name": true}', '"name" must be a text, not true/false'),
    ],
)
def test_json_values_of_the_wrong_type_are_located_rejections(
    cli: Cli, tmp_path: Path, document: str, reason: str
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(document + "\n")
    result = cli("import", str(source), code=1)
    assert result.stderr.startswith("Error: 1 row(s) cannot be imported, so nothing was imported")
    assert f"  line 1: {reason}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "document", ["[" * 100_000, '{"tags": [' + "9" * 5000 + "]}", '[{"name": "a"}, 1e999999]']
)
def test_json_that_python_cannot_read_is_a_located_error(
    cli: Cli, tmp_path: Path, document: str
) -> None:
    source = tmp_path / "in.json"
    source.write_text(document)
    result = cli("import", str(source), code=1)
    assert "not valid JSON" in result.stderr or "not a JSON object" in result.stderr
    assert "line 1:" in result.stderr or "object 2: not a JSON object" in result.stderr


def test_a_quote_inside_a_csv_header_is_a_located_error(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text('name,"Email"x\nAnn,ann@example.com\n')
    result = cli("import", str(source), code=1)
    assert result.stderr.startswith("Error: in.csv, line 1: the header row cannot be read as CSV")


def test_a_huge_csv_cell_is_a_located_error(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"name,notes\nAnn,ok\nBob,{'x' * (csv_in.MAX_CELL + 10)}\n")
    result = cli("import", str(source), code=1)
    assert result.stderr.startswith(
        "Error: in.csv, line 3: the CSV cannot be read (field larger than"
    )


def _card(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCARD", "VERSION:3.0", *lines, "END:VCARD", ""])


def test_quoted_printable_soft_breaks_are_joined() -> None:
    encoded = "=C3=A9" * 50_000  # 300,000 characters in 4,167 soft-broken lines
    lines = [encoded[i : i + 72] for i in range(0, len(encoded), 72)]
    value = "=\r\n".join(lines)  # soft line breaks
    text = _card("N:Lee;Ann", "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:" + value)
    (rec,) = vcard.read_vcards(io.StringIO(text))
    assert isinstance(rec, Record)
    assert rec.notes == ["é" * 50_000]


def test_a_property_over_the_limit_rejects_its_card_a_photo_too() -> None:
    huge = "x" * (vcard.MAX_PROPERTY + 1)
    folded = "\r\n ".join(huge[i : i + 74] for i in range(0, len(huge), 74))
    small = base64.b64encode(b"\xff\xd8\xff" + b"\0" * 300).decode()
    text = (
        _card("FN:Ann Lee", "NOTE:" + folded)
        + _card("FN:Bob Photo", "PHOTO;ENCODING=b:" + folded)
        + _card("FN:Cy Line", "NOTE:" + huge)
        + _card("FN:Di Small", "PHOTO;ENCODING=b;TYPE=JPEG:" + small)
    )
    ann, bob, cy, di = vcard.read_vcards(io.StringIO(text, newline=""))
    assert isinstance(ann, Rejected) and isinstance(bob, Rejected) and isinstance(cy, Rejected)
    assert ann.reason == "line 4: property NOTE is longer than 4 MiB"
    assert bob.reason.endswith("property PHOTO is longer than 4 MiB")
    assert cy.reason.endswith("property NOTE is longer than 4 MiB")
    assert len(ann.raw) < 1000 and len(bob.raw) < 1000  # the huge values were not kept
    assert isinstance(di, Record) and di.photo is not None
    assert di.photo[0] == "image/jpeg" and di.photo[1] == base64.b64decode(small)


def test_a_huge_json_line_is_rejected_not_held(tmp_path: Path) -> None:
    from crmcli.io import json_in

    line = json.dumps({"name": "x" * json_in.MAX_LINE})
    records = list(read_json(io.StringIO(f'{{"name": "Ann"}}\n{line}\n{{"name": "Bob"}}\n')))
    assert [type(r).__name__ for r in records] == ["Record", "Rejected", "Record"]
    assert isinstance(records[1], Rejected) and records[1].reason == "longer than 8 MiB"


def test_due_with_five_thousand_digits_is_a_usage_error(cli: Cli) -> None:
    result = cli("remind", "call the bank", "--due", "+" + "9" * 5000 + "d", code=2)
    assert result.stderr.startswith("Error: cannot understand date '+9999")
    assert result.stderr.rstrip().endswith("too long, or a number of more than 9 digits")
