"""The output sink and the clock."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from crmcli import clock
from crmcli.cli._output import Column, OutputFormat, emit, resolve_format, styled
from crmcli.errors import UsageError

ROWS = [
    {"id": 1, "name": "Ann", "tags": ["a", "b"], "note": "line1\nline2\tx\\y"},
    {"id": 2, "name": "=cmd", "tags": [], "note": None},
]
COLS = [Column("id"), Column("name"), Column("tags"), Column("note")]


def render(fmt: OutputFormat, rows: list[dict[str, object]] = ROWS) -> str:
    out = io.StringIO()
    emit(iter(rows), COLS, fmt, out=out)
    return out.getvalue()


def test_json_streams_valid_array() -> None:
    assert json.loads(render(OutputFormat.json)) == ROWS
    assert render(OutputFormat.json, []) == "[]\n"


def test_jsonl() -> None:
    assert [json.loads(line) for line in render(OutputFormat.jsonl).splitlines()] == ROWS


def test_tsv_escapes_keep_one_row_per_line() -> None:
    lines = render(OutputFormat.tsv).splitlines()
    assert lines == ["id\tname\ttags\tnote", "1\tAnn\ta, b\tline1\\nline2\\tx\\\\y", "2\t=cmd\t\t"]


def test_csv_quotes() -> None:
    text = render(OutputFormat.csv)
    assert text.startswith('id,name,tags,note\n1,Ann,"a, b","line1\nline2\tx\\y"\n')


@pytest.mark.parametrize("fmt", [OutputFormat.tsv, OutputFormat.csv, OutputFormat.json])
def test_an_error_before_the_first_row_writes_no_header(fmt: OutputFormat) -> None:
    def failing() -> Iterator[dict[str, object]]:
        raise UsageError("no contact matches 'zed'")
        yield {}  # type: ignore[unreachable]  # a generator, like the lazy queries behind every listing

    out = io.StringIO()
    with pytest.raises(UsageError):
        emit(failing(), COLS, fmt, out=out)
    assert out.getvalue() == ""


def test_default_format_depends_on_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert resolve_format(None) is OutputFormat.tsv
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert resolve_format(None) is OutputFormat.table
    assert styled()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not styled()
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not styled()


def test_fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-03-01T09:00")
    assert clock.now().replace(tzinfo=None) == datetime(2026, 3, 1, 9, 0)
    assert clock.now_text() == "2026-03-01T09:00:00Z"  # TZ=UTC in tests
    monkeypatch.setenv("CRM_NOW", "2026-03-01T09:00+02:00")
    assert clock.now().astimezone(timezone.utc).hour == 7
    monkeypatch.setenv("CRM_NOW", "next tuesday")
    with pytest.raises(UsageError, match="CRM_NOW='next tuesday' is not an ISO date-time"):
        clock.now()


def test_local_time_zone_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    monkeypatch.setenv("CRM_NOW", "2026-07-01T09:00")
    assert clock.now_text() == "2026-07-01T07:00:00Z"  # summer time, UTC+2
    assert clock.from_utc_text("2026-01-01T08:00:00Z").hour == 9  # winter, UTC+1
