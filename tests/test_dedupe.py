"""crm dedupe: likely duplicates found by blocking, ranked with reasons; apply-safe; dismiss."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from crmcli import contacts, dedupe
from crmcli.query import compile_query
from tests.conftest import NOW, Cli, ContactFactory


@pytest.fixture
def people(conn: sqlite3.Connection, make_contact: ContactFactory) -> dict[str, int]:
    return {
        "ann": make_contact(
            "Ann Lee", company="Acme", email="ann@acme.example", phone="+1 555 0100"
        ),
        "ann_copy": make_contact(None, email="ANN@acme.example"),  # the same email, no name
        "bob": make_contact(
            "Bob Lee", company="Acme", email="bob@acme.example", phone="+1 555 0100"
        ),
        "robert": make_contact(
            "Robert Lee", company="ACME", phone="555 0100"
        ),  # Bob's nickname, phone
        "chloe": make_contact("Chloé Dubois", company="Atelier"),
        "chloe2": make_contact("Chloe Dubois", company="atelier"),
        "swap": make_contact("Kim Daniel", company="Bluefin"),
        "daniel": make_contact("Daniel Kim", company="Bluefin", email="daniel@bluefin.example"),
        "typo": make_contact("Jonh Smith", company="Hooli"),
        "john": make_contact("John Smith", company="Hooli", email="john@hooli.example"),
        "namesake": make_contact(
            "John Smith", company="Globex", email="john@globex.example", phone="+1 555 9999"
        ),
        "desk": make_contact(None, company="Acme", phone="+1 555 0100"),
    }


def pairs(conn: sqlite3.Connection, **options: object) -> list[dedupe.Pair]:
    return list(dedupe.find_pairs(conn, **options).pairs)  # type: ignore[arg-type]


def test_finds_and_ranks_with_reasons(conn: sqlite3.Connection, people: dict[str, int]) -> None:
    found = {(p.contact_id, p.other_id): p for p in pairs(conn)}
    p = people

    def of(a: str, b: str) -> dedupe.Pair:
        return found[tuple(sorted((p[a], p[b])))]  # type: ignore[index]

    assert of("ann", "ann_copy").reasons == ("same email",)
    assert of("ann", "ann_copy").same and of("ann", "ann_copy").safe
    assert of("bob", "robert").reasons == ("same phone", "nickname", "same company")
    assert of("bob", "robert").same and not of("bob", "robert").safe  # no email in common
    assert of("chloe", "chloe2").reasons == ("same name but for case or accents", "same company")
    assert of("swap", "daniel").reasons == ("first and last name swapped", "same company")
    assert of("typo", "john").reasons == ("similar names (a typo?)", "same company")
    # two people sharing an office phone, each with an email of their own; namesakes at two
    # companies: not offered (they score too little), though compared
    assert (p["ann"], p["bob"]) not in found and (p["john"], p["namesake"]) not in found
    weak = {(x.contact_id, x.other_id): x for x in pairs(conn, min_score=0)}
    assert weak[(p["ann"], p["bob"])].reasons == (
        "same phone", "different names", "same company", "different emails",
    )  # fmt: skip
    assert weak[(p["ann"], p["bob"])].score == 20
    ranked = [x.score for x in found.values()]
    listed = pairs(conn)
    assert [x.score for x in listed] == sorted(ranked, reverse=True)
    assert listed[0].score == 100
    assert all(x.score >= dedupe.DEFAULT_MIN_SCORE for x in listed)


def test_min_score_limit_scope_and_dismissed(
    conn: sqlite3.Connection, people: dict[str, int]
) -> None:
    everything = pairs(conn, min_score=0)
    assert len(everything) > len(pairs(conn))
    strong = pairs(conn, min_score=80)
    assert strong and all(x.score >= 80 for x in strong)
    found = dedupe.find_pairs(conn, limit=2)
    assert len(list(found.pairs)) == 2 and found.total == len(pairs(conn))
    # the query language will give a scope: ids, or a subquery
    scope = {people["chloe"], people["chloe2"], people["ann"]}
    assert [(x.contact_id, x.other_id) for x in pairs(conn, scope=scope)] == [
        (people["chloe"], people["chloe2"])
    ]
    subquery = ("SELECT id FROM contacts WHERE company = ?", ["Hooli"])
    assert [x.other for x in pairs(conn, scope=subquery)] == ["John Smith"]
    # the query language plugs in as a subquery over contacts c
    compiled = compile_query(conn, "company:atelier", today=NOW.date())
    scoped = pairs(
        conn, scope=(f"SELECT c.id FROM contacts c WHERE {compiled.sql}", compiled.params)
    )
    assert [(x.contact_id, x.other_id) for x in scoped] == [(people["chloe"], people["chloe2"])]
    assert dedupe.dismiss(conn, people["chloe2"], people["chloe"], now=NOW)
    assert not dedupe.dismiss(conn, people["chloe"], people["chloe2"], now=NOW)
    assert pairs(conn, scope=scope) == []
    dedupe.undismiss(conn, people["chloe"], people["chloe2"])
    assert len(pairs(conn, scope=scope)) == 1


def test_apply_safe_merges_only_the_safe_pairs(
    conn: sqlite3.Connection, people: dict[str, int], make_contact: ContactFactory
) -> None:
    third = make_contact(None, email=("ann@acme.example", "ann@home.example"))
    safe = [x for x in pairs(conn) if x.safe]
    done = dedupe.apply_safe(conn, safe, now=NOW)
    # the copies go into the oldest contact, one after the other
    assert done == [(people["ann"], people["ann_copy"]), (people["ann"], third)]
    ann = contacts.get(conn, people["ann"])
    assert [e.value for e in ann.emails] == ["ann@acme.example", "ann@home.example"]
    assert [x for x in pairs(conn) if x.safe] == []
    assert contacts.get(conn, people["bob"]).deleted_at is None  # not safe: left alone


def test_a_big_group_is_compared_within_each_company(
    conn: sqlite3.Connection, make_contact: ContactFactory
) -> None:
    for n in range(dedupe.MAX_BLOCK + 5):
        make_contact("Ana García", company=f"Company {n % 3}", email=f"ana{n}@x.example")
    found = pairs(conn)
    companies = {
        (
            contacts.get(conn, x.contact_id).text["company"],
            contacts.get(conn, x.other_id).text["company"],
        )
        for x in found
    }
    assert found and all(a == b for a, b in companies)


def test_cli_every_format(cli: Cli, conn: sqlite3.Connection, people: dict[str, int]) -> None:
    data = json.loads(cli("dedupe", "--format", "json").stdout)
    assert data[0]["score"] == 100 and data[0]["reasons"] == [
        "same phone",
        "nickname",
        "same company",
    ]
    [email] = [d for d in data if d["reasons"] == ["same email"]]
    assert email == {
        "score": 80,
        "contact_id": people["ann"],
        "contact": "Ann Lee",
        "other_id": people["ann_copy"],
        "other": "ANN@acme.example",
        "reasons": ["same email"],
        "same": True,
        "safe": True,
    }
    lines = cli("dedupe", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == data
    rows = list(csv.DictReader(io.StringIO(cli("dedupe", "--format", "csv").stdout)))
    assert rows[0]["reasons"] == "same phone, nickname, same company" and rows[0]["safe"] == "false"
    assert len(rows) == len(data)
    tsv = cli("dedupe").stdout.splitlines()
    assert tsv[0] == "score\tcontact_id\tcontact\tother_id\tother\treasons\tsame\tsafe"
    assert len(tsv) == len(data) + 1
    table = cli("dedupe", "--format", "table", "--limit", "2")
    assert "Robert Lee" in table.stdout
    assert table.stderr == f"The best 2 of {len(data)} pairs; see more with --limit, or all with --format tsv\n"  # fmt: skip
    empty = cli("dedupe", "--min-score", "100", "--format", "table", "--limit", "1")
    assert "nickname" in empty.stdout
    assert cli("dedupe", "--min-score", "101", code=2).stderr.startswith("Usage")


def test_cli_dismiss_and_apply_safe(cli: Cli, people: dict[str, int]) -> None:
    a, b = str(people["chloe"]), str(people["chloe2"])
    assert cli("dedupe", "dismiss", a, b).stderr == (
        f"Dismissed the pair {a} and {b}: crm dedupe will not offer it\n"
    )
    assert cli("dedupe", "dismiss", b, a).stderr == f"The pair {a} and {b} was dismissed already\n"
    listed = cli.json("dedupe", "dismissed")
    assert [(d["contact_id"], d["other_id"]) for d in listed] == [(int(a), int(b))]
    assert all((p["contact_id"], p["other_id"]) != (int(a), int(b)) for p in cli.json("dedupe"))
    cli("dedupe", "undismiss", a, b)
    assert cli("dedupe", "undismiss", a, b, code=1).stderr == (
        f"Error: contacts {a} and {b} are not a dismissed pair\n"
    )
    assert cli("dedupe", "dismiss", a, a, code=1).stderr.startswith("Error: contact")
    refused = cli("dedupe", "--apply-safe", code=2)
    assert "not on a terminal, so add --yes" in refused.stderr
    merged = cli.json("dedupe", "--apply-safe", "--yes")
    assert merged == [
        {
            "keep_id": people["ann"],
            "keep": "Ann Lee",
            "other_id": people["ann_copy"],
            "other": "ANN@acme.example",
        }
    ]
    again = cli("dedupe", "--apply-safe", "--yes")
    assert again.stderr == "No safe pairs to merge (the same email, and no value that differs).\n"
    cli("contact", "unmerge", str(people["ann_copy"]))
    assert len(cli.json("contact", "list")) == len(people)


def test_the_demo_has_one_duplicate_pair_to_find(cli: Cli, tmp_path: Path) -> None:
    demo = tmp_path / "demo.db"
    cli("demo", "--path", str(demo))
    [pair] = cli.json("--db", str(demo), "dedupe")
    assert (pair["contact"], pair["other"]) == ("Daniel Kim", "Dan Kim")
    assert pair["reasons"] == ["same phone", "nickname", "same company", "different emails"]
    cli(
        "--db",
        str(demo),
        "contact",
        "merge",
        str(pair["contact_id"]),
        str(pair["other_id"]),
        "--yes",
    )
    assert cli.json("--db", str(demo), "dedupe") == []


def test_cli_query_compares_only_the_contacts_it_selects(
    cli: Cli, people: dict[str, int], make_contact: ContactFactory
) -> None:
    everything = cli.json("dedupe")
    assert {p["contact"] for p in everything} > {"Chloé Dubois", "Jonh Smith"}
    atelier = cli.json("dedupe", "--query", "company:atelier")
    assert [(p["contact_id"], p["other_id"]) for p in atelier] == [
        (people["chloe"], people["chloe2"])
    ]
    # both contacts of a pair must match: a tag on one of them is not enough
    cli("contact", "edit", str(people["typo"]), "--tag", "check")
    assert cli.json("dedupe", "-q", "tag:check") == []
    cli("contact", "edit", str(people["john"]), "--tag", "check")
    [pair] = cli.json("dedupe", "-q", "tag:check")
    assert (pair["contact"], pair["other"]) == ("Jonh Smith", "John Smith")
    assert cli.json("dedupe", "-q", "-company:atelier -company:hooli") == [
        p for p in everything if p["contact"] not in ("Chloé Dubois", "Jonh Smith")
    ]
    # --apply-safe merges only the safe pairs the query selects
    none_safe = cli("dedupe", "--apply-safe", "--yes", "-q", "company:atelier")
    assert none_safe.stderr.startswith("No safe pairs to merge") and none_safe.stdout == ""
    assert cli.json("contact", "show", str(people["ann_copy"]))["deleted_at"] is None
    bad = cli("dedupe", "--query", "colour:red", code=2)
    assert bad.stderr.startswith("Error: ") and "colour" in bad.stderr
