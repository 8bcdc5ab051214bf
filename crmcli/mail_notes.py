"""An e-mail as a note (``crm note --from-mail``): who it concerns, and recording it once.

The contacts a message concerns are those with an address in its From, To or Cc. The note is of
kind ``email`` and dated when the message was sent, so the keep-in-touch cadence counts from the
mail, not from the day it was filed. The Message-ID makes recording idempotent: the same message
piped twice gives one note per contact.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import NamedTuple

from crmcli import notes
from crmcli.clock import local_naive
from crmcli.db import transaction
from crmcli.io.mail import Mail


class Recorded(NamedTuple):
    """One contact's note for the message: new, or the one recorded before."""

    contact_id: int
    note_id: int
    new: bool


def contacts_by_address(conn: sqlite3.Connection, addresses: list[str]) -> dict[str, int]:
    """Live contacts having one of ``addresses`` (any case): address -> contact id."""
    found: dict[str, int] = {}
    rows = conn.execute(
        "SELECT lower(e.email), e.contact_id FROM contact_emails e "
        "JOIN contacts c ON c.id = e.contact_id AND c.deleted_at IS NULL "
        "WHERE lower(e.email) IN (SELECT lower(value) FROM json_each(?)) ORDER BY e.contact_id",
        (json.dumps(addresses),),
    )
    for address, contact_id in rows:
        found.setdefault(address, contact_id)
    return found


def concerned(conn: sqlite3.Connection, mail: Mail) -> list[int]:
    """The contacts the message concerns: its sender's, then its recipients', each once."""
    people = ([mail.sender] if mail.sender else []) + mail.recipients
    known = contacts_by_address(conn, [address for _, address in people])
    return list(dict.fromkeys(known[a] for _, a in people if a in known))


def when(mail: Mail, now: datetime) -> datetime:
    """When the note happened: the message's date in local time, never later than now."""
    if mail.date is None:
        return now
    sent = local_naive(mail.date)
    return min(sent, now)


def record(
    conn: sqlite3.Connection, mail: Mail, contact_ids: list[int], *, now: datetime
) -> list[Recorded]:
    """A note of kind ``email`` for each contact, unless one already records this message.

    ``now`` is naive local time, like the rest of the notes API. All or nothing.
    """
    done: list[Recorded] = []
    with transaction(conn):
        for contact_id in contact_ids:
            existing = (
                notes.by_message_id(conn, contact_id, mail.message_id) if mail.message_id else None
            )
            if existing is not None:
                done.append(Recorded(contact_id, existing, False))
                continue
            note_id = notes.add(
                conn,
                contact_id,
                mail.note_body(),
                now=now,
                kind="email",
                at=when(mail, now),
                message_id=mail.message_id,
            )
            done.append(Recorded(contact_id, note_id, True))
    return done
