"""Which contact each imported row is: :mod:`crmcli.identity`'s rules, batch by batch.

For each batch the keys of its rows (UIDs, emails, phones, name and company) are looked up in
the database with one indexed query per kind of key; the rows earlier in the batch are known by
their keys too. A row's candidates are the contacts (or earlier rows) that share a key with it,
and :func:`crmcli.identity.decide` picks the one it is, if any. Nothing is held per row beyond
the current batch, so memory stays flat however long the file; rows of earlier batches are in
the database already (uncommitted, visible to this connection).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import NamedTuple

from crmcli import identity
from crmcli.identity import Decision, Found, Profile
from crmcli.io.record import Record


class Seen:
    """A Bloom filter (one hash) of the keys (emails, phones, names, UIDs) this import wrote.

    When the database was empty at the start, a key that is not in the filter cannot match
    anything, so most rows need no lookup at all. 8 MiB whatever the file's size; a false
    positive only costs a lookup that finds nothing.
    """

    MASK = (1 << 23) - 1  # bytes

    def __init__(self) -> None:
        self.bits = bytearray(self.MASK + 1)

    def add(self, key: str) -> None:
        h = hash(key)
        self.bits[(h >> 3) & self.MASK] |= 1 << (h & 7)

    def __contains__(self, key: str) -> bool:
        h = hash(key)
        return bool(self.bits[(h >> 3) & self.MASK] & (1 << (h & 7)))


def personal_name(rec: Record) -> str | None:
    """The person's full name a (validated) record gives, if any."""
    text = rec.text
    if text.get("display_name"):
        return text["display_name"]
    full = " ".join(p for p in (text.get("first_name"), text.get("last_name")) if p)
    return full or None


def record_profile(rec: Record, name: str | None) -> Profile:
    """A validated record as the identity rules see it (its UID is an external one)."""
    uids = (rec.uid,) if rec.uid else ()
    return identity.profile(
        uids=uids,
        external_uids=uids,
        emails=[e[0] for e in rec.emails],
        phones=[p[2] for p in rec.phones],
        name=name,
        company=rec.text.get("company"),
    )


class RowKeys(NamedTuple):
    """The keys of one row, computed once: emails (lower case), phone digits, name key, and the
    same as keys of the batch ("e" + email, "p" + last digits, "n" + name key)."""

    emails: list[str]
    phones: list[str]
    name: str | None
    batch: list[str]


#: a key of the batch -> the target that has it, or the targets (rarely more than one)
_Targets = int | list[int]

#: a phone that more contacts share than this is a switchboard: only those of its contacts
#: whose name could be compatible (:func:`identity.name_screen`) are compared with a row, so a
#: file of 20,000 colleagues with one office number is not 200 million comparisons. Below it
#: every contact with the phone is compared, as :mod:`crmcli.identity` says.
PHONE_BLOCK = 64
#: the name screen of a row or contact without a person's name
_NO_NAME = frozenset(("",))


