"""What ``crm import`` says it did (and, with ``--dry-run``, would do): the counts, the values
kept flagged, where each column or property of the file went, and how its dates were read.

Plain lines of text (the command prints them on stderr); names from the file are shown with
their control characters visible and cut to a readable length.
"""

from __future__ import annotations

from typing import Any

from crmcli.controls import visible

#: the longest column name shown whole
_SHOWN = 40


def _shown(name: str, limit: int = _SHOWN) -> str:
    name = visible(" ".join(name.split()))
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def headline(result: Any, name: str, described: str) -> str:
    """``Imported 3 rows from x.csv (Outlook, utf-8, delimiter ','): 2 created, ...``."""
    counts = result.summary()
    parts = ", ".join(
        f"{counts[k]} {k}" for k in ("created", "updated", "merged", "skipped", "rejected")
    )
    possible = counts["possible_duplicates"]
    if possible:
        listed = " (listed by crm dedupe)" if not result.dry_run else ""
        parts += f"; {possible} of the new contacts may be duplicates{listed}"
    head = "Dry run, nothing saved: would have imported" if result.dry_run else "Imported"
    return f"{head} {_plural(counts['rows'], 'row')} from {name} ({described}): {parts}"


def flagged(result: Any) -> list[str]:
    """The values kept but flagged, by field."""
    if not result.flagged:
        return []
    total = sum(result.flagged.values())
    fields = ", ".join(f"{count} {field}" for field, count in sorted(result.flagged.items()))
    see = "" if result.dry_run else "; see them with crm contact issues"
    return [
        f"Kept {_plural(total, 'value')} that {'is' if total == 1 else 'are'} not what "
        f"{'it claims' if total == 1 else 'they claim'} to be, flagged ({fields}){see}"
    ]


def columns(mapper: Any) -> list[str]:
    """Where each column of a CSV file went, and how many values it gave."""
    lines = []
    if mapper.headerless:
        lines.append(
            "The file has no header row: its columns were read by what its first row holds."
        )
    if mapper.skipped:
        lines.append(f"Skipped {_plural(mapper.skipped, 'line')} before the header.")
    lines.append("Where the columns went:")
    empty = []
    for column, where, count in mapper.report():
        if count or where.startswith("ignored"):
            tail = f" ({count})" if count else ""
            # where: a custom field is named after its column, as long as the file made it
            lines.append(f"  {_shown(column)} -> {_shown(where, 2 * _SHOWN)}{tail}")
        else:
            empty.append(_shown(column))
    if empty:
        lines.append(f"  empty in every row: {', '.join(empty)}")
    return lines


def properties(tally: dict[str, int]) -> list[str]:
    """Where each vCard property went, most frequent first."""
    if not tally:
        return []
    ordered = sorted(tally.items(), key=lambda item: (-item[1], item[0]))
    return ["Where the properties went:", *(f"  {_shown(k)} ({n})" for k, n in ordered)]


def dates(result: Any) -> list[str]:
    """How dates like 03/04/1980 were read, when the file proved it."""
    if not result.date_proof:
        return []
    order = "day first (03/04 is 3 April)" if result.day_first else "month first (03/04 is 4 March)"
    return [f"Dates were read {order}, as the file shows: {visible(result.date_proof)}"]


def describe(result: Any, name: str, source: Any) -> list[str]:
    """Every line of the summary, in order."""
    lines = [headline(result, visible(name), source.described), *flagged(result)]
    if source.mapper is not None:
        lines += columns(source.mapper)
    lines += properties(source.tally)
    return lines + dates(result)
