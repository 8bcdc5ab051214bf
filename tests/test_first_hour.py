"""What a new user meets in the first hour (issue 16): suggestions, ids in pipes, dates that
start with '-', past dates, the search limit, --db folders, greetings, Ctrl-C at a prompt."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from crmcli import templates
from tests.conftest import Cli

BIN = str(Path(sys.executable).parent)


# --- 4. "did you mean" at the top level -----------------------------------------------------------


def test_a_misspelt_command_gets_a_suggestion(cli: Cli) -> None:
    assert "No such command 'agnda'. Did you mean 'agenda'?" in cli("agnda", code=2).stderr
    assert "Did you mean 'pipeline'?" in cli("pipline", code=2).stderr
    assert cli("xyzzy", code=2).stderr.endswith("Error: No such command 'xyzzy'.\n")


# --- 7. --db and CRM_DB: only the default folder is created ---------------------------------------


def test_a_missing_folder_in_db_or_crm_db_is_an_error(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_path: Path
) -> None:
    typo = tmp_path / "no" / "such" / "dir" / "x.db"
    for args in (("contact", "add", "Ann"), ("contact", "list")):
        result = cli("--db", str(typo), *args, code=1)
        assert result.stderr == (
            f"Error: folder {typo.parent} does not exist, so there is no database x.db in it "
            "(from the --db option); check the path, or create the folder first\n"
        )
    monkeypatch.setenv("CRM_DB", str(typo))
    assert "(from $CRM_DB)" in cli("agenda", code=1).stderr
    assert not (tmp_path / "no").exists()
    monkeypatch.delenv("CRM_DB")
    cli("contact", "add", "Ann")  # the default location: its folder is made
    assert db_path.exists()


# --- 9. search says what it did not show ----------------------------------------------------------


def test_search_says_how_many_were_not_shown(cli: Cli) -> None:
    for n in range(5):
        cli("contact", "add", f"Acme Person{n}", "--company", "Acme")
    result = cli("search", "acme", "--limit", "3")
    assert len(result.stdout.splitlines()) == 4  # header and 3 rows
    assert result.stderr == (
        "2 more of 5 matches not shown; see them with --limit 5, or narrow the search\n"
    )
    assert cli("search", "acme", "--limit", "5").stderr == ""


# --- 10. create commands print the new id when piped -----------------------------------------------


def test_create_commands_print_the_new_id_in_a_pipe(cli: Cli) -> None:
    assert cli("contact", "add", "Ann Lee").stdout == "1\n"
    assert cli("note", "ann", "Called").stdout == "1\n"
    assert cli("remind", "ann", "call back", "--due", "+2d").stdout == "1\n"
    assert cli("deal", "add", "ann", "Seats", "--value", "100").stdout == "1\n"
    assert cli("stage", "add", "demo").stdout == "demo\n"
    assert cli("template", "add", "hi", "--subject", "Hi", "--body", "Hi {first_name}").stdout == (
        "hi\n"
    )
    assert cli("greet", "rule", "add", "birthday", "hi").stdout == "1\n"
    # with --format, the record instead of the bare id
    assert cli("contact", "add", "Bo Ray", "--format", "json").stdout.startswith("{")


# --- 11. dates that start with '-' ----------------------------------------------------------------


def test_dates_starting_with_a_dash_are_dates(cli: Cli) -> None:
    assert cli("when", "-1w").stdout == "Mon 2026-11-16\n"
    cli("contact", "add", "Ann Lee")
    cli("dates", "add", "ann", "birthday", "--04-15")
    assert cli.json("contact", "show", "ann")["birthday"] == "--04-15"
    cli("remind", "ann", "x", "--due", "+3d")
    snoozed = cli("snooze", "1", "-1d")  # from today: yesterday, in the past
    assert "Reminder 1 snoozed to Sun 2026-11-22" in snoozed.stderr
    # a real typo is still an unknown option
    assert "No such option: --dew" in cli("snooze", "1", "--dew", code=2).stderr


# --- 12. a due date in the past --------------------------------------------------------------------


def test_a_past_due_date_is_warned_about_in_a_script(cli: Cli) -> None:
    cli("contact", "add", "Ann Lee")
    result = cli("remind", "ann", "call", "--due", "2026-11-01")
    assert result.stderr.splitlines() == [
        "Warning: due date Sun 2026-11-01 is in the past",
        "Reminder 1 due Sun 2026-11-01 (Ann Lee)",
    ]
    assert "Warning" not in cli("remind", "ann", "call", "--due", "today").stderr
    assert "Warning: snooze date" in cli("snooze", "1", "yesterday").stderr
    assert "Warning: due date" in cli("reminders", "edit", "1", "--due", "-3d").stderr


# --- 13. greetings --------------------------------------------------------------------------------


def test_greet_explains_an_empty_day_and_refuses_a_misspelt_occasion(cli: Cli) -> None:
    cli("template", "add", "card", "--subject", "Hi", "--body", "Happy {nth} birthday!")
    assert cli("greet", "--due").stderr == (
        "No greetings due today: no rule says when to send a template. "
        "Add one: crm greet rule add birthday card\n"
    )
    refused = cli("greet", "rule", "add", "birthdy", "card", code=1)
    assert refused.stderr == (
        "Error: unknown occasion 'birthdy'; did you mean 'birthday'? "
        "(occasions: birthday, anniversary)\n"
    )
    fresh = cli("greet", "rule", "add", "customer since", "card").stderr
    assert fresh.startswith("Note: no contact has a date labelled 'customer since' yet")


def test_outbox_without_a_from_address_warns(cli: Cli, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    cli("contact", "add", "Ann Lee", "-e", "ann@acme.example", "--birthday", "--11-23")
    cli(
        "template",
        "add",
        "card",
        "--subject",
        "Hi",
        "--body",
        "Happy {nth} birthday, {first_name}!",
    )
    cli("greet", "rule", "add", "birthday", "card")
    result = cli("greet", "--due", "--outbox", str(outbox))
    assert result.stderr.startswith(
        "Warning: no From address is set, so the messages say From: crm@localhost;"
    )
    [eml] = outbox.glob("*.eml")
    assert "Happy birthday, Ann!" in eml.read_text(encoding="utf-8")  # no year: no double space


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("Happy {nth} birthday", {"nth": ""}, "Happy birthday"),
        ("Happy {nth} birthday", {"nth": "40th"}, "Happy 40th birthday"),
        ("{years} years", {"years": ""}, "years"),
        ("Hi {first_name}!", {"first_name": "Ann"}, "Hi Ann!"),
        ("{{nth}} {nth}", {"nth": ""}, "{nth} "),
    ],
)
def test_an_empty_placeholder_takes_its_space_along(
    text: str, values: dict[str, str], expected: str
) -> None:
    assert templates.render(text, values) == expected


# --- 14. importing a workbook ---------------------------------------------------------------------


def test_importing_a_workbook_says_to_save_it_as_csv(cli: Cli, tmp_path: Path) -> None:
    book = tmp_path / "contacts.xlsx"
    book.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    result = cli("import", str(book), code=2)
    assert result.stderr == (
        "Error: contacts.xlsx is an Excel workbook, not a CSV file: save it as CSV (in Excel: "
        "File > Save As > CSV UTF-8) and import that file\n"
    )
    for name, what in (("people.ods", "a LibreOffice spreadsheet"),
                       ("Kunden.numbers", "an Apple Numbers document")):  # fmt: skip
        (tmp_path / name).write_bytes(b"PK\x03\x04" + b"\0" * 100)
        assert f"Error: {name} is {what}, not a CSV file" in cli("import", str(tmp_path / name),
                                                                  code=2).stderr  # fmt: skip
    assert "workbook" in cli("import", "-", input="PK\x03\x04rest", code=2).stderr


# --- 8. Ctrl-C at a prompt, and text typed in the editor ----------------------------------------


def test_editor_text_is_kept_when_the_form_is_given_up(
    cli: Cli, fake_editor: object, tmp_path: Path
) -> None:
    cli("contact", "add", "Ann Lee")
    fake_editor(("Ann", "Ann"), append="\nbirthday: not a date\nnote to self: long text\n")  # type: ignore[operator]
    result = cli("contact", "edit", "ann", "--editor", code=1)
    kept = sorted((tmp_path / "home" / ".local" / "state" / "crmcli" / "recovered").glob("*"))
    assert len(kept) == 1 and kept[0].name.startswith("contact-")
    assert "note to self: long text" in kept[0].read_text(encoding="utf-8")
    assert oct(kept[0].stat().st_mode & 0o777) == "0o600"
    assert f"What you typed is kept in {kept[0]}" in result.stderr


def _crm_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: crm on the terminal
        # A shell runs background jobs with Ctrl-C ignored, and a test run may have it blocked;
        # exec keeps both. A program started at a terminal has neither, so this one too.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
        os.execve(shutil.which("crm", path=BIN) or "crm", ["crm", *args], env)
    return pid, fd


def _wait(pid: int, seconds: float = 20, seen: bytes = b"") -> int:
    """The child's exit code; killed (and the test failed) if it hangs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"crm on the terminal did not finish in {seconds} s; it said {seen!r}")


