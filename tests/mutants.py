"""Hand-picked mutations of crmcli, each of which the test suite must catch (run by hand).

    python tests/mutants.py              # every mutant, against the tests named for it
    python tests/mutants.py resolve-any-exact csv-no-neutralise
    python tests/mutants.py --list
    python tests/mutants.py --all-tests NAME   # against the whole suite (slow): does it survive?

Each mutant is one small edit to one file of crmcli/ (a deleted check, a flipped comparison) of
the kind a refactoring makes by accident. For each, the script copies the work tree (as it is,
uncommitted changes included) to a temporary folder, applies the edit there, and runs the tests
that should catch it with the copy first on PYTHONPATH, so the tests and every `crm` they start
run the mutated code; the work tree is never changed. A mutant is *killed* when pytest reports
failing tests (exit 1); one that breaks collection or import (exit 2+) is an error, not a kill.
Exit status 0 when every mutant was killed. Nothing here runs under pytest (the name does not
start with ``test_``): it is a check on the tests, not a test.

Add a mutant here when a review finds a change the suite let through, together with the test
that now catches it; when the code it edits moves, update its text (the script says when the
text is not found). New candidates: a few lines edited by hand, or a tool such as mutmut.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    #: pytest arguments (files, node ids) that must fail with the mutant in place
    tests: tuple[str, ...]
    #: run by .ci/run (``--ci``): the mutations a review found the suite letting through
    ci: bool = False


# (the file with the most direct tests first: pytest stops at the first failure)
GREETINGS = ("tests/test_sending.py", "tests/test_greetings.py")
CAMPAIGNS = ("tests/test_sending.py", "tests/test_campaigns.py")
SENDING = ("tests/test_sending.py", "tests/test_greetings.py", "tests/test_campaigns.py")
CONTACTS = ("tests/test_contacts.py", "tests/test_cli_contacts.py", "tests/test_contact_clear.py")
CSV = (
    "tests/test_csv_policy.py",
    "tests/test_export.py",
    "tests/test_hostile_import.py",
    "tests/test_privacy.py",
)
QUERY = ("tests/test_query.py", "tests/test_campaigns.py")
PRIVACY = ("tests/test_privacy.py", "tests/test_campaigns.py", "tests/test_merge.py")
IDENTITY = ("tests/test_identity.py", "tests/test_import_identity.py", "tests/test_dedupe.py")
CONSENT = ("tests/test_privacy.py", "tests/test_campaigns.py", "tests/test_greetings.py")


def _m(
    name: str, path: str, old: str, new: str, tests: tuple[str, ...], *, ci: bool = False
) -> Mutant:
    return Mutant(name, path, old, new, tests, ci)


MUTANTS = (
    # --- the three the review of issue 20 found surviving -------------------------------------
    _m(
        "greeting-log-not-unique",
        "crmcli/migrations.py",
        '"CREATE UNIQUE INDEX sends_greeting ON',
        '"CREATE INDEX sends_greeting ON',
        GREETINGS,
        ci=True,
    ),
    _m(
        "campaign-log-not-unique",
        "crmcli/migrations.py",
        '"CREATE UNIQUE INDEX sends_campaign ON',
        '"CREATE INDEX sends_campaign ON',
        CAMPAIGNS,
        ci=True,
    ),
    _m(
        "resolve-any-exact",
        "crmcli/contacts.py",
        '    if len(exact) == 1:\n        return int(exact[0]["id"])',
        '    if exact:\n        return int(exact[0]["id"])',
        CONTACTS,
        ci=True,
    ),
    _m(
        "csv-no-neutralise",
        "crmcli/io/csv_policy.py",
        '    return "\'" + value if value[:1] in FORMULA_START else value',
        "    return value",
        CSV,
        ci=True,
    ),
    # --- more of the CSV policy ----------------------------------------------------------------
    _m(
        "csv-rows-raw",
        "crmcli/io/csv_policy.py",
        "write([neutralise(c) if c.__class__ is str and c[:1] in start else c for c in row])",
        "write(row)",
        CSV,
    ),
    _m(
        "csv-header-raw",
        "crmcli/io/csv_policy.py",
        "write(columns if raw else [neutralise(str(c)) for c in columns])",
        "write(columns)",
        CSV,
    ),
    _m(
        "csv-no-fullwidth",
        "crmcli/io/csv_policy.py",
        'frozenset("=+-@\\t\\r\\0\\uff1d\\uff0b\\uff0d\\uff20")',
        'frozenset("=+-@\\t\\r\\0")',
        CSV,
    ),
    _m(
        "csv-unneutralise-any-quote",
        "crmcli/io/csv_policy.py",
        'cell[1:] if cell[:1] == "\'" and cell[1:2] in FORMULA_START else cell',
        'cell[1:] if cell[:1] == "\'" else cell',
        (*CSV, "tests/test_import.py"),
    ),
    # --- contacts: resolving, clearing ---------------------------------------------------------
    _m(
        "resolve-finds-trashed",
        "crmcli/contacts.py",
        'live = "" if include_deleted else "AND c.deleted_at IS NULL"',
        'live = ""',
        CONTACTS,
    ),
    _m(
        "clear-text-ignored",
        "crmcli/cli/_contact_options.py",
        "    if key in contacts.TEXT_FIELDS:\n        changes.text[key] = None",
        "    if key in contacts.TEXT_FIELDS:\n        pass",
        CONTACTS,
    ),
    _m(
        "clear-emails-ignored",
        "crmcli/cli/_contact_options.py",
        'elif key in ("emails", "phones", "tags"):',
        'elif key in ("phones", "tags"):',
        CONTACTS,
    ),
    _m(
        "clear-phones-ignored",
        "crmcli/cli/_contact_options.py",
        'elif key in ("emails", "phones", "tags"):',
        'elif key in ("emails", "tags"):',
        CONTACTS,
    ),
    _m(
        "clear-tags-ignored",
        "crmcli/cli/_contact_options.py",
        'elif key in ("emails", "phones", "tags"):',
        'elif key in ("emails", "phones"):',
        CONTACTS,
    ),
    _m(
        "clear-lists-kept",
        "crmcli/cli/_contact_options.py",
        'setattr(changes, f"replace_{key}", [])',
        "pass",
        CONTACTS,
    ),
    _m(
        "clear-referred-by-ignored",
        "crmcli/contacts.py",
        'conn.execute("UPDATE contacts SET referred_by_id = NULL WHERE id = ?", (contact_id,))',
        "pass",
        CONTACTS,
    ),
    _m(
        "clear-cadence-ignored",
        "crmcli/contacts.py",
        'conn.execute("UPDATE contacts SET cadence_days = NULL WHERE id = ?", (contact_id,))',
        "pass",
        CONTACTS,
    ),
    # --- sending each message once (crmcli.sending) --------------------------------------------
    _m(
        "claim-resends-sent",
        "crmcli/sending.py",
        '        if row["status"] == "sent":\n            return "sent"\n',
        "",
        SENDING,
    ),
    _m(
        "claim-takes-a-live-claim",
        "crmcli/sending.py",
        '            if not (owner_gone(row["claimed_by"]) or age >= CLAIM_TIMEOUT):\n'
        '                return "busy"\n',
        "",
        SENDING,
    ),
    _m(
        "claim-timeout-boundary",
        "crmcli/sending.py",
        "or age >= CLAIM_TIMEOUT",
        "or age > CLAIM_TIMEOUT",
        SENDING,
    ),
    _m(
        "claim-new-message-id",
        "crmcli/sending.py",
        '        letter.message_id = row["message_id"]\n',
        "",
        SENDING,
    ),
    _m(
        "claim-new-token",
        "crmcli/sending.py",
        'letter.token = row["token"] or letter.token or',
        "letter.token = letter.token or",
        SENDING,
    ),
    _m(
        "finish-without-the-claim",
        "crmcli/sending.py",
        '"WHERE id = ? AND claimed_by = ?"',
        '"WHERE id = ? AND ? IS NOT NULL"',
        SENDING,
    ),
    _m(
        "owner-own-pid-alive",
        "crmcli/sending.py",
        "    if pid == os.getpid():\n        return True",
        "    if pid == os.getpid():\n        return False",
        SENDING,
    ),
    _m(
        "owner-other-host-gone",
        "crmcli/sending.py",
        "not pid_text.isdigit():\n        return False",
        "not pid_text.isdigit():\n        return True",
        SENDING,
    ),
    _m(
        "busy-counts-as-sent",
        "crmcli/sending.py",
        'if state in ("sent", "busy"):',
        'if state == "sent":',
        SENDING,
    ),
    _m(
        "limit-counts-skipped",
        "crmcli/sending.py",
        'attempts += letter.status in ("sent", "failed", "no-email")',
        "attempts += 1",
        SENDING,
    ),
    _m(
        "note-for-a-failed-send",
        "crmcli/sending.py",
        "if sent and changed and letter.note_label:",
        "if changed and letter.note_label:",
        SENDING,
    ),
    # --- consent: campaigns and greetings ------------------------------------------------------
    _m(
        "campaign-sends-to-do-not-contact",
        "crmcli/campaigns.py",
        '    elif dnc:\n        status, reason = "excluded", "do not contact"\n',
        "",
        CONSENT,
    ),
    _m(
        "campaign-sends-to-opted-out",
        "crmcli/campaigns.py",
        '    elif optout:\n        status, reason = "excluded", "opted out"\n',
        "",
        CONSENT,
    ),
    _m(
        "campaign-excluded-shown-as-left",
        "crmcli/campaigns.py",
        'if not member and status not in ("sent", "excluded"):',
        'if not member and status != "sent":',
        CONSENT,
    ),
    _m(
        "consent-do-not-contact-ignored",
        "crmcli/consent.py",
        '        if self.do_not_contact_at:\n            return "do not contact"\n',
        "",
        CONSENT,
    ),
    _m(
        "consent-optout-always-counts",
        "crmcli/consent.py",
        "if self.email_optout_at and optout_counts:",
        "if self.email_optout_at:",
        CONSENT,
    ),
    # --- the query language's not -----------------------------------------------------------
    _m(
        "query-not-compiled-away",
        "crmcli/query.py",
        'return f"NOT ({_compile(node.node, ctx)})"',
        "return _compile(node.node, ctx)",
        QUERY,
    ),
    _m(
        "query-not-keyword-ignored",
        "crmcli/query.py",
        "            return Not(token.start, inner.end, inner)",
        "            return inner",
        QUERY,
    ),
    _m(
        "query-minus-ignored",
        "crmcli/query.py",
        "return Not(token.start, token.end, node) if token.negated else node",
        "return node",
        QUERY,
    ),
    _m(
        "query-null-under-not",
        "crmcli/query.py",
        "return f\"(c.{column} IS NOT NULL AND c.{column} LIKE ? ESCAPE '\\\\')\"",
        "return f\"(c.{column} LIKE ? ESCAPE '\\\\')\"",
        QUERY,
    ),
    _m("query-percent-is-a-wildcard", "crmcli/query.py", '.replace("%", "\\\\%")', "", QUERY),
    _m("query-underscore-is-a-wildcard", "crmcli/query.py", '.replace("_", "\\\\_")', "", QUERY),
    # --- forget ------------------------------------------------------------------------------
    _m(
        "forget-keeps-merged-records",
        "crmcli/privacy.py",
        "            for person in (contact_id, *gone.merged_away):\n                _erase_rows",
        "            for person in (contact_id,):\n                _erase_rows",
        PRIVACY,
    ),
    _m(
        "forget-no-index-merge",
        "crmcli/privacy.py",
        "conn.execute(\"INSERT INTO contact_search (contact_search) VALUES ('optimize')\")",
        "pass",
        PRIVACY,
    ),
    _m(
        "forget-no-vacuum",
        "crmcli/privacy.py",
        '        conn.execute("VACUUM")',
        "        pass",
        PRIVACY,
    ),
    # Not a mutant: forget without "PRAGMA secure_delete = ON". The VACUUM and the checkpoint
    # after it leave no freed page behind either way, so no test can tell (it is defence in
    # depth, for a forget that stops between the two).
    _m(
        "forget-no-checkpoint",
        "crmcli/privacy.py",
        '    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")\n    return gone',
        "    return gone",
        PRIVACY,
    ),
    _m(
        "forget-deletes-who-they-referred",
        "crmcli/privacy.py",
        '        if entry.forget == "unlink":\n            conn.execute(\n                f"UPDATE',
        '        if False:\n            conn.execute(\n                f"UPDATE',
        PRIVACY,
    ),
    _m(
        "forget-counts-unsent-campaigns",
        "crmcli/privacy.py",
        "AND status = 'sent' AND contact_id IN",
        "AND contact_id IN",
        PRIVACY,
    ),
    _m(
        "forget-no-erasure-count",
        "crmcli/privacy.py",
        'conn.execute("INSERT INTO erasures (erased_at) VALUES (?)", (to_utc_text(now),))',
        "pass",
        PRIVACY,
    ),
    # --- identity rules ----------------------------------------------------------------------
    _m(
        "identity-uid-conflict-ignored",
        "crmcli/identity.py",
        "    if uid_conflict:\n        pass\n    elif shared_emails:",
        "    if shared_emails:",
        IDENTITY,
    ),
    _m(
        "identity-phone-despite-other-emails",
        "crmcli/identity.py",
        "elif shared_phones and not email_conflict and (",
        "elif shared_phones and (",
        IDENTITY,
    ),
    _m(
        "identity-phone-any-name",
        "crmcli/identity.py",
        "(relation in COMPATIBLE_NAMES or front_desk)",
        "True",
        IDENTITY,
    ),
    _m(
        "identity-name-despite-conflicts",
        "crmcli/identity.py",
        "relation == EXACT and same_company and not (email_conflict or phone_conflict):",
        "relation == EXACT and same_company:",
        IDENTITY,
    ),
    _m(
        "identity-name-any-company",
        "crmcli/identity.py",
        "relation == EXACT and same_company and not",
        "relation == EXACT and not",
        IDENTITY,
    ),
    _m(
        "identity-phone-suffix-boundary",
        "crmcli/identity.py",
        "len(shorter) >= MIN_PHONE_SUFFIX and",
        "len(shorter) > MIN_PHONE_SUFFIX and",
        IDENTITY,
    ),
    _m(
        "identity-tie-merges",
        "crmcli/identity.py",
        "elif key == best_key and contact_id != best:",
        "elif False:",
        IDENTITY,
    ),
    _m(
        "identity-no-email-conflict",
        "crmcli/identity.py",
        "        email_conflict = not shared_emails",
        "        email_conflict = False",
        IDENTITY,
    ),
    _m(
        "identity-no-score-floor",
        "crmcli/identity.py",
        "        score = max(score, SAME_SCORE)",
        "        pass",
        IDENTITY,
    ),
)


#: what a run needs of the work tree (copied, so the tree itself is never changed)
COPIED = ("crmcli", "tests", "docs", "benchmarks", "README.md", "LICENSE", "pyproject.toml")


def _copy_tree(target: Path) -> None:
    skip = shutil.ignore_patterns("__pycache__", ".data", "*.pyc", ".hypothesis")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=skip)
        elif source.exists():
            shutil.copy2(source, target / name)


def run(mutant: Mutant, tests: tuple[str, ...]) -> tuple[str, float]:
    """Run ``tests`` on a copy of the work tree with ``mutant`` applied: ("killed by TEST" |
    "SURVIVED" | "error: ...", seconds)."""
    original = (ROOT / mutant.path).read_text(encoding="utf-8")
    if mutant.old and original.count(mutant.old) != 1:
        return f"error: the text to mutate occurs {original.count(mutant.old)} times", 0.0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crm-mutant-") as folder:
        copy = Path(folder)
        _copy_tree(copy)
        mutated = original.replace(mutant.old, mutant.new)
        (copy / mutant.path).write_text(mutated, encoding="utf-8")
        # The copy comes first on the path, in this process's tests and in every crm they
        # start (the installed command included); no .pyc of it is written anywhere.
        path = os.pathsep.join(filter(None, (folder, os.environ.get("PYTHONPATH"))))
        env = {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
        where = subprocess.run(
            [sys.executable, "-c", "import crmcli; print(crmcli.__file__)"],
            cwd=copy, env=env, capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        if not where.startswith(folder):
            return f"error: the copy is not what Python imports ({where.strip()})", 0.0
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
        result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode == 1:
        failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED ")]
        first = failed[0].removeprefix("FAILED ").split(" - ")[0] if failed else "?"
        return f"killed by {first}", seconds
    if result.returncode == 0:
        return "SURVIVED", seconds
    last = (result.stdout.strip().splitlines() or ["?"])[-1]
    return f"error: pytest exited {result.returncode}: {last}", seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n")[0],
        epilog="Arguments after -- go to pytest: -- --ignore tests/test_contact_clear.py",
    )
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--all-tests", action="store_true", help="run the whole suite for each")
    parser.add_argument("--ci", action="store_true", help="only the mutants .ci/run runs")
    parser.add_argument(
        "-j", "--jobs", type=int, default=1, help="run this many mutants at once (default 1)"
    )
    parser.add_argument(
        "--baseline", action="store_true", help="first run the tests on an unchanged copy"
    )
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    known = {mutant.name: mutant for mutant in MUTANTS}
    if args.list:
        for mutant in MUTANTS:
            print(f"{mutant.name:38} {mutant.path}")
        return 0
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"no mutant named {', '.join(unknown)} (see --list)")
    chosen = [known[name] for name in args.names] if args.names else list(MUTANTS)
    if args.ci:
        chosen = [mutant for mutant in chosen if mutant.ci]
    if args.baseline:  # the same tests on the copy as it is: they must pass there first
        every = tuple(dict.fromkeys(test for mutant in chosen for test in mutant.tests))
        chosen.insert(0, Mutant("(no mutation)", "crmcli/__init__.py", "", "", every))

    def one(mutant: Mutant) -> tuple[str, float]:
        return run(mutant, (*(("tests",) if args.all_tests else mutant.tests), *extra))

    failed = 0
    started = time.monotonic()
    # Each mutant runs in a copy of its own, in a subprocess: threads only wait for them.
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for mutant, (outcome, seconds) in zip(chosen, pool.map(one, chosen), strict=True):
            expected = "SURVIVED" if mutant.name == "(no mutation)" else "killed"
            failed += not outcome.startswith(expected)
            if mutant.name == "(no mutation)" and outcome == "SURVIVED":
                outcome = "passed (as it must, before any mutation)"
            print(f"{mutant.name:38} {outcome} ({seconds:.0f} s)", flush=True)
    print(
        f"{len(chosen) - failed} of {len(chosen)} as expected in {time.monotonic() - started:.0f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
