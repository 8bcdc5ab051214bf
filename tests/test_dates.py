"""Tests for crmcli.dates: every accepted form with its exact result.

The clock is fixed at NOW = Monday 2026-11-23 09:00. Calendar around it, for checking by hand:

    November 2026                December 2026               January 2027
    Mo Tu We Th Fr Sa Su         Mo Tu We Th Fr Sa Su        Mo Tu We Th Fr Sa Su
                       1             1  2  3  4  5  6                     1  2  3
     2  3  4  5  6  7  8          7  8  9 10 11 12 13         4  5  6  7  8  9 10
     9 10 11 12 13 14 15         14 15 16 17 18 19 20        11 12 13 14 15 16 17
    16 17 18 19 20 21 22         21 22 23 24 25 26 27        18 19 20 21 22 23 24
    23 24 25 26 27 28 29         28 29 30 31                 25 26 27 28 29 30 31
    30
"""

from __future__ import annotations

import calendar
import json
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crmcli.dates import (
    When,
    YearlyDate,
    check_birthday,
    describe_rule,
    format_date,
    format_when,
    next_occurrence,
    next_occurrence_of_rule,
    occurrence_in_year,
    parse_date,
    parse_days,
    parse_every,
    parse_when,
    parse_yearly,
    rule_has_end,
)
from crmcli.errors import DateParseError, UsageError, ValidationError
from tests.conftest import NOW

TODAY = NOW.date()
REPO = Path(__file__).resolve().parents[1]


def dt(month: int, day: int, hour: int = 0, minute: int = 0, *, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute)


def date_message(text: str) -> str:
    return f"cannot understand date {text!r} (try 2026-12-01, tomorrow, +3d, next fri)"


# Strategies for the property tests (hypothesis; settings in tests/conftest.py). Times are to
# the minute, as people type them; "now" stays well inside the calendar, so that a year or a
# hundred months either way still is a date.
minutes = st.times().map(lambda t: t.replace(second=0, microsecond=0))
nows = st.builds(
    datetime.combine, st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), minutes
)
#: a (month, day) that exists in some year (Feb 29 included)
month_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2000, 12, 31)).map(
    lambda d: (d.month, d.day)
)
#: every spelling of each weekday, Monday first
WEEKDAY_NAMES = [
    ("mon", "monday"),
    ("tue", "tues", "tuesday"),
    ("wed", "weds", "wednesday"),
    ("thu", "thur", "thurs", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
]


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clipped to the end of a shorter month (Jan 31 + 1 month
    is Feb 28): the calendar arithmetic the date expressions promise, worked out by hand."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, last_day(year, month + 1)))


# --- parse_when: every form, from NOW -------------------------------------------------------

DATE_ONLY = [
    # absolute
    ("2026-12-01", dt(12, 1)),
    ("12/01", dt(12, 1)),
    ("12/01/2026", dt(12, 1)),
    ("1 Dec", dt(12, 1)),
    ("Dec 1", dt(12, 1)),
    ("1 December 2026", dt(12, 1)),
    ("December 1, 2026", dt(12, 1)),
    ("Dec. 1st", dt(12, 1)),
    ("1st of december", dt(12, 1)),
    ("2026/12/01", dt(12, 1)),
    ("20261201", dt(12, 1)),
    ("--12-01", dt(12, 1)),
    ("12-01", dt(12, 1)),
    ("Tue 2026-12-01", dt(12, 1)),
    ("tue, 1 dec 2026", dt(12, 1)),
    ("2027-01-01", dt(1, 1, year=2027)),
    # relative forms, weekdays and period ends: see the properties below
    ("today", dt(11, 23)),
    ("tomorrow", dt(11, 24)),
    ("yesterday", dt(11, 22)),
]

WITH_TIME = [
    ("now", dt(11, 23, 9, 0)),  # hours from now: see the properties below
    ("2026-12-01 15:00", dt(12, 1, 15, 0)),
    ("2026-12-01T15:00", dt(12, 1, 15, 0)),
    ("Dec 1 2026 15:00", dt(12, 1, 15, 0)),
    ("tomorrow 10am", dt(11, 24, 10, 0)),
    ("fri 14:30", dt(11, 27, 14, 30)),
    ("+3d 9:15", dt(11, 26, 9, 15)),
    ("next tue 10am", dt(11, 24, 10, 0)),
    ("2026-12-01 3pm", dt(12, 1, 15, 0)),
    ("tomorrow at 10:00", dt(11, 24, 10, 0)),
    ("noon", dt(11, 23, 12, 0)),
    ("tomorrow noon", dt(11, 24, 12, 0)),
    ("12am", dt(11, 23, 0, 0)),
    ("12pm", dt(11, 23, 12, 0)),
    ("tomorrow 12am", dt(11, 24, 0, 0)),
    ("12:30am", dt(11, 23, 0, 30)),
    ("10:30pm", dt(11, 23, 22, 30)),
    ("7 pm", dt(11, 23, 19, 0)),
    ("9:05 a.m.", dt(11, 23, 9, 5)),
    ("14:30", dt(11, 23, 14, 30)),
    ("0:00", dt(11, 23, 0, 0)),
    ("23:59", dt(11, 23, 23, 59)),
    ("at 3pm", dt(11, 23, 15, 0)),
    ("eom 17:00", dt(11, 30, 17, 0)),
    ("in 2 weeks 9am", dt(12, 7, 9, 0)),
    ("last fri 4pm", dt(11, 20, 16, 0)),
    ("1 jan 9am", dt(1, 1, 9, 0, year=2027)),
    ("Fri 2026-12-04 10:00", dt(12, 4, 10, 0)),
]


@pytest.mark.parametrize(("text", "expected"), DATE_ONLY)
def test_parse_when_date_only(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == When(expected, False)


@pytest.mark.parametrize(("text", "expected"), WITH_TIME)
def test_parse_when_with_time(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == When(expected, True)


def test_seconds_are_kept() -> None:
    assert parse_when("2026-12-01 15:00:30", NOW) == When(datetime(2026, 12, 1, 15, 0, 30), True)
    assert parse_when("now", datetime(2026, 11, 23, 9, 0, 42)).at == datetime(
        2026, 11, 23, 9, 0, 42
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  TOMORROW   10AM ", When(dt(11, 24, 10), True)),
        ("Next Friday", When(dt(11, 27), False)),
        ("EOM", When(dt(11, 30), False)),
        ("\tDEC 1\n", When(dt(12, 1), False)),
        ("In 2 Weeks", When(dt(12, 7), False)),
    ],
)
def test_case_and_spaces_do_not_matter(text: str, expected: When) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "month_first", "day_first"),
    [
        ("12/01", dt(12, 1), dt(1, 12, year=2027)),
        ("01/12", dt(1, 12, year=2027), dt(12, 1)),
        ("12/01/2026", dt(12, 1), dt(1, 12)),
        ("3/4/2027", dt(3, 4, year=2027), dt(4, 3, year=2027)),
        ("1.12.2026", dt(1, 12), dt(12, 1)),  # through the dateutil fallback
    ],
)
def test_day_first(text: str, month_first: datetime, day_first: datetime) -> None:
    assert parse_when(text, NOW).at == month_first
    assert parse_when(text, NOW, day_first=True).at == day_first


