"""Follow-up reminders: due dates, recurrence, done, snooze. Owns the ``reminders`` table.

Storage is unambiguous: ``due_at`` is UTC text. A reminder without a time of day
(``has_time = 0``) is due at local midnight of its day and counts as overdue only from the next
day. A recurring reminder keeps its rule (RRULE text from :func:`crmcli.dates.parse_every`) and
the rule's anchor ``rule_start``; occurrences are computed in local wall-clock time, so a weekly
10:00 reminder stays at 10:00 across daylight-saving changes.

Completing a recurring reminder marks that occurrence done and creates exactly one next
occurrence (a new reminder whose ``previous_id`` is the done one; the column is UNIQUE, so a
second "next" cannot exist). Completing an already-done reminder is refused and names the next
occurrence, so running ``crm done 12`` twice never skips an occurrence silently.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from crmcli.clock import from_utc_text, local_naive, to_utc_text
from crmcli.dates import (
    When,
    describe_rule,
    format_when,
    next_occurrence_of_rule,
    rule_has_end,
)
from crmcli.db import transaction
from crmcli.errors import CrmError, NotFound, ValidationError


class Reminder(NamedTuple):
    """One reminder as stored."""

    id: int
    contact_id: int | None
    contact: str | None
    body: str
    due_at: str
    has_time: bool
    rule: str | None
    rule_start: str | None
    previous_id: int | None
    next_id: int | None
    done_at: str | None
    created_at: str
    updated_at: str
    deleted_at: str | None
    origin: str | None = None

    @property
    def due(self) -> When:
        """The due moment as naive local wall-clock time."""
        return When(local_naive(from_utc_text(self.due_at)), self.has_time)

    @property
    def due_text(self) -> str:
        """``Fri 2026-12-04 10:00`` (or without the time)."""
        return format_when(self.due)

    @property
    def every(self) -> str | None:
        return describe_rule(self.rule) if self.rule else None

    @property
    def is_open(self) -> bool:
        return self.done_at is None and self.deleted_at is None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a reminder (documented in docs/json.md)."""
        due = self.due
        return {
            "id": self.id,
            "contact_id": self.contact_id,
            "contact": self.contact,
            "body": self.body,
            "due_at": self.due_at,
            "due_date": due.at.date().isoformat(),
            "due_time": due.at.strftime("%H:%M") if self.has_time else None,
            "has_time": self.has_time,
            "every": self.every,
            "rule": self.rule,
            "status": "open" if self.done_at is None else "done",
            "done_at": self.done_at,
            "previous_id": self.previous_id,
            "next_id": self.next_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "deleted_at": self.deleted_at,
            "origin": self.origin,
        }


_SELECT = (
    "SELECT r.id, r.contact_id, c.name AS contact, r.body, r.due_at, r.has_time, r.rule, "
    "r.rule_start, r.previous_id, "
    "(SELECT x.id FROM reminders x WHERE x.previous_id = r.id) AS next_id, "
    "r.done_at, r.created_at, r.updated_at, r.deleted_at, r.origin "
    "FROM reminders r LEFT JOIN contacts c ON c.id = r.contact_id"
)


def _reminder(row: sqlite3.Row) -> Reminder:
    values = {key: row[key] for key in row.keys()}  # noqa: SIM118 - sqlite3.Row
    values["has_time"] = bool(values["has_time"])
    return Reminder(**values)


def validate_body(body: str) -> str:
    text = " ".join(body.split())
    if not text:
        raise ValidationError("the reminder text is empty; say what to do")
    return text


def check_rule(rule: str, start: datetime) -> str:
    """Raise UsageError when ``rule`` cannot be evaluated; return it unchanged."""
    next_occurrence_of_rule(rule, start, start)
    return rule


def first_occurrence(rule: str, today: date) -> When:
    """For ``--every`` without ``--due``: the rule's first day on or after ``today``."""
    start = datetime.combine(today, time())
    found = next_occurrence_of_rule(rule, start, start - timedelta(seconds=1))
    if found is None:
        raise ValidationError(f"recurrence {describe_rule(rule)!r} has no date from today on")
    return When(found, False)


def get(conn: sqlite3.Connection, reminder_id: int, *, include_deleted: bool = False) -> Reminder:
    """One reminder; NotFound when missing or (unless asked) in the trash."""
    row = conn.execute(f"{_SELECT} WHERE r.id = ?", (reminder_id,)).fetchone()
    if row is None or (row["deleted_at"] and not include_deleted):
        raise NotFound(f"no reminder with id {reminder_id} (see: crm reminders --all)")
    return _reminder(row)


