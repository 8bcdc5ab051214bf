"""Reading CSV files of contacts: delimiters, the known exporters' headers, aliases (the bytes
are read as text by :mod:`crmcli.io.text_in`).

A header is turned once into a :class:`Mapper` (which column goes where); each row then costs a
walk over the mapped, non-empty cells only. Columns are recognised by name, never by position:
numbered groups (``E-mail 1 - Value``, ``E-mail 2 - Value``...) vary from file to file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from crmcli.contacts import TEXT_FIELDS
from crmcli.errors import UsageError, ValidationError
from crmcli.io.csv_rows import data_rows, delimiter_option
from crmcli.io.record import Record, normalize_label

# reading bytes as text lives in text_in (every reader uses it); these names stay importable here
from crmcli.io.text_in import TextSource as TextSource
from crmcli.io.text_in import detect_encoding as detect_encoding
from crmcli.io.text_in import guard_decoding as guard_decoding
from crmcli.io.text_in import not_decodable
from crmcli.io.text_in import open_text as open_text

#: the largest cell read; a larger one is a located error, and is never held whole in memory
MAX_CELL = 4 * 1024 * 1024
csv.field_size_limit(MAX_CELL)

DELIMITERS = (",", ";", "\t")
FORMAT_NAMES = {
    "google": "Google Contacts",
    "outlook": "Outlook",
    "linkedin": "LinkedIn connections",
    "crmcli": "crmcli export",
    "generic": "CSV",
}
#: what --map accepts after "=" (besides field:NAME, date:LABEL, email:LABEL, phone:LABEL)
MAP_TARGETS = (
    *TEXT_FIELDS,
    "name",
    "email",
    "phone",
    "tags",
    "notes",
    "birthday",
    "anniversary",
    "uid",
    "email_optout",
    "do_not_contact",
    "ignore",
)


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


# --- header recognition ---------------------------------------------------------------------------

# A target is (kind, argument, group). Kinds: text, name, email, email_label, phone, phone_label,
# addr, website, event, event_label, custom, custom_label, tags, notes, field, uid, created_at,
# updated_at, cadence, referred_by, birth_y, birth_m, birth_d, connected, ignore.
Target = tuple[str, str | None, str | None]


def _key(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").strip().lower().split())


_GOOGLE_GROUP = re.compile(
    r"^(e-mail|email|phone|address|website|event|custom field|relation|organization|im|"
    r"external id) (\d+) - (.+)$"
)
_GOOGLE_SIMPLE: dict[str, Target] = {
    "first name": ("text", "first_name", None),
    "given name": ("text", "first_name", None),
    "last name": ("text", "last_name", None),
    "family name": ("text", "last_name", None),
    "middle name": ("field", "middle name", None),
    "additional name": ("field", "middle name", None),
    "name": ("name", None, None),
    "nickname": ("field", "nickname", None),
    "organization name": ("text", "company", None),
    "organization title": ("text", "title", None),
    "organization department": ("field", "department", None),
    "birthday": ("event", "birthday", "birthday"),
    "notes": ("notes", None, None),
    "labels": ("tags", ":::", None),
    "group membership": ("tags", ":::", None),
}
_ADDRESS_PARTS = {
    "street": "street",
    "city": "city",
    "region": "region",
    "postal code": "postal_code",
    "country": "country",
    "extended address": "extended",
    "po box": "pobox",
    "formatted": "formatted",
}


def _google(key: str) -> Target | None:
    simple = _GOOGLE_SIMPLE.get(key)
    if simple:
        return simple
    match = _GOOGLE_GROUP.match(key)
    if not match:
        return None
    kind, group, part = match.group(1), match.group(2), match.group(3)
    is_label = part in ("label", "type")
    if kind in ("e-mail", "email"):
        return ("email_label", None, group) if is_label else ("email", None, group)
    if kind == "phone":
        return ("phone_label", None, group) if is_label else ("phone", None, group)
    if kind == "address" and part in _ADDRESS_PARTS:
        return ("addr", _ADDRESS_PARTS[part], group)
    if kind == "website" and part == "value":
        return ("website", None, group)
    if kind == "event":
        return ("event_label", None, group) if is_label else ("event", None, group)
    if kind == "custom field":
        return ("custom_label", None, group) if is_label else ("custom", None, group)
    if kind == "organization" and group == "1":
        return {
            "name": ("text", "company", None),
            "title": ("text", "title", None),
            "department": ("field", "department", None),
        }.get(part)
    return None


_OUTLOOK_PHONES = {
    "business phone": "work",
    "business phone 2": "work",
    "home phone": "home",
    "home phone 2": "home",
    "mobile phone": "mobile",
    "other phone": "other",
    "primary phone": "main",
    "company main phone": "company",
    "business fax": "work fax",
    "home fax": "home fax",
    "other fax": "fax",
    "pager": "pager",
    "car phone": "car",
    "assistant's phone": "assistant",
    "callback": "callback",
    "isdn": "isdn",
    "radio phone": "radio",
    "tty/tdd phone": "tty",
    "telex": "telex",
}
_OUTLOOK_SIMPLE: dict[str, Target] = {
    "title": ("ignore", None, None),  # Mr., Dr.: Outlook's job title is "Job Title"
    "first name": ("text", "first_name", None),
    "middle name": ("field", "middle name", None),
    "last name": ("text", "last_name", None),
    "nickname": ("field", "nickname", None),
    "company": ("text", "company", None),
    "department": ("field", "department", None),
    "job title": ("text", "title", None),
    "e-mail address": ("email", None, "1"),
    "e-mail 2 address": ("email", None, "2"),
    "e-mail 3 address": ("email", None, "3"),
    "anniversary": ("event", "anniversary", "anniversary"),
    "birthday": ("event", "birthday", "birthday"),
    "categories": ("tags", ";", None),
    "notes": ("notes", None, None),
    "web page": ("website", None, "1"),
    "referred by": ("field", "referred by", None),
    "spouse": ("field", "spouse", None),
}
_OUTLOOK_ADDRESS = re.compile(
    r"^(business|home|other) (street|street 2|street 3|city|state|postal code|country/region|"
    r"country|po box)$"
)


def _outlook(key: str) -> Target | None:
    if key in _OUTLOOK_SIMPLE:
        return _OUTLOOK_SIMPLE[key]
    if key in _OUTLOOK_PHONES:
        return ("phone", _OUTLOOK_PHONES[key], key)
    match = _OUTLOOK_ADDRESS.match(key)
    if match:
        part = match.group(2)
        part = {
            "state": "region",
            "postal code": "postal_code",
            "country/region": "country",
            "street 2": "extended",
            "street 3": "extended",
            "po box": "pobox",
        }.get(part, part)
        return ("addr", part, match.group(1))
    return None


_LINKEDIN: dict[str, Target] = {
    "first name": ("text", "first_name", None),
    "last name": ("text", "last_name", None),
    "url": ("website", None, "1"),
    "email address": ("email", None, "1"),
    "company": ("text", "company", None),
    "position": ("text", "title", None),
    "connected on": ("connected", None, None),
}

_OWN_NUMBERED = re.compile(r"^(email|phone)_(\d+)(_label)?$")


def _own(key: str) -> Target | None:
    if key in TEXT_FIELDS:
        return ("text", key, None)
    match = _OWN_NUMBERED.match(key)
    if match:
        kind = match.group(1) + ("_label" if match.group(3) else "")
        return (kind, None, match.group(2))
    if key.startswith("field:"):
        return ("field", key[6:].strip(), None)
    if key.startswith("date:"):
        return ("event", key[5:].strip(), key)
    return {
        "uid": ("uid", None, None),
        "birthday": ("event", "birthday", "birthday"),
        "anniversary": ("event", "anniversary", "anniversary"),
        "tags": ("tags", ",", None),
        "notes": ("notes", None, None),
        "created_at": ("created_at", None, None),
        "updated_at": ("updated_at", None, None),
        "cadence_days": ("cadence", None, None),
        "referred_by_uid": ("referred_by", None, None),
    }.get(key, ("ignore", None, None) if key in ("id", "name", "referred_by") else None)


#: the documented aliases of a plain CSV: header (lower case, letters and digits only) -> target
ALIASES: dict[str, Target] = {}
_ALIAS_GROUPS: list[tuple[Target, tuple[str, ...]]] = [
    (("name", None, None), ("name", "full name", "contact name", "contact", "person")),
    (("text", "display_name", None), ("display name",)),
    (("text", "first_name", None), ("first name", "given name", "forename", "first")),
    (("text", "last_name", None), ("last name", "surname", "family name", "last")),
    (
        ("text", "company", None),
        (
            "company",
            "company name",
            "organization",
            "organisation",
            "organization name",
            "org",
            "employer",
            "account",
            "account name",
        ),
    ),
    (("text", "title", None), ("title", "job title", "position", "role", "job")),
    (
        ("text", "street", None),
        ("street", "address", "street address", "address 1", "address line 1"),
    ),
    (("text", "city", None), ("city", "town", "locality")),
    (("text", "region", None), ("region", "state", "province", "county", "state/province")),
    (
        ("text", "postal_code", None),
        ("postal code", "zip", "zip code", "postcode", "zip/postal code"),
    ),
    (("text", "country", None), ("country", "country/region")),
    (
        ("website", None, "1"),
        ("website", "web site", "web", "url", "web page", "homepage", "site", "web page 1"),
    ),
    (("event", "birthday", "birthday"), ("birthday", "birth date", "date of birth", "dob", "bday")),
    (("event", "anniversary", "anniversary"), ("anniversary",)),
    (
        ("tags", ",", None),
        (
            "tags",
            "tag",
            "labels",
            "label",
            "categories",
            "category",
            "groups",
            "group",
            "group membership",
            "label(s)",
        ),
    ),
    (("notes", None, None), ("notes", "note", "comments", "comment", "description")),
    (("text", "source", None), ("source", "lead source")),
    (("uid", None, None), ("uid",)),
    # consent (crmcli.consent): Salesforce, HubSpot, Zoho and mailing-list exports
    (
        ("email_optout", None, None),
        (
            "email opt out",
            "email_optout",
            "opted out",
            "opt out",
            "unsubscribed",
            "email unsubscribed",
            "has opted out of email",
            "do not email",
            "unsubscribed from all email",
        ),
    ),
    (("do_not_contact", None, None), ("do not contact", "do_not_contact", "donotcontact")),
]
for _target, _names in _ALIAS_GROUPS:
    for _name in _names:
        ALIASES[re.sub(r"[^a-z0-9]", "", _name)] = _target

_EMAIL_ALIAS = re.compile(
    r"^(work|home|business|personal|other|private|office|primary|secondary)?"
    r"(?:e?mail|emailaddress|mailaddress)(\d*)(?:address)?$"
)
_PHONE_ALIAS = re.compile(
    r"^(work|home|business|office|other|main|mobile|cell|private)?"
    r"(phone|phonenumber|telephone|tel|mobile|mobilephone|mobilenumber|cell|cellphone|fax|"
    r"faxnumber)(\d*)$"
)
_LABEL_WORDS = {"business": "work", "office": "work", "private": "home", "cell": "mobile"}


def _generic(header: str) -> Target | None:
    key = _key(header)
    for prefix in ("person - ", "contact - "):  # Pipedrive and co. prefix the entity
        if key.startswith(prefix):
            key = key[len(prefix) :]
    if key.startswith("organization - "):
        return ("text", "company", None) if key.endswith(" - name") else None
    match = re.match(r"^(email|phone) - (\w+)$", key)
    if match:
        return (match.group(1), normalize_label(match.group(2)), key)
    if key.startswith("field:") or key.startswith("date:") or _OWN_NUMBERED.match(key):
        return _own(key)
    # Thunderbird splits the birthday ("Birth Day" would read as "Birthday" once compacted)
    split_birthday = {"birth year": "birth_y", "birth month": "birth_m", "birth day": "birth_d"}
    if key in split_birthday:
        return (split_birthday[key], None, None)
    compact = re.sub(r"[^a-z0-9()/]", "", key).replace("(", "").replace(")", "").replace("/", "")
    if compact in ALIASES:
        return ALIASES[compact]
    match = _EMAIL_ALIAS.match(compact)
    if match:
        label = match.group(1)
        label = None if label in ("primary", "secondary") else _LABEL_WORDS.get(label, label)
        return ("email", label, compact)
    match = _PHONE_ALIAS.match(compact)
    if match:
        label = match.group(1)
        base = match.group(2)
        if not label and base.startswith(("mobile", "cell")):
            label = "mobile"
        if base.startswith("fax"):
            label = f"{label} fax" if label else "fax"
        return ("phone", _LABEL_WORDS.get(label or "", label), compact)
    return None


def detect_format(header: list[str]) -> str:
    """Which exporter wrote this header: google, outlook, linkedin, crmcli or generic."""
    keys = {_key(h) for h in header}
    if {"uid", "name", "first_name", "last_name"} <= keys:
        return "crmcli"
    if {"first name", "last name", "url", "email address", "connected on"} <= keys:
        return "linkedin"
    if "e-mail address" in keys and keys & {"business phone", "job title", "home street"}:
        return "outlook"
    if any(_GOOGLE_GROUP.match(k) for k in keys) or {"given name", "family name"} <= keys:
        return "google"
    return "generic"


_RULES: dict[str, Callable[[str], Target | None]] = {
    "google": _google,
    "outlook": _outlook,
    "linkedin": _LINKEDIN.get,
    "crmcli": _own,
}


def parse_map_target(text: str) -> Target:
    """What ``--map "Column=TARGET"`` means, as a target; UsageError for an unknown one."""
    target = text.strip()
    lower = target.lower()
    if lower.startswith("field:") and target[6:].strip():
        return ("field", target[6:].strip(), None)
    if lower.startswith("date:") and target[5:].strip():
        return ("event", target[5:].strip(), lower)
    if lower.startswith(("email:", "phone:")):
        kind, _, label = lower.partition(":")
        return (kind, normalize_label(label), lower)
    if lower in TEXT_FIELDS:
        return ("text", lower, None)
    simple: dict[str, Target] = {
        "name": ("name", None, None),
        "email": ("email", None, "map"),
        "phone": ("phone", None, "map"),
        "tags": ("tags", ",", None),
        "notes": ("notes", None, None),
        "birthday": ("event", "birthday", "birthday"),
        "anniversary": ("event", "anniversary", "anniversary"),
        "uid": ("uid", None, None),
        "email_optout": ("email_optout", None, None),
        "do_not_contact": ("do_not_contact", None, None),
        "ignore": ("ignore", None, None),
    }
    if lower in simple:
        return simple[lower]
    raise UsageError(
        f"--map target {target!r} is not known; use one of: {', '.join(MAP_TARGETS)}, "
        "email:LABEL, phone:LABEL, date:LABEL, field:NAME"
    )


def parse_map_option(text: str) -> tuple[str, str]:
    """``"E-Mail Adresse=email"`` -> ("E-Mail Adresse", "email"), the target checked."""
    column, sep, target = text.rpartition("=")
    if not sep or not column.strip() or not target.strip():
        raise UsageError(f"--map {text!r} needs the form 'Column name=field' (e.g. 'Mail=email')")
    parse_map_target(target)
    return column.strip(), target.strip()


# --- the mapper -----------------------------------------------------------------------------------


@dataclass
class Mapper:
    """Which column goes where, compiled from a header once; :meth:`record` maps one row."""

    fmt: str
    header: list[str]
    text: list[tuple[int, str]] = field(default_factory=list)
    name: int | None = None
    emails: list[tuple[int, int | None, str | None]] = field(default_factory=list)
    phones: list[tuple[int, int | None, str | None]] = field(default_factory=list)
    addresses: list[dict[str, int]] = field(default_factory=list)
    websites: list[int] = field(default_factory=list)
    events: list[tuple[int, int | None, str | None]] = field(default_factory=list)
    customs: list[tuple[int, int | None, str | None]] = field(default_factory=list)
    tags: list[tuple[int, str]] = field(default_factory=list)
    notes: list[int] = field(default_factory=list)
    fields: list[tuple[int, str]] = field(default_factory=list)
    specials: dict[str, int] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    multi: bool = False  # Google's " ::: " joins several values in one cell
    source: str | None = None

    def record(self, row: list[str], position: str) -> Record:
        rec = Record(position, row)
        width = len(row)
        text = rec.text
        for index, name in self.text:
            if index < width:
                value = row[index].strip()
                if value:
                    text[name] = value
        if self.name is not None and self.name < width:
            value = row[self.name].strip()
            if value:
                rec.full_name = value
        for labeled, out in ((self.emails, rec.emails), (self.phones, rec.phones)):
            for vi, li, fixed in labeled:
                if vi >= width:
                    continue
                value = row[vi].strip()
                if not value:
                    continue
                label = normalize_label(row[li]) if li is not None and li < width else fixed
                if self.multi and ":::" in value:
                    parts = [p.strip() for p in value.split(":::")]
                    # "* " marks the primary value: it goes first
                    parts.sort(key=lambda p: not p.startswith("* "))
                    out.extend((p.lstrip("* ").strip(), label) for p in parts if p)
                else:
                    out.append((value, label))
        for vi in self.websites:
            if vi < width and "website" not in text:
                value = row[vi].strip()
                if value:
                    text["website"] = value.split(":::")[0].strip() if self.multi else value
        for group in self.addresses:
            found = {p: row[i].strip() for p, i in group.items() if i < width and row[i].strip()}
            if found:
                _address(text, found)
                break
        for vi, li, fixed in self.events:
            if vi >= width:
                continue
            value = row[vi].strip()
            if not value or not value.strip("0/.- "):
                continue  # Outlook writes 0/0/00 for "no date"
            label = (row[li].strip() if li is not None and li < width else fixed) or "other"
            rec.dates.append((_date_kind(label), label, value))
        for vi, li, fixed in self.customs:
            if vi < width:
                value = row[vi].strip()
                key = (row[li].strip() if li is not None and li < width else fixed) or "custom"
                if value:
                    rec.fields[key] = value
        for index, sep in self.tags:
            if index < width and row[index].strip():
                rec.tags.extend(_split_tags(row[index], sep))
        for index in self.notes:
            if index < width and row[index].strip():
                rec.notes.append(row[index].strip())
        for index, key in self.fields:
            if index < width and row[index].strip():
                rec.fields[key] = row[index].strip()
        if self.specials:
            self._specials(rec, row)
        if self.source and "source" not in text:
            text["source"] = self.source
        return rec

    def _specials(self, rec: Record, row: list[str]) -> None:
        def cell(kind: str) -> str:
            index = self.specials.get(kind)
            return row[index].strip() if index is not None and index < len(row) else ""

        rec.uid = cell("uid") or None
        rec.created_at = cell("created_at") or None
        rec.updated_at = cell("updated_at") or None
        rec.cadence_days = cell("cadence") or None
        rec.referred_by_uid = cell("referred_by") or None
        rec.email_optout = cell("email_optout") or None
        rec.do_not_contact = cell("do_not_contact") or None
        connected = cell("connected")
        if connected:
            rec.fields["connected on"] = _iso_or_text(connected)
        year, month, day = cell("birth_y"), cell("birth_m"), cell("birth_d")
        if month and day:
            when = (
                f"{year}-{int(month):02d}-{int(day):02d}"
                if year and month.isdigit() and day.isdigit()
                else f"--{month}-{day}"
            )
            rec.dates.append(("birthday", "birthday", when))


def _date_kind(label: str) -> str:
    lower = label.lower().strip("*_$!<> ")
    if lower in ("birthday", "anniversary"):
        return lower
    return "other"


def _iso_or_text(value: str) -> str:
    from crmcli.dates import parse_yearly

    try:
        return parse_yearly(value).iso()
    except Exception:
        return value


def _split_tags(cell: str, sep: str) -> list[str]:
    parts = cell.split(sep) if sep != ";" else re.split(r"[;,]", cell)
    out = []
    for part in parts:
        tag = part.strip().lstrip("*").strip().replace(",", " ")
        if tag and tag.lower() not in ("mycontacts", "my contacts", "starred"):
            out.append(tag)
    return out


def _address(text: dict[str, str], parts: dict[str, str]) -> None:
    street = parts.get("street")
    extra = [parts[p] for p in ("extended", "pobox") if parts.get(p)]
    if street or extra:
        text.setdefault("street", ", ".join([p for p in [street, *extra] if p]))
    elif parts.get("formatted") and not any(
        parts.get(p) for p in ("city", "region", "postal_code", "country")
    ):
        text.setdefault("street", ", ".join(parts["formatted"].split("\n")))
    for part in ("city", "region", "postal_code", "country"):
        if parts.get(part):
            text.setdefault(part, parts[part])


def build_mapper(header: list[str], overrides: dict[str, str] | None = None) -> Mapper:
    """Compile ``header`` (with ``--map`` overrides, by column name) into a :class:`Mapper`."""
    fmt = detect_format(header)
    rule = _RULES.get(fmt)
    by_name = {k.strip().lower(): parse_map_target(v) for k, v in (overrides or {}).items()}
    known = {_key(h) for h in header}
    missing = [k for k in (overrides or {}) if _key(k) not in known]
    if missing:
        raise UsageError(
            f"--map names column {missing[0]!r}, which is not in the file "
            f"(its columns: {', '.join(h for h in header[:12] if h)}"
            f"{'...' if len(header) > 12 else ''})"
        )
    mapper = Mapper(fmt=fmt, header=header, multi=fmt == "google")
    mapper.source = {"google": "Google Contacts", "outlook": "Outlook", "linkedin": "LinkedIn"}.get(
        fmt
    )
    label_cols: dict[tuple[str, str], int] = {}
    value_cols: list[tuple[str, int, str | None, str | None]] = []
    addresses: dict[str, dict[str, int]] = {}
    for index, header_name in enumerate(header):
        key = _key(header_name)
        if key == "crm_import_error":
            continue
        target: Target | None
        if key in by_name:
            target = by_name[key]
        else:
            target = rule(key) if rule else None
            if target is None and fmt == "generic":
                target = _generic(header_name)
        if target is None:
            if header_name.strip():
                mapper.ignored.append(header_name.strip())
            continue
        kind, arg, group = target
        if kind == "ignore":
            continue
        original = header_name.strip()
        if key.startswith(("field:", "date:")) and key not in by_name:
            arg = original.partition(":")[2].strip()  # keep the name's case
        if kind == "text":
            mapper.text.append((index, str(arg)))
        elif kind == "name":
            mapper.name = index
        elif kind.endswith("_label"):
            label_cols[(kind[: -len("_label")], str(group))] = index
        elif kind in ("email", "phone", "event", "custom"):
            value_cols.append((kind, index, arg, group))
        elif kind == "addr":
            addresses.setdefault(str(group), {})[str(arg)] = index
        elif kind == "website":
            mapper.websites.append(index)
        elif kind == "tags":
            mapper.tags.append((index, str(arg)))
        elif kind == "notes":
            mapper.notes.append(index)
        elif kind == "field":
            mapper.fields.append((index, str(arg)))
        else:
            mapper.specials[kind] = index
    for kind, index, arg, group in value_cols:
        label_index = label_cols.get((kind, str(group))) if group is not None else None
        getattr(mapper, {"email": "emails", "phone": "phones"}.get(kind, kind + "s")).append(
            (index, label_index, arg)
        )
    mapper.addresses = list(addresses.values())
    return mapper


def mapping_of(mapper: Mapper, overrides: dict[str, str]) -> dict[str, str]:
    """What ``--save-map`` keeps: the user's own column -> target choices."""
    return dict(overrides)