def test_day_first_slash_date_after_12_only_valid_day_first() -> None:
    assert parse_when("25/12", NOW, day_first=True).at == dt(12, 25)
    with pytest.raises(DateParseError):
        parse_when("25/12", NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11/23", date(2026, 11, 23)),  # today counts
        ("11/22", date(2027, 11, 22)),  # yesterday's date is next year's
        ("dec 31", date(2026, 12, 31)),
        ("1 jan", date(2027, 1, 1)),
        ("jan 1", date(2027, 1, 1)),
        ("--01-01", date(2027, 1, 1)),
        ("feb 29", date(2028, 2, 29)),  # the next leap year
        ("2/29", date(2028, 2, 29)),
    ],
)
def test_year_less_date_is_next_on_or_after_today(text: str, expected: date) -> None:
    assert parse_when(text, NOW).at.date() == expected


def test_year_less_feb_29_skips_1900_style_century() -> None:
    assert parse_date("feb 29", date(2097, 1, 1)) == date(2104, 2, 29)


# --- parse_when: relative forms, from any day (properties) ------------------------------------

DAY_UNITS = {
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "weeks"),
    **dict.fromkeys(("m", "mo", "mos", "month", "months"), "months"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "years"),
}
OFFSET_FORMS = {"+{n}{unit}": 1, "+ {n} {unit}": 1, "in {n} {unit}": 1, "-{n}{unit}": -1,
                "{n} {unit} ago": -1}  # fmt: skip


@given(
    now=nows,
    n=st.integers(min_value=0, max_value=150),
    unit=st.sampled_from(sorted(DAY_UNITS)),
    form=st.sampled_from(sorted(OFFSET_FORMS)),
)
@example(now=NOW, n=3, unit="d", form="+{n}{unit}")
@example(now=datetime(2026, 1, 31, 9), n=1, unit="m", form="+{n}{unit}")  # clipped: Feb 28
@example(now=datetime(2028, 1, 31, 9), n=1, unit="month", form="in {n} {unit}")  # Feb 29
@example(now=datetime(2026, 3, 31, 9), n=1, unit="m", form="-{n}{unit}")  # Feb 28
@example(now=datetime(2026, 1, 31, 9), n=3, unit="m", form="+{n}{unit}")  # Apr 30
@example(now=datetime(2028, 2, 29, 9), n=1, unit="y", form="+{n}{unit}")  # Feb 28 2029
def test_an_offset_moves_by_calendar_days_weeks_months_or_years(
    now: datetime, n: int, unit: str, form: str
) -> None:
    steps = n * OFFSET_FORMS[form]
    kind = DAY_UNITS[unit]
    if kind in ("days", "weeks"):
        expected = now.date() + timedelta(days=steps * (7 if kind == "weeks" else 1))
    else:
        expected = add_months(now.date(), steps * (12 if kind == "years" else 1))
    found = parse_when(form.format(n=n, unit=unit), now)
    assert found == When(datetime.combine(expected, time()), False)