def _read_until(fd: int, wanted: bytes, seconds: float = 10) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 1024)
            except OSError:
                break
    return seen


@pytest.mark.slow
def test_ctrl_c_at_a_question_exits_130(cli: Cli, db_path: Path) -> None:
    cli("contact", "add", "Ann Lee")
    env = {**os.environ, "CRM_DB": str(db_path), "TERM": "dumb"}
    pid, fd = _crm_on_a_terminal(["contact", "rm", "ann"], env)
    said = b""
    try:
        said = _read_until(fd, b"[y/N]: ")  # the space is written as the answer is read
        assert b"[y/N]: " in said
        time.sleep(0.3)  # a person reads the question first (and crm is waiting by then)
        os.write(fd, b"\x03")  # Ctrl-C, as the terminal sends it
        said += _read_until(fd, b"not saved")
    finally:
        code = _wait(pid, seen=said)
        os.close(fd)
    assert code == 130
    assert b"Interrupted; the current change was not saved." in said
    assert b"Aborted!" not in said
    assert cli.json("contact", "show", "ann")["name"] == "Ann Lee"  # still there


@pytest.mark.slow
def test_a_past_due_date_is_asked_about_on_a_terminal(cli: Cli, db_path: Path) -> None:
    cli("contact", "add", "Ann Lee")
    env = {**os.environ, "CRM_DB": str(db_path), "TERM": "dumb"}
    pid, fd = _crm_on_a_terminal(["remind", "ann", "call", "--due", "-2d"], env)
    try:
        question = _read_until(fd, b"[y/N]")
        os.write(fd, b"n\r")
        _read_until(fd, b"nothing was changed")
    finally:
        code = _wait(pid)
        os.close(fd)
    assert b"due date Sat 2026-11-21 is in the past; set it anyway? [y/N]" in question
    assert code == 1
    assert cli.json("reminders") == []


