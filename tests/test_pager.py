"""Long output on a terminal goes through a pager (crmcli/cli/_pager.py), tried on a real
pseudo-terminal: which pager (CRM_PAGER, [output] pager, PAGER, less -FRX), switched off
(--no-pager, empty, cat), never for a pipe, a pager that cannot start, and a person leaving
the real ``less`` early with ``q`` or Ctrl-C."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.terminal import run_on_pty, terminal_env
from tests.test_terminal_safety import HOSTILE, assert_no_raw_escape

#: records how it was started and what it was given, as a pager's stand-in
FAKE_PAGER = """#!/bin/sh
{ echo "$0 $*"; echo "LESS=${LESS-}"; } > "$FAKE_PAGER_LOG"
cat > "$FAKE_PAGER_LOG.in"
echo "[paged]"
"""


def _book(cli: Cli, tmp_path: Path, count: int) -> None:
    source = tmp_path / "people.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["first name", "last name", "company", "email"])
        writer.writerow([f"Eve {HOSTILE}", "Hostile", "Acme", "eve@example.com"])
        for n in range(1, count):
            writer.writerow([f"Person{n:04d}", "Example", f"Company {n}", f"p{n}@example.com"])
    cli("import", str(source))


@pytest.fixture
def book(cli: Cli, tmp_path: Path) -> None:
    _book(cli, tmp_path, 300)


@pytest.fixture
def long_book(cli: Cli, tmp_path: Path) -> None:
    """More than a pipe and less's first screen take: the pager is left with more to come."""
    _book(cli, tmp_path, 1500)


