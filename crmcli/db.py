"""Where the database lives, and the one function that opens (and upgrades) it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NamedTuple

from crmcli.errors import DatabaseError, UsageError

#: how long a writer waits for another process's transaction before giving up (milliseconds)
BUSY_TIMEOUT_MS = 15_000
#: how many migrations crmcli.migrations has (a test keeps the two equal)
SCHEMA_VERSION = 16
#: the fingerprint of crmcli's schema at each version (crmcli.schema_guard); a file whose
#: schema does not match is refused. After adding a migration: python -m crmcli.schema_guard
SCHEMA_DIGESTS: dict[int, str] = {
    0: "bc1d5becb176b0eeed6a601577878afab517640d7d365853f65ff82375a0c529",
    1: "7386a78e8d8613802c48a61ba81572efd8554c1f09aa3e1425264b70b7643b6a",
    2: "809925acc73f3e49b2d428f2fe11863722b888ebdcf63c5e9a2b949af6a7f31d",
    3: "472bdfe19c59e4b187b485f204318cb8dc5d9b3c3015965af73b9e551094f383",
    4: "9e8148c8d7a81dfa57c6b6bbd86e77649d3d76f7c64c5425672718020bc7496c",
    5: "367cf114065e2fedff37ec2254fdbd4b2180bd37ff6e8778b9de8b5da879c833",
    6: "f30dd35edb4efe9a981a85024ad63301a4aa1dfa5198af35e3a30799a335fd32",
    7: "663fd36ac63767f8910a07b3f33eba3ad1f9c632e63ce88d53271aea83ae1da5",
    8: "e85a13d89e066db65aa375e33236864ee13be5230ceb3309e10e8e3ecddfdf8a",
    9: "e5cd38ade27202f41c3c2551ade298d3396110ca995ccdfd7eb4621f9c6bb743",
    10: "2e17cf7c84a8f1f8ec46b42d83ec371f317410ecc043019da7ed77b0311df25f",
    11: "d0795a0e9893d4b8978c2ef020b3aa250f680b1b0d0fda45dda7ea8479c44724",
    12: "e91ef7509d6cf483e2422b718438b8162e76e7089084ba2b198ce1131b8752e2",
    13: "4a4928f9b492fcb1a562354ed6efc30873d3dfe6819cb909d9e332da7f99e150",
    14: "07a35819af7bd41ef90cd13bf5df5314bb4575df37bc86f73eeb8d62610d29a3",
    15: "336f8f5c7be94afad1f58af12e7763754b1f72908ee569fe39a8c5c6b2982e4f",
    16: "6c3782bc1f8c31fd615eb6aefa6a973f131f61f6327e6fac9bc231e13873be29",
}


class Connection(sqlite3.Connection):
    """sqlite3's connection, with room for what must wait until a transaction is committed.

    ``on_commit``: actions :func:`transaction` runs once the outermost transaction commits
    (dropped if it rolls back); see :func:`after_commit`. ``afterwards``: what capabilities
    leave for the end of the command, after everything is committed (crmcli.events keeps the
    events whose hooks are yet to run there).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_commit: list[Callable[[], None]] = []
        self.afterwards: list[Any] = []


def after_commit(conn: sqlite3.Connection, action: Callable[[], None]) -> None:
    """Run ``action`` once the current transaction is committed; never if it is rolled back.

    Outside a transaction (or on a connection crmcli did not open) it runs at once."""
    if conn.in_transaction and isinstance(conn, Connection):
        conn.on_commit.append(action)
    else:
        action()


class DbLocation(NamedTuple):
    """The database file in use, and why that one (for ``crm db path``).

    Only the default location may have its folder created: a folder that does not exist in
    --db or $CRM_DB is a typo far more often than a wish for a new, empty database.
    """

    path: Path
    reason: str
    make_folder: bool = False


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/crmcli`` (default ``~/.local/share/crmcli``)."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "crmcli"


def resolve_path(option: str | None, env: Mapping[str, str] | None = None) -> DbLocation:
    """``--db``, else ``$CRM_DB``, else ``$XDG_DATA_HOME/crmcli/crm.db``."""
    env = os.environ if env is None else env
    if option is not None and not option.strip():
        # e.g. --db "$UNSET_VARIABLE": falling back to the real database would be a surprise
        raise UsageError("--db is empty; give the database file, e.g. --db ~/crm/work.db")
    if option:
        return DbLocation(Path(option).expanduser(), "from the --db option")
    if env.get("CRM_DB"):
        return DbLocation(Path(env["CRM_DB"]).expanduser(), "from $CRM_DB")
    if env.get("XDG_DATA_HOME"):
        return DbLocation(data_dir(env) / "crm.db", "default under $XDG_DATA_HOME", True)
    return DbLocation(
        data_dir(env) / "crm.db", "default (~/.local/share, $XDG_DATA_HOME unset)", True
    )


