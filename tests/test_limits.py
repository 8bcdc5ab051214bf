"""The size limits of crmcli/ (STYLE.md): no file over 800 lines, no function over 80.

Long files and functions are where the next change copies code instead of sharing it, so the
limits are checked here, in CI, rather than by whoever reviews. ``python tests/test_limits.py``
prints the longest functions and files, for planning a clean-up.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import NamedTuple

PACKAGE = Path(__file__).resolve().parent.parent / "crmcli"
MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 80

# Allowances, each with its reason. Keep them few and specific: a new entry needs a reason as
# good as these.

#: files allowed past MAX_FILE_LINES
ALLOWED_FILES: dict[str, str] = {
    "migrations.py": "migrations are only ever appended (STYLE.md); released ones never move",
}
#: files whose functions are allowed past MAX_FUNCTION_LINES
ALLOWED_FUNCTIONS: dict[str, str] = {
    "migrations.py": "released migrations are never edited (STYLE.md)",
}


class Length(NamedTuple):
    lines: int
    where: str  # "cli/contacts.py:139 add"
    path: str  # relative to crmcli/


def file_lengths(root: Path = PACKAGE) -> list[Length]:
    """Every Python file below ``root`` by its number of lines, longest first."""
    found = []
    for path in sorted(root.rglob("*.py")):
        count = len(path.read_text(encoding="utf-8").splitlines())
        relative = path.relative_to(root).as_posix()
        found.append(Length(count, relative, relative))
    return sorted(found, reverse=True)


def function_lengths(root: Path = PACKAGE) -> list[Length]:
    """Every function and method below ``root`` (nested ones too), by lines from its first
    decorator to its last line, longest first."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                end = node.end_lineno or node.lineno
                where = f"{relative}:{node.lineno} {node.name}"
                found.append(Length(end - first + 1, where, relative))
    return sorted(found, reverse=True)


def test_no_file_is_over_the_limit() -> None:
    over = [
        f"{f.where}: {f.lines} lines"
        for f in file_lengths()
        if f.lines > MAX_FILE_LINES and f.path not in ALLOWED_FILES
    ]
    assert over == [], f"split by capability (limit {MAX_FILE_LINES} lines)"


def test_no_function_is_over_the_limit() -> None:
    over = [
        f"{f.where}: {f.lines} lines"
        for f in function_lengths()
        if f.lines > MAX_FUNCTION_LINES and f.path not in ALLOWED_FUNCTIONS
    ]
    assert over == [], f"shorten these (limit {MAX_FUNCTION_LINES} lines)"


def test_the_allowances_name_real_files() -> None:
    # a file renamed or removed leaves a stale allowance behind: it would hide a new file later
    missing = [p for p in {*ALLOWED_FILES, *ALLOWED_FUNCTIONS} if not (PACKAGE / p).is_file()]
    assert missing == []


def test_every_allowance_is_still_needed() -> None:
    # an allowance left behind after its file was shortened would let it grow again unseen
    long_files = {f.path for f in file_lengths() if f.lines > MAX_FILE_LINES}
    long_functions = {f.path for f in function_lengths() if f.lines > MAX_FUNCTION_LINES}
    assert set(ALLOWED_FILES) - long_files == set()
    assert set(ALLOWED_FUNCTIONS) - long_functions == set()


def test_the_measure_counts_decorators_nested_functions_and_lines(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "sub" / "mod.py").write_text(
        "import x\n\n\n@decorator\n@other(1)\ndef outer():\n"
        "    def inner():\n        return 1\n\n    return inner\n",
        encoding="utf-8",
    )
    (package / "top.py").write_text("class A:\n    async def run(self):\n        pass\n")
    assert function_lengths(package) == [
        Length(7, "sub/mod.py:6 outer", "sub/mod.py"),
        Length(2, "top.py:2 run", "top.py"),
        Length(2, "sub/mod.py:7 inner", "sub/mod.py"),
    ]
    assert file_lengths(package) == [
        Length(10, "sub/mod.py", "sub/mod.py"),
        Length(3, "top.py", "top.py"),
    ]


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    print(f"longest files (limit {MAX_FILE_LINES}):")
    for length in file_lengths()[:rows]:
        print(f"  {length.lines:5d}  {length.where}")
    print(f"longest functions (limit {MAX_FUNCTION_LINES}):")
    for length in function_lengths()[:rows]:
        print(f"  {length.lines:5d}  {length.where}")
