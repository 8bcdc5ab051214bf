"""Settings: a bad value names the environment variable and the config.toml key."""

from __future__ import annotations

from pathlib import Path

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
