"""Consent: what a person asked for, with when and where the request came from.

Two requests, per contact (the ``contact_consent`` table, a row only for those who asked):

* **do not contact**: no campaign, no greeting, nothing crmcli sends;
* **e-mail opt-out**: no campaign e-mail; greetings too, unless a greeting rule says it greets
  opted-out contacts (``crm greet rule add --to-opted-out``).

Set by ``crm contact edit``, by an import column, by ``crm optout EMAIL`` and by
``crm optout --from-mail`` (a reply or a List-Unsubscribe message: :func:`from_mail`). An
opt-out is recorded once: doing it again keeps the first date and source. An import never
takes one back; only ``crm contact edit --email-optin / --may-contact`` does.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from crmcli.clock import to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, ValidationError

if TYPE_CHECKING:
    from crmcli.contact_changes import ContactChanges
    from crmcli.io.mail import Mail

#: the longest source text kept (a file name, "phone call", "reply to spring-sale")
MAX_SOURCE = 200
#: what ``List-Unsubscribe`` puts in a subject: "unsubscribe <token>" (crmcli.mailer)
_TOKEN = r"(?i)unsubscribe[\s:]+([A-Za-z0-9_-]{16})(?![A-Za-z0-9_-])"  # compiled on first use


class Request(NamedTuple):
    """A contact's consent record: each request's time (UTC text) and source, or None."""

    contact_id: int
    do_not_contact_at: str | None
    do_not_contact_source: str | None
    email_optout_at: str | None
    email_optout_source: str | None

    def excludes(self, *, optout_counts: bool = True) -> str | None:
        """Why nothing may be sent to this contact ("do not contact", "opted out"), or None.
        ``optout_counts``: whether the e-mail opt-out applies (a greeting rule may say no)."""
        if self.do_not_contact_at:
            return "do not contact"
        if self.email_optout_at and optout_counts:
            return "opted out"
        return None

    def to_dict(self) -> dict[str, Any]:
        """The ``consent`` object of docs/json.md."""

        def part(at: str | None, source: str | None) -> dict[str, Any] | None:
            return {"at": at, "source": source} if at else None

        return {
            "do_not_contact": part(self.do_not_contact_at, self.do_not_contact_source),
            "email_optout": part(self.email_optout_at, self.email_optout_source),
        }


_COLUMNS = (
    "contact_id, do_not_contact_at, do_not_contact_source, email_optout_at, email_optout_source"
)
#: the consent of a contact who asked for nothing
NOTHING = {"do_not_contact": None, "email_optout": None}


def requests(conn: sqlite3.Connection) -> dict[int, Request]:
    """Every contact's consent record that says something, by contact id (a small table)."""
    return {
        row[0]: Request(*row)
        for row in conn.execute(
            f"SELECT {_COLUMNS} FROM contact_consent "
            "WHERE do_not_contact_at IS NOT NULL OR email_optout_at IS NOT NULL"
        )
    }


def of(conn: sqlite3.Connection, contact_id: int) -> Request | None:
    """One contact's consent record, or None when they asked for nothing."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM contact_consent WHERE contact_id = ?", (contact_id,)
    ).fetchone()
    found = Request(*row) if row else None
    if found and not (found.do_not_contact_at or found.email_optout_at):
        return None
    return found


def record(
    conn: sqlite3.Connection,
    contact_id: int,
    *,
    source: str,
    now: datetime,
    do_not_contact: bool | None = None,
    email_optout: bool | None = None,
) -> Request | None:
    """Set (True) or take back (False) a request; None leaves it as it is. A request made
    before keeps its first date and source. Returns the record as it is now."""
    source = " ".join(source.split())[:MAX_SOURCE]
    if not source:
        raise ValidationError("say where the request came from (a source), e.g. 'phone call'")
    stamp = to_utc_text(now)
    with transaction(conn):
        before = of(conn, contact_id)
        conn.execute(
            "INSERT INTO contact_consent (contact_id) VALUES (?) ON CONFLICT DO NOTHING",
            (contact_id,),
        )
        for flag, column in ((do_not_contact, "do_not_contact"), (email_optout, "email_optout")):
            if flag is True:
                conn.execute(
                    f"UPDATE contact_consent SET {column}_at = coalesce({column}_at, ?), "
                    f"{column}_source = coalesce({column}_source, ?) WHERE contact_id = ?",
                    (stamp, source, contact_id),
                )
            elif flag is False:
                conn.execute(
                    f"UPDATE contact_consent SET {column}_at = NULL, {column}_source = NULL "
                    "WHERE contact_id = ?",
                    (contact_id,),
                )
        conn.execute(
            "DELETE FROM contact_consent WHERE contact_id = ? AND do_not_contact_at IS NULL "
            "AND email_optout_at IS NULL",
            (contact_id,),
        )
        after = of(conn, contact_id)
        if _newly_asked(before, after):
            from crmcli import events

            events.emit(conn, "optout", contact_id, contact_id=contact_id, now=now, source=source)
    return after


def update_contact(
    conn: sqlite3.Connection,
    contact_id: int,
    changes: ContactChanges,
    *,
    now: datetime,
    source: str,
    do_not_contact: bool | None = None,
    email_optout: bool | None = None,
) -> None:
    """``crm contact edit``: the contact's changes and the consent requests, all or nothing."""
    from crmcli import contacts

    with transaction(conn):
        if not changes.is_empty():
            contacts.update(conn, contact_id, changes, now=now)
        if do_not_contact is not None or email_optout is not None:
            record(conn, contact_id, source=source, now=now,
                   do_not_contact=do_not_contact, email_optout=email_optout)  # fmt: skip


