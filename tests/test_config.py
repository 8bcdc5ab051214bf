"""Settings: a bad value names the environment variable and the config.toml key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crmcli import config
from crmcli.errors import CrmError
from tests.conftest import Cli


def test_a_bad_env_value_names_the_variable_and_the_key(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), "CRM_DAY_FIRST": "maybe", "CRM_FEB29": "Mar2"}
    settings = config.load(env)
    toml = tmp_path / "crmcli" / "config.toml"
    with pytest.raises(CrmError) as error:
        settings.day_first  # noqa: B018 - the property reads and checks the setting
    assert error.value.message == (
        "CRM_DAY_FIRST='maybe' is not true or false (or 1/0, yes/no, on/off); "
        f"it overrides dates.day_first in {toml}"
    )
    with pytest.raises(CrmError) as error:
        settings.feb29  # noqa: B018
    assert error.value.message == (
        f"CRM_FEB29='Mar2' must be 'feb28' or 'mar1'; it overrides dates.feb29 in {toml}"
    )


def test_a_bad_file_value_names_the_key_and_the_variable(tmp_path: Path) -> None:
    toml = tmp_path / "crmcli" / "config.toml"
    toml.parent.mkdir()
    toml.write_text('[dates]\nday_first = "maybe"\nbirthday_lead_days = -2\n', encoding="utf-8")
    settings = config.load({"XDG_CONFIG_HOME": str(tmp_path)})
    with pytest.raises(CrmError) as error:
        settings.day_first  # noqa: B018
    assert error.value.message == (
        f"setting dates.day_first = 'maybe' in {toml} is not true or false "
        "(or 1/0, yes/no, on/off); CRM_DAY_FIRST can override it"
    )
    with pytest.raises(CrmError) as error:
        settings.lead_days("birthday")
    assert error.value.message == (
        f"setting dates.birthday_lead_days = -2 in {toml} must be a whole number of days >= 0; "
        "CRM_BIRTHDAY_LEAD_DAYS can override it"
    )


def test_cli_reports_a_bad_crm_day_first(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DAY_FIRST", "maybe")
    result = cli("when", "4/5", code=1)
    assert result.stderr == (
        "Error: CRM_DAY_FIRST='maybe' is not true or false (or 1/0, yes/no, on/off); "
        f"it overrides dates.day_first in {tmp_path / 'config' / 'crmcli' / 'config.toml'}\n"
    )


# --- crm config path|show|check|edit ----------------------------------------------------------


def _write_config(tmp_path: Path, text: str) -> Path:
    toml = tmp_path / "config" / "crmcli" / "config.toml"
    toml.parent.mkdir(parents=True, exist_ok=True)
    toml.write_text(text, encoding="utf-8")
    return toml


def test_a_misspelt_key_is_an_error_with_a_suggestion(cli: Cli, tmp_path: Path) -> None:
    toml = _write_config(tmp_path, "[dates]\nday_frist = true\n")
    expected = (
        f"Error: unknown setting dates.day_frist in {toml}; did you mean dates.day_first? "
        "(crm config show lists every setting)\n"
    )
    assert cli("when", "4/5", code=1).stderr == expected  # every command, not silently ignored
    assert cli("config", "check", code=1).stderr == expected
    _write_config(tmp_path, "day_first = true\n")
    assert (
        "outside a [section]; put it under [dates] (dates.day_first)"
        in cli("config", "check", code=1).stderr
    )


def test_config_path_show_and_check(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "config" / "crmcli" / "config.toml"
    result = cli("config", "path")
    assert result.stdout == f"{toml}\n" and "does not exist yet" in result.stderr
    _write_config(tmp_path, '[dates]\nday_first = true\n[deals]\ncurrency = "EUR"\n')
    monkeypatch.setenv("CRM_CURRENCY", "GBP")
    rows = {row["name"]: row for row in cli.json("config", "show")}
    assert [s.name for s in config.SETTINGS] == list(rows)
    assert rows["dates.day_first"]["value"] is True and rows["dates.day_first"]["source"] == "file"
    assert rows["deals.currency"]["value"] == "GBP"
    assert rows["deals.currency"]["source"] == "env CRM_CURRENCY"
    assert rows["dates.feb29"] == {
        "name": "dates.feb29",
        "value": "feb28",
        "source": "default",
        "variable": "CRM_FEB29",
        "default": "feb28",
        "help": "a Feb 29 date in a non-leap year: feb28 or mar1",
    }
    assert next(r["name"] for r in cli.json("config", "show", "smtp")) == "smtp.host"
    assert "unknown section 'smpt'" in cli("config", "show", "smpt", code=2).stderr
    assert cli("config", "check").stderr == f"Settings are fine ({toml})\n"
    monkeypatch.setenv("CRM_FEB29", "mar2")
    _write_config(tmp_path, '[dates]\nday_first = "maybe"\n')
    lines = cli("config", "check", code=1).stderr.splitlines()
    assert lines == [
        f"Error: setting dates.day_first = 'maybe' in {toml} is not true or false (or 1/0, yes/no, "
        "on/off); CRM_DAY_FIRST can override it",
        f"Error: CRM_FEB29='mar2' must be 'feb28' or 'mar1'; it overrides dates.feb29 in {toml}",
    ]


def test_config_edit_saves_only_what_passes_the_check(
    cli: Cli, tmp_path: Path, fake_editor: Any
) -> None:
    toml = tmp_path / "config" / "crmcli" / "config.toml"
    fake_editor(("# day_first = false", "day_frist = true"))
    result = cli("config", "edit", "--editor", code=1)
    assert "unknown setting dates.day_frist in the file; did you mean dates.day_first?" in (
        result.stderr
    )
    assert not toml.exists()  # nothing saved; what was typed is kept for later
    assert "What you typed is kept in" in result.stderr
    fake_editor(("# day_first = false", "day_first = true"))
    assert cli("config", "edit", "--editor").stderr == f"Saved {toml}\n"
    text = toml.read_text(encoding="utf-8")
    assert "# 03/04 is 3 April (true) or 4 March (false)\nday_first = true\n" in text
    assert oct(toml.stat().st_mode & 0o777) == "0o600"
    assert cli.json("config", "show", "dates")[0]["value"] is True
    assert "not on a terminal" in cli("config", "edit", code=2).stderr


def test_settings_page_lists_every_setting() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "settings.md").read_text("utf-8")
    for setting in config.SETTINGS:
        assert f"| `{setting.name}` | `{setting.variable}` |" in page, setting.name
