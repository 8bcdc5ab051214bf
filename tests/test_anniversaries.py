"""Yearly dates: upcoming occurrences around year ends, Feb 29, year-less dates, time zones,
the agenda's lead times, and `crm dates` through the CLI."""

from __future__ import annotations

import sqlite3
import time
from datetime import date

import pytest

from crmcli import anniversaries, contacts
from crmcli.anniversaries import describe, ordinal, upcoming, upcoming_for_agenda
from crmcli.contact_changes import ContactChanges
from crmcli.dates import YearlyDate
from tests.conftest import NOW, Cli, ContactFactory


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (101, "101st"),
        (111, "111th"),
    ],
)
def test_ordinal(n: int, text: str) -> None:
    assert ordinal(n) == text


@pytest.mark.parametrize(
    ("kind", "label", "years", "text"),
    [
        ("birthday", "birthday", 40, "turns 40"),
        ("birthday", "birthday", None, "birthday"),
        ("anniversary", "anniversary", 5, "5th anniversary"),
        ("anniversary", "anniversary", None, "anniversary"),
        ("other", "customer since", 1, "customer since: 1 year"),
        ("other", "customer since", 3, "customer since: 3 years"),
        ("other", "kid turns 21", None, "kid turns 21"),
    ],
)
def test_describe(kind: str, label: str, years: int | None, text: str) -> None:
    assert describe(kind, label, years) == text


@pytest.mark.parametrize(
    ("today", "birthday", "occurs", "days_until", "years"),
    [
        # around the year end: next year's date, and its age counts in next year
        (date(2026, 12, 30), "1980-01-02", date(2027, 1, 2), 3, 47),
        (date(2026, 12, 31), "1980-12-31", date(2026, 12, 31), 0, 46),
        (date(2027, 1, 1), "1980-12-31", date(2027, 12, 31), 364, 47),
        # year-less: no age, ever
        (date(2026, 12, 30), "--01-02", date(2027, 1, 2), 3, None),
        # born today (a later birthday is refused): no "turns 0"
        (date(2026, 11, 23), "2026-11-23", date(2026, 11, 23), 0, None),
    ],
)
def test_upcoming_dates(
    conn: sqlite3.Connection,
    today: date,
    birthday: str,
    occurs: date,
    days_until: int,
    years: int | None,
    make_contact: ContactFactory,
) -> None:
    make_contact("Ann", birthday=birthday)
    (found,) = upcoming(conn, today, days=366)
    assert (found.occurs_on, found.days_until, found.years) == (occurs, days_until, years)


@pytest.mark.parametrize(
    ("today", "policy", "occurs"),
    [
        (date(2027, 2, 1), "feb28", date(2027, 2, 28)),  # non-leap year, default
        (date(2027, 2, 1), "mar1", date(2027, 3, 1)),  # non-leap year, configured
        (date(2028, 2, 1), "feb28", date(2028, 2, 29)),  # leap year: the real day
        (date(2028, 2, 1), "mar1", date(2028, 2, 29)),
        (date(2100, 2, 1), "feb28", date(2100, 2, 28)),  # 2100 is not a leap year
        (date(2027, 2, 28), "feb28", date(2027, 2, 28)),  # on the day itself
        (date(2027, 3, 1), "feb28", date(2028, 2, 29)),  # just missed: next leap day
        (date(2027, 3, 1), "mar1", date(2027, 3, 1)),
    ],
)
def test_feb29(
    conn: sqlite3.Connection, today: date, policy: str, occurs: date, make_contact: ContactFactory
) -> None:
    make_contact("Leap", birthday="2000-02-29")
    (found,) = upcoming(conn, today, days=366, feb29=policy)
    assert found.occurs_on == occurs
    assert found.years == occurs.year - 2000


