"""vCards with photos, measured: time and peak memory of `crm import` of a phone's worth of cards,
each with a photo, into a fresh database, in a child `crm` process (issue 14: under 250 MiB).

    python benchmarks/vcard_photos.py                 # 100,000 cards, a 4 KiB photo each
    python benchmarks/vcard_photos.py --quick         # 2,000 cards
    python benchmarks/vcard_photos.py --cards 20000 --photo-kib 32

The file is written a card at a time (this process stays small: the measured child starts as
its copy), as an iPhone writes it: vCard 3.0, CR CR LF line ends, the photo base64 folded at 75
octets, a note, two addresses, related names and vendor properties kept as they are. The peak
is the child's own maximum resident set (``ru_maxrss`` of its rusage, read by a small helper
process that starts it). No assertions: read the figures.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

from timing import peak_rss_mib

TARGET_MIB = 250
# about 14,000 full names, so that names repeat as in a real address book, not 100,000 times
FIRST = ("Ann", "Bo", "Chen", "Dana", "Emil", "Fatima", "Gus", "Hana", "Ivo", "Jörg", "Kai",
         "Lena", "Mo", "Nia", "Olek", "Pia", "Quinn", "Rosa", "Sven", "Tomasz", "Uma", "Vera",
         "Wim", "Xia", "Yusuf", "Zoë")  # fmt: skip
LAST = ("Lee", "Ray", "Müller", "Novak", "Okafor", "Petit", "Quist", "Rossi", "Sato", "Tan",
        "Berg", "Holm", "Kovač", "Lindqvist", "Moreau", "Nowak", "Park", "Schmidt", "Weiß",
        "Ortiz", "Iksiński", "Haugen", "Dubois", "Costa", "Fischer", "Ångström")  # fmt: skip
ENDINGS = ("", "-Berg", "-Holm", "son", "sen", "er", "mann", "i", "o", "ová", "ić", "ez", "s",
           "-Park", "-Costa", "ström", "ski", "ini", "ley", "ton")  # fmt: skip


def _folded(line: str) -> str:
    pieces = [line[:75], *(line[i : i + 74] for i in range(75, len(line), 74))]
    return "\r\r\n ".join(pieces) + "\r\r\n"


def write_cards(path: Path, cards: int, photo_kib: int, seed: int = 14) -> int:
    """Write ``cards`` vCards with a ``photo_kib`` photo each; the file's size in bytes."""
    rng = random.Random(seed)
    jpeg_head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    with path.open("w", encoding="utf-8", newline="") as out:
        for number in range(1, cards + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST) + rng.choice(ENDINGS)
            photo = jpeg_head + rng.randbytes(photo_kib * 1024 - len(jpeg_head) - 2) + b"\xff\xd9"
            lines = [
                "BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//iPhone OS 17.1//EN",
                f"N:{last};{first};;;", f"FN:{first} {last}", f"ORG:Firma {number % 97};Vertrieb",
                f"item1.EMAIL;type=INTERNET;type=pref:{first}.{last}.{number}@example.com".lower(),
                "item1.X-ABLabel:_$!<Other>!$_",
                f"TEL;type=CELL;type=VOICE;type=pref:+49 151 {number:08d}",
                f"item2.ADR;type=HOME:;;Weg {number};Stadt;;{number % 99999:05d};Deutschland",
                "item2.X-ABADR:de",
                f"item3.ADR;type=WORK:;;Platz {number % 500};Berlin;;10115;Deutschland",
                f"item4.X-ABRELATEDNAMES:{rng.choice(FIRST)} {last}",
                "item4.X-ABLabel:_$!<Spouse>!$_",
                f"BDAY:19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                f"NOTE:Kunde seit {2000 + number % 25}\\, bevorzugt Anrufe am Vormittag.",
                f"PHOTO;ENCODING=b;TYPE=JPEG:{base64.b64encode(photo).decode()}",
                f"X-ABUID:{number:08d}-0000-4000-8000-000000000000:ABPerson",
                f"UID:{number:08d}-0000-4000-8000-000000000000",
                "END:VCARD",
            ]  # fmt: skip
            out.write("".join(_folded(line) for line in lines))
    return path.stat().st_size


def measure(crm: list[str], source: Path, work: Path) -> tuple[float, float, str]:
    """(seconds, peak MiB, crm's summary line) of one `crm import FILE` into a fresh database,
    started by the small helper of :func:`timing.peak_rss_mib`: started from the benchmark
    itself, the child would report the benchmark's own size as its peak (231 MiB in a full run
    against 122 MiB measured alone)."""
    database = work / "photos.db"
    database.unlink(missing_ok=True)
    env = {**os.environ, "CRM_DB": str(database), "CRM_NOW": "2026-11-23T09:00"}
    with tempfile.TemporaryFile() as messages:
        try:
            elapsed, peak = peak_rss_mib([*crm, "import", str(source)], env, stderr=messages)
        except SystemExit:
            messages.seek(0)
            said = messages.read().decode("utf-8", "replace")
            raise SystemExit(f"crm import {source.name} failed:\n{said}") from None
        messages.seek(0)
        said = messages.read().decode("utf-8", "replace")
    return elapsed, peak, said.splitlines()[0] if said else "(nothing)"


def section(
    work: Path, crm: list[str], *, cards: int, photo_kib: int = 4
) -> tuple[list[str], dict[str, float]]:
    """The report lines, and the figures (``mib``, ``seconds``, ``cards``)."""
    source = work / "photos.vcf"
    size = write_cards(source, cards, photo_kib)
    seconds, peak, summary = measure(crm, source, work)
    source.unlink()
    (work / "photos.db").unlink(missing_ok=True)
    lines = [
        "## vCards with photos: import memory",
        "",
        f"`crm import` of {cards:,} iPhone-style vCards (3.0, CR CR LF, folded), each with a "
        f"{photo_kib} KiB photo ({size / 2**20:,.0f} MiB of file), into a fresh database, in a "
        "child process: its peak resident memory (`ru_maxrss`) and wall time. "
        f"Target: under {TARGET_MIB} MiB.",
        "",
        "| cards | file | peak memory | time | crm said |",
        "| ---: | ---: | ---: | ---: | --- |",
        f"| {cards:,} | {size / 2**20:,.0f} MiB | {peak:.0f} MiB | {seconds:.1f} s | {summary} |",
    ]
    return lines, {"mib": peak, "seconds": seconds, "cards": float(cards)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 cards (smoke test)")
    parser.add_argument("--cards", type=int, help="how many cards (default 100,000)")
    parser.add_argument("--photo-kib", type=int, default=4, help="each photo's size (KiB)")
    args = parser.parse_args()
    cards = args.cards or (2_000 if args.quick else 100_000)
    found = shutil.which("crm", path=str(Path(sys.executable).parent)) or shutil.which("crm")
    crm = [found] if found else [sys.executable, "-m", "crmcli"]
    with tempfile.TemporaryDirectory() as folder:
        lines, _ = section(Path(folder), crm, cards=cards, photo_kib=args.photo_kib)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