def add(
    conn: sqlite3.Connection,
    body: str,
    due: When,
    *,
    now: datetime,
    contact_id: int | None = None,
    rule: str | None = None,
    origin: str | None = None,
) -> Reminder:
    """A new open reminder; ``due.at`` is naive local time; ``rule`` is RRULE text or None.
    ``origin``: what set it, when not a person ("rule 3 (on deal-won, deal 12)")."""
    from crmcli import contacts

    text = validate_body(body)
    if rule is not None:
        check_rule(rule, due.at)
    stamp = to_utc_text(now)
    due_at = to_utc_text(due.at)
    with transaction(conn):
        if contact_id is not None:
            contacts.get(conn, contact_id)
        reminder_id = conn.execute(
            "INSERT INTO reminders (contact_id, body, due_at, has_time, rule, rule_start, "
            "created_at, updated_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                contact_id,
                text,
                due_at,
                int(due.has_time),
                rule,
                due_at if rule else None,
                stamp,
                stamp,
                origin,
            ),
        ).lastrowid
        from crmcli import events

        events.emit(conn, "reminder-added", int(reminder_id or 0), contact_id=contact_id, now=now)
        return get(conn, int(reminder_id or 0))


def _require_open(reminder: Reminder, action: str) -> None:
    if reminder.done_at is None:
        return
    done_on = from_utc_text(reminder.done_at).date().isoformat()
    message = f"reminder {reminder.id} was already done on {done_on}; cannot {action} it"
    if reminder.next_id is not None:
        message += f" (its next occurrence is reminder {reminder.next_id}: crm reminders)"
    raise CrmError(message)


def complete(
    conn: sqlite3.Connection, reminder_id: int, *, now: datetime
) -> tuple[Reminder, Reminder | None]:
    """Mark a reminder done; for a recurring one, create its next occurrence.

    Returns (the done reminder, the next occurrence or None). The next occurrence is the
    rule's first one after both the done one's due time and ``now``: missed occurrences are
    not replayed one by one. An already-done reminder is refused (it names its successor).
    """
    with transaction(conn):
        reminder = get(conn, reminder_id)
        _require_open(reminder, "complete")
        stamp = to_utc_text(now)
        conn.execute(
            "UPDATE reminders SET done_at = ?, updated_at = ? WHERE id = ? AND done_at IS NULL",
            (stamp, stamp, reminder_id),
        )
        following: Reminder | None = None
        if reminder.rule and reminder.rule_start:
            anchor = local_naive(from_utc_text(reminder.rule_start))
            after = max(reminder.due.at, local_naive(now))
            found = next_occurrence_of_rule(reminder.rule, anchor, after)
            due_at = _storable(found)
            if due_at is None and not rule_has_end(reminder.rule):
                # A rule without COUNT/UNTIL that yields nothing more has run off the calendar
                # (year 9999): saying "its recurrence has ended" would be untrue, and the rule
                # text (FREQ=...) is not what the person typed.
                raise CrmError(
                    f"reminder {reminder.id} ({describe_rule(reminder.rule)}) has no next date "
                    f"after {reminder.due.at.date().isoformat()}; to finish it, stop it "
                    f"repeating first: crm reminders edit {reminder.id} --every '' "
                    f"&& crm done {reminder.id}"
                )
            if due_at is not None:
                next_id = conn.execute(
                    "INSERT INTO reminders (contact_id, body, due_at, has_time, rule, rule_start, "
                    "previous_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        reminder.contact_id,
                        reminder.body,
                        due_at,
                        int(reminder.has_time),
                        reminder.rule,
                        reminder.rule_start,
                        reminder.id,
                        stamp,
                        stamp,
                    ),
                ).lastrowid
                following = get(conn, int(next_id or 0))
        from crmcli import events

        events.emit(conn, "reminder-done", reminder_id, contact_id=reminder.contact_id, now=now)
        return get(conn, reminder_id), following


def _storable(moment: datetime | None) -> str | None:
    """``moment`` as stored UTC text; None when there is none or it is past year 9999 in UTC
    (Dec 31, 9999 late in the evening, west of Greenwich)."""
    if moment is None:
        return None
    try:
        return to_utc_text(moment)
    except (ValueError, OverflowError):
        return None


def snooze(conn: sqlite3.Connection, reminder_id: int, due: When, *, now: datetime) -> Reminder:
    """Move an open reminder to ``due``. A recurring one keeps its rule and anchor."""
    with transaction(conn):
        reminder = get(conn, reminder_id)
        _require_open(reminder, "snooze")
        if not due.has_time and reminder.has_time:
            # "snooze 12 tomorrow" keeps the reminder's time of day.
            due = When(datetime.combine(due.at.date(), reminder.due.at.time()), True)
        conn.execute(
            "UPDATE reminders SET due_at = ?, has_time = ?, updated_at = ? WHERE id = ?",
            (to_utc_text(due.at), int(due.has_time), to_utc_text(now), reminder_id),
        )
        return get(conn, reminder_id)


