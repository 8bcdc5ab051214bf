"""crm sync at 10,000 contacts (targets: a sync with nothing changed under 1 s; a first sync
under 10 s).

    python benchmarks/sync.py            # 10,000 contacts, 5 runs of each repeated case
    python benchmarks/sync.py --quick    # 1,000 contacts, 2 runs: a smoke test

Cases, each the installed ``crm sync`` as a whole process (wall time, peak resident memory):

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
from timing import peak_rss_mib


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds and peak MiB of one crm sync (it must succeed)."""
    return peak_rss_mib([*crm(), *args], env)


def _timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([*crm(), *args], env=env, capture_output=True, check=True)
    return time.perf_counter() - start


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


def _line(label: str, times: list[float], rss: float) -> str:
    shown = ", ".join(f"{t:.2f}" for t in times)
    return f"| {label} | {statistics.median(times):.2f} s | {shown} | {rss:.0f} MiB |"


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
        rows = ["| case | median | runs | peak RSS |", "| --- | --- | --- | --- |"]
        seconds, rss = _run(sync, env)
        files = len(list(vdir.glob("*.vcf")))
        if files != count:
            sys.exit(f"first sync wrote {files} files, not {count}")
        rows.append(_line(f"first sync, {count:,} contacts -> empty vdir", [seconds], rss))
        times = [_timed(sync, env) for _ in range(runs)]
        rows.append(_line(f"nothing changed, {count:,} contacts", times, _run(sync, env)[1]))
        times = []
        for i in range(runs):
            subprocess.run([*crm(), "contact", "edit", "1", "--title", f"T{i}"], env=env, check=True,
                           capture_output=True)  # fmt: skip
            card = sorted(vdir.glob("*.vcf"))[i + 10]
            card.write_bytes(
                card.read_bytes().replace(b"END:VCARD", f"NOTE:n{i}\r\nEND:VCARD".encode())
            )
            times.append(_timed(sync, env))
        rows.append(_line("one change on each side", times, _run(sync, env)[1]))
        # 4. the cards of 3. into an empty database
        fresh = {**base, "CRM_DB": str(work / "fresh.db")}
        seconds, rss = _run(sync, fresh)
        if _count(work / "fresh.db") != count:
            sys.exit(f"a first sync from the vdir made {_count(work / 'fresh.db')} contacts")
        rows.append(_line(f"first sync, {count:,} cards -> empty database", [seconds], rss))
        # 5. the same people imported before (a copy of the database, the vdir of another)
        shutil.copy(database, work / "known.db")
        conn = sqlite3.connect(work / "known.db")
        conn.execute("DELETE FROM sync_items")
        conn.execute("DELETE FROM sync_collections")
        conn.commit()
        conn.close()
        known = {**base, "CRM_DB": str(work / "known.db")}
        seconds, rss = _run(sync, known)
        if _count(work / "known.db") != count:
            sys.exit(f"matching made {_count(work / 'known.db')} contacts, not {count}")
        rows.append(_line(f"first sync, {count:,} known people in the vdir", [seconds], rss))
        print("\n".join(rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
