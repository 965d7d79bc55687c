"""``redline release``: version, date, log, commit, tag, push and notify changed policies.

The rules, exactly (the README quotes them):

Which policies are released
    Every policy at HEAD whose normalised text differs from its last release (the commit of
    its newest ``{tag_prefix}{slug}/vN`` tag), and every policy never released. The text is
    read from HEAD, not from the working tree. A policy is skipped when its last release is
    HEAD itself, when HEAD is an ancestor of that release (a re-run on the commit a release
    was made from, e.g. re-running the workflow of the merge commit), or when the only
    difference is the effective-date line (redline manages that line; a warning says so).

Classification
    From :func:`redline.compare.engine.diff_documents`, last release against HEAD. A first
    release is ``material`` (version 1, ``Previous-Version: none``). Every released policy needs an
    effective-date statement (:mod:`redline.document.dates`; a blank placeholder is filled in).

Effective date of a material change
    ``floor`` is the later of today + ``notice_days`` and the effective date of a release
    that is still pending (its date after today): a new version never takes effect before
    the one it supersedes. The date is ``floor``, or a later date asked for by an
    ``Effective-Date: YYYY-MM-DD`` trailer in the message of HEAD (the merge commit), or,
    without a trailer, a later date already written in the policy (as ``redline check``
    makes pull requests do). A trailer date before ``floor`` is refused unless
    ``--allow-short-notice`` is given; the release then records ``Short-Notice: yes``. A
    date before today is always refused. One trailer applies to every material release of
    the run.

Effective date of an editorial change
    The date of the pending release when one is pending (it keeps that date), else today
    (released at once). A trailer is ignored (a warning says so when no material change
    is released).

Who is notified
    ``Notify: yes`` for material releases, and for editorial ones when config
    ``notify_editorial`` is true and no release is pending; ``--no-notify`` makes every new
    release ``Notify: no``. A notice shows the changes since the last notified version: the
    newest earlier release with ``Notify: yes``, else the first release (the baseline;
    a first release shows no redline). A pending version keeps its date and its own
    notice: both go out.

What is written
    The effective date into the policy, in the form it is written in
    (:mod:`redline.document.dates`), and an entry into its changelog
    (:mod:`redline.publish.changelog`), then ONE commit by the bot identity (config
    ``bot_name``/``bot_email``) of exactly those files, and one annotated tag per released
    policy on that commit. The tag message carries Policy, Version,
    Effective-Date, Classification, Previous-Version, Commits (``<previous release
    commit>..<released commit>``, only the released commit for a first release), Notify,
    Short-Notice and Summary (:func:`redline.history.repo.format_release_message`).

Unreleasable policies
    A policy without an effective-date statement, with an ambiguous or invalid date, or
    whose tag name git refuses (``git check-ref-format``, or a leading ``-``) is reported
    once as a warning with its fix and left out (:class:`Unreleasable`); the others are
    released and the command exits 6 (:class:`~redline.errors.PoliciesSkipped`). Every git
    command passes names after ``--`` or as full refs.

Order and failure
    Every policy is validated (effective-date line, dates, tag names, templates,
    changelog, transport, database, clean files) before anything is written. Then: write
    files, commit, tag, push, notify. If writing, committing, tagging or pushing fails,
    the files, commit and tags made by this run are undone locally, and only while they
    are as this run left them (:func:`_roll_back`). Sending failures never undo a release:
    failed notices stay in the ledger for ``redline remind``.

Lock and journal
    :func:`run_release` holds ``<git common dir>/redline/release.lock`` (an OS file lock
    that dies with its holder) from start to end; a second run stops with exit code 7.
    The plan (files with the blob ids of the bytes written, commit message, tags and their
    messages) goes to ``<git dir>/redline/release.json`` before the first write, the
    commit id once it exists. A run that finds the journal finishes the release when its
    commit is in HEAD's history (makes the missing tags; push and notices follow as for
    any unpushed or unsent release), else rolls it back, then plans afresh
    (:func:`resume_interrupted`).

``--push``
    Only from the default branch (config ``default_branch``; in GitHub Actions also the
    push event's repository default branch). A shallow clone is unshallowed first
    (``git fetch --unshallow --tags origin``) and release tags are fetched, so earlier
    releases are known. The remote branch tip is read with ``git ls-remote`` at the
    start; HEAD must contain it, and just before pushing it must not have changed,
    otherwise the run stops with "the branch moved" and nothing remote changes. The
    commit and the tags go in one ``git push --atomic origin HEAD:refs/heads/<branch>
    <tags>``; release tags made earlier but never pushed (a run that crashed before
    pushing) go with them. Notices are sent only after the push.

Idempotence and crashes
    A second run on the same commit finds nothing to release: no commit, no tag, no push.
    Every run then finishes the notices of releases that are still pending (effective date
    today or later) and have ``Notify: yes``: it queues any subscriber without a ledger row,
    puts rows left ``sending`` by a crash back to ``pending``, and sends what is pending or
    failed temporarily (:mod:`redline.mail.send`); when nothing is left it opens no connection
    and sends nothing. So a subscriber who joined after a release also gets the notice of
    a version that has not taken effect yet; nobody gets one twice.

Dates from evidence
    Each policy's date is read with its own settings (``PolicyRepo.settings_for``) and the
    numeric order its evidence gives (:mod:`redline.history.policy_dates`), and written in that
    order. A month-year date can only announce the 1st of a month, so every date of such a
    policy moves to the first 1st on or after it (:func:`redline.document.dates.earliest_writable`).

Subscriptions after a move
    Before queueing notices, subscriptions under a policy's earlier names move to its
    current name (:func:`redline.ledger.subscribers.policy_names`).

``--dry-run``
    Runs every read and check, writes nothing, and prints each git command that would
    change something (fetch, add, commit, tag, push), each file that would be written and
    how many emails would be sent. It needs no sender, secret or SMTP settings: without
    them it warns and counts the waiting subscribers instead of rendering the emails.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import re
import secrets
import shlex
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import (
    DateError,
    GitError,
    InputError,
    RedlineError,
    ReleaseInProgressError,
)
from redline.md import md_escape

if TYPE_CHECKING:
    import git

    from redline.compare.engine import DiffResult
    from redline.config import Settings
    from redline.document.dates import RepositoryOrders
    from redline.history.repo import Policy, PolicyRepo, Release
    from redline.ledger.store import Store
    from redline.mail.mailer import Transport
    from redline.mail.send import NotifyReport
    from redline.publish.changelog import ChangelogEntry
    from redline.publish.notice import RenderedNotice
    from redline.publish.templates import Templates

LOG = logging.getLogger("redline.release.core")

REMOTE = "origin"
NOTICE_KIND = "notice"
_TRAILER = re.compile(r"^effective-date[ \t]*:[ \t]*(.*?)[ \t]*$", re.I | re.M)
_SUBJECT_LIMIT = 72

Echo = Callable[[str], None]


# -- git ------------------------------------------------------------------------------------


def format_command(args: tuple[str, ...] | list[str], note: str = "") -> str:
    """A git command as one shell-quoted line; multi-line values are shown below it."""
    shown: list[str] = []
    bodies: list[str] = []
    for arg in args:
        if "\n" in arg:
            shown.append(shlex.quote(arg.split("\n", 1)[0] + " ..."))
            bodies.append(arg.rstrip("\n"))
        else:
            shown.append(shlex.quote(arg))
    line = "git " + " ".join(shown) + (f"  # {note}" if note else "")
    for body in bodies:
        line += "\n" + "\n".join(f"    | {text}" for text in body.split("\n"))
    return line


class GitRunner:
    """The one way release runs git (through GitPython's ``repo.git``).

    Every command is logged to stderr at INFO (``-v``). With ``dry_run``, commands that
    change something are printed through ``echo`` and collected in :attr:`commands` instead
    of being run; read-only commands always run.
    """

    def __init__(self, repo: git.Repo, *, dry_run: bool = False, echo: Echo | None = None) -> None:
        self.repo = repo
        self.dry_run = dry_run
        self.echo = echo
        self.commands: list[str] = []

    def read(self, *args: str) -> str:
        """Run a read-only git command and return its stdout."""
        return self._run(args, None, change=False)

    def change(self, *args: str, env: Mapping[str, str] | None = None, note: str = "") -> str:
        """Run a git command that changes the repository or the remote (not in dry-run)."""
        return self._run(args, env, change=True, note=note)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when ``ancestor`` is ``descendant`` or in its history.

        A commit this clone does not have is not an ancestor (``git merge-base
        --is-ancestor`` exits 1 for "no", 128 for an unknown commit).
        """
        try:
            self._run(("merge-base", "--is-ancestor", ancestor, descendant), None, change=False)
        except _GitFailed as failure:
            status = getattr(failure.cause, "status", None)
            stderr = str(getattr(failure.cause, "stderr", ""))
            if status == 1 or "not a valid commit name" in stderr.lower():
                return False
            raise _git_error(failure) from None
        return True

    def _run(
        self,
        args: tuple[str, ...],
        env: Mapping[str, str] | None,
        *,
        change: bool,
        note: str = "",
    ) -> str:
        import git as gitmodule

        display = format_command(args, note)
        if change and self.dry_run:
            self.commands.append(display)
            if self.echo:
                self.echo(f"would run: {display}")
            return ""
        LOG.info("%s", display)
        command = getattr(self.repo.git, args[0].replace("-", "_"))
        try:
            return command(*args[1:], env=dict(env) if env else None)
        except gitmodule.GitCommandError as exc:
            raise _GitFailed(args, exc) from None


class _GitFailed(Exception):
    """A git command failed; :meth:`describe` gives one line for a GitError."""

    def __init__(self, args: tuple[str, ...], cause: Exception) -> None:
        super().__init__(args)
        self.args_run = args
        self.cause = cause

    def describe(self) -> str:
        stderr = str(getattr(self.cause, "stderr", "") or "").strip()
        lines = [
            line.strip().removeprefix("stderr: ").strip("'").strip() for line in stderr.splitlines()
        ]
        detail = next((ln for ln in reversed(lines) if ln and not ln.startswith("hint:")), "")
        return f"`git {' '.join(self.args_run[:2])}` failed" + (f": {detail}" if detail else "")


def _git_error(failure: _GitFailed, hint: str | None = None) -> GitError:
    return GitError(failure.describe(), hint=hint)


# -- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRelease:
    """One policy version that a release creates.

    ``previous`` is the last release (None for a first release); ``diff`` compares it with
    the released text (``text``: HEAD's text with the new effective date written in);
    ``notice_base``/``notice_diff`` are what the notice compares with (the last notified
    version). ``entry``/``entry_markdown`` are the changelog entry and its Markdown,
    ``changelog`` the changelog's repository-relative path, ``notice`` the rendered email
    (None when ``notify`` is false). ``data`` and ``changelog_data`` are the exact bytes the
    release writes into the policy and its changelog.
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


def effective_date_trailer(message: str, *, where: str = "HEAD") -> date | None:
    """The date of an ``Effective-Date: YYYY-MM-DD`` trailer in a commit message, if any.

    The last such line wins (as with git trailers); a malformed value is an InputError.
    """
    from redline.document.dates import parse_iso_date

    found = _TRAILER.findall(message)
    if not found:
        return None
    return parse_iso_date(found[-1], what=f"Effective-Date trailer of {where}")


def pending_date(releases: list[Release], today: date) -> date | None:
    """The latest effective date of a release that has not taken effect yet, if any."""
    ahead = [release.effective_date for release in releases if release.effective_date > today]
    return max(ahead) if ahead else None


def choose_effective_date(
    classification: str,
    *,
    today: date,
    notice_days: int,
    pending: date | None,
    requested: date | None,
    written: date | None,
    allow_short_notice: bool,
    name: str,
    precision: str = "day",
) -> tuple[date, str, bool]:
    """The effective date of a new version: ``(date, where it came from, short notice)``.

    ``pending`` is the date of a release not yet in effect, ``requested`` the Effective-Date
    trailer, ``written`` the date in the policy at HEAD. A policy that writes its date as a
    month and year (``precision`` ``"month"``) can only announce the 1st of a month: every
    date is moved to the first one no reader can take as earlier
    (:func:`redline.document.dates.earliest_writable`). See the module docstring.
    """
    from redline.document.dates import earliest_writable

    if classification != "material":
        if pending is not None:
            return pending, "pending release", False
        return today, "released at once", False
    minimum = today + timedelta(days=notice_days)
    floor, source = minimum, f"notice period of {notice_days} days"
    if pending is not None and pending > minimum:
        floor, source = pending, "date of the pending release"
    writable = earliest_writable(floor, precision)
    if writable != floor:
        floor, source = writable, f"{source}, moved to the 1st of a month (month-year date)"
    if requested is not None:
        if requested < today:
            raise DateError(
                f"{name}: the Effective-Date trailer asks for {requested.isoformat()}, "
                f"which is in the past (today is {today.isoformat()})",
                hint="ask for a future date in the merge commit's Effective-Date trailer",
            )
        asked, how = earliest_writable(requested, precision), "Effective-Date trailer"
        if asked != requested:
            how += f" ({requested.isoformat()}, moved to the 1st of a month: month-year date)"
        if asked >= floor:
            return asked, how, False
        if not allow_short_notice:
            days = (asked - today).days
            raise DateError(
                f"{name}: the Effective-Date trailer asks for {requested.isoformat()}, which "
                f"gives {days} days of notice; the earliest allowed is {floor.isoformat()} "
                f"({source})",
                hint="remove the trailer or ask for a later date, or pass "
                "--allow-short-notice to release with short notice (recorded in the tag)",
            )
        return asked, f"{how} (short notice)", True
    if written is not None and written > floor:
        return written, "date written in the policy", False
    return floor, source, False


def plan_release(
    repo: PolicyRepo,
    settings: Settings,
    today: date,
    *,
    rev: str = "HEAD",
    allow_short_notice: bool = False,
    notify: bool = True,
    templates: Templates | None = None,
    only: Policy | None = None,
    worktree: bool = False,
) -> ReleasePlan:
    """Work out and validate every release a run at ``rev`` would make; write nothing.

    A policy whose effective date cannot be read or written (a DateError), or whose tag name
    git refuses, is left out: it goes into ``plan.unreleasable`` with a warning, and the
    others are planned as usual. Any other problem (InputError, TemplateError, a refused
    Effective-Date trailer, ...) is raised, the first one after logging all of them, so
    that one run shows every policy that needs fixing.

    ``only`` plans that one policy; ``worktree`` takes its text from the working tree
    instead of ``rev`` (what ``preview-email`` shows of an uncommitted edit).
    """
    from redline.history.policy_dates import repository_orders
    from redline.publish.templates import Templates

    if not repo.has_commits():
        raise GitError("the repository has no commits yet", hint="commit the policies first")
    head = repo.resolve_rev(rev)
    commit = repo.repo.commit(head)
    requested = effective_date_trailer(str(commit.message), where=f"commit {head[:10]}")
    templates = templates or Templates(settings)
    plan = ReleasePlan(
        repo,
        settings,
        today,
        head,
        requested,
        allow_short_notice,
        notify,
        worktree=worktree,
        templates=templates,
        orders=repository_orders(repo),
    )
    problems: list[RedlineError] = []
    for policy in [only] if only is not None else repo.policies():
        try:
            item = _plan_policy(plan, policy, templates)
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
    material = any(item.classification == "material" for item in plan.releases)
    if requested is not None and plan.releases and not material:
        plan.warnings.append(
            f"the Effective-Date trailer ({requested.isoformat()}) was ignored: "
            "editorial changes are released at once"
        )
    return plan


def _policy_text(plan: ReleasePlan, policy: Policy) -> tuple[str, str, bytes] | None:
    """``(text, blob id, byte order mark)`` of ``policy`` at the plan's head (or in the
    working tree with ``plan.worktree``); None if it is not there."""
    from redline.history.repo import decode_policy

    if plan.worktree:  # shown, never written (execute_release refuses such a plan)
        if not policy.abspath.is_file():
            return None
        snapshot = plan.repo.read_text(policy, None)
        return snapshot.text, snapshot.blob, b""
    try:
        found = plan.repo.repo.commit(plan.head).tree / policy.path
    except KeyError:
        return None
    data = found.data_stream.read()
    text = decode_policy(data, f"{policy.path} at {plan.head[:10]}")
    return text, found.hexsha, codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""


def _tag_problem(repo: PolicyRepo, policy: Policy) -> InputError | None:
    """Why git would refuse ``policy``'s release tags (``git check-ref-format`` and the rule
    of ``git tag`` that a name must not start with a dash), or None."""
    import git as gitmodule

    def refused(tag: str) -> bool:
        if tag.startswith("-"):
            return True
        try:
            repo.repo.git.check_ref_format(f"refs/tags/{tag}")
        except gitmodule.GitCommandError:
            return True
        return False

    tag = repo.tag_name(policy.slug, 1)
    if not refused(tag):
        return None
    fix = (
        "fix tag_prefix in the config"
        if refused(repo.tag_name("policy", 1))
        else "rename the file to letters, digits and dashes (e.g. cookie-policy.md)"
    )
    return InputError(
        f"{policy.path}: its release tag {tag!r} is not a valid git tag name", hint=fix
    )


def _plan_policy(
    plan: ReleasePlan, policy: Policy, templates: Templates
) -> PolicyRelease | Skipped | Unreleasable | None:
    from redline.compare.engine import RefInfo, diff_documents
    from redline.document.dates import edit_effective_date
    from redline.document.model import parse_document
    from redline.history.policy_dates import read_policy_date
    from redline.history.repo import notice_base
    from redline.publish import changelog

    repo, settings, head, today = plan.repo, plan.settings, plan.head, plan.today
    path = policy.path
    found = _policy_text(plan, policy)
    if found is None:
        plan.warnings.append(f"{path}: not committed at HEAD; it is not released")
        return None
    text, blob, bom = found
    releases = repo.releases(policy)
    latest = releases[-1] if releases else None
    fold = settings.fold_typography
    if latest is None:
        bad_name = _tag_problem(repo, policy)
        if bad_name is not None:
            return Unreleasable(policy, bad_name)
    if latest is not None:
        if latest.commit == head and not plan.worktree:
            return Skipped(policy, latest, f"released as v{latest.version} at this commit")
        if not plan.worktree and plan.repo.repo.is_ancestor(head, latest.commit):
            return Skipped(
                policy,
                latest,
                f"already released as v{latest.version} at {latest.commit[:10]}, "
                "which contains this commit",
            )
        old_snapshot, old_doc = repo.document(policy, latest.commit)
        if old_snapshot.blob == blob:
            return Skipped(policy, latest, f"unchanged since v{latest.version}")
        head_doc = parse_document(text, name=f"{path} at HEAD", fold_typography=fold)
        classification = diff_documents(old_doc, head_doc).classification
        if classification == "none":
            return Skipped(policy, latest, f"unchanged since v{latest.version}")
    else:
        old_doc = None
        classification = "material"

    # The policy's own settings, its history and the other policies decide how its date
    # reads and is written; a date that cannot be read or written is found here.
    current = read_policy_date(repo, policy, text, orders=plan.orders, today=today)
    if current.problem is not None:
        problem = current.problem
        return Unreleasable(policy, DateError(problem.message, hint=problem.hint))
    assert current.effective is not None  # read whenever there is no problem
    options = current.options
    try:
        probe = edit_effective_date(
            text, latest.effective_date if latest else today, options, name=path
        ).text
    except DateError as problem:
        return Unreleasable(policy, problem)
    if latest is not None and old_doc is not None and classification == "editorial":
        probe_doc = parse_document(probe, name=path, fold_typography=fold)
        if diff_documents(old_doc, probe_doc).classification == "none":
            plan.warnings.append(
                f"{path}: only the effective-date line was edited since v{latest.version}; "
                f"redline manages that date ({latest.effective_date.isoformat()}), so there "
                "is nothing to release"
            )
            return Skipped(policy, latest, f"unchanged since v{latest.version} (date line only)")
    pending = pending_date(releases, today)
    effective, source, short = choose_effective_date(
        classification,
        today=today,
        notice_days=options.notice_days,
        pending=pending,
        requested=plan.requested_date,
        written=current.effective.date,
        allow_short_notice=plan.allow_short_notice,
        name=path,
        precision=current.effective.precision,
    )
    try:
        new_text = edit_effective_date(text, effective, options, name=path).text
    except DateError as problem:  # pragma: no cover - the probe above writes the same line
        return Unreleasable(policy, problem)
    new_doc = parse_document(new_text, name=path, fold_typography=fold)
    version = latest.version + 1 if latest else 1
    tag = repo.tag_name(policy.slug, version)
    diff = None
    if latest is not None and old_doc is not None:
        diff = diff_documents(
            old_doc,
            new_doc,
            policy=policy.slug,
            path=path,
            from_ref=RefInfo(latest.tag, latest.commit),
            to_ref=RefInfo(tag, None),
        )
    notify = plan.notify and (
        classification == "material" or (settings.notify_editorial and pending is None)
    )
    base = notice_base(releases, version) if notify else None
    notice_diff = None
    if base is not None:
        if latest is not None and base.version == latest.version:
            notice_diff = diff
        else:
            base_doc = repo.document(policy, base.commit)[1]
            notice_diff = diff_documents(
                base_doc,
                new_doc,
                policy=policy.slug,
                path=path,
                from_ref=RefInfo(base.tag, base.commit),
                to_ref=RefInfo(tag, None),
            )
    summary = changelog.resolve_summary(
        repo, policy, diff, since=latest.tag if latest else None, until=head
    )
    entry = changelog.build_entry(
        repo,
        policy,
        settings,
        version=version,
        effective_date=effective,
        published=today,
        classification=classification,
        diff=diff,
        summary=summary,
        previous_version=latest.version if latest else None,
        short_notice=short,
        rev=head,
    )
    entry_markdown = changelog.render_entry(settings, entry, templates)
    log_path = changelog.changelog_path(settings, policy).relative_to(settings.repo_root)
    if changelog.has_entry(settings, policy, version):
        raise InputError(
            f"{log_path.as_posix()}: already has an entry for version {version}, "
            "which is not released",
            hint=f"remove that entry (or tag the release {tag} by hand) and run release again",
        )
    log_text = changelog.changelog_with_entry(
        settings, policy, entry, templates=templates, entry_markdown=entry_markdown
    )[1]
    item = PolicyRelease(
        policy=policy,
        previous=latest,
        version=version,
        tag=tag,
        classification=classification,
        effective_date=effective,
        date_source=source,
        short_notice=short,
        notify=notify,
        summary=summary,
        diff=diff,
        notice_base=base,
        notice_diff=notice_diff,
        entry=entry,
        entry_markdown=entry_markdown,
        changelog=log_path.as_posix(),
        text=new_text,
        data=bom + new_text.encode("utf-8"),
        changelog_data=log_text.encode("utf-8"),
    )
    if notify:
        item = _with_notice(plan, item)
    return item


def provisional_release(plan: ReleasePlan, item: PolicyRelease) -> Release:
    """The Release the tag of ``item`` will describe (commit: HEAD, as it is not made yet)."""
    from redline.history.repo import Release, parse_release_message

    message = tag_message(plan, item)
    return Release(
        slug=item.policy.slug,
        version=item.version,
        tag=item.tag,
        commit=plan.head,
        effective_date=item.effective_date,
        classification=item.classification,
        previous_version=item.previous.version if item.previous else None,
        published=datetime.now(UTC),
        notify=item.notify,
        short_notice=item.short_notice,
        summary=item.summary,
        metadata=parse_release_message(message),
    )


def _with_notice(plan: ReleasePlan, item: PolicyRelease) -> PolicyRelease:
    """``item`` with its notice rendered (this also checks the templates before writing)."""
    from dataclasses import replace

    from redline.publish.notice import render_notice

    context = notice_context(plan, item)
    return replace(item, notice=render_notice(plan.templates, context, NOTICE_KIND))


def notice_context(plan: ReleasePlan, item: PolicyRelease) -> dict[str, Any]:
    """The template context of the emails of ``item``, as release sends them."""
    from redline.publish.notice import build_notice_context

    release = provisional_release(plan, item)
    diff = item.notice_diff if item.notify else item.diff
    return build_notice_context(
        plan.repo, item.policy, release, diff, plan.settings, today=plan.today
    )


# -- messages ---------------------------------------------------------------------------------


def tag_message(plan: ReleasePlan, item: PolicyRelease) -> str:
    """The annotated tag message of ``item`` (format owned by redline.history.repo)."""
    from redline.history.repo import format_release_message

    commits = f"{item.previous.commit}..{plan.head}" if item.previous else plan.head
    return format_release_message(
        {
            "Policy": item.policy.slug,
            "Version": item.version,
            "Effective-Date": item.effective_date.isoformat(),
            "Classification": item.classification,
            "Previous-Version": item.previous.version if item.previous else "none",
            "Commits": commits,
            "Notify": "yes" if item.notify else "no",
            "Short-Notice": "yes" if item.short_notice else "no",
            "Summary": item.summary,
        }
    )


def commit_message(plan: ReleasePlan) -> str:
    """The message of the release commit: what was released, how, and from which commit."""
    names = ", ".join(f"{item.policy.slug} v{item.version}" for item in plan.releases)
    subject = f"redline: release {names}"
    if len(subject) > _SUBJECT_LIMIT:
        subject = f"redline: release {len(plan.releases)} policies"
    lines = [subject, ""]
    for item in plan.releases:
        how = f"{item.classification} change, effective {item.effective_date.isoformat()}"
        since = f"v{item.previous.version}" if item.previous else "first version"
        extra = ", short notice" if item.short_notice else ""
        notify = "subscribers notified" if item.notify else "subscribers not emailed"
        lines.append(
            f"- {item.policy.path}: v{item.version} ({since}), {how} "
            f"({item.date_source}{extra}); {notify}"
        )
    lines += [
        "",
        "Sets the effective dates and adds the changelog entries. Released from",
        f"commit {plan.head} by redline.",
    ]
    return "\n".join(lines) + "\n"


# -- the run ----------------------------------------------------------------------------------


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


def bot_environment(settings: Settings) -> dict[str, str]:
    """Environment that makes git author and commit as the bot identity."""
    return {
        "GIT_AUTHOR_NAME": settings.bot_name,
        "GIT_AUTHOR_EMAIL": settings.bot_email,
        "GIT_COMMITTER_NAME": settings.bot_name,
        "GIT_COMMITTER_EMAIL": settings.bot_email,
    }


def current_branch(repo: git.Repo, environ: Mapping[str, str]) -> str:
    """The branch to push: the checked-out branch, else GITHUB_REF's branch."""
    try:
        return repo.active_branch.name
    except TypeError:
        ref = environ.get("GITHUB_REF", "")
        if ref.startswith("refs/heads/"):
            return ref.removeprefix("refs/heads/")
    raise GitError(
        "HEAD is detached, so there is no branch to push the release to",
        hint="check out the branch first (e.g. `git switch main`)",
    )


