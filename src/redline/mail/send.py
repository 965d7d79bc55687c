"""Send one notice of a policy version to every subscriber, exactly once, through the ledger.

Each recipient has one ledger row. A run queues rows for new subscribers, takes back rows
that crashed runs left ``sending`` (those few messages may go out twice; nothing is ever
skipped), then claims small batches (``pending`` -> ``sending``, under this run's lease),
sends each message over one of N SMTP sessions and records the server's reply and every try
(:mod:`redline.mail.run`). Several runs, in one or many processes, share a campaign: each
claims only rows nobody else holds. Rows of subscribers who unsubscribed in the meantime are
cancelled by the claim, never sent.

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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from redline.errors import ConfigError
from redline.ledger.checks import email_key
from redline.ledger.subscribers import unsubscribe_link, unsubscribe_template
from redline.mail.campaign import CampaignFactory
from redline.mail.outbox import OutboxTransport
from redline.mail.outcome import SendFailure, redact
from redline.mail.pool import Connections, Pacer
from redline.mail.report import NotifyReport, Requeue
from redline.mail.run import SendingRun
from redline.mail.settings import ENV_FROM, ENV_HOST, SmtpConfig, sender_address
from redline.mail.transport import SmtpTransport, Transport
from redline.vocab import FINISHED_STATES

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.ledger.store import Store
    from redline.publish.notice import RenderedNotice

LOG = logging.getLogger("redline.mail.send")

#: Rows claimed at a time (claimed rows not yet sent go back to pending after a crash).
BATCH_SIZE = 50

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
    connections: int | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    requeue: Requeue | None = None,
) -> NotifyReport:
    """Send ``notice`` to every subscriber of ``policy`` who has not had it yet.

    ``connections`` (default: config ``smtp_connections``): SMTP sessions at once, each a
    :meth:`~redline.mail.transport.Transport.clone` of ``transport``; ``rate`` caps them all
    together. Raises DeliveryError before anything is sent when ``transport`` cannot be
    opened (connection, authentication, TLS), and NotifyPaused at a refusal not about the
    recipient or after ``max_send_errors`` failures in a row. ``requeue``: rows to send
    again on purpose (once the transport is open). ``progress(done, total)`` is called
    after each message.
    """
    started = time.monotonic()
    factory = _factory(settings, notice, policy, version, kind)
    report = NotifyReport(
        policy, version, kind, transport.description if transport else None, dry_run=dry_run
    )
    if not unsubscribe_template(settings):
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
    count = connections or settings.smtp_connections
    if count < 1:
        raise ConfigError(f"connections must be at least 1, not {count}")
    pacer = Pacer(rate if rate is not None else settings.rate)
    transport.open()
    pool = Connections([transport, *(transport.clone() for _ in range(count - 1))], pacer)
    try:
        SendingRun(settings, store, factory, report, pool).run(progress, batch_size, requeue)
    finally:
        report.elapsed = time.monotonic() - started
    return report


def _factory(
    settings: Settings, notice: RenderedNotice, policy: str, version: int, kind: str
) -> CampaignFactory:
    """The run's message factory, with each recipient's unsubscribe link."""
    # A missing REDLINE_SECRET or a bad unsubscribe_url fails here, before anything happens.
    unsubscribe_link(settings, "probe@example.com")
    return CampaignFactory(
        notice,
        sender=sender_address(settings),
        policy=policy,
        version=version,
        kind=kind,
        unsubscribe=lambda to: unsubscribe_link(settings, to.email, to.subscriber_id),
        unsubscribe_mailto=settings.unsubscribe_mailto,
        clock=settings.env.clock,
    )


def _dry_run(
    store: Store, factory: CampaignFactory, report: NotifyReport, requeue: Requeue
) -> None:
    """Render every message a real run would send now, and count them; write nothing."""
    counts = store.ledger_counts(factory.policy, factory.version, factory.kind)
    report.ledger = counts
    finished: dict[str, str] = {}
    for record in store.iter_notices(factory.policy, factory.version, factory.kind):
        if requeue.matches(record):
            report.requeued += 1
        elif record.state in FINISHED_STATES:
            finished[record.email_key] = record.state
    skipped = {
        "sent": "already_sent",
        "failed-permanent": "failed_before",
        "unknown": "unknown_before",
    }
    for subscriber in store.iter_subscribers(factory.policy):
        state = finished.get(email_key(subscriber.email))
        if state is not None:
            setattr(report, skipped[state], getattr(report, skipped[state]) + 1)
            continue
        try:
            factory.build(
                subscriber.email,
                subscriber.name,
                locale=subscriber.locale,
                subscriber_id=subscriber.id,
            )
        except SendFailure as failure:
            report.reasons[f"would fail: {redact(failure.message)}"] += 1
            continue
        report.would_send += 1
