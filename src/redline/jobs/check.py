"""The notice-window check for pull requests: ``redline check``.

check judges the release plan, not the diff of the date line: for every policy that changed
between a base revision and the working tree it shows what ``redline release`` would do if
the pull request were merged now (:func:`redline.release.plan_release` on the working tree,
the one planner), and

* **fails** when that release would refuse the policy: a date stated in the pull request (or
  an Effective-Date trailer) that gives too little notice without ``--allow-short-notice``,
  or lies in the past; with ``effective_date_by = "author"``, a material change whose date
  did not move; an effective date that is missing, blank, ambiguous or cannot be written;
* **fails** when the release would stop altogether (a template or changelog problem);
* **warns** when only the date changed (nothing would be released), on short notice, or when
  a datetime attribute disagrees with the text;
* **passes** otherwise, saying what the release will do ("release will set 2026-12-31 (30
  days after the release) and notify subscribers: ...").

The report and its text and GitHub forms are in :mod:`redline.jobs.check_report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING

from redline.compare.engine import diff_documents
from redline.document.dates import date_options, earliest_reading, find_effective_date, split_dates
from redline.document.model import parse_document
from redline.errors import DateError, GitError, InputError, RedlineError
from redline.history.git import SHALLOW_HINT, GitCommandFailed
from redline.history.policy_dates import read_policy_date, repository_orders
from redline.jobs.check_report import CheckReport, PolicyCheck
from redline.release import PolicyRelease, Skipped, Unreleasable, plan_release

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.document.dates import DateOptions
    from redline.history.repo import Policy, PolicyRepo
    from redline.release import ReleasePlan

Verdict = PolicyRelease | Skipped | Unreleasable | None

ENV_GITHUB_BASE_REF = "GITHUB_BASE_REF"


# -- the base revision ------------------------------------------------------------------------


def _commit_or_none(repo: PolicyRepo, rev: str) -> str | None:
    try:
        return repo.resolve_rev(rev)
    except GitError:
        return None


def _default_branch_candidates(repo: PolicyRepo, settings: Settings) -> list[str]:
    candidates: list[str] = []
    base_ref = settings.env.get(ENV_GITHUB_BASE_REF).strip()
    if base_ref:
        candidates += [f"origin/{base_ref}", base_ref]

    try:
        origin_head = repo.git.read("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
    except GitCommandFailed:
        origin_head = ""
    if origin_head:
        candidates.append(origin_head.removeprefix("refs/remotes/"))
    candidates += ["main", "master", "origin/main", "origin/master"]
    return candidates


def resolve_base(repo: PolicyRepo, settings: Settings, base: str | None) -> tuple[str, str]:
    """The base to check against: ``(ref as named, commit id)``.

    ``base`` None means the merge base of HEAD with the default branch: config
    ``default_branch``, else ``origin/$GITHUB_BASE_REF`` in a pull request, else
    ``origin/HEAD``, else ``main`` or ``master`` (local or on origin).
    """
    if base is not None:
        return base, repo.resolve_rev(base)
    if not repo.has_commits():
        raise InputError(
            "the repository has no commits yet, so there is no base to compare with",
            hint="commit the policies first, or pass --base REV",
        )
    if settings.default_branch:
        branch = settings.default_branch
        found = next(
            (c for c in (branch, f"origin/{branch}") if _commit_or_none(repo, c)),
            None,
        )
        if found is None:
            raise GitError(
                f"default_branch '{branch}' (config) exists neither locally nor on origin",
                hint=f"fetch it (git fetch origin {branch}) or pass --base REV",
            )
        candidates = [found]
    else:
        candidates = _default_branch_candidates(repo, settings)
    for candidate in candidates:
        if _commit_or_none(repo, candidate) is None:
            continue
        try:
            merge_base = repo.git.read("merge-base", candidate, "HEAD").strip()
        except GitCommandFailed:
            hint = SHALLOW_HINT if repo.is_shallow() else "pass --base REV"
            raise GitError(f"'{candidate}' and HEAD have no common ancestor", hint=hint) from None
        return f"merge-base({candidate}, HEAD)", merge_base
    raise InputError(
        "no default branch to compare with (no default_branch in config, no origin/HEAD, "
        "no main or master)",
        hint="pass the revision to check against, e.g. --base origin/develop or --base HEAD~3",
    )


# -- checking one policy ------------------------------------------------------------------------


@dataclass
class Planned:
    """The release that check judges: the plan, or why ``redline release`` would stop."""

    plan: ReleasePlan | None
    error: str | None = None
    _by_path: dict[str, Verdict] = field(default_factory=dict, repr=False)

    @classmethod
    def of(
        cls,
        repo: PolicyRepo,
        settings: Settings,
        today: date,
        *,
        worktree: bool = True,
        allow_short_notice: bool = False,
        only: list[Policy] | None = None,
    ) -> Planned:
        """What a release would do now with the working tree's text (or HEAD's), for every
        policy or ``only`` those."""
        try:
            plan = plan_release(
                repo,
                settings,
                today,
                worktree=worktree,
                allow_short_notice=allow_short_notice,
                only=only,
            )
        except RedlineError as error:
            return cls(None, str(error))
        planned = cls(plan)
        for item in [*plan.releases, *plan.skipped, *plan.unreleasable]:
            planned._by_path[item.policy.path] = item
        return planned

    def verdict(self, path: str) -> Verdict:
        """The plan's decision for the policy at ``path`` (None: it plans nothing for it)."""
        return self._by_path.get(path)

    def warnings(self, path: str) -> list[str]:
        """The plan's warnings about the policy at ``path``, without the path."""
        prefix = f"{path}: "
        found = self.plan.warnings if self.plan is not None else []
        return [w.removeprefix(prefix) for w in found if w.startswith(prefix)]


