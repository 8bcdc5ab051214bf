"""The options ``crm contact add`` and ``edit`` share for the parts of a contact beyond the
basics (name parts, addresses, URLs, handles, related people, photo), and what they change."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer

from crmcli import contacts
from crmcli.cli._common import complete_file
from crmcli.errors import UsageError

if TYPE_CHECKING:
    from crmcli.contact_changes import ContactChanges

Text = Annotated[str | None, typer.Option(show_default=False)]
MiddleOpt = Annotated[str | None, typer.Option("--middle", help="Middle name(s).")]
PrefixOpt = Annotated[str | None, typer.Option("--prefix", help="Honorific prefix: Dr., Ms.")]
SuffixOpt = Annotated[str | None, typer.Option("--suffix", help="Honorific suffix: Jr., PhD.")]
NicknameOpt = Annotated[str | None, typer.Option(help="Nickname(s), comma-separated.")]
DepartmentOpt = Annotated[str | None, typer.Option(help="Department (the ORG unit).")]
RoleOpt = Annotated[str | None, typer.Option(help="Role in the company (besides --title).")]
TzOpt = Annotated[str | None, typer.Option("--tz", help="Time zone: Europe/Berlin, -05:00.")]
GeoOpt = Annotated[str | None, typer.Option(help="Position: latitude,longitude.")]
AddressOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--address",
        help="Address, 'label:street; city; region; postal code; country'. Repeatable.",
    ),
]
UrlOpt = Annotated[
    list[str] | None, typer.Option("--url", help="Web address, optionally 'label:URL'. Repeatable.")
]
ImOpt = Annotated[
    list[str] | None,
    typer.Option("--im", help="Messaging handle SERVICE:HANDLE (skype:ann.lee). Repeatable."),
]
SocialOpt = Annotated[
    list[str] | None,
    typer.Option("--social", help="Social profile SERVICE:URL-or-handle. Repeatable."),
]
RelatedOpt = Annotated[
    list[str] | None,
    typer.Option("--related", help="Related person 'relation:Name' (spouse:Bob Lee). Repeatable."),
]
PhotoOpt = Annotated[
    Path | None,
    typer.Option(
        help="Photo from an image file (JPEG, PNG, GIF, WebP; up to 3 MiB).",
        autocompletion=complete_file,
        show_default=False,
    ),
]


class More(NamedTuple):
    """The values of the options above, as a command received them."""

    middle: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    nickname: str | None = None
    department: str | None = None
    role: str | None = None
    tz: str | None = None
    geo: str | None = None
    address: list[str] | None = None
    url: list[str] | None = None
    im: list[str] | None = None
    social: list[str] | None = None
    related: list[str] | None = None
    photo: Path | None = None


def text_changes(**values: str | None) -> dict[str, str | None]:
    """Options that were given, as field -> value ("" clears the field)."""
    return {key: (value or None) for key, value in values.items() if value is not None}


def apply_more(changes: ContactChanges, more: More) -> None:
    """Put what the options of :class:`More` ask for into ``changes``."""
    from crmcli import contact_values as values

    changes.text.update(
        text_changes(middle_name=more.middle, name_prefix=more.prefix,
                     name_suffix=more.suffix, nickname=more.nickname,
                     department=more.department, role=more.role, time_zone=more.tz,
                     geo=more.geo)
    )  # fmt: skip
    adds: list[tuple[str, list[Any]]] = [
        ("addresses", [values.parse_address(a) for a in more.address or []]),
        ("urls", [values.parse_labeled(u) for u in more.url or []]),
        ("handles", [values.parse_handle(h, "im") for h in more.im or []]
         + [values.parse_handle(h, "social") for h in more.social or []]),
        ("related", [values.parse_related(r) for r in more.related or []]),
    ]  # fmt: skip
    for name, items in adds:
        if items:
            changes.list_change(name).add.extend(items)
    if more.photo is not None:
        changes.photo = read_photo(more.photo)


def read_photo(path: Path) -> tuple[str | None, bytes]:
    """An image file as (media type, bytes), its size checked before it is read."""
    from crmcli.contact_apply import MAX_PHOTO
    from crmcli.contact_values import image_type

    try:
        size = path.stat().st_size
        if size > MAX_PHOTO:
            raise UsageError(
                f"--photo {path} is {size / 1048576:.1f} MiB; crmcli keeps photos of up to "
                f"{MAX_PHOTO >> 20} MiB (make it smaller first)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read --photo {path}: {exc.strerror}") from None
    media_type = image_type(data)
    if media_type is None:
        raise UsageError(f"--photo {path} is not a JPEG, PNG, GIF or WebP image")
    return media_type, data


def remove_items(changes: ContactChanges, **removed: list[str] | None) -> None:
    """``--rm-address``, ``--rm-url``, ``--rm-im``, ``--rm-related``: by their text."""
    for name, texts in removed.items():
        if texts:
            changes.list_change(name).remove.extend(texts)


#: what ``--clear NAME`` empties, besides the plain fields
_CLEARED_LISTS = ("addresses", "urls", "handles", "related", "invalid", "vcard")


def clear(changes: ContactChanges, name: str) -> None:
    """What ``--clear NAME`` asks for."""
    key = name.strip().lower().replace("-", "_")
    if key in contacts.TEXT_FIELDS:
        changes.text[key] = None
    elif key in contacts.ADDRESS_PARTS:
        changes.address_parts[key] = None
    elif key == "website":
        changes.website = ""
    elif key in contacts.DATE_FIELDS:
        changes.dates[key] = None
    elif key in ("emails", "phones", "tags"):
        setattr(changes, f"replace_{key}", [])
    elif key in _CLEARED_LISTS:
        changes.list_change(key).replace = []
    elif key == "photo":
        changes.clear_photo = True
    elif key == "referred_by":
        changes.clear_referred_by = True
    elif key == "cadence":
        changes.clear_cadence = True
    else:
        # Not built in: a custom field (checked to exist on the contact when applied).
        changes.clear_fields.append(name.strip().removeprefix("field."))
