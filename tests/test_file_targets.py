"""Files crmcli writes never replace the input, the database, another SQLite file, or (without
--force) an existing file; temporary files are never opened through a planted link."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmcli.errors import UsageError
from crmcli.files import check_target
from tests.conftest import Cli

# the second row has nothing to import it by (an address that is not one is kept, flagged,
# only beside a name): it is refused
BAD_CSV = "name,email\nAnn Lee,ann@example.com\n,not-an-address\n"


def test_rejects_file_is_never_the_input(cli: Cli, tmp_path: Path, db_path: Path) -> None:
    source = tmp_path / "a.csv"
    source.write_text(BAD_CSV)
    for spelling in (str(source), str(tmp_path / "." / "a.csv")):
        result = cli("import", str(source), "--skip-invalid", "--rejects", spelling, code=2)
        assert result.stderr == (
            f"Error: --rejects {spelling} is the file being read; give another file name "
            "(nothing was done)\n"
        )
    assert source.read_text() == BAD_CSV
    assert cli.json("contact", "list") == []


def test_an_existing_rejects_file_needs_force(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "a.csv"
    source.write_text(BAD_CSV)
    rejects = tmp_path / "a.rejects.csv"
    rejects.write_text("my notes\n")
    result = cli("import", str(source), "--skip-invalid", code=2)
    assert "a.rejects.csv exists; add --force to replace it" in result.stderr
    assert rejects.read_text() == "my notes\n" and cli.json("contact", "list") == []
    cli("import", str(source), "--skip-invalid", "--force")
    assert "not-an-address" in rejects.read_text()
    assert rejects.stat().st_mode & 0o777 == 0o600


def test_export_never_replaces_the_database(cli: Cli, db_path: Path) -> None:
    cli("contact", "add", "Ann Lee")
    before = db_path.read_bytes()[:16]
    for force in ([], ["--force"]):
        result = cli("export", "contacts", "-o", str(db_path), *force, code=2)
        assert result.stderr == (
            f"Error: --output {db_path} is the crmcli database; give another file name "
            "(nothing was done)\n"
        )
    assert db_path.read_bytes()[:16] == before == b"SQLite format 3\x00"
    assert [c["name"] for c in cli.json("contact", "list")] == ["Ann Lee"]


def test_no_file_crmcli_writes_replaces_any_sqlite_file(
    cli: Cli, tmp_path: Path, db_path: Path
) -> None:
    cli("contact", "add", "Ann Lee")
    other = tmp_path / "other.db"
    cli("db", "backup", str(other))
    source = tmp_path / "a.csv"
    source.write_text(BAD_CSV)
    runs = [
        ("export", "contacts", "-o", str(other), "--force"),
        ("export", "notes", "-o", str(other), "--force"),
        ("export", "ics", "-o", str(other), "--force"),
        ("import", str(source), "--skip-invalid", "--rejects", str(other), "--force"),
        ("db", "backup", str(other)),
    ]
    for args in runs:
        result = cli(*args, code=None)
        assert result.exit_code != 0, args
        assert str(other) in result.stderr
    assert other.read_bytes().startswith(b"SQLite format 3\x00")


def test_export_output_is_created_exclusively(cli: Cli, tmp_path: Path) -> None:
    cli("contact", "add", "Ann Lee")
    target = tmp_path / "out.csv"
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    # the temporary names of the old scheme, planted as links to a victim
    for pid in range(1, 50):
        (tmp_path / f".out.csv.tmp{pid}").symlink_to(victim)
    cli("export", "contacts", "-o", str(target))
    assert victim.read_text() == "precious\n"
    assert target.read_text().startswith("uid,name,")
    assert target.stat().st_mode & 0o777 == 0o600


def test_a_dangling_link_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "out.csv"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="a link to a missing file"):
        check_target(link, what="--output", force=True)
