"""The lines of ``crm contact show`` on a terminal: (label, value) for each thing the contact
has, in reading order. Plain data (the output sink shows it, escaped); nothing here draws."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def yearly(value: str | None) -> str | None:
    """``--04-15`` reads as "Apr 15 (year unknown)" for a person; full dates stay ISO."""
    if not value or not value.startswith("--"):
        return value
    import calendar

    month, day = int(value[2:4]), int(value[5:7])
    return f"{calendar.month_abbr[month]} {day} (year unknown)"


def _labelled(what: str, label: str | None) -> str:
    return f"{what} {label or ''}".strip()


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KB" if size < 1048576 else f"{size / 1048576:.1f} MB"


def _name_rows(record: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    parts = [record.get(k) for k in ("name_prefix", "first_name", "middle_name", "last_name")]
    full = " ".join(p for p in [*parts, record.get("name_suffix")] if p)
    if full and full != record["name"]:
        yield "full name", full
    yield "nickname", record.get("nickname")
    job = " at ".join(p for p in (record.get("title"), record.get("company")) if p)
    if record.get("department"):
        job = f"{job} ({record['department']})" if job else record["department"]
    yield "work", job
    yield "role", record.get("role")


def _contact_rows(record: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for entry in record["emails"]:
        yield _labelled("email", entry["label"]), entry["email"]
    for entry in record["phones"]:
        yield _labelled("phone", entry["label"]), entry["phone"]
    for address in record["addresses"]:
        town = " ".join(p for p in (address["postal_code"], address["city"]) if p)
        parts = [address["po_box"], address["extended"], address["street"], town,
                 address["region"], address["country"]]  # fmt: skip
        yield (
            _labelled("address", address["label"]),
            ", ".join(p.replace("\n", ", ") for p in parts if p),
        )
    for url in record["urls"]:
        yield _labelled("url", url["label"]), url["url"]
    for handle in record["handles"]:
        yield _labelled(handle["service"] or handle["kind"], handle["label"]), handle["handle"]
    for person in record["related"]:
        linked = f" (#{person['contact_id']})" if person["contact_id"] else ""
        yield person["label"] or "related", f"{person['name']}{linked}"


def _other_rows(record: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    yield "tags", ", ".join(record["tags"])
    yield "birthday", yearly(record.get("birthday"))
    yield "anniversary", yearly(record.get("anniversary"))
    for other in record.get("dates", []):
        if other["kind"] == "other":
            yield other["label"], yearly(other["date"])
    yield "time zone", record.get("time_zone")
    yield "geo", record.get("geo")
    photo = record.get("photo")
    if photo:
        yield "photo", photo["uri"] or f"{photo['media_type'] or 'image'}, {_size(photo['size'])}"
    yield "source", record.get("source")
    if record.get("referred_by"):
        yield "referred by", f"{record['referred_by']['name']} (#{record['referred_by']['id']})"
    if record.get("cadence_days"):
        yield "keep in touch", f"every {record['cadence_days']} days"
    yield from record["fields"].items()
    for item in record["invalid"]:
        shown = f"{item['value']} ({item['reason']}; crm contact edit to fix)"
        yield _labelled(f"invalid {item['field']}", item["label"]), shown
    if record["vcard"]:
        names = dict.fromkeys(line.split(":", 1)[0].split(";", 1)[0] for line in record["vcard"])
        yield "kept from vCard", ", ".join(names)
    yield "added", record["created_at"][:10]


def detail_rows(record: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every (label, value) of the contact's details that has a value, in reading order."""
    for part in (_name_rows, _contact_rows, _other_rows):
        for label, value in part(record):
            if value:
                yield label, value
