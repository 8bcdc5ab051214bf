"""A terminal table drawn a page at a time, so that a long listing holds one page in memory.

rich measures a whole table before it draws it, so a table of 100,000 contacts would be built
in full first (hundreds of MiB, and nothing on the screen until the end). Here a listing that
fits in one page is drawn exactly as rich draws it; a longer one gets its column widths from
its first page, and then every page is drawn with those widths (a longer value wraps in its
column), joined so that the pages read as one table: the header and the top edge once, the
bottom edge once. Memory is bounded by two pages (the one drawn and the one read ahead to know
whether it is the last), whatever the length of the listing.

Used by the output sink (``_output.emit`` for ``--format table``); a pager or column
priorities can be put around :func:`draw` (it takes the console to draw on).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

#: rows per page: enough for the widths of the first page to suit the rest
PAGE_ROWS = 200


class Heading(NamedTuple):
    """A column of the table: its title and how its cells are aligned."""

    title: str
    justify: str = "left"


def draw(
    rows: Iterable[Sequence[Any]],
    headings: Sequence[Heading],
    *,
    console: Any,
    styled: bool,
    title: str | None = None,
    page_rows: int = PAGE_ROWS,
) -> int:
    """Draw ``rows`` on ``console``; returns how many were drawn. A cell is a plain string
    (never markup: the sink made its control characters visible) or a rich ``Text``.

    Nothing is drawn when there are no rows.
    """
    pages = _pages(rows, page_rows)
    page = next(pages, None)
    if page is None:
        return 0
    following = next(pages, None)
    if following is None:  # one page: rich measures and draws it as it always has
        console.print(_table(page, headings, styled=styled, title=title))
        return len(page)
    widths = _fill(_widths(page, headings), headings, console=console, styled=styled)
    count = 0
    first = True
    while page is not None:
        table = _table(
            page,
            headings,
            styled=styled,
            title=title if first else None,
            widths=widths,
            header=first,
        )
        lines = console.render_lines(table, console.options, pad=False, new_lines=True)
        if not first:
            lines = lines[1:]  # the top edge: the page before drew the table's
        if following is not None:
            lines = lines[:-1]  # the bottom edge: drawn once, by the last page
        console.print(_segments(lines))
        count += len(page)
        first = False
        page, following = following, next(pages, None)
    return count


def _pages(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    while page := list(itertools.islice(iterator, size)):
        yield page


def _widths(page: list[Sequence[Any]], headings: Sequence[Heading]) -> list[int]:
    """Each column's natural width on this page: its widest line, header included."""
    from rich.cells import cell_len

    widths = [cell_len(h.title) for h in headings]
    for row in page:
        for index, cell in enumerate(row):
            plain = cell if isinstance(cell, str) else cell.plain
            widest = max(cell_len(line) for line in plain.split("\n"))
            if widest > widths[index]:
                widths[index] = widest
    return widths


def _fill(
    widths: list[int], headings: Sequence[Heading], *, console: Any, styled: bool
) -> list[int]:
    """The widths of the first page fitted to the terminal: the text (left-aligned) columns
    share the room left over (the pages to come may hold longer values), or, when the first
    page is already too wide, the widest of them give up room first, as rich would wrap them.
    """
    from rich.cells import cell_len

    # What the table adds around its cells (edges, padding), measured on a one-cell-wide probe.
    ones = [1 for _ in headings]
    probe = _table([["" for _ in headings]], headings, styled=styled, title=None, widths=ones)
    drawn = console.render_lines(probe, console.options.update_width(10_000), pad=False)
    around = max(cell_len("".join(s.text for s in line)) for line in drawn) - len(ones)
    spare = console.width - around - sum(widths)
    growing = [i for i, h in enumerate(headings) if h.justify == "left"]
    filled = list(widths)
    total = sum(widths[i] for i in growing)
    if spare > 0 and total:
        for index in growing:
            filled[index] += spare * widths[index] // total
    while spare < 0 and growing:
        widest = max(growing, key=lambda i: filled[i])
        if filled[widest] <= _NARROWEST:
            break  # rich shares what is still missing among all columns
        filled[widest] -= 1
        spare += 1
    return filled


#: a text column is not made narrower than this to fit the terminal
_NARROWEST = 8


def _table(
    page: list[Sequence[Any]],
    headings: Sequence[Heading],
    *,
    styled: bool,
    title: str | None,
    widths: list[int] | None = None,
    header: bool = True,
) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        title=title,
        box=box.SIMPLE_HEAD if styled else box.ASCII2,
        header_style="bold" if styled else "",
        title_justify="left",
        pad_edge=False,
        show_header=header,
    )
    for index, heading in enumerate(headings):
        table.add_column(
            heading.title,
            justify=heading.justify,  # type: ignore[arg-type]
            overflow="fold",
            width=widths[index] if widths else None,
        )
    for row in page:
        table.add_row(*row)
    return table


def _segments(lines: list[list[Any]]) -> Any:
    from rich.segment import Segments

    return Segments(itertools.chain.from_iterable(lines))
