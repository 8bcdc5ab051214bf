"""Yearly dates: birthdays, anniversaries and labelled dates ("customer since"), and when they
come round next. Owns the SQL of ``contact_dates`` beyond the two dates ``crm contact`` sets.

A date is stored as month, day and an optional year; the year is never invented. "Today" is a
parameter everywhere; the Feb 29 policy (``feb28`` or ``mar1``) too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, NamedTuple

from crmcli.dates import YearlyDate, check_birthday, format_date, next_occurrence
from crmcli.db import transaction
from crmcli.errors import NotFound, ValidationError

#: labels that are their own kind; any other label is kind ``other``
NAMED_KINDS = ("birthday", "anniversary")
#: default agenda lead times in days, by kind (``[dates] <kind>_lead_days`` overrides)
DEFAULT_LEAD_DAYS = {"birthday": 7, "anniversary": 14, "other": 7}

_MAX_LABEL = 60


def kind_of(label: str) -> str:
    """``birthday``/``anniversary`` (any case) are their own kind; everything else ``other``."""
    lowered = label.strip().lower()
    return lowered if lowered in NAMED_KINDS else "other"


def clean_label(label: str) -> str:
    """A label as stored: trimmed; the two named kinds in lower case."""
    text = " ".join(label.split())
    if not text or len(text) > _MAX_LABEL or any(ord(c) < 32 for c in label if c not in "\t"):
        raise ValidationError(
            f"date label {label!r} is not valid (1-{_MAX_LABEL} characters, e.g. 'customer since')"
        )
    return text.lower() if text.lower() in NAMED_KINDS else text


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe(kind: str, label: str, years: int | None) -> str:
    """What the occasion is: "turns 40", "5th anniversary", "customer since: 3 years"."""
    if years is None:
        return label
    if kind == "birthday":
        return f"turns {years}"
    if kind == "anniversary":
        return f"{ordinal(years)} anniversary"
    return f"{label}: {years} year{'s' if years != 1 else ''}"


class Upcoming(NamedTuple):
    """One occurrence of a yearly date."""

    contact_id: int
    contact_uid: str
    name: str
    first_name: str | None
    email: str | None
    label: str
    kind: str
    yearly: YearlyDate
    occurs_on: date
    days_until: int
    lead_days: int | None

    @property
    def years(self) -> int | None:
        """Age or number of years at this occurrence; None when the year is unknown."""
        if self.yearly.year is None:
            return None
        years = self.occurs_on.year - self.yearly.year
        return years if years > 0 else None

    @property
    def what(self) -> str:
        return describe(self.kind, self.label, self.years)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``crm dates`` (docs/json.md)."""
        return dict(zip(KEYS, self.row(), strict=True))

    def row(self) -> tuple[Any, ...]:
        """The values of :data:`KEYS` in order (TSV writes them as they are)."""
        years = self.years
        return (
            self.occurs_on.isoformat(),
            format_date(self.occurs_on)[:3],
            self.days_until,
            self.contact_id,
            self.name,
            self.email,
            self.label,
            self.kind,
            self.yearly.iso(),
            years,
            describe(self.kind, self.label, years),
        )


#: the keys of an occurrence in JSON, and the columns of TSV and CSV
KEYS = (
    "date",
    "weekday",
    "days_until",
    "contact_id",
    "name",
    "email",
    "label",
    "kind",
    "original",
    "years",
    "what",
)


#: each date's contact's first email (the greetings write to it)
_FIRST_EMAIL = (
    "(SELECT email FROM contact_emails WHERE contact_id = c.id ORDER BY position, id LIMIT 1)"
)
_DATES_SQL = """
SELECT d.contact_id, d.label, d.kind, d.year, d.month, d.day, d.lead_days,
       c.uid, c.name, c.first_name, {email} AS email
FROM contact_dates d JOIN contacts c ON c.id = d.contact_id
WHERE c.deleted_at IS NULL
"""


def _rows(
    conn: sqlite3.Connection,
    *,
    kind: str | None = None,
    tags: Sequence[str] = (),
    contact_id: int | None = None,
    near: tuple[date, int] | None = None,
    leads: tuple[date, Mapping[str, int]] | None = None,
    with_email: bool = True,
) -> Iterable[tuple[Any, ...]]:
    """The dates asked for. ``near`` (a day and a number of days) keeps those whose month and
    day come round in that window, read from the (month, day) index instead of a scan;
    ``leads`` (a day and the lead time of each kind) those within their kind's lead time or
    with a lead time of their own (:func:`_leads_sql`). Without ``with_email`` the email is
    None (a lookup per date saved)."""
    sql = _DATES_SQL.format(email=_FIRST_EMAIL if with_email else "NULL")
    params: list[Any] = []
    if near is not None:
        window, window_params = _window_sql(*near)
        sql += f" AND {window}"
        params.extend(window_params)
    if leads is not None:
        window, window_params = _leads_sql(*leads)
        sql += f" AND {window}"
        params.extend(window_params)
    if kind:
        if kind.lower() in (*NAMED_KINDS, "other"):
            sql += " AND d.kind = ?"
            params.append(kind.lower())
        else:
            sql += " AND d.label = ? COLLATE NOCASE"
            params.append(kind.strip())
    for tag in tags:
        sql += (
            " AND c.id IN (SELECT ct.contact_id FROM contact_tags ct JOIN tags t "
            "ON t.id = ct.tag_id WHERE t.name = ?)"
        )
        params.append(tag)
    if contact_id is not None:
        sql += " AND c.id = ?"
        params.append(contact_id)
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, params)


