"""Opening, migrating, protecting and checking the database file."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from crmcli import db
from crmcli.errors import DatabaseError
from crmcli.migrations import MIGRATIONS


def test_resolve_path_order(tmp_path: Path) -> None:
    env = {"CRM_DB": str(tmp_path / "env.db"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert db.resolve_path("opt.db", env).path == Path("opt.db")
    assert db.resolve_path(None, env) == db.DbLocation(tmp_path / "env.db", "from $CRM_DB")
    del env["CRM_DB"]
    assert db.resolve_path(None, env).path == tmp_path / "xdg" / "crmcli" / "crm.db"
    home_default = db.resolve_path(None, {})
    assert home_default.path == Path.home() / ".local" / "share" / "crmcli" / "crm.db"
    assert "XDG_DATA_HOME unset" in home_default.reason


def test_empty_db_option_is_refused_not_ignored(cli: Any, db_path: Path) -> None:
    result = cli("--db", "", "contact", "list", code=2)
    assert (
        result.stderr == "Error: --db is empty; give the database file, e.g. --db ~/crm/work.db\n"
    )


def test_created_private_on_first_write(db_path: Path) -> None:
    db.connect(db_path, write=True).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700


def test_read_of_missing_database_creates_nothing(db_path: Path) -> None:
    conn = db.connect(db_path, write=False)
    assert conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0
    conn.close()
    assert not db_path.exists() and not db_path.parent.exists()


def test_pragmas(conn: sqlite3.Connection) -> None:
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == db.BUSY_TIMEOUT_MS
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_schema_version_counts_the_migrations() -> None:
    # db.migrate decides "nothing to do" from SCHEMA_VERSION alone, without importing them
    assert len(MIGRATIONS) == db.SCHEMA_VERSION


def _schema(conn: sqlite3.Connection) -> dict[str, str]:
    return {
        row[0]: row[1]
        for row in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE '_crm_migrations%' ORDER BY name"
        )
    }


@pytest.mark.parametrize("stop", [name for name, _ in MIGRATIONS])
def test_every_older_schema_upgrades(tmp_path: Path, stop: str) -> None:
    """A database made at each earlier step opens and ends with the same schema as a new one."""
    fresh = db.connect(tmp_path / "fresh.db")
    old_path = tmp_path / "old.db"
    old = sqlite3.connect(old_path, isolation_level=None)
    db.migrate(old, stop_before=stop)
    done = [r[0] for r in old.execute("SELECT name FROM _crm_migrations")]
    assert stop not in done
    old.close()
    upgraded = db.connect(old_path)
    assert _schema(upgraded) == _schema(fresh)
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.migrate(upgraded) == 0  # applying again is a no-op


def test_newer_database_is_refused_untouched(db_path: Path) -> None:
    db.connect(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    raw.commit()
    raw.close()
    before = db_path.read_bytes()
    with pytest.raises(DatabaseError, match="written by a newer crmcli"):
        db.connect(db_path)
    assert db_path.read_bytes() == before


def test_not_a_database(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_text("these are not the contacts you are looking for" * 100)
    with pytest.raises(DatabaseError, match="is not a crmcli database or is damaged"):
        db.connect(db_path)


def test_failed_migration_rolls_back(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(database: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("crmcli.migrations.MIGRATIONS", [*MIGRATIONS, ("m999_broken", broken)])
    with pytest.raises(RuntimeError):
        db.connect(db_path)
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 0
    assert (
        raw.execute("SELECT count(*) FROM sqlite_master WHERE name='contacts'").fetchone()[0] == 0
    )


def test_transaction_rolls_back_on_error(conn: sqlite3.Connection) -> None:
    with pytest.raises(ZeroDivisionError), db.transaction(conn):
        conn.execute("INSERT INTO tags (name) VALUES ('x')")
        1 / 0  # noqa: B018
    assert conn.execute("SELECT count(*) FROM tags").fetchone()[0] == 0


def test_concurrent_writers_wait_instead_of_failing(db_path: Path) -> None:
    """Two connections writing at once: the second waits for the first (busy timeout)."""
    db.connect(db_path).close()
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        try:
            conn = db.connect(db_path)
            for i in range(50):
                with db.transaction(conn):
                    conn.execute("INSERT INTO tags (name) VALUES (?)", (f"{prefix}{i}",))
            conn.close()
        except BaseException as error:  # pragma: no cover - the failure we test for
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(p,)) for p in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = db.connect(db_path)
    assert check.execute("SELECT count(*) FROM tags").fetchone()[0] == 150


def test_backup_and_check(conn: sqlite3.Connection, tmp_path: Path) -> None:
    conn.execute("INSERT INTO tags (name) VALUES ('kept')")
    target = tmp_path / "copy.db"
    db.backup(conn, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT name FROM tags").fetchall() == [("kept",)]
    assert db.check(conn) == []
    with pytest.raises(DatabaseError, match="already exists"):
        db.backup(conn, target)


def test_a_failed_backup_leaves_no_file(db_path: Path, tmp_path: Path) -> None:
    source = db.connect(db_path, write=True)
    source.close()  # the backup fails part-way: the source cannot be read
    target = tmp_path / "copy.db"
    with pytest.raises(DatabaseError, match="cannot write backup"):
        db.backup(source, target)
    assert not target.exists()
