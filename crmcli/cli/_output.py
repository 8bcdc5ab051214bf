"""The one output sink: every listing and record goes out through here.

``table`` is for people (rich, only imported for it); ``tsv`` (the default when stdout is not a
terminal), ``csv``, ``json`` and ``jsonl`` are for scripts. Rows are written as they arrive, so a
long listing starts printing at once and is never held in memory whole (except for ``table``,
which must measure its columns).
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import IO, Any, NamedTuple, TextIO

from crmcli.errors import CrmError, UsageError


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"


class Column(NamedTuple):
    """One column of a listing: its JSON key, its table header, and how a table shows it."""

    key: str
    header: str | None = None
    in_table: bool = True
    show: Callable[[Any], str] | None = None
    justify: str = "left"

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ").title()


def resolve_format(fmt: OutputFormat | str | None) -> OutputFormat:
    """The format asked for, else ``table`` on a terminal and ``tsv`` in a pipe."""
    if fmt:
        return OutputFormat(fmt)
    return OutputFormat.table if sys.stdout.isatty() else OutputFormat.tsv


def styled() -> bool:
    """Colour and box drawing: only on a terminal, and not with NO_COLOR or TERM=dumb."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty() or bool(os.environ.get("FORCE_COLOR"))


def console(stderr: bool = False) -> Any:
    """A rich Console, made on demand (rich costs ~50 ms to import; scripts never need it)."""
    from rich.console import Console

    return Console(
        stderr=stderr,
        no_color=not styled(),
        highlight=False,
        soft_wrap=False,
    )


def message(text: str) -> None:
    """A message for the person (what was done, a hint): always stderr, so stdout stays data."""
    print(text, file=sys.stderr)


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


_TSV_SPECIAL = frozenset("\\\t\n\r")


def _tsv_cell(value: Any) -> str:
    # Escapes as in PostgreSQL's text format, so every row stays on one line with a fixed
    # number of tab-separated cells. Plain strings and numbers, nearly every cell, go straight
    # through: this runs for every cell of a 100,000-row listing.
    if isinstance(value, str):
        if _TSV_SPECIAL.isdisjoint(value):
            return value
        text = value
    elif type(value) is int:  # not bool: that one prints as true/false
        return str(value)
    else:
        text = _plain(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _tsv(rows: Iterable[Any], keys: list[str], stream: TextIO, *, tuples: bool = False) -> int:
    """The TSV rows; the common case (no tab, newline or backslash anywhere in a row) costs one
    join and one check per row instead of a function call per cell. With ``tuples`` each row is
    its cells in the order of ``keys``."""
    write = stream.write
    write("\t".join(keys) + "\n")
    tabs = len(keys) - 1
    count = 0
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
        if line.count("\t") != tabs or "\n" in line or "\r" in line or "\\" in line:
            line = "\t".join(map(_tsv_cell, cells))
        write(line + "\n")
        count += 1
    return count


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
    if tuples and fmt is OutputFormat.tsv:
        return _tsv(rows, [c.key for c in cols], stream, tuples=True)
    if tuples:
        keys = [c.key for c in cols]
        rows = (dict(zip(keys, row, strict=True)) for row in rows)
    count = 0
    if fmt is OutputFormat.table:
        count = _table(rows, cols, title=title)
    elif fmt is OutputFormat.json:
        # json and csv only for the formats that need them (start-up time of every command)
        import json

        stream.write("[")
        for row in rows:
            stream.write(",\n  " if count else "\n  ")
            stream.write(json.dumps({c.key: row.get(c.key) for c in cols}, ensure_ascii=False))
            count += 1
        stream.write("\n]\n" if count else "]\n")
    elif fmt is OutputFormat.jsonl:
        import json

        for row in rows:
            stream.write(json.dumps({c.key: row.get(c.key) for c in cols}, ensure_ascii=False))
            stream.write("\n")
            count += 1
    elif fmt is OutputFormat.csv:
        import csv

        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow([c.key for c in cols])
        for row in rows:
            writer.writerow([_plain(row.get(c.key)) for c in cols])
            count += 1
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
    from rich import box
    from rich.table import Table

    shown = [c for c in cols if c.in_table]
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD if styled() else box.ASCII2,
        header_style="bold" if styled() else "",
        title_justify="left",
        pad_edge=False,
    )
    for col in shown:
        table.add_column(col.title, justify=col.justify, overflow="fold")  # type: ignore[arg-type]
    count = 0
    for row in rows:
        table.add_row(*[(c.show or _plain)(row.get(c.key)) for c in shown])
        count += 1
    if count:
        console().print(table)
    return count


def emit_record(
    record: dict[str, Any],
    fmt: OutputFormat | str | None,
    *,
    render: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Write one record: an object in JSON, ``key<TAB>value`` lines in TSV/CSV, or ``render``."""
    fmt = resolve_format(fmt)
    if fmt in (OutputFormat.json, OutputFormat.jsonl):
        import json

        indent = 2 if fmt is OutputFormat.json else None
        sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=indent) + "\n")
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


def open_private(path: Path) -> IO[str]:
    """A new text file (replacing any) readable by its owner only: it holds customer data."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return open(fd, "w", encoding="utf-8", newline="")


@contextmanager
def output_file(path: Path | None) -> Iterator[IO[str]]:
    """stdout, or a file written whole or not at all (a private temporary file renamed at the end).

    Errors name the file the user asked for, never the temporary one.
    """
    if path is None or str(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    if path.is_dir():
        raise UsageError(f"--output {path} is a folder; give a file name inside it")
    if path.exists() and not path.is_file():
        # A device or a pipe (/dev/stdout, a FIFO): write into it. Renaming a temporary file
        # over it would replace the device itself.
        try:
            with open(path, "w", encoding="utf-8", newline="") as device:
                yield device
        except OSError as exc:
            raise CrmError(f"cannot write {path}: {exc.strerror}") from None
        return
    # Through a symlink, the file it points to is replaced, not the link.
    target = path.resolve() if path.is_symlink() else path
    temp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        handle = open_private(temp)
    except OSError as exc:
        raise CrmError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with handle:
            yield handle
        os.replace(temp, target)
    except OSError as exc:
        raise CrmError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        if temp.exists():
            temp.unlink()
