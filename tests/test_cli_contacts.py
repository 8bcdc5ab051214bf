"""The contact commands through the CLI: exit codes, stdout data, stderr messages."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.terminal import converse


def add_ann(cli: Cli) -> None:
    cli(
        "contact",
        "add",
        "Ann Lee",
        "--company",
        "Acme",
        "-e",
        "work:ann@acme.example",
        "-p",
        "mobile:+1 (555) 010-2000",
        "-t",
        "lead",
        "--birthday",
        "--04-15",
        "--field",
        "territory=North",
    )


def test_add_show_json(cli: Cli, db_path: Path) -> None:
    result = cli("contact", "add", "Ann Lee", "-e", "ann@acme.example")
    assert result.stdout == "1\n"  # not a terminal: the new id, for id=$(crm contact add ...)
    assert result.stderr == "Added contact 1: Ann Lee\n"
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    data = cli.json("contact", "show", "ann")
    assert data["name"] == "Ann Lee" and data["emails"][0]["email"] == "ann@acme.example"


def test_add_refuses_an_email_another_contact_has(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@acme.example", "--company", "Acme")
    result = cli("contact", "add", "A. Lee", "-e", "home:Ann@ACME.example", code=1)
    assert result.stderr == (
        "Error: contact 1 (Ann Lee) already has the email Ann@ACME.example; nothing was added. "
        "Change that contact (crm contact edit 1), or add this one anyway with --force\n"
    )
    assert len(cli.json("contact", "list")) == 1
    result = cli("contact", "add", "A. Lee", "-e", "Ann@ACME.example", "--force")
    assert result.stderr == "Added contact 2: A. Lee\n"
    assert len(cli.json("contact", "list")) == 2


@pytest.mark.slow
def test_add_asks_on_a_terminal_about_an_email_in_use(cli: Cli, db_path: Path) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@acme.example")
    env = {**os.environ, "CRM_DB": str(db_path)}
    question = b"Add another contact with it anyway? [y/N]:"
    code, shown = converse(
        ["contact", "add", "Ann", "-e", "ANN@acme.example"], env, [(question, b"n\n")]
    )
    assert code == 1, shown
    assert "Contact 1 (Ann Lee) already has the email ANN@acme.example." in shown
    assert "Error: cancelled; nothing was added (change contact 1 instead)" in shown
    code, shown = converse(
        ["contact", "add", "Ann", "-e", "ANN@acme.example"], env, [(question, b"y\n")]
    )
    assert code == 0 and "Added contact 2: Ann" in shown
    assert len(cli.json("contact", "list")) == 2


def test_add_warns_about_a_possible_duplicate_but_adds_it(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@acme.example", "--company", "Acme")
    result = cli("contact", "add", "ann lee", "--company", "acme")
    assert result.stderr == (
        "Added contact 2: ann lee\n"
        "Warning: contact 1 (Ann Lee) may be the same person (same name, same company); "
        "compare: crm contact show 1; merge: crm contact merge 1 2\n"
    )
    result = cli("contact", "add", "Bob Lee", "-p", "+1 555 0100", "--company", "Acme")
    assert result.stderr == "Added contact 3: Bob Lee\n"
    result = cli("contact", "add", "Robert Lee", "-p", "555 0100", "--company", "ACME")
    assert "Warning: contact 3 (Bob Lee) may be the same person (same phone, nickname, same " in (
        result.stderr
    )
    # a namesake at another company, with an email of her own, is no warning
    result = cli("contact", "add", "Ann Lee", "--company", "Beta", "-e", "ann@beta.example")
    assert result.stderr == "Added contact 5: Ann Lee\n"
    assert len(cli.json("contact", "list")) == 5


def test_add_prints_record_with_format(cli: Cli) -> None:
    data = cli.json("contact", "add", "--first", "Mary Ann", "--last", "Jones", "-t", "vip")
    assert (data["first_name"], data["last_name"], data["tags"]) == ("Mary Ann", "Jones", ["vip"])


def test_user_errors_are_one_line(cli: Cli) -> None:
    result = cli("contact", "add", "Bob", "-e", "bob.example.com", code=1)
    assert result.stderr == (
        "Error: email 'bob.example.com' is not an address (expected name@example.com)\n"
    )
    result = cli("contact", "add", "Bob", "--birthday", "soon", code=2)
    assert result.stderr.startswith("Error: cannot understand date 'soon'")
    result = cli("contact", "add", "Bob", "--field", "novalue", code=1)
    assert "needs the form key=value" in result.stderr
    assert cli("contact", "list", "--format", "json").stdout == "[]\n"


def test_a_birthday_in_the_future_is_refused_everywhere(
    cli: Cli, fake_editor: Callable[..., None]
) -> None:
    error = (
        "Error: birthday 2031-05-01 is in the future; give the year it happened, "
        "or --05-01 without a year\n"
    )
    assert cli("contact", "add", "Ann Lee", "--birthday", "2031-05-01", code=1).stderr == error
    assert cli("contact", "list", "--format", "json").stdout == "[]\n"
    # today is fine, and an anniversary may lie ahead (a planned wedding)
    cli("contact", "add", "Ann Lee", "--birthday", "2026-11-23", "--anniversary", "2031-05-01")
    assert cli("contact", "edit", "ann", "--birthday", "May 1 2031", code=1).stderr == error
    assert cli("dates", "add", "ann", "Birthday", "2031-05-01", code=1).stderr == error
    cli("dates", "add", "ann", "wedding", "2031-05-01")
    fake_editor(("birthday: 2026-11-23", "birthday: 2031-05-01"))
    result = cli("contact", "edit", "ann", "--editor", code=1)
    assert result.stderr.endswith(error.replace("\n", "; nothing was saved\n"))
    data = cli.json("contact", "show", "ann")
    assert (data["birthday"], data["anniversary"]) == ("2026-11-23", "2031-05-01")


def test_ambiguous_and_missing_refs(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee")
    cli("contact", "add", "Anna Berg")
    result = cli("contact", "show", "an", code=1)
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: 'an' matches several contacts; use an id or a longer fragment"
    assert "Ann Lee" in lines[1] and "Anna Berg" in lines[2]
    result = cli("contact", "show", "zed", code=1)
    assert result.stderr == "Error: no contact matches 'zed' (try: crm search zed)\n"


def test_edit_options(cli: Cli) -> None:
    add_ann(cli)
    cli(
        "contact",
        "edit",
        "ann",
        "--title",
        "CTO",
        "-t",
        "customer",
        "--untag",
        "lead",
        "--email",
        "home:ann@home.example",
        "--rm-phone",
        "5550102000",
        "--company",
        "",
        "--clear",
        "birthday",
        "--clear",
        "territory",
        "--cadence",
        "2w",
    )
    data = cli.json("contact", "show", "ann")
    assert data["title"] == "CTO"
    assert data["company"] is None
    assert data["tags"] == ["customer"]
    assert [e["email"] for e in data["emails"]] == ["ann@acme.example", "ann@home.example"]
    assert data["phones"] == [] and data["birthday"] is None and data["fields"] == {}
    assert data["cadence_days"] == 14


def test_edit_unknown_field_and_nothing_to_do(cli: Cli) -> None:
    add_ann(cli)
    result = cli("contact", "edit", "ann", "--clear", "shoe_size", code=1)
    assert result.stderr.startswith("Error: unknown field 'shoe_size'")
    result = cli("contact", "edit", "ann", code=2)
    assert "nothing to change" in result.stderr


def test_edit_in_editor(cli: Cli, fake_editor: Callable[..., None]) -> None:
    add_ann(cli)
    fake_editor(
        ("title: \n", "title: Head of Sales\n"),
        ("tags: lead", "tags: lead, vip"),
        ("field.territory: North", "field.territory: South"),
        append="email: other:ann2@acme.example\n",
    )
    result = cli("contact", "edit", "ann", "--editor")
    assert "Updated contact 1" in result.stderr
    data = cli.json("contact", "show", "ann")
    assert data["title"] == "Head of Sales"
    assert data["tags"] == ["lead", "vip"]
    assert data["fields"] == {"territory": "South"}
    assert data["emails"][-1] == {"email": "ann2@acme.example", "label": "other"}
    assert data["birthday"] == "--04-15"  # untouched lines stay as they were


def test_editor_form_error_saves_nothing(cli: Cli, fake_editor: Callable[..., None]) -> None:
    add_ann(cli)
    fake_editor(("title: ", "title: Boss\nshoe_size: 38\n#"))
    result = cli("contact", "edit", "ann", "--editor", code=1)
    assert "unknown field 'shoe_size'" in result.stderr
    assert cli.json("contact", "show", "ann")["title"] is None


def test_rm_needs_yes_off_terminal_and_restore(cli: Cli) -> None:
    add_ann(cli)
    result = cli("contact", "rm", "ann", code=2)
    assert "add --yes" in result.stderr
    assert len(cli.json("contact", "list")) == 1
    cli("contact", "rm", "ann", "--yes")
    assert cli.json("contact", "list") == []
    assert [c["name"] for c in cli.json("contact", "list", "--trash")] == ["Ann Lee"]
    cli("contact", "restore", "ann")
    assert len(cli.json("contact", "list")) == 1


def test_list_formats(cli: Cli) -> None:
    add_ann(cli)
    cli("contact", "add", "Bob Ray", "--company", "Tab\there")
    tsv = cli("contact", "list").stdout.splitlines()  # not a terminal: TSV by default
    assert tsv[0] == "id\tname\tcompany\ttitle\temail\tphone\ttags\tcreated_at\tupdated_at"
    assert tsv[1].split("\t")[:7] == [
        "1",
        "Ann Lee",
        "Acme",
        "",
        "ann@acme.example",
        "+1 (555) 010-2000",
        "lead",
    ]
    assert tsv[2].split("\t")[2] == "Tab\\there"  # a tab inside a value cannot break the row
    jsonl = [json.loads(line) for line in cli("contact", "list", "-f", "jsonl").stdout.splitlines()]
    assert [r["name"] for r in jsonl] == ["Ann Lee", "Bob Ray"]
    csv_text = cli("contact", "list", "-f", "csv").stdout
    assert csv_text.splitlines()[2].startswith('2,Bob Ray,"Tab\there"') or "Tab\there" in csv_text
    table = cli("contact", "list", "-f", "table").stdout
    assert "Ann Lee" in table and "\x1b[" not in table  # no colour when not on a terminal
    assert cli("contact", "list", "-f", "xml", code=2).stderr


def test_list_tsv_writes_the_cells_the_other_formats_hold(cli: Cli) -> None:
    # TSV of `contact list` is written from the query's rows (no dictionary per contact): the
    # same cells as the rows every other format gets, in both orders (with and without a limit).
    add_ann(cli)
    cli(
        "contact", "add", "Bob Ray", "-t", "vip", "-t", "Customer", "-t", "a b", "--company", "x\\y"
    )
    cli("contact", "add", "Cy\tNew", "-e", "cy@example.com")
    for options in ([], ["--limit", "5"], ["--sort", "company", "--desc"]):
        records = cli.json("contact", "list", *options)
        lines = cli("contact", "list", *options).stdout.splitlines()
        expected = [
            "\t".join(
                _tsv_cell(record[key])
                for key in ("id", "name", "company", "title", "email", "phone", "tags")
            )
            for record in records
        ]
        assert ["\t".join(line.split("\t")[:7]) for line in lines[1:]] == expected
    assert cli.json("contact", "list", "--tag", "vip")[0]["tags"] == ["a b", "Customer", "vip"]


def _tsv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = ", ".join(value)
    return str(value).replace("\\", "\\\\").replace("\t", "\\t")


def test_list_filters_through_cli(cli: Cli) -> None:
    add_ann(cli)
    cli("contact", "add", "Bob Ray", "-t", "customer")
    assert [c["name"] for c in cli.json("contact", "list", "--tag", "customer")] == ["Bob Ray"]
    assert [c["name"] for c in cli.json("contact", "list", "-q", "north")] == ["Ann Lee"]
    assert [
        c["name"] for c in cli.json("contact", "list", "--sort", "name", "--desc", "--limit", "1")
    ] == ["Bob Ray"]
    assert cli.json("contact", "list", "--created-since", "tomorrow") == []
    assert len(cli.json("contact", "list", "--updated-since", "-1w")) == 2
    result = cli("contact", "list", "--created-since", "blurg", code=2)
    assert result.stderr == (
        "Error: cannot understand date 'blurg' (try 2026-12-01, tomorrow, +3d, next fri)\n"
    )


def test_search(cli: Cli) -> None:
    add_ann(cli)
    cli("contact", "add", "Bob Ray", "--title", "Robotics engineer", "-p", "020 7946 0000")
    assert [r["name"] for r in cli.json("search", "+1 555 010 2000")] == ["Ann Lee"]
    assert [r["name"] for r in cli.json("search", "(555) 010-2000")] == ["Ann Lee"]
    assert [r["name"] for r in cli.json("search", "robot")] == ["Bob Ray"]
    assert [r["name"] for r in cli.json("search", "acme lead")] == ["Ann Lee"]
    assert cli.json("search", "nobody") == []
    assert "no letters or digits" in cli("search", "--", "--", code=2).stderr


def test_tags(cli: Cli) -> None:
    add_ann(cli)
    cli("contact", "add", "Bob Ray", "-t", "prospect", "-t", "Lead")
    assert cli.json("tag", "list") == [
        {"tag": "lead", "contacts": 2},
        {"tag": "prospect", "contacts": 1},
    ]
    result = cli("tag", "rename", "prospect", "lead", code=1)
    assert "crm tag merge 'prospect' --into 'lead'" in result.stderr
    # into itself, in any case, even among other tags: a usage error, and nothing merged
    for sources in (["lead"], ["prospect", "LEAD"]):
        result = cli("tag", "merge", *sources, "--into", "lead", code=2)
        assert result.stderr == (
            f"Error: cannot merge tag {sources[-1]!r} into itself (--into 'lead'); give the other "
            "tags to fold into it: crm tag merge TAG... --into 'lead'\n"
        )
    assert len(cli.json("tag", "list")) == 2
    cli("tag", "merge", "prospect", "--into", "lead")
    assert cli.json("tag", "list") == [{"tag": "lead", "contacts": 2}]
    cli("tag", "rename", "lead", "hot-lead")
    assert [c["tags"] for c in cli.json("contact", "list")] == [["hot-lead"], ["hot-lead"]]
    assert [r["name"] for r in cli.json("search", "hot")] == ["Ann Lee", "Bob Ray"] or len(
        cli.json("search", "hot")
    ) == 2
    assert (
        cli("tag", "rename", "nope", "x", code=1).stderr
        == "Error: no tag 'nope' (see: crm tag list)\n"
    )


def test_db_commands(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    result = cli("db", "path")
    assert result.stdout.strip() == str(db_path)
    assert "not created yet" in result.stderr
    assert cli("db", "check", code=1).stderr.startswith("Error: there is no database")
    add_ann(cli)
    assert cli("db", "check").stdout.startswith("ok: ")
    cli("db", "backup", str(tmp_path / "b.db"))
    other = cli("--db", str(tmp_path / "b.db"), "contact", "list", "-f", "json")
    assert [c["name"] for c in json.loads(other.stdout)] == ["Ann Lee"]
    assert "already exists" in cli("db", "backup", str(tmp_path / "b.db"), code=1).stderr


def test_corrupt_and_newer_database_errors(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"x" * 4096)
    result = cli("--db", str(bad), "contact", "list", code=1)
    assert result.stderr.startswith(f"Error: {bad} is not a crmcli database or is damaged")
    # crm db check itself must not send the user back to crm db check
    result = cli("--db", str(bad), "db", "check", code=1)
    assert result.stderr == (
        f"Error: {bad} is not a crmcli database or is damaged (file is not a database); "
        "restore it from a backup (crm db backup makes them), or choose another file with --db\n"
    )
    folder = tmp_path / "folder.db"
    folder.mkdir()
    assert "is a folder" in cli("--db", str(folder), "contact", "list", code=1).stderr


def test_version_and_help(cli: Cli) -> None:
    from crmcli import __version__

    assert cli("--version").stdout == f"crm {__version__}\n"
    assert "contact" in cli("--help").stdout
    assert "Usage: crm" in cli(code=2).stderr  # no command: help, usage exit code


def test_demo_uses_its_own_database(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    result = cli("demo")
    assert "Demo database with" in result.stdout
    assert "Ana García" in result.stdout
    assert not db_path.exists()  # the real database is untouched
    demo_db = tmp_path / "data" / "crmcli" / "demo.db"
    assert len(json.loads(cli("--db", str(demo_db), "contact", "list", "-f", "json").stdout)) >= 25
    cli("demo")  # rebuilds in place
    real = tmp_path / "mine.db"
    cli("--db", str(real), "contact", "add", "Keep Me")
    assert "is not a crmcli demo database" in cli("demo", "--path", str(real), code=1).stderr
    assert (
        "your real database" in cli("--db", str(real), "demo", "--path", str(real), code=1).stderr
    )
