"""Campaigns: one personal message (a template) to each contact a query or segment finds, sent
exactly once per contact through the send log of :mod:`crmcli.sending`.

* The audience is the query evaluated when sending (a segment is a saved query), less who
  cannot be written to: no e-mail address, opted out, do not contact (:mod:`crmcli.consent`);
  consent always wins over the query.
* A campaign may go out in batches (``limit``): each run sends to whoever has no message yet,
  so a second run continues where the first stopped, and a crash costs at most the one
  message in flight (sent again with the same Message-ID).
* The template's text is copied into the campaign at its first send (``locked_at``), so every
  recipient gets the same message even if the template is edited between batches.
* Each message carries ``List-Unsubscribe`` with the recipient's token and becomes a note of
  kind ``campaign`` in the contact's history (not a "touch": a message to many is not keeping
  in touch with one).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from crmcli import contacts, templates
from crmcli.clock import to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, ValidationError
from crmcli.sending import Letter
from crmcli.templates import Template
from crmcli.transports import Transport

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
#: the reasons a contact of the query gets nothing, as the report counts them
EXCLUSIONS = ("no email", "opted out", "do not contact")


class Campaign(NamedTuple):
    id: int
    name: str
    query: str
    template: str
    template_id: int
    subject: str | None
    body: str | None
    format: str | None
    locked_at: str | None
    forgotten: int
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a campaign (docs/json.md)."""
        return {
            "id": self.id,
            "name": self.name,
            "query": self.query,
            "template": self.template,
            "locked_at": self.locked_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


_SELECT = (
    "SELECT k.id, k.name, k.query, t.name, k.template_id, k.subject, k.body, k.format, "
    "k.locked_at, k.forgotten, k.created_at, k.updated_at "
    "FROM campaigns k JOIN templates t ON t.id = k.template_id"
)


def validate_name(name: str) -> str:
    name = name.strip()
    if not re.fullmatch(_NAME, name):
        raise ValidationError(
            f"campaign name {name!r} is not valid (letters, digits, - _ . up to 64, no spaces)"
        )
    return name


def find(conn: sqlite3.Connection, name: str) -> Campaign | None:
    row = conn.execute(f"{_SELECT} WHERE k.name = ?", (name.strip(),)).fetchone()
    return Campaign(*row) if row else None


def get(conn: sqlite3.Connection, name: str) -> Campaign:
    """The campaign called ``name`` (any case); NotFound naming the others otherwise."""
    found = find(conn, name)
    if found is None:
        known = [c.name for c in list_campaigns(conn)]
        listed = f" (campaigns: {', '.join(known)})" if known else " (none yet: crm campaign add)"
        raise NotFound(f"no campaign {name.strip()!r}{listed}")
    return found


def list_campaigns(conn: sqlite3.Connection) -> list[Campaign]:
    return [Campaign(*row) for row in conn.execute(f"{_SELECT} ORDER BY k.name COLLATE NOCASE")]


def add(
    conn: sqlite3.Connection,
    name: str,
    *,
    query: str | None = None,
    segment: str | None = None,
    template: str,
    now: datetime,
) -> Campaign:
    """A new campaign for the contacts ``query`` (or ``segment``) finds, with ``template``.

    The query is checked now (it must compile), and so is the template (no greeting-only
    placeholder such as ``{occasion}``)."""
    from crmcli import query as query_language
    from crmcli import segments

    name = validate_name(name)
    if (query is None) == (segment is None):
        raise ValidationError("give the audience: --segment NAME or --query TEXT (one of them)")
    with transaction(conn):
        if segment is not None:
            text = f"segment:{segments.get(conn, segment).name}"
        else:
            text = (query or "").strip()
            if not text:
                raise ValidationError("the query is empty; every contact would get it (use 'all')")
        if text.lower() != "all":
            query_language.compile_query(conn, text, today=now.date())
        tpl = templates.get(conn, template)
        tpl.check_use("campaign")
        existing = find(conn, name)
        if existing is not None:
            raise ValidationError(f"a campaign named {existing.name!r} exists already")
        stamp = to_utc_text(now)
        conn.execute(
            "INSERT INTO campaigns (name, query, template_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, text, tpl.id, stamp, stamp),
        )
        return get(conn, name)


def remove(conn: sqlite3.Connection, name: str) -> tuple[Campaign, int]:
    """Remove a campaign and its send log; returns it and how many it had sent. The notes in
    the contacts' histories stay: they record what happened."""
    with transaction(conn):
        found = get(conn, name)
        sent = sent_count(conn, found.id)
        conn.execute("DELETE FROM campaigns WHERE id = ?", (found.id,))
    return found, sent


def sent_count(conn: sqlite3.Connection, campaign_id: int) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM sends WHERE kind = 'campaign' AND campaign_id = ? "
            "AND status = 'sent'",
            (campaign_id,),
        ).fetchone()[0]
    )


