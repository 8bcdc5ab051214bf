"""Scale: the everyday commands on 1,000,000 contacts next to the same commands on 100,000.

Both databases come from :func:`build`, which writes everything in bulk SQL (recursive CTEs,
deterministic pseudo-random numbers from the row number) with the indexes dropped and
re-created at the end, so a million contacts take a minute or two, not an hour. Proportions
follow the main benchmark database: per contact one email, one phone, one tag and two notes;
10% keep-in-touch cadences; 20% a reminder (three in four open); 40% a birthday, 8% an
anniversary, 5% a "customer since" date; one deal per ten contacts with its stage history;
purchases for 60% of contacts, about five per contact in all.

    python benchmarks/scale.py build FILE COUNT    # just the database
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import read_floor
from gen_csv import FIRST, LAST
from timing import Case, fmt_ms, run_cases, time_once

RARE_ID_NAME = ("Zebulon", "Quixwhistle")
COMPANIES = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark"]
WORDS = ["quote", "renewal", "pilot", "invoice", "delivery", "pricing", "discount", "contract",
         "demo", "team", "budget", "order", "meeting", "lunch", "referral", "proposal"]  # fmt: skip
NOW = "2026-11-23 09:00:00"
BULK_TABLES = ("contacts", "contact_emails", "contact_phones", "contact_tags", "contact_dates",
               "notes", "reminders", "deals", "deal_stage_changes", "purchases")  # fmt: skip


def mix(number: int, salt: int) -> int:
    """A deterministic pseudo-random number in 0..2^31-1 (a splitmix64 step): the bulk SQL
    calls it as h(row number, salt), so every build of the same size holds the same data."""
    x = (number * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (x ^ (x >> 31)) & 0x7FFFFFFF


def _h(expr: str, salt: int = 0) -> str:
    return f"h({expr}, {salt})"


def _seq(count: str) -> str:
    return f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "


def _utc(expr: str) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {expr})"


# A note's age: a product of two uniform numbers (most notes recent), up to about two years.
NOTE_AT = _utc(
    f"datetime(:now, '-' || (({_h('i', 23)} % 100000) * ({_h('i', 24)} % 100000) "
    "/ 9500) || ' minutes')"
)
REMINDER_DUE = _utc(
    f"datetime(date(:now), ({_h('id', 25)} % 91 - 30) || ' days', "
    f"(CASE WHEN {_h('id', 26)} % 5 < 3 THEN 9 + {_h('id', 27)} % 7 ELSE 0 END) || ' hours')"
)
STAGE_CHANGED = _utc(f"datetime(:now, '-' || ({_h('i', 36)} % 90) || ' days')")

STATEMENTS = [
    # contacts: name from the same lists as the other benchmark data; one rare name
    _seq(":count")
    + "INSERT INTO contacts (id, uid, name, first_name, last_name, company, title, cadence_days, "
    "created_at, updated_at) SELECT i, 'bulk-' || i, "
    "CASE WHEN i = :rare THEN :rare_first || ' ' || :rare_last ELSE f || ' ' || l END, "
    "CASE WHEN i = :rare THEN :rare_first ELSE f END, "
    "CASE WHEN i = :rare THEN :rare_last ELSE l END, co, 'Buyer', "
    f"CASE WHEN {_h('i', 1)} % 10 = 0 THEN json_extract('[14,30,30,60,90]', "
    f"'$[' || ({_h('i', 2)} % 5) || ']') END, :created, :created FROM ("
    f"SELECT i, json_extract(:first, '$[' || ({_h('i', 3)} % json_array_length(:first)) || ']') "
    f"AS f, json_extract(:last, '$[' || ({_h('i', 4)} % json_array_length(:last)) || ']') AS l, "
    f"json_extract(:companies, '$[' || ({_h('i', 5)} % json_array_length(:companies)) || ']') "
    "AS co FROM n)",
    "INSERT INTO contact_emails (contact_id, email, label, position) SELECT id, "
    "lower(first_name || '.' || last_name || '.' || id || '@' || company || '.example'), "
    "'work', 0 FROM contacts",
    "INSERT INTO contact_phones (contact_id, phone, label, digits, digits_rev, position) "
    "SELECT id, '+1 555 ' || printf('%07d', id), 'mobile', '1555' || printf('%07d', id), "
    "reverse_digits, 0 FROM (SELECT id, '' AS reverse_digits FROM contacts)",
    f"INSERT INTO contact_tags (contact_id, tag_id) SELECT id, 1 + {_h('id', 6)} % 6 FROM contacts",
    # yearly dates: 40% birthdays (a third without a year), 8% anniversaries, 5% customer since
    f"INSERT INTO contact_dates (contact_id, kind, label, year, month, day) SELECT id, "
    f"'birthday', 'birthday', CASE WHEN {_h('id', 7)} % 3 = 0 THEN NULL "
    f"ELSE 1950 + {_h('id', 8)} % 55 END, 1 + {_h('id', 9)} % 12, 1 + {_h('id', 10)} % 28 "
    f"FROM contacts WHERE {_h('id', 11)} % 100 < 40",
    f"INSERT INTO contact_dates (contact_id, kind, label, year, month, day) SELECT id, "
    f"'anniversary', 'anniversary', 1980 + {_h('id', 12)} % 45, 1 + {_h('id', 13)} % 12, "
    f"1 + {_h('id', 14)} % 28 FROM contacts WHERE {_h('id', 15)} % 100 < 8",
    f"INSERT INTO contact_dates (contact_id, kind, label, year, month, day) SELECT id, "
    f"'other', 'customer since', 2010 + {_h('id', 16)} % 16, 1 + {_h('id', 17)} % 12, "
    f"1 + {_h('id', 18)} % 28 FROM contacts WHERE {_h('id', 19)} % 100 < 5",
    # two notes per contact over the last two years, most of them recent
    _seq(":count * 2")
    + "INSERT INTO notes (contact_id, kind, body, at, created_at, updated_at) SELECT "
    f"1 + {_h('i', 20)} % :count, 'call', "
    f"json_extract(:words, '$[' || ({_h('i', 21)} % 16) || ']') || ' ' || "
    f"json_extract(:words, '$[' || ({_h('i', 22)} % 16) || ']') || ' follow-up', "
    f"{NOTE_AT}, :created, :created FROM n",
    # 20% of contacts a reminder: 15% open (due from 30 days ago to 60 days ahead), 5% done
    f"INSERT INTO reminders (contact_id, body, due_at, has_time, done_at, created_at, "
    f"updated_at) SELECT id, 'Call back about the quote', "
    f"{REMINDER_DUE}, "
    f"CASE WHEN {_h('id', 26)} % 5 < 3 THEN 1 ELSE 0 END, "
    f"CASE WHEN {_h('id', 28)} % 4 = 0 THEN :created END, :created, :created "
    f"FROM contacts WHERE {_h('id', 29)} % 100 < 20",
    # one deal per ten contacts: a third open, the rest won or lost; one history row each
    _seq(":count / 10")
    + "INSERT INTO deals (id, contact_id, title, value_minor, currency, stage_id, "
    "expected_close, stage_changed_at, closed_at, created_at, updated_at) SELECT i, "
    f"1 + {_h('i', 30)} % :count, 'Annual licence ' || i, (5 + {_h('i', 31)} % 995) * 10000, "
    f"'EUR', stage, date(:now, ({_h('i', 32)} % 140 - 20) || ' days'), changed, "
    "CASE WHEN stage > 4 THEN changed END, changed, changed FROM ("
    f"SELECT i, CASE WHEN {_h('i', 33)} % 100 < 35 THEN 1 + {_h('i', 34)} % 4 "
    f"ELSE 5 + {_h('i', 35)} % 2 END AS stage, "
    f"{STAGE_CHANGED} AS changed FROM n)",
    "INSERT INTO deal_stage_changes (deal_id, to_stage_id, to_stage, at) "
    "SELECT d.id, d.stage_id, s.name, d.stage_changed_at FROM deals d "
    "JOIN stages s ON s.id = d.stage_id",
]


def build(path: Path, count: int) -> float:
    """A database of ``count`` contacts in bulk; returns the seconds it took."""
    from crmcli import db, search

    started = time.perf_counter()
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    conn = db.connect(path)
    conn.create_function("h", 2, mix, deterministic=True)
    params = {
        "count": count,
        "rare": count // 2,
        "rare_first": RARE_ID_NAME[0],
        "rare_last": RARE_ID_NAME[1],
        "first": json.dumps(FIRST),
        "last": json.dumps(LAST),
        "companies": json.dumps(COMPANIES),
        "words": json.dumps(WORDS),
        "now": NOW,
        "created": "2024-01-15T10:00:00Z",
    }
    with db.transaction(conn):
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN (SELECT value FROM json_each(?))",
            (json.dumps(BULK_TABLES),),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')  # names read from sqlite_master
        conn.executemany(
            "INSERT OR IGNORE INTO tags (id, name) VALUES (?, ?)",
            enumerate(["customer", "lead", "vip", "partner", "newsletter", "trade-show"], 1),
        )
        for statement in STATEMENTS:
            used = {k: v for k, v in params.items() if f":{k}" in statement}
            conn.execute(statement, used)
        conn.create_function("reverse_text", 1, lambda text: text[::-1], deterministic=True)
        conn.execute("UPDATE contact_phones SET digits_rev = reverse_text(digits)")
        _purchases(conn, count)
        for _, sql in indexes:
            conn.execute(sql)
        search.reindex(conn)
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


#: what the bulk purchases are of
PRODUCTS = ["Annual licence", "Support renewal", "Training day", "Hardware refresh",
            "Consulting block", "Starter kit", "Spare parts", "Pilot project"]  # fmt: skip
#: purchases over the last two years for about 60% of the contacts, about 5 per contact in
#: all (the proportion of benchmarks/customers.py), a fifth of them in USD; written through the
#: table's triggers, so the per-customer totals are what crmcli itself would keep
PURCHASES = (
    _seq(":count * 8")
    + "INSERT INTO purchases (contact_id, purchased_on, product, quantity, amount_minor, "
    "currency, source, created_at, updated_at) SELECT c, "
    f"date(:now, '-' || ({_h('i', 41)} % 730) || ' days'), "
    f"json_extract(:products, '$[' || ({_h('i', 42)} % 8) || ']'), 1 + {_h('i', 43)} % 3, "
    f"(1 + {_h('i', 44)} % 500) * 100, CASE WHEN {_h('i', 45)} % 5 = 0 THEN 'USD' ELSE 'EUR' END, "
    f"'import', :created, :created FROM (SELECT i, 1 + {_h('i', 40)} % :count AS c FROM n) "
    f"WHERE {_h('c', 46)} % 100 < 60"
)


def _purchases(conn: sqlite3.Connection, count: int) -> None:
    """Purchases in proportion (:data:`PURCHASES`)."""
    conn.execute(
        PURCHASES,
        {"count": count, "now": NOW, "created": "2024-01-15T10:00:00Z",
         "products": json.dumps(PRODUCTS)},
    )  # fmt: skip


def everyday(count: int) -> list[tuple[str, list[str]]]:
    """The everyday commands of the targets (arguments after ``crm --db FILE``)."""
    rare = str(count // 2)
    commands = [
        ("agenda --format tsv", ["agenda", "--format", "tsv"]),
        ("agenda (table)", ["agenda", "--format", "table"]),
        ("dates --days 30", ["dates", "--days", "30", "-f", "tsv"]),
        ("contact show", ["contact", "show", rare, "-f", "tsv"]),
        ("contact list --limit 20", ["contact", "list", "--limit", "20", "-f", "tsv"]),
        ("search Quixwhistle", ["search", RARE_ID_NAME[1], "-f", "tsv"]),
        ("pipeline --format tsv", ["pipeline", "--format", "tsv"]),
        ("forecast --format tsv", ["forecast", "--format", "tsv"]),
    ]
    return commands


def section(
    work: Path, base: list[str], env: dict[str, str], *, small: int, large: int, runs: int
) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Build both databases, time the everyday commands on each (interleaved), then
    ``crm db check`` and ``crm db backup`` on the large one. Returns the report lines, each
    command's ratio large/small (``ratios``) and the maintenance commands' seconds."""
    small_db, large_db = work / f"scale-{small}.db", work / f"scale-{large}.db"
    built = {n: build(p, n) for n, p in ((small, small_db), (large, large_db))}
    # each command beside its SQL floor on each database: the sqlite3 CLI replaying the very
    # statements it ran, which says how much of the growth is the work itself
    floors = shutil.which("sqlite3") is not None
    pairs = []
    for (label, small_args), (_, large_args) in zip(everyday(small), everyday(large), strict=True):
        small_case = Case(f"{label} ({small:,})", [*base, "--db", str(small_db), *small_args])
        large_case = Case(label, [*base, "--db", str(large_db), *large_args])
        pair = [small_case, large_case]
        if floors:
            pair += [
                read_floor.replay_case(f"SQL of {label} ({n:,})", db, args, env, work)
                for n, db, args in ((small, small_db, small_args), (large, large_db, large_args))
            ]
        pairs.append((label, pair))
    run_cases([case for _, pair in pairs for case in pair], runs, env)
    maintenance = [
        Case(f"db check ({large:,})", [*base, "--db", str(large_db), "db", "check"]),
    ]
    run_cases(maintenance, max(1, runs // 3), env)
    backup_times = []
    for number in range(max(1, runs // 3)):
        target = work / f"backup-{number}.db"
        started = time.perf_counter()
        time_once([*base, "--db", str(large_db), "db", "backup", str(target)], env)
        backup_times.append(time.perf_counter() - started)
        target.unlink()
    size_mib = large_db.stat().st_size / 2**20
    lines = [
        "## Scale: 1,000,000 contacts" if large == 1_000_000 else f"## Scale: {large:,} contacts",
        "",
        f"Both databases built in bulk SQL ({small:,} contacts in {built[small]:.0f} s, "
        f"{large:,} in {built[large]:.0f} s, {size_mib:,.0f} MiB).",
        "",
        f"| command | {small:,} | {large:,} | x | its SQL alone: {small:,} | {large:,} | x |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ratios: dict[str, float] = {}
    floor_ratios: dict[str, float] = {}
    for label, (small_case, large_case, *floor) in pairs:
        ratios[label] = large_case.median / small_case.median
        sql = " - | - | - |"
        if floor:
            floor_ratios[label] = floor[1].median / floor[0].median
            sql = f" {fmt_ms(floor[0].median)} | {fmt_ms(floor[1].median)} | {floor_ratios[label]:.2f} |"
        lines.append(
            f"| `crm {label}` | {fmt_ms(small_case.median)} | {fmt_ms(large_case.median)} | "
            f"{ratios[label]:.2f} |{sql}"
        )
    check = maintenance[0]
    lines += [
        "",
        f"`crm db check` on {large:,} contacts: {fmt_ms(check.median)} "
        f"({len(check.times)} runs); `crm db backup`: "
        f"{fmt_ms(sorted(backup_times)[len(backup_times) // 2])} ({len(backup_times)} runs).",
    ]
    maintenance_seconds = {
        f"db check ({large:,} contacts)": check.median,
        f"db backup ({large:,} contacts)": sorted(backup_times)[len(backup_times) // 2],
    }
    return lines, {"ratios": ratios, "floors": floor_ratios, "maintenance": maintenance_seconds}


if __name__ == "__main__":
    if sys.argv[1:2] == ["build"]:
        seconds = build(Path(sys.argv[2]), int(sys.argv[3]))
        print(f"built {sys.argv[2]} in {seconds:.1f} s")
