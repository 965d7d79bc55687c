"""The notices of a release run: new releases' and earlier pending ones', sent after the push."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redline.errors import InputError, RedlineError
from redline.ledger.subscribers import policy_names, unsubscribe_link
from redline.mail.report import NotifyReport
from redline.release.messages import NOTICE_KIND, render_release_notice
from redline.release.report import NoticeResult

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.history.repo import Policy
    from redline.history.tags import Release
    from redline.ledger.store import Store
    from redline.mail.transport import Transport
    from redline.publish.notice import RenderedNotice
    from redline.release.plan import ReleasePlan
    from redline.release.report import ReleaseReport


def check_delivery(settings: Settings) -> None:
    """Refuse a release whose notices could not go out: the sender (``REDLINE_FROM`` or
    ``from_address``), and ``unsubscribe_url`` with ``REDLINE_SECRET`` (the SMTP settings
    are checked when the transport is opened)."""
    from redline.mail.settings import sender_address  # lazy: loads email_validator

    sender_address(settings)
    unsubscribe_link(settings, "check@example.com")


def open_store(plan: ReleasePlan, dry_run: bool) -> Store | None:
    from redline.ledger.store import Store  # lazy: loads SQLAlchemy

    settings = plan.settings
    if dry_run and settings.database_url is None:
        default = settings.repo_root / ".redline" / "redline.db"
        if not default.is_file():
            return None
    return Store.open(settings.database, clock=settings.env.clock)


def notices_to_finish(plan: ReleasePlan) -> list[tuple[Policy, Release]]:
    """Earlier releases that notify and have not taken effect before today.

    Only releases on HEAD's line of history count: made at or before HEAD, or after it (a
    re-run of the workflow of the merge commit a release was made from).
    """
    new = {(item.policy.slug, item.version) for item in plan.releases}
    found = []
    for policy in plan.repo.policies():
        for release in plan.repo.releases(policy):
            if (
                release.notify
                and release.effective_date >= plan.today
                and (policy.slug, release.version) not in new
                and (
                    plan.repo.is_ancestor(release.commit, plan.head)
                    or plan.repo.is_ancestor(plan.head, release.commit)
                )
            ):
                found.append((policy, release))
    return found


def send_all(
    plan: ReleasePlan,
    report: ReleaseReport,
    store: Store,
    transport: Transport | None,
    dry_run: bool,
    earlier: list[tuple[Policy, Release]],
) -> None:
    """Send the notices of earlier pending releases with work left, then of the new ones.

    The first DeliveryError or StorageError stops sending; it is kept in ``report.error``.
    """
    from redline.mail.send import send_notices  # lazy: loads yagmail

    jobs: list[tuple[Policy, int, Release | None, RenderedNotice | None]] = [
        (policy, release.version, release, None) for policy, release in earlier
    ]
    jobs += [(i.policy, i.version, None, i.notice) for i in plan.releases if i.notify]
    for policy, version, release, notice in jobs:
        result = NoticeResult(policy.slug, version, new=release is None)
        try:
            if release is not None and not dry_run and not has_work(store, policy.slug, version):
                continue
            report.notices.append(result)
            if notice is None and release is not None:
                notice = render_release_notice(
                    plan.repo, policy, release, plan.settings, plan.today, templates=plan.templates
                )
            if notice is None:  # pragma: no cover - plan_release renders every notice
                raise InputError(f"{policy.path}: v{version} has no rendered notice")
            result.report = send_notices(
                plan.settings,
                store,
                None if dry_run else transport,
                notice,
                policy=policy.slug,
                version=version,
                kind=NOTICE_KIND,
                dry_run=dry_run,
            )
        except RedlineError as problem:
            if result not in report.notices:
                report.notices.append(result)
            result.report = getattr(problem, "report", None)
            result.error = str(problem)
            report.error = problem
            report.warnings.append(
                f"notices of {policy.slug} v{version} stopped: {problem}; the release stands, "
                "and what was not sent stays pending for the next release or remind run"
            )
            return


def move_subscriptions(
    plan: ReleasePlan, report: ReleaseReport, store: Store, dry_run: bool
) -> None:
    """Before any notice is queued: subscriptions under a policy's earlier names (before a
    rename or move, or before names were paths) go to its current name."""
    renames = {old: new for old, new in policy_names(plan.repo).items() if old != new}
    moved = store.move_subscriptions(renames, dry_run=dry_run) if renames else {}
    if moved:
        pairs = ", ".join(f"{count} of {old} to {renames[old]}" for old, count in moved.items())
        report.warnings.append(
            f"{'would move' if dry_run else 'moved'} subscriptions under earlier policy "
            f"names to the current names ({pairs})"
            + ("; this dry run counts the emails without them" if dry_run else "")
        )


def count_all(
    plan: ReleasePlan,
    report: ReleaseReport,
    store: Store,
    earlier: list[tuple[Policy, Release]],
) -> None:
    """What a dry run without the delivery settings can say: how many subscribers are still
    waiting for each notice (no message can be built without a sender)."""
    jobs = [(policy.slug, release.version, False) for policy, release in earlier]
    jobs += [(item.policy.slug, item.version, True) for item in plan.releases if item.notify]
    for slug, version, new in jobs:
        counted = NotifyReport(slug, version, NOTICE_KIND, None, dry_run=True)
        counted.would_send = store.count_unnotified(slug, version, NOTICE_KIND)
        if new or counted.would_send:
            report.notices.append(NoticeResult(slug, version, counted, new=new))


def has_work(store: Store, slug: str, version: int) -> bool:
    """Queue new subscribers and recover rows of a crashed run; True if any is left to send."""
    store.queue_notices(slug, version, NOTICE_KIND)
    store.recover_in_flight(slug, version, NOTICE_KIND)
    counts = store.ledger_counts(slug, version, NOTICE_KIND)
    return counts["pending"] + counts["failed-temporary"] > 0
