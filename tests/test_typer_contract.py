"""What crmcli relies on in typer beyond its documented API: fails when a typer release changes it.

``pyproject.toml`` pins typer below the next minor release; before moving the pin, this file
must pass with the new release. It checks three things:

* the lazy loading (``crmcli/cli/__init__.py`` and ``CrmGroup`` in ``crmcli/cli/_common.py``)
  builds commands through ``typer.main.get_command`` alone, but to build one subcommand of a
  group without the others it reads a Typer's ``registered_commands`` and
  ``registered_groups``: every group built lazily must equal the group typer builds at once;
* ``crmcli/cli/_common.py`` reads a date like ``-2d`` as an argument by subclassing the option
  parser of typer's bundled click (``typer._click.parser._OptionParser``);
* ``crmcli/cli/completion.py`` answers the shells through the completion classes of typer's
  bundled click (``typer._click.shell_completion``).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest
import typer
import typer.main

from crmcli.cli import COMMANDS, load_command

GROUPS = sorted(
    name
    for name, entry in COMMANDS.items()
    if isinstance(getattr(importlib.import_module(entry.module), entry.attribute), typer.Typer)
)


def _described(command: Any) -> tuple[Any, ...]:
    """What a person sees of a command: its help, and each parameter's names and help."""
    params = [
        (p.name, tuple(getattr(p, "opts", ())), getattr(p, "help", None), p.required)
        for p in command.params
    ]
    markup = getattr(command, "rich_markup_mode", None)
    return (
        command.help,
        command.short_help,
        command.epilog,
        type(command).__name__,
        markup,
        params,
    )


def _subcommands(group: Any) -> dict[str, Any]:
    return {name: group.get_command(None, name) for name in group.list_commands(None)}


@pytest.mark.parametrize("name", GROUPS)
def test_a_group_built_lazily_is_the_group_typer_builds(name: str) -> None:
    entry = COMMANDS[name]
    source = getattr(importlib.import_module(entry.module), entry.attribute)
    eager = typer.main.get_command(source)
    lazy = load_command(name)
    assert _described(lazy)[:5] == _described(eager)[:5]
    assert [p.name for p in lazy.params] == [p.name for p in eager.params]
    eager_subcommands = _subcommands(eager)
    lazy_subcommands = _subcommands(lazy)
    # the lazy group has the commands typer knows, in its order, then those from elsewhere
    assert list(lazy_subcommands)[: len(eager_subcommands)] == list(eager_subcommands)
    assert list(lazy_subcommands)[len(eager_subcommands) :] == list(source.elsewhere)
    for sub, command in eager_subcommands.items():
        assert _described(lazy_subcommands[sub]) == _described(command), sub
        if hasattr(command, "list_commands"):  # a group in the group: built whole, the same
            assert _subcommands(lazy_subcommands[sub]).keys() == _subcommands(command).keys()


def test_the_fields_the_lazy_loading_reads_are_there() -> None:
    app = typer.Typer()
    sub = typer.Typer(name="inner")

    @app.command()
    def do_it() -> None:
        """Do it."""

    app.add_typer(sub)
    (info,) = app.registered_commands
    (group,) = app.registered_groups
    assert info.name is None and info.callback is do_it
    assert not group.name and group.typer_instance is sub and sub.info.name == "inner"
    for attribute in ("rich_markup_mode", "pretty_exceptions_short", "suggest_commands"):
        assert hasattr(app, attribute)
    # typer names a command after its function so (crmcli's CrmGroup repeats the rule)
    assert typer.main.get_command_name("do_it") == "do-it"


def test_the_bundled_click_pieces_crmcli_extends_are_there() -> None:
    from typer._click import parser, shell_completion

    option_parser = parser._OptionParser
    assert {"_long_opt", "_short_opt"} <= set(vars(option_parser(None)))
    assert inspect.signature(option_parser._process_opts).parameters.keys() == {
        "self",
        "arg",
        "state",
    }
    for name in (
        "CompletionItem",
        "ShellComplete",
        "add_completion_class",
        "split_arg_string",
        "_resolve_context",
        "_resolve_incomplete",
    ):
        assert hasattr(shell_completion, name), name
