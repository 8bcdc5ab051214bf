"""Rules: follow-ups that set themselves.

``crm rule add --on deal-won --remind "+7d" "Check the delivery went well"``: when the event
happens (:data:`crmcli.events.EVENTS`, those marked for rules; ``stage:NAME`` is a deal moving
into that stage), the rule sets a reminder for the contact, adds a tag, or sets a keep-in-touch
cadence, in the same transaction as the change itself.

* Once per event: a rule fires once per deal (deal-won, deal-lost, stage:NAME), contact
  (contact-added) or purchase (purchase); ``rule_firings`` holds that, so a replayed import or
  a deal won again after a reopen sets nothing twice.
* When: a date expression counted from the event (``+7d``; for a purchase, from its day), or
  from an anchor: ``close+11mo`` (the deal's close: the day it was won or lost, else its
  expected close), ``purchase+3w``. A reminder that would be due before the day the rule fires
  is not set: importing two years of orders does not fill the agenda with overdue follow-ups.
* Each reminder names its rule (``origin``), shown in the contact's history.
* A cadence only ever tightens: a contact kept in touch every 30 days keeps 30 when a rule
  says 90.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any, NamedTuple

from crmcli.clock import local_naive, to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, UsageError, ValidationError
from crmcli.events import EVENTS, Occurrence

#: anchors a --remind expression may start from, and the events that have them
ANCHORS = {"close": ("deal-won", "deal-lost", "deal-stage"), "purchase": ("purchase",)}
_ANCHORED = r"(?i)(close|purchase)\b\s*(.*)"  # compiled on first use (every write imports this)


class Rule(NamedTuple):
    id: int
    event: str
    stage: str | None
    remind_when: str | None
    remind_text: str | None
    tag: str | None
    cadence_days: int | None
    created_at: str
    fired: int = 0

    @property
    def on(self) -> str:
        """What the rule is on, as typed: ``deal-won``, ``stage:proposal``."""
        return f"stage:{self.stage}" if self.stage else self.event

    def actions(self) -> str:
        """``remind +7d "Check the delivery"; tag lead; cadence 90d``."""
        parts = []
        if self.remind_text:
            parts.append(f"remind {self.remind_when} {self.remind_text!r}")
        if self.tag:
            parts.append(f"tag {self.tag}")
        if self.cadence_days:
            parts.append(f"cadence {self.cadence_days}d")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a rule (docs/json.md)."""
        return {
            "id": self.id,
            "on": self.on,
            "event": self.event,
            "stage": self.stage,
            "remind_when": self.remind_when,
            "remind_text": self.remind_text,
            "tag": self.tag,
            "cadence_days": self.cadence_days,
            "actions": self.actions(),
            "fired": self.fired,
            "created_at": self.created_at,
        }


_SELECT = (
    "SELECT r.id, r.event, r.stage, r.remind_when, r.remind_text, r.tag, r.cadence_days, "
    "r.created_at, (SELECT count(*) FROM rule_firings f WHERE f.rule_id = r.id) FROM rules r"
)


def list_rules(conn: sqlite3.Connection) -> list[Rule]:
    return [Rule(*row) for row in conn.execute(f"{_SELECT} ORDER BY r.id")]


def get(conn: sqlite3.Connection, rule_id: int) -> Rule:
    row = conn.execute(f"{_SELECT} WHERE r.id = ?", (rule_id,)).fetchone()
    if row is None:
        raise NotFound(f"no rule {rule_id} (see: crm rule list)")
    return Rule(*row)


def rule_events() -> list[str]:
    """What ``--on`` accepts: the events rules may use, and ``stage:NAME``."""
    return [e.name for e in EVENTS if e.rules and e.name != "deal-stage"] + ["stage:NAME"]


def parse_on(conn: sqlite3.Connection, text: str) -> tuple[str, str | None]:
    """``--on`` -> (event, stage): ``deal-won`` -> ("deal-won", None); ``stage:proposal`` ->
    ("deal-stage", "proposal"), the stage checked to exist."""
    from crmcli import stages

    word = text.strip().lower()
    if word.startswith("stage:"):
        stage = stages.find(conn, text.strip()[6:].strip())
        return "deal-stage", stage.name
    event = EVENTS.get(word)
    if event is None or not event.rules or word == "deal-stage":
        raise UsageError(f"--on {text!r}: choose {', '.join(rule_events())}")
    return event.name, None


def _split_when(text: str) -> tuple[str | None, str]:
    """``close+11mo`` -> ("close", "+11mo"); ``+7d`` -> (None, "+7d")."""
    match = re.fullmatch(_ANCHORED, text.strip())
    if match is None:
        return None, text.strip()
    return match[1].lower(), match[2].strip() or "today"


def check_when(text: str, event: str) -> str:
    """A --remind expression, checked now (not when the rule fires): it parses, and its anchor
    is one the event has."""
    from crmcli.dates import parse_when

    anchor, rest = _split_when(text)
    if anchor is not None and event not in ANCHORS[anchor]:
        raise UsageError(
            f"--remind {text!r}: {anchor!r} is not known on {event} "
            f"({anchor} is for {', '.join(ANCHORS[anchor])})"
        )
    parse_when(rest, datetime(2026, 1, 1))
    return text.strip()


