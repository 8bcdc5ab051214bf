"""Greetings: rules (which template for which yearly date, how early, to whom), what is due
today, and the greetings' part of the send log.

Each greeting goes out exactly once per contact, occasion and year of the occasion, through
the send log of :mod:`crmcli.sending` (the claim before sending, the outcome after; its
docstring has the details), and by the transports of :mod:`crmcli.transports`. Consent
(:mod:`crmcli.consent`): a contact marked do-not-contact is never greeted; one who opted out
of e-mail campaigns only by a rule made ``to_opted_out``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from crmcli import anniversaries, contacts, templates
from crmcli.anniversaries import Upcoming
from crmcli.clock import to_utc_text
from crmcli.dates import DAY_NAMES, MONTH_NAMES
from crmcli.db import transaction
from crmcli.errors import NotFound, ValidationError
from crmcli.sending import Letter
from crmcli.templates import Template
from crmcli.transports import Transport

# --- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: int
    occasion: str
    template: str
    days_before: int
    tag: str | None
    created_at: str
    #: greets contacts who opted out of e-mail campaigns too (never do-not-contact ones)
    to_opted_out: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "occasion": self.occasion,
            "template": self.template,
            "days_before": self.days_before,
            "tag": self.tag,
            "to_opted_out": self.to_opted_out,
            "created_at": self.created_at,
        }


_RULES_SQL = (
    "SELECT r.id, r.occasion, t.name AS template, r.days_before, r.tag, r.created_at, "
    "r.to_opted_out FROM greeting_rules r JOIN templates t ON t.id = r.template_id"
)


def known_occasions(conn: sqlite3.Connection) -> list[str]:
    """birthday, anniversary, and every label a contact's yearly date has."""
    labels = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT label FROM contact_dates WHERE kind = 'other' "
            "ORDER BY label COLLATE NOCASE"
        )
    ]
    return ["birthday", "anniversary", *labels]


def list_rules(conn: sqlite3.Connection) -> list[Rule]:
    return [
        Rule(
            r["id"],
            r["occasion"],
            r["template"],
            r["days_before"],
            r["tag"],
            r["created_at"],
            to_opted_out=bool(r["to_opted_out"]),
        )
        for r in conn.execute(f"{_RULES_SQL} ORDER BY r.occasion COLLATE NOCASE, r.id")
    ]


def add_rule(
    conn: sqlite3.Connection,
    occasion: str,
    template: str,
    *,
    days_before: int = 0,
    tag: str | None = None,
    to_opted_out: bool = False,
    now: datetime,
) -> Rule:
    """Send ``template`` for dates labelled ``occasion``, ``days_before`` days ahead.

    An occasion that no date has, but that is close to one that does (``birthdy``), is a typo:
    refused with a suggestion. See :func:`known_occasions`."""
    occasion = anniversaries.clean_label(occasion)
    known = known_occasions(conn)
    if occasion.lower() not in {k.lower() for k in known}:
        from difflib import get_close_matches

        close = get_close_matches(occasion.lower(), [k.lower() for k in known], n=1)
        if close:
            suggestion = next(k for k in known if k.lower() == close[0])
            raise ValidationError(
                f"unknown occasion {occasion!r}; did you mean {suggestion!r}? "
                f"(occasions: {', '.join(known)})"
            )
    if not 0 <= days_before <= 365:
        raise ValidationError(f"--days-before {days_before} must be between 0 and 365")
    tag = contacts.validate_tag(tag) if tag is not None else None
    with transaction(conn):
        tpl = templates.get(conn, template)
        tpl.check_use("greeting")
        clash = conn.execute(
            "SELECT id FROM greeting_rules WHERE occasion = ? AND tag IS ?",
            (occasion, tag),
        ).fetchone()
        if clash:
            who = f"tag {tag!r}" if tag else "everyone"
            raise ValidationError(
                f"rule {clash[0]} already greets {who} on {occasion!r}; "
                f"remove it first (crm greet rule rm {clash[0]})"
            )
        rule_id = conn.execute(
            "INSERT INTO greeting_rules (occasion, template_id, days_before, tag, to_opted_out, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (occasion, tpl.id, days_before, tag, int(to_opted_out), to_utc_text(now)),
        ).lastrowid
    return next(r for r in list_rules(conn) if r.id == rule_id)