@pytest.mark.slow
def test_from_mail_offers_to_add_the_sender_on_the_terminal(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    """stdin is the piped message, so the question goes to the terminal itself (/dev/tty)."""
    message = tmp_path / "m.eml"
    message.write_bytes(
        b"From: Kim Park <kim@park.example>\nTo: me@example.com\nSubject: Hello\n"
        b"Date: Fri, 20 Nov 2026 10:00:00 +0000\nMessage-ID: <k1@park.example>\n\nHi there\n"
    )
    cli("contact", "add", "Ann Lee")  # the database exists; Kim is not in it
    env = {**os.environ, "CRM_DB": str(db_path), "TERM": "dumb"}
    pid, fd = pty.fork()
    if pid == 0:  # crm on the terminal, with the message piped to its stdin
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.dup2(os.open(message, os.O_RDONLY), 0)
        os.execve(shutil.which("crm", path=BIN) or "crm", ["crm", "note", "--from-mail"], env)
    said = b""
    try:
        said = _read_until(fd, b"[y/N]: ")
        os.write(fd, b"y\r")
        said += _read_until(fd, b"Added note")
    finally:
        code = _wait(pid, seen=said)
        os.close(fd)
    assert b"Add Kim Park <kim@park.example> as a contact? [y/N]" in said
    assert code == 0
    assert cli.json("notes", "--contact", "kim")[0]["body"] == "Subject: Hello\n\nHi there"
