"""Writing a table as an Excel workbook (``crm export ... --format xlsx``), with typed cells.

CSV leaves every cell's type to the spreadsheet, which guesses: a postal code ``01234`` loses its
zero, a phone ``01712345678`` and an 18-digit id become rounded numbers, ``=...`` becomes a
formula. A workbook says what each cell is: text stays text (never a formula), dates are dates,
money is a number (its currency is a column of its own), true/false are booleans.

A cell's type comes from its value and its column's name, so any table (contacts, notes,
reminders, deals, purchases...) is written by the same function: ``*_at`` columns are times,
``date``/``*_date``/``*_on``/``birthday``... are dates, :data:`MONEY_KEYS` are amounts. XlsxWriter is an
optional dependency, imported here only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any, NamedTuple

from crmcli.errors import CrmError

#: the most characters a spreadsheet cell holds (Excel; LibreOffice reads no more either)
CELL_LIMIT = 32_767
#: columns holding an amount of money as decimal text ("12000.00"); the currency is its own column
MONEY_KEYS = frozenset({"value", "weighted", "amount", "price", "total", "revenue"})
#: columns holding a calendar date as ISO text; a year-less "--04-15" stays text
DATE_KEYS = frozenset({"date", "birthday", "anniversary", "expected_close", "due_date"})
#: whole numbers longer than this stay text: a spreadsheet keeps only 15 significant digits
_MAX_DIGITS = 15
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z?")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
_MAX_WIDTH = 60


class Cut(NamedTuple):
    """A value longer than :data:`CELL_LIMIT`, cut to fit: where it was."""

    row: int
    column: str
    record: Any


def _is_date_key(key: str) -> bool:
    return key in DATE_KEYS or key.endswith(("_date", "_on")) or key.startswith("date:")


def _local(value: str) -> datetime:
    """A stored UTC time as the local time a person reads elsewhere in crm (a workbook has no
    time zones)."""
    from crmcli.clock import from_utc_text

    return from_utc_text(value).replace(tzinfo=None)


class _Writer:
    """Writes one cell at a time with the right type and format."""

    def __init__(self, workbook: Any, sheet: Any, keys: Sequence[str]) -> None:
        self.sheet = sheet
        self.keys = list(keys)
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.time = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.money = {
            places: workbook.add_format(
                {"num_format": "#,##0" + ("." + "0" * places if places else "")}
            )
            for places in range(4)
        }
        self.widths = [len(key) + 3 for key in self.keys]  # room for the autofilter's button
        self.cuts: list[Cut] = []

    def which(self, values: Sequence[Any]) -> str | None:
        """How a warning names a row: its id, else its name."""
        if "id" in self.keys:
            return f"id {values[self.keys.index('id')]}"
        if "name" in self.keys:
            return str(values[self.keys.index("name")])
        return None

    def row(self, index: int, values: Sequence[Any]) -> None:
        for column, (key, value) in enumerate(zip(self.keys, values, strict=True)):
            if value is None or value == "":
                continue
            shown = self.cell(index, column, key, value, values)
            if shown > self.widths[column]:
                self.widths[column] = min(shown, _MAX_WIDTH)

    def cell(self, row: int, column: int, key: str, value: Any, values: Sequence[Any]) -> int:
        """Write one cell; returns how wide it shows, in characters."""
        sheet = self.sheet
        if isinstance(value, bool):
            sheet.write_boolean(row, column, value)
            return 5
        if isinstance(value, int) and len(str(abs(value))) <= _MAX_DIGITS:
            sheet.write_number(row, column, value)
            return len(str(value))
        if isinstance(value, float):
            sheet.write_number(row, column, value)
            return len(str(value))
        text = value if isinstance(value, str) else str(value)
        if (key == "at" or key.endswith("_at")) and _ISO_TIME.fullmatch(text):
            sheet.write_datetime(row, column, _local(text), self.time)
            return 16
        if _is_date_key(key) and _ISO_DATE.fullmatch(text):
            sheet.write_datetime(row, column, date.fromisoformat(text), self.date)
            return 10
        if key in MONEY_KEYS and _DECIMAL.fullmatch(text):
            places = len(text.partition(".")[2])
            sheet.write_number(row, column, float(text), self.money[min(places, 3)])
            return len(text) + len(text) // 3
        if len(text) > CELL_LIMIT:
            self.cuts.append(Cut(row, key, self.which(values)))
            text = text[:CELL_LIMIT]
        # write_string: never a formula, a number or a link, whatever the text looks like
        sheet.write_string(row, column, text)
        return max((len(line) for line in text.split("\n")), default=0)


def write_xlsx(
    rows: Iterable[Sequence[Any]], keys: Sequence[str], out: IO[bytes], *, sheet: str
) -> tuple[int, list[Cut]]:
    """Write a header of ``keys`` and ``rows`` (values in that order) as a workbook to ``out``.

    Returns the row count and the cells that had to be cut. The header row is frozen and has
    an autofilter; column widths follow the content (up to 60 characters). Rows are streamed
    (XlsxWriter's constant-memory mode), so a large export does not sit in memory whole.
    """
    try:
        import xlsxwriter
    except ImportError:
        raise CrmError(
            "--format xlsx needs the XlsxWriter package: pip install 'crmcli[xlsx]' "
            "(or choose --format csv)"
        ) from None
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    worksheet = workbook.add_worksheet(sheet[:31])
    bold = workbook.add_format({"bold": True})
    for column, key in enumerate(keys):
        worksheet.write_string(0, column, key, bold)
    writer = _Writer(workbook, worksheet, keys)
    count = 0
    for count, values in enumerate(rows, 1):
        writer.row(count, values)
    for column, width in enumerate(writer.widths):
        worksheet.set_column(column, column, width)
    worksheet.freeze_panes(1, 0)
    if keys:
        worksheet.autofilter(0, 0, count, len(keys) - 1)
    workbook.close()
    return count, writer.cuts


def describe_cuts(cuts: Sequence[Cut], *, shown: int = 5) -> str:
    """One warning sentence naming the cells that were cut."""
    places = [
        f"row {cut.row + 1} {cut.column}" + (f" ({cut.record})" if cut.record is not None else "")
        for cut in cuts[:shown]
    ]
    more = f" and {len(cuts) - shown} more" if len(cuts) > shown else ""
    return (
        f"{len(cuts)} value{'s' if len(cuts) != 1 else ''} longer than a spreadsheet cell holds "
        f"({CELL_LIMIT:,} characters) {'were' if len(cuts) != 1 else 'was'} cut: "
        f"{', '.join(places)}{more}"
    )
