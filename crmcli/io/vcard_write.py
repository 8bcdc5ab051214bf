"""Writing one contact as a vCard 4.0 (RFC 6350) or 3.0 (RFC 2426, what Apple reads).

Every field goes to the standard property that holds it (N, NICKNAME, ORG with its unit, ADR,
URL, IMPP, RELATED, GEO, TZ, PHOTO...); 3.0 uses Apple's forms where 3.0 has none (X-ABDATE,
X-ABRELATEDNAMES with X-ABLabel, X-APPLE-OMIT-YEAR). Only what no standard property holds is
written as crmcli's own X-CRM-* properties (custom fields, source, cadence, referrer). Values
an import kept flagged go back as the properties they came in, and properties kept verbatim
are written as they were read. Lines are folded at 75 octets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from crmcli.io.vcard import escape

#: TEL types of RFC 6350 (and 2426): a label made of these becomes TYPE=work,fax
_TEL_TYPES = {"work", "home", "cell", "fax", "pager", "video", "text", "textphone", "voice",
              "car", "isdn", "modem", "bbs", "msg"}  # fmt: skip
#: Apple's own labels (written _$!<Spouse>!$_ in 3.0 X-ABLabel)
_APPLE_LABELS = {"spouse", "child", "mother", "father", "parent", "brother", "sister",
                 "friend", "partner", "assistant", "manager", "other", "anniversary",
                 "homepage"}  # fmt: skip
_OFFSET = re.compile(r"^[+-]\d{2}:?\d{2}$")


def fold(line: str) -> str:
    """Fold a content line at 75 octets (never inside a UTF-8 character), CRLF-terminated."""
    if line.isascii():
        if len(line) <= 75:
            return line + "\r\n"
        pieces = [line[:75], *(line[i : i + 74] for i in range(75, len(line), 74))]
        return "\r\n ".join(pieces) + "\r\n"
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
    """``;TYPE=...`` for a label: a phone's "mobile" is cell, "home fax" is home,fax."""
    if not label:
        return ""
    if kind == "TEL":
        words = ["cell" if w == "mobile" else w for w in label.split()]
        if all(w in _TEL_TYPES for w in words):
            return f";TYPE={','.join(words)}"
    return f";TYPE={_param(label)}"


def _date(iso: str, version: str) -> tuple[str, str]:
    """(parameters, value) of a yearly date: ``--0415`` in 4.0, Apple's 1604 form in 3.0."""
    if iso.startswith("--"):
        month, day = iso[2:4], iso[5:7]
        if version == "4.0":
            return "", f"--{month}{day}"
        return ";X-APPLE-OMIT-YEAR=1604", f"1604-{month}-{day}"
    return "", iso.replace("-", "") if version == "4.0" else iso


class _Writer:
    """The lines of one card, with Apple-style groups numbered clear of the kept ones'."""

    def __init__(self, contact: dict[str, Any], version: str) -> None:
        self.contact = contact
        self.version = version
        self.lines = ["BEGIN:VCARD", f"VERSION:{version}"]
        kept = (line.split(":", 1)[0].split(";", 1)[0] for line in contact.get("vcard") or [])
        self.taken = {head.rpartition(".")[0].upper() for head in kept if "." in head}
        self.item = 0

    def add(self, line: str) -> None:
        self.lines.append(line)

    def group(self) -> str:
        """The next free ``itemN`` group."""
        while True:
            self.item += 1
            if f"ITEM{self.item}" not in self.taken:
                return f"item{self.item}"

    def labelled(self, prop: str, value: str, label: str | None) -> None:
        """A 3.0 property whose label goes in an X-ABLabel of its group (Apple's way)."""
        group = self.group()
        self.add(f"{group}.{prop}:{value}")
        if label:
            shown = f"_$!<{label.title()}>!$_" if label in _APPLE_LABELS else escape(label)
            self.add(f"{group}.X-ABLabel:{shown}")


def _names(w: _Writer, c: dict[str, Any]) -> None:
    w.add(f"UID:{escape(c['uid'])}")
    w.add(f"FN:{escape(c['name'])}")
    parts = ("last_name", "first_name", "middle_name", "name_prefix", "name_suffix")
    # a comma in a part separates its values (RFC 6350 6.2.2: "Marie,Louise" is two middle names)
    w.add("N:" + ";".join(escape(c.get(k) or "", commas=False) for k in parts))
    # one NICKNAME each: RFC 6350 allows a comma list too, but vobject (so khard) reads only
    # the first value of a list
    for nickname in (c.get("nickname") or "").split(", ") if c.get("nickname") else []:
        w.add(f"NICKNAME:{escape(nickname)}")
    if c.get("company") or c.get("department"):
        units = (c.get("department") or "").split("; ") if c.get("department") else []
        w.add("ORG:" + ";".join(escape(p) for p in [c.get("company") or "", *units]))
    for key, prop in (("title", "TITLE"), ("role", "ROLE")):
        if c.get(key):
            w.add(f"{prop}:{escape(c[key])}")


