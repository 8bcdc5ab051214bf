"""What every command group shares: the app factory, the error handler, the database handle,
option aliases and small helpers for dates and confirmations."""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from crmcli import clock
from crmcli.cli import _pager
from crmcli.cli._output import OutputFormat, emit_record, message
from crmcli.db import DbLocation, connect, describe_sqlite_error, resolve_path
from crmcli.errors import AmbiguousRef, CrmError, UsageError
from crmcli.registry import load

if TYPE_CHECKING:
    from crmcli.dates import When

F = TypeVar("F", bound=Callable[..., Any])

# Help is plain text (no rich markup): rich costs ~50 ms at every `--help`, and plain help is
# what docs/reference.md is generated from.
_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@dataclass
class CliState:
    """What the root callback learned (``--db``), kept on the click context as ``ctx.obj``."""

    db_option: str | None = None

    @property
    def location(self) -> DbLocation:
        return resolve_path(self.db_option)


def _report(error: CrmError) -> None:
    # on the terminal, after the pager (if output had started one) has been left
    _pager.stop()
    # through the sink: an error often quotes data (a name, a line of a file)
    message(f"Error: {error.message}")
    if isinstance(error, AmbiguousRef):
        for line in error.candidates:
            message(line)
    if error.hint:
        message(error.hint)


def _guarded(invoke: Callable[[Any], Any], ctx: Any) -> Any:
    """Run a command (or a group's callback) so that a user-caused failure is one line."""
    try:
        result = invoke(ctx)
        # Flush here, not at exit: a reader that left (`| head`) is then handled below.
        sys.stdout.flush()
        return result
    except CrmError as error:
        _report(error)
        raise typer.Exit(error.exit_code) from None
    except sqlite3.Error as error:
        state = ctx.find_object(CliState)
        path = state.location.path if state else "the database"
        _report(CrmError(describe_sqlite_error(error, path)))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        _pager.stop(drop=True)
        print("Interrupted; the current change was not saved.", file=sys.stderr)
        raise typer.Exit(130) from None
    except BrokenPipeError:
        # `crm contact list | head`, or `q` in the pager: the reader left; say nothing, and
        # keep Python from complaining again when it flushes stdout at exit.
        if _pager.active():
            _pager.stop(drop=True)
            raise typer.Exit(0) from None
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None
    except OSError as error:
        if error.filename:
            _report(CrmError(f"{error.filename}: {error.strerror}"))
        else:
            _report(CrmError(error.strerror or str(error)))
        raise typer.Exit(1) from None
    except OverflowError:
        # An id, amount or count too large for SQLite's 64-bit integers or for the calendar.
        _report(UsageError("a number or date given is out of range; check the values"))
        raise typer.Exit(2) from None
    except ValueError as error:
        # date arithmetic past year 9999 (or before year 1): a value the user gave is too far out
        if "out of range" not in str(error):
            raise
        _report(UsageError("a date is out of range (the calendar ends at year 9999)"))
        raise typer.Exit(2) from None


#: a date expression that starts with "-": -1w, -2d, --04-15 (a date without a year)
_DASH_DATE = re.compile(r"-\d|--\d\d-\d\d$")


def _dash_date_parser(ctx: Any) -> Any:
    """click's option parser, except that an argument like ``-1w`` or ``--04-15`` in the place
    of an option is data when the command has no option of that name: ``crm snooze 3 -2d``."""
    from typer._click.parser import _OptionParser

    class DashDateParser(_OptionParser):
        def _process_opts(self, arg: str, state: Any) -> None:
            if (
                _DASH_DATE.match(arg)
                and arg not in self._long_opt
                and arg[:2] not in self._short_opt
            ):
                state.largs.append(arg)
                return
            super()._process_opts(arg, state)

    return DashDateParser(ctx)