# --- reading --------------------------------------------------------------------------------------


@dataclass
class CsvSource:
    """An open CSV file: its header, format and mapper; iterate :meth:`records` once."""

    text: TextSource
    delimiter: str
    mapper: Mapper
    reader: Any
    header_line: int

    @property
    def fmt(self) -> str:
        return self.mapper.fmt

    def records(self) -> Iterator[Record]:
        record = self.mapper.record
        # crmcli's own CSV (an export, or a rejects file: it has a crm_import_error column) put
        # a ' before cells a spreadsheet would run as formulas: undo it
        own = self.mapper.fmt == "crmcli" or "crm_import_error" in (
            _key(h) for h in self.mapper.header
        )
        for position, row in data_rows(self.reader, self.text.encoding, own=own):
            yield record(row, position)


def open_csv(
    text: TextSource,
    *,
    delimiter: str | None = None,
    overrides: dict[str, str] | None = None,
) -> CsvSource:
    """Sniff the delimiter, skip a preamble (LinkedIn's), read the header and build the mapper."""
    used = delimiter_option(delimiter) or sniff_delimiter(text.sample)
    # strict: a quote that is never closed is an error, not the rest of the file in one cell
    reader = csv.reader(text.stream, delimiter=used, strict=True)
    header: list[str] = []
    try:
        for row in reader:
            cells = [c for c in row if c.strip()]
            # LinkedIn starts with "Notes:", a quoted notice and a blank line before its header.
            if len(cells) >= 2:
                header = row
                break
            if reader.line_num > 20:
                break
    except UnicodeDecodeError:
        raise not_decodable(text.encoding) from None
    except csv.Error as exc:
        raise ValidationError(
            f"line {reader.line_num or 1}: the header row cannot be read as CSV ({exc}); "
            "fix that line and import again (nothing was imported)"
        ) from None
    if not header:
        raise ValidationError("the file has no header row (a first line naming the columns)")
    header = [h.replace("\ufeff", "") for h in header]
    mapper = build_mapper(header, overrides)
    return CsvSource(text, used, mapper, reader, reader.line_num)
