"""Fill a database with many deals, fast, for benchmarks: ``seed(conn, contact_ids, now, rng)``.

Plain ``executemany`` in one transaction. A realistic spread: about a third of the deals open
(more in the early stages), the rest won or lost; each with a stage-change history that walks
through the stages in order, and expected close dates around "now".
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta

from crmcli.clock import to_utc_text
from crmcli.db import transaction

TITLES = ["Website redesign", "Annual licence", "Support renewal", "Hardware refresh",
          "Consulting block", "Pilot project", "Training days", "Data migration"]  # fmt: skip
CURRENCIES = [("EUR", 70), ("USD", 20), ("GBP", 10)]
REASONS = ["price", "timing", "competitor", "no budget", "went silent"]


def seed(
    conn: sqlite3.Connection,
    contact_ids: list[int],
    now: datetime,
    rng: random.Random,
    deals: int = 10_000,
) -> None:
    """Insert ``deals`` deals for random contacts of ``contact_ids``, with their history."""
    stages = conn.execute("SELECT id, name, kind FROM stages ORDER BY kind != 'open', position")
    rows = stages.fetchall()
    open_stages = [(r[0], r[1]) for r in rows if r[2] == "open"]
    won = next((r[0], r[1]) for r in rows if r[2] == "won")
    lost = next((r[0], r[1]) for r in rows if r[2] == "lost")
    codes = [c for c, _ in CURRENCIES]
    weights = [w for _, w in CURRENCIES]
    first_id = (conn.execute("SELECT max(id) FROM deals").fetchone()[0] or 0) + 1
    deal_rows = []
    changes = []
    for deal_id in range(first_id, first_id + deals):
        created = now - timedelta(days=rng.uniform(1, 400))
        fate = rng.random()
        if fate < 0.35:
            # open: younger, and early stages hold more deals
            created = now - timedelta(days=rng.uniform(1, 90))
            depth = min(int(rng.expovariate(0.9)), len(open_stages) - 1)
            path = open_stages[: depth + 1]
            end = None
        else:
            depth = rng.randrange(len(open_stages))
            path = [*open_stages[: depth + 1], won if fate < 0.75 else lost]
            end = created + (now - created) * rng.uniform(0.2, 1.0)
        finish = end or now
        times = sorted(
            created + (finish - created) * rng.uniform(0, 1) for _ in range(len(path) - 1)
        )
        stamps = [created, *times]
        if end is not None:
            stamps[-1] = end
        previous = None
        for (stage_id, name), at in zip(path, stamps, strict=True):
            changes.append(
                (deal_id, previous[0] if previous else None, previous[1] if previous else None,
                 stage_id, name, to_utc_text(at))
            )  # fmt: skip
            previous = (stage_id, name)
        stage_id = path[-1][0]
        value = rng.randrange(5, 1000) * 10_000
        close_day = (finish + timedelta(days=rng.uniform(-20, 120))).date().isoformat()
        deal_rows.append(
            (
                deal_id,
                rng.choice(contact_ids),
                f"{rng.choice(TITLES)} {deal_id}",
                value,
                rng.choices(codes, weights)[0],
                stage_id,
                close_day,
                rng.choice(REASONS) if path[-1] == lost else None,
                to_utc_text(stamps[-1]),
                to_utc_text(end) if end else None,
                to_utc_text(created),
                to_utc_text(stamps[-1]),
            )
        )
    with transaction(conn):
        conn.executemany(
            "INSERT INTO deals (id, contact_id, title, value_minor, currency, stage_id, "
            "expected_close, lost_reason, stage_changed_at, closed_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            deal_rows,
        )
        conn.executemany(
            "INSERT INTO deal_stage_changes (deal_id, from_stage_id, from_stage, to_stage_id, "
            "to_stage, at) VALUES (?, ?, ?, ?, ?, ?)",
            changes,
        )
