"""Likely duplicates among the contacts (``crm dedupe``), ranked, with the reasons for each pair.

Comparing every pair of 100,000 contacts would be five billion comparisons. Instead contacts are
grouped by keys that two records of one person tend to share (blocking): an email, the last
digits of a phone, the words of the name without case, accents, order or nicknames, their
Soundex codes (alone, and with the first or the last name as written: a typo in the other), a
UID, a company's own record. Only contacts in one group are compared, with :func:`crmcli.identity.compare`: the same
rules and score as import and ``crm contact add``. A key shared by more than :data:`MAX_BLOCK`
contacts says little (a common name, a switchboard number): such a group is compared only
within each company.

A pair can be dismissed (``crm dedupe dismiss A B``) so it is not offered again; a merge is
:mod:`crmcli.merge`.
"""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import lru_cache
from itertools import combinations, product
from typing import Any, NamedTuple

from crmcli import identity
from crmcli.clock import to_utc_text
from crmcli.db import transaction
from crmcli.errors import NotFound, ValidationError
from crmcli.identity import Profile, Scope

#: a group of contacts sharing a key is compared pair by pair up to this size (else by company)
MAX_BLOCK = 50
#: pairs scoring less are not listed by default (the import's "possible duplicate" threshold)
DEFAULT_MIN_SCORE = identity.POSSIBLE_SCORE


class Reasons(tuple[str, ...]):
    """Why a pair may be one person: a list in JSON, "a, b" as text (a table, TSV, CSV)."""

    __slots__ = ()

    def __str__(self) -> str:
        return ", ".join(self)


class Pair(NamedTuple):
    """Two contacts that may be one person."""

    score: int
    contact_id: int
    contact: str
    other_id: int
    other: str
    reasons: Reasons
    #: the identity rules merge them (an import would have)
    same: bool
    #: ``crm dedupe --apply-safe`` would merge them: the same email, no value that differs
    safe: bool


# --- blocking keys --------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _soundex(token: str) -> str:
    return identity.soundex(token)


def _name_keys(p: Profile) -> Iterable[str]:
    """The name's words, sorted, each for the full names it may stand for (Bob -> Robert)."""
    if not p.tokens:
        return ()
    options = [sorted(identity.canonical_forms(t)) for t in p.tokens]
    keys = {" ".join(sorted(words)) for words in product(*options)}
    return sorted(keys)[:4]  # a name of several ambiguous nicknames: a few keys are enough


def _sound_key(p: Profile) -> Iterable[str]:
    return (" ".join(sorted(_soundex(t) for t in p.tokens)),) if p.tokens else ()


def _typo_keys(p: Profile) -> Iterable[str]:
    """A typo in the last name (the first name, and the last's Soundex code), or the first."""
    tokens = p.tokens
    if len(tokens) < 2:
        return ()
    return (f"{tokens[0]} {_soundex(tokens[-1])}", f"{_soundex(tokens[0])} {tokens[-1]}")


def _company_key(p: Profile) -> Iterable[str]:
    """A company's own record (no person's name): its company."""
    return (p.company_folded,) if not p.tokens and p.company_folded else ()


#: (kind, keys of a profile); each kind is one pass, so only one kind's groups are in memory
KEYS: list[tuple[str, Callable[[Profile], Iterable[str]]]] = [
    ("uid", lambda p: p.external_uids),
    ("email", lambda p: p.emails),
    ("phone", lambda p: [identity.phone_key(d) for d in p.phones]),
    ("name", _name_keys),
    ("sound", _sound_key),
    ("typo", _typo_keys),
    ("company", _company_key),
]


# --- finding pairs --------------------------------------------------------------------------------


