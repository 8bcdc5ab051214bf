"""crm sync against plain vdir folders: each direction, merges, conflicts, deletions, the first
sync against a folder of known people, bad files, the calendar, convergence and the lock."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crmcli import db, sync
from crmcli.sync import card as cards
from tests.conftest import FIXED_NOW, Cli
from tests.ical_helpers import recurrence, when

NOW = datetime.fromisoformat(FIXED_NOW).astimezone()


def card(uid: str, *lines: str, version: str = "3.0") -> str:
    body = "".join(f"{line}\r\n" for line in lines)
    return f"BEGIN:VCARD\r\nVERSION:{version}\r\nUID:{uid}\r\n{body}END:VCARD\r\n"


@pytest.fixture
def vd(tmp_path: Path) -> Path:
    folder = tmp_path / "contacts"
    folder.mkdir()
    return folder


def run_sync(cli: Cli, vd: Path, *args: str, code: int = 0) -> list[dict[str, object]]:
    result = cli("sync", "--contacts-dir", str(vd), "--format", "json", *args, code=code)
    actions = json.loads(result.stdout)
    assert isinstance(actions, list), actions
    return actions


def files(vd: Path) -> dict[str, str]:
    return {p.name: read(p) for p in sorted(vd.glob("*.vcf"))}


def read(path: Path) -> str:
    """A file's text with its line ends as they are (CRLF in a vCard)."""
    return path.read_bytes().decode("utf-8")


def contact(cli: Cli, ref: str) -> dict[str, Any]:
    """A contact as ``crm contact show --format json`` gives it (its values are JSON's)."""
    shown = cli.json("contact", "show", ref)
    assert isinstance(shown, dict), shown
    return shown


# --- the merge alone ------------------------------------------------------------------------------


def test_merge_takes_each_sides_changes_and_keeps_the_rest_verbatim() -> None:
    base = cards.parse(card("u", "FN:Ann Lee", "N:Lee;Ann;;;", "TITLE:CTO", "EMAIL:a@x.example"))
    local = cards.parse(card("u", "FN:Ann Lee", "N:Lee;Ann;;;", "TITLE:CEO", "EMAIL:a@x.example",
                             "EMAIL:b@x.example"))  # fmt: skip
    remote = cards.parse(card("u", "FN:Ann Lee", "N:Lee;Ann;Marie;;", "TITLE:CTO",
                              "item1.EMAIL:a@x.example", "item1.X-ABLabel:_$!<Other>!$_",
                              "EMAIL:c@x.example", "X-SOCIAL;TYPE=x:@ann"))  # fmt: skip
    merged = cards.merge(base, local, base, remote)
    assert merged.conflicts == []
    text = merged.card.text()
    assert "TITLE:CEO\r\n" in text and "TITLE:CTO" not in text
    # each side's added email, the untouched ones as the phone wrote them
    assert "EMAIL:b@x.example" in text and "EMAIL:c@x.example" in text
    assert (
        "N:Lee;Ann;Marie;;\r\nTITLE:CEO\r\nitem1.EMAIL:a@x.example\r\nitem1.X-ABLabel:_$!<Other>!$_"
        in text
    )
    assert "X-SOCIAL;TYPE=x:@ann" in text
    assert merged.write_file
    assert merged.to_local == {"EMAIL", "N", "X-SOCIAL"}  # crmcli takes what it holds of them


def test_merge_conflict_on_one_field_and_prefer() -> None:
    base = cards.parse(card("u", "FN:Ann", "TITLE:CTO"))
    local = cards.parse(card("u", "FN:Ann", "TITLE:CEO"))
    remote = cards.parse(card("u", "FN:Ann", "TITLE:Chief"))
    assert cards.merge(base, local, base, remote).conflicts == ["TITLE"]
    kept = cards.merge(base, local, base, remote, prefer="local")
    assert "TITLE:CEO" in kept.card.text() and kept.lost == "TITLE:Chief"
    taken = cards.merge(base, local, base, remote, prefer="remote")
    assert taken.to_local == {"TITLE"} and taken.lost == "TITLE:CEO" and not taken.write_file


