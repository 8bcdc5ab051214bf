"""Every test runs in its own folder: database, HOME and XDG folders in tmp_path, a fixed clock."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crmcli import db

FIXED_NOW = "2026-11-23T09:00"  # a Monday


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("CRM_NOW", FIXED_NOW)
    monkeypatch.setenv("TZ", "UTC")
    for name in (
        "CRM_DB",
        "CRM_DAY_FIRST",
        "CRM_FEB29",
        "CRM_CURRENCY",
        "CRM_SMTP_HOST",
        "CRM_SMTP_PORT",
        "CRM_SMTP_SECURITY",
        "CRM_SMTP_USER",
        "CRM_SMTP_FROM",
        "CRM_SMTP_PASSWORD",
        "CRM_SMTP_PASSWORD_COMMAND",
        "CRM_SMTP_TIMEOUT",
        "CRM_SMTP_DEADLINE",
        "CRM_PAGER",
        "FORCE_COLOR",
        "NO_COLOR",
        "EDITOR",
        "VISUAL",
    ):
        monkeypatch.delenv(name, raising=False)
    time.tzset()
    yield tmp_path
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "crmcli" / "crm.db"


@pytest.fixture
def conn(db_path: Path) -> Iterator[sqlite3.Connection]:
    connection = db.connect(db_path, write=True)
    yield connection
    connection.close()


class Cli:
    """Runs the crm app in-process, stdout and stderr kept apart."""

    def __init__(self) -> None:
        from crmcli.cli import app

        self.app = app
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, code: int | None = 0) -> Any:
        result = self.runner.invoke(self.app, list(args), input=input, catch_exceptions=False)
        if code is not None:
            assert result.exit_code == code, (
                f"crm {' '.join(args)} exited {result.exit_code}, expected {code}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self(*args, "--format", "json", input=input).stdout)


@pytest.fixture
def cli() -> Cli:
    return Cli()


_FAKE_EDITOR = """
import json, pathlib, sys
edits = json.loads(pathlib.Path(__file__).with_suffix(".json").read_text())
path = pathlib.Path(sys.argv[1])
text = path.read_text()
for old, new in edits["replace"]:
    text = text.replace(old, new)
path.write_text(text + edits["append"])
"""


@pytest.fixture
def fake_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``fake_editor((old, new), ..., append="")`` points $EDITOR at a script that makes those
    replacements in the file it is given, then appends ``append``: a user editing a form."""
    script = tmp_path / "fake_editor.py"
    script.write_text(_FAKE_EDITOR, encoding="utf-8")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")

    def use(*replacements: tuple[str, str], append: str = "") -> None:
        edits = {"replace": [list(pair) for pair in replacements], "append": append}
        script.with_suffix(".json").write_text(json.dumps(edits), encoding="utf-8")

    return use


@pytest.fixture
def make_contact(conn: sqlite3.Connection) -> Callable[..., int]:
    """``make_contact("Ann Lee", email=..., tags=[...], city=..., ...)``: a contact's id."""
    from datetime import datetime

    from crmcli import contacts
    from crmcli.contact_changes import ContactChanges
    from crmcli.contacts import Labeled

    def make(name: str, *, email: str | None = None, tags: list[str] | None = None,
             referred_by: int | None = None, **text: str) -> int:  # fmt: skip
        first, _, last = name.partition(" ")
        changes = ContactChanges(
            text={"first_name": first, "last_name": last or None, **text},
            add_emails=[Labeled(email)] if email else [],
            add_tags=list(tags or []),
            referred_by_id=referred_by,
        )
        return contacts.create(conn, changes, now=datetime.fromisoformat(FIXED_NOW).astimezone())

    return make


@pytest.fixture
def make_purchase(conn: sqlite3.Connection) -> Callable[..., int]:
    """``make_purchase(contact_id, "120.00", on=date, product=..., currency="EUR")``: its id."""
    from datetime import date, datetime

    from crmcli import money, purchases

    def make(contact_id: int, amount: str, *, on: date | None = None, currency: str = "EUR",
             product: str | None = None, quantity: int = 1, ref: str | None = None) -> int:  # fmt: skip
        now = datetime.fromisoformat(FIXED_NOW).astimezone()
        new = purchases.NewPurchase(
            contact_id=contact_id,
            amount_minor=money.parse_amount(amount, currency),
            currency=currency,
            purchased_on=on or now.date(),
            product=product,
            quantity=quantity,
            order_ref=ref,
        )
        return purchases.add(conn, new, now=now)

    return make