class _Book:
    """The contacts in scope, as compact profiles (lists by position, in id order)."""

    def __init__(self, conn: sqlite3.Connection, scope: Scope) -> None:
        where, params = identity.scope_sql(scope)
        self.ids: list[int] = []
        self.names: list[str] = []
        self.profiles: list[Profile] = []
        #: for each position, the group of its name (after the "name" pass)
        self.name_group: list[int] = []
        # Repeated names and companies are one object each (identity caches their parts).
        for contact_id, shown, found in identity.profiles(
            conn, f"c.deleted_at IS NULL AND {where}", params, own_uids=False
        ):
            self.ids.append(contact_id)
            self.names.append(shown)
            self.profiles.append(found)

    def blocks(
        self, keys: Callable[[Profile], Iterable[str]], *, name_groups: bool = False
    ) -> Iterator[list[int]]:
        """Groups of positions sharing a key; a big group, split by company. With
        ``name_groups``, each position's first key is remembered (:attr:`name_group`)."""
        groups: dict[str, list[int]] = {}
        numbers: dict[str, int] = {}
        first: list[int] = []
        for position, found in enumerate(self.profiles):
            number = -position - 1  # no name: a group of its own
            for key in keys(found):
                if key:
                    groups.setdefault(key, []).append(position)
                    if name_groups and number < 0:
                        number = numbers.setdefault(key, len(numbers))
            first.append(number)
        if name_groups:
            self.name_group = first
        for members in groups.values():
            if len(members) < 2:
                continue
            if len(members) <= MAX_BLOCK:
                yield members
                continue
            by_company: dict[str, list[int]] = {}
            for position in members:
                company = self.profiles[position].company_folded
                if company:
                    by_company.setdefault(company, []).append(position)
            yield from (m for m in by_company.values() if 2 <= len(m) <= MAX_BLOCK)


def _across_names(members: list[int], name_group: list[int]) -> Iterator[tuple[int, int]]:
    """The pairs of ``members`` whose names are not in one group: those were compared by the
    "name" pass already (a group too big for it is too big for the later passes too)."""
    by_name: dict[int, list[int]] = {}
    for position in members:
        by_name.setdefault(name_group[position], []).append(position)
    if len(by_name) < 2:
        return
    for xs, ys in combinations(list(by_name.values()), 2):
        for a in xs:
            for b in ys:
                yield (a, b) if a < b else (b, a)


def _dismissed(conn: sqlite3.Connection) -> set[tuple[int, int]]:
    return {(r[0], r[1]) for r in conn.execute("SELECT contact_id, other_id FROM dedupe_dismissed")}


class Found(NamedTuple):
    """The best pairs (up to the limit asked for; read lazily), and how many there are in all."""

    pairs: Iterator[Pair]
    total: int


def find_pairs(
    conn: sqlite3.Connection,
    *,
    min_score: int = DEFAULT_MIN_SCORE,
    scope: Scope = None,
    limit: int | None = None,
) -> Found:
    """Pairs of live contacts (both in ``scope``: ids or a subquery; all when None) scoring at
    least ``min_score``, best first; dismissed pairs left out."""
    # Hundreds of thousands of small, acyclic objects: the cyclic collector would walk them
    # again and again for nothing (as in the importer).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _find(conn, min_score, scope, limit)
    finally:
        if collecting:
            gc.enable()


def _find(conn: sqlite3.Connection, min_score: int, scope: Scope, limit: int | None) -> Found:
    book = _Book(conn, scope)
    count = len(book.ids)
    dismissed = _dismissed(conn)
    seen: set[int] = set()
    # One int per pair found, sorting as wanted: score (best first), then the two positions;
    # the reasons are an index into `verdicts`. Compact: 100,000 contacts can have hundreds of
    # thousands of pairs. identity shares one Verdict object per combination of facts, so a
    # verdict's id says which (they are kept in `verdicts`, so no id is reused).
    found: list[int] = []
    kind_of: dict[int, int] = {}
    verdicts: list[identity.Verdict] = []
    compare, profiles, ids, add, append = (
        identity.compare,
        book.profiles,
        book.ids,
        seen.add,
        found.append,
    )
    named = False
    for keys_name, keys in KEYS:
        naming = keys_name == "name"
        for members in book.blocks(keys, name_groups=naming):
            group = book.name_group
            pairs = _across_names(members, group) if named else combinations(members, 2)
            for a, b in pairs:
                key = a * count + b
                if key in seen:
                    continue
                # A pair of one name group is not met again after the "name" pass (see
                # _across_names): only the others need remembering (memory: most pairs are these).
                if not naming or group[a] != group[b]:
                    add(key)
                verdict = compare(profiles[a], profiles[b])
                if verdict.score < min_score or (dismissed and (ids[a], ids[b]) in dismissed):
                    continue
                kind = kind_of.get(id(verdict))
                if kind is None:
                    kind = kind_of[id(verdict)] = len(verdicts)
                    verdicts.append(verdict)
                append((100 - verdict.score) << 84 | a << 60 | b << 20 | kind)
        named = named or keys_name == "name"
    del seen
    book.profiles = []  # only ids and names are needed from here on
    found.sort()
    total = len(found)
    if limit is not None:
        del found[limit:]
    described = [(Reasons(v.reasons), v.same, v.level == identity.EMAIL) for v in verdicts]
    return Found(_pairs(conn, book, found, described), total)


