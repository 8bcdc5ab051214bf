"""Deals, stages, history, stale detection, forecast and stats: the domain, with a fixed clock."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta

import pytest

from crmcli import deals, forecast, notes, pipeline, stages
from crmcli.deal_changes import DealChanges, NewDeal
from crmcli.errors import NotFound, UsageError, ValidationError
from tests.conftest import NOW, ContactFactory

DAY = timedelta(days=1)


def _deal(
    conn: sqlite3.Connection,
    contact_id: int,
    *,
    value: int = 100_000,
    currency: str = "EUR",
    stage: str | None = None,
    close: date | None = None,
    probability: int | None = None,
    at: datetime = NOW,
    title: str = "Deal",
) -> int:
    return deals.add(
        conn,
        NewDeal(
            contact_id=contact_id,
            title=title,
            value_minor=value,
            currency=currency,
            stage=stage,
            expected_close=close,
            probability=probability,
        ),
        now=at,
    )


def _count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_default_process(conn: sqlite3.Connection) -> None:
    rows = [(s.name, s.kind, s.probability, s.stale_days) for s in stages.all_stages(conn)]
    assert rows == [
        ("lead", "open", 10, 30),
        ("qualified", "open", 25, 21),
        ("proposal", "open", 50, 14),
        ("negotiation", "open", 75, 10),
        ("won", "won", 100, None),
        ("lost", "lost", 0, None),
    ]


def test_stage_moves_and_history(conn: sqlite3.Connection, make_contact: ContactFactory) -> None:
    ann = make_contact()
    start = NOW - 10 * DAY
    deal_id = _deal(conn, ann, stage="qualified", at=start, title="Website")
    deals.move(conn, deal_id, "proposal", now=start + 2 * DAY)
    deals.move(conn, deal_id, "negotiation", now=start + 5 * DAY)
    deals.move(conn, deal_id, "proposal", now=start + 6 * DAY)
    history = deals.history(conn, deal_id, now=NOW)
    assert [(h.from_stage, h.to_stage, h.days) for h in history] == [
        (None, "qualified", 2.0),
        ("qualified", "proposal", 3.0),
        ("proposal", "negotiation", 1.0),
        ("negotiation", "proposal", 4.0),  # still there: counted up to now
    ]
    assert history[-1].until is None
    assert deals.time_in_stages(history) == [
        deals.StageTotal("qualified", 2 * 86400, 2.0),
        deals.StageTotal("proposal", 7 * 86400, 7.0),
        deals.StageTotal("negotiation", 86400, 1.0),
    ]
    row = pipeline.deal_row_by_id(conn, deal_id, now=NOW)
    assert (row.stage, row.days_in_stage, row.probability) == ("proposal", 4, 50)


def test_won_lost_are_fixed_end_states(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    deal_id = _deal(conn, ann, stage="proposal", at=NOW - 3 * DAY)
    deals.win(conn, deal_id, now=NOW - DAY)
    with pytest.raises(ValidationError) as info:
        deals.move(conn, deal_id, "lead", now=NOW)
    assert info.value.message == (
        f"deal {deal_id} is won; reopen it first (crm deal reopen {deal_id}) to move it"
    )
    with pytest.raises(ValidationError):
        deals.lose(conn, deal_id, "price", now=NOW)
    history = deals.history(conn, deal_id, now=NOW)
    assert history[-1].to_stage == "won" and history[-1].seconds is None
    # reopening returns to the stage it was closed from
    assert deals.reopen(conn, deal_id, stage_name=None, now=NOW).name == "proposal"
    row = pipeline.deal_row_by_id(conn, deal_id, now=NOW)
    assert (row.status, row.closed_at) == ("open", None)
    for name in ("won", "lost"):
        with pytest.raises(ValidationError):
            stages.remove(conn, name, move_to=None, now=NOW)
        with pytest.raises(ValidationError):
            stages.set_values(conn, name, probability=50)
        with pytest.raises(ValidationError):
            stages.move(conn, name, position=1)


def test_move_to_an_end_state_points_to_the_right_command(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    deal_id = _deal(conn, make_contact())
    with pytest.raises(UsageError) as info:
        deals.move(conn, deal_id, "lost", now=NOW)
    assert info.value.message == (
        f"to close deal {deal_id} as lost, use: crm deal lost {deal_id} --reason TEXT"
    )
    with pytest.raises(UsageError) as info:
        deals.lose(conn, deal_id, "  ", now=NOW)
    assert (
        info.value.message == f"a lost deal needs a reason: crm deal lost {deal_id} --reason TEXT"
    )
    assert pipeline.deal_row_by_id(conn, deal_id, now=NOW).status == "open"


def test_unknown_stage_writes_nothing(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    with pytest.raises(NotFound) as info:
        _deal(conn, ann, stage="nope")
    assert info.value.message.startswith("no stage 'nope' (stages: lead, qualified, proposal")
    assert _count(conn, "deals") == 0 and _count(conn, "deal_stage_changes") == 0


def test_history_events_for_the_contact_timeline(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    first = _deal(conn, ann, title="Website", value=1_200_050, at=NOW - 3 * DAY)
    deals.move(conn, first, "qualified", now=NOW - 2 * DAY)
    deals.lose(conn, first, "price", now=NOW - DAY)
    events = deals.history_events(conn, ann)
    assert [e.to_dict() for e in events] == [
        {
            "at": "2026-11-20T09:00:00Z",
            "event": "deal",
            "text": "Deal 'Website' created in lead (12,000.50 EUR)",
            "ref": f"deal {first}",
        },
        {
            "at": "2026-11-21T09:00:00Z",
            "event": "stage",
            "text": "Deal 'Website' moved lead -> qualified",
            "ref": f"deal {first}",
        },
        {
            "at": "2026-11-22T09:00:00Z",
            "event": "lost",
            "text": "Deal 'Website' lost: price",
            "ref": f"deal {first}",
        },
    ]


@pytest.mark.parametrize(
    ("idle", "stale"),
    [
        (timedelta(days=14), False),  # exactly the threshold: not yet
        (timedelta(days=14, seconds=1), True),  # one second more: stale
        (timedelta(days=13, hours=23), False),
        (timedelta(days=20), True),
    ],
)
def test_stale_at_the_threshold(
    conn: sqlite3.Connection, idle: timedelta, stale: bool, make_contact: ContactFactory
) -> None:
    deal_id = _deal(conn, make_contact(), stage="proposal", at=NOW - idle)  # proposal: 14 days
    found = pipeline.stale_deals(conn, NOW)
    assert [d["id"] for d in found] == ([deal_id] if stale else [])
    assert pipeline.deal_row_by_id(conn, deal_id, now=NOW).stale is stale
    if stale:
        assert found[0]["idle_days"] == idle.days and found[0]["contact"] == "Ann Lee"


def test_stale_considers_latest_note_when_notes_exist(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    deal_id = _deal(conn, ann, stage="proposal", at=NOW - 30 * DAY)
    assert [d["id"] for d in pipeline.stale_deals(conn, NOW)] == [deal_id]
    # a recent note on the contact is activity; a note in the trash is not
    note_id = notes.add(conn, ann, "call", now=NOW, at=NOW - 3 * DAY)
    assert pipeline.stale_deals(conn, NOW) == []
    notes.trash(conn, note_id, now=NOW)
    assert [d["id"] for d in pipeline.stale_deals(conn, NOW)] == [deal_id]


def test_closed_and_thresholdless_deals_are_never_stale(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    won = _deal(conn, ann, at=NOW - 100 * DAY)
    deals.win(conn, won, now=NOW - 90 * DAY)
    stages.set_values(conn, "lead", clear_stale=True)
    _deal(conn, ann, at=NOW - 100 * DAY)
    assert pipeline.stale_deals(conn, NOW) == []


def test_remove_stage_with_deals_needs_a_destination(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    ids = [_deal(conn, ann, stage="proposal", at=NOW - DAY) for _ in range(3)]
    with pytest.raises(UsageError) as info:
        stages.remove(conn, "proposal", move_to=None, now=NOW)
    assert (
        info.value.message == "stage proposal has 3 deals; say where they go with --move-to STAGE"
    )
    assert stages.find(conn, "proposal").name == "proposal"
    removed, count, target = stages.remove(conn, "proposal", move_to="negotiation", now=NOW)
    assert (removed.name, count, target.name if target else None) == ("proposal", 3, "negotiation")
    assert [s.name for s in stages.open_stages(conn)] == ["lead", "qualified", "negotiation"]
    assert [s.position for s in stages.open_stages(conn)] == [1, 2, 3]
    for deal_id in ids:
        last = deals.history(conn, deal_id, now=NOW)[-1]
        assert (last.from_stage, last.to_stage, last.note) == (
            "proposal",
            "negotiation",
            "stage proposal removed",
        )
    # an empty stage goes without --move-to
    stages.remove(conn, "qualified", move_to=None, now=NOW)


def test_stage_add_move_rename(conn: sqlite3.Connection) -> None:
    stages.add(conn, "demo", probability=40, stale_days=7, after="qualified")
    assert [s.name for s in stages.open_stages(conn)] == [
        "lead", "qualified", "demo", "proposal", "negotiation"
    ]  # fmt: skip
    stages.move(conn, "demo", position=1)
    stages.move(conn, "lead", before="demo")
    stages.rename(conn, "demo", "Demo call")
    assert [s.name for s in stages.open_stages(conn)] == [
        "lead", "Demo call", "qualified", "proposal", "negotiation"
    ]  # fmt: skip
    with pytest.raises(ValidationError):
        stages.add(conn, "LEAD", probability=10, stale_days=None)
    with pytest.raises(ValidationError):
        stages.add(conn, "x", probability=101, stale_days=None)


def test_forecast_exact_per_currency(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    # November: two EUR deals of 1.01 at 50%: 0.505 each -> summed exactly (1.01) then rounded
    _deal(conn, ann, value=101, stage="proposal", close=date(2026, 11, 30))
    _deal(conn, ann, value=101, stage="proposal", close=date(2026, 11, 2))
    # November: 12,000.50 EUR with a 33% override
    _deal(conn, ann, value=1_200_050, stage="lead", probability=33, close=date(2026, 11, 25))
    # December: USD 500 in negotiation (75%) and JPY 300,000 in qualified (25%)
    _deal(conn, ann, value=50_000, currency="USD", stage="negotiation", close=date(2026, 12, 10))
    _deal(conn, ann, value=300_000, currency="JPY", stage="qualified", close=date(2026, 12, 31))
    # won in November (EUR), lost in November (does not count), one overdue, one undated
    won = _deal(conn, ann, value=500_000, close=date(2026, 11, 1), at=NOW - 30 * DAY)
    deals.win(conn, won, now=NOW - 2 * DAY)
    lost = _deal(conn, ann, value=700_000, close=date(2026, 11, 1), at=NOW - 30 * DAY)
    deals.lose(conn, lost, "price", now=NOW - 2 * DAY)
    _deal(conn, ann, value=10_000, close=date(2026, 10, 15))  # lead 10%
    _deal(conn, ann, value=20_000, currency="USD")  # lead 10%, no date
    forecast.set_goal(conn, "2026-11", 2_000_000, "EUR", now=NOW)
    rows = forecast.forecast(conn, today=NOW.date(), by="month", months=2)
    got = {
        (r["period"], r["currency"]): (
            r["open_deals"], r["open_minor"], r["weighted_minor"], r["won_minor"],
            r["goal_minor"], r["goal_pct"], r["projected_pct"],
        )
        for r in rows
    }  # fmt: skip
    # 101*50 + 101*50 + 1200050*33 = 39,611,750 -> /100 = 396,117.5 -> 396,118
    assert got[("2026-11", "EUR")] == (3, 1_200_252, 396_118, 500_000, 2_000_000, 25, 44)
    assert got[("2026-12", "USD")] == (1, 50_000, 37_500, 0, None, None, None)
    assert got[("2026-12", "JPY")] == (1, 300_000, 75_000, 0, None, None, None)
    assert got[("overdue", "EUR")] == (1, 10_000, 1_000, 0, None, None, None)
    assert got[("undated", "USD")] == (1, 20_000, 2_000, 0, None, None, None)
    assert got[("open", "EUR")] == (4, 1_210_252, 397_118, 0, None, None, None)
    assert got[("open", "USD")] == (2, 70_000, 39_500, 0, None, None, None)
    assert ("2026-12", "EUR") not in got  # nothing there: no empty row
    assert [r["period"] for r in rows][:1] == ["overdue"]


def test_forecast_by_quarter_and_goal_progress(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    ann = make_contact()
    _deal(conn, ann, value=1_000_000, stage="negotiation", close=date(2026, 12, 20))
    won = _deal(conn, ann, value=2_000_000, at=NOW - 60 * DAY)
    deals.win(conn, won, now=NOW - 50 * DAY)  # 2026-10-04: in Q4
    forecast.set_goal(conn, "2026-Q4", 5_000_000, "EUR", now=NOW)
    rows = forecast.forecast(conn, today=NOW.date(), by="quarter", months=6)
    assert [r["period"] for r in rows] == ["2026-Q4", "open"]
    q4 = rows[0]
    assert (q4["start"], q4["end"]) == ("2026-10-01", "2026-12-31")
    assert (q4["won_minor"], q4["weighted_minor"], q4["projected_minor"]) == (
        2_000_000, 750_000, 2_750_000
    )  # fmt: skip
    assert (q4["goal_pct"], q4["projected_pct"]) == (40, 55)
    [progress] = forecast.goal_progress(conn)
    assert progress["goal_pct"] == 40 and progress["weighted_minor"] == 750_000


@pytest.mark.parametrize(
    ("text", "key", "start", "end"),
    [
        ("2026-Q4", "2026-Q4", "2026-10-01", "2026-12-31"),
        ("q1 2027", "2027-Q1", "2027-01-01", "2027-03-31"),
        ("2026q2", "2026-Q2", "2026-04-01", "2026-06-30"),
        ("2026-02", "2026-02", "2026-02-01", "2026-02-28"),
        ("2026", "2026", "2026-01-01", "2026-12-31"),
    ],
)
def test_parse_period(text: str, key: str, start: str, end: str) -> None:
    period = forecast.parse_period(text)
    assert (period.key, period.start.isoformat(), period.end.isoformat()) == (key, start, end)


@pytest.mark.parametrize("text", ["2026-Q5", "2026-13", "next quarter", "26"])
def test_parse_period_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        forecast.parse_period(text)


def test_stats(conn: sqlite3.Connection, make_contact: ContactFactory) -> None:
    ann = make_contact()
    start = NOW - 20 * DAY
    for value, reason in [(100_000, None), (300_000, None), (50_000, "price"), (60_000, "Price"),
                          (70_000, "timing")]:  # fmt: skip
        deal_id = _deal(conn, ann, value=value, at=start)
        deals.move(conn, deal_id, "proposal", now=start + 2 * DAY)
        if reason:
            deals.lose(conn, deal_id, reason, now=start + 6 * DAY)
        else:
            deals.win(conn, deal_id, now=start + 10 * DAY)
    _deal(conn, ann, value=1, currency="USD", at=start)  # still open: not in the rates
    result = forecast.stats(conn, since=None, now=NOW)
    assert (result.closed, result.won, result.lost, result.win_rate_pct) == (
        5, 2, 3, 40.0
    )  # fmt: skip
    assert result.avg_days_to_close == 10.0
    # the JSON of crm pipeline stats
    assert result.to_dict()["average_won"] == [
        {"currency": "EUR", "deals": 2, "total_minor": 400_000, "average_minor": 200_000}
    ]
    assert result.to_dict()["stages"] == [
        {"stage": "lead", "stays": 5, "avg_days": 2.0},
        {"stage": "proposal", "stays": 5, "avg_days": 5.6},
    ]
    assert result.lost_reasons == [
        forecast.LostReason("price", 2, 66.7),
        forecast.LostReason("timing", 1, 33.3),
    ]
    later = forecast.stats(conn, since=NOW - DAY, now=NOW)
    assert later.closed == 0 and later.win_rate_pct is None


def test_board_limits_and_totals(conn: sqlite3.Connection, make_contact: ContactFactory) -> None:
    ann = make_contact()
    for index in range(12):
        _deal(conn, ann, value=1_000 + index, stage="qualified")
    _deal(conn, ann, value=500, currency="USD", stage="qualified")
    data = pipeline.board(conn, now=NOW, per_stage=5)
    qualified = next(c for c in data.stages if c.stage == "qualified")
    assert (qualified.open_deals, len(qualified.deals), qualified.more) == (13, 5, 8)
    assert qualified.totals == [
        pipeline.Total("EUR", deals=12, total_minor=12_066, weighted_minor=3_017),
        pipeline.Total("USD", deals=1, total_minor=500, weighted_minor=125),
    ]


def test_edit_and_trash(conn: sqlite3.Connection, make_contact: ContactFactory) -> None:
    ann = make_contact()
    deal_id = _deal(conn, ann, value=1_000)
    deals.edit(
        conn,
        deal_id,
        DealChanges(title="Bigger", value_minor=5_000, probability=60),
        now=NOW,
    )
    row = pipeline.deal_row_by_id(conn, deal_id, now=NOW)
    assert (row.title, row.value_minor, row.probability) == ("Bigger", 5_000, 60)
    with pytest.raises(ValidationError):  # cents to yen without a new value
        deals.edit(conn, deal_id, DealChanges(currency="JPY"), now=NOW)
    deals.trash(conn, deal_id, now=NOW)
    assert list(pipeline.list_deals(conn, pipeline.DealFilters(), now=NOW)) == []
    assert deals.history_events(conn, ann) == []
    deals.restore(conn, deal_id)
    assert [r["id"] for r in pipeline.list_deals(conn, pipeline.DealFilters(), now=NOW)] == [
        deal_id
    ]
