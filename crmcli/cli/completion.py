"""``crm completion bash|zsh|fish|install|man``: shell completion and the manual page.

A shell asks crm what can come next by running it with ``_CRM_COMPLETE=complete_SHELL`` and
the words typed so far (``COMP_WORDS``, and the word under the cursor in ``COMP_CUR``). crm
answers from its own command tree, and for contact references, tags, stages, templates and
segments from the database (crmcli.completion). Only the command module being completed is
imported, and no rich: a TAB costs about what ``crm --help`` costs.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any, ClassVar

import typer
from typer._click.shell_completion import (
    CompletionItem,
    ShellComplete,
    add_completion_class,
    split_arg_string,
)

from crmcli.cli._common import FILE_NAME_MARK, CrmTyper
from crmcli.cli._output import message
from crmcli.errors import UsageError

app = CrmTyper(help="Shell completion for bash, zsh and fish, and the manual page.")

#: what the shell is told when a file name comes next: its own file completion does it better
_FILES, _DIRS = ":files", ":dirs"

BASH = """\
# crm completion for bash (crm completion bash; crm completion install puts it in place)
%(complete_func)s() {
    local IFS=$'\\n' reply
    reply=$(env COMP_WORDS="${COMP_WORDS[*]:0:COMP_CWORD}" COMP_CUR="${COMP_WORDS[COMP_CWORD]}" \\
        %(complete_var)s=complete_bash %(prog_name)s 2>/dev/null)
    case "$reply" in
        :files) compopt -o default; COMPREPLY=() ;;
        :dirs) compopt -o dirnames; COMPREPLY=() ;;
        *) COMPREPLY=($reply) ;;
    esac
}
complete -F %(complete_func)s %(prog_name)s
"""

ZSH = """\
#compdef %(prog_name)s
# crm completion for zsh (crm completion zsh; crm completion install puts it in place)
%(complete_func)s() {
    local -a completions
    local reply
    reply=$(env COMP_WORDS="${(j: :)${(@q)words[1,CURRENT-1]}}" COMP_CUR="${words[CURRENT]}" \\
        %(complete_var)s=complete_zsh %(prog_name)s 2>/dev/null)
    case "$reply" in
        :files) _files ;;
        :dirs) _files -/ ;;
        *) completions=("${(@f)reply}"); [[ -n "$reply" ]] && _describe -V %(prog_name)s completions ;;
    esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    %(complete_func)s "$@"
else
    compdef %(complete_func)s %(prog_name)s
fi
"""

FISH = """\
# crm completion for fish (crm completion fish; crm completion install puts it in place)
function %(complete_func)s
    set -l reply (env COMP_WORDS=(commandline -opc | string escape | string join ' ') \\
        COMP_CUR=(commandline -ct) %(complete_var)s=complete_fish %(prog_name)s 2>/dev/null)
    switch "$reply"
        case :files
            __fish_complete_path (commandline -ct)
        case :dirs
            __fish_complete_directories (commandline -ct)
        case '*'
            string join \\n -- $reply
    end
