"""The one output sink: every listing and record goes out through here.

``table`` is for people (rich, only imported for it); ``tsv`` (the default when stdout is not a
terminal), ``csv``, ``json`` and ``jsonl`` are for scripts. Rows are written as they arrive, so a
long listing starts printing at once and is never held in memory whole (except for ``table``,
which must measure its columns).

This is also the one place where untrusted text meets the terminal (docs/security.md): every
value is shown as data, never read as rich markup, and its control characters are made visible
(:func:`visible`): the rich console refuses markup and escapes any string it is given, table
cells and TSV cells are escaped to one line, JSON escapes them as ``\\u`` sequences.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import IO, Any, NamedTuple, TextIO

from crmcli.cli import _pager
from crmcli.controls import json_safe, tsv_escaped
from crmcli.controls import visible as _visible
from crmcli.errors import CrmError, UsageError


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"


class Kind(str, Enum):
    """What a column holds, which decides how a terminal table fits it (crmcli/cli/_table.py):
    ``text`` is cut with … when room is short; every other kind is kept whole on one line
    (an email, a date or an amount broken in two is misread or mis-copied)."""

    id = "id"
    number = "number"
    money = "money"
    date = "date"
    email = "email"
    phone = "phone"
    text = "text"


#: keys that hold a date whatever their name says
_DATE_KEYS = frozenset(
    {"date", "due", "birthday", "anniversary", "expected_close", "start", "end"}
    | {"first_purchase", "last_purchase"}
)
_MONEY_KEYS = frozenset({"amount", "monetary"})


class Column(NamedTuple):
    """One column of a listing: its JSON key, its table header, and how a table shows it.

    ``kind`` and ``priority`` fit the table to the terminal: without a kind, one is guessed from
    the key (``id``/``*_id``, ``*email*``, ``*phone*``, ``*_at``/``*_on``, ``*_minor``...;
    right-aligned means a number); ``priority`` 1 always stays, and on a narrow terminal the
    highest number gives way first (of equals, the rightmost). ``justify`` defaults to right
    for ids, numbers and money."""

    key: str
    header: str | None = None
    in_table: bool = True
    show: Callable[[Any], str] | None = None
    justify: str = ""
    kind: Kind | None = None
    priority: int = 2

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ").title()

    @property
    def fit(self) -> Kind:
        """The column's kind, given or guessed from its key."""
        if self.kind is not None:
            return self.kind
        key = self.key
        if key == "id" or key.endswith("_id"):
            return Kind.id
        if "email" in key:
            return Kind.email
        if "phone" in key:
            return Kind.phone
        if key.endswith(("_at", "_on")) or key in _DATE_KEYS:
            return Kind.date
        if key.endswith("_minor") or key.startswith("display_") or key in _MONEY_KEYS:
            return Kind.money
        return Kind.number if self.justify == "right" else Kind.text

    @property
    def align(self) -> str:
        if self.justify:
            return self.justify
        return "right" if self.fit in (Kind.id, Kind.number, Kind.money) else "left"


def short_time(value: Any) -> str:
    """A stored timestamp to the minute for a table cell: ``2026-11-23 09:00`` (UTC text as
    it is stored; the column's heading says so)."""
    return "" if not value else str(value)[:16].replace("T", " ")


def resolve_format(fmt: OutputFormat | str | None) -> OutputFormat:
    """The format asked for, else ``table`` on a terminal and ``tsv`` in a pipe."""
    if fmt:
        return OutputFormat(fmt)
    return OutputFormat.table if _pager.stdout_is_terminal() else OutputFormat.tsv


