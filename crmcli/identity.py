"""Is this the same person? crmcli's identity rules, in one place.

``crm import``, ``crm contact add`` and ``crm dedupe`` all decide with :func:`compare`, so they
cannot disagree. The rules look at plain values only (UIDs, emails, phone digits, a name, a
company), never at a file format or a table layout: a richer contact model or a new reader feeds
them the same values.

Evidence that two descriptions are one person, strongest first:

1. the same UID: crmcli's own, or an external UID either was imported or synced with;
2. the same email address, in any case;
3. the same phone number however written, *and* a compatible name (the same name in any case or
   accents, swapped, with a nickname or a middle name);
4. the same full name and the same company.

Conflicting evidence stops the weaker rules, so two different people are never merged by
themselves: both have external UIDs and share none (stops 2-4), both have emails and share none
(stops 3-4), both have phones and share none (stops 4), the same phone under another name (3
needs a compatible name). Every pair also gets a score from 0 to 100 with its reasons; a pair
the rules do not merge but that scores :data:`POSSIBLE_SCORE` or more is a *possible duplicate*:
counted by the import, listed by ``crm dedupe`` (docs/identity.md).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

#: a pair that the rules do not merge but that scores this much is a possible duplicate
POSSIBLE_SCORE = 40
#: the score of a pair the rules merge is at least this
SAME_SCORE = 80
#: phones match when one is the other with a prefix (country or area code) and has this many digits
MIN_PHONE_SUFFIX = 7

# Levels of evidence of a merge, weakest first (0: none).
NAME, PHONE, EMAIL, UID = 1, 2, 3, 4

# --- plain values ---------------------------------------------------------------------------------

# SQLite's NOCASE folds ASCII letters only; the exact rules use the same folding as the lookups.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# letters that Unicode does not split into a base letter and an accent
_SPELLED = str.maketrans({"ı": "i", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae",
                          "œ": "oe", "'": "", "’": "", ".": " "})  # fmt: skip
# Patterns as text, compiled by re's cache on first use (not at import: start-up time)
_NON_WORD = r"[\W_]+"
_EXTENSION = r"(?i)\s*(?:ext\.?|x|#)\s*\d+$"


def exact(text: str | None) -> str:
    """``text`` as the exact rules compare it: ASCII letters in any case (SQLite's NOCASE)."""
    if not text:
        return ""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def phone_digits(value: str) -> str:
    """The digits of a phone number, without an extension."""
    return re.sub(r"\D", "", re.split(_EXTENSION, value)[0])


def same_phone(x: str, y: str) -> bool:
    """The same number, given as digits, with or without a country code (+1 555... = 555...)."""
    if x == y:
        return True
    shorter, longer = (x, y) if len(x) <= len(y) else (y, x)
    return len(shorter) >= MIN_PHONE_SUFFIX and longer.endswith(shorter)


def phone_key(digits: str) -> str:
    """What equal phones have in common: their last seven digits (all, when shorter)."""
    return digits[-MIN_PHONE_SUFFIX:]


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """A name as people compare it: no case, no accents, no punctuation, single spaces."""
    import unicodedata

    text = unicodedata.normalize("NFKD", text.casefold().translate(_SPELLED))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(_NON_WORD, " ", text).split())