def test_filters_by_kind_label_and_tag(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact("Ann", birthday="--11-25", anniversary="2020-11-26")
    bob = make_contact("Bob", birthday="1990-11-27")
    anniversaries.set_date(conn, bob, "Customer since", YearlyDate(11, 28, 2019), today=NOW.date())
    contacts.update(conn, ann, ContactChanges(add_tags=["vip"]), now=NOW)
    today = date(2026, 11, 23)
    assert [u.label for u in upcoming(conn, today)] == [
        "birthday",
        "anniversary",
        "birthday",
        "Customer since",
    ]
    assert [u.name for u in upcoming(conn, today, kind="birthday")] == ["Ann", "Bob"]
    assert [u.label for u in upcoming(conn, today, kind="customer SINCE")] == ["Customer since"]
    assert [u.label for u in upcoming(conn, today, kind="other")] == ["Customer since"]
    assert [u.label for u in upcoming(conn, today, tags=["vip"])] == ["birthday", "anniversary"]
    assert upcoming(conn, today, days=2) == upcoming(conn, today, days=2)
    assert [u.days_until for u in upcoming(conn, today, days=2)] == [2]


def test_trashed_contacts_have_no_dates(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact("Ann", birthday="--11-25")
    contacts.trash(conn, ann, now=NOW)
    assert upcoming(conn, date(2026, 11, 23)) == []


def test_a_date_still_to_come_first_occurs_on_its_own_day(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    make_contact("Planned wedding", anniversary="2028-01-10")
    make_contact("Next week", anniversary="2026-11-30")
    today = date(2026, 11, 23)
    a_year = upcoming(conn, today, days=366)
    assert [(u.name, u.occurs_on, u.what) for u in a_year] == [
        ("Next week", date(2026, 11, 30), "anniversary")
    ]
    later = upcoming(conn, today, days=800)
    assert [(u.name, u.occurs_on) for u in later][-1] == ("Planned wedding", date(2028, 1, 10))
    assert [u.name for u in upcoming_for_agenda(conn, date(2027, 1, 1))] == []
    first_anniversary = upcoming(conn, date(2029, 1, 1), days=30)
    assert [u.what for u in first_anniversary] == ["1st anniversary"]


def test_agenda_lead_times(conn: sqlite3.Connection, make_contact: ContactFactory) -> None:
    today = date(2026, 11, 23)
    make_contact("Birthday in 7", birthday="--11-30")
    make_contact("Birthday in 8", birthday="--12-01")
    make_contact("Anniversary in 14", anniversary="2020-12-07")
    make_contact("Anniversary in 15", anniversary="2020-12-08")
    custom = make_contact("Custom", birthday="--12-20")
    anniversaries.set_date(
        conn, custom, "birthday", YearlyDate(12, 20, None), lead_days=30, today=NOW.date()
    )
    names = [u.name for u in upcoming_for_agenda(conn, today)]
    assert names == ["Birthday in 7", "Anniversary in 14", "Custom"]
    shorter = upcoming_for_agenda(conn, today, lead_days={"birthday": 0, "anniversary": 3})
    assert [u.name for u in shorter] == ["Custom"]


def test_set_date_replaces_and_keeps_lead(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact("Ann")
    assert anniversaries.set_date(
        conn, ann, "Wedding", YearlyDate(6, 1, 2010), lead_days=3, today=NOW.date()
    )
    assert not anniversaries.set_date(
        conn, ann, "WEDDING", YearlyDate(6, 2, None), today=NOW.date()
    )
    assert anniversaries.dates_of(conn, ann) == [
        {"label": "WEDDING", "kind": "other", "date": "--06-02", "lead_days": 3}
    ]
    anniversaries.set_date(conn, ann, "Birthday", YearlyDate(4, 15, None), today=NOW.date())
    assert contacts.get(conn, ann).dates == {"birthday": "--04-15"}  # `contact show` sees it


# --- CLI --------------------------------------------------------------------------------------


def test_cli_add_list_rm(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@example.com", "--birthday", "1986-11-24")
    result = cli("dates", "add", "ann", "customer since", "2019-12-01")
    assert result.stderr == "Added customer since of Ann Lee: 2019-12-01 (next Tue 2026-12-01)\n"
    result = cli("dates", "add", "ann", "wedding", "--", "--06-02")
    assert result.stderr == "Added wedding of Ann Lee: --06-02 (next Wed 2027-06-02)\n"
    rows = cli.json("dates")
    assert rows == [
        {
            "date": "2026-11-24",
            "weekday": "Tue",
            "days_until": 1,
            "contact_id": 1,
            "name": "Ann Lee",
            "email": "ann@example.com",
            "label": "birthday",
            "kind": "birthday",
            "original": "1986-11-24",
            "years": 40,
            "what": "turns 40",
        },
        {
            "date": "2026-12-01",
            "weekday": "Tue",
            "days_until": 8,
            "contact_id": 1,
            "name": "Ann Lee",
            "email": "ann@example.com",
            "label": "customer since",
            "kind": "other",
            "original": "2019-12-01",
            "years": 7,
            "what": "customer since: 7 years",
        },
    ]
    assert [r["label"] for r in cli.json("dates", "--days", "365", "--kind", "wedding")] == [
        "wedding"
    ]
    assert cli("dates", "--format", "csv").stdout.splitlines()[0].startswith("date,weekday,")
    assert cli.json("dates", "--tag", "nobody") == []
    result = cli("dates", "rm", "ann", "Customer Since", "--yes")
    assert result.stderr == "Removed customer since of Ann Lee\n"
    result = cli("dates", "rm", "ann", "nope", "--yes", code=1)
    assert result.stderr == "Error: the contact has no date 'nope' (it has: birthday, wedding)\n"
    # checked before asking: no question (nor "add --yes") about a date that is not there
    result = cli("dates", "rm", "ann", "nope", code=1)
    assert result.stderr == "Error: the contact has no date 'nope' (it has: birthday, wedding)\n"
    result = cli("dates", "rm", "ann", "WEDDING", code=2)
    assert result.stderr.startswith("Error: Remove wedding of Ann Lee: not on a terminal")
    assert [d["label"] for d in cli.json("contact", "show", "ann")["dates"]] == [
        "birthday",
        "wedding",
    ]


def test_cli_errors(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee")
    result = cli("dates", "add", "ann", "wedding", "2026-02-30", code=2)
    assert result.stderr.startswith("Error: cannot understand date '2026-02-30'")
    result = cli("dates", "add", "nobody", "wedding", "2020-01-01", code=1)
    assert result.stderr.startswith("Error: no contact matches 'nobody'")
    result = cli("dates", "add", "ann", "   ", "2020-01-01", code=1)
    assert result.stderr.startswith("Error: date label '   ' is not valid")
    assert cli.json("dates", "--days", "366") == []


def test_cli_feb29_policy(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("contact", "add", "Leap", "--birthday", "2000-02-29")
    monkeypatch.setenv("CRM_NOW", "2027-02-20T09:00")
    assert cli.json("dates")[0]["date"] == "2027-02-28"
    monkeypatch.setenv("CRM_FEB29", "mar1")
    assert cli.json("dates")[0]["date"] == "2027-03-01"
    monkeypatch.setenv("CRM_NOW", "2028-02-20T09:00")
    assert cli.json("dates")[0]["date"] == "2028-02-29"


def test_cli_time_zone_decides_today(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("contact", "add", "New Year", "--birthday", "--01-01")
    # 23:30 in New York on Dec 31 is already Jan 1 in Paris: the local calendar day counts.
    monkeypatch.setenv("CRM_NOW", "2026-12-31T23:30-05:00")
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    rows = cli.json("dates", "--days", "0")
    assert [(r["date"], r["days_until"]) for r in rows] == [("2027-01-01", 0)]
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    rows = cli.json("dates", "--days", "1")
    assert [(r["date"], r["days_until"]) for r in rows] == [("2027-01-01", 1)]


def test_today_and_tomorrow_stand_out(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("contact", "add", "Today", "--birthday", "--11-23")
    cli("contact", "add", "Tomorrow", "--birthday", "--11-24")
    cli("contact", "add", "Later", "--birthday", "--11-30")
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = cli("dates", "--format", "table").stdout
    today_line = next(line for line in out.splitlines() if "Today" in line)
    later_line = next(line for line in out.splitlines() if "Later" in line)
    assert "\x1b[1;31mtoday" in today_line
    assert "\x1b[1;33mtomorrow" in out
    assert "in 7 days" in later_line and "\x1b[" not in later_line.split("Later")[0][-15:]
    monkeypatch.setenv("NO_COLOR", "1")
    plain = cli("dates", "--format", "table").stdout
    assert "today" in plain and "\x1b[1;31m" not in plain


def _every_date_within(
    conn: sqlite3.Connection, today: date, days: int, feb29: str
) -> list[anniversaries.Upcoming]:
    """What `upcoming` returned before it read by (month, day) ranges: every date, filtered."""
    found = anniversaries.every_date(conn, today, feb29=feb29)
    return [u for u in found if u.days_until <= days]


@pytest.mark.parametrize("feb29", ["feb28", "mar1"])
def test_upcoming_by_month_day_ranges_finds_what_a_scan_finds(
    conn: sqlite3.Connection, feb29: str, make_contact: ContactFactory
) -> None:
    # Dates on every edge of a window: year ends, Feb 28/29, Mar 1, a date still to come.
    for number, when in enumerate(
        ["--12-31", "--01-01", "--02-28", "--02-29", "--03-01", "1980-11-23", "--11-22"]
    ):
        make_contact(f"P{number}", birthday=when)
    someone = make_contact("Wedding")
    anniversaries.set_date(conn, someone, "anniversary", YearlyDate(1, 2, 2027), today=NOW.date())
    for today in [
        date(2026, 11, 23),
        date(2026, 12, 30),
        date(2027, 2, 27),
        date(2027, 2, 28),
        date(2028, 2, 28),
        date(2028, 2, 29),
        date(2026, 11, 24),
    ]:
        for days in [0, 1, 2, 7, 40, 364, 365, 366]:
            expected = _every_date_within(conn, today, days, feb29)
            assert upcoming(conn, today, days=days, feb29=feb29) == expected, (today, days)


@pytest.mark.parametrize("feb29", ["feb28", "mar1"])
def test_the_agenda_by_each_kinds_lead_time_finds_what_a_scan_finds(
    conn: sqlite3.Connection, feb29: str, make_contact: ContactFactory
) -> None:
    # Each kind is read from its own lead time's ranges (a birthday a week ahead, an
    # anniversary two): the same dates as every date filtered by its lead, on every edge.
    edges = ["--12-31", "--01-01", "--01-09", "--02-28", "--02-29", "--03-01", "--03-10",
             "1980-11-23", "--11-22", "--12-05"]  # fmt: skip
    for number, when in enumerate(edges):
        someone = make_contact(f"P{number}", birthday=when, email=f"p{number}@example.com")
        month, day = int(when[-5:-3]), int(when[-2:])
        for label in ("anniversary", "customer since"):
            anniversaries.set_date(
                conn, someone, label, YearlyDate(month, day, None), today=NOW.date()
            )
    planner = make_contact("Planner")
    anniversaries.set_date(
        conn, planner, "renewal", YearlyDate(3, 1, None), today=NOW.date(), lead_days=120
    )
    anniversaries.set_date(conn, planner, "wedding", YearlyDate(1, 2, 2027), today=NOW.date())
    settings = [
        anniversaries.DEFAULT_LEAD_DAYS,
        {"birthday": 0, "anniversary": 3, "other": 40},
        {"birthday": 30, "anniversary": 30, "other": 365},
        {"birthday": 364, "anniversary": 1, "other": 7},
    ]
    days = [date(2026, 11, 23), date(2026, 12, 30), date(2027, 2, 27), date(2027, 2, 28),
            date(2028, 2, 28), date(2028, 2, 29), date(2027, 12, 26)]  # fmt: skip
    shown = 0
    for leads in settings:
        for today in days:
            every = anniversaries.every_date(conn, today, feb29=feb29)
            expected = [
                u for u in every
                if u.days_until <= (u.lead_days if u.lead_days is not None else leads[u.kind])
            ]  # fmt: skip
            found = upcoming_for_agenda(conn, today, lead_days=leads, feb29=feb29)
            # the agenda reads no emails: it looks up the details of the items it shows
            assert [u._replace(email=None) for u in expected] == found, (leads, today)
            shown += len(found)
    assert shown > 100  # the edges do fall inside the windows


def test_agenda_reads_a_date_with_a_long_lead_of_its_own(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    # Outside every kind's default lead time, but inside its own (read through its index).
    someone = make_contact("Planner")
    anniversaries.set_date(
        conn, someone, "contract renewal", YearlyDate(6, 1, 2020), today=NOW.date(), lead_days=250
    )
    make_contact("Far", birthday="--06-01")
    found = upcoming_for_agenda(conn, NOW.date())
    assert [(u.contact_id, u.label) for u in found] == [(someone, "contract renewal")]
