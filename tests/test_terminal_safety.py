"""Hostile text on a real terminal: every command that shows data, run on a pseudo-terminal
with names, notes and labels full of escape sequences and rich markup, shows none of them raw.

The data arrives as it would: a CSV from someone else (names, companies, tags, notes, custom
fields, dates), then reminders, deals, labels and a template typed from it, and a foreign
database whose trigger has an escape sequence in its name.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import pty
import re
import sqlite3
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from crmcli import controls
from crmcli.cli._output import emit
from tests.conftest import Cli

TITLE = "\x1b]0;pwned\x07"  # retitles the terminal
CLEAR = "\x1b[2J\x1b[H"  # clears the screen
CLIPBOARD = "\x1b]52;c;ZXZpbA==\x07"  # writes the clipboard (OSC 52)
CSI8 = "\x9b31m"  # C1 CSI: red, on terminals that take 8-bit controls
SGR = "\x1b[5;31mBLINK"
OVERWRITE = "\rFAKE"
BIDI = "\u202egnp.exe"
MARKUP = "[/b][link=https://evil.example]click[/link][red]R"
PAYLOADS = [TITLE, CLEAR, CLIPBOARD, CSI8, SGR, OVERWRITE, BIDI, MARKUP]
HOSTILE = "".join(PAYLOADS)

#: what a command may write to the terminal itself: rich's SGR styles, and CR LF line ends
_OWN_SGR = re.compile(rb"\x1b\[[0-9;]*m")


def assert_no_raw_escape(output: bytes, command: str) -> None:
    text = _OWN_SGR.sub(b"", output.replace(b"\r\n", b"\n"))
    for raw in (b"\x1b", b"\x07", b"\r", b"\xc2\x9b", "\u202e".encode()):
        assert raw not in text, f"crm {command}: raw {raw!r} reached the terminal"
    assert SGR.encode() not in output, f"crm {command}: {SGR!r} reached the terminal"


def run_on_terminal(args: list[str], cwd: Path) -> bytes:
    """Run the installed crm on a pseudo-terminal (200 columns); all it writes, both streams."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    env["CRM_PAGER"] = "cat"  # what crm writes, not what a pager makes of it (test_pager.py)
    crm = str(Path(sys.executable).with_name("crm"))
    process = subprocess.Popen(
        [crm, *args], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    process.wait(timeout=60)
    return b"".join(chunks)


def hostile_csv(path: Path) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["first name", "last name", "company", "email", "tags", "notes",
                     "birthday", "field:x", "city", f"date:visit{CLEAR}"])  # fmt: skip
    writer.writerow(
        [f"Eve{TITLE}", HOSTILE, f"Acme{CLIPBOARD}", "eve@example.com", f"vip{SGR}",
         f"note {HOSTILE}", "1980-11-23", HOSTILE, MARKUP, "2020-11-24"]
    )  # fmt: skip
    writer.writerow(["Bob", MARKUP, MARKUP, "bob@example.com", "lead", MARKUP, "", "", "", ""])
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.fixture
def hostile_book(cli: Cli, tmp_path: Path) -> Path:
    source = tmp_path / "hostile.csv"
    hostile_csv(source)
    cli("import", str(source))
    cli("remind", "1", f"call {HOSTILE}", "--due", "today")
    cli("deal", "add", "1", f"deal {HOSTILE}", "--value", "100")
    cli("deal", "add", "2", MARKUP, "--value", "50")
    cli("deal", "lost", "2", "--reason", HOSTILE, "--yes", code=None)
    cli("template", "add", "hi", "--subject", f"Hi {{first_name}} {MARKUP}", "--body", HOSTILE)
    cli("greet", "rule", "add", "birthday", "hi")
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    cli("greet", "--due", "--outbox", str(outbox), code=None)
    cli("purchase", "add", "1", "--amount", "120", "--product", f"widget {HOSTILE}")
    cli("purchase", "add", "2", "--amount", "80", "--product", MARKUP, "--ref", HOSTILE)
    cli("contact", "edit", "2", "--referred-by", "1")
    cli("segment", "add", "hostile", f"company:acme{CLIPBOARD}")
    # Eve again (3): a duplicate for crm dedupe and crm contact merge to show
    cli("contact", "add", "--first", f"Eve{CLEAR}", "--last", HOSTILE, "-e", "EVE@example.com",
        "--force", "--title", SGR)  # fmt: skip
    cli("campaign", "add", "hostile", "--segment", "hostile", "--template", "hi")
    cli("contact", "edit", "1", "--email-optout", "--consent-source", HOSTILE)
    cli("rule", "add", "--on", "contact-added", "--remind", "+1d", f"call {HOSTILE}")
    cli("contact", "add", f"Neo{TITLE}", "-e", "neo@example.com", "--company", f"Acme{CLIPBOARD}")
    # a contacts vdir with a hostile card (new to crmcli) and a hostile file name (not a card)
    vdir = tmp_path / "vdir"
    vdir.mkdir()
    card = f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u{CLEAR}\r\nFN:Vic {HOSTILE}\r\nEND:VCARD\r\n"
    (vdir / "hostile.vcf").write_text(card, encoding="utf-8")
    (vdir / f"bad{TITLE}.vcf").write_text(HOSTILE, encoding="utf-8")
    config = tmp_path / "config" / "crmcli" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[sync]\ncontacts_dir = "{vdir}"\n', encoding="utf-8")
    return source


