"""``redline init``: put an existing repository of policies under redline, emailing nobody.

:func:`plan_init` works out, without changing anything, what ``init`` writes:

* the configuration: ``[tool.redline]`` appended to an existing ``pyproject.toml``, else a new
  ``redline.toml``; an existing redline configuration is never touched;
* the workflow files shipped with redline (``templates/workflows/*.yml``) into
  ``.github/workflows/``; an existing file of the same name is kept as it is;
* ``.redline/`` in ``.gitignore`` (the default SQLite database lives there);
* a baseline release tag ``{tag_prefix}{slug}/v1`` on HEAD for every policy, with the
  effective date written in the policy (``Notify: no``: the baseline is the version already
  in force or announced, so nobody is emailed about it).

The files are planned in :mod:`redline.jobs.init_files`; a configuration for a repository
without one is proposed by :mod:`redline.jobs.init_propose`. :func:`apply_init` carries the
plan out. Running ``init`` again does nothing more; it refuses
when a policy already has release tags other than the baseline it would create itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.config import PolicyConfig
from redline.errors import GitError, InputError, Problem
from redline.files import atomic_write
from redline.history.git import GitCommandFailed
from redline.history.policy_dates import read_policy_dates
from redline.history.tags import format_release_message
from redline.jobs.init_files import FileAction, plan_config, plan_gitignore, plan_workflows

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redline.config import Settings
    from redline.document.dates import PolicyDate
    from redline.history.repo import Policy, PolicyRepo
    from redline.history.tags import Release

BASELINE_SUMMARY = (
    "Baseline recorded by redline init: the version in force or already announced when "
    "redline was set up. Subscribers were not notified by redline."
)


@dataclass(frozen=True)
class BaselineTag:
    """The baseline release tag of one policy (``exists`` when an earlier init made it)."""

    policy: str
    path: str
    tag: str
    commit: str
    effective_date: dt.date
    date_source: str
    exists: bool
    message: str = field(default="", repr=False)


@dataclass
class InitPlan:
    """Everything ``init`` would do, computed without changing anything."""

    root: Path
    files: list[FileAction]
    tags: list[BaselineTag]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    date_orders: dict[str, str] = field(default_factory=dict)  # path -> order found

    @property
    def changes(self) -> int:
        """Number of files and tags that applying the plan writes."""
        return sum(f.writes for f in self.files) + sum(not t.exists for t in self.tags)

    def to_json(self) -> dict[str, Any]:
        """The plan as plain data for ``--json``."""
        return {
            "repository": str(self.root),
            "files": [{"path": f.path, "action": f.action, "reason": f.reason} for f in self.files],
            "tags": [
                {
                    "policy": t.policy,
                    "path": t.path,
                    "tag": t.tag,
                    "commit": t.commit,
                    "effective_date": t.effective_date.isoformat(),
                    "date_source": t.date_source,
                    "action": "exists" if t.exists else "create",
                }
                for t in self.tags
            ],
            "warnings": self.warnings,
            "notes": self.notes,
            "skipped": [problem.to_json() for problem in self.skipped],
            "date_orders": dict(self.date_orders),
            "changes": self.changes,
        }


# --- the plan -------------------------------------------------------------------------------


def plan_init(repo: PolicyRepo, settings: Settings, *, notes: Sequence[str] = ()) -> InitPlan:
    """Work out what ``init`` writes; raises before anything is written when it cannot run.

    ``notes`` say how a proposed configuration
    (:func:`redline.jobs.init_propose.propose_settings`) was found.
    """
    if not repo.has_commits():
        raise GitError(
            f"{repo.root}: the repository has no commits yet",
            hint="commit the policies first; the baseline tags point at a commit",
        )
    policies = repo.policies()  # raises when there are none, or names collide
    plan = InitPlan(root=repo.root, files=[], tags=[], notes=list(notes))
    plan.tags = _plan_tags(repo, policies, plan)
    recorded = with_date_orders(settings, plan.date_orders)
    plan.files = [
        plan_config(recorded),
        *plan_workflows(settings, plan.warnings),
        plan_gitignore(repo.root),
    ]
    for action in plan.files:
        if action.action == "keep" and action.reason.startswith("differs"):
            plan.warnings.append(f"{action.path}: {action.reason}")
    for problem in plan.skipped:
        plan.warnings.append(f"{problem}; {problem.path} gets no baseline")
    return plan


def with_date_orders(settings: Settings, orders: dict[str, str]) -> Settings:
    """``settings`` with the numeric date orders init found (policy path -> order): one
    ``date_order`` when they all agree and no policy has a locale, else one per-policy
    ``date_order`` each (an order never crosses locales)."""
    if not orders:
        return settings
    found = set(orders.values())
    if len(found) == 1 and not settings.locale and not settings.locales:
        return dataclasses.replace(settings, date_order=found.pop())
    tables = dict(settings.policies)
    for path, order in sorted(orders.items()):
        tables[path] = dataclasses.replace(tables.get(path, PolicyConfig()), date_order=order)
    return dataclasses.replace(settings, policies=tables)


def _plan_tags(repo: PolicyRepo, policies: list[Policy], plan: InitPlan) -> list[BaselineTag]:
    """The baseline tag of every policy; refuses release tags and uncommitted policies."""
    head = repo.resolve_rev("HEAD")
    at_head = repo.snapshots_at(head, policies)
    changed = repo.uncommitted()
    all_releases = repo.releases_of(policies)
    unreleased = {
        policy: snapshot.text
        for policy in policies
        if (snapshot := at_head[policy.path]) is not None and not all_releases[policy.path]
    }
    dates = read_policy_dates(repo, unreleased, today=dt.date.today())
    conflicts: list[str] = []
    uncommitted: list[str] = []
    tags: list[BaselineTag] = []
    for policy in policies:
        snapshot = at_head[policy.path]
        if snapshot is None:
            uncommitted.append(f"{policy.path} (not committed)")
            continue
        if policy.path in changed:
            uncommitted.append(f"{policy.path} (uncommitted changes)")
            continue
        releases = all_releases[policy.path]
        if releases:
            existing = _earlier_baseline(repo, policy, releases, snapshot.blob)
            if existing is None:
                conflicts.append(", ".join(release.tag for release in releases))
            else:
                tags.append(existing)
            continue
        tag = _new_baseline(repo, policy, dates[policy], head, plan)
        if tag is not None:
            tags.append(tag)
    _refuse(conflicts, uncommitted)
    return tags


def _earlier_baseline(
    repo: PolicyRepo, policy: Policy, releases: list[Release], blob: str | None
) -> BaselineTag | None:
    """The baseline an earlier init made of ``policy`` (its only release, of the text at
    HEAD), or None when its releases are someone else's."""
    first = releases[0]
    if len(releases) != 1 or first.version != 1 or _blob_at(repo, policy, first.commit) != blob:
        return None
    return BaselineTag(
        policy=policy.slug,
        path=policy.path,
        tag=first.tag,
        commit=first.commit,
        effective_date=first.effective_date,
        date_source=f"tag {first.tag}",
        exists=True,
    )


