"""Notes, reminders (recurrence, done, snooze), cadence and history: the domain functions."""

from __future__ import annotations

import sqlite3
import time
from datetime import date, datetime
from typing import Any

import pytest

from crmcli import contacts, history, notes, reminders, search
from crmcli.dates import When, parse_every
from crmcli.errors import CrmError, NotFound, ValidationError
from tests.conftest import NOW, ContactFactory

# --- notes -------------------------------------------------------------------------------------


def test_note_add_edit_trash_restore_and_search(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    note_id = notes.add(conn, ann, "  Talked about the zeppelin order ", now=NOW, kind="Call")
    note = notes.get(conn, note_id)
    assert (note.kind, note.body, note.at) == (
        "call",
        "Talked about the zeppelin order",
        "2026-11-23T09:00:00Z",
    )
    assert [r["id"] for r in search.search_contacts(conn, "zeppelin")] == [ann]

    notes.edit(conn, note_id, now=NOW, body="Talked about the airship order")
    assert list(search.search_contacts(conn, "zeppelin")) == []
    assert [r["id"] for r in search.search_contacts(conn, "airship")] == [ann]

    notes.trash(conn, note_id, now=NOW)
    assert list(search.search_contacts(conn, "airship")) == []
    with pytest.raises(NotFound):
        notes.get(conn, note_id)
    assert [n.id for n in notes.list_notes(conn, notes.NoteFilters(deleted=True))] == [note_id]

    notes.restore(conn, note_id)
    assert [r["id"] for r in search.search_contacts(conn, "airship")] == [ann]
    with pytest.raises(ValidationError, match="is not in the trash"):
        notes.restore(conn, note_id)


@pytest.mark.parametrize(
    ("body", "kind", "at", "message"),
    [
        ("   ", "note", None, "the note is empty; nothing was saved"),
        ("ok", "two words", None, "note kind 'two words' is not valid"),
        ("ok", "call", datetime(2026, 11, 24), "is in the future"),
    ],
)
def test_note_validation_writes_nothing(
    conn: sqlite3.Connection,
    body: str,
    kind: str,
    at: datetime | None,
    message: str,
    make_contact: ContactFactory,
) -> None:
    ann = make_contact()
    with pytest.raises(ValidationError, match=message):
        notes.add(conn, ann, body, now=NOW, kind=kind, at=at)
    assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


def test_note_filters(conn: sqlite3.Connection, make_contact: ContactFactory) -> None:
    ann, ben = make_contact(), make_contact("Ben Okafor", tags=["vip"])
    notes.add(conn, ann, "old call", now=NOW, kind="call", at=datetime(2026, 10, 1, 12))
    notes.add(conn, ben, "recent email", now=NOW, kind="email", at=datetime(2026, 11, 20, 12))
    notes.add(conn, ben, "a call today 100%", now=NOW, kind="call")

    def bodies(**kw: object) -> list[str]:
        return [n.body for n in notes.list_notes(conn, notes.NoteFilters(**kw))]  # type: ignore[arg-type]

    assert bodies() == ["a call today 100%", "recent email", "old call"]
    assert bodies(kinds=["call"]) == ["a call today 100%", "old call"]
    assert bodies(tags=["vip"]) == ["a call today 100%", "recent email"]
    assert bodies(contact_id=ann) == ["old call"]
    assert bodies(since=datetime(2026, 11, 1), until=datetime(2026, 11, 21)) == ["recent email"]
    assert bodies(text="100%") == ["a call today 100%"]
    assert bodies(oldest_first=True, limit=1) == ["old call"]
    contacts.trash(conn, ben, now=NOW)
    assert bodies() == ["old call"]


# --- keep-in-touch cadence ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_note", "due"),
    [
        (datetime(2026, 10, 24, 23, 59), True),  # Oct 24 + 30 days = today
        (datetime(2026, 10, 24, 0, 0), True),
        (datetime(2026, 10, 25, 0, 0), False),  # due tomorrow
        (datetime(2026, 11, 23, 8, 0), False),
        (None, True),  # no note: counts from created_at (2026-09-01)
    ],
)
def test_cadence_boundaries(
    conn: sqlite3.Connection, last_note: datetime | None, due: bool, make_contact: ContactFactory
) -> None:
    ann = make_contact("Ann", cadence_days=30, now=datetime(2026, 9, 1))
    make_contact("Ben Okafor")  # no cadence: never due
    if last_note is not None:
        notes.add(conn, ann, "older", now=NOW, at=datetime(2026, 8, 1))
        notes.add(conn, ann, "last", now=NOW, at=last_note)
    found, _ = notes.due_a_touch(conn, date(2026, 11, 23))
    assert [t.contact_id for t in found] == ([ann] if due else [])
    if due and last_note is not None:
        assert found[0].due_on == date(2026, 11, 23)


