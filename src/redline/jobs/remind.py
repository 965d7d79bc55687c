"""``redline remind``: the daily job between a release and its effective date.

The rules, exactly (the README quotes them). They apply to every release tagged
``Notify: yes``; ``days left`` is the effective date minus today.

Notices
    While the effective date is ahead, every run sends the notice to each active subscriber
    of the policy who has not had it: rows left ``pending`` or ``failed-temporary`` by the
    release or an earlier run, rows a crashed run left ``sending``, and subscribers who
    joined since (:func:`redline.mail.send.send_notices`). From the effective day on, the
    notice is no longer sent.

Reminders (material releases)
    Config ``remind_days`` (default ``[7]``; ``[]`` disables reminders) lists the days left
    on which a reminder goes out. A reminder day counts only if it comes after the day the
    release was published (a release made with 5 days of notice gets no 7-day reminder).
    A run sends the reminder on a reminder day; a run that finds a reminder day passed with
    no reminder sent at all (a missed daily run) catches up, while the date is still
    ahead. Reminders left pending or failed temporarily are retried daily while the date is
    ahead. There is one reminder per subscriber and version (the ledger keys rows by kind),
    so with several reminder days, later ones reach only those who have not had one.

In effect (material releases, config ``send_in_effect``)
    The "now in effect" notice goes out on the effective day; a run up to
    :data:`IN_EFFECT_GRACE_DAYS` days later catches up or retries.

Short notice
    For each version whose date is ahead, subscribers who are notified with fewer days left
    than the notice the release gave (its notice period, at most ``notice_days``), and
    those still not notified in that window, are counted and reported; no address is ever
    printed (``redline notices`` has the evidence).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import DeliveryError, RedlineError, StorageError
from redline.history.repo import PolicyRepo
from redline.jobs.status import open_ledger
from redline.release import render_release_notice
from redline.vocab import NoticeKind

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.history.repo import Policy
    from redline.history.tags import Release
    from redline.ledger.store import Store
    from redline.mail.report import NotifyReport
    from redline.mail.transport import Transport

LOG = logging.getLogger("redline.jobs.remind")

#: Days after the effective date on which a missed or failed in-effect notice is still sent.
IN_EFFECT_GRACE_DAYS = 3
_RETRY_STATES = ("pending", "sending", "failed-temporary")


@dataclass(frozen=True)
class RemindJob:
    """One kind of notice of one release that this run sends, and why."""

    policy: Policy
    release: Release
    kind: str
    reason: str


@dataclass
class JobResult:
    """What sending one job did."""

    job: RemindJob
    report: NotifyReport | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "policy": self.job.policy.slug,
            "version": self.job.release.version,
            "kind": self.job.kind,
            "reason": self.job.reason,
            "report": self.report.to_json() if self.report else None,
            "error": self.error,
        }


@dataclass(frozen=True)
class ShortNotice:
    """Subscribers of a pending version who cannot get the notice period it promised."""

    policy: str
    version: int
    effective_date: date
    days_left: int
    required: int
    notified_late: int
    waiting: int
    dry_run: bool = False

    def describe(self) -> str:
        """One line for people."""
        parts = []
        if self.notified_late:
            parts.append(
                f"{self.notified_late} subscriber{_s(self.notified_late)} "
                f"{'would be ' if self.dry_run else ''}notified with only "
                f"{self.days_left} day{_s(self.days_left)} of notice"
            )
        if self.waiting > 0:
            parts.append(f"{self.waiting} still not notified")
        return (
            f"{self.policy} v{self.version} (effective {self.effective_date.isoformat()}): "
            f"{' and '.join(parts)}; {self.required} days were promised, so they can no "
            "longer get the full notice period"
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json`` (counts only, never addresses)."""
        return {
            "policy": self.policy,
            "version": self.version,
            "effective_date": self.effective_date.isoformat(),
            "days_left": self.days_left,
            "notice_days_promised": self.required,
            "notified_late": self.notified_late,
            "not_notified": max(self.waiting, 0),
        }


