"""A few runs of the real, installed `crm` command, as a person or a script would run it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import installed_crm

pytestmark = pytest.mark.slow


def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [installed_crm(), *args],
        input=input,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=60,
        check=False,
    )


def test_pipe_gets_tsv_and_messages_go_to_stderr(db_path: Path) -> None:
    added = run("contact", "add", "Ann Lee", "-e", "ann@acme.example", "-t", "lead")
    assert added.returncode == 0, added.stderr
    # piped: the new id on stdout, so id=$(crm contact add ...) works; the message on stderr
    assert added.stdout == "1\n" and added.stderr == "Added contact 1: Ann Lee\n"
    listed = run("contact", "list")
    assert listed.returncode == 0
    header, row = listed.stdout.splitlines()
    assert header.startswith("id\tname\t") and row.startswith("1\tAnn Lee\t")
    assert "\x1b" not in listed.stdout


def test_python_dash_m_and_json(db_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "crmcli", "contact", "add", "Bo Ray"],
        check=True,
        capture_output=True,
    )
    out = run("contact", "show", "bo", "--format", "json")
    assert json.loads(out.stdout)["name"] == "Bo Ray"


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\0garbage" * 512)
    for args, code in [
        (("--db", str(bad), "contact", "list"), 1),
        (("contact", "show", "nobody"), 1),
        (("contact", "add", "X", "--birthday", "blurg"), 2),
        (("contact", "list", "--format", "yaml"), 2),
    ]:
        result = run(*args)
        assert result.returncode == code, (args, result.stderr)
        assert "Traceback" not in result.stderr
        if code == 1:
            assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_broken_pipe_is_quiet(db_path: Path) -> None:
    # Build many contacts quickly in-process, then cut the pipe after one line.
    from crmcli import contacts, db
    from crmcli.clock import now
    from crmcli.contact_changes import ContactChanges

    conn = db.connect(db_path)
    for i in range(2000):
        contacts.create(conn, ContactChanges(text={"first_name": f"P{i}"}), now=now())
    conn.close()
    shell = f"{shlex.quote(installed_crm())} contact list --format tsv | head -n 1"
    result = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, check=False)
    assert result.stdout.startswith("id\tname")
    assert result.stderr == ""


def test_plain_commands_do_not_import_rich_or_dateutil(db_path: Path) -> None:
    """Start-up: a TSV listing and --help load neither rich, dateutil nor sqlite_utils."""
    run("contact", "add", "Ann Lee")  # the database exists, so no migration runs below
    probe = (
        "import sys\n"
        "from crmcli.cli import main\n"
        "sys.argv = ['crm'] + sys.argv[1:]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'dateutil', 'sqlite_utils', 'pydantic'})\n"
        "print(heavy, file=sys.stderr)\n"
    )
    for args in (
        ["--help"],
        ["contact", "list", "--format", "tsv"],
        ["contact", "show", "1", "-f", "tsv"],
        ["search", "ann", "-f", "tsv"],
    ):
        result = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False
        )
        assert result.stderr.strip().splitlines()[-1] == "[]", (args, result.stderr)
