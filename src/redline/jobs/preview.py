"""``redline preview``: the pull-request comment that shows what merging would release.

For every policy the release would publish if the pull request were merged now
(:func:`redline.release.plan_release` on HEAD), and every policy the pull request changes
(:func:`redline.jobs.check.check_policies` against the base), the comment shows:

* the classification and the version the release would create;
* the effective date the release would set, and the notice-window result of ``redline check``;
* the redline (:func:`redline.compare.views.render_markdown`);
* the subject and the plain text of the notice email, addressed to a placeholder recipient.

The body starts with :data:`MARKER`, so the workflow can find and update its one comment, and
stays under GitHub's comment limit (:data:`COMMENT_LIMIT`): when it would not, the redlines and
email texts are cut at line boundaries, fairly, each with a pointer to the full HTML redline.

Preview needs no secrets and reads no subscriber data: it opens no database and no SMTP
connection, and the unsubscribe link is a sample (``unsubscribe_url`` with token
:data:`~redline.jobs.sample_email.SAMPLE_TOKEN`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.compare.engine import diff_policy
from redline.files import atomic_write
from redline.history.repo import Policy
from redline.jobs.check import Planned, check_policies
from redline.jobs.sample_email import SampleAddressing
from redline.mail.message import MESSAGE_POLICY
from redline.publish.redline_page import reader_sides, render_redline_page
from redline.publish.templates import Templates

if TYPE_CHECKING:
    from email.message import EmailMessage

    from redline.compare.engine import DiffResult
    from redline.config import Settings
    from redline.history.repo import PolicyRepo
    from redline.jobs.check_report import CheckReport, PolicyCheck
    from redline.release import PolicyRelease, ReleasePlan

LOG = logging.getLogger("redline.jobs.preview")

MARKER = "<!-- redline-preview -->"
#: GitHub refuses issue and pull-request comments longer than this many characters.
COMMENT_LIMIT = 65_536
#: Room left for what a workflow adds around the body (a footer with the run link).
RESERVE = 1_536


@dataclass
class PolicyPreview:
    """What the comment says about one policy."""

    policy: Policy
    release: PolicyRelease | None = None
    skipped: str | None = None
    check: PolicyCheck | None = None
    diff: DiffResult | None = None
    diff_label: str = ""
    message: EmailMessage | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def in_pull_request(self) -> bool:
        """True when the pull request itself changes this policy."""
        return self.check is not None

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        item = self.release
        return {
            "policy": self.policy.slug,
            "path": self.policy.path,
            "changed_in_pull_request": self.in_pull_request,
            "release": item.to_json() if item else None,
            "not_released": self.skipped,
            "check": self.check.to_json() if self.check else None,
            "redline_against": self.diff_label or None,
            "email_subject": str(self.message["Subject"]) if self.message else None,
            "files": [str(path) for path in self.files],
        }


@dataclass
class Preview:
    """The preview of a pull request: per policy, and the comment body."""

    check: CheckReport
    today: date
    policies: list[PolicyPreview]
    plan_error: str | None = None
    warnings: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    body: str = ""
    full_body: str = ""
    truncated: bool = False
    files: list[Path] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "base": {"ref": self.check.base_ref, "commit": self.check.base_commit},
            "today": self.today.isoformat(),
            "check_status": self.check.status,
            "release_error": self.plan_error,
            "not_released": self.left_out,
            "policies": [p.to_json() for p in self.policies],
            "truncated": self.truncated,
            "length": len(self.body),
            "files": [str(path) for path in self.files],
            "warnings": self.warnings,
        }


# --- collecting ------------------------------------------------------------------------------


def build_preview(
    repo: PolicyRepo,
    settings: Settings,
    *,
    today: date,
    base: str | None = None,
    output_dir: Path | None = None,
    pointer: str | None = None,
    limit: int = COMMENT_LIMIT - RESERVE,
    allow_short_notice: bool = False,
) -> Preview:
    """Work out the preview, render the comment body and, with ``output_dir``, write files.

    ``pointer`` says where the full HTML redline can be found when the body is cut (default:
    ``output_dir``, else how to produce it). ``allow_short_notice`` plans as
    ``redline release --allow-short-notice`` would.
    """
    from redline.jobs.preview_comment import render_body  # cycle: it imports MARKER from here

    planned = Planned.of(
        repo, settings, today, worktree=False, allow_short_notice=allow_short_notice
    )
    check = check_policies(repo, settings, base=base, today=today, planned=planned)
    warnings: list[str] = []
    dirty = [root for root in settings.policies_dir if repo.uncommitted([root])]
    if dirty:
        warnings.append(
            f"uncommitted changes under {', '.join(f'{root}/' for root in dirty)}: the "
            "preview and its notice-window check show what HEAD would release"
        )
    plan, plan_error = planned.plan, planned.error
    previews = _collect(repo, settings, check, plan)
    sample = SampleAddressing.of(settings)
    for preview in previews:
        item = preview.release
        if item is not None and item.notice is not None:
            preview.message = sample.message(
                item.notice, policy=item.policy.slug, version=item.version, kind="notice"
            )
    left_out = [item.warning for item in plan.unreleasable] if plan is not None else []
    if plan is not None:
        warnings.extend(w for w in plan.warnings if w not in left_out)
    result = Preview(check, today, previews, plan_error, warnings, left_out)
    if output_dir is not None:
        result.files = write_files(result, output_dir, repo, settings)
    result.full_body = render_body(result, pointer=None, limit=None)
    if pointer is None:
        pointer = (
            f"`{output_dir}`"
            if output_dir is not None
            else "`redline preview -o DIR` (or `redline diff POLICY --format html -o FILE`)"
        )
    result.body = render_body(result, pointer=pointer, limit=limit)
    result.truncated = result.body != result.full_body
    return result


def _collect(
    repo: PolicyRepo, settings: Settings, check: CheckReport, plan: ReleasePlan | None
) -> list[PolicyPreview]:

    previews: dict[str, PolicyPreview] = {}
    by_path = {policy.path: policy for policy in repo.policies()}
    if plan is not None:
        for item in plan.releases:
            previews[item.policy.path] = PolicyPreview(
                item.policy,
                release=item,
                diff=item.diff,
                diff_label=f"v{item.previous.version}" if item.previous else "",
            )
    skipped: dict[str, str] = {}
    if plan is not None:
        skipped = {s.policy.path: s.reason for s in plan.skipped}
        skipped.update({u.policy.path: f"not released: {u.warning}" for u in plan.unreleasable})
    for result in check.policies:
        preview = previews.get(result.path)
        if preview is None:
            policy = by_path.get(result.path)
            if policy is None:  # removed by the pull request
                policy = Policy(result.policy, result.path, repo.root / result.path)
            preview = previews[result.path] = PolicyPreview(policy)
            preview.skipped = skipped.get(result.path)
            if result.change == "modified":
                preview.diff = diff_policy(repo, policy, check.base_commit, "HEAD")
                preview.diff_label = f"the base ({check.base_commit[:10]})"
        preview.check = result
    return [previews[path] for path in sorted(previews)]


def write_files(
    preview: Preview, directory: Path, repo: PolicyRepo, settings: Settings
) -> list[Path]:
    """Write each policy's HTML redline, notice ``.eml`` and the full comment into ``directory``."""
    templates = Templates(settings)
    organization = settings.organization or ""
    written: list[Path] = []
    for item in preview.policies:
        version = f"-v{item.release.version}" if item.release else ""
        stem = f"{item.policy.slug}{version}"
        if item.diff is not None:
            path = directory / f"{stem}.redline.html"
            sides = reader_sides(repo, item.policy, item.diff, templates)
            page = render_redline_page(item.diff, templates, sides, organization=organization)
            atomic_write(path, page)
            item.files.append(path)
        if item.message is not None:
            path = directory / f"{stem}.notice.eml"
            atomic_write(path, item.message.as_bytes(policy=MESSAGE_POLICY))
            item.files.append(path)
        written.extend(item.files)
    return written
