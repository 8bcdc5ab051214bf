"""vCard 2.1, 3.0 and 4.0: a small hand-written reader and a writer.

Reading takes what real programs write: CRLF, LF and iPhone's CR CR LF line ends; folding with
a space or a tab; quoted-printable values (2.1) joined across their soft line breaks and decoded
with their CHARSET, else as UTF-8, else the file's (or ``--encoding``'s) charset; groups
(``item1.EMAIL``, even ``home.BEGIN:VCARD``); bare 2.1 parameters (``TEL;WORK;VOICE``). Cards
are read one at a time from a stream, and a property longer than :data:`MAX_PROPERTY` is never
held whole. :mod:`crmcli.io.vcard_map` turns a card's properties into a record (every property
it does not read into a field is kept verbatim); :mod:`crmcli.io.vcard_write` writes a contact.

For one file per contact (a vdir, crmcli sync): :func:`parse_card` reads one card's text into
one record, :func:`write_card` writes one contact as one card's text.
"""

from __future__ import annotations

import io
import quopri
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

from crmcli.io.record import Record, Rejected

VERSIONS = ("3.0", "4.0")


#: the name a line that is not a property gets inside a card (no real property has a space)
UNREADABLE = "NOT A PROPERTY"


class Property:
    """One content line: ``item1.EMAIL;TYPE=work,pref:ann@example.com``.

    ``params`` maps each parameter to its values (2.1 bare ones as TYPE, ENCODING or PREF);
    ``head`` is the parameters as written (``;TYPE=work,pref``) and ``spelling`` the name as
    written (``X-ABShowAs``), to keep the property verbatim.
    """

    __slots__ = ("group", "head", "name", "params", "spelling", "value")

    def __init__(
        self,
        group: str | None,
        name: str,
        params: dict[str, list[str]],
        value: str,
        head: str = "",
        spelling: str | None = None,
    ) -> None:
        self.group = group
        self.name = name
        self.params = params
        self.value = value
        self.head = head
        self.spelling = spelling or name

    def types(self) -> list[str]:
        return [t.lower() for t in self.params.get("TYPE", [])]

    def is_pref(self) -> bool:
        return "pref" in self.types() or "PREF" in self.params

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None