# --- the audience -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """One contact of a campaign: in its query now (``member``), or sent to earlier.

    ``status``: ``sent``; ``to-send``; ``failed`` (retried on the next send); ``claimed`` (a run
    is sending it, or crashed doing so); ``excluded`` with the ``reason`` (no email, opted out,
    do not contact)."""

    contact_id: int
    name: str
    email: str | None
    status: str
    reason: str | None
    member: bool
    log_id: int | None
    sent_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "name": self.name,
            "email": self.email,
            "status": self.status,
            "reason": self.reason,
            "in_query": self.member,
            "log_id": self.log_id,
            "sent_at": self.sent_at,
        }


def _members_sql(conn: sqlite3.Connection, campaign: Campaign, today: date) -> tuple[str, Any]:
    from crmcli import query

    if campaign.query.lower() == "all":
        return "SELECT id FROM contacts WHERE deleted_at IS NULL", ()
    return query.contact_ids_sql(conn, campaign.query, today=today)


def audience(conn: sqlite3.Connection, campaign: Campaign, *, today: date) -> list[Recipient]:
    """Everyone the campaign concerns, by contact id: who its query finds now, and who it sent
    to before (a contact may have left the query since)."""
    members, params = _members_sql(conn, campaign, today)
    rows = conn.execute(
        f"""WITH members(id) AS ({members})
        SELECT c.id, c.name,
          (SELECT email FROM contact_emails WHERE contact_id = c.id
           ORDER BY position, id LIMIT 1) AS email,
          k.do_not_contact_at, k.email_optout_at,
          s.id, s.status, s.sent_at, s.error, s.to_email,
          c.id IN (SELECT id FROM members) AS member
        FROM contacts c
        LEFT JOIN contact_consent k ON k.contact_id = c.id
        LEFT JOIN sends s ON s.kind = 'campaign' AND s.campaign_id = ? AND s.contact_id = c.id
        WHERE c.id IN (SELECT id FROM members) OR s.id IS NOT NULL
        ORDER BY c.id""",
        (*params, campaign.id),
    )
    return [_recipient(row) for row in rows]


def _recipient(row: sqlite3.Row) -> Recipient:
    (contact_id, name, email, dnc, optout, log_id, logged, sent_at, error, sent_to, member) = row
    status, reason = "to-send", None
    if logged == "sent":
        status, email = "sent", sent_to
    elif dnc:
        status, reason = "excluded", "do not contact"
    elif optout:
        status, reason = "excluded", "opted out"
    elif not email:
        status, reason = "excluded", "no email"
    elif logged in ("failed", "claimed"):
        status, reason = logged, error
    if not member and status not in ("sent", "excluded"):
        status, reason = "left", "no longer in the campaign's query"
    return Recipient(contact_id, name, email, status, reason, bool(member), log_id, sent_at)


class Counts(NamedTuple):
    """A campaign's figures: recipients by status, those excluded by reason, and those sent to
    and erased since (a count only). JSON: :meth:`to_dict`."""

    sent: int
    to_send: int
    failed: int
    claimed: int
    left: int
    excluded: dict[str, int]
    forgotten: int

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


def counts(campaign: Campaign, recipients: list[Recipient]) -> Counts:
    """The figures of ``campaign`` for its ``recipients`` (:func:`audience`)."""
    found = {"sent": 0, "to_send": 0, "failed": 0, "claimed": 0, "left": 0}
    excluded = dict.fromkeys(EXCLUSIONS, 0)
    for r in recipients:
        if r.status == "excluded":
            excluded[r.reason or "no email"] += 1
        else:
            found[r.status.replace("-", "_")] += 1
    return Counts(**found, excluded=excluded, forgotten=campaign.forgotten)


class Report(NamedTuple):
    """``crm campaign show``: the campaign, its figures and every recipient. JSON:
    :meth:`to_dict` (docs/json.md)."""

    campaign: Campaign
    counts: Counts
    recipients: list[Recipient]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.campaign.to_dict(),
            "subject": self.campaign.subject,
            "counts": self.counts.to_dict(),
            "recipients": [r.to_dict() for r in self.recipients],
        }


def report(conn: sqlite3.Connection, name: str, *, today: date) -> Report:
    """The report of the campaign ``name``: its figures and every recipient, now."""
    campaign = get(conn, name)
    recipients = audience(conn, campaign, today=today)
    return Report(campaign, counts(campaign, recipients), recipients)


# --- rendering and sending ----------------------------------------------------------------------


def text_of(conn: sqlite3.Connection, campaign: Campaign) -> Template:
    """What the campaign sends: the text locked at its first send, else the template's now."""
    from dataclasses import replace

    current = templates.get(conn, campaign.template)
    if campaign.locked_at is None:
        return current
    return replace(
        current,
        subject=campaign.subject or "",
        body=campaign.body or "",
        format=campaign.format or "text",
    )


