"""Reading crmcli's own JSON and JSON Lines exports back (``crm export contacts -f json``).

Every value is checked for its type before it is used: a file from elsewhere may put a number
where a list belongs (``"tags": 5``) or a list where a text belongs (``"uid": [1]``). Such an
object is rejected with the key named, like any other bad row; nothing else of the file is lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from crmcli.contacts import ADDRESS_PARTS, TEXT_FIELDS
from crmcli.io.record import Record, Rejected

#: the longest line read as one JSON object; a longer one is rejected without being held whole
#: (8 MiB: a contact with a photo of 3 MiB, as crmcli exports it, is one line of about 4 MiB)
MAX_LINE = 8 * 1024 * 1024


class _BadValue(Exception):
    """A key whose value has the wrong type (the message names it)."""


def _text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _BadValue(f'"{key}" must be a text, not {_kind(value)}')
    return str(value)


def _kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", bool: "true/false", str: "a text"}
    return kinds.get(type(value), "a number")


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _BadValue(f'"{key}" must be a list, not {_kind(value)}')
    return value


def _labelled(obj: dict[str, Any], key: str, inner: str) -> list[tuple[str, str | None]]:
    """``"emails": [{"email": ..., "label": ...}]`` (a plain text item is accepted too)."""
    out: list[tuple[str, str | None]] = []
    for entry in _list(obj, key):
        if isinstance(entry, str):
            entry = {inner: entry}
        if not isinstance(entry, dict):
            raise _BadValue(f'"{key}" must be a list of objects like {{"{inner}": "..."}}')
        value, label = _text(entry, inner), _text(entry, "label")
        if value and value.strip():
            out.append((value.strip(), label))
    return out


def object_record(obj: Any, position: str, raw: str) -> Record | Rejected:
    """An export dictionary (see docs/json.md) as a neutral record; a value of the wrong type
    rejects the object, naming the key."""
    if not isinstance(obj, dict):
        return Rejected(position, "not a JSON object", raw)
    try:
        return _record(obj, position, raw)
    except _BadValue as bad:
        return Rejected(position, str(bad), raw)


def _objects(obj: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A list of objects (``"addresses": [{...}]``); another kind of item is a bad value."""
    items = _list(obj, key)
    if any(not isinstance(item, dict) for item in items):
        raise _BadValue(f'"{key}" must be a list of objects')
    return items


def _lists(rec: Record, obj: dict[str, Any]) -> None:
    """The lists of crmcli's own export beyond emails and phones."""
    parts = ("label", "street", "city", "region", "postal_code", "country", "po_box", "extended")
    for address in _objects(obj, "addresses"):
        rec.addresses.append(tuple(_text(address, part) for part in parts))
    rec.urls.extend(_labelled(obj, "urls", "url"))
    for handle in _objects(obj, "handles"):
        value = _text(handle, "handle")
        if value:
            kind = "social" if _text(handle, "kind") == "social" else "im"
            rec.handles.append((kind, _text(handle, "service"), value, _text(handle, "label")))
    for person in _objects(obj, "related"):
        name = _text(person, "name")
        if name:
            rec.related.append((name, _text(person, "label"), _text(person, "uid")))
    for item in _objects(obj, "invalid"):
        value = _text(item, "value")
        if value:
            rec.add_value(_text(item, "field") or "unknown", _text(item, "label"), value)
    lines = _list(obj, "vcard")
    if any(not isinstance(line, str) for line in lines):
        raise _BadValue('"vcard" must be a list of texts')
    if lines:
        from crmcli.io.vcard import kept_properties

        rec.props.extend(kept_properties("\n".join(lines)))
    photo = obj.get("photo")
    if photo is not None:
        if not isinstance(photo, dict):
            raise _BadValue(f'"photo" must be an object, not {_kind(photo)}')
        _photo(rec, photo)


def _photo(rec: Record, photo: dict[str, Any]) -> None:
    import base64
    import binascii

    data, uri = _text(photo, "data"), _text(photo, "uri")
    if data:
        try:
            decoded = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise _BadValue('"photo" "data" is not base64') from None
        rec.photo = (_text(photo, "media_type"), decoded, None)
        rec.size += len(decoded)
    elif uri:
        rec.photo = (_text(photo, "media_type"), None, uri)