# A small table of common nicknames and spelling variants: canonical name -> other names.
# One name may belong to several (chris: christopher, christine, christina).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie"),
    "alexander": ("alex", "alec", "sasha", "xander", "alejandro", "alessandro"),
    "alexandra": ("alex", "sasha", "sandra", "alejandra", "alessandra"),
    "andrew": ("andy", "drew", "andres", "andreas", "andrea"),
    "anthony": ("tony", "antonio", "anton"),
    "benjamin": ("ben", "benny", "benji"),
    "charles": ("charlie", "chuck", "carlos", "carl", "karl"),
    "christopher": ("chris", "kit", "christoph", "cristobal"),
    "christine": ("chris", "christina", "tina", "chrissy", "kristina", "cristina"),
    "daniel": ("dan", "danny", "dani"),
    "david": ("dave", "davy", "davide"),
    "deborah": ("deb", "debbie", "debra"),
    "edward": ("ed", "eddie", "ned", "ted", "eduardo", "edouard"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "elisabeth", "isabel", "lisa", "elsa"),
    "francis": ("frank", "francisco", "francesco", "francois", "paco", "franz"),
    "gregory": ("greg",),
    "henry": ("harry", "hank", "enrique", "henri", "heinrich"),
    "isabella": ("bella", "izzy", "isabel", "isabelle"),
    "jacob": ("jake", "jakob"),
    "james": ("jim", "jimmy", "jamie", "diego", "jaime", "jacques"),
    "jennifer": ("jen", "jenny", "jenn"),
    "john": ("jack", "johnny", "jon", "juan", "johann", "hans", "jean", "ivan", "sean", "ian"),
    "jonathan": ("jon", "jonny"),
    "joseph": ("joe", "joey", "jose", "josef", "giuseppe", "pepe"),
    "joshua": ("josh",),
    "katherine": ("catherine", "kathryn", "catalina", "kate", "katie", "kathy", "cathy", "kat"),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurence", "lorenzo"),
    "margaret": ("maggie", "meg", "peggy", "marge", "greta", "margarita", "margot", "rita"),
    "matthew": ("matt", "matteo", "mateo", "matthias", "mathieu"),
    "michael": ("mike", "mikey", "mick", "mickey", "miguel", "michel", "michele", "mikhail"),
    "nathaniel": ("nate", "nat", "nathan"),
    "nicholas": ("nick", "nicky", "nico", "nicolas", "nikolai", "klaus"),
    "patricia": ("pat", "patty", "trish", "tricia"),
    "patrick": ("pat", "paddy", "patricio"),
    "peter": ("pete", "pedro", "pierre", "pietro", "piotr"),
    "rebecca": ("becky", "becca"),
    "richard": ("rick", "ricky", "dick", "rich", "richie", "ricardo", "rico"),
    "robert": ("bob", "bobby", "rob", "robbie", "bert", "roberto"),
    "samantha": ("sam", "sammy"),
    "samuel": ("sam", "sammy"),
    "stephen": ("steve", "steven", "stefan", "esteban", "stefano", "etienne"),
    "susan": ("sue", "susie", "suzanne", "susanne", "susana"),
    "theodore": ("ted", "teddy", "theo"),
    "thomas": ("tom", "tommy", "tomas", "tommaso"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "tori"),
    "william": ("bill", "billy", "will", "willy", "liam", "guillermo", "wilhelm", "guillaume"),
}


@lru_cache(maxsize=1)
def _forms() -> dict[str, frozenset[str]]:
    """Every name in :data:`NICKNAMES` -> the canonical names it stands for."""
    forms: dict[str, set[str]] = {}
    for canonical, others in NICKNAMES.items():
        for name in (canonical, *others):
            forms.setdefault(name, set()).add(canonical)
    return {name: frozenset(found) for name, found in forms.items()}


def canonical_forms(token: str) -> frozenset[str]:
    """The canonical names a (folded) first name stands for: ``bob`` -> {robert}."""
    return _forms().get(token) or frozenset((token,))


def _nickname_of(x: str, y: str) -> bool:
    return x == y or not canonical_forms(x).isdisjoint(canonical_forms(y))


_SOUNDEX_CODES = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


def soundex(word: str) -> str:
    """American Soundex of a folded word: names that sound alike share it (Smith, Smyth: S530)."""
    letters = [c for c in word if "a" <= c <= "z"]
    if not letters:
        return word
    codes = [letters[0].upper()]
    previous = _SOUNDEX_CODES.get(letters[0], "")
    for letter in letters[1:]:
        if letter in "hw":  # they do not separate two letters of the same code
            continue
        code = _SOUNDEX_CODES.get(letter, "")
        if code and code != previous:
            codes.append(code)
        previous = code
    return "".join(codes)[:4].ljust(4, "0")


