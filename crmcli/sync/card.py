"""A vCard as entries (a property, or a group of them), and the three-way merge of two versions.

Sync compares cards property by property, never by their bytes: crmcli writes a card in its own
form (``TYPE=cell``), a phone in its own (``item1.TEL`` with an ``X-ABLabel``), and both mean the
same number. Each entry has a *name* (EMAIL, TEL, N...), a *key* that tells apart the values of
a name that can occur several times (an email address, a phone's digits, a custom field's key)
and a *value* compared for equality (the key with its label, a date in one form...).

An entry keeps the exact lines it came with, so a card written back after a change keeps every
property that was not changed exactly as it was: the properties crmcli does not know (IMPP,
RELATED, X-SOCIALPROFILE, a second address...) come back to the phone unchanged.

The merge (:func:`merge`) works per name: a name changed on one side takes that side's entries;
changed on both sides, entries are merged key by key when the name can occur several times (an
email added on the phone and another in crmcli: both), and otherwise the two must agree, or it is
a conflict that ``prefer`` settles (or that is reported).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from crmcli.io.vcard import Property, parse_line, split_structured, unescape
from crmcli.io.vcard import escape as escape_value
from crmcli.io.vcard_write import fold

#: lines that frame a card or identify it: never compared, never merged
STRUCTURAL = frozenset({"BEGIN", "END", "VERSION", "UID", "PRODID", "REV"})
#: names a card has at most one of (changed on both sides: they must agree)
SINGLE = frozenset(
    {
        "FN",
        "N",
        "ORG",
        "TITLE",
        "ROLE",
        "BDAY",
        "ANNIVERSARY",
        "X-ANNIVERSARY",
        "X-MS-ANNIVERSARY",
        "NOTE",
        "NICKNAME",
        "KIND",
        "GENDER",
        "PHOTO",
        "LOGO",
        "GEO",
        "TZ",
        "SORT-STRING",
        "X-CRM-SOURCE",
        "X-CRM-DISPLAY-NAME",
        "X-CRM-CADENCE-DAYS",
        "X-CRM-REFERRED-BY",
    }
)
#: names that mean the same property in another vCard version or program's form: merged as one
#: (a 3.0 phone's X-ABRELATEDNAMES and crmcli's 4.0 RELATED name the same spouse)
ALIASES = {
    "X-ABRELATEDNAMES": "RELATED",
    "X-ANNIVERSARY": "ANNIVERSARY",
    "X-MS-ANNIVERSARY": "ANNIVERSARY",
    "X-EVOLUTION-ANNIVERSARY": "ANNIVERSARY",
    "SOCIALPROFILE": "X-SOCIALPROFILE",
}
#: crmcli's own properties: a server that drops unknown properties (some do) does not make
#: crmcli forget what they hold; only a change of their value is taken
PRIVATE_PREFIX = "X-CRM-"
#: TYPE values that say nothing about which address or number it is
_NOISE = frozenset({"pref", "internet", "voice", "x400", "msg", "text", "uri", "x-internet"})
_APPLE = re.compile(r"^_\$!<(.*)>!\$_$")
_LINE_END = re.compile(r"\r\n|\r|\n")


class CardError(Exception):
    """A file that is not a card crmcli can sync (said in a sentence, with no file name)."""


@dataclass
class Entry:
    """One property, or the properties of one group (``item1.EMAIL`` and ``item1.X-ABLabel``)."""

    name: str
    key: str
    value: str
    #: the logical (unfolded) lines, as in the file
    lines: list[str]
    #: the lines as they were written (folded), or None for an entry made by crmcli
    raw: str | None = None
    group: str | None = None


class Card:
    """A parsed vCard: its UID, version, and entries in file order (made on first use: a new
    card from the phone is only added, never compared)."""

    def __init__(
        self,
        uid: str,
        version: str,
        entries: list[Entry] | None = None,
        head: list[str] | None = None,
        *,
        props: list[tuple[Property, str, str]] | None = None,
    ) -> None:
        self.uid = uid
        self.version = version
        #: BEGIN/VERSION/UID/... lines as they were (kept when the card is written back)
        self.head = head or []
        self._entries = entries
        self._props = props or []
        self._index: dict[str, list[Entry]] | None = None

    @property
    def entries(self) -> list[Entry]:
        if self._entries is None:
            self._entries = list(_entries(self._props))
            self._props = []
        return self._entries

    def names(self) -> set[str]:
        return {e.name for e in self.entries}

    def of(self, name: str) -> list[Entry]:
        """The entries of a name (an index made on first use: the merge asks for every name)."""
        if self._index is None:
            self._index = {}
            for entry in self.entries:
                self._index.setdefault(entry.name, []).append(entry)
        return self._index.get(name, [])

    def text(self) -> str:
        """The card as a file: CRLF line ends, lines folded at 75 octets (untouched entries as
        they were folded)."""
        out = [fold(line) for line in self.head if not line.upper().startswith("END:")]
        for entry in _categories_joined(self.entries):
            out.append(entry.raw if entry.raw is not None else "".join(map(fold, entry.lines)))
        out.append("END:VCARD\r\n")
        return "".join(out)


# --- reading --------------------------------------------------------------------------------------


def _physical_groups(text: str) -> Iterator[tuple[str, str]]:
    """(logical line, its raw folded text with CRLF ends) for each logical line."""
    current: list[str] = []
    for line in _LINE_END.split(text):
        if current and line[:1] in (" ", "\t"):
            current.append(line)
            continue
        if current:
            yield current[0] + "".join(p[1:] for p in current[1:]), "\r\n".join(current) + "\r\n"
        current = [line] if line else []
    if current:
        yield current[0] + "".join(p[1:] for p in current[1:]), "\r\n".join(current) + "\r\n"


def parse(text: str) -> Card:
    """One vCard from a file's text; :class:`CardError` when it is not one crmcli can sync."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = list(_physical_groups(text))
    if not lines or lines[0][0].strip().upper() != "BEGIN:VCARD":
        raise CardError("it is not a vCard (it does not start with BEGIN:VCARD)")
    ends = [i for i, (line, _) in enumerate(lines) if line.strip().upper() == "END:VCARD"]
    if not ends:
        raise CardError("the card has no END:VCARD")
    if any(line.strip() for line, _ in lines[ends[0] + 1 :]):
        raise CardError("the file holds more than one card (a vdir file holds one)")
    head: list[str] = []
    props: list[tuple[Property, str, str]] = []
    uid = version = ""
    for number, (line, raw) in enumerate(lines[1 : ends[0]], 2):
        if not line.strip():
            continue
        prop = parse_line(line)
        if prop is None:
            raise CardError(f"line {number} is not a vCard property")
        if prop.name in STRUCTURAL:
            head.append(line)
            if prop.name == "UID":
                uid = uid or unescape(prop.value).strip()
            elif prop.name == "VERSION":
                version = prop.value.strip()
            continue
        props.append((prop, line, raw))
    if not uid:
        raise CardError("the card has no UID")
    return Card(uid, version or "3.0", None, ["BEGIN:VCARD", *head], props=props)


