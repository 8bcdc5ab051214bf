"""Every `crm` example in README.md and docs/*.md runs, as pasted, against a demo database.

Each page gets a sandbox of its own: a fresh copy of the demo database (CRM_DB), a home folder,
the fixed clock, and the files its examples name (contacts.csv, card.txt...; see SANDBOX_FILES).
A page's examples run in order, each in bash with pipefail, so state carries over as it does for
a reader following the page. An example fails when it exits non-zero.

What runs: every line of a ```sh (or bash, shell, console) block in which `crm` is a command
(lines joined at a trailing backslash; a block with case/if/for/while runs whole). Other blocks
(```text, ```toml, ```crontab...) are not commands. An example that cannot run here (it needs
a mail server, a terminal) sits in a block of its own, marked on the line before the fence:

    <!-- not run: sends through an SMTP server -->

The reason is required; use the mark sparingly (a test counts them). Stand-ins for `mail` and
`notify-send` record what they were given, so cron examples run too (see STUBS).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import FIXED_NOW, installed_crm

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCKS = {"sh", "bash", "shell", "console"}
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(.*?)\s*-->\s*$")
CRM_COMMAND = re.compile(r"(^|[|;&(`]\s*|\$\(\s*|\bthen\s+|\bdo\s+)crm(\s|$)")
COMPOUND = re.compile(r"^\s*(case|if|for|while)\b")
#: at most this share of the examples may be marked "not run"
MOST_NOT_RUN = 0.08

#: programs an example may hand its output to, standing in for the real ones: each records its
#: arguments and what it read, in ~/<name>.log
STUBS = ("mail", "notify-send")

SANDBOX_FILES = {
    # a contacts vdir with one card from a phone (README's crm sync example)
    ".contacts/phone-kim.vcf": (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:phone-kim\r\nFN:Kim Park\r\nN:Park;Kim;;;\r\n"
        b"EMAIL:kim@park.example\r\nEND:VCARD\r\n"
    ),
    "contacts.csv": (FIXTURES / "google.csv").read_bytes(),
    "Downloads/contacts.csv": (
        b"First Name,Last Name,Organization Name,E-mail 1 - Label,E-mail 1 - Value,"
        b"Phone 1 - Label,Phone 1 - Value\n"
        b"Kim,Park,Park Labs,* Work,kim@park.example,Mobile,+82 10 5555 0199\n"
        b"Lars,Holm,Holm Marine,* Work,lars@holm.example,Work,+45 20 55 50 19\n"
    ),
    "contacts.vcf": (FIXTURES / "rfc-4.0.vcf").read_bytes(),
    "badge-scans.csv": b"Name,Email,Company\nKim Park,kim@park.example,Park Labs\n",
    "shop.csv": "Kunde;Telefon;Region\nJürgen Weiß;+49 30 1234567;Nord\n".encode(),
    "shop-june.csv": "Kunde;Telefon;Region\nPia Roth;+49 40 7654321;Süd\n".encode(),
    "messy.csv": b"Name,Email\nKim Park,kim@park.example\nBob Bad,bob-at-example\n",
    "orders.csv": (
        b"Order,Date,Email,Customer,Product,Qty,Amount,Currency\n"
        b"SO-2001,2026-10-02,ana.garcia@solaris.example,Ana Garcia,Solar panels,2,2400.00,EUR\n"
        b"SO-2002,2026-10-05,kim@park.example,Kim Park,Sensors,1,310.50,EUR\n"
    ),
    "invoices.csv": b"Invoice;Date;Kunde;Summe\nR-77;2026-09-30;Ben Okafor;1.200,50\n",
    "next-month.csv": b"Invoice;Date;Kunde;Summe\nR-78;2026-10-31;Ben Okafor;990,00\n",
    "card.txt": b"Dear {first_name},\n\nhappy birthday from all of us!\n\n{sender}\n",
    "call-notes.txt": b"Called Ana: the pilot starts in January.\n",
    "message.eml": (
        b"From: Ana Garcia <ana.garcia@solaris.example>\nTo: Me <me@example.com>\n"
        b"Subject: Pilot\nDate: Fri, 20 Nov 2026 16:45:00 +0100\n"
        b"Message-ID: <pilot-1@solaris.example>\n\nWe can start the pilot in January.\n"
    ),
}


@dataclass(frozen=True)
class Example:
    page: Path
    line: int
    command: str
    not_run: str | None = None

    @property
    def where(self) -> str:
        shown = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{shown}:{self.line}"


def _blocks(page: Path) -> Iterator[tuple[int, str, list[tuple[int, str]], str | None]]:
    """(line of the fence, language, its lines with numbers, the not-run reason) per block."""
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        fence = lines[index]
        if not fence.startswith("```"):
            index += 1
            continue
        previous = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        mark = NOT_RUN.match(previous)
        body: list[tuple[int, str]] = []
        index += 1
        while index < len(lines) and not lines[index].startswith("```"):
            body.append((index + 1, lines[index]))
            index += 1
        yield index - len(body), fence[3:].strip(), body, mark.group(1) if mark else None
        index += 1


def examples(page: Path) -> list[Example]:
    """The examples of a page, in order (see the module docstring for what counts)."""
    found: list[Example] = []
    for _, language, body, not_run in _blocks(page):
        if language not in SHELL_BLOCKS:
            continue
        if any(COMPOUND.match(text) for _, text in body):
            command = "\n".join(text for _, text in body)
            if CRM_COMMAND.search(command):
                found.append(Example(page, body[0][0], command, not_run))
            continue
        pending: list[str] = []
        start = 0
        for number, text in body:
            if not pending:
                start = number
            pending.append(text[:-1] if text.endswith("\\") else text)
            if text.endswith("\\"):
                continue
            command = " ".join(part.strip() for part in pending)
            pending = []
            code = command.split(" #", 1)[0] if not command.startswith("#") else ""
            if CRM_COMMAND.search(code):
                found.append(Example(page, start, command, not_run))
    return found


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory, crm_exe: str) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    target = folder / "demo.db"
    env = _environment(folder)
    subprocess.run(
        [crm_exe, "demo", "--path", str(target)],
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    return target


def _environment(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "XDG_"))}
    crm_folder = Path(installed_crm()).parent  # the crm of this venv, on PATH or not
    return {
        **keep,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "CRM_NOW": FIXED_NOW,
        "TZ": "UTC",
        "EDITOR": "false",
        "VISUAL": "false",
        "PATH": f"{home / 'bin'}:{crm_folder}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    }


def _sandbox(home: Path, demo: Path) -> dict[str, str]:
    for name, content in SANDBOX_FILES.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_bytes(content)
    (home / "outbox").mkdir()
    (home / "bin").mkdir()
    for stub in STUBS:
        script = home / "bin" / stub
        script.write_text(f'#!/bin/sh\n{{ echo "args: $*"; cat; }} >> "$HOME/{stub}.log"\n')
        script.chmod(0o755)
    (home / "crm.db").write_bytes(demo.read_bytes())
    return {**_environment(home), "CRM_DB": str(home / "crm.db")}


def run_page(page: Path, home: Path, demo: Path) -> list[str]:
    """Run a page's examples in order; one line per failure, naming the file and line."""
    env = _sandbox(home, demo)
    failures = []
    for example in examples(page):
        if example.not_run is not None:
            continue
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", example.command],
            cwd=home,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            said = " | ".join(result.stderr.strip().splitlines()[-3:])
            failures.append(
                f"{example.where}: `{example.command}` exited {result.returncode}: {said}"
            )
    return failures


