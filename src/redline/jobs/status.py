"""``redline status``: per policy, the version in effect, the pending one, and its notices.

For every policy (or one):

* the current version: the newest release whose effective date is today or earlier;
* pending versions: releases whose effective date is after today, with the days left;
* the notices of the current and pending versions that notify, per kind (notice, reminder,
  in-effect): sent, failed (temporarily, to be retried, or permanently) and pending, from
  the ledger;
* whether the text at HEAD differs from the last release, as ``redline release`` would see
  it (:func:`redline.release.plan_release`);
* the effective date in the working tree, how its numeric order was decided, and the
  problem when it cannot be read or a new one cannot be written
  (:func:`redline.document.dates.inspect_policy_date`);
* warnings: subscribers not yet notified while the date approaches, those who can no
  longer get the full notice period, permanent failures, short notice, unreleased text,
  never-released policies.

Status only reads: it never queues, sends or writes anything. Without a database (no
``REDLINE_DATABASE_URL`` and no ``.redline/redline.db`` yet) notice counts are unknown. The
release plan, which classifies unreleased text as ``redline release`` would, is worked out
only when a released policy's text changed since its release. The report's shape is in
:mod:`redline.jobs.status_report`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from redline.compare.engine import diff_policy
from redline.document.dates import RepositoryOrders
from redline.errors import InputError, Problem, RedlineError
from redline.history.git import SHALLOW_HINT
from redline.history.policy_dates import read_policy_date, repository_orders
from redline.jobs.status_report import (
    NoticeCounts,
    PolicyStatus,
    StatusReport,
    VersionStatus,
)
from redline.release import plan_release
from redline.vocab import NOTICE_KINDS

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo
    from redline.history.tags import Release
    from redline.ledger.store import Store
    from redline.release import ReleasePlan


def open_ledger(settings: Settings) -> Store | None:
    """The notice database, or None when the default SQLite file does not exist yet."""
    from redline.ledger.store import Store  # lazy: loads SQLAlchemy

    if settings.database_url is None:
        default = settings.repo_root / ".redline" / "redline.db"
        if not default.is_file():
            return None
    return Store.open(settings.database, clock=settings.env.clock)


def collect_status(
    repo: PolicyRepo,
    settings: Settings,
    *,
    today: date,
    policy: str | None = None,
    store: Store | None = None,
) -> StatusReport:
    """The status of every policy (or of ``policy``) on ``today``; reads ``store`` if given."""
    policies = [repo.resolve(policy)] if policy else repo.policies()
    report = StatusReport(
        today=today,
        branch=_branch(repo),
        database=store.label if store is not None else None,
        policies=[],
        shallow=repo.is_shallow(),
    )
    if report.shallow:
        report.warnings.append(
            "history is missing: release tags and earlier revisions may not be here, so "
            f"'never released' and the dates' evidence may be wrong ({SHALLOW_HINT})"
        )
    if store is None:
        report.warnings.append(
            "no subscriber database yet (set REDLINE_DATABASE_URL, or add subscribers): "
            "notice counts are unknown"
        )
    context = _Context(repo, settings, today, store, report, RepositoryOrders())
    for item in policies:
        report.policies.append(_policy_status(context, item))
    if policy is not None:  # one policy: the others are read only if its date needs them
        context.orders = repository_orders(repo)
    _dates_from_the_repository(context)
    return report


def _dates_from_the_repository(context: _Context) -> None:
    """Settle the dates no policy evidence decided with what the other policies write.

    The orders come from the first pass (each policy's text, history, config or locale),
    so no policy is read or scanned twice; nor is its history, which gave nothing.
    """
    undecided = [
        item
        for item in context.report.policies
        if item.date is not None and item.date.evidence.needed and item.date.evidence.order is None
    ]
    if not undecided:
        return
    for item in context.report.policies:
        if item.date is not None and item.date.evidence.order is not None:
            context.orders.learn(item.policy.path, item.date.options, item.date.evidence.order)
    for item in undecided:
        assert item.date is not None
        if item.date.problem is not None:
            item.problems.remove(item.date.problem)
        _date(item, context, repository=context.orders)


@dataclass
class _Context:
    """What every policy's status shares; the release plan is worked out once, if needed."""

    repo: PolicyRepo
    settings: Settings
    today: date
    store: Store | None
    report: StatusReport
    orders: RepositoryOrders
    _plan: ReleasePlan | None = None
    _planned: bool = False

    def plan(self) -> ReleasePlan | None:
        """The release a run would make now (None, with a warning, when it would stop)."""
        if not self._planned:
            self._planned = True
            try:
                self._plan = plan_release(self.repo, self.settings, self.today)
            except RedlineError as error:
                self.report.warnings.append(f"`redline release` would stop now: {error}")
        return self._plan


def _branch(repo: PolicyRepo) -> str:
    """The checked-out branch, or ``HEAD`` when detached (plain git: GitPython loads slowly)."""
    result = subprocess.run(
        ["git", "symbolic-ref", "--quiet", "--short", "HEAD"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if not result.returncode else "HEAD"


def _policy_status(context: _Context, policy: Policy) -> PolicyStatus:
    repo, settings, today, store = context.repo, context.settings, context.today, context.store
    releases = repo.releases(policy)
    in_effect = [r for r in releases if r.effective_date <= today]
    current = _version(in_effect[-1], today, store, settings) if in_effect else None
    pending = [_version(r, today, store, settings) for r in releases if r.effective_date > today]
    status = PolicyStatus(policy, current, pending)
    _date(status, context)
    if not releases:
        status.warnings.append(
            "no release tags in this shallow clone (fetch the history to see its releases)"
            if context.report.shallow
            else "never released: `redline init` records the current text as a baseline, "
            "`redline release` releases it as v1"
        )
    _unreleased(status, context, releases)
    for version in pending:
        _pending_warnings(status, version, repo.settings_for(policy))
    if current is not None and current.notices is not None:
        _ledger_warnings(status, current)
    return status


def _version(
    release: Release, today: date, store: Store | None, settings: Settings
) -> VersionStatus:
    version = VersionStatus(release, (release.effective_date - today).days)
    if store is not None and release.notify:
        version.notices = {
            kind: NoticeCounts(store.ledger_counts(release.slug, release.version, kind))
            for kind in NOTICE_KINDS
        }
        version.not_notified = store.count_unnotified(release.slug, release.version, "notice")
    return version


def _date(
    status: PolicyStatus, context: _Context, *, repository: RepositoryOrders | None = None
) -> None:
    """The policy's date in the working tree (else at HEAD) and its problem, if any.

    Without ``repository`` the policy's history is evidence; with it, only the others are.
    """
    repo, policy = context.repo, status.policy
    try:
        text = repo.read_text(policy, None if policy.abspath.exists() else "HEAD").text
    except InputError as error:
        status.problems.append(Problem.from_error(error, path=policy.path))
        return
    status.date = read_policy_date(
        repo,
        policy,
        text,
        orders=repository,
        today=context.today,
        history=repository is None,
    )
    if status.date.problem is not None:
        status.problems.append(status.date.problem)


def _unreleased(status: PolicyStatus, context: _Context, releases: list[Release]) -> None:
    if not releases:
        return
    repo, policy, latest = context.repo, status.policy, releases[-1]
    if _same_blob(repo, policy, latest):
        return
    plan = context.plan()
    if plan is not None:
        item = next((i for i in plan.releases if i.policy.path == policy.path), None)
        if item is None:
            skipped = next((u for u in plan.unreleasable if u.policy.path == policy.path), None)
            known = {problem.message for problem in status.problems}
            if skipped is not None and skipped.error.message not in known:
                status.warnings.append(f"`redline release` would leave it out: {skipped.warning}")
            return
        classification, version = item.classification, item.version
        status.next_release = item.to_json()
        told = "notifying subscribers" if item.notify else "not notifying subscribers"
        planned = f", effective {item.effective_date.isoformat()}, {told} ({item.reason})"
    else:
        classification = diff_policy(repo, policy, latest.tag, "HEAD").classification
        if classification == "none":
            return
        version, planned = latest.version + 1, ""
    status.unreleased, status.next_version = classification, version
    status.warnings.append(
        f"text on {context.report.branch} differs from the last release (v{latest.version}): a "
        f"{classification} change that `redline release` would publish as v{version}{planned}"
    )


def _same_blob(repo: PolicyRepo, policy: Policy, release: Release) -> bool:
    """True when the policy at HEAD is byte for byte its text at ``release``."""
    try:
        head = repo.read_text(policy, "HEAD")
        released = repo.read_text(policy, release.commit)
    except RedlineError:
        return False
    return head.blob == released.blob


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
    _ledger_warnings(status, version)


def _ledger_warnings(status: PolicyStatus, version: VersionStatus) -> None:
    """Warnings for notices of ``version`` that failed permanently or whose fate is unknown."""
    if version.notices is None:
        return
    counts, slug, number = version.notices["notice"], status.policy.slug, version.release.version
    if counts.failed_permanent:
        status.warnings.append(
            f"{_notices(counts.failed_permanent)} of v{number} failed permanently "
            f"(`redline notices {slug} --version {number}` lists them; "
            f"`redline notify {slug} --version {number} --retry-failed` re-queues them)"
        )
    if counts.unknown:
        status.warnings.append(
            f"{_notices(counts.unknown)} of v{number} may or may not have been delivered (the "
            f"server never answered DATA); `redline notify {slug} --version {number} "
            "--resend-unknown` sends them again"
        )


def _notices(count: int) -> str:
    return f"{count} notice{'s' if count != 1 else ''}"
