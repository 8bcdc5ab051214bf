"""The options of the ``contact`` commands, shared: those of ``crm contact add`` and ``edit``
(written once, as Annotated aliases) with the one function that turns them into a
:class:`crmcli.contact_changes.ContactChanges`, and the filters of ``crm contact list`` that
``crm export contacts`` takes too.

Adding a contact field to add and edit: its alias here, a line in each command's signature, and
(for a field that is not a text field of :data:`crmcli.contacts.TEXT_FIELDS`, which are read by
name) a line in :func:`contact_changes`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmcli import contacts
from crmcli.cli._common import complete_contact, complete_tag, now, parse_when_option
from crmcli.contacts import ListFilters, parse_labeled
from crmcli.errors import UsageError

if TYPE_CHECKING:  # imported by add and edit only: show and list never build the class
    from crmcli.contact_changes import ContactChanges

# --- crm contact add / edit -------------------------------------------------------------------

Emails = Annotated[
    list[str] | None,
    typer.Option(
        "--email", "-e", help="Email, optionally labelled: work:ann@example.com. Repeatable."
    ),
]
Phones = Annotated[
    list[str] | None,
    typer.Option(
        "--phone", "-p", help="Phone, optionally labelled: 'mobile:+1 555 0100'. Repeatable."
    ),
]
Tags = Annotated[
    list[str] | None,
    typer.Option("--tag", "-t", help="Tag. Repeatable.", autocompletion=complete_tag),
]
Fields = Annotated[
    list[str] | None, typer.Option("--field", help="Custom field key=value. Repeatable.")
]
#: a text field without help of its own (--first, --company, --city...)
Text = Annotated[str | None, typer.Option(show_default=False)]
Display = Annotated[
    str | None, typer.Option(help="Name shown instead of first + last (e.g. a team).")
]
Title = Annotated[str | None, typer.Option(help="Job title.")]
Source = Annotated[str | None, typer.Option(help="Where the contact came from.")]
ReferredBy = Annotated[
    str | None,
    typer.Option(
        help="The contact who referred this one (REF); '' clears.",
        autocompletion=complete_contact,
    ),
]
Birthday = Annotated[
    str | None, typer.Option(help="1980-04-15, or --04-15 without a year; '' clears.")
]
Anniversary = Annotated[str | None, typer.Option(help="Like --birthday.")]
Cadence = Annotated[
    str | None, typer.Option(help="Keep in touch at least this often: 30d, 2w; '' clears.")
]
RmEmails = Annotated[list[str] | None, typer.Option(help="Remove this email.")]
RmPhones = Annotated[list[str] | None, typer.Option(help="Remove this phone (formatting ignored).")]
Untag = Annotated[
    list[str] | None, typer.Option(help="Remove this tag.", autocompletion=complete_tag)
]
Clear = Annotated[
    list[str] | None,
    typer.Option(
        help="Clear a field: company, birthday, emails, addresses, photo, invalid, a custom "
        "field..."
    ),
]

#: the consent options of crm contact edit
DoNotContactOpt = Annotated[
    bool | None,
    typer.Option(
        "--do-not-contact/--may-contact",
        help="They asked for no contact at all (--may-contact takes it back).",
        show_default=False,
    ),
]


EmailOptoutOpt = Annotated[
    bool | None,
    typer.Option(
        "--email-optout/--email-optin",
        help="They asked for no campaign e-mail (--email-optin takes it back).",
        show_default=False,
    ),
]


ConsentSourceOpt = Annotated[
    str | None,
    typer.Option(help="Where that request came from (default: crm contact edit)."),
]


#: options named otherwise than their field of contacts.TEXT_FIELDS (the others: the same name)
_TEXT_OPTIONS = {"first_name": "first", "last_name": "last", "display_name": "display"}
#: repeatable options -> the list of ContactChanges they fill, and how a value is read
_LIST_OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "email": ("add_emails", parse_labeled),
    "rm_email": ("remove_emails", str),
    "phone": ("add_phones", parse_labeled),
    "rm_phone": ("remove_phones", str),
    "tag": ("add_tags", str),
    "untag": ("remove_tags", str),
}


def contact_changes(conn: sqlite3.Connection, options: Mapping[str, Any]) -> ContactChanges:
    """The options of ``crm contact add`` or ``edit`` (their ``ctx.params``) as one
    ContactChanges: a text option given empty ("") clears its field; a NAME argument alone is
    split into first and last name."""
    from crmcli.cli._contact_parts import TEXT_OPTIONS, apply_lists, clear
    from crmcli.contact_changes import ContactChanges
    from crmcli.dates import parse_days

    given = dict(options)
    words = (given.get("name") or "").split(None, 1)
    if words and not (given.get("first") or given.get("last")):
        given.update(first=words[0], last=words[1] if len(words) > 1 else None)
    changes = ContactChanges()
    for field in contacts.TEXT_FIELDS:
        value = given.get(_TEXT_OPTIONS.get(field) or TEXT_OPTIONS.get(field, field))
        if value is not None:
            changes.text[field] = value or None
    for option, (attribute, read) in _LIST_OPTIONS.items():
        setattr(changes, attribute, [read(value) for value in given.get(option) or []])
    for assignment in given.get("field") or []:
        key, value = contacts.parse_field_assignment(assignment)
        changes.set_fields[key] = value
    for kind in contacts.DATE_FIELDS:
        if given.get(kind) is not None:
            changes.dates[kind] = given[kind] or None
    referrer = given.get("referred_by")
    if referrer is not None:
        changes.referred_by_id = contacts.resolve(conn, referrer) if referrer else None
        changes.clear_referred_by = not referrer
    cadence = given.get("cadence")
    if cadence is not None:
        changes.cadence_days = parse_days(cadence) if cadence else None
        changes.clear_cadence = not cadence
    apply_lists(changes, given)
    for name in given.get("clear") or []:
        clear(changes, name)
    return changes


# --- crm contact list, crm export contacts ------------------------------------------------------

# The filters of `crm contact list`, shared with `crm export contacts`.
TagFilter = Annotated[
    list[str] | None,
    typer.Option(
        "--tag", "-t", help="Has this tag (repeat: all of them).", autocompletion=complete_tag
    ),
]


CompanyFilter = Annotated[str | None, typer.Option(help="Company contains this text.")]


TextFilter = Annotated[
    str | None, typer.Option("--text", "-q", help="Matches this text anywhere (full-text).")
]


CreatedSince = Annotated[
    str | None, typer.Option(help="Added on or after: 2026-01-01, -2w, 'last mon'.")
]


UpdatedSince = Annotated[str | None, typer.Option(help="Changed on or after (same forms).")]


SortOpt = Annotated[
    str,
    typer.Option(help="name, company, created, updated, id or last-touch (never touched first)."),
]


NotTouchedSince = Annotated[
    str | None,
    typer.Option(
        help="No note, call, email or meeting since: 90d, 6m, or a date (2026-01-01, 'last mon').",
        show_default=False,
    ),
]


DescOpt = Annotated[bool, typer.Option("--desc", help="Reverse the order.")]


LimitOpt = Annotated[int | None, typer.Option(help="At most this many.", min=1)]


def list_filters(
    tag: list[str] | None,
    company: str | None,
    text: str | None,
    created_since: str | None,
    updated_since: str | None,
    sort: str,
    desc: bool,
    limit: int | None,
    *,
    trash: bool,
) -> ListFilters:
    """The options above as ListFilters (dates parsed by the one date parser)."""
    return ListFilters(
        tags=list(tag or []),
        company=company,
        text=text,
        created_since=parse_when_option(created_since) if created_since else None,
        updated_since=parse_when_option(updated_since) if updated_since else None,
        sort=sort,
        descending=desc,
        limit=limit,
        deleted=trash,
    )


def touched_threshold(text: str) -> datetime:
    """``--not-touched-since``: a span back from today (90d: local midnight 90 days ago) or a
    date expression; the contacts listed had no touch on or after that moment."""
    from datetime import timedelta

    from crmcli.dates import parse_days

    stripped = text.strip()
    if stripped[:1].isdigit() and stripped[-1:].isalpha() and not stripped[-2:].isdigit():
        try:
            days = parse_days(stripped)
        except UsageError:
            pass
        else:
            midnight = now().replace(hour=0, minute=0, second=0, microsecond=0)
            return midnight - timedelta(days=days)
    return parse_when_option(text)