def _reachable(w: _Writer, c: dict[str, Any]) -> None:
    for entry in c.get("emails") or []:
        w.add(f"EMAIL{_type(entry['label'], 'EMAIL')}:{escape(entry['email'])}")
    for entry in c.get("phones") or []:
        w.add(f"TEL{_type(entry['label'], 'TEL')}:{escape(entry['phone'])}")
    parts = ("po_box", "extended", "street", "city", "region", "postal_code", "country")
    for address in c.get("addresses") or []:
        value = ";".join(escape(address.get(p) or "") for p in parts)
        w.add(f"ADR{_type(address.get('label'), 'ADR')}:{value}")
    for url in c.get("urls") or []:
        w.add(f"URL{_type(url['label'], 'URL')}:{escape(url['url'], commas=False)}")
    for handle in c.get("handles") or []:
        service, value = handle.get("service"), escape(handle["handle"], commas=False)
        if handle["kind"] == "social":
            w.add(f"X-SOCIALPROFILE{f';TYPE={_param(service)}' if service else ''}:{value}")
            continue
        head = f";X-SERVICE-TYPE={_param(service)}" if service else ""
        scheme = f"{service}:" if service and re.fullmatch(r"[a-z][\w.+-]*", service) else ""
        w.add(f"IMPP{head}{_type(handle.get('label'), 'IMPP')}:{scheme}{value}")
    for person in c.get("related") or []:
        _related(w, person["name"], person.get("label"))


def _related(w: _Writer, name: str, label: str | None) -> None:
    uri = re.match(r"^[A-Za-z][\w.+-]*:", name) is not None
    if w.version == "4.0":
        kind = ";VALUE=text" if not uri else ""
        w.add(f"RELATED{_type(label, 'RELATED')}{kind}:{escape(name, commas=False)}")
    else:
        w.labelled("X-ABRELATEDNAMES", escape(name), label)


def _dates(w: _Writer, c: dict[str, Any]) -> None:
    if c.get("birthday"):
        params, value = _date(c["birthday"], w.version)
        w.add(f"BDAY{params}:{value}")
    if c.get("anniversary"):
        params, value = _date(c["anniversary"], w.version)
        w.add(f"{_anniversary(w)}{params}:{value}")
    for entry in c.get("dates") or []:
        params, value = _date(entry["date"], w.version)
        w.labelled(f"X-ABDATE{params}", value, entry["label"])


def _anniversary(w: _Writer) -> str:
    return "ANNIVERSARY" if w.version == "4.0" else "X-ANNIVERSARY"


def _more(w: _Writer, c: dict[str, Any]) -> None:
    if c.get("geo"):
        lat, _, lon = c["geo"].partition(",")
        w.add(f"GEO:geo:{lat},{lon}" if w.version == "4.0" else f"GEO:{lat};{lon}")
    if c.get("time_zone"):
        offset = w.version == "4.0" and _OFFSET.match(c["time_zone"])
        w.add(f"TZ{';VALUE=utc-offset' if offset else ''}:{escape(c['time_zone'])}")
    if c.get("tags"):
        w.add("CATEGORIES:" + ",".join(escape(t) for t in c["tags"]))
    photo = c.get("photo")
    if photo:
        _photo(w, photo)
    for key, value in (c.get("fields") or {}).items():
        w.add(f"X-CRM-FIELD;X-KEY={_param(key)}:{escape(value)}")
    if c.get("notes"):
        w.add(f"NOTE:{escape(c['notes'])}")
    if c.get("source"):
        w.add(f"X-CRM-SOURCE:{escape(c['source'])}")
    if c.get("cadence_days"):
        w.add(f"X-CRM-CADENCE-DAYS:{c['cadence_days']}")
    if c.get("referred_by_uid"):
        w.add(f"X-CRM-REFERRED-BY:{escape(c['referred_by_uid'])}")


def _photo(w: _Writer, photo: dict[str, Any]) -> None:
    media, data, uri = photo.get("media_type"), photo.get("data"), photo.get("uri")
    if uri:
        w.add(f"PHOTO{';VALUE=uri' if w.version == '3.0' else ''}:{uri}")
    elif w.version == "4.0":
        w.add(f"PHOTO:data:{media or 'application/octet-stream'};base64,{data}")
    else:
        kind = f";TYPE={media.rpartition('/')[2].upper()}" if media else ""
        w.add(f"PHOTO;ENCODING=b{kind}:{data}")


#: how each kind of flagged value goes back out: as the property it came in
_INVALID: dict[str, Callable[[_Writer, str | None, str], None]] = {
    "email": lambda w, label, v: w.add(f"EMAIL{_type(label, 'EMAIL')}:{escape(v)}"),
    "phone": lambda w, label, v: w.add(f"TEL{_type(label, 'TEL')}:{escape(v)}"),
    "birthday": lambda w, label, v: w.add(f"BDAY;VALUE=text:{escape(v)}"),
    "anniversary": lambda w, label, v: w.add(f"{_anniversary(w)};VALUE=text:{escape(v)}"),
    "date": lambda w, label, v: w.labelled("X-ABDATE;VALUE=text", escape(v), label),
    "geo": lambda w, label, v: w.add(f"GEO:{escape(v, commas=False)}"),
    "cadence_days": lambda w, label, v: w.add(f"X-CRM-CADENCE-DAYS:{escape(v)}"),
}


def _kept(w: _Writer, c: dict[str, Any]) -> None:
    for item in c.get("invalid") or []:
        field, label, value = item["field"], item.get("label"), item["value"]
        write = _INVALID.get(field)
        if write is not None:
            write(w, label, value)
        else:
            head = f";X-FIELD={_param(field)}" + (f";X-LABEL={_param(label)}" if label else "")
            w.add(f"X-CRM-INVALID{head}:{escape(value)}")
    for line in c.get("vcard") or []:
        w.add(line)


def card_text(contact: dict[str, Any], version: str = "4.0") -> str:
    """One contact (the export dictionary of :mod:`crmcli.io.csv_out`) as a vCard's text."""
    writer = _Writer(contact, version)
    for part in (_names, _reachable, _dates, _more, _kept):
        part(writer, contact)
    writer.add("END:VCARD")
    return "".join(fold(line) for line in writer.lines)