def _split_unquoted(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for c in text:
        if c == '"':
            quoted = not quoted
            continue
        if c == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


BARE_ENCODINGS = ("QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT")


def parse_line(line: str) -> Property | None:
    """Split a content line into group, name, parameters and (raw) value; None if not one.

    The common line (no quote before its colon, no bare 2.1 parameter) is split with string
    methods; the rest goes through :func:`_parse_line_full`, which walks it character by
    character (a test holds the two equal). A phone's card has dozens of lines, and an import
    or a sync reads thousands of cards."""
    colon = line.find(":")
    head = line[:colon]
    if colon <= 0 or '"' in head:
        return _parse_line_full(line)
    semicolon = head.find(";")
    full_name = head if semicolon < 0 else head[:semicolon]
    group, _, name = full_name.strip().rpartition(".")
    if not name or " " in name:
        return None
    written = head[len(full_name) :]
    params: dict[str, list[str]] = {}
    for piece in written.split(";")[1:]:
        key, sep, val = piece.partition("=")
        if not sep:
            if key.strip():
                return _parse_line_full(line)  # a bare 2.1 parameter (;WORK;PREF)
            continue
        params.setdefault(key.strip().upper(), []).extend(
            v.strip() for v in val.split(",") if v.strip()
        )
    name = name.strip()
    return Property(group or None, name.upper(), params, line[colon + 1 :], written, name)


def _parse_line_full(line: str) -> Property | None:
    """:func:`parse_line` for any line: quoted parameter values, vCard 2.1 bare parameters."""
    colon, quoted = -1, False
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        elif c == ":" and not quoted:
            colon = i
            break
    if colon <= 0:
        return None
    head, value = line[:colon], line[colon + 1 :]
    semicolon = head.find(";")
    full_name = head if semicolon < 0 else head[:semicolon]
    group, _, name = full_name.strip().rpartition(".")
    if not name or " " in name:
        return None
    params: dict[str, list[str]] = {}
    for piece in _split_unquoted(head[len(full_name) :], ";")[1:]:
        key, sep, val = piece.partition("=")
        if sep:
            params.setdefault(key.strip().upper(), []).extend(
                v.strip() for v in val.split(",") if v.strip()
            )
        elif key.strip():
            # vCard 2.1 bare parameters: ;WORK;PREF;QUOTED-PRINTABLE
            bare = key.strip().upper()
            if bare in BARE_ENCODINGS:
                params["ENCODING"] = [bare]
            elif bare == "PREF":
                params["PREF"] = ["1"]
            else:
                params.setdefault("TYPE", []).append(bare)
    name = name.strip()
    return Property(group or None, name.upper(), params, value, head[len(full_name) :], name)


def kept_properties(text: str) -> list[tuple[str | None, str, str, str]]:
    """Content lines kept verbatim (crmcli's own CSV and JSON carry them one per line) as
    (group, name, parameters, value); a line that is not a property is left out."""
    found = []
    for line in text.splitlines():
        prop = parse_line(line)
        if prop is not None:
            found.append((prop.group, prop.spelling, prop.head, prop.value))
    return found


def unescape(value: str) -> str:
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def split_structured(value: str, sep: str = ";") -> list[str]:
    """Split on ``sep`` not escaped by a backslash, then unescape each part."""
    if "\\" not in value:
        return value.split(sep)
    parts, current, i = [], [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            current.append(value[i : i + 2])
            i += 2
            continue
        if c == sep:
            parts.append(unescape("".join(current)))
            current = []
        else:
            current.append(c)
        i += 1
    parts.append(unescape("".join(current)))
    return parts


def escape(value: str, *, commas: bool = True) -> str:
    """A text value as a vCard writes it: backslash, newline, semicolon (and comma) escaped."""
    value = value.replace("\\", "\\\\").replace("\r\n", "\n").replace("\n", "\\n")
    value = value.replace(";", "\\;")
    return value.replace(",", "\\,") if commas else value


def is_quoted_printable(prop: Property) -> bool:
    return any(e.upper() == "QUOTED-PRINTABLE" for e in prop.params.get("ENCODING", []))


def decode(prop: Property, fallback: str | None = None) -> str:
    """The property's value as text: quoted-printable decoded with its CHARSET; without one,
    as UTF-8 if the bytes are UTF-8, else in ``fallback`` (the file's or --encoding's
    charset), else cp1252 (what Outlook's Windows code page most often is)."""
    if not is_quoted_printable(prop):
        return prop.value
    raw = quopri.decodestring(prop.value.encode("latin-1", "replace"))
    for charset in (prop.param("CHARSET"), "utf-8", fallback, "cp1252"):
        if not charset:
            continue
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("latin-1")


#: the longest property read (unfolded, in characters); a longer one rejects its card, without
#: ever being held whole in memory
MAX_PROPERTY = 4 * 1024 * 1024
#: how a property over the limit is shown in place of its text (a valid vCard line)
_OVERSIZE = "X-CRM-DROPPED;X-NAME={name}:over {limit} MiB"


def _physical(lines: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """(line, cut): a line longer than :data:`MAX_PROPERTY` comes as its start with ``cut``
    set, the rest read and dropped a piece at a time (never held whole)."""
    readline = getattr(lines, "readline", None)
    if readline is None:
        for line in lines:
            yield (line[:MAX_PROPERTY], True) if len(line) > MAX_PROPERTY else (line, False)
        return
    while True:
        line = readline(MAX_PROPERTY)
        if not line:
            return
        if len(line) < MAX_PROPERTY or line.endswith(("\n", "\r")):
            yield line, False
            continue
        rest = line
        while rest and not rest.endswith(("\n", "\r")):
            rest = readline(MAX_PROPERTY)
        yield line[:200], True


_BASE64_LINE = re.compile(r"[A-Za-z0-9+/]+=*")


def _name(line: str) -> str:
    head = line.split(":", 1)[0].split(";", 1)[0]
    return head.rpartition(".")[2].strip().upper()


class _Logical:
    """One logical line being unfolded: its pieces in a list (joined once, so unfolding is
    linear in the input however many continuation lines), its size, and whether it is over
    the limit (then the pieces are not kept)."""

    __slots__ = ("base64", "oversize", "parts", "qp", "size", "start")

    def __init__(self, line: str, start: int, cut: bool) -> None:
        self.start = start
        self.parts = [line]
        self.size = len(line)
        self.oversize = cut
        head = line.split(":", 1)[0].upper()
        self.qp = "QUOTED-PRINTABLE" in head and line.endswith("=")
        # 2.1 writers may go on with a base64 value on lines that are not indented
        self.base64 = "BASE64" in head or "ENCODING=B" in head

    def add(self, piece: str, cut: bool) -> None:
        self.size += len(piece)
        self.oversize = self.oversize or cut or self.size > MAX_PROPERTY
        if self.oversize:
            del self.parts[1:]  # keep the start (the name), drop the value
            return
        if self.qp:
            self.parts[-1] = self.parts[-1][:-1]  # "=" at the end was a soft line break
        self.parts.append(piece)

    def text(self) -> str:
        if self.oversize:
            return _OVERSIZE.format(name=_name(self.parts[0]), limit=MAX_PROPERTY >> 20)
        return "".join(self.parts)


def logical_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Unfold: (line number of the start, the whole logical line), soft QP breaks joined too.

    Empty lines are skipped wherever they are (iPhone's CR CR LF reads as a line and an empty
    one). A property over :data:`MAX_PROPERTY` comes out as an ``X-CRM-DROPPED`` line naming it
    (its card is then rejected).
    """
    current: _Logical | None = None
    number = 0
    for raw, cut in _physical(lines):
        number += 1
        line = raw.rstrip("\r\n")
        if not line:
            continue
        if current is not None and current.qp:
            current.add(line, cut)
            current.qp = line.endswith("=")
            continue
        if current is not None and line[:1] in (" ", "\t"):
            current.add(line[1:], cut)
            continue
        if current is not None and current.base64 and _BASE64_LINE.fullmatch(line):
            current.add(line, cut)
            continue
        if current is not None:
            yield current.start, current.text()
        current = _Logical(line, number, cut)
    if current is not None:
        yield current.start, current.text()


def _marker(line: str) -> str | None:
    """``BEGIN`` or ``END`` for a card's own begin/end line (any case, any group), else None."""
    name, colon, value = line.partition(":")
    if colon and value.strip().upper() == "VCARD":
        bare = name.rpartition(".")[2].strip().upper()
        if bare in ("BEGIN", "END"):
            return bare
    return None


def read_cards(
    stream: IO[str] | Iterable[str],
) -> Iterator[tuple[int, int, list[Property] | str, str]]:
    """(card number, starting line, properties or a reason it is broken, raw text) per card."""
    card: list[Property] | None = None
    raw: list[str] = []
    number = 0
    start = 0
    broken: str | None = None
    for line_no, line in logical_lines(stream):
        marker = _marker(line)
        if marker == "BEGIN":
            if card is not None:
                yield (
                    number,
                    start,
                    "a BEGIN:VCARD inside a card (missing END:VCARD)",
                    "\n".join(raw),
                )
            number += 1
            card, raw, start, broken = [], [line], line_no, None
            continue
        if card is None:
            if line.strip():
                number += 1
                yield number, line_no, "text outside BEGIN:VCARD ... END:VCARD", line[:200]
            continue
        raw.append(line)
        if marker == "END":
            yield number, start, (broken if broken else card), "\n".join(raw)
            card = None
            continue
        if line.startswith("X-CRM-DROPPED;"):
            name = line.partition("X-NAME=")[2].partition(":")[0]
            limit = MAX_PROPERTY >> 20
            broken = broken or f"line {line_no}: property {name} is longer than {limit} MiB"
            continue
        prop = parse_line(line)
        if prop is None:
            # kept with the card and flagged (crm contact issues), not a reason to lose it
            prop = Property(None, UNREADABLE, {}, line)
        card.append(prop)
    if card is not None:
        yield number, start, "the card has no END:VCARD", "\n".join(raw)


def read_vcards(
    stream: IO[str] | Iterable[str],
    *,
    charset: str | None = None,
    tally: dict[str, int] | None = None,
) -> Iterator[Record | Rejected]:
    """Records from a stream of vCards; a card that cannot be read is a :class:`Rejected`.

    ``charset``: for quoted-printable values without a CHARSET that are not UTF-8 (the
    file's encoding, or --encoding). ``tally`` counts where each property went
    (``"EMAIL -> emails"``), for the import's summary.
    """
    from crmcli.io.vcard_map import card_record

    for number, line_no, body, raw in read_cards(stream):
        position = f"card {number} (line {line_no})"
        if isinstance(body, str):
            yield Rejected(position, body, raw)
        else:
            yield card_record(body, position, raw, charset=charset, tally=tally)


def parse_card(text: str, *, charset: str | None = None) -> Record | Rejected:
    """One card's text (a vdir's file) as one record; a file that is not one card is a
    :class:`Rejected` saying why."""
    found = list(read_vcards(io.StringIO(text, newline=""), charset=charset))
    if len(found) != 1:
        why = "no vCard" if not found else f"{len(found)} vCards, not one"
        return Rejected("the file", f"it holds {why}", text[:200])
    return found[0]


def write_card(contact: dict[str, Any], version: str = "4.0") -> str:
    """One contact (the export dictionary of :mod:`crmcli.io.csv_out`) as a vCard's text."""
    from crmcli.io.vcard_write import card_text

    return card_text(contact, version)
