"""N sessions sending at once: one thread per transport, fed with messages by one run.

The run (:mod:`redline.mail.send`) hands :class:`Job` s to :meth:`Connections.submit` and
takes each one's :class:`Done` from :meth:`Connections.done`. Each thread owns one
transport (one SMTP session, logged in once). smtplib blocks, and a thread waiting for the
server lets the others work. The :class:`Pacer` is shared, so ``--rate`` caps the run.

A refusal that is not about the recipient (deferred) stops every session from taking
another message: the run pauses (messages already in flight on other sessions finish). After
any other failure a session waits until the run has counted it, so that ``max_send_errors``
failures in a row stop it before it sends more.

A session that cannot be opened, or that the server refuses with a 4xx at connect or MAIL
FROM (421 too many connections), closes: the run goes on with one session fewer and that
session's message goes back to the others. The last session never gives way; it retries
and fails as a single session would.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redline.errors import ConfigError, DeliveryError
from redline.mail.outcome import DEFERRED, Delivery, SendFailure, redact
from redline.mail.transport import SessionRefused, Transport
from redline.mail.wire import Outgoing

if TYPE_CHECKING:
    from redline.ledger.notices import NoticeTask

LOG = logging.getLogger("redline.mail.send")


class Pacer:
    """Spaces sends, across every thread, to at most ``rate`` per second."""

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ConfigError(f"rate must be a positive number of messages per second, not {rate}")
        self.interval = 1.0 / rate if rate else 0.0
        self._next_at = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this send's turn."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next_at)
            self._next_at = at + self.interval
        if at > now:
            time.sleep(at - now)


@dataclass(frozen=True)
class Job:
    """One claimed row and its message."""

    task: NoticeTask
    message: Outgoing


@dataclass(frozen=True)
class Done:
    """What became of a job: ``delivery``, or ``failure`` (this recipient), or ``error``
    (the run must stop: DeliveryError when nothing went out, anything else when the message
    may have). Without a job: the last session could not be opened again. ``ack``: set by
    the run once it has counted a failure; the session waits for it."""

    job: Job | None
    delivery: Delivery | None = None
    failure: SendFailure | None = None
    error: BaseException | None = None
    ack: threading.Event | None = None


class Connections:
    """Sender threads over ``transports`` (the first one already open)."""

    def __init__(self, transports: list[Transport], pacer: Pacer) -> None:
        self._transports = transports
        self._pacer = pacer
        self._jobs: deque[Job] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._done: queue.SimpleQueue[Done] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        #: Sessions open or opening: the run's N, lowered when the server refuses one.
        self.live = len(transports)
        #: Sessions asked for.
        self.asked = len(transports)

    def start(self) -> None:
        """Start one thread per transport; the first is open, the others open there."""
        self._threads = [
            threading.Thread(
                target=self._serve,
                args=(transport, index),
                name=f"redline-smtp-{index + 1}",
                daemon=True,
            )
            for index, transport in enumerate(self._transports)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> None:
        """Queue ``job`` for the next free session."""
        with self._cond:
            self._jobs.append(job)
            self._cond.notify()

    def done(self, timeout: float) -> Done | None:
        """The next finished job, or None after ``timeout`` seconds (0: do not wait)."""
        try:
            return self._done.get(block=timeout > 0, timeout=timeout or None)
        except queue.Empty:
            return None

    def close(self) -> list[Job]:
        """Stop taking jobs, wait for the ones in flight and return those never started
        (the results of the others stay in :meth:`done`)."""
        self._stop_taking()
        if not self._threads:  # never started: only the first transport is open
            self._transports[0].close()
        for thread in self._threads:
            thread.join()
        with self._cond:
            left = list(self._jobs)
            self._jobs.clear()
        return left

    def _stop_taking(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _next(self) -> Job | None:
        with self._cond:
            while not self._jobs and not self._closed:
                self._cond.wait()
            return None if self._closed else self._jobs.popleft()

    def _give_back(self, job: Job) -> None:
        with self._cond:
            self._jobs.appendleft(job)
            self._cond.notify()

    def _lower(self, index: int, reason: str) -> bool:
        """Close session ``index`` for the rest of the run, unless it is the last one."""
        with self._lock:
            if self.live <= 1:
                return False
            self.live -= 1
            live = self.live
        LOG.warning(
            "SMTP session %d of %d closed (%s); sending over %d",
            index + 1,
            self.asked,
            redact(reason)[:200],
            live,
        )
        return True

    def _serve(self, transport: Transport, index: int) -> None:
        try:
            if index:
                try:
                    transport.open()
                except DeliveryError as exc:
                    if not self._lower(index, exc.message):
                        self._done.put(Done(None, error=exc))
                    return
            while (job := self._next()) is not None:
                if not self._send(transport, index, job):
                    return
        finally:
            transport.close()

    def _send(self, transport: Transport, index: int, job: Job) -> bool:
        """Send one job; False when this session closes."""
        self._pacer.wait()
        try:
            try:
                delivery = transport.send(job.message, may_yield=self.live > 1)
            except SessionRefused as refused:
                if self._lower(index, f"{refused.code} {refused.message}"):
                    self._give_back(job)
                    return False
                delivery = transport.send(job.message)
        except SendFailure as failure:
            if failure.outcome == DEFERRED:
                self._stop_taking()  # the run pauses: no session takes another message
                self._done.put(Done(job, failure=failure))
                return True
            counted = threading.Event()
            self._done.put(Done(job, failure=failure, ack=counted))
            while not counted.wait(0.05) and not self._closed:
                pass
        except BaseException as exc:  # handed to the run, which stops
            self._done.put(Done(job, error=exc))
            return False
        else:
            self._done.put(Done(job, delivery=delivery))
        return True
