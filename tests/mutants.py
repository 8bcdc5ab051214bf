"""Hand-picked mutations of crmcli, each of which the test suite must catch (run by hand).

    python tests/mutants.py              # every mutant, against the tests named for it
    python tests/mutants.py resolve-any-exact csv-no-neutralise
    python tests/mutants.py --list
    python tests/mutants.py --all-tests NAME   # against the whole suite (slow): does it survive?

Each mutant is one small edit to one file of crmcli/ (a deleted check, a flipped comparison) of
the kind a refactoring makes by accident. The script applies it in place, runs the tests that
should catch it, and puts the file back (also on Ctrl-C); it refuses to touch a file with
uncommitted changes. A mutant is *killed* when pytest reports failing tests (exit 1); a mutant
that breaks collection or import (exit 2+) is reported as an error, not as killed. Exit status
0 when every mutant was killed. Nothing here runs under pytest (the name does not start with
``test_``): it is a check on the tests, not a test.

Add a mutant here when a review finds a change the suite let through, together with the test
that now catches it. Finding new candidates: ``mutmut`` (see docs/development.md) or a few
lines edited by hand.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    #: pytest arguments (files, node ids) that must fail with the mutant in place
    tests: tuple[str, ...]


MUTANTS = (
    # --- from the review of issue 20 ----------------------------------------------------------
    Mutant(
        "greeting-log-not-unique",
        "crmcli/migrations.py",
        '"CREATE UNIQUE INDEX sends_greeting ON',
        '"CREATE INDEX sends_greeting ON',
        ("tests/test_greetings.py", "tests/test_sending.py"),
    ),
    Mutant(
        "campaign-log-not-unique",
        "crmcli/migrations.py",
        '"CREATE UNIQUE INDEX sends_campaign ON',
        '"CREATE INDEX sends_campaign ON',
        ("tests/test_campaigns.py", "tests/test_sending.py"),
    ),
    Mutant(
        "resolve-any-exact",
        "crmcli/contacts.py",
        '    if len(exact) == 1:\n        return int(exact[0]["id"])',
        '    if exact:\n        return int(exact[0]["id"])',
        ("tests/test_contacts.py", "tests/test_cli_contacts.py"),
    ),
    Mutant(
        "csv-no-neutralise",
        "crmcli/io/csv_policy.py",
        '    return "\'" + value if value[:1] in FORMULA_START else value',
        "    return value",
        ("tests/test_export.py", "tests/test_hostile_import.py", "tests/test_privacy.py"),
    ),
    Mutant(
        "csv-listing-rows-raw",
        "crmcli/io/csv_policy.py",
        "write([neutralise(c) if c.__class__ is str and c[:1] in start else c for c in row])",
        "write(row)",
        ("tests/test_export.py", "tests/test_hostile_import.py"),
    ),
)


def _dirty(path: Path) -> bool:
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return bool(status.stdout.strip())


def run(mutant: Mutant, tests: tuple[str, ...]) -> tuple[str, float]:
    """Apply ``mutant``, run ``tests``, restore the file: ("killed" | "SURVIVED" | "error:
    ...", seconds)."""
    path = ROOT / mutant.path
    original = path.read_text(encoding="utf-8")
    if original.count(mutant.old) != 1:
        return f"error: the text to mutate occurs {original.count(mutant.old)} times", 0.0
    if _dirty(path):
        return f"error: {mutant.path} has uncommitted changes; commit or stash them first", 0.0
    started = time.monotonic()
    # no .pyc of the mutated source is ever written, so none can outlive the run
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        path.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        path.write_text(original, encoding="utf-8")
    seconds = time.monotonic() - started
    if result.returncode == 1:
        return "killed", seconds
    if result.returncode == 0:
        return "SURVIVED", seconds
    last = (result.stdout.strip().splitlines() or ["?"])[-1]
    return f"error: pytest exited {result.returncode}: {last}", seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--all-tests", action="store_true", help="run the whole suite for each")
    args = parser.parse_args(argv)
    known = {mutant.name: mutant for mutant in MUTANTS}
    if args.list:
        for mutant in MUTANTS:
            print(f"{mutant.name:28} {mutant.path}")
        return 0
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"no mutant named {', '.join(unknown)} (see --list)")
    chosen = [known[name] for name in args.names] if args.names else list(MUTANTS)
    failed = 0
    for mutant in chosen:
        outcome, seconds = run(mutant, ("tests",) if args.all_tests else mutant.tests)
        failed += outcome != "killed"
        print(f"{mutant.name:28} {outcome} ({seconds:.0f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
