"""One parsed vCard as the importer's neutral record, property by property.

:data:`HANDLERS` says what each property crmcli understands becomes; every other property (and
a second FN, ORG, BDAY...) is kept verbatim with the contact (group, name, parameters and
value as written), so vCard export gives it back. Apple's ``itemN.X-ABLabel`` names the label
of the other properties of its group.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from crmcli.io.record import Record, normalize_label
from crmcli.io.vcard import (
    BARE_ENCODINGS,
    Property,
    decode,
    is_quoted_printable,
    split_structured,
    unescape,
)

# TYPE values that say nothing about which address or number it is
_NOISE_TYPES = {"pref", "internet", "voice", "x400", "msg", "uri", "x-internet", "dom",
                "intl", "postal", "parcel"}  # fmt: skip
#: TEL types that say what kind of line it is: they come after where it is ("home fax")
_LINE_KINDS = ("fax", "pager", "video", "text", "textphone", "car", "isdn", "modem", "bbs")
#: related people in the properties of Evolution, KDE, Outlook and others: property -> relation
_RELATED_PROPS = {
    "X-EVOLUTION-SPOUSE": "spouse", "X-EVOLUTION-MANAGER": "manager",
    "X-EVOLUTION-ASSISTANT": "assistant", "X-SPOUSE": "spouse", "X-MANAGER": "manager",
    "X-ASSISTANT": "assistant", "X-KADDRESSBOOK-X-SPOUSESNAME": "spouse",
    "X-KADDRESSBOOK-X-MANAGERSNAME": "manager", "X-KADDRESSBOOK-X-ASSISTANTSNAME": "assistant",
    "X-MS-SPOUSE": "spouse", "X-MS-MANAGER": "manager", "X-MS-ASSISTANT": "assistant",
}  # fmt: skip
_ANNIVERSARIES = ("ANNIVERSARY", "X-ANNIVERSARY", "X-MS-ANNIVERSARY", "X-EVOLUTION-ANNIVERSARY",
                  "X-KADDRESSBOOK-X-ANNIVERSARY")  # fmt: skip
#: the old one-property-per-service instant messaging of Apple, Evolution and KDE
_IM_PROPS = {
    "X-AIM": "aim", "X-ICQ": "icq", "X-JABBER": "xmpp", "X-MSN": "msn", "X-YAHOO": "yahoo",
    "X-SKYPE": "skype", "X-SKYPE-USERNAME": "skype", "X-GOOGLE-TALK": "gtalk",
    "X-GADUGADU": "gadugadu", "X-GROUPWISE": "groupwise", "X-QQ": "qq", "X-TWITTER": "twitter",
}  # fmt: skip
#: properties read once: a second one is kept verbatim
_SINGLE = {"FN", "N", "ORG", "TITLE", "ROLE", "BDAY", "UID", "GEO", "TZ", "PHOTO",
           *_ANNIVERSARIES}  # fmt: skip
_MEDIA_TYPES = {"jpeg": "image/jpeg", "jpg": "image/jpeg", "png": "image/png", "gif": "image/gif",
                "webp": "image/webp", "bmp": "image/bmp", "tiff": "image/tiff"}  # fmt: skip


class _Card:
    """What one card's properties say, as they are read."""

    def __init__(self, rec: Record, labels: dict[str, str], charset: str | None) -> None:
        self.rec = rec
        self.labels = labels
        self.charset = charset
        self.fn: str | None = None
        self.has_n = False
        self.seen: set[str] = set()
        self.emails: list[tuple[bool, str, str | None]] = []
        self.phones: list[tuple[bool, str, str | None]] = []
        #: groups that have a property kept verbatim (their X-ABLabel is kept too)
        self.kept_groups: set[str] = set()

    def text(self, prop: Property) -> str:
        return unescape(decode(prop, self.charset)).strip()

    def label(self, prop: Property) -> str | None:
        """The property's label: its group's X-ABLabel, else its TYPE (``home fax``)."""
        if prop.group and prop.group.upper() in self.labels:
            return normalize_label(self.labels[prop.group.upper()])
        types = [t for t in prop.types() if t not in _NOISE_TYPES and not t.startswith("x-")]
        where = [normalize_label(t) for t in types if t not in _LINE_KINDS]
        kinds = [t for t in types if t in _LINE_KINDS]
        words = [w for w in [*where[:1], *kinds[:1]] if w]
        return " ".join(words) or None

    def keep(self, prop: Property) -> None:
        """Keep the property verbatim (a quoted-printable value decoded and escaped again)."""
        head, value = prop.head, prop.value
        if is_quoted_printable(prop):
            # the decoded text is the value as written (its escapes too), but for line breaks
            # and commas, which 2.1 does not escape and 3.0 and 4.0 do (a strict reader such as
            # vobject, so Radicale, keeps only what comes before a bare comma)
            value = decode(prop, self.charset).replace("\r\n", "\n").replace("\n", "\\n")
            value = re.sub(r"(?<!\\),", r"\\,", value)
            head = re.sub(r";(ENCODING=)?QUOTED-PRINTABLE|;CHARSET=[^;:]*", "", head, flags=re.I)
        self.rec.props.append((prop.group, prop.spelling, _modern_head(head), value))
        self.rec.size += len(value)
        if prop.group:
            self.kept_groups.add(prop.group.upper())


