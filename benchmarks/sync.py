"""crm sync at 10,000 contacts (targets: a sync with nothing changed under 1 s; a first sync
under 10 s).

    python benchmarks/sync.py            # 10,000 contacts, 5 runs of each repeated case
    python benchmarks/sync.py --quick    # 1,000 contacts, 2 runs: a smoke test

Cases, each the installed ``crm sync`` as a whole process (wall time, CPU time, peak resident
memory):

Each contact has, besides a name, company, email, phone, tag and dates, what the lossless model
adds: an address, a URL, an IMPP handle, a related person and a property kept verbatim.

1. first sync, database -> empty vdir: 10,000 contacts written as 10,000 vCard files;
2. no change: the same again, nothing to do (the everyday cron run);
3. one contact changed in crmcli, one card changed in the vdir;
4. first sync, vdir -> empty database: 10,000 cards from the phone become contacts;
5. first sync against a vdir of the same people (imported before): matched, no duplicate.

No assertions on time: the figures are printed; a wrong count exits 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import NOW, build_contacts, crm


def _measured(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak MiB of one crm sync, which must
    succeed. CPU time is what the sync costs on a busy machine too (wall time then includes
    the wait for a CPU)."""
    start = time.perf_counter()
    proc = subprocess.Popen([*crm(), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"crm {' '.join(args)} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _count(database: Path) -> int:
    conn = sqlite3.connect(database)
    found = conn.execute("SELECT count(*) FROM contacts WHERE deleted_at IS NULL").fetchone()[0]
    conn.close()
    return int(found)


def _enrich(database: Path) -> None:
    """What the lossless model adds to a phone's card, for every contact: an address, a web
    address, a messaging handle, a related person and a property kept verbatim."""
    conn = sqlite3.connect(database)
    ids = [row[0] for row in conn.execute("SELECT id FROM contacts")]
    with conn:
        conn.executemany(
            "INSERT INTO contact_addresses (contact_id, label, street, city, postal_code, "
            "country, position) VALUES (?, 'work', ?, 'Springfield', ?, 'USA', 0)",
            [(i, f"{i} Main St", f"{i % 99999:05d}") for i in ids],
        )
        conn.executemany(
            "INSERT INTO contact_urls (contact_id, url, label, position) VALUES (?, ?, NULL, 0)",
            [(i, f"https://c{i}.example") for i in ids],
        )
        conn.executemany(
            "INSERT INTO contact_handles (contact_id, kind, service, handle, label, position) "
            "VALUES (?, 'im', 'xmpp', ?, NULL, 0)",
            [(i, f"c{i}@chat.example") for i in ids],
        )
        conn.executemany(
            "INSERT INTO contact_related (contact_id, name, label, position) "
            "VALUES (?, 'Pat Doe', 'assistant', 0)",
            [(i,) for i in ids],
        )
        conn.executemany(
            "INSERT INTO contact_vcard_properties (contact_id, grp, name, params, value, position) "
            "VALUES (?, NULL, 'X-PHONETIC-LAST-NAME', '', ?, 0)",
            [(i, f"Phon{i}") for i in ids],
        )
    conn.close()


def _line(label: str, runs: list[tuple[float, float, float]]) -> str:
    walls = [wall for wall, _, _ in runs]
    cpu = statistics.median(c for _, c, _ in runs)
    rss = max(r for _, _, r in runs)
    shown = ", ".join(f"{t:.2f}" for t in walls)
    return f"| {label} | {statistics.median(walls):.2f} s | {cpu:.2f} s | {shown} | {rss:.0f} MiB |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 contacts, 2 runs")
    args = parser.parse_args()
    count, runs = (1_000, 2) if args.quick else (10_000, 5)
    work = Path(tempfile.mkdtemp(prefix="crm-sync-bench-"))
    try:
        database = work / "crm.db"
        build_contacts(database, count)
        _enrich(database)
        base = {"CRM_NOW": NOW, "HOME": str(work), "XDG_CONFIG_HOME": str(work / "cfg"),
                "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}  # fmt: skip
        env = {**base, "CRM_DB": str(database)}
        vdir = work / "vdir"
        vdir.mkdir()
        sync = ["sync", "--contacts-dir", str(vdir)]
        rows = [
            "| case | median wall | median CPU | wall of each run | peak RSS |",
            "| --- | --- | --- | --- | --- |",
        ]
        first = _measured(sync, env)
        files = len(list(vdir.glob("*.vcf")))
        if files != count:
            sys.exit(f"first sync wrote {files} files, not {count}")
        rows.append(_line(f"first sync, {count:,} contacts -> empty vdir", [first]))
        same = [_measured(sync, env) for _ in range(runs)]
        rows.append(_line(f"nothing changed, {count:,} contacts", same))
        changed = []
        for i in range(runs):
            subprocess.run([*crm(), "contact", "edit", "1", "--title", f"T{i}"], env=env, check=True,
                           capture_output=True)  # fmt: skip
            card = sorted(vdir.glob("*.vcf"))[i + 10]
            card.write_bytes(
                card.read_bytes().replace(b"END:VCARD", f"NOTE:n{i}\r\nEND:VCARD".encode())
            )
            changed.append(_measured(sync, env))
        rows.append(_line("one change on each side", changed))
        # 4. the cards of 3. into an empty database
        fresh = {**base, "CRM_DB": str(work / "fresh.db")}
        into_empty = _measured(sync, fresh)
        if _count(work / "fresh.db") != count:
            sys.exit(f"a first sync from the vdir made {_count(work / 'fresh.db')} contacts")
        rows.append(_line(f"first sync, {count:,} cards -> empty database", [into_empty]))
        # 5. the same people imported before (a copy of the database, the vdir of another)
        shutil.copy(database, work / "known.db")
        conn = sqlite3.connect(work / "known.db")
        conn.execute("DELETE FROM sync_items")
        conn.execute("DELETE FROM sync_collections")
        conn.commit()
        conn.close()
        known = {**base, "CRM_DB": str(work / "known.db")}
        matched = _measured(sync, known)
        if _count(work / "known.db") != count:
            sys.exit(f"matching made {_count(work / 'known.db')} contacts, not {count}")
        rows.append(_line(f"first sync, {count:,} known people in the vdir", [matched]))
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print("\n".join(rows))
        print(f"\nload average at the end: {load} on {os.cpu_count()} CPUs")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
