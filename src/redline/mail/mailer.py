"""Notice emails: build one message per recipient and deliver it over SMTP or into an outbox.

SMTP goes through one yagmail connection that logs in once and is reused for every message;
TLS certificates are verified, a timeout is always set, and the password is passed explicitly
so yagmail never reaches for a keyring or a prompt. AUTH responses are UTF-8 (RFC 4616).

Every header value made from policy text, config or subscriber data goes through
:mod:`redline.ledger.headers`. Addresses are written with an IDNA domain; a UTF-8 local part is
sent with SMTPUTF8 when the server offers it.

Each SMTP try is recorded as an :class:`Attempt`, and the outcome of a message is one of:

* ``sent``;
* ``failed-temporary`` / ``failed-permanent``: a 4xx (after the retries) or 5xx reply about
  the recipient: to RCPT, or to DATA when it is about the mailbox (the message has one
  recipient);
* ``deferred``: a reply that is not about the recipient (to the session, MAIL FROM, AUTH
  (530, 535), or to DATA about the message, such as 552 over a size limit) or a connection
  that keeps failing: the recipient is not marked, and the run pauses;
* ``unknown``: the message was sent but no reply came (a timeout after DATA); it may have
  been delivered, so it is never retried automatically.

An authentication or TLS failure when opening is a :class:`~redline.errors.DeliveryError`
that stops the run before anything is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import MessageError
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
from redline.ledger.headers import header_text, mailbox
from redline.publish.notice import UNSUBSCRIBE_PLACEHOLDER, RenderedNotice

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

LOG = logging.getLogger("redline.mail.mailer")

# Outcomes of one SMTP try and of one message (the ledger states, plus "deferred").
SENT = "sent"
TEMPORARY = "failed-temporary"
PERMANENT = "failed-permanent"
UNKNOWN = "unknown"
DEFERRED = "deferred"

# Replies that are about the session wherever they come: closing, authentication needed/failed.
_SESSION_CODES = frozenset({421, 530, 535})
# Basic codes that, without an enhanced status code, are about the mailbox.
_MAILBOX_CODES = frozenset({450, 550, 551, 553})
_ENHANCED_CODE = re.compile(r"[245]\.(\d{1,3})\.(\d{1,3})\b")

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
#: The same for a recipient with a UTF-8 local part (RFC 6532 headers, sent with SMTPUTF8).
UTF8_POLICY = MESSAGE_POLICY.clone(utf8=True)
# Bodies with lines over 998 bytes are encoded in lines of at most 76 characters.
_BODY_POLICY = MESSAGE_POLICY.clone(max_line_length=76)

_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")
_ADDRESS = re.compile(r"\S+@\S+")


@dataclass(frozen=True)
class Attempt:
    """One try of one message: when, its outcome (see the module docstring) and the reply."""

    at: datetime
    outcome: str
    code: int | None
    message: str


@dataclass(frozen=True)
class Delivery:
    """The server's (or outbox's) acceptance of one message, and every try it took."""

    code: int
    message: str
    attempts: tuple[Attempt, ...] = ()


class SendFailure(Exception):
    """One message was not delivered: ``outcome`` is failed-temporary, failed-permanent,
    deferred or unknown; ``attempts`` holds every try (empty when nothing was tried)."""

    def __init__(
        self,
        outcome: str,
        code: int | None,
        message: str,
        attempts: tuple[Attempt, ...] = (),
    ) -> None:
        super().__init__(f"{code or '---'} {message}")
        self.outcome = outcome
        self.code = code
        self.message = message
        self.attempts = attempts


class Transport(Protocol):
    """Where notices go: an SMTP server or an outbox directory."""

    description: str

    def open(self) -> None:
        """Connect (and log in) before anything is sent; raise DeliveryError if impossible."""

    def send(self, message: EmailMessage) -> Delivery:
        """Deliver one message; raise SendFailure for this recipient, DeliveryError to stop."""

    def close(self) -> None:
        """Release the connection."""


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


def sender_address(settings: Settings, environ: Mapping[str, str] | None = None) -> Address:
    """The sender: ``REDLINE_FROM`` or config ``from_address``, ``addr`` or ``Name <addr>``.

    The name goes through the header guard (strict: an encoded word or a line break is a
    ConfigError); the address must have an ASCII local part and is returned with its domain
    in IDNA, so every notice can be sent without SMTPUTF8.
    """
    env = os.environ if environ is None else environ
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
    return Address(display_name=name, addr_spec=checked.ascii_email)


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


@dataclass(frozen=True)
class Recipient:
    """Who one message goes to, as the unsubscribe callback of a factory sees it."""

    email: str
    subscriber_id: int | None = None


class MessageFactory:
    """Builds each recipient's message from one notice rendered for all of them.

    The notice's :data:`~redline.publish.notice.UNSUBSCRIBE_PLACEHOLDER` becomes the
    recipient's link (HTML-escaped in the HTML part). Without a link (no ``unsubscribe_url``
    configured) the notice offers ``mailto:<sender>?subject=unsubscribe`` instead, and no
    one-click header. Everything that is the same for every recipient is prepared once; the
    subject, names and the link go through :func:`~redline.ledger.headers.header_text`.
    """

    def __init__(
        self,
        notice: RenderedNotice,
        *,
        sender: Address,
        policy: str,
        version: int,
        kind: str,
        unsubscribe: Callable[[Recipient], str | None],
    ) -> None:
        self.sender = sender
        self._from = mailbox(sender.addr_spec, sender.display_name, field="From")
        self.policy = policy
        self.version = version
        self.kind = kind
        self.subject = header_text(notice.subject)
        # Parsed once; the check after the parser's decoding step costs nothing per message.
        self._subject = MESSAGE_POLICY.header_factory("Subject", self.subject)
        if str(self._subject) != self.subject:
            raise InputError("the notice subject cannot be written as a mail header")
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
        self,
        email: str,
        name: str | None = None,
        *,
        subscriber_id: int | None = None,
        date: datetime | None = None,
    ) -> EmailMessage:
        """The complete message to one recipient.

        A name that cannot be a header is left out (the message goes to the bare address);
        an address that cannot be one, or any other problem building this one message,
        raises SendFailure (failed-permanent, with the reason).
        """
        to = _recipient_header(email, name)
        try:
            return self._build(to, Recipient(email, subscriber_id), date)
        except (ValueError, UnicodeError, MessageError) as exc:
            raise SendFailure(PERMANENT, None, f"cannot build the message: {exc}") from None

    def _build(self, to: Any, recipient: Recipient, date: datetime | None) -> EmailMessage:
        utf8 = not to.addresses[0].addr_spec.isascii()
        msg = EmailMessage(policy=UTF8_POLICY if utf8 else MESSAGE_POLICY)
        msg["From"] = self._from
        msg["To"] = to
        link = self._unsubscribe(recipient)
        url = header_text(link) if link else self._fallback
        msg["Subject"] = self._subject
        msg["Date"] = format_datetime(date or datetime.now(UTC))
        msg["Message-ID"] = self.message_id(recipient.email)
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


def _recipient_header(email: str, name: str | None) -> Any:
    """The To header of one message; see :meth:`MessageFactory.build`."""
    try:
        return mailbox(email, name)
    except InputError as problem:
        if not name:
            raise SendFailure(PERMANENT, None, f"invalid address: {problem.message}") from None
        reason = problem.message
    try:
        to = mailbox(email)
    except InputError as problem:
        raise SendFailure(PERMANENT, None, f"invalid address: {problem.message}") from None
    LOG.warning("a subscriber's name was left out of the To header: it %s", reason)
    return to


# ---------------------------------------------------------------------------------------------
# Transports


class _Utf8(str):
    """An AUTH response that smtplib encodes as UTF-8 (RFC 4616) where it would use ASCII."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        """The UTF-8 bytes, whatever encoding is asked for."""
        return str.encode(self, "utf-8", errors)


class _Session:
    """smtplib additions: keep the reply to DATA (sendmail discards it), tell whether the
    message itself went out (``message_sent``), and send AUTH credentials as UTF-8."""

    last_reply: tuple[int, bytes] = (0, b"")
    message_sent = False
    _in_data = False
    user: str
    password: str

    def data(self, msg: Any) -> tuple[int, bytes]:
        """Send the message body and remember the reply."""
        self._in_data = True
        try:
            reply = super().data(msg)  # type: ignore[misc]
        finally:
            self._in_data = False
        self.last_reply = reply
        return reply

    def send(self, s: str | bytes) -> None:
        """Send ``s``; during DATA the message is the only bytes object sent."""
        super().send(s)  # type: ignore[misc]
        if self._in_data and isinstance(s, bytes):
            self.message_sent = True

    def auth(
        self, mechanism: str, authobject: Callable[..., str], *, initial_response_ok: bool = True
    ) -> tuple[int, bytes]:
        """smtplib's AUTH with the responses encoded as UTF-8."""

        def utf8(challenge: bytes | None = None) -> _Utf8 | None:
            response = authobject(challenge)
            return None if response is None else _Utf8(response)

        return super().auth(  # type: ignore[misc,no-any-return]
            mechanism, utf8, initial_response_ok=initial_response_ok
        )

    def auth_cram_md5(self, challenge: bytes | None = None) -> str | None:
        """CRAM-MD5 keyed with the UTF-8 password (smtplib's would need ASCII)."""
        if challenge is None:
            return None
        digest = hmac.HMAC(self.password.encode("utf-8"), challenge, "md5").hexdigest()
        return f"{self.user} {digest}"


