"""Fill a benchmark database with notes, reminders and keep-in-touch cadences, fast.

Used by benchmarks/run.py (``seed``) after it has inserted the contacts. Also runnable alone to
build a database for timing ``crm agenda`` by hand::

    python benchmarks/seed_notes.py /tmp/bench.db --contacts 100000 --notes-per-contact 2
    CRM_NOW=2026-11-23T09:00 crm --db /tmp/bench.db agenda --format tsv > /dev/null
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
from datetime import datetime, time, timedelta
from pathlib import Path

KINDS = ["note"] * 4 + ["call"] * 3 + ["email"] * 3 + ["meeting"] * 2
WORDS = [
    "quote",
    "renewal",
    "pilot",
    "invoice",
    "delivery",
    "pricing",
    "discount",
    "contract",
    "demo",
    "team",
    "budget",
    "order",
    "meeting",
    "lunch",
    "referral",
    "proposal",
    "trial",
    "support",
    "upgrade",
    "warehouse",
    "shipment",
    "samples",
    "terms",
]
TASKS = [
    "Call back about the quote",
    "Send the revised proposal",
    "Check in after the delivery",
    "Follow up on the invoice",
    "Book the quarterly review",
    "Ask for a referral",
]
RULES = ["FREQ=WEEKLY", "FREQ=MONTHLY", "FREQ=MONTHLY;INTERVAL=3", "FREQ=WEEKLY;INTERVAL=2"]


def _utc(moment: datetime) -> str:
    from crmcli.clock import to_utc_text

    return to_utc_text(moment)


def seed(
    conn: sqlite3.Connection,
    contact_ids: list[int],
    now: datetime,
    rng: random.Random,
    notes_per_contact: float = 2.0,
) -> None:
    """Add about ``notes_per_contact`` notes per contact, reminders and cadences, in one
    transaction with executemany.

    Spread: notes over the last two years, most of them recent; 10% of contacts get a
    keep-in-touch cadence (14-90 days); 15% an open reminder (due from 30 days ago to 60 days
    ahead, a fifth of them recurring) and 5% a done one. ``now`` is aware or naive local time.
    The search index is not rebuilt: call ``crmcli.search.reindex(conn)`` after all seeders.
    """
    from crmcli.db import transaction

    stamp = _utc(now)
    local = now.astimezone().replace(tzinfo=None) if now.tzinfo else now
    local = local.replace(microsecond=0)
    total = int(len(contact_ids) * notes_per_contact)
    note_rows = []
    for _ in range(total):
        contact_id = rng.choice(contact_ids)
        # Most notes are recent: an exponential spread with a mean of ~120 days, capped at 2 years.
        age = min(rng.expovariate(1 / 120), 730)
        at = local - timedelta(days=age)
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 20)))
        note_rows.append((contact_id, rng.choice(KINDS), body, _utc(at), stamp, stamp))
    cadence_rows = [
        (rng.choice([14, 30, 30, 60, 90]), contact_id)
        for contact_id in contact_ids
        if rng.random() < 0.10
    ]
    reminder_rows = []
    for contact_id in contact_ids:
        draw = rng.random()
        if draw >= 0.20:
            continue
        day = local.date() + timedelta(days=rng.randint(-30, 60))
        timed = rng.random() < 0.6
        due = datetime.combine(day, time(rng.choice([9, 10, 11, 14, 15, 16]) if timed else 0))
        rule = rng.choice(RULES) if rng.random() < 0.2 else None
        done = _utc(local - timedelta(days=rng.randint(0, 30))) if draw >= 0.15 else None
        due_at = _utc(due)
        reminder_rows.append(
            (
                contact_id,
                rng.choice(TASKS),
                due_at,
                int(timed),
                rule,
                due_at if rule else None,
                done,
                stamp,
                stamp,
            )
        )
    with transaction(conn):
        conn.executemany(
            "INSERT INTO notes (contact_id, kind, body, at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            note_rows,
        )
        conn.executemany("UPDATE contacts SET cadence_days = ? WHERE id = ?", cadence_rows)
        conn.executemany(
            "INSERT INTO reminders (contact_id, body, due_at, has_time, rule, rule_start, "
            "done_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            reminder_rows,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--notes-per-contact", type=float, default=2.0)
    args = parser.parse_args(argv)
    if args.db.exists():
        print(f"{args.db} exists; give a new file", file=sys.stderr)
        return 1
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import build_contacts

    from crmcli import clock, db, search

    ids = build_contacts(args.db, args.contacts)
    conn = db.connect(args.db)
    seed(conn, ids, clock.now(), random.Random(2026), args.notes_per_contact)
    with db.transaction(conn):
        search.reindex(conn)
    conn.execute("ANALYZE")
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
