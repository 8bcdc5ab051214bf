"""vCard 2.1, 3.0 and 4.0: a small hand-written reader and a writer.

Reading: lines are unfolded (CRLF + space), quoted-printable values (2.1) are joined across their
soft line breaks and decoded, escapes (``\\n``, ``\\,``, ``\\;``) undone. Cards are read one at a
time from a stream. Writing: 4.0 by default, 3.0 on request, lines folded at 75 octets.
"""

from __future__ import annotations

import quopri
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

from crmcli.io.record import Record, Rejected, normalize_label

VERSIONS = ("3.0", "4.0")
#: imported notes live in this custom field until the notes module is connected (see importer)
# TYPE values that say nothing about which address or number it is
_NOISE_TYPES = {"pref", "internet", "voice", "x400", "msg", "text", "uri", "x-internet"}
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")


# --- reading --------------------------------------------------------------------------------------


class Property:
    """One content line: ``item1.EMAIL;TYPE=work,pref:ann@example.com``."""

    __slots__ = ("group", "name", "params", "value")

    def __init__(self, group: str | None, name: str, params: dict[str, list[str]], value: str):
        self.group = group
        self.name = name
        self.params = params
        self.value = value

    def types(self) -> list[str]:
        return [t.lower() for t in self.params.get("TYPE", [])]

    def is_pref(self) -> bool:
        return "pref" in self.types() or "PREF" in self.params


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


def parse_line(line: str) -> Property | None:
    """Split a content line into group, name, parameters and (raw) value; None if not one."""
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
    pieces = _split_unquoted(head, ";")
    name = pieces[0].strip()
    group = None
    if "." in name:
        group, name = name.split(".", 1)
    params: dict[str, list[str]] = {}
    for piece in pieces[1:]:
        key, sep, val = piece.partition("=")
        if sep:
            params.setdefault(key.strip().upper(), []).extend(
                v.strip() for v in val.split(",") if v.strip()
            )
        elif key.strip():
            # vCard 2.1 bare parameters: ;WORK;PREF;QUOTED-PRINTABLE
            bare = key.strip().upper()
            if bare in ("QUOTED-PRINTABLE", "BASE64", "B"):
                params["ENCODING"] = [bare]
            elif bare == "PREF":
                params["PREF"] = ["1"]
            else:
                params.setdefault("TYPE", []).append(bare)
    return Property(group.upper() if group else None, name.upper(), params, value)


def unescape(value: str) -> str:
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


def _decode(prop: Property) -> str:
    encoding = [e.upper() for e in prop.params.get("ENCODING", [])]
    if "QUOTED-PRINTABLE" in encoding:
        charset = (prop.params.get("CHARSET") or ["utf-8"])[0]
        raw = quopri.decodestring(prop.value.encode("latin-1", "replace"))
        try:
            return raw.decode(charset, "replace")
        except LookupError:
            return raw.decode("utf-8", "replace")
    return prop.value


#: the longest property read (unfolded, in characters); a longer one rejects its card, without
#: ever being held whole in memory
MAX_PROPERTY = 4 * 1024 * 1024
#: properties crmcli does not import: their values (a photo can be 100 MB) are skipped as they
#: are read, whatever their size
SKIPPED = ("PHOTO", "LOGO", "SOUND", "KEY")
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
        if len(line) < MAX_PROPERTY or line.endswith("\n"):
            yield line, False
            continue
        rest = line
        while rest and not rest.endswith("\n"):
            rest = readline(MAX_PROPERTY)
        yield line[:200], True


def _name(line: str) -> str:
    head = line.split(":", 1)[0].split(";", 1)[0]
    return head.rpartition(".")[2].strip().upper()


