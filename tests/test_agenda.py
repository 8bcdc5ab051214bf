"""The agenda's domain: sections cut to a limit with complete counts, local dates in any zone."""

from __future__ import annotations

import random
import sqlite3
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from crmcli import agenda, clock, contacts, notes, reminders
from crmcli.contact_changes import ContactChanges
from crmcli.dates import When
from crmcli.registry import AGENDA_PROVIDERS
from tests.conftest import NOW, Cli, ContactFactory

#: when the contacts of these tests were added
CREATED = datetime(2026, 1, 1)


def book(conn: sqlite3.Connection, make_contact: ContactFactory) -> None:
    """7 overdue reminders, 2 for today, 4 coming, 5 contacts due a touch."""
    ann = make_contact("Ann Lee", now=CREATED)
    for day in range(7):
        reminders.add(
            conn, f"late {day}", When(NOW - timedelta(days=day + 1), True), now=NOW, contact_id=ann
        )
    reminders.add(conn, "today a", When(datetime(2026, 11, 23), False), now=NOW)
    reminders.add(conn, "today b", When(datetime(2026, 11, 23, 17), True), now=NOW)
    for day in range(4):
        reminders.add(conn, f"soon {day}", When(NOW + timedelta(days=day + 1), True), now=NOW)
    for index in range(5):
        who = make_contact(f"Touch Person{index}", cadence_days=30, now=CREATED)
        notes.add(conn, who, "hello", now=NOW, at=datetime(2026, 9, 1 + index, 12))


@pytest.mark.parametrize("limit", [1, 2, 4, 25])
def test_a_limit_keeps_the_first_of_each_section_and_counts_them_all(
    conn: sqlite3.Connection, limit: int, make_contact: ContactFactory
) -> None:
    book(conn, make_contact)
    full = agenda.build(conn, agenda.Window(NOW, 7))
    cut = agenda.build(conn, agenda.Window(NOW, 7, limit))
    expected_counts = {"overdue": 7, "today": 2, "upcoming": 4, "touch": 5}
    assert full.counts == expected_counts
    assert cut.counts == expected_counts
    first = [
        item
        for section in ("overdue", "today", "upcoming", "touch")
        for item in [i for i in full.items if i.section == section][:limit]
    ]
    assert cut.items == first
    assert agenda.is_due(cut.counts)