def _classify(old_text: str, new_text: str, settings: Settings, name: str) -> str:
    """Classification of the change by the one classifier, with the policy's ``settings``
    (its date label, ``links_material``)."""
    fold = settings.fold_typography
    old_doc = parse_document(old_text, name=f"{name} (base)", fold_typography=fold)
    new_doc = parse_document(new_text, name=name, fold_typography=fold)
    return diff_documents(old_doc, new_doc, path=name, settings=settings).classification


def _read_date(text: str, options: DateOptions, name: str, today: date) -> date | None:
    try:
        return find_effective_date(text, options, name=name, today=today).date
    except DateError:
        return None


def _date_line(text: str, options: DateOptions) -> int | None:
    """The line of the managed date statement (or of the title, where one should be added)."""
    managed, _ = split_dates(text, options)
    if managed:
        return managed[0].line
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# "):
            return number
    return 1


def check_change(
    old_text: str | None,
    new_text: str | None,
    settings: Settings,
    *,
    today: date,
    policy: str,
    path: str,
    planned: Planned | None,
    options: DateOptions | None = None,
) -> PolicyCheck:
    """Check one policy's change from ``old_text`` (None: added) to ``new_text`` (None:
    removed) against what the release plan does with it (``planned``; None: no plan).

    ``options`` are the policy's date options with the order its evidence gives
    (:func:`redline.history.policy_dates.read_policy_date`); default: those of ``settings``.
    A month-year date counts its notice from the 1st of the month (readers may take it so).
    """
    opts = options or date_options(settings)
    change = "added" if old_text is None else "removed" if new_text is None else "modified"
    result = PolicyCheck(policy=policy, path=path, change=change)
    if new_text is None:
        result.add("warning", "the policy was removed; tell subscribers it no longer applies")
        return result
    line = _date_line(new_text, opts)
    try:
        effective = find_effective_date(new_text, opts, name=path, today=today)
    except DateError as problem:
        result.add("error", str(problem).removeprefix(f"{path}:"), line)
        return result
    result.new_date = new = effective.date
    assert new is not None  # find_effective_date raises for a blank date
    result.days_of_notice = (earliest_reading(new, effective.precision) - today).days
    for warning in effective.warnings:
        result.add("warning", f"{warning}", line)
    if old_text is not None:
        result.old_date = _read_date(old_text, opts, path, today)
        result.classification = _classify(old_text, new_text, settings, path)
    else:
        result.classification = "material"
    _judge(result, planned, line)
    return result


def _judge(result: PolicyCheck, planned: Planned | None, line: int | None) -> None:
    """The finding of a changed policy: what the release plan does with it."""
    verdict = planned.verdict(result.path) if planned is not None else None
    if isinstance(verdict, Unreleasable):
        error = verdict.error
        fix = f" (fix: {error.hint})" if error.hint else ""
        why = error.message.removeprefix(f"{result.path}: ")
        result.add("error", f"redline release would refuse it: {why}{fix}", line)
    elif isinstance(verdict, PolicyRelease):
        result.release = verdict.to_json()
        result.days_of_notice = verdict.notice_days
        level = "warning" if verdict.short_notice else "notice"
        result.add(level, will_do(verdict), line)
        for warning in planned.warnings(result.path) if planned is not None else []:
            result.add("warning", warning, line)
    elif isinstance(verdict, Skipped) and verdict.date_only:
        was = result.old_date.isoformat() if result.old_date else "unreadable"
        now = result.new_date.isoformat() if result.new_date else "unreadable"
        result.add(
            "warning",
            f"only the effective date changed ({was} -> {now}); nothing else in the policy "
            "did, so release will release nothing (redline manages that date)",
            line,
        )
    elif isinstance(verdict, Skipped):
        result.add("notice", f"release will release nothing ({verdict.reason})", line)
    else:
        result.add("notice", "redline release plans no version of it", line)


