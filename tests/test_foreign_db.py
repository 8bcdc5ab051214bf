"""A database file that is not crmcli's own is refused untouched; crm db check names what is
foreign; a full disk says so (nothing saved); read-only media can still be read."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crmcli import db, schema_guard
from crmcli.errors import DatabaseError
from tests.conftest import Cli

HOSTILE = [
    # copies every new note out, rewrites where greetings go, hides everyone
    "CREATE TABLE loot (body TEXT)",
    "CREATE TRIGGER spy AFTER INSERT ON notes BEGIN INSERT INTO loot VALUES (new.body); END",
    "CREATE TRIGGER redirect AFTER UPDATE ON contacts BEGIN "
    "UPDATE contact_emails SET email = 'x@evil.example' WHERE contact_id = new.id; END",
    "CREATE VIEW everyone AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
    "SELECT i FROM n",
]


def crm_database(path: Path, *extra: str) -> None:
    conn = db.connect(path)
    conn.execute(
        "INSERT INTO contacts (uid, name, created_at, updated_at) "
        "VALUES ('u1', 'Ann Lee', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
    )
    for statement in extra:
        conn.execute(statement)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_database_with_foreign_triggers_and_views_is_refused_untouched(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "theirs.db"
    crm_database(path, *HOSTILE)
    before = digest_of(path)
    for args in (("contact", "list"), ("note", "ann", "secret plan"), ("contact", "show", "1")):
        result = cli("--db", str(path), *args, code=1)
        assert result.stderr.startswith(f"Error: {path} is not a crmcli database as crmcli made")
        assert (
            "it has table loot that crmcli did not create; trigger redirect on contacts that "
            "crmcli did not create; trigger spy on notes that crmcli did not create; view "
            "everyone that crmcli did not create." in result.stderr
        )
    assert digest_of(path) == before
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT count(*) FROM loot").fetchone()[0] == 0
    raw.close()


def test_a_changed_definition_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "changed.db"
    crm_database(
        path,
        "DROP INDEX contacts_name",
        "CREATE INDEX contacts_name ON contacts(lower(name))",
    )
    result = cli("--db", str(path), "contact", "list", code=1)
    assert "index contacts_name on contacts with another definition than crmcli's" in (
        result.stderr
    )


def test_db_check_reports_foreign_objects(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    crm_database(path, *HOSTILE)
    before = digest_of(path)
    result = cli("--db", str(path), "db", "check", code=1)
    assert result.stderr.splitlines() == [
        "foreign schema object: table loot that crmcli did not create",
        "foreign schema object: trigger redirect on contacts that crmcli did not create",
        "foreign schema object: trigger spy on notes that crmcli did not create",
        "foreign schema object: view everyone that crmcli did not create",
        f"Error: {path} has 4 problem(s); restore a backup (crm db backup)",
    ]
    assert digest_of(path) == before
    own = tmp_path / "own.db"
    crm_database(own)
    assert cli("--db", str(own), "db", "check").stdout.startswith("ok: ")


def test_schema_functions_are_not_trusted(conn: sqlite3.Connection) -> None:
    assert conn.execute("PRAGMA trusted_schema").fetchone()[0] == 0


def test_the_schema_digests_are_current() -> None:
    """After adding a migration: python -m crmcli.schema_guard, and paste its table into
    crmcli/db.py (without it every start builds the expected schema: correct, but slow)."""
    for version in range(db.SCHEMA_VERSION + 1):
        reference = schema_guard.expected(version)
        try:
            assert schema_guard.digest(reference) == db.SCHEMA_DIGESTS.get(version), (
                f"SCHEMA_DIGESTS[{version}] is stale: run python -m crmcli.schema_guard"
            )
        finally:
            reference.close()


def test_a_fresh_and_an_empty_file_are_crmcli_s(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    db.connect(empty).close()  # an empty file is a new database
    with pytest.raises(DatabaseError, match="table t that crmcli did not create"):
        other = tmp_path / "other.db"
        raw = sqlite3.connect(other)
        raw.execute("CREATE TABLE t (x)")
        raw.close()
        db.connect(other)


# --- a full disk, read-only media ---------------------------------------------------------------


def test_a_full_disk_says_nothing_was_saved(
    cli: Cli, tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("contact", "add", "Ann Lee")
    source = tmp_path / "many.csv"
    rows = "".join(f"Person {i},p{i}@example.com,{'note ' * 200}\n" for i in range(3000))
    source.write_text("name,email,notes\n" + rows)
    configure = db._configure

    def full_disk(conn: sqlite3.Connection) -> None:
        configure(conn)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 20}")  # the disk fills up mid-import

    monkeypatch.setattr(db, "_configure", full_disk)
    result = cli("import", str(source), code=1)
    assert (
        result.stderr
        == f"Error: disk full: nothing was saved ({db_path}); free some space and retry\n"
    )
    monkeypatch.setattr(db, "_configure", configure)
    assert [c["name"] for c in cli.json("contact", "list")] == ["Ann Lee"]


def _read_only_copy(
    db_path: Path, folder: Path, command: list[str]
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with ``folder`` holding a copy of the database on read-only media: a
    read-only tmpfs in a mount namespace of its own when root (root ignores file modes), else
    a folder and file without write permission."""
    env = {**os.environ, "CRM_DB": str(folder / "crm.db")}
    if os.geteuid() != 0:
        folder.mkdir()
        shutil.copy(db_path, folder / "crm.db")
        (folder / "crm.db").chmod(0o400)
        folder.chmod(0o500)
        try:
            return subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        finally:
            folder.chmod(0o700)
    folder.mkdir()
    script = (
        f'mount -t tmpfs tmpfs "{folder}" && cp "{db_path}" "{folder}/crm.db" && '
        f'mount -o remount,ro "{folder}" && exec "$@"'
    )
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", script, "sh", *command],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_reads_work_on_read_only_media(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@example.com")
    cli("note", "ann", "met at the fair")
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    crm = [sys.executable, "-m", "crmcli"]
    listed = _read_only_copy(db_path, tmp_path / "ro", [*crm, "contact", "list", "-f", "tsv"])
    assert listed.returncode == 0, listed.stderr
    assert "Ann Lee" in listed.stdout
    shown = _read_only_copy(
        db_path, tmp_path / "ro2", [*crm, "contact", "show", "ann", "-f", "json"]
    )
    assert shown.returncode == 0 and "met at the fair" in shown.stdout
    write = _read_only_copy(db_path, tmp_path / "ro3", [*crm, "note", "ann", "again"])
    assert write.returncode == 1 and write.stderr.startswith("Error: cannot write database")