@pytest.fixture
def pagers(tmp_path: Path) -> Path:
    """A folder with stand-ins named less, mypager and other (first on PATH)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("less", "mypager", "other"):
        script = folder / name
        script.write_text(FAKE_PAGER, encoding="utf-8")
        script.chmod(0o755)
    return folder


def _env(pagers: Path, tmp_path: Path, **changes: str | None) -> dict[str, str]:
    return terminal_env(
        PATH=f"{pagers}{os.pathsep}{os.environ['PATH']}",
        FAKE_PAGER_LOG=str(tmp_path / "pager.log"),
        **changes,
    )


def _paged(tmp_path: Path) -> tuple[str, str] | None:
    """How the stand-in was started and what it read; None when no pager ran."""
    log = tmp_path / "pager.log"
    if not log.exists():
        return None
    started = log.read_text(encoding="utf-8")
    log.unlink()
    received = (tmp_path / "pager.log.in").read_text(encoding="utf-8")
    return started, received


@pytest.mark.slow
def test_less_FRX_is_the_default(book: None, pagers: Path, tmp_path: Path) -> None:
    screen = run_on_pty(["contact", "list"], columns=100, env=_env(pagers, tmp_path))
    assert screen.code == 0
    paged = _paged(tmp_path)
    assert paged is not None
    started, received = paged
    assert started.splitlines() == [f"{pagers}/less -FRX", "LESS=FRX"]
    assert "Person0001 Example" in received and "Person0299 Example" in received
    assert "[paged]" in screen.text
    assert "Person0001" not in screen.text  # it all went to the pager
    shown = re.sub("\x1b\\[[0-9;]*m", "", received)
    assert max(len(line) for line in shown.splitlines()) <= 100  # drawn for the terminal
    assert "\x1b[1m" in received  # in colour (less -R shows it)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("changes", "config", "expected"),
    [
        ({"PAGER": "mypager"}, None, "mypager"),
        ({"PAGER": "mypager", "CRM_PAGER": "other --x"}, None, "other --x"),
        ({"PAGER": "mypager"}, 'pager = "other -S"', "other -S"),
        ({"PAGER": "mypager", "CRM_PAGER": "other"}, 'pager = "less"', "other"),
        ({"CRM_PAGER": "mypager | cat"}, None, "mypager"),  # a shell command line
    ],
)
def test_which_pager(
    book: None,
    pagers: Path,
    tmp_path: Path,
    changes: dict[str, str],
    config: str | None,
    expected: str,
) -> None:
    if config:
        folder = Path(os.environ["XDG_CONFIG_HOME"]) / "crmcli"
        folder.mkdir(parents=True)
        (folder / "config.toml").write_text(f"[output]\n{config}\n", encoding="utf-8")
    args = ["contact", "list", "--limit", "20"]
    screen = run_on_pty(args, columns=100, env=_env(pagers, tmp_path, **changes))
    assert screen.code == 0
    paged = _paged(tmp_path)
    assert paged is not None
    assert paged[0].splitlines()[0].rstrip() == f"{pagers}/{expected}"
    assert "Person0001" in paged[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("changes", "args"),
    [
        ({"CRM_PAGER": ""}, []),
        ({"CRM_PAGER": "cat"}, []),
        ({"PAGER": ""}, []),
        ({"PAGER": "cat"}, []),
        ({"PAGER": "mypager"}, ["--no-pager"]),
        ({"PAGER": "mypager", "TERM": "dumb"}, []),
    ],
)
def test_no_pager(
    book: None, pagers: Path, tmp_path: Path, changes: dict[str, str], args: list[str]
) -> None:
    env = _env(pagers, tmp_path, **changes)
    screen = run_on_pty([*args, "contact", "list", "--limit", "3"], columns=100, env=env)
    assert screen.code == 0
    assert _paged(tmp_path) is None
    assert "Person0001" in screen.text


@pytest.mark.slow
@pytest.mark.parametrize("fmt", [None, "table", "json", "tsv", "csv"])
def test_never_for_a_pipe(
    book: None, pagers: Path, tmp_path: Path, fmt: str | None, crm_exe: str
) -> None:
    env = _env(pagers, tmp_path, PAGER="mypager")
    args = ["contact", "list", *(["--format", fmt] if fmt else [])]
    done = subprocess.run([crm_exe, *args], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert _paged(tmp_path) is None
    assert "Person0299" in done.stdout
    if fmt == "json":
        assert len(json.loads(done.stdout)) == 300


@pytest.mark.slow
def test_every_view_goes_through_the_pager_and_stays_safe(
    book: None, pagers: Path, tmp_path: Path
) -> None:
    env = _env(pagers, tmp_path, PAGER="mypager")
    for args in (["contact", "show", "eve"], ["contact", "list", "-f", "json"], ["search", "eve"]):
        screen = run_on_pty(args, columns=100, env=env)
        assert screen.code == 0, screen.text
        paged = _paged(tmp_path)
        assert paged is not None, args
        assert "eve@example.com" in paged[1]
        assert_no_raw_escape(paged[1].encode(), " ".join(args))


@pytest.mark.slow
def test_nothing_to_show_starts_no_pager(pagers: Path, tmp_path: Path, cli: Cli) -> None:
    cli("contact", "add", "Ann")
    env = _env(pagers, tmp_path, PAGER="mypager")
    screen = run_on_pty(["contact", "list", "nobody"], columns=100, env=env)
    assert screen.code == 0
    assert _paged(tmp_path) is None
    error = run_on_pty(["contact", "show", "nobody"], columns=100, env=env)
    assert error.code == 1
    assert error.text.startswith("Error: ")
    assert _paged(tmp_path) is None


@pytest.mark.slow
def test_a_pager_that_cannot_start_is_one_warning(book: None, tmp_path: Path) -> None:
    env = terminal_env(CRM_PAGER="/no/such/pager -R")
    screen = run_on_pty(["contact", "list", "--limit", "5"], columns=100, env=env)
    assert screen.code == 0
    warnings = [line for line in screen.lines if "Warning" in line]
    assert warnings == [
        "Warning: cannot start the pager '/no/such/pager -R' (No such file or directory); "
        "output shown without it (CRM_PAGER=cat or crm --no-pager: no pager)"
    ]
    assert "Person0004" in screen.text


@pytest.mark.slow
def test_a_pager_that_stops_reading_early(long_book: None, tmp_path: Path) -> None:
    env = terminal_env(CRM_PAGER="head -c 2000")
    screen = run_on_pty(["contact", "list"], columns=100, env=env)
    assert screen.code == 0
    assert "Person0001" in screen.text
    for noise in ("Traceback", "BrokenPipe", "Exception ignored", "Error"):
        assert noise not in screen.text


@pytest.mark.slow
def test_quitting_less_early(long_book: None, tmp_path: Path) -> None:
    """The real less (PAGER unset): the first screen, then q; crm ends at once, quietly, 0."""
    env = terminal_env()
    screen = run_on_pty(["contact", "list"], columns=100, lines=30, env=env, keys=[b"q"])
    assert screen.code == 0, screen.text
    assert "Person0001" in screen.text
    assert "Person1499" not in screen.text  # it was not all written out
    for noise in ("Traceback", "BrokenPipe", "Exception ignored", "Error"):
        assert noise not in screen.text


@pytest.mark.slow
def test_ctrl_c_in_less(long_book: None, tmp_path: Path) -> None:
    """Ctrl-C reaches less and crm: less keeps showing what it has until q, then crm exits
    130 with its one line, on the terminal, after the pager."""
    env = terminal_env()
    screen = run_on_pty(
        ["contact", "list"], columns=100, lines=30, env=env, keys=[b"\x03", b"q"], quiet=0.5
    )
    assert screen.code == 130, screen.text
    assert "Person0001" in screen.text
    assert screen.text.rstrip().endswith("Interrupted; the current change was not saved.")
    assert "Traceback" not in screen.text


@pytest.mark.slow
def test_the_pager_gets_the_width_rich_would_use(book: None, pagers: Path, tmp_path: Path) -> None:
    env = _env(pagers, tmp_path, PAGER="mypager", COLUMNS="72")
    assert run_on_pty(["contact", "list"], columns=140, env=env).code == 0
    paged = _paged(tmp_path)
    assert paged is not None
    shown = re.sub("\x1b\\[[0-9;]*m", "", paged[1])
    assert max(len(line) for line in shown.splitlines()) == 72