def _entries(props: list[tuple[Property, str, str]]) -> Iterator[Entry]:
    """Entries in file order: a group's properties together, at its first one's place."""
    groups: dict[str, list[tuple[Property, str, str]]] = {}
    order: list[str | tuple[Property, str, str]] = []
    for item in props:
        group = item[0].group.upper() if item[0].group else None  # item1 and ITEM1: one group
        if group is None:
            order.append(item)
            continue
        if group not in groups:
            groups[group] = []
            order.append(group)
        groups[group].append(item)
    for placed in order:
        if isinstance(placed, str):
            yield from _group_entries(placed, groups[placed])
        else:
            yield from _plain_entries(*placed)


def _group_entries(group: str, members: list[tuple[Property, str, str]]) -> Iterator[Entry]:
    main = next((p for p in members if p[0].name != "X-ABLABEL"), None)
    if main is None:  # a label alone: kept as it is
        yield Entry("X-ABLABEL", _norm(members[0][1]), _norm(members[0][1]),
                    [m[1] for m in members], "".join(m[2] for m in members), group)  # fmt: skip
        return
    label = next((_label_text(p) for p, _, _ in members if p.name == "X-ABLABEL"), None)
    key, value = semantics(main[0], label)
    yield Entry(ALIASES.get(main[0].name, main[0].name), key, value, [m[1] for m in members],
                "".join(m[2] for m in members), group)  # fmt: skip


