"""What a sending run is asked to send again, and what it reports (never an address)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redline.errors import DeliveryError
from redline.vocab import FAILED_STATES

if TYPE_CHECKING:
    from redline.ledger.evidence import NoticeRecord


@dataclass(frozen=True)
class Requeue:
    """Rows to send again on purpose: failed ones (only those whose last reply code starts
    with one of ``codes``, when given) and/or those whose delivery is unknown."""

    failed: bool = False
    codes: tuple[str, ...] = ()
    unknown: bool = False

    def matches(self, record: NoticeRecord) -> bool:
        """Whether this re-queue would take ``record``."""
        if record.state == "unknown":
            return self.unknown
        if record.state not in FAILED_STATES or not self.failed:
            return False
        code = str(record.last_code or "")
        return not self.codes or any(code.startswith(prefix) for prefix in self.codes)


@dataclass
class NotifyReport:
    """What one run did, without any subscriber address. ``connections``: the SMTP sessions
    asked for; ``connections_refused``: how many of them the server refused (or that could not
    be opened), so that the run went on with fewer."""

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
    unknown: int = 0
    deferred: int = 0
    requeued: int = 0
    cancelled: int = 0
    already_sent: int = 0
    failed_before: int = 0
    unknown_before: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    paused: str | None = None
    ledger: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    connections: int = 0
    connections_refused: int = 0

    @property
    def failed(self) -> int:
        """Messages this run could not confirm: failed (temporarily or permanently) or
        unknown (sent without a reply)."""
        return self.failed_temporary + self.failed_permanent + self.unknown

    @property
    def skipped(self) -> dict[str, int]:
        """Recipients not sent to in this run, by reason."""
        reasons = {
            "already notified in an earlier run": self.already_sent,
            "failed permanently in an earlier run": self.failed_before,
            "delivery unknown since an earlier run": self.unknown_before,
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
            "unknown": self.unknown,
            "deferred": self.deferred,
            "requeued": self.requeued,
            "skipped": self.skipped,
            "failure_reasons": dict(self.reasons.most_common()),
            "paused": self.paused,
            "ledger": self.ledger,
            "elapsed_seconds": round(self.elapsed, 3),
            "connections": self.connections,
            "connections_refused": self.connections_refused,
        }


class NotifyPaused(DeliveryError):
    """The run stopped and left the rest pending: a refusal not about the recipient, or
    too many failures in a row."""

    def __init__(self, report: NotifyReport, message: str, *, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.report = report
