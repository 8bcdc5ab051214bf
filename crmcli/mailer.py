"""Building emails (greetings, campaigns) and sending them over SMTP.

Settings come from ``[smtp]`` in the config file or ``CRM_SMTP_*`` variables (host, port,
security = starttls|ssl|none, user, from, password_command, timeout, deadline). The password is
never stored: it comes from ``CRM_SMTP_PASSWORD`` or from running ``password_command`` (no
shell), and is never printed, put in an error message, or sent without TLS to another machine.

Every header value is one line (:func:`crmcli.controls.single_line`): a CR/LF in a contact's
company or a date's label can never add a header (``Bcc:``) to a greeting.

``email`` and ``smtplib`` are imported inside the functions that use them (start-up time).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crmcli.controls import single_line
from crmcli.errors import CrmError

if TYPE_CHECKING:
    from email.message import EmailMessage

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
#: seconds to wait for the server to connect or answer one command (smtp.timeout)
TIMEOUT_SECONDS = 20.0
#: seconds a whole `crm greet --due` run may spend sending (smtp.deadline); what is left when
#: it passes is marked failed and retried on the next run
DEADLINE_SECONDS = 300.0
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class SendError(CrmError):
    """One message was not accepted; the batch goes on and the greeting is retried next run."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    user: str | None
    sender: str
    password_command: list[str] | None
    timeout: float = TIMEOUT_SECONDS
    deadline: float = DEADLINE_SECONDS

    @property
    def sender_name(self) -> str:
        from email.utils import parseaddr

        return parseaddr(self.sender)[0]

    @property
    def sender_address(self) -> str:
        from email.utils import parseaddr

        return parseaddr(self.sender)[1]


def sender_setting(cfg: Any) -> str | None:
    """The ``from`` setting, checked (``Sam Seller <sam@example.com>`` or a bare address)."""
    from email.utils import parseaddr

    value = cfg.get("smtp", "from")
    if value is None or not str(value).strip():
        return None
    address = parseaddr(str(value))[1]
    if "@" not in address:
        raise CrmError(
            f"setting smtp.from = {value!r} is not an address (try 'Sam Seller <sam@example.com>')"
        )
    return str(value).strip()


def load_settings(cfg: Any) -> SmtpSettings:
    """SMTP settings from a :class:`crmcli.config.Config`; a clear error when incomplete."""
    where = f"[smtp] in {cfg.path} or CRM_SMTP_* variables"
    host = str(cfg.get("smtp", "host", "") or "").strip()
    if not host:
        raise CrmError(
            f"no SMTP server configured: set host and from in {where} "
            "(or use --outbox DIR or --dry-run)"
        )
    sender = sender_setting(cfg)
    if sender is None:
        raise CrmError(f"no From address configured: set from in {where}")
    security = str(cfg.get("smtp", "security", "starttls")).strip().lower()
    if security not in DEFAULT_PORTS:
        raise CrmError(f"setting smtp.security = {security!r} must be starttls, ssl or none")
    raw_port = cfg.get("smtp", "port", DEFAULT_PORTS[security])
    try:
        port = int(raw_port)
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise CrmError(f"setting smtp.port = {raw_port!r} is not a port number")
    command = cfg.get("smtp", "password_command")
    argv: list[str] | None = None
    if command:
        argv = [str(a) for a in command] if isinstance(command, list) else shlex.split(command)
    user = str(cfg.get("smtp", "user", "") or "").strip() or None
    if security == "none" and user and not is_loopback(host):
        raise cfg.invalid(
            "smtp",
            "security",
            security,
            f"would send the password of {user!r} in clear text to {host}; set "
            "security = 'starttls' (port 587) or 'ssl' (port 465), or CRM_SMTP_SECURITY",
        )
    timeout = _seconds(cfg, "timeout", TIMEOUT_SECONDS)
    deadline = _seconds(cfg, "deadline", DEADLINE_SECONDS)
    return SmtpSettings(host, port, security, user, sender, argv, timeout, deadline)


def _seconds(cfg: Any, key: str, default: float) -> float:
    value = cfg.get("smtp", key, default)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= 86_400:
        raise cfg.invalid("smtp", key, value, "must be a number of seconds (e.g. 20)")
    return seconds