end
complete --command %(prog_name)s --no-files --arguments '(%(complete_func)s)'
"""


class _Complete(ShellComplete):
    """The words come in COMP_WORDS (shell-quoted) and COMP_CUR, the same for every shell."""

    def source_vars(self) -> dict[str, Any]:
        return {
            "complete_func": self.func_name,
            "complete_var": self.complete_var,
            "prog_name": self.prog_name,
        }

    def get_completion_args(self) -> tuple[list[str], str]:
        words = split_arg_string(os.environ.get("COMP_WORDS", ""))
        return words[1:], os.environ.get("COMP_CUR", "")

    def complete(self) -> str:
        from typer._click.shell_completion import _resolve_context, _resolve_incomplete

        args, incomplete = self.get_completion_args()
        ctx = _resolve_context(self.cli, self.ctx_args, self.prog_name, args)
        target, incomplete = _resolve_incomplete(ctx, args, incomplete)
        items = target.shell_complete(ctx, incomplete)
        kind = getattr(target, "type", None)
        if not items and hasattr(kind, "file_okay"):
            # a path: the shell's own file-name completion does it best
            return _FILES if getattr(kind, "file_okay", True) else _DIRS
        if items and str(items[0].value).endswith(FILE_NAME_MARK):
            return _FILES
        return "\n".join(self.format_completion(item) for item in items)


class BashComplete(_Complete):
    name: ClassVar[str] = "bash"
    source_template: ClassVar[str] = BASH

    def format_completion(self, item: CompletionItem) -> str:
        # bash inserts a value as it is: a name with spaces must come escaped
        return re.sub(r"([^\w@.,:+%/=-])", r"\\\1", _value(item))


class ZshComplete(_Complete):
    name: ClassVar[str] = "zsh"
    source_template: ClassVar[str] = ZSH

    def format_completion(self, item: CompletionItem) -> str:
        value = _value(item).replace("\\", "\\\\").replace(":", "\\:")
        return f"{value}:{_one_line(item.help)}" if item.help else value


class FishComplete(_Complete):
    name: ClassVar[str] = "fish"
    source_template: ClassVar[str] = FISH

    def format_completion(self, item: CompletionItem) -> str:
        return f"{_value(item)}\t{_one_line(item.help)}" if item.help else _value(item)


def _value(item: CompletionItem) -> str:
    """A value to put on the command line: never a control character (see _one_line)."""
    from crmcli.controls import single_line

    return single_line(str(item.value))


SHELLS: dict[str, type[_Complete]] = {
    "bash": BashComplete,
    "zsh": ZshComplete,
    "fish": FishComplete,
}


def _one_line(text: str | None) -> str:
    """A description from the database, safe for the shell's menu: one line, no control
    characters (a name like "\x1b]0;pwned\x07" is data, not a terminal command)."""
    from crmcli.controls import single_line

    return " ".join(single_line(text or "").split())[:80]


def register() -> None:
    """Make bash, zsh and fish known to the completion machinery (only when completing)."""
    for name, shell in SHELLS.items():
        add_completion_class(shell, name)


def script(shell: str) -> str:
    if shell not in SHELLS:
        raise UsageError(f"unknown shell {shell!r} (bash, zsh or fish)")
    from crmcli.cli import app as root

    command = typer.main.get_command(root)
    return str(SHELLS[shell](command, {}, "crm", "_CRM_COMPLETE").source())


def _print_script(shell: str) -> None:
    sys.stdout.write(script(shell))


@app.command("bash")
def bash_command() -> None:
    """Print the bash completion script: eval "$(crm completion bash)" in ~/.bashrc."""
    _print_script("bash")


@app.command("zsh")
def zsh_command() -> None:
    """Print the zsh completion script: save it as _crm in a folder of your $fpath."""
    _print_script("zsh")


@app.command("fish")
def fish_command() -> None:
    """Print the fish completion script: save it as ~/.config/fish/completions/crm.fish."""
    _print_script("fish")


@app.command("man")
def man_command() -> None:
    """Print the manual page (roff), made from the same --help text as docs/reference.md.

    Example: crm completion man | man -l -
    """
    from crmcli.cli._manpage import render_man

    sys.stdout.write(render_man())


def _detect_shell() -> str:
    name = Path(os.environ.get("SHELL", "")).name
    if name not in SHELLS:
        raise UsageError(
            f"cannot tell your shell from $SHELL ({name or 'not set'}); give it: "
            "crm completion install --shell bash|zsh|fish"
        )
    return name


def install_targets(shell: str, env: Any = None) -> tuple[Path, Path]:
    """Where ``crm completion install`` puts the completion script and the manual page."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    data = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    scripts = {
        # bash-completion loads a command's file from here on first use
        "bash": Path(env.get("BASH_COMPLETION_USER_DIR") or data / "bash-completion")
        / "completions"
        / "crm",
        # a folder to add to $fpath (said after installing)
        "zsh": data / "zsh" / "site-functions" / "_crm",
        # fish loads completions from here by itself
        "fish": config / "fish" / "completions" / "crm.fish",
    }
    return scripts[shell], data / "man" / "man1" / "crm.1"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.new")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


@app.command("install")
def install_command(
    shell: Annotated[
        str | None,
        typer.Option("--shell", help="bash, zsh or fish [default: from $SHELL]."),
    ] = None,
) -> None:
    """Install completion for your shell, and the manual page (man crm).

    Writes the script where the shell looks for it (bash-completion's user folder, zsh's
    site-functions under $XDG_DATA_HOME, fish's completions folder) and crm.1 under
    $XDG_DATA_HOME/man/man1. Says what, if anything, is left to do. Run it again after upgrading.
    """
    from crmcli.cli._manpage import render_man

    chosen = shell or _detect_shell()
    target, manpage = install_targets(chosen)
    _write(target, script(chosen))
    _write(manpage, render_man())
    message(f"Installed {chosen} completion: {target}")
    message(f"Installed the manual page: {manpage} (read it with: man crm)")
    if chosen == "zsh":
        message(
            f"Add to ~/.zshrc, before compinit: fpath=({target.parent} $fpath) "
            "(then open a new shell)"
        )
    elif chosen == "bash":
        message(
            "Needs the bash-completion package (most systems have it); without it add to "
            f"~/.bashrc: source {target}"
        )
    else:
        message("Open a new fish to use it.")