COMMANDS = [
    "contact list", "contact show 1", "contact show 2", "search eve", "tag list", "notes",
    "history 1", "reminders", "agenda", "deal list", "deal show 1", "deal show 2", "pipeline",
    "pipeline stats", "forecast", "dates", "template list", "template show hi", "greet log",
    "greet --due --dry-run", "export contacts", "export notes", "export deals", "export ics",
    "export contacts -f vcf", "contact list -f csv", "contact list -f json",
    "contact list -f tsv", "contact show 1 -f tsv", "contact show 1 -f json", "contact show eve",
    "purchase list", "customers", "referrals", "segment list", "segment show hostile",
    "export purchases", "contact list segment:hostile", "dedupe", "dedupe -f table",
    "contact merge 1 3 --dry-run", "contact merge 1 3 --dry-run -f tsv",
    "export purchases", "contact list segment:hostile", "campaign list", "campaign show hostile",
    "campaign preview hostile", "campaign preview hostile 1", "campaign send hostile --dry-run",
    "rule list", "contact export-data 1", "history 4", "reminders -f json",
    "sync --dry-run", "sync --dry-run -f tsv", "sync status",
]  # fmt: skip


@pytest.mark.slow
def test_no_command_shows_a_raw_escape(hostile_book: Path, tmp_path: Path) -> None:
    shown_hostile = 0
    for command in COMMANDS:
        output = run_on_terminal(command.split(), tmp_path)
        assert b"Traceback" not in output, f"crm {command}:\n{output.decode(errors='replace')}"
        assert_no_raw_escape(output, command)
        shown_hostile += b"\\x1b" in output or b"\\u001b" in output
        if command.startswith("sync --dry-run"):  # the card's name and the bad file's name
            assert output.count(b"\\x1b") >= 2, output
        if command == "contact list":  # markup is shown as the text it is, not interpreted
            assert b"[link=https://evil.example]click[/link][red]R" in output
    # nearly every view showed the data, escaped (sync status shows counts and a folder only)
    assert shown_hostile >= len(COMMANDS) - 7


@pytest.mark.slow
def test_import_dry_run_and_errors_on_a_terminal(hostile_book: Path, tmp_path: Path) -> None:
    output = run_on_terminal(["import", str(hostile_book), "--dry-run"], tmp_path)
    assert_no_raw_escape(output, "import --dry-run")
    assert b"Eve\\x1b]0;pwned\\x07" in output
    # an error that quotes the data (an ambiguous or missing reference)
    output = run_on_terminal(["contact", "show", f"nobody{TITLE}"], tmp_path)
    assert_no_raw_escape(output, "contact show (error)")
    assert output.startswith(b"Error: ")