@pytest.fixture(scope="module")
def page_failures(
    tmp_path_factory: pytest.TempPathFactory, demo_template: Path
) -> dict[Path, list[str]]:
    """Every page's failures; the pages run side by side (each in its own sandbox)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(page: Path) -> list[str]:
        return run_page(page, tmp_path_factory.mktemp("sandbox"), demo_template)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(zip(PAGES, pool.map(one, PAGES), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_on_the_page_runs(page: Path, page_failures: dict[Path, list[str]]) -> None:
    failures = page_failures[page]
    assert not failures, "examples that fail when pasted:\n" + "\n".join(failures)


def test_not_run_marks_have_reasons_and_are_rare() -> None:
    found = [example for page in PAGES for example in examples(page)]
    marked = [example for example in found if example.not_run is not None]
    for example in marked:
        assert len(str(example.not_run).split()) >= 2, f"{example.where}: say why it is not run"
    assert len(marked) <= MOST_NOT_RUN * len(found), f"{len(marked)} of {len(found)} not run"


def test_the_collector_finds_what_a_reader_would_paste(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Intro `crm inline` is prose.\n\n"
        "```sh\n"
        'crm contact add "Ann Lee" \\\n'
        "    --company Acme       # continued\n"
        "python3 -m venv .venv   # no crm: not an example\n"
        "# crm in a comment only\n"
        "cat a.csv | crm import -\n"
        "```\n\n"
        "<!-- not run: needs a mail server -->\n"
        "```sh\n"
        "crm greet --due\n"
        "```\n\n"
        "```text\n"
        "crm output, not a command\n"
        "```\n",
        encoding="utf-8",
    )
    found = [(e.line, e.command, e.not_run) for e in examples(page)]
    assert found == [
        (4, 'crm contact add "Ann Lee" --company Acme       # continued', None),
        (8, "cat a.csv | crm import -", None),
        (13, "crm greet --due", "needs a mail server"),
    ]


@pytest.mark.slow
def test_a_failing_example_is_reported_with_its_file_and_line(
    tmp_path: Path, demo_template: Path
) -> None:
    broken = tmp_path / "broken.md"
    broken.write_text("Text.\n\n```sh\ncrm agenda\ncrm contact show nobody-at-all\n```\n")
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    [failure] = run_page(broken, sandbox, demo_template)
    assert failure.startswith(f"{broken}:5: `crm contact show nobody-at-all` exited 1: Error: ")


@pytest.mark.slow
def test_the_cron_mail_example_mails_the_agenda(tmp_path: Path, demo_template: Path) -> None:
    """docs/agenda.md's mail example, through the stand-in `mail`: the body is the agenda."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    assert run_page(ROOT / "docs" / "agenda.md", sandbox, demo_template) == []
    mailed = (sandbox / "mail.log").read_text(encoding="utf-8")
    assert mailed.startswith("args: -s Today's agenda me@example.com\n")
    assert "Overdue" in mailed and "Call back about the invoice" in mailed