def _modern_head(head: str) -> str:
    """2.1's bare parameters (``;WORK;PREF``) as 3.0 and 4.0 write them (``;TYPE=WORK,PREF``):
    crmcli writes 3.0 and 4.0, where a bare parameter is none (vobject drops it)."""
    pieces = head.split(";")[1:]
    bare = [p for p in pieces if p and "=" not in p]
    if not bare or '"' in head:
        return head
    types = [p for p in bare if p.upper() not in BARE_ENCODINGS]
    named = [p for p in pieces if "=" in p]
    named += [f"ENCODING={p}" for p in bare if p.upper() in BARE_ENCODINGS]
    named += [f"TYPE={','.join(types)}"] if types else []
    return "".join(f";{p}" for p in named)


Handler = Callable[[_Card, Property], str | None]


def _fn(card: _Card, prop: Property) -> str | None:
    card.fn = card.text(prop) or None
    return "name"


def _n(card: _Card, prop: Property) -> str | None:
    card.has_n = True
    parts = [p.strip() for p in [*split_structured(decode(prop, card.charset)), "", "", "", ""]]
    fields = ("last_name", "first_name", "middle_name", "name_prefix", "name_suffix")
    for key, value in zip(fields, parts, strict=False):
        if value:
            card.rec.text[key] = " ".join(value.split())
    return "name parts"


def _labeled(where: str) -> Handler:
    def read(card: _Card, prop: Property) -> str | None:
        value = card.text(prop)
        if where == "emails" and value.lower().startswith("mailto:"):
            value = value[7:]
        if where == "phones":
            value = _tel(prop, value)
        if value:
            getattr(card, where).append((prop.is_pref(), value, card.label(prop)))
        return where

    return read


def _tel(prop: Property, value: str) -> str:
    """A tel: URI (``tel:+1-418-656-9254;ext=102``) as a number people read."""
    if value.lower().startswith("tel:"):
        number, _, params = value[4:].partition(";")
        extension = re.search(r"(?:^|;)ext=([^;]+)", params, re.I)
        value = f"{number} ext. {extension.group(1)}" if extension else number
    return value


def _org(card: _Card, prop: Property) -> str | None:
    parts = [p.strip() for p in split_structured(decode(prop, card.charset))]
    if parts[0]:
        card.rec.text["company"] = parts[0]
    units = [p for p in parts[1:] if p]
    if units:
        card.rec.text["department"] = "; ".join(units)
    return "company, department"


def _text_field(key: str) -> Handler:
    def read(card: _Card, prop: Property) -> str | None:
        value = card.text(prop)
        if value:
            card.rec.text[key] = value
        return key.replace("_", " ")

    return read


def _nickname(card: _Card, prop: Property) -> str | None:
    names = [n.strip() for n in split_structured(decode(prop, card.charset), ",") if n.strip()]
    known = card.rec.text.get("nickname")  # several NICKNAME properties: one list
    if names:
        card.rec.text["nickname"] = ", ".join([known, *names] if known else names)
    return "nickname"


def _note(card: _Card, prop: Property) -> str | None:
    value = card.text(prop).replace("\r\n", "\n")
    if value:
        card.rec.notes.append(value)
    return "notes"


def _categories(card: _Card, prop: Property) -> str | None:
    card.rec.tags.extend(
        " ".join(t.split()) for t in split_structured(decode(prop, card.charset), ",") if t.strip()
    )
    return "tags"


def _uid(card: _Card, prop: Property) -> str | None:
    card.rec.uid = card.text(prop) or None
    return "UID"


def _adr(card: _Card, prop: Property) -> str | None:
    parts = [p.replace("\r\n", "\n").strip() for p in split_structured(decode(prop, card.charset))]
    po_box, extended, street, city, region, code, country = [*parts, *[""] * 7][:7]
    address = (card.label(prop), street, city, region, code, country, po_box, extended)
    if any(address[1:]):
        card.rec.addresses.append(tuple(p or None for p in address))
    return "addresses"