def will_do(item: PolicyRelease) -> str:
    """What the release will do with one policy, in one line."""
    told = "notify subscribers" if item.notify else "not notify subscribers"
    short = " on SHORT NOTICE" if item.short_notice else ""
    return (
        f"release will set {item.effective_date.isoformat()} ({item.notice_days} days after "
        f"the release){short} and {told}: v{item.version}, {item.reason}"
    )


def _read(repo: PolicyRepo, policy: Policy, rev: str | None) -> str | None:
    """The policy's text at ``rev`` (None: working tree), or None where it does not exist."""
    if rev is None and not policy.abspath.exists():
        return None
    try:
        return repo.read_text(policy, rev).text
    except InputError as problem:
        if rev is not None and "does not exist" in problem.message:
            return None
        raise


def check_policies(
    repo: PolicyRepo,
    settings: Settings,
    *,
    base: str | None = None,
    today: date,
    allow_short_notice: bool = False,
    planned: Planned | None = None,
) -> CheckReport:
    """Check every policy that differs between ``base`` and the working tree against what
    a release would do (``planned``; default: the plan of the working tree).

    A policy renamed or moved since ``base`` (git's rename detection, or its declared
    ``previous_paths``) is checked against its text at the old path and reported as a move.
    """
    base_ref, base_commit = resolve_base(repo, settings, base)
    current = repo.policies()
    moves = repo.moves_since(base_commit)
    sources = set(moves.values())
    changed = _changed(repo, current, base_commit, moves)
    if planned is None:  # the changed policies only: the others are not checked
        here = [policy for policy, _, _, new_text in changed if new_text is not None]
        planned = Planned.of(
            repo, settings, today, allow_short_notice=allow_short_notice, only=here
        )
    report = CheckReport(base_ref, base_commit, today, settings.notice_days, planned.error)
    orders = repository_orders(repo)
    for policy, moved_from, old_text, new_text in changed:
        # the order of its numeric date: its settings, its history, the other policies
        read = (
            None
            if new_text is None
            else read_policy_date(repo, policy, new_text, orders=orders, today=today)
        )
        checked = check_change(
            old_text,
            new_text,
            repo.settings_for(policy),
            today=today,
            policy=policy.slug,
            path=policy.path,
            planned=planned,
            options=read.options if read else None,
        )
        if moved_from:
            checked.moved_from = moved_from
            if old_text == new_text:
                checked.change = "moved"
            checked.add("notice", f"moved from {moved_from}")
        report.policies.append(checked)
    known = {policy.path for policy in current} | sources
    for path in _deleted_since(repo, base_commit):
        if path not in known:
            slug = settings.layout.name(path)
            report.policies.append(
                check_change("", None, settings, today=today, policy=slug, path=path, planned=None)
            )
    report.policies.sort(key=lambda checked: checked.path)
    return report


def _changed(
    repo: PolicyRepo, current: list[Policy], base_commit: str, moves: dict[str, str]
) -> list[tuple[Policy, str | None, str | None, str | None]]:
    """``(policy, moved from, text at base, text now)`` of every policy that differs between
    ``base_commit`` and the working tree, or moved since."""
    sources = set(moves.values())
    found = []
    for policy in current:
        if policy.path in sources and policy.path not in moves:
            continue  # still at HEAD, moved in the working tree: checked at its new path
        moved_from = moves.get(policy.path)
        then = replace(policy, path=moved_from) if moved_from else policy
        old_text = _read(repo, then, base_commit)
        new_text = _read(repo, policy, None)
        if old_text != new_text or moved_from:
            found.append((policy, moved_from, old_text, new_text))
    return found


def _deleted_since(repo: PolicyRepo, base_commit: str) -> list[str]:
    """Policy files that existed at ``base_commit`` and are gone from the working tree."""
    roots = repo.settings.policies_dir
    output = repo.git.read(
        "diff", "--name-only", "--no-renames", "-z", "--diff-filter=D", base_commit, "--", *roots
    )
    layout = repo.settings.layout
    return [path for path in output.split("\0") if path and layout.judge(path).reason is None]
