"""The remote side of a release: origin's branch tip and tags, fetching, the atomic push, and
the push event it runs for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redline.errors import GitError
from redline.history.git import GitCommandFailed

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from redline.history.git import Git
    from redline.history.repo import PolicyRepo
    from redline.release.plan import ReleasePlan
    from redline.release.report import ReleaseReport


REMOTE = "origin"


def current_branch(runner: Git, environ: Mapping[str, str]) -> str:
    """The branch to push: the checked-out branch, else GITHUB_REF's branch."""
    branch = runner.branch()
    if branch is not None:
        return branch
    ref = environ.get("GITHUB_REF", "")
    if ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/")
    raise GitError(
        "HEAD is detached, so there is no branch to push the release to",
        hint="check out the branch first (e.g. `git switch main`)",
    )


def remote_tip(runner: Git, branch: str) -> str | None:
    """The commit of ``origin``'s ``branch`` now (``git ls-remote``); None if it has none."""
    try:
        output = runner.read("ls-remote", "--heads", REMOTE, f"refs/heads/{branch}")
    except GitCommandFailed as failure:
        raise failure.hinted("check that origin is reachable and you may read it") from None
    for line in output.splitlines():
        sha, _, ref = line.partition("\t")
        if ref == f"refs/heads/{branch}":
            return sha
    return None


def remote_tags(runner: Git) -> set[str]:
    """Names of the tags on ``origin``."""
    try:
        output = runner.read("ls-remote", "--tags", "--refs", REMOTE)
    except GitCommandFailed as failure:
        raise failure.hinted("check that origin is reachable") from None
    return {
        ref.removeprefix("refs/tags/")
        for _, _, ref in (line.partition("\t") for line in output.splitlines())
        if ref.startswith("refs/tags/")
    }


def prepare_repository(repo: PolicyRepo, runner: Git, *, push: bool) -> list[str]:
    """Fetch what a release needs: unshallow a shallow clone, fetch release tags for --push.

    Returns warnings (a dry run only says what it would fetch).
    """
    warnings: list[str] = []
    shallow = repo.is_shallow()
    if not shallow and not push:
        return warnings
    if REMOTE not in runner.remote_names():
        if push:
            raise GitError("there is no remote 'origin' to push to", hint="add it: git remote add")
        raise GitError("this is a shallow clone without an 'origin' to fetch history from")
    args = ["fetch", "--unshallow", "--tags", REMOTE] if shallow else ["fetch", "--tags", REMOTE]
    note = "fetch the full history and the release tags" if shallow else "fetch release tags"
    try:
        runner.change(*args, note=note)
    except GitCommandFailed as failure:
        raise failure.hinted(
            "fix access to origin, or check out with `fetch-depth: 0`"
            if shallow
            else "a local tag may differ from origin's; compare `git ls-remote --tags origin`",
        ) from None
    if runner.dry_run and shallow:
        warnings.append(
            "this is a shallow clone; a dry run does not fetch, so releases made before the "
            "shallow history began may be missing from this plan"
        )
    return warnings


def unpushed_release_tags(plan: ReleasePlan, runner: Git) -> list[str]:
    """Release tags in HEAD's history that origin does not have (a crash before pushing)."""
    on_remote = remote_tags(runner)
    return sorted(
        release.tag
        for policy in plan.repo.policies()
        for release in plan.repo.releases(policy)
        if release.tag not in on_remote and plan.repo.is_ancestor(release.commit, plan.head)
    )


def moved_error(branch: str, tip: str, head: str, *, before: bool) -> GitError:
    """The error for origin's branch moving (``before`` the run, or while it released)."""
    when = "before this run" if before else "while this run was releasing"
    return GitError(
        f"{REMOTE}/{branch} moved {when}: it is at {tip[:10]}, which {head[:10]} does not "
        f"contain; nothing was pushed",
        hint="the run for the newer commit releases these changes too; "
        "locally, pull and run release again",
    )


def push_release(
    plan: ReleasePlan,
    runner: Git,
    report: ReleaseReport,
    undo: Callable[[], None],
    start_tip: str | None,
    unpushed: list[str],
) -> None:
    """Push the release commit and tags in one atomic push, unless origin's branch moved
    since the run began; on failure this run's commit and tags are undone (``undo``)."""
    branch = report.branch or ""
    tags = sorted({*report.tags, *unpushed})
    tip = remote_tip(runner, branch)
    if tip != start_tip:
        undo()
        raise moved_error(branch, tip or "(deleted)", plan.head, before=False)
    refs = [f"refs/tags/{tag}" for tag in tags]
    try:
        runner.change("push", "--atomic", "--porcelain", REMOTE, f"HEAD:refs/heads/{branch}", *refs)
    except GitCommandFailed as failure:
        undo()
        now = remote_tip(runner, branch)
        if now != start_tip:
            raise moved_error(branch, now or "(deleted)", plan.head, before=False) from None
        raise failure.hinted(
            "nothing was pushed and this run's commit and tags were undone; re-run"
        ) from None
    report.pushed = not runner.dry_run
    report.pushed_tags = tags


def check_event(
    repo: PolicyRepo, event: Mapping[str, Any], environ: Mapping[str, str], warnings: list[str]
) -> None:
    """Refuse to push a release from a branch other than the repository's default branch."""
    ref = str(event.get("ref") or environ.get("GITHUB_REF") or "")
    default = (event.get("repository") or {}).get("default_branch")
    if ref.startswith("refs/heads/") and default and ref != f"refs/heads/{default}":
        raise GitError(
            f"this run was triggered by a push to {ref.removeprefix('refs/heads/')}, not to the "
            f"default branch {default}; release --push only releases the default branch",
            hint="restrict the release workflow to the default branch",
        )
    after = event.get("after")
    head = repo.resolve_rev("HEAD")
    if isinstance(after, str) and after and after != head:
        warnings.append(
            f"the checkout is at {head[:10]}, the push event was for {after[:10]}; "
            "releasing the checkout"
        )
