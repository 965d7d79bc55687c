"""The report of ``redline check``: findings per policy, as JSON, text or GitHub annotations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redline.env import Environment

ENV_GITHUB_ACTIONS = "GITHUB_ACTIONS"
_LEVELS = {"error": "fail", "warning": "warn", "notice": "pass"}
_RANK = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Finding:
    """One result line of a policy check: ``level`` is error, warning or notice."""

    level: str
    message: str
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"level": self.level, "message": self.message, "line": self.line}


@dataclass
class PolicyCheck:
    """The check of one changed policy."""

    policy: str
    path: str
    change: str  # "added", "modified", "moved" (same text, new path) or "removed"
    classification: str | None = None  # of the text without its dates
    old_date: date | None = None
    new_date: date | None = None
    days_of_notice: int | None = None
    moved_from: str | None = None
    release: dict[str, Any] | None = None  # the version the release plan makes of it
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        """pass, warn or fail: the worst of the findings."""
        worst = max((_RANK[_LEVELS[f.level]] for f in self.findings), default=0)
        return next(name for name, rank in _RANK.items() if rank == worst)

    @property
    def date_changed(self) -> bool:
        """True when the effective date differs from the base revision's."""
        return self.change != "removed" and self.old_date != self.new_date

    def add(self, level: str, message: str, line: int | None = None) -> None:
        """Record a finding."""
        self.findings.append(Finding(level, message, line))

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "policy": self.policy,
            "path": self.path,
            "change": self.change,
            "moved_from": self.moved_from,
            "status": self.status,
            "classification": self.classification,
            "old_date": self.old_date.isoformat() if self.old_date else None,
            "new_date": self.new_date.isoformat() if self.new_date else None,
            "date_changed": self.date_changed,
            "days_of_notice": self.days_of_notice,
            "release": self.release,
            "findings": [finding.to_json() for finding in self.findings],
        }


@dataclass
class CheckReport:
    """The check of every changed policy against a base revision."""

    base_ref: str
    base_commit: str
    today: date
    notice_days: int
    release_error: str | None = None  # why `redline release` would stop (then: fail)
    policies: list[PolicyCheck] = field(default_factory=list)

    @property
    def status(self) -> str:
        """pass, warn or fail: the worst of the policies (pass when nothing changed), fail
        when the release would stop."""
        worst = max((_RANK[p.status] for p in self.policies), default=0)
        if self.release_error is not None:
            worst = _RANK["fail"]
        return next(name for name, rank in _RANK.items() if rank == worst)

    def count(self, status: str) -> int:
        """How many policies have ``status``."""
        return sum(1 for p in self.policies if p.status == status)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json`` (schema in the README, 'redline check')."""
        return {
            "status": self.status,
            "base": {"ref": self.base_ref, "commit": self.base_commit},
            "today": self.today.isoformat(),
            "notice_days": self.notice_days,
            "release_error": self.release_error,
            "policies": [p.to_json() for p in self.policies],
            "summary": {
                "failed": self.count("fail"),
                "warned": self.count("warn"),
                "passed": self.count("pass"),
            },
        }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(report: CheckReport) -> list[str]:
    """GitHub Actions workflow commands (``::error file=...,line=...::message``)."""
    lines = []
    if report.release_error is not None:
        message = f"redline release would stop: {report.release_error}"
        lines.append(f"::error title={_escape_property('redline check')}::{_escape_data(message)}")
    for policy in report.policies:
        for finding in policy.findings:
            if finding.level == "notice":
                continue
            props = f"file={_escape_property(policy.path)}"
            if finding.line is not None:
                props += f",line={finding.line}"
            props += f",title={_escape_property('redline check')}"
            lines.append(f"::{finding.level} {props}::{_escape_data(finding.message)}")
    return lines


def in_github_actions(env: Environment) -> bool:
    """True when running as a GitHub Actions step."""
    return env.flag(ENV_GITHUB_ACTIONS)


def render_text(report: CheckReport) -> list[tuple[str, str]]:
    """The human-readable report as ``(status, line)`` pairs (status '' for plain lines)."""
    changed = len(report.policies)
    lines = [
        (
            "",
            f"redline check: {changed} changed polic{'y' if changed == 1 else 'ies'} against "
            f"{report.base_ref} ({report.base_commit[:10]}), today {report.today.isoformat()}, "
            f"{report.notice_days} days of notice required",
        )
    ]
    if report.release_error is not None:
        lines.append(("fail", f"FAIL  redline release would stop: {report.release_error}"))
    for policy in report.policies:
        for finding in policy.findings:
            where = policy.path + (f":{finding.line}" if finding.line else "")
            status = _LEVELS[finding.level]
            lines.append((status, f"{status.upper():4}  {where}  {finding.message}"))
    if not report.policies:
        lines.append(("pass", "PASS  no policy changed"))
    summary = (
        f"{report.status.upper()}: {report.count('fail')} failed, "
        f"{report.count('warn')} with warnings, {report.count('pass')} passed"
    )
    lines.append((report.status, summary))
    return lines
