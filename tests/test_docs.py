"""Docs that cannot drift: the CLI reference is the commands' own --help, and every command has help."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmcli.cli._reference import command_paths, help_text, render_reference

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_reference_matches_help() -> None:
    expected = render_reference()
    actual = (DOCS / "reference.md").read_text(encoding="utf-8")
    assert actual == expected, (
        "docs/reference.md is out of date: run python -m crmcli.cli._reference > docs/reference.md"
    )


@pytest.mark.parametrize("path", [p for p in command_paths() if p], ids=" ".join)
def test_every_command_has_help_and_is_in_reference(path: list[str]) -> None:
    text = help_text(path)
    usage, _, rest = text.partition("\n")
    assert usage.startswith("Usage: crm "), usage
    assert rest.strip().split("\n")[0].strip(), f"crm {' '.join(path)} has no help text"
    assert f"\n## crm {' '.join(path)}\n" in (DOCS / "reference.md").read_text(encoding="utf-8")


def test_docs_pages_linked_from_guide_exist() -> None:
    guide = (DOCS / "guide.md").read_text(encoding="utf-8")
    import re

    for target in re.findall(r"\]\(([\w./-]+\.md)\)", guide):
        assert (DOCS / target).is_file(), f"guide.md links to missing {target}"


def test_root_table_help_matches_each_command() -> None:
    """`crm --help` lists commands from a table (no imports); it must say what each command says."""
    from crmcli.cli import COMMANDS, load_command

    for name, entry in COMMANDS.items():
        command = load_command(name)
        first_line = (command.help or "").strip().split("\n")[0].strip()
        assert first_line == entry.help, (
            f"crm {name}: table says {entry.help!r}, help says {first_line!r}"
        )
