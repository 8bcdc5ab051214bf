"""crm sync with real components: a Radicale CardDAV/CalDAV server on 127.0.0.1 and vdirsyncer
carrying the vdirs to it (through sync.before/after, as from cron), and khard reading the
contacts vdir crmcli wrote. No network beyond the loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
_ADDRESSBOOK = (
    '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
    "<D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>"
    "</D:prop></D:set></D:mkcol>"
)
_CALENDAR = (
    '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype>"
    '<C:supported-calendar-component-set><C:comp name="VEVENT"/><C:comp name="VTODO"/>'
    "</C:supported-calendar-component-set></D:prop></D:set></D:mkcol>"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A Radicale server with one address book and one calendar."""

    def __init__(self, root: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.store = root / "store"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--storage-filesystem-folder", str(self.store),
             "--auth-type", "none", "--server-hosts", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("radicale did not start") from None
                time.sleep(0.1)
        self.request("MKCOL", "/ann/book/", _ADDRESSBOOK.encode(), "application/xml")
        self.request("MKCOL", "/ann/cal/", _CALENDAR.encode(), "application/xml")

    def request(self, method: str, path: str, body: bytes | None = None, kind: str = "") -> bytes:
        request = urllib.request.Request(f"{self.base}{path}", data=body, method=method)
        # any password: auth none, but the user's principal collection comes with a login
        request.add_header("Authorization", "Basic YW5uOng=")  # ann:x
        if kind:
            request.add_header("Content-Type", kind)
        with urllib.request.urlopen(request, timeout=10) as answer:
            answered: bytes = answer.read()  # urlopen is typed to return Any
            return answered

    def cards(self) -> dict[str, str]:
        """Every card on the server, by UID (read from the folder Radicale keeps them in)."""
        found = {}
        for path in self.items(".vcf"):
            text = path.read_bytes().decode()
            uid = next(line[4:] for line in text.splitlines() if line.startswith("UID:"))
            found[uid] = text
        return found

    def items(self, ext: str) -> list[Path]:
        """The item files Radicale keeps (not its caches)."""
        return [p for p in self.store.rglob(f"*{ext}") if ".Radicale" not in str(p)]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    yield running
    running.stop()


class Person:
    """One crmcli user: a database, vdirs, a vdirsyncer config, and crm sync with
    ``vdirsyncer sync`` before and after (config.toml), as cron would run it."""

    def __init__(self, root: Path, server: Server) -> None:
        root.mkdir()
        self.root = root
        self.contacts = root / "contacts"
        self.calendar = root / "calendar"
        self.contacts.mkdir()
        self.calendar.mkdir()
        (root / "status").mkdir()
        config = root / "vdirsyncer.conf"
        config.write_text(
            f'[general]\nstatus_path = "{root / "status"}"\n\n'
            '[pair contacts]\na = "contacts_local"\nb = "contacts_remote"\ncollections = null\n'
            'conflict_resolution = "a wins"\n\n'
            f'[storage contacts_local]\ntype = "filesystem"\npath = "{self.contacts}"\n'
            'fileext = ".vcf"\n\n'
            f'[storage contacts_remote]\ntype = "carddav"\nurl = "{server.base}/ann/book/"\n'
            'username = "ann"\npassword = "x"\n\n'
            '[pair calendar]\na = "calendar_local"\nb = "calendar_remote"\ncollections = null\n'
            'conflict_resolution = "a wins"\n\n'
            f'[storage calendar_local]\ntype = "filesystem"\npath = "{self.calendar}"\n'
            'fileext = ".ics"\n\n'
            f'[storage calendar_remote]\ntype = "caldav"\nurl = "{server.base}/ann/cal/"\n'
            'username = "ann"\npassword = "x"\n'
        )
        self.vdirsyncer = [str(BIN / "vdirsyncer"), "-c", str(config)]
        subprocess.run([*self.vdirsyncer, "discover"], stdin=subprocess.DEVNULL,
                       capture_output=True, check=True)  # fmt: skip
        xdg = root / "xdg"
        (xdg / "crmcli").mkdir(parents=True)
        command = " ".join(self.vdirsyncer) + " sync"
        (xdg / "crmcli" / "config.toml").write_text(
            f'[sync]\ncontacts_dir = "{self.contacts}"\ncalendar_dir = "{self.calendar}"\n'
            f'before = "{command}"\nafter = "{command}"\ntimeout = 60\n'
        )
        self.env = {**os.environ, "CRM_DB": str(root / "crm.db"), "XDG_CONFIG_HOME": str(xdg)}

    def crm(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(BIN / "crm"), *args], env=self.env, capture_output=True,
                                text=True, check=False)  # fmt: skip
        assert result.returncode == code, (args, result.stdout, result.stderr)
        return result

    def record(self, *args: str) -> dict[str, Any]:
        """One record of a command's JSON (``contact show``), its values as JSON gives them."""
        found = json.loads(self.crm(*args, "--format", "json").stdout)
        assert isinstance(found, dict), (args, found)
        return found

    def records(self, *args: str) -> list[dict[str, Any]]:
        """The records of a listing's JSON (``contact list``, ``notes``...)."""
        found = json.loads(self.crm(*args, "--format", "json").stdout)
        assert isinstance(found, list) and all(isinstance(r, dict) for r in found), (args, found)
        return found