def remote_tip(runner: GitRunner, branch: str) -> str | None:
    """The commit of ``origin``'s ``branch`` now (``git ls-remote``); None if it has none."""
    try:
        output = runner.read("ls-remote", "--heads", REMOTE, f"refs/heads/{branch}")
    except _GitFailed as failure:
        raise _git_error(failure, "check that origin is reachable and you may read it") from None
    for line in output.splitlines():
        sha, _, ref = line.partition("\t")
        if ref == f"refs/heads/{branch}":
            return sha
    return None


def remote_tags(runner: GitRunner) -> set[str]:
    """Names of the tags on ``origin``."""
    try:
        output = runner.read("ls-remote", "--tags", "--refs", REMOTE)
    except _GitFailed as failure:
        raise _git_error(failure, "check that origin is reachable") from None
    return {
        ref.removeprefix("refs/tags/")
        for _, _, ref in (line.partition("\t") for line in output.splitlines())
        if ref.startswith("refs/tags/")
    }


def prepare_repository(repo: PolicyRepo, runner: GitRunner, *, push: bool) -> list[str]:
    """Fetch what a release needs: unshallow a shallow clone, fetch release tags for --push.

    Returns warnings (a dry run only says what it would fetch).
    """
    warnings: list[str] = []
    shallow = repo.is_shallow()
    if not shallow and not push:
        return warnings
    if REMOTE not in {remote.name for remote in repo.repo.remotes}:
        if push:
            raise GitError("there is no remote 'origin' to push to", hint="add it: git remote add")
        raise GitError("this is a shallow clone without an 'origin' to fetch history from")
    args = ["fetch", "--unshallow", "--tags", REMOTE] if shallow else ["fetch", "--tags", REMOTE]
    note = "fetch the full history and the release tags" if shallow else "fetch release tags"
    try:
        runner.change(*args, note=note)
    except _GitFailed as failure:
        raise _git_error(
            failure,
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


def _dirty_files(runner: GitRunner, paths: list[str]) -> list[str]:
    if not paths:
        return []
    output = runner.read("status", "--porcelain=v1", "--untracked-files=all", "--", *paths)
    return [line[3:] for line in output.splitlines() if line.strip()]


# -- lock and journal -------------------------------------------------------------------------

LOCK_FILE = "redline/release.lock"
JOURNAL_FILE = "redline/release.json"
_JOURNAL_FORMAT = 1
#: Test-only: the crash tests set it to a step name to SIGKILL a run there (see _kill_point).
KILL_VARIABLE = "REDLINE_TEST_KILL_AT"


def _git_dirs(runner: GitRunner) -> tuple[Path, Path]:
    """(this worktree's git directory, the repository's common git directory), absolute."""
    try:
        output = runner.read("rev-parse", "--git-dir", "--git-common-dir")
    except _GitFailed as failure:
        raise _git_error(failure) from None
    root = Path(str(runner.repo.working_tree_dir))
    git_dir, common_dir = output.splitlines()[:2]
    return (root / git_dir).resolve(), (root / common_dir).resolve()


@contextmanager
def release_lock(runner: GitRunner) -> Iterator[Path]:
    """Hold the repository's release lock for the block; yields the lock file's path.

    The lock is an OS file lock on ``<git common dir>/redline/release.lock``, so it dies with
    its holder: a killed run never blocks the next. A second run stops at once with
    :class:`~redline.errors.ReleaseInProgressError`.
    """
    from filelock import FileLock, Timeout

    path = _git_dirs(runner)[1] / LOCK_FILE
    try:
        path.parent.mkdir(exist_ok=True)
    except OSError as exc:
        raise GitError(f"{path.parent}: cannot create: {exc.strerror}") from None
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ReleaseInProgressError(
            "another `redline release` is running in this repository",
            hint=f"wait for it to finish and run again ({path} is locked; a run that was "
            "killed frees it by itself)",
        ) from None
    try:
        yield path
    finally:
        lock.release()


class _Journal:
    """The record of a release being written: ``<git dir>/redline/release.json``.

    It is written (atomically) before the first file is touched and again once the commit
    exists, and removed when the git steps are done, so a run that finds one knows a
    release was interrupted and what it had planned: the files and the bytes it wrote, the
    commit message, the tags and their messages.
    """

    def __init__(self, runner: GitRunner) -> None:
        self.path = _git_dirs(runner)[0] / JOURNAL_FILE

    def read(self) -> dict[str, Any] | None:
        """The interrupted release's state, or None when there is none."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise GitError(f"{self.path}: cannot read: {exc.strerror}") from None
        try:
            state = json.loads(text)
            if state["format"] != _JOURNAL_FORMAT:
                raise ValueError(state["format"])
            for key in ("head", "files", "message", "tags"):
                state[key]
        except (ValueError, KeyError, TypeError):
            raise GitError(
                f"{self.path}: is not a release journal redline can read",
                hint="check `git status`, `git log` and `git tag`, then delete the file",
            ) from None
        return state

    def write(self, state: Mapping[str, Any]) -> None:
        """Record ``state`` (atomically)."""
        from redline.files import atomic_write

        atomic_write(self.path, json.dumps(state, indent=2) + "\n")

    def remove(self) -> None:
        """Forget the release: its git steps are done or undone."""
        self.path.unlink(missing_ok=True)


def _kill_point(step: str, environ: Mapping[str, str]) -> None:
    """Test-only: end this process with SIGKILL at ``step`` when ``$REDLINE_TEST_KILL_AT``
    names it, as a crash would (tests/test_release_resume.py)."""
    if environ.get(KILL_VARIABLE) == step:
        import signal

        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def _ref_commit(runner: GitRunner, ref: str) -> str | None:
    """The commit ``ref`` (a full ref name, or HEAD) points at, or None if there is none."""
    try:
        return runner.read("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except _GitFailed:
        return None


def _blob_in_index(runner: GitRunner, path: str) -> str | None:
    output = runner.read("ls-files", "--stage", "--", path)
    return output.split()[1] if output.strip() else None


def _blob_in_tree(target: Path) -> str | None:
    from redline.history.repo import blob_sha

    try:
        return blob_sha(target.read_bytes()) if not target.is_symlink() else None
    except OSError:
        return None


def _roll_back(runner: GitRunner, state: Mapping[str, Any], root: Path) -> None:
    """Undo what the release recorded in ``state`` did, and nothing else.

    Its tags go while they point at its commit, its commit while HEAD is that commit, and a
    file's write or staging while the file still holds the bytes the release wrote: what
    another run or a person changed since is left alone. Failures are logged, not raised.
    """
    head, commit = state["head"], state.get("commit")
    try:
        if commit:
            for tag in reversed(state["tags"]):
                if _ref_commit(runner, f"refs/tags/{tag['name']}") == commit:
                    runner.change("tag", "-d", "--", tag["name"], note="undo")
            if _ref_commit(runner, "HEAD") == commit:
                runner.change("reset", "--quiet", "--keep", head, note="undo")
        for entry in state["files"]:
            path, written = entry["path"], entry["written"]
            if _blob_in_index(runner, path) == written:
                runner.change("reset", "--quiet", head, "--", path, note="undo")
            if _blob_in_tree(root / path) == written:
                if entry["existed"]:
                    runner.change("checkout", head, "--", path, note="undo")
                else:
                    (root / path).unlink()
    except _GitFailed as failure:
        LOG.error("could not undo the release: %s", failure.describe())
    except OSError as exc:
        LOG.error("could not undo the release: %s", exc)


def _release_commit(runner: GitRunner, state: Mapping[str, Any]) -> str | None:
    """The commit of the release in ``state``: recorded, or HEAD when HEAD is that commit
    (a run killed between committing and recording it)."""
    if state.get("commit"):
        return str(state["commit"])
    parents, _, message = runner.read("log", "-1", "--format=%P%n%B", "HEAD").partition("\n")
    if parents.split() == [state["head"]] and message.strip() == state["message"].strip():
        return _ref_commit(runner, "HEAD")
    return None


def _make_tag(runner: GitRunner, settings: Settings, name: str, message: str, rev: str) -> None:
    """``git tag -a`` as the bot; ``--`` keeps any name from being read as an option."""
    runner.change(
        "tag",
        "-a",
        "-m",
        message,
        "--",
        name,
        rev,
        env=bot_environment(settings),
        note=f"as {settings.bot_name} <{settings.bot_email}>",
    )


def resume_interrupted(runner: GitRunner, settings: Settings) -> list[str]:
    """Finish or roll back a release that was interrupted (its journal is still there).

    Committed: the missing tags are made on its commit (push and notices follow in the
    run, as for any release not yet pushed or sent). Not committed: its file writes and
    staging are undone, and the run releases afresh. Returns warnings saying which.
    """
    journal = _Journal(runner)
    state = journal.read()
    if state is None:
        return []
    if runner.dry_run:
        return [
            f"a release of {state['head'][:10]} was interrupted ({journal.path}); a run "
            "without --dry-run finishes or rolls it back first, and this plan ignores it"
        ]
    head = _ref_commit(runner, "HEAD")
    commit = _release_commit(runner, state)
    if commit and head and _ref_commit(runner, commit) and runner.is_ancestor(commit, head):
        made = []
        for tag in state["tags"]:
            at = _ref_commit(runner, f"refs/tags/{tag['name']}")
            if at is None:
                try:
                    _make_tag(runner, settings, tag["name"], tag["message"], commit)
                except _GitFailed as failure:
                    raise _git_error(failure, "the interrupted release stays as it is") from None
                made.append(tag["name"])
            elif at != commit:
                raise GitError(
                    f"tag {tag['name']} points at {at[:10]}, not at the release commit "
                    f"{commit[:10]} of the interrupted release",
                    hint=f"check the tag, then delete {journal.path} and run release again",
                )
        journal.remove()
        tags = f"; made the tags {', '.join(made)}" if made else ""
        return [f"finished a release that was interrupted after its commit {commit[:10]}{tags}"]
    if head != state["head"]:
        raise GitError(
            f"a release of {state['head'][:10]} was interrupted ({journal.path}), and HEAD "
            f"has moved to {(head or 'nothing')[:10]} since",
            hint=f"check `git status` and `git log`, undo by hand what is left, then delete "
            f"{journal.path} and run release again",
        )
    _roll_back(runner, state, settings.repo_root)
    journal.remove()
    return [
        f"rolled back a release of {state['head'][:10]} that was interrupted before it was "
        "committed; releasing again"
    ]


def _in_history(repo: PolicyRepo, commit: str, head: str) -> bool:
    """True when ``commit`` is ``head`` or one of its ancestors."""
    return commit == head or repo.repo.is_ancestor(commit, head)


def _exists_at(repo: PolicyRepo, commit: str, path: str) -> bool:
    try:
        repo.repo.commit(commit).tree / path
    except KeyError:
        return False
    return True


def execute_release(
    plan: ReleasePlan,
    *,
    push: bool = False,
    dry_run: bool = False,
    outbox: Path | None = None,
    transport: Transport | None = None,
    runner: GitRunner | None = None,
    echo: Echo | None = None,
    environ: Mapping[str, str] | None = None,
) -> ReleaseReport:
    """Carry out ``plan``: write, commit, tag, (push), then send and finish notices.

    Failures before or during the push raise (after undoing this run's local changes).
    A failure while sending is recorded in ``report.error`` and the release stands; the
    caller reports it (exit code 4 or 5) after printing the report. :func:`run_release`
    holds the repository's release lock around planning and this.
    """
    environ = os.environ if environ is None else environ
    repo, settings = plan.repo, plan.settings
    runner = runner or GitRunner(repo.repo, dry_run=dry_run, echo=echo)
    report = ReleaseReport(plan, dry_run=dry_run, push=push)
    relpaths = plan.files
    report.files = list(relpaths)

    # 1. Everything that can fail is checked before anything is written.
    if plan.worktree:
        raise InputError("a plan of the working tree is for showing, not for releasing")
    now = _ref_commit(runner, "HEAD")
    if now != plan.head:
        raise GitError(
            f"HEAD moved from {plan.head[:10]} to {(now or 'nothing')[:10]} after this "
            "release was planned; nothing was written",
            hint="run release again",
        )
    dirty = _dirty_files(runner, relpaths)
    if dirty:
        raise InputError(
            f"uncommitted changes in {', '.join(dirty)}; release writes these files",
            hint="commit or discard them first (see `git status`), then run release again",
        )
    start_tip: str | None = None
    unpushed: list[str] = []
    if push:
        report.branch = current_branch(repo.repo, environ)
        if settings.default_branch and report.branch != settings.default_branch:
            raise GitError(
                f"release --push runs on the default branch '{settings.default_branch}' "
                f"(config default_branch), not on '{report.branch}'",
                hint=f"switch to {settings.default_branch}, or release without --push",
            )
        start_tip = remote_tip(runner, report.branch)
        unpushed = _unpushed_release_tags(plan, runner)
        if (
            (plan.releases or unpushed)
            and start_tip is not None
            and not runner.is_ancestor(start_tip, plan.head)
        ):
            raise _moved(report.branch, start_tip, plan.head, before=True)
    pending_notices = _notices_to_finish(plan) if plan.notify else []
    need_delivery = any(item.notify for item in plan.releases) or bool(pending_notices)
    store = None
    unsendable: RedlineError | None = None  # a dry run without the delivery settings
    if need_delivery:
        try:
            _check_delivery(settings)
        except RedlineError as problem:
            if not dry_run:
                raise
            unsendable = problem
            report.warnings.append(
                f"a run without --dry-run would stop before writing anything: {problem}"
            )
        if not dry_run and transport is None:
            from redline.mail.send import open_transport

            transport = open_transport(settings, outbox)  # connects only when sending
        store = _open_store(plan, dry_run)

    try:
        # 2. Write, commit and tag, recorded in the journal first; undone if a step fails.
        journal = None if dry_run else _Journal(runner)
        state = None
        if plan.releases:
            state = _write_commit_tag(plan, runner, report, journal, echo, environ)
        undo = partial(_abandon, runner, settings.repo_root, state, journal)
        # 3. Push the commit and every release tag origin lacks, atomically.
        if push and (plan.releases or unpushed):
            _push(plan, runner, report, undo, start_tip, unpushed)
        if journal is not None:
            journal.remove()
        # 4. Notices: new releases first, then earlier releases with work left.
        if store is not None:
            _move_subscriptions(plan, report, store, dry_run)
        if need_delivery and store is not None and unsendable is not None:
            _count_all(plan, report, store, pending_notices)
        elif need_delivery and store is not None:
            _send_all(plan, report, store, transport, dry_run, pending_notices)
        elif need_delivery and dry_run:
            report.warnings.append(
                "no subscriber database yet (.redline/redline.db): the run would send 0 emails"
            )
    finally:
        if store is not None:
            store.close()
    report.commands = list(runner.commands)
    return report


def _check_delivery(settings: Settings) -> None:
    """Refuse a release whose notices could not go out: the sender (``REDLINE_FROM`` or
    ``from_address``), and ``unsubscribe_url`` with ``REDLINE_SECRET`` (the SMTP settings
    are checked when the transport is opened)."""
    from redline.ledger.subscribers import unsubscribe_link
    from redline.mail.mailer import sender_address

    sender_address(settings)
    unsubscribe_link(settings, "check@example.com")


def _open_store(plan: ReleasePlan, dry_run: bool) -> Store | None:
    from redline.ledger.store import Store

    settings = plan.settings
    if dry_run and settings.database_url is None:
        default = settings.repo_root / ".redline" / "redline.db"
        if not default.is_file():
            return None
    return Store.open(settings.database)


def _unpushed_release_tags(plan: ReleasePlan, runner: GitRunner) -> list[str]:
    """Release tags in HEAD's history that origin does not have (a crash before pushing)."""
    on_remote = remote_tags(runner)
    return sorted(
        release.tag
        for policy in plan.repo.policies()
        for release in plan.repo.releases(policy)
        if release.tag not in on_remote and _in_history(plan.repo, release.commit, plan.head)
    )


def _moved(branch: str, tip: str, head: str, *, before: bool) -> GitError:
    when = "before this run" if before else "while this run was releasing"
    return GitError(
        f"{REMOTE}/{branch} moved {when}: it is at {tip[:10]}, which {head[:10]} does not "
        f"contain; nothing was pushed",
        hint="the run for the newer commit releases these changes too; "
        "locally, pull and run release again",
    )


def _write_commit_tag(
    plan: ReleasePlan,
    runner: GitRunner,
    report: ReleaseReport,
    journal: _Journal | None,
    echo: Echo | None,
    environ: Mapping[str, str],
) -> dict[str, Any] | None:
    """Write the files, commit and tag (a dry run only says so); the journal's state.

    The journal records the plan before the first write and the commit once it exists. If
    a step fails, what this run did is rolled back (:func:`_roll_back`) and the journal
    removed.
    """
    from redline.files import atomic_write
    from redline.history.repo import blob_sha

    settings, repo = plan.settings, plan.repo
    writes = [
        write
        for item in plan.releases
        for write in ((item.policy.path, item.data), (item.changelog, item.changelog_data))
    ]
    paths = [path for path, _ in writes]
    message = commit_message(plan)
    tags = [(item.tag, tag_message(plan, item)) for item in plan.releases]
    state: dict[str, Any] | None = None
    if journal is not None:
        state = {
            "format": _JOURNAL_FORMAT,
            "head": plan.head,
            "files": [
                {
                    "path": path,
                    "existed": _exists_at(repo, plan.head, path),
                    "written": blob_sha(data),
                }
                for path, data in writes
            ],
            "message": message,
            "tags": [{"name": name, "message": text} for name, text in tags],
            "commit": None,
        }
    try:
        if state is not None and journal is not None:
            journal.write(state)
            for path, data in writes:
                atomic_write(settings.repo_root / path, data, root=settings.repo_root)
            _kill_point("written", environ)
        elif echo:
            for item in plan.releases:
                echo(f"would write: {item.policy.path} (effective date {item.effective_date})")
                echo(f"would write: {item.changelog} (entry for v{item.version})")
        runner.change("add", "--", *paths)
        _kill_point("staged", environ)
        bot, identity = bot_environment(settings), f"as {settings.bot_name} <{settings.bot_email}>"
        runner.change("commit", "-m", message, "--", *paths, env=bot, note=identity)
        if state is not None and journal is not None:
            report.commit = state["commit"] = _ref_commit(runner, "HEAD")
            journal.write(state)
            _kill_point("committed", environ)
        for name, text in tags:
            _make_tag(runner, settings, name, text, report.commit or "HEAD")
            report.tags.append(name)
            _kill_point("tag", environ)
        _kill_point("tagged", environ)
    except _GitFailed as failure:
        _abandon(runner, settings.repo_root, state, journal)
        raise _git_error(failure, "this run's files, commit and tags were undone") from None
    except BaseException:
        _abandon(runner, settings.repo_root, state, journal)
        raise
    return state


def _abandon(
    runner: GitRunner, root: Path, state: Mapping[str, Any] | None, journal: _Journal | None
) -> None:
    """Roll back this run's release (see :func:`_roll_back`) and remove its journal."""
    if state is not None:
        _roll_back(runner, state, root)
    if journal is not None:
        journal.remove()


def _push(
    plan: ReleasePlan,
    runner: GitRunner,
    report: ReleaseReport,
    undo: Callable[[], None],
    start_tip: str | None,
    unpushed: list[str],
) -> None:
    branch = report.branch or ""
    tags = sorted({*report.tags, *unpushed})
    tip = remote_tip(runner, branch)
    if tip != start_tip:
        undo()
        raise _moved(branch, tip or "(deleted)", plan.head, before=False)
    refs = [f"refs/tags/{tag}" for tag in tags]
    try:
        runner.change("push", "--atomic", "--porcelain", REMOTE, f"HEAD:refs/heads/{branch}", *refs)
    except _GitFailed as failure:
        undo()
        now = remote_tip(runner, branch)
        if now != start_tip:
            raise _moved(branch, now or "(deleted)", plan.head, before=False) from None
        raise _git_error(
            failure, "nothing was pushed and this run's commit and tags were undone; re-run"
        ) from None
    report.pushed = not runner.dry_run
    report.pushed_tags = tags


# -- notices ----------------------------------------------------------------------------------


def _notices_to_finish(plan: ReleasePlan) -> list[tuple[Policy, Release]]:
    """Earlier releases that notify and have not taken effect before today.

    Only releases on HEAD's line of history count: made at or before HEAD, or after it (a
    re-run of the workflow of the merge commit a release was made from).
    """
    new = {(item.policy.slug, item.version) for item in plan.releases}
    found = []
    for policy in plan.repo.policies():
        for release in plan.repo.releases(policy):
            if (
                release.notify
                and release.effective_date >= plan.today
                and (policy.slug, release.version) not in new
                and (
                    _in_history(plan.repo, release.commit, plan.head)
                    or plan.repo.repo.is_ancestor(plan.head, release.commit)
                )
            ):
                found.append((policy, release))
    return found


def render_release_notice(
    repo: PolicyRepo,
    policy: Policy,
    release: Release,
    settings: Settings,
    today: date,
    *,
    templates: Templates,
    kind: str = NOTICE_KIND,
) -> RenderedNotice:
    """The email of ``kind`` (notice, reminder or in-effect) of an existing release.

    It shows the changes since the last notified version, as the notice did; ``templates``
    is the run's template environment.
    """
    from redline.compare.engine import diff_policy
    from redline.history.repo import notice_base
    from redline.publish.notice import build_notice_context, render_notice

    base = notice_base(repo.releases(policy), release.version)
    diff = diff_policy(repo, policy, base.tag, release.tag) if base else None
    context = build_notice_context(repo, policy, release, diff, settings, today=today)
    return render_notice(templates, context, kind)


def _send_all(
    plan: ReleasePlan,
    report: ReleaseReport,
    store: Store,
    transport: Transport | None,
    dry_run: bool,
    earlier: list[tuple[Policy, Release]],
) -> None:
    """Send the notices of earlier pending releases with work left, then of the new ones.

    The first DeliveryError or StorageError stops sending; it is kept in ``report.error``.
    """
    from redline.mail.send import send_notices

    jobs: list[tuple[Policy, int, Release | None, RenderedNotice | None]] = [
        (policy, release.version, release, None) for policy, release in earlier
    ]
    jobs += [(i.policy, i.version, None, i.notice) for i in plan.releases if i.notify]
    for policy, version, release, notice in jobs:
        result = NoticeResult(policy.slug, version, new=release is None)
        try:
            if release is not None and not dry_run and not _has_work(store, policy.slug, version):
                continue
            report.notices.append(result)
            if notice is None and release is not None:
                notice = render_release_notice(
                    plan.repo, policy, release, plan.settings, plan.today, templates=plan.templates
                )
            if notice is None:  # pragma: no cover - plan_release renders every notice
                raise InputError(f"{policy.path}: v{version} has no rendered notice")
            result.report = send_notices(
                plan.settings,
                store,
                None if dry_run else transport,
                notice,
                policy=policy.slug,
                version=version,
                kind=NOTICE_KIND,
                dry_run=dry_run,
            )
        except RedlineError as problem:
            if result not in report.notices:
                report.notices.append(result)
            result.report = getattr(problem, "report", None)
            result.error = str(problem)
            report.error = problem
            report.warnings.append(
                f"notices of {policy.slug} v{version} stopped: {problem}; the release stands, "
                "and what was not sent stays pending for the next release or remind run"
            )
            return


def _move_subscriptions(
    plan: ReleasePlan, report: ReleaseReport, store: Store, dry_run: bool
) -> None:
    """Before any notice is queued: subscriptions under a policy's earlier names (before a
    rename or move, or before names were paths) go to its current name."""
    from redline.ledger.subscribers import policy_names

    renames = {old: new for old, new in policy_names(plan.repo).items() if old != new}
    moved = store.move_subscriptions(renames, dry_run=dry_run) if renames else {}
    if moved:
        pairs = ", ".join(f"{count} of {old} to {renames[old]}" for old, count in moved.items())
        report.warnings.append(
            f"{'would move' if dry_run else 'moved'} subscriptions under earlier policy "
            f"names to the current names ({pairs})"
            + ("; this dry run counts the emails without them" if dry_run else "")
        )


def _count_all(
    plan: ReleasePlan,
    report: ReleaseReport,
    store: Store,
    earlier: list[tuple[Policy, Release]],
) -> None:
    """What a dry run without the delivery settings can say: how many subscribers are still
    waiting for each notice (no message can be built without a sender)."""
    from redline.mail.send import NotifyReport

    jobs = [(policy.slug, release.version, False) for policy, release in earlier]
    jobs += [(item.policy.slug, item.version, True) for item in plan.releases if item.notify]
    for slug, version, new in jobs:
        counted = NotifyReport(slug, version, NOTICE_KIND, None, dry_run=True)
        counted.would_send = store.count_unnotified(slug, version, NOTICE_KIND)
        if new or counted.would_send:
            report.notices.append(NoticeResult(slug, version, counted, new=new))


def _has_work(store: Store, slug: str, version: int) -> bool:
    """Queue new subscribers and recover rows of a crashed run; True if any is left to send."""
    store.queue_notices(slug, version, NOTICE_KIND)
    store.recover_in_flight(slug, version, NOTICE_KIND)
    counts = store.ledger_counts(slug, version, NOTICE_KIND)
    return counts["pending"] + counts["failed-temporary"] > 0


# -- GitHub Actions ---------------------------------------------------------------------------


def github_outputs(report: ReleaseReport) -> dict[str, str]:
    """The step outputs: released, policies (JSON), notices-sent, notices-failed."""
    return {
        "released": "true" if report.released and not report.dry_run else "false",
        "policies": json.dumps(report.policies_json(), indent=2),
        "notices-sent": str(report.notices_sent),
        "notices-failed": str(report.notices_failed),
    }


def format_github_outputs(outputs: Mapping[str, str]) -> str:
    """``$GITHUB_OUTPUT`` lines; multi-line values use a random heredoc delimiter."""
    lines = []
    for name, value in outputs.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            while delimiter in value:  # pragma: no cover - 128 random bits
                delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}")
        else:
            lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


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
    _append_github("GITHUB_OUTPUT", format_github_outputs(github_outputs(report)), environ)
    _append_github("GITHUB_STEP_SUMMARY", step_summary(report), environ)


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
    _append_github("GITHUB_OUTPUT", format_github_outputs(outputs), environ)
    _append_github("GITHUB_STEP_SUMMARY", summary, environ)


def _append_github(variable: str, text: str, environ: Mapping[str, str]) -> None:
    target = environ.get(variable)
    if not target:
        LOG.warning("%s is not set; not writing it", variable)
        return
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise InputError(f"{variable}={target}: cannot write: {exc.strerror}") from None


def read_github_event(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The webhook payload at ``$GITHUB_EVENT_PATH`` (None outside Actions or if unreadable)."""
    path = environ.get("GITHUB_EVENT_PATH")
    if environ.get("GITHUB_ACTIONS") != "true" or not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        LOG.warning("cannot read the GitHub event at %s: %s", path, exc)
        return None
    return data if isinstance(data, dict) else None


# -- the whole run ---------------------------------------------------------------------------


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
    from redline.history.repo import PolicyRepo

    environ = os.environ if environ is None else environ
    repo = PolicyRepo(settings)
    runner = GitRunner(repo.repo, dry_run=dry_run, echo=echo)
    with release_lock(runner):
        warnings = resume_interrupted(runner, settings)
        warnings += prepare_repository(repo, runner, push=push)
        event = read_github_event(environ)
        if event is not None and push:
            _check_event(repo, event, environ, warnings)
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


def _check_event(
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
    head = repo.repo.head.commit.hexsha
    if isinstance(after, str) and after and after != head:
        warnings.append(
            f"the checkout is at {head[:10]}, the push event was for {after[:10]}; "
            "releasing the checkout"
        )
