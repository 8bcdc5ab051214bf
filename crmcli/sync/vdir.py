"""A vdir: a folder with one file per item (``.vcf`` contacts, ``.ics`` events and to-dos).

The format vdirsyncer, khard, khal and todoman share (FORMATS.md). A file is named by its item's
UID (characters that are not safe in a file name replaced); its content is the whole item. A
file's state is its modification time, size and inode: when they are as at the last sync, the
file is taken as unchanged without being read (as vdirsyncer does).

Files are written through a temporary file in the same folder (``.NAME.crmcli-tmp``, private)
and renamed over the target, so a reader, a crash or a ``kill -9`` never sees half a file; a file
is written or removed only if it is still as it was when the sync read the folder.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NamedTuple

from crmcli.errors import CrmError

#: a vdir file larger than this is not read (reported and skipped): no contact is 20 MiB
MAX_FILE = 20 * 1024 * 1024
#: the suffix of crmcli's temporary files (a killed sync's are removed by the next one)
TEMP_SUFFIX = ".crmcli-tmp"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.@+=-]")


class Skip(Exception):
    """One file cannot be synced now: the reason, for a line naming the file."""


class Scanned(NamedTuple):
    """A file of the folder: its name and its state (``mtime_ns:size:inode``)."""

    href: str
    state: str


def state_of(stat: os.stat_result) -> str:
    return f"{stat.st_mtime_ns}:{stat.st_size}:{stat.st_ino}"


def digest(data: bytes) -> str:
    """The content hash kept for each item (a change of content whatever the file's times)."""
    return hashlib.sha256(data).hexdigest()


def file_name(uid: str, ext: str) -> str:
    """The file name of an item: its UID with unsafe characters replaced (vdirsyncer's rule),
    and a hash of the UID added when that changed it (two UIDs never share a name)."""
    safe = _UNSAFE.sub("_", uid)[:120]
    if safe != uid or safe.startswith("."):
        safe = f"{safe.lstrip('.')}-{hashlib.sha256(uid.encode()).hexdigest()[:12]}"
    return f"{safe}{ext}"


def check_folder(folder: Path, what: str) -> None:
    """The folder must exist and be a folder (a typo must not create a new, empty vdir)."""
    if not folder.exists():
        raise CrmError(
            f"{what} {folder} does not exist; create it (mkdir -p {folder}) or fix the path "
            "in [sync] of config.toml"
        )
    if not folder.is_dir():
        raise CrmError(f"{what} {folder} is not a folder")


def scan(folder: Path, ext: str) -> Iterator[Scanned]:
    """The item files of ``folder`` (not its temporary or hidden files), with their state."""
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if not name.endswith(ext) or name.startswith("."):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                yield Scanned(name, state_of(entry.stat(follow_symlinks=False)))
            except FileNotFoundError:
                continue  # removed while the folder was read


def remove_stale_temporaries(folder: Path) -> None:
    """A sync killed while writing leaves its temporary file: remove it."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX):
                with suppress(OSError):
                    os.unlink(entry.path)


def read(folder: Path, href: str) -> tuple[bytes, str]:
    """A file's bytes and its state; :class:`Skip` when it is too large, unreadable, or
    changed while being read."""
    path = folder / href
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise Skip(f"cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(handle.fileno())
        if before.st_size > MAX_FILE:
            raise Skip(f"larger than {MAX_FILE >> 20} MiB: not a contact")
        data = handle.read(MAX_FILE + 1)
    try:
        after = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        raise Skip("was removed while crm sync read it; it is left for the next sync") from None
    if state_of(after) != state_of(before) or len(data) != before.st_size:
        raise Skip("changed while crm sync read it; it is left for the next sync")
    return data, state_of(after)


def _current(path: Path) -> str | None:
    try:
        return state_of(os.stat(path, follow_symlinks=False))
    except FileNotFoundError:
        return None


def _unchanged(path: Path, expected: str | None) -> None:
    if _current(path) != expected:
        raise Skip("changed while crm sync ran; it is left for the next sync")


def _write_error(exc: OSError) -> Skip:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return Skip("cannot be written: the folder is read-only")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Skip("cannot be written: the disk is full")
    return Skip(f"cannot be written ({exc.strerror})")


def write(folder: Path, href: str, data: bytes, *, expected: str | None) -> str:
    """Write an item file whole (temporary file, then rename), only if the file is still as
    the sync saw it (``expected``: its state, None for a file that was not there); its new
    state. :class:`Skip` when it changed meanwhile or cannot be written."""
    path = folder / href
    _unchanged(path, expected)
    temp = folder / f".{href}{TEMP_SUFFIX}"
    try:
        fd = os.open(
            temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        finally:
            if temp.exists():
                temp.unlink()
        return state_of(os.stat(path, follow_symlinks=False))
    except OSError as exc:
        raise _write_error(exc) from None


def remove(folder: Path, href: str, *, expected: str | None) -> None:
    """Remove an item file if it is still as the sync saw it (gone already: nothing to do)."""
    path = folder / href
    if _current(path) is None:
        return
    _unchanged(path, expected)
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _write_error(exc) from None


@contextmanager
def locked(lock_file: Path, *, wait: float = 60.0) -> Iterator[None]:
    """One sync at a time per database: an exclusive lock on ``lock_file`` (flock: released
    by the system when a sync dies, so a killed sync never leaves a stale lock). A second
    sync waits for the first, up to ``wait`` seconds."""
    import fcntl
    import time

    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise CrmError(
                        f"another crm sync of this database is still running (waited {wait:g} s;"
                        f" lock {lock_file}); try again later"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)
