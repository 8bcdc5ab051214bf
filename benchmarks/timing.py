"""Timing whole processes for the benchmark: cases, interleaved runs, peak memory.

Shared by run.py and the sections beside it (khard, listing, scale, start-up).
"""

from __future__ import annotations

import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO, NamedTuple


@dataclass
class Case:
    label: str
    argv: list[str]
    group: str = "start-up"
    reference: bool = False
    #: the label of a reference doing the same work another way (its ratio gets a column)
    against: str | None = None
    #: environment for this case alone (on top of the run's)
    env: dict[str, str] | None = None
    #: a command run before each timed run, untimed (a fresh copy of a database to write into)
    prepare: list[str] | None = None
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def row(self, ratio: str = "") -> str:
        """A Markdown table row: label, median, min-max, and a ratio cell."""
        label = f"*{self.label}* (reference)" if self.reference else f"`{self.label}`"
        return (
            f"| {label} | {fmt_ms(self.median)} | {fmt_ms(min(self.times))}-"
            f"{fmt_ms(max(self.times))} | {ratio} |"
        )


def time_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 3):
        raise SystemExit(
            f"benchmark command failed ({done.returncode}): {' '.join(argv)}\n"
            f"{done.stderr.decode(errors='replace')}"
        )
    return elapsed


def run_cases(cases: list[Case], runs: int, env: dict[str, str]) -> None:
    """A warm-up run of each case, then ``runs`` rounds with the cases interleaved, so that a
    noisy moment of a shared machine hurts all of them alike."""
    for case in cases:  # warm-up: caches, bytecode
        _once(case, env)
    for _ in range(runs):
        for case in cases:  # interleaved
            case.times.append(_once(case, env))


def _once(case: Case, env: dict[str, str]) -> float:
    if case.prepare:
        subprocess.run(case.prepare, env=env, check=True)
    return time_once(case.argv, {**env, **(case.env or {})})


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# Peak memory is read from a small helper process that starts the command and waits for it.
# Measured directly, a command would report the benchmark's own resident size as its peak:
# Linux keeps the address space's high-water mark across fork and exec, and this process holds
# a database build's worth of memory (over 130 MiB) by then.
_MEASURE = (
    "import os, sys\n"
    "pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "open(sys.argv[1], 'w').write(f'{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}')\n"
)


def _measured(argv: list[str], report: str) -> list[str]:
    return [sys.executable, "-S", "-c", _MEASURE, report, *argv]


def _read_report(report: str, argv: list[str]) -> float:
    with open(report) as handle:
        code, kib = handle.read().split()
    os.unlink(report)
    if int(code) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}")
    return int(kib) / 1024  # Linux reports KiB


def peak_rss_mib(
    argv: list[str], env: dict[str, str], *, stderr: IO[bytes] | int = subprocess.PIPE
) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one whole process (its messages go to
    ``stderr``, a file to read them from)."""
    report = tempfile.mktemp(prefix="crm-bench-rss-")
    start = time.perf_counter()
    subprocess.run(
        _measured(argv, report),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        check=True,
    )
    elapsed = time.perf_counter() - start
    return elapsed, _read_report(report, argv)


class OnTerminal(NamedTuple):
    seconds: float
    #: until the first bytes reached the terminal
    first_seconds: float
    mib: float
    shown: int


def peak_rss_on_terminal(
    argv: list[str], env: dict[str, str], *, columns: int = 120, lines: int = 40
) -> OnTerminal:
    """Like :func:`peak_rss_mib`, with stdout and stderr on a pseudo-terminal (what a person
    sees: the command takes its terminal path, a table). Returns seconds (to the end, and to
    the first output), MiB and bytes shown."""
    report = tempfile.mktemp(prefix="crm-bench-rss-")
    primary, secondary = pty.openpty()
    term_env = {**env, "COLUMNS": str(columns), "LINES": str(lines), "TERM": "xterm-256color"}
    start = time.perf_counter()
    process = subprocess.Popen(
        _measured(argv, report),
        env=term_env,
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    shown = 0
    first = 0.0
    while True:  # drain the terminal, or the command blocks once its buffer is full
        ready, _, _ = select.select([primary], [], [], 1.0)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the command closed its side
            break
        if not chunk:
            break
        if not shown:
            first = time.perf_counter() - start
        shown += len(chunk)
    process.wait()
    elapsed = time.perf_counter() - start
    os.close(primary)
    return OnTerminal(elapsed, first, _read_report(report, argv), shown)