@dataclass
class RemindReport:
    """What a remind run did (or, with ``dry_run``, would do)."""

    today: date
    dry_run: bool
    jobs: list[RemindJob] = field(default_factory=list)
    results: list[JobResult] = field(default_factory=list)
    short_notice: list[ShortNotice] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: RedlineError | None = None

    @property
    def sent(self) -> int:
        """Messages sent in this run."""
        return sum(r.report.sent for r in self.results if r.report)

    @property
    def failed(self) -> int:
        """Messages that failed in this run."""
        return sum(r.report.failed for r in self.results if r.report)

    @property
    def would_send(self) -> int:
        """Messages a dry run would send."""
        return sum(r.report.would_send for r in self.results if r.report)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "today": self.today.isoformat(),
            "dry_run": self.dry_run,
            "jobs": [result.to_json() for result in self.results],
            "sent": self.sent,
            "failed": self.failed,
            "would_send": self.would_send if self.dry_run else None,
            "short_notice": [item.to_json() for item in self.short_notice],
            "warnings": self.warnings,
            "error": str(self.error) if self.error else None,
        }


def _s(count: int) -> str:
    return "" if count == 1 else "s"


# --- what is due ------------------------------------------------------------------------------


def reminder_days(release: Release, remind_days: tuple[int, ...]) -> list[date]:
    """The reminder days of ``release`` that come after its publication, earliest first."""
    published = release.published.date()
    days = {release.effective_date - timedelta(days=n) for n in remind_days if n > 0}
    return sorted(day for day in days if day > published)


def _retry_left(store: Store, release: Release, kind: str) -> int:
    counts = store.ledger_counts(release.slug, release.version, kind)
    return sum(counts[state] for state in _RETRY_STATES)


def _has_rows(store: Store, release: Release, kind: str) -> bool:
    counts = store.ledger_counts(release.slug, release.version, kind)
    return sum(counts.values()) > 0


def due_jobs(repo: PolicyRepo, settings: Settings, store: Store, today: date) -> list[RemindJob]:
    """Every notice, reminder and in-effect notice due today (reads the ledger, writes nothing)."""
    jobs: list[RemindJob] = []
    for policy in repo.policies():
        for release in repo.releases(policy):
            if release.notify:
                jobs.extend(_jobs_for(policy, release, settings, store, today))
    return jobs


def _jobs_for(
    policy: Policy, release: Release, settings: Settings, store: Store, today: date
) -> list[RemindJob]:
    jobs: list[RemindJob] = []
    effective = release.effective_date
    material = release.classification == "material"
    if effective > today:
        waiting = store.count_unnotified(release.slug, release.version, "notice")
        if waiting:
            jobs.append(
                RemindJob(policy, release, "notice", f"{waiting} subscriber{_s(waiting)} waiting")
            )
        if material:
            reason = _reminder_reason(release, settings, store, today)
            if reason:
                jobs.append(RemindJob(policy, release, "reminder", reason))
    elif material and settings.send_in_effect:
        late = (today - effective).days
        if late <= IN_EFFECT_GRACE_DAYS:
            if not _has_rows(store, release, NoticeKind.IN_EFFECT.value):
                why = "effective today" if late == 0 else f"effective {late} days ago (catch-up)"
                jobs.append(RemindJob(policy, release, NoticeKind.IN_EFFECT.value, why))
            elif _retry_left(store, release, NoticeKind.IN_EFFECT.value):
                jobs.append(RemindJob(policy, release, NoticeKind.IN_EFFECT.value, "retry"))
    return jobs


