"""Reading an e-mail message (RFC 5322, MIME) for ``crm note --from-mail``.

A mail client pipes a whole message to crm (mutt ``|``, aerc ``:pipe -m``, Thunderbird's
filters through a script). What a note needs is small: who wrote to whom, when, the subject,
and the first lines of what was said. The text part is preferred; an HTML-only message is
reduced to its text. Quoted replies (``> ...``) and the signature (after ``-- ``) are left out.
Everything here is untrusted input: headers are decoded by the standard library's parser,
control characters are removed, and every length is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from html.parser import HTMLParser

from crmcli.errors import UsageError

#: at most this many lines of the body go into the note
SUMMARY_LINES = 12
#: and at most this many characters
SUMMARY_CHARS = 1_500
_SUBJECT_CHARS = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_HEADER_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WROTE = re.compile(r"^(on .+ wrote|am .+ schrieb|le .+ a écrit)\s*:\s*$", re.IGNORECASE)


@dataclass
class Mail:
    """What a note takes from a message."""

    message_id: str | None
    subject: str
    date: datetime | None
    sender: tuple[str, str] | None  # (name, address)
    recipients: list[tuple[str, str]] = field(default_factory=list)  # To and Cc
    summary: str = ""
    #: the Message-IDs this one answers (In-Reply-To, then References)
    references: list[str] = field(default_factory=list)

    def note_body(self) -> str:
        """The note's text: the subject, then the first lines of the message."""
        subject = self.subject or "(no subject)"
        return f"Subject: {subject}\n\n{self.summary}".rstrip() + "\n"


class _Text(HTMLParser):
    """The text of an HTML body: block elements become line breaks, scripts and styles vanish."""

    _BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "blockquote"})
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self._HIDDEN:
            self.hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(lines)


def _clean(text: str, limit: int) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())[:limit]


def summarize(text: str) -> str:
    """The first lines of what was said: no quoted reply, no signature, no run of blank lines."""
    kept: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        if raw.rstrip() == "--" or raw == "-- ":
            break  # the signature
        line = _CONTROL.sub("", raw).rstrip()
        if line.startswith(">") or _WROTE.match(line.strip()):
            continue
        if not line.strip() and (not kept or not kept[-1]):
            continue
        kept.append(line if line.strip() else "")
        if len([k for k in kept if k]) >= SUMMARY_LINES:
            break
    summary = "\n".join(kept).strip()
    if len(summary) > SUMMARY_CHARS:
        summary = summary[: SUMMARY_CHARS - 1].rstrip() + "…"
    return summary


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset, broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_subtype() == "html" else content


def _decoded(text: str) -> str:
    """An RFC 2047 encoded display name (=?utf-8?q?Garc=C3=ADa?=) as text."""
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(text)))
    except (LookupError, ValueError, UnicodeDecodeError):
        return text


def _addresses(message: EmailMessage, *names: str) -> list[tuple[str, str]]:
    # From the raw header values: the strict parser of policy.default gives up on a display
    # name with a stray special character, where getaddresses still finds the address.
    from email.utils import getaddresses

    values = [_CONTROL.sub(" ", str(v)) for k, v in message.raw_items() if k.lower() in names]
    found = []
    for display, address in getaddresses(values):
        address = address.strip().lower()
        if "@" in address and not _CONTROL.search(address) and " " not in address:
            found.append((_clean(_decoded(display), 200), address[:320]))
    return found


def parse(data: bytes) -> Mail:
    """The parts of a message a note needs; UsageError when ``data`` is not a message."""
    from email import policy
    from email.parser import BytesParser
    from email.utils import parsedate_to_datetime

    if not data.strip():
        raise UsageError("no message on stdin: pipe an e-mail to crm note --from-mail")
    # Control characters have no place in headers, and they derail the header parser: blanked
    # before parsing (the body keeps its bytes; it is cleaned as text later).
    end = re.search(rb"\r?\n\r?\n", data)
    split = end.start() if end else len(data)
    data = _HEADER_CONTROL.sub(b" ", data[:split]) + data[split:]
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    senders = _addresses(message, "from")
    recipients = _addresses(message, "to", "cc")
    if not senders and not recipients:
        raise UsageError(
            "stdin is not an e-mail message (no From, To or Cc address): pipe the whole "
            "message, headers included"
        )
    when: datetime | None = None
    raw_date = message.get("date")
    if raw_date:
        try:
            when = parsedate_to_datetime(str(raw_date))
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is None:
            when = None  # a date without a zone cannot be placed in time; "now" is used
    message_id = _clean(str(message.get("message-id") or ""), 300) or None
    answered = " ".join(
        _clean(str(message.get(h) or ""), 5000) for h in ("in-reply-to", "references")
    )
    return Mail(
        references=re.findall(r"<[^<>\s]{1,300}>", answered)[:100],
        message_id=message_id,
        subject=_clean(str(message.get("subject") or ""), _SUBJECT_CHARS),
        date=when,
        sender=senders[0] if senders else None,
        recipients=recipients,
        summary=summarize(_body_text(message)),
    )
