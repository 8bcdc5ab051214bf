"""Start-up: ``python -X importtime`` totals for the five most used commands.

Each command runs once in a fresh interpreter with ``-X importtime``; the total is the sum of
the cumulative times of the top-level imports (what the interpreter spent importing), and the
heavy libraries an everyday command should never load are looked for in the same list.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

#: label, arguments; ``crm note`` writes, so all of them run on a copy of the database
COMMANDS = (
    ("agenda", ["agenda", "-f", "tsv"]),
    ("contact list", ["contact", "list", "--limit", "20", "-f", "tsv"]),
    ("contact show", ["contact", "show", "{id}", "-f", "tsv"]),
    ("search", ["search", "Quixwhistle", "-f", "tsv"]),
    ("note", ["note", "{id}", "Called about the renewal"]),
)
HEAVY = ("rich", "dateutil", "sqlite_utils", "pydantic")
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
RUN_CRM = "import sys; from crmcli.cli import main; sys.argv[0] = 'crm'; main()"


def importtime(argv: list[str], env: dict[str, str]) -> tuple[float, float, list[str]]:
    """Milliseconds importing in all, of which crmcli's own modules, and heavy ones loaded."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", RUN_CRM, *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed: crm {' '.join(argv)}\n{done.stderr}")
    total = ours = 0
    heavy = set()
    for self_us, cumulative_us, indent, name in _LINE.findall(done.stderr):
        if not indent.strip(" ") and len(indent) == 1:  # a top-level import
            total += int(cumulative_us)
        if name.startswith("crmcli"):
            ours += int(self_us)
        if name.split(".")[0] in HEAVY:
            heavy.add(name.split(".")[0])
    return total / 1000, ours / 1000, sorted(heavy)


def section(
    work: Path, env: dict[str, str], *, db: Path, contact_id: int
) -> tuple[list[str], list[str]]:
    """One run of each command; the report lines, and the heavy modules any of them loaded."""
    copy = work / "startup.db"
    shutil.copyfile(db, copy)
    lines = [
        "## Start-up: imports",
        "",
        "`python -X importtime`, one run each: the time spent importing, of which crmcli's own "
        f"modules, and which of {', '.join(HEAVY)} were loaded (none should be).",
        "",
        "| command | importing | of which crmcli | heavy modules |",
        "| --- | ---: | ---: | --- |",
    ]
    loaded: set[str] = set()
    for label, args in COMMANDS:
        argv = ["--db", str(copy), *(a.replace("{id}", str(contact_id)) for a in args)]
        total, ours, heavy = importtime(argv, env)
        loaded.update(heavy)
        lines.append(f"| `crm {label}` | {total:.0f} ms | {ours:.1f} ms | {', '.join(heavy)} |")
    copy.unlink()
    return lines, sorted(loaded)