@dataclass
class ReminderChanges:
    """What ``crm reminders edit`` changes; None leaves a value as it is."""

    body: str | None = None
    due: When | None = None
    #: RRULE text, or "" to stop the recurrence
    rule: str | None = None
    contact_id: int | None = None
    clear_contact: bool = False

    def is_empty(self) -> bool:
        return self == ReminderChanges()


def edit(
    conn: sqlite3.Connection, reminder_id: int, changes: ReminderChanges, *, now: datetime
) -> Reminder:
    """Change an open reminder. A new due date re-anchors its recurrence there."""
    from crmcli import contacts

    if changes.is_empty():
        raise ValidationError("nothing to change: give new text, --due, --every or --contact")
    with transaction(conn):
        reminder = get(conn, reminder_id)
        _require_open(reminder, "edit")
        sets: dict[str, Any] = {}
        if changes.body is not None:
            sets["body"] = validate_body(changes.body)
        due = reminder.due
        if changes.due is not None:
            due = changes.due
            sets["due_at"] = to_utc_text(due.at)
            sets["has_time"] = int(due.has_time)
        rule = reminder.rule
        if changes.rule is not None:
            rule = changes.rule or None
        if rule is not None:
            check_rule(rule, due.at)
        if changes.rule is not None or (changes.due is not None and rule is not None):
            sets["rule"] = rule
            sets["rule_start"] = to_utc_text(due.at) if rule else None
        if changes.clear_contact:
            sets["contact_id"] = None
        elif changes.contact_id is not None:
            contacts.get(conn, changes.contact_id)
            sets["contact_id"] = changes.contact_id
        sets["updated_at"] = to_utc_text(now)
        assignments = ", ".join(f"{key} = ?" for key in sets)
        conn.execute(
            f"UPDATE reminders SET {assignments} WHERE id = ?", (*sets.values(), reminder_id)
        )
        return get(conn, reminder_id)


def trash(conn: sqlite3.Connection, reminder_id: int, *, now: datetime) -> Reminder:
    """Move a reminder to the trash (restorable). A recurring series ends with it."""
    with transaction(conn):
        reminder = get(conn, reminder_id)
        conn.execute(
            "UPDATE reminders SET deleted_at = ? WHERE id = ?", (to_utc_text(now), reminder_id)
        )
    return reminder


def restore(conn: sqlite3.Connection, reminder_id: int) -> Reminder:
    """Bring a reminder back from the trash."""
    with transaction(conn):
        reminder = get(conn, reminder_id, include_deleted=True)
        if reminder.deleted_at is None:
            raise ValidationError(f"reminder {reminder_id} is not in the trash")
        conn.execute("UPDATE reminders SET deleted_at = NULL WHERE id = ?", (reminder_id,))
        return get(conn, reminder_id)


# --- listing ----------------------------------------------------------------------------------


def day_start_utc(day: date) -> str:
    """Local midnight starting ``day``, as stored UTC text (the bound of date-only reminders)."""
    return to_utc_text(datetime.combine(day, time()))


def overdue_sql(now: datetime) -> tuple[str, list[Any]]:
    """SQL condition (over ``reminders r``) for "past due": a timed reminder whose time has
    passed, or a date-only one whose day is over."""
    return (
        "((r.has_time = 1 AND r.due_at < ?) OR (r.has_time = 0 AND r.due_at < ?))",
        [to_utc_text(now), day_start_utc(local_naive(now).date())],
    )


@dataclass
class ReminderFilters:
    """Filters of ``crm reminders``. ``days`` keeps reminders due by the end of the day ``days``
    days after today (0: today), overdue ones included; ``overdue`` keeps only past-due ones."""

    contact_id: int | None = None
    overdue: bool = False
    days: int | None = None
    include_done: bool = False
    deleted: bool = False
    limit: int | None = None


def list_reminders(
    conn: sqlite3.Connection, filters: ReminderFilters, *, now: datetime | None = None
) -> Iterator[Reminder]:
    """Reminders matching ``filters``, soonest due first; open ones only unless asked.

    ``now`` is needed for the ``overdue`` and ``days`` filters."""
    if (filters.overdue or filters.days is not None) and now is None:
        raise ValueError("list_reminders: the overdue and days filters need now")
    where = ["r.deleted_at IS NOT NULL" if filters.deleted else "r.deleted_at IS NULL"]
    where.append("(r.contact_id IS NULL OR c.deleted_at IS NULL)")
    params: list[Any] = []
    if not filters.include_done:
        where.append("r.done_at IS NULL")
    if filters.contact_id is not None:
        where.append("r.contact_id = ?")
        params.append(filters.contact_id)
    if filters.overdue and now is not None:
        condition, values = overdue_sql(now)
        where.append(condition)
        params.extend(values)
    if filters.days is not None and now is not None:
        where.append("r.due_at < ?")
        params.append(day_start_utc(local_naive(now).date() + timedelta(days=filters.days + 1)))
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY r.due_at, r.id"
    if filters.limit is not None:
        sql += " LIMIT ?"
        params.append(filters.limit)
    for row in conn.execute(sql, params):
        yield _reminder(row)


