"""The installed ``crm`` on a real pseudo-terminal of a given size, as a person runs it: the pty
is its controlling terminal (so a pager can read keys from it and Ctrl-C reaches it), and keys
can be typed once the screen has been quiet for a moment."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.conftest import installed_crm

#: SGR (colour, bold) and the few screen controls less and rich write around the text
_CONTROLS = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


class Screen(NamedTuple):
    raw: bytes
    code: int

    @property
    def text(self) -> str:
        """What was shown, without colours and screen controls."""
        return _CONTROLS.sub("", self.raw.decode("utf-8", errors="replace"))

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


def terminal_env(**changes: str | None) -> dict[str, str]:
    """The test's environment for a terminal: TERM set, no size or pager variables inherited
    (the pty's size is the terminal's), ``changes`` applied (None removes a variable)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("COLUMNS", "LINES", "NO_COLOR", "PAGER", "CRM_PAGER", "LESS")
    }
    env["TERM"] = "xterm-256color"
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _controlling_terminal() -> None:  # in the child, after setsid: stdin's pty is its terminal
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_on_pty(
    args: Sequence[str],
    *,
    columns: int,
    env: dict[str, str],
    lines: int = 40,
    keys: Sequence[bytes] = (),
    quiet: float = 1.0,
    timeout: float = 60,
    cwd: Path | None = None,
) -> Screen:
    """Run ``crm ARGS`` on a ``columns`` x ``lines`` pty; all it shows (both streams) and its
    exit code. Each of ``keys`` is typed when nothing new was shown for ``quiet`` seconds."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    process = subprocess.Popen(
        [installed_crm(), *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_controlling_terminal,
    )
    os.close(secondary)
    chunks: list[bytes] = []
    pending = list(keys)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], quiet)
            if not ready:
                if pending:
                    os.write(primary, pending.pop(0))
                elif process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: every process on the terminal has closed it
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(primary)
    return Screen(b"".join(chunks), code)


def converse(
    args: list[str], env: dict[str, str], replies: list[tuple[bytes, bytes]], timeout: float = 30
) -> tuple[int, str]:
    """``crm ARGS`` on a terminal: each time the output since the last reply ends with one of
    the prompts of ``replies`` (trailing spaces aside), type its answer. Returns the exit code
    and everything the terminal showed."""
    crm = installed_crm()
    pid, fd = pty.fork()
    if pid == 0:  # the child: crm, on the terminal
        os.execve(crm, [crm, *args], env)
    seen = b""
    replied = 0
    deadline = time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"crm {' '.join(args)} waited for input; it showed:\n{seen.decode()}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child has exited and closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        tail = seen[replied:].rstrip()
        for prompt, answer in replies:
            if tail.endswith(prompt):
                os.write(fd, answer)
                replied = len(seen)
                break
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode().replace("\r\n", "\n")
