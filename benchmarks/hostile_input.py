"""Hostile input, measured: time and peak memory of `crm import --dry-run` on the files that
used to hurt (issue 13), each in a fresh `crm` process.

    python benchmarks/hostile_input.py            # 100 MB photo, 3 MB quoted-printable note
    python benchmarks/hostile_input.py --quick    # 10 MB photo, 1 MB note

Before the fix (figures from the issue): a 3 MB quoted-printable field took 36 s (unfolding
was quadratic) and a 100 MB photo needed 450 MB of memory. No assertions: read the figures.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


def vcard_with_photo(path: Path, megabytes: int) -> None:
    # written a piece at a time: this process must stay small, or the measured child (which
    # starts as its copy) would inherit its memory in the peak figure
    with path.open("w", newline="") as out:
        out.write("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\n")
        out.write("PHOTO;ENCODING=b;TYPE=JPEG:")
        for _ in range(megabytes):
            chunk = base64.b64encode(os.urandom(1024 * 1024 * 3 // 4 // 74 * 74)).decode()
            out.write("\r\n ".join(chunk[i : i + 74] for i in range(0, len(chunk), 74)))
            out.write("\r\n ")
        out.write("AAAA\r\nEND:VCARD\r\n")


def vcard_with_qp_note(path: Path, megabytes: int) -> None:
    lines = megabytes * 1024 * 1024 // 75
    with path.open("w", newline="") as out:
        out.write("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lee;Ann\r\nNOTE;ENCODING=QUOTED-PRINTABLE:")
        for _ in range(lines):
            out.write("=41" * 24 + "=\r\n")
        out.write("=41\r\nEND:VCARD\r\n")


def measure(crm: str, source: Path, work: Path) -> tuple[float, float]:
    """(seconds, peak MiB) of one `crm import FILE --dry-run` process."""
    env = {**os.environ, "CRM_DB": str(work / "bench.db"), "CRM_NOW": "2026-11-23T09:00"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [crm, "import", str(source), "--dry-run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"crm import {source.name} failed")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small files (smoke test)")
    args = parser.parse_args()
    crm = shutil.which("crm")
    if crm is None:
        raise SystemExit("crm is not installed in this environment")
    photo_mb, qp_mb = (10, 1) if args.quick else (100, 3)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        photo, note = work / "photo.vcf", work / "qp.vcf"
        vcard_with_photo(photo, photo_mb)
        vcard_with_qp_note(note, qp_mb)
        for label, source in (
            (f"vCard with a {photo_mb} MB photo", photo),
            (f"vCard with a {qp_mb} MB quoted-printable note", note),
        ):
            seconds, peak = measure(crm, source, work)
            print(f"{label:45} {seconds:6.2f} s  {peak:6.0f} MiB peak")


if __name__ == "__main__":
    main()