def open_for_contact(conn: sqlite3.Connection, contact_id: int) -> list[Reminder]:
    """A contact's open reminders, soonest first."""
    return list(list_reminders(conn, ReminderFilters(contact_id=contact_id)))


def agenda_rows(
    conn: sqlite3.Connection,
    *,
    now_utc: str,
    today_utc: str,
    tomorrow_utc: str,
    end_utc: str,
    limit: int | None = None,
) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """Open reminders (of live contacts, or of none) due before ``end_utc``, soonest first, as
    tuples (section, id, contact_id, body, due_at, has_time, rule, contact name, company, first
    phone, first email), and the count of each section.

    The section is ``overdue`` (a timed reminder whose time has passed, a date-only one whose
    day is over: text comparisons of UTC timestamps), ``today`` or ``upcoming``. With ``limit``
    only the first ``limit`` of each section are read, phone and email for those alone.
    Range scans of the reminders_open_due index (the counts read the index alone, m018).
    """
    section = (
        "CASE WHEN r.due_at < (CASE WHEN r.has_time THEN :now ELSE :today END) THEN 'overdue' "
        "WHEN r.due_at < :tomorrow THEN 'today' ELSE 'upcoming' END"
    )
    open_due = (
        "FROM reminders r LEFT JOIN contacts c ON c.id = r.contact_id "
        "WHERE r.done_at IS NULL AND r.deleted_at IS NULL AND r.due_at < :end "
        "AND (r.contact_id IS NULL OR c.deleted_at IS NULL)"
    )
    first = (
        "(SELECT phone FROM contact_phones WHERE contact_id = q.contact_id "
        "ORDER BY position, id LIMIT 1), "
        "(SELECT email FROM contact_emails WHERE contact_id = q.contact_id "
        "ORDER BY position, id LIMIT 1)"
    )
    columns = (
        f"{section} AS section, r.id, r.contact_id, r.body, r.due_at, r.has_time, r.rule, "
        "c.name, c.company"
    )
    params = {"now": now_utc, "today": today_utc, "tomorrow": tomorrow_utc, "end": end_utc}
    cursor = conn.cursor()
    cursor.row_factory = None
    if limit is None:
        rows = cursor.execute(
            f"SELECT q.*, {first} FROM (SELECT {columns} {open_due}) q ORDER BY q.due_at, q.id",
            params,
        ).fetchall()
        counts: dict[str, int] = {}
        for row in rows:
            counts[row[0]] = counts.get(row[0], 0) + 1
        return rows, counts
    # Counted without reading the contacts: the reminders of trashed contacts are left out
    # through the small contacts_trashed index (m010), not a contact lookup per reminder.
    counted = (
        f"SELECT {section} AS section, count(*) FROM reminders r "
        "WHERE r.done_at IS NULL AND r.deleted_at IS NULL AND r.due_at < :end "
        "AND (r.contact_id IS NULL OR r.contact_id NOT IN "
        "(SELECT id FROM contacts INDEXED BY contacts_trashed WHERE deleted_at IS NOT NULL)) "
        "GROUP BY 1"
    )
    counts = dict(cursor.execute(counted, params).fetchall())
    # Each section is a range of due times: its first `limit` are read from there alone.
    found: list[tuple[Any, ...]] = []
    for key, low, high in (
        ("overdue", None, ":now"),
        ("today", ":today", ":tomorrow"),
        ("upcoming", ":tomorrow", ":end"),
    ):
        if not counts.get(key):
            continue
        start = f"AND r.due_at >= {low} " if low else ""
        found += cursor.execute(
            f"SELECT q.*, {first} FROM (SELECT {columns} {open_due} {start}"
            f"AND r.due_at < {high} AND {section} = :key ORDER BY r.due_at, r.id LIMIT :limit) q",
            {**params, "key": key, "limit": limit},
        ).fetchall()
    # The first by UTC time; the agenda orders by local time, which differs only for two
    # reminders in the hour repeated when the clocks go back.
    found.sort(key=lambda row: (row[4], row[1]))
    return found, counts
