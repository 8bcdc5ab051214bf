"""`crm contact edit` in $EDITOR while another process changes the same contact: only what the
user changed is applied, and a change made meanwhile is never silently dropped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import Cli

# First call: another crm process adds an email and a tag to the contact while "the user"
# adds an email of their own, changes the company and adds a tag. Later calls: save as is.
_EDITOR = """
import pathlib, subprocess, sys
form = pathlib.Path(sys.argv[1])
calls = pathlib.Path(__file__).with_suffix(".calls")
seen = calls.read_text() if calls.exists() else ""
calls.write_text(seen + "\\f" + form.read_text())
if not seen:
    subprocess.run([sys.executable, "-m", "crmcli", "contact", "edit", "1",
                    "-e", "theirs@example.com", "-t", "from-import"], check=True)
    text = form.read_text().replace("company: Acme", "company: Acme Ltd")
    text = text.replace("tags: lead", "tags: lead, mine")
    form.write_text(text + "email: mine@example.com\\n")
"""


@pytest.fixture
def racing_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "editor.py"
    script.write_text(_EDITOR, encoding="utf-8")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    return script.with_suffix(".calls")


def test_a_change_made_meanwhile_reopens_the_form_with_both(cli: Cli, racing_editor: Path) -> None:
    cli("contact", "add", "Ann Lee", "--company", "Acme", "-e", "ann@example.com", "-t", "lead")
    result = cli("contact", "edit", "1", "--editor")
    assert "Contact 1 was changed elsewhere while you were editing; nothing was saved yet" in (
        result.stderr
    )
    first, second = racing_editor.read_text().split("\f")[1:]
    assert "theirs@example.com" not in first
    # the reopened form: what changed meanwhile as comments, the merged contact as the form
    assert "#   + email: theirs@example.com" in second
    assert "#   + tags: from-import, lead" in second
    assert "\ncompany: Acme Ltd\n" in second and "\nemail: mine@example.com\n" in second
    assert "\nemail: theirs@example.com\n" in second
    shown = cli.json("contact", "show", "1")
    assert shown["company"] == "Acme Ltd"
    assert [e["email"] for e in shown["emails"]] == [
        "ann@example.com",
        "theirs@example.com",
        "mine@example.com",
    ]
    assert sorted(shown["tags"]) == ["from-import", "lead", "mine"]


def test_only_what_the_user_changed_is_applied(cli: Cli, fake_editor: object) -> None:
    cli("contact", "add", "Ann Lee", "--company", "Acme", "-e", "ann@example.com", "-t", "lead")
    fake_editor(("company: Acme", "company: Acme Ltd"))  # type: ignore[operator]
    assert cli("contact", "edit", "1", "--editor").stderr == "Updated contact 1: Ann Lee\n"
    shown = cli.json("contact", "show", "1")
    assert shown["company"] == "Acme Ltd" and shown["tags"] == ["lead"]
