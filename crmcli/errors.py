"""The one error type of crmcli, and its children.

Every failure a user can cause is raised as a ``CrmError``; the CLI turns it into a single
``Error: ...`` line on stderr and exits with ``exit_code``. This module imports nothing of ours.
"""

from __future__ import annotations


class CrmError(Exception):
    """A failure the user can fix: printed as one line, never as a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(CrmError):
    """The command line itself is wrong (a bad option value, a bad date expression)."""

    exit_code = 2


class DateParseError(UsageError):
    """A date expression that the parser cannot understand."""

    def __init__(self, text: str) -> None:
        super().__init__(
            f"cannot understand date {text!r} (try 2026-12-01, tomorrow, +3d, next fri)"
        )
        self.text = text
        #: what exactly is wrong, when the parser knows ("February 2026 has no day 30")
        self.reason: str | None = None


class NotFound(CrmError):
    """A reference (contact, note, reminder, deal...) that matches nothing."""


class AmbiguousRef(CrmError):
    """A reference fragment that matches several records; ``candidates`` are shown to the user."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


class ValidationError(CrmError):
    """Input data that breaks a rule (an email without @, an unknown field...)."""


class DatabaseError(CrmError):
    """The database file cannot be used (newer version, corrupt, locked, disk full)."""
