"""Message templates for greetings: a subject and a body with ``{placeholder}`` fields.

Rendering is a tiny substitution of known names, nothing more: ``str.format`` would let a
template reach attributes (``{contact.__class__}``) and indexes, so it is never used. ``{{`` and
``}}`` are literal braces. An unknown placeholder is refused when the template is saved, so a
template that was saved always renders.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crmcli.clock import to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, ValidationError

#: every placeholder a template may use, with what it becomes (docs/dates-greetings.md)
PLACEHOLDERS: dict[str, str] = {
    "first_name": "the contact's first name (else the display name)",
    "last_name": "the contact's last name",
    "name": "the contact's display name",
    "company": "the contact's company",
    "title": "the contact's job title",
    "city": "the contact's city",
    "email": "the address the greeting goes to",
    "occasion": "the date's label: birthday, anniversary, customer since...",
    "date": "the day of the occasion, ISO (2026-12-04)",
    "day": "the day of the occasion in words (4 December)",
    "weekday": "the weekday of the occasion (Friday)",
    "years": "age or number of years (40); empty when the year is unknown",
    "nth": "the same as an ordinal (40th); empty when the year is unknown",
    "sender": "your name, from the smtp 'from' setting",
}

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
#: the same, with the space after a placeholder: an empty value takes it along
#: ("Happy {nth} birthday" for a year-less birthday is "Happy birthday", not "Happy  birthday")
_TOKEN_AND_SPACE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}( ?)|[{}]")
_NAME = re.compile(r"[a-z_]+")


@dataclass(frozen=True)
class Template:
    id: int
    name: str
    subject: str
    body: str
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "subject": self.subject,
            "body": self.body,
            "placeholders": sorted(placeholders(self.subject) | placeholders(self.body)),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def placeholders(text: str) -> set[str]:
    """The placeholder names ``text`` uses; ValidationError for an unknown one or a stray brace."""
    found: set[str] = set()
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise ValidationError(
                f"a lone {token!r} in the template; write {token * 2!r} for a literal brace"
            )
        if not _NAME.fullmatch(name) or name not in PLACEHOLDERS:
            raise ValidationError(
                f"unknown placeholder {{{name}}} in the template "
                f"(known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
            )
        found.add(name)
    return found


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace each known ``{name}`` by ``values[name]`` (missing: empty); ``{{``/``}}`` by braces.

    Only the names in :data:`PLACEHOLDERS` are looked up, and only as plain keys of ``values``:
    no attribute access, no indexing, no formatting specs, so a template cannot run code.
    """
    placeholders(text)  # refuses anything unknown, even in a template saved by an older crm

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        value = str(values.get(match.group(1), "") or "")
        return value + match.group(2) if value else ""

    return _TOKEN_AND_SPACE.sub(replace, text)


def _validate(name: str, subject: str, body: str) -> str:
    name = name.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}", name):
        raise ValidationError(
            f"template name {name!r} is not valid (letters, digits, _ . -; up to 40)"
        )
    if not subject.strip():
        raise ValidationError("a template needs a subject (--subject)")
    if "\n" in subject.strip() or "\r" in subject:
        raise ValidationError("a template subject is one line")
    if not body.strip():
        raise ValidationError("a template needs a body (--body, --body-file)")
    placeholders(subject)
    placeholders(body)
    return name


def _from_row(row: sqlite3.Row) -> Template:
    return Template(
        row["id"], row["name"], row["subject"], row["body"], row["created_at"], row["updated_at"]
    )


def get(conn: sqlite3.Connection, name: str) -> Template:
    row = conn.execute("SELECT * FROM templates WHERE name = ?", (name.strip(),)).fetchone()
    if row is None:
        raise NotFound(f"no template named {name.strip()!r} (see: crm template list)")
    return _from_row(row)


def list_templates(conn: sqlite3.Connection) -> list[Template]:
    return [_from_row(r) for r in conn.execute("SELECT * FROM templates ORDER BY name")]


def add(conn: sqlite3.Connection, name: str, subject: str, body: str, *, now: datetime) -> int:
    """Save a new template; unknown placeholders are refused here, not when sending."""
    name = _validate(name, subject, body)
    stamp = to_utc_text(now)
    with transaction(conn):
        if conn.execute("SELECT 1 FROM templates WHERE name = ?", (name,)).fetchone():
            raise ValidationError(
                f"a template named {name!r} exists; change it with: crm template edit {name}"
            )
        cursor = conn.execute(
            "INSERT INTO templates (name, subject, body, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, subject.strip(), body, stamp, stamp),
        )
    return int(cursor.lastrowid or 0)


def edit(
    conn: sqlite3.Connection,
    name: str,
    *,
    subject: str | None = None,
    body: str | None = None,
    now: datetime,
) -> Template:
    """Change a template's subject and/or body."""
    with transaction(conn):
        current = get(conn, name)
        new_subject = current.subject if subject is None else subject
        new_body = current.body if body is None else body
        _validate(current.name, new_subject, new_body)
        conn.execute(
            "UPDATE templates SET subject = ?, body = ?, updated_at = ? WHERE id = ?",
            (new_subject.strip(), new_body, to_utc_text(now), current.id),
        )
        return get(conn, current.name)


def remove(conn: sqlite3.Connection, name: str) -> Template:
    """Delete a template; refused while a greeting rule uses it."""
    with transaction(conn):
        current = get(conn, name)
        rules = [
            str(r[0])
            for r in conn.execute(
                "SELECT id FROM greeting_rules WHERE template_id = ? ORDER BY id", (current.id,)
            )
        ]
        if rules:
            raise ValidationError(
                f"template {current.name!r} is used by greeting rule(s) {', '.join(rules)}; "
                "remove them first (crm greet rule rm ID)"
            )
        conn.execute("DELETE FROM templates WHERE id = ?", (current.id,))
    return current


def parse_form(text: str) -> tuple[str, str]:
    """The editor form ``Subject: ...`` / blank line / body -> (subject, body)."""
    head, _, body = text.partition("\n")
    if not head.lower().startswith("subject:"):
        raise ValidationError("the first line of the form must be 'Subject: ...'")
    return head.split(":", 1)[1].strip(), body.lstrip("\n")
