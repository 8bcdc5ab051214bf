"""The data rows of a CSV file, for every reader of CSV (contacts, orders).

What the readers share: the ``--delimiter`` names, and the loop over the rows after the header,
which skips empty lines, says where each row starts, takes off the ``'`` crmcli's own exports
put before formula-like cells, and turns a row that cannot be read into a located error.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from crmcli.errors import UsageError, ValidationError
from crmcli.io.csv_policy import unneutralise
from crmcli.io.text_in import not_decodable

_NAMED = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}


def delimiter_option(delimiter: str | None) -> str | None:
    """``--delimiter`` as a character: one character, or ``tab``, ``comma``, ``semicolon``
    (None: not given, sniff it)."""
    if delimiter is None:
        return None
    delimiter = _NAMED.get(delimiter, delimiter)
    if len(delimiter) != 1:
        raise UsageError(f"--delimiter {delimiter!r} must be one character (or 'tab')")
    return delimiter


def data_rows(reader: Any, encoding: str, *, own: bool) -> Iterator[tuple[str, list[str]]]:
    """``(position, cells)`` for each row of ``reader`` (a :func:`csv.reader` past the header)
    with a non-blank cell; ``position`` is ``"line N"``, the line the row starts on (a quoted
    cell may span lines). With ``own`` (a file crmcli wrote) the ``'`` before cells a
    spreadsheet would run as formulas is taken off. A row that cannot be read, or bytes that
    are not ``encoding``, stop the reading with an error naming the line."""
    last = reader.line_num
    try:
        for row in reader:
            start = last + 1
            last = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # an empty line, or a row of empty cells a spreadsheet left
            yield f"line {start}", [unneutralise(c) for c in row] if own else row
    except UnicodeDecodeError:
        raise not_decodable(encoding, f" near line {last + 1}") from None
    except csv.Error as exc:
        if "end of data" in str(exc):
            raise ValidationError(
                f"line {last + 1}: a quoted cell starts here and is never closed; "
                'fix the stray " in the file and import again (nothing was imported)'
            ) from None
        raise ValidationError(
            f"line {last + 1}: the CSV cannot be read ({exc}); fix that line and import again"
        ) from None
