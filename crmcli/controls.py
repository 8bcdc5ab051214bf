"""Control characters in untrusted text: which ones, and how they are written so they are seen.

Every field crmcli shows came from someone: a CSV, a vCard, another program. A name may carry
``ESC ] 0 ; ... BEL`` (retitles the terminal), ``ESC [ 2 J`` (clears it), OSC 52 (writes the
clipboard), a bare CR (overwrites what was printed) or a right-to-left override (shows text
in another order than it is stored). None of them is ever written raw to a terminal or a TSV
line: each becomes a visible escape (``\\x1b``, ``\\r``, ``\\u202e``). The output sink
(:mod:`crmcli.cli._output`) applies this to everything it shows; see docs/security.md.
"""

from __future__ import annotations

import re
from functools import cache

# C0 (with tab and newline), DEL, C1, and the bidirectional embeddings, overrides and isolates.
_ALL = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_PATTERNS = {
    #: every control character, tab and newline included (one-line text: table cells, TSV)
    "control": f"[{_ALL}]",
    #: the same without tab and newline (text a view shows over several lines)
    "control_but_layout": "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]",
    #: what a TSV line must escape: the controls and the backslash that starts an escape
    "tsv_special": f"[{_ALL}\\\\]",
    #: what ``json.dumps(ensure_ascii=False)`` leaves raw and a terminal may act on
    "json_raw": "[\x7f-\x9f\u202a-\u202e\u2066-\u2069]",
}

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\"}


@cache
def pattern(name: str) -> re.Pattern[str]:
    """One of :data:`_PATTERNS`, compiled the first time a text needs it. Nearly every text is
    printable (``str.isprintable`` is false for every character these patterns match), so most
    commands never compile one: the four cost 2 ms, a tenth of crmcli's own start-up."""
    return re.compile(_PATTERNS[name])


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character written as an escape (``"\\x1b"``, four
    characters); with ``multiline``, tab and newline stay as they are."""
    if text.isprintable():
        return text  # nearly every value: one scan, no copy
    found = pattern("control_but_layout" if multiline else "control")
    if found.search(text) is None:
        return text
    return found.sub(_escape, text)


def tsv_escaped(text: str) -> str:
    """One TSV cell: backslash, tab, newline, CR and every other control character escaped
    (``\\\\``, ``\\t``, ``\\n``, ``\\r``, ``\\x1b``), as in PostgreSQL's text format."""
    if text.isprintable() and "\\" not in text:
        return text
    return pattern("tsv_special").sub(_escape, text)


def json_safe(encoded: str) -> str:
    """JSON text from ``json.dumps(..., ensure_ascii=False)`` with DEL, C1 and bidi controls
    written as ``\\u`` escapes too (JSON itself escapes only U+0000-U+001F). Outside strings a
    JSON text has no such characters, so this only ever touches string contents."""
    if encoded.isascii() and "\x7f" not in encoded:
        return encoded  # the characters these escapes are for are DEL and above
    raw = pattern("json_raw")
    if raw.search(encoded) is None:
        return encoded
    return raw.sub(lambda m: f"\\u{ord(m.group(0)):04x}", encoded)


def single_line(text: str) -> str:
    """A value for one line of a header (an e-mail Subject, a display name): CR, LF and tab
    become a space, other control characters are dropped, so a value can never start a new
    header line."""
    if text.isprintable():
        return text
    text = re.sub("[\r\n\t]+", " ", text)
    return pattern("control").sub("", text)
