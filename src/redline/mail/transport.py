"""Where notices go: an SMTP server (through yagmail) or an outbox directory.

SMTP goes through one yagmail connection that logs in once and is reused for every message;
TLS certificates are verified, a timeout is always set, and the password is passed explicitly
so yagmail never reaches for a keyring or a prompt. AUTH responses are UTF-8 (RFC 4616).
Every yagmail workaround is in this module; messages come serialised
(:class:`~redline.mail.wire.Outgoing`, made by :mod:`redline.mail.message`) and go to
smtplib's ``sendmail``, never through yagmail's own builder.

A run sends over several transports at once (:meth:`SmtpTransport.clone`: one SMTP session
each). A new session that the server refuses with a 4xx at connect or at its first MAIL
FROM (421 too many connections) can give way (:class:`SessionRefused`) so that another
session sends the message, instead of retrying. A 4xx later in a session is retried.

Each SMTP try is recorded as an :class:`~redline.mail.outcome.Attempt`, and a message ends
in one of the outcomes of :mod:`redline.mail.outcome`. An authentication or TLS failure when
opening is a :class:`~redline.errors.DeliveryError` that stops the run before anything is sent.
"""

from __future__ import annotations

import hmac
import smtplib
import ssl
import time
from collections.abc import Callable
from typing import Any, Protocol

import yagmail

from redline.errors import DeliveryError
from redline.ledger.headers import header_text
from redline.mail.outcome import (
    DEFERRED,
    PERMANENT,
    SENT,
    SESSION_CODES,
    UNKNOWN,
    Attempt,
    Delivery,
    SendFailure,
    about_recipient,
    attempt_at,
    recipient_outcome,
)
from redline.mail.settings import (
    ENV_CA_FILE,
    ENV_HOST,
    ENV_PASSWORD,
    ENV_PORT,
    ENV_TLS,
    ENV_USER,
    SmtpConfig,
)
from redline.mail.wire import Outgoing


class Transport(Protocol):
    """Where notices go: an SMTP server or an outbox directory."""

    description: str

    def open(self) -> None:
        """Connect (and log in) before anything is sent; raise DeliveryError if impossible."""

    def send(self, message: Outgoing, *, may_yield: bool = False) -> Delivery:
        """Deliver one message; raise SendFailure for this recipient, DeliveryError to stop;
        with ``may_yield``, SessionRefused when the server refuses the session itself."""

    def clone(self) -> Transport:
        """Another transport to the same place, not yet open (one more SMTP session)."""

    def close(self) -> None:
        """Release the connection."""