class CrmCommand(TyperCommand):
    """A command whose user-caused failures become one ``Error:`` line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        return _guarded(super().invoke, ctx)

    def make_parser(self, ctx: Any) -> Any:
        parser = _dash_date_parser(ctx)
        for param in self.get_params(ctx):
            param.add_to_parser(parser, ctx)
        return parser


class CrmGroup(TyperGroup):
    """A command group; errors in its callback are reported like a command's.

    With ``lazy_source`` (a typer.Typer) its subcommands are built from their functions only
    when one is used: `crm contact show` pays for one signature, not for the whole group's.
    """

    lazy_source: typer.Typer | None = None

    def invoke(self, ctx: Any) -> Any:
        return _guarded(super().invoke, ctx)

    def _sources(self) -> dict[str, tuple[str, Any]]:
        """The subcommands of ``lazy_source`` by name: ("command", typer's CommandInfo),
        ("group", its TyperInfo) or ("elsewhere", "module:function"), in the order typer
        lists them."""
        source = self.lazy_source
        assert source is not None
        found: dict[str, tuple[str, Any]] = {}
        # typer exports no way to build one command of a Typer without building them all, so
        # these lists of its (public, undocumented) fields are read here; the building itself
        # goes through typer.main.get_command, which typer documents. tests/test_typer_contract.py
        # fails if a typer release changes what this relies on.
        for info in source.registered_commands:
            assert info.callback is not None
            name = info.name or info.callback.__name__.lower().replace("_", "-")
            found[name] = ("command", info)
        for group in source.registered_groups:
            found[group.name or group.typer_instance.info.name] = ("group", group)  # type: ignore[union-attr,index]
        for name, target in getattr(source, "elsewhere", {}).items():
            found[name] = ("elsewhere", target)
        return found

    def _build(self, kind: str, entry: Any) -> Any:
        source = self.lazy_source
        assert source is not None
        if kind == "elsewhere":
            return command_of(load(entry))
        # A Typer holding only this command (or group), built as typer builds any app.
        holder = holder_of(source)
        if kind == "command":
            holder.registered_commands.append(entry)
            return typer.main.get_command(holder)
        holder.registered_groups.append(entry)
        return next(iter(typer.main.get_command(holder).commands.values()))  # type: ignore[attr-defined]

    def list_commands(self, ctx: Any) -> list[str]:
        if self.lazy_source is None:
            return super().list_commands(ctx)
        return list(self._sources())

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if self.lazy_source is not None and cmd_name not in self.commands:
            sources = self._sources()
            if cmd_name in sources:
                built = self._build(*sources[cmd_name])
                built.name = cmd_name
                self.commands[cmd_name] = built
            else:
                # An unknown name: build them all, so "did you mean" can suggest any of them.
                for name, (kind, entry) in sources.items():
                    if name not in self.commands:
                        self.commands[name] = self._build(kind, entry)
                        self.commands[name].name = name
        return super().get_command(ctx, cmd_name)


class CrmTyper(typer.Typer):
    """typer.Typer with crmcli's defaults: plain help, error handling on every command."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", CrmGroup)
        kwargs.setdefault("rich_markup_mode", None)
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("context_settings", _CONTEXT)
        # Locals in a traceback would hold customers' personal data.
        kwargs.setdefault("pretty_exceptions_enable", False)
        kwargs.setdefault("pretty_exceptions_show_locals", False)
        kwargs.setdefault("add_completion", False)
        super().__init__(**kwargs)
        #: subcommands whose functions live in other modules: name -> "module:function"
        self.elsewhere: dict[str, str] = {}

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        kwargs.setdefault("cls", CrmCommand)
        decorator: Callable[[F], F] = super().command(*args, **kwargs)
        return decorator

    def command_from(self, name: str, target: str) -> None:
        """Add the subcommand ``name``, whose function is ``target`` (``"module:function"``) in
        another module, imported only when the command is used or listed: `crm contact merge`
        lives in crmcli/cli/merge.py, and `crm contact show` never imports it."""
        self.elsewhere[name] = target


def holder_of(source: typer.Typer) -> typer.Typer:
    """An empty Typer that builds what it is given as ``source`` would: typer passes a Typer's
    markup mode and error settings down to the commands and groups it builds."""
    return typer.Typer(
        add_completion=False,
        rich_markup_mode=source.rich_markup_mode,
        pretty_exceptions_short=source.pretty_exceptions_short,
        suggest_commands=source.suggest_commands,
    )


def command_of(function: Callable[..., Any]) -> Any:
    """The click command of a plain function (a command of its own, not in a group), built as
    typer builds an app of one command. A function that takes a query sets
    ``context_settings`` on itself (crmcli.cli._query.QUERY_CONTEXT)."""
    holder = CrmTyper()
    holder.command(context_settings=getattr(function, "context_settings", None))(function)
    return typer.main.get_command(holder)


def state(ctx: typer.Context) -> CliState:
    found = ctx.find_object(CliState)
    return found if found is not None else CliState()


def database_path(ctx: typer.Context) -> Path:
    """The database file of this command (for the files that must never be written over it)."""
    return state(ctx).location.path


@contextmanager
def database(ctx: typer.Context, *, write: bool = False) -> Iterator[sqlite3.Connection]:
    """The open, migrated database for this command; closed afterwards."""
    location = state(ctx).location
    conn = connect(location, write=write)
    try:
        yield conn
    finally:
        try:
            if write and getattr(conn, "afterwards", None):
                _run_hooks(conn, location.path)
        finally:
            conn.close()


def _run_hooks(conn: sqlite3.Connection, path: Path) -> None:
    """The hooks of what the command committed (crmcli.hooks), each failure one line."""
    from crmcli import config, hooks

    try:
        timeout = hooks.timeout_setting(config.load())
    except CrmError as error:  # the change is saved: say why the hooks wait less, and go on
        message(f"Warning: {error.message}; hooks get {hooks.TIMEOUT_SECONDS:g} s")
        timeout = hooks.TIMEOUT_SECONDS
    hooks.run_pending(
        conn,
        now=now(),
        database=path,
        timeout=timeout,
        report=lambda run: message(f"Warning: {run.describe()}"),
    )


# --- shell completion of values (crm completion): the database is read only on a TAB -----------


def candidates(kind: str, ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """Names of ``kind`` (contacts, tags, stages...) from the database --db or $CRM_DB points
    to. Nothing, never an error, when there is no database: a TAB must not print a traceback."""
    import sqlite3

    from crmcli import completion
    from crmcli.db import connect, resolve_path
    from crmcli.errors import CrmError

    try:
        location = resolve_path(ctx.find_root().params.get("db_path"))
        if not location.path.is_file():
            return []
        conn = connect(location, write=False)
        try:
            found = getattr(completion, kind)(conn, incomplete)
        finally:
            conn.close()
    except (CrmError, sqlite3.Error, OSError):
        return []
    return [(c.value, c.help) for c in found]


def _completer(kind: str) -> Callable[[Any, list[str], str], list[tuple[str, str]]]:
    def complete(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
        return candidates(kind, ctx, incomplete)

    return complete


complete_contact = _completer("contacts")
complete_tag = _completer("tags")
complete_stage = _completer("stages")
complete_template = _completer("templates")
complete_segment = _completer("segments")
complete_campaign = _completer("campaigns")


#: ends the one value of a file-name completion: crm completion hands it to the shell
FILE_NAME_MARK = "\0:files"


def complete_file(incomplete: str) -> list[str]:
    """A file name: the shell's own completion does it (crm only says so)."""
    return [incomplete + FILE_NAME_MARK]


# --- shared options ---------------------------------------------------------------------------

FormatOpt = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format. Default: table on a terminal, tsv when piped.",
        case_sensitive=False,
        show_default=False,
    ),
]
ContactRef = Annotated[
    str,
    typer.Argument(
        help="Contact id, or a unique fragment of name or email.", autocompletion=complete_contact
    ),
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace the output file if it exists (never the database or another SQLite file).",
    ),
]
YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Do it without asking (needed when not on a terminal).")
]


