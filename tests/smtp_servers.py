"""Real aiosmtpd servers on loopback for the mailer, notify and benchmark code.

* :class:`RecordingHandler` keeps every message it accepts (optionally replying to each
  DATA after a delay, like a real relay).
* :class:`FaultHandler` also drops connections after N messages, answers 421/451 to some
  recipients (a given number of times) and 550 to others, can require AUTH (530 to MAIL
  FROM), refuse DATA (e.g. 552 over a size limit) and reply to DATA slower than a timeout.
* :class:`SessionLimit` makes a server answer ``421 too many connections`` at connect to
  every session beyond a number open at once.
* :class:`Authenticator` is a real AUTH LOGIN/PLAIN checker.
* :func:`make_certificate` creates a self-signed certificate with the ``openssl`` CLI.
* :func:`running_server` starts plain, STARTTLS or implicit-TLS servers.

Run as a script (``python tests/smtp_servers.py PORT [DELAY_MS]``) it is a counting sink in
its own process that replies to each DATA after DELAY_MS (default 0), printing ``ready`` once
it listens and the count when its stdin closes; the benchmark uses that.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that is free right now (aiosmtpd 1.4.6 cannot bind port 0)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated: bool
    connection: int
    mail_options: list[str]

    def parsed(self) -> EmailMessage:
        """The message parsed with the modern email policy."""
        return message_from_bytes(self.data, policy=email_policy.default)  # type: ignore[return-value]


class RecordingHandler:
    """Accepts every message and records it; ``data_delay``: seconds to wait, after queueing
    the message, before replying 250 (other sessions go on meanwhile)."""

    def __init__(self, *, keep_data: bool = True, data_delay: float = 0.0) -> None:
        self.keep_data = keep_data
        self.data_delay = data_delay
        self.messages: list[Received] = []
        self.count = 0
        self._lock = threading.Lock()
        self._connections = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if not hasattr(session, "connection"):
                session.connection = next(self._connections)
            self.count += 1
            number = self.count
            self.messages.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.content if self.keep_data else b"",
                    bool(session.authenticated),
                    session.connection,
                    list(envelope.mail_options),
                )
            )
        session.accepted = getattr(session, "accepted", 0) + 1
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return f"250 2.0.0 Ok: queued as Q{number}"

    def per_recipient(self) -> Counter[str]:
        """How many messages each recipient got."""
        with self._lock:
            return Counter(rcpt for msg in self.messages for rcpt in msg.rcpt_tos)


class FaultHandler(RecordingHandler):
    """A server that misbehaves on purpose.

    ``drop_after``: after that many messages on one connection, the next MAIL FROM gets the
    connection closed. ``temporary``: address -> (reply, times), e.g. ``("451 4.3.0 later", 2)``
    answers RCPT TO twice with 451 and then accepts; a 421 reply also closes the connection.
    ``permanent``: address -> reply such as ``"550 5.1.1 no such user"``.
    ``require_auth``: MAIL FROM gets ``530 5.7.0 Authentication required`` in a session that
    has not logged in. ``data_reply``: the reply to every DATA (nothing is accepted), e.g.
    ``"552 5.3.4 Message size exceeds fixed limit"``, or address -> reply for some recipients.
    ``data_delay``: seconds to wait, after queueing the message, before replying 250.
    """

    def __init__(
        self,
        *,
        drop_after: int | None = None,
        temporary: Mapping[str, tuple[str, int]] | None = None,
        permanent: Mapping[str, str] | None = None,
        require_auth: bool = False,
        data_reply: str | Mapping[str, str] | None = None,
        data_delay: float = 0.0,
    ) -> None:
        super().__init__(data_delay=data_delay)
        self.drop_after = drop_after
        self.temporary = {
            addr: [reply, times] for addr, (reply, times) in (temporary or {}).items()
        }
        self.permanent = dict(permanent or {})
        self.require_auth = require_auth
        self.data_reply = data_reply
        self.rcpt_attempts: Counter[str] = Counter()
        self.mail_attempts = 0
        self.data_attempts = 0
        self.drops = 0

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.mail_attempts += 1
        if self.drop_after is not None and getattr(session, "accepted", 0) >= self.drop_after:
            self.drops += 1
            server.transport.close()
            return "421 4.4.2 connection dropped by the test server"
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.rcpt_attempts[address] += 1
        if address in self.permanent:
            return self.permanent[address]
        fault = self.temporary.get(address)
        if fault is not None and fault[1] > 0:
            fault[1] -= 1
            if fault[0].startswith("421"):
                server.loop.call_soon(server.transport.close)
            return fault[0]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        refusal = self.data_reply
        if isinstance(refusal, Mapping):
            refusal = next((refusal[r] for r in envelope.rcpt_tos if r in refusal), None)
        if refusal:
            return refusal
        return await super().handle_DATA(server, session, envelope)


class SessionLimit:
    """At most ``limit`` sessions open at once: the server greets every further one with
    ``421 4.7.0 Too many connections`` and closes it. Counts the refusals and the peak."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self.peak = 0
        self.refused = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        """Admit one more session, or count a refusal."""
        with self._lock:
            if self.open >= self.limit:
                self.refused += 1
                return False
            self.open += 1
            self.peak = max(self.peak, self.open)
            return True

    def leave(self) -> None:
        with self._lock:
            self.open -= 1