def _url(card: _Card, prop: Property) -> str | None:
    value = card.text(prop)
    if value:
        card.rec.urls.append((value, card.label(prop)))
    return "urls"


def _impp(card: _Card, prop: Property) -> str | None:
    value = card.text(prop)
    service = prop.param("X-SERVICE-TYPE") or prop.param("SERVICE-TYPE")
    scheme, colon, rest = value.partition(":")
    if colon and re.fullmatch(r"[A-Za-z][\w.+-]*", scheme) and not rest.startswith("//"):
        service, value = service or scheme, rest
    if value:
        card.rec.handles.append(("im", (service or "").lower() or None, value, card.label(prop)))
    return "handles"


def _social(card: _Card, prop: Property) -> str | None:
    value = card.text(prop)
    service = (prop.types() or [""])[0] or prop.param("SERVICE-TYPE") or ""
    if value:
        card.rec.handles.append(("social", service.lower() or None, value, None))
    return "handles"


def _im_prop(service: str) -> Handler:
    def read(card: _Card, prop: Property) -> str | None:
        value = card.text(prop)
        if value:
            card.rec.handles.append(("im", service, value, card.label(prop)))
        return "handles"

    return read


def _related(card: _Card, prop: Property) -> str | None:
    value = card.text(prop)
    fixed = _RELATED_PROPS.get(prop.name)
    label = fixed or card.label(prop)
    if value:
        uid = value if value.lower().startswith("urn:uuid:") else None
        card.rec.related.append((value, label, uid))
    return "related"


def _yearly_text(card: _Card, prop: Property) -> str:
    """A vCard date as text the importer understands: ``--04-15`` when the year is unknown."""
    value = card.text(prop)
    if "X-APPLE-OMIT-YEAR" in prop.params:
        digits = re.sub(r"\D", "", value)[:8]
        if len(digits) == 8:
            return f"--{digits[4:6]}-{digits[6:8]}"
    return re.sub(r"^(\d{4}-?\d{2}-?\d{2})T.*$", r"\1", value)  # a time of day says nothing


def _bday(card: _Card, prop: Property) -> str | None:
    value = _yearly_text(card, prop)
    if value:
        card.rec.dates.append(("birthday", "birthday", value))
    return "birthday"


def _anniversary(card: _Card, prop: Property) -> str | None:
    value = _yearly_text(card, prop)
    if value:
        card.rec.dates.append(("anniversary", "anniversary", value))
    return "anniversary"


def _abdate(card: _Card, prop: Property) -> str | None:
    value = _yearly_text(card, prop)
    label = card.labels.get((prop.group or "").upper(), "").strip() or "other"
    kind = label.lower() if label.lower() in ("anniversary", "birthday") else "other"
    if value:
        card.rec.dates.append((kind, label if kind == "other" else kind, value))
    return "dates"


def _photo(card: _Card, prop: Property) -> str | None:
    value = prop.value.strip()
    encoding = (prop.param("ENCODING") or "").upper()
    media = prop.param("MEDIATYPE")
    if value.startswith("data:"):
        # a URI is not escaped, but servers that store cards through vobject (Radicale)
        # write data:image/jpeg\;base64\,...; base64 has no backslash, so this is safe
        value = unescape(value)
        head, _, value = value.partition(",")
        media = head[5:].split(";")[0] or media
        encoding = "B" if ";base64" in head else ""
    elif encoding not in ("B", "BASE64"):
        card.rec.photo = (media, None, unescape(value))
        return "photo"
    try:
        data = base64.b64decode(re.sub(r"\s+", "", value), validate=True)
    except (binascii.Error, ValueError):
        card.keep(prop)
        return None
    if not data:  # "data:image/jpeg\;base64" from a server that cut the URI: no photo
        card.keep(prop)
        return "kept as is"
    if not media:
        from crmcli.contact_values import image_type

        named = (prop.param("TYPE") or "").lower()
        media = _MEDIA_TYPES.get(named.removeprefix("image/")) or image_type(data)
    card.rec.photo = (media, data, None)
    card.rec.size += len(data)
    return "photo"


def _own_field(card: _Card, prop: Property) -> str | None:
    key = prop.param("X-KEY")
    if key:
        card.rec.fields[key] = unescape(decode(prop, card.charset))
    return "custom fields"


