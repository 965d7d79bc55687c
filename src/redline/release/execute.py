"""Carrying out a release plan: check, write, commit, tag, push, notify (:func:`execute_release`),
and the whole run under the release lock (:func:`run_release`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from redline.errors import GitError, InputError, RedlineError
from redline.files import atomic_write
from redline.github import read_github_event
from redline.history.git import Git, GitCommandFailed
from redline.history.repo import PolicyRepo
from redline.history.texts import blob_sha
from redline.release.journal import (
    JOURNAL_FORMAT,
    Journal,
    abandon,
    bot_environment,
    kill_point,
    make_tag,
    ref_commit,
    release_lock,
    resume_interrupted,
)
from redline.release.messages import commit_message, tag_message
from redline.release.notices import (
    check_delivery,
    count_all,
    move_subscriptions,
    notices_to_finish,
    open_store,
    send_all,
)
from redline.release.plan import ReleasePlan, plan_release
from redline.release.remote import (
    check_event,
    current_branch,
    moved_error,
    prepare_repository,
    push_release,
    remote_tip,
    unpushed_release_tags,
)
from redline.release.report import ReleaseReport

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date
    from pathlib import Path

    from redline.config import Settings
    from redline.history.git import Echo
    from redline.history.repo import Policy
    from redline.history.tags import Release
    from redline.ledger.store import Store
    from redline.mail.transport import Transport


def dirty_files(runner: Git, paths: list[str]) -> list[str]:
    """Which of ``paths`` have uncommitted changes (staged, unstaged or untracked)."""
    if not paths:
        return []
    output = runner.read("status", "--porcelain=v1", "--untracked-files=all", "--", *paths)
    return [line[3:] for line in output.splitlines() if line.strip()]


@dataclass
class _Delivery:
    """What the notices of a run need: the earlier releases with work left, whether any
    notice is due, the ledger and transport, and why a dry run cannot render emails."""

    pending: list[tuple[Policy, Release]]
    needed: bool
    store: Store | None = None
    transport: Transport | None = None
    unsendable: RedlineError | None = None


def execute_release(
    plan: ReleasePlan,
    *,
    push: bool = False,
    dry_run: bool = False,
    outbox: Path | None = None,
    transport: Transport | None = None,
    runner: Git | None = None,
    echo: Echo | None = None,
    environ: Mapping[str, str] | None = None,
) -> ReleaseReport:
    """Carry out ``plan``: write, commit, tag, (push), then send and finish notices.

    Failures before or during the push raise (after undoing this run's local changes).
    A failure while sending is recorded in ``report.error`` and the release stands; the
    caller reports it (exit code 4 or 5) after printing the report. :func:`run_release`
    holds the repository's release lock around planning and this.
    """
    environ = plan.settings.env.environ if environ is None else environ
    runner = runner or Git(plan.repo.root, dry_run=dry_run, echo=echo)
    report = ReleaseReport(plan, dry_run=dry_run, push=push)
    report.files = list(plan.files)
    # 1. Everything that can fail is checked before anything is written.
    start_tip, unpushed = _check_before_writing(plan, runner, report, push, environ)
    delivery = _prepare_delivery(plan, report, dry_run, transport, outbox)
    try:
        # 2. Write, commit and tag, recorded in the journal first; undone if a step fails.
        journal = None if dry_run else Journal(runner)
        state = None
        if plan.releases:
            state = write_commit_tag(plan, runner, report, journal, echo, environ)
        undo = partial(abandon, runner, plan.settings.repo_root, state, journal)
        # 3. Push the commit and every release tag origin lacks, atomically.
        if push and (plan.releases or unpushed):
            push_release(plan, runner, report, undo, start_tip, unpushed)
        if journal is not None:
            journal.remove()
        # 4. Notices: new releases first, then earlier releases with work left.
        _notify(plan, report, delivery, dry_run)
    finally:
        if delivery.store is not None:
            delivery.store.close()
    report.commands = list(runner.commands)
    return report


def _check_before_writing(
    plan: ReleasePlan, runner: Git, report: ReleaseReport, push: bool, environ: Mapping[str, str]
) -> tuple[str | None, list[str]]:
    """Refuse a plan that is stale, would overwrite uncommitted files or cannot be pushed;
    with ``push``, return origin's branch tip now and the release tags origin lacks."""
    if plan.worktree:
        raise InputError("a plan of the working tree is for showing, not for releasing")
    now = ref_commit(runner, "HEAD")
    if now != plan.head:
        raise GitError(
            f"HEAD moved from {plan.head[:10]} to {(now or 'nothing')[:10]} after this "
            "release was planned; nothing was written",
            hint="run release again",
        )
    dirty = dirty_files(runner, report.files)
    if dirty:
        raise InputError(
            f"uncommitted changes in {', '.join(dirty)}; release writes these files",
            hint="commit or discard them first (see `git status`), then run release again",
        )
    if not push:
        return None, []
    settings = plan.settings
    report.branch = current_branch(runner, environ)
    if settings.default_branch and report.branch != settings.default_branch:
        raise GitError(
            f"release --push runs on the default branch '{settings.default_branch}' "
            f"(config default_branch), not on '{report.branch}'",
            hint=f"switch to {settings.default_branch}, or release without --push",
        )
    start_tip = remote_tip(runner, report.branch)
    unpushed = unpushed_release_tags(plan, runner)
    if (
        (plan.releases or unpushed)
        and start_tip is not None
        and not runner.is_ancestor(start_tip, plan.head)
    ):
        raise moved_error(report.branch, start_tip, plan.head, before=True)
    return start_tip, unpushed


def _prepare_delivery(
    plan: ReleasePlan,
    report: ReleaseReport,
    dry_run: bool,
    transport: Transport | None,
    outbox: Path | None,
) -> _Delivery:
    """Check the delivery settings and open the ledger and transport when a notice is due."""
    pending = notices_to_finish(plan) if plan.notify else []
    delivery = _Delivery(pending, any(i.notify for i in plan.releases) or bool(pending))
    if not delivery.needed:
        return delivery
    try:
        check_delivery(plan.settings)
    except RedlineError as problem:
        if not dry_run:
            raise
        delivery.unsendable = problem  # a dry run without the delivery settings
        report.warnings.append(
            f"a run without --dry-run would stop before writing anything: {problem}"
        )
    if not dry_run and transport is None:
        from redline.mail.send import open_transport  # lazy: loads yagmail

        transport = open_transport(plan.settings, outbox)  # connects only when sending
    delivery.transport = transport
    delivery.store = open_store(plan, dry_run)
    return delivery


def _notify(plan: ReleasePlan, report: ReleaseReport, delivery: _Delivery, dry_run: bool) -> None:
    """Move subscriptions to current names, then send (or, dry, count) the notices."""
    store = delivery.store
    if store is not None:
        move_subscriptions(plan, report, store, dry_run)
    if delivery.needed and store is not None and delivery.unsendable is not None:
        count_all(plan, report, store, delivery.pending)
    elif delivery.needed and store is not None:
        send_all(plan, report, store, delivery.transport, dry_run, delivery.pending)
    elif delivery.needed and dry_run:
        report.warnings.append(
            "no subscriber database yet (.redline/redline.db): the run would send 0 emails"
        )


def write_commit_tag(
    plan: ReleasePlan,
    runner: Git,
    report: ReleaseReport,
    journal: Journal | None,
    echo: Echo | None,
    environ: Mapping[str, str],
) -> dict[str, Any] | None:
    """Write the files, commit and tag (a dry run only says so); the journal's state.

    The journal records the plan before the first write and the commit once it exists. If
    a step fails, what this run did is rolled back (:func:`~redline.release.journal.roll_back`)
    and the journal removed.
    """
    settings = plan.settings
    writes = [
        write
        for item in plan.releases
        for write in ((item.policy.path, item.data), (item.changelog, item.changelog_data))
    ]
    message = commit_message(plan)
    tags = [(item.tag, tag_message(plan, item)) for item in plan.releases]
    state = _journal_state(plan, writes, message, tags) if journal is not None else None
    try:
        _write_files(plan, writes, state, journal, echo, environ)
        paths = [path for path, _ in writes]
        runner.change("add", "--", *paths)
        kill_point("staged", environ)
        bot, identity = bot_environment(settings), f"as {settings.bot_name} <{settings.bot_email}>"
        runner.change("commit", "-m", message, "--", *paths, env=bot, note=identity)
        if state is not None and journal is not None:
            report.commit = state["commit"] = ref_commit(runner, "HEAD")
            journal.write(state)
            kill_point("committed", environ)
        for name, text in tags:
            make_tag(runner, settings, name, text, report.commit or "HEAD")
            report.tags.append(name)
            kill_point("tag", environ)
        kill_point("tagged", environ)
    except GitCommandFailed as failure:
        abandon(runner, settings.repo_root, state, journal)
        raise failure.hinted("this run's files, commit and tags were undone") from None
    except BaseException:
        abandon(runner, settings.repo_root, state, journal)
        raise
    return state


def _journal_state(
    plan: ReleasePlan,
    writes: list[tuple[str, bytes]],
    message: str,
    tags: list[tuple[str, str]],
) -> dict[str, Any]:
    """What the journal records before the first write (the commit is added once made)."""
    return {
        "format": JOURNAL_FORMAT,
        "head": plan.head,
        "files": [
            {
                "path": path,
                "existed": plan.repo.blob_at(plan.head, path) is not None,
                "written": blob_sha(data),
            }
            for path, data in writes
        ],
        "message": message,
        "tags": [{"name": name, "message": text} for name, text in tags],
        "commit": None,
    }


def _write_files(
    plan: ReleasePlan,
    writes: list[tuple[str, bytes]],
    state: dict[str, Any] | None,
    journal: Journal | None,
    echo: Echo | None,
    environ: Mapping[str, str],
) -> None:
    """Record the journal, then write the files (a dry run says what it would write)."""
    root = plan.settings.repo_root
    if state is not None and journal is not None:
        journal.write(state)
        for path, data in writes:
            atomic_write(root / path, data, root=root)
        kill_point("written", environ)
    elif echo:
        for item in plan.releases:
            echo(f"would write: {item.policy.path} (effective date {item.effective_date})")
            echo(f"would write: {item.changelog} (entry for v{item.version})")


def run_release(
    settings: Settings,
    *,
    today: date,
    dry_run: bool = False,
    push: bool = False,
    notify: bool = True,
    allow_short_notice: bool = False,
    outbox: Path | None = None,
    echo: Echo | None = None,
    environ: Mapping[str, str] | None = None,
) -> ReleaseReport:
    """What ``redline release`` does, holding the repository's release lock throughout:
    finish or roll back an interrupted release, prepare the clone, plan, execute."""
    environ = settings.env.environ if environ is None else environ
    repo = PolicyRepo(settings)
    runner = Git(repo.root, dry_run=dry_run, echo=echo)
    with release_lock(runner):
        warnings = resume_interrupted(runner, settings)
        warnings += prepare_repository(repo, runner, push=push)
        event = read_github_event(environ)
        if event is not None and push:
            check_event(repo, event, environ, warnings)
        plan = plan_release(
            repo, settings, today, allow_short_notice=allow_short_notice, notify=notify
        )
        plan.warnings[:0] = warnings
        return execute_release(
            plan,
            push=push,
            dry_run=dry_run,
            outbox=outbox,
            runner=runner,
            echo=echo,
            environ=environ,
        )