def _newly_asked(before: Request | None, after: Request | None) -> bool:
    if after is None:
        return False
    if before is None:
        return True
    return bool(
        (after.do_not_contact_at and not before.do_not_contact_at)
        or (after.email_optout_at and not before.email_optout_at)
    )


#: what a consent column says when it says no (anything else, a date too, means yes)
_NO = frozenset({"", "0", "no", "n", "false", "f", "off", "none", "-", "subscribed", "opted in"})


def says_yes(cell: str | None) -> bool:
    """A consent column's cell from an import: yes, unless it says no (``false``, ``0``...)."""
    return cell is not None and " ".join(cell.lower().split()) not in _NO


def record_imported(
    conn: sqlite3.Connection, cells: list[tuple[int, str | None, str | None]], *, now: datetime
) -> None:
    """An import's consent columns, (contact, e-mail opt-out cell, do-not-contact cell) per
    row: recorded when they say yes; an import never takes a request back."""
    for contact_id, optout, dnc in cells:
        if says_yes(optout) or says_yes(dnc):
            record(
                conn,
                contact_id,
                source="import",
                now=now,
                email_optout=says_yes(optout) or None,
                do_not_contact=says_yes(dnc) or None,
            )


def contacts_with_address(conn: sqlite3.Connection, address: str) -> list[int]:
    """The live contacts that have ``address`` (any case), lowest id first."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT e.contact_id FROM contact_emails e JOIN contacts c "
            "ON c.id = e.contact_id AND c.deleted_at IS NULL WHERE e.email = ? COLLATE NOCASE "
            "ORDER BY e.contact_id",
            (address.strip(),),
        )
    ]


def optout_address(
    conn: sqlite3.Connection,
    address: str,
    *,
    source: str,
    now: datetime,
    do_not_contact: bool = False,
) -> list[int]:
    """``crm optout EMAIL``: every contact with that address opts out of e-mail (or, with
    ``do_not_contact``, asks not to be contacted at all). Returns their ids."""
    with transaction(conn):
        found = contacts_with_address(conn, address)
        if not found:
            raise NotFound(f"no contact has the address {address.strip()!r}; nothing recorded")
        for contact_id in found:
            record(
                conn,
                contact_id,
                source=source,
                now=now,
                email_optout=True,
                do_not_contact=True if do_not_contact else None,
            )
    return found


class MailOptOut(NamedTuple):
    """Who a piped message opted out, and how they were recognised."""

    contact_ids: list[int]
    how: str
    source: str


def identify(conn: sqlite3.Connection, mail: Mail) -> MailOptOut:
    """Who an unsubscribe message is from: the token of a List-Unsubscribe subject (or in the
    text), else the campaign message it answers (In-Reply-To, References), else the sender's
    address. NotFound when none of them names a contact."""
    sender = mail.sender[1] if mail.sender else None
    by = f" from {sender}" if sender else ""
    for token in re.findall(_TOKEN, f"{mail.subject}\n{mail.summary}"):
        row = conn.execute("SELECT contact_id FROM sends WHERE token = ?", (token,)).fetchone()
        if row:
            return MailOptOut([row[0]], "its unsubscribe token", f"unsubscribe mail{by}")
    for reference in mail.references:
        row = conn.execute(
            "SELECT contact_id FROM sends WHERE message_id = ? ORDER BY id LIMIT 1", (reference,)
        ).fetchone()
        if row:
            return MailOptOut([row[0]], "the message it answers", f"reply{by}")
    if sender:
        found = contacts_with_address(conn, sender)
        if found:
            return MailOptOut(found, "the sender's address", f"mail from {sender}")
    who = f"{sender} is no contact's address, and " if sender else ""
    raise NotFound(
        f"cannot tell who this message opts out: {who}it has no unsubscribe token and answers "
        "no message crm sent; nothing recorded (use crm optout EMAIL)"
    )


def from_mail(conn: sqlite3.Connection, mail: Mail, *, now: datetime) -> MailOptOut:
    """``crm optout --from-mail``: the person an unsubscribe message comes from opts out."""
    with transaction(conn):
        found = identify(conn, mail)
        for contact_id in found.contact_ids:
            record(conn, contact_id, source=found.source, now=now, email_optout=True)
    return found