def _new_baseline(
    repo: PolicyRepo, policy: Policy, read: PolicyDate, head: str, plan: InitPlan
) -> BaselineTag | None:
    """The baseline tag to create for ``policy`` on ``head``, recording the date order found;
    None (and the policy in ``plan.skipped``) when no evidence tells how to read its date."""
    evidence = read.evidence
    if read.problem is not None and evidence.needed and evidence.order is None:
        # no evidence at all: only its config can tell
        hint = (
            f'set it for this policy: [tool.redline.policies."{policy.path}"] '
            'date_order = "MDY" or "DMY"; or for all: `redline init --date-order DMY`'
        )
        plan.skipped.append(Problem(policy.path, read.problem.message, hint))
        return None
    if evidence.order is not None and evidence.source not in ("config", "locale"):
        plan.date_orders[policy.path] = evidence.order
    effective, source = _baseline_date(repo, policy, read, plan.warnings)
    message = format_release_message(
        {
            "Policy": policy.slug,
            "Version": 1,
            "Effective-Date": effective.isoformat(),
            "Classification": "material",
            "Previous-Version": "none",
            "Commits": head,
            "Notify": "no",
            "Short-Notice": "no",
            "Summary": BASELINE_SUMMARY,
        }
    )
    return BaselineTag(
        policy=policy.slug,
        path=policy.path,
        tag=repo.tag_name(policy.slug, 1),
        commit=head,
        effective_date=effective,
        date_source=source,
        exists=False,
        message=message,
    )


def _refuse(conflicts: list[str], uncommitted: list[str]) -> None:
    """Raise when policies have release tags of their own, or are not committed."""
    if conflicts:
        raise GitError(
            f"release tags already exist ({'; '.join(conflicts)}): this repository is already "
            "managed by redline",
            hint="`redline release` releases changes and `redline status` shows the versions; "
            "init only sets up a repository without releases",
        )
    if uncommitted:
        raise InputError(
            f"cannot record baseline versions of uncommitted policies: {', '.join(uncommitted)}",
            hint="commit (or discard) the changes first; the baseline tags point at HEAD",
        )


def _blob_at(repo: PolicyRepo, policy: Policy, commit: str) -> str | None:
    try:
        return repo.read_text(policy, commit).blob
    except InputError:
        return None


def _baseline_date(
    repo: PolicyRepo, policy: Policy, read: PolicyDate, warnings: list[str]
) -> tuple[dt.date, str]:
    """The effective date written in the policy at HEAD, else its last commit's date.

    A date problem other than a missing order is a warning, so that one odd file does not
    keep the others from being set up.
    """
    if read.effective is not None and read.effective.date is not None:
        primary = read.effective.primary
        return read.effective.date, f"{policy.path}:{primary.line}: {primary.text.strip()}"
    problem = "the effective date is blank"
    if read.problem is not None:
        problem = read.problem.message.removeprefix(f"{policy.path}: ")
    revisions = repo.revisions(policy)
    when = revisions[0].date.date() if revisions else dt.date.today()
    warnings.append(
        f"{policy.path}: {problem}; the baseline uses the date of its last commit "
        f"({when.isoformat()}); fix the date line, or add one with "
        f"`redline effective-date {_quoted(policy.path)} --insert --set {when.isoformat()}`"
    )
    return when, f"date of the last commit ({problem})"


def _quoted(path: str) -> str:

    return shlex.quote(path)


# --- applying it ----------------------------------------------------------------------------


def apply_init(repo: PolicyRepo, plan: InitPlan, settings: Settings) -> None:
    """Write the files and create the tags of ``plan`` (files first, then tags)."""
    for action in plan.files:
        if action.writes:
            atomic_write(plan.root / action.path, action.content, root=plan.root)
    env = {
        "GIT_COMMITTER_NAME": settings.bot_name,
        "GIT_COMMITTER_EMAIL": settings.bot_email,
    }

    for tag in plan.tags:
        if tag.exists:
            continue
        try:
            repo.git.change(
                "-c",
                "tag.gpgSign=false",
                "tag",
                "--annotate",
                "--cleanup=verbatim",
                "-m",
                tag.message,
                tag.tag,
                tag.commit,
                env=env,
            )
        except GitCommandFailed as exc:
            raise GitError(
                f"cannot create tag {tag.tag}: {exc.detail or exc.message}",
                hint="fix the repository, then run init again (it finishes what is left)",
            ) from None
