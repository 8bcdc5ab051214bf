"""``crm contact issues``: the values imports kept flagged, to be fixed."""

from __future__ import annotations

import typer

from crmcli import contacts
from crmcli.cli._common import FormatOpt, database
from crmcli.cli._output import Column, emit
from crmcli.cli._query import QUERY_CONTEXT, QueryArg, compile_words
from crmcli.cli.contacts import app

ISSUE_COLUMNS = [
    Column("id", "ID", priority=1),
    Column("name", priority=1),
    Column("field", priority=1),
    Column("label", priority=3),
    Column("value", priority=1),
    Column("reason", priority=2),
]


@app.command("issues", context_settings=QUERY_CONTEXT)
def issues_command(ctx: typer.Context, query: QueryArg = None, fmt: FormatOpt = None) -> None:
    """List the values imports kept but could not take as what they claim to be.

    An email without @, a phone like "BusinessPhone", a birthday "circa 1800" or in the
    future: an import keeps such a value on its contact, flagged, instead of refusing the card
    or the file, and vCard export writes it back as it came. Fix one with crm contact edit
    (the form shows it as an invalid.FIELD line: put the right value on its own line and remove
    that one), or drop a contact's flagged values with crm contact edit REF --clear invalid.
    The QUERY narrows the contacts (docs/query.md); invalid:phone selects contacts with a
    flagged phone in any listing.

    Examples: crm contact issues ; crm contact issues tag:customers --format csv
    """
    with database(ctx) as conn:
        filters = contacts.ListFilters(query=compile_words(conn, query))
        emit(
            contacts.flagged_values(conn, filters),
            ISSUE_COLUMNS,
            fmt,
            empty="No flagged values: every imported value was taken as what it claims to be.",
        )