def _day_ranges(today: date, days: int) -> list[tuple[int, int, int, int]]:
    """(month, day) ranges, both ends included, from ``today`` to ``today + days`` (fewer than
    365): one, or two when the window crosses New Year."""
    end = today + timedelta(days=days)
    first, last = (today.month, today.day), (end.month, end.day)
    if first <= last:
        return [(*first, *last)]
    return [(*first, 12, 31), (1, 1, *last)]


_IN_RANGE = "(d.month, d.day) >= (?, ?) AND (d.month, d.day) <= (?, ?)"
#: in other years Feb 29 falls on Feb 28 or Mar 1, as configured: always read
_FEB29 = "(d.month = 2 AND d.day = 29)"


def _window_sql(today: date, days: int) -> tuple[str, list[int]]:
    """A condition over ``contact_dates d``: the month and day fall from ``today`` to ``today +
    days``, as one or two ranges of the contact_dates_month_day index (two when the window
    crosses New Year), and Feb 29. A superset, then: the exact next occurrence is worked out
    for each row read."""
    if days >= 365:
        return "1", []
    ranges = _day_ranges(today, days)
    terms = [f"({_IN_RANGE})" for _ in ranges]
    return f"({' OR '.join([*terms, _FEB29])})", [n for bounds in ranges for n in bounds]


def _leads_sql(today: date, leads: Mapping[str, int]) -> tuple[str, list[Any]]:
    """A condition over ``contact_dates d``: the date falls within the lead time of its kind
    (``leads``: kind -> days), is Feb 29, or has a lead time of its own. Kinds of one lead
    time share their ranges, and each term is one index range, so that SQLite reads them as
    ranges of the (month, day) index and the small lead index (a MULTI-INDEX OR): a birthday
    is read a week ahead, not as far ahead as the longest lead. A superset, as above."""
    by_days: dict[int, list[str]] = {}
    for kind, days in sorted(leads.items()):
        by_days.setdefault(days, []).append(kind)
    terms: list[str] = []
    params: list[Any] = []
    for days, kinds in sorted(by_days.items()):
        marks = ", ".join("?" * len(kinds))
        if days >= 365:
            terms.append(f"d.kind IN ({marks})")
            params.extend(kinds)
            continue
        for bounds in _day_ranges(today, days):
            terms.append(f"(d.kind IN ({marks}) AND {_IN_RANGE})")
            params.extend([*kinds, *bounds])
    # ">= 0" rather than "IS NOT NULL": SQLite uses the partial index inside an OR then
    terms += [_FEB29, "d.lead_days >= 0"]
    return f"({' OR '.join(terms)})", params


def _upcoming(row: Sequence[Any], today: date, feb29: str) -> Upcoming:
    """An occurrence from a row of :data:`_DATES_SQL` (a plain tuple: thousands are read)."""
    contact_id, label, kind, year, month, day, lead_days, uid, name, first_name, email = row
    start = today
    if year is not None:
        # A date still to come (a wedding planned for 2028) first occurs on that very day:
        # no listing, agenda line or greeting a year before it happens.
        start = max(today, date(year, month, day))
    occurs = next_occurrence(month, day, start, feb29=feb29)
    return Upcoming(
        contact_id,
        uid,
        name,
        first_name,
        email,
        label,
        kind,
        YearlyDate(month, day, year),
        occurs,
        (occurs - today).days,
        lead_days,
    )


def _sorted(items: Iterable[Upcoming]) -> list[Upcoming]:
    return sorted(items, key=lambda u: (u.occurs_on, u.name.lower(), u.label.lower()))


def upcoming(
    conn: sqlite3.Connection,
    today: date,
    *,
    days: int = 30,
    kind: str | None = None,
    tags: Sequence[str] = (),
    feb29: str = "feb28",
) -> list[Upcoming]:
    """Occurrences from ``today`` to ``today + days`` (inclusive), soonest first.

    ``kind`` is ``birthday``, ``anniversary``, ``other`` or a label ("customer since").
    """
    if days < 0:
        raise ValidationError(f"--days {days} must be 0 or more")
    rows = _rows(conn, kind=kind, tags=tags, near=(today, days))
    return _sorted(
        u for u in (_upcoming(row, today, feb29) for row in rows) if u.days_until <= days
    )


