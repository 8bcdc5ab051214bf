"""Files in and out: ``crm import`` of a Google Contacts CSV and ``crm export contacts``,
next to ``sqlite3 FILE ".import --csv"``, sqlite-utils and a plain csv-module script; the
peak memory of both on a million rows."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from timing import Case, peak_rss_mib, run_cases

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
    from crmcli.contacts import ListFilters
    from crmcli.io import csv_out

    sql, params = csv_out.export_query(ListFilters())
    assert not params
    return sql


SQLITE_IMPORT = "sqlite3 FILE .import --csv"
IMPORT_INTO_FULL = "crm import into a full db"


def files_section(
    work: Path, base: list[str], env: dict[str, str], *, quick: bool, runs: int, db_path: Path
) -> tuple[list[str], list[Case], dict[str, float]]:
    """Import (into a fresh db, and into a copy of the timing db) and export of a Google Contacts CSV, next to sqlite3 and sqlite-utils; memory.

    Returns the report lines, the timed cases and the figures the targets are judged on.
    """
    from gen_csv import write_google_csv

    rows = 2_000 if quick else 100_000
    big = 20_000 if quick else 1_000_000
    csv_path = work / "google.csv"
    write_google_csv(csv_path, rows)
    target = work / "imported.db"
    into_full = work / "imported-into-full.db"
    sqlite_db = work / "sqlite3-import.db"
    sqlite_utils_db = work / "sqlite-utils.db"
    script = work / "export_script.py"
    script.write_text(EXPORT_SCRIPT)
    shell = "sh"
    crm_cmd = " ".join(base)
    sqlite_utils = shutil.which("sqlite-utils", path=str(Path(sys.executable).parent))
    cases = [
        Case(
            SQLITE_IMPORT,
            ["sh", "-c", f"rm -f {sqlite_db}; sqlite3 {sqlite_db} '.import --csv {csv_path} t'"],
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
            f"{IMPORT_INTO_FULL} ({rows:,} rows into the timing db)",
            [*base, "--db", str(into_full), "import", str(csv_path)],
            # a fresh copy of the timing database before each run, not timed
            prepare=["cp", str(db_path), str(into_full)],
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
    sqlite_import = by_label.get(SQLITE_IMPORT)
    fresh = next((c for c in available if c.label.startswith("crm import")), None)
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
        elif case.label.startswith(IMPORT_INTO_FULL) and sqlite_import and fresh:
            ratio = (
                f"{case.median / sqlite_import.median:.1f}x sqlite3 .import; "
                f"{case.median / fresh.median:.2f}x the import into a fresh db"
            )
        elif case.label.startswith("crm export") and plain:
            ratio = f"{case.median / plain.median:.2f}x the plain script"
            if su_rows:
                ratio += f"; {case.median / su_rows.median:.2f}x sqlite-utils rows"
        lines.append(case.row(ratio))

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
    figures = {"import_mib": rss_in, "export_mib": rss_out}
    full_case = next((c for c in available if c.label.startswith(IMPORT_INTO_FULL)), None)
    if fresh and sqlite_import:
        figures["import_x_sqlite3"] = fresh.median / sqlite_import.median
    if fresh and full_case:
        figures["into_full_x_fresh"] = full_case.median / fresh.median
    return lines, available, figures
