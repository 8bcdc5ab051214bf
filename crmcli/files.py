"""Files crmcli writes for the user: which targets are refused, and how they are created.

A rejects file, an export (``-o``), a backup or an outbox message is never written over the file
being read, the database (or any SQLite file, or the database's -wal/-shm/-journal), and never
over a file that exists unless the user says ``--force``. New files are created exclusively
(``O_EXCL``, ``O_NOFOLLOW``): a name planted in advance, or a symbolic link, is never followed.
See docs/security.md.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from crmcli.errors import CrmError, UsageError

#: the first 16 bytes of every SQLite database file
SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
#: os.open flags for a new private file: fails if the name exists, even as a (dangling) link
EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def is_sqlite_file(path: Path) -> bool:
    """True when ``path`` is a regular file that starts like a SQLite database."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` are one file (through links, ``..`` or another spelling)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_target(
    path: Path,
    *,
    what: str,
    force: bool = False,
    inputs: Sequence[Path] = (),
    database: Path | None = None,
) -> None:
    """Refuse to write ``path`` (``what`` names the option for the message) when it is one of
    ``inputs``, the database or any SQLite file; or, without ``force``, when it exists.

    A device or a pipe (``/dev/stdout``, a FIFO) is written into, not replaced: allowed.
    """
    for source in inputs:
        if same_file(path, source):
            raise UsageError(
                f"{what} {path} is the file being read; give another file name (nothing was done)"
            )
    if database is not None:
        protected = [database, *(Path(f"{database}{end}") for end in _SQLITE_COMPANIONS)]
        if any(same_file(path, p) for p in protected):
            raise UsageError(
                f"{what} {path} is the crmcli database; give another file name (nothing was done)"
            )
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise UsageError(
                f"{what} {path} is a link to a missing file; remove it or give another name"
            ) from None
        return
    except OSError as exc:
        raise CrmError(f"cannot use {what} {path}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{what} {path} is a folder; give a file name inside it")
    if not stat.S_ISREG(info.st_mode):
        return
    if is_sqlite_file(path):
        raise UsageError(
            f"{what} {path} is a SQLite database; crmcli never writes over one "
            "(give another file name)"
        )
    if not force:
        raise UsageError(f"{what} {path} exists; add --force to replace it, or give another name")


def create_exclusive(path: Path, mode: int = 0o600) -> int:
    """A new file (a descriptor open for writing), private by default; FileExistsError if the
    name is taken by anything, a symbolic link included."""
    return os.open(path, EXCLUSIVE, mode)
