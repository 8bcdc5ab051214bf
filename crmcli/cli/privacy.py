"""``crm contact export-data`` and ``crm contact forget``: a person's data, all of it as JSON,
or erased for good (a data-subject request)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crmcli.cli._common import (
    ContactRef,
    ForceOpt,
    YesOpt,
    confirm,
    database,
    database_path,
    now,
)
from crmcli.cli._output import message, output_file


def export_data_command(
    ctx: typer.Context,
    ref: ContactRef,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (0600) instead of stdout."),
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Export everything crmcli holds about one person, as JSON (a data-subject request).

    The contact, their consent, and every row about them: notes, reminders, deals and their
    stage changes, purchases, messages sent, rule firings. The keys: docs/consent.md.
    Example: crm contact export-data ann -o ann-lee.json
    """
    import json

    from crmcli import contacts, privacy
    from crmcli.controls import json_safe

    with database(ctx) as conn:
        contact_id = contacts.resolve(conn, ref, include_deleted=True)
        data = privacy.export_data(conn, contact_id, now=now())
    with output_file(output, force=force, database=database_path(ctx)) as out:
        out.write(json_safe(json.dumps(data, ensure_ascii=False, indent=2)) + "\n")
    if output is not None:
        message(f"Wrote everything about {data['contact']['name']} (#{contact_id}) to {output}")


def forget_command(ctx: typer.Context, ref: ContactRef, yes: YesOpt = False) -> None:
    """Erase a person and their whole history for good, after saying what goes.

    Unlike crm contact rm (the trash), nothing can bring it back: the rows are deleted and
    overwritten in the database file. What stays is a count (campaign reports say how many
    recipients were erased). Backups made before still hold them. Export first if the person
    asked for a copy: crm contact export-data REF.
    """
    from crmcli import contacts, privacy

    with database(ctx, write=True) as conn:
        contact_id = contacts.resolve(conn, ref, include_deleted=True)
        gone = privacy.what_goes(conn, contact_id)
        confirm(
            f"Erase {gone.name} (#{contact_id}) for good (the contact, {gone.describe()}; "
            "it cannot be undone)?",
            yes=yes,
        )
        privacy.forget(conn, contact_id, now=now())
    message(f"Erased contact {contact_id} for good: the contact, {gone.describe()}")
