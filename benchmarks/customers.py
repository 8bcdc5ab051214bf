"""Customer intelligence benchmark (issue 17): purchases, RFM and the query language at scale.

    python benchmarks/customers.py            # 100,000 contacts, 500,000 purchases, 7 runs
    python benchmarks/customers.py --quick    # 2,000 contacts, 10,000 purchases, 3 runs

Whole `crm` processes, median of interleaved runs after a warm-up (as benchmarks/run.py). It
prints the figures and the three targets, judged on them; nothing is asserted:

- `crm customers` under 1.5 s: every customer as TSV (a script), the first screen as a table
  (a person), and `--at-risk`;
- `crm contact show` under 1.25x its time on the same database without purchases;
- a query with three conditions under 1.25x a plain `crm contact list --tag`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import DATA, NOW, build_contacts, crm
from timing import Case, fmt_ms, run_cases

CITIES = ["Berlin", "Paris", "Madrid", "Leeds", "Osaka", "Austin", "Porto", "Riga"]
PRODUCTS = ["Widget", "Widget Pro", "Gadget", "Service plan", "Spare parts", "Training day"]


def add_purchases(path: Path, contact_ids: list[int], count: int, seed: int = 17) -> None:
    """``count`` purchases over two years for about 60% of the contacts (some buy often)."""
    import seed_notes

    from crmcli import db
    from crmcli.clock import to_utc_text

    rng = random.Random(seed)
    conn = db.connect(path)
    now = datetime.fromisoformat(NOW).astimezone()
    seed_notes.seed(conn, contact_ids, now, rng, notes_per_contact=2.0)
    buyers = rng.sample(contact_ids, k=int(len(contact_ids) * 0.6))
    weights = [rng.paretovariate(1.5) for _ in buyers]
    today = date.fromisoformat(NOW[:10])
    stamp = to_utc_text(now)
    rows = []
    for number, contact_id in enumerate(rng.choices(buyers, weights, k=count), 1):
        product = rng.choice(PRODUCTS)
        quantity = rng.choice([1, 1, 1, 2, 3, 10])
        currency = "EUR" if rng.random() < 0.8 else "USD"
        rows.append(
            (contact_id, (today - timedelta(days=rng.randint(0, 730))).isoformat(), product,
             quantity, rng.randrange(500, 50_000) * quantity, currency, f"B-{number}",
             f"bench:{number}", stamp, stamp)
        )  # fmt: skip
    with db.transaction(conn):
        conn.executemany(
            "UPDATE contacts SET city = ? WHERE id = ?",
            [(rng.choice(CITIES), cid) for cid in contact_ids],
        )
        conn.executemany(
            "INSERT INTO purchases (contact_id, purchased_on, product, quantity, amount_minor, "
            "currency, order_ref, import_key, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    conn.execute("ANALYZE")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, few runs")
    parser.add_argument("--runs", type=int, help="runs per command")
    args = parser.parse_args()
    contacts = 2_000 if args.quick else 100_000
    count = 10_000 if args.quick else 500_000
    runs = args.runs or (3 if args.quick else 7)
    DATA.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="crm-bench-customers-", dir=DATA))
    try:
        started = time.perf_counter()
        plain = work / "no-purchases.db"
        ids = build_contacts(plain, contacts)
        with sqlite3.connect(plain) as conn:
            conn.execute("ANALYZE")
        full = work / "purchases.db"
        shutil.copy(plain, full)
        add_purchases(full, ids, count)
        built = time.perf_counter() - started
        print(f"built the databases in {built:.1f} s", file=sys.stderr)
        env = {**os.environ, "CRM_NOW": NOW, "HOME": str(work), "NO_COLOR": "1",
               "XDG_CONFIG_HOME": str(work / "config"), "XDG_DATA_HOME": str(work / "data")}  # fmt: skip
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        base = crm()
        shown = str(contacts // 2)
        query = ["tag:vip", "city:berlin", "spent>500EUR"]
        cases = [
            Case("crm customers --format tsv", [*base, "--db", str(full), "customers", "-f", "tsv"]),
            Case("crm customers (table)", [*base, "--db", str(full), "customers", "-f", "table"]),
            Case("crm customers --segment champions (table)",
                 [*base, "--db", str(full), "customers", "--segment", "champions", "-f", "table"]),
            Case("crm customers --at-risk --format tsv",
                 [*base, "--db", str(full), "customers", "--at-risk", "-f", "tsv"]),
            Case("crm contact show (500,000 purchases)",
                 [*base, "--db", str(full), "contact", "show", shown, "-f", "tsv"]),
            Case("crm contact show (no purchases)",
                 [*base, "--db", str(plain), "contact", "show", shown, "-f", "tsv"]),
            Case("crm contact list --tag vip --format tsv",
                 [*base, "--db", str(full), "contact", "list", "--tag", "vip", "-f", "tsv"]),
            Case(f"crm contact list {' '.join(query)} --format tsv",
                 [*base, "--db", str(full), "contact", "list", *query, "-f", "tsv"]),
            Case("crm contact list --tag vip --limit 50",
                 [*base, "--db", str(full), "contact", "list", "--tag", "vip", "--limit", "50",
                  "-f", "tsv"]),
            Case(f"crm contact list {' '.join(query)} --limit 50",
                 [*base, "--db", str(full), "contact", "list", *query, "--limit", "50", "-f",
                  "tsv"]),
            Case("crm contact list rfm:champions --format tsv",
                 [*base, "--db", str(full), "contact", "list", "rfm:champions", "-f", "tsv"]),
            Case("crm contact list --not-touched-since 90d --sort last-touch",
                 [*base, "--db", str(full), "contact", "list", "--not-touched-since", "90d",
                  "--sort", "last-touch", "-f", "tsv"]),
        ]  # fmt: skip
        run_cases(cases, runs, env)
        by = {c.label: c for c in cases}
        print(f"\n{contacts:,} contacts, {count:,} purchases; median of {runs} runs\n")
        print("| command | median | min-max |\n| --- | ---: | ---: |")
        for case in cases:
            print(f"| `{case.label}` | {fmt_ms(case.median)} | "
                  f"{fmt_ms(min(case.times))}-{fmt_ms(max(case.times))} |")  # fmt: skip
        customers = by["crm customers --format tsv"].median
        table = by["crm customers (table)"].median
        at_risk = by["crm customers --at-risk --format tsv"].median
        show = by["crm contact show (500,000 purchases)"].median
        show_plain = by["crm contact show (no purchases)"].median
        tag = by["crm contact list --tag vip --format tsv"].median
        three = by[f"crm contact list {' '.join(query)} --format tsv"].median
        tag50 = by["crm contact list --tag vip --limit 50"].median
        three50 = by[f"crm contact list {' '.join(query)} --limit 50"].median
        targets = [
            ("`crm customers` < 1.5 s (every customer, `--format tsv`)", f"{customers:.2f} s",
             customers < 1.5),
            ("`crm customers` < 1.5 s (a table: the first screen)", f"{table:.2f} s", table < 1.5),
            ("`crm customers --at-risk` < 1.5 s", f"{at_risk:.2f} s", at_risk < 1.5),
            ("`crm contact show` < 1.25x without purchases", f"{show / show_plain:.2f}x",
             show / show_plain < 1.25),
            ("three conditions < 1.25x `contact list --tag` (all rows)", f"{three / tag:.2f}x",
             three / tag < 1.25),
            ("three conditions < 1.25x `contact list --tag` (--limit 50)",
             f"{three50 / tag50:.2f}x", three50 / tag50 < 1.25),
        ]  # fmt: skip
        print("\n| target | figure | met |\n| --- | ---: | --- |")
        for target, figure, met in targets:
            print(f"| {target} | {figure} | {'met' if met else '**not met**'} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
