"""crm next to khard 0.22 on the same contacts: listing, searching, birthdays.

khard (a terminal address book that reads a folder of vCards) is installed from PyPI into the
benchmark's own virtual environment (benchmarks/.data/khard-venv), never into crmcli's. The
contacts are a benchmark database's, written as vCards by ``crm export contacts -f vcf``, one
file per contact as khard expects.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from timing import Case, run_cases

KHARD = "khard==0.22.0"
#: each crm command and the khard command doing the same work
PAIRS = (
    ("list", ["contact", "list", "-f", "tsv"], ["list"]),
    ("search", ["search", "{query}", "-f", "tsv"], ["list", "{query}"]),
    ("birthdays", ["dates", "--days", "366", "-f", "tsv"], ["birthdays"]),
)


def install(data: Path, *, offline: bool) -> tuple[Path | None, str]:
    """The khard executable of the benchmark's own environment, installing it when missing;
    ``offline`` installs from local wheels only. Returns (path or None, what happened)."""
    venv = data / "khard-venv"
    khard = venv / "bin" / "khard"
    if khard.exists() and _version(khard) == KHARD.split("==")[1]:
        return khard, f"{KHARD} from {venv}"
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", KHARD]
    if offline:
        pip.insert(4, "--no-index")
    done = subprocess.run(pip, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0 or not khard.exists():
        reason = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        where = "offline (local wheels only)" if offline else "from PyPI"
        return None, f"{KHARD} could not be installed {where}: {reason}"
    return khard, f"{KHARD} installed into {venv}"


def _version(khard: Path) -> str:
    done = subprocess.run([str(khard), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().rsplit(" ", 1)[-1]


def write_vcards(base: list[str], env: dict[str, str], db: Path, folder: Path) -> int:
    """Every contact of ``db`` as a vCard file in ``folder`` (crm's own vCard 4.0 export)."""
    text = subprocess.run(
        [*base, "--db", str(db), "export", "contacts", "-f", "vcf"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    folder.mkdir(parents=True, exist_ok=True)
    cards = re.findall(r"BEGIN:VCARD.*?END:VCARD\r?\n", text, re.S)
    for number, card in enumerate(cards):
        (folder / f"{number}.vcf").write_text(card, encoding="utf-8", newline="")
    return len(cards)


CONFIG = """[addressbooks]
[[bench]]
path = {path}
[general]
debug = no
editor = /bin/true
merge_editor = /bin/true
[contact table]
display = formatted_name
[vcard]
"""


def section(
    work: Path,
    data: Path,
    base: list[str],
    env: dict[str, str],
    *,
    db: Path,
    query: str,
    runs: int,
    offline: bool,
) -> tuple[list[str], dict[str, float]]:
    """Time each pair interleaved; the report lines, and how many times faster crm is."""
    khard, how = install(data, offline=offline)
    if khard is None:
        note = f"khard part skipped: {how}."
        print(note, file=sys.stderr)
        return ["## Against khard", "", note], {}
    cards = work / "vcards"
    count = write_vcards(base, env, db, cards)
    config = work / "khard-config"
    (config / "khard").mkdir(parents=True)
    (config / "khard" / "khard.conf").write_text(CONFIG.format(path=cards))
    khard_env = {"XDG_CONFIG_HOME": str(config)}
    cases: list[tuple[str, Case, Case]] = []
    for name, crm_args, khard_args in PAIRS:
        crm_case = Case(
            f"crm {' '.join(crm_args)}".replace("{query}", query),
            [*base, "--db", str(db), *(a.replace("{query}", query) for a in crm_args)],
        )
        khard_case = Case(
            f"khard {' '.join(khard_args)}".replace("{query}", query),
            [str(khard), *(a.replace("{query}", query) for a in khard_args)],
            reference=True,
            env=khard_env,
        )
        cases.append((name, crm_case, khard_case))
    run_cases([c for _, *pair in cases for c in pair], runs, env)
    lines = [
        "## Against khard",
        "",
        f"{how}; {count:,} contacts as vCard files, the same contacts in crm's database.",
        "",
        "| command | median | min-max | crm faster |",
        "| --- | ---: | ---: | --- |",
    ]
    faster: dict[str, float] = {}
    for name, crm_case, khard_case in cases:
        faster[name] = khard_case.median / crm_case.median
        lines.append(khard_case.row())
        lines.append(crm_case.row(f"{faster[name]:.0f}x"))
    return lines, faster
