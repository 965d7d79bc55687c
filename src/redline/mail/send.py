"""Send one notice of a policy version to every subscriber, exactly once, through the ledger.

Each recipient has one ledger row. A run queues rows for new subscribers, puts rows left
``sending`` by an interrupted run back to ``pending`` (those few messages may go out twice;
nothing is ever skipped), then claims small batches (``pending`` -> ``sending``), sends each
message and records the server's reply and every try. Rows of subscribers who unsubscribed
in the meantime are cancelled by the claim, never sent.

A refusal that is not about the recipient (530, 535, a MAIL FROM reply, 552 over a size
limit, a server that cannot be reached) pauses the run at once and marks nobody: the row
goes back to ``pending``. A message sent without a reply (a timeout after DATA) is
``unknown`` and is sent again only with ``resend_unknown``: one missing notice is worse than
one duplicate, but several copies are never right. Failed rows are sent again only when
asked (``retry_failed``), optionally only those with some reply codes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from redline.errors import ConfigError, DeliveryError
from redline.ledger.subscribers import unsubscribe_link
from redline.mail.message import MessageFactory
from redline.mail.outcome import DEFERRED, PERMANENT, TEMPORARY, UNKNOWN, SendFailure, redact
from redline.mail.report import NotifyPaused, NotifyReport, Requeue
from redline.mail.settings import ENV_FROM, ENV_HOST, SmtpConfig, sender_address
from redline.mail.transport import OutboxTransport, SmtpTransport, Transport
from redline.vocab import FAILED_STATES, FINISHED_STATES

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.ledger.notices import NoticeTask
    from redline.ledger.store import Store
    from redline.publish.notice import RenderedNotice

LOG = logging.getLogger("redline.mail.send")

#: Rows claimed at a time: the most messages that can go out twice after a crash.
BATCH_SIZE = 20

Progress = Callable[[int, int], None]


def open_transport(settings: Settings, outbox: Path | None) -> Transport:
    """The outbox when ``outbox`` is given, else SMTP; fails when neither is configured."""
    if outbox is not None:
        return OutboxTransport(outbox)
    config = SmtpConfig.from_settings(settings)
    if config is None:
        raise ConfigError(
            "notices cannot be delivered: neither SMTP nor an outbox is configured",
            hint=f"set {ENV_HOST} and {ENV_FROM} (see README, 'notify'), "
            "or pass --outbox DIR to write .eml files",
        )
    return SmtpTransport(config)


class _Pacer:
    """Spaces sends to at most ``rate`` per second."""

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ConfigError(f"rate must be a positive number of messages per second, not {rate}")
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if now < self.next_at:
            time.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def send_notices(
    settings: Settings,
    store: Store,
    transport: Transport | None,
    notice: RenderedNotice,
    *,
    policy: str,
    version: int,
    kind: str,
    dry_run: bool = False,
    rate: float | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    requeue: Requeue | None = None,
) -> NotifyReport:
    """Send ``notice`` to every subscriber of ``policy`` who has not had it yet.

    Raises DeliveryError before anything is sent when the transport cannot be opened
    (connection, authentication, TLS), and NotifyPaused at a refusal not about the
    recipient or after ``max_send_errors`` failures in a row. ``requeue``: rows to send
    again on purpose (once the transport is open). ``progress(done, total)`` is called
    after each message.
    """
    started = time.monotonic()
    factory = _factory(settings, notice, policy, version, kind)
    report = NotifyReport(
        policy, version, kind, transport.description if transport else None, dry_run=dry_run
    )
    if not settings.unsubscribe_url:
        LOG.warning(
            "unsubscribe_url is not configured; notices offer a mailto: unsubscribe link "
            "to %s instead",
            factory.sender.addr_spec,
        )
    requeue = requeue or Requeue()
    if dry_run:
        _dry_run(store, factory, report, requeue)
        report.elapsed = time.monotonic() - started
        return report
    if transport is None:
        raise ConfigError("notices cannot be sent without a transport", hint="see --outbox")
    pacer = _Pacer(rate if rate is not None else settings.rate)
    with store.exclusive(f"{policy} v{version} {kind} notices"):
        transport.open()
        try:
            _Run(settings, store, transport, factory, report).run(
                pacer, progress, batch_size, requeue
            )
        finally:
            transport.close()
            report.elapsed = time.monotonic() - started
    return report


def _factory(
    settings: Settings, notice: RenderedNotice, policy: str, version: int, kind: str
) -> MessageFactory:
    """The run's message factory, with each recipient's unsubscribe link."""
    # A missing REDLINE_SECRET or a bad unsubscribe_url fails here, before anything happens.
    unsubscribe_link(settings, "probe@example.com")
    return MessageFactory(
        notice,
        sender=sender_address(settings),
        policy=policy,
        version=version,
        kind=kind,
        unsubscribe=lambda to: unsubscribe_link(settings, to.email, to.subscriber_id),
        clock=settings.env.clock,
    )


def _dry_run(store: Store, factory: MessageFactory, report: NotifyReport, requeue: Requeue) -> None:
    """Render every message a real run would send now, and count them; write nothing."""
    counts = store.ledger_counts(factory.policy, factory.version, factory.kind)
    report.ledger = counts
    finished: dict[str, str] = {}
    for record in store.iter_notices(factory.policy, factory.version, factory.kind):
        if requeue.matches(record):
            report.requeued += 1
        elif record.state in FINISHED_STATES:
            finished[record.email] = record.state
    skipped = {
        "sent": "already_sent",
        "failed-permanent": "failed_before",
        "unknown": "unknown_before",
    }
    for subscriber in store.iter_subscribers(factory.policy):
        state = finished.get(subscriber.email)
        if state is not None:
            setattr(report, skipped[state], getattr(report, skipped[state]) + 1)
            continue
        try:
            factory.build(subscriber.email, subscriber.name, subscriber_id=subscriber.id)
        except SendFailure as failure:
            report.reasons[f"would fail: {redact(failure.message)}"] += 1
            continue
        report.would_send += 1


class _Run:
    """One sending run over the ledger rows of a (policy, version, kind)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        transport: Transport,
        factory: MessageFactory,
        report: NotifyReport,
    ) -> None:
        self.store = store
        self.transport = transport
        self.factory = factory
        self.report = report
        self.max_errors = settings.max_send_errors
        self.in_a_row = 0
        # Temporary failures stay 'sending' until the run ends, so that the claims of this
        # run (which include earlier runs' failed-temporary rows) never pick them up again.
        self.temporary: list[tuple[int, SendFailure]] = []

    def run(
        self, pacer: _Pacer, progress: Progress | None, batch_size: int, requeue: Requeue
    ) -> None:
        store, report = self.store, self.report
        key = (self.factory.policy, self.factory.version, self.factory.kind)
        if requeue.failed:
            report.requeued += store.requeue(*key, states=FAILED_STATES, codes=requeue.codes)
        if requeue.unknown:
            report.requeued += store.requeue(*key, states=("unknown",))
        report.queued = store.queue_notices(*key)
        report.recovered = store.recover_in_flight(*key)
        before = store.ledger_counts(*key)
        report.already_sent = before["sent"]
        report.failed_before = before["failed-permanent"]
        report.unknown_before = before["unknown"]
        total = before["pending"] + before["failed-temporary"]
        done = 0
        if progress:
            progress(0, total)
        try:
            for tasks in self.batches(key, batch_size):
                for index, task in enumerate(tasks):
                    try:
                        pacer.wait()
                        ok = self.deliver(task)
                        self.check_pause(ok)
                    except BaseException:
                        # The message in hand may have gone out, so it stays 'sending' and
                        # the next run sends it again; the rest of the batch was not tried.
                        for rest in tasks[index + 1 :]:
                            store.release_claim(rest.id)
                        raise
                    done += 1
                    if progress:
                        progress(done, max(total, done))
        finally:
            for notice_id, failure in self.temporary:
                store.mark_done(
                    notice_id,
                    TEMPORARY,
                    smtp_code=failure.code,
                    smtp_message=failure.message,
                    attempts=failure.attempts,
                )
            self.temporary.clear()
            report.ledger = store.ledger_counts(*key)
            report.cancelled = report.ledger["cancelled"] - before["cancelled"]

    def batches(self, key: tuple[str, int, str], size: int) -> Iterator[list[NoticeTask]]:
        """Claimed batches: every pending row, then the rows earlier runs left failed-temporary.

        This run's own temporary failures stay 'sending' until it ends, so the second pass
        sees only earlier ones: each row is tried at most once per run.
        """
        for retry_failed in (False, True):
            while tasks := self.store.claim_batch(*key, size, retry_failed=retry_failed):
                yield tasks

    def deliver(self, task: NoticeTask) -> bool:
        """Send one claimed notice and record the outcome; True when it was accepted."""
        try:
            message = self.factory.build(task.email, task.name, subscriber_id=task.subscriber_id)
            delivery = self.transport.send(message)
        except SendFailure as failure:
            self.failed(task, failure)
            return False
        except DeliveryError:
            # Nothing went out in this attempt (the outbox failed first).
            self.store.release_claim(task.id)
            raise
        self.store.mark_sent(
            task.id,
            message_id=str(message["Message-ID"]),
            smtp_code=delivery.code,
            smtp_message=delivery.message,
            attempts=delivery.attempts,
        )
        self.report.sent += 1
        return True

    def failed(self, task: NoticeTask, failure: SendFailure) -> None:
        """Record a message that was not accepted; NotifyPaused if it was not about its
        recipient (the row goes back to pending, its tries recorded)."""
        store, report = self.store, self.report
        reason = f"{failure.outcome}: {failure.code or 'no reply'} {redact(failure.message)}"
        reason = reason[:160]
        LOG.info("notice #%s: %s", task.id, reason)
        if failure.outcome == TEMPORARY:
            self.temporary.append((task.id, failure))
            report.failed_temporary += 1
        else:
            store.mark_done(
                task.id,
                "pending" if failure.outcome == DEFERRED else failure.outcome,
                smtp_code=failure.code,
                smtp_message=failure.message,
                attempts=failure.attempts,
            )
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
        if failure.outcome == PERMANENT:
            report.failed_permanent += 1
        elif failure.outcome == UNKNOWN:
            report.unknown += 1

    def check_pause(self, ok: bool) -> None:
        """Raise NotifyPaused after ``max_send_errors`` failures in a row (0: never)."""
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