class _SMTP(_Session, smtplib.SMTP):
    pass


class _SMTPSSL(_Session, smtplib.SMTP_SSL):
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
        """Send ``message``: 4xx replies and lost connections are retried (reconnecting,
        with exponential backoff); see the module docstring for the outcomes."""
        attempts: list[Attempt] = []
        outcome, code, reply = DEFERRED, None, ""
        # The factory gives a UTF-8 policy to exactly the messages that need SMTPUTF8;
        # smtplib then asks for it (and for 8BITMIME) itself.
        international = message.policy.utf8
        eight_bit = not international and any(
            part["Content-Transfer-Encoding"] == "8bit" for part in message.walk()
        )
        for attempt in range(self.config.retries + 1):
            if attempt:
                self._sleep(self.config.backoff * 2 ** (attempt - 1))
            smtp: _Session | None = None
            try:
                if self._client is None:
                    self._connect()
                smtp = self._client.smtp
                smtp.message_sent = False
                smtp.ehlo_or_helo_if_needed()
                options = ("BODY=8BITMIME",) if eight_bit and smtp.has_extn("8bitmime") else ()
                smtp.send_message(message, mail_options=options)
                got_code, got_text = smtp.last_reply
                attempts.append(Attempt(_now(), SENT, got_code, _text(got_text)))
                return Delivery(got_code, _text(got_text), tuple(attempts))
            except _Unreachable as exc:
                outcome, code, reply = DEFERRED, None, f"connection failed: {exc}"
            except DeliveryError as exc:  # logging in again failed (authentication, TLS)
                attempts.append(Attempt(_now(), DEFERRED, None, exc.message))
                raise SendFailure(DEFERRED, None, exc.message, tuple(attempts)) from None
            except smtplib.SMTPRecipientsRefused as exc:
                code, raw = next(iter(exc.recipients.values()))
                reply = _text(raw)
                outcome = DEFERRED if code in _SESSION_CODES else _recipient_outcome(code)
            except smtplib.SMTPDataError as exc:
                code, reply = exc.smtp_code, _text(exc.smtp_error)
                about = _about_recipient(code, reply)
                outcome = _recipient_outcome(code) if about else DEFERRED
            except smtplib.SMTPResponseException as exc:  # MAIL FROM, HELO, RSET
                outcome, code, reply = DEFERRED, exc.smtp_code, _text(exc.smtp_error)
            except smtplib.SMTPNotSupportedError:
                reply = f"the address needs SMTPUTF8, which {self.config.address} does not offer"
                attempts.append(Attempt(_now(), PERMANENT, None, reply))
                raise SendFailure(PERMANENT, None, reply, tuple(attempts)) from None
            except (OSError, smtplib.SMTPException) as exc:
                if smtp is not None and smtp.message_sent:
                    # The server may have queued it: never retried automatically.
                    self._drop()
                    reply = (
                        f"no reply after the message was sent ({_describe_os_error(exc)}); "
                        "it may have been delivered"
                    )
                    attempts.append(Attempt(_now(), UNKNOWN, None, reply))
                    raise SendFailure(UNKNOWN, None, reply, tuple(attempts)) from None
                outcome, code, reply = DEFERRED, None, f"connection lost: {_describe_os_error(exc)}"
            attempts.append(Attempt(_now(), outcome, code, reply))
            if code is not None and 500 <= code < 600:
                raise SendFailure(outcome, code, reply, tuple(attempts))
            self._drop()
        raise SendFailure(outcome, code, reply, tuple(attempts))

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
        """Write ``message`` to its file (with its own policy: UTF-8 headers when needed)."""
        mid = str(message["Message-ID"]).strip("<>")
        name = _UNSAFE_ID.sub("_", mid.split("@", 1)[0].replace(".", "-")) + ".eml"
        try:
            atomic_write(self.directory / name, message.as_bytes())
        except InputError as exc:
            raise DeliveryError(f"outbox: {exc.message}", hint=exc.hint) from None
        reply = f"written to {name}"
        return Delivery(250, reply, (Attempt(_now(), SENT, 250, reply),))

    def close(self) -> None:
        """Nothing to release."""


def _recipient_outcome(code: int) -> str:
    return PERMANENT if 500 <= code < 600 else TEMPORARY


def _about_recipient(code: int, reply: str) -> bool:
    """Whether a reply to DATA (for a one-recipient message) is about the recipient's mailbox.

    By the enhanced status code when there is one (X.1.x addressing, X.2.x mailbox status
    but X.2.3, the message's size), else by the basic code (450, 550, 551, 553). Anything
    else (552 over a size limit, 554, 530, 535, ...) is about the message or the session.
    """
    if code in _SESSION_CODES:
        return False
    match = _ENHANCED_CODE.match(reply)
    if match is None:
        return code in _MAILBOX_CODES
    subject, detail = match.groups()
    return subject == "1" or (subject == "2" and detail != "3")


def _now() -> datetime:
    return datetime.now(UTC)


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return header_text(text)


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
