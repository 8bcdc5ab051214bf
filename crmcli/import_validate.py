"""Checking and normalising each imported record before it is written.

A value that is not what it claims to be (an email without @, a phone "BusinessPhone", a
birthday "circa 1800" or in the future, a position that is no position) is kept on the record
as a flagged value, with the reason (the same rules as ``crm contact add``:
:mod:`crmcli.contact_values`), never the reason to lose the rest of the row. A record is
refused only when it names nobody: no name, company, email, phone or nickname.

Dates like ``03/04/1980`` are read month first (or day first with ``day_first`` in the
settings) until the file itself proves its order: a date whose first number is over 12
(``20/01/1991``) proves day first, one whose second is (``4/15/1980``) month first. Dates read
before the proof are marked, so the importer can turn them around at the end.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from crmcli.contact_values import email_problem, geo_problem, normal_geo, phone_problem
from crmcli.contacts import ADDRESS_PARTS, KNOWN_FIELDS
from crmcli.errors import CrmError
from crmcli.identity import phone_digits, same_phone
from crmcli.import_matching import personal_name
from crmcli.io.record import Record

_FIELD_KEY_BAD = re.compile(r"[^A-Za-z0-9_. -]+")
_BUILTIN_KEYS = {*KNOWN_FIELDS, "email", "phone", "tag", "name", "id"}
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_TIME_SUFFIX = re.compile(
    r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2}|am|pm)?$", re.I
)
_ISO_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$|^--(\d{2})-?(\d{2})$")
_NUMERIC_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})$")
_NOT_DIGIT = re.compile(r"\D")
#: the year Apple and CardBook write for "no year"
_NO_YEAR = 1604


def clean_field_key(key: str) -> str:
    """A custom field name from a file, made acceptable (letters first, no odd characters)."""
    key = " ".join(_FIELD_KEY_BAD.sub(" ", key).split())[:64]
    if not key or not key[0].isalpha():
        key = f"field {key}".strip()[:64]
    if key.lower() in _BUILTIN_KEYS:
        key = f"custom {key}"
    return key


class DateOrder:
    """Which order the file writes ``03/04/1980`` in: the setting until the file proves it."""

    def __init__(self, day_first: bool) -> None:
        self.default = day_first
        #: True: the file proved day first; False: month first; None: not proven
        self.proven: bool | None = None
        #: where the proof is ("line 12: 20/01/1991"), for the summary
        self.proof: str | None = None

    @property
    def day_first(self) -> bool:
        return self.default if self.proven is None else self.proven

    def needs_turning(self) -> bool:
        """Whether dates read before the proof were read the wrong way round."""
        return self.proven is not None and self.proven != self.default

    def parse(self, text: str, position: str) -> tuple[int | None, int, int, bool]:
        """(year or None, month, day, read before the proof); ValueError if not a date."""
        value = _TIME_SUFFIX.sub("", text.strip())
        iso = _ISO_DATE.match(value)
        if iso:
            if iso.group(1):
                year, month, day = int(iso.group(1)), int(iso.group(2)), int(iso.group(3))
            else:
                year, month, day = 2000, int(iso.group(4)), int(iso.group(5))
            date(year, month, day)  # ValueError for a day that does not exist
            return (None if not iso.group(1) or year == _NO_YEAR else year), month, day, False
        numeric = _NUMERIC_DATE.match(value)
        if numeric:
            return self._numeric(numeric, position, text)
        from crmcli.dates import parse_yearly

        yearly = parse_yearly(value, day_first=self.day_first)
        return (None if yearly.year == _NO_YEAR else yearly.year), yearly.month, yearly.day, False

    def _numeric(self, match: re.Match[str], position: str, text: str) -> tuple[Any, ...]:
        first, sep, second, year_text = match.groups()
        a, b = int(first), int(second)
        year = int(year_text)
        if len(year_text) == 2:  # 4/15/80: a two-digit year is 19xx when that is in the past
            year += 1900 if year > 30 else 2000
        if sep == ".":  # 20.01.1991: dots are always day first
            day_first, unsure = True, False
        elif a > 12 >= b or b > 12 >= a:
            day_first, unsure = a > 12, False
            if self.proven is None:
                self.proven, self.proof = day_first, f"{position}: {text.strip()}"
        else:
            day_first, unsure = self.day_first, self.proven is None
        month, day = (b, a) if day_first else (a, b)
        date(year, month, day)
        return (None if year == _NO_YEAR else year), month, day, unsure and a != b


class Validator:
    """Checks records one by one (:meth:`check`), keeping the file's date order."""

    def __init__(self, *, today: date, day_first: bool = False) -> None:
        self.today = today
        self.order = DateOrder(day_first)

    def check(self, rec: Record) -> str | None:
        """Check and normalise ``rec`` in place; the reason it cannot be imported, or None."""
        _names(rec)
        _emails(rec)
        _phones(rec)
        self._dates(rec)
        _text(rec)
        _lists(rec)
        if rec.cadence_days is not None and (
            not rec.cadence_days.isdigit() or not 0 < int(rec.cadence_days) <= 3650
        ):
            rec.invalid.append(
                ("cadence_days", None, rec.cadence_days, "not a number of days from 1 to 3650")
            )
            rec.cadence_days = None
        if rec.created_at and not _STAMP.match(rec.created_at):
            rec.created_at = None
        if rec.updated_at and not _STAMP.match(rec.updated_at):
            rec.updated_at = None
        text = rec.text
        if not (personal_name(rec) or text.get("company") or rec.emails or rec.phones) and not (
            text.get("nickname")
        ):
            return "no name, company, email or phone"
        return None

    def _dates(self, rec: Record) -> None:
        from crmcli.dates import YearlyDate, check_birthday

        dates: list[tuple[Any, ...]] = []
        labels: set[str] = set()
        for kind, label, value in rec.dates:
            value = value.lstrip("'")
            label = kind if kind != "other" else label.strip()[:40] or "other"
            field = kind if kind != "other" else "date"
            try:
                year, month, day, unsure = self.order.parse(value, rec.position)
            except (CrmError, ValueError):  # ours, or a day that does not exist
                rec.invalid.append((field, label if field == "date" else None, value, "not a date"))
                continue
            if kind == "birthday" and year is not None:
                try:
                    check_birthday(YearlyDate(month, day, year), self.today)
                except (CrmError, ValueError):
                    rec.invalid.append(("birthday", None, value, "in the future"))
                    continue
            if label.lower() not in labels:
                labels.add(label.lower())
                dates.append((kind, label, year, month, day, unsure))
        rec.dates = dates