def _create_private_file(path: Path) -> None:
    """Create the folder (0700) and an empty database file (0600) before SQLite touches it.

    SQLite gives its -wal and -shm files the main file's permissions, so they stay private too.
    """
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def _configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    # Functions and virtual tables named in the schema (views, triggers, CHECKs, defaults) may
    # only be the harmless built-in ones: a second wall behind check_own_schema().
    conn.execute("PRAGMA trusted_schema = OFF")


def check_own_schema(conn: sqlite3.Connection, path: Path | str) -> None:
    """Refuse a file whose schema is not exactly crmcli's (foreign tables, indexes, triggers,
    views, or changed definitions), before anything runs or is written; see
    :mod:`crmcli.schema_guard`. One read of the schema and a hash in the usual case."""
    from crmcli import schema_guard

    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION or schema_guard.digest(conn) == SCHEMA_DIGESTS.get(version):
        return  # a newer crmcli's file is refused by migrate(), with its own message
    problems = schema_guard.foreign_objects(conn, version)
    if problems:
        shown = "; ".join(problems[:8]) + (
            f"; and {len(problems) - 8} more" if len(problems) > 8 else ""
        )
        raise DatabaseError(
            f"{path} is not a crmcli database as crmcli made it, so it was not used (and left "
            f"untouched): it has {shown}. Inspect it with sqlite3 if you trust it, or choose "
            "another file with --db"
        )


def connect(location: DbLocation | Path, *, write: bool = True) -> sqlite3.Connection:
    """Open the database: create it on first write, set pragmas, apply pending migrations.

    A read (``write=False``) of a database that does not exist yet gets an empty in-memory
    database instead, so ``crm contact list`` on a fresh machine prints nothing and creates nothing.
    """
    path = location.path if isinstance(location, DbLocation) else location
    if path.is_dir():
        raise DatabaseError(f"database path {path} is a folder; give a file name (--db FILE)")
    fresh = not path.exists()
    missing_folder = fresh and not path.parent.is_dir()
    if missing_folder and isinstance(location, DbLocation) and not location.make_folder:
        raise DatabaseError(
            f"folder {path.parent} does not exist, so there is no database {path.name} in "
            f"it ({location.reason}); check the path, or create the folder first"
        )
    if fresh and not write:
        conn = sqlite3.connect(":memory:", isolation_level=None, factory=Connection)
        _configure(conn)
        migrate(conn)
        return conn
    if fresh:
        try:
            _create_private_file(path)
        except FileExistsError:
            pass  # another process created it a moment ago
        except OSError as exc:
            raise DatabaseError(f"cannot create database {path}: {exc.strerror}") from None
    try:
        return _open(path, uri=None)
    except sqlite3.OperationalError as exc:
        if write or not _read_only_media(exc):
            raise DatabaseError(describe_sqlite_error(exc, path)) from None
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(describe_sqlite_error(exc, path)) from None
    # Read-only media (a mounted backup, a read-only folder): reads still work. mode=ro first;
    # immutable=1 when even the WAL index cannot be made (nothing else can write it then).
    for query in ("mode=ro", "immutable=1"):
        try:
            return _open(path, uri=query)
        except sqlite3.DatabaseError as exc:
            error = exc
    raise DatabaseError(describe_sqlite_error(error, path)) from None