def _pairs(
    conn: sqlite3.Connection,
    book: _Book,
    found: list[int],
    kinds: list[tuple[Reasons, bool, bool]],
) -> Iterator[Pair]:
    from crmcli.merge import conflicts

    mask = (1 << 20) - 1
    for packed in found:
        reasons, same, emailed = kinds[packed & mask]
        b = (packed >> 20) & ((1 << 40) - 1)
        a = (packed >> 60) & ((1 << 24) - 1)
        score = 100 - (packed >> 84)
        first, second = book.ids[a], book.ids[b]
        # Safe: the rules merge them on an email, and no single value needs choosing.
        safe = emailed and not conflicts(conn, first, [second])
        yield Pair(score, first, book.names[a], second, book.names[b], reasons, same, safe)


# --- acting on pairs ------------------------------------------------------------------------------


def apply_safe(
    conn: sqlite3.Connection, pairs: Iterable[Pair], *, now: datetime
) -> list[tuple[int, int]]:
    """Merge the safe pairs, best first, each into its older contact; one transaction.

    A contact already merged away stands for the one it went into; that pair is checked again
    (the rules and the values) before it is merged. Returns the (kept, merged-away) pairs.
    """
    from crmcli import merge

    done: list[tuple[int, int]] = []
    into: dict[int, int] = {}
    with transaction(conn):
        choose = merge.chooser(conn, "keep")
        for pair in pairs:
            if not pair.safe:
                continue
            a, b = (
                into.get(pair.contact_id, pair.contact_id),
                into.get(pair.other_id, pair.other_id),
            )
            keep, other = min(a, b), max(a, b)
            # checked again: an earlier merge may have changed either of them
            if a == b or not _still_safe(conn, keep, other):
                continue
            merge.merge(conn, keep, [other], choose=choose, now=now)
            done.append((keep, other))
            into[other] = keep
            for merged, kept in into.items():
                if kept == other:
                    into[merged] = keep
    return done


def _still_safe(conn: sqlite3.Connection, keep: int, other: int) -> bool:
    from crmcli.merge import conflicts

    profiles = identity.load_profiles(conn, [keep, other])
    verdict = identity.compare(profiles[keep], profiles[other])
    return verdict.level == identity.EMAIL and not conflicts(conn, keep, [other])


def _ordered(conn: sqlite3.Connection, a: int, b: int) -> tuple[int, int]:
    if a == b:
        raise ValidationError(f"contact {a} is the same contact twice; give two contacts")
    for contact_id in (a, b):
        if conn.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone() is None:
            raise NotFound(f"no contact with id {contact_id}")
    return (a, b) if a < b else (b, a)


def dismiss(conn: sqlite3.Connection, a: int, b: int, *, now: datetime) -> bool:
    """Do not offer the pair again; False when it was dismissed already."""
    first, second = _ordered(conn, a, b)
    with transaction(conn):
        return bool(
            conn.execute(
                "INSERT OR IGNORE INTO dedupe_dismissed (contact_id, other_id, dismissed_at) "
                "VALUES (?, ?, ?)",
                (first, second, to_utc_text(now)),
            ).rowcount
        )


def undismiss(conn: sqlite3.Connection, a: int, b: int) -> None:
    """Offer a dismissed pair again."""
    first, second = _ordered(conn, a, b)
    with transaction(conn):
        if not conn.execute(
            "DELETE FROM dedupe_dismissed WHERE contact_id = ? AND other_id = ?", (first, second)
        ).rowcount:
            raise NotFound(f"contacts {first} and {second} are not a dismissed pair")


def dismissed(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    """The dismissed pairs, newest first."""
    for row in conn.execute(
        "SELECT d.contact_id, a.name AS contact, d.other_id, b.name AS other, d.dismissed_at "
        "FROM dedupe_dismissed d JOIN contacts a ON a.id = d.contact_id "
        "JOIN contacts b ON b.id = d.other_id ORDER BY d.dismissed_at DESC, d.contact_id"
    ):
        yield dict(row)
