"""Identity at scale: import of a file of namesakes, planted duplicates, and crm dedupe.

    python benchmarks/identity.py            # 100,000 rows / contacts
    python benchmarks/identity.py --quick    # 5,000: a smoke test

1. A generated CSV (crmcli's own columns) in which every row has its own email and phone, with
   names and companies repeating (600 first/last name pairs at 10 companies), plus planted true
   duplicates: half the same email in other letter case, half the same UID with a new email.
   `crm import` must create one contact per row and merge exactly the planted duplicates.
2. `crm dedupe --format tsv` on that database, and on the database of benchmarks/run.py
   (100,000 contacts, 702 names at 15 companies, every email and phone its own).
3. `crm import` of benchmarks/gen_csv.py's Google CSV (the import benchmark of run.py).

Whole processes; wall time and peak resident memory (Linux ru_maxrss). No assertions on time:
the figures are printed, and a wrong count exits 1.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_csv import write_google_csv
from run import DATA, NOW, build_contacts, crm
from timing import peak_rss_mib

from crmcli.identity import fold

FIRST = ["Oskar", "Ana", "Ben", "Chloé", "Daniel", "Elif", "Farah", "Gustav", "Hannah", "Ibrahim",
         "Julia", "Kenji", "Laura", "Mateo", "Nora", "Omar", "Priya", "Quentin", "Rosa", "Samuel",
         "Tomás", "Uma", "Victor", "Wen"]  # fmt: skip
LAST = ["Ito", "García", "Okafor", "Dubois", "Kim", "Yılmaz", "Haddad", "Lindqvist", "Schmidt",
        "Diallo", "Rossi", "Watanabe", "Jones", "Fernández", "Berg", "Farouk", "Sharma", "Moreau",
        "Silva", "Cohen", "Novák", "Patel", "Ivanov", "Li", "Smith"]  # fmt: skip
COMPANIES = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark",
             "Wayne", "Tyrell"]  # fmt: skip
HEADER = ["uid", "name", "first_name", "last_name", "company", "email_1", "phone_1"]


def write_namesakes(path: Path, rows: int, planted: int, seed: int = 5) -> int:
    """``rows`` people (each their own email and phone) and ``planted`` duplicates of them;
    returns how many duplicates bring a new email (the ones found by their UID)."""
    rng = random.Random(seed)
    names = [(f, last) for f in FIRST for last in LAST][:600]
    people = []
    for n in range(rows):
        first, last = names[n % len(names)]
        company = COMPANIES[(n // len(names)) % len(COMPANIES)]
        email = f"{fold(first)}.{fold(last)}.{n}@{company}.example".lower()
        uid = f"bench-uid-{n}" if n % 2 else ""
        people.append([uid, f"{first} {last}", first, last, company, email, f"+1 555 {n:07d}"])
    copies = []
    for index in rng.sample(range(rows), planted):
        original = people[index]
        uid, name, first, last, company, email, _ = original
        if uid:  # the same UID, a new email and phone: the same person, changed
            copies.append([uid, name, first, last, company, f"new.{email}", ""])
        else:  # the same email in other letters: the same person, typed again
            copies.append(["", name, first, last, company, email.upper(), ""])
    everyone = people + copies
    rng.shuffle(everyone)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(everyone)
    return sum(1 for copy in copies if copy[0])


def median_run(argv: list[str], env: dict[str, str], runs: int, before: str = "") -> list[float]:
    times = []
    for _ in range(runs):
        if before:
            subprocess.run(before, shell=True, check=True)
        seconds, _ = peak_rss_mib(argv, env)
        times.append(seconds)
    return times


def time_dedupe(base: list[str], database: Path, env: dict[str, str], what: str) -> None:
    """One run of `crm dedupe --format tsv` (time, peak memory), and how many pairs it lists."""
    argv = [*base, "--db", str(database), "dedupe", "--format", "tsv"]
    seconds, rss = peak_rss_mib(argv, env)
    lines = subprocess.run(argv, env=env, capture_output=True, check=True).stdout.count(b"\n")
    print(f"crm dedupe on {what}: {seconds:.1f} s, {rss:.0f} MiB peak, {lines - 1:,} pairs listed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 rows: a smoke test")
    parser.add_argument("--rows", type=int, help="rows (and contacts)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the Google CSV import")
    args = parser.parse_args()
    rows = args.rows or (5_000 if args.quick else 100_000)
    planted = max(10, rows // 100)
    DATA.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="crm-identity-", dir=DATA))
    env = {**os.environ, "CRM_NOW": NOW, "HOME": str(work), "NO_COLOR": "1"}
    env.pop("CRM_DB", None)
    base = crm()
    failed = False
    try:
        source = work / "namesakes.csv"
        new_emails = write_namesakes(source, rows, planted)
        database = work / "namesakes.db"
        seconds, rss = peak_rss_mib([*base, "--db", str(database), "import", str(source)], env)
        with sqlite3.connect(database) as conn:
            count = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
            emails = conn.execute("SELECT count(*) FROM contact_emails").fetchone()[0]
        ok = count == rows and emails == rows + new_emails
        failed |= not ok
        print(
            f"import of {rows:,} namesake rows + {planted:,} planted duplicates: {seconds:.1f} s, "
            f"{rss:.0f} MiB peak; {count:,} contacts (expected {rows:,}), {emails:,} emails "
            f"(expected {rows + new_emails:,}): {'ok' if ok else 'WRONG'}"
        )
        time_dedupe(base, database, env, f"those {count:,} contacts")
        book = work / "book.db"
        build_contacts(book, rows)
        time_dedupe(base, book, env, f"run.py's {rows:,} contacts")

        google = work / "google.csv"
        write_google_csv(google, rows)
        target = work / "google.db"
        times = median_run(
            [*base, "--db", str(target), "import", str(google)],
            env,
            args.runs,
            before=f"rm -f {target} {target}-wal {target}-shm",
        )
        print(
            f"import of run.py's Google CSV ({rows:,} rows, fresh db): median "
            f"{statistics.median(times):.1f} s (min {min(times):.1f}, max {max(times):.1f}, "
            f"{len(times)} runs)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
