"""Every test runs in its own folder: database, HOME and XDG folders in tmp_path, a fixed clock.

What tests share lives here: the fixed clock (:data:`NOW`), the database (``conn``, a copy of
a migrated template), the in-process CLI (``cli``), the installed command (``crm_exe``), and
factories for contacts and purchases (``make_contact``, ``make_purchase``).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from crmcli import db

#: the clock of every test (CRM_NOW): Monday 2026-11-23 09:00, local time, and TZ is UTC
FIXED_NOW = "2026-11-23T09:00"
#: FIXED_NOW as a naive local datetime, what domain functions take as ``now``
NOW = datetime.fromisoformat(FIXED_NOW)

# Property tests (hypothesis) try the same examples on every run, so that CI is reproducible
# and a failure comes back; CRM_HYPOTHESIS_RANDOM=1 explores new ones (add what it finds as an
# @example). No example database in the work tree; no deadline, since a first example may pay
# for an import. test_fuzz.py has settings of its own.
settings.register_profile(
    "crmcli",
    derandomize=not os.environ.get("CRM_HYPOTHESIS_RANDOM"),
    database=None,
    deadline=None,
)
settings.load_profile("crmcli")


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


@pytest.fixture(scope="session")
def empty_database(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A migrated, empty database file, made once per session: a test that needs a database
    gets a copy of it (about 1 ms) instead of running every migration (about 15 ms)."""
    template = tmp_path_factory.mktemp("template") / "crm.db"
    db.connect(template, write=True).close()
    return template.read_bytes()


@pytest.fixture
def database(db_path: Path, empty_database: bytes) -> Path:
    """The default database (``db_path``), migrated and empty, private as crm makes it."""
    db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with os.fdopen(os.open(db_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb") as out:
        out.write(empty_database)
    return db_path


@pytest.fixture
def conn(database: Path) -> Iterator[sqlite3.Connection]:
    connection = db.connect(database, write=True)
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
def cli(request: pytest.FixtureRequest) -> Cli:
    """The crm app in-process, on the default database (empty, migrated); a test marked
    ``no_database`` starts without one, to see crm create it (or not)."""
    if request.node.get_closest_marker("no_database") is None:
        request.getfixturevalue("database")
    return Cli()


def installed_crm() -> str:
    """The ``crm`` command installed beside the Python running the tests (in its venv),
    whether or not that folder is on PATH."""
    found = shutil.which("crm", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"no crm command beside {sys.executable}: pip install -e '.[test]' first")
    return found


@pytest.fixture(scope="session")
def crm_exe() -> str:
    """The installed ``crm`` command, for tests that run it as a person would."""
    return installed_crm()


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


class ContactFactory(Protocol):
    """``make_contact("Ann Lee", email="ann@example.com", company="Acme", cadence_days=30)``.

    The name is split into first and last name at its first space (None: neither). Keywords:
    a text field (``company``, ``city``...), a date field (``birthday``), or any attribute of
    :class:`~crmcli.contact_changes.ContactChanges` (``cadence_days``, ``add_emails`` with
    labels...), which wins over what the other arguments set. Returns the new contact's id."""

    def __call__(
        self,
        name: str | None = "Ann Lee",
        *,
        email: str | Sequence[str] | None = None,
        phone: str | Sequence[str] | None = None,
        tags: Sequence[str] = (),
        referred_by: int | None = None,
        now: datetime = NOW,
        **attributes: Any,
    ) -> int: ...


@pytest.fixture
def make_contact(conn: sqlite3.Connection) -> ContactFactory:
    """Contacts made through the domain (``contacts.create``): see :class:`ContactFactory`."""
    from dataclasses import fields

    from crmcli import contacts
    from crmcli.contact_changes import ContactChanges
    from crmcli.contacts import ADDRESS_PARTS, DATE_FIELDS, TEXT_FIELDS, Labeled

    attribute_names = {f.name for f in fields(ContactChanges)}

    def values(given: str | Sequence[str] | None) -> list[Labeled]:
        return [Labeled(given)] if isinstance(given, str) else [Labeled(v) for v in given or ()]

    def make(
        name: str | None = "Ann Lee",
        *,
        email: str | Sequence[str] | None = None,
        phone: str | Sequence[str] | None = None,
        tags: Sequence[str] = (),
        referred_by: int | None = None,
        now: datetime = NOW,
        **attributes: Any,
    ) -> int:
        first, _, last = (name or "").partition(" ")
        changes = ContactChanges(
            text={"first_name": first, "last_name": last or None} if name else {},
            add_emails=values(email),
            add_phones=values(phone),
            add_tags=list(tags),
            referred_by_id=referred_by,
        )
        for key, value in attributes.items():
            if key in TEXT_FIELDS:
                changes.text[key] = value
            elif key in DATE_FIELDS:
                changes.dates[key] = value
            elif key in ADDRESS_PARTS:  # the first address
                changes.address_parts[key] = value
            elif key in attribute_names:
                setattr(changes, key, value)
            else:
                raise TypeError(f"make_contact() got an unknown keyword {key!r}")
        return contacts.create(conn, changes, now=now)

    return make


@pytest.fixture
def make_purchase(conn: sqlite3.Connection) -> Callable[..., int]:
    """``make_purchase(contact_id, "120.00", on=date, product=..., currency="EUR")``: its id."""
    from datetime import date

    from crmcli import money, purchases

    def make(contact_id: int, amount: str, *, on: date | None = None, currency: str = "EUR",
             product: str | None = None, quantity: int = 1, ref: str | None = None) -> int:  # fmt: skip
        now = NOW.astimezone()
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
