"""`crm export ics`, checked by parsing the output with a real iCalendar parser (icalendar)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import icalendar
import pytest

from crmcli.io import ical
from crmcli.io.ical import ReminderData, escape_text, fold
from tests.conftest import Cli
from tests.ical_helpers import when


def events(text: str) -> dict[str, icalendar.cal.Component]:
    cal = icalendar.Calendar.from_ical(text)
    return {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}


def test_yearly_events_parse(cli: Cli, tmp_path: Path) -> None:
    cli("contact", "add", "Ann Lee", "--birthday", "1980-04-15", "--anniversary", "--06-01")
    cli("contact", "add", "Leap Person", "--birthday", "2000-02-29")
    cli("contact", "add", "Year Less", "--birthday", "--02-29")
    cli("dates", "add", "ann", "customer since", "2019-03-01")
    out = tmp_path / "dates.ics"
    result = cli("export", "ics", "-o", str(out))
    assert result.stderr == f"Wrote 5 dates to {out}\n"
    raw = out.read_bytes()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    found = events(raw.decode())
    assert set(found) == {
        "Ann Lee: birthday",
        "Ann Lee: anniversary",
        "Ann Lee: customer since",
        "Leap Person: birthday",
        "Year Less: birthday",
    }
    bday = found["Ann Lee: birthday"]
    assert when(bday, "DTSTART") == date(1980, 4, 15)
    assert when(bday, "DTEND") == date(1980, 4, 16)
    assert bday["RRULE"] == {"FREQ": ["YEARLY"]}
    assert when(bday, "DTSTAMP") == datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    assert when(found["Ann Lee: anniversary"], "DTSTART") == date(2000, 6, 1)
    leap = found["Leap Person: birthday"]
    assert when(leap, "DTSTART") == date(2000, 2, 29)
    assert leap["RRULE"] == {"FREQ": ["YEARLY"], "BYMONTH": [2], "BYMONTHDAY": [-1]}
    assert found["Year Less: birthday"].decoded("RRULE")["BYMONTHDAY"] == [-1]
    # Stable UIDs: a second export (a day later) has the same UIDs, so calendars update.
    again = cli("export", "ics").stdout
    assert {str(e["UID"]) for e in events(again).values()} == {
        str(e["UID"]) for e in found.values()
    }
    assert len({str(e["UID"]) for e in found.values()}) == 5


def test_a_future_anniversary_starts_on_its_day(cli: Cli) -> None:
    # A planned wedding: the event begins on that day, never before, and counts no years.
    cli("contact", "add", "Ann Lee", "--anniversary", "2031-05-01")
    event = events(cli("export", "ics").stdout)["Ann Lee: anniversary"]
    assert when(event, "DTSTART") == date(2031, 5, 1)
    assert event["RRULE"] == {"FREQ": ["YEARLY"]}
    assert str(event["DESCRIPTION"]) == "Since 2031"


def test_kind_filter_and_stdout(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee", "--birthday", "1980-04-15", "--anniversary", "--06-01")
    cli("dates", "add", "ann", "customer since", "2019-03-01")
    only = events(cli("export", "ics", "--kind", "birthday", "--kind", "customer since").stdout)
    assert set(only) == {"Ann Lee: birthday", "Ann Lee: customer since"}
    assert events(cli("export", "ics").stdout).keys() >= only.keys()
    empty = icalendar.Calendar.from_ical(cli("export", "ics", "--kind", "none").stdout)
    assert list(empty.walk("VEVENT")) == []


def test_open_reminders_export_as_todos(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee")
    cli("remind", "ann", "call back about the quote", "--due", "2026-12-01 10:00", "--every", "2w")
    cli("remind", "renew the domain", "--due", "2026-12-04")
    cli("remind", "ann", "already handled", "--due", "2026-11-24")
    cli("done", "3")
    cal = icalendar.Calendar.from_ical(cli("export", "ics", "--reminders").stdout)
    todos = {str(t["SUMMARY"]): t for t in cal.walk("VTODO")}
    assert set(todos) == {"call back about the quote (Ann Lee)", "renew the domain"}
    call = todos["call back about the quote (Ann Lee)"]
    # a moment, not a floating time a phone in another zone would misread (UTC here: TZ=UTC)
    assert when(call, "DUE") == datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    assert "RRULE" not in call  # the next occurrence is a new reminder, never a duplicate
    domain = todos["renew the domain"]
    assert when(domain, "DUE") == date(2026, 12, 4)
    uids = [str(t["UID"]) for t in todos.values()]
    assert len(set(uids)) == 2
    again = icalendar.Calendar.from_ical(cli("export", "ics", "--reminders").stdout)
    assert sorted(str(t["UID"]) for t in again.walk("VTODO")) == sorted(uids)  # stable


def test_long_non_ascii_lines_fold_at_75_octets(cli: Cli) -> None:
    name = "Zoë Ångström-Øvergård " * 6
    cli("contact", "add", "--display", name.strip(), "--birthday", "--03-04")
    raw = cli("export", "ics").stdout_bytes
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")  # never split inside a character
    (event,) = events(raw.decode()).values()
    assert str(event["SUMMARY"]) == f"{name.strip()}: birthday"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a,b;c\\d", "a\\,b\\;c\\\\d"),
        ("line1\nline2", "line1\\nline2"),
        ("crlf\r\nend", "crlf\\nend"),
    ],
)
def test_escape_text(text: str, escaped: str) -> None:
    assert escape_text(text) == escaped


@pytest.mark.parametrize("length", [1, 74, 75, 76, 150, 151, 400])
def test_fold_lengths(length: int) -> None:
    line = "X" * length
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line


def test_reminder_todos_parse() -> None:
    stamp = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    text = ical.calendar(
        [],
        dtstamp=stamp,
        reminders=[
            ReminderData(
                7,
                "Call about the quote, today",
                datetime(2026, 12, 4, 10, 0),
                True,
                "Ann Lee",
                "FREQ=WEEKLY;INTERVAL=2",
            ),
            ReminderData(8, "Send brochure", datetime(2026, 12, 5), False),
        ],
    )
    cal = icalendar.Calendar.from_ical(text)
    todos = {str(t["UID"]): t for t in cal.walk("VTODO")}
    first = todos["reminder-7@crmcli"]
    assert str(first["SUMMARY"]) == "Call about the quote, today (Ann Lee)"
    assert when(first, "DUE") == datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc)  # not floating
    assert first["RRULE"] == {"FREQ": ["WEEKLY"], "INTERVAL": [2]}
    assert [a["ACTION"] for a in first.walk("VALARM")] == ["DISPLAY"]
    second = todos["reminder-8@crmcli"]
    assert when(second, "DUE") == date(2026, 12, 5)
    assert list(second.walk("VALARM")) == []
