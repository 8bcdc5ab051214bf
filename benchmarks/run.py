"""crmcli benchmark: whole-process timings on generated databases, next to references.

    python benchmarks/run.py            # 100,000 contacts, 7 runs each, writes docs/performance.md
    python benchmarks/run.py --quick    # 2,000 contacts, 3 runs: a smoke test (CI runs this)

Every figure is the median of several runs of a whole `crm` process (start-up included), with
commands interleaved so that a noisy moment hurts all of them alike, and stands next to reference
commands timed in the same run: `python -c "import sqlite3"` and a minimal Typer app.
No assertions here: targets are read off the report, never enforced by tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the seed_* modules beside this file
DATA = ROOT / "benchmarks" / ".data"
NOW = "2026-11-23T09:00"

# the same names as the generated Google CSV
from gen_csv import FIRST, LAST  # noqa: E402

COMPANIES = [
    "Acme",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Cyberdyne",
    "Wonka",
    "Gringotts",
    "Oscorp",
]
TAGS = ["customer", "lead", "vip", "partner", "newsletter", "trade-show-2026"]
RARE_NAME = "Zebulon Quixwhistle"


def yearly_dates(rng: random.Random, contact_id: int) -> list[tuple[object, ...]]:
    """A contact's yearly dates, as often as in the Google CSV: 40% have a birthday (a third of
    those without a year), 8% a wedding anniversary, 5% a "customer since" date. On 100,000
    contacts the agenda then holds about 1,300 dates within their lead time."""
    out: list[tuple[object, ...]] = []
    for kind, label, share, years in (
        ("birthday", "birthday", 0.40, (1950, 2005)),
        ("anniversary", "anniversary", 0.08, (1980, 2025)),
        ("other", "customer since", 0.05, (2010, 2026)),
    ):
        if rng.random() < share:
            month = rng.randint(1, 12)
            day = rng.randint(1, 28 if month == 2 else 30)
            year = None if kind == "birthday" and rng.random() < 0.3 else rng.randint(*years)
            out.append((contact_id, kind, label, year, month, day))
    return out


def build_contacts(path: Path, count: int, seed: int = 7) -> list[int]:
    """A database with ``count`` realistic contacts, inserted in bulk (not through the CLI)."""
    from crmcli import db, search

    rng = random.Random(seed)
    if path.exists():
        path.unlink()
    conn = db.connect(path)
    stamp = "2026-01-15T10:00:00Z"
    with db.transaction(conn):
        conn.executemany("INSERT INTO tags (name) VALUES (?)", [(t,) for t in TAGS])
        contacts, emails, phones, tags, dates = [], [], [], [], []
        for cid in range(1, count + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            name = RARE_NAME if cid == count // 2 else f"{first} {last}"
            first, last = name.split(" ", 1)
            company = rng.choice(COMPANIES)
            contacts.append(
                (cid, f"bench-{cid}", name, first, last, company, "Buyer", stamp, stamp)
            )
            emails.append((cid, f"{first}.{last}.{cid}@{company}.example".lower(), "work", 0))
            digits = f"1555{cid:07d}"
            phones.append((cid, f"+1 555 {cid:07d}", "mobile", digits, digits[::-1], 0))
            tags.append((cid, rng.randint(1, len(TAGS))))
            dates.extend(yearly_dates(rng, cid))
        conn.executemany(
            "INSERT INTO contacts (id, uid, name, first_name, last_name, company, title, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            contacts,
        )
        conn.executemany(
            "INSERT INTO contact_emails (contact_id, email, label, position) VALUES (?, ?, ?, ?)",
            emails,
        )
        conn.executemany(
            "INSERT INTO contact_phones (contact_id, phone, label, digits, digits_rev, position) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            phones,
        )
        conn.executemany("INSERT INTO contact_tags (contact_id, tag_id) VALUES (?, ?)", tags)
        conn.executemany(
            "INSERT INTO contact_dates (contact_id, kind, label, year, month, day) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            dates,
        )
        search.reindex(conn)
    conn.close()
    return list(range(1, count + 1))


def build_book(path: Path, contacts: int, deals: int) -> None:
    """Contacts, two notes per contact, reminders and cadences, ``deals`` deals; then the index."""
    import seed_notes
    import seed_pipeline

    from crmcli import db, search

    ids = build_contacts(path, contacts)
    conn = db.connect(path)
    now = datetime.fromisoformat(NOW).astimezone()
    rng = random.Random(11)
    seed_notes.seed(conn, ids, now, rng, notes_per_contact=2.0)
    seed_pipeline.seed(conn, ids, now, rng, deals=deals)
    with db.transaction(conn):
        search.reindex(conn)
    conn.execute("ANALYZE")
    conn.close()


EXPORT_SCRIPT = """
import csv, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
cursor = conn.execute(sys.argv[2])
out = csv.writer(sys.stdout, lineterminator="\\n")
out.writerow([d[0] for d in cursor.description])
out.writerows(cursor)
"""


def export_sql() -> str:
    """The one query behind `crm export contacts`: every contact with its emails, phones, tags,
    fields, dates and notes. The plain script runs it too, so both write the same rows."""
    from crmcli.contacts import TEXT_FIELDS, ListFilters
    from crmcli.io import csv_out

    where, params, order = csv_out._where(ListFilters())
    assert not params
    return csv_out._QUERY.format(
        text=", ".join(f"c.{k}" for k in TEXT_FIELDS), where=where, order=order
    )


def peak_rss_mib(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one whole process."""
    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        process = subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports KiB