def validate_record(rec: Record, day_first: bool = False, *, today: date) -> str | None:
    """Check one record on its own (no file-wide date order): see :meth:`Validator.check`."""
    return Validator(today=today, day_first=day_first).check(rec)


def _names(rec: Record) -> None:
    text = rec.text
    if rec.full_name and not (
        text.get("first_name") or text.get("last_name") or text.get("display_name")
    ):
        parts = rec.full_name.split(None, 1) or [""]  # a name of spaces is no name
        text["first_name"] = parts[0]
        if len(parts) > 1:
            text["last_name"] = parts[1]


def _emails(rec: Record) -> None:
    seen: set[str] = set()
    emails = []
    for value, label in rec.emails:
        value = value.strip()
        problem = email_problem(value)
        if problem:
            rec.invalid.append(("email", label, value, problem))
        elif value.lower() not in seen:
            seen.add(value.lower())
            emails.append((value, label))
    rec.emails = emails


def _phones(rec: Record) -> None:
    phones: list[tuple[Any, ...]] = []
    for value, label, *_ in rec.phones:
        value = value.strip().lstrip("'")  # a spreadsheet's "text" mark
        if value.lower().startswith("tel:"):
            value = value[4:]
        problem = phone_problem(value)
        if problem:
            rec.invalid.append(("phone", label, value, problem))
            continue
        digits = (
            phone_digits(value) if any(c in value for c in "xX#") else _NOT_DIGIT.sub("", value)
        )
        if not phones or not any(same_phone(digits, p[2]) for p in phones):
            phones.append((value, label, digits))
    rec.phones = phones


