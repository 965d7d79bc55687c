"""`redline serve` as a real uvicorn process on loopback, for the serve tests and benchmark.

:func:`served` starts ``python -m redline serve --port N`` over a policy repository and a
database, waits for ``/healthz``, and stops it afterwards. :class:`Client` speaks HTTP/1.1
with http.client (no redirects, no cookies unless given), so every answer is seen as sent.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
SECRET = "serve-tests-secret-0123456789abcdef"
CONFIG = 'policies_dir = "policies"\nfrom_address = "Policies <policies@example.com>"\n'


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Answer:
    """One HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.body.decode("utf-8")

    def field(self, name: str) -> str:
        """The value of the hidden form field ``name`` in an HTML page."""
        found = re.search(rf'name="{name}" value="([^"]*)"', self.text)
        if found is None:
            raise AssertionError(f"no field {name!r} in the page")
        return found.group(1)


@dataclass
class Client:
    """A keep-alive HTTP client of one served app; ``cookies`` are sent with each request."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    _conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        form: Mapping[str, str | list[str]] | None = None,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """``method path``, with ``form`` form-encoded as the body (or the raw form ``body``
        as given) and ``headers``; keeps Set-Cookie."""
        if self._conn is None:
            self._conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        headers = dict(headers or {})
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
        if body is not None:
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self._conn.request(method, path, body=body, headers=headers)
        response = self._conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def get(self, path: str) -> Answer:
        """GET ``path``."""
        return self.request("GET", path)

    def post(self, path: str, form: Mapping[str, str | list[str]]) -> Answer:
        """POST ``form`` to ``path``."""
        return self.request("POST", path, form)

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class Served:
    """A running `redline serve`: its base URL, port and environment."""

    url: str
    port: int
    env: dict[str, str]

    def client(self) -> Client:
        """A new client (its own connection and cookies)."""
        return Client(self.port)


def serve_env(database_url: str, smtp_port: int | None = None, **extra: str) -> dict[str, str]:
    """The environment of a `redline serve` (and `redline subscribers`) process."""
    env = {**os.environ, "REDLINE_SECRET": SECRET, "REDLINE_DATABASE_URL": database_url}
    if smtp_port is not None:
        env.update(
            REDLINE_SMTP_HOST=HOST, REDLINE_SMTP_PORT=str(smtp_port), REDLINE_SMTP_TLS="none"
        )
    env.update(extra)
    return env


@contextmanager
def served(
    root: Path,
    env: Mapping[str, str],
    *options: str,
    workers: int = 1,
    log: Path | None = None,
) -> Iterator[Served]:
    """``redline serve`` (with ``options``) over the repository ``root`` until the block
    ends; its stderr goes to the file ``log`` when given."""
    port = free_port()
    args = ["--repo", str(root), "serve", "--port", str(port), "--workers", str(workers)]
    args += options
    stderr = log.open("w", encoding="utf-8") if log is not None else subprocess.PIPE
    process = subprocess.Popen(
        [sys.executable, "-m", "redline", *args],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
    )
    try:
        _wait_healthy(process, port)
        yield Served(f"http://{HOST}:{port}", port, dict(env))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log is not None:
            stderr.close()  # type: ignore[union-attr]


def _wait_healthy(process: subprocess.Popen[str], port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stderr.read() if process.stderr else "(see its log)"
            raise AssertionError(f"redline serve exited: {output}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("redline serve did not answer /healthz in time")
