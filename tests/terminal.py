"""Run the installed ``crm`` on a real pseudo-terminal and answer its prompts, as a person would."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import time

import pytest


def converse(
    args: list[str], env: dict[str, str], replies: list[tuple[bytes, bytes]], timeout: float = 30
) -> tuple[int, str]:
    """``crm ARGS`` on a terminal: each time the output since the last reply ends with one of
    the prompts of ``replies`` (trailing spaces aside), type its answer. Returns the exit code
    and everything the terminal showed."""
    crm = shutil.which("crm") or pytest.fail("the crm command is not installed")
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
