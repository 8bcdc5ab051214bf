"""The query language: every term and operator, its errors, segments, the commands that take it,
and the property that a query and its `not` split the contacts in two."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli import anniversaries, contacts, deals, notes, query, segments
from crmcli.dates import YearlyDate
from crmcli.deal_changes import NewDeal
from crmcli.query import QueryError

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def people(
    conn: sqlite3.Connection,
    make_contact: Callable[..., int],
    make_purchase: Callable[..., int],
) -> dict[str, int]:
    """A small book where each term picks a known set of people."""
    ann = make_contact("Ann Lee", email="ann@acme.example", tags=["vip"], company="Acme Corp",
                       city="Berlin", title="CTO", country="DE", source="trade show")  # fmt: skip
    bob = make_contact("Bob Roe", email="bob@beta.example", tags=["former", "vip"],
                       company="Beta", city="Bern", referred_by=ann)  # fmt: skip
    cat = make_contact("Cat Poe", email="cat@acme.example", company="Pacme", city="Paris",
                       region="IDF", referred_by=ann)  # fmt: skip
    dan = make_contact("Dan Moe", tags=["lead"])
    ids = {"ann": ann, "bob": bob, "cat": cat, "dan": dan}
    make_purchase(ann, "6000.00", product="Widget Pro", on=TODAY - timedelta(days=10))
    make_purchase(ann, "10.00", product="Gadget", on=TODAY - timedelta(days=200), currency="USD")
    make_purchase(bob, "4000.00", product="Blue widget", on=TODAY - timedelta(days=100))
    make_purchase(cat, "5000.00", product="widget", on=TODAY - timedelta(days=40))
    notes.add(conn, ann, "called about the robot arm", now=NOW, kind="call")
    notes.add(conn, bob, "lunch", now=NOW, kind="meeting", at=NOW - timedelta(days=120))
    notes.add(conn, dan, "imported text", now=NOW, kind="imported")
    anniversaries.set_date(conn, bob, "birthday", YearlyDate(11, 25, 1980), today=TODAY)
    anniversaries.set_date(conn, cat, "birthday", YearlyDate(12, 2, None), today=TODAY)
    anniversaries.set_date(conn, dan, "anniversary", YearlyDate(4, 10, 2015), today=TODAY)
    contacts.update(
        conn, dan, _changes(set_fields={"territory": "North"}, text={"region": "EMEA"}), now=NOW
    )
    deal = deals.add(
        conn,
        NewDeal(contact_id=dan, title="Pilot", value_minor=100, currency="EUR", stage="proposal"),
        now=NOW,
    )
    assert deal
    return ids


def _changes(**kwargs: Any) -> Any:
    from crmcli.contact_changes import ContactChanges

    return ContactChanges(**kwargs)


def _match(conn: sqlite3.Connection, text: str) -> set[int]:
    sql, params = query.contact_ids_sql(conn, text, today=TODAY, currency="EUR")
    return {row[0] for row in conn.execute(sql, params)}


CASES = [
    ("tag:vip", {"ann", "bob"}),
    ("tag:VIP", {"ann", "bob"}),
    ("-tag:former", {"ann", "cat", "dan"}),
    ("not tag:former", {"ann", "cat", "dan"}),
    ("company:acme", {"ann"}),  # starts with: not Pacme
    ('company:"acme corp"', {"ann"}),
    ("city:ber", {"ann", "bob"}),
    ("city:berlin", {"ann"}),
    ("name:cat", {"cat"}),
    ("title:cto", {"ann"}),
    ("region:idf", {"cat"}),
    ("country:de", {"ann"}),
    ("source:trade", {"ann"}),
    ("email:@acme.example", {"ann", "cat"}),
    ("email:bob", {"bob"}),
    ('"robot arm"', {"ann"}),
    ("robot", {"ann"}),
    ("lunch", {"bob"}),
    ("bought:widget", {"ann", "cat"}),  # starts with: not "Blue widget"
    ("bought:*", {"ann", "bob", "cat"}),
    ("spent>5000EUR", {"ann"}),
    ("spent>=5000EUR", {"ann", "cat"}),
    ("spent<5000EUR", {"bob", "dan"}),  # nothing spent is less
    ("spent<=4000", {"bob", "dan"}),
    ("spent=5000eur", {"cat"}),
    ("spent>5USD", {"ann"}),
    ("last-touch>90d", {"bob", "cat", "dan"}),  # never (or only imported notes) counts as long ago
    ("last-touch<30d", {"ann"}),
    ("last-touch:never", {"cat", "dan"}),
    ("last-purchase<30d", {"ann"}),
    ("last-purchase>=40d", {"bob", "cat", "dan"}),
    ("last-purchase>3m", {"bob", "dan"}),
    ("last-purchase:never", {"dan"}),
    ("birthday:this-week", {"bob"}),
    ("birthday:next-month", {"cat"}),
    ("birthday:nov", {"bob"}),
    ("birthday:this-month", {"bob"}),
    ("anniversary:april", {"dan"}),
    ("stage:proposal", {"dan"}),
    ("stage:Proposal", {"dan"}),
    ("referred-by:ann", {"bob", "cat"}),
    ("field:region=emea", {"dan"}),
    ("field:region", {"cat", "dan"}),
    ("field:territory=NORTH", {"dan"}),
    ("field:territory", {"dan"}),
    ("tag:vip and city:berlin", {"ann"}),
    ("tag:vip city:bern", {"bob"}),
    ("tag:lead or city:paris", {"cat", "dan"}),
    ("(tag:lead or city:paris) and not email:@acme.example", {"dan"}),
    ("tag:vip or tag:lead and city:paris", {"ann", "bob"}),  # and binds tighter
    ("not (tag:vip or tag:lead)", {"cat"}),
    ("-lunch tag:vip", {"ann"}),
    ("", {"ann", "bob", "cat", "dan"}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_every_term_and_operator(
    conn: sqlite3.Connection, people: dict[str, int], text: str, expected: set[str]
) -> None:
    assert _match(conn, text) == {people[name] for name in expected}


def test_rfm_term(conn: sqlite3.Connection, people: dict[str, int]) -> None:
    from crmcli import customers

    rows = customers.list_customers(conn, customers.CustomerFilters(), today=TODAY)
    by_segment: dict[str, set[int]] = {}
    for row in rows:
        by_segment.setdefault(row["segment"], set()).add(row["contact_id"])
    for name, members in by_segment.items():
        assert _match(conn, f"rfm:{name}") == members
    assert _match(conn, "rfm:champions or not rfm:champions") == set(people.values())


def test_segments_nest_and_refuse_cycles(conn: sqlite3.Connection, people: dict[str, int]) -> None:
    segments.save(conn, "vips", "tag:vip", now=NOW)
    segments.save(conn, "vips-in-berlin", "segment:vips city:berlin", now=NOW)
    assert _match(conn, "segment:vips-in-berlin") == {people["ann"]}
    assert _match(conn, "-segment:VIPS") == {people["cat"], people["dan"]}
    with pytest.raises(QueryError, match="uses itself"):
        segments.save(conn, "vips", "segment:vips-in-berlin", now=NOW, replace=True)
    assert segments.get(conn, "vips").query == "tag:vip"  # the failed change left nothing
    with pytest.raises(Exception, match="used by vips-in-berlin"):
        segments.remove(conn, "vips")
    with pytest.raises(QueryError, match="did you mean 'vips'"):
        _match(conn, "segment:vipz")
    with pytest.raises(Exception, match="exists already"):
        segments.save(conn, "vips", "tag:lead", now=NOW)


@pytest.mark.parametrize(
    ("text", "message", "caret"),
    [
        ("tag:vip tga:lead", "unknown term 'tga'; did you mean 'tag'?", "        ^^^^^^^^"),
        ("(tag:vip", "never closed", "^"),
        ("tag:vip)", "no opening one", "       ^"),
        ("tag:vip and", "needs something after it", None),
        ("or tag:vip", "needs a condition before it", "^^"),
        ('"open quote', "quote is never closed", "^^^^^^^^^^^"),
        ("spent>lots", "is not an amount", "^^^^^^^^^^"),
        ("spent:5", "spent takes a comparison", "^^^^^^^"),
        ("spent>5XYZ", "unknown currency code 'XYZ'", "^^^^^^^^^^"),
        ("--tga", "not an option of this command", "^^^^^"),
        ("spent>5EUR1", "is not an amount", None),
        ("spent>5.001EUR", "too many decimals", None),
        ("last-touch>soon", "is not a number of days", None),
        ("last-touch:90d", "takes > or <", None),
        ("tag>3", "takes a colon", None),
        ("rfm:champs", "did you mean 'champions'", None),
        ("stage:propsal", "did you mean 'proposal'", None),
        ("birthday:someday", "is not a period", None),
        ("referred-by:nobody", "no contact matches", None),
        ("field:=x", "needs a name", None),
        ("tag:", "needs a value", None),
        ("()", "empty parentheses", " ^"),
        ("-!!!", "no letters or digits", None),
    ],
)
def test_errors_point_at_the_word(
    conn: sqlite3.Connection, people: dict[str, int], text: str, message: str, caret: str | None
) -> None:
    with pytest.raises(QueryError) as raised:
        _match(conn, text)
    assert message in raised.value.message
    assert raised.value.exit_code == 2
    assert raised.value.hint is not None and raised.value.hint.startswith(f"  {text}\n")
    if caret is not None:
        assert raised.value.hint.split("\n")[1] == f"  {caret}"


def test_values_are_parameters_never_sql(conn: sqlite3.Connection, people: dict[str, int]) -> None:
    hostile = "x' OR 1=1 --"
    compiled = query.compile_query(conn, f'company:"{hostile}" tag:"{hostile}"', today=TODAY)
    assert hostile not in compiled.sql
    assert _match(conn, f'company:"{hostile}"') == set()
    assert _match(conn, 'company:"100%"') == set()  # LIKE wildcards are escaped


def test_queries_use_the_indexes(conn: sqlite3.Connection, people: dict[str, int]) -> None:
    def plan(text: str) -> str:
        sql, params = query.contact_ids_sql(conn, text, today=TODAY)
        return " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))

    assert "contact_tags_tag" in plan("tag:vip") or "sqlite_autoindex_tags" in plan("tag:vip")
    assert "contacts_company" in plan("company:acme")
    assert "contact_addresses_city" in plan("city:berlin")
    assert "contact_fields_key" in plan("field:territory=north")
    assert "purchases_product" in plan("bought:widget")
    assert "contacts_referred_by" in plan("referred-by:ann")


@pytest.mark.parametrize(
    ("words", "text"),
    [
        (["tag:vip city:berlin"], "tag:vip city:berlin"),
        (["tag:vip", "free text"], 'tag:vip "free text"'),
        (["tag:vip or tag:lead", "city:x"], "tag:vip or tag:lead city:x"),
    ],
)
def test_join_words(words: list[str], text: str) -> None:
    assert query.join_words(words) == text


# --- a query and its `not` partition the contacts ---------------------------------------------

_ATOMS = st.sampled_from(
    ["tag:vip", "tag:lead", "company:acme", "city:ber", "email:@acme.example", "bought:widget",
     "spent>4500EUR", "spent<=10USD", "last-touch>90d", "last-touch<30d", "last-purchase<50d",
     "last-purchase:never", "birthday:this-month", "stage:proposal", "referred-by:ann",
     "field:region=emea", "robot", '"blue"', "rfm:loyal", "title:cto", "region:idf"]
)  # fmt: skip


def _queries() -> st.SearchStrategy[str]:
    return st.recursive(
        _ATOMS,
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda p: f"{p[0]} {p[1]}"),
            st.tuples(inner, inner).map(lambda p: f"({p[0]} or {p[1]})"),
            inner.map(lambda q: f"not ({q})"),
            inner.map(lambda q: f"-{q}" if not q.startswith(("-", "(", "not")) else f"not {q}"),
        ),
        max_leaves=6,
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_queries())
def test_a_query_and_its_not_partition_the_contacts(
    conn: sqlite3.Connection, people: dict[str, int], text: str
) -> None:
    everyone = set(people.values())
    matched = _match(conn, text)
    negated = _match(conn, f"not ({text})")
    assert matched | negated == everyone
    assert matched & negated == set()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(alphabet=st.sampled_from(list('ab:-()" <>=1or\\@*')), max_size=25))
def test_any_text_is_a_query_or_a_query_error(
    conn: sqlite3.Connection, people: dict[str, int], text: str
) -> None:
    import contextlib

    from crmcli.errors import CrmError

    with contextlib.suppress(CrmError):  # ours: one line for the user, never a traceback
        _match(conn, text)


# --- the commands that take a query -------------------------------------------------------------


def test_commands_take_the_query(cli: Any, people: dict[str, int]) -> None:
    ids = [r["id"] for r in cli.json("contact", "list", "tag:vip", "city:berlin")]
    assert ids == [people["ann"]]
    ids = [r["id"] for r in cli.json("contact", "list", "tag:vip or tag:lead", "--sort", "id")]
    assert ids == [people["ann"], people["bob"], people["dan"]]
    found = cli.json("search", "tag:vip", "-city:berlin")
    assert [r["id"] for r in found] == [people["bob"]] and found[0]["matched"] == "query"
    assert [r["id"] for r in cli.json("search", "robot arm")] == [people["ann"]]
    exported = cli("export", "contacts", "--format", "json", "email:@acme.example").stdout
    assert {c["name"] for c in json.loads(exported)} == {"Ann Lee", "Cat Poe"}
    bought = cli.json("purchase", "list", "city:paris")
    assert [p["contact_id"] for p in bought] == [people["cat"]]
    result = cli("contact", "list", "tga:vip", code=2)
    assert result.stdout == ""
    assert result.stderr.startswith("Error: query: unknown term 'tga'; did you mean 'tag'?")
    assert "  tga:vip\n  ^^^^^^^" in result.stderr


def test_segment_commands(cli: Any, people: dict[str, int]) -> None:
    added = cli("segment", "add", "berliners", "city:berlin")
    assert "1 contacts now" in added.stderr
    listed = cli.json("segment", "list")
    assert listed[0]["name"] == "berliners" and listed[0]["contacts"] == 1
    shown = cli.json("segment", "show", "berliners")
    assert shown["query"] == "city:berlin" and [c["id"] for c in shown["contacts"]] == [
        people["ann"]
    ]
    assert [r["id"] for r in cli.json("contact", "list", "segment:berliners")] == [people["ann"]]
    assert cli("segment", "add", "broken", "tga:x", code=2).stderr.startswith("Error: query:")
    assert cli("segment", "rm", "berliners", code=2).stderr.startswith("Error: Remove segment")
    cli("segment", "rm", "berliners", "--yes")
    assert cli.json("segment", "list") == []
    assert "no segment 'berliners'" in cli("segment", "show", "berliners", code=1).stderr
