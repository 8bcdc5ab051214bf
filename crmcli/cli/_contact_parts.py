"""The options ``crm contact add`` and ``edit`` share for the parts of a contact beyond the
basics (name parts, addresses, URLs, handles, related people, photo), and what they change;
:func:`crmcli.cli._contact_options.contact_changes` calls on them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmcli import contact_values as values
from crmcli import contacts
from crmcli.cli._common import complete_file
from crmcli.errors import UsageError

if TYPE_CHECKING:
    from crmcli.contact_changes import ContactChanges

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


RmAddressOpt = Annotated[
    list[str] | None, typer.Option(help="Remove this address (as shown, or its street).")
]
RmUrlOpt = Annotated[list[str] | None, typer.Option(help="Remove this web address.")]
RmHandleOpt = Annotated[
    list[str] | None, typer.Option(help="Remove this messaging handle or social profile.")
]
RmRelatedOpt = Annotated[list[str] | None, typer.Option(help="Remove this related person.")]

#: options named otherwise than their field of contacts.TEXT_FIELDS
TEXT_OPTIONS = {"middle_name": "middle", "name_prefix": "prefix", "name_suffix": "suffix",
                "time_zone": "tz"}  # fmt: skip
#: repeatable options -> (list of the contact, how a value is read; None: removed by text)
_LIST_OPTIONS: dict[str, tuple[str, Callable[[str], Any] | None]] = {
    "address": ("addresses", values.parse_address),
    "url": ("urls", values.parse_labeled),
    "im": ("handles", lambda text: values.parse_handle(text, "im")),
    "social": ("handles", lambda text: values.parse_handle(text, "social")),
    "related": ("related", values.parse_related),
    "rm_address": ("addresses", None),
    "rm_url": ("urls", None),
    "rm_handle": ("handles", None),
    "rm_related": ("related", None),
}


def apply_lists(changes: ContactChanges, given: Mapping[str, Any]) -> None:
    """The address, URL, handle and related-person options (added or removed), the first
    address's parts, ``--website`` and ``--photo`` of ``given`` (a command's ``ctx.params``)
    into ``changes``."""
    for option, (name, read) in _LIST_OPTIONS.items():
        for text in given.get(option) or []:
            if read is None:
                changes.list_change(name).remove.append(text)
            else:
                changes.list_change(name).add.append(read(text))
    for part in contacts.ADDRESS_PARTS:
        if given.get(part) is not None:
            changes.address_parts[part] = given[part] or None
    if given.get("website") is not None:
        changes.website = given["website"]
    if given.get("photo") is not None:  # ctx.params holds the option's text, not a Path
        changes.photo = read_photo(Path(given["photo"]))


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
