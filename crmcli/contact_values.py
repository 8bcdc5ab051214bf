"""The values a contact holds besides plain text, and the one set of rules that checks them.

``crm contact add``/``edit`` refuse a value that fails a rule (a person typed it and can fix it
at once); an import keeps it, flagged, with the same rule's reason (:func:`problem`), so a junk
phone from a file is never the reason to lose the rest of the card (docs/issues.md).
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

from crmcli.errors import ValidationError

# Patterns as text, matched through re's own cache: compiled on first use, not at import
# (every command imports this module through crmcli.contacts; few validate anything).
_LABEL_PREFIX = r"^([A-Za-z][A-Za-z0-9 _-]{0,29}):(?!//)(.+)$"
# a domain may not end with a dot (ann@example. is a typo)
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@[^@\s.]+$"
PHONE_PATTERN = r"^\+?[\d\s().\-/]+((ext\.?|x|#)\s*\d+)?$"
_GEO = r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,;]\s*(-?\d{1,3}(?:\.\d+)?)\s*$"
_HANDLE = r"^([A-Za-z][\w.+-]{0,39}):\s*(.+?)(?:\s+\(([^()]{1,30})\))?$"


class Labeled(NamedTuple):
    """An email, phone or URL with its optional label (work, home, mobile...)."""

    value: str
    label: str | None = None

    def __str__(self) -> str:
        return f"{self.label}:{self.value}" if self.label else self.value


class Address(NamedTuple):
    """A postal address: the parts of a vCard ADR (``street`` may hold several lines)."""

    label: str | None = None
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    po_box: str | None = None
    extended: str | None = None

    def parts(self) -> tuple[str | None, ...]:
        """Everything but the label, in the order of the text form (:func:`parse_address`)."""
        return tuple(self)[1:]

    def is_empty(self) -> bool:
        return not any(p and p.strip() for p in self.parts())

    def one_line(self) -> str:
        """``1 Main St, 62701 Springfield, IL, USA`` (for a person reading it)."""
        town = " ".join(p for p in (self.postal_code, self.city) if p)
        lines = [self.po_box, self.extended, self.street, town, self.region, self.country]
        return ", ".join(p.replace("\n", ", ") for p in lines if p)

    def __str__(self) -> str:
        """The text form: ``work:1 Main St; Springfield; IL; 62701; USA``."""
        parts = [(p or "").replace("\n", "\\n") for p in self.parts()]
        while parts and not parts[-1]:
            parts.pop()
        text = "; ".join(parts)
        return f"{self.label}:{text}" if self.label else text


class Handle(NamedTuple):
    """An instant-messaging handle (kind ``im``, vCard IMPP) or a social profile (``social``)."""

    kind: str
    service: str | None
    handle: str
    label: str | None = None

    def __str__(self) -> str:
        """The text form: ``skype:ann.lee``, ``twitter:https://x.example/ann (work)``."""
        text = f"{self.service}:{self.handle}" if self.service else self.handle
        return f"{text} ({self.label})" if self.label else text


class Related(NamedTuple):
    """A related person: the name (or URI) as given, the relation, and the contact it is."""

    name: str
    label: str | None = None
    contact_id: int | None = None

    def __str__(self) -> str:
        return f"{self.label}:{self.name}" if self.label else self.name


class Invalid(NamedTuple):
    """A value a file brought that is not what it claims to be, kept as it came."""

    field: str
    label: str | None
    value: str
    reason: str


class VcardProperty(NamedTuple):
    """A vCard property crmcli does not read into a field, kept verbatim."""

    group: str | None
    name: str
    params: str
    value: str

    def line(self) -> str:
        """The content line (unfolded): ``item2.X-ABADR;TYPE=pref:us``."""
        return f"{self.group + '.' if self.group else ''}{self.name}{self.params}:{self.value}"


class Photo(NamedTuple):
    """What ``crm contact show`` says of a photo (the bytes are read only to export them)."""

    media_type: str | None
    size: int | None
    uri: str | None


# --- text forms (options, the edit form) -----------------------------------------------------