class SessionRefused(SendFailure):
    """The server refused a new session with a 4xx at connect or at its first MAIL FROM (such
    as 421 too many connections); nothing was sent, and another session may send it."""


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
    """The server could not be reached or dropped the connection while logging in; ``code``
    is its 4xx reply when it refused the session."""

    def __init__(self, text: str, code: int | None = None) -> None:
        super().__init__(text)
        self.code = code


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
        self._used = False  # whether the session open now has delivered a message

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
                text = f"{exc.smtp_code} {_text(exc.smtp_error)}"
                raise _Unreachable(text, exc.smtp_code) from None
            raise DeliveryError(
                f"the SMTP server {config.address} refused the session: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._close_quietly(client)
            raise _Unreachable(_describe_os_error(exc)) from None
        self._client = client

    def clone(self) -> SmtpTransport:
        """A transport with the same settings for one more session, not yet open."""
        return SmtpTransport(self.config, sleep=self._sleep)

    def send(self, message: Outgoing, *, may_yield: bool = False) -> Delivery:
        """Send ``message``: 4xx replies and lost connections are retried (reconnecting,
        with exponential backoff); see :mod:`redline.mail.outcome` for the outcomes. With
        ``may_yield``, a 4xx at connect, or at MAIL FROM before this session delivered
        anything, raises SessionRefused at once."""
        attempts: list[Attempt] = []
        outcome, code, reply = DEFERRED, None, ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                self._sleep(self.config.backoff * 2 ** (attempt - 1))
            smtp: _Session | None = None
            try:
                if self._client is None:
                    self._connect()
                smtp = self._client.smtp
                delivery = self._send_once(smtp, message, attempts)
                self._used = True
                return delivery
            except (_Unreachable, DeliveryError, OSError) as exc:
                outcome, code, reply = self._failed_try(exc, smtp, attempts)
                refused = _refused_with(exc)
                if may_yield and refused and not self._used:
                    self._drop()
                    raise SessionRefused(DEFERRED, refused, reply) from None
            attempts.append(Attempt(attempt_at(), outcome, code, reply))
            if code is not None and 500 <= code < 600:
                raise SendFailure(outcome, code, reply, tuple(attempts))
            self._drop()
        raise SendFailure(outcome, code, reply, tuple(attempts))

    @staticmethod
    def _send_once(smtp: _Session, message: Outgoing, attempts: list[Attempt]) -> Delivery:
        """One try over the open connection ``smtp``; the reply to DATA is the proof.

        The options are those smtplib's ``send_message`` would give: SMTPUTF8 (and
        8BITMIME) for an address that needs it, 8BITMIME for an 8bit body where offered.
        """
        smtp.message_sent = False
        smtp.ehlo_or_helo_if_needed()
        if message.smtputf8:
            if not smtp.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("SMTPUTF8 is not offered")
            options: tuple[str, ...] = ("SMTPUTF8", "BODY=8BITMIME")
        else:
            options = ("BODY=8BITMIME",) if message.eight_bit and smtp.has_extn("8bitmime") else ()
        smtp.sendmail(message.sender, [message.recipient], message.data, mail_options=options)
        got_code, got_text = smtp.last_reply
        attempts.append(Attempt(attempt_at(), SENT, got_code, _text(got_text)))
        return Delivery(got_code, _text(got_text), tuple(attempts))

    def _failed_try(
        self, exc: Exception, smtp: _Session | None, attempts: list[Attempt]
    ) -> tuple[str, int | None, str]:
        """(outcome, code, reply) of a try that raised ``exc``; SendFailure at once when
        trying again cannot help (logging in again failed, no SMTPUTF8, or no reply after
        the message went out)."""
        if isinstance(exc, _Unreachable):
            return DEFERRED, None, f"connection failed: {exc}"
        if isinstance(exc, DeliveryError):  # logging in again failed (authentication, TLS)
            attempts.append(Attempt(attempt_at(), DEFERRED, None, exc.message))
            raise SendFailure(DEFERRED, None, exc.message, tuple(attempts)) from None
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            code, raw = next(iter(exc.recipients.values()))
            outcome = DEFERRED if code in SESSION_CODES else recipient_outcome(code)
            return outcome, code, _text(raw)
        if isinstance(exc, smtplib.SMTPDataError):
            code, reply = exc.smtp_code, _text(exc.smtp_error)
            about = about_recipient(code, reply)
            return (recipient_outcome(code) if about else DEFERRED), code, reply
        if isinstance(exc, smtplib.SMTPResponseException):  # MAIL FROM, HELO, RSET
            return DEFERRED, exc.smtp_code, _text(exc.smtp_error)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            reply = f"the address needs SMTPUTF8, which {self.config.address} does not offer"
            attempts.append(Attempt(attempt_at(), PERMANENT, None, reply))
            raise SendFailure(PERMANENT, None, reply, tuple(attempts)) from None
        if smtp is not None and smtp.message_sent:
            # The server may have queued it: never retried automatically.
            self._drop()
            reply = (
                f"no reply after the message was sent ({_describe_os_error(exc)}); "
                "it may have been delivered"
            )
            attempts.append(Attempt(attempt_at(), UNKNOWN, None, reply))
            raise SendFailure(UNKNOWN, None, reply, tuple(attempts)) from None
        return DEFERRED, None, f"connection lost: {_describe_os_error(exc)}"

    def close(self) -> None:
        """Say QUIT and close the connection."""
        self._drop()

    def _drop(self) -> None:
        self._used = False
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


def _refused_with(exc: Exception) -> int | None:
    """The code of a 4xx refusal of the session (at connect, EHLO or MAIL FROM) in ``exc``."""
    if isinstance(exc, _Unreachable):
        code = exc.code
    elif isinstance(exc, smtplib.SMTPResponseException) and not isinstance(
        exc, smtplib.SMTPDataError
    ):
        code = exc.smtp_code
    else:
        return None
    return code if code is not None and 400 <= code < 500 else None


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return header_text(text)


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