# --- helpers ----------------------------------------------------------------------------------


def now() -> datetime:
    return clock.now()


def parse_when_text(text: str) -> When:
    """A date expression (with or without a time) through the one date parser, naive local."""
    from crmcli import config
    from crmcli.dates import parse_when

    return parse_when(text, clock.local_naive(clock.now()), day_first=config.load().day_first)


def parse_when_option(text: str) -> datetime:
    """A date option (``--since``, ``--due``...) through the one date parser, as naive local time."""
    return parse_when_text(text).at


def parse_date_option(text: str) -> date:
    from crmcli import config
    from crmcli.dates import parse_date

    return parse_date(text, clock.today(), day_first=config.load().day_first)


def default_currency() -> str:
    """``[deals] currency`` in the config file, else ``$CRM_CURRENCY``, else USD."""
    from crmcli import config, money
    from crmcli.errors import ValidationError

    configured = config.load().get("deals", "currency")
    if configured:
        try:
            return money.currency_code(str(configured))
        except ValidationError:
            raise ValidationError(
                f"setting deals.currency = {configured!r} is not an ISO 4217 code "
                "(in the config file or CRM_CURRENCY)"
            ) from None
    return money.DEFAULT_CURRENCY


def currency_option(text: str | None) -> str:
    """A ``--currency`` option as an ISO 4217 code; not given: :func:`default_currency`."""
    from crmcli import money

    return money.currency_code(text) if text else default_currency()


