"""Reading crmcli's own JSON and JSON Lines exports back (``crm export contacts -f json``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from crmcli.contacts import TEXT_FIELDS
from crmcli.io.record import Record, Rejected


def object_record(obj: Any, position: str, raw: str) -> Record | Rejected:
    """An export dictionary (see docs/json.md) as a neutral record."""
    if not isinstance(obj, dict):
        return Rejected(position, "not a JSON object", raw)
    rec = Record(position, raw)
    for key in TEXT_FIELDS:
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            rec.text[key] = value.strip()
    for entry in obj.get("emails") or []:
        if isinstance(entry, dict) and entry.get("email"):
            rec.emails.append((str(entry["email"]).strip(), entry.get("label")))
    for entry in obj.get("phones") or []:
        if isinstance(entry, dict) and entry.get("phone"):
            rec.phones.append((str(entry["phone"]).strip(), entry.get("label")))
    rec.tags = [str(t) for t in obj.get("tags") or []]
    fields = obj.get("fields") or {}
    if isinstance(fields, dict):
        rec.fields = {str(k): str(v) for k, v in fields.items() if v is not None}
    for kind in ("birthday", "anniversary"):
        if obj.get(kind):
            rec.dates.append((kind, kind, str(obj[kind])))
    for entry in obj.get("dates") or []:
        if isinstance(entry, dict) and entry.get("date"):
            rec.dates.append(("other", str(entry.get("label") or "other"), str(entry["date"])))
    if isinstance(obj.get("notes"), str) and obj["notes"].strip():
        rec.notes.append(obj["notes"])
    rec.uid = obj.get("uid") or None
    rec.created_at = obj.get("created_at") or None
    rec.updated_at = obj.get("updated_at") or None
    if obj.get("cadence_days") is not None:
        rec.cadence_days = str(obj["cadence_days"])
    rec.referred_by_uid = obj.get("referred_by_uid") or None
    if not (rec.text or rec.emails) and obj.get("name"):
        rec.full_name = str(obj["name"])
    return rec


def read_json(stream: IO[str]) -> Iterator[Record | Rejected]:
    """Records from a JSON array or JSON Lines; streamed when each object is on its own line
    (as ``crm export`` writes them), else the document is read whole."""
    seen: list[str] = []
    streaming = False
    for number, line in enumerate(stream, 1):
        text = line.strip()
        if not streaming:
            seen.append(line)
        if text in ("", "[", "]", "[]"):
            continue
        text = text.rstrip(",")
        if text.startswith("[") and not streaming:
            text = text[1:].strip()
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            if streaming:
                yield Rejected(f"line {number}", "not a JSON object on one line", text)
                continue
            yield from _whole("".join(seen) + stream.read())
            return
        streaming = True
        seen = []
        yield object_record(obj, f"line {number}", text)


def _whole(document: str) -> Iterator[Record | Rejected]:
    try:
        data = json.loads(document)
    except json.JSONDecodeError as exc:
        yield Rejected(f"line {exc.lineno}", f"not valid JSON ({exc.msg})", None)
        return
    for index, item in enumerate(data if isinstance(data, list) else [data], 1):
        yield object_record(item, f"object {index}", json.dumps(item, ensure_ascii=False))
