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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from crmcli.errors import CrmError


class Setting(NamedTuple):
    """One setting: where it lives in config.toml, its default, its variable, what it means."""

    section: str
    key: str
    default: Any
    help: str

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def variable(self) -> str:
        if self.section in _PREFIXED:
            return f"CRM_{self.section.upper()}_{self.key.upper()}"
        return f"CRM_{self.key.upper()}"


#: sections whose variables carry the section's name (CRM_SMTP_HOST, CRM_HOOKS_TIMEOUT)
_PREFIXED = ("smtp", "hooks", "sync")


#: every setting crmcli reads (docs/settings.md describes each; a test keeps the two in step).
#: A key that is not here is refused as a typo, so a new setting must be added here.
SETTINGS: tuple[Setting, ...] = (
    Setting("dates", "day_first", False, "03/04 is 3 April (true) or 4 March (false)"),
    Setting("dates", "feb29", "feb28", "a Feb 29 date in a non-leap year: feb28 or mar1"),
    Setting("dates", "birthday_lead_days", 7, "days ahead the agenda shows a birthday"),
    Setting("dates", "anniversary_lead_days", 14, "days ahead the agenda shows an anniversary"),
    Setting("dates", "other_lead_days", 7, "days ahead the agenda shows another yearly date"),
    Setting("deals", "currency", "USD", "currency of a deal added without --currency"),
    Setting("deals", "won_as_purchase", False, "record a won deal as a purchase too"),
    Setting("smtp", "host", None, "the mail server greetings and campaigns are sent through"),
    Setting("smtp", "port", None, "its port (default: 587 starttls, 465 ssl, 25 none)"),
    Setting("smtp", "security", "starttls", "starttls, ssl or none"),
    Setting("smtp", "user", None, "the login name, if the server wants one"),
    Setting("smtp", "from", None, "the From address: 'Sam Seller <sam@example.com>'"),
    Setting(
        "smtp", "password_command", None, "a command that prints the password (pass show smtp)"
    ),
    Setting("smtp", "timeout", 20, "seconds to wait for the server to connect or answer"),
    Setting("smtp", "deadline", 300, "seconds a whole crm greet --due run may spend sending"),
    Setting("hooks", "timeout", 10, "seconds a hook may run before it is stopped"),
    Setting("output", "pager", None, "long output on a terminal: $PAGER, else less -FRX"),
    Setting("sync", "contacts_dir", None, "the contacts vdir crm sync keeps in step (.vcf files)"),
    Setting(
        "sync", "calendar_dir", None, "the calendar vdir for yearly dates and reminders (.ics)"
    ),
    Setting("sync", "before", None, "a command crm sync runs first (vdirsyncer sync)"),
    Setting("sync", "after", None, "a command crm sync runs last (vdirsyncer sync)"),
    Setting("sync", "timeout", 300, "seconds a before/after command may run"),
    Setting("sync", "prefer", None, "settle sync conflicts: local or remote (unset: --resolve)"),
)

#: environment variable -> (section, key)
ENV_OVERRIDES: dict[str, tuple[str, str]] = {s.variable: (s.section, s.key) for s in SETTINGS}

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
        _refuse_unknown(data, path)
        sections = {k: dict(v) for k, v in data.items()}
    from_env: dict[tuple[str, str], str] = {}
    for variable, (section, key) in ENV_OVERRIDES.items():
        if variable in env:
            sections.setdefault(section, {})[key] = env[variable]
            from_env[section, key] = variable
    return Config(path=path, sections=sections, from_env=from_env)


def _refuse_unknown(data: Mapping[str, Any], path: Path) -> None:
    """A key crmcli does not know is a typo (``day_frist``) that would be ignored silently."""
    from difflib import get_close_matches

    known = {s.name for s in SETTINGS}
    for section, table in data.items():
        if not isinstance(table, dict):
            owner = next((s for s in SETTINGS if s.key == section), None)
            where = (
                f"; put it under [{owner.section}] ({owner.name})"
                if owner
                else f" (settings: {', '.join(sorted(known))})"
            )
            raise CrmError(f"setting {section!r} in {path} is outside a [section]{where}")
        for key in table:
            name = f"{section}.{key}"
            if name in known:
                continue
            close = get_close_matches(name, sorted(known), n=1, cutoff=0.7)
            suggestion = f"; did you mean {close[0]}?" if close else ""
            raise CrmError(
                f"unknown setting {name} in {path}{suggestion} "
                "(crm config show lists every setting)"
            )


def source_of(cfg: Config, setting: Setting) -> str:
    """Where a setting's value comes from: ``default``, ``file`` or ``env CRM_...``."""
    if (setting.section, setting.key) in cfg.from_env:
        return f"env {cfg.from_env[setting.section, setting.key]}"
    if setting.key in cfg.sections.get(setting.section, {}):
        return "file"
    return "default"


def problems(cfg: Config) -> list[str]:
    """Every setting whose value is not usable, each as one sentence (``crm config check``)."""
    from crmcli import mailer, money

    checks: list[Callable[[], object]] = [
        lambda: cfg.day_first,
        lambda: cfg.flag("deals", "won_as_purchase"),
        lambda: cfg.feb29,
        lambda: [cfg.lead_days(kind) for kind in ("birthday", "anniversary", "other")],
        lambda: money.currency_code(str(cfg.get("deals", "currency", "USD"))),
        lambda: mailer.sender_setting(cfg),
        lambda: cfg.pager,
    ]
    if cfg.get("smtp", "host"):
        checks.append(lambda: mailer.load_settings(cfg))
    if cfg.sections.get("sync"):
        from crmcli import sync

        checks.append(lambda: sync.settings(cfg))
    if cfg.get("hooks", "timeout") is not None:
        from crmcli import hooks

        checks.append(lambda: hooks.timeout_setting(cfg))
    found: list[str] = []
    for check in checks:
        try:
            check()
        except CrmError as error:
            if error.message not in found:
                found.append(error.message)
    return found
