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
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import RedlineError
from redline.jobs.sample_email import SampleAddressing
from redline.md import md_escape

if TYPE_CHECKING:
    from email.message import EmailMessage

    from redline.compare.engine import DiffResult
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo
    from redline.jobs.check import CheckReport, PolicyCheck
    from redline.release import PolicyRelease, ReleasePlan

LOG = logging.getLogger("redline.jobs.preview")

MARKER = "<!-- redline-preview -->"
#: GitHub refuses issue and pull-request comments longer than this many characters.
COMMENT_LIMIT = 65_536
#: Room left for what a workflow adds around the body (a footer with the run link).
RESERVE = 1_536

_STATUS_ICON = {"pass": "✅ pass", "warn": "⚠️ warning", "fail": "❌ fail"}
_CLASS_TEXT = {
    "material": "Material change",
    "editorial": "Editorial change",
    "none": "No change in wording",
}


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
) -> Preview:
    """Work out the preview, render the comment body and, with ``output_dir``, write files.

    ``pointer`` says where the full HTML redline can be found when the body is cut (default:
    ``output_dir``, else how to produce it).
    """
    from redline.jobs.check import check_policies
    from redline.release import plan_release

    check = check_policies(repo, settings, base=base, today=today)
    warnings: list[str] = []
    dirty = [root for root in settings.policies_dir if repo.uncommitted([root])]
    if dirty:
        warnings.append(
            f"uncommitted changes under {', '.join(f'{root}/' for root in dirty)}: the "
            "notice-window check includes them, the release preview shows HEAD only"
        )
    plan: ReleasePlan | None = None
    plan_error = None
    try:
        plan = plan_release(repo, settings, today)
    except RedlineError as error:
        plan_error = str(error)
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
        result.files = write_files(result, output_dir)
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
    from redline.compare.engine import diff_policy

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
                from redline.history.repo import Policy

                policy = Policy(result.policy, result.path, repo.root / result.path)
            preview = previews[result.path] = PolicyPreview(policy)
            preview.skipped = skipped.get(result.path)
            if result.change == "modified":
                preview.diff = diff_policy(repo, policy, check.base_commit, "HEAD")
                preview.diff_label = f"the base ({check.base_commit[:10]})"
        preview.check = result
    return [previews[path] for path in sorted(previews)]


def write_files(preview: Preview, directory: Path) -> list[Path]:
    """Write each policy's HTML redline, notice ``.eml`` and the full comment into ``directory``."""
    from redline.compare.views import render_html
    from redline.files import atomic_write
    from redline.mail.message import MESSAGE_POLICY

    written: list[Path] = []
    for item in preview.policies:
        version = f"-v{item.release.version}" if item.release else ""
        stem = f"{item.policy.slug}{version}"
        if item.diff is not None:
            path = directory / f"{stem}.redline.html"
            atomic_write(path, render_html(item.diff))
            item.files.append(path)
        if item.message is not None:
            path = directory / f"{stem}.notice.eml"
            atomic_write(path, item.message.as_bytes(policy=MESSAGE_POLICY))
            item.files.append(path)
        written.extend(item.files)
    return written


# --- the comment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """A piece of the body; ``note`` is set for pieces that may be cut (and says so)."""

    text: str
    note: str | None = None


def _md(text: object) -> str:
    return md_escape(text, one_line=True)


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    return "`" * max(3, longest + 1)


def render_body(preview: Preview, *, pointer: str | None, limit: int | None) -> str:
    """The Markdown comment; with ``limit``, cut to at most that many characters."""
    parts = _header(preview)
    for item in preview.policies:
        parts.extend(_policy_parts(item, pointer or ""))
    if not preview.policies:
        parts.append(_Part("No policy changed, and nothing is waiting to be released.\n"))
    return _fit(parts, limit)


def _header(preview: Preview) -> list[_Part]:
    check = preview.check
    lines = [
        MARKER,
        "## redline preview",
        "",
        f"Compared with {_md(check.base_ref)} (`{check.base_commit[:10]}`) on "
        f"{preview.today.isoformat()}; {check.notice_days} days of notice are required.",
        "",
    ]
    releases = [p.release for p in preview.policies if p.release is not None]
    if preview.plan_error:
        lines += [
            "> [!CAUTION]",
            f"> After merging, `redline release` would stop: {_md(preview.plan_error)}",
            "> Nothing would be released or sent until that is fixed.",
            "",
        ]
    else:
        if preview.left_out:
            lines += ["> [!CAUTION]", "> After merging, `redline release` would leave out:"]
            lines += [f"> - {_md(warning)}" for warning in preview.left_out]
            lines += ["> Everything else would be released as usual.", ""]
        if releases:
            emailed = sum(1 for item in releases if item.notify)
            names = ", ".join(f"**{_md(i.policy.slug)} v{i.version}**" for i in releases)
            lines.append(
                f"If merged now, `redline release` would release {names}, and email the "
                f"subscribers of {emailed} of {len(releases)}."
            )
            lines.append("")
        else:
            lines += ["If merged now, `redline release` would release nothing.", ""]
    if check.policies:
        lines += [
            f"Notice window (`redline check`): {_STATUS_ICON[check.status]}: "
            f"{check.count('fail')} failed, {check.count('warn')} with warnings, "
            f"{check.count('pass')} passed.",
            "",
        ]
    return [_Part("\n".join(lines) + "\n")]