@given(now=nows, unit=st.sampled_from(sorted(DAY_UNITS)), ago=st.booleans())
def test_a_or_an_counts_one(now: datetime, unit: str, ago: bool) -> None:
    text = f"a {unit} ago" if ago else f"in a {unit}"
    one = f"1 {unit} ago" if ago else f"in 1 {unit}"
    assert parse_when(text, now) == parse_when(one, now)


HOUR_FORMS = ["+{n}h", "+ {n} hours", "in {n} hours", "in {n} hrs", "-{n}h", "{n} hours ago",
              "{n} hr ago"]  # fmt: skip


@given(now=nows, n=st.integers(min_value=0, max_value=500), form=st.sampled_from(HOUR_FORMS))
@example(now=NOW, n=30, form="+{n}h")
@example(now=datetime(2026, 12, 31, 23, 0), n=2, form="+{n}h")  # into the next year
def test_hours_move_the_time(now: datetime, n: int, form: str) -> None:
    sign = -1 if form.startswith("-") or form.endswith("ago") else 1
    found = parse_when(form.format(n=n), now)
    assert found == When(now + timedelta(hours=sign * n), True)
    assert parse_when("in an hour", now) == When(now + timedelta(hours=1), True)


#: (weekday number, one of its spellings)
SPELLED_WEEKDAYS = [(day, name) for day, names in enumerate(WEEKDAY_NAMES) for name in names]


@given(now=nows, weekday=st.sampled_from(SPELLED_WEEKDAYS))
@example(now=NOW, weekday=(4, "fri"))  # from a Monday
@example(now=datetime(2026, 11, 27, 9), weekday=(4, "friday"))  # from a Friday: next week's
def test_a_weekday_is_the_next_one_never_today_and_last_is_the_one_before(
    now: datetime, weekday: tuple[int, str]
) -> None:
    number, name = weekday
    for modifier, nearest, furthest in (("", 1, 7), ("next ", 1, 7), ("this ", 1, 7),
                                        ("last ", -7, -1)):  # fmt: skip
        found = parse_when(f"{modifier}{name}", now)
        assert not found.has_time and found.at.time() == time()
        assert found.at.weekday() == number
        assert nearest <= (found.at.date() - now.date()).days <= furthest


@given(now=nows)
@example(now=NOW)
@example(now=datetime(2028, 2, 10, 9))  # a leap February
@example(now=datetime(2026, 4, 30, 9))  # the last day of a month: today
@example(now=datetime(2026, 3, 31, 9))  # the last day of a quarter: today
@example(now=datetime(2026, 11, 27, 9))  # a Friday: eow is today
@example(now=datetime(2026, 11, 29, 9))  # a Sunday: eow is next Friday
def test_period_ends(now: datetime) -> None:
    today = now.date()
    quarter_end = (today.month - 1) // 3 * 3 + 3
    expected = {
        "day": today,
        "week": today + timedelta(days=(4 - today.weekday()) % 7),  # Friday; Sat/Sun: next
        "month": date(today.year, today.month, last_day(today.year, today.month)),
        "quarter": date(today.year, quarter_end, last_day(today.year, quarter_end)),
        "year": date(today.year, 12, 31),
    }
    for period, end in expected.items():
        for text in (f"eo{period[0]}", f"end of {period}"):
            assert parse_when(text, now) == When(datetime.combine(end, time()), False), text


def test_default_time_is_used_but_has_time_stays_false() -> None:
    assert parse_when("tomorrow", NOW, default_time=time(9, 30)) == When(dt(11, 24, 9, 30), False)
    # A time in the text wins over the default.
    assert parse_when("tomorrow 3pm", NOW, default_time=time(9, 30)) == When(dt(11, 24, 15), True)
    assert parse_when("now", NOW, default_time=time(18)) == When(NOW, True)


def test_parse_date_ignores_time() -> None:
    assert parse_date("tomorrow 10am", TODAY) == date(2026, 11, 24)
    assert parse_date("fri", TODAY) == date(2026, 11, 27)
    assert parse_date("12/01", TODAY, day_first=True) == date(2027, 1, 12)
    with pytest.raises(DateParseError):
        parse_date("blurg", TODAY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01-dec-2026", When(dt(12, 1), False)),
        ("2026.12.01", When(dt(12, 1), False)),
        ("1.12.2026 15:00", When(dt(1, 12, 15), True)),
        ("1-jan", When(dt(1, 1, year=2027), False)),  # year-less: the next Jan 1
        ("2026-12-01 15:00:00.000", When(dt(12, 1, 15), True)),
    ],
)
def test_dateutil_fallback_for_unusual_absolute_forms(text: str, expected: When) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "blurg",
        "now 10am",  # two times
        "+4h 9:00",
        "dec",
        "2026",
        "1 2 3",
        "dec 1 26",  # two-digit years are refused (dateutil would guess the century)
        "next",
        "next week",
        "in weeks",
        "+3x",
        "+3",
        "3 days",
        "fri +3d",
        "2026-12-01T10:00Z",  # time zones are refused: everything is local wall-clock time
        "2026-12-01 10:00 XYZ",
        "2026-12-01T10:00+01:00",
        "2026-12-01 10:00 UTC",
        "1/12/26",
        "+99999999d",
        "+9999y",
        "tomorrow tomorrow",
    ],
)
def test_invalid_dates_raise_with_exact_message(text: str) -> None:
    with pytest.raises(DateParseError) as caught:
        parse_when(text, NOW)
    assert str(caught.value) == date_message(text)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-02-30", "February 2026 has no day 30"),  # not clipped to Feb 28
        ("2027-02-29", "February 2027 has no day 29"),
        ("feb 30", "February has no day 30"),
        ("13/01/2026", "there is no month 13"),
        ("00/10", "there is no month 0"),
        ("25:00", "no such time of day"),
        ("tomorrow 25:00", "no such time of day"),
        ("2026-12-01 24:00", "no such time of day"),
        ("10:60", "no such time of day"),
        ("13pm", "no such time of day"),
        ("0am", "no such time of day"),
    ],
)
def test_impossible_dates_say_why_on_one_line(text: str, reason: str) -> None:
    with pytest.raises(DateParseError) as caught:
        parse_when(text, NOW)
    assert str(caught.value) == f"cannot understand date {text!r}: {reason}"
    assert caught.value.exit_code == 2