def test_a_yearly_date_comes_with_its_contacts_first_email_and_phone(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    # The dates are read without emails (a lookup per date in a fortnight of a big book);
    # the agenda looks up the details of the items it shows, limited or not.
    make_contact(
        "Ann Lee",
        email=["ann@example.com", "lee@example.org"],
        phone="+1 555 0100",
        company="Acme",
        birthday="--11-25",
        now=CREATED,
    )
    for limit in (None, 1):
        found = agenda.build(conn, agenda.Window(NOW, 7, limit))
        assert [(i.section, i.contact, i.company, i.phone, i.email) for i in found.items] == [
            ("dates", "Ann Lee", "Acme", "+1 555 0100", "ann@example.com")
        ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_limit_agrees_with_the_whole_agenda_on_a_mixed_book(
    conn: sqlite3.Connection, seed: int, make_contact: ContactFactory
) -> None:
    # Timed and date-only reminders around now (earlier today too), general ones, some of
    # trashed contacts; cadences with and without notes; yearly dates near today.
    rng = random.Random(seed)
    people = [
        make_contact(f"P{n} Q{n}", cadence_days=rng.choice([None, 7, 30]), now=CREATED)
        for n in range(30)
    ]
    for who in people:
        if rng.random() < 0.5:
            notes.add(conn, who, "hi", now=NOW, at=NOW - timedelta(days=rng.randint(0, 60)))
        if rng.random() < 0.3:
            contacts.update(
                conn,
                who,
                ContactChanges(dates={"birthday": f"--11-{rng.randint(20, 30)}"}),
                now=NOW,
            )
    for number in range(80):
        timed = rng.random() < 0.6
        due = NOW + timedelta(hours=rng.randint(-60, 200))
        when = When(due if timed else datetime.combine(due.date(), datetime.min.time()), timed)
        owner = rng.choice([None, *people])
        reminders.add(conn, f"r{number}", when, now=NOW, contact_id=owner)
    for number in range(12):  # open deals, some idle for longer than their stage allows
        changed = clock.to_utc_text(NOW - timedelta(days=rng.randint(1, 60)))
        conn.execute(
            "INSERT INTO deals (contact_id, title, value_minor, currency, stage_id, "
            "stage_changed_at, created_at, updated_at) VALUES (?, ?, 1000, 'EUR', ?, ?, ?, ?)",
            (rng.choice(people), f"d{number}", rng.randint(1, 4), changed, changed, changed),
        )
    for who in rng.sample(people, 5):
        contacts.trash(conn, who, now=NOW)
    full = agenda.build(conn, agenda.Window(NOW, 7))
    assert {"overdue", "today", "upcoming", "touch", "deals", "dates"} <= set(full.counts)
    for limit in (1, 3, 10):
        cut = agenda.build(conn, agenda.Window(NOW, 7, limit))
        assert cut.counts == full.counts
        first = [
            item
            for section in full.counts
            for item in [i for i in full.items if i.section == section][:limit]
        ]
        assert sorted(cut.items) == sorted(first)


def test_a_limit_below_one_is_refused(conn: sqlite3.Connection) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        agenda.build(conn, agenda.Window(NOW, 7, 0))


def test_the_terminal_view_counts_what_it_does_not_show(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee")
    for day in range(30):
        cli("remind", "ann", f"call {day}", "--due", f"-{day + 1}d 10:00")
    table = cli("agenda", "--format", "table").stdout
    assert "Overdue (30)" in table
    assert "… and 5 more (all of them: crm agenda --format tsv)" in table
    assert "call 29" in table and "call 4" not in table  # the longest overdue first
    assert len(cli.json("agenda")) == 30


def test_a_provider_that_ignores_the_limit_is_cut_and_counted(conn: sqlite3.Connection) -> None:
    def calls(conn: sqlite3.Connection, window: agenda.Window) -> agenda.Found:
        return agenda.Found.of(
            [
                agenda.AgendaItem("calls", window.now - timedelta(hours=h), f"call {h}", "x")
                for h in (3, 1, 2)
            ]
        )

    others = dict.fromkeys(AGENDA_PROVIDERS.names())
    with AGENDA_PROVIDERS.replaced(**others, calls=calls):
        found = agenda.build(conn, agenda.Window(NOW, 7, 2))
    assert [i.text for i in found.items] == ["call 3", "call 2"]
    assert found.counts == {"calls": 3}
    assert not agenda.is_due(found.counts)  # an unregistered section is never due


def test_the_date_settings_come_with_the_window_not_from_config(
    conn: sqlite3.Connection,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    make_contact: ContactFactory,
) -> None:
    # a birthday 20 days ahead: shown only with a lead time of 20 days or more
    make_contact("Ann Lee", dates={"birthday": "--12-13"}, now=CREATED)
    monkeypatch.setenv("CRM_BIRTHDAY_LEAD_DAYS", "30")  # the library does not read it
    default = agenda.build(conn, agenda.Window(NOW, 7))
    longer = agenda.build(
        conn, agenda.Window(NOW, 7, lead_days={**agenda.LEAD_DAYS, "birthday": 20})
    )
    assert [i.text for i in default.items] == []
    assert [(i.section, i.when.date()) for i in longer.items] == [("dates", date(2026, 12, 13))]
    # the command reads the settings and passes them on
    assert [item["date"] for item in cli.json("agenda")] == ["2026-12-13"]
    monkeypatch.delenv("CRM_BIRTHDAY_LEAD_DAYS")
    assert cli.json("agenda") == []


@pytest.mark.parametrize(
    "zone",
    [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "America/Sao_Paulo",  # clocks used to jump at midnight: some days had no 00:00
        "Pacific/Apia",  # skipped 2011-12-30 altogether
        "Australia/Lord_Howe",  # half-hour daylight saving
        "Asia/Kolkata",
        "America/St_Johns",
    ],
)
def test_local_date_reader_agrees_with_from_utc_text(
    monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    read = clock.local_date_reader()
    rnd = random.Random(zone)
    start = datetime(1890, 1, 1, tzinfo=timezone.utc)
    moments = [start + timedelta(seconds=rnd.randrange(160 * 365 * 86_400)) for _ in range(3000)]
    # every half hour around the transitions of 2011 (Apia's lost day, Sao Paulo's midnights)
    moments += [
        datetime(2011, 10, 14, tzinfo=timezone.utc) + timedelta(minutes=30 * i) for i in range(500)
    ]
    moments += [
        datetime(2011, 12, 28, tzinfo=timezone.utc) + timedelta(minutes=30 * i) for i in range(200)
    ]
    for moment in moments:
        text = clock.to_utc_text(moment)
        assert read(text) == clock.from_utc_text(text).date(), text
    assert read("2026-11-23T09:00:00+00:00") == date(2026, 11, 23)  # another form: converted


def test_touch_dates_are_local_calendar_days(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch, make_contact: ContactFactory
) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    ann = make_contact("Ann Lee", cadence_days=30, now=CREATED)
    # 23:30 UTC on Oct 23 is 01:30 on Oct 24 in Berlin (summer time): due on Nov 23, not Nov 22
    notes.add(conn, ann, "late call", now=NOW, at=datetime(2026, 10, 24, 1, 30))
    found = agenda.build(conn, agenda.Window(NOW, 7))
    (item,) = found.items
    assert item.row()[:5] == (
        "touch",
        "2026-11-23",
        None,
        "2026-11-22T23:00:00Z",  # Berlin's midnight, in UTC
        "last note 2026-10-24, keep in touch every 30 days",
    )
