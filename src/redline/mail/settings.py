"""Delivery settings: how to reach the SMTP server, and the sender of every notice.

The environment wins over the config file; secrets (the SMTP password) come only from the
environment, and no message ever shows them.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from email_validator import EmailNotValidError, validate_email

from redline.errors import ConfigError, InputError
from redline.ledger.headers import header_text, mailbox

if TYPE_CHECKING:
    from redline.config import Settings

ENV_HOST = "REDLINE_SMTP_HOST"
ENV_PORT = "REDLINE_SMTP_PORT"
ENV_USER = "REDLINE_SMTP_USER"
ENV_PASSWORD = "REDLINE_SMTP_PASSWORD"
ENV_TLS = "REDLINE_SMTP_TLS"
ENV_FROM = "REDLINE_FROM"
ENV_CA_FILE = "REDLINE_SMTP_CA_FILE"

TLS_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the SMTP server. Secrets come only from the environment."""

    host: str
    port: int
    tls: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: Path | None = None
    retries: int = 3
    backoff: float = 1.0

    @property
    def address(self) -> str:
        """``host:port`` for messages."""
        return f"{self.host}:{self.port}"

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        """SMTP settings from the environment (``settings.env``) over the config file; None if
        no host is set."""
        env = settings.env.environ
        host = env.get(ENV_HOST) or settings.smtp_host
        if not host:
            return None
        tls = (env.get(ENV_TLS) or settings.smtp_tls or "starttls").strip().lower()
        if tls not in TLS_MODES:
            raise ConfigError(
                f"{ENV_TLS}={tls!r} is not a TLS mode", hint="use starttls, ssl or none"
            )
        port: int | None = settings.smtp_port
        if env.get(ENV_PORT):
            try:
                port = int(env[ENV_PORT])
            except ValueError:
                raise ConfigError(f"{ENV_PORT}={env[ENV_PORT]!r} is not a port number") from None
        port = port or DEFAULT_PORTS[tls]
        if not 0 < port < 65536:
            raise ConfigError(f"SMTP port {port} is out of range", hint="use 1-65535")
        if settings.smtp_timeout <= 0:
            raise ConfigError("smtp_timeout must be a positive number of seconds")
        ca_file = Path(env[ENV_CA_FILE]) if env.get(ENV_CA_FILE) else None
        if ca_file is not None and not ca_file.is_file():
            raise ConfigError(f"{ENV_CA_FILE}: {ca_file} is not a file")
        user = env.get(ENV_USER) or settings.smtp_user
        password = env.get(ENV_PASSWORD) or None
        _check_credential(ENV_USER, user)
        _check_credential(ENV_PASSWORD, password)
        return cls(
            host=host,
            port=port,
            tls=tls,
            user=user,
            password=password,
            timeout=float(settings.smtp_timeout),
            ca_file=ca_file,
        )

    def tls_context(self) -> ssl.SSLContext:
        """A verifying TLS context, trusting ``ca_file`` when one is given."""
        context = ssl.create_default_context()
        if self.ca_file is not None:
            try:
                context.load_verify_locations(cafile=str(self.ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"{ENV_CA_FILE}: cannot load {self.ca_file}: {exc}") from None
        return context


def _check_credential(variable: str, value: str | None) -> None:
    """Refuse, before anything is written, a user name or password AUTH cannot carry.

    Both are sent as UTF-8 (RFC 4616), so any text works except NUL (the separator of
    AUTH PLAIN) and bytes that are not UTF-8. The message never shows the value.
    """
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            f"{variable} is not valid UTF-8 text", hint=f"set {variable} again as UTF-8"
        ) from None
    if "\0" in value:
        raise ConfigError(f"{variable} contains a NUL character, which SMTP AUTH cannot send")


def sender_address(settings: Settings) -> Address:
    """The sender: ``REDLINE_FROM`` (of ``settings.env``) or config ``from_address``, ``addr``
    or ``Name <addr>``.

    The name goes through the header guard (strict: an encoded word or a line break is a
    ConfigError); the address must have an ASCII local part and is returned with its domain
    in IDNA, so every notice can be sent without SMTPUTF8.
    """
    env = settings.env.environ
    source = ENV_FROM if env.get(ENV_FROM) else "from_address"
    raw = env.get(ENV_FROM) or settings.from_address
    if not raw:
        raise ConfigError(
            "no sender address for notices",
            hint=f"set {ENV_FROM} or from_address in the config",
        )
    hint = f"set {source} to addr or Name <addr>"
    try:
        name, addr = parseaddr(header_text(raw, strict=True))
        checked = validate_email(addr, check_deliverability=False)
        if checked.ascii_email is None:
            raise ConfigError(f"{source}: the sender address needs an ASCII local part", hint=hint)
        mailbox(checked.ascii_email, name, field="From")
    except InputError as exc:
        raise ConfigError(f"{source}: the sender {exc.message}", hint=exc.hint or hint) from None
    except EmailNotValidError as exc:
        raise ConfigError(f"sender address {raw!r} is not valid: {exc}", hint=hint) from None
    # Space around a name is not part of it (readers drop it), and a name of only space is none.
    return Address(display_name=name.strip(), addr_spec=checked.ascii_email)