def test_weekday_that_contradicts_the_date_is_refused_with_a_hint() -> None:
    with pytest.raises(DateParseError) as caught:
        parse_when("Tue 2026-12-04", NOW)
    assert str(caught.value) == "cannot understand date 'Tue 2026-12-04': 2026-12-04 is a Fri"
    assert caught.value.reason == "2026-12-04 is a Fri"
    with pytest.raises(DateParseError) as caught:
        parse_when("friday, december 1, 2026", NOW)
    assert caught.value.reason == "2026-12-01 is a Tue"


def test_impossible_date_and_time_get_a_hint() -> None:
    with pytest.raises(DateParseError) as caught:
        parse_when("2026-02-30", NOW)
    assert str(caught.value) == "cannot understand date '2026-02-30': February 2026 has no day 30"
    with pytest.raises(DateParseError) as caught:
        parse_when("13/45", NOW)
    assert caught.value.reason == "there is no month 13"
    with pytest.raises(DateParseError) as caught:
        parse_when("4/31", NOW)
    assert caught.value.reason == "April has no day 31"
    with pytest.raises(DateParseError) as caught:
        parse_when("tomorrow 25:00", NOW)
    assert caught.value.reason == "no such time of day"


# --- formatting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (When(dt(12, 4, 10, 0), True), "Fri 2026-12-04 10:00"),
        (When(dt(12, 4), False), "Fri 2026-12-04"),
        (When(dt(12, 4, 9, 30), False), "Fri 2026-12-04"),  # a default time is not shown
        (When(dt(11, 23, 0, 5), True), "Mon 2026-11-23 00:05"),
        (When(dt(11, 29, 23, 59), True), "Sun 2026-11-29 23:59"),
    ],
)
def test_format_when(when: When, expected: str) -> None:
    assert format_when(when) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 4), "Fri 2026-12-04"),
        (date(2026, 11, 24), "Tue 2026-11-24"),
        (date(2026, 11, 25), "Wed 2026-11-25"),
        (date(2026, 11, 26), "Thu 2026-11-26"),
        (date(2026, 11, 28), "Sat 2026-11-28"),
        (date(2028, 2, 29), "Tue 2028-02-29"),
    ],
)
def test_format_date(day: date, expected: str) -> None:
    assert format_date(day) == expected


@given(
    day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    at=st.none() | minutes,
    now=nows,
)
@example(day=date(2026, 12, 4), at=time(10, 0), now=NOW)
@example(day=date(1, 1, 1), at=None, now=NOW)  # four digits for every year
def test_the_echo_form_and_iso_dates_parse_back_to_the_same_value(
    day: date, at: time | None, now: datetime
) -> None:
    when = When(datetime.combine(day, at or time()), at is not None)
    assert parse_when(format_when(when), now) == when
    assert parse_when(day.isoformat(), now) == When(datetime.combine(day, time()), False)


# --- start-up cost ----------------------------------------------------------------------------

COMMON_FORMS = [
    "+3d",
    "-1w",
    "+2m",
    "+1y",
    "+4h",
    "2026-12-01",
    "2026-12-01 15:00",
    "12/01",
    "1 Dec 2026",
    "today",
    "now",
    "tomorrow 10am",
    "yesterday",
    "in 2 weeks",
    "3 days ago",
    "fri",
    "next fri",
    "last mon",
    "eow",
    "eom",
    "eoq",
    "end of year",
    "noon",
]


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.mark.slow
def test_the_exact_start_up_check_from_the_brief() -> None:
    code = (
        "import crmcli.dates as d, datetime, sys; "
        "d.parse_when('+3d', datetime.datetime(2026,3,1,9)); "
        "print('dateutil.parser' in sys.modules)"
    )
    assert run_python(code) == "False"


