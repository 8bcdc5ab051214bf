"""Message templates for greetings and campaigns: a subject and a body with ``{placeholder}``
fields; the body is plain text, or Markdown (sent as text and HTML).

Rendering is a tiny substitution of known names, nothing more: ``str.format`` would let a
template reach attributes (``{contact.__class__}``) and indexes, so it is never used. ``{{`` and
``}}`` are literal braces. An unknown placeholder is refused when the template is saved, so a
template that was saved always renders. A Markdown body becomes HTML before the values go in,
and they go in HTML-escaped: a contact's data never becomes markup (:func:`render_html`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from crmcli.clock import to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, ValidationError

if TYPE_CHECKING:
    from crmcli.contacts import Contact

#: placeholders of every message: the contact, the customer profile (crmcli.profile), you
_CONTACT: dict[str, str] = {
    "first_name": "the contact's first name (else the display name)",
    "last_name": "the contact's last name",
    "name": "the contact's display name",
    "company": "the contact's company",
    "title": "the contact's job title",
    "city": "the contact's city",
    "email": "the address the message goes to",
    "sender": "your name, from the smtp 'from' setting",
    "purchases": "how many purchases the contact made (0)",
    "first_purchase": "the day of the first purchase, ISO; empty without one",
    "first_purchase_year": "the year of the first purchase (2021)",
    "last_purchase": "the day of the latest purchase, ISO",
    "last_product": "the product of the latest purchase",
    "favourite_product": "the product bought most often",
    "total_spent": "the total spent, in the currency bought most in (1,250.00 EUR)",
    "days_since_last_purchase": "days since the latest purchase",
    "days_since_last_touch": "days since you were last in touch",
}
#: placeholders of greetings only: the yearly date
_GREETING: dict[str, str] = {
    "occasion": "the date's label: birthday, anniversary, customer since...",
    "date": "the day of the occasion, ISO (2026-12-04)",
    "day": "the day of the occasion in words (4 December)",
    "weekday": "the weekday of the occasion (Friday)",
    "years": "age or number of years (40); empty when the year is unknown",
    "nth": "the same as an ordinal (40th); empty when the year is unknown",
}
#: placeholders of campaign messages only
_CAMPAIGN: dict[str, str] = {
    "unsubscribe": "where to write to unsubscribe (a mailto: link with the recipient's token)",
    "campaign": "the campaign's name",
}
#: every placeholder a template may use, with what it becomes (docs/dates-greetings.md)
PLACEHOLDERS: dict[str, str] = {**_CONTACT, **_GREETING, **_CAMPAIGN}
#: placeholders by what a template is used for (checked when a rule or campaign takes it)
USES: dict[str, frozenset[str]] = {
    "greeting": frozenset(_CONTACT) | frozenset(_GREETING),
    "campaign": frozenset(_CONTACT) | frozenset(_CAMPAIGN),
}
FORMATS = ("text", "markdown")

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
    format: str = "text"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "subject": self.subject,
            "body": self.body,
            "format": self.format,
            "placeholders": sorted(self.placeholders()),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def placeholders(self) -> set[str]:
        return placeholders(self.subject) | placeholders(self.body)

    def check_use(self, use: str) -> None:
        """Refuse a template whose placeholders mean nothing for ``use`` (greeting, campaign)."""
        foreign = sorted(self.placeholders() - USES[use])
        if foreign:
            shown = ", ".join("{" + name + "}" for name in foreign)
            raise ValidationError(
                f"template {self.name!r} uses {shown}, which a {use} cannot fill; "
                f"change it (crm template edit {self.name}) or use another template"
            )


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


def render_html(body: str, values: Mapping[str, str]) -> str:
    """The HTML part of a Markdown body (a whole document).

    The Markdown is converted first, with the placeholders still in it as plain text, and only
    then does each value go in, HTML-escaped: a contact named ``<script>`` or
    ``[click](https://evil.example)`` stays text. Raw HTML in the template is not passed
    through either (it is shown as text): a template is Markdown, not HTML."""
    from html import escape

    from markdown_it import MarkdownIt

    placeholders(body)
    converted = MarkdownIt("commonmark", {"html": False}).render(body)
    filled = render(converted, {key: escape(value) for key, value in values.items()})
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
        f"{filled}</body></html>\n"
    )


def contact_values(
    conn: sqlite3.Connection, contact: Contact, *, email: str, sender_name: str, today: date
) -> dict[str, str]:
    """What the placeholders every message shares become for ``contact`` (the contact, the
    customer profile, the sender)."""
    from crmcli import profile

    return {
        "first_name": contact.text.get("first_name") or contact.name,
        "last_name": contact.text.get("last_name") or "",
        "name": contact.name,
        "company": contact.text.get("company") or "",
        "title": contact.text.get("title") or "",
        "city": (contact.addresses[0].city if contact.addresses else None) or "",
        "email": email,
        "sender": sender_name,
        **profile.placeholder_values(conn, contact.id, today=today),
    }


def _check_markdown(body: str) -> None:
    """Every placeholder of a Markdown body must survive the conversion: one inside a link's
    address is percent-encoded by it, and would be sent as ``%7Bname%7D``."""
    from markdown_it import MarkdownIt

    converted = MarkdownIt("commonmark", {"html": False}).render(body)
    lost = sorted(placeholders(body) - placeholders(converted))
    if lost:
        shown = ", ".join("{" + name + "}" for name in lost)
        raise ValidationError(
            f"{shown} cannot be used inside a link's address in a Markdown template; "
            "put it in the text"
        )


def _validate(name: str, subject: str, body: str, fmt: str = "text") -> str:
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
    if fmt not in FORMATS:
        raise ValidationError(f"template format {fmt!r}: choose {' or '.join(FORMATS)}")
    if fmt == "markdown":
        _check_markdown(body)
    return name


def _from_row(row: sqlite3.Row) -> Template:
    return Template(
        row["id"],
        row["name"],
        row["subject"],
        row["body"],
        row["created_at"],
        row["updated_at"],
        row["format"],
    )


def get(conn: sqlite3.Connection, name: str) -> Template:
    row = conn.execute("SELECT * FROM templates WHERE name = ?", (name.strip(),)).fetchone()
    if row is None:
        raise NotFound(f"no template named {name.strip()!r} (see: crm template list)")
    return _from_row(row)


def list_templates(conn: sqlite3.Connection) -> list[Template]:
    return [_from_row(r) for r in conn.execute("SELECT * FROM templates ORDER BY name")]


def add(
    conn: sqlite3.Connection,
    name: str,
    subject: str,
    body: str,
    *,
    now: datetime,
    fmt: str = "text",
) -> int:
    """Save a new template; unknown placeholders are refused here, not when sending.
    ``fmt``: the body is ``text`` or ``markdown``."""
    name = _validate(name, subject, body, fmt)
    stamp = to_utc_text(now)
    with transaction(conn):
        if conn.execute("SELECT 1 FROM templates WHERE name = ?", (name,)).fetchone():
            raise ValidationError(
                f"a template named {name!r} exists; change it with: crm template edit {name}"
            )
        cursor = conn.execute(
            "INSERT INTO templates (name, subject, body, format, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (name, subject.strip(), body, fmt, stamp, stamp),
        )
    return int(cursor.lastrowid or 0)


def edit(
    conn: sqlite3.Connection,
    name: str,
    *,
    subject: str | None = None,
    body: str | None = None,
    fmt: str | None = None,
    now: datetime,
) -> Template:
    """Change a template's subject, body and/or format."""
    with transaction(conn):
        current = get(conn, name)
        new_subject = current.subject if subject is None else subject
        new_body = current.body if body is None else body
        new_format = current.format if fmt is None else fmt
        _validate(current.name, new_subject, new_body, new_format)
        conn.execute(
            "UPDATE templates SET subject = ?, body = ?, format = ?, updated_at = ? WHERE id = ?",
            (new_subject.strip(), new_body, new_format, to_utc_text(now), current.id),
        )
        changed = get(conn, current.name)
        _check_users(conn, changed)
        return changed


def _check_users(conn: sqlite3.Connection, template: Template) -> None:
    """A template in use must keep fitting its uses (a greeting rule, a campaign not sent yet)."""
    if conn.execute(
        "SELECT 1 FROM greeting_rules WHERE template_id = ?", (template.id,)
    ).fetchone():
        template.check_use("greeting")
    if conn.execute(
        "SELECT 1 FROM campaigns WHERE template_id = ? AND locked_at IS NULL", (template.id,)
    ).fetchone():
        template.check_use("campaign")


def remove(conn: sqlite3.Connection, name: str) -> Template:
    """Delete a template; refused while a greeting rule or a campaign uses it."""
    users = (
        ("SELECT id FROM greeting_rules WHERE template_id = ? ORDER BY id", "greeting rule(s)",
         "crm greet rule rm ID"),
        ("SELECT name FROM campaigns WHERE template_id = ? ORDER BY name", "campaign(s)",
         "crm campaign rm NAME"),
    )  # fmt: skip
    with transaction(conn):
        current = get(conn, name)
        for sql, what, command in users:
            found = [str(r[0]) for r in conn.execute(sql, (current.id,))]
            if found:
                raise ValidationError(
                    f"template {current.name!r} is used by {what} {', '.join(found)}; "
                    f"remove them first ({command})"
                )
        conn.execute("DELETE FROM templates WHERE id = ?", (current.id,))
    return current


def parse_form(text: str) -> tuple[str, str]:
    """The editor form ``Subject: ...`` / blank line / body -> (subject, body)."""
    head, _, body = text.partition("\n")
    if not head.lower().startswith("subject:"):
        raise ValidationError("the first line of the form must be 'Subject: ...'")
    return head.split(":", 1)[1].strip(), body.lstrip("\n")
