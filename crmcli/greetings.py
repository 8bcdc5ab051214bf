"""Greetings: rules (which template for which yearly date, how early, to whom), what is due
today, the send log, and delivery exactly once.

Exactly once, step by step (docs/dates-greetings.md explains it for users):

1. Each greeting has one row in ``greetings``, keyed UNIQUE by (contact, occasion, year of the
   occasion). A run *claims* the row in a write transaction (BEGIN IMMEDIATE) before sending:
   a missing row is inserted as ``claimed``; a ``failed`` one is claimed again (a retry); a
   ``sent`` one is skipped. Two runs at once serialise on the write lock, so only one claims.
2. The message is handed to the SMTP server (or written to the outbox).
3. Once the server has accepted it, the row becomes ``sent``; if it was refused, ``failed``
   with the reason, and the next run retries it.

A crash between 2 and 3 leaves a ``claimed`` row with no outcome. Such a claim is taken over by
a later run once its owner is known to be gone (same machine, process no longer running) or
after :data:`CLAIM_TIMEOUT`; the greeting is then sent again with the same Message-ID. So a
greeting is never lost; it is sent twice only if the crash falls in the instant between the
server's acceptance and the log update, and that duplicate carries the same Message-ID.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from crmcli import anniversaries, contacts, templates
from crmcli.anniversaries import Upcoming
from crmcli.clock import from_utc_text, to_utc_text
from crmcli.db import transaction
from crmcli.errors import CrmError, NotFound, UsageError, ValidationError
from crmcli.mailer import SendError
from crmcli.templates import Template

#: a claim with no outcome older than this is taken to be a crashed run's (see module docstring)
CLAIM_TIMEOUT = timedelta(minutes=30)

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


# --- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: int
    occasion: str
    template: str
    days_before: int
    tag: str | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "occasion": self.occasion,
            "template": self.template,
            "days_before": self.days_before,
            "tag": self.tag,
            "created_at": self.created_at,
        }


_RULES_SQL = (
    "SELECT r.id, r.occasion, t.name AS template, r.days_before, r.tag, r.created_at "
    "FROM greeting_rules r JOIN templates t ON t.id = r.template_id"
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
        Rule(r["id"], r["occasion"], r["template"], r["days_before"], r["tag"], r["created_at"])
        for r in conn.execute(f"{_RULES_SQL} ORDER BY r.occasion COLLATE NOCASE, r.id")
    ]


def add_rule(
    conn: sqlite3.Connection,
    occasion: str,
    template: str,
    *,
    days_before: int = 0,
    tag: str | None = None,
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
            "INSERT INTO greeting_rules (occasion, template_id, days_before, tag, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (occasion, tpl.id, days_before, tag, to_utc_text(now)),
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
    rules = list_rules(conn)
    if not rules:
        return []
    tags = _tags_by_contact(conn)
    tpl_cache: dict[str, Template] = {}
    sent = {
        (r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT contact_id, occasion, year FROM greetings WHERE status='sent'"
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
        found.append(
            Due(
                upcoming,
                rule,
                tpl_cache[rule.template],
                upcoming.occurs_on - timedelta(days=rule.days_before),
            )
        )
    return found


def values_for(conn: sqlite3.Connection, item: Due, *, sender_name: str = "") -> dict[str, str]:
    """What each placeholder becomes for this greeting (see templates.PLACEHOLDERS)."""
    contact = contacts.get(conn, item.upcoming.contact_id)
    on = item.upcoming.occurs_on
    years = item.upcoming.years
    return {
        "first_name": contact.text.get("first_name") or contact.name,
        "last_name": contact.text.get("last_name") or "",
        "name": contact.name,
        "company": contact.text.get("company") or "",
        "title": contact.text.get("title") or "",
        "city": contact.text.get("city") or "",
        "email": item.upcoming.email or "",
        "occasion": item.upcoming.label,
        "date": on.isoformat(),
        "day": f"{on.day} {_MONTHS[on.month - 1]}",
        "weekday": _WEEKDAYS[on.weekday()],
        "years": str(years) if years else "",
        "nth": anniversaries.ordinal(years) if years else "",
        "sender": sender_name,
    }


# --- the send log -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SentGreeting:
    """A greeting that went out: what the notes/history of a contact records."""

    log_id: int
    contact_id: int
    occasion: str
    year: int
    subject: str
    to_email: str
    sent_at: datetime
    method: str


#: functions ``f(conn, sent)`` run after each greeting is marked sent, in their own transaction
#: (the notes capability adds one that records the greeting on the contact's history). A hook
#: that fails is reported; it never makes a greeting go out twice.
def record_as_note(conn: sqlite3.Connection, sent: SentGreeting) -> None:
    """A greeting that went out is part of the customer's history: a note of kind "greeting"."""
    from crmcli import notes

    notes.add(
        conn,
        sent.contact_id,
        f"{sent.occasion} greeting sent to {sent.to_email} ({sent.method}): {sent.subject}",
        now=sent.sent_at,
        kind="greeting",
        at=sent.sent_at,
    )