def test_a_server_that_drops_crmcli_properties_does_not_erase_them() -> None:
    base = cards.parse(card("u", "FN:Ann", "X-CRM-CADENCE-DAYS:30"))
    remote = cards.parse(card("u", "FN:Ann"))
    merged = cards.merge(base, base, base, remote)
    assert merged.to_local == set() and not merged.write_file


# --- both directions ------------------------------------------------------------------------------


def test_contacts_go_to_the_vdir_and_nothing_more_on_the_next_run(cli: Cli, vd: Path) -> None:
    cli("contact", "add", "Ann Lee", "-e", "work:ann@acme.example", "-p", "mobile:+1 555 0100",
        "-t", "vip", "--company", "Acme", "--birthday", "1980-04-15")  # fmt: skip
    actions = run_sync(cli, vd)
    assert [(a["side"], a["action"], a["name"]) for a in actions] == [("vdir", "add", "Ann Lee")]
    [(name, text)] = files(vd).items()
    uid = contact(cli, "ann")["uid"]
    assert name == f"{uid}.vcf" and f"UID:{uid}\r\n" in text
    assert "EMAIL;TYPE=work:ann@acme.example" in text and "BDAY:19800415" in text
    assert oct(os.stat(vd / name).st_mode & 0o777) == "0o600"
    assert run_sync(cli, vd) == []
    assert files(vd) == {name: text}


def test_a_card_from_the_phone_keeps_what_crmcli_does_not_know(cli: Cli, vd: Path) -> None:
    phone = card("phone-1", "FN:Cy Dee", "N:Dee;Cy;Q;;", "TEL;TYPE=CELL:+44 20 7946 0001",
                 "IMPP:xmpp:cy@example.org", "X-SOCIALPROFILE;TYPE=x:cydee",
                 "ADR;TYPE=home:;;1 Main St;Town;;12345;UK",
                 "ADR;TYPE=work:;;2 Side St;City;;54321;UK")  # fmt: skip
    (vd / "phone-1.vcf").write_text(phone, encoding="utf-8", newline="")
    assert [a["action"] for a in run_sync(cli, vd)] == ["add"]
    shown = contact(cli, "cy")
    assert shown["phones"] == [{"phone": "+44 20 7946 0001", "label": "mobile"}]
    assert shown["city"] == "Town"
    # a change in crmcli: only TITLE is written; everything else comes back as it was
    cli("contact", "edit", "cy", "--title", "Buyer")
    assert [a["detail"] for a in run_sync(cli, vd)] == ["TITLE"]
    after = read(vd / "phone-1.vcf")
    assert after.replace("TITLE:Buyer\r\n", "") == phone


def test_changes_in_the_vdir_reach_crmcli(cli: Cli, vd: Path) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@acme.example", "--company", "Acme")
    run_sync(cli, vd)
    [path] = vd.glob("*.vcf")
    text = read(path).replace("ORG:Acme", "ORG:Acme Corp\r\nNOTE:met at the fair")
    path.write_text(
        text.replace("EMAIL:", "EMAIL;TYPE=home:ann@home.example\r\nEMAIL:"),
        encoding="utf-8",
        newline="",
    )
    actions = run_sync(cli, vd)
    assert [(a["side"], a["action"]) for a in actions] == [("crmcli", "update")]
    shown = contact(cli, "ann")
    assert shown["company"] == "Acme Corp"
    assert shown["fields"] == {"note": "met at the fair"}
    assert [e["email"] for e in shown["emails"]] == ["ann@home.example", "ann@acme.example"]
    assert run_sync(cli, vd) == []