def print_created(ref: int | str, fmt: OutputFormat | str | None) -> None:
    """What a create command prints on stdout when piped: the new record's id (or name), so
    ``id=$(crm contact add "Ann Lee")`` works. Not with --format: that prints the record."""
    if fmt is None and not _pager.stdout_is_terminal():
        print(ref)


def report_created(ref: int | str, record: dict[str, Any], fmt: OutputFormat | None) -> None:
    """A create command's output: the new id or name when piped (:func:`print_created`), the
    new record itself with --format."""
    print_created(ref, fmt)
    if fmt is not None:
        emit_record(record, fmt)


def interactive() -> bool:
    return sys.stdin.isatty() and _pager.stdout_is_terminal()


def ask(question: str, *, default: bool = False) -> bool:
    """A yes/no question on the terminal (stderr). Ctrl-C is an interruption (exit 130, as
    everywhere), not click's "Aborted!"; Ctrl-D (end of input) is the default answer."""
    _pager.stop()  # the question needs the terminal
    try:
        return typer.confirm(question, default=default, err=True)
    except typer.Abort as abort:
        if isinstance(abort.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        print(file=sys.stderr)
        return default


def prompt(question: str) -> str:
    """A line of text asked on the terminal; Ctrl-C and Ctrl-D interrupt (exit 130)."""
    _pager.stop()  # the question needs the terminal
    try:
        return str(typer.prompt(question, err=True))
    except typer.Abort:
        raise KeyboardInterrupt from None


def confirm(question: str, *, yes: bool) -> None:
    """Ask on a terminal; without one, insist on ``--yes``. Declining exits 1 with nothing done."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{question.rstrip('?')}: not on a terminal, so add --yes to confirm")
    from crmcli.controls import visible

    # the question often names a record (a contact's name): data, shown escaped
    if not ask(visible(question)):
        raise CrmError("cancelled; nothing was changed")


def edit_text(initial: str, *, what: str) -> str:
    """Open $VISUAL/$EDITOR on ``initial`` in a private temporary file; return what was saved."""
    import shlex
    import subprocess
    import tempfile

    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    _pager.stop()  # the editor needs the terminal
    fd, name = tempfile.mkstemp(prefix=f"crm-{what}-", suffix=".txt")
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(initial)
        try:
            result = subprocess.run([*shlex.split(command), str(path)], check=False)
        except OSError as error:
            raise UsageError(
                f"cannot start editor {command!r} ({error.strerror}); set $EDITOR"
            ) from None
        if result.returncode != 0:
            raise UsageError(f"editor {command!r} exited with {result.returncode}; nothing saved")
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)


class Draft:
    """Text a person typed in the editor, kept by :func:`kept_on_failure`."""

    def __init__(self) -> None:
        self.text: str | None = None


def recovery_dir() -> Path:
    """``$XDG_STATE_HOME/crmcli/recovered`` (default ``~/.local/state/crmcli/recovered``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "crmcli" / "recovered"


@contextmanager
def kept_on_failure(what: str) -> Iterator[Draft]:
    """If the command fails or is interrupted after the editor, what was typed is not lost: it
    goes to a private file in :func:`recovery_dir`, and the person is told where."""
    draft = Draft()
    try:
        yield draft
    except BaseException:
        if draft.text and draft.text.strip():
            folder = recovery_dir()
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            stamp = clock.now().strftime("%Y%m%d-%H%M%S")
            path = folder / f"{what}-{stamp}-{os.getpid()}.txt"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(draft.text)
            print(f"What you typed is kept in {path}", file=sys.stderr)
        raise


def read_stdin_text(what: str) -> str:
    """All of stdin as UTF-8 text; anything else is a clear error, not a crash later on."""
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CrmError(
            f"the {what} on stdin is not UTF-8 text; convert it first "
            "(e.g. iconv -f latin1 -t utf-8)"
        ) from None


@contextmanager
def input_file(file: str) -> Iterator[tuple[IO[bytes], str]]:
    """A file ``crm import`` reads (``-``: stdin) in binary, with the name messages give it."""
    if file == "-":
        yield sys.stdin.buffer, "stdin"
        return
    path = Path(file)
    if path.is_dir():
        raise UsageError(f"{file} is a folder; give a file to import")
    with open(path, "rb") as binary:
        yield binary, path.name
