"""The SQL floor of a read command: the statements it runs, replayed by the sqlite3 CLI.

A crm command runs in this process with SQLite's trace hook on its connection (parameters
come out inlined); its SELECT statements are written to a file that ``sqlite3 -readonly DB
".read FILE"`` replays in one process, printing every row. That process does the same
database work with nothing around it (no Python start-up, no Typer, no formatting), so the
ratio of the two says how far crm is from what its SQL costs.

    python benchmarks/read_floor.py DB agenda --format tsv     # the statements, printed
"""

from __future__ import annotations

import io
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from timing import Case


def statements(db: Path, args: list[str], env: dict[str, str]) -> list[str]:
    """The SELECT statements ``crm --db DB ARGS`` runs, in order."""
    from crmcli.cli import _common, app

    caught: list[str] = []
    real_connect = _common.connect  # type: ignore[attr-defined]

    def traced(*where: Any, **options: Any) -> Any:
        conn = real_connect(*where, **options)
        conn.set_trace_callback(caught.append)
        return conn

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("CRM_", "XDG_", "HOME"))})
    _common.connect = traced  # type: ignore[attr-defined]
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            app(["--db", str(db), *args], standalone_mode=False)
    finally:
        _common.connect = real_connect  # type: ignore[attr-defined]
        os.environ.clear()
        os.environ.update(saved)
    return [s.strip() for s in caught if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def replay_case(label: str, db: Path, args: list[str], env: dict[str, str], work: Path) -> Case:
    """A reference case: the sqlite3 CLI running the statements of ``crm ARGS`` on ``db``."""
    sql = work / f"floor-{abs(hash(label))}.sql"
    sql.write_text("".join(f"{s};\n" for s in statements(db, args, env)), encoding="utf-8")
    return Case(label, ["sqlite3", "-readonly", str(db), f".read {sql}"], reference=True)


if __name__ == "__main__":
    for statement in statements(Path(sys.argv[1]), sys.argv[2:], dict(os.environ)):
        print(f"{statement};")