class _Logical:
    """One logical line being unfolded: its pieces in a list (joined once, so unfolding is
    linear in the input however many continuation lines), its size, and whether it is over
    the limit or a skipped property (then the pieces are not kept)."""

    __slots__ = ("drop", "oversize", "parts", "qp", "size", "start")

    def __init__(self, line: str, start: int, cut: bool) -> None:
        self.start = start
        self.parts = [line]
        self.size = len(line)
        self.oversize = cut
        self.drop = _name(line) in SKIPPED
        self.qp = "QUOTED-PRINTABLE" in line.split(":", 1)[0].upper() and line.endswith("=")

    def add(self, piece: str, cut: bool) -> None:
        self.size += len(piece)
        self.oversize = self.oversize or cut or self.size > MAX_PROPERTY
        if self.oversize or self.drop:
            del self.parts[1:]  # keep the start (the name), drop the value
            return
        if self.qp:
            self.parts[-1] = self.parts[-1][:-1]  # "=" at the end was a soft line break
        self.parts.append(piece)

    def text(self) -> str:
        if self.oversize and not self.drop:
            return _OVERSIZE.format(name=_name(self.parts[0]), limit=MAX_PROPERTY >> 20)
        if self.drop:
            return f"{_name(self.parts[0])}:"  # a skipped property, its value left out
        return "".join(self.parts)


