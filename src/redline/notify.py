"""Send one notice of a policy version to every subscriber, exactly once, through the ledger.

Each recipient has one ledger row. A run queues rows for new subscribers, puts rows left
``sending`` by an interrupted run back to ``pending`` (those few messages may go out twice;
nothing is ever skipped), then claims small batches (``pending`` -> ``sending``), sends each
message and records the server's reply. Rows of subscribers who unsubscribed in the meantime
are cancelled by the claim, never sent.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import ConfigError, DeliveryError
from redline.mailer import (
    ENV_FROM,
    ENV_HOST,
    MessageFactory,
    OutboxTransport,
    SendFailure,
    SmtpConfig,
    SmtpTransport,
    Transport,
    redact,
    sender_address,
)
from redline.subscribers import unsubscribe_link

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.render import RenderedNotice
    from redline.store import NoticeTask, Store

LOG = logging.getLogger("redline.notify")

#: Rows claimed at a time: the most messages that can go out twice after a crash.
BATCH_SIZE = 20

Progress = Callable[[int, int], None]


@dataclass
class NotifyReport:
    """What one run did, without any subscriber address."""

    policy: str
    version: int
    kind: str
    transport: str | None
    dry_run: bool = False
    queued: int = 0
    recovered: int = 0
    would_send: int = 0
    sent: int = 0
    failed_temporary: int = 0
    failed_permanent: int = 0
    cancelled: int = 0
    already_sent: int = 0
    failed_before: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    paused: str | None = None
    ledger: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def failed(self) -> int:
        """Messages that failed in this run, temporarily or permanently."""
        return self.failed_temporary + self.failed_permanent

    @property
    def skipped(self) -> dict[str, int]:
        """Recipients not sent to in this run, by reason."""
        reasons = {
            "already notified in an earlier run": self.already_sent,
            "failed permanently in an earlier run": self.failed_before,
            "unsubscribed or no longer subscribed": self.cancelled,
        }
        return {reason: count for reason, count in reasons.items() if count}

    def to_json(self) -> dict[str, Any]:
        """The report as plain data for ``--json``."""
        return {
            "policy": self.policy,
            "version": self.version,
            "kind": self.kind,
            "transport": self.transport,
            "dry_run": self.dry_run,
            "queued": self.queued,
            "recovered": self.recovered,
            "would_send": self.would_send,
            "sent": self.sent,
            "failed_temporary": self.failed_temporary,
            "failed_permanent": self.failed_permanent,
            "skipped": self.skipped,
            "failure_reasons": dict(self.reasons.most_common()),
            "paused": self.paused,
            "ledger": self.ledger,
            "elapsed_seconds": round(self.elapsed, 3),
        }


class NotifyPaused(DeliveryError):
    """Too many failures in a row; the run stopped and left the rest pending."""

    def __init__(self, report: NotifyReport, message: str, *, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.report = report


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
) -> NotifyReport:
    """Send ``notice`` to every subscriber of ``policy`` who has not had it yet.

    Raises DeliveryError before anything is sent when the transport cannot be opened
    (connection, authentication, TLS), and NotifyPaused after ``max_send_errors`` failures in
    a row. ``progress(done, total)`` is called after each message.
    """
    started = time.monotonic()
    # A missing REDLINE_SECRET or a bad unsubscribe_url fails here, before anything happens.
    unsubscribe_link(settings, "probe@example.com")
    factory = MessageFactory(
        notice,
        sender=sender_address(settings),
        policy=policy,
        version=version,
        kind=kind,
        unsubscribe=lambda email: unsubscribe_link(settings, email),
    )
    report = NotifyReport(
        policy, version, kind, transport.description if transport else None, dry_run=dry_run
    )
    if not settings.unsubscribe_url:
        LOG.warning(
            "unsubscribe_url is not configured; notices offer a mailto: unsubscribe link "
            "to %s instead",
            factory.sender.addr_spec,
        )
    if dry_run:
        _dry_run(store, factory, report)
        report.elapsed = time.monotonic() - started
        return report
    if transport is None:
        raise ConfigError("notices cannot be sent without a transport", hint="see --outbox")
    pacer = _Pacer(rate if rate is not None else settings.rate)
    with store.exclusive(f"{policy} v{version} {kind} notices"):
        transport.open()
        try:
            _Run(settings, store, transport, factory, report).run(pacer, progress, batch_size)
        finally:
            transport.close()
            report.elapsed = time.monotonic() - started
    return report


def _dry_run(store: Store, factory: MessageFactory, report: NotifyReport) -> None:
    """Render every message a real run would send now, and count them; write nothing."""
    counts = store.ledger_counts(factory.policy, factory.version, factory.kind)
    report.ledger = counts
    finished = {
        record.email: record.state
        for record in store.iter_notices(factory.policy, factory.version, factory.kind)
        if record.state in ("sent", "failed-permanent")
    }
    for subscriber in store.iter_subscribers(factory.policy):
        state = finished.get(subscriber.email)
        if state == "sent":
            report.already_sent += 1
            continue
        if state == "failed-permanent":
            report.failed_before += 1
            continue
        try:
            factory.build(subscriber.email, subscriber.name)
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
        self.deferred: list[tuple[int, SendFailure]] = []

    def run(self, pacer: _Pacer, progress: Progress | None, batch_size: int) -> None:
        store, report = self.store, self.report
        key = (self.factory.policy, self.factory.version, self.factory.kind)
        report.queued = store.queue_notices(*key)
        report.recovered = store.recover_in_flight(*key)
        before = store.ledger_counts(*key)
        report.already_sent = before["sent"]
        report.failed_before = before["failed-permanent"]
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
            for notice_id, failure in self.deferred:
                store.mark_failed(
                    notice_id, permanent=False, smtp_code=failure.code, smtp_message=failure.message
                )
            self.deferred.clear()
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
        store, report = self.store, self.report
        try:
            message = self.factory.build(task.email, task.name)
            delivery = self.transport.send(message)
        except SendFailure as failure:
            if failure.permanent:
                store.mark_failed(
                    task.id, permanent=True, smtp_code=failure.code, smtp_message=failure.message
                )
                report.failed_permanent += 1
                state = "failed-permanent"
            else:
                self.deferred.append((task.id, failure))
                report.failed_temporary += 1
                state = "failed-temporary"
            reason = f"{state}: {failure.code or 'no reply'} {redact(failure.message)}"[:160]
            report.reasons[reason] += 1
            LOG.info("notice #%s: %s", task.id, reason)
            return False
        except DeliveryError:
            # Nothing went out in this attempt (the connection or the outbox failed first).
            store.release_claim(task.id)
            raise
        store.mark_sent(
            task.id,
            message_id=str(message["Message-ID"]),
            smtp_code=delivery.code,
            smtp_message=delivery.message,
        )
        report.sent += 1
        return True

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