def styled() -> bool:
    """Colour and box drawing: only on a terminal, and not with NO_COLOR or TERM=dumb."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    return _pager.stdout_is_terminal() or bool(os.environ.get("FORCE_COLOR"))


_CONSOLE_CLASS: Any = None


def _console_class() -> Any:
    """rich's Console, made safe for data: no markup, no emoji codes, and every string it is
    handed (a table cell, a title, a line) has its control characters made visible, tab and
    newline kept. Views build styled lines with :func:`text` and :func:`line`."""
    global _CONSOLE_CLASS
    if _CONSOLE_CLASS is None:
        from rich.console import Console

        class SafeConsole(Console):
            def render_str(self, text: str, **options: Any) -> Any:
                options["markup"] = False
                options["emoji"] = False
                return super().render_str(_visible(text, multiline=True), **options)

            def on_broken_pipe(self) -> None:
                # the reader left (`| head`, `q` in the pager): the command's error handler
                # ends quietly with 0 (rich's own exits 1)
                self.quiet = True
                raise BrokenPipeError

        _CONSOLE_CLASS = SafeConsole
    return _CONSOLE_CLASS


def console(stderr: bool = False) -> Any:
    """A rich Console, made on demand (rich costs ~50 ms to import; scripts never need it).
    One for stdout is about to write: on a terminal, that starts the pager (crmcli/cli/_pager.py),
    and the console is then drawn for the terminal the pager shows on."""
    if not stderr:
        _pager.start()
    size = None if stderr else _pager.size()
    return _console_class()(
        stderr=stderr,
        no_color=not styled(),
        highlight=False,
        soft_wrap=False,
        markup=False,
        emoji=False,
        force_terminal=True if size else None,
        width=size[0] if size else None,
        height=size[1] if size else None,
    )


def visible(value: Any, *, multiline: bool = False) -> str:
    """A value as terminal text: control characters (ESC, BEL, CR, C1, bidi overrides...)
    written as visible escapes; newline and tab kept only with ``multiline``."""
    return _visible(_plain(value), multiline=multiline)


def text(value: Any, style: str = "", *, multiline: bool = False) -> Any:
    """A rich ``Text`` of ``value`` in ``style``: data, never markup, controls made visible."""
    from rich.text import Text

    return Text(visible(value, multiline=multiline), style=style)


def line(*parts: Any) -> Any:
    """A rich ``Text`` from parts: a value, or ``(value, style)``; a part that is exactly
    ``"\n"`` is a line break. Every value is data (see :func:`text`)."""
    from rich.text import Text

    out = Text()
    for part in parts:
        if isinstance(part, tuple):
            out.append(visible(part[0]), style=part[1])
        elif part == "\n":
            out.append("\n")
        else:
            out.append(visible(part))
    return out


def aligned(out: Any, rows: Iterable[Sequence[Any]], *, prose: Container[int]) -> None:
    """The lines of a record view's section (``crm contact show``'s notes, reminders, deals),
    indented, each part in its column: the ``prose`` columns (free text) wrap within their
    column, and every other part (a date, an amount, a ref) stays whole on its line, never
    broken at a space as one long line would be. A part is a value or ``(value, style)``, as
    for :func:`line`."""
    from rich.text import Text

    cells = [[line(part) for part in parts] for parts in rows]
    if not cells:
        return
    widths = [max(cell.cell_len for cell in column) for column in zip(*cells, strict=True)]
    wrapping = [i for i in range(len(widths)) if i in prose]
    excess = sum(widths) + 2 * len(widths) - out.width
    if excess > 0:  # the prose columns share what the whole parts leave
        room = sum(widths[i] for i in wrapping) - excess
        if room < 10 * len(wrapping):
            return _aligned_grid(out, cells, prose)  # a very narrow terminal: rich decides
        total = sum(widths[i] for i in wrapping)
        for index in wrapping:
            widths[index] = max(1, room * widths[index] // total)
    gap = Text("  ")
    lines = []
    for row in cells:
        # wrapped by hand, not by a rich table, and printed at once: contact show draws as fast
        # as it did with one long line a note
        parts = [
            cell.wrap(out, widths[i]) if i in wrapping and cell.cell_len > widths[i] else [cell]
            for i, cell in enumerate(row)
        ]
        for depth in range(max(len(part) for part in parts)):
            pieces = [part[depth] if depth < len(part) else Text() for part in parts]
            for piece, width in zip(pieces[:-1], widths, strict=False):
                piece.pad_right(width - piece.cell_len)
            lines.append(Text.assemble(gap, gap.join(pieces)))
    out.print(Text("\n").join(lines))


def _aligned_grid(out: Any, cells: list[list[Any]], prose: Container[int]) -> None:
    from rich.table import Table

    grid = Table.grid(padding=(0, 0, 0, 2), pad_edge=True)
    for column in range(len(cells[0])):
        grid.add_column(no_wrap=column not in prose, overflow="fold")
    for row in cells:
        grid.add_row(*row)
    out.print(grid)


def message(text: str) -> None:
    """A message for the person (what was done, a hint): always stderr, so stdout stays data.
    Messages echo data (names, file contents), so their control characters are made visible."""
    print(_visible(text, multiline=True), file=sys.stderr)


def heading(text: str) -> None:
    """A section heading in a document-like view (``crm demo``): a blank line, then the title,
    bold on a terminal."""
    bold = styled()
    sys.stdout.write(f"\n\x1b[1m{text}\x1b[0m\n" if bold else f"\n{text}\n")


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if type(value) in (list, tuple):  # not a NamedTuple record: that one prints as itself
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _tsv_cell(value: Any) -> str:
    # Escapes as in PostgreSQL's text format (and every other control character as \\xNN),
    # so every row stays on one line with a fixed number of tab-separated cells and a
    # terminal never receives a raw escape sequence.
    if value.__class__ is int:  # not bool: that one prints as true/false
        return str(value)
    return tsv_escaped(value if value.__class__ is str else _plain(value))


def _tsv(rows: Iterable[Any], keys: list[str], stream: TextIO, *, tuples: bool = False) -> int:
    """The TSV rows; the common case (no tab, control character or backslash anywhere in a row)
    costs one join per row instead of a function call per cell. With ``tuples`` each row is
    its cells in the order of ``keys``.

    Rows are written in blocks of :data:`_TSV_BLOCK` lines, each block checked at once for
    control characters (a scan in C over the block, not a call per row); a block that has one
    is written row by row through the exact escaping. Blocks are small, so a long listing
    still starts printing at once."""
    write = stream.write
    write("\t".join(keys) + "\n")
    tabs = len(keys) - 1
    count = 0
    block: list[str] = []
    cells_of: list[list[str]] = []
    for row in rows:
        cells = [
            v
            if v.__class__ is str
            else ""
            if v is None
            else str(v)
            if v.__class__ is int
            else _plain(v)
            for v in (row if tuples else map(row.get, keys))
        ]
        line = "\t".join(cells)
        if line.count("\t") != tabs or "\\" in line:
            line = "\t".join(map(_tsv_cell, cells))
        block.append(line)
        cells_of.append(cells)
        count += 1
        if len(block) == _TSV_BLOCK:
            _write_block(write, block, cells_of)
            block, cells_of = [], []
    _write_block(write, block, cells_of)
    return count


#: rows per checked TSV block (about 10 KB)
_TSV_BLOCK = 128


def _write_block(write: Callable[[str], Any], lines: list[str], cells_of: list[list[str]]) -> None:
    text = "\n".join(lines)
    # str.isprintable() is False for every control character (and for a few harmless ones,
    # like a no-break space: a block with one merely takes the exact path)
    if not text.replace("\t", " ").replace("\n", " ").isprintable():
        text = "\n".join("\t".join(map(_tsv_cell, cells)) for cells in cells_of)
    if text:
        write(text + "\n")


def _keys(columns: Sequence[Column | str]) -> list[Column]:
    return [c if isinstance(c, Column) else Column(c) for c in columns]


def emit(
    rows: Iterable[Any],
    columns: Sequence[Column | str],
    fmt: OutputFormat | str | None,
    *,
    title: str | None = None,
    empty: str | None = None,
    out: TextIO | None = None,
    tuples: bool = False,
) -> int:
    """Write ``rows`` in ``fmt``; returns how many were written.

    ``columns`` fixes which keys go out and in what order (JSON gets exactly these keys too).
    ``empty`` is said on stderr, for a person, when there is nothing to show. With ``tuples``
    each row is a sequence of values in the order of ``columns`` instead of a dictionary:
    TSV writes it as it is, which saves building a dictionary per row.
    """
    fmt = resolve_format(fmt)
    cols = _keys(columns)
    stream = out or sys.stdout
    rows = _primed(rows)
    nothing = rows == ()
    if out is None and not nothing:
        _pager.start()  # long output on a terminal: through the pager
    if tuples and fmt is OutputFormat.tsv:
        return _tsv(rows, [c.key for c in cols], stream, tuples=True)
    if tuples:
        keys = [c.key for c in cols]
        rows = (dict(zip(keys, row, strict=True)) for row in rows)
    count = 0
    if fmt is OutputFormat.table:
        count = 0 if nothing else _table(rows, cols, title=title)
    elif fmt in (OutputFormat.json, OutputFormat.jsonl):
        # json and csv only for the formats that need them (start-up time of every command)
        from crmcli.io.json_out import write_json

        count = write_json(
            ({c.key: row.get(c.key) for c in cols} for row in rows),
            stream,
            lines=fmt is OutputFormat.jsonl,
        )
    elif fmt is OutputFormat.csv:
        stream = on_terminal(stream)
        # the one CSV policy of crmcli (formula-like cells neutralised), as for the exports
        from crmcli.io.csv_policy import write_csv

        count = write_csv(
            ([_plain(row.get(c.key)) for c in cols] for row in rows), [c.key for c in cols], stream
        )
    else:
        count = _tsv(rows, [c.key for c in cols], stream)
    if count == 0 and empty and fmt is OutputFormat.table:
        message(empty)
    return count


def _primed(rows: Iterable[Any]) -> Iterable[Any]:
    """Take the first row before anything is written: a lazy query that fails on bad input
    (a bad filter, a missing contact) then fails with an error alone, not after a header."""
    iterator = iter(rows)
    for first in iterator:
        return itertools.chain((first,), iterator)
    return ()


def _table(rows: Iterable[dict[str, Any]], cols: list[Column], *, title: str | None) -> int:
    # Drawn a page at a time (crmcli/cli/_table.py): a long listing never sits whole in memory;
    # fitted to the terminal: one line a row, an email or amount never broken.
    from crmcli.cli._table import Heading, draw

    shown = [c for c in cols if c.in_table]
    cells = ([_cell(c, row.get(c.key)) for c in shown] for row in rows)
    headings = [Heading(c.title, c.align, c.fit is Kind.text, c.priority) for c in shown]
    out = console()
    drawn = draw(cells, headings, console=out, styled=styled(), title=title)
    if drawn.hidden:
        # below the table, not on stderr: it is part of what the person reads (in a pager too)
        count = len(drawn.hidden)
        names = ", ".join(drawn.hidden)
        columns = "column" if count == 1 else "columns"
        out.print(text(f"{count} {columns} hidden ({names}); --format tsv for all", "dim"))
    return drawn.rows


def _cell(column: Column, value: Any) -> Any:
    """One table cell: data on one line, its control characters made visible. A column's
    ``show`` may return a rich Text built with :func:`text`/:func:`line` (already safe)."""
    shown = column.show(value) if column.show is not None else value
    return shown if hasattr(shown, "__rich_console__") else visible(shown)


def emit_record(
    record: dict[str, Any],
    fmt: OutputFormat | str | None,
    *,
    render: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Write one record: an object in JSON, ``key<TAB>value`` lines in TSV/CSV, or ``render``."""
    fmt = resolve_format(fmt)
    _pager.start()
    if fmt in (OutputFormat.json, OutputFormat.jsonl):
        import json

        indent = 2 if fmt is OutputFormat.json else None
        sys.stdout.write(json_safe(json.dumps(record, ensure_ascii=False, indent=indent)) + "\n")
    elif fmt is OutputFormat.table and render is not None:
        render(record)
    else:
        pairs = [{"field": k, "value": v} for k, v in _flatten(record)]
        emit(pairs, ["field", "value"], OutputFormat.tsv if fmt is OutputFormat.table else fmt)


