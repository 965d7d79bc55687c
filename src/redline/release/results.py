"""What planning a release finds for each policy: a new version (:class:`PolicyRelease`), a
policy left alone (:class:`Skipped`) or one that cannot be released (:class:`Unreleasable`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import date

    from redline.compare.engine import DiffResult
    from redline.errors import RedlineError
    from redline.history.repo import Policy
    from redline.history.tags import Release
    from redline.publish.changelog import ChangelogEntry
    from redline.publish.notice import RenderedNotice


@dataclass(frozen=True)
class PolicyRelease:
    """One policy version that a release creates.

    ``previous`` is the last release (None for a first release); ``diff`` compares it with
    the released text (``text``: HEAD's text with the new effective date written in);
    ``notice_base``/``notice_diff`` are what the notice compares with (the last notified
    version). ``entry``/``entry_markdown`` are the changelog entry and its Markdown,
    ``changelog`` the changelog's repository-relative path, ``notice`` the rendered email
    (None when ``notify`` is false). ``reason`` says in one line why it gets its date and
    whether subscribers are told (the planner's decision, shown by every preview). ``data``
    and ``changelog_data`` are the exact bytes the release writes into the policy and its
    changelog.
    """

    policy: Policy
    previous: Release | None
    version: int
    tag: str
    classification: str
    effective_date: date
    date_source: str
    short_notice: bool
    notify: bool
    summary: str
    diff: DiffResult | None
    notice_base: Release | None
    notice_diff: DiffResult | None
    entry: ChangelogEntry
    entry_markdown: str
    changelog: str
    text: str
    data: bytes = b""
    changelog_data: bytes = b""
    notice: RenderedNotice | None = None
    reason: str = ""

    @property
    def notice_days(self) -> int:
        """Days between publication (the run's today) and the effective date."""
        return (self.effective_date - self.entry.published).days

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json`` and the GitHub outputs."""
        return {
            "policy": self.policy.slug,
            "path": self.policy.path,
            "version": self.version,
            "tag": self.tag,
            "previous_version": self.previous.version if self.previous else None,
            "classification": self.classification,
            "effective_date": self.effective_date.isoformat(),
            "date_source": self.date_source,
            "reason": self.reason,
            "notice_days": self.notice_days,
            "short_notice": self.short_notice,
            "notify": self.notify,
            "notice_since_version": self.notice_base.version if self.notice_base else None,
            "summary": self.summary,
            "changelog": self.changelog,
            "stats": dict(self.entry.stats),
        }


@dataclass(frozen=True)
class Skipped:
    """A policy that this release leaves alone, and why."""

    policy: Policy
    latest: Release | None
    reason: str
    date_only: bool = False  # only the effective-date line changed (redline manages it)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "policy": self.policy.slug,
            "path": self.policy.path,
            "version": self.latest.version if self.latest else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Unreleasable:
    """A changed policy that this release cannot release, and why (with the fix)."""

    policy: Policy
    error: RedlineError

    @property
    def warning(self) -> str:
        """The one line that reports it."""
        fix = f" (fix: {self.error.hint})" if self.error.hint else ""
        return f"{self.error.message}; {self.policy.path} is not released{fix}"

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "policy": self.policy.slug,
            "path": self.policy.path,
            "problem": self.error.message,
            "fix": self.error.hint,
        }