def every_date(
    conn: sqlite3.Connection,
    today: date,
    *,
    kind: str | None = None,
    tags: Sequence[str] = (),
    feb29: str = "feb28",
) -> list[Upcoming]:
    """Every yearly date once, at its next occurrence however far off, soonest first."""
    return _sorted(_upcoming(row, today, feb29) for row in _rows(conn, kind=kind, tags=tags))


def upcoming_for_agenda(
    conn: sqlite3.Connection,
    today: date,
    *,
    lead_days: Mapping[str, int] | None = None,
    feb29: str = "feb28",
) -> list[Upcoming]:
    """Dates within their lead time: what ``crm agenda`` shows, soonest first.

    A date's own ``lead_days`` (``crm dates add ... --lead 3``) wins; otherwise the lead time of
    its kind from ``lead_days`` (kind -> days; missing kinds use :data:`DEFAULT_LEAD_DAYS`).
    The email is not read (None): the agenda looks up the details of the items it shows, and
    a million-contact book has 20,000 dates in a fortnight (a third of this query's time).
    """
    leads = {**DEFAULT_LEAD_DAYS, **(lead_days or {})}
    rows = _rows(conn, leads=(today, leads), with_email=False)
    found = (_upcoming(row, today, feb29) for row in rows)
    return _sorted(
        u
        for u in found
        if u.days_until <= (u.lead_days if u.lead_days is not None else leads[u.kind])
    )


def dates_of(conn: sqlite3.Connection, contact_id: int) -> list[dict[str, Any]]:
    """Every yearly date of one contact: ``{label, kind, date, lead_days}``, by label."""
    return [
        {
            "label": row["label"],
            "kind": row["kind"],
            "date": YearlyDate(row["month"], row["day"], row["year"]).iso(),
            "lead_days": row["lead_days"],
        }
        for row in conn.execute(
            "SELECT label, kind, year, month, day, lead_days FROM contact_dates "
            "WHERE contact_id = ? ORDER BY label COLLATE NOCASE",
            (contact_id,),
        )
    ]


def set_date(
    conn: sqlite3.Connection,
    contact_id: int,
    label: str,
    yearly: YearlyDate,
    *,
    today: date,
    lead_days: int | None = None,
) -> bool:
    """Add or replace the date called ``label``; returns True when it was new.

    A birthday after ``today`` is refused; other dates may lie ahead (a planned wedding).
    """
    label = clean_label(label)
    if kind_of(label) == "birthday":
        check_birthday(yearly, today)
    if lead_days is not None and not 0 <= lead_days <= 365:
        raise ValidationError(f"lead time {lead_days} must be between 0 and 365 days")
    with transaction(conn):
        live = conn.execute(
            "SELECT 1 FROM contacts WHERE id = ? AND deleted_at IS NULL", (contact_id,)
        ).fetchone()
        if live is None:
            raise NotFound(f"no contact with id {contact_id}")
        existing = conn.execute(
            "SELECT id, lead_days FROM contact_dates WHERE contact_id = ? AND label = ? "
            "COLLATE NOCASE",
            (contact_id, label),
        ).fetchone()
        if existing:
            conn.execute(
                "UPDATE contact_dates SET label = ?, kind = ?, year = ?, month = ?, day = ?, "
                "lead_days = ? WHERE id = ?",
                (
                    label,
                    kind_of(label),
                    yearly.year,
                    yearly.month,
                    yearly.day,
                    lead_days if lead_days is not None else existing["lead_days"],
                    existing["id"],
                ),
            )
        else:
            conn.execute(
                "INSERT INTO contact_dates (contact_id, kind, label, year, month, day, lead_days)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    contact_id,
                    kind_of(label),
                    label,
                    yearly.year,
                    yearly.month,
                    yearly.day,
                    lead_days,
                ),
            )
    return existing is None


def find_date(conn: sqlite3.Connection, contact_id: int, label: str) -> tuple[int, str]:
    """The date called ``label`` (any case): (its row id, the label as stored); NotFound, naming
    the labels the contact has, when there is none."""
    row = conn.execute(
        "SELECT id, label FROM contact_dates WHERE contact_id = ? AND label = ? COLLATE NOCASE",
        (contact_id, label.strip()),
    ).fetchone()
    if row is None:
        known = [d["label"] for d in dates_of(conn, contact_id)]
        raise NotFound(
            f"the contact has no date {label.strip()!r}"
            + (f" (it has: {', '.join(known)})" if known else "")
        )
    return int(row["id"]), str(row["label"])


def remove_date(conn: sqlite3.Connection, contact_id: int, label: str) -> str:
    """Remove the date called ``label`` (any case); returns the label as it was stored."""
    with transaction(conn):
        date_id, stored = find_date(conn, contact_id, label)
        conn.execute("DELETE FROM contact_dates WHERE id = ?", (date_id,))
    return stored