def test_a_conflict_is_kept_and_resolved(cli: Cli, vd: Path) -> None:
    cli("contact", "add", "Ann Lee", "--title", "CTO")
    run_sync(cli, vd)
    [path] = vd.glob("*.vcf")
    path.write_text(read(path).replace("TITLE:CTO", "TITLE:Chief"), encoding="utf-8", newline="")
    cli("contact", "edit", "ann", "--title", "CEO")
    actions = run_sync(cli, vd, code=1)
    assert [(a["action"], a["detail"]) for a in actions] == [
        ("conflict", "changed on both sides: TITLE")
    ]
    [open_one] = cli.json("sync", "conflicts")
    assert "TITLE:CEO" in open_one["local"] and "TITLE:Chief" in open_one["remote"]
    assert contact(cli, "ann")["title"] == "CEO" and "TITLE:Chief" in read(path)
    # nothing is lost: the version that loses stays in the conflict record
    run_sync(cli, vd, "--resolve", "--prefer", "remote")
    assert contact(cli, "ann")["title"] == "Chief"
    [resolved] = cli.json("sync", "conflicts", "--all")
    assert resolved["resolution"] == "remote" and resolved["lost"] == "TITLE:CEO"
    assert cli.json("sync", "conflicts") == [] and run_sync(cli, vd) == []


def test_resolve_without_a_terminal_needs_prefer(cli: Cli, vd: Path) -> None:
    cli("contact", "add", "Ann Lee", "--title", "CTO")
    run_sync(cli, vd)
    [path] = vd.glob("*.vcf")
    path.write_text(read(path).replace("TITLE:CTO", "TITLE:X"), encoding="utf-8")
    cli("contact", "edit", "ann", "--title", "Y")
    run_sync(cli, vd, code=1)
    result = cli("sync", "--contacts-dir", str(vd), "--resolve", code=2)
    assert "add --prefer local|remote" in result.stderr


def test_deletions_each_way_and_both(cli: Cli, vd: Path) -> None:
    for name in ("Ann Lee", "Bo Ray", "Cy Dee"):
        cli("contact", "add", name)
    run_sync(cli, vd)
    by_name = {t.split("FN:")[1].split("\r\n")[0]: n for n, t in files(vd).items()}
    (vd / by_name["Ann Lee"]).unlink()
    cli("contact", "rm", "bo", "--yes")
    cli("contact", "rm", "cy", "--yes")
    (vd / by_name["Cy Dee"]).unlink()
    actions = run_sync(cli, vd)
    assert sorted((a["side"], a["action"], a["file"]) for a in actions) == sorted([
        ("crmcli", "delete", by_name["Ann Lee"]), ("vdir", "delete", by_name["Bo Ray"])])  # fmt: skip
    assert files(vd) == {}
    # the deletion went to the trash: restoring brings the file back
    trashed = cli.json("contact", "list", "--trash")
    assert sorted(c["name"] for c in trashed) == ["Ann Lee", "Bo Ray", "Cy Dee"]
    cli("contact", "restore", "1")
    assert [a["action"] for a in run_sync(cli, vd)] == ["add"]
    assert list(files(vd)) == [by_name["Ann Lee"]]


def test_first_sync_matches_people_crmcli_has_and_adds_no_duplicate(cli: Cli, vd: Path) -> None:
    cli("contact", "add", "Ann Lee", "-e", "ann@acme.example", "--title", "CTO")
    (vd / "a.vcf").write_text(card("phone-ann", "FN:Ann Lee", "N:Lee;Ann;;;",
                                   "EMAIL;TYPE=INTERNET:ann@acme.example",
                                   "TEL;TYPE=CELL:+1 555 0100"), encoding="utf-8")  # fmt: skip
    (vd / "b.vcf").write_text(
        card("phone-bo", "FN:Bo Ray", "EMAIL:bo@example.com"), encoding="utf-8"
    )
    actions = run_sync(cli, vd)
    assert sorted((a["side"], a["action"]) for a in actions) == [
        ("crmcli", "add"), ("crmcli", "update"), ("vdir", "update")]  # fmt: skip
    assert [c["name"] for c in cli.json("contact", "list")] == ["Ann Lee", "Bo Ray"]
    assert contact(cli, "ann")["phones"] == [{"phone": "+1 555 0100", "label": "mobile"}]
    assert "TITLE:CTO" in read(vd / "a.vcf")  # crmcli's title reached the phone's card
    assert sorted(files(vd)) == ["a.vcf", "b.vcf"] and run_sync(cli, vd) == []