def letter_for(
    conn: sqlite3.Connection,
    campaign: Campaign,
    tpl: Template,
    recipient: Recipient,
    *,
    sender: str,
    today: date,
) -> Letter:
    """One recipient's message, rendered (nothing written); a failure to render is its error."""
    from email.utils import parseaddr

    from crmcli import sending
    from crmcli.mailer import campaign_message_id, unsubscribe_header

    sender_name, sender_address = parseaddr(sender)
    contact = contacts.get(conn, recipient.contact_id, include_deleted=True)
    logged = sending.find(conn, "campaign", {"campaign_id": campaign.id, "contact_id": contact.id})
    token = (logged["token"] if logged else None) or sending.new_token()
    letter = Letter(
        kind="campaign",
        identity={"campaign_id": campaign.id, "contact_id": contact.id},
        contact_id=contact.id,
        to_name=contact.name,
        to_email=recipient.email,
        message_id=campaign_message_id(contact.uid, campaign.id, sender_address.rpartition("@")[2]),
        item=recipient,
        columns={"template": tpl.name},
        stem=f"campaign{campaign.id}-contact{contact.id}",
        note_label=f"campaign {campaign.name}",
        note_kind="campaign",
        unsubscribe=sender_address,
        token=token,
    )
    try:
        values = {
            **templates.contact_values(
                conn,
                contact,
                email=recipient.email or "",
                sender_name=sender_name or sender_address,
                today=today,
            ),
            "campaign": campaign.name,
            "unsubscribe": unsubscribe_header(sender_address, token)[1:-1],
        }
        letter.subject = templates.render(tpl.subject, values)
        letter.body = templates.render(tpl.body, values)
        if tpl.format == "markdown":
            letter.html = templates.render_html(tpl.body, values)
    except Exception as exc:  # one contact's data must not stop the batch
        letter.error = f"cannot render the template: {exc}"
        letter.status = "failed"
    return letter


def lock(conn: sqlite3.Connection, campaign: Campaign, *, now: datetime) -> Campaign:
    """Copy the template's text into the campaign (at its first send); the text then stays."""
    if campaign.locked_at is not None:
        return campaign
    with transaction(conn):
        tpl = templates.get(conn, campaign.template)
        tpl.check_use("campaign")
        stamp = to_utc_text(now)
        conn.execute(
            "UPDATE campaigns SET subject = ?, body = ?, format = ?, locked_at = ?, "
            "updated_at = ? WHERE id = ? AND locked_at IS NULL",
            (tpl.subject, tpl.body, tpl.format, stamp, stamp, campaign.id),
        )
        return get(conn, campaign.name)


def pending_letters(
    conn: sqlite3.Connection, campaign: Campaign, *, sender: str, today: date
) -> Iterator[Letter]:
    """The letters still to send (to-send, failed, claimed), rendered one at a time."""
    tpl = text_of(conn, campaign)
    for recipient in audience(conn, campaign, today=today):
        if recipient.status in ("to-send", "failed", "claimed"):
            yield letter_for(conn, campaign, tpl, recipient, sender=sender, today=today)


def send(
    conn: sqlite3.Connection,
    name: str,
    *,
    transport: Transport,
    sender: str,
    now: Callable[[], datetime],
    limit: int | None = None,
    interval: float = 0.0,
    report: Callable[[Letter], None] | None = None,
) -> list[Letter]:
    """Send the campaign to everyone who has no message from it yet (at most ``limit``, one
    every ``interval`` seconds), each exactly once; returns what happened to each."""
    from crmcli import sending

    if limit is not None and limit < 1:
        raise ValidationError("--limit must be at least 1")
    campaign = lock(conn, get(conn, name), now=now())
    return sending.deliver_all(
        conn,
        pending_letters(conn, campaign, sender=sender, today=now().date()),
        transport=transport,
        sender=sender,
        now=now,
        report=report,
        limit=limit,
        interval=interval,
    )


def outcome_dict(letter: Letter) -> dict[str, Any]:
    """What happened to one message in a run (``crm campaign send --format json``)."""
    return {
        "log_id": letter.log_id,
        "status": letter.status,
        "contact_id": letter.contact_id,
        "name": letter.to_name,
        "to_email": letter.to_email,
        "subject": letter.subject,
        "message_id": letter.message_id,
        "error": letter.error,
        "retried": letter.retried,
    }


def parse_rate(text: str) -> float:
    """``--rate 30/min`` (or ``2/s``, ``600/h``, a bare number per minute): seconds between two
    messages."""
    match = re.fullmatch(
        r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?\s*", text
    )
    per = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
    if match is None or float(match[1]) <= 0:
        raise ValidationError(f"--rate {text!r}: give messages per minute, e.g. 30/min (or 1/s)")
    return per[match[2] or "min"] / float(match[1])
