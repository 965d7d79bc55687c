"""What a release run did: :class:`ReleaseReport`, its JSON, and its GitHub Actions outputs and
job summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redline.errors import RedlineError
from redline.github import append_github_file, format_github_outputs
from redline.md import md_escape

if TYPE_CHECKING:
    from collections.abc import Mapping

    from redline.mail.report import NotifyReport
    from redline.release.plan import ReleasePlan


@dataclass
class NoticeResult:
    """The notices of one release version in this run."""

    policy: str
    version: int
    report: NotifyReport | None = None
    error: str | None = None
    new: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        data: dict[str, Any] = {"policy": self.policy, "version": self.version, "new": self.new}
        if self.report is not None:
            data.update(self.report.to_json())
        data["error"] = self.error
        return data


@dataclass
class ReleaseReport:
    """What a release run did (or, with ``dry_run``, would do)."""

    plan: ReleasePlan
    dry_run: bool
    push: bool
    branch: str | None = None
    commit: str | None = None
    tags: list[str] = field(default_factory=list)
    pushed: bool = False
    pushed_tags: list[str] = field(default_factory=list)
    notices: list[NoticeResult] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: RedlineError | None = None

    @property
    def released(self) -> bool:
        """True when this run created (or, dry, would create) at least one release."""
        return bool(self.plan.releases)

    @property
    def notices_sent(self) -> int:
        """Notices sent in this run."""
        return sum(r.report.sent for r in self.notices if r.report)

    @property
    def notices_failed(self) -> int:
        """Notices that failed in this run (temporarily or permanently)."""
        return sum(r.report.failed for r in self.notices if r.report)

    @property
    def notices_would_send(self) -> int:
        """Emails a dry run would send."""
        return sum(r.report.would_send for r in self.notices if r.report)

    def policies_json(self) -> list[dict[str, Any]]:
        """The released policies with versions and effective dates (a GitHub output)."""
        return [
            {
                "policy": item.policy.slug,
                "path": item.policy.path,
                "version": item.version,
                "tag": item.tag,
                "classification": item.classification,
                "effective_date": item.effective_date.isoformat(),
                "short_notice": item.short_notice,
                "notify": item.notify,
            }
            for item in self.plan.releases
        ]

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "dry_run": self.dry_run,
            "released": self.released,
            "today": self.plan.today.isoformat(),
            "head": self.plan.head,
            "commit": self.commit,
            "branch": self.branch,
            "pushed": self.pushed,
            "tags": list(self.tags),
            "pushed_tags": list(self.pushed_tags),
            "releases": [item.to_json() for item in self.plan.releases],
            "unchanged": [item.to_json() for item in self.plan.skipped],
            "unreleasable": [item.to_json() for item in self.plan.unreleasable],
            "notices": [result.to_json() for result in self.notices],
            "notices_sent": self.notices_sent,
            "notices_failed": self.notices_failed,
            "notices_would_send": self.notices_would_send if self.dry_run else None,
            "commands": list(self.commands),
            "files": list(self.files),
            "warnings": [*self.plan.warnings, *self.warnings],
            "error": str(self.error) if self.error else None,
        }


def github_outputs(report: ReleaseReport) -> dict[str, str]:
    """The step outputs: released, policies (JSON), notices-sent, notices-failed."""
    return {
        "released": "true" if report.released and not report.dry_run else "false",
        "policies": json.dumps(report.policies_json(), indent=2),
        "notices-sent": str(report.notices_sent),
        "notices-failed": str(report.notices_failed),
    }


def step_summary(report: ReleaseReport) -> str:
    """The Markdown job summary of a release run."""
    plan = report.plan
    title = "redline release" + (" (dry run)" if report.dry_run else "")
    lines = [f"## {title}", ""]
    if plan.releases:
        verb = "Would release" if report.dry_run else "Released"
        where = ""
        if report.commit:
            where = f" in commit `{report.commit[:10]}`"
        if report.pushed:
            where += f", pushed to `{report.branch}`"
        lines += [f"{verb} {len(plan.releases)} policy version(s){where}.", ""]
        lines += [
            "| Policy | Version | Change | Effective | Why this date | Notify |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for item in plan.releases:
            since = f" (from v{item.previous.version})" if item.previous else " (first)"
            short = " **short notice**" if item.short_notice else ""
            lines.append(
                f"| {_code(item.policy.path)} | v{item.version}{since} | {item.classification} "
                f"| {item.effective_date.isoformat()}{short} | {_md(item.date_source)} "
                f"| {'yes' if item.notify else 'no'} |"
            )
        lines.append("")
        for item in plan.releases:
            lines += [f"**{_md(item.policy.slug)} v{item.version}:** {_md(item.summary)}", ""]
    else:
        lines += [f"{nothing_released(plan)}.", ""]
    if plan.skipped:
        lines.append("Unchanged: " + ", ".join(_code(s.policy.slug) for s in plan.skipped))
        lines.append("")
    if plan.unreleasable:
        left_out = ", ".join(_code(item.policy.path) for item in plan.unreleasable)
        lines += [f"**Not released** (see the warnings): {left_out}", ""]
    if report.notices and report.dry_run:
        lines += ["| Notices | Would send |", "| --- | --- |"]
        for result in report.notices:
            would = result.report.would_send if result.report else 0
            lines.append(f"| {_md(result.policy)} v{result.version} | {would} |")
        lines.append("")
    elif report.notices:
        lines += ["| Notices | Sent | Failed | Problem |", "| --- | --- | --- | --- |"]
        for result in report.notices:
            r = result.report
            lines.append(
                f"| {_md(result.policy)} v{result.version} | {r.sent if r else 0} "
                f"| {r.failed if r else 0} | {_md(result.error or '')} |"
            )
        lines.append("")
    for warning in [*plan.warnings, *report.warnings]:
        lines.append(f"> [!WARNING]\n> {_md(warning)}\n")
    return "\n".join(lines).rstrip() + "\n"


def nothing_released(plan: ReleasePlan) -> str:
    """What a run that releases nothing says about it."""
    if plan.unreleasable:
        return "Nothing released: the changed policies cannot be released as they are"
    return "Nothing to release: every policy matches its last release"


def _md(text: str) -> str:
    """``text`` on one line, safe in Markdown (also inside a table cell)."""
    return md_escape(text, one_line=True)


def _code(text: str) -> str:
    """``text`` as a code span that is safe inside a table cell."""
    return "`" + " ".join(text.replace("`", "'").replace("|", "\\|").split()) + "`"


def write_github_files(report: ReleaseReport, environ: Mapping[str, str]) -> None:
    """Append the outputs and the job summary when running in GitHub Actions."""
    if environ.get("GITHUB_ACTIONS") != "true":
        return
    append_github_file("GITHUB_OUTPUT", format_github_outputs(github_outputs(report)), environ)
    append_github_file("GITHUB_STEP_SUMMARY", step_summary(report), environ)


def write_github_failure(
    error: RedlineError, environ: Mapping[str, str], *, dry_run: bool = False
) -> None:
    """Outputs (released=false) and a job summary for a run that stopped before releasing."""
    if environ.get("GITHUB_ACTIONS") != "true":
        return
    outputs = {"released": "false", "policies": "[]", "notices-sent": "0", "notices-failed": "0"}
    title = "redline release" + (" (dry run)" if dry_run else "")
    summary = (
        f"## {title}\n\n**Failed:** {_md(str(error))}\n\n"
        "Nothing was released: no commit, tag, push or email.\n"
    )
    append_github_file("GITHUB_OUTPUT", format_github_outputs(outputs), environ)
    append_github_file("GITHUB_STEP_SUMMARY", summary, environ)