def remove_rule(conn: sqlite3.Connection, rule_id: int) -> Rule:
    with transaction(conn):
        found = [r for r in list_rules(conn) if r.id == rule_id]
        if not found:
            raise NotFound(f"no greeting rule {rule_id} (see: crm greet rule list)")
        conn.execute("DELETE FROM greeting_rules WHERE id = ?", (rule_id,))
    return found[0]


# --- what is due ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A greeting that should go out today (``send_on <= today <= occasion``)."""

    upcoming: Upcoming
    rule: Rule
    template: Template
    send_on: date
    #: why it must not go out: "do not contact", "opted out of e-mail" (crmcli.consent)
    excluded: str | None = None

    @property
    def occasion(self) -> str:
        """The send-log key for the occasion: the date's label in lower case."""
        return self.upcoming.label.lower()

    @property
    def year(self) -> int:
        """The year of the occasion itself (a Jan 2 birthday greeted on Dec 30 counts for Jan)."""
        return self.upcoming.occurs_on.year


def _tags_by_contact(conn: sqlite3.Connection) -> dict[int, set[str]]:
    tags: dict[int, set[str]] = {}
    for row in conn.execute(
        "SELECT ct.contact_id, t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id"
    ):
        tags.setdefault(row[0], set()).add(row[1].lower())
    return tags


def _rule_for(date_: Upcoming, rules: list[Rule], tags: set[str]) -> Rule | None:
    """The most specific rule for this date: one with a matching tag beats one for everyone."""
    matching = [
        r
        for r in rules
        if r.occasion.lower() == date_.label.lower() and (r.tag is None or r.tag.lower() in tags)
    ]
    matching.sort(key=lambda r: (r.tag is None, r.id))
    return matching[0] if matching else None


def due(
    conn: sqlite3.Connection, today: date, *, feb29: str = "feb28", include_sent: bool = False
) -> list[Due]:
    """Greetings whose send day has come and whose occasion has not passed, soonest first.

    Already-sent ones are left out unless ``include_sent``. A run that is missed on a greeting's
    last possible day (the occasion itself) does not send it late.
    """
    from crmcli import consent

    rules = list_rules(conn)
    if not rules:
        return []
    tags = _tags_by_contact(conn)
    asked = consent.requests(conn)
    tpl_cache: dict[str, Template] = {}
    sent = {
        (r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT contact_id, occasion, year FROM sends WHERE kind = 'greeting' AND status = 'sent'"
        )
    }
    found: list[Due] = []
    for upcoming in anniversaries.upcoming(conn, today, days=366, feb29=feb29):
        rule = _rule_for(upcoming, rules, tags.get(upcoming.contact_id, set()))
        if rule is None or upcoming.days_until > rule.days_before:
            continue
        key = (upcoming.contact_id, upcoming.label.lower(), upcoming.occurs_on.year)
        if key in sent and not include_sent:
            continue
        if rule.template not in tpl_cache:
            tpl_cache[rule.template] = templates.get(conn, rule.template)
        request = asked.get(upcoming.contact_id)
        found.append(
            Due(
                upcoming,
                rule,
                tpl_cache[rule.template],
                upcoming.occurs_on - timedelta(days=rule.days_before),
                excluded=request.excludes(optout_counts=not rule.to_opted_out) if request else None,
            )
        )
    return found


def values_for(
    conn: sqlite3.Connection, item: Due, *, sender_name: str = "", today: date | None = None
) -> dict[str, str]:
    """What each placeholder becomes for this greeting (see templates.PLACEHOLDERS)."""
    contact = contacts.get(conn, item.upcoming.contact_id)
    on = item.upcoming.occurs_on
    years = item.upcoming.years
    return {
        **templates.contact_values(
            conn,
            contact,
            email=item.upcoming.email or "",
            sender_name=sender_name,
            today=today or item.send_on,
        ),
        "occasion": item.upcoming.label,
        "date": on.isoformat(),
        "day": f"{on.day} {MONTH_NAMES[on.month - 1]}",
        "weekday": DAY_NAMES[on.weekday()],
        "years": str(years) if years else "",
        "nth": anniversaries.ordinal(years) if years else "",
    }


# --- the send log -----------------------------------------------------------------------------


LOG_STATUSES = ("sent", "failed", "claimed")


