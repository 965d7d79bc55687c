"""The pending change of a policy: the release ``redline release`` would make of it now.

Drafts (``redline changelog``) and previews read its version, effective date and summary
from here before anything is tagged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redline.compare.engine import diff_policy
from redline.console import LOG
from redline.document.dates import find_effective_date
from redline.errors import DateError, InputError
from redline.history.tags import Release
from redline.publish.changelog import ChangelogEntry, release_entry
from redline.publish.changelog_summary import resolve_summary

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo


@dataclass(frozen=True)
class PendingChange:
    """The policy's text since its last release: the version a release would create."""

    policy: Policy
    version: int
    previous: Release | None
    diff: DiffResult | None
    classification: str


def pending_change(repo: PolicyRepo, policy: Policy) -> PendingChange | None:
    """What a release of ``policy`` would publish now (working tree against the last release).

    None when the text is unchanged since the last release (after normalisation).
    """
    releases = repo.releases(policy)
    if not releases:
        return PendingChange(policy, 1, None, None, "material")
    previous = releases[-1]
    diff = diff_policy(repo, policy, previous.tag, None)
    if diff.classification == "none":
        return None
    return PendingChange(policy, previous.version + 1, previous, diff, diff.classification)


def stated_effective_date(
    repo: PolicyRepo, policy: Policy, settings: Settings, today: dt.date
) -> dt.date | None:
    """The effective date the working-tree policy states, or None if it states none."""
    text = repo.read_text(policy, None).text
    try:
        found = find_effective_date(
            text, settings, name=policy.path, today=today, require_date=False
        )
    except DateError as exc:
        LOG.warning("%s; proposing a date instead", exc)
        return None
    for match in found.matches:
        if match.error:
            hint = f" ({match.hint})" if match.hint else ""
            LOG.warning(
                "%s:%d: %s%s; proposing a date instead", policy.path, match.line, match.error, hint
            )
    return found.date


def proposed_effective_date(
    repo: PolicyRepo, change: PendingChange, settings: Settings, today: dt.date
) -> dt.date:
    """The effective date a release of ``change`` would get, for drafts and previews.

    A date the policy already states wins when it differs from the last release's date (the
    maintainer or ``redline release`` set it for this change). Otherwise a material change
    takes effect after ``notice_days``, and an editorial one at once, or on the date of a
    release that is still pending.
    """
    stated = stated_effective_date(repo, change.policy, settings, today)
    previous = change.previous
    if stated is not None and (previous is None or stated != previous.effective_date):
        return stated
    if change.classification == "material":
        return today + dt.timedelta(days=settings.notice_days)
    if previous is not None and previous.effective_date > today:
        return previous.effective_date
    return today


def pending_release(
    repo: PolicyRepo,
    policy: Policy,
    settings: Settings,
    *,
    summary: str | None = None,
    effective_date: dt.date | None = None,
    today: dt.date | None = None,
) -> tuple[Release, DiffResult | None] | None:
    """The release a ``redline release`` would make of ``policy`` now, and its diff.

    The release is not tagged: its ``commit`` is empty and ``published`` is ``today``.
    None when the policy is unchanged since its last release.
    """
    change = pending_change(repo, policy)
    if change is None:
        return None
    today = today or settings.env.current_date()
    previous = change.previous
    when = effective_date or proposed_effective_date(repo, change, settings, today)
    notice = dt.timedelta(days=settings.notice_days)
    release = Release(
        slug=policy.slug,
        version=change.version,
        tag=repo.tag_name(policy.slug, change.version),
        commit="",
        effective_date=when,
        classification=change.classification,
        previous_version=previous.version if previous else None,
        published=dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC),
        notify=change.classification == "material" or settings.notify_editorial,
        short_notice=change.classification == "material" and when < today + notice,
        summary=resolve_summary(
            repo,
            policy,
            change.diff,
            explicit=summary,
            since=previous.tag if previous else None,
        ),
    )
    return release, change.diff


def pending_entry(
    repo: PolicyRepo,
    policy: Policy,
    settings: Settings,
    *,
    summary: str | None = None,
    effective_date: dt.date | None = None,
    today: dt.date | None = None,
) -> ChangelogEntry:
    """The changelog entry of the pending change of ``policy`` (version = last release + 1)."""
    pending = pending_release(
        repo, policy, settings, summary=summary, effective_date=effective_date, today=today
    )
    if pending is None:
        latest = repo.latest_release(policy)
        version = latest.version if latest else 0
        raise InputError(
            f"{policy.path}: unchanged since version {version}; there is no pending change",
            hint="edit the policy first, or pass --version N for the entry of a release",
        )
    release, diff = pending
    return release_entry(repo, policy, settings, release, diff, release.summary)
