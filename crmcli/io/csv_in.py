"""Reading CSV files of contacts: delimiters, preambles, the header, and each row (the bytes
are read as text by :mod:`crmcli.io.text_in`; what each header means is decided by
:mod:`crmcli.io.csv_headers`).

A header is turned once into a :class:`Mapper` (which column goes where); each row then costs a
walk over its columns. Every column goes somewhere: a column crmcli does not know becomes a
custom field of that name (``--map 'COLUMN=ignore'`` drops it on purpose), and the mapper
counts the values each column gave, so the import's summary says where each one went.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from crmcli.contacts import ADDRESS_PARTS, TEXT_FIELDS
from crmcli.errors import CrmError, UsageError, ValidationError
from crmcli.io import csv_headers as headers
from crmcli.io.csv_headers import FORMAT_NAMES as FORMAT_NAMES
from crmcli.io.csv_headers import Target
from crmcli.io.csv_headers import detect_format as detect_format
from crmcli.io.csv_policy import unneutralise
from crmcli.io.csv_rows import data_rows, delimiter_option
from crmcli.io.record import Record, normalize_label

# reading bytes as text lives in text_in (every reader uses it); these names stay importable here
from crmcli.io.text_in import TextSource as TextSource
from crmcli.io.text_in import detect_encoding as detect_encoding
from crmcli.io.text_in import guard_decoding as guard_decoding
from crmcli.io.text_in import not_decodable
from crmcli.io.text_in import open_text as open_text

#: the largest cell read; a larger one is a located error, and is never held whole in memory
#: (5 MiB: a photo of 3 MiB, as crmcli exports it, is a cell of about 4 MiB)
MAX_CELL = 5 * 1024 * 1024
csv.field_size_limit(MAX_CELL)

DELIMITERS = (",", ";", "\t")
#: what --map accepts after "=" (besides field:NAME, date:LABEL, email:LABEL, phone:LABEL...)
MAP_TARGETS = (*TEXT_FIELDS, *ADDRESS_PARTS, "name", "email", "phone", "website", "tags",
               "notes", "birthday", "anniversary", "uid", "photo", "email_optout",
               "do_not_contact", "ignore")  # fmt: skip


def _outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def sniff_delimiter(sample: str) -> str:
    """The delimiter of the first line that has one (outside quotes): , or ; or tab."""
    for line in sample.splitlines()[:12]:
        counts = {d: _outside_quotes(line, d) for d in DELIMITERS}
        best = max(DELIMITERS, key=lambda d: counts[d])
        if counts[best]:
            return best
    return ","


# --- --map ------------------------------------------------------------------------------------


def parse_map_target(text: str) -> Target:
    """What ``--map "Column=TARGET"`` means, as a target; UsageError for an unknown one."""
    target = text.strip()
    lower = target.lower()
    prefixed = {"field": "field", "date": "event", "email": "email", "phone": "phone",
                "im": "im", "related": "related", "url": "website"}  # fmt: skip
    kind, colon, argument = target.partition(":")
    if colon and kind.lower() in prefixed and argument.strip():
        value = argument.strip()
        if kind.lower() in ("email", "phone", "url", "related"):
            value = normalize_label(value) or value
        group = "map" if kind.lower() in ("email", "phone") else lower
        return (prefixed[kind.lower()], value, group)
    if lower in TEXT_FIELDS:
        return ("text", lower, None)
    if lower in ADDRESS_PARTS or lower == "po_box":
        return ("addr", lower, "map")
    simple: dict[str, Target] = {
        "name": ("name", None, None), "email": ("email", None, "map"),
        "phone": ("phone", None, "map"), "website": ("website", None, "map"),
        "tags": ("tags", ",", None), "notes": ("notes", None, None),
        "birthday": ("event", "birthday", "birthday"),
        "anniversary": ("event", "anniversary", "anniversary"), "uid": ("uid", None, None),
        "photo": ("photo", None, None), "email_optout": ("email_optout", None, None),
        "do_not_contact": ("do_not_contact", None, None), "ignore": ("ignore", "--map", None),
    }  # fmt: skip
    if lower in simple:
        return simple[lower]
    raise UsageError(
        f"--map target {target!r} is not known; use one of: {', '.join(MAP_TARGETS)}, "
        "email:LABEL, phone:LABEL, url:LABEL, im:SERVICE, related:RELATION, date:LABEL, "
        "field:NAME"
    )


def parse_map_option(text: str) -> tuple[str, str]:
    """``"E-Mail Adresse=email"`` -> ("E-Mail Adresse", "email"), the target checked."""
    column, sep, target = text.rpartition("=")
    if not sep or not column.strip() or not target.strip():
        raise UsageError(f"--map {text!r} needs the form 'Column name=field' (e.g. 'Mail=email')")
    parse_map_target(target)
    return column.strip(), target.strip()


# --- what each kind of column does with its cells ---------------------------------------------

#: a column alone: (record, the cell, the target's argument)
Single = Callable[[Record, str, Any], None]
#: the columns of one group (a value, its label, an address's parts): (record, cells, fixed)
GroupReader = Callable[[Record, dict[str, str], Any, bool], None]


def _set_special(attribute: str) -> Single:
    def read(rec: Record, value: str, _: Any) -> None:
        setattr(rec, attribute, value)

    return read


def _photo_cell(rec: Record, value: str, _: Any) -> None:
    if value.startswith("data:"):
        import base64
        import binascii

        head, _comma, data = value.partition(",")
        try:
            decoded = base64.b64decode(data, validate=True) if ";base64" in head else None
        except (binascii.Error, ValueError):
            decoded = None
        if decoded is not None:
            rec.photo = (head[5:].split(";")[0] or None, decoded, None)
            rec.size += len(decoded)
            return
    rec.photo = (None, None, value)


def _vcard_cell(rec: Record, value: str, _: Any) -> None:
    from crmcli.io.vcard import kept_properties

    rec.props.extend(kept_properties(value))
    rec.size += len(value)


def _tags_cell(rec: Record, value: str, sep: str) -> None:
    parts = value.split(sep) if sep != ";" else re.split(r"[;,]", value)
    for part in parts:
        tag = part.strip().lstrip("*").strip()
        if tag and tag.lower() not in ("mycontacts", "my contacts", "starred"):
            rec.tags.append(tag)


def _surname_prefix(rec: Record, value: str, _: Any) -> None:
    """Dutch "Tussenvoegsel" (van der): part of the family name, put before it (run after the
    family name's own column, see :func:`build_mapper`)."""
    last = rec.text.get("last_name")
    rec.text["last_name"] = f"{value} {last}" if last else value


SINGLES: dict[str, Single] = {
    "text": lambda rec, value, name: rec.text.__setitem__(name, value),
    "surname_prefix": _surname_prefix,
    "name": lambda rec, value, _: setattr(rec, "full_name", value),
    "field": lambda rec, value, name: rec.fields.__setitem__(name, value),
    "tags": _tags_cell,
    "notes": lambda rec, value, _: rec.notes.append(value),
    "photo": _photo_cell,
    "vcard": _vcard_cell,
    "connected": lambda rec, value, _: rec.fields.__setitem__("connected on", _iso_or_text(value)),
    **{kind: _set_special(attribute) for kind, attribute in (
        ("uid", "uid"), ("created_at", "created_at"), ("updated_at", "updated_at"),
        ("cadence", "cadence_days"), ("referred_by", "referred_by_uid"),
        ("email_optout", "email_optout"), ("do_not_contact", "do_not_contact"))},
}  # fmt: skip


def _values(cell: str, multi: bool) -> list[str]:
    """Google's ``a ::: * b`` is two values, the one marked ``* `` (the primary) first."""
    if not multi or ":::" not in cell:
        return [cell]
    parts = [p.strip() for p in cell.split(":::")]
    parts.sort(key=lambda p: not p.startswith("* "))
    return [p.lstrip("* ").strip() for p in parts if p.lstrip("* ").strip()]


def _labelled(where: str) -> GroupReader:
    def read(rec: Record, cells: dict[str, str], fixed: Any, multi: bool) -> None:
        value = cells.get("value")
        if value:
            label = normalize_label(cells.get("label")) or fixed
            getattr(rec, where).extend((v, label) for v in _values(value, multi))

    return read


def _address_cells(rec: Record, cells: dict[str, str], fixed: Any, multi: bool) -> None:
    lines = [cells[p] for p in ("street", "street2", "street3") if cells.get(p)]
    street = "\n".join(lines) or None
    parts = {p: cells.get(p) for p in ("city", "region", "postal_code", "country")}
    if not street and not any(parts.values()) and cells.get("formatted"):
        street = cells["formatted"].replace("\r\n", "\n")
    label = normalize_label(cells.get("label")) or normalize_label(fixed)
    address = (label, street, *parts.values(), cells.get("po_box"), cells.get("extended"))
    if any(address[1:]):
        rec.addresses.append(address)


def _event_cells(rec: Record, cells: dict[str, str], fixed: Any, multi: bool) -> None:
    value = cells.get("value", "")
    if not value.strip("0/.- "):
        return  # Outlook writes 0/0/00 for "no date"
    label = cells.get("label") or fixed or "other"
    lower = label.lower().strip("*_$!<> ")
    rec.dates.append((lower if lower in ("birthday", "anniversary") else "other", label, value))


def _custom_cells(rec: Record, cells: dict[str, str], fixed: Any, multi: bool) -> None:
    if cells.get("value"):
        rec.fields[cells.get("label") or fixed or "custom"] = cells["value"]


def _handle_cells(kind: str) -> GroupReader:
    def read(rec: Record, cells: dict[str, str], fixed: Any, multi: bool) -> None:
        if cells.get("value"):
            service = (cells.get("service") or fixed or "").lower() or None
            label = normalize_label(cells.get("label"))
            rec.handles.append((cells.get("kind") or kind, service, cells["value"], label))

    return read


def _related_cells(rec: Record, cells: dict[str, str], fixed: Any, multi: bool) -> None:
    if cells.get("value"):
        label = normalize_label(cells.get("label")) or fixed
        rec.related.append((cells["value"], label, cells.get("uid")))


def _invalid_cells(rec: Record, cells: dict[str, str], fixed: Any, multi: bool) -> None:
    if cells.get("value"):
        rec.add_value(cells.get("field") or "unknown", cells.get("label"), cells["value"])


def _birth_cells(rec: Record, cells: dict[str, str], fixed: Any, multi: bool) -> None:
    """Thunderbird's Birth Year, Birth Month and Birth Day."""
    year, month, day = cells.get("y"), cells.get("m"), cells.get("d")
    if month and day:
        if month.isdigit() and day.isdigit():
            month, day = f"{int(month):02d}", f"{int(day):02d}"
        when = f"{year}-{month}-{day}" if year else f"--{month}-{day}"
        rec.dates.append(("birthday", "birthday", when))


GROUPS: dict[str, GroupReader] = {
    "email": _labelled("emails"),
    "phone": _labelled("phones"),
    "website": _labelled("urls"),
    "addr": _address_cells,
    "event": _event_cells,
    "custom": _custom_cells,
    "im": _handle_cells("im"),
    "social": _handle_cells("social"),
    "handle": _handle_cells("im"),
    "related": _related_cells,
    "invalid": _invalid_cells,
    "birth": _birth_cells,
}
#: a grouped column's kind -> (its group's kind, its role in the group)
_ROLES = {"email_label": ("email", "label"), "phone_label": ("phone", "label"),
          "url_label": ("website", "label"), "addr_label": ("addr", "label"),
          "event_label": ("event", "label"), "custom_label": ("custom", "label"),
          "im_label": ("im", "label"), "im_service": ("im", "service"),
          "related_label": ("related", "label"), "related_uid": ("related", "uid"),
          "handle_label": ("handle", "label"), "handle_service": ("handle", "service"),
          "handle_kind": ("handle", "kind"), "invalid_label": ("invalid", "label"),
          "invalid_field": ("invalid", "field"), "birth_y": ("birth", "y"),
          "birth_m": ("birth", "m"), "birth_d": ("birth", "d")}  # fmt: skip


def _iso_or_text(value: str) -> str:
    from crmcli.dates import parse_yearly

    try:
        return parse_yearly(value).iso()
    except (CrmError, ValueError):  # not a date: kept as written
        return value


# --- the mapper -------------------------------------------------------------------------------


@dataclass
class Group:
    """Columns that make one value together: a value and its label, an address's parts."""

    kind: str
    fixed: Any
    roles: dict[str, int] = field(default_factory=dict)


@dataclass
class Mapper:
    """Which column goes where, compiled from a header once; :meth:`record` maps one row."""

    fmt: str
    header: list[str]
    singles: list[tuple[int, Single, Any]] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    #: what each column became, for the summary ("custom field 'Region'")
    where: list[str] = field(default_factory=list)
    #: how many values each column gave
    counts: list[int] = field(default_factory=list)
    #: cells that are the exporter's default, not a value (Outlook's Priority "Normal")
    defaults: dict[int, str] = field(default_factory=dict)
    multi: bool = False  # Google's " ::: " joins several values in one cell
    source: str | None = None
    #: lines before the header that were not read (LinkedIn's notice)
    skipped: int = 0
    headerless: bool = False

    def record(self, row: list[str], position: str) -> Record:
        rec = Record(position, row)
        width, counts, defaults = len(row), self.counts, self.defaults
        # most cells of a wide export are empty: tested before they are stripped
        for index, read, argument in self.singles:
            if index < width and row[index]:
                value = row[index].strip()
                if value and (not defaults or defaults.get(index) != value.lower()):
                    counts[index] += 1
                    read(rec, value, argument)
        for group in self.groups:
            cells = {}
            for role, index in group.roles.items():
                if index < width and row[index]:
                    value = row[index].strip()
                    if value:
                        counts[index] += 1
                        cells[role] = value
            if cells:
                GROUPS[group.kind](rec, cells, group.fixed, self.multi)
        if self.source and "source" not in rec.text:
            rec.text["source"] = self.source
        return rec

    def report(self) -> list[tuple[str, str, int]]:
        """(column, where it went, how many values) for each column of the header."""
        return [
            (name.strip() or f"column {i + 1}", self.where[i], self.counts[i])
            for i, name in enumerate(self.header)
        ]


_SINGLE_WORDS = {"name": "name (split into given and family name)", "tags": "tags",
                 "notes": "notes", "photo": "photo", "vcard": "vCard properties kept as is",
                 "uid": "UID", "created_at": "created at", "updated_at": "updated at",
                 "cadence": "keep-in-touch cadence", "referred_by": "referred by (UID)",
                 "email_optout": "e-mail opt-out", "do_not_contact": "do not contact",
                 "connected": 'custom field "connected on"',
                 "surname_prefix": "last name, the words before it (van der)"}  # fmt: skip
_GROUP_WORDS = {"email": "emails", "phone": "phones", "website": "web addresses",
                "im": "messaging handles", "social": "social profiles",
                "handle": "messaging handles", "related": "related people",
                "invalid": "flagged values", "birth": "birthday", "custom": "custom fields"}  # fmt: skip


_BIRTH_PARTS = {"y": "year", "m": "month", "d": "day"}


def describe(target: Target) -> str:
    """Where a column goes, for a person reading the import's summary."""
    kind, argument, group = target
    if kind == "text":
        return str(argument).replace("_", " ")
    if kind == "field":
        return f'custom field "{argument}"'
    if kind == "ignore":
        return f"ignored ({argument})" if argument else "ignored"
    if kind in _SINGLE_WORDS:
        return _SINGLE_WORDS[kind]
    base, role = _ROLES.get(kind, (kind, "value"))
    if base == "addr":
        label = _address_label(group)
        part = "label" if role == "label" else str(argument).replace("_", " ")
        return f"{label + ' ' if label else ''}address, {part}"
    if base == "event":
        return "date label" if role == "label" else str(argument or "date")
    shown = _GROUP_WORDS.get(base, base)
    if base == "birth":
        return f"birthday, {_BIRTH_PARTS[role]}"
    if role != "value":
        return f"{shown}, {role}"
    return f"{shown} ({argument})" if argument and base != "custom" else shown


def _address_label(group: str | None) -> str | None:
    return group if group in ("work", "home", "other") else None


def _rule(fmt: str, name: str) -> Target | None:
    folded_key = headers.key(name)
    if fmt == "google":
        return headers.google(folded_key) or headers.generic(name)
    if fmt == "outlook":
        return headers.outlook(folded_key) or headers.generic(name)
    if fmt == "linkedin":
        return headers.LINKEDIN.get(folded_key)
    if fmt == "crmcli":
        return headers.own(name, TEXT_FIELDS)
    return headers.generic(name)


def build_mapper(header: list[str], overrides: dict[str, str] | None = None) -> Mapper:
    """Compile ``header`` (with ``--map`` overrides, by column name) into a :class:`Mapper`."""
    fmt = headers.detect_format(header)
    by_name = {headers.key(k): parse_map_target(v) for k, v in (overrides or {}).items()}
    known = {headers.key(h) for h in header}
    missing = [k for k in (overrides or {}) if headers.key(k) not in known]
    if missing:
        raise UsageError(
            f"--map names column {missing[0]!r}, which is not in the file "
            f"(its columns: {', '.join(h for h in header[:12] if h)}"
            f"{'...' if len(header) > 12 else ''})"
        )
    targets = [None if headers.key(h) in by_name else _rule(fmt, h) for h in header]
    headers.settle_names(header, targets)
    targets = [by_name.get(headers.key(h), t) for h, t in zip(header, targets, strict=True)]
    source = {"google": "Google Contacts", "outlook": "Outlook", "linkedin": "LinkedIn",
              "thunderbird": "Thunderbird", "roundcube": "Roundcube"}.get(fmt)  # fmt: skip
    mapper = Mapper(fmt=fmt, header=header, multi=fmt == "google", source=source)
    groups: dict[tuple[str, str], Group] = {}
    for index, (name, target) in enumerate(zip(header, targets, strict=True)):
        _compile_column(mapper, groups, index, name, target)
    mapper.singles.sort(key=lambda single: single[1] is _surname_prefix)  # after the last name
    return mapper


def _compile_column(
    mapper: Mapper,
    groups: dict[tuple[str, str], Group],
    index: int,
    name: str,
    target: Target | None,
) -> None:
    """Add column ``index`` to ``mapper``: a column alone, or one of a group's."""
    if headers.key(name) == "crm_import_error":
        target = ("ignore", "the rejects file's reason", None)
    elif target is None:  # not known: a custom field of its name (nothing is dropped)
        # a column without a name (a spreadsheet's stray one) is named by its place
        target = ("field", " ".join(name.split()) or f"column {index + 1}", None)
    kind, argument, group = target
    mapper.where.append(describe(target))
    mapper.counts.append(0)
    if mapper.fmt == "outlook" and headers.key(name) in headers.OUTLOOK_DEFAULTS:
        mapper.defaults[index] = headers.OUTLOOK_DEFAULTS[headers.key(name)]
    if kind == "ignore":
        return
    if kind in SINGLES:
        mapper.singles.append((index, SINGLES[kind], argument))
        return
    base, role = _ROLES.get(kind, (kind, "value"))
    if base == "addr" and role == "value":
        role = str(argument)
    fixed = _address_label(group) if base == "addr" else argument if role == "value" else None
    key = (base, group if group is not None else f"#{index}")
    found = groups.get(key)
    if found is None:
        found = groups[key] = Group(base, fixed)
        mapper.groups.append(found)
    found.roles[role] = index
    if role == "value" and fixed is not None:
        found.fixed = fixed


def mapping_of(mapper: Mapper, overrides: dict[str, str]) -> dict[str, str]:
    """What ``--save-map`` keeps: the user's own column -> target choices."""
    return dict(overrides)


# --- reading --------------------------------------------------------------------------------------

#: how many lines may come before the header (LinkedIn's notice, a spreadsheet's table name)
_PREAMBLE_LINES = 20
_EMAIL_CELL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_CELL = re.compile(r"^\+?[\d\s().\-/]{7,}$")


def _headerless(header: list[str]) -> list[Target | None] | None:
    """When no column name is known and the first row holds an email or a phone number, the
    file has no header row: the columns' kinds from that row's cells, else None."""
    if any(headers.generic(h) for h in header):
        return None
    emails = [bool(_EMAIL_CELL.match(c.strip())) for c in header]
    phones = [
        bool(_PHONE_CELL.match(c.strip())) and not e for c, e in zip(header, emails, strict=True)
    ]
    if not any(emails) and not any(phones):
        return None
    targets: list[Target | None] = []
    named = False
    for index, cell in enumerate(header):
        if emails[index]:
            targets.append(("email", None, f"#{index}"))
        elif phones[index]:
            targets.append(("phone", None, f"#{index}"))
        elif cell.strip() and not named:
            targets.append(("name", None, None))
            named = True
        else:
            targets.append(("field", f"column {index + 1}", None))
    return targets


@dataclass
class CsvSource:
    """An open CSV file: its header, format and mapper; iterate :meth:`records` once."""

    text: TextSource
    delimiter: str
    mapper: Mapper
    reader: Any
    header_line: int
    #: rows read while looking for the header that are data: (line number, cells)
    pending: list[tuple[int, list[str]]] = field(default_factory=list)

    @property
    def fmt(self) -> str:
        return self.mapper.fmt

    def records(self) -> Iterator[Record]:
        record = self.mapper.record
        # crmcli's own CSV (an export, or a rejects file: it has a crm_import_error column) put
        # a ' before cells a spreadsheet would run as formulas: undo it
        own = self.mapper.fmt == "crmcli" or "crm_import_error" in (
            headers.key(h) for h in self.mapper.header
        )
        for line_no, row in self.pending:  # rows read while looking for the header
            if any(cell.strip() for cell in row):
                yield record([unneutralise(c) for c in row] if own else row, f"line {line_no}")
        self.pending = []
        for position, row in data_rows(self.reader, self.text.encoding, own=own):
            yield record(row, position)


def _find_header(
    reader: Any, text: TextSource
) -> tuple[list[str], int, list[tuple[int, list[str]]]]:
    """(header, lines skipped before it, data rows read after it): the first row with two or
    more cells within the first lines (what comes before is a preamble), else the first row
    with any (a one-column file)."""
    seen: list[tuple[int, list[str]]] = []
    last = 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            cells = [c for c in row if c.strip()]
            if len(cells) >= 2:
                return row, len([r for r in seen if any(c.strip() for c in r[1])]), []
            seen.append((start, row))
            if reader.line_num > _PREAMBLE_LINES:
                break
    except UnicodeDecodeError:
        raise not_decodable(text.encoding) from None
    except csv.Error as exc:
        raise ValidationError(
            f"line {reader.line_num or 1}: the header row cannot be read as CSV ({exc}); "
            "fix that line and import again (nothing was imported)"
        ) from None
    filled = [(n, r) for n, r in seen if any(c.strip() for c in r)]
    if not filled:
        raise ValidationError("the file has no header row (a first line naming the columns)")
    return filled[0][1], 0, filled[1:]


def open_csv(
    text: TextSource,
    *,
    delimiter: str | None = None,
    overrides: dict[str, str] | None = None,
) -> CsvSource:
    """Sniff the delimiter, skip a preamble (LinkedIn's), read the header and build the mapper;
    a file whose first row is data (an email, a phone) is read without a header."""
    used = delimiter_option(delimiter) or sniff_delimiter(text.sample)
    # strict: a quote that is never closed is an error, not the rest of the file in one cell
    reader = csv.reader(text.stream, delimiter=used, strict=True)
    header, skipped, pending = _find_header(reader, text)
    header = [h.replace("\ufeff", "") for h in header]
    guessed = None if overrides else _headerless(header)
    if guessed is not None:
        pending.insert(0, (reader.line_num - len(pending), header))
        names = [f"column {i + 1}" for i in range(len(header))]
        mapper = Mapper(fmt="generic", header=names, headerless=True)
        groups: dict[tuple[str, str], Group] = {}
        for index, target in enumerate(guessed):
            _compile_column(mapper, groups, index, names[index], target)
    else:
        mapper = build_mapper(header, overrides)
    mapper.skipped = skipped
    return CsvSource(text, used, mapper, reader, reader.line_num, pending)
