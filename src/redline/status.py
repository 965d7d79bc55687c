"""``redline status``: per policy, the version in effect, the pending one, and its notices.

For every policy (or one):

* the current version: the newest release whose effective date is today or earlier;
* pending versions: releases whose effective date is after today, with the days left;
* the notices of the current and pending versions that notify, per kind (notice, reminder,
  in-effect): sent, failed (temporarily, to be retried, or permanently) and pending, from
  the ledger;
* whether the text at HEAD differs from the last release, as ``redline release`` would see
  it (:func:`redline.release.plan_release`);
* warnings: subscribers not yet notified while the date approaches, those who can no
  longer get the full notice period, permanent failures, short notice, unreleased text,
  never-released policies.

Status only reads: it never queues, sends or writes anything. Without a database (no
``REDLINE_DATABASE_URL`` and no ``.redline/redline.db`` yet) notice counts are unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from redline.errors import RedlineError

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.history import Policy, PolicyRepo, Release
    from redline.release import ReleasePlan
    from redline.store import Store

KINDS = ("notice", "reminder", "in-effect")


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
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "policy": self.policy.slug,
            "path": self.policy.path,
            "current": self.current.to_json() if self.current else None,
            "pending": [version.to_json() for version in self.pending],
            "unreleased_change": (
                {"classification": self.unreleased, "version": self.next_version}
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

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "today": self.today.isoformat(),
            "branch": self.branch,
            "database": self.database,
            "policies": [p.to_json() for p in self.policies],
            "warnings": self.warnings,
        }


def open_ledger(settings: Settings) -> Store | None:
    """The notice database, or None when the default SQLite file does not exist yet."""
    from redline.store import Store

    if settings.database_url is None:
        default = settings.repo_root / ".redline" / "redline.db"
        if not default.is_file():
            return None
    return Store.open(settings.database)


def collect_status(
    repo: PolicyRepo,
    settings: Settings,
    *,
    today: date,
    policy: str | None = None,
    store: Store | None = None,
) -> StatusReport:
    """The status of every policy (or of ``policy``) on ``today``; reads ``store`` if given."""
    from redline.release import plan_release

    policies = [repo.resolve(policy)] if policy else repo.policies()
    report = StatusReport(
        today=today,
        branch=_branch(repo),
        database=store.label if store is not None else None,
        policies=[],
    )
    if store is None:
        report.warnings.append(
            "no subscriber database yet (set REDLINE_DATABASE_URL, or add subscribers): "
            "notice counts are unknown"
        )
    plan: ReleasePlan | None = None
    try:
        plan = plan_release(repo, settings, today)
    except RedlineError as error:
        report.warnings.append(f"`redline release` would stop now: {error}")
    for item in policies:
        report.policies.append(_policy_status(repo, settings, item, today, store, plan, report))
    return report


def _branch(repo: PolicyRepo) -> str:
    try:
        return repo.repo.active_branch.name
    except TypeError:
        return "HEAD"


def _policy_status(
    repo: PolicyRepo,
    settings: Settings,
    policy: Policy,
    today: date,
    store: Store | None,
    plan: ReleasePlan | None,
    report: StatusReport,
) -> PolicyStatus:
    releases = repo.releases(policy)
    in_effect = [r for r in releases if r.effective_date <= today]
    current = _version(in_effect[-1], today, store, settings) if in_effect else None
    pending = [_version(r, today, store, settings) for r in releases if r.effective_date > today]
    status = PolicyStatus(policy, current, pending)
    if not releases:
        status.warnings.append(
            "never released: `redline init` records the current text as a baseline, "
            "`redline release` releases it as v1"
        )
    _unreleased(status, repo, policy, releases, plan, report.branch)
    for version in pending:
        _pending_warnings(status, version, settings)
    if current is not None and current.notices is not None:
        failed = current.notices["notice"].failed_permanent
        if failed:
            status.warnings.append(_permanent(policy, current.release, failed))
    return status


def _version(
    release: Release, today: date, store: Store | None, settings: Settings
) -> VersionStatus:
    version = VersionStatus(release, (release.effective_date - today).days)
    if store is not None and release.notify:
        version.notices = {
            kind: NoticeCounts(store.ledger_counts(release.slug, release.version, kind))
            for kind in KINDS
        }
        version.not_notified = store.count_unnotified(release.slug, release.version, "notice")
    return version


def _unreleased(
    status: PolicyStatus,
    repo: PolicyRepo,
    policy: Policy,
    releases: list[Release],
    plan: ReleasePlan | None,
    branch: str,
) -> None:
    if not releases:
        return
    latest = releases[-1]
    if plan is not None:
        item = next((i for i in plan.releases if i.policy.path == policy.path), None)
        if item is None:
            return
        classification, version = item.classification, item.version
    else:
        from redline.diff import diff_policy

        classification = diff_policy(repo, policy, latest.tag, "HEAD").classification
        if classification == "none":
            return
        version = latest.version + 1
    status.unreleased, status.next_version = classification, version
    status.warnings.append(
        f"text on {branch} differs from the last release (v{latest.version}): a "
        f"{classification} change that `redline release` would publish as v{version}"
    )


def _pending_warnings(status: PolicyStatus, version: VersionStatus, settings: Settings) -> None:
    release = version.release
    days = version.days_left
    if release.short_notice:
        status.warnings.append(
            f"v{release.version} was released with short notice (effective "
            f"{release.effective_date.isoformat()})"
        )
    if version.notices is None or not release.notify:
        return
    missing = version.not_notified or 0
    if missing:
        line = (
            f"{missing} subscriber{'s' if missing != 1 else ''} not yet notified of "
            f"v{release.version} and {days} day{'s' if days != 1 else ''} left"
        )
        if days < settings.notice_days:
            line += f"; they can no longer get the full {settings.notice_days} days of notice"
        status.warnings.append(line)
    failed = version.notices["notice"].failed_permanent
    if failed:
        status.warnings.append(_permanent(status.policy, release, failed))


def _permanent(policy: Policy, release: Release, failed: int) -> str:
    return (
        f"{failed} notice{'s' if failed != 1 else ''} of v{release.version} failed permanently "
        f"(`redline notices {policy.slug} --version {release.version}` lists them)"
    )