def test_bad_files_are_reported_by_name_and_the_rest_synced(cli: Cli, vd: Path) -> None:
    (vd / "junk.vcf").write_text("hello\n")
    (vd / "nouid.vcf").write_text(card("x", "FN:No Uid").replace("UID:x\r\n", ""))
    (vd / "one.vcf").write_text(card("same", "FN:One"))
    (vd / "two.vcf").write_text(card("same", "FN:Two"))
    (vd / "latin1.vcf").write_bytes(card("l1", "FN:Jörg").encode("latin-1"))
    (vd / "good.vcf").write_text(card("good", "FN:Good Person"))
    result = cli("sync", "--contacts-dir", str(vd), code=1)
    for name in ("junk.vcf", "nouid.vcf", "one.vcf", "two.vcf", "latin1.vcf"):
        assert f"Skipped contacts file {name}:" in result.stderr
    assert "has the same UID as two.vcf" in result.stderr
    assert [c["name"] for c in cli.json("contact", "list")] == ["Good Person"]


def test_a_read_only_vdir_is_reported_and_the_database_side_still_synced(
    cli: Cli, vd: Path, db_path: Path
) -> None:
    """A read-only folder: a read-only bind mount in a mount namespace of its own when root
    (root ignores file modes), else a folder without write permission."""
    (vd / "p.vcf").write_text(card("p", "FN:From Phone"))
    cli("contact", "add", "Ann Lee")
    command = [sys.executable, "-m", "crmcli", "sync", "--contacts-dir", str(vd)]
    env = {**os.environ, "CRM_DB": str(db_path)}
    if os.geteuid() == 0:
        script = f'mount --bind "{vd}" "{vd}" && mount -o remount,ro,bind "{vd}" && exec "$@"'
        command = ["unshare", "--mount", "sh", "-c", script, "sh", *command]
    else:
        vd.chmod(0o500)
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    finally:
        vd.chmod(0o700)
    assert result.returncode == 1, result.stderr
    assert "cannot be written: the folder is read-only" in result.stderr
    assert {c["name"] for c in cli.json("contact", "list")} == {"Ann Lee", "From Phone"}
    assert sorted(files(vd)) == ["p.vcf"]


def test_dry_run_changes_nothing_in_every_format(cli: Cli, vd: Path) -> None:
    cli("contact", "add", "Ann Lee")
    (vd / "p.vcf").write_text(card("p", "FN:From Phone"))
    for fmt in ("json", "jsonl", "csv", "tsv", "table"):
        result = cli("sync", "--contacts-dir", str(vd), "--dry-run", "--format", fmt)
        assert "Ann Lee" in result.stdout and "From Phone" in result.stdout
    assert sorted(files(vd)) == ["p.vcf"]
    assert [c["name"] for c in cli.json("contact", "list")] == ["Ann Lee"]
    [row] = cli.json("sync", "status", "--contacts-dir", str(vd))
    assert (row["last_sync_at"], row["pending_to_crmcli"], row["pending_to_vdir"]) == (None, 1, 1)


def test_forget_removes_the_persons_file(cli: Cli, vd: Path) -> None:
    cli("contact", "add", "Ann Zqxj", "-e", "zqxj@example.com")
    run_sync(cli, vd)
    assert len(files(vd)) == 1
    cli("contact", "forget", "ann", "--yes")
    assert files(vd) == {}
    assert run_sync(cli, vd) == []