def _plain_entries(prop: Property, line: str, raw: str) -> Iterator[Entry]:
    if prop.name == "CATEGORIES":  # one entry per category: tags are merged one by one
        for tag in split_structured(prop.value, ","):
            if tag.strip():
                yield Entry("CATEGORIES", tag.strip().lower(), tag.strip(), [line], raw)
        return
    key, value = semantics(prop, None)
    yield Entry(ALIASES.get(prop.name, prop.name), key, value, [line], raw)


def _label_text(prop: Property) -> str:
    text = unescape(prop.value).strip()
    return _APPLE.sub(r"\1", text).lower()


def _types(prop: Property) -> str:
    types = sorted({t.lower() for t in prop.params.get("TYPE", [])} - _NOISE)
    return ",".join("mobile" if t in ("cell", "cellular") else t for t in types)


def _norm(text: str) -> str:
    return " ".join(text.split())


_DATE_FORMS = (
    re.compile(r"^--(\d\d)-?(\d\d)$"),
    re.compile(r"^(\d{4})-?(\d\d)-?(\d\d)"),
)


def _date_value(prop: Property) -> str:
    value = unescape(prop.value).strip()
    if "X-APPLE-OMIT-YEAR" in prop.params:
        value = "--" + re.sub(r"\D", "", value)[4:8]
    short = _DATE_FORMS[0].match(value)
    if short:
        return f"--{short.group(1)}-{short.group(2)}"
    full = _DATE_FORMS[1].match(value)
    if full:
        year = "-" if full.group(1) == "1604" else full.group(1)
        return f"{year}-{full.group(2)}-{full.group(3)}"
    return _norm(value)


def semantics(prop: Property, label: str | None) -> tuple[str, str]:
    """(key, value) of a property: what identifies it among its name's, and what is compared."""
    name = prop.name
    value = unescape(prop.value).strip()
    kind = label if label is not None else _types(prop)
    if name == "EMAIL":
        key = value.lower().removeprefix("mailto:")
        return key, f"{key}|{kind}"
    if name == "TEL":
        digits = re.sub(r"\D", "", re.split(r"(?i)[;,]?\s*(?:ext\.?|x|#)", value)[0])
        return digits, f"{digits}|{kind}"
    if name == "X-CRM-FIELD":
        key = " ".join((prop.params.get("X-KEY") or [""])[0].lower().split())
        return key, value
    if name in ("BDAY", "ANNIVERSARY", "X-ANNIVERSARY", "X-MS-ANNIVERSARY", "X-ABDATE"):
        date = _date_value(prop)
        return (label or kind or "") if name == "X-ABDATE" else "", date
    if name in ("N", "ORG", "ADR"):
        parts = [" ".join(p.split()) for p in split_structured(prop.value)]
        while parts and not parts[-1]:
            parts.pop()
        joined = ";".join(parts)
        return ("" if name in SINGLE else joined.lower()), f"{joined}|{kind}"
    if name == "PHOTO":  # 4.0's data: URI and 3.0's ENCODING=b hold the same bytes
        return "", re.sub(r"\s+", "", re.sub(r"^data:[^,]*,", "", prop.value.strip()))
    if name == "GEO":  # 4.0's geo:52.5,13.4 and 3.0's 52.5;13.4
        return "", ",".join(re.findall(r"-?\d+(?:\.\d+)?", value))
    if name in SINGLE:
        return "", _norm(value)
    return _norm(value).lower(), f"{_norm(value)}|{kind}"