def add(
    conn: sqlite3.Connection,
    on: str,
    *,
    remind_when: str | None = None,
    remind_text: str | None = None,
    tag: str | None = None,
    cadence_days: int | None = None,
    now: datetime,
) -> Rule:
    """A new rule; at least one action (a reminder, a tag, a cadence)."""
    from crmcli import contacts, reminders

    if (remind_when is None) != (remind_text is None):
        raise UsageError('--remind takes a date and a text: --remind "+7d" "Call them"')
    if remind_when is None and tag is None and cadence_days is None:
        raise UsageError("say what the rule does: --remind WHEN TEXT, --tag TAG, --cadence DAYS")
    if cadence_days is not None and not 0 < cadence_days <= 3650:
        raise ValidationError("a keep-in-touch cadence is from 1 day to 3650 days (10 years)")
    with transaction(conn):
        event, stage = parse_on(conn, on)
        when = check_when(remind_when, event) if remind_when is not None else None
        text = reminders.validate_body(remind_text) if remind_text is not None else None
        tag = contacts.validate_tag(tag) if tag is not None else None
        rule_id = conn.execute(
            "INSERT INTO rules (event, stage, remind_when, remind_text, tag, cadence_days, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event, stage, when, text, tag, cadence_days, to_utc_text(now)),
        ).lastrowid
        return get(conn, int(rule_id or 0))


def remove(conn: sqlite3.Connection, rule_id: int) -> Rule:
    """Remove a rule; what it set (reminders, tags) stays."""
    with transaction(conn):
        found = get(conn, rule_id)
        conn.execute("DELETE FROM rules WHERE id = ?", (rule_id,))
    return found


# --- firing -----------------------------------------------------------------------------------


def on_events(conn: sqlite3.Connection, occurrences: Sequence[Occurrence]) -> None:
    """The events listener (crmcli.registry.LISTENERS): fire the rules that match, each once per
    subject. One query for the batch when no rule is on these events (the usual case)."""
    names = sorted({o.event for o in occurrences if EVENTS[o.event].rules})
    if not names:
        return
    found = [
        Rule(*row)
        for row in conn.execute(
            f"{_SELECT} WHERE r.event IN ({', '.join('?' for _ in names)}) ORDER BY r.id", names
        )
    ]
    for occurrence in occurrences:
        for rule in found:
            if rule.event == occurrence.event and _stage_matches(rule, occurrence):
                fire(conn, rule, occurrence)


def _stage_matches(rule: Rule, occurrence: Occurrence) -> bool:
    if rule.stage is None:
        return True
    return str(occurrence.details.get("to_stage", "")).lower() == rule.stage.lower()


def fire(conn: sqlite3.Connection, rule: Rule, occurrence: Occurrence) -> bool:
    """Do what ``rule`` says about ``occurrence`` unless it did already; True when it fired."""
    if occurrence.contact_id is None:
        return False
    inserted = conn.execute(
        "INSERT OR IGNORE INTO rule_firings (rule_id, subject, contact_id, fired_at) "
        "VALUES (?, ?, ?, ?)",
        (rule.id, occurrence.subject, occurrence.contact_id, to_utc_text(occurrence.at)),
    ).rowcount
    if not inserted:
        return False
    if rule.remind_when and rule.remind_text:
        _remind(conn, rule, occurrence)
    if rule.tag or rule.cadence_days:
        _tag_and_cadence(conn, rule, occurrence)
    return True


def due_of(rule: Rule, occurrence: Occurrence) -> Any:
    """When the rule's reminder is due for this occurrence (a crmcli.dates.When)."""
    from crmcli.dates import parse_when

    anchor, rest = _split_when(rule.remind_when or "")
    fired = local_naive(occurrence.at)
    day = _anchor_day(
        anchor or ("purchase" if occurrence.event == "purchase" else None), occurrence
    )
    base = fired if day is None else datetime.combine(day, time())
    return parse_when(rest, base)


def _anchor_day(anchor: str | None, occurrence: Occurrence) -> date | None:
    key = {"close": "close", "purchase": "purchased_on"}.get(anchor or "")
    value = occurrence.details.get(key) if key else None
    return date.fromisoformat(str(value)[:10]) if value else None


def _remind(conn: sqlite3.Connection, rule: Rule, occurrence: Occurrence) -> None:
    from crmcli import reminders

    due = due_of(rule, occurrence)
    if due.at.date() < local_naive(occurrence.at).date():
        return  # already past: an old purchase imported, a deal closed long ago
    reminders.add(
        conn,
        rule.remind_text or "",
        due,
        now=occurrence.at,
        contact_id=occurrence.contact_id,
        origin=f"rule {rule.id} (on {rule.on}, {occurrence.subject})",
    )


def _tag_and_cadence(conn: sqlite3.Connection, rule: Rule, occurrence: Occurrence) -> None:
    from crmcli import contacts
    from crmcli.contact_changes import ContactChanges

    assert occurrence.contact_id is not None
    current = contacts.get(conn, occurrence.contact_id, include_deleted=True)
    changes = ContactChanges()
    if rule.tag and rule.tag.lower() not in {t.lower() for t in current.tags}:
        changes.add_tags.append(rule.tag)
    if rule.cadence_days and (
        current.cadence_days is None or current.cadence_days > rule.cadence_days
    ):
        changes.cadence_days = rule.cadence_days
    if not changes.is_empty():
        contacts.update(conn, occurrence.contact_id, changes, now=occurrence.at)