def parse_labeled(text: str) -> Labeled:
    """``"work:alice@example.com"`` -> Labeled("alice@example.com", "work"); the label is optional."""
    text = text.strip()
    match = re.match(_LABEL_PREFIX, text)
    if match:
        return Labeled(match.group(2).strip(), match.group(1).strip().lower())
    return Labeled(text)


def parse_address(text: str) -> Address:
    """``"work:1 Main St; Springfield; IL; 62701; USA"``: the parts in that order (then PO box
    and extended address), ``;`` between them, ``\\n`` for a new line of the street."""
    labeled = parse_labeled(text)
    parts = [p.strip().replace("\\n", "\n") or None for p in labeled.value.split(";")]
    if len(parts) > 7:
        raise ValidationError(
            f"address {text!r} has {len(parts)} parts; give at most 7: street; city; region; "
            "postal code; country; PO box; extended"
        )
    address = Address(labeled.label, *parts)
    if address.is_empty():
        raise ValidationError(f"address {text!r} is empty")
    return address


def parse_handle(text: str, kind: str) -> Handle:
    """``"skype:ann.lee"`` or ``"twitter:https://x.example/ann (work)"``: service, handle and
    an optional label in parentheses."""
    match = re.match(_HANDLE, text.strip())
    if not match or not match.group(2).strip():
        what = "an IM handle" if kind == "im" else "a social profile"
        raise ValidationError(
            f"{what} is SERVICE:HANDLE, e.g. skype:ann.lee or twitter:https://x.example/ann "
            f"(got {text!r})"
        )
    return Handle(kind, match.group(1).lower(), match.group(2).strip(), match.group(3))


def parse_related(text: str) -> Related:
    """``"spouse:Bob Stone"``: the relation, then the person's name (or a URI)."""
    labeled = parse_labeled(text)
    if not labeled.value:
        raise ValidationError(f"related person {text!r} has no name")
    return Related(labeled.value, labeled.label)


# --- the rules --------------------------------------------------------------------------------


@cache
def _compiled(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``pattern`` compiled on first use: an import checks every email and phone of a file,
    and re's own cache costs a lookup of a few microseconds on each call."""
    return re.compile(pattern, flags)


def email_problem(value: str) -> str | None:
    """Why ``value`` is not an email address, or None."""
    if not _compiled(EMAIL_PATTERN).match(value) or value.startswith("@") or value.endswith("@"):
        return "not an email address"
    return None


def phone_problem(value: str) -> str | None:
    """Why ``value`` is not a phone number, or None."""
    if (
        not _compiled(PHONE_PATTERN, re.IGNORECASE).match(value)
        or len(_compiled(r"\D").sub("", value)) < 3
    ):
        return "not a phone number"
    return None


def geo_problem(value: str) -> str | None:
    """Why ``value`` is not a position (latitude,longitude), or None."""
    match = re.match(_GEO, value.removeprefix("geo:"))
    if match and abs(float(match.group(1))) <= 90 and abs(float(match.group(2))) <= 180:
        return None
    return "not a position (latitude,longitude)"


def normal_geo(value: str) -> str:
    """``geo:48.2,16.37`` or ``48.2;16.37`` -> ``48.2,16.37`` (checked first)."""
    match = re.match(_GEO, value.removeprefix("geo:"))
    assert match is not None
    return f"{match.group(1)},{match.group(2)}"


def validate_email(value: str) -> str:
    value = value.strip()
    if email_problem(value):
        raise ValidationError(f"email {value!r} is not an address (expected name@example.com)")
    return value


def validate_phone(value: str) -> str:
    value = value.strip()
    if phone_problem(value):
        raise ValidationError(
            f"phone {value!r} is not a phone number (digits, spaces, + ( ) - . / and ext)"
        )
    return value


def validate_geo(value: str) -> str:
    if geo_problem(value):
        raise ValidationError(f"geo {value!r} is not a position; give latitude,longitude")
    return normal_geo(value)


def validate_tag(name: str) -> str:
    name = name.strip()
    if not name or "," in name:
        raise ValidationError(f"tag {name!r} is not valid (a tag is non-empty and has no comma)")
    return name


#: how image files begin (their "magic numbers"), for the media type of a photo
_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    """The media type of an image by its first bytes (JPEG, PNG, GIF, WebP), else None."""
    for magic, media_type in _IMAGE_MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
