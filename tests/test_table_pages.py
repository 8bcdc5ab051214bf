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
from crmcli.cli._output import Column, Kind, emit
from crmcli.cli._table import Heading, draw

HEADINGS = [Heading("ID", "right"), Heading("Name"), Heading("Email")]


def _console(width: int = 60) -> Console:
    # markup off, as the sink's console: a cell is data
    return Console(file=io.StringIO(), width=width, no_color=True, highlight=False, markup=False)


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
    assert draw(_rows(5), HEADINGS, console=console, styled=styled, title="Contacts").rows == 5
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
    assert (
        draw(rows, HEADINGS, console=console, styled=styled, title="T", page_rows=2).rows == count
    )
    reference = _console()
    fitter = _table._Fitter(HEADINGS, console=reference, styled=styled)
    # (the table takes rows as Sequences: a list of lists is one, but list is invariant)
    read_only: list[Sequence[str]] = list(rows)
    widths = fitter.first(read_only[:2], spread=True).widths
    reference.print(
        _table._table(read_only, HEADINGS, styled=styled, title="T", widths=widths, header=True)
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
    assert draw(rows(), HEADINGS, console=console, styled=False, page_rows=50).rows == 1000
    # the first page is drawn once the second is read, each next one a page later
    assert drawn_after == [min(100 + 50 * n, 1000) for n in range(20)]
    assert _text(console).count("Person [b]1000[/b]") == 1


def test_no_rows_draw_nothing() -> None:
    console = _console()
    assert draw(iter([]), HEADINGS, console=console, styled=False).rows == 0
    assert _text(console) == ""


# --- fitting to the terminal --------------------------------------------------------------------

KEPT = Heading("ID", "right", shorten=False, priority=1)
NAME = Heading("Name", priority=1)
EMAIL = Heading("Email", shorten=False)
COMPANY = Heading("Company", priority=3)
TAGS = Heading("Tags", priority=4)

LONG_EMAILS = [
    "alexandra.kowalczyk-brennan@northwind-logistics.example",
    "bart.fitzgerald@fitzgerald-okonkwo-architects.example",
]


def _people(count: int, email_of: Any = None) -> list[list[str]]:
    return [
        [
            str(n),
            f"Alexandra Kowalczyk-Brennan the {n}th",
            email_of(n) if email_of else LONG_EMAILS[n % 2],
            "Northwind Logistics International GmbH",
            "customer, vip, newsletter",
        ]
        for n in range(1, count + 1)
    ]


PEOPLE = [KEPT, NAME, EMAIL, COMPANY, TAGS]


def _lines(console: Console) -> list[str]:
    return _text(console).splitlines()


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("|")[1:-1]]


@pytest.mark.parametrize("width", [80, 100, 120])
@pytest.mark.parametrize("page_rows", [200, 3])
def test_an_email_is_never_cut_and_every_row_is_one_line(width: int, page_rows: int) -> None:
    console = _console(width)
    rows = _people(8)
    drawn = draw(rows, PEOPLE, console=console, styled=False, page_rows=page_rows)
    lines = _lines(console)
    assert all(len(line) <= width for line in lines)
    assert _cells(lines[1])[:3] == ["ID", "Name", "Email"]
    body = [_cells(line) for line in lines[3:-1]]
    assert [cells[0] for cells in body] == [str(n) for n in range(1, 9)]  # one line a row
    assert [cells[2] for cells in body] == [row[2] for row in rows]  # whole
    assert all(cells[1].startswith("Alexandra") for cells in body)
    assert "Email" not in drawn.hidden and "Name" not in drawn.hidden


def test_long_text_is_cut_with_an_ellipsis_and_no_narrower_than_the_floor() -> None:
    console = _console(80)
    draw([row[:3] for row in _people(2)], [KEPT, NAME, EMAIL], console=console, styled=False)
    names = [_cells(line)[1] for line in _lines(console)[3:5]]
    assert all(name.endswith("…") and len(name) >= _table.NARROWEST for name in names)


def test_the_least_important_columns_give_way_first() -> None:
    # at 100 columns the tags (priority 4) go; at 80 the company (3) too
    console = _console(100)
    assert draw(_people(3), PEOPLE, console=console, styled=False).hidden == ("Tags",)
    assert _cells(_lines(console)[1]) == ["ID", "Name", "Email", "Company"]
    console = _console(80)
    assert draw(_people(3), PEOPLE, console=console, styled=False).hidden == ("Company", "Tags")
    assert _cells(_lines(console)[1]) == ["ID", "Name", "Email"]


def test_of_equal_priority_the_rightmost_gives_way_first() -> None:
    headings = [KEPT, Heading("A", shorten=False), Heading("B", shorten=False)]
    rows = [["1", "a" * 30, "b" * 30]]
    assert draw(rows, headings, console=_console(50), styled=False).hidden == ("B",)