@pytest.mark.slow
def test_common_forms_do_not_import_dateutil_parser() -> None:
    code = f"""
import datetime, json, sys
import crmcli.dates as d
loaded_at_import = sorted(m for m in sys.modules if m.startswith("dateutil"))
offenders = []
for text in {COMMON_FORMS!r}:
    d.parse_when(text, datetime.datetime(2026, 3, 1, 9))
    if "dateutil.parser" in sys.modules:
        offenders.append(text)
d.parse_when("1.12.2026", datetime.datetime(2026, 3, 1, 9))
print(json.dumps([loaded_at_import, offenders, "dateutil.parser" in sys.modules]))
"""
    loaded_at_import, offenders, fallback_loads_parser = json.loads(run_python(code))
    assert loaded_at_import == []
    assert offenders == []
    assert fallback_loads_parser is True  # the check above can see the parser


# --- yearly dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1980-04-15", YearlyDate(4, 15, 1980)),
        ("19800415", YearlyDate(4, 15, 1980)),
        ("--04-15", YearlyDate(4, 15, None)),
        ("--0415", YearlyDate(4, 15, None)),
        ("04-15", YearlyDate(4, 15, None)),
        ("15 Apr", YearlyDate(4, 15, None)),
        ("Apr 15", YearlyDate(4, 15, None)),
        ("April 15 1980", YearlyDate(4, 15, 1980)),
        ("April 15, 1980", YearlyDate(4, 15, 1980)),
        ("15 April 1980", YearlyDate(4, 15, 1980)),
        ("15th april", YearlyDate(4, 15, None)),
        ("4/15/1980", YearlyDate(4, 15, 1980)),
        ("4/15", YearlyDate(4, 15, None)),
        ("  APR 15  ", YearlyDate(4, 15, None)),
        ("Feb 29", YearlyDate(2, 29, None)),
        ("--02-29", YearlyDate(2, 29, None)),
        ("1980-02-29", YearlyDate(2, 29, 1980)),
        ("2000-02-29", YearlyDate(2, 29, 2000)),
    ],
)
def test_parse_yearly(text: str, expected: YearlyDate) -> None:
    assert parse_yearly(text) == expected


def test_parse_yearly_day_first() -> None:
    assert parse_yearly("15/4/1980", day_first=True) == YearlyDate(4, 15, 1980)
    assert parse_yearly("15/4", day_first=True) == YearlyDate(4, 15, None)
    assert parse_yearly("4/5", day_first=True) == YearlyDate(5, 4, None)
    assert parse_yearly("4/5") == YearlyDate(4, 5, None)
    # Hyphenated forms keep ISO order whatever day_first says.
    assert parse_yearly("04-05", day_first=True) == YearlyDate(4, 5, None)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x",
        "Feb 29 1981",
        "1981-02-29",
        "2/29/1900",
        "04-31",
        "13/15",
        "4/15x",
        "15/4",  # month 15 without day_first
        "1980-13-01",
        "0000-01-01",
        "tomorrow",
        "--4-15",
    ],
)
def test_parse_yearly_rejects(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_yearly(text)
    assert str(caught.value) == (
        f"cannot understand date {text!r} (try 1980-04-15 or --04-15 for no year)"
    )


@given(month_day=month_days, year=st.none() | st.integers(min_value=1, max_value=9999))
@example(month_day=(4, 15), year=1980)
@example(month_day=(2, 29), year=None)
@example(month_day=(1, 5), year=987)
def test_yearly_iso_parses_back(month_day: tuple[int, int], year: int | None) -> None:
    month, day = month_day
    if year is not None and (month, day) == (2, 29) and not calendar.isleap(year):
        year = None  # Feb 29 of a common year is no date (test_yearly_date_refuses_...)
    yearly = YearlyDate(month, day, year)
    expected = f"--{month:02d}-{day:02d}" if year is None else date(year, month, day).isoformat()
    assert yearly.iso() == expected
    assert parse_yearly(expected) == yearly


def test_yearly_date_refuses_impossible_values() -> None:
    with pytest.raises(ValueError):
        YearlyDate(2, 29, 1981)
    with pytest.raises(ValueError):
        YearlyDate(2, 30, None)


@given(
    month_day=month_days,
    year=st.integers(min_value=1, max_value=9999),
    feb29=st.sampled_from(["feb28", "mar1"]),
)
@example(month_day=(2, 29), year=2100, feb29="feb28")  # a century: not a leap year
@example(month_day=(2, 29), year=2000, feb29="mar1")  # every 400 years: a leap year
@example(month_day=(2, 28), year=2027, feb29="mar1")
def test_occurrence_in_year(month_day: tuple[int, int], year: int, feb29: str) -> None:
    month, day = month_day
    found = occurrence_in_year(month, day, year, feb29=feb29)
    if (month, day) == (2, 29) and not calendar.isleap(year):
        assert found == (date(year, 2, 28) if feb29 == "feb28" else date(year, 3, 1))
    else:
        assert found == date(year, month, day)


def test_occurrence_in_year_default_policy_is_feb28() -> None:
    assert occurrence_in_year(2, 29, 2026) == date(2026, 2, 28)
    with pytest.raises(ValueError):
        occurrence_in_year(2, 29, 2026, feb29="feb30")


@given(
    month_day=month_days,
    on_or_after=st.dates(min_value=date(2, 1, 1), max_value=date(9998, 12, 31)),
    feb29=st.sampled_from(["feb28", "mar1"]),
)
@example(month_day=(4, 15), on_or_after=date(2026, 4, 15), feb29="feb28")  # the day itself
@example(month_day=(2, 29), on_or_after=date(2027, 2, 28), feb29="feb28")
@example(month_day=(2, 29), on_or_after=date(2027, 3, 1), feb29="feb28")  # next: 2028-02-29
@example(month_day=(2, 29), on_or_after=date(2027, 3, 1), feb29="mar1")  # today
@example(month_day=(2, 29), on_or_after=date(2027, 3, 2), feb29="mar1")
def test_next_occurrence_is_the_first_on_or_after(
    month_day: tuple[int, int], on_or_after: date, feb29: str
) -> None:
    """The occurrences are one a year: the answer is this or next year's, on or after the
    day, and the year before's lies before it."""
    month, day = month_day
    found = next_occurrence(month, day, on_or_after, feb29=feb29)
    assert found == occurrence_in_year(month, day, found.year, feb29=feb29)
    assert found >= on_or_after > occurrence_in_year(month, day, found.year - 1, feb29=feb29)


# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", 30),
        ("30", 30),
        ("1", 1),
        ("2w", 14),
        ("3m", 90),
        ("1m", 30),
        ("1y", 365),
        ("2y", 730),
        (" 45 days ", 45),
        ("2 weeks", 14),
        ("1 week", 7),
        ("6 months", 180),
        ("1 year", 365),
        ("2W", 14),
    ],
)
def test_parse_days(text: str, expected: int) -> None:
    assert parse_days(text) == expected


