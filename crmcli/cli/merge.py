"""``crm contact merge`` and ``crm contact unmerge`` (commands of the ``contact`` group, which
names them: crmcli/cli/contacts.py)."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Any

import typer

from crmcli import contacts
from crmcli.cli._common import FormatOpt, YesOpt, complete_contact, confirm, database, now, prompt
from crmcli.cli._output import Column, emit, message
from crmcli.cli.views.contacts import report_unmerged
from crmcli.errors import NotFound


class Prefer(str, Enum):
    keep = "keep"
    other = "other"
    newest = "newest"


KeepArg = Annotated[
    str,
    typer.Argument(
        help="The contact to keep (id, name or email).", autocompletion=complete_contact
    ),
]
OthersArg = Annotated[
    list[str],
    typer.Argument(help="The contacts to merge into it.", autocompletion=complete_contact),
]
MergedArg = Annotated[
    str,
    typer.Argument(
        help="A contact merged away (in the trash), or the contact kept.",
        autocompletion=complete_contact,
    ),
]

MERGE_COLUMNS = [
    Column("other_id", "Other", justify="right"),
    Column("field"),
    Column("keep", "Kept contact"),
    Column("other", "Other contact"),
    Column("result"),
    Column("action"),
]


def _resolve_for_merge(conn: Any, ref: str) -> int:
    """A live contact, or an id in the trash (so the merge can say why it cannot use it)."""
    try:
        return contacts.resolve(conn, ref)
    except NotFound:
        if ref.strip().isdigit():  # in the trash: the merge says so, and what to do
            return contacts.get(conn, int(ref), include_deleted=True).id
        raise


def merge_command(
    ctx: typer.Context,
    keep: KeepArg,
    others: OthersArg,
    prefer: Annotated[
        Prefer | None,
        typer.Option(
            help="When both have a different company, title, birthday...: keep's value, the "
            "other's, or the one changed last. Default: ask on a terminal, else keep.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the result field by field; change nothing.")
    ] = False,
    yes: YesOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Merge contacts into one: KEEP gets everything of each OTHER, which goes to the trash.

    KEEP keeps every email, phone, tag, custom field, yearly date and UID of both; notes,
    reminders, deals, the greetings log and referrals of OTHER move to KEEP (deals keep their
    currency). A value both have differently (company, title, birthday...) is chosen with
    --prefer, or asked field by field on a terminal; a losing address becomes a custom field.
    One transaction; undo with: crm contact unmerge OTHER (or crm contact restore OTHER).

    Examples: crm contact merge 12 57 --dry-run ; crm contact merge ann@acme.example 57 --prefer newest
    """
    from crmcli import merge

    with database(ctx, write=not dry_run) as conn:
        keep_id = _resolve_for_merge(conn, keep)
        other_ids = [_resolve_for_merge(conn, ref) for ref in others]
        merge.check(conn, keep_id, other_ids)
        choices = None
        if prefer is None and sys.stdin.isatty() and not dry_run:
            choices = _ask_conflicts(merge.conflicts(conn, keep_id, other_ids), keep_id)
        choose = merge.chooser(
            conn, prefer.value if prefer else None, choices, ids=[keep_id, *other_ids]
        )
        names = {c: contacts.get(conn, c).name for c in (keep_id, *other_ids)}
        merged = ", ".join(f"{c} ({names[c]})" for c in other_ids)
        if not dry_run:
            confirm(f"Merge contact {merged} into {keep_id} ({names[keep_id]})?", yes=yes)
        plan = merge.merge(conn, keep_id, other_ids, choose=choose, now=now(), dry_run=dry_run)
        if dry_run or fmt is not None:
            emit((row.to_dict() for row in plan), MERGE_COLUMNS, fmt)
        if dry_run:
            message(f"Dry run, nothing changed: would merge contact {merged} into {keep_id}")
            if prefer is None and any(row.action == "kept (conflict)" for row in plan):
                message("Values that differ are asked on a terminal, or chosen with --prefer")
            return
        undo = " or ".join(f"crm contact unmerge {c}" for c in other_ids[:2])
        message(f"Merged contact {merged} into {keep_id} ({names[keep_id]}); undo: {undo}")


def _ask_conflicts(conflicts: list[Any], keep_id: int) -> dict[str, int]:
    """On a terminal: which value to keep, for each field the contacts hold differently."""
    choices: dict[str, int] = {}
    for conflict in conflicts:
        message(f"{conflict.slot} differs:")
        for number, (contact_id, shown) in enumerate(conflict.values, 1):
            mark = ", kept" if contact_id == keep_id else ""
            message(f"  {number}) {shown}  (#{contact_id}{mark})")
        count = len(conflict.values)
        while True:
            answer = prompt(f"Keep which? [1-{count}]").strip()
            if answer.isdigit() and 1 <= int(answer) <= count:
                break
            message(f"Give a number from 1 to {count}.")
        choices[conflict.slot] = conflict.values[int(answer) - 1][0]
    return choices


def unmerge_command(
    ctx: typer.Context,
    ref: MergedArg,
) -> None:
    """Undo a merge: the merged-away contact comes back with everything that was moved.

    Given the contact kept, undoes the latest merge into it. What the merge added to the kept
    contact is taken off again, unless it has been changed since.
    """
    from crmcli import merge

    with database(ctx, write=True) as conn:
        contact_id = contacts.resolve(conn, ref, include_deleted=True)
        report_unmerged(conn, merge.unmerge(conn, contact_id, now=now()))