def _flatten(record: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_flatten(value, f"{name}."))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for index, item in enumerate(value, 1):
                out.extend(_flatten(item, f"{name}.{index}."))
        else:
            out.append((name, value))
    return out


class _TerminalText:
    """A text stream to a terminal that makes control characters visible in what is written
    (CSV and vCard carry data as it is; a terminal must not act on it)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, data: str) -> int:
        # CRLF line ends (vCard, iCalendar, Excel CSV) are line ends here, not a stray CR
        return self._stream.write(_visible(data.replace("\r\n", "\n"), multiline=True))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def on_terminal(stream: TextIO) -> TextIO:
    """``stream``, made safe for data when it is a terminal."""
    isatty = getattr(stream, "isatty", None)
    if (isatty is not None and isatty()) or (stream is sys.stdout and _pager.active()):
        return _TerminalText(stream)  # type: ignore[return-value]
    return stream


def open_private(path: Path, *, replace: bool = False) -> IO[str]:
    """A new text file readable by its owner only (it holds customer data), created
    exclusively: never through a link or over a name planted in advance. With ``replace`` an
    existing regular file of that name is removed first (the caller checked it may be)."""
    from crmcli.files import create_exclusive

    if replace and path.is_file() and not path.is_symlink():
        path.unlink()
    try:
        fd = create_exclusive(path)
    except FileExistsError:
        raise UsageError(
            f"{path} exists; add --force to replace it, or give another name"
        ) from None
    return open(fd, "w", encoding="utf-8", newline="")


def _is_stdout(path: Path) -> bool:
    """``-o /dev/stdout`` (or another name of the very file stdout already writes to)."""
    try:
        target, ours = path.stat(), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (target.st_dev, target.st_ino) == (ours.st_dev, ours.st_ino)


@contextmanager
def output_file(
    path: Path | None, *, force: bool = False, database: Path | None = None
) -> Iterator[IO[str]]:
    """stdout, or a file written whole or not at all (a private temporary file, created
    exclusively, renamed at the end).

    The target is checked first (:func:`crmcli.files.check_target`): never the database or
    another SQLite file, never an existing file without ``force``. Errors name the file the user
    asked for, never the temporary one.
    """
    if path is None or str(path) == "-" or _is_stdout(path):
        _pager.start()
        yield on_terminal(sys.stdout)
        sys.stdout.flush()
        return
    from crmcli.files import check_target

    check_target(path, what="--output", force=force, database=database)
    if path.exists() and not path.is_file():
        # A device or a pipe (a FIFO, /dev/null): write into it. Renaming a temporary file
        # over it would replace the device itself.
        try:
            with open(path, "w", encoding="utf-8", newline="") as device:
                yield device
        except OSError as exc:
            raise CrmError(f"cannot write {path}: {describe_os_error(exc)}") from None
        return
    import tempfile

    # Through a symlink (allowed with --force only, as the file it names exists), the file it
    # points to is replaced, not the link.
    target = path.resolve() if path.is_symlink() else path
    try:
        # mkstemp: a new random name, O_EXCL (and O_NOFOLLOW), mode 0600
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise CrmError(f"cannot write {path}: {exc.strerror}") from None
    temp = Path(name)
    try:
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(temp, target)
    except OSError as exc:
        raise CrmError(f"cannot write {path}: {describe_os_error(exc)}") from None
    finally:
        temp.unlink(missing_ok=True)


def describe_os_error(exc: OSError) -> str:
    """The reason of a failed write, in words; a full disk says that nothing was saved."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full: nothing was saved (free some space and retry)"
    return exc.strerror or str(exc)