def files_section(
    work: Path, base: list[str], env: dict[str, str], *, quick: bool, runs: int, db_path: Path
) -> tuple[list[str], list[Case], dict[str, float]]:
    """Import and export of a Google Contacts CSV, next to sqlite3 and sqlite-utils; memory.

    Returns the report lines, the timed cases and the peak memory (MiB) of import and export.
    """
    from gen_csv import write_google_csv

    rows = 2_000 if quick else 100_000
    big = 20_000 if quick else 1_000_000
    csv_path = work / "google.csv"
    write_google_csv(csv_path, rows)
    target = work / "imported.db"
    sqlite_utils_db = work / "sqlite-utils.db"
    script = work / "export_script.py"
    script.write_text(EXPORT_SCRIPT)
    shell = "/bin/sh"
    crm_cmd = " ".join(base)
    sqlite_utils = shutil.which("sqlite-utils", path=str(Path(sys.executable).parent))
    cases = [
        Case(
            "sqlite3 :memory: .import --csv",
            ["sqlite3", ":memory:", f".import --csv {csv_path} t"],
            reference=True,
        ),
        Case(
            "sqlite-utils insert --csv",
            [
                shell,
                "-c",
                f"rm -f {sqlite_utils_db}; {sqlite_utils} insert {sqlite_utils_db} t "
                f"{csv_path} --csv",
            ],
            reference=True,
        ),
        Case(
            f"crm import (Google CSV, {rows:,} rows, fresh db)",
            [
                shell,
                "-c",
                f"rm -f {target} {target}-wal {target}-shm; "
                f"{crm_cmd} --db {target} import {csv_path}",
            ],
        ),
        Case(
            "plain csv-module script (same query, same rows)",
            [sys.executable, str(script), str(db_path), export_sql()],
            reference=True,
        ),
        Case(
            "sqlite-utils rows --csv (the contacts table alone)",
            [
                shell,
                "-c",
                f"{sqlite_utils} rows {db_path} contacts --csv > /dev/null",
            ],
            reference=True,
        ),
        Case(
            "crm export contacts --format csv (every contact of the timing db)",
            [*base, "export", "contacts", "--format", "csv"],
        ),
    ]
    available = [
        c
        for c in cases
        if shutil.which(c.argv[0]) or c.argv[0] == shell or os.path.exists(c.argv[0])
    ]
    if not shutil.which("sqlite3"):
        available = [c for c in available if not c.label.startswith("sqlite3")]
    if not sqlite_utils:
        available = [c for c in available if not c.label.startswith("sqlite-utils")]
    run_cases(available, max(3, runs // 2), env)
    by_label = {c.label: c for c in available}
    lines = [
        "## Import and export",
        "",
        "| command | median | min-max | ratio |",
        "| --- | ---: | ---: | --- |",
    ]
    sqlite_import = by_label.get("sqlite3 :memory: .import --csv")
    su_import = by_label.get("sqlite-utils insert --csv")
    plain = by_label.get("plain csv-module script (same query, same rows)")
    su_rows = by_label.get("sqlite-utils rows --csv (the contacts table alone)")
    for case in available:
        ratio = ""
        if case.label.startswith("crm import") and sqlite_import and su_import:
            ratio = (
                f"{case.median / sqlite_import.median:.1f}x sqlite3 .import; "
                f"{su_import.median / case.median:.1f}x faster than sqlite-utils"
            )
        elif case.label.startswith("crm export") and plain:
            ratio = f"{case.median / plain.median:.2f}x the plain script"
            if su_rows:
                ratio += f"; {case.median / su_rows.median:.2f}x sqlite-utils rows"
        label = f"*{case.label}* (reference)" if case.reference else f"`{case.label}`"
        lines.append(
            f"| {label} | {fmt_ms(case.median)} | {fmt_ms(min(case.times))}-"
            f"{fmt_ms(max(case.times))} | {ratio} |"
        )

    big_csv = work / "big.csv"
    write_google_csv(big_csv, big, seed=2)
    big_db = work / "big.db"
    seconds_in, rss_in = peak_rss_mib([*base, "--db", str(big_db), "import", str(big_csv)], env)
    seconds_out, rss_out = peak_rss_mib(
        [*base, "--db", str(big_db), "export", "contacts", "--format", "csv"], env
    )
    big_csv.unlink()
    lines += [
        "",
        f"Peak memory (one run each, {big:,} rows): `crm import` {rss_in:.0f} MiB in "
        f"{seconds_in:.1f} s; `crm export contacts --format csv` {rss_out:.0f} MiB in "
        f"{seconds_out:.1f} s.",
    ]
    return lines, available, {"import": rss_in, "export": rss_out}


TARGETS_HELP = "Targets of issue 7 (medians, as ratios to references of the same run)."


def targets_section(cases: list[Case], files: list[Case], memory: dict[str, float]) -> list[str]:
    """Each target of the performance budget, the figure it is judged on, met or not."""
    by_label = {c.label: c for c in [*cases, *files]}

    def find(prefix: str) -> Case | None:
        return next((c for c in [*cases, *files] if c.label.startswith(prefix)), None)

    rows: list[tuple[str, str, bool]] = []
    sqlite_ref = by_label.get('python -c "import sqlite3"')
    typer_ref = by_label.get("minimal Typer app, trivial command")
    if sqlite_ref and typer_ref:
        for prefix in (
            "crm --help",
            "crm contact show",
            "crm search Quixwhistle",
            "crm agenda",
            "crm pipeline",
        ):
            for case in (c for c in cases if c.label.startswith(prefix)):
                x_typer = case.median / typer_ref.median
                x_sqlite = case.median / sqlite_ref.median
                rows.append(
                    (
                        f"`{case.label}` <= 1.25x Typer and <= 6x import sqlite3",
                        f"{x_typer:.2f}x, {x_sqlite:.1f}x",
                        x_typer <= 1.25 and x_sqlite <= 6,
                    )
                )
    crm_import = find("crm import")
    sqlite_import = by_label.get("sqlite3 :memory: .import --csv")
    su_import = by_label.get("sqlite-utils insert --csv")
    if crm_import and sqlite_import and su_import:
        slower = crm_import.median / sqlite_import.median
        faster = su_import.median / crm_import.median
        rows.append(("`crm import` <= 4x sqlite3 .import", f"{slower:.1f}x", slower <= 4))
        rows.append(("`crm import` >= 5x faster than sqlite-utils", f"{faster:.1f}x", faster >= 5))
    crm_export = find("crm export")
    plain = find("plain csv-module script")
    if crm_export and plain:
        ratio = crm_export.median / plain.median
        rows.append(("`crm export` <= 1.5x the plain script", f"{ratio:.2f}x", ratio <= 1.5))
    for what, mib in memory.items():
        rows.append((f"peak memory of the big {what} < 150 MiB", f"{mib:.0f} MiB", mib < 150))
    lines = [
        "## Targets",
        "",
        TARGETS_HELP,
        "",
        "| target | figure | met |",
        "| --- | ---: | --- |",
    ]
    lines += [
        f"| {target} | {figure} | {'yes' if met else '**no**'} |" for target, figure, met in rows
    ]
    return lines


TYPER_APP = """
import typer
app = typer.Typer()
@app.command()
def hello() -> None:
    print("hello")
@app.command()
def bye() -> None:
    print("bye")
app()
"""


SQLITE_FTS = "sqlite3 CLI, the same FTS query"


def search_sql(text: str) -> str:
    """The full-text query `crm search TEXT` runs, as one statement for the sqlite3 CLI."""
    from crmcli import search
    from crmcli.contacts import LIST_COLUMNS_SQL

    match = search.fts_query(text).replace("'", "''")
    return (
        f"SELECT {LIST_COLUMNS_SQL}, s.rank_ FROM ("
        f"SELECT rowid, bm25(contact_search, {search._WEIGHTS}) AS rank_ FROM contact_search "
        f"WHERE contact_search MATCH '{match}' ORDER BY rank_ LIMIT 50"
        ") s JOIN contacts c ON c.id = s.rowid WHERE c.deleted_at IS NULL ORDER BY s.rank_;"
    )


@dataclass
class Case:
    label: str
    argv: list[str]
    group: str = "start-up"
    reference: bool = False
    #: the label of a reference doing the same work another way (its ratio gets a column)
    against: str | None = None
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def time_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 3):
        raise SystemExit(
            f"benchmark command failed ({done.returncode}): {' '.join(argv)}\n"
            f"{done.stderr.decode(errors='replace')}"
        )
    return elapsed


def run_cases(cases: list[Case], runs: int, env: dict[str, str]) -> None:
    for case in cases:  # warm-up: caches, bytecode
        time_once(case.argv, env)
    for _ in range(runs):
        for case in cases:  # interleaved
            case.times.append(time_once(case.argv, env))


def crm() -> list[str]:
    found = shutil.which("crm", path=str(Path(sys.executable).parent)) or shutil.which("crm")
    return [found] if found else [sys.executable, "-m", "crmcli"]


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in ("crmcli", "typer", "rich", "sqlite-utils", "python-dateutil"):
        try:
            out[package] = version(package)
        except Exception:  # pragma: no cover - not installed
            out[package] = "?"
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu})"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def report(cases: list[Case], meta: dict[str, str], extra: list[str]) -> str:
    refs = {c.label: c for c in cases if c.reference}
    sqlite_ref = refs.get('python -c "import sqlite3"')
    typer_ref = refs.get("minimal Typer app, trivial command")
    lines = [
        "# Performance",
        "",
        "Generated by `python benchmarks/run.py` (do not edit by hand). Whole processes, median of "
        f"{meta['runs']} interleaved runs after a warm-up; min-max in brackets. What limits the "
        "figures, and what would reach the targets not met: "
        "[performance-notes.md](performance-notes.md).",
        "",
        f"- Machine: {machine()}",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in versions().items())}",
        f"- Data: {meta['data']}",
        f"- Date of run: {meta['date']}",
        "",
        "| command | median | min-max | x import sqlite3 | x minimal Typer | x same work |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    by_label = {c.label: c for c in cases}
    for case in cases:
        ratio_sqlite = f"{case.median / sqlite_ref.median:.2f}" if sqlite_ref else ""
        ratio_typer = f"{case.median / typer_ref.median:.2f}" if typer_ref else ""
        same = by_label.get(case.against or "")
        ratio_same = f"{case.median / same.median:.2f}x {same.label}" if same else ""
        label = f"*{case.label}* (reference)" if case.reference else f"`{case.label}`"
        lines.append(
            f"| {label} | {fmt_ms(case.median)} | {fmt_ms(min(case.times))}-"
            f"{fmt_ms(max(case.times))} | {ratio_sqlite} | {ratio_typer} | {ratio_same} |"
        )
    lines.extend(["", *extra])
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, few runs (smoke test)")
    parser.add_argument("--runs", type=int, help="runs per command")
    parser.add_argument("--contacts", type=int, help="contacts in the database")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    count = args.contacts or (2_000 if args.quick else 100_000)
    runs = args.runs or (3 if args.quick else 7)

    DATA.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="crm-bench-", dir=DATA))
    try:
        db_path = work / "contacts.db"
        started = time.perf_counter()
        deal_count = 500 if args.quick else 10_000
        build_book(db_path, count, deal_count)
        build_seconds = time.perf_counter() - started
        print(f"built the database in {build_seconds:.1f} s: {db_path}", file=sys.stderr)

        typer_app = work / "minimal_typer.py"
        typer_app.write_text(TYPER_APP)
        env = {
            **os.environ,
            "CRM_DB": str(db_path),
            "CRM_NOW": NOW,
            "HOME": str(work),
            "XDG_CONFIG_HOME": str(work / "config"),
            "XDG_DATA_HOME": str(work / "data"),
            "NO_COLOR": "1",
            "COLUMNS": "100",
        }
        # Installed Python code is normally byte-compiled; time what a user's machine runs.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        rare_id = count // 2
        base = crm()
        cases = [
            Case(
                'python -c "import sqlite3"',
                [sys.executable, "-c", "import sqlite3"],
                reference=True,
            ),
            Case(
                "minimal Typer app, trivial command",
                [sys.executable, str(typer_app), "hello"],
                reference=True,
            ),
            Case(SQLITE_FTS, ["sqlite3", str(db_path), search_sql("Quixwhistle")], reference=True),
            Case("crm --help", [*base, "--help"]),
            Case(
                f"crm contact show {rare_id}", [*base, "contact", "show", str(rare_id), "-f", "tsv"]
            ),
            Case(
                "crm contact show (table)", [*base, "contact", "show", str(rare_id), "-f", "table"]
            ),
            Case(
                "crm search Quixwhistle",
                [*base, "search", "Quixwhistle", "-f", "tsv"],
                against=SQLITE_FTS,
            ),
            Case(
                "crm search +1 555 phone", [*base, "search", f"+1 (555) {rare_id:07d}", "-f", "tsv"]
            ),
            Case(
                "crm contact list --tag vip --limit 50",
                [*base, "contact", "list", "--tag", "vip", "--limit", "50", "-f", "tsv"],
            ),
            Case(
                f"crm contact list --format tsv (all {count:,})",
                [*base, "contact", "list", "--format", "tsv"],
            ),
            Case("crm agenda --format tsv", [*base, "agenda", "--format", "tsv"]),
            Case("crm agenda (table)", [*base, "agenda", "--format", "table"]),
            Case("crm pipeline --format tsv", [*base, "pipeline", "--format", "tsv"]),
            Case("crm pipeline (board)", [*base, "pipeline", "--format", "table"]),
            Case("crm forecast --format tsv", [*base, "forecast", "--format", "tsv"]),
        ]
        if not shutil.which("sqlite3"):
            cases = [c for c in cases if c.label != SQLITE_FTS]
        run_cases(cases, runs, env)
        files, file_cases, memory = files_section(
            work, base, env, quick=args.quick, runs=runs, db_path=db_path
        )
        extra = [*files, "", *targets_section(cases, file_cases, memory)]
        meta = {
            "runs": str(runs),
            "data": f"{count:,} contacts, {2 * count:,} notes, reminders and cadences for some, "
            f"{deal_count:,} deals (built in bulk in {build_seconds:.1f} s)",
            "date": datetime.now().strftime("%Y-%m-%d"),
        }
        text = report(cases, meta, extra)
        print(text)
        if not args.no_write:
            (ROOT / "docs" / "performance.md").write_text(text, encoding="utf-8")
            print("wrote docs/performance.md", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
