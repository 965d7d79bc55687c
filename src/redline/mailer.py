"""Notice emails: build one message per recipient and deliver it over SMTP or into an outbox.

SMTP goes through one yagmail connection that logs in once and is reused for every message;
TLS certificates are verified, a timeout is always set, and the password is passed explicitly
so yagmail never reaches for a keyring or a prompt. Faults are sorted per message: a 4xx
reply or a lost connection is retried (reconnecting, with exponential backoff) and then
reported as temporary, a 5xx reply is permanent, and an authentication or TLS failure is a
:class:`~redline.errors.DeliveryError` that stops the run.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yagmail
from email_validator import EmailNotValidError, validate_email

from redline.errors import ConfigError, DeliveryError, InputError
from redline.files import atomic_write
from redline.render import UNSUBSCRIBE_PLACEHOLDER, RenderedNotice

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

# Headers whose value repeats across the recipients' copies of a notice (Date within a second).
_REPEATED_HEADERS = frozenset(
    {
        "date",
        "from",
        "subject",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "auto-submitted",
        "list-unsubscribe-post",
    }
)
_CACHE_LIMIT = 512


class _NoticeHeaders(HeaderRegistry):
    """The standard header registry, minus its two costs that repeat for every recipient.

    The stdlib builds a new header class on every lookup and parses every value again; here
    the classes are made once, and the parsed (immutable) headers that are the same in every
    copy of a notice are reused. This makes building a message about three times faster.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}
        self._parsed: dict[tuple[str, str], Any] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, str) or name.lower() not in _REPEATED_HEADERS:
            return self[name](name, value)
        key = (name, value)
        header = self._parsed.get(key)
        if header is None:
            if len(self._parsed) >= _CACHE_LIMIT:
                self._parsed.clear()
            header = self._parsed[key] = self[name](name, value)
        return header


_FOLDED: dict[tuple[Any, ...], bytes] = {}


