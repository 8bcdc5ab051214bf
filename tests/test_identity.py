"""The identity rules (crmcli.identity): one set of tests for import, contact add and dedupe."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from crmcli import identity
from crmcli.identity import Profile, compare, decide, profile


def person(
    name: str | None = None,
    company: str | None = None,
    emails: tuple[str, ...] = (),
    phones: tuple[str, ...] = (),
    uid: str | None = None,
    external: tuple[str, ...] = (),
) -> Profile:
    return profile(
        uids=(uid,) if uid else (),
        external_uids=external,
        emails=emails,
        phones=[identity.phone_digits(p) for p in phones],
        name=name,
        company=company,
    )


# --- plain values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Chloé  Dubois-Martin", "chloe dubois martin"),
        ("ÉLODIE Ünal", "elodie unal"),
        ("O'Brien, Seán", "obrien sean"),
        ("Yılmaz Øster Łukasz", "yilmaz oster lukasz"),
        ("Straße", "strasse"),
        ("J.R.R. Tolkien", "j r r tolkien"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert identity.fold(text) == folded


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("+1 (555) 010-2000", "5550102000", True),
        ("+1 555 010 2000 ext. 12", "555-010-2000", True),
        ("+44 20 7946 0958", "020 7946 0958", False),  # a trunk 0 is not a country code
        ("+44 20 7946 0958", "20 7946 0958", True),
        ("555 0100", "+1 555 0100", True),  # 7 digits: long enough to be a suffix
        ("0100", "+1 555 0100", False),  # too short to say
        ("+1 555 0100", "+1 555 0101", False),
    ],
)
def test_same_phone(a: str, b: str, same: bool) -> None:
    x, y = identity.phone_digits(a), identity.phone_digits(b)
    assert identity.same_phone(x, y) is same
    assert identity.same_phone(y, x) is same


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("robert", "R163"),
        ("rupert", "R163"),
        ("rubin", "R150"),
        ("ashcraft", "A261"),
        ("tymczak", "T522"),
        ("pfister", "P236"),
        ("smith", "S530"),
        ("smyth", "S530"),
        ("li", "L000"),
    ],
)
def test_soundex(word: str, code: str) -> None:
    assert identity.soundex(word) == code


@pytest.mark.parametrize(
    ("a", "b", "limit", "distance"),
    [
        ("john", "john", 2, 0),
        ("jonh", "john", 2, 1),  # two neighbours swapped: one edit
        ("jon", "john", 2, 1),
        ("smith", "smyth", 2, 1),
        ("ann lee", "bob stone", 2, 3),  # stops past the limit
    ],
)
def test_edit_distance(a: str, b: str, limit: int, distance: int) -> None:
    assert identity.edit_distance(a, b, limit) == distance
    assert identity.edit_distance(b, a, limit) == distance


def test_nicknames_go_both_ways_and_may_stand_for_several_names() -> None:
    assert "robert" in identity.canonical_forms("bob")
    assert "robert" in identity.canonical_forms("robert")
    assert {"christopher", "christine"} <= identity.canonical_forms("chris")
    assert identity.canonical_forms("zebulon") == {"zebulon"}


# --- how names relate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "relation"),
    [
        ("Ann Lee", "ann lee", identity.EXACT),
        ("Chloé Dubois", "Chloe Dubois", identity.FOLDED),
        ("ÉLODIE Martin", "élodie martin", identity.FOLDED),  # non-ASCII case: not SQLite's NOCASE
        ("Lee Ann", "Ann Lee", identity.SWAPPED),
        ("Bob Lee", "Robert Lee", identity.NICKNAME),
        ("Lee, Bob", "Robert Lee", identity.NICKNAME),
        ("Ann Lee", "Ann Marie Lee", identity.MIDDLE),
        ("J. Smith", "John Smith", identity.INITIAL),
        ("Jonh Smith", "John Smith", identity.TYPO),
        ("Katherine Jones", "Katharine Jones", identity.TYPO),
        ("Smith John", "Jonh Smith", identity.TYPO),  # swapped and misspelt
        ("Ann Lee", "Bob Lee", identity.DIFFERENT),
        ("Oskar Ito", "Ana Ito", identity.DIFFERENT),
        ("Ann Lee", None, identity.MISSING),
    ],
)
def test_name_relation(a: str, b: str | None, relation: int) -> None:
    assert identity.name_relation(person(a), person(b)) == relation
    assert identity.name_relation(person(b), person(a)) == relation


# --- the rules ------------------------------------------------------------------------------------

ANN = person("Ann Lee", "Acme", ("ann@acme.example",), ("+1 555 0100",))

CASES: list[tuple[str, Profile, Profile, int, bool]] = [
    # (what, a, b, level merged at (0: not merged), possible duplicate)
    ("same UID", person("Ann Lee", uid="u1"), person("Bob Stone", uid="u1"), identity.UID, False),
    (
        "an external UID seen by the contact",
        person("Ann Lee", uid="own", external=("phone-uid",)),
        person("Ann", uid="phone-uid", external=("phone-uid",)),
        identity.UID,
        False,
    ),
    ("same email, other case", ANN, person(emails=("ANN@Acme.EXAMPLE",)), identity.EMAIL, False),
    (
        "same email, but two different external UIDs",
        person("Ann Lee", emails=("ann@acme.example",), uid="a", external=("a",)),
        person("Ann Lee", emails=("ann@acme.example",), uid="b", external=("b",)),
        0,
        True,
    ),
    (
        "same email, crmcli's own UID against a file's",
        person("Ann Lee", emails=("ann@acme.example",), uid="crm-own"),
        person("Ann Lee", emails=("ann@acme.example",), uid="b", external=("b",)),
        identity.EMAIL,
        False,
    ),
    (
        "same phone and a nickname",
        person("Bob Lee", phones=("+1 555 0100",)),
        person("Robert Lee", phones=("555 0100",)),
        identity.PHONE,
        False,
    ),
    (
        "a shared office phone under two names",
        person("Ann Lee", "Acme", phones=("+1 555 0100",)),
        person("Bob Lee", "Acme", phones=("+1 555 0100",)),
        0,
        True,
    ),
    (
        "a shared office phone, two names, two emails",
        ANN,
        person("Bob Lee", "Acme", ("bob@acme.example",), ("+1 555 0100",)),
        0,
        False,
    ),
    (
        "same phone and name but another email",
        ANN,
        person("Ann Lee", None, ("ann@home.example",), ("+1 555 0100",)),
        0,
        True,
    ),
    (
        "a phone and a name misspelt",
        person("John Smith", phones=("+1 555 0100",)),
        person("Jonh Smith", phones=("+1 555 0100",)),
        0,
        True,
    ),
    (
        "the same company's front desk",
        person(None, "Acme", phones=("+1 555 0100",)),
        person(None, "ACME", phones=("555 0100",)),
        identity.PHONE,
        False,
    ),
    (
        "a person and her company's front desk",
        person("Ann Lee", "Acme", phones=("+1 555 0100",)),
        person(None, "Acme", phones=("+1 555 0100",)),
        0,
        True,
    ),
    ("same name and company", ANN, person("ann lee", "ACME"), identity.NAME, False),
    (
        "same name, no company either",
        person("Ann Lee"),
        person("Ann Lee", emails=("ann@x.example",)),
        identity.NAME,
        False,
    ),
    (
        "same name and company, each with an email of their own",
        ANN,
        person("Ann Lee", "Acme", ("ann.lee@acme.example",)),
        0,
        True,
    ),
    (
        "oskar.ito.587 and oskar.ito.5587 (the issue's example)",
        person("Oskar Ito", "Acme", ("oskar.ito.587@acme.example",), ("+1 555 0587",)),
        person("Oskar Ito", "Acme", ("oskar.ito.5587@acme.example",), ("+1 555 5587",)),
        0,
        True,
    ),
    (
        "same name and company, each with a phone of their own",
        person("Ann Lee", "Acme", phones=("+1 555 0100",)),
        person("Ann Lee", "Acme", phones=("+1 555 0199",)),
        0,
        True,
    ),
    ("namesakes at two companies", ANN, person("Ann Lee", "Beta"), 0, False),
    (
        "same name but for accents",
        person("Chloé Dubois", "Atelier"),
        person("Chloe Dubois", "Atelier"),
        0,
        True,
    ),
    (
        "a nickname at the same company",
        person("Bob Lee", "Acme"),
        person("Robert Lee", "Acme"),
        0,
        True,
    ),
    ("swapped names", person("Lee Ann", "Acme"), person("Ann Lee", "Acme"), 0, True),
    ("strangers", ANN, person("Bob Stone", "Beta", ("bob@beta.example",)), 0, False),
    ("nothing to compare", person(emails=("a@x.example",)), person(None, "Acme"), 0, False),
]


@pytest.mark.parametrize(
    ("a", "b", "level", "possible"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rules(a: Profile, b: Profile, level: int, possible: bool) -> None:
    for x, y in ((a, b), (b, a)):  # the rules are symmetric
        verdict = compare(x, y)
        assert (verdict.level, verdict.same, verdict.possible) == (level, bool(level), possible)
        if verdict.same:
            assert verdict.score >= identity.SAME_SCORE
        assert 0 <= verdict.score <= 100
        if verdict.score:
            assert verdict.reasons


def test_scores_rank_stronger_evidence_higher() -> None:
    def score(a: Profile, b: Profile) -> int:
        return compare(a, b).score

    shared_office = score(
        person("Ann Lee", "Acme", phones=("+1 555 0100",)),
        person("Bob Lee", "Acme", phones=("+1 555 0100",)),
    )
    nickname = score(person("Bob Lee", "Acme"), person("Robert Lee", "Acme"))
    typo = score(person("John Smith", "Acme"), person("Jonh Smith", "Acme"))
    same_email = score(ANN, person(emails=("ann@acme.example",)))
    assert same_email > nickname > typo > shared_office


def test_reasons_say_why() -> None:
    verdict = compare(ANN, person("Ann Lee", "Acme", ("ann.lee@acme.example",), ("+1 555 0199",)))
    assert verdict.reasons == ("same name", "same company", "different emails", "different phones")


# --- deciding where a row goes --------------------------------------------------------------------


def test_decide_takes_the_strongest_evidence() -> None:
    row = person("Ann Lee", "Acme", ("ann@acme.example",), ("+1 555 0100",))
    by_phone = person("Ann Lee", phones=("555 0100",))
    by_email = person("A. Lee", emails=("ANN@acme.example",))
    assert decide(row, [(1, by_phone), (2, by_email)]).target == 2
    assert decide(row, [(2, by_email), (1, by_phone)]).target == 2


def test_decide_merges_past_a_conflicting_candidate() -> None:
    row = person("Bob Lee", "Acme", phones=("+1 555 0100",))
    ann = person("Ann Lee", "Acme", phones=("+1 555 0100",))
    bob = person("Robert Lee", "Acme", phones=("+1 555 0100",))
    decision = decide(row, [(1, ann), (2, bob)])
    assert (decision.target, decision.possible) == (2, None)
    assert decision.verdict is not None and decision.verdict.level == identity.PHONE


def test_decide_new_contact_and_possible_duplicate() -> None:
    row = person("Ann Lee", "Acme", ("ann.lee@acme.example",))
    decision = decide(row, [(1, ANN), (2, person("Ann Lee", "Beta"))])
    assert (decision.target, decision.possible) == (None, 1)
    assert decide(row, []) == identity.Decision(None, None, None)


def test_decide_two_equally_strong_candidates_is_ambiguous() -> None:
    row = person("Ann Lee", "Acme")
    first, second = person("Ann Lee", "Acme", ("a@x.example",)), person("Ann Lee", "Acme")
    assert decide(row, [(1, first), (2, second)]) == identity.Decision(None, None, 1)
    # one shared email against two: the stronger wins, so importing twice adds nothing more
    row = person(emails=("a@x.example", "b@x.example"))
    both = person(emails=("a@x.example", "b@x.example"))
    assert decide(row, [(1, person(emails=("a@x.example",))), (2, both)]).target == 2


def test_merged_profile_keeps_everything() -> None:
    a = person("Ann Lee", None, ("ann@acme.example",), ("+1 555 0100",), uid="u1", external=("u1",))
    b = person("A. Lee", "Acme", ("ann@home.example",), ("555 0100", "+1 555 0199"), uid="u2")
    merged = identity.merged_profile(a, b)
    assert merged.emails == ("ann@acme.example", "ann@home.example")
    assert merged.phones == ("15550100", "15550199")
    assert (merged.name, merged.company, merged.uids) == ("ann lee", "acme", ("u1", "u2"))


def test_every_case_compares_both_ways_alike() -> None:
    profiles = [c[1] for c in CASES] + [c[2] for c in CASES]
    for a, b in itertools.combinations(profiles, 2):
        one, other = compare(a, b), compare(b, a)
        assert (one.same, one.level, one.score) == (other.same, other.level, other.score)


def test_scope_sql() -> None:
    assert identity.scope_sql(None) == ("1", [])
    assert identity.scope_sql([3, 1]) == ("c.id IN (SELECT value FROM json_each(?))", ["[1, 3]"])
    query: Any = ("SELECT contact_id FROM contact_tags WHERE tag_id = ?", [7])
    assert identity.scope_sql(query, "x.id") == (
        "x.id IN (SELECT contact_id FROM contact_tags WHERE tag_id = ?)",
        [7],
    )
