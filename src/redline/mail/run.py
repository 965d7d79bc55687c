"""One sending run over the ledger rows of a (policy, version, kind), over N sessions.

This thread claims rows, builds each message and records the results; the sessions of
:class:`~redline.mail.pool.Connections` send. Results are recorded in batches: every
:data:`RESULT_BATCH` results or :data:`RESULT_SECONDS`, whichever comes first. At most
``Q = max(HANDED, 2 x N)`` messages are with the sessions at a time (queued, in flight, or
sent and not yet counted; the queue lets the sessions go on while this thread writes to the
ledger), so at any moment at most ``RESULT_BATCH + Q`` messages have gone out without their
result in the ledger: after a crash, those are the most that are sent again.

A run claims every pending row, then the rows that other runs left failed-temporary: the
claims never give a run a row it failed itself, so each row is tried at most once per run
(one Store is one run, :mod:`redline.ledger.leases`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING

from redline.errors import DeliveryError
from redline.ledger.marks import Result
from redline.mail.outcome import DEFERRED, PERMANENT, TEMPORARY, UNKNOWN, SendFailure, redact
from redline.mail.pool import Connections, Done, Job
from redline.mail.report import NotifyPaused, NotifyReport, Requeue
from redline.vocab import FAILED_STATES

if TYPE_CHECKING:
    from collections.abc import Callable

    from redline.config import Settings
    from redline.ledger.notices import NoticeTask
    from redline.ledger.store import Store
    from redline.mail.campaign import CampaignFactory

LOG = logging.getLogger("redline.mail.send")

#: Results recorded in one transaction (K): with N sessions, at most K + max(HANDED, 2N)
#: messages of a crashed run go out again.
RESULT_BATCH = 50
#: The fewest messages handed to the sessions at a time (else two per session).
HANDED = 16
#: The longest a result waits to be recorded while messages keep going out.
RESULT_SECONDS = 0.2


class SendingRun:
    """Sends the notices of one (policy, version, kind) that nobody has had yet."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        factory: CampaignFactory,
        report: NotifyReport,
        pool: Connections,
    ) -> None:
        self.store = store
        self.factory = factory
        self.report = report
        self.pool = pool
        self.key = (factory.policy, factory.version, factory.kind)
        self.max_errors = settings.max_send_errors
        self.in_a_row = 0
        self.progress: Callable[[int, int], None] | None = None
        self.done = self.total = 0
        self.before: dict[str, int] | None = None
        self._claimed: deque[NoticeTask] = deque()
        self._pass = 0
        self._handed = 0  # jobs given to the sessions whose Done was not settled yet
        self._results: list[Result] = []
        self._oldest = 0.0

    def run(
        self, progress: Callable[[int, int], None] | None, batch_size: int, requeue: Requeue
    ) -> None:
        """Queue, recover, then send until nothing is left to claim; always records what
        was sent and gives back what was not."""
        self.progress = progress
        try:
            self._start(requeue)
            self.pool.start()
            self._loop(batch_size)
        finally:
            self._stop()

    def _start(self, requeue: Requeue) -> None:
        store, report, key = self.store, self.report, self.key
        if requeue.failed:
            report.requeued += store.requeue(*key, states=FAILED_STATES, codes=requeue.codes)
        if requeue.unknown:
            report.requeued += store.requeue(*key, states=("unknown",))
        report.queued = store.queue_notices(*key)
        report.recovered = store.recover_in_flight(*key)
        before = store.ledger_counts(*key)
        self.before = before
        report.already_sent = before["sent"]
        report.failed_before = before["failed-permanent"]
        report.unknown_before = before["unknown"]
        self.total = before["pending"] + before["failed-temporary"]
        if self.progress:
            self.progress(0, self.total)

    def _loop(self, batch_size: int) -> None:
        exhausted = False
        while True:
            exhausted = exhausted or self._feed(batch_size)
            if exhausted and not self._handed:
                return
            wait = max(0.0, self._oldest + RESULT_SECONDS - time.monotonic())
            done = self.pool.done(wait if self._results else 1.0)
            while done is not None:
                self._settle(done)
                done = self.pool.done(0)
            if self._results and time.monotonic() - self._oldest >= RESULT_SECONDS:
                self._flush()

    def _feed(self, batch_size: int) -> bool:
        """Hand messages to the sessions until Q are out; True once nothing is left."""
        while self._handed < max(HANDED, 2 * self.pool.live):
            task = self._next_task(batch_size)
            if task is None:
                return True
            try:
                message = self.factory.render(
                    task.email, task.name, locale=task.locale, subscriber_id=task.subscriber_id
                )
            except SendFailure as failure:
                self._failed(task, failure)
                self._count(ok=False)
                continue
            self.pool.submit(Job(task, message))
            self._handed += 1
        return False

    def _next_task(self, batch_size: int) -> NoticeTask | None:
        """The next claimed row: every pending row, then the rows other runs left
        failed-temporary (see the module docstring)."""
        while not self._claimed:
            if self._pass == 2:
                return None
            tasks = self.store.claim_batch(*self.key, batch_size, retry_failed=self._pass == 1)
            if tasks:
                self._claimed.extend(tasks)
            else:
                self._pass += 1
        return self._claimed.popleft()

    def _settle(self, done: Done, *, stopping: bool = False) -> None:
        """Record what became of one job; while not ``stopping``, raise what stops the run.
        A session that failed waits for this before it takes another message."""
        try:
            self._settle_one(done, stopping)
        finally:
            if done.ack is not None:
                done.ack.set()

    def _settle_one(self, done: Done, stopping: bool) -> None:
        if done.job is not None:
            self._handed -= 1
        if done.error is not None:
            if done.job is not None and isinstance(done.error, DeliveryError):
                # Nothing went out (the outbox failed first); any other error leaves the row
                # 'sending': the message may have gone out, and the next run sends it again.
                self.store.release_claim(done.job.task.id)
            if not stopping:
                raise done.error
            return
        assert done.job is not None  # a Done without a job carries an error
        task = done.job.task
        if done.failure is not None:
            try:
                self._failed(task, done.failure)
            except NotifyPaused:
                if not stopping:
                    raise
                return
        else:
            delivery = done.delivery
            assert delivery is not None
            self._record(
                Result(
                    task.id,
                    "sent",
                    smtp_code=delivery.code,
                    smtp_message=delivery.message,
                    attempts=delivery.attempts,
                    message_id=done.job.message.message_id,
                )
            )
            self.report.sent += 1
        if not stopping:
            self._count(ok=done.failure is None)

    def _count(self, *, ok: bool) -> None:
        """Count one finished message; NotifyPaused after ``max_send_errors`` failures in a
        row, across every session (0: never)."""
        self.done += 1
        if self.progress:
            self.progress(self.done, max(self.total, self.done))
        self.in_a_row = 0 if ok else self.in_a_row + 1
        if self.max_errors <= 0 or self.in_a_row < self.max_errors:
            return
        report = self.report
        report.paused = f"{self.in_a_row} failures in a row"
        last = report.reasons.most_common(1)[0][0] if report.reasons else "unknown"
        raise NotifyPaused(
            report,
            f"paused after {self.in_a_row} delivery failures in a row (most common: {last})",
            hint="fix the cause and run notify again; unsent notices stay in the ledger "
            "(max_send_errors sets the limit)",
        )

    def _failed(self, task: NoticeTask, failure: SendFailure) -> None:
        """Record a message that was not accepted; NotifyPaused if it was not about its
        recipient (the row goes back to pending, its tries recorded)."""
        report = self.report
        reason = f"{failure.outcome}: {failure.code or 'no reply'} {redact(failure.message)}"
        reason = reason[:160]
        LOG.info("notice #%s: %s", task.id, reason)
        state = "pending" if failure.outcome == DEFERRED else failure.outcome
        self._record(Result(task.id, state, failure.code, failure.message, failure.attempts))
        if failure.outcome == DEFERRED:
            report.deferred += 1
            report.paused = f"refused, not about the recipient: {reason}"
            raise NotifyPaused(
                report,
                f"paused: the SMTP server refused a notice for a reason that is not about its "
                f"recipient ({failure.code or 'no reply'} {redact(failure.message)})"[:300],
                hint="nobody was marked failed; fix the cause (credentials, sender, message "
                "size, server) and run notify again",
            )
        report.reasons[reason] += 1
        if failure.outcome == TEMPORARY:
            report.failed_temporary += 1
        elif failure.outcome == PERMANENT:
            report.failed_permanent += 1
        elif failure.outcome == UNKNOWN:
            report.unknown += 1

    def _record(self, result: Result) -> None:
        if not self._results:
            self._oldest = time.monotonic()
        self._results.append(result)
        if len(self._results) >= RESULT_BATCH:
            self._flush()

    def _flush(self) -> None:
        results, self._results = self._results, []
        self.store.record_results(results)

    def _stop(self) -> None:
        """Close the sessions, record every result, give back every row not tried."""
        left = self.pool.close()
        done = self.pool.done(0)
        while done is not None:
            self._settle(done, stopping=True)
            done = self.pool.done(0)
        unsent = [job.task.id for job in left] + [task.id for task in self._claimed]
        self._claimed.clear()
        if unsent:
            self.store.release_claims(unsent)
        if self._results:
            self._flush()
        report = self.report
        report.connections = self.pool.asked
        report.connections_refused = self.pool.asked - self.pool.live
        report.ledger = self.store.ledger_counts(*self.key)
        if self.before is not None:
            report.cancelled = report.ledger["cancelled"] - self.before["cancelled"]