SENT_HOOKS: list[Callable[[sqlite3.Connection, SentGreeting], None]] = [record_as_note]


def _sent_from_row(row: sqlite3.Row) -> SentGreeting:
    return SentGreeting(
        log_id=row["id"],
        contact_id=row["contact_id"],
        occasion=row["occasion"],
        year=row["year"],
        subject=row["subject"] or "",
        to_email=row["to_email"] or "",
        sent_at=from_utc_text(row["sent_at"]),
        method=row["method"],
    )


def sent_greetings(
    conn: sqlite3.Connection, *, contact_id: int | None = None, since: datetime | None = None
) -> list[SentGreeting]:
    """Greetings that went out (oldest first), for one contact or all, optionally since a time."""
    sql = "SELECT * FROM greetings WHERE status = 'sent'"
    params: list[Any] = []
    if contact_id is not None:
        sql += " AND contact_id = ?"
        params.append(contact_id)
    if since is not None:
        sql += " AND sent_at >= ?"
        params.append(to_utc_text(since))
    return [_sent_from_row(r) for r in conn.execute(sql + " ORDER BY sent_at, id", params)]


LOG_STATUSES = ("sent", "failed", "claimed")


def log(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    contact_id: int | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """The send log, newest first (``crm greet log``)."""
    sql = "SELECT g.*, c.name FROM greetings g JOIN contacts c ON c.id = g.contact_id WHERE 1 = 1"
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
    for row in conn.execute(sql, params):
        yield {
            "id": row["id"],
            "contact_id": row["contact_id"],
            "name": row["name"],
            "occasion": row["occasion"],
            "year": row["year"],
            "occurs_on": row["occurs_on"],
            "status": row["status"],
            "method": row["method"],
            "to_email": row["to_email"],
            "subject": row["subject"],
            "attempts": row["attempts"],
            "claimed_at": row["claimed_at"],
            "sent_at": row["sent_at"],
            "error": row["error"],
            "message_id": row["message_id"],
        }


# --- delivery ---------------------------------------------------------------------------------


class Transport(Protocol):
    """Where messages go: SMTP (crmcli.mailer.SmtpMailer) or an outbox folder."""

    method: str

    def deliver(self, msg: Any, stem: str) -> None:
        """Return only once the message is safely handed over; raise SendError otherwise."""

    def close(self) -> None: ...


class SmtpTransport:
    method = "smtp"

    def __init__(self, mailer: Any) -> None:
        self.mailer = mailer

    def deliver(self, msg: Any, stem: str) -> None:
        self.mailer.send(msg)

    def close(self) -> None:
        self.mailer.close()


class OutboxTransport:
    """Standard ``.eml`` files, one per greeting; the name is fixed by the greeting (its log
    id), so writing one again (after an interrupted run) replaces that greeting's file instead
    of adding a second. Each file is first written to a new temporary name, created exclusively
    (never through a link planted in the folder), then renamed into place."""

    method = "outbox"

    def __init__(self, folder: Path) -> None:
        # A typo in the path must not quietly create a folder nobody reads.
        if not folder.is_dir():
            raise UsageError(f"--outbox {folder}: no such folder; create it first (mkdir -p)")
        self.folder = folder

    def deliver(self, msg: Any, stem: str) -> None:
        import tempfile

        target = self.folder / f"{stem}.eml"
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise SendError(f"{target} exists and is not a message file; remove it and retry")
        temp: Path | None = None
        try:
            # mkstemp: a new random name, O_EXCL and O_NOFOLLOW, mode 0600 (messages carry
            # names, addresses and dates: readable by their owner only)
            fd, name = tempfile.mkstemp(dir=self.folder, prefix=f".{stem}.", suffix=".tmp")
            temp = Path(name)
            with os.fdopen(fd, "wb") as out:
                out.write(msg.as_bytes())
            os.replace(temp, target)
        except OSError as exc:
            raise SendError(f"cannot write {target}: {exc.strerror}") from None
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)

    def close(self) -> None:
        pass


