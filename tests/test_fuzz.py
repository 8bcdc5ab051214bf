"""Property tests: the date parser and the CSV, vCard and JSON readers, fed generated input,
raise nothing but crmcli's own error (CrmError: one line for the user, never a traceback).

Each reader is also followed by the importer's validation, which sees every field a file
brings. Each example is a batch of :data:`BATCH` inputs, each tested on its own (the batch
only spares hypothesis' per-example overhead); CI runs ``FUZZ_EXAMPLES`` examples per target,
650 x 4 = 2,600 inputs each, more than 10,000 in all;
``CRM_FUZZ_EXAMPLES=100000 CRM_FUZZ_RANDOM=1 pytest tests/test_fuzz.py`` explores further with
fresh random inputs. By default the run is derandomised, so CI is reproducible.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli.errors import CrmError
from tests.conftest import NOW

FUZZ_EXAMPLES = int(os.environ.get("CRM_FUZZ_EXAMPLES", "650"))
BATCH = int(os.environ.get("CRM_FUZZ_BATCH", "4"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not os.environ.get("CRM_FUZZ_RANDOM"),
    suppress_health_check=list(HealthCheck),
)
TODAY = NOW.date()

pytestmark = pytest.mark.slow


def only_our_errors(action: Callable[[], Any]) -> None:
    """Run ``action``; a CrmError is a fine answer, anything else fails the test."""
    with contextlib.suppress(CrmError):
        action()


# --- the date parser ----------------------------------------------------------------------------

_WORDS = ["today", "tomorrow", "next", "last", "fri", "mon", "eom", "eow", "in", "weeks", "days",
          "am", "pm", "10am", "noon", "of", "december", "feb", "29", "2026", "every", "2nd", "tue",
          "--", "-", "+", "/", ".", ":", "T", "Z", " ", "0", "9" * 12, "１", "٣", "\x00", "\u202e"]  # fmt: skip
date_texts = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(_WORDS), max_size=8).map("".join),
    st.lists(st.sampled_from(_WORDS), max_size=6).map(" ".join),
    st.builds(
        lambda sign, digits, unit: f"{sign}{digits}{unit}",
        st.sampled_from(["+", "-", "", "in "]),
        st.integers(min_value=0, max_value=10**12).map(str),
        st.sampled_from(["d", "w", "m", "y", "h", "min", " days", " months", "q", ""]),
    ),
    st.builds(
        lambda y, m, d, sep: sep.join((str(y), str(m), str(d))),
        st.integers(min_value=-1, max_value=100_000),
        st.integers(min_value=-1, max_value=99),
        st.integers(min_value=-1, max_value=99),
        st.sampled_from(["-", "/", ".", " ", ""]),
    ),
)


def batches(inputs: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(inputs, min_size=BATCH, max_size=BATCH)


@FUZZ
@given(texts=batches(date_texts), day_first=st.booleans())
def test_date_parser_raises_only_crm_errors(texts: list[str], day_first: bool) -> None:
    for text in texts:
        parse_everywhere(text, day_first)


def parse_everywhere(text: str, day_first: bool) -> None:
    from crmcli import dates

    only_our_errors(lambda: dates.parse_when(text, NOW, day_first=day_first))
    only_our_errors(lambda: dates.parse_date(text, date(9999, 12, 30), day_first=day_first))
    only_our_errors(lambda: dates.parse_yearly(text, day_first=day_first))
    only_our_errors(lambda: dates.parse_days(text))
    only_our_errors(lambda: dates.parse_every(text))


# --- the readers, each followed by the importer's validation -------------------------------------


def read_all(records: Any) -> None:
    from crmcli.importer import validate_record
    from crmcli.io.record import Record

    for rec in records:
        if isinstance(rec, Record):
            validate_record(rec, today=TODAY)


def import_bytes(data: bytes, kind: str) -> None:
    from crmcli.io import csv_in

    def run() -> None:
        text = csv_in.open_text(io.BytesIO(data))
        if kind == "csv":
            read_all(csv_in.open_csv(text).records())
        elif kind == "vcf":
            from crmcli.io.vcard import read_vcards

            read_all(csv_in.guard_decoding(read_vcards(text.stream), text))
        else:
            from crmcli.io.json_in import read_json

            read_all(csv_in.guard_decoding(read_json(text.stream), text))

    only_our_errors(run)


_CSV_CELLS = ["name", "email", "Email", '"Email"x', "phone", "tags", "birthday", "E-mail 1 - Value",
              "Given Name", "First Name", "Organization 1 - Name", "uid", "created_at", "date:x",
              "field:y", "cadence_days", "notes", "Ann", "ann@example.com", "+1 555 0100", "1980-04-15",
              "--04-15", "0/0/00", " ::: ", "* a@b.c", '"', '""', "=1+1", "'=x", "", " ", "\x00",
              "é", "\t", ";", ",", "\r\n", "\n", "1" * 30, "Birthday Year", "Birthday Month"]  # fmt: skip
csv_texts = st.lists(
    st.lists(st.sampled_from(_CSV_CELLS) | st.text(max_size=8), min_size=1, max_size=6).map(
        ",".join
    ),
    min_size=1,
    max_size=6,
).map("\n".join)
_ENCODINGS = ["utf-8", "utf-16-le", "utf-16-be", "utf-32", "utf-16", "cp1252", "utf-8-sig"]


def encoded(texts: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.builds(lambda t, e: t.encode(e, "replace"), texts, st.sampled_from(_ENCODINGS)),
        st.binary(max_size=200),
    )


@FUZZ
@given(inputs=batches(encoded(csv_texts)))
def test_csv_reader_raises_only_crm_errors(inputs: list[bytes]) -> None:
    for data in inputs:
        import_bytes(data, "csv")


_VCARD_LINES = ["BEGIN:VCARD", "END:VCARD", "VERSION:3.0", "VERSION:2.1", "FN:Ann Lee", "N:Lee;Ann;;;",
                "EMAIL;TYPE=work:ann@example.com", "TEL;TYPE=cell:+1 555 0100", "BDAY:1980-04-15",
                "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-15", "BDAY;VALUE=text:circa 1800", "ORG:Acme;Sales",
                "NOTE;ENCODING=QUOTED-PRINTABLE:a=", "NOTE;CHARSET=nope;QUOTED-PRINTABLE:=C3=A9",
                "=", "=0D=0A", " folded", "\tfolded", "item1.X-ABDATE:2020-01-01",
                "item1.X-ABLabel:_$!<Anniversary>!$_", "X-CRM-FIELD;X-KEY=k:v", "X-CRM-CADENCE-DAYS:x",
                "CATEGORIES:a,b\\,c", "ADR:;;1 Main St;Town;;;", "UID:", ":", ";;;:", 'X;A="b:c":d',
                "PHOTO;ENCODING=b:AAAA", "X-CRM-REFERRED-BY:u"]  # fmt: skip
vcard_texts = st.lists(
    st.sampled_from(_VCARD_LINES) | st.text(max_size=12), min_size=1, max_size=14
).map("\r\n".join)


@FUZZ
@given(inputs=batches(encoded(vcard_texts)))
def test_vcard_reader_raises_only_crm_errors(inputs: list[bytes]) -> None:
    for data in inputs:
        import_bytes(data, "vcf")


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
# two levels deep at most (a list of objects of lists): recursive strategies cost far more to
# draw, and the readers look no deeper than that; deep nesting is tested with "[" * n below
_flat = (
    _scalars
    | st.lists(_scalars, max_size=3)
    | st.dictionaries(
        st.sampled_from(["email", "phone", "label", "date", "x"]), _scalars, max_size=3
    )
)
json_values = _flat | st.lists(_flat, max_size=3)
_KEYS = ["name", "first_name", "last_name", "company", "emails", "phones", "tags", "fields",
         "birthday", "anniversary", "dates", "notes", "uid", "created_at", "updated_at",
         "cadence_days", "referred_by_uid", "email", "phone", "label", "date"]  # fmt: skip
contact_objects = st.dictionaries(st.sampled_from(_KEYS), json_values, max_size=8)
json_texts = st.one_of(
    st.lists(contact_objects, max_size=4).map(json.dumps),
    st.lists(contact_objects, max_size=4).map(lambda objs: "\n".join(map(json.dumps, objs))),
    json_values.map(json.dumps),
    st.text(max_size=40),
    st.integers(min_value=1, max_value=1500).map(lambda n: "[" * n),
    st.integers(min_value=4200, max_value=4400).map(lambda n: '{"tags": [' + "9" * n + "]}"),
)


@FUZZ
@given(inputs=batches(encoded(json_texts)))
def test_json_reader_raises_only_crm_errors(inputs: list[bytes]) -> None:
    for data in inputs:
        import_bytes(data, "json")