def is_loopback(host: str) -> bool:
    """``localhost``, 127.x.x.x or ::1: a server on this machine (no name is looked up)."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def password(settings: SmtpSettings, env: Mapping[str, str] | None = None) -> str | None:
    """``CRM_SMTP_PASSWORD``, else the output of ``password_command``; None when neither is set."""
    env = os.environ if env is None else env
    if env.get("CRM_SMTP_PASSWORD"):
        return env["CRM_SMTP_PASSWORD"]
    if not settings.password_command:
        return None
    name = settings.password_command[0]
    try:
        # A list of arguments and no shell: nothing in the setting is interpreted by a shell.
        result = subprocess.run(
            settings.password_command,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CrmError(f"smtp.password_command {name!r} could not run: {exc}") from None
    if result.returncode != 0:
        # Its output might be the secret: never repeat it.
        raise CrmError(f"smtp.password_command {name!r} failed (exit {result.returncode})")
    return result.stdout.rstrip("\r\n")


def message_id(contact_uid: str, occasion: str, year: int, domain: str) -> str:
    """The same Message-ID for every attempt at one greeting, so a duplicate is recognisable.

    Derived from the contact's uid, the occasion and the year; short enough for one header line.
    """
    import hashlib

    digest = hashlib.sha256(f"{contact_uid}\0{occasion.lower()}".encode()).hexdigest()[:20]
    return f"<greeting.{year}.{digest}@{domain or 'crmcli.invalid'}>"


def campaign_message_id(contact_uid: str, campaign_id: int, domain: str) -> str:
    """The same Message-ID for every attempt at one campaign message (see :func:`message_id`)."""
    import hashlib

    digest = hashlib.sha256(f"{contact_uid}\0campaign {campaign_id}".encode()).hexdigest()[:20]
    return f"<campaign.{campaign_id}.{digest}@{domain or 'crmcli.invalid'}>"


def unsubscribe_header(address: str, token: str) -> str:
    """``List-Unsubscribe`` (RFC 2369): a mailto: to the sender whose subject carries the
    recipient's token, which ``crm optout --from-mail`` reads back."""
    from urllib.parse import quote

    return f"<mailto:{quote(address, safe='@')}?subject={quote(f'unsubscribe {token}')}>"


def build_message(
    *,
    sender: str,
    to_name: str,
    to_address: str,
    subject: str,
    body: str,
    msg_id: str,
    date: datetime,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A standard message: RFC 2047 headers for non-ASCII names and subjects, UTF-8 body; with
    ``html``, multipart/alternative (the text first, the HTML second)."""
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import format_datetime, parseaddr

    msg = EmailMessage(policy=SMTP)
    sender_name, sender_address = parseaddr(sender)
    try:
        msg["From"] = Address(
            display_name=single_line(sender_name), addr_spec=single_line(sender_address)
        )
        msg["To"] = Address(display_name=single_line(to_name), addr_spec=single_line(to_address))
    except (ValueError, IndexError, TypeError) as exc:
        raise SendError(f"address {to_address!r} cannot be used in a message: {exc}") from None
    msg["Subject"] = single_line(subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = msg_id
    msg["X-Mailer"] = "crmcli"
    for name, value in (headers or {}).items():
        msg[name] = single_line(value)
    msg.set_content(
        body if body.endswith("\n") else body + "\n", charset="utf-8", cte="quoted-printable"
    )
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


class SmtpMailer:
    """One SMTP connection for a batch, opened on the first message.

    Each connect and each command waits at most ``settings.timeout`` seconds, and never past
    ``deadline`` (a ``time.monotonic()`` value). A server that cannot be reached is not tried
    again for every other greeting of the batch: they fail at once with the same reason.
    """

    def __init__(
        self, settings: SmtpSettings, secret: str | None, *, deadline: float | None = None
    ) -> None:
        self.settings = settings
        self._secret = secret
        self._client: Any = None
        self._unreachable: SendError | None = None
        self.deadline = deadline

    def _timeout(self) -> float:
        import time

        if self.deadline is None:
            return self.settings.timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SendError(
                f"the run's deadline (smtp.deadline, {self.settings.deadline:g} s) has passed"
            )
        return min(self.settings.timeout, left)

    def _connect(self) -> Any:
        import smtplib
        import ssl

        s = self.settings
        timeout = self._timeout()
        try:
            if s.security == "ssl":
                client: Any = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=timeout)
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
            if s.user:
                if self._secret is None:
                    raise SendError(
                        "smtp.user is set but no password: set CRM_SMTP_PASSWORD or "
                        "smtp.password_command"
                    )
                client.login(s.user, self._secret)
        except smtplib.SMTPAuthenticationError:
            raise SendError(f"SMTP server {s.host} refused the login of {s.user!r}") from None
        except (OSError, smtplib.SMTPException) as exc:
            reason = "no answer in time" if isinstance(exc, TimeoutError) else str(exc)
            raise SendError(f"cannot talk to SMTP server {s.host}:{s.port}: {reason}") from None
        return client

    def send(self, msg: EmailMessage) -> None:
        """Hand one message to the server; returns once the server has accepted it."""
        import smtplib

        if self._unreachable is not None:
            raise SendError(f"{self._unreachable.message} (not tried again in this run)")
        if self._client is None:
            try:
                self._client = self._connect()
            except SendError as error:
                self._unreachable = error
                raise
        else:
            timeout = self._timeout()
            if self._client.sock is not None:
                self._client.sock.settimeout(timeout)
        try:
            refused = self._client.send_message(msg)
        except smtplib.SMTPRecipientsRefused:
            raise SendError(f"the server refused the recipient {msg['To'].addresses[0]}") from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()  # a broken connection: the next message opens a new one
            raise SendError(f"SMTP server {self.settings.host}: {exc}") from None
        if refused:
            raise SendError(f"the server refused {', '.join(refused)}")

    def close(self) -> None:
        if self._client is not None:
            # The connection may already be gone; there is nothing to save then.
            with contextlib.suppress(Exception):
                self._client.quit()
            self._client = None