@pytest.mark.parametrize("text", ["", "0", "0d", "-3d", "abc", "3x", "1.5w", "d", "3 d ago"])
def test_parse_days_rejects(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_days(text)
    assert str(caught.value) == (
        f"cannot understand number of days {text!r} (try 30, 30d, 2w, 3m or 1y)"
    )


# --- recurrences ------------------------------------------------------------------------------

WEEKDAYS_RULE = "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily", "FREQ=DAILY"),
        ("day", "FREQ=DAILY"),
        ("weekly", "FREQ=WEEKLY"),
        ("week", "FREQ=WEEKLY"),
        ("2w", "FREQ=WEEKLY;INTERVAL=2"),
        ("1w", "FREQ=WEEKLY"),
        ("3d", "FREQ=DAILY;INTERVAL=3"),
        ("month", "FREQ=MONTHLY"),
        ("monthly", "FREQ=MONTHLY"),
        ("2m", "FREQ=MONTHLY;INTERVAL=2"),
        ("quarter", "FREQ=MONTHLY;INTERVAL=3"),
        ("quarterly", "FREQ=MONTHLY;INTERVAL=3"),
        ("2 quarters", "FREQ=MONTHLY;INTERVAL=6"),
        ("year", "FREQ=YEARLY"),
        ("yearly", "FREQ=YEARLY"),
        ("annually", "FREQ=YEARLY"),
        ("2y", "FREQ=YEARLY;INTERVAL=2"),
        ("weekday", WEEKDAYS_RULE),
        ("weekdays", WEEKDAYS_RULE),
        ("2nd tue", "FREQ=MONTHLY;BYDAY=+2TU"),
        ("second tuesday", "FREQ=MONTHLY;BYDAY=+2TU"),
        ("last fri", "FREQ=MONTHLY;BYDAY=-1FR"),
        ("1st mon", "FREQ=MONTHLY;BYDAY=+1MO"),
        ("3rd wed of the month", "FREQ=MONTHLY;BYDAY=+3WE"),
        ("4th thu", "FREQ=MONTHLY;BYDAY=+4TH"),
        ("every 2 weeks", "FREQ=WEEKLY;INTERVAL=2"),
        ("every month", "FREQ=MONTHLY"),
        ("every 2nd tue", "FREQ=MONTHLY;BYDAY=+2TU"),
        ("every weekday", WEEKDAYS_RULE),
        ("every 10 days", "FREQ=DAILY;INTERVAL=10"),
        ("every fri", "FREQ=WEEKLY;BYDAY=FR"),
        ("fri", "FREQ=WEEKLY;BYDAY=FR"),
        ("mondays", "FREQ=WEEKLY;BYDAY=MO"),
        ("  Every  Quarter ", "FREQ=MONTHLY;INTERVAL=3"),
    ],
)
def test_parse_every(text: str, expected: str) -> None:
    assert parse_every(text) == expected


