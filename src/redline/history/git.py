"""The one way redline runs git: :class:`Git`, its failures and the shallow-clone check.

Commands run ``git`` directly (a few milliseconds each), in the C locale so that git's
messages read the same everywhere. GitPython, which costs a noticeable part of a second to
import, is loaded only for the few reads it says better (the checked-out branch, remotes,
commit times), on first use.

With ``dry_run``, commands that change something are printed (``would run: git ...``) and
collected instead of being run; read-only commands always run.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from redline.env import inherited
from redline.errors import GitError

if TYPE_CHECKING:
    from datetime import datetime

    import git

LOG = logging.getLogger("redline.history.git")

SHALLOW_HINT = (
    "this is a shallow clone: fetch the full history with `git fetch --unshallow`, "
    "or set `fetch-depth: 0` on actions/checkout"
)

Echo = Callable[[str], None]


class GitCommandFailed(GitError):
    """A git command exited non-zero: ``"`git verb arg` failed: <git's last message>"``."""

    def __init__(self, args: tuple[str, ...], status: int, stderr: str) -> None:
        lines = [line.strip() for line in stderr.splitlines()]
        self.detail = next((ln for ln in reversed(lines) if ln and not ln.startswith("hint:")), "")
        self.status = status
        self.stderr = stderr
        suffix = f": {self.detail}" if self.detail else ""
        super().__init__(f"`git {' '.join(args[:2])}` failed{suffix}")

    def hinted(self, hint: str | None) -> GitError:
        """The same failure as a plain GitError with ``hint``."""
        return GitError(self.message, hint=hint)


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


class Git:
    """Run git in the work tree ``root``.

    :meth:`run` returns the finished process; :meth:`read` and :meth:`change` return stdout
    and raise :class:`GitCommandFailed`, and are logged at INFO (``-v``).
    """

    def __init__(self, root: Path, *, dry_run: bool = False, echo: Echo | None = None) -> None:
        self.root = root
        self.dry_run = dry_run
        self.echo = echo
        self.commands: list[str] = []

    def run(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``git args`` and return the finished process (output as bytes)."""
        environment = inherited({"LANGUAGE": "C", "LC_ALL": "C", **(env or {})})
        try:
            return subprocess.run(
                ["git", *args],
                cwd=self.root,
                input=stdin,
                capture_output=True,
                check=False,
                env=environment,
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH", hint="install git") from None

    def read(self, *args: str) -> str:
        """Run a read-only git command and return its stdout (without the last newline)."""
        return self._checked(args, None, format_command(args))

    def change(self, *args: str, env: Mapping[str, str] | None = None, note: str = "") -> str:
        """Run a git command that changes the repository or the remote (not in dry-run)."""
        display = format_command(args, note)
        if self.dry_run:
            self.commands.append(display)
            if self.echo:
                self.echo(f"would run: {display}")
            return ""
        return self._checked(args, env, display)

    def _checked(self, args: tuple[str, ...], env: Mapping[str, str] | None, display: str) -> str:
        LOG.info("%s", display)
        result = self.run(*args, env=env)
        if result.returncode:
            raise GitCommandFailed(args, result.returncode, os.fsdecode(result.stderr))
        return os.fsdecode(result.stdout).removesuffix("\n")

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when ``ancestor`` is ``descendant`` or in its history.

        A commit this clone does not have is not an ancestor (``git merge-base
        --is-ancestor`` exits 1 for "no", 128 for an unknown commit).
        """
        if ancestor == descendant:
            return True
        try:
            self.read("merge-base", "--is-ancestor", ancestor, descendant)
        except GitCommandFailed as failure:
            if failure.status == 1 or "not a valid commit name" in failure.stderr.lower():
                return False
            raise failure.hinted(None) from None
        return True

    def is_shallow(self) -> bool:
        """True in a shallow clone."""
        return self.run("rev-parse", "--is-shallow-repository").stdout.strip() == b"true"

    def shallow_hint(self, otherwise: str) -> str:
        """:data:`SHALLOW_HINT` in a shallow clone (history may be missing), else ``otherwise``."""
        return SHALLOW_HINT if self.is_shallow() else otherwise

    def valid_tag_name(self, name: str) -> bool:
        """Whether git accepts ``name`` as a tag (``check-ref-format``, no leading dash)."""
        if name.startswith("-"):
            return False
        return not self.run("check-ref-format", f"refs/tags/{name}").returncode

    def git_dirs(self) -> tuple[Path, Path]:
        """(this worktree's git directory, the repository's common git directory), absolute."""
        output = self.read("rev-parse", "--git-dir", "--git-common-dir")
        git_dir, common_dir = output.splitlines()[:2]
        return (self.root / git_dir).resolve(), (self.root / common_dir).resolve()

    @cached_property
    def _objects(self) -> git.Repo:
        """The GitPython repository (imported on first use)."""
        import git

        return git.Repo(self.root)

    def branch(self) -> str | None:
        """The checked-out branch, None when HEAD is detached."""
        try:
            return self._objects.active_branch.name
        except TypeError:
            return None

    def remote_names(self) -> set[str]:
        """The names of the configured remotes."""
        return {remote.name for remote in self._objects.remotes}

    def remote_url(self, name: str) -> str | None:
        """The URL of remote ``name``, None when there is no such remote."""
        try:
            return self._objects.remote(name).url
        except ValueError:
            return None

    def commit_time(self, rev: str = "HEAD") -> datetime:
        """When the commit ``rev`` was committed, in its committer's time zone (read with
        ``git show``: importing GitPython for it cost a standalone redline 0.1 s)."""
        from datetime import datetime

        return datetime.fromisoformat(self.read("show", "-s", "--format=%cI", rev, "--").strip())


def find_repo_root(path: Path) -> Path:
    """Return the work tree root of the git repository around ``path``."""
    if not path.exists():
        raise GitError(f"{path}: no such directory", hint="check --repo")
    directory = path if path.is_dir() else path.parent
    result = Git(directory).run("rev-parse", "--is-bare-repository", "--show-toplevel")
    output = os.fsdecode(result.stdout).splitlines()
    if output[:1] == ["true"]:
        raise GitError(f"{path}: is a bare repository", hint="run redline in a clone with files")
    if result.returncode or len(output) < 2:
        error = os.fsdecode(result.stderr)
        if "dubious ownership" in error:
            raise GitError(
                f"{path.resolve()}: git refuses a repository owned by another user",
                hint=f"run `git config --global --add safe.directory {path.resolve()}`",
            )
        raise GitError(
            f"{path.resolve()}: not a git repository",
            hint="run redline inside a policy repository or pass --repo",
        )
    return Path(output[1])