class _LimitedSMTP(SMTP):
    """aiosmtpd's server, refusing sessions beyond a :class:`SessionLimit` at the greeting."""

    def __init__(self, handler: Any, *, limit: SessionLimit, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._limit = limit
        self._admitted = False

    async def _handle_client(self) -> None:
        if not self._limit.enter():
            await self.push("421 4.7.0 Too many connections, try again later")
            self.transport.close()
            return
        self._admitted = True
        await super()._handle_client()

    def connection_lost(self, error: Exception | None) -> None:
        if self._admitted:
            self._admitted = False
            self._limit.leave()
        super().connection_lost(error)


class _Controller(Controller):
    """aiosmtpd's controller, with an optional :class:`SessionLimit`."""

    def __init__(self, handler: Any, *, limit: SessionLimit | None = None, **kwargs: Any) -> None:
        self._limit = limit
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        if self._limit is None:
            return super().factory()
        return _LimitedSMTP(self.handler, limit=self._limit, **self.SMTP_kwargs)


class Authenticator:
    """Accepts exactly one user name and password (AUTH LOGIN and PLAIN)."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user.encode()
        self.password = password.encode()
        self.attempts = 0
        self.failures = 0

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.attempts += 1
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user
            and auth_data.password == self.password
        ):
            return AuthResult(success=True)
        self.failures += 1
        # handled=False lets aiosmtpd answer 535; anything else leaves the client hanging.
        return AuthResult(success=False, handled=False)


@dataclass(frozen=True)
class Certificate:
    """A self-signed server certificate for 127.0.0.1 and localhost."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """TLS context for the server side."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(directory: Path) -> Certificate:
    """Create a self-signed certificate (with the extensions strict X.509 checking wants)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is needed to create the test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=redline test SMTP",
            "-keyout", str(key), "-out", str(cert),
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
            "-addext", "extendedKeyUsage=serverAuth",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)


@dataclass
class Server:
    """A running server: where it listens and what it received."""

    host: str
    port: int
    handler: RecordingHandler
    tls: str
    authenticator: Authenticator | None = None
    controller: Any = field(default=None, repr=False)

    def env(self, **extra: str) -> dict[str, str]:
        """Environment variables that point redline at this server."""
        return {
            "REDLINE_SMTP_HOST": self.host,
            "REDLINE_SMTP_PORT": str(self.port),
            "REDLINE_SMTP_TLS": self.tls,
            **extra,
        }


@contextmanager
def running_server(
    handler: RecordingHandler | None = None,
    *,
    tls: str = "none",
    certificate: Certificate | None = None,
    authenticator: Authenticator | None = None,
    smtputf8: bool = True,
    limit: SessionLimit | None = None,
) -> Iterator[Server]:
    """Run an aiosmtpd server on loopback: ``tls`` is none, starttls or ssl; ``smtputf8``:
    whether it offers SMTPUTF8; ``limit``: the most sessions it serves at once."""
    handler = handler or RecordingHandler()
    kwargs: dict[str, Any] = {"server_hostname": "localhost", "enable_SMTPUTF8": smtputf8}
    if tls != "none":
        if certificate is None:
            raise ValueError("a TLS server needs a certificate")
        if tls == "starttls":
            kwargs["tls_context"] = certificate.server_context()
            kwargs["require_starttls"] = True
        else:
            kwargs["ssl_context"] = certificate.server_context()
    if authenticator is not None:
        # aiosmtpd only counts STARTTLS as TLS; elsewhere AUTH is offered, not forced.
        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = tls == "starttls"
        kwargs["auth_require_tls"] = tls == "starttls"
    port = free_port()
    controller = _Controller(handler, hostname=HOST, port=port, limit=limit, **kwargs)
    controller.start()
    try:
        yield Server(HOST, port, handler, tls, authenticator, controller)
    finally:
        controller.stop()


def _serve_forever(port: int, delay: float) -> None:
    """A counting sink in this process until stdin closes, replying to DATA after ``delay``."""
    handler = RecordingHandler(keep_data=False, data_delay=delay)
    controller = Controller(handler, hostname=HOST, port=port, server_hostname="localhost")
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()
        print(handler.count, flush=True)


if __name__ == "__main__":
    _serve_forever(int(sys.argv[1]), float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0)
