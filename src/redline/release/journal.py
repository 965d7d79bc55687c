"""The release lock and journal: a killed release is finished or rolled back by the next run."""

from __future__ import annotations

import json
import logging
import os
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import GitError, ReleaseInProgressError
from redline.files import atomic_write
from redline.history.git import GitCommandFailed
from redline.history.texts import blob_sha

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from redline.config import Settings
    from redline.history.git import Git

LOG = logging.getLogger("redline.release.journal")


LOCK_FILE = "redline/release.lock"
JOURNAL_FILE = "redline/release.json"
JOURNAL_FORMAT = 1


#: Test-only: the crash tests set it to a step name to SIGKILL a run there (see kill_point).
KILL_VARIABLE = "REDLINE_TEST_KILL_AT"


@contextmanager
def release_lock(runner: Git) -> Iterator[Path]:
    """Hold the repository's release lock for the block; yields the lock file's path.

    The lock is an OS file lock on ``<git common dir>/redline/release.lock``, so it dies with
    its holder: a killed run never blocks the next. A second run stops at once with
    :class:`~redline.errors.ReleaseInProgressError`.
    """
    from filelock import FileLock, Timeout

    path = runner.git_dirs()[1] / LOCK_FILE
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


class Journal:
    """The record of a release being written: ``<git dir>/redline/release.json``.

    It is written (atomically) before the first file is touched and again once the commit
    exists, and removed when the git steps are done, so a run that finds one knows a
    release was interrupted and what it had planned: the files and the bytes it wrote, the
    commit message, the tags and their messages.
    """

    def __init__(self, runner: Git) -> None:
        self.path = runner.git_dirs()[0] / JOURNAL_FILE

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
            if state["format"] != JOURNAL_FORMAT:
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
        atomic_write(self.path, json.dumps(state, indent=2) + "\n")

    def remove(self) -> None:
        """Forget the release: its git steps are done or undone."""
        self.path.unlink(missing_ok=True)


def kill_point(step: str, environ: Mapping[str, str]) -> None:
    """Test-only: end this process with SIGKILL at ``step`` when ``$REDLINE_TEST_KILL_AT``
    names it, as a crash would (tests/test_release_resume.py)."""
    if environ.get(KILL_VARIABLE) == step:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def ref_commit(runner: Git, ref: str) -> str | None:
    """The commit ``ref`` (a full ref name, or HEAD) points at, or None if there is none."""
    try:
        return runner.read("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except GitCommandFailed:
        return None


def _blob_in_index(runner: Git, path: str) -> str | None:
    output = runner.read("ls-files", "--stage", "--", path)
    return output.split()[1] if output.strip() else None


def _blob_in_tree(target: Path) -> str | None:

    try:
        return blob_sha(target.read_bytes()) if not target.is_symlink() else None
    except OSError:
        return None


def roll_back(runner: Git, state: Mapping[str, Any], root: Path) -> None:
    """Undo what the release recorded in ``state`` did, and nothing else.

    Its tags go while they point at its commit, its commit while HEAD is that commit, and a
    file's write or staging while the file still holds the bytes the release wrote: what
    another run or a person changed since is left alone. Failures are logged, not raised.
    """
    head, commit = state["head"], state.get("commit")
    try:
        if commit:
            for tag in reversed(state["tags"]):
                if ref_commit(runner, f"refs/tags/{tag['name']}") == commit:
                    runner.change("tag", "-d", "--", tag["name"], note="undo")
            if ref_commit(runner, "HEAD") == commit:
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
    except GitCommandFailed as failure:
        LOG.error("could not undo the release: %s", failure.message)
    except OSError as exc:
        LOG.error("could not undo the release: %s", exc)


def abandon(
    runner: Git, root: Path, state: Mapping[str, Any] | None, journal: Journal | None
) -> None:
    """Roll back this run's release (see :func:`roll_back`) and remove its journal."""
    if state is not None:
        roll_back(runner, state, root)
    if journal is not None:
        journal.remove()


def release_commit(runner: Git, state: Mapping[str, Any]) -> str | None:
    """The commit of the release in ``state``: recorded, or HEAD when HEAD is that commit
    (a run killed between committing and recording it)."""
    if state.get("commit"):
        return str(state["commit"])
    parents, _, message = runner.read("log", "-1", "--format=%P%n%B", "HEAD").partition("\n")
    if parents.split() == [state["head"]] and message.strip() == state["message"].strip():
        return ref_commit(runner, "HEAD")
    return None


def bot_environment(settings: Settings) -> dict[str, str]:
    """Environment that makes git author and commit as the bot identity."""
    return {
        "GIT_AUTHOR_NAME": settings.bot_name,
        "GIT_AUTHOR_EMAIL": settings.bot_email,
        "GIT_COMMITTER_NAME": settings.bot_name,
        "GIT_COMMITTER_EMAIL": settings.bot_email,
    }


def make_tag(runner: Git, settings: Settings, name: str, message: str, rev: str) -> None:
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


def resume_interrupted(runner: Git, settings: Settings) -> list[str]:
    """Finish or roll back a release that was interrupted (its journal is still there).

    Committed: the missing tags are made on its commit (push and notices follow in the
    run, as for any release not yet pushed or sent). Not committed: its file writes and
    staging are undone, and the run releases afresh. Returns warnings saying which.
    """
    journal = Journal(runner)
    state = journal.read()
    if state is None:
        return []
    if runner.dry_run:
        return [
            f"a release of {state['head'][:10]} was interrupted ({journal.path}); a run "
            "without --dry-run finishes or rolls it back first, and this plan ignores it"
        ]
    head = ref_commit(runner, "HEAD")
    commit = release_commit(runner, state)
    if commit and head and ref_commit(runner, commit) and runner.is_ancestor(commit, head):
        made = []
        for tag in state["tags"]:
            at = ref_commit(runner, f"refs/tags/{tag['name']}")
            if at is None:
                try:
                    make_tag(runner, settings, tag["name"], tag["message"], commit)
                except GitCommandFailed as failure:
                    raise failure.hinted("the interrupted release stays as it is") from None
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
    roll_back(runner, state, settings.repo_root)
    journal.remove()
    return [
        f"rolled back a release of {state['head'][:10]} that was interrupted before it was "
        "committed; releasing again"
    ]