@dataclass
class Outcome:
    """What happened to one due greeting in a run (``crm greet --due --format json``)."""

    item: Due
    status: str  # sent | failed | no-email | skipped | busy | would-send
    to_email: str | None = None
    subject: str = ""
    body: str = ""
    message_id: str = ""
    error: str | None = None
    log_id: int | None = None
    retried: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = self.item.upcoming
        return {
            "log_id": self.log_id,
            "status": self.status,
            "contact_id": d.contact_id,
            "name": d.name,
            "occasion": self.item.occasion,
            "year": self.item.year,
            "occurs_on": d.occurs_on.isoformat(),
            "rule_id": self.item.rule.id,
            "template": self.item.template.name,
            "to_email": self.to_email,
            "subject": self.subject,
            "body": self.body,
            "message_id": self.message_id,
            "error": self.error,
            "retried": self.retried,
        }


def owner_id() -> str:
    """Who holds a claim: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_gone(claimed_by: str | None) -> bool:
    """True when the claim's process is known to have ended (or is this very process)."""
    if not claimed_by:
        return True
    host, _, pid_text = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine: only the timeout can tell
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # an earlier attempt in this process ended without an outcome
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def _stem(item: Due, log_id: int | None) -> str:
    """The outbox file name of one greeting: unique by its send-log id (two labels may slug
    to the same words), the same for every attempt at it."""
    slug = re.sub(r"[^a-z0-9]+", "-", item.occasion).strip("-")[:40] or "date"
    return (
        f"{item.upcoming.occurs_on.isoformat()}-contact{item.upcoming.contact_id}-{slug}"
        f"-{log_id or 0}"
    )


def _claim(conn: sqlite3.Connection, item: Due, outcome: Outcome, *, now: datetime, me: str) -> str:
    """Claim the greeting's log row; returns "claimed", "sent" (already done) or "busy"."""
    stamp = to_utc_text(now)
    with transaction(conn):
        row = conn.execute(
            "SELECT * FROM greetings WHERE contact_id = ? AND occasion = ? AND year = ?",
            (item.upcoming.contact_id, item.occasion, item.year),
        ).fetchone()
        if row is None:
            cursor = conn.execute(
                "INSERT INTO greetings (contact_id, occasion, year, occurs_on, rule_id, template,"
                " to_email, subject, message_id, status, attempts, claimed_at, claimed_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'claimed', 1, ?, ?)",
                (
                    item.upcoming.contact_id,
                    item.occasion,
                    item.year,
                    item.upcoming.occurs_on.isoformat(),
                    item.rule.id,
                    item.template.name,
                    outcome.to_email,
                    outcome.subject,
                    outcome.message_id,
                    stamp,
                    me,
                ),
            )
            outcome.log_id = int(cursor.lastrowid or 0)
            return "claimed"
        outcome.log_id = row["id"]
        if row["status"] == "sent":
            return "sent"
        if row["status"] == "claimed":
            age = now.astimezone() - from_utc_text(row["claimed_at"])
            if not (_owner_gone(row["claimed_by"]) or age >= CLAIM_TIMEOUT):
                return "busy"
            outcome.warnings.append(
                "an earlier run was interrupted while sending this greeting; sending it again "
                f"with the same Message-ID {row['message_id']}"
            )
        outcome.retried = True
        conn.execute(
            "UPDATE greetings SET status = 'claimed', attempts = attempts + 1, claimed_at = ?,"
            " claimed_by = ?, to_email = ?, subject = ?, rule_id = ?, template = ? WHERE id = ?",
            (
                stamp,
                me,
                outcome.to_email,
                outcome.subject,
                item.rule.id,
                item.template.name,
                row["id"],
            ),
        )
        # Keep the Message-ID of the first attempt: a resend is then recognisably the same mail.
        outcome.message_id = row["message_id"]
        return "claimed"


def _finish(
    conn: sqlite3.Connection,
    outcome: Outcome,
    *,
    status: str,
    method: str | None,
    now: datetime,
    me: str,
) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE greetings SET status = ?, method = ?, sent_at = ?, error = ?, "
            "claimed_by = NULL WHERE id = ? AND claimed_by = ?",
            (
                status,
                method,
                to_utc_text(now) if status == "sent" else None,
                outcome.error,
                outcome.log_id,
                me,
            ),
        )


def prepare(conn: sqlite3.Connection, item: Due, *, sender: str, sender_domain: str) -> Outcome:
    """Render one greeting (nothing written)."""
    from email.utils import parseaddr

    from crmcli.mailer import message_id

    values = values_for(conn, item, sender_name=parseaddr(sender)[0] or parseaddr(sender)[1])
    return Outcome(
        item=item,
        status="would-send" if item.upcoming.email else "no-email",
        to_email=item.upcoming.email,
        subject=templates.render(item.template.subject, values),
        body=templates.render(item.template.body, values),
        message_id=message_id(item.upcoming.contact_uid, item.occasion, item.year, sender_domain),
    )