# --- writing --------------------------------------------------------------------------------------


def categories_line(tags: Iterable[str]) -> str:
    return "CATEGORIES:" + ",".join(escape_value(t) for t in tags)


# --- the three-way merge --------------------------------------------------------------------------


@dataclass
class Merged:
    """What :func:`merge` decided for one item."""

    #: the card for the file (the remote side's, with what changed locally put in)
    card: Card
    #: whether the file must be written (something changed for it)
    write_file: bool
    #: names whose merged entries differ from the local side's: crmcli takes them
    to_local: set[str]
    #: names changed on both sides that do not agree (left as they are when not settled)
    conflicts: list[str]
    #: for a conflict settled by ``prefer``: the losing side's entries of those names, as text
    lost: str = ""


def signature(entries: Iterable[Entry]) -> tuple[tuple[str, str], ...]:
    """What is compared of a name's entries (their keys and values, in any order)."""
    return tuple(sorted((e.key, e.value) for e in entries))


def _keyed(entries: list[Entry]) -> dict[str, list[Entry]]:
    out: dict[str, list[Entry]] = {}
    for entry in entries:
        out.setdefault(entry.key, []).append(entry)
    return out


def _values(entries: list[Entry] | None) -> tuple[str, ...] | None:
    return tuple(sorted(e.value for e in entries)) if entries else None


def _merge_keys(
    l0: list[Entry], l1: list[Entry], r0: list[Entry], r1: list[Entry], prefer: str | None
) -> tuple[list[Entry], bool]:
    """The entries of a name that may occur several times, merged key by key; and whether some
    key was changed differently on both sides (settled by ``prefer`` when given)."""
    before_l, now_l, before_r, now_r = _keyed(l0), _keyed(l1), _keyed(r0), _keyed(r1)
    result: dict[str, list[Entry] | None] = {}
    clash = False
    for key in dict.fromkeys([*now_r, *before_r, *now_l, *before_l]):
        local_changed = _values(before_l.get(key)) != _values(now_l.get(key))
        remote_changed = _values(before_r.get(key)) != _values(now_r.get(key))
        if key in now_l and key in now_r and key not in before_l and key not in before_r:
            # both sides have it and neither had it: the same address or number, met for the
            # first time (a first sync); the form that says more (a label) is kept
            bare = all(e.value.endswith("|") for e in now_r[key])
            result[key] = now_l[key] if bare else now_r[key]
        elif (
            local_changed and remote_changed and _values(now_l.get(key)) != _values(now_r.get(key))
        ):
            clash = True
            result[key] = now_l.get(key) if prefer == "local" else now_r.get(key)
        elif local_changed and not remote_changed:
            result[key] = now_l.get(key)
        else:
            result[key] = now_r.get(key)
    merged = [entry for entries in result.values() if entries for entry in entries]
    return merged, clash


