"""A token bucket per client address, in process (each worker keeps its own)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Buckets kept before the full ones are forgotten.
MAX_CLIENTS = 10_000


class RateLimit:
    """``per_minute`` requests per client address, in bursts of at most that many."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self._refill = per_minute / 60.0
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