def deliver_due(
    conn: sqlite3.Connection,
    items: list[Due],
    *,
    transport: Transport,
    sender: str,
    now: Callable[[], datetime],
    report: Callable[[Outcome], None] | None = None,
    deadline: float | None = None,
) -> list[Outcome]:
    """Claim, send and log each due greeting; one failure does not stop the batch.

    A greeting that cannot be rendered, built or sent (a contact's data that makes no valid
    message, a refused address, a silent server) is marked failed for that contact alone, with
    the reason, and retried on the next run; the others go out. ``now`` is a clock function (a
    batch may take a while; each log entry gets its own time). ``report`` is called with each
    outcome as soon as it is known. ``deadline`` (a ``time.monotonic()`` value): greetings
    still waiting when it passes are marked failed, not attempted.
    """
    from email.utils import parseaddr

    domain = parseaddr(sender)[1].rpartition("@")[2]
    me = owner_id()
    outcomes: list[Outcome] = []
    try:
        for item in items:
            outcome = _deliver_one(
                conn, item, transport=transport, sender=sender, domain=domain, now=now, me=me,
                late=deadline is not None and time.monotonic() >= deadline,
            )  # fmt: skip
            outcomes.append(outcome)
            if report is not None:
                report(outcome)
    finally:
        transport.close()
    return outcomes


def _unrendered(conn: sqlite3.Connection, item: Due, sender: str, domain: str) -> Outcome:
    """The outcome of one greeting, rendered; a failure to render is the outcome's error."""
    from crmcli.mailer import message_id

    try:
        return prepare(conn, item, sender=sender, sender_domain=domain)
    except Exception as exc:  # one contact's data must not stop the batch
        return Outcome(
            item=item,
            status="failed",
            to_email=item.upcoming.email,
            message_id=message_id(item.upcoming.contact_uid, item.occasion, item.year, domain),
            error=f"cannot render the template: {exc}",
        )


def _deliver_one(
    conn: sqlite3.Connection,
    item: Due,
    *,
    transport: Transport,
    sender: str,
    domain: str,
    now: Callable[[], datetime],
    me: str,
    late: bool,
) -> Outcome:
    from crmcli.mailer import build_message

    outcome = _unrendered(conn, item, sender, domain)
    state = _claim(conn, item, outcome, now=now(), me=me)
    if state in ("sent", "busy"):
        outcome.status = "skipped" if state == "sent" else "busy"
        outcome.error = None
        return outcome
    if outcome.error is None and late:
        outcome.error = "not attempted: the run's deadline (smtp.deadline) passed; retried next run"
    if outcome.error is None and not outcome.to_email:
        outcome.status = "no-email"
        outcome.error = "the contact has no email address"
        _finish(conn, outcome, status="failed", method=None, now=now(), me=me)
        return outcome
    msg: Any = None
    if outcome.error is None:
        try:
            msg = build_message(
                sender=sender,
                to_name=item.upcoming.name,
                to_address=outcome.to_email or "",
                subject=outcome.subject,
                body=outcome.body,
                msg_id=outcome.message_id,
                date=now(),
            )
            msg.as_bytes()  # a header the policy cannot write fails here, not half-sent
        except SendError as exc:
            outcome.error = exc.message
        except Exception as exc:  # one contact's data must not stop the batch
            outcome.error = f"cannot build the message: {exc}"
    if outcome.error is None:
        try:
            transport.deliver(msg, _stem(item, outcome.log_id))
        except SendError as exc:
            outcome.error = exc.message
    if outcome.error is not None:
        outcome.status = "failed"
        _finish(conn, outcome, status="failed", method=transport.method, now=now(), me=me)
        return outcome
    outcome.status = "sent"
    _finish(conn, outcome, status="sent", method=transport.method, now=now(), me=me)
    _run_hooks(conn, outcome)
    return outcome


def _run_hooks(conn: sqlite3.Connection, outcome: Outcome) -> None:
    if not SENT_HOOKS or outcome.log_id is None:
        return
    row = conn.execute("SELECT * FROM greetings WHERE id = ?", (outcome.log_id,)).fetchone()
    sent = _sent_from_row(row)
    for hook in SENT_HOOKS:
        try:
            with transaction(conn):
                hook(conn, sent)
        except (CrmError, sqlite3.Error) as exc:
            outcome.warnings.append(f"sent, but not recorded on the contact's history: {exc}")
