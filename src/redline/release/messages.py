"""What a release says: its tag and commit messages, and the emails of its notices."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from redline.compare.engine import diff_policy
from redline.history.tags import Release, format_release_message, notice_base, parse_release_message
from redline.publish.notice import build_notice_context, render_notice

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo
    from redline.publish.notice import RenderedNotice
    from redline.publish.templates import Templates
    from redline.release.plan import ReleasePlan
    from redline.release.results import PolicyRelease


NOTICE_KIND = "notice"
_SUBJECT_LIMIT = 72


def provisional_release(plan: ReleasePlan, item: PolicyRelease) -> Release:
    """The Release the tag of ``item`` will describe (commit: HEAD, as it is not made yet)."""
    message = tag_message(plan, item)
    return Release(
        slug=item.policy.slug,
        version=item.version,
        tag=item.tag,
        commit=plan.head,
        effective_date=item.effective_date,
        classification=item.classification,
        previous_version=item.previous.version if item.previous else None,
        published=plan.settings.env.clock(),
        notify=item.notify,
        short_notice=item.short_notice,
        summary=item.summary,
        metadata=parse_release_message(message),
    )


def with_notice(plan: ReleasePlan, item: PolicyRelease) -> PolicyRelease:
    """``item`` with its notice rendered (this also checks the templates before writing)."""
    context = notice_context(plan, item)
    return replace(item, notice=render_notice(plan.templates, context, NOTICE_KIND))


def notice_context(plan: ReleasePlan, item: PolicyRelease) -> dict[str, Any]:
    """The template context of the emails of ``item``, as release sends them."""
    release = provisional_release(plan, item)
    diff = item.notice_diff if item.notify else item.diff
    return build_notice_context(
        plan.repo, item.policy, release, diff, plan.settings, today=plan.today
    )


def render_release_notice(
    repo: PolicyRepo,
    policy: Policy,
    release: Release,
    settings: Settings,
    today: date,
    *,
    templates: Templates,
    kind: str = NOTICE_KIND,
) -> RenderedNotice:
    """The email of ``kind`` (notice, reminder or in-effect) of an existing release.

    It shows the changes since the last notified version, as the notice did; ``templates``
    is the run's template environment.
    """
    base = notice_base(repo.releases(policy), release.version)
    diff = diff_policy(repo, policy, base.tag, release.tag) if base else None
    context = build_notice_context(repo, policy, release, diff, settings, today=today)
    return render_notice(templates, context, kind)


def tag_message(plan: ReleasePlan, item: PolicyRelease) -> str:
    """The annotated tag message of ``item`` (format owned by redline.history.repo)."""
    commits = f"{item.previous.commit}..{plan.head}" if item.previous else plan.head
    return format_release_message(
        {
            "Policy": item.policy.slug,
            "Version": item.version,
            "Effective-Date": item.effective_date.isoformat(),
            "Classification": item.classification,
            "Previous-Version": item.previous.version if item.previous else "none",
            "Commits": commits,
            "Notify": "yes" if item.notify else "no",
            "Short-Notice": "yes" if item.short_notice else "no",
            "Summary": item.summary,
        }
    )


def commit_message(plan: ReleasePlan) -> str:
    """The message of the release commit: what was released, how, and from which commit."""
    names = ", ".join(f"{item.policy.slug} v{item.version}" for item in plan.releases)
    subject = f"redline: release {names}"
    if len(subject) > _SUBJECT_LIMIT:
        subject = f"redline: release {len(plan.releases)} policies"
    lines = [subject, ""]
    for item in plan.releases:
        how = f"{item.classification} change, effective {item.effective_date.isoformat()}"
        since = f"v{item.previous.version}" if item.previous else "first version"
        extra = ", short notice" if item.short_notice else ""
        notify = "subscribers notified" if item.notify else "subscribers not emailed"
        lines.append(
            f"- {item.policy.path}: v{item.version} ({since}), {how} "
            f"({item.date_source}{extra}); {notify}"
        )
    lines += [
        "",
        "Sets the effective dates and adds the changelog entries. Released from",
        f"commit {plan.head} by redline.",
    ]
    return "\n".join(lines) + "\n"