class Matcher:
    """Matches the rows of one import with contacts (``policy`` as ``--on-duplicate``)."""

    #: profiles read from the database kept for later batches (a file of namesakes finds the
    #: same contacts batch after batch); about 25 MiB at most
    CACHED = 50_000

    def __init__(self, conn: sqlite3.Connection, *, policy: str, fresh: bool) -> None:
        self.conn = conn
        self.policy = policy
        # Into an empty database only this import's rows can match: the filter spares lookups.
        self.seen: Seen | None = Seen() if fresh else None
        self.cache: dict[int, Profile] = {}
        self._begin_state(Found({}, {}, {}, {}))

    def _begin_state(self, found: Found) -> None:
        self.found = found
        #: a large phone block of ``found`` by name screen key ("" for no name), made on use
        self.screened: dict[str, dict[str, list[int]]] = {}
        #: this batch's switchboards ("p" + digits) -> their targets by name screen key, made
        #: when a phone's targets first pass PHONE_BLOCK
        self.blocks: dict[str, dict[str, list[int]]] = {}
        self.stored: dict[int, Profile] = {}
        #: the keys of this batch's rows -> their targets
        self.keys: dict[str, _Targets] = {}
        #: the rows of this batch placed on each target, in order
        self.placed: dict[int, list[tuple[Record, str | None]]] = {}

    def begin(self, batch: list[Record], names: list[str | None]) -> list[RowKeys]:
        """Look up the keys of ``batch`` (whose personal names are ``names``) in the database;
        returns each row's keys, for :meth:`match` and :meth:`place`."""
        rows: list[RowKeys] = []
        exact, name_key, phone_key = identity.exact, identity.name_key, identity.phone_key
        # One pass: each row's keys, and the keys worth a lookup (with the filter, only those
        # an earlier batch may have written)
        seen = self.seen
        uids: set[str] = set()
        emails: set[str] = set()
        phones: set[str] = set()
        keys: set[str] = set()
        for rec, name in zip(batch, names, strict=True):
            batch_keys = ["u" + rec.uid] if rec.uid else []
            if rec.uid and (seen is None or batch_keys[0] in seen):
                uids.add(rec.uid)
            if self.policy == "create":  # only a UID finds a contact
                rows.append(RowKeys([], [], None, batch_keys))
                continue
            row_emails = [exact(e[0]) for e in rec.emails]
            for email in row_emails:
                batch_keys.append("e" + email)
                if seen is None or batch_keys[-1] in seen:
                    emails.add(email)
            row_phones = [p[2] for p in rec.phones]
            for digits in row_phones:
                batch_keys.append("p" + phone_key(digits))
                if seen is None or batch_keys[-1] in seen:
                    phones.add(digits)
            key = name_key(name, rec.text.get("company")) if name else None
            if key:
                batch_keys.append("n" + key)
                if seen is None or batch_keys[-1] in seen:
                    keys.add(key)
            rows.append(RowKeys(row_emails, row_phones, key, batch_keys))
        found = identity.lookup(self.conn, uids=uids, emails=emails, phones=phones, names=keys)
        self._begin_state(found)
        self._load_profiles(found)
        return rows

    def _load_profiles(self, found: Found) -> None:
        """The profiles of the contacts ``found``, from the cache or the database."""
        ids = set(found.by_uid.values())
        for index in (found.by_email, found.by_phone, found.by_name):
            for contact_ids in index.values():
                ids.update(contact_ids)
        cache = self.cache
        loaded = identity.load_profiles(self.conn, ids.difference(cache))
        self.stored = {i: cache[i] for i in ids if i in cache} | loaded
        cache.update(loaded)
        while len(cache) > self.CACHED:  # the oldest first
            del cache[next(iter(cache))]

    def match(self, rec: Record, name: str | None, row: RowKeys) -> Decision:
        """The contact (or earlier row's target) ``rec`` is, or None for a new contact."""
        if rec.uid:
            hits = self.keys.get("u" + rec.uid)
            target = _first(hits) if hits is not None else self.found.by_uid.get(rec.uid)
            if target is not None:
                if self.policy == "create":
                    rec.uid = None  # a copy gets a new UID
                    return Decision(None, None, None)
                return Decision(target, None, None)
        candidates = self._candidates(row)
        if not candidates:
            return Decision(None, None, None)
        incoming = record_profile(rec, name)
        if len(candidates) > PHONE_BLOCK:
            screen = identity.name_screen(incoming.tokens) or _NO_NAME
            candidates = [
                *self._batch_candidates(row, screen),
                *self._found_candidates(row, screen),
            ]
        unique = dict.fromkeys(candidates)
        return identity.decide(incoming, ((c, self._profile_of(c)) for c in unique))

    def _candidates(self, row: RowKeys) -> list[int]:
        """Every target that shares a key with ``row``: this batch's, then the database's."""
        # Most rows share no key with anything: no allocation for them.
        candidates: list[int] = []
        for key in row.batch:
            hits = self.keys.get(key)
            if hits is not None:
                candidates.extend([hits] if isinstance(hits, int) else hits)
        found = self.found
        if found.by_email or found.by_phone or found.by_name:
            for email in row.emails:
                candidates.extend(found.by_email.get(email, ()))
            for digits in row.phones:
                candidates.extend(found.by_phone.get(digits, ()))
            if row.name:
                candidates.extend(found.by_name.get(row.name, ()))
        return candidates

    def _batch_candidates(self, row: RowKeys, screen: frozenset[str]) -> Iterator[int]:
        """This batch's targets sharing a key with ``row``; of a large phone block only those
        whose name may be compatible (see :data:`PHONE_BLOCK`)."""
        for key in row.batch:
            hits = self.keys.get(key)
            if hits is None or isinstance(hits, int):
                yield from () if hits is None else (hits,)
            elif len(hits) <= PHONE_BLOCK or key[0] != "p":
                yield from hits
            else:
                block = self.blocks.get(key)
                if block is None:  # the phone just turned out a switchboard: index it once
                    block = self.blocks[key] = {}
                    for target in hits:
                        tokens = self._profile_of(target).tokens
                        for screen_key in identity.name_screen(tokens) or _NO_NAME:
                            block.setdefault(screen_key, []).append(target)
                for screen_key in screen:
                    yield from block.get(screen_key, ())

    def _found_candidates(self, row: RowKeys, screen: frozenset[str]) -> Iterator[int]:
        """The database's contacts sharing a key with ``row``, a large phone block screened."""
        found = self.found
        for email in row.emails:
            yield from found.by_email.get(email, ())
        if row.name:
            yield from found.by_name.get(row.name, ())
        for digits in row.phones:
            hits = found.by_phone.get(digits, ())
            if len(hits) <= PHONE_BLOCK:
                yield from hits
                continue
            block = self.screened.get(digits)
            if block is None:  # once per batch and phone: by each contact's name screen
                block = self.screened[digits] = {}
                for contact_id in hits:
                    tokens = self._profile_of(contact_id).tokens
                    for screen_key in identity.name_screen(tokens) or _NO_NAME:
                        block.setdefault(screen_key, []).append(contact_id)
            for screen_key in screen:
                yield from block.get(screen_key, ())

    def _profile_of(self, target: int) -> Profile:
        """What is known of ``target`` now: its stored profile and this batch's rows on it."""
        known = self.stored.get(target)
        if known is None and target not in self.placed:
            known = identity.load_profiles(self.conn, [target]).get(target)
        for rec, name in self.placed.get(target, ()):
            incoming = record_profile(rec, name)
            known = incoming if known is None else identity.merged_profile(known, incoming)
        return known or identity.profile()

    def place(self, rec: Record, name: str | None, row: RowKeys, target: int) -> None:
        """``rec`` went to ``target``: later rows find it by the row's keys."""
        placed = self.placed.get(target)
        if placed is None:
            self.placed[target] = [(rec, name)]
        else:
            placed.append((rec, name))
        keys = self.keys
        screen: frozenset[str] | None = None
        for key in row.batch:
            hits = keys.get(key)
            if hits is None:
                keys[key] = target
            elif isinstance(hits, int):
                if hits != target:
                    keys[key] = [hits, target]
            elif target not in hits:
                hits.append(target)
            block = self.blocks.get(key)
            if block is not None:  # a switchboard's index, kept up to date
                if screen is None:
                    screen = identity.name_screen(identity.profile(name=name).tokens) or _NO_NAME
                for screen_key in screen:
                    block.setdefault(screen_key, []).append(target)

    def end(self) -> None:
        """The batch is written: its keys go into the filter, and its rows are let go (the
        contacts they changed are read again when next needed)."""
        seen = self.seen
        if seen is not None:
            for key in self.keys:
                seen.add(key)
        for target in self.placed:
            self.cache.pop(target, None)
        self._begin_state(Found({}, {}, {}, {}))


def _first(hits: _Targets) -> int:
    return hits if isinstance(hits, int) else hits[0]