def logical_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Unfold: (line number of the start, the whole logical line), soft QP breaks joined too.

    A property over :data:`MAX_PROPERTY` comes out as an ``X-CRM-DROPPED`` line naming it (its
    card is then rejected); a photo, logo, sound or key as its bare name (never imported).
    """
    current: _Logical | None = None
    for number, (raw, cut) in enumerate(_physical(lines), 1):
        line = raw.rstrip("\r\n")
        if current is not None and current.qp:
            current.add(line, cut)
            current.qp = line.endswith("=")
            continue
        if current is not None and line[:1] in (" ", "\t"):
            current.add(line[1:], cut)
            continue
        if current is not None:
            yield current.start, current.text()
        current = _Logical(line, number, cut)
    if current is not None:
        yield current.start, current.text()


def read_cards(stream: IO[str]) -> Iterator[tuple[int, int, list[Property] | str, str]]:
    """(card number, starting line, properties or a reason it is broken, raw text) per card."""
    card: list[Property] | None = None
    raw: list[str] = []
    number = 0
    start = 0
    broken: str | None = None
    for line_no, line in logical_lines(stream):
        upper = line.strip().upper()
        if upper == "BEGIN:VCARD":
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
                yield number, line_no, "text outside BEGIN:VCARD ... END:VCARD", line
            continue
        raw.append(line)
        if upper == "END:VCARD":
            yield number, start, (broken if broken else card), "\n".join(raw)
            card = None
            continue
        if not line.strip():
            continue
        if line.startswith("X-CRM-DROPPED;"):
            name = line.partition("X-NAME=")[2].partition(":")[0]
            limit = MAX_PROPERTY >> 20
            broken = broken or f"line {line_no}: property {name} is longer than {limit} MiB"
            continue
        prop = parse_line(line)
        if prop is None:
            broken = broken or f"line {line_no} is not a vCard property ({line[:30]!r})"
            continue
        card.append(prop)
    if card is not None:
        yield number, start, "the card has no END:VCARD", "\n".join(raw)


def _label(prop: Property, labels: dict[str, str]) -> str | None:
    if prop.group and prop.group in labels:
        return normalize_label(labels[prop.group])
    for t in prop.types():
        if t not in _NOISE_TYPES and not t.startswith("x-"):
            return normalize_label(t)
    return None


def _bday(prop: Property) -> str:
    """A vCard date as text the importer understands: ``--04-15`` when the year is unknown."""
    value = _decode(prop).strip()
    if "X-APPLE-OMIT-YEAR" in prop.params:
        digits = re.sub(r"\D", "", value)[:8]
        if len(digits) == 8:
            return f"--{digits[4:6]}-{digits[6:8]}"
    value = re.sub(r"T.*$", "", value)  # a time of day (19800415T000000Z) says nothing here
    return value


def card_record(props: list[Property], position: str, raw: str) -> Record:
    """The neutral record of one parsed card."""
    rec = Record(position, raw)
    labels = {
        p.group: _APPLE_LABEL.sub(r"\1", unescape(_decode(p)))
        for p in props
        if p.name == "X-ABLABEL" and p.group
    }
    text = rec.text
    fn = None
    emails: list[tuple[bool, str, str | None]] = []
    phones: list[tuple[bool, str, str | None]] = []
    for prop in props:
        name = prop.name
        if name == "FN":
            fn = unescape(_decode(prop)).strip() or None
        elif name == "N":
            parts = [*split_structured(_decode(prop)), "", ""]
            if parts[1].strip():
                text["first_name"] = parts[1].strip()
            if parts[0].strip():
                text["last_name"] = parts[0].strip()
            if parts[2].strip():
                rec.fields["middle name"] = parts[2].strip()
        elif name == "EMAIL":
            value = unescape(_decode(prop)).strip()
            if value.lower().startswith("mailto:"):
                value = value[7:]
            if value:
                emails.append((prop.is_pref(), value, _label(prop, labels)))
        elif name == "TEL":
            value = unescape(_decode(prop)).strip()
            if value:
                phones.append((prop.is_pref(), value, _label(prop, labels)))
        elif name == "ORG":
            parts = split_structured(_decode(prop))
            if parts[0].strip():
                text["company"] = parts[0].strip()
            if len(parts) > 1 and parts[1].strip():
                rec.fields["department"] = parts[1].strip()
        elif name == "TITLE":
            value = unescape(_decode(prop)).strip()
            if value:
                text["title"] = value
        elif name == "NOTE":
            value = unescape(_decode(prop)).strip()
            if value:
                rec.notes.append(value)
        elif name == "CATEGORIES":
            rec.tags.extend(t.strip() for t in split_structured(_decode(prop), ",") if t.strip())
        elif name == "UID":
            rec.uid = unescape(_decode(prop)).strip() or None
        elif name == "URL" and "website" not in text:
            value = unescape(_decode(prop)).strip()
            if value:
                text["website"] = value
        elif name == "ADR" and "street" not in text and "city" not in text:
            parts = [*split_structured(_decode(prop)), "", "", "", "", "", "", ""]
            street = ", ".join(p.strip() for p in (parts[2], parts[1], parts[0]) if p.strip())
            for key, value in zip(
                ("street", "city", "region", "postal_code", "country"),
                (street, parts[3], parts[4], parts[5], parts[6]),
                strict=True,
            ):
                if value.strip():
                    text[key] = value.strip()
        elif name == "NICKNAME":
            value = unescape(_decode(prop)).strip()
            if value:
                rec.fields["nickname"] = value
        elif name == "BDAY":
            value = _bday(prop)
            is_text = "text" in [v.lower() for v in prop.params.get("VALUE", [])]
            if is_text and not re.match(r"^[\d-]", value):
                rec.fields["birthday text"] = unescape(value)
            elif value:
                rec.dates.append(("birthday", "birthday", value))
        elif name in ("ANNIVERSARY", "X-ANNIVERSARY", "X-MS-ANNIVERSARY"):
            value = _bday(prop)
            if value:
                rec.dates.append(("anniversary", "anniversary", value))
        elif name == "X-ABDATE":
            value = _bday(prop)
            label = labels.get(prop.group or "", "") or "other"
            kind = label.lower() if label.lower() in ("anniversary", "birthday") else "other"
            if value:
                rec.dates.append((kind, label, value))
        elif name == "X-CRM-FIELD":
            key = (prop.params.get("X-KEY") or [""])[0]
            if key:
                rec.fields[key] = unescape(_decode(prop))
        elif name == "X-CRM-SOURCE":
            text["source"] = unescape(_decode(prop))
        elif name == "X-CRM-DISPLAY-NAME":
            text["display_name"] = unescape(_decode(prop))
        elif name == "X-CRM-CADENCE-DAYS":
            rec.cadence_days = prop.value.strip()
        elif name == "X-CRM-REFERRED-BY":
            rec.referred_by_uid = unescape(prop.value).strip() or None
    # PREF first, otherwise in file order (sorted() is stable)
    rec.emails = [(v, label) for _, v, label in sorted(emails, key=lambda e: not e[0])]
    rec.phones = [(v, label) for _, v, label in sorted(phones, key=lambda e: not e[0])]
    others = {rec.emails[0][0] if rec.emails else None, text.get("company")}
    named = text.get("first_name") or text.get("last_name") or text.get("display_name")
    if fn and not named and fn not in others:  # FN may be just the email or the company
        rec.full_name = fn
    return rec


def read_vcards(stream: IO[str]) -> Iterator[Record | Rejected]:
    """Records from a stream of vCards; a card that cannot be read is a :class:`Rejected`."""
    for number, line_no, body, raw in read_cards(stream):
        position = f"card {number} (line {line_no})"
        if isinstance(body, str):
            yield Rejected(position, body, raw)
        else:
            yield card_record(body, position, raw)


# --- writing --------------------------------------------------------------------------------------


def escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace("\r\n", "\n")
        .replace("\n", "\\n")
        .replace(",", "\\,")
        .replace(";", "\\;")
    )


def fold(line: str) -> str:
    """Fold a content line at 75 octets (never inside a UTF-8 character), CRLF-terminated."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    out: list[str] = []
    current: list[str] = []
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append("".join(current))
            current, size, limit = [], 0, 74  # continuation lines start with a space
        current.append(char)
        size += width
    out.append("".join(current))
    return "\r\n ".join(out) + "\r\n"