def test_cadence_ignores_trashed_notes_and_contacts(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact("Ann", cadence_days=7, now=datetime(2026, 1, 1))
    note_id = notes.add(conn, ann, "hi", now=NOW, at=datetime(2026, 11, 22))
    assert notes.due_a_touch(conn, NOW.date()) == ([], 0)
    notes.trash(conn, note_id, now=NOW)
    assert [t.contact_id for t in notes.due_a_touch(conn, NOW.date())[0]] == [ann]
    contacts.trash(conn, ann, now=NOW)
    assert notes.due_a_touch(conn, NOW.date()) == ([], 0)


def test_cadence_query_uses_indexes(conn: sqlite3.Connection, make_contact: ContactFactory) -> None:
    make_contact("A", cadence_days=30)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    notes.due_a_touch(conn, NOW.date(), limit=5)
    conn.set_trace_callback(None)
    due_queries = [s for s in statements if "cadence_days = " in s]
    assert len(due_queries) == 2  # the count, and the first ones
    for statement in due_queries:
        plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}"))
        # a range of the index: the due contacts alone are read, no note at all
        assert "INDEX contacts_touch (cadence_days=? AND <expr><?)" in plan, plan
        assert "notes" not in plan


def _last_touch_at(conn: sqlite3.Connection, contact_id: int) -> str | None:
    row = conn.execute("SELECT last_touch_at FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    touched: str | None = row[0]
    return touched


def test_last_touch_at_follows_every_change_of_notes(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact("Ann Lee")
    ben = make_contact("Ben Okafor")
    assert _last_touch_at(conn, ann) is None
    older = notes.add(conn, ann, "older", now=NOW, at=datetime(2026, 8, 1))
    assert _last_touch_at(conn, ann) == "2026-08-01T00:00:00Z"
    newer = notes.add(conn, ann, "newer", now=NOW, at=datetime(2026, 11, 1))
    notes.add(conn, ann, "in between", now=NOW, at=datetime(2026, 9, 1))
    assert _last_touch_at(conn, ann) == "2026-11-01T00:00:00Z"
    notes.trash(conn, newer, now=NOW)
    assert _last_touch_at(conn, ann) == "2026-09-01T00:00:00Z"
    notes.restore(conn, newer)
    assert _last_touch_at(conn, ann) == "2026-11-01T00:00:00Z"
    # a note moved to another contact (a merge does that), then removed for good
    conn.execute("UPDATE notes SET contact_id = ? WHERE id = ?", (ben, newer))
    assert (_last_touch_at(conn, ann), _last_touch_at(conn, ben)) == (
        "2026-09-01T00:00:00Z",
        "2026-11-01T00:00:00Z",
    )
    conn.execute("DELETE FROM notes WHERE id = ?", (newer,))
    assert _last_touch_at(conn, ben) is None
    conn.execute("UPDATE notes SET at = ? WHERE id = ?", ("2027-01-01T00:00:00Z", older))
    assert _last_touch_at(conn, ann) == "2027-01-01T00:00:00Z"
    # a note an import brought carries the import's time: it is no touch, whatever its date
    imported = notes.add(conn, ben, "from the CSV", kind="imported", now=NOW, at=NOW)
    assert _last_touch_at(conn, ben) is None
    conn.execute("UPDATE notes SET kind = 'call' WHERE id = ?", (imported,))
    assert _last_touch_at(conn, ben) == "2026-11-23T09:00:00Z"


def test_due_a_touch_with_a_limit_is_the_start_of_the_whole_list(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    for number in range(12):
        someone = make_contact(
            f"P{number}", cadence_days=[7, 14, 30][number % 3], now=datetime(2026, 1, 1 + number)
        )
        if number % 4:
            notes.add(conn, someone, "hi", now=NOW, at=datetime(2026, 10, 1 + number))
    everyone, total = notes.due_a_touch(conn, NOW.date())
    assert total == len(everyone) == 12
    for limit in (1, 2, 5, 20):
        assert notes.due_a_touch(conn, NOW.date(), limit=limit) == (everyone[:limit], 12)


# --- reminders ---------------------------------------------------------------------------------


def remind(conn: sqlite3.Connection, at: datetime, every: str | None = None, **kw: object) -> int:
    rule = parse_every(every) if every else None
    reminder = reminders.add(conn, "follow up", When(at, True), now=NOW, rule=rule, **kw)  # type: ignore[arg-type]
    return reminder.id


def complete_chain(conn: sqlite3.Connection, reminder_id: int, times: int) -> list[datetime]:
    """Complete each occurrence at its due time; the due dates of the occurrences made."""
    seen = []
    for _ in range(times):
        current = reminders.get(conn, reminder_id)
        _, following = reminders.complete(conn, reminder_id, now=current.due.at)
        assert following is not None
        seen.append(following.due.at)
        reminder_id = following.id
    return seen


def test_monthly_from_the_31st_clips_to_month_ends(conn: sqlite3.Connection) -> None:
    first = remind(conn, datetime(2027, 1, 31, 10), "month")
    assert complete_chain(conn, first, 4) == [
        datetime(2027, 2, 28, 10),
        datetime(2027, 3, 31, 10),
        datetime(2027, 4, 30, 10),
        datetime(2027, 5, 31, 10),
    ]


def test_quarterly_across_month_ends(conn: sqlite3.Connection) -> None:
    first = remind(conn, datetime(2027, 8, 31, 9), "quarter")
    assert complete_chain(conn, first, 3) == [
        datetime(2027, 11, 30, 9),
        datetime(2028, 2, 29, 9),
        datetime(2028, 5, 31, 9),
    ]


def test_yearly_from_feb_29(conn: sqlite3.Connection) -> None:
    first = remind(conn, datetime(2028, 2, 29, 8), "year")
    assert complete_chain(conn, first, 4) == [
        datetime(2029, 2, 28, 8),
        datetime(2030, 2, 28, 8),
        datetime(2031, 2, 28, 8),
        datetime(2032, 2, 29, 8),
    ]


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()


@pytest.mark.usefixtures("berlin")
@pytest.mark.parametrize(
    ("start", "utc_before", "utc_after"),
    [
        # Autumn: CEST (UTC+2) -> CET (UTC+1) on 2026-10-25.
        (datetime(2026, 10, 19, 10), "2026-10-19T08:00:00Z", "2026-10-26T09:00:00Z"),
        # Spring: CET -> CEST on 2027-03-28.
        (datetime(2027, 3, 22, 10), "2027-03-22T09:00:00Z", "2027-03-29T08:00:00Z"),
    ],
)
def test_weekly_stays_at_ten_across_dst(
    conn: sqlite3.Connection, start: datetime, utc_before: str, utc_after: str
) -> None:
    first = remind(conn, start, "week")
    assert reminders.get(conn, first).due_at == utc_before
    _, following = reminders.complete(conn, first, now=start)
    assert following is not None
    assert following.due_at == utc_after
    assert following.due.at.hour == 10 and following.due_text.endswith("10:00")


def test_completing_twice_is_refused_and_never_duplicates(conn: sqlite3.Connection) -> None:
    first = remind(conn, datetime(2026, 11, 23, 10), "week")
    done, following = reminders.complete(conn, first, now=NOW)
    assert following is not None and following.previous_id == first
    assert done.next_id == following.id
    with pytest.raises(CrmError) as error:
        reminders.complete(conn, first, now=NOW)
    assert error.value.message == (
        f"reminder {first} was already done on 2026-11-23; cannot complete it "
        f"(its next occurrence is reminder {following.id}: crm reminders)"
    )
    open_ids = [r.id for r in reminders.list_reminders(conn, reminders.ReminderFilters())]
    assert open_ids == [following.id]
    assert following.due.at == datetime(2026, 11, 30, 10)
    with pytest.raises(sqlite3.IntegrityError):  # the database itself refuses a second "next"
        conn.execute(
            "INSERT INTO reminders (body, due_at, previous_id, created_at, updated_at) "
            "VALUES ('x', '2026-12-01T00:00:00Z', ?, 'x', 'x')",
            (first,),
        )


def test_completing_an_overdue_recurring_reminder_does_not_replay_missed_ones(
    conn: sqlite3.Connection,
) -> None:
    first = remind(conn, datetime(2026, 10, 5, 10), "week")  # 7 weeks overdue
    _, following = reminders.complete(conn, first, now=NOW)
    assert following is not None and following.due.at == datetime(2026, 11, 23, 10)


@pytest.mark.parametrize(("day", "every"), [(25, "week"), (31, "week"), (31, "2nd tue")])
def test_completing_a_recurring_reminder_at_the_end_of_the_calendar(
    conn: sqlite3.Connection, day: int, every: str
) -> None:
    first = remind(conn, datetime(9999, 12, day, 10), every)
    with pytest.raises(CrmError) as error:
        reminders.complete(conn, first, now=NOW)
    described = "every week" if every == "week" else "every 2nd Tue"
    assert error.value.message == (
        f"reminder {first} ({described}) has no next date after 9999-12-{day}; to finish it, "
        f"stop it repeating first: crm reminders edit {first} --every '' && crm done {first}"
    )
    # nothing was written: still open, no next occurrence
    assert [r.id for r in reminders.list_reminders(conn, reminders.ReminderFilters())] == [first]
    # the way out the message gives works
    reminders.edit(conn, first, reminders.ReminderChanges(rule=""), now=NOW)
    done, following = reminders.complete(conn, first, now=NOW)
    assert done.done_at is not None and following is None


def test_a_rule_that_ends_by_itself_just_ends(conn: sqlite3.Connection) -> None:
    rule = "FREQ=WEEKLY;COUNT=1"
    first = reminders.add(conn, "once", When(datetime(2026, 11, 23, 10), True), now=NOW, rule=rule)
    done, following = reminders.complete(conn, first.id, now=NOW)
    assert done.done_at is not None and following is None


def test_snooze_keeps_time_and_recurrence(conn: sqlite3.Connection) -> None:
    first = remind(conn, datetime(2026, 11, 23, 10), "week")
    snoozed = reminders.snooze(conn, first, When(datetime(2026, 11, 25), False), now=NOW)
    assert snoozed.due.at == datetime(2026, 11, 25, 10) and snoozed.has_time
    _, following = reminders.complete(conn, first, now=NOW)
    assert following is not None and following.due.at == datetime(2026, 11, 30, 10)
    with pytest.raises(CrmError, match="already done"):
        reminders.snooze(conn, first, When(datetime(2026, 11, 26), False), now=NOW)


def test_reminder_without_contact_edit_trash_restore(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    rid = remind(conn, datetime(2026, 11, 24, 9))
    assert reminders.get(conn, rid).contact_id is None
    edited = reminders.edit(
        conn,
        rid,
        reminders.ReminderChanges(body="call", contact_id=ann, rule="FREQ=DAILY"),
        now=NOW,
    )
    assert (edited.body, edited.contact, edited.every) == ("call", "Ann Lee", "every day")
    edited = reminders.edit(conn, rid, reminders.ReminderChanges(rule=""), now=NOW)
    assert edited.rule is None and edited.to_dict()["every"] is None
    reminders.trash(conn, rid, now=NOW)
    assert list(reminders.list_reminders(conn, reminders.ReminderFilters())) == []
    assert reminders.restore(conn, rid).deleted_at is None
    with pytest.raises(ValidationError, match="nothing to change"):
        reminders.edit(conn, rid, reminders.ReminderChanges(), now=NOW)


def test_list_windows(conn: sqlite3.Connection) -> None:
    ids = {
        "past_timed": remind(conn, datetime(2026, 11, 23, 8)),
        "yesterday": reminders.add(conn, "x", When(datetime(2026, 11, 22), False), now=NOW).id,
        "today_date": reminders.add(conn, "x", When(datetime(2026, 11, 23), False), now=NOW).id,
        "later_today": remind(conn, datetime(2026, 11, 23, 17)),
        "in_7_days": remind(conn, datetime(2026, 11, 30, 23, 59)),
        "in_8_days": remind(conn, datetime(2026, 12, 1, 0, 0)),
    }

    def listed(**kw: Any) -> set[str]:
        found = {
            r.id for r in reminders.list_reminders(conn, reminders.ReminderFilters(**kw), now=NOW)
        }
        return {name for name, rid in ids.items() if rid in found}

    assert listed(overdue=True) == {"past_timed", "yesterday"}
    assert listed(days=0) == {"past_timed", "yesterday", "today_date", "later_today"}
    assert listed(days=7) == set(ids) - {"in_8_days"}


# --- history -----------------------------------------------------------------------------------


def test_history_is_one_timeline_newest_first(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    notes.add(conn, ann, "met at fair", now=NOW, kind="meeting", at=datetime(2026, 11, 1, 12))
    rid = reminders.add(
        conn,
        "send quote",
        When(datetime(2026, 11, 24, 10), True),
        now=datetime(2026, 11, 2),
        contact_id=ann,
    ).id
    reminders.complete(conn, rid, now=datetime(2026, 11, 20, 15))
    events = history.timeline(conn, ann)
    assert [(e.event, e.ref) for e in events] == [
        ("reminder done", f"reminder {rid}"),
        ("reminder added", f"reminder {rid}"),
        ("meeting", "note 1"),
    ]
    assert events[1].text == "send quote (due Tue 2026-11-24 10:00)"


def test_history_providers_are_an_extension_point(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    from crmcli.registry import HISTORY_PROVIDERS

    ann = make_contact()

    def invoices(c: sqlite3.Connection, contact_id: int) -> list[history.HistoryEvent]:
        return [history.HistoryEvent("2026-11-10T10:00:00Z", "invoice", "Invoice 7", "inv 7")]

    with HISTORY_PROVIDERS.replaced(invoices=invoices):
        assert [e.ref for e in history.timeline(conn, ann)] == ["inv 7"]
    assert history.timeline(conn, ann) == []  # the block ended: registered as before