@pytest.mark.parametrize(
    "text", ["", "every", "blurg", "0d", "0w", "2x", "5th tue", "every other", "2nd", "-2w"]
)
def test_parse_every_rejects(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_every(text)
    assert str(caught.value) == (
        f'cannot understand recurrence {text!r} (try 2w, month, quarter, year, weekday, "2nd tue")'
    )


def occurrences(rule: str, dtstart: datetime, count: int) -> list[datetime]:
    """The first ``count`` occurrences strictly after dtstart, by chaining next_occurrence;
    checks on the way that a minute before an occurrence, the next one is that occurrence."""
    found: list[datetime] = []
    after = dtstart
    for _ in range(count):
        following = next_occurrence_of_rule(rule, dtstart, after)
        assert following is not None
        assert following > after
        a_minute_before = following - timedelta(minutes=1)
        if a_minute_before > after:
            assert next_occurrence_of_rule(rule, dtstart, a_minute_before) == following
        found.append(following)
        after = following
    return found


def nth_weekday(year: int, month: int, nth: int, weekday: int) -> date:
    """The ``nth`` (1-4, or -1 for the last) ``weekday`` (0 is Monday) of a month."""
    days = [
        d for d in range(1, last_day(year, month) + 1) if date(year, month, d).weekday() == weekday
    ]
    return date(year, month, days[nth - 1 if nth > 0 else -1])


starts = st.builds(
    datetime.combine, st.dates(min_value=date(1970, 1, 1), max_value=date(2100, 12, 31)), minutes
)
NTH = {"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "last": -1}
STEPS = {"d": 0, "w": 0, "m": 1, "q": 3, "y": 12}  # months per unit (0: a number of days)


@given(start=starts, n=st.integers(min_value=1, max_value=12), unit=st.sampled_from(sorted(STEPS)))
@example(start=datetime(2028, 1, 31, 8), n=1, unit="m")  # Feb 29 in a leap year
@example(start=datetime(2026, 1, 30, 9), n=1, unit="m")  # Feb 28, Mar 30
@example(start=datetime(2026, 1, 29, 9), n=1, unit="m")
@example(start=datetime(2026, 11, 15, 9), n=2, unit="m")
@example(start=datetime(2026, 11, 30, 10), n=1, unit="q")  # Feb 28, May 30, Aug 30, Nov 30
@example(start=datetime(2024, 2, 29, 9), n=1, unit="y")  # Feb 28 in common years, then 29
@example(start=datetime(2026, 3, 2, 10), n=1, unit="w")  # across both DST switches: 10:00
@example(start=datetime(2026, 11, 23, 10), n=2, unit="w")
def test_every_n_days_weeks_months_quarters_or_years_from_any_day(
    start: datetime, n: int, unit: str
) -> None:
    """Monotonic, at the start's wall-clock time whatever the zone's DST does, the start being
    the first; months clip to a shorter month's end and come back (Jan 31, Feb 28, Mar 31)."""
    rule = parse_every(f"{n}{unit}")
    assert next_occurrence_of_rule(rule, start, start - timedelta(minutes=1)) == start
    found = occurrences(rule, start, 6)
    if STEPS[unit]:
        months = n * STEPS[unit]
        expected = [add_months(start.date(), months * k) for k in range(1, 7)]
    else:
        days = n * (7 if unit == "w" else 1)
        expected = [start.date() + timedelta(days=days * k) for k in range(1, 7)]
    assert found == [datetime.combine(day, start.time()) for day in expected]


@given(
    start=starts, nth=st.sampled_from(sorted(NTH)), weekday=st.integers(min_value=0, max_value=6)
)
@example(start=datetime(2026, 11, 23, 10), nth="2nd", weekday=1)  # Dec 8, Jan 12, Feb 9...
@example(start=datetime(2026, 11, 23, 10), nth="last", weekday=4)  # Nov 27, Dec 25, Jan 29
@example(start=datetime(2026, 11, 23, 10), nth="1st", weekday=0)  # Dec 7, Jan 4, Feb 1
def test_the_nth_weekday_of_every_month(start: datetime, nth: str, weekday: int) -> None:
    found = occurrences(parse_every(f"{nth} {WEEKDAY_NAMES[weekday][0]}"), start, 6)
    expected: list[datetime] = []
    year, month = start.year, start.month
    while len(expected) < 6:
        day = datetime.combine(nth_weekday(year, month, NTH[nth], weekday), start.time())
        if day > start:
            expected.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    assert found == expected


@given(start=starts, weekday=st.integers(min_value=0, max_value=6))
@example(start=datetime(2026, 11, 23, 10), weekday=4)
def test_every_friday_is_every_friday(start: datetime, weekday: int) -> None:
    found = occurrences(parse_every(f"every {WEEKDAY_NAMES[weekday][-1]}"), start, 4)
    first = start + timedelta(days=(weekday - start.weekday() - 1) % 7 + 1)  # never the start
    assert found == [first + timedelta(weeks=k) for k in range(4)]


@given(start=starts)
@example(start=datetime(2026, 11, 26, 9))  # a Thursday: Fri, then Mon
def test_weekdays_skip_the_weekend(start: datetime) -> None:
    expected: list[datetime] = []
    day = start
    while len(expected) < 8:
        day += timedelta(days=1)
        if day.weekday() < 5:
            expected.append(day)
    assert occurrences(parse_every("weekdays"), start, 8) == expected


def test_monthly_from_jan_31_clips_to_month_end_for_a_whole_year() -> None:
    start = datetime(2026, 1, 31, 10, 0)
    days = [(2, 28), (3, 31), (4, 30), (5, 31), (6, 30), (7, 31), (8, 31), (9, 30)]
    days += [(10, 31), (11, 30), (12, 31)]
    expected = [datetime(2026, m, d, 10, 0) for m, d in days] + [datetime(2027, 1, 31, 10, 0)]
    assert occurrences(parse_every("monthly"), start, 12) == expected


def test_finished_rule_gives_none() -> None:
    start = datetime(2026, 1, 1, 9)
    assert next_occurrence_of_rule("FREQ=DAILY;COUNT=2", start, datetime(2026, 1, 5)) is None
    assert next_occurrence_of_rule("FREQ=DAILY;COUNT=2", start, start) == datetime(2026, 1, 2, 9)
    until = "RRULE:FREQ=WEEKLY;UNTIL=20260115T235959Z"
    assert next_occurrence_of_rule(until, start, datetime(2026, 1, 8, 9)) == datetime(
        2026, 1, 15, 9
    )
    assert next_occurrence_of_rule(until, start, datetime(2026, 1, 15, 9)) is None


def test_check_birthday_refuses_only_a_date_after_today() -> None:
    today = date(2026, 11, 23)
    check_birthday(YearlyDate(11, 23, 2026), today)  # born today
    check_birthday(YearlyDate(5, 1, None), today)  # no year: nothing to check
    with pytest.raises(ValidationError) as error:
        check_birthday(YearlyDate(11, 24, 2026), today)
    assert error.value.message == (
        "birthday 2026-11-24 is in the future; give the year it happened, or --11-24 without a year"
    )


@pytest.mark.parametrize("rule", ["FREQ=WEEKLY", "FREQ=DAILY", "FREQ=MONTHLY", "FREQ=YEARLY"])
@pytest.mark.parametrize("day", [25, 31])
def test_past_the_end_of_the_calendar_gives_none(rule: str, day: int) -> None:
    # dateutil raises "year 10000 is out of range" for some of these and returns None for others
    start = datetime(9999, 12, day)
    if rule == "FREQ=DAILY" and day == 25:
        assert next_occurrence_of_rule(rule, start, start) == datetime(9999, 12, 26)
    else:
        assert next_occurrence_of_rule(rule, start, start) is None
    assert rule_has_end(rule) is False
    assert rule_has_end(f"{rule};COUNT=3") and rule_has_end(f"{rule};UNTIL=20261231T000000Z")


def test_explicit_by_rules_are_left_alone() -> None:
    # A rule that names its days (an imported one) keeps RFC 5545 meaning: months without a 31st
    # are skipped. Only plain monthly/yearly rules are pinned to the month end.
    start = datetime(2026, 1, 31, 9)
    assert next_occurrence_of_rule("FREQ=MONTHLY;BYMONTHDAY=31", start, start) == datetime(
        2026, 3, 31, 9
    )


@pytest.mark.parametrize("rule", ["", "blurg", "FREQ=SOMETIMES", "INTERVAL=2", "FREQ=DAILY;X"])
def test_invalid_rule_raises(rule: str) -> None:
    with pytest.raises(UsageError) as caught:
        next_occurrence_of_rule(rule, NOW, NOW)
    assert str(caught.value).startswith(f"cannot understand recurrence {rule!r}")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=DAILY", "every day"),
        ("FREQ=DAILY;INTERVAL=3", "every 3 days"),
        ("FREQ=WEEKLY", "every week"),
        ("FREQ=WEEKLY;INTERVAL=2", "every 2 weeks"),
        ("FREQ=MONTHLY", "every month"),
        ("FREQ=MONTHLY;INTERVAL=2", "every 2 months"),
        ("FREQ=MONTHLY;INTERVAL=3", "every quarter"),
        ("FREQ=MONTHLY;INTERVAL=6", "every 6 months"),
        ("FREQ=YEARLY", "every year"),
        ("FREQ=YEARLY;INTERVAL=2", "every 2 years"),
        (WEEKDAYS_RULE, "every weekday"),
        ("FREQ=MONTHLY;BYDAY=+2TU", "every 2nd Tue"),
        ("FREQ=MONTHLY;BYDAY=2TU", "every 2nd Tue"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "every last Fri"),
        ("FREQ=MONTHLY;BYDAY=+1MO", "every 1st Mon"),
        ("FREQ=MONTHLY;BYDAY=+3WE", "every 3rd Wed"),
        ("FREQ=MONTHLY;INTERVAL=2;BYDAY=+1MO", "every 2 months on the 1st Mon"),
        ("FREQ=WEEKLY;BYDAY=FR", "every Fri"),
        ("FREQ=WEEKLY;BYDAY=MO,WE", "every Mon, Wed"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "every 2 weeks on Tue"),
        ("RRULE:FREQ=WEEKLY;COUNT=3", "every week, 3 times"),
        ("FREQ=DAILY;UNTIL=20261231T000000Z", "every day, until 2026-12-31"),
        # Shapes crmcli does not write come back as they are.
        ("FREQ=MONTHLY;BYMONTHDAY=15", "FREQ=MONTHLY;BYMONTHDAY=15"),
        ("FREQ=HOURLY", "FREQ=HOURLY"),
        ("junk", "junk"),
    ],
)
def test_describe_rule(rule: str, expected: str) -> None:
    assert describe_rule(rule) == expected


@pytest.mark.parametrize("text", ["2w", "month", "quarter", "year", "weekday", "2nd tue", "3d"])
def test_describe_parsed_recurrences(text: str) -> None:
    described = describe_rule(parse_every(text))
    assert described.startswith("every ")
    # What we show parses back to the same rule.
    assert parse_every(described) == parse_every(text)