def _read_only_media(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return "readonly" in text or "read-only" in text or "unable to open" in text


def _open(path: Path, *, uri: str | None) -> sqlite3.Connection:
    """Open, check the schema is crmcli's, migrate, and set the journal (not read-only)."""
    # isolation_level=None: we issue BEGIN/COMMIT ourselves (see transaction()).
    if uri is None:
        conn = sqlite3.connect(
            path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, factory=Connection
        )
    else:
        from urllib.parse import quote

        target = f"file:{quote(str(path.absolute()))}?{uri}"
        conn = sqlite3.connect(target, uri=True, isolation_level=None, factory=Connection)
    try:
        _configure(conn)
        check_own_schema(conn, path)
        # Migrate (or refuse a newer schema) before anything else writes to the file.
        migrate(conn, path=path)
        if uri is None:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def describe_sqlite_error(exc: sqlite3.Error, path: Path | str) -> str:
    """One plain sentence for a SQLite failure, naming the file and the way out."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (
            f"database {path} is busy: another crm process kept it locked for "
            f"{BUSY_TIMEOUT_MS // 1000}s; try again"
        )
    if "not a database" in text or "malformed" in text:
        # Not "run crm db check": that is often the very command that failed here.
        return (
            f"{path} is not a crmcli database or is damaged ({text}); restore it from a backup "
            "(crm db backup makes them), or choose another file with --db"
        )
    if "full" in text:
        return f"disk full: nothing was saved ({path}); free some space and retry"
    if "readonly" in text or "unable to open" in text:
        return f"cannot write database {path} ({text}); check its permissions"
    return f"database {path}: {text}"


def migrate(
    conn: sqlite3.Connection, *, path: Path | str = ":memory:", stop_before: str | None = None
) -> int:
    """Apply pending migrations in one transaction; return how many ran.

    ``stop_before`` (a migration name) stops there: tests use it to build older schemas.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"database {path} was written by a newer crmcli (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade crmcli. The file was left untouched"
        )
    if version == SCHEMA_VERSION and stop_before is None:
        return 0  # the usual case, decided without importing the migrations
    # sqlite-utils only when there is schema work to do: it costs ~100 ms to import.
    import sqlite_utils

    from crmcli.migrations import MIGRATIONS

    wrapped = sqlite_utils.Database(conn)
    applied = 0
    with transaction(conn):
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _crm_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
        )
        done = {row[0] for row in conn.execute("SELECT name FROM _crm_migrations")}
        for name, step in MIGRATIONS:
            if name == stop_before:
                break
            if name in done:
                continue
            step(wrapped)
            conn.execute(
                "INSERT INTO _crm_migrations (name, applied_at) "
                "VALUES (?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                (name,),
            )
            applied += 1
        count = conn.execute("SELECT count(*) FROM _crm_migrations").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {int(count)}")
    return applied


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: all of it is saved, or none of it.

    BEGIN IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a
    read lock; the busy timeout makes the second one wait instead of failing. Nested use joins
    the outer transaction.
    """
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        _drop_pending(conn, 0)
        # SQLite may have rolled back by itself (a full disk, an I/O error): then there is
        # nothing to undo, and the original error is the one to report.
        if _in_transaction(conn):
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    if isinstance(conn, Connection) and conn.on_commit:
        actions, conn.on_commit = conn.on_commit, []
        for action in actions:
            action()


def _drop_pending(conn: sqlite3.Connection, keep: int) -> None:
    if isinstance(conn, Connection):
        del conn.on_commit[keep:]


@contextmanager
def savepoint(conn: sqlite3.Connection, name: str) -> Iterator[None]:
    """A part of the current transaction that can fail alone: on an error it is undone (with
    the after-commit actions it registered) and the error goes on; the rest stays."""
    kept = len(conn.on_commit) if isinstance(conn, Connection) else 0
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        _drop_pending(conn, kept)
        if _in_transaction(conn):
            with suppress(sqlite3.Error):
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


def _in_transaction(conn: sqlite3.Connection) -> bool:
    # a call, not the attribute: it changes behind our back (SQLite may end a transaction)
    return conn.in_transaction


def backup(conn: sqlite3.Connection, target: Path) -> None:
    """A consistent copy of the open database at ``target`` (0600), even while others write."""
    if target.exists():
        raise DatabaseError(f"{target} already exists; choose another file or remove it first")
    try:
        _create_private_file(target)
    except OSError as exc:
        raise DatabaseError(f"cannot write backup {target}: {exc.strerror}") from None
    try:
        copy = sqlite3.connect(target)
        try:
            conn.backup(copy)
        finally:
            copy.close()
    except (OSError, sqlite3.Error) as exc:
        # a half-written copy must not pass for a backup
        target.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise DatabaseError(f"cannot write backup {target}: {reason}") from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def inspect(path: Path) -> list[str]:
    """``crm db check``: what in the schema crmcli did not create (see :mod:`crmcli.schema_guard`),
    then SQLite's integrity and foreign-key checks; an empty list means all is well. The file
    is opened read-only and nothing in its schema is used to do so."""
    from urllib.parse import quote

    from crmcli import schema_guard

    try:
        target = f"file:{quote(str(path.absolute()))}?mode=ro"
        conn = sqlite3.connect(target, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise DatabaseError(describe_sqlite_error(exc, path)) from None
    try:
        _configure(conn)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        problems = []
        if version > SCHEMA_VERSION:
            problems.append(f"schema {version} is newer than this crmcli's ({SCHEMA_VERSION})")
        elif schema_guard.digest(conn) != SCHEMA_DIGESTS.get(version):
            found = schema_guard.foreign_objects(conn, version)
            problems += [f"foreign schema object: {p}" for p in found]
        return problems + check(conn)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(describe_sqlite_error(exc, path)) from None
    finally:
        conn.close()


def check(conn: sqlite3.Connection) -> list[str]:
    """SQLite's integrity and foreign-key checks; an empty list means all is well."""
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
    for row in conn.execute("PRAGMA foreign_key_check"):
        problems.append(f"table {row[0]} row {row[1]} points to a missing {row[2]} row")
    return problems