def _own_invalid(card: _Card, prop: Property) -> str | None:
    field = prop.param("X-FIELD")
    if field:
        card.rec.add_value(field, prop.param("X-LABEL"), card.text(prop))
    return "flagged values"


def _own(attribute: str) -> Handler:
    def read(card: _Card, prop: Property) -> str | None:
        value = unescape(decode(prop, card.charset)).strip() or None
        if attribute in ("source", "display_name"):
            if value:
                card.rec.text[attribute] = value
        else:
            setattr(card.rec, attribute, value)
        return attribute.replace("_", " ")

    return read


HANDLERS: dict[str, Handler] = {
    "FN": _fn, "N": _n, "EMAIL": _labeled("emails"), "TEL": _labeled("phones"), "ORG": _org,
    "TITLE": _text_field("title"), "ROLE": _text_field("role"), "NOTE": _note,
    "NICKNAME": _nickname, "CATEGORIES": _categories, "UID": _uid, "ADR": _adr, "URL": _url,
    "IMPP": _impp, "X-SOCIALPROFILE": _social, "SOCIALPROFILE": _social, "RELATED": _related,
    "X-ABRELATEDNAMES": _related, "BDAY": _bday, "X-ABDATE": _abdate, "PHOTO": _photo,
    "GEO": _text_field("geo"), "TZ": _text_field("time_zone"), "X-CRM-FIELD": _own_field,
    "X-CRM-SOURCE": _own("source"), "X-CRM-DISPLAY-NAME": _own("display_name"),
    "X-CRM-CADENCE-DAYS": _own("cadence_days"), "X-CRM-REFERRED-BY": _own("referred_by_uid"),
    "X-CRM-INVALID": _own_invalid,
    **dict.fromkeys(_ANNIVERSARIES, _anniversary),
    **dict.fromkeys(_RELATED_PROPS, _related),
    **{name: _im_prop(service) for name, service in _IM_PROPS.items()},
}  # fmt: skip
#: not properties of the contact: the card's own frame
_FRAME = {"BEGIN", "END", "VERSION"}


def card_record(
    props: list[Property],
    position: str,
    raw: str,
    *,
    charset: str | None = None,
    tally: dict[str, int] | None = None,
) -> Record:
    """The neutral record of one parsed card."""
    rec = Record(position, raw)
    labels = {
        p.group.upper(): re.sub(r"^_\$!<(.*)>!\$_$", r"\1", unescape(decode(p, charset)))
        for p in props
        if p.name == "X-ABLABEL" and p.group
    }
    card = _Card(rec, labels, charset)
    for prop in props:
        went = _read_property(card, prop)
        if tally is not None and went:
            key = f"{prop.name} -> {went}"
            tally[key] = tally.get(key, 0) + 1
    for prop in props:  # a label goes with the properties kept verbatim in its group
        if prop.name == "X-ABLABEL" and (prop.group or "").upper() in card.kept_groups:
            card.keep(prop)
    _finish(card)
    return rec


def _read_property(card: _Card, prop: Property) -> str | None:
    """Read one property into the record; where it went (for the summary)."""
    name = prop.name
    if name in _FRAME or name == "X-ABLABEL":
        return None
    handler = HANDLERS.get(name)
    if handler is None or (name in _SINGLE and name in card.seen):
        card.keep(prop)
        return "kept as is"
    card.seen.add(name)
    return handler(card, prop)


def _finish(card: _Card) -> None:
    """Emails and phones PREF first; the name from FN when N does not give it."""
    rec, text = card.rec, card.rec.text
    rec.emails = [(v, label) for _, v, label in sorted(card.emails, key=lambda e: not e[0])]
    rec.phones = [(v, label) for _, v, label in sorted(card.phones, key=lambda e: not e[0])]
    fn = card.fn
    if not fn or text.get("display_name"):
        return
    given_family = " ".join(p for p in (text.get("first_name"), text.get("last_name")) if p)
    if card.has_n and given_family:
        if fn != given_family:  # "Wile E. Coyote", "Apple Computer AG": kept as written
            text["display_name"] = fn
        return
    # FN may be what the name falls back to (an email, the company): then it is no name
    first = (rec.emails[0][0] if rec.emails else None, rec.phones[0][0] if rec.phones else None)
    if fn in {*first, text.get("company"), text.get("nickname")}:
        return
    if card.has_n:
        text["display_name"] = fn
    else:
        rec.full_name = fn


def describe_tally(tally: dict[str, int]) -> list[str]:
    """``EMAIL -> emails (12)`` lines, most frequent property first."""
    return [f"{key} ({count})" for key, count in sorted(tally.items(), key=lambda kv: -kv[1])]
