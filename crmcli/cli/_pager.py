"""Long output on a terminal goes through a pager, as git does it.

The pager is ``CRM_PAGER`` (or ``[output] pager`` in config.toml), else ``$PAGER``, else
``less -FRX``: ``-F`` quits at once when the output fits on one screen, ``-R`` shows colours,
``-X`` leaves the output on the screen afterwards. An empty value or ``cat`` means no pager, and
so does ``crm --no-pager``. It is used only when stdout is a terminal: never for a pipe or a file,
whatever the format.

It starts with the first line a command writes to stdout (an error before any output is said on
the terminal as usual), and from then on stdout, and stderr when it is the same terminal, are the
pager's input, at the level of the file descriptors, so everything a command writes arrives in
order and a table streams into the pager a page at a time. :func:`stop` ends it: the pager gets
the end of its input and crm waits for the person to leave it (``q``), also after Ctrl-C (which
reaches the pager too: it keeps showing what it has). It is called when the command ends and
before any question is asked on the terminal.

The person leaving early (``q`` in less with more to come) is not an error: the output still
unwritten is dropped and crm exits 0, quietly. A pager that cannot be started is one warning,
and the output is shown without it.

This module imports nothing heavy: deciding that a pipe gets no pager costs one ``isatty``.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NamedTuple

#: the pager when none is set, as git's: quit if one screen, colours, leave it on the screen
DEFAULT = "less -FRX"

#: characters that make a pager setting a shell command line (run with sh -c)
_SHELL = set("|&;<>()$`\\\"'*?[]#~=%{}\n")


class _Paging(NamedTuple):
    process: Any  # subprocess.Popen
    #: the terminal the pager shows on, kept to put stdout (and stderr) back afterwards
    stdout: int
    stderr: int | None
    columns: int
    lines: int


_disabled = False
_paging: _Paging | None = None


def disable() -> None:
    """``crm --no-pager``: no pager for this run."""
    global _disabled
    _disabled = True


def active() -> bool:
    return _paging is not None


def stdout_is_terminal() -> bool:
    """Whether stdout is (or, while paging, was) a terminal: what decides table and colour."""
    return _paging is not None or sys.stdout.isatty()


def size() -> tuple[int, int] | None:
    """Columns and lines of the terminal the pager shows on, while paging."""
    return None if _paging is None else (_paging.columns, _paging.lines)


def command(env: dict[str, str] | None = None) -> str | None:
    """The pager command line for this run, or None for no pager (see the module docstring)."""
    env = dict(os.environ) if env is None else env
    if _disabled or env.get("TERM") == "dumb":
        return None
    setting = env.get("CRM_PAGER")
    if setting is None:
        from crmcli import config

        setting = config.load(env).pager
    if setting is None:
        setting = env.get("PAGER", DEFAULT)
    setting = setting.strip()
    return None if setting in ("", "cat") else setting


def start() -> None:
    """Send stdout to the pager from now on, if stdout is a terminal and a pager is wanted."""
    global _paging, _disabled
    if _paging is not None or _disabled or not sys.stdout.isatty():
        return
    line = command()
    if line is None:
        _disabled = True  # decided once a run
        return
    process = _spawn(line)
    if process is None:
        _disabled = True
        return
    import shutil

    # as rich measures it: COLUMNS and LINES win, then the terminal's size, then 80 x 24
    columns, lines = shutil.get_terminal_size()
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out = os.dup(sys.stdout.fileno())
    os.dup2(process.stdin.fileno(), sys.stdout.fileno())
    saved_err = None
    if _same_terminal(sys.stderr.fileno(), saved_out):
        saved_err = os.dup(sys.stderr.fileno())
        os.dup2(process.stdin.fileno(), sys.stderr.fileno())
    process.stdin.close()  # stdout (and stderr) hold the pipe now: closing them ends its input
    _paging = _Paging(process, saved_out, saved_err, columns, lines)


def _spawn(line: str) -> Any:
    """Start the pager reading a pipe; None (and one warning) when it cannot be started."""
    import shlex
    import subprocess

    env = dict(os.environ)
    env.setdefault("LESS", "FRX")  # a bare `less` in $PAGER: as git sets it
    env.setdefault("LV", "-c")
    try:
        argv = ["/bin/sh", "-c", line] if _SHELL & set(line) else shlex.split(line)
        return subprocess.Popen(argv, stdin=subprocess.PIPE, env=env)
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        print(
            f"Warning: cannot start the pager {line!r} ({reason}); output shown without it "
            "(CRM_PAGER=cat or crm --no-pager: no pager)",
            file=sys.stderr,
        )
        return None


def _same_terminal(fd: int, terminal: int) -> bool:
    try:
        return os.isatty(fd) and os.ttyname(fd) == os.ttyname(terminal)
    except OSError:
        return False


def stop(*, drop: bool = False) -> None:
    """End the pager's input, wait for the person to leave it, and give the terminal back.
    With ``drop`` (Ctrl-C, the pager gone) what is not written yet is dropped, not flushed."""
    global _paging
    paging = _paging
    if paging is None:
        return
    _paging = None
    _close_pipe(paging, drop=drop)
    import signal

    # Ctrl-C while the pager shows is for the pager (less goes on showing what it has); crm
    # must not leave it behind on the terminal, so it waits for it, as git does.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        paging.process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        os.dup2(paging.stdout, sys.stdout.fileno())
        os.close(paging.stdout)
        if paging.stderr is not None:
            os.dup2(paging.stderr, sys.stderr.fileno())
            os.close(paging.stderr)


def _close_pipe(paging: _Paging, *, drop: bool) -> None:
    """Flush what is written (unless ``drop``), then close the pipe: /dev/null takes its place
    until the terminal is given back, so that what the pager did not take (it was quit) is
    dropped instead of reaching the terminal later."""
    import contextlib

    streams = [sys.stdout] if paging.stderr is None else [sys.stdout, sys.stderr]
    for stream in streams if not drop else ():
        with contextlib.suppress(OSError, ValueError):  # the pager has gone: dropped below
            stream.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in streams:
            os.dup2(devnull, stream.fileno())
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    finally:
        os.close(devnull)
