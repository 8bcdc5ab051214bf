"""User settings: ``$XDG_CONFIG_HOME/crmcli/config.toml`` plus ``CRM_*`` environment overrides.

The file is optional. Sections are plain TOML tables, for example::

    [dates]
    day_first = true      # 03/04 is 3 April (else 4 March)
    feb29 = "mar1"        # a Feb 29 date in a non-leap year: "feb28" (default) or "mar1"

    [deals]
    currency = "EUR"
    won_as_purchase = true   # crm deal won records the deal as a purchase too

    [output]
    pager = "less -FRX"   # long output on a terminal; "" or "cat": none (also crm --no-pager)

An environment variable wins over the file: ``CRM_DAY_FIRST=1``, ``CRM_CURRENCY=EUR``...
(see :data:`ENV_OVERRIDES`). Secrets never live here in clear: see the greetings docs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmcli.errors import CrmError

#: environment variable -> (section, key)
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "CRM_DAY_FIRST": ("dates", "day_first"),
    "CRM_FEB29": ("dates", "feb29"),
    "CRM_CURRENCY": ("deals", "currency"),
    "CRM_WON_AS_PURCHASE": ("deals", "won_as_purchase"),
    "CRM_SMTP_HOST": ("smtp", "host"),
    "CRM_SMTP_PORT": ("smtp", "port"),
    "CRM_SMTP_SECURITY": ("smtp", "security"),
    "CRM_SMTP_USER": ("smtp", "user"),
    "CRM_SMTP_FROM": ("smtp", "from"),
    "CRM_SMTP_PASSWORD_COMMAND": ("smtp", "password_command"),
    "CRM_SMTP_TIMEOUT": ("smtp", "timeout"),
    "CRM_SMTP_DEADLINE": ("smtp", "deadline"),
    "CRM_BIRTHDAY_LEAD_DAYS": ("dates", "birthday_lead_days"),
    "CRM_ANNIVERSARY_LEAD_DAYS": ("dates", "anniversary_lead_days"),
    "CRM_OTHER_LEAD_DAYS": ("dates", "other_lead_days"),
    "CRM_PAGER": ("output", "pager"),
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/crmcli`` (default ``~/.config/crmcli``)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "crmcli"


@dataclass
class Config:
    """Settings by section; read with :meth:`get`, :meth:`flag`."""

    path: Path
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (section, key) -> the environment variable its value came from
    from_env: dict[tuple[str, str], str] = field(default_factory=dict)

    def invalid(self, section: str, key: str, value: Any, problem: str) -> CrmError:
        """An error naming both places the setting can be made, the one in use first: a user
        who set neither knowingly must be able to find it."""
        variable = next((v for v, place in ENV_OVERRIDES.items() if place == (section, key)), None)
        if (section, key) in self.from_env:
            return CrmError(
                f"{self.from_env[section, key]}={value!r} {problem}; "
                f"it overrides {section}.{key} in {self.path}"
            )
        message = f"setting {section}.{key} = {value!r} in {self.path} {problem}"
        return CrmError(f"{message}; {variable} can override it" if variable else message)

    def get(self, section: str, key: str, default: Any = None) -> Any:
        return self.sections.get(section, {}).get(key, default)

    def flag(self, section: str, key: str, default: bool = False) -> bool:
        value = self.get(section, key, default)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.invalid(section, key, value, "is not true or false (or 1/0, yes/no, on/off)")

    @property
    def day_first(self) -> bool:
        return self.flag("dates", "day_first")

    @property
    def feb29(self) -> str:
        value = self.get("dates", "feb29", "feb28")
        policy = str(value).lower()
        if policy not in ("feb28", "mar1"):
            raise self.invalid("dates", "feb29", value, "must be 'feb28' or 'mar1'")
        return policy

    @property
    def pager(self) -> str | None:
        """The pager for long output on a terminal (``[output] pager``); None: not set here
        (then ``$PAGER``, else ``less -FRX``); empty or ``cat``: no pager."""
        value = self.get("output", "pager")
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.invalid("output", "pager", value, "must be a command line (text)")
        return value

    def lead_days(self, kind: str) -> int:
        """Days ahead the agenda shows a yearly date of ``kind`` (birthday 7, anniversary 14)."""
        default = {"birthday": 7, "anniversary": 14}.get(kind, 7)
        value = self.get("dates", f"{kind}_lead_days", default)
        try:
            days = int(value)
        except (TypeError, ValueError):
            days = -1
        if days < 0:
            raise self.invalid(
                "dates", f"{kind}_lead_days", value, "must be a whole number of days >= 0"
            )
        return days


def load(env: Mapping[str, str] | None = None) -> Config:
    """Read the config file (if any) and apply environment overrides."""
    env = os.environ if env is None else env
    path = config_dir(env) / "config.toml"
    sections: dict[str, dict[str, Any]] = {}
    if path.is_file():
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on Python 3.10 only
            import tomli as tomllib
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise CrmError(f"cannot read config file {path}: {exc}") from None
        sections = {k: dict(v) for k, v in data.items() if isinstance(v, dict)}
    from_env: dict[tuple[str, str], str] = {}
    for variable, (section, key) in ENV_OVERRIDES.items():
        if variable in env:
            sections.setdefault(section, {})[key] = env[variable]
            from_env[section, key] = variable
    return Config(path=path, sections=sections, from_env=from_env)