def log(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    contact_id: int | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """The greetings' send log, newest first (``crm greet log``)."""
    sql = (
        "SELECT g.*, c.name FROM sends g JOIN contacts c ON c.id = g.contact_id "
        "WHERE g.kind = 'greeting'"
    )
    params: list[Any] = []
    if status is not None:
        if status not in LOG_STATUSES:
            raise ValidationError(f"--status {status!r}: choose {', '.join(LOG_STATUSES)}")
        sql += " AND g.status = ?"
        params.append(status)
    if contact_id is not None:
        sql += " AND g.contact_id = ?"
        params.append(contact_id)
    sql += " ORDER BY coalesce(g.sent_at, g.claimed_at) DESC, g.id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    keys = ("id", "contact_id", "name", "occasion", "year", "occurs_on", "status", "method",
            "to_email", "subject", "attempts", "claimed_at", "sent_at", "error", "message_id")  # fmt: skip
    for row in conn.execute(sql, params):
        yield {key: row[key] for key in keys}


# --- delivery ---------------------------------------------------------------------------------


def outcome_dict(letter: Letter) -> dict[str, Any]:
    """What happened to one due greeting in a run (``crm greet --due --format json``)."""
    item: Due = letter.item
    d = item.upcoming
    return {
        "log_id": letter.log_id,
        "status": letter.status,
        "contact_id": d.contact_id,
        "name": d.name,
        "occasion": item.occasion,
        "year": item.year,
        "occurs_on": d.occurs_on.isoformat(),
        "rule_id": item.rule.id,
        "template": item.template.name,
        "to_email": letter.to_email,
        "subject": letter.subject,
        "body": letter.body,
        "message_id": letter.message_id,
        "error": letter.error,
        "retried": letter.retried,
    }


def _stem(item: Due) -> str:
    """The outbox file name of one greeting (its send-log id is appended: two labels may slug
    to the same words), the same for every attempt at it."""
    slug = re.sub(r"[^a-z0-9]+", "-", item.occasion).strip("-")[:40] or "date"
    return f"{item.upcoming.occurs_on.isoformat()}-contact{item.upcoming.contact_id}-{slug}"


def prepare(conn: sqlite3.Connection, item: Due, *, sender: str, sender_domain: str) -> Letter:
    """Render one greeting (nothing written); a failure to render is the letter's error."""
    from email.utils import parseaddr

    from crmcli.mailer import message_id

    letter = Letter(
        kind="greeting",
        identity={
            "contact_id": item.upcoming.contact_id,
            "occasion": item.occasion,
            "year": item.year,
        },
        contact_id=item.upcoming.contact_id,
        to_name=item.upcoming.name,
        to_email=item.upcoming.email,
        message_id=message_id(item.upcoming.contact_uid, item.occasion, item.year, sender_domain),
        item=item,
        columns={
            "occurs_on": item.upcoming.occurs_on.isoformat(),
            "rule_id": item.rule.id,
            "template": item.template.name,
        },
        stem=_stem(item),
        note_label=f"{item.occasion} greeting",
        note_kind="greeting",
        status="would-send" if item.upcoming.email else "no-email",
    )
    if item.excluded:
        letter.status, letter.error = "excluded", item.excluded
    try:
        values = values_for(conn, item, sender_name=parseaddr(sender)[0] or parseaddr(sender)[1])
        letter.subject = templates.render(item.template.subject, values)
        letter.body = templates.render(item.template.body, values)
        if item.template.format == "markdown":
            letter.html = templates.render_html(item.template.body, values)
    except Exception as exc:  # one contact's data must not stop the batch
        letter.error = f"cannot render the template: {exc}"
        if letter.status != "excluded":
            letter.status = "failed"
    return letter


def deliver_due(
    conn: sqlite3.Connection,
    items: list[Due],
    *,
    transport: Transport,
    sender: str,
    now: Callable[[], datetime],
    report: Callable[[Letter], None] | None = None,
    deadline: float | None = None,
) -> list[Letter]:
    """Send each due greeting exactly once (crmcli.sending.deliver_all), skipping the ones
    consent excludes (they are reported, never claimed)."""
    from email.utils import parseaddr

    from crmcli import sending

    domain = parseaddr(sender)[1].rpartition("@")[2]
    letters = [prepare(conn, item, sender=sender, sender_domain=domain) for item in items]
    excluded = [letter for letter in letters if letter.status == "excluded"]
    for letter in excluded:
        if report is not None:
            report(letter)
    sent = sending.deliver_all(
        conn,
        (letter for letter in letters if letter.status != "excluded"),
        transport=transport,
        sender=sender,
        now=now,
        report=report,
        deadline=deadline,
    )
    return excluded + sent
