"""The arrows between crmcli's layers (STYLE.md): ``cli -> domain -> db``, never back, and no
command module of the CLI leaning on another one.

Every import counts, at the top of a module or inside a function: a lazy import is still a
dependency. A command module (``crmcli/cli/deals.py``) may import the library, the shared CLI
pieces (``crmcli/cli/_*.py``) and the views (``crmcli/cli/views/``); what two commands both need
goes to one of those. Wiring a command into the tree by name (``COMMANDS`` in
``crmcli/cli/__init__.py``, ``CrmTyper.command_from``) is not an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "crmcli"
CLI = PACKAGE / "cli"
#: crmcli/cli/NAME.py files that hold commands (the root package and the _shared ones do not)
COMMAND_MODULES = sorted(
    p.stem for p in CLI.glob("*.py") if not p.stem.startswith("_") and p.stem != "__init__"
)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it; ``from a import b`` counts as ``a`` and
    ``a.b`` (b may be a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_the_library_never_imports_its_cli() -> None:
    wrong = [
        f"{_relative(path)}: {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        # python -m crmcli runs the CLI: the one module outside it that may name it
        if CLI not in path.parents and path != PACKAGE / "__main__.py"
        for name in sorted(imported(path))
        if name == "crmcli.cli" or name.startswith("crmcli.cli.")
    ]
    assert wrong == []


@pytest.mark.parametrize(
    "path",
    sorted(p for p in CLI.rglob("*.py") if p.name != "__init__.py" or p.parent != CLI),
    ids=_relative,
)
def test_cli_modules_import_no_command_module_but_their_own(path: Path) -> None:
    own = path.stem if path.parent == CLI else None
    commands = {f"crmcli.cli.{name}" for name in COMMAND_MODULES if name != own}
    assert sorted(imported(path) & commands) == []


def test_the_check_sees_lazy_and_from_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import os\nfrom crmcli.cli import deals\n\n"
        "def f():\n    from crmcli.cli.notes import NOTE_COLUMNS\n    import crmcli.cli.merge\n"
    )
    assert imported(module) >= {"crmcli.cli.deals", "crmcli.cli.notes", "crmcli.cli.merge"}
    assert {"deals", "notes", "merge", "contacts"} <= set(COMMAND_MODULES)
