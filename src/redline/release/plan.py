"""Planning a release: every changed policy's new version worked out and validated, nothing
written (:func:`plan_release`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from redline.errors import GitError, RedlineError
from redline.history.policy_dates import repository_orders
from redline.history.repo import Policy
from redline.release.effective import effective_date_trailer
from redline.release.results import PolicyRelease, Skipped, Unreleasable
from redline.release.version import plan_policy

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.document.dates import RepositoryOrders
    from redline.history.repo import PolicyRepo
    from redline.publish.templates import Templates

LOG = logging.getLogger("redline.release.plan")


@dataclass
class ReleasePlan:
    """What a release would do now: computed and validated, nothing written yet."""

    repo: PolicyRepo
    settings: Settings
    today: date
    head: str
    requested_date: date | None
    allow_short_notice: bool
    notify: bool
    worktree: bool = False
    summary: str | None = None
    releases: list[PolicyRelease] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unreleasable: list[Unreleasable] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    templates: Templates | None = field(default=None, repr=False)
    orders: RepositoryOrders | None = field(default=None, repr=False)

    @property
    def files(self) -> list[str]:
        """Every file the release writes (policies and changelogs), repository-relative."""
        return [path for item in self.releases for path in (item.policy.path, item.changelog)]

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "today": self.today.isoformat(),
            "head": self.head,
            "requested_effective_date": (
                self.requested_date.isoformat() if self.requested_date else None
            ),
            "releases": [item.to_json() for item in self.releases],
            "unchanged": [item.to_json() for item in self.skipped],
            "unreleasable": [item.to_json() for item in self.unreleasable],
            "warnings": list(self.warnings),
        }


def plan_release(
    repo: PolicyRepo,
    settings: Settings,
    today: date,
    *,
    rev: str = "HEAD",
    allow_short_notice: bool = False,
    notify: bool = True,
    templates: Templates | None = None,
    only: Policy | Sequence[Policy] | None = None,
    worktree: bool = False,
    summary: str | None = None,
    requested: date | None = None,
) -> ReleasePlan:
    """Work out and validate every release a run at ``rev`` would make; write nothing.

    A policy whose effective date cannot be read or written or is refused (a DateError: a
    date too early or in the past, or not set under ``effective_date_by = "author"``), or
    whose tag name git refuses, is left out: it goes into ``plan.unreleasable`` with a
    warning, and the others are planned as usual. Any other problem (InputError,
    TemplateError, ...) is raised, the first one after logging all of them, so that one
    run shows every policy that needs fixing.

    ``only`` plans that one policy (or those policies); ``worktree`` takes its text from the
    working tree instead of ``rev`` (what ``preview-email`` shows of an uncommitted edit).
    ``summary`` is every entry's summary (else the commits' or a generated one);
    ``requested`` asks for a date as the Effective-Date trailer of ``rev`` would (and
    replaces it).
    """
    from redline.publish.templates import Templates  # lazy: loads jinja2

    if not repo.has_commits():
        raise GitError("the repository has no commits yet", hint="commit the policies first")
    head = repo.resolve_rev(rev)
    if requested is None:
        message = repo.commit_message(head)
        requested = effective_date_trailer(message, where=f"commit {head[:10]}")
    templates = templates or Templates(settings)
    facts = (repo, settings, today, head, requested, allow_short_notice, notify)
    orders = repository_orders(repo)
    plan = ReleasePlan(*facts, worktree, summary, templates=templates, orders=orders)
    chosen = repo.policies() if only is None else [only] if isinstance(only, Policy) else only
    _plan_each(plan, list(chosen), templates)
    material = any(item.classification == "material" for item in plan.releases)
    if requested is not None and plan.releases and not material:
        plan.warnings.append(
            f"the Effective-Date trailer ({requested.isoformat()}) was ignored: "
            "editorial changes are released at once"
        )
    return plan


def _plan_each(plan: ReleasePlan, policies: list[Policy], templates: Templates) -> None:
    """Plan each of ``policies`` into ``plan``; raise the first problem after logging the
    others."""
    problems: list[RedlineError] = []
    for policy in policies:
        try:
            item = plan_policy(plan, policy, templates)
        except RedlineError as problem:
            problems.append(problem)
            continue
        if isinstance(item, Skipped):
            plan.skipped.append(item)
        elif isinstance(item, Unreleasable):
            plan.unreleasable.append(item)
            plan.warnings.append(item.warning)
        elif item is not None:
            plan.releases.append(item)
    if problems:
        for problem in problems[1:]:
            LOG.error("%s", problem)
        first = problems[0]
        if len(problems) > 1:
            first.message = f"{first.message} (and {len(problems) - 1} more problems above)"
        raise first
