"""The terminal table drawn a page at a time (crmcli/cli/_table.py)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from rich import box
from rich.console import Console
from rich.table import Table

from crmcli.cli import _table
from crmcli.cli._table import Heading, draw

HEADINGS = [Heading("ID", "right"), Heading("Name"), Heading("Email")]


def _console(width: int = 60) -> Console:
    return Console(file=io.StringIO(), width=width, no_color=True, highlight=False)


def _text(console: Console) -> str:
    stream = console.file
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


def _rows(count: int) -> list[list[str]]:
    return [
        [str(n), f"Person [b]{n}[/b]" if n % 5 == 0 else f"Person {n}", f"p{n}@example.com"]
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize("styled", [False, True])
def test_a_table_of_one_page_is_drawn_as_rich_draws_it(styled: bool) -> None:
    console = _console()
    assert draw(_rows(5), HEADINGS, console=console, styled=styled, title="Contacts") == 5
    expected = _console()
    table = Table(
        title="Contacts",
        box=box.SIMPLE_HEAD if styled else box.ASCII2,
        header_style="bold" if styled else "",
        title_justify="left",
        pad_edge=False,
    )
    for heading in HEADINGS:
        table.add_column(heading.title, justify=heading.justify, overflow="fold")  # type: ignore[arg-type]
    for row in _rows(5):
        table.add_row(*row)
    expected.print(table)
    assert _text(console) == _text(expected)


@pytest.mark.parametrize("styled", [False, True])
@pytest.mark.parametrize("count", [7, 8, 9])
def test_pages_join_into_one_table(styled: bool, count: int) -> None:
    # Longer values after the first page wrap in their column; the pages read as one table.
    rows = _rows(count)
    rows[-1][2] = "a.much.longer.address.than.the.first.page.had@example.com"
    console = _console()
    assert draw(rows, HEADINGS, console=console, styled=styled, title="T", page_rows=2) == count
    reference = _console()
    widths = _table._fill(
        _table._widths(rows[:2], HEADINGS), HEADINGS, console=reference, styled=styled
    )
    reference.print(
        _table._table(rows, HEADINGS, styled=styled, title="T", widths=widths, header=True)
    )
    assert _text(console) == _text(reference)
    assert max(len(line) for line in _text(console).splitlines()) <= 60
    assert "a.much.longer" in _text(console)


def test_a_long_listing_holds_two_pages_at_most() -> None:
    pulled = 0
    drawn_after: list[int] = []

    def rows() -> Iterator[Sequence[str]]:
        nonlocal pulled
        for row in _rows(1000):
            pulled += 1
            yield row

    console = _console()
    original = console.print

    def print_and_count(*args: Any, **kwargs: Any) -> None:
        drawn_after.append(pulled)
        original(*args, **kwargs)

    console.print = print_and_count  # type: ignore[method-assign]
    assert draw(rows(), HEADINGS, console=console, styled=False, page_rows=50) == 1000
    # the first page is drawn once the second is read, each next one a page later
    assert drawn_after == [min(100 + 50 * n, 1000) for n in range(20)]
    assert _text(console).count("Person 1000") == 1


def test_no_rows_draw_nothing() -> None:
    console = _console()
    assert draw(iter([]), HEADINGS, console=console, styled=False) == 0
    assert _text(console) == ""
