"""A terminal table drawn a page at a time, so that a long listing holds one page in memory,
and fitted to the terminal so that a value people copy is never broken across lines.

rich measures a whole table before it draws it, so a table of 100,000 contacts would be built
in full first (hundreds of MiB, and nothing on the screen until the end). Here the column widths
come from the first page, and then every page is drawn with those widths, joined so that the
pages read as one table: the header and the top edge once, the bottom edge once. Memory is
bounded by two pages (the one drawn and the one read ahead to know whether it is the last),
whatever the length of the listing.

Fitting (every row stays one line):

- A column that is not ``shorten`` (an id, email, date, amount, phone) gets its whole width:
  its values are never wrapped or cut while the terminal has room for them.
- A ``shorten`` column (free text: a name, a company, a note) is cut with ``…`` when room is
  short, the widest first (the less important counted wider), never below :data:`NARROWEST`.
- When even that does not fit, whole columns give way, the least important first (the highest
  ``priority`` number; of equals, the rightmost); priority 1 always stays. The caller is told
  which went (:class:`Drawn`), to say so.
- A later page whose id or email is wider than the first page's takes the room it needs from
  the text columns, so nothing is cut on page 500 that page 1 would have shown whole.

A table that fits is drawn at its natural widths, exactly as rich draws it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

#: rows per page: enough for the widths of the first page to suit the rest
PAGE_ROWS = 200

#: a text column is not cut narrower than this (or its natural width, if less) to fit
NARROWEST = 10


class Heading(NamedTuple):
    """A column of the table: its title, how its cells are aligned, and how it is fitted."""

    title: str
    justify: str = "left"
    #: long values are cut with … (free text); else kept whole (an email, date, amount, id)
    shorten: bool = True
    #: 1 always stays; on a narrow terminal the highest number gives way first
    priority: int = 2


class Drawn(NamedTuple):
    """What :func:`draw` did: rows drawn, and the titles of the columns left out to fit."""

    rows: int
    hidden: tuple[str, ...] = ()


def draw(
    rows: Iterable[Sequence[Any]],
    headings: Sequence[Heading],
    *,
    console: Any,
    styled: bool,
    title: str | None = None,
    page_rows: int = PAGE_ROWS,
) -> Drawn:
    """Draw ``rows`` on ``console``. A cell is a plain string (never markup: the sink made its
    control characters visible) or a rich ``Text``.

    Nothing is drawn when there are no rows.
    """
    pages = _pages(rows, page_rows)
    page = next(pages, None)
    if page is None:
        return Drawn(0)
    following = next(pages, None)
    fitter = _Fitter(headings, console=console, styled=styled)
    layout = fitter.first(page, spread=following is not None)
    shown = [headings[i] for i in layout.shown]
    count = 0
    first = True
    while page is not None:
        if not first:
            layout = fitter.widened(layout, page)
        table = _table(
            [[row[i] for i in layout.shown] for row in page],
            shown,
            styled=styled,
            title=title if first else None,
            widths=layout.widths,
            header=first,
        )
        if first and following is None:
            console.print(table)  # one page
        else:
            lines = console.render_lines(table, console.options, pad=False, new_lines=True)
            if not first:
                lines = lines[1:]  # the top edge: the page before drew the table's
            if following is not None:
                lines = lines[:-1]  # the bottom edge: drawn once, by the last page
            console.print(_segments(lines))
        count += len(page)
        first = False
        page, following = following, next(pages, None)
    hidden = tuple(h.title for i, h in enumerate(headings) if i not in layout.shown)
    return Drawn(count, hidden)


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


class Layout(NamedTuple):
    """The columns drawn (indexes into the headings) and their widths, in the same order."""

    shown: list[int]
    widths: list[int]
    #: the narrowest each may be cut to, to make room for a wider value on a later page
    floors: list[int]


class _Fitter:
    """Fits the columns of one table to the console's width (see the module's docstring)."""

    def __init__(self, headings: Sequence[Heading], *, console: Any, styled: bool) -> None:
        self.headings = headings
        self.width = console.width
        self.console = console
        self.styled = styled
        self._around: dict[int, int] = {}

    def around(self, shown: list[int]) -> int:
        """What the table adds around the cells of these columns (edges, padding, dividers):
        measured on a probe of one-cell-wide columns, so it follows rich and the box."""
        count = len(shown)
        if count not in self._around:
            from rich.cells import cell_len

            headings = [self.headings[i] for i in shown]
            ones = [1] * count
            probe = _table(
                [["" for _ in headings]], headings, styled=self.styled, title=None, widths=ones
            )
            drawn = self.console.render_lines(
                probe, self.console.options.update_width(10_000), pad=False
            )
            self._around[count] = (
                max(cell_len("".join(s.text for s in line)) for line in drawn) - count
            )
        return self._around[count]

    def first(self, page: list[Sequence[Any]], *, spread: bool) -> Layout:
        """The layout of the first page. With ``spread`` (more pages follow) the text columns
        also share the room left over, for the longer values the pages to come may hold."""
        natural = _widths(page, self.headings)
        floors = [
            min(width, NARROWEST) if heading.shorten else width
            for width, heading in zip(natural, self.headings, strict=True)
        ]
        shown = list(range(len(self.headings)))
        while sum(floors[i] for i in shown) + self.around(shown) > self.width:
            optional = [i for i in shown if self.headings[i].priority > 1]
            if not optional:
                break  # what stays must stay: it is cut below (see _cut)
            shown.remove(max(optional, key=lambda i: (self.headings[i].priority, i)))
        widths = [natural[i] for i in shown]
        layout = Layout(shown, widths, [floors[i] for i in shown])
        spare = self.width - self.around(shown) - sum(widths)
        if spare < 0:
            self._cut(layout, -spare)
        elif spare and spread:
            growing = [p for p, i in enumerate(shown) if self.headings[i].shorten]
            total = sum(widths[p] for p in growing)
            for position in growing:
                widths[position] += spare * natural[shown[position]] // total
        return layout

    def widened(self, layout: Layout, page: list[Sequence[Any]]) -> Layout:
        """``layout`` for a later page: a whole-kept column (an id, an email) whose values are
        wider here than on the first page takes the room it needs from the text columns."""
        shown = [self.headings[i] for i in layout.shown]
        natural = _widths([[row[i] for i in layout.shown] for row in page], shown)
        wider = [
            p
            for p, heading in enumerate(shown)
            if not heading.shorten and natural[p] > layout.widths[p]
        ]
        if not wider:
            return layout
        widths = list(layout.widths)
        floors = list(layout.floors)
        for position in wider:
            floors[position] = natural[position]  # not cut back for the next one
        next_layout = Layout(layout.shown, widths, floors)
        for position in wider:
            spare = self.width - self.around(layout.shown) - sum(widths)
            need = natural[position] - widths[position]
            taken = min(need, max(spare, 0))
            taken += self._take(next_layout, need - taken, keep=position)
            widths[position] += taken
        return next_layout

    def _take(self, layout: Layout, amount: int, *, keep: int = -1) -> int:
        """Cut up to ``amount`` from the text columns, none below its floor; returns how much
        was cut. The widest gives first, a column's width counted more the less important it
        is (priority 1 twice, 2 three times...): a note keeps more room than the contact's name
        beside it, and a name more than the company."""
        widths, floors = layout.widths, layout.floors
        weight = [self.headings[i].priority + 1 for i in layout.shown]
        cut = 0
        while cut < amount:
            above = [
                p
                for p, i in enumerate(layout.shown)
                if p != keep and self.headings[i].shorten and widths[p] > floors[p]
            ]
            if not above:
                break
            position = max(above, key=lambda p: (widths[p] * weight[p], weight[p]))
            # down to the next in one step (a 5,000-character note is not cut by ones)
            following = max((widths[p] * weight[p] for p in above if p != position), default=0)
            level = max(floors[position], -(-following // weight[position]))
            step = max(1, min(widths[position] - level, amount - cut))
            widths[position] -= step
            cut += step
        return cut

    def _cut(self, layout: Layout, excess: int) -> None:
        """Make the table ``excess`` narrower: the text columns first; and when the columns
        that must stay are wider than the terminal, the widest of any kind (cut with …)."""
        excess -= self._take(layout, excess)
        widths = layout.widths
        while excess > 0 and max(widths) > 1:
            widths[widths.index(max(widths))] -= 1
            excess -= 1


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
            overflow="ellipsis",
            no_wrap=True,  # one line a row: a value is cut with …, never broken across lines
            width=widths[index] if widths else None,
        )
    for row in page:
        table.add_row(*row)
    return table


def _segments(lines: list[list[Any]]) -> Any:
    from rich.segment import Segments

    return Segments(itertools.chain.from_iterable(lines))
