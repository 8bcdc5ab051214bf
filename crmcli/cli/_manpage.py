"""The manual page crm(1), from the same source as docs/reference.md: every command's --help.

crm completion man > crm.1      (crm completion install puts it where man finds it)
"""

from __future__ import annotations

from crmcli import __version__
from crmcli.cli._reference import command_paths, help_text


def _roff(text: str) -> str:
    """Plain text as roff lines: backslashes escaped, no line read as a request."""
    lines = []
    for line in text.replace("\\", "\\e").splitlines():
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def render_man() -> str:
    """The whole page: name, synopsis, the root help, then each command's help as it prints."""
    paths = list(command_paths())
    root = help_text([])
    parts = [
        f'.TH CRM 1 "" "crmcli {__version__}" "User Commands"',
        ".SH NAME",
        "crm \\- a contact manager and personal CRM for the terminal",
        ".SH SYNOPSIS",
        ".B crm",
        "[\\fB\\-\\-db\\fR \\fIPATH\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
        ".SH DESCRIPTION",
        ".nf",
        _roff(root),
        ".fi",
        ".SH COMMANDS",
    ]
    for path in paths:
        if not path:
            continue
        parts += [f'.SS "crm {" ".join(path)}"', ".nf", _roff(help_text(path)), ".fi"]
    parts += [
        ".SH FILES",
        "The database: \\fB\\-\\-db\\fR, else \\fB$CRM_DB\\fR, else "
        "\\fI$XDG_DATA_HOME/crmcli/crm.db\\fR. Settings: \\fI$XDG_CONFIG_HOME/crmcli/config.toml\\fR"
        " (\\fBcrm config path\\fR).",
        ".SH EXIT STATUS",
        "0 success, 1 an error you can fix, 2 a usage error, 130 interrupted.",
        ".SH SEE ALSO",
        "The user guide and the CLI reference in the docs/ folder of crmcli.",
    ]
    return "\n".join(parts) + "\n"
