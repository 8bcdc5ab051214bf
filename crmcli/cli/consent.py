"""``crm optout``: record a person's wish for no more e-mail (or no contact at all), by address
or from a piped unsubscribe message; and the consent part of ``crm contact show``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crmcli.cli._common import FormatOpt, database, now, print_created
from crmcli.cli._output import Column, emit, message
from crmcli.errors import UsageError

COLUMNS = [
    Column("contact_id", "ID", priority=1),
    Column("name", priority=1),
    Column("do_not_contact", "Do not contact"),
    Column("email_optout", "E-mail opt-out"),
    Column("source"),
]


def _rows(conn: Any, contact_ids: list[int]) -> list[dict[str, Any]]:
    from crmcli import consent, contacts

    rows = []
    for contact_id in contact_ids:
        asked = consent.of(conn, contact_id)
        rows.append(
            {
                "contact_id": contact_id,
                "name": contacts.get(conn, contact_id, include_deleted=True).name,
                "do_not_contact": asked.do_not_contact_at if asked else None,
                "email_optout": asked.email_optout_at if asked else None,
                "source": (asked.email_optout_source or asked.do_not_contact_source)
                if asked
                else None,
            }
        )
    return rows


def optout_command(
    ctx: typer.Context,
    email: Annotated[
        str | None, typer.Argument(metavar="[EMAIL]", help="The address that wants no more mail.")
    ] = None,
    from_mail: Annotated[
        bool,
        typer.Option(
            "--from-mail",
            help="Read an unsubscribe message (or a reply saying so) on stdin: who sent it opts out.",
        ),
    ] = False,
    do_not_contact: Annotated[
        bool,
        typer.Option("--do-not-contact", help="Not e-mail alone: they want no contact at all."),
    ] = False,
    source: Annotated[
        str | None,
        typer.Option("--source", help="Where the request came from (default: crm optout)."),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """Record an opt-out: no more campaign e-mail for this person (never undone by an import).

    By address (every contact with it), or --from-mail: a message piped from the mail client
    (the List-Unsubscribe mail a campaign asks for, or a reply to a campaign) names who it is
    by its token, the message it answers, or its sender. Take it back with crm contact edit
    REF --email-optin. Examples: crm optout ann@example.com ; crm optout --from-mail < msg.eml
    """
    from crmcli import consent

    if from_mail == (email is not None):
        raise UsageError("give the address (crm optout EMAIL) or --from-mail, one of them")
    if from_mail and (do_not_contact or source):
        raise UsageError("--from-mail records an e-mail opt-out with the message as its source")
    with database(ctx, write=True) as conn:
        if from_mail:
            from crmcli.cli._mail import read_message
            from crmcli.io.mail import parse

            data = read_message()
            if not data.strip():
                raise UsageError("no message on stdin: pipe the unsubscribe e-mail to crm optout")
            found = consent.from_mail(conn, parse(data), now=now())
            ids, how = found.contact_ids, f" (recognised by {found.how})"
        else:
            assert email is not None
            ids = consent.optout_address(
                conn,
                email,
                source=source or "crm optout",
                now=now(),
                do_not_contact=do_not_contact,
            )
            how = ""
        rows = _rows(conn, ids)
    what = "asked not to be contacted" if do_not_contact else "opted out of e-mail"
    for row in rows:
        message(f"{row['name']} (#{row['contact_id']}) {what}{how}")
        print_created(row["contact_id"], fmt)
    if fmt is not None:
        emit(rows, COLUMNS, fmt)