def _param(value: str) -> str:
    return f'"{value}"' if re.search(r"[^A-Za-z0-9-]", value) else value


def _type(label: str | None, kind: str) -> str:
    if not label:
        return ""
    value = "cell" if kind == "TEL" and label == "mobile" else label
    return f";TYPE={_param(value)}"


def _date(iso: str, version: str) -> tuple[str, str]:
    """(parameters, value) of a yearly date: ``--0415`` in 4.0, Apple's 1604 form in 3.0."""
    if iso.startswith("--"):
        month, day = iso[2:4], iso[5:7]
        if version == "4.0":
            return "", f"--{month}{day}"
        return ";X-APPLE-OMIT-YEAR=1604", f"1604-{month}-{day}"
    return "", iso.replace("-", "") if version == "4.0" else iso


def write_card(contact: dict[str, Any], version: str = "4.0") -> str:
    """One contact (the export dictionary of :mod:`crmcli.io.csv_out`) as a vCard."""
    lines = ["BEGIN:VCARD", f"VERSION:{version}"]
    add = lines.append
    add(f"UID:{escape(contact['uid'])}")
    add(f"FN:{escape(contact['name'])}")
    add(f"N:{escape(contact.get('last_name') or '')};{escape(contact.get('first_name') or '')};;;")
    if contact.get("display_name"):
        add(f"X-CRM-DISPLAY-NAME:{escape(contact['display_name'])}")
    if contact.get("company"):
        add(f"ORG:{escape(contact['company'])}")
    if contact.get("title"):
        add(f"TITLE:{escape(contact['title'])}")
    for entry in contact.get("emails") or []:
        add(f"EMAIL{_type(entry['label'], 'EMAIL')}:{escape(entry['email'])}")
    for entry in contact.get("phones") or []:
        add(f"TEL{_type(entry['label'], 'TEL')}:{escape(entry['phone'])}")
    address = [contact.get(k) or "" for k in ("street", "city", "region", "postal_code", "country")]
    if any(address):
        add("ADR:;;" + ";".join(escape(v) for v in address))
    if contact.get("website"):
        add(f"URL:{escape(contact['website'])}")
    if contact.get("birthday"):
        params, value = _date(contact["birthday"], version)
        add(f"BDAY{params}:{value}")
    if contact.get("anniversary"):
        params, value = _date(contact["anniversary"], version)
        name = "ANNIVERSARY" if version == "4.0" else "X-ANNIVERSARY"
        add(f"{name}{params}:{value}")
    for index, entry in enumerate(contact.get("dates") or [], 1):
        params, value = _date(entry["date"], version)
        add(f"item{index}.X-ABDATE{params}:{value}")
        add(f"item{index}.X-ABLabel:{escape(entry['label'])}")
    if contact.get("tags"):
        add("CATEGORIES:" + ",".join(escape(t) for t in contact["tags"]))
    for key, value in (contact.get("fields") or {}).items():
        add(f"X-CRM-FIELD;X-KEY={_param(key)}:{escape(value)}")
    if contact.get("notes"):
        add(f"NOTE:{escape(contact['notes'])}")
    if contact.get("source"):
        add(f"X-CRM-SOURCE:{escape(contact['source'])}")
    if contact.get("cadence_days"):
        add(f"X-CRM-CADENCE-DAYS:{contact['cadence_days']}")
    if contact.get("referred_by_uid"):
        add(f"X-CRM-REFERRED-BY:{escape(contact['referred_by_uid'])}")
    add("END:VCARD")
    return "".join(fold(line) for line in lines)
