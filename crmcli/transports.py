"""Where messages go: an SMTP server (:class:`SmtpTransport`) or an outbox folder of ``.eml``
files (:class:`OutboxTransport`). Greetings and campaigns use both the same way
(:mod:`crmcli.sending`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from crmcli.errors import UsageError
from crmcli.mailer import SendError


class Transport(Protocol):
    """Where messages go: SMTP (crmcli.mailer.SmtpMailer) or an outbox folder."""

    method: str

    def deliver(self, msg: Any, stem: str) -> None:
        """Return only once the message is safely handed over; raise SendError otherwise."""

    def close(self) -> None: ...


class SmtpTransport:
    method = "smtp"

    def __init__(self, mailer: Any) -> None:
        self.mailer = mailer

    def deliver(self, msg: Any, stem: str) -> None:
        self.mailer.send(msg)

    def close(self) -> None:
        self.mailer.close()


class OutboxTransport:
    """Standard ``.eml`` files, one per message; the name is fixed by the message (its send-log
    id), so writing one again (after an interrupted run) replaces that message's file instead
    of adding a second. Each file is first written to a new temporary name, created exclusively
    (never through a link planted in the folder), then renamed into place."""

    method = "outbox"

    def __init__(self, folder: Path) -> None:
        # A typo in the path must not quietly create a folder nobody reads.
        if not folder.is_dir():
            raise UsageError(f"--outbox {folder}: no such folder; create it first (mkdir -p)")
        self.folder = folder

    def deliver(self, msg: Any, stem: str) -> None:
        import tempfile

        target = self.folder / f"{stem}.eml"
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise SendError(f"{target} exists and is not a message file; remove it and retry")
        temp: Path | None = None
        try:
            # mkstemp: a new random name, O_EXCL and O_NOFOLLOW, mode 0600 (messages carry
            # names, addresses and dates: readable by their owner only)
            fd, name = tempfile.mkstemp(dir=self.folder, prefix=f".{stem}.", suffix=".tmp")
            temp = Path(name)
            with os.fdopen(fd, "wb") as out:
                out.write(msg.as_bytes())
            os.replace(temp, target)
        except OSError as exc:
            raise SendError(f"cannot write {target}: {exc.strerror}") from None
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)

    def close(self) -> None:
        pass
