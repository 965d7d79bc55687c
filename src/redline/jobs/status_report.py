"""The report of ``redline status``: each policy's versions, notice counts, date and problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redline.document.dates import PolicyDate
    from redline.errors import Problem
    from redline.history.repo import Policy
    from redline.history.tags import Release


@dataclass(frozen=True)
class NoticeCounts:
    """Ledger rows of one (policy, version, kind) by state."""

    states: dict[str, int]

    @property
    def sent(self) -> int:
        """Messages accepted by the server (or written to the outbox)."""
        return self.states.get("sent", 0)

    @property
    def failed(self) -> int:
        """Temporary and permanent failures."""
        return self.failed_temporary + self.failed_permanent

    @property
    def failed_temporary(self) -> int:
        """Failures that the next release or remind run retries."""
        return self.states.get("failed-temporary", 0)

    @property
    def failed_permanent(self) -> int:
        """Failures that are never retried (5xx replies, bad addresses)."""
        return self.states.get("failed-permanent", 0)

    @property
    def unknown(self) -> int:
        """Messages whose fate is unknown (the server's reply to DATA never came)."""
        return self.states.get("unknown", 0)

    @property
    def bounced(self) -> int:
        """Messages accepted, then returned by a delivery status notification."""
        return self.states.get("bounced", 0)

    @property
    def pending(self) -> int:
        """Queued and not sent yet (including rows a crashed run left 'sending')."""
        return self.states.get("pending", 0) + self.states.get("sending", 0)

    @property
    def total(self) -> int:
        """Rows of every state except cancelled."""
        return sum(n for state, n in self.states.items() if state != "cancelled")

    def to_json(self) -> dict[str, int]:
        """Plain data for ``--json``."""
        return {
            "sent": self.sent,
            "failed_temporary": self.failed_temporary,
            "failed_permanent": self.failed_permanent,
            "unknown": self.unknown,
            "bounced": self.bounced,
            "pending": self.pending,
            "cancelled": self.states.get("cancelled", 0),
        }


@dataclass
class VersionStatus:
    """A release of a policy with its days left and notice counts."""

    release: Release
    days_left: int
    notices: dict[str, NoticeCounts] | None = None
    not_notified: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        release = self.release
        return {
            "version": release.version,
            "tag": release.tag,
            "effective_date": release.effective_date.isoformat(),
            "days_left": self.days_left,
            "classification": release.classification,
            "notify": release.notify,
            "short_notice": release.short_notice,
            "notices": (
                {kind: counts.to_json() for kind, counts in self.notices.items()}
                if self.notices is not None
                else None
            ),
            "not_notified": self.not_notified,
        }


@dataclass
class PolicyStatus:
    """Everything ``status`` says about one policy."""

    policy: Policy
    current: VersionStatus | None
    pending: list[VersionStatus]
    unreleased: str | None = None
    next_version: int | None = None
    next_release: dict[str, Any] | None = None  # what the release plan makes of it
    warnings: list[str] = field(default_factory=list)
    date: PolicyDate | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def needs_action(self) -> bool:
        """True when the policy has a problem or a warning someone should act on."""
        return bool(self.problems or self.warnings)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "policy": self.policy.slug,
            "path": self.policy.path,
            "effective_date": self.date.to_json() if self.date else None,
            "problems": [problem.to_json() for problem in self.problems],
            "needs_action": self.needs_action,
            "current": self.current.to_json() if self.current else None,
            "pending": [version.to_json() for version in self.pending],
            "unreleased_change": (
                {
                    "classification": self.unreleased,
                    "version": self.next_version,
                    "release": self.next_release,
                }
                if self.unreleased
                else None
            ),
            "warnings": self.warnings,
        }


@dataclass
class StatusReport:
    """The status of the policies of a repository on ``today``."""

    today: date
    branch: str
    database: str | None
    policies: list[PolicyStatus]
    warnings: list[str] = field(default_factory=list)
    shallow: bool = False

    def summary(self) -> dict[str, int]:
        """Counts over the policies: in effect, pending, never released, needing action."""
        return {
            "policies": len(self.policies),
            "in_effect": sum(1 for p in self.policies if p.current is not None),
            "pending": sum(1 for p in self.policies if p.pending),
            "never_released": sum(1 for p in self.policies if p.current is None and not p.pending),
            "unreleased_changes": sum(1 for p in self.policies if p.unreleased),
            "date_problems": sum(1 for p in self.policies if p.problems),
            "needing_action": sum(1 for p in self.policies if p.needs_action),
        }

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "today": self.today.isoformat(),
            "branch": self.branch,
            "database": self.database,
            "shallow": self.shallow,
            "summary": self.summary(),
            "policies": [p.to_json() for p in self.policies],
            "warnings": self.warnings,
        }
