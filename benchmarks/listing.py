"""Long listings: ``crm contact list --format tsv`` of every contact next to the sqlite3 CLI
writing the same columns, and the memory of the same listing as a table on a terminal."""

from __future__ import annotations

import shutil
from pathlib import Path

from timing import Case, fmt_ms, peak_rss_on_terminal, run_cases

SQLITE_TSV = "sqlite3 CLI, the same query as TSV"
#: the pager of the terminal table's measure
PAGER = "cat -u"


def list_sql(db: Path) -> str:
    """The statement ``crm contact list`` runs for every contact, with its parameters inlined
    (caught with SQLite's trace hook while the listing's own function runs)."""
    from crmcli import contacts
    from crmcli import db as crm_db

    conn = crm_db.connect(db, write=False)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    rows = contacts.list_contacts(conn, contacts.ListFilters())
    next(iter(rows), None)
    conn.close()
    return next(s for s in statements if s.lstrip().upper().startswith("SELECT"))


def section(
    base: list[str], env: dict[str, str], *, db: Path, count: int, runs: int
) -> tuple[list[str], list[Case], dict[str, float]]:
    """Time both (interleaved) and measure the table on a pseudo-terminal. Returns the report
    lines, the cases, and figures: ``x_sqlite3`` (ratio), ``table_mib`` and ``table_first_s``."""
    crm_case = Case(f"crm contact list --format tsv (all {count:,})", [*base, "contact", "list"])
    crm_case.argv += ["--format", "tsv"]
    cases = [crm_case]
    if shutil.which("sqlite3"):
        cases.insert(
            0,
            Case(
                SQLITE_TSV,
                ["sqlite3", "-readonly", "-tabs", "-header", str(db), list_sql(db)],
                reference=True,
            ),
        )
    run_cases(cases, runs, env)
    figures: dict[str, float] = {}
    lines = [
        "## Long listings",
        "",
        "| command | median | min-max | ratio |",
        "| --- | ---: | ---: | --- |",
    ]
    if len(cases) == 2:
        figures["x_sqlite3"] = crm_case.median / cases[0].median
        lines.append(cases[0].row())
    lines.append(crm_case.row(f"{figures['x_sqlite3']:.2f}x sqlite3" if figures else ""))
    # Through a pager, as a person gets it: one that shows everything at once (less would wait
    # for keys; `cat` alone means no pager). Its memory counts too (crm waits for it).
    paged = {**env, "CRM_PAGER": PAGER}
    table = peak_rss_on_terminal([*base, "contact", "list"], paged)
    figures["table_mib"] = table.mib
    figures["table_first_s"] = table.first_seconds
    lines += [
        "",
        f"`crm contact list` of all {count:,} as a table on a pseudo-terminal (120x40), through "
        f"a pager (`{PAGER}`): peak memory {table.mib:.0f} MiB, the first rows shown after "
        f"{fmt_ms(table.first_seconds)}, all of it after {fmt_ms(table.seconds)} "
        f"({table.shown / 2**20:.1f} MiB written).",
    ]
    return lines, cases, figures
