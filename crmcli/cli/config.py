"""``crm config path|show|check|edit``: every setting, its value and where the value comes from."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from crmcli import config
from crmcli.cli._common import CrmTyper, FormatOpt, ask, edit_text, interactive, kept_on_failure
from crmcli.cli._output import Column, Kind, emit, message
from crmcli.errors import CrmError, UsageError

app = CrmTyper(help="Show, check and edit the settings (config.toml and CRM_* variables).")

COLUMNS = [
    Column("name", "Setting", kind=Kind.id, justify="left", priority=1),
    Column("value", priority=1),
    Column("source", priority=3),
    Column("variable", in_table=False),
    Column("default", in_table=False),
    Column("help", "Meaning"),
]


@app.command("path")
def path_command() -> None:
    """Print where the config file is (it need not exist: every setting has a default)."""
    found = config.config_dir() / "config.toml"
    print(found)
    if not found.exists():
        message("(it does not exist yet: crm config edit creates it)")


def _rows(cfg: config.Config, section: str | None) -> list[dict[str, Any]]:
    rows = []
    for setting in config.SETTINGS:
        if section and setting.section != section:
            continue
        source = config.source_of(cfg, setting)
        value = setting.default if source == "default" else cfg.get(setting.section, setting.key)
        rows.append(
            {
                "name": setting.name,
                "value": value,
                "source": source,
                "variable": setting.variable,
                "default": setting.default,
                "help": setting.help,
            }
        )
    return rows


@app.command("show")
def show_command(
    section: Annotated[
        str | None, typer.Argument(help="Only this section: dates, deals, smtp.")
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """List every setting with its value and where it comes from (default, file or env).

    Example: crm config show smtp
    """
    sections = sorted({s.section for s in config.SETTINGS})
    if section and section not in sections:
        raise UsageError(f"unknown section {section!r} (sections: {', '.join(sections)})")
    emit(_rows(config.load(), section), COLUMNS, fmt)


@app.command("check")
def check_command() -> None:
    """Check the config file and the CRM_* variables: unknown keys and bad values.

    Exits 1 and lists each problem when there is one, so cron or a script can check first.
    """
    problems = config.problems(config.load())
    if problems:
        for problem in problems[:-1]:
            message(f"Error: {problem}")
        raise CrmError(problems[-1])
    where = config.config_dir() / "config.toml"
    message(f"Settings are fine ({where if where.exists() else 'no config file: all defaults'})")


_TEMPLATE = """\
# crmcli settings. Every setting, its default and its meaning: crm config show.
# An environment variable (CRM_DAY_FIRST=1...) wins over this file.

"""


def _template() -> str:
    """Every setting as a comment (its meaning, then ``key = default``), ready to uncomment."""
    import json

    lines = [_TEMPLATE]
    section = ""
    for setting in config.SETTINGS:
        if setting.section != section:
            section = setting.section
            lines.append(f"{'' if len(lines) == 1 else chr(10)}[{section}]\n")
        default = setting.default
        shown = "" if default is None else default
        value = str(shown).lower() if isinstance(shown, bool) else json.dumps(shown)
        lines.append(f"# {setting.help}\n# {setting.key} = {value}\n")
    return "".join(lines)


def _check_text(text: str) -> None:
    """The same checks as ``crm config check``, on text not yet saved."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "crmcli").mkdir()
        (Path(folder) / "crmcli" / "config.toml").write_text(text, encoding="utf-8")
        env = {**os.environ, "XDG_CONFIG_HOME": folder}
        for variable in config.ENV_OVERRIDES:
            env.pop(variable, None)  # only the file is being checked
        try:
            problems = config.problems(config.load(env))
        except CrmError as error:
            problems = [error.message]
    if problems:
        raise CrmError(problems[0].replace(f"{folder}/crmcli/config.toml", "the file"))


@app.command("edit")
def edit_command(
    editor: Annotated[
        bool, typer.Option("--editor", help="Open the editor even when not on a terminal.")
    ] = False,
) -> None:
    """Edit the config file in $VISUAL/$EDITOR; it is checked before it is saved.

    A new file starts with every setting as a comment. A mistake is shown and you may edit
    again; the file is replaced only with text that passes crm config check.
    """
    from crmcli.cli._output import open_private

    if not (editor or interactive()):
        raise UsageError("not on a terminal: use --editor to open $EDITOR anyway")
    target = config.config_dir() / "config.toml"
    text = target.read_text(encoding="utf-8") if target.exists() else _template()
    with kept_on_failure("config") as draft:
        while True:
            text = draft.text = edit_text(text, what="config")
            try:
                _check_text(text)
                break
            except CrmError as error:
                message(f"Error: {error.message}")
                if not interactive() or not ask("Edit again?", default=True):
                    error.message = f"{error.message}; {target} was not changed"
                    raise
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open_private(target.with_name(".config.toml.new")) as handle:
        handle.write(text)
    os.replace(target.with_name(".config.toml.new"), target)
    message(f"Saved {target}")
