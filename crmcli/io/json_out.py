"""Writing rows as JSON: the one writer of crmcli's JSON arrays and JSON Lines.

Listings (``--format json``) and exports (``crm export ... --format json``) write through it, so
both have one shape: an array with one object per line, which streams as it is written and
which a line-oriented tool can still read, or JSON Lines. Control characters a terminal would
act on are escaped inside strings (:func:`crmcli.controls.json_safe`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import IO, Any

from crmcli.controls import json_safe


def write_json(rows: Iterable[Mapping[str, Any]], out: IO[str], *, lines: bool = False) -> int:
    """A JSON array (one object per line, so it streams both ways) or JSON Lines; returns how
    many rows were written. An empty array is ``[]``."""
    count = 0
    if lines:
        for row in rows:
            out.write(json_safe(json.dumps(row, ensure_ascii=False)))
            out.write("\n")
            count += 1
        return count
    out.write("[")
    for row in rows:
        out.write(",\n  " if count else "\n  ")
        out.write(json_safe(json.dumps(row, ensure_ascii=False)))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