def _reminder_reason(release: Release, settings: Settings, store: Store, today: date) -> str | None:
    days = reminder_days(release, settings.remind_days)
    left = (release.effective_date - today).days
    if today in days:
        waiting = store.count_unnotified(release.slug, release.version, "reminder")
        return f"{left} day{_s(left)} left" if waiting else None
    passed = [day for day in days if day < today]
    if passed and not _has_rows(store, release, "reminder"):
        missed = (release.effective_date - passed[-1]).days
        return f"catch-up: the {missed}-day reminder was not sent"
    if _retry_left(store, release, "reminder"):
        return "retry"
    return None


# --- the run ----------------------------------------------------------------------------------


def run_remind(
    settings: Settings,
    *,
    today: date,
    dry_run: bool = False,
    outbox: Path | None = None,
    transport: Transport | None = None,
    store: Store | None = None,
) -> RemindReport:
    """Send what is due today; report subscribers who cannot get the full notice period.

    A DeliveryError or StorageError while sending stops the run; it is kept in
    ``report.error`` (the caller prints the report, then exits non-zero).
    """
    repo = PolicyRepo(settings)
    report = RemindReport(today=today, dry_run=dry_run)
    own_store = store is None
    if store is None:
        store = open_ledger(settings)
    if store is None:
        report.warnings.append(
            "no subscriber database yet (.redline/redline.db, or set REDLINE_DATABASE_URL): "
            "nothing to send"
        )
        return report
    try:
        report.jobs = due_jobs(repo, settings, store, today)
        if report.jobs and not dry_run and transport is None:
            from redline.mail.send import open_transport  # lazy: loads yagmail

            transport = open_transport(settings, outbox)
        _send(repo, settings, store, transport, report)
        report.short_notice = _short_notice(repo, settings, store, report)
    finally:
        if own_store:
            store.close()
    return report


def _send(
    repo: PolicyRepo,
    settings: Settings,
    store: Store,
    transport: Transport | None,
    report: RemindReport,
) -> None:
    from redline.mail.send import send_notices  # lazy: loads yagmail
    from redline.publish.templates import Templates  # lazy: loads jinja2

    if not report.jobs:
        return
    templates = Templates(settings)
    for job in report.jobs:
        result = JobResult(job)
        report.results.append(result)
        try:
            notice = render_release_notice(
                repo,
                job.policy,
                job.release,
                settings,
                report.today,
                templates=templates,
                kind=job.kind,
            )
            result.report = send_notices(
                settings,
                store,
                None if report.dry_run else transport,
                notice,
                policy=job.release.slug,
                version=job.release.version,
                kind=job.kind,
                dry_run=report.dry_run,
            )
        except (DeliveryError, StorageError) as problem:
            result.report = getattr(problem, "report", None)
            result.error = str(problem)
            report.error = problem
            report.warnings.append(
                f"stopped at the {job.kind} of {job.release.slug} v{job.release.version}: "
                f"{problem}; what was not sent stays pending for the next run"
            )
            return


def _short_notice(
    repo: PolicyRepo, settings: Settings, store: Store, report: RemindReport
) -> list[ShortNotice]:
    today = report.today
    found: list[ShortNotice] = []
    notices = {
        (r.job.release.slug, r.job.release.version): r.report
        for r in report.results
        if r.job.kind == "notice" and r.report is not None
    }
    for policy in repo.policies():
        for release in repo.releases(policy):
            left = (release.effective_date - today).days
            if not release.notify or left <= 0:
                continue
            promised = (release.effective_date - release.published.date()).days
            required = max(0, min(settings.notice_days, promised))
            if left >= required:
                continue
            run = notices.get((release.slug, release.version))
            late = (run.would_send if report.dry_run else run.sent) if run else 0
            waiting = store.count_unnotified(release.slug, release.version, "notice")
            if report.dry_run:
                waiting -= late
            if late or waiting > 0:
                found.append(
                    ShortNotice(
                        policy.slug,
                        release.version,
                        release.effective_date,
                        left,
                        required,
                        late,
                        waiting,
                        dry_run=report.dry_run,
                    )
                )
    return found