def merge(
    local_before: Card | None,
    local_now: Card,
    remote_before: Card | None,
    remote_now: Card,
    *,
    prefer: str | None = None,
) -> Merged:
    """Merge what changed on each side since the last sync (``*_before``; None: never synced,
    so everything on a side counts as its change). ``prefer`` (local or remote) settles names
    changed differently on both sides; without it they are conflicts and nothing is taken
    from either side for them."""
    empty: list[Entry] = []
    names = dict.fromkeys(
        e.name for card in (local_now, remote_now, local_before, remote_before) if card
        for e in card.entries
    )  # fmt: skip
    chosen: dict[str, list[Entry]] = {}
    remote_changed: set[str] = set()
    conflicts: list[str] = []
    lost: list[str] = []
    for name in names:
        l0 = local_before.of(name) if local_before else empty
        r0 = remote_before.of(name) if remote_before else empty
        l1, r1 = local_now.of(name), remote_now.of(name)
        if name.startswith(PRIVATE_PREFIX) and not r1 and r0:
            r1 = r0  # dropped by a server, not removed by a person (see PRIVATE_PREFIX)
        local_change = signature(l0) != signature(l1)
        if signature(r0) != signature(r1):
            remote_changed.add(name)
        if not local_change or (name in remote_changed and signature(l1) == signature(r1)):
            continue
        if name not in remote_changed and name in SINGLE:
            chosen[name] = l1
            continue
        if name in SINGLE:
            winner, loser = (l1, r1) if prefer == "local" else (r1, l1)
        else:
            winner, clash = _merge_keys(l0, l1, r0, r1, prefer)
            if not clash:
                chosen[name] = winner
                continue
            loser = r1 if prefer == "local" else l1
        conflicts.append(name)
        lost.extend(line for entry in loser for line in entry.lines)
        chosen[name] = winner
    if conflicts and prefer is None:
        return Merged(remote_now, False, set(), conflicts)
    card = _assemble(remote_now, chosen)
    write = any(signature(new) != signature(remote_now.of(n)) for n, new in chosen.items())
    to_local = {
        name
        for name in names
        if (name in remote_changed or name in chosen)
        and signature(card.of(name)) != signature(local_now.of(name))
    }
    return Merged(card, write, to_local, conflicts, "\n".join(lost))


def _assemble(remote: Card, chosen: dict[str, list[Entry]]) -> Card:
    """The remote card with the entries of each chosen name replaced, in place (new names go
    at the end); groups renumbered where two sides' group names collide."""
    entries: list[Entry] = []
    placed: set[str] = set()
    for entry in remote.entries:
        if entry.name not in chosen:
            entries.append(entry)
        elif entry.name not in placed:
            placed.add(entry.name)
            entries.extend(chosen[entry.name])
    for name, new in chosen.items():
        if name not in placed:
            entries.extend(new)
    return Card(remote.uid, remote.version, _regroup(entries, remote.entries), list(remote.head))


def _categories_joined(entries: list[Entry]) -> list[Entry]:
    """The CATEGORIES entries (one per tag) as one line, where the first one was: the line
    they came from when it holds exactly them (unchanged), else a new one."""
    tags = [e for e in entries if e.name == "CATEGORIES"]
    if not tags:
        return entries
    first = tags[0]
    unchanged = all(e.lines[0] == first.lines[0] for e in tags) and len(tags) == _count_in(
        first.lines[0]
    )
    joined = (
        Entry("CATEGORIES", "", "", list(first.lines), first.raw)
        if unchanged
        else Entry("CATEGORIES", "", "", [categories_line(e.value for e in tags)], None)
    )
    out: list[Entry] = []
    for entry in entries:
        if entry.name != "CATEGORIES":
            out.append(entry)
        elif entry is first:
            out.append(joined)
    return out


def _count_in(line: str) -> int:
    prop = parse_line(line)
    if prop is None:
        return -1
    return len([t for t in split_structured(prop.value, ",") if t.strip()])


def _regroup(entries: list[Entry], remote: list[Entry]) -> list[Entry]:
    """The entries with their groups kept, but for an entry from the other side whose group
    the remote card (or an entry before it) uses already: it gets a free ``itemN``. The
    phone's own groups are never renamed."""
    theirs = {id(e) for e in remote}
    taken = {e.group.upper() for e in remote if e.group}
    used: set[str] = set()
    out: list[Entry] = []
    for entry in entries:
        group = entry.group
        if group is None or id(entry) in theirs or group.upper() not in taken | used:
            if group is not None:
                used.add(group.upper())
            out.append(entry)
            continue
        fresh = next(f"item{n}" for n in range(1, 10_000) if f"ITEM{n}" not in taken | used)
        used.add(fresh.upper())
        lines = [fresh + line[len(group) :] for line in entry.lines]
        out.append(Entry(entry.name, entry.key, entry.value, lines, None, fresh))
    return out
