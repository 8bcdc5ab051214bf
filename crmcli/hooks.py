"""Hooks: your own programs, run when something happens (taskwarrior-style).

An executable in ``$XDG_CONFIG_HOME/crmcli/hooks/`` named after an event's hook
(``on-deal-won``, or ``on-deal-won.anything`` for several per event; :data:`crmcli.events.EVENTS`
lists them) runs once per occurrence of that event, after the change is committed, with the
record as JSON on stdin::

    {"event": "deal-won", "at": "2026-11-23T09:00:00Z", "subject": "deal 12",
     "contact_id": 3, "details": {...}, "record": {... as crm deal show --format json ...}}

A hook can never undo or block a change: it runs when the change is saved, with its
environment's ``CRM_HOOK`` set (a ``crm`` it starts runs no hooks of its own, so hooks cannot
loop), in a session of its own, and is killed (with what it started) after ``hooks.timeout``
seconds. A hook that fails, times out or cannot start is reported on stderr with its first
line of output; the command's own result is unchanged. No shell is involved: the file is run
as it is.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from crmcli.events import EVENTS, Occurrence, pending

if TYPE_CHECKING:  # running hooks imports these; every write only asks whether there are any
    import subprocess

#: seconds a hook may run before it is killed (hooks.timeout)
TIMEOUT_SECONDS = 10.0
#: a hook's output kept for a report
_OUTPUT_BYTES = 4096
#: the listing of the hooks folder, by (folder, its modification time)
_LISTED: dict[tuple[str, int], dict[str, list[Path]]] = {}


def hooks_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/crmcli/hooks`` (default ``~/.config/crmcli/hooks``)."""
    from crmcli.config import config_dir

    return config_dir(env) / "hooks"


def installed() -> dict[str, list[Path]]:
    """The files of the hooks folder by hook name (``on-note`` -> its files, in name order).

    Empty inside a hook (``CRM_HOOK`` set), so a hook that runs crm cannot start a loop."""
    if os.environ.get("CRM_HOOK"):
        return {}
    folder = hooks_dir()
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        return {}
    key = (str(folder), stamp)
    if key not in _LISTED:
        names = {event.hook for event in EVENTS}
        found: dict[str, list[Path]] = {}
        for path in sorted(folder.iterdir()):
            base = path.name.split(".", 1)[0]
            if base in names and not path.name.endswith("~"):
                found.setdefault(base, []).append(path)
        _LISTED[key] = found
    return _LISTED[key]


def wanted(event: str) -> bool:
    """Whether a hook file exists for ``event`` (then its occurrences are kept for it)."""
    return EVENTS[event].hook in installed()


class HookRun(NamedTuple):
    """What one hook did with one occurrence: ``ok``, ``failed``, ``timeout`` or ``skipped``."""

    hook: str
    event: str
    subject: str
    status: str
    detail: str = ""

    def describe(self) -> str:
        what = f"hook {self.hook} ({self.event}, {self.subject})"
        return f"{what}: {self.detail}" if self.detail else what


def record_of(conn: sqlite3.Connection, occurrence: Occurrence, *, now: datetime) -> Any:
    """The record an occurrence is about, as its ``show --format json`` gives it; None when it
    is gone (a contact forgotten, a deal removed by the same command)."""
    from crmcli import contacts, deals, notes, purchases, reminders
    from crmcli.errors import CrmError

    kind = EVENTS[occurrence.event].subject
    key = occurrence.subject_id
    readers: dict[str, Callable[[], Any]] = {
        "contact": lambda: contacts.get(conn, key, include_deleted=True).to_dict(),
        "deal": lambda: deals.record(conn, key, now=now).to_dict(),
        "note": lambda: notes.get(conn, key, include_deleted=True).to_dict(),
        "purchase": lambda: purchases.get(conn, key, include_deleted=True),
        "reminder": lambda: reminders.get(conn, key, include_deleted=True).to_dict(),
    }
    if occurrence.event == "contact-forgotten":
        return None
    try:
        return readers[kind]()
    except CrmError:
        return None


