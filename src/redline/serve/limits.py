"""The app's limits: token buckets (per client address, per address mailed), in process
(each worker keeps its own), and the size of a request body."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.datastructures import Headers

if TYPE_CHECKING:
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Buckets kept before the full ones are forgotten.
MAX_CLIENTS = 10_000
#: The largest request body read (a sign-up form ticking a thousand policies is some 60 KB).
MAX_BODY = 256 * 1024


#: Confirmation emails one address gets at most, and in how many seconds.
CONFIRMATIONS_PER_ADDRESS = (3, 3600.0)


class RateLimit:
    """``count`` requests per key (a client address) in ``window`` seconds, in bursts of at
    most ``count``."""

    def __init__(
        self, count: int, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = float(count)
        self._refill = count / window
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        """Take one token from ``client``'s bucket; False when it is empty."""
        now = self._clock()
        with self._lock:
            tokens, since = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - since) * self._refill)
            if len(self._buckets) >= MAX_CLIENTS and client not in self._buckets:
                self._forget_full(now)
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                return False
            self._buckets[client] = (tokens - 1, now)
            return True

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (they hold nothing a new one would not)."""
        full = [
            client
            for client, (tokens, since) in self._buckets.items()
            if tokens + (now - since) * self._refill >= self.capacity
        ]
        for client in full or list(self._buckets)[: MAX_CLIENTS // 10]:
            del self._buckets[client]


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is answered by ``refuse()`` (a
    413 page) before the app sees any of it; a smaller body is read whole, then passed on.
    The Content-Length is checked first, and a chunked body is counted as it arrives."""

    def __init__(self, app: ASGIApp, limit: int, refuse: Callable[[], Response]) -> None:
        self.app = app
        self.limit = limit
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body (up to the limit) and replay it to the app, or refuse it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        too_long = declared.isdigit() and int(declared) > self.limit
        body = None if too_long else await self._read(receive)
        if body is None:
            await self.refuse()(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it grows past the limit."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