def _put_card(server: Server, uid: str, *lines: str) -> None:
    body = "".join(f"{line}\r\n" for line in lines)
    text = f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\n{body}END:VCARD\r\n"
    server.request("PUT", f"/ann/book/{uid}.vcf", text.encode(), "text/vcard")


def test_phone_server_crmcli_and_back(server: Server, tmp_path: Path) -> None:
    ann = Person(tmp_path / "ann", server)
    # a card made on the phone (PUT on the server), with properties crmcli does not know
    _put_card(server, "phone-cy", "FN:Cy Dee", "N:Dee;Cy;Quentin;;", "TEL;TYPE=CELL:+44 20 7946 0001",
              "IMPP:xmpp:cy@example.org", "X-SOCIALPROFILE;TYPE=x:cydee", "NOTE:met at the fair",
              "item1.X-ABRELATEDNAMES:Eve Dee", "item1.X-ABLabel:_$!<Spouse>!$_",
              "X-PHONETIC-FIRST-NAME:Sai")  # fmt: skip
    ann.crm("sync")
    [cy] = ann.records("contact", "list")
    shown = ann.record("contact", "show", str(cy["id"]))
    assert shown["fields"]["note"] == "met at the fair"
    # the lossless model holds all of it: handles, the spouse, the property no field holds
    assert [(h["kind"], h["handle"]) for h in shown["handles"]] == [
        ("im", "cy@example.org"), ("social", "cydee")]  # fmt: skip
    assert shown["related"][0]["label"] == "spouse"
    assert shown["vcard"] == ["X-PHONETIC-FIRST-NAME:Sai"]
    # an edit in crmcli reaches the server; what crmcli does not know comes back unchanged
    ann.crm("contact", "edit", "cy", "--title", "Buyer", "-e", "cy@example.org")
    ann.crm("sync")
    on_server = server.cards()["phone-cy"]
    assert "TITLE:Buyer" in on_server and "cy@example.org" in on_server
    for kept in ("IMPP:xmpp:cy@example.org", "X-SOCIALPROFILE;TYPE=x:cydee", "N:Dee;Cy;Quentin;;",
                 "item1.X-ABRELATEDNAMES:Eve Dee", "X-PHONETIC-FIRST-NAME:Sai"):  # fmt: skip
        assert kept in on_server
    # the phone changes a property crmcli keeps verbatim: crmcli takes the change
    changed = on_server.replace("X-PHONETIC-FIRST-NAME:Sai", "X-PHONETIC-FIRST-NAME:Sy")
    server.request("PUT", "/ann/book/phone-cy.vcf", changed.encode(), "text/vcard")
    ann.crm("sync")
    assert ann.record("contact", "show", "cy")["vcard"] == ["X-PHONETIC-FIRST-NAME:Sy"]
    # a contact added in crmcli reaches the server
    ann.crm("contact", "add", "Bo Ray", "-e", "bo@example.com")
    ann.crm("sync")
    assert any("FN:Bo Ray" in text for text in server.cards().values())
    # khard reads the vdir crmcli wrote
    khard = tmp_path / "khard.conf"
    khard.write_text(
        f"[addressbooks]\n[[crm]]\npath = {ann.contacts}\n\n[general]\neditor = true\nmerge_editor = true\n"
    )
    listed = subprocess.run([str(BIN / "khard"), "-c", str(khard), "email", "--parsable"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert (
        "cy@example.org\tCy Quentin Dee" in listed.stdout
        and "bo@example.com\tBo Ray" in listed.stdout
    )


def test_deletes_each_way_and_a_conflict(server: Server, tmp_path: Path) -> None:
    ann = Person(tmp_path / "ann", server)
    for name in ("Ann Lee", "Bo Ray", "Cy Dee"):
        ann.crm("contact", "add", name, "--title", "CTO")
    ann.crm("sync")
    uids = {c["name"]: ann.record("contact", "show", str(c["id"]))["uid"]
            for c in ann.records("contact", "list")}  # fmt: skip
    # deleted on the server (the phone): to the trash in crmcli
    server.request("DELETE", f"/ann/book/{uids['Bo Ray']}.vcf")
    # deleted in crmcli: gone from the server
    ann.crm("contact", "rm", "cy", "--yes")
    # changed on both sides
    text = server.cards()[uids["Ann Lee"]].replace("TITLE:CTO", "TITLE:Chief")
    server.request("PUT", f"/ann/book/{uids['Ann Lee']}.vcf", text.encode(), "text/vcard")
    ann.crm("contact", "edit", "ann", "--title", "CEO")
    result = ann.crm("sync", code=1)
    assert "conflict(s) left for crm sync --resolve" in result.stderr
    assert [c["name"] for c in ann.records("contact", "list")] == ["Ann Lee"]
    assert set(server.cards()) == {uids["Ann Lee"]}
    ann.crm("sync", "--resolve", "--prefer", "local")
    assert "TITLE:CEO" in server.cards()[uids["Ann Lee"]]
    [resolved] = ann.records("sync", "conflicts", "--all")
    assert resolved["lost"] == "TITLE:Chief"


def test_a_todo_completed_on_the_phone(server: Server, tmp_path: Path) -> None:
    ann = Person(tmp_path / "ann", server)
    ann.crm("contact", "add", "Ann Lee", "--birthday", "1980-04-15")
    ann.crm("remind", "ann", "call back", "--due", "2026-12-01 10:00", "--every", "week")
    ann.crm("sync")
    stored = {p.name: p.read_bytes().decode() for p in server.items(".ics")}
    assert len(stored) == 2
    name, todo = next((n, t) for n, t in stored.items() if "VTODO" in t)
    server.request("PUT", f"/ann/cal/{name}",
                   todo.replace("STATUS:NEEDS-ACTION", "STATUS:COMPLETED").encode(), "text/calendar")  # fmt: skip
    ann.crm("sync")
    reminders = ann.records("reminders", "--all")
    assert [(r["status"], r["due_date"]) for r in reminders] == [
        ("done", "2026-12-01"), ("open", "2026-12-08")]  # fmt: skip
    again = next(p for p in server.items(".ics") if p.name == name).read_bytes().decode()
    assert "STATUS:NEEDS-ACTION" in again and "20261208T" in again


def test_a_team_shares_one_address_book(server: Server, tmp_path: Path) -> None:
    ann = Person(tmp_path / "ann", server)
    bo = Person(tmp_path / "bo", server)
    ann.crm("contact", "add", "Cy Dee", "-e", "cy@example.org", "--company", "Acme")
    ann.crm("sync")
    bo.crm("sync")
    [cy] = bo.records("contact", "list")
    assert (cy["name"], cy["company"]) == ("Cy Dee", "Acme")
    bo.crm("contact", "edit", "cy", "--title", "Buyer")
    bo.crm("sync")
    ann.crm("sync")
    assert ann.record("contact", "show", "cy")["title"] == "Buyer"
    # each keeps their own history: notes are not shared
    ann.crm("note", "cy", "called about the order")
    ann.crm("sync")
    bo.crm("sync")
    assert bo.records("notes") == []


def test_the_tools_are_there() -> None:
    for tool in ("vdirsyncer", "khard", "crm"):
        assert (BIN / tool).exists() or shutil.which(tool), tool