def payload(conn: sqlite3.Connection, occurrence: Occurrence, *, now: datetime) -> dict[str, Any]:
    """What a hook reads on stdin."""
    from crmcli.clock import to_utc_text

    return {
        "event": occurrence.event,
        "at": to_utc_text(occurrence.at),
        "subject": occurrence.subject,
        "contact_id": occurrence.contact_id,
        "details": occurrence.details,
        "record": record_of(conn, occurrence, now=now),
    }


def run_pending(
    conn: sqlite3.Connection,
    *,
    now: datetime,
    database: Path | None,
    timeout: float = TIMEOUT_SECONDS,
    report: Callable[[HookRun], None] | None = None,
) -> list[HookRun]:
    """Run the hooks of every committed occurrence still waiting on ``conn``, in order."""
    import json

    runs: list[HookRun] = []
    found = installed()
    for occurrence in pending(conn):
        hook = EVENTS[occurrence.event].hook
        files = found.get(hook, [])
        if not files:
            continue
        data = json.dumps(payload(conn, occurrence, now=now), ensure_ascii=False).encode()
        for path in files:
            run = run_one(path, data, occurrence, timeout=timeout, database=database)
            runs.append(run)
            if report is not None and run.status != "ok":
                report(run)
    return runs


def run_one(
    path: Path, data: bytes, occurrence: Occurrence, *, timeout: float, database: Path | None
) -> HookRun:
    """Run one hook file with ``data`` on stdin; never raises for anything the hook does.

    stdin and the output go through temporary files, not pipes: a hook that never reads its
    input, or that leaves a program behind holding its output, cannot make crm wait past the
    timeout. The hook runs in a session of its own, killed whole when the time is up."""
    import subprocess
    import tempfile

    base = HookRun(path.name, occurrence.event, occurrence.subject, "ok")
    if not os.access(path, os.X_OK) or not path.is_file():
        return _with(base, "skipped", f"{path} is not an executable file (chmod +x it)")
    mode = path.stat()
    if mode.st_uid != os.getuid() or mode.st_mode & 0o002:
        # someone else could have put it there, or changed it: it would run as you
        return _with(base, "skipped", f"{path} is not yours alone (chown it; chmod o-w)")
    env = dict(os.environ)
    env["CRM_HOOK"] = path.name
    env["CRM_EVENT"] = occurrence.event
    if database is not None:
        env["CRM_DB"] = str(database.absolute())
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as output:
        stdin.write(data)
        stdin.seek(0)
        try:
            process = subprocess.Popen(
                [str(path)],
                stdin=stdin,
                stdout=output,
                stderr=output,
                env=env,
                cwd=path.parent,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            return _with(base, "failed", f"cannot start: {exc.strerror}")
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_session(process)
            return _with(base, "timeout", f"killed after {timeout:g} s (hooks.timeout)")
        if code == 0:
            return base
        output.seek(0)
        said = _first_line(output.read(_OUTPUT_BYTES))
        reason = f"exit {code}" if code > 0 else f"killed by signal {-code}"
        return _with(base, "failed", f"{reason}: {said}" if said else reason)


def _with(run: HookRun, status: str, detail: str) -> HookRun:
    return HookRun(run.hook, run.event, run.subject, status, detail)


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    import signal

    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()
    process.wait()


def _first_line(output: bytes) -> str:
    text = output.decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:200] if lines else ""


def timeout_setting(cfg: Any) -> float:
    """``hooks.timeout``, checked: seconds, more than 0 and at most an hour."""
    value = cfg.get("hooks", "timeout", TIMEOUT_SECONDS)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise cfg.invalid("hooks", "timeout", value, "must be a number of seconds (e.g. 10)")
    return seconds
