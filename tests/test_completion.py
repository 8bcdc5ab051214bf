"""Shell completion (bash, zsh, fish) and the manual page, as the shells and man use them."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crmcli import completion, db
from tests.conftest import Cli, installed_crm


@pytest.fixture
def book(cli: Cli, db_path: Path) -> Path:
    cli("contact", "add", "Ann Lee", "--company", "Acme", "-e", "ann@acme.example", "-t", "lead")
    cli("contact", "add", "Anna Berg", "-t", "vip")
    cli("contact", "add", "Bob Stone", "-e", "bob@stone.example", "-t", "lead")
    cli("contact", "rm", "bob", "--yes")
    cli("template", "add", "birthday", "--subject", "Happy birthday", "--body", "Hi {first_name}")
    return db_path


def ask(shell: str, words: str, current: str) -> list[str]:
    """What crm answers a shell's completion request (the protocol the scripts speak)."""
    env = {
        **os.environ,
        "COMP_WORDS": words,
        "COMP_CUR": current,
        "_CRM_COMPLETE": f"complete_{shell}",
    }
    result = subprocess.run(
        [installed_crm()],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_contacts_complete_by_email_name_and_word(cli: Cli, book: Path) -> None:
    conn = db.connect(book)
    try:
        assert completion.contacts(conn, "ann") == [
            completion.Candidate("ann@acme.example", "Ann Lee (Acme)"),
            completion.Candidate("anna Berg", "Anna Berg"),
        ]
        # what was typed keeps its case; a later word of the name is found too
        assert [c.value for c in completion.contacts(conn, "Ann")] == [
            "Ann@acme.example",
            "Anna Berg",
        ]
        assert completion.contacts(conn, "berg") == [completion.Candidate("berg", "Anna Berg")]
        assert completion.contacts(conn, "bob") == []  # in the trash
        assert completion.contacts(conn, "") == []  # never the whole book
        assert completion.contacts(conn, "1")[0].value == "1"
        assert completion.contacts(conn, "%") == []  # LIKE wildcards are plain text
        assert [c.value for c in completion.tags(conn, "")] == ["lead", "vip"]
        assert completion.stages(conn, "neg") == [completion.Candidate("negotiation", "open, 75%")]
        assert completion.templates(conn, "b") == [
            completion.Candidate("birthday", "Happy birthday")
        ]
        assert completion.segments(conn, "") == []
    finally:
        conn.close()
    cli("segment", "add", "vip-berlin", "tag:vip city:berlin")
    conn = db.connect(book)
    try:
        assert completion.segments(conn, "vip") == [completion.Candidate("vip-berlin", "")]
        conn.execute("DROP TABLE segments")  # an older schema: no segments, no error
        assert completion.segments(conn, "vip") == []
    finally:
        conn.close()


@pytest.mark.slow
def test_each_shell_gets_its_own_format(book: Path) -> None:
    assert ask("bash", "crm contact show", "ann") == ["ann@acme.example", "anna\\ Berg"]
    assert ask("zsh", "crm contact show", "ann") == [
        "ann@acme.example:Ann Lee (Acme)",
        "anna Berg:Anna Berg",
    ]
    assert ask("fish", "crm", "ag") == [  # descriptions are one line of at most 80 characters
        "agenda\tShow what to do: overdue reminders, today's, the coming days, contacts due a tou"
    ]
    assert ask("bash", "crm contact list --tag", "") == ["lead", "vip"]
    assert ask("bash", "crm deal add ann seats --stage", "q") == ["qualified"]
    assert ask("bash", "crm template show", "") == ["birthday"]
    assert ask("bash", "crm import", "") == [":files"]  # the shell completes file names
    assert ask("bash", "crm export notes -o", "x") == [":files"]
    assert ask("bash", "crm contact show", "--f") == ["--format"]
    # --db is honoured: another database, other names
    assert ask("bash", f"crm --db {book.parent / 'other.db'} contact show", "ann") == []


@pytest.mark.slow
def test_bash_completes_in_a_real_bash(book: Path, crm_exe: str) -> None:
    script = subprocess.run(
        [crm_exe, "completion", "bash"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    program = (
        f"{script}\n"
        "complete -p crm\n"
        "COMP_WORDS=(crm contact show an); COMP_CWORD=3; _crm_completion\n"
        'printf "<%s>\\n" "${COMPREPLY[@]}"\n'
        "COMP_WORDS=(crm ag); COMP_CWORD=1; _crm_completion\n"
        'printf "<%s>\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{Path(crm_exe).parent}:{os.environ['PATH']}"}
    out = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "complete -F _crm_completion crm",
        "<ann@acme.example>",
        "<anna\\ Berg>",
        "<agenda>",
    ]


@pytest.mark.slow
def test_fish_completes_in_a_real_fish(book: Path, crm_exe: str) -> None:
    fish = shutil.which("fish")
    if fish is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have fish (.ci/run installs it)")
        pytest.skip("fish is not installed here (CI installs it)")
    env = {**os.environ, "PATH": f"{Path(crm_exe).parent}:{os.environ['PATH']}"}
    out = subprocess.run(
        [fish, "--no-config", "-c", 'crm completion fish | source; complete -C "crm contact show ann"; complete -C "crm pipe"'],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "ann@acme.example\tAnn Lee (Acme)",
        "anna Berg\tAnna Berg",
        "pipeline\tThe pipeline board: open deals by stage, with totals. 'crm pipeline stats' for r",
    ]


@pytest.mark.slow
def test_zsh_completes_at_a_real_prompt(book: Path, tmp_path: Path, crm_exe: str) -> None:
    zsh, tmux = shutil.which("zsh"), shutil.which("tmux")
    if zsh is None or tmux is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have zsh and tmux (.ci/run installs them)")
        pytest.skip("zsh or tmux is not installed here (CI installs them)")
    script = tmp_path / "_crm"
    with script.open("w", encoding="utf-8") as handle:
        subprocess.run([crm_exe, "completion", "zsh"], stdout=handle, check=True)
    session = f"crm-test-{os.getpid()}"
    env = {**os.environ, "PATH": f"{Path(crm_exe).parent}:{os.environ['PATH']}"}
    socket = ["-S", str(tmp_path / "tmux.sock")]

    def tmux_(*args: str) -> str:
        return subprocess.run(
            [tmux, *socket, *args], env=env, capture_output=True, text=True, check=True, timeout=30
        ).stdout

    tmux_("new-session", "-d", "-s", session, "-x", "120", "-y", "20", f"{zsh} -f")
    try:
        tmux_(
            "send-keys",
            "-t",
            session,
            f"autoload -U compinit && compinit -u && source {script}",
            "Enter",
        )
        tmux_("send-keys", "-t", session, "crm contact show ann@", "Tab")
        screen = ""
        for _ in range(50):  # wait for the line to be completed, at most 5 s
            time.sleep(0.1)
            screen = tmux_("capture-pane", "-t", session, "-p")
            if "crm contact show ann@acme.example" in screen:
                break
        assert "crm contact show ann@acme.example" in screen, screen
    finally:
        subprocess.run([tmux, *socket, "kill-server"], env=env, capture_output=True, check=False)


def test_the_root_completes_from_its_table_without_importing_commands(book: Path) -> None:
    code = (
        "import os, sys; os.environ.update(COMP_WORDS='crm', COMP_CUR='', _CRM_COMPLETE='complete_bash');"
        "sys.argv = ['crm'];"
        "from crmcli.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = [m for m in ('crmcli.cli.contacts', 'crmcli.cli.deals', 'rich') if m in sys.modules]\n"
        "print('LOADED', loaded, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "LOADED []" in out.stderr
    assert "contact" in out.stdout.splitlines() and "completion" in out.stdout.splitlines()


def test_scripts_and_install(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for shell in ("bash", "zsh", "fish"):
        assert "_CRM_COMPLETE=complete_" + shell in cli("completion", shell).stdout
    monkeypatch.setenv("SHELL", "/usr/bin/fish")
    result = cli("completion", "install")
    config, data = tmp_path / "config", tmp_path / "data"
    assert (config / "fish" / "completions" / "crm.fish").read_text() == cli(
        "completion", "fish"
    ).stdout
    assert (data / "man" / "man1" / "crm.1").read_text() == cli("completion", "man").stdout
    assert result.stderr.splitlines()[0] == (
        f"Installed fish completion: {config / 'fish' / 'completions' / 'crm.fish'}"
    )
    zsh = cli("completion", "install", "--shell", "zsh").stderr
    assert f"fpath=({data / 'zsh' / 'site-functions'} $fpath)" in zsh
    monkeypatch.setenv("SHELL", "/bin/tcsh")
    assert "cannot tell your shell" in cli("completion", "install", code=2).stderr


def test_man_page_is_the_reference_as_roff(cli: Cli, tmp_path: Path) -> None:
    page = cli("completion", "man").stdout
    assert page.startswith(".TH CRM 1 ")
    assert '.SS "crm contact add"' in page and '.SS "crm completion install"' in page
    groff = shutil.which("groff")
    if groff is None:
        return
    source = tmp_path / "crm.1"
    source.write_text(page, encoding="utf-8")
    shown = subprocess.run(  # -P-cbou: plain text, no bold or underline
        [groff, "-man", "-Tutf8", "-ww", "-P-cbou", str(source)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr  # no roff warnings
    text = shown.stdout
    assert "Usage: crm contact add [OPTIONS] [name]" in text
    assert "--04-15" in text  # a backslash-free, dash-intact copy of the help


def test_no_database_means_no_names_and_no_error(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert ask("bash", f"crm --db {missing} contact show", "a") == []
    assert not missing.exists()
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not a database" * 100)
    assert ask("bash", f"crm --db {broken} contact show", "a") == []
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(broken).execute("SELECT 1 FROM contacts")


@pytest.mark.slow
def test_hostile_names_reach_the_shell_as_plain_text(cli: Cli, db_path: Path) -> None:
    cli("contact", "add", "--display", "Evil\x1b]0;pwned\x07 Name", "-e", "evil@x.example")
    for shell in ("bash", "zsh", "fish"):
        for current in ("evil", "Evil"):
            answer = "\n".join(ask(shell, "crm contact show", current))
            assert answer and "\x1b" not in answer and "\x07" not in answer, (shell, answer)