class _NoticePolicy(EmailPolicy):
    """EmailPolicy that also reuses the folded form of the repeated headers."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        """Fold a header to bytes (cached for headers repeated in every copy)."""
        if name.lower() not in _REPEATED_HEADERS or not hasattr(value, "name"):
            return super().fold_binary(name, value)
        key = (name, str(value), self.utf8, self.linesep, self.max_line_length, self.cte_type)
        folded = _FOLDED.get(key)
        if folded is None:
            if len(_FOLDED) >= _CACHE_LIMIT:
                _FOLDED.clear()
            folded = _FOLDED[key] = super().fold_binary(name, value)
        return folded


#: Serialisation policy of every notice: the SMTP policy (CRLF), with long header values
#: (List-Unsubscribe) kept on one line rather than folded into encoded words.
MESSAGE_POLICY = _NoticePolicy(linesep="\r\n", max_line_length=998, header_factory=_NoticeHeaders())
# Bodies with lines over 998 bytes are encoded in lines of at most 76 characters.
_BODY_POLICY = MESSAGE_POLICY.clone(max_line_length=76)

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")
_ADDRESS = re.compile(r"\S+@\S+")


@dataclass(frozen=True)
class Delivery:
    """The server's (or outbox's) acceptance of one message."""

    code: int
    message: str


class SendFailure(Exception):
    """One message was not delivered; the run goes on with the next recipient."""

    def __init__(self, *, permanent: bool, code: int | None, message: str) -> None:
        super().__init__(f"{code or '---'} {message}")
        self.permanent = permanent
        self.code = code
        self.message = message


class Transport(Protocol):
    """Where notices go: an SMTP server or an outbox directory."""

    description: str

    def open(self) -> None:
        """Connect (and log in) before anything is sent; raise DeliveryError if impossible."""

    def send(self, message: EmailMessage) -> Delivery:
        """Deliver one message; raise SendFailure for this recipient, DeliveryError to stop."""

    def close(self) -> None:
        """Release the connection."""


def clean_header(value: str) -> str:
    """``value`` on one line: control characters (CR, LF, NUL, ...) become single spaces."""
    return " ".join(_CONTROL.sub(" ", value).split())


def redact(text: str) -> str:
    """``text`` with anything that looks like an email address replaced by ``<address>``."""
    return _ADDRESS.sub("<address>", text)


# ---------------------------------------------------------------------------------------------
# Configuration


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
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] | None = None
    ) -> SmtpConfig | None:
        """SMTP settings from the environment over the config file; None if no host is set."""
        env = os.environ if environ is None else environ
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
        return cls(
            host=host,
            port=port,
            tls=tls,
            user=env.get(ENV_USER) or settings.smtp_user,
            password=env.get(ENV_PASSWORD) or None,
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


def sender_address(settings: Settings, environ: Mapping[str, str] | None = None) -> Address:
    """The sender: ``REDLINE_FROM`` or config ``from_address``, ``addr`` or ``Name <addr>``."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_FROM) or settings.from_address
    if not raw:
        raise ConfigError(
            "no sender address for notices",
            hint=f"set {ENV_FROM} or from_address in the config",
        )
    name, addr = parseaddr(clean_header(raw))
    try:
        checked = validate_email(addr, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ConfigError(f"sender address {raw!r} is not valid: {exc}") from None
    return Address(display_name=name, addr_spec=checked.normalized)


# ---------------------------------------------------------------------------------------------
# Messages


def message_id(policy: str, version: int, kind: str, email: str, domain: str) -> str:
    """The deterministic Message-ID of one notice to one subscriber."""
    digest = hashlib.sha256(f"{policy}\0{version}\0{kind}\0{email}".encode()).hexdigest()[:32]
    slug = _UNSAFE_ID.sub("-", policy).strip("-")[:40] or "policy"
    return f"<redline.{slug}.v{version}.{kind}.{digest}@{domain}>"


def _body_part(text: str, subtype: str) -> MIMEPart:
    """A text part: 7bit or 8bit when every line fits in 998 bytes, else quoted-printable or
    base64 with the short lines RFC 2045 asks for."""
    part = MIMEPart(policy=MESSAGE_POLICY)
    part.set_content(text, subtype=subtype, charset="utf-8")
    if part["Content-Transfer-Encoding"] in ("7bit", "8bit"):
        return part
    part = MIMEPart(policy=_BODY_POLICY)
    part.set_content(text, subtype=subtype, charset="utf-8")
    return part


@dataclass(frozen=True)
class _Body:
    """One body part of a notice, prepared once for all recipients.

    When the part needs no transfer encoding (7bit or 8bit), its headers and payload are made
    once; a recipient's copy only replaces the placeholder in the payload. ``room`` is the
    longest link that keeps every line within 998 bytes.
    """

    subtype: str
    source: str
    headers: tuple[tuple[str, Any], ...] | None
    payload: str
    room: int

    @classmethod
    def prepare(cls, source: str, subtype: str) -> _Body:
        part = _body_part(source, subtype)
        if part["Content-Transfer-Encoding"] not in ("7bit", "8bit"):
            return cls(subtype, source, None, "", 0)
        # The payload as stored: the encoded bytes, non-ASCII ones surrogate-escaped.
        payload = part.get_payload(decode=True).decode("ascii", "surrogateescape")
        limit = MESSAGE_POLICY.max_line_length
        width = len(UNSUBSCRIBE_PLACEHOLDER)
        room = limit
        for line in payload.splitlines():
            if count := line.count(UNSUBSCRIBE_PLACEHOLDER):
                room = min(room, (limit - len(line) + count * width) // count)
        return cls(subtype, source, tuple(part.items()), payload, room)

    def part(self, link: str) -> MIMEPart:
        """This body with ``link`` in place of the placeholder."""
        if self.headers is None or len(link) > self.room or not link.isascii():
            return _body_part(self.source.replace(UNSUBSCRIBE_PLACEHOLDER, link), self.subtype)
        part = MIMEPart(policy=MESSAGE_POLICY)
        for name, header in self.headers:
            part[name] = header
        part.set_payload(self.payload.replace(UNSUBSCRIBE_PLACEHOLDER, link))
        return part


class MessageFactory:
    """Builds each recipient's message from one notice rendered for all of them.

    The notice's :data:`~redline.render.UNSUBSCRIBE_PLACEHOLDER` becomes the recipient's link
    (HTML-escaped in the HTML part). Without a link (no ``unsubscribe_url`` configured) the
    notice offers ``mailto:<sender>?subject=unsubscribe`` instead, and no one-click header.
    Everything that is the same for every recipient is prepared once.
    """

    def __init__(
        self,
        notice: RenderedNotice,
        *,
        sender: Address,
        policy: str,
        version: int,
        kind: str,
        unsubscribe: Callable[[str], str | None],
    ) -> None:
        self.sender = sender
        self._from = str(sender)  # a string, so the parsed header is reused
        self.policy = policy
        self.version = version
        self.kind = kind
        self.subject = clean_header(notice.subject)
        self._unsubscribe = unsubscribe
        self._fallback = f"mailto:{sender.addr_spec}?subject=unsubscribe"
        self._text = _Body.prepare(notice.text, "plain")
        self._html = _Body.prepare(notice.html, "html")
        digest = hashlib.sha256(f"{notice.subject}\0{notice.text}\0{notice.html}".encode())
        # One MIME boundary per notice, never inside its bodies, keeps Content-Type repeated.
        boundary = f"=_redline_{digest.hexdigest()[:32]}"
        self._boundary = None if boundary in notice.text + notice.html else boundary

    def message_id(self, email: str) -> str:
        """Message-ID of this notice to ``email``."""
        return message_id(self.policy, self.version, self.kind, email, self.sender.domain)

    def build(
        self, email: str, name: str | None = None, *, date: datetime | None = None
    ) -> EmailMessage:
        """The complete message to one recipient (raises SendFailure for an unusable address)."""
        msg = EmailMessage(policy=MESSAGE_POLICY)
        msg["From"] = self._from
        msg["To"] = _mailbox(email, name)
        to = msg["To"]
        if to.defects or len(to.addresses) != 1 or to.addresses[0].addr_spec != email:
            problem = to.defects[0] if to.defects else "not a single address"
            raise SendFailure(permanent=True, code=None, message=f"invalid address: {problem}")
        link = self._unsubscribe(email)
        url = clean_header(link) if link else self._fallback
        msg["Subject"] = self.subject
        msg["Date"] = format_datetime(date or datetime.now(UTC))
        msg["Message-ID"] = self.message_id(email)
        msg["List-Unsubscribe"] = f"<{url}>"
        if url.startswith("https://"):
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"
        msg["MIME-Version"] = "1.0"
        boundary = self._boundary if self._boundary and self._boundary not in url else None
        # Without a boundary here, the generator picks one that is not in the bodies.
        msg["Content-Type"] = (
            f'multipart/alternative; boundary="{boundary}"' if boundary else "multipart/alternative"
        )
        msg.attach(self._text.part(url))
        msg.attach(self._html.part(html.escape(url, quote=True)))
        return msg


def _mailbox(email: str, name: str | None) -> str:
    """``"Name" <email>`` (the name on one line, quoted) or the bare address."""
    display = clean_header(name or "")
    if not display:
        return email
    quoted = display.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{email}>'


# ---------------------------------------------------------------------------------------------
# Transports


class _ReplyRecorder:
    """Keeps the server's reply to DATA, which smtplib's sendmail otherwise discards."""

    last_reply: tuple[int, bytes] = (0, b"")

    def data(self, msg: Any) -> tuple[int, bytes]:
        """Send the message body and remember the reply."""
        reply = super().data(msg)  # type: ignore[misc]
        self.last_reply = reply
        return reply


class _SMTP(_ReplyRecorder, smtplib.SMTP):
    pass


class _SMTPSSL(_ReplyRecorder, smtplib.SMTP_SSL):
    pass


class _Yagmail(yagmail.SMTP):
    """yagmail's client on top of the reply-recording connection classes."""

    @property
    def connection(self) -> type[smtplib.SMTP]:
        """The smtplib class to connect with."""
        return _SMTPSSL if self.ssl else _SMTP


def _yagmail_client(config: SmtpConfig, context: ssl.SSLContext) -> _Yagmail:
    """A yagmail client that connects with a verifying context and never asks for a password."""
    kwargs: dict[str, Any] = {"timeout": config.timeout}
    if config.tls == "ssl":
        kwargs["context"] = context
    client = _Yagmail(
        # A one-entry dict keeps yagmail from appending "@gmail.com" to a bare user name.
        user={config.user or "": config.user or ""},
        password=config.password,
        host=config.host,
        port=config.port,
        smtp_ssl=config.tls == "ssl",
        smtp_starttls={"context": context} if config.tls == "starttls" else False,
        smtp_skip_login=config.user is None,
        soft_email_validation=False,
        **kwargs,
    )
    client.set_logging(None)
    return client


class _Unreachable(Exception):
    """The server could not be reached or dropped the connection while logging in."""


class SmtpTransport:
    """One logged-in SMTP connection, reused for every message and re-opened after a fault."""

    def __init__(self, config: SmtpConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        if config.user and not config.password:
            raise DeliveryError(
                f"SMTP user '{config.user}' is set but {ENV_PASSWORD} is not",
                hint=f"export {ENV_PASSWORD}, or unset {ENV_USER} for a server without AUTH",
            )
        self.config = config
        self.description = f"smtp://{config.address} ({config.tls})"
        self._context = config.tls_context()
        self._sleep = sleep
        self._client: _Yagmail | None = None

    def open(self) -> None:
        """Connect and log in; any failure here is a DeliveryError (nothing was sent)."""
        try:
            self._connect()
        except _Unreachable as exc:
            raise DeliveryError(
                f"cannot reach the SMTP server {self.config.address}: {exc}",
                hint=f"check {ENV_HOST}, {ENV_PORT} and {ENV_TLS}, and that the server is up",
            ) from None

    def _connect(self) -> None:
        self._drop()
        config = self.config
        client = _yagmail_client(config, self._context)
        try:
            client.login()
        except smtplib.SMTPAuthenticationError as exc:
            self._close_quietly(client)
            raise DeliveryError(
                f"SMTP authentication as '{config.user}' failed at {config.address}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}",
                hint=f"check {ENV_USER} and {ENV_PASSWORD}",
            ) from None
        except ssl.SSLCertVerificationError as exc:
            self._close_quietly(client)
            raise DeliveryError(
                f"the TLS certificate of {config.address} is not trusted: {exc.verify_message}",
                hint=f"use a certificate from a trusted CA, or point {ENV_CA_FILE} at the CA "
                "that signed it",
            ) from None
        except ssl.SSLError as exc:
            self._close_quietly(client)
            raise DeliveryError(
                f"TLS with {config.address} failed: {exc.reason or exc}",
                hint=f"check {ENV_TLS} (starttls on 587, ssl on 465)",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            self._close_quietly(client)
            what = "STARTTLS" if "STARTTLS" in str(exc) else "AUTH"
            raise DeliveryError(
                f"the SMTP server {config.address} does not offer {what}",
                hint=f"check {ENV_TLS}" if what == "STARTTLS" else f"check {ENV_USER}",
            ) from None
        except smtplib.SMTPResponseException as exc:
            self._close_quietly(client)
            if 400 <= exc.smtp_code < 500:
                raise _Unreachable(f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
            raise DeliveryError(
                f"the SMTP server {config.address} refused the session: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._close_quietly(client)
            raise _Unreachable(_describe_os_error(exc)) from None
        self._client = client

    def send(self, message: EmailMessage) -> Delivery:
        """Send ``message``, reconnecting and retrying temporary faults with backoff."""
        code: int | None = None
        reply = ""
        eight_bit = any(part["Content-Transfer-Encoding"] == "8bit" for part in message.walk())
        for attempt in range(self.config.retries + 1):
            if attempt:
                self._sleep(self.config.backoff * 2 ** (attempt - 1))
            try:
                if self._client is None:
                    self._connect()
                smtp = self._client.smtp
                smtp.ehlo_or_helo_if_needed()
                options = ("BODY=8BITMIME",) if eight_bit and smtp.has_extn("8bitmime") else ()
                smtp.send_message(message, mail_options=options)
                got_code, got_text = smtp.last_reply
                return Delivery(got_code, _text(got_text))
            except _Unreachable as exc:
                code, reply = None, f"connection failed: {exc}"
            except smtplib.SMTPRecipientsRefused as exc:
                code, raw = next(iter(exc.recipients.values()))
                reply = _text(raw)
            except smtplib.SMTPResponseException as exc:
                code, reply = exc.smtp_code, _text(exc.smtp_error)
            except smtplib.SMTPNotSupportedError as exc:
                # e.g. an internationalised address and a server without SMTPUTF8
                raise SendFailure(permanent=True, code=None, message=str(exc)) from None
            except (OSError, smtplib.SMTPException) as exc:
                code, reply = None, f"connection lost: {_describe_os_error(exc)}"
            if code is not None and 500 <= code < 600:
                raise SendFailure(permanent=True, code=code, message=reply)
            self._drop()
        raise SendFailure(permanent=False, code=code, message=reply)

    def close(self) -> None:
        """Say QUIT and close the connection."""
        self._drop()

    def _drop(self) -> None:
        if self._client is not None:
            self._close_quietly(self._client)
            self._client = None

    @staticmethod
    def _close_quietly(client: _Yagmail) -> None:
        client.is_closed = True
        smtp = client.smtp
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


class OutboxTransport:
    """Writes each message atomically as ``<Message-ID local part>.eml`` into a directory.

    The file name is deterministic, so a message re-sent after a crash replaces its own file.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.description = f"outbox {directory}"

    def open(self) -> None:
        """Create the directory and check that it is writable."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"cannot create outbox {self.directory}: {exc.strerror}") from None
        if not os.access(self.directory, os.W_OK):
            raise DeliveryError(f"outbox {self.directory} is not writable")

    def send(self, message: EmailMessage) -> Delivery:
        """Write ``message`` to its file."""
        mid = str(message["Message-ID"]).strip("<>")
        name = _UNSAFE_ID.sub("_", mid.split("@", 1)[0].replace(".", "-")) + ".eml"
        try:
            atomic_write(self.directory / name, message.as_bytes(policy=MESSAGE_POLICY))
        except InputError as exc:
            raise DeliveryError(f"outbox: {exc.message}", hint=exc.hint) from None
        return Delivery(250, f"written to {name}")

    def close(self) -> None:
        """Nothing to release."""


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return clean_header(text)


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
