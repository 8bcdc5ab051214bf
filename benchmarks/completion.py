"""How long a TAB takes: shell completion of `crm` on a book of 100,000 contacts.

    python benchmarks/completion.py             # 100,000 contacts, 15 runs each
    python benchmarks/completion.py --quick     # 2,000 contacts, 3 runs (a smoke test)

Each figure is the median of whole `crm` processes answering a completion request exactly as the
bash, zsh and fish scripts of `crm completion` send it (COMP_WORDS, COMP_CUR, _CRM_COMPLETE),
next to `crm --help` timed in the same run: a TAB should cost about what starting crm costs.
Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run.py beside this file

from run import NOW, build_contacts, crm
from timing import Case, fmt_ms, run_cases


def cases(database: Path) -> list[Case]:
    """(label, the words before the cursor, the word under it, the shell)"""
    db = f"--db {database}"
    asks = [
        ("crm <TAB> (commands, from the table)", "crm", "", "zsh"),
        ("crm contact <TAB> (subcommands)", "crm contact", "", "zsh"),
        ("crm contact show quen<TAB> (contacts)", f"crm {db} contact show", "quen", "bash"),
        ("crm contact show a<TAB> (contacts, 1 letter)", f"crm {db} contact show", "a", "zsh"),
        ("crm note quixw<TAB> (a later word of a name)", f"crm {db} note", "quixw", "fish"),
        ("crm contact list --tag <TAB> (tags)", f"crm {db} contact list --tag", "", "bash"),
        ("crm deal add x y --stage <TAB> (stages)", f"crm {db} deal add x y --stage", "", "fish"),
    ]
    found = [Case("crm --help (reference)", [*crm(), "--help"], reference=True)]
    for label, words, current, shell in asks:
        env_argv = [
            "env",
            f"COMP_WORDS={words}",
            f"COMP_CUR={current}",
            f"_CRM_COMPLETE=complete_{shell}",
            *crm(),
        ]
        found.append(Case(label, env_argv))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 contacts, 3 runs")
    parser.add_argument("--runs", type=int, help="runs per case")
    args = parser.parse_args()
    count = 2_000 if args.quick else 100_000
    runs = args.runs or (3 if args.quick else 15)
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.db"
        os.environ["CRM_NOW"] = NOW
        build_contacts(database, count)
        env = {**os.environ, "CRM_NOW": NOW}
        measured = cases(database)
        run_cases(measured, runs, env)
    print(f"Shell completion on {count:,} contacts, median of {runs} whole-process runs\n")
    print("| request | median |")
    print("| --- | ---: |")
    for case in measured:
        print(f"| {case.label} | {fmt_ms(case.median)} |")


if __name__ == "__main__":
    main()