def _unique(items: list[Any], key: Any) -> list[Any]:
    if len(items) < 2:
        return items  # most lists of most rows: nothing to compare
    seen: set[Any] = set()
    out = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def _lists(rec: Record) -> None:
    """Tags, custom fields, addresses, URLs, handles and related people: tidied, no twins."""
    rec.tags = _unique(
        [" ".join(t.replace(",", " ").split()) for t in rec.tags if t.strip()], str.lower
    )
    if rec.fields:
        fields: dict[str, str] = {}
        lowered: set[str] = set()
        for key, value in rec.fields.items():
            key = clean_field_key(key)
            if key.lower() not in lowered and value.strip():
                lowered.add(key.lower())
                fields[key] = value.strip()
        rec.fields = fields
    rec.addresses = _unique(
        [
            (a[0], *(p.strip() if p and p.strip() else None for p in a[1:]))
            for a in rec.addresses
            if any(p and p.strip() for p in a[1:])
        ],
        lambda a: tuple((p or "").lower() for p in a[1:]),
    )
    rec.urls = _unique([(u.strip(), lab) for u, lab in rec.urls if u.strip()], lambda u: u[0])
    rec.handles = _unique(
        [(k, (s or "").strip().lower() or None, h.strip(), lab) for k, s, h, lab in rec.handles
         if h.strip()],
        lambda h: (h[0], h[1], h[2].lower()),
    )  # fmt: skip
    rec.related = _unique(
        [(n.strip(), lab, uid) for n, lab, uid in rec.related if n.strip()],
        lambda r: (r[0].lower(), r[1]),
    )


def _text(rec: Record) -> None:
    text = rec.text
    # a reader's single address and website (crmcli's own older files): into the lists
    parts = {part: text.pop(part) for part in ADDRESS_PARTS if part in text}
    if parts:
        rec.addresses.insert(0, (None, *[parts.get(p) for p in ADDRESS_PARTS], None, None))
    if "website" in text:
        rec.urls.insert(0, (text.pop("website"), None))
    geo = text.get("geo")
    if geo:
        problem = geo_problem(geo)
        if problem:
            rec.invalid.append(("geo", None, geo, problem))
            del text["geo"]
        else:
            text["geo"] = normal_geo(geo)


def _absorb_dates(into: Record, other: Record, *, overwrite: bool) -> None:
    """``other``'s dates by label: new labels added, known ones replaced with ``overwrite``."""
    labels = {d[1].lower(): i for i, d in enumerate(into.dates)}
    for entry in other.dates:
        if entry[1].lower() not in labels:
            into.dates.append(entry)
        elif overwrite:
            into.dates[labels[entry[1].lower()]] = entry


def absorb(into: Record, other: Record, *, overwrite: bool) -> None:
    """Fold ``other`` into ``into``: fill (or with ``overwrite``, replace) and add new values."""
    for key, value in other.text.items():
        if overwrite or not into.text.get(key):
            into.text[key] = value
    known = {e[0].lower() for e in into.emails}
    into.emails.extend(e for e in other.emails if e[0].lower() not in known)
    for phone in other.phones:
        if not any(same_phone(phone[2], p[2]) for p in into.phones):
            into.phones.append(phone)
    tags = {t.lower() for t in into.tags}
    into.tags.extend(t for t in other.tags if t.lower() not in tags)
    keys = {k.lower(): k for k in into.fields}
    for key, value in other.fields.items():
        if key.lower() not in keys:
            into.fields[key] = value
        elif overwrite:
            into.fields[keys[key.lower()]] = value
    _absorb_dates(into, other, overwrite=overwrite)
    for name in ("notes", "addresses", "urls", "handles", "related", "props", "invalid"):
        mine: list[Any] = getattr(into, name)
        mine.extend(item for item in getattr(other, name) if item not in mine)
    into.size += other.size
    for single in ("photo", "cadence_days", "referred_by_uid"):
        value = getattr(other, single)
        if value and (overwrite or not getattr(into, single)):
            setattr(into, single, value)