@pytest.mark.slow
def test_db_check_names_a_hostile_object_safely(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    cli("--db", str(path), "contact", "add", "Ann")
    conn = sqlite3.connect(path)
    conn.execute(f'CREATE TRIGGER "t{TITLE}" AFTER INSERT ON notes BEGIN SELECT 1; END')
    conn.close()
    for command in (["db", "check"], ["contact", "list"]):
        output = run_on_terminal(["--db", str(path), *command], tmp_path)
        assert_no_raw_escape(output, " ".join(command))
        assert b"trigger t\\x1b]0;pwned\\x07 on notes" in output


def test_every_sink_escapes_control_characters() -> None:
    rows = [{"name": HOSTILE, "n": 1}]
    for fmt in ("tsv", "json", "jsonl"):
        out = io.StringIO()
        emit(rows, ["name", "n"], fmt, out=out)
        cells = out.getvalue().replace("\n", "").replace("\t", "")
        assert controls.pattern("control").search(cells) is None, fmt
    assert controls.visible("a\x1b]0;x\x07\u202e\x85b") == "a\\x1b]0;x\\x07\\u202e\\x85b"
    assert controls.visible("line\n\tnext\r", multiline=True) == "line\n\tnext\\r"
    assert controls.tsv_escaped("a\\b\tc\nd\x1b") == "a\\\\b\\tc\\nd\\x1b"
    assert controls.single_line("Acme\r\nBcc: x@evil\x1b") == "Acme Bcc: x@evil"


def test_listing_csv_follows_the_export_policy() -> None:
    out = io.StringIO()
    emit(
        [{"name": "=HYPERLINK(1)", "phone": "+44 20 7946 0000", "x": "-"}],
        ["name", "phone", "x"],
        "csv",
        out=out,
    )
    assert out.getvalue().splitlines() == ["name,phone,x", "'=HYPERLINK(1),'+44 20 7946 0000,'-"]


def test_views_build_no_markup_of_their_own() -> None:
    """Untrusted text meets the terminal in one place: views style through _output.text/line,
    never through rich markup strings or their own Text objects."""
    cli_folder = Path(__file__).resolve().parent.parent / "crmcli" / "cli"
    offenders = []
    for path in sorted(cli_folder.glob("*.py")):
        if path.name == "_output.py":
            continue
        source = path.read_text(encoding="utf-8")
        for needle in ("rich.markup", "rich.text", "[bold", "[dim]", "[red]", "markup=True"):
            if needle in source:
                offenders.append(f"{path.name}: {needle}")
    assert offenders == []


def test_the_printable_shortcut_never_skips_a_control_character() -> None:
    # controls.visible, tsv_escaped and single_line return a printable text untouched without
    # compiling their patterns: that is right only if every character a pattern matches is
    # one str.isprintable() refuses (json_safe's shortcut: ASCII without DEL)
    for name in ("control", "control_but_layout", "tsv_special", "json_raw"):
        found = controls.pattern(name)
        matched = [chr(code) for code in range(0x110000) if found.match(chr(code))]
        assert matched, name
        assert [c for c in matched if c.isprintable() and c != "\\"] == [], name
        if name == "json_raw":
            assert [c for c in matched if c.isascii() and c != "\x7f"] == []
    hostile = "a\x1b]0;x\x07b\u202ec\x7f\\"
    assert controls.visible(hostile) == "a\\x1b]0;x\\x07b\\u202ec\\x7f\\"
    assert controls.tsv_escaped(hostile) == "a\\x1b]0;x\\x07b\\u202ec\\x7f\\\\"
    assert controls.json_safe('"\x7f"') == '"\\u007f"'
    assert controls.single_line("To: a\r\nBcc: b") == "To: a Bcc: b"