def _tags_and_fields(rec: Record, obj: dict[str, Any]) -> None:
    for tag in _list(obj, "tags"):
        if not isinstance(tag, str):
            raise _BadValue(f'"tags" must be a list of texts, not of {_kind(tag)}s')
        rec.tags.append(tag)
    fields = obj.get("fields") or {}
    if not isinstance(fields, dict):
        raise _BadValue(f'"fields" must be an object, not {_kind(fields)}')
    rec.fields = {str(k): v for k in fields if (v := _text(fields, k)) is not None}


def _dates(rec: Record, obj: dict[str, Any]) -> None:
    for kind in ("birthday", "anniversary"):
        when = _text(obj, kind)
        if when:
            rec.dates.append((kind, kind, when))
    for entry in _list(obj, "dates"):
        if not isinstance(entry, dict):
            raise _BadValue('"dates" must be a list of objects like {"label": ..., "date": ...}')
        when = _text(entry, "date")
        if when:
            rec.dates.append(("other", _text(entry, "label") or "other", when))


def _record(obj: dict[str, Any], position: str, raw: str) -> Record:
    rec = Record(position, raw)
    for key in (*TEXT_FIELDS, *ADDRESS_PARTS, "website"):
        value = _text(obj, key)
        if value and value.strip():
            rec.text[key] = value.strip()
    if obj.get("addresses"):  # the lists say it all; the single ones are their first items
        for key in ADDRESS_PARTS:
            rec.text.pop(key, None)
    if obj.get("urls"):
        rec.text.pop("website", None)
    rec.emails = list(_labelled(obj, "emails", "email"))
    rec.phones = list(_labelled(obj, "phones", "phone"))
    _lists(rec, obj)
    _tags_and_fields(rec, obj)
    _dates(rec, obj)
    notes = _text(obj, "notes")
    if notes and notes.strip():
        rec.notes.append(notes)
    rec.uid = _text(obj, "uid")
    rec.created_at = _text(obj, "created_at")
    rec.updated_at = _text(obj, "updated_at")
    rec.cadence_days = _text(obj, "cadence_days")
    rec.referred_by_uid = _text(obj, "referred_by_uid")
    name = _text(obj, "name")
    if not (rec.text or rec.emails) and name and name.strip():
        rec.full_name = name.strip()
    return rec


def _loads(text: str) -> Any:
    """``json.loads``, with every way it can fail (a 5,000-digit number, 100,000 nested
    brackets) as a ValueError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _lines(stream: IO[str]) -> Iterator[str]:
    """The stream's lines, a line longer than :data:`MAX_LINE` as a marker (never held whole)."""
    while True:
        line = stream.readline(MAX_LINE)
        if not line:
            return
        if len(line) >= MAX_LINE and not line.endswith("\n"):
            while True:  # skip the rest of it, a piece at a time
                rest = stream.readline(MAX_LINE)
                if not rest or rest.endswith("\n"):
                    break
            yield "\0too long"
            continue
        yield line


def read_json(stream: IO[str]) -> Iterator[Record | Rejected]:
    """Records from a JSON array or JSON Lines; streamed when each object is on its own line
    (as ``crm export`` writes them), else the document is read whole."""
    seen: list[str] = []
    streaming = False
    lines = _lines(stream)
    for number, line in enumerate(lines, 1):
        if line == "\0too long":
            yield Rejected(f"line {number}", f"longer than {MAX_LINE // 1024 // 1024} MiB", None)
            streaming = True
            continue
        text = line.strip()
        if not streaming:
            seen.append(line)
        if text in ("", "[", "]", "[]"):
            continue
        text = text.rstrip(",")
        if text.startswith("[") and not streaming:
            text = text[1:].strip()
        try:
            obj = _loads(text)
        except ValueError as exc:
            if streaming:
                reason = getattr(exc, "msg", str(exc))
                yield Rejected(f"line {number}", f"not a JSON object on one line ({reason})", text)
                continue
            yield from _whole("".join(seen) + "".join(lines))
            return
        streaming = True
        seen = []
        yield object_record(obj, f"line {number}", text)


def _whole(document: str) -> Iterator[Record | Rejected]:
    try:
        data = _loads(document)
    except json.JSONDecodeError as exc:
        yield Rejected(f"line {exc.lineno}", f"not valid JSON ({exc.msg})", None)
        return
    except ValueError as exc:
        yield Rejected("line 1", f"not valid JSON ({exc})", None)
        return
    for index, item in enumerate(data if isinstance(data, list) else [data], 1):
        yield object_record(item, f"object {index}", json.dumps(item, ensure_ascii=False))