def test_a_fitting_table_hides_nothing_and_keeps_its_natural_widths() -> None:
    console = _console(200)
    assert draw(_people(2), PEOPLE, console=console, styled=False).hidden == ()
    assert "…" not in _text(console)
    assert max(len(line) for line in _lines(console)) < 200


def test_a_later_page_with_a_wider_email_or_id_widens_its_column() -> None:
    longest = "a.much.longer.address.than.the.first.page.had@example.com"
    rows = [[str(n), f"Person {n} " * 8, f"p{n}@example.com"] for n in range(1, 13)]
    rows[6][2] = longest
    rows[-1][0] = "123456"  # more digits than the first page's ids
    console = _console(120)
    draw(rows, [KEPT, NAME, EMAIL], console=console, styled=False, page_rows=3)
    lines = _lines(console)
    assert longest in _text(console)
    assert _cells(lines[-2])[0] == "123456"
    assert all(len(line) <= 120 for line in lines)


def test_what_must_stay_is_cut_only_when_it_cannot_fit_at_all() -> None:
    console = _console(30)
    drawn = draw([["1", "x", LONG_EMAILS[0]]], [KEPT, NAME, EMAIL], console=console, styled=False)
    assert drawn.hidden == ("Email",)
    console = _console(30)
    must = [KEPT, EMAIL._replace(priority=1)]
    assert draw([["1", LONG_EMAILS[0]]], must, console=console, styled=False).hidden == ()
    assert all(len(line) <= 30 for line in _lines(console))
    assert "…" in _text(console)


# --- what the listings declare: kinds, guessed when not given ------------------------------------


@pytest.mark.parametrize(
    ("column", "kind", "align"),
    [
        (Column("id"), Kind.id, "right"),
        (Column("contact_id", "ID"), Kind.id, "right"),
        (Column("email"), Kind.email, "left"),
        (Column("to_email", "To"), Kind.email, "left"),
        (Column("phone"), Kind.phone, "left"),
        (Column("created_at"), Kind.date, "left"),
        (Column("purchased_on"), Kind.date, "left"),
        (Column("expected_close"), Kind.date, "left"),
        (Column("value_minor"), Kind.money, "right"),
        (Column("display_amount"), Kind.money, "right"),
        (Column("monetary"), Kind.money, "right"),
        (Column("contacts", justify="right"), Kind.number, "right"),
        (Column("name"), Kind.text, "left"),
        (Column("body", "Note"), Kind.text, "left"),
        (Column("ref", kind=Kind.id, justify="left"), Kind.id, "left"),
    ],
)
def test_a_column_kind_is_guessed_from_its_key(column: Column, kind: Kind, align: str) -> None:
    assert column.fit is kind
    assert column.align == align


def test_every_listing_column_has_a_sensible_kind() -> None:
    """The listings' emails, dates, amounts and ids are kept whole (declared or guessed)."""
    from crmcli.cli import purchases, reminders
    from crmcli.cli.views import contacts, customers, deals, notes

    def kinds(columns: list[Column]) -> dict[str, Kind]:
        return {c.key: c.fit for c in columns if c.in_table}

    assert kinds(contacts.LIST_COLUMNS) == {
        "id": Kind.id, "name": Kind.text, "company": Kind.text, "email": Kind.email,
        "phone": Kind.phone, "tags": Kind.text,
    }  # fmt: skip
    listed = kinds(deals.LIST_COLUMNS)
    assert (listed["display_value"], listed["expected_close"]) == (Kind.money, Kind.date)
    listed = kinds(purchases.COLUMNS)
    assert (listed["purchased_on"], listed["display_amount"]) == (Kind.date, Kind.money)
    assert kinds(customers.COLUMNS)["last_purchase"] is Kind.date
    assert kinds(notes.NOTE_COLUMNS)["at"] is Kind.date
    assert kinds(reminders.TABLE_COLUMNS)["due"] is Kind.date


def test_the_table_says_below_it_which_columns_were_hidden(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    rows = [{"id": 1, "name": "Ann Example", "email": LONG_EMAILS[0], "tags": "vip"}]
    columns = [Column("id", priority=1), Column("name", priority=1), Column("email"),
               Column("tags", priority=4)]  # fmt: skip
    assert emit(rows, columns, "table") == 1
    out = capsys.readouterr().out
    assert out.rstrip().endswith("2 columns hidden (Email, Tags); --format tsv for all")
    monkeypatch.setenv("COLUMNS", "200")
    emit(rows, columns, "table")
    assert "hidden" not in capsys.readouterr().out


def test_a_more_important_text_column_keeps_more_room() -> None:
    headings = [KEPT, Heading("Contact"), Heading("Note", priority=1)]
    rows = [
        ["1", "Alexandra Kowalczyk-Brennan", "Met at the Hamburg trade fair; wants a quote " * 3]
    ]
    console = _console(60)
    draw(rows, headings, console=console, styled=False)
    contact, note = _cells(_lines(console)[3])[1:]
    assert contact.endswith("…") and note.endswith("…")
    assert len(note) > len(contact) >= _table.NARROWEST