def test_settings_and_commands_around(cli: Cli, vd: Path, tmp_path: Path) -> None:
    config = tmp_path / "config" / "crmcli" / "config.toml"
    config.parent.mkdir(parents=True)
    marker = tmp_path / "ran"
    config.write_text(
        f'[sync]\ncontacts_dir = "{vd}"\nbefore = "touch {marker}"\n'
        f"after = \"{sys.executable} -c 'import sys; sys.exit(3)'\"\n"
    )
    cli("contact", "add", "Ann Lee")
    result = cli("sync", code=1)
    assert marker.exists() and len(files(vd)) == 1
    assert "sync.after command" in result.stderr and "failed (exit 3)" in result.stderr
    shown = cli("config", "show", "--format", "json").stdout
    assert "sync.contacts_dir" in shown and "sync.before" in shown
    config.write_text(f'[sync]\ncontacts_dir = "{vd}"\nbefore = "sleep 5"\ntimeout = 0.3\n')
    result = cli("sync", code=1)
    assert "ran longer than 0.3 s and was stopped" in result.stderr


# --- the calendar ---------------------------------------------------------------------------------


def test_calendar_dates_and_a_completed_recurring_todo(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import icalendar

    monkeypatch.setenv("TZ", "Europe/Berlin")
    import time

    time.tzset()
    cal = tmp_path / "calendar"
    cal.mkdir()
    cli("contact", "add", "Ann Lee", "--birthday", "1980-02-29")
    cli("remind", "ann", "call back", "--due", "2026-12-01 10:00", "--every", "week")
    cli("sync", "--calendar-dir", str(cal))
    events = {p.name: icalendar.Calendar.from_ical(p.read_bytes()) for p in cal.glob("*.ics")}
    assert len(events) == 2
    todo_file = next(n for n in events if n.startswith("reminder-"))
    todo = events[todo_file].walk("VTODO")[0]
    assert todo["DUE"].params["TZID"] == "Europe/Berlin"
    due = when(todo, "DUE")
    assert isinstance(due, datetime) and due.hour == 10
    assert recurrence(todo)["FREQ"] == ["WEEKLY"]
    birthday = next(c for n, c in events.items() if n != todo_file).walk("VEVENT")[0]
    assert birthday["RRULE"] == {"FREQ": ["YEARLY"], "BYMONTH": [2], "BYMONTHDAY": [-1]}
    # the phone completes it: done in crmcli, the next occurrence is the to-do now, once
    path = cal / todo_file
    path.write_text(read(path).replace("STATUS:NEEDS-ACTION", "STATUS:COMPLETED"))
    cli("sync", "--calendar-dir", str(cal))
    reminders = cli.json("reminders", "--all")
    assert [(r["id"], r["status"], r["due_date"]) for r in reminders] == [
        (1, "done", "2026-12-01"), (2, "open", "2026-12-08")]  # fmt: skip
    todo = icalendar.Calendar.from_ical(path.read_bytes()).walk("VTODO")[0]
    assert str(todo["STATUS"]) == "NEEDS-ACTION" and when(todo, "DUE").day == 8
    cli("sync", "--calendar-dir", str(cal))
    assert len(cli.json("reminders", "--all")) == 2


def test_a_completed_todo_left_by_a_killed_run_completes_nothing_more(
    cli: Cli, tmp_path: Path
) -> None:
    cal = tmp_path / "calendar"
    cal.mkdir()
    cli("remind", "call back", "--due", "2026-12-01", "--every", "week")
    cli("sync", "--calendar-dir", str(cal))
    [path] = cal.glob("*.ics")
    completed = read(path).replace("STATUS:NEEDS-ACTION", "STATUS:COMPLETED")
    database = tmp_path / "data" / "crmcli" / "crm.db"
    conn = db.connect(database)
    before = conn.execute("SELECT * FROM sync_items").fetchone()
    conn.close()
    path.write_text(completed)
    cli("sync", "--calendar-dir", str(cal))
    # as if that run had been killed after its commit, before it wrote the file and recorded
    # it: the phone's completed file, and what was recorded before
    path.write_text(completed)
    conn = db.connect(database)
    keys = ("reminder_id", "local_sig", "local_card", "remote_state", "remote_hash", "remote_card")
    conn.execute(
        f"UPDATE sync_items SET {', '.join(f'{k} = ?' for k in keys)}", [before[k] for k in keys]
    )
    conn.close()
    cli("sync", "--calendar-dir", str(cal))
    assert "STATUS:NEEDS-ACTION" in read(path) and "DUE;VALUE=DATE:20261208" in read(path)
    assert [r["status"] for r in cli.json("reminders", "--all")] == ["done", "open"]


# --- a run killed at any moment, two at once ------------------------------------------------------


def _seed(database: Path, count: int) -> None:
    from crmcli import contacts
    from crmcli.contact_changes import ContactChanges

    conn = db.connect(database)
    for i in range(count):
        contacts.create(
            conn, ContactChanges(text={"first_name": f"P{i:04d}", "last_name": "Lee"}), now=NOW
        )
    conn.close()


def _state(database: Path, vd: Path) -> tuple[list[str], int, list[str]]:
    conn = sqlite3.connect(database)
    names: list[str] = sorted(
        r[0] for r in conn.execute("SELECT name FROM contacts WHERE deleted_at IS NULL")
    )
    items: int = conn.execute("SELECT count(*) FROM sync_items").fetchone()[0]
    conn.close()
    return names, items, sorted(files(vd))


@pytest.mark.slow
def test_a_sync_killed_at_any_moment_converges(tmp_path: Path, vd: Path) -> None:
    database = tmp_path / "crm.db"
    _seed(database, 400)
    for i in range(150):
        (vd / f"phone-{i}.vcf").write_text(card(f"phone-{i}", f"FN:Phone {i:03d} Ray"))
    env = {**os.environ, "CRM_DB": str(database)}
    command = [sys.executable, "-m", "crmcli", "sync", "--contacts-dir", str(vd)]
    for delay in (0.15, 0.3, 0.5, 0.8):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    subprocess.run(command, env=env, check=True, capture_output=True)
    names, items, found = _state(database, vd)
    assert len(names) == 550 and len(set(names)) == 550 and items == 550 and len(found) == 550
    again = subprocess.run([*command, "--format", "json"], env=env, check=True, capture_output=True)
    assert json.loads(again.stdout) == []


@pytest.mark.slow
def test_two_syncs_at_once_are_serialised(tmp_path: Path, vd: Path) -> None:
    database = tmp_path / "crm.db"
    _seed(database, 300)
    env = {**os.environ, "CRM_DB": str(database)}
    command = [
        sys.executable,
        "-m",
        "crmcli",
        "sync",
        "--contacts-dir",
        str(vd),
        "--format",
        "json",
    ]
    runs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [json.loads(p.communicate()[0]) for p in runs]
    assert all(p.returncode == 0 for p in runs)
    assert sorted(len(o) for o in outputs) == [0, 300]  # one did it all, the other found it done
    assert len(files(vd)) == 300


def test_a_file_changed_while_the_sync_runs_is_left_for_the_next(
    cli: Cli, vd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("contact", "add", "Ann Lee")
    run_sync(cli, vd)
    cli("contact", "edit", "ann", "--title", "CEO")
    [path] = vd.glob("*.vcf")
    from crmcli.sync import contacts_vdir
    from crmcli.sync.engine import Run

    original = contacts_vdir.sync

    def then_the_phone_writes(run: Run) -> None:
        original(run)
        path.write_text(read(path).replace("FN:Ann Lee", "FN:Ann Lee\r\nNOTE:phone"))

    monkeypatch.setattr(contacts_vdir, "sync", then_the_phone_writes)
    result = cli("sync", "--contacts-dir", str(vd), code=1)
    assert f"Skipped contacts file {path.name}: changed while crm sync ran" in result.stderr
    monkeypatch.setattr(contacts_vdir, "sync", original)
    run_sync(cli, vd)
    text = read(path)
    assert "NOTE:phone" in text and "TITLE:CEO" in text
    assert contact(cli, "ann")["fields"] == {"note": "phone"}


def test_lock_file_is_next_to_the_database(tmp_path: Path) -> None:
    assert sync.lock_file(tmp_path / "crm.db") == tmp_path / "crm.db.sync-lock"
