"""Opening a file to import: which format it is (by name, then by content), refusing what is
not a contacts file (a spreadsheet workbook) with what to do instead, and the reader for it.

``crm import`` calls :func:`open_source` and hands its records to :mod:`crmcli.importer`;
what the source knows of the file (its format, encoding, where each column or property went)
is what the import's summary says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from crmcli.errors import UsageError
from crmcli.io.record import Record, Rejected
from crmcli.io.text_in import TextSource

_EXTENSIONS = {
    ".vcf": "vcf",
    ".vcard": "vcf",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
}
#: how a spreadsheet workbook begins: a zip archive (xlsx, ods, numbers) or an OLE file (xls)
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
#: a workbook by its extension: what it is, and how its program saves a CSV
_WORKBOOKS = {
    ".xlsx": ("an Excel workbook", "in Excel: File > Save As > CSV UTF-8"),
    ".xls": ("an Excel workbook", "in Excel: File > Save As > CSV UTF-8"),
    ".ods": ("a LibreOffice spreadsheet", "in LibreOffice: File > Save a Copy > Text CSV"),
    ".numbers": ("an Apple Numbers document", "in Numbers: File > Export To > CSV"),
}


def guess_format(name: str, sample: str) -> str:
    """csv, vcf or json: by the file's extension, else by how its text begins."""
    suffix = Path(name).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    start = sample.lstrip("\ufeff \r\n\t")
    if start[:11].upper() == "BEGIN:VCARD" or ".BEGIN:VCARD" in start[:40].upper():
        return "vcf"
    if start[:1] in ("[", "{"):
        return "json"
    return "csv"


def refuse_workbook(binary: IO[bytes], name: str) -> None:
    """A workbook is not a CSV file: say which it is and how to save it as CSV, instead of
    reading its bytes as text."""
    suffix = Path(name).suffix.lower()
    peek = getattr(binary, "peek", None)
    if peek is not None:
        start = bytes(peek(8)[:8])
    elif binary.seekable():
        start = binary.read(8)
        binary.seek(0)
    else:
        start = b""
    if suffix in _WORKBOOKS:
        what, how = _WORKBOOKS[suffix]
        raise UsageError(
            f"{name} is {what}, not a CSV file: save it as CSV ({how}) and import that file"
        )
    if start.startswith(_WORKBOOK_MAGIC):
        raise UsageError(
            f"{name} is a spreadsheet workbook (xlsx, ods, numbers or xls), not a CSV file: "
            "save it as CSV UTF-8 in the spreadsheet program (File > Save as, or Export To) and "
            "import that file"
        )


@dataclass
class Source:
    """A file opened for import: its records, and what is known of it for the summary."""

    kind: str
    described: str
    records: Iterable[Record | Rejected]
    #: a CSV file's header (the rejects file repeats it), else None
    header: list[str] | None = None
    #: a CSV file's mapper (where each column went), else None
    mapper: Any = None
    #: a vCard file's properties: "EMAIL -> emails" -> how many
    tally: dict[str, int] = field(default_factory=dict)


def open_text(
    binary: IO[bytes],
    name: str,
    *,
    fmt: str = "auto",
    encoding: str | None = None,
    csv_options: bool = False,
) -> tuple[TextSource, str]:
    """Open ``binary`` (called ``name`` in messages) as text, and tell its format (csv, vcf,
    json); a workbook is refused. ``csv_options``: --map, --use-map, --save-map or
    --delimiter were given, which only a CSV file takes."""
    from crmcli.io import text_in

    refuse_workbook(binary, name)
    text = text_in.open_text(binary, encoding)
    kind = fmt if fmt != "auto" else guess_format(name, text.sample)
    if kind != "csv" and csv_options:
        raise UsageError("--map, --use-map, --save-map and --delimiter apply to CSV files only")
    return text, kind


def open_source(
    text: TextSource,
    kind: str,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    overrides: dict[str, str] | None = None,
) -> Source:
    """The reader of ``text`` (of format ``kind``), as a :class:`Source`."""
    from crmcli.io import text_in

    if kind == "csv":
        from crmcli.io import csv_in

        source = csv_in.open_csv(text, delimiter=delimiter, overrides=overrides)
        separator = "tab" if source.delimiter == "\t" else repr(source.delimiter)
        described = (
            f"{csv_in.FORMAT_NAMES[source.fmt]}, {text.encoding.replace('-sig', '')}, "
            f"delimiter {separator}"
        )
        return Source("csv", described, source.records(), source.mapper.header, source.mapper)
    if kind == "vcf":
        from crmcli.io.vcard import read_vcards

        single_byte = not text.encoding.lower().startswith("utf")
        charset = encoding or (text.encoding if single_byte else None)
        tally: dict[str, int] = {}
        records = read_vcards(text.stream, charset=charset, tally=tally)
        return Source("vcf", "vCard", text_in.guard_decoding(records, text), tally=tally)
    from crmcli.io.json_in import read_json

    return Source("json", "JSON", text_in.guard_decoding(read_json(text.stream), text))