@lru_cache(maxsize=65536)
def name_screen(tokens: tuple[str, ...]) -> frozenset[str]:
    """Keys that two compatible full names (the same, swapped, with a nickname, an initial, a
    middle name or a typo) share at least one of; empty for no name.

    A cheap screen where a block of candidates is too large to :func:`compare` whole (a
    switchboard number thousands of contacts share). Each key pairs one word's initial or
    canonical forms (``bob`` -> robert) with another word's Soundex, in both orders, so a
    common first name alone does not make everyone a candidate. A typo in the first letter
    of every word, or one that joins two words, can slip through it: the price of not
    comparing a row with every colleague on the same office number."""
    if len(tokens) < 2:
        return frozenset(f"1|{key}" for t in tokens for key in (soundex(t), *canonical_forms(t)))
    keys: set[str] = set()
    for i, first in enumerate(tokens):
        forms = (first[0], *canonical_forms(first))
        for j, other in enumerate(tokens):
            if i != j:
                sound = soundex(other)
                keys.update(f"{form}|{sound}" for form in forms)
                # two nicknames ("Bob Will", "Robert William") share their canonical pair
                keys.update(f"{a}|{b}" for a in forms[1:] for b in canonical_forms(other))
    return frozenset(keys)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of two neighbours counts once), or ``limit + 1``
    as soon as it must exceed ``limit``."""
    # What both start and end with costs nothing: compare the middles (names differ in a few
    # letters, so these are short), only within ``limit`` of the diagonal.
    size = min(len(a), len(b))
    start = 0
    while start < size and a[start] == b[start]:
        start += 1
    end = 0
    while end < size - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[start : len(a) - end], b[start : len(b) - end]
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if not a or not b:
        return max(len(a), len(b))
    far = limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [far] * (len(b) + 1)
        current[0] = i
        low, high = max(1, i - limit), min(len(b), i + limit)
        for j in range(low, high + 1):
            cost = a[i - 1] != b[j - 1]
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, before[j - 2] + 1)
            current[j] = best
        if min(current[low : high + 1]) > limit:
            return far
        before, previous = previous, current
    return min(previous[-1], far)


# --- profiles: what the rules look at -------------------------------------------------------------


class Profile(NamedTuple):
    """One contact, or one incoming row, as the identity rules see it. Make with :func:`profile`."""

    #: every UID it is known by (crmcli's own and external ones)
    uids: tuple[str, ...]
    #: the UIDs outside systems gave it (a vCard's, a synced address book's)
    external_uids: tuple[str, ...]
    #: email addresses, ASCII letters in lower case
    emails: tuple[str, ...]
    #: phone numbers as digits
    phones: tuple[str, ...]
    #: the person's full name as the exact rules compare it ("" for a company or an address alone)
    name: str
    #: the full name's words, folded (no case, accents or punctuation)
    tokens: tuple[str, ...]
    #: the company as the exact rules compare it ("" for none), and folded
    company: str
    company_folded: str


def profile(
    *,
    uids: Iterable[str] = (),
    external_uids: Iterable[str] = (),
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    name: str | None = None,
    company: str | None = None,
) -> Profile:
    """A profile from plain values: ``name`` is the person's full name (None when the record is
    only a company or an address), ``phones`` are digits (:func:`phone_digits`)."""
    external = _unique(u for u in external_uids if u)
    exact_name, tokens = _name_parts(name.strip()) if name else ("", ())
    company = company.strip() if company else ""
    return Profile(
        uids=_unique([*(u for u in uids if u), *external]),
        external_uids=external,
        emails=_unique(exact(e.strip()) for e in emails if e),
        phones=_unique(p for p in phones if p),
        name=exact_name,
        tokens=tokens,
        company=exact(company),
        company_folded=fold(company) if company else "",
    )


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    found = tuple(values)
    return found if len(found) < 2 else tuple(dict.fromkeys(found))


@lru_cache(maxsize=16384)
def _company_parts(company: str) -> tuple[str, str]:
    return exact(company), fold(company)


@lru_cache(maxsize=65536)
def _name_parts(name: str) -> tuple[str, tuple[str, ...]]:
    """A full name as the exact rule compares it, and its folded words ("" for punctuation)."""
    tokens = tuple(fold(name).split())
    return (exact(name) if tokens else "", tokens)


def merged_profile(a: Profile, b: Profile) -> Profile:
    """What is known of one person described by ``a`` and then ``b`` (``a``'s name first)."""
    return Profile(
        uids=tuple(dict.fromkeys([*a.uids, *b.uids])),
        external_uids=tuple(dict.fromkeys([*a.external_uids, *b.external_uids])),
        emails=tuple(dict.fromkeys([*a.emails, *b.emails])),
        phones=a.phones + tuple(p for p in b.phones if not any(same_phone(p, q) for q in a.phones)),
        name=a.name or b.name,
        tokens=a.tokens if a.name else b.tokens,
        company=a.company or b.company,
        company_folded=a.company_folded if a.company else b.company_folded,
    )


# --- comparing two profiles -----------------------------------------------------------------------

# How two names relate, and what each relation adds to a pair's score.
MISSING, EXACT, FOLDED, SWAPPED, NICKNAME, MIDDLE, INITIAL, TYPO, DIFFERENT = range(9)
_NAME_POINTS = {MISSING: 0, EXACT: 50, FOLDED: 45, SWAPPED: 45, NICKNAME: 40, MIDDLE: 35,
                INITIAL: 30, TYPO: 30, DIFFERENT: -30}  # fmt: skip
_NAME_REASONS = {
    EXACT: "same name",
    FOLDED: "same name but for case or accents",
    SWAPPED: "first and last name swapped",
    NICKNAME: "nickname",
    MIDDLE: "one name has a middle name",
    INITIAL: "an initial for a name",
    TYPO: "similar names (a typo?)",
    DIFFERENT: "different names",
}
#: relations under which the same phone is the same person (rule 3)
COMPATIBLE_NAMES = frozenset((EXACT, FOLDED, SWAPPED, NICKNAME, MIDDLE))


def _tokens_match(xs: Sequence[str], ys: Sequence[str], initials: bool) -> bool:
    for x, y in zip(xs, ys, strict=True):
        if _nickname_of(x, y):
            continue
        if initials and (len(x) == 1 or len(y) == 1) and x[0] == y[0]:
            continue
        return False
    return True


def name_relation(a: Profile, b: Profile) -> int:
    """How the full names of ``a`` and ``b`` relate (EXACT, NICKNAME, TYPO...)."""
    if not (a.name and b.name):
        return MISSING
    if a.name == b.name:
        return EXACT
    return _relation(a.tokens, b.tokens)


@lru_cache(maxsize=65536)
def _relation(x: tuple[str, ...], y: tuple[str, ...]) -> int:
    """How two different full names relate, by their folded words (names repeat: cached)."""
    if x == y:
        return FOLDED
    if len(x) == len(y):
        if sorted(x) == sorted(y):
            return SWAPPED
        if _tokens_match(x, y, False) or _tokens_match(x, y[::-1], False):
            return NICKNAME
        if _tokens_match(x, y, True) or _tokens_match(x, y[::-1], True):
            return INITIAL
    shorter, longer = (x, y) if len(x) < len(y) else (y, x)
    if len(shorter) >= 2 and set(shorter) <= set(longer):
        return MIDDLE
    joined_x, joined_y = " ".join(x), " ".join(y)
    limit = 1 if min(len(joined_x), len(joined_y)) < 9 else 2
    if edit_distance(joined_x, joined_y, limit) <= limit:
        return TYPO
    if len(x) == len(y) == 2 and edit_distance(joined_x, " ".join(y[::-1]), limit) <= limit:
        return TYPO
    return DIFFERENT


class Verdict(NamedTuple):
    """What the rules say of a pair: merged or not, on what evidence, and how likely the same."""

    #: the rules merge them (without asking)
    same: bool
    #: the strongest evidence that merges them (UID, EMAIL, PHONE, NAME), 0 when not merged
    level: int
    #: how many emails or phones they share (more is stronger at the same level)
    strength: int
    #: 0-100: how likely they are one person
    score: int
    #: why, for people: "same email", "different phones"...
    reasons: tuple[str, ...]

    @property
    def possible(self) -> bool:
        """Not merged by the rules, but likely enough to be shown to a person."""
        return not self.same and self.score >= POSSIBLE_SCORE


_UID_VERDICT = Verdict(True, UID, 1, 100, ("same UID",))


def compare(a: Profile, b: Profile) -> Verdict:
    """The identity rules (see the module docstring) applied to ``a`` and ``b``.

    Only what the rules look at is worked out here (it runs for every pair ``crm dedupe``
    compares); the verdict for that combination of facts comes from :func:`_verdict`.
    """
    if a.uids and b.uids and not set(a.uids).isdisjoint(b.uids):
        return _UID_VERDICT
    shared_emails = shared_phones = 0
    email_conflict = phone_conflict = False
    if a.emails and b.emails:
        for email in a.emails:
            if email in b.emails:
                shared_emails += 1
        email_conflict = not shared_emails
    if a.phones and b.phones:
        for x in a.phones:
            for y in b.phones:
                if same_phone(x, y):
                    shared_phones += 1
                    break
        phone_conflict = not shared_phones
    if not (a.name and b.name):
        relation = MISSING
    elif a.name == b.name:
        relation = EXACT
    else:
        relation = _relation(a.tokens, b.tokens)
    x, y = a.company_folded, b.company_folded
    companies = (1 if x == y else 2) if x and y else 0
    front_desk = not a.name and not b.name and bool(x) and x == y
    return _verdict(
        shared_emails,
        shared_phones,
        email_conflict,
        phone_conflict,
        bool(a.external_uids and b.external_uids),
        relation,
        companies,
        a.company == b.company,
        front_desk,
    )


#: points taken off for each conflict (emails, phones, UIDs that differ), and the reason said
_CONFLICTS = ((20, "different emails"), (10, "different phones"), (10, "different UIDs"))


def _points(
    shared: tuple[int, int], relation: int, companies: int, conflicts: tuple[bool, bool, bool]
) -> tuple[int, list[str]]:
    """The score of the facts (before the rules' floor and the 0-100 bounds), with the reasons:
    ``shared`` emails and phones, the names' ``relation``, ``companies`` (see _verdict) and
    the email, phone and UID ``conflicts``."""
    reasons: list[str] = []
    score = 0
    for count, points, reason in ((shared[0], 70, "same email"), (shared[1], 50, "same phone")):
        if count:
            score += points
            reasons.append(reason)
    score += _NAME_POINTS[relation]
    if relation in _NAME_REASONS:
        reasons.append(_NAME_REASONS[relation])
    if companies == 1:
        score += 20
        reasons.append("same company")
    elif companies == 2:
        score -= 15
        reasons.append("different companies")
    for conflict, (points, reason) in zip(conflicts, _CONFLICTS, strict=True):
        if conflict:
            score -= points
            reasons.append(reason)
    return score, reasons


@lru_cache(maxsize=4096)
def _verdict(
    shared_emails: int,
    shared_phones: int,
    email_conflict: bool,
    phone_conflict: bool,
    uid_conflict: bool,
    relation: int,
    companies: int,  # 0: not both known, 1: the same, 2: different
    same_company: bool,  # exactly (the rule), both empty included
    front_desk: bool,  # two records without a person's name, of one company
) -> Verdict:
    """The verdict for one combination of facts (few combinations: cached)."""
    score, reasons = _points(
        (shared_emails, shared_phones),
        relation,
        companies,
        (email_conflict, phone_conflict, uid_conflict),
    )
    level = strength = 0
    if uid_conflict:
        pass
    elif shared_emails:
        level, strength = EMAIL, shared_emails
    elif shared_phones and not email_conflict and (relation in COMPATIBLE_NAMES or front_desk):
        level, strength = PHONE, shared_phones
    elif relation == EXACT and same_company and not (email_conflict or phone_conflict):
        level, strength = NAME, 1
    if level:
        score = max(score, SAME_SCORE)
    return Verdict(bool(level), level, strength, max(0, min(100, score)), tuple(reasons))


class Decision(NamedTuple):
    """Where an incoming record goes: ``target`` (merge) or a new contact, and the best possible
    duplicate among the others (for the import summary)."""

    target: int | None
    verdict: Verdict | None
    possible: int | None


def evidence(verdict: Verdict) -> tuple[int, int]:
    """How strongly a verdict merges: by level (UID, EMAIL...), then by how much is shared."""
    return (verdict.level, verdict.strength)


def decide(row: Profile, candidates: Iterable[tuple[int, Profile]]) -> Decision:
    """The contact ``row`` is, among ``candidates``: the one with the strongest merging evidence.

    Two candidates tied at the strongest evidence are ambiguous: the row is merged into neither
    (a new contact, and a possible duplicate of them).
    """
    best: int | None = None
    best_verdict: Verdict | None = None
    best_key = (0, 0)
    tied = False
    possible: int | None = None
    possible_score = 0
    for contact_id, candidate in candidates:
        verdict = compare(row, candidate)
        if verdict.same:
            key = evidence(verdict)
            if key > best_key:
                best, best_verdict, best_key, tied = contact_id, verdict, key, False
            elif key == best_key and contact_id != best:
                tied = True
        elif verdict.score >= POSSIBLE_SCORE and verdict.score > possible_score:
            possible, possible_score = contact_id, verdict.score
    if best is not None and not tied:
        return Decision(best, best_verdict, None)
    return Decision(None, None, best if tied else possible)


# --- finding candidates in the database -----------------------------------------------------------

#: a selection of contacts: ids, or a SQL subquery (and its parameters) that yields ids
Scope = Collection[int] | tuple[str, Sequence[Any]] | None


def scope_sql(scope: Scope, column: str = "c.id") -> tuple[str, list[Any]]:
    """``column IN (...)`` for a scope (always true for None), and its parameters."""
    if scope is None:
        return "1", []
    if isinstance(scope, tuple) and len(scope) == 2 and isinstance(scope[0], str):
        return f"{column} IN ({scope[0]})", list(scope[1])
    return f"{column} IN (SELECT value FROM json_each(?))", [_json(sorted(scope))]


def name_key(name: str | None, company: str | None) -> str:
    """The key of rule 4: the exact full name and company."""
    return f"{exact(name)}\x1f{exact(company)}"


class Found(NamedTuple):
    """Live contacts found by each key (a UID may also find a contact in the trash)."""

    by_uid: dict[str, int]
    by_email: dict[str, list[int]]
    by_phone: dict[str, list[int]]
    by_name: dict[str, list[int]]


def _json(values: Iterable[Any]) -> str:
    import json

    return json.dumps(list(values))


def lookup(
    conn: sqlite3.Connection,
    *,
    uids: Collection[str] = (),
    emails: Collection[str] = (),
    phones: Collection[str] = (),
    names: Collection[str] = (),
) -> Found:
    """The contacts that have any of these keys: one indexed query per kind of key.

    ``emails`` in lower case (:func:`exact`), ``phones`` as digits, ``names`` as
    :func:`name_key`. A UID finds the contact that has it (a live one first: a contact merged
    away lends its UIDs to the one kept).
    """
    found = Found({}, {}, {}, {})
    if uids:
        ranked: dict[str, tuple[int, int]] = {}
        for uid, contact_id, rank in conn.execute(
            "SELECT u.uid, u.contact_id, 0 FROM contact_uids u "
            "JOIN contacts c ON c.id = u.contact_id AND c.deleted_at IS NULL "
            "WHERE u.uid IN (SELECT value FROM json_each(:uids)) "
            "UNION ALL SELECT uid, id, deleted_at IS NOT NULL FROM contacts "
            "WHERE uid IN (SELECT value FROM json_each(:uids))",
            {"uids": _json(uids)},
        ):
            if uid not in ranked or (rank, contact_id) < ranked[uid]:
                ranked[uid] = (rank, contact_id)
        found.by_uid.update({uid: contact_id for uid, (_, contact_id) in ranked.items()})
    if emails:
        for email, contact_id in conn.execute(
            "SELECT lower(e.email), e.contact_id FROM contact_emails e "
            "JOIN contacts c ON c.id = e.contact_id AND c.deleted_at IS NULL "
            "WHERE e.email COLLATE NOCASE IN (SELECT value FROM json_each(?)) "
            "ORDER BY e.contact_id",
            (_json(emails),),
        ):
            _add(found.by_email, email, contact_id)
    if phones:
        _lookup_phones(conn, phones, found.by_phone)
    if names:
        wanted = set(names)
        for name, company, contact_id in conn.execute(
            "SELECT name, company, id FROM contacts "
            "WHERE name COLLATE NOCASE IN (SELECT value FROM json_each(?)) "
            "AND deleted_at IS NULL "
            "AND coalesce(display_name, first_name, last_name) IS NOT NULL ORDER BY id",
            (_json({key.partition("\x1f")[0] for key in wanted}),),
        ):
            key = name_key(name, company)
            if key in wanted:
                _add(found.by_name, key, contact_id)
    return found


def _add(index: dict[str, list[int]], key: str, contact_id: int) -> None:
    ids = index.setdefault(key, [])
    if contact_id not in ids:
        ids.append(contact_id)


def _lookup_phones(
    conn: sqlite3.Connection, phones: Collection[str], into: dict[str, list[int]]
) -> None:
    # stored numbers that end with the incoming digits, or that the incoming ones end with
    suffixes = {d[-k:] for d in phones for k in range(MIN_PHONE_SUFFIX, len(d) + 1)} | set(phones)
    stored = conn.execute(
        "SELECT p.digits, p.contact_id FROM contact_phones p "
        "JOIN contacts c ON c.id = p.contact_id AND c.deleted_at IS NULL "
        "WHERE p.digits IN (SELECT value FROM json_each(?)) "
        "UNION SELECT p.digits, p.contact_id FROM json_each(?) j "
        "JOIN contact_phones p ON p.digits_rev >= j.value AND p.digits_rev < j.value || ':' "
        "JOIN contacts c ON c.id = p.contact_id AND c.deleted_at IS NULL "
        "ORDER BY 2",
        (_json(suffixes), _json(d[::-1] for d in phones if len(d) >= MIN_PHONE_SUFFIX)),
    ).fetchall()
    by_key: dict[str, list[tuple[str, int]]] = {}
    for number, contact_id in stored:
        by_key.setdefault(phone_key(number), []).append((number, contact_id))
    for digits in phones:
        for number, contact_id in by_key.get(phone_key(digits), ()):
            if same_phone(digits, number):
                _add(into, digits, contact_id)


_SEP = "\x1f"
_PROFILE_SQL = f"""
SELECT c.id, c.name, c.uid,
  CASE WHEN coalesce(c.display_name, c.first_name, c.last_name) IS NOT NULL THEN c.name END,
  c.company,
  (SELECT group_concat(email, '{_SEP}') FROM contact_emails WHERE contact_id = c.id),
  (SELECT group_concat(digits, '{_SEP}') FROM contact_phones WHERE contact_id = c.id),
  (SELECT group_concat(uid, '{_SEP}') FROM contact_uids WHERE contact_id = c.id)
FROM contacts c
"""


def profiles(
    conn: sqlite3.Connection, where: str, params: Sequence[Any] = (), *, own_uids: bool = True
) -> Iterator[tuple[int, str, Profile]]:
    """(id, name shown, profile) of the contacts matching ``where`` (SQL over ``contacts c``).

    Stored values are clean already (trimmed, one of each): the profiles are built directly,
    as ``crm dedupe`` builds one for every contact. Without ``own_uids`` only external UIDs
    are kept (comparing contacts with contacts: crmcli's own UIDs are unique anyway).
    """
    for contact_id, shown, uid, name, company, emails, phones, uids in conn.execute(
        f"{_PROFILE_SQL} WHERE {where} ORDER BY c.id", params
    ):
        external = tuple(uids.split(_SEP)) if uids else ()
        exact_name, tokens = _name_parts(name) if name else ("", ())
        exact_company, folded_company = _company_parts(company) if company else ("", "")
        yield (
            contact_id,
            shown,
            Profile(
                uids=(uid, *external) if own_uids else external,
                external_uids=external,
                emails=tuple(map(exact, emails.split(_SEP))) if emails else (),
                phones=tuple(phones.split(_SEP)) if phones else (),
                name=exact_name,
                tokens=tokens,
                company=exact_company,
                company_folded=folded_company,
            ),
        )


def load_profiles(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, Profile]:
    """The profiles of these contacts (in the trash too), by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {
        contact_id: found
        for contact_id, _, found in profiles(
            conn, "c.id IN (SELECT value FROM json_each(?))", (_json(wanted),)
        )
    }


class Match(NamedTuple):
    """A contact that an incoming record may be, with the verdict of the rules."""

    contact_id: int
    name: str
    profile: Profile
    verdict: Verdict


def find_matches(
    conn: sqlite3.Connection, incoming: Profile, *, exclude: int | None = None
) -> list[Match]:
    """Live contacts that ``incoming`` is (merged by the rules) or may be (possible duplicates),
    strongest evidence first."""
    found = lookup(
        conn,
        uids=incoming.uids,
        emails=incoming.emails,
        phones=incoming.phones,
        names=[f"{incoming.name}{_SEP}{incoming.company}"] if incoming.name else (),
    )
    ids = {*found.by_uid.values()}
    for index in (found.by_email, found.by_phone, found.by_name):
        for contact_ids in index.values():
            ids.update(contact_ids)
    ids.discard(exclude or 0)
    matches: list[Match] = []
    for contact_id, shown, candidate in profiles(
        conn,
        "c.id IN (SELECT value FROM json_each(?)) AND c.deleted_at IS NULL",
        (_json(sorted(ids)),),
    ):
        verdict = compare(incoming, candidate)
        if verdict.same or verdict.possible:
            matches.append(Match(contact_id, shown, candidate, verdict))
    matches.sort(key=lambda m: (-m.verdict.same, -m.verdict.level, -m.verdict.score, m.contact_id))
    return matches


def strongest(matches: Iterable[Match]) -> list[Match]:
    """The matches the rules merge with the strongest evidence: one (the contact it is), none,
    or several tied (it cannot be told which: :func:`decide` merges such a row into none)."""
    merged = [m for m in matches if m.verdict.same]
    if not merged:
        return []
    best = max(evidence(m.verdict) for m in merged)
    return [m for m in merged if evidence(m.verdict) == best]