def _policy_parts(item: PolicyPreview, pointer: str) -> list[_Part]:
    release = item.release
    path = f"`{_md(item.policy.path)}`"
    lines: list[str] = []
    if release is not None:
        since = f"replaces v{release.previous.version}" if release.previous else "first version"
        lines += [
            f"### {_md(item.policy.slug)} v{release.version}: "
            f"{_CLASS_TEXT.get(release.classification, release.classification)}",
            "",
            f"- **Policy:** {path} ({since})",
            f"- **Effective date the release would set:** {release.effective_date.isoformat()} "
            f"({_md(release.date_source)}; {release.notice_days} days after the release)"
            + (" — **short notice**" if release.short_notice else ""),
            f"- **Subscribers:** {_subscribers_line(release)}",
            f"- **Summary:** {_md(release.summary)}",
        ]
        if not item.in_pull_request:
            lines.append("- Changed before this pull request and not released yet.")
    else:
        classification = item.check.classification if item.check else None
        if item.check is not None and item.check.change == "removed":
            title = "Removed"
        else:
            title = _CLASS_TEXT.get(classification or "", "Changed")
        lines += [
            f"### {_md(item.policy.slug)}: {title}",
            "",
            f"- **Policy:** {path}",
            f"- **Release:** {_md(item.skipped) if item.skipped else 'nothing would be released'}",
        ]
    if item.check is not None:
        check = item.check
        lines.append(f"- **Notice window (`redline check`):** {_STATUS_ICON[check.status]}")
        for finding in check.findings:
            where = f"line {finding.line}: " if finding.line else ""
            lines.append(f"  - {where}{_md(finding.message)}")
    lines.append("")
    parts = [_Part("\n".join(lines) + "\n")]
    html_name = next((p.name for p in item.files if p.name.endswith(".redline.html")), None)
    if item.diff is not None:
        stats = item.diff.stats
        against = f" against {_md(item.diff_label)}" if item.diff_label else ""
        where = f"`{html_name}` in {pointer}" if html_name else pointer
        parts += [
            _Part(
                f"<details open><summary>Redline{against}: "
                f"{stats.words_inserted} words inserted, {stats.words_deleted} deleted"
                "</summary>\n\n"
            ),
            _Part(
                _demote(_redline_markdown(item.diff)),
                note=f"\n*The redline is cut here to fit GitHub's comment limit; the full "
                f"HTML redline: {where}.*\n",
            ),
            _Part("\n</details>\n\n"),
        ]
    elif release is not None and release.previous is None:
        parts.append(_Part("This is the first release of the policy: all of it is new.\n\n"))
    if item.message is not None:
        body = item.message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        fence = _fence(text)
        eml = next((p.name for p in item.files if p.name.endswith(".eml")), None)
        where = f"`{eml}` in {pointer}" if eml else pointer
        parts += [
            _Part(
                f"**Notice email subject:** {_md(item.message['Subject'])}\n\n"
                "<details><summary>Notice email text (sent to each subscriber; here to a "
                "sample recipient)</summary>\n\n"
                f"{fence}text\n"
            ),
            _Part(text, note=f"[... cut to fit GitHub's comment limit; the full email: {where}]\n"),
            _Part(f"{fence}\n\n</details>\n\n"),
        ]
    return parts


def _subscribers_line(release: PolicyRelease) -> str:
    if not release.notify:
        return "not emailed"
    base = release.notice_base
    if base is not None and release.previous and base.version != release.previous.version:
        return f"emailed the notice below (it shows the changes since v{base.version})"
    return "emailed the notice below"


def _redline_markdown(diff: DiffResult) -> str:
    from redline.compare.views import render_markdown

    return render_markdown(diff, heading_level=4)


def _demote(markdown: str) -> str:
    """The redline without its own title line (the comment has one per policy)."""
    lines = markdown.splitlines(keepends=True)
    if lines and lines[0].startswith("#### Redline"):
        lines = lines[1:]
        while lines and not lines[0].strip():
            lines = lines[1:]
    return "".join(lines)


def _cut(text: str, size: int) -> str:
    """The longest run of whole lines of ``text`` that fits in ``size`` characters."""
    if size <= 0:
        return ""
    end = text.rfind("\n", 0, size + 1)
    return text[: end + 1] if end >= 0 else ""


def _fit(parts: list[_Part], limit: int | None) -> str:
    """Join ``parts``; with ``limit``, cut the cuttable ones fairly so the result fits."""
    whole = "".join(part.text for part in parts)
    if limit is None or len(whole) <= limit:
        return whole
    cuttable = [part for part in parts if part.note is not None]
    fixed = sum(len(part.text) for part in parts if part.note is None)
    budget = limit - fixed - sum(len(part.note or "") for part in cuttable)
    allowance: dict[int, int] = {}
    remaining = max(budget, 0)
    ordered = sorted(range(len(cuttable)), key=lambda i: len(cuttable[i].text))
    for position, index in enumerate(ordered):
        share = remaining // (len(ordered) - position)
        allowance[index] = min(len(cuttable[index].text), share)
        remaining -= allowance[index]
    out: list[str] = []
    index = 0
    for part in parts:
        if part.note is None:
            out.append(part.text)
            continue
        allowed = allowance[index]
        index += 1
        if len(part.text) <= allowed:
            out.append(part.text)
        else:
            out.append(_cut(part.text, allowed) + part.note)
    body = "".join(out)
    if len(body) > limit:  # the fixed parts alone are too long: cut the end of the body
        note = "\n*The preview is cut here to fit GitHub's comment limit.*\n"
        body = _cut(body, limit - len(note)) + note
    return body
