"""Policies in git: which files are policies, their revisions, and the repository itself.

The reads that every command does (repository root, policies at HEAD, revisions, texts,
release tags) run ``git`` directly through :class:`redline.history.git.Git`; GitPython is
loaded only for the few reads that need it.

Which files are policies and what they are called is :mod:`redline.layout`'s business.
:class:`PolicyRepo` is put together from its parts: rename tracing
(:mod:`redline.history.renames`), texts (:mod:`redline.history.texts`) and release tags
(:mod:`redline.history.tags`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from redline.errors import ConfigError, GitError, InputError, PolicyNotFoundError, RedlineError
from redline.history.git import Git
from redline.history.tags import ReleaseTags
from redline.history.texts import PolicyTexts
from redline.layout import SITE_MARKER, check_names, safe_name

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from redline.config import Settings
    from redline.document.model import Document
    from redline.history.renames import _History
    from redline.history.tags import Release


@dataclass(frozen=True)
class Policy:
    """A policy file: its name (``slug``), repository-relative path and per-policy config.

    ``slug`` is the policy's unique name (see :mod:`redline.layout`); release tags, site
    folders and subscriptions use it. ``title`` and ``previous_paths`` come from the
    policy's ``[tool.redline.policies."PATH"]`` table.
    """

    slug: str
    path: str
    abspath: Path
    title: str | None = None
    previous_paths: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The policy's name (the same as ``slug``)."""
        return self.slug


@dataclass(frozen=True)
class Revision:
    """A commit that touched a policy."""

    commit: str
    date: datetime
    author: str
    subject: str
    path: str
    effective_line: str | None = None
    blob: str | None = None

    @property
    def short(self) -> str:
        """Abbreviated commit id."""
        return self.commit[:10]


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


class PolicyRepo(ReleaseTags, PolicyTexts):
    """The policies of one git repository and their history.

    ``git`` is the repository's :class:`~redline.history.git.Git`, for every git call.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.repo_root).resolve()
        self.git = Git(self.root)
        toplevel = None
        if self.root.is_dir():
            result = self.git.run(
                "rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir"
            )
            lines = os.fsdecode(result.stdout).splitlines()
            if not result.returncode and len(lines) == 3:
                toplevel = Path(lines[0])
                self._git_dirs = (Path(lines[1]), self.root / lines[2])
        if toplevel is None or toplevel.resolve() != self.root:
            raise GitError(
                f"{self.root}: not a git repository", hint="pass --repo or run inside one"
            )
        self._documents: dict[tuple[str, bool], Document] = {}
        self._history_cache: tuple[tuple[Any, ...], _History] | None = None
        self._claims_cache: tuple[str, dict[str, set[str]]] | None = None
        self._releases_cache: tuple[tuple[Any, ...], dict[Policy, list[Release]]] | None = None

    # -- policies ---------------------------------------------------------------------------

    def candidate_paths(self, roots: Sequence[str] | None = None) -> list[str]:
        """Files under ``roots`` (default: the policy roots): tracked, untracked but not
        ignored, and committed at HEAD; never what ``redline site`` built."""
        roots = roots or self.settings.policies_dir
        listing = self.git.run(
            "--literal-pathspecs",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
            *roots,
        )
        if listing.returncode:
            raise GitError(f"cannot list files: {os.fsdecode(listing.stderr).strip()}")
        paths = set(os.fsdecode(listing.stdout).split("\0"))
        committed = self.git.run(
            "--literal-pathspecs", "ls-tree", "-r", "-z", "--name-only", "HEAD", "--", *roots
        )
        if not committed.returncode:  # fails without commits
            paths.update(os.fsdecode(committed.stdout).split("\0"))
        paths.discard("")
        sites = {
            path.rpartition("/")[0] for path in paths if path.rpartition("/")[2] == SITE_MARKER
        }
        if sites:  # what `redline site` built is never a policy
            paths = {p for p in paths if not any(p.startswith(f"{s}/") or not s for s in sites)}
        return sorted(paths)

    def policies(self) -> list[Policy]:
        """Policies in the working tree and at HEAD, sorted by path.

        Raises before anything is written when no file is a policy (saying what matched
        what), when two policies would share a name or a name is no valid tag name, and when
        a per-policy table names no policy.
        """
        layout = self.settings.layout
        judged = {path: layout.judge(path) for path in self.candidate_paths()}
        paths = [path for path, match in judged.items() if match.reason is None]
        if not paths:
            raise self._nothing_found(judged)
        policies = [self._policy(path) for path in paths]
        named: dict[str, list[str]] = {}
        for policy in policies:
            named.setdefault(policy.slug, []).append(policy.path)
        check_names(named, tag_prefix=self.settings.tag_prefix, where=self._config_name)
        unknown = sorted(set(self.settings.policies) - set(paths))
        if unknown:
            raise ConfigError(
                f'{self._config_name}: [tool.redline.policies."{unknown[0]}"] names no policy',
                hint="give the path of a policy file from the repository root, as "
                "`redline status` lists them, or remove the table",
            )
        return policies

    @property
    def _config_name(self) -> str:
        file = self.settings.config_file
        return _relative(file, self.root) if file else "the default settings"

    def _nothing_found(self, judged: dict[str, Any]) -> RedlineError:
        """The error for a configuration that selects no file, saying which part failed."""
        layout = self.settings.layout
        for root in layout.roots:
            if not (self.root / root).is_dir() and not any(
                path.startswith(f"{root}/") for path in judged
            ):
                return ConfigError(
                    f"{self._config_name}: policies_dir {root!r} does not exist in {self.root}",
                    hint="set policies_dir to the folder of your policies; `redline init "
                    "--dry-run` proposes a configuration",
                )
        reasons = [match.reason for match in judged.values()]
        detail = f"{len(judged)} file(s) under it"
        if judged:
            detail += (
                f": include {list(layout.include)} matched {len(judged) - reasons.count('include')}"
            )
            if reasons.count("exclude"):
                detail += f", exclude {list(layout.exclude)} removed {reasons.count('exclude')}"
            if reasons.count("changelog"):
                detail += f", {reasons.count('changelog')} are changelogs ({layout.outputs})"
        return InputError(
            f"no policies found with {layout.describe()} ({detail})",
            hint="include and exclude are gitignore-style patterns relative to policies_dir, "
            'e.g. "**/index.md"; `redline init --dry-run` proposes a configuration',
        )

    def _policy(self, relpath: str) -> Policy:
        own = self.settings.policies.get(relpath)
        name = own.name if own and own.name else self.settings.layout.name(relpath)
        return Policy(
            slug=name,
            path=relpath,
            abspath=self.root / relpath,
            title=own.title if own else None,
            previous_paths=own.previous_paths if own else (),
        )

    def settings_for(self, policy: Policy) -> Settings:
        """The settings of ``policy``: the repository's, with its per-policy table on top."""
        return self.settings.for_policy(policy.path)

    def resolve(self, name: str, *, at: Sequence[str] = ()) -> Policy:
        """Find a policy by name, path (from the repository root or the cwd) or file stem.

        An earlier path of a policy (before a rename or move) finds the policy; with ``at``
        (revisions), so does the path of a policy file that exists only at one of them.
        """
        known = self.policies()
        candidates = {name, name.removeprefix("./")}
        with contextlib.suppress(ValueError, OSError):
            here = Path(os.path.normpath(Path.cwd().resolve() / name))
            candidates.add(here.relative_to(self.root).as_posix())
        for policy in known:
            if policy.path in candidates:
                return policy
        wanted = {name, safe_name(name)}
        by_name = [policy for policy in known if policy.slug in wanted]
        if not by_name:
            by_name = [policy for policy in known if PurePosixPath(policy.path).stem == name]
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1:
            paths = ", ".join(policy.path for policy in by_name)
            raise PolicyNotFoundError(f"policy '{name}' is ambiguous", hint=f"use a path: {paths}")
        for policy in known:
            if candidates & set(self._paths_in_history(policy)):
                return policy
        for path in sorted(candidates):
            if self.settings.layout.judge(path).reason is None and any(
                found is not None for found in self._cat_files([f"{rev}:{path}" for rev in at])
            ):
                return self._policy(path)
        names = [policy.slug for policy in known]
        listed = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
        raise PolicyNotFoundError(
            f"unknown policy '{name}' ({self.settings.layout.describe()})",
            hint=f"known policies: {listed}",
        )

    # -- revisions --------------------------------------------------------------------------

    def has_commits(self) -> bool:
        """False in a repository without any commit yet."""
        return not self.git.run("rev-parse", "--verify", "--quiet", "HEAD").returncode

    def is_shallow(self) -> bool:
        """True in a shallow clone."""
        return self.git.is_shallow()

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when ``ancestor`` is ``descendant`` or in its history (see :class:`Git`)."""
        return self.git.is_ancestor(ancestor, descendant)

    def resolve_rev(self, rev: str) -> str:
        """Return the commit id that ``rev`` names."""
        # Not GitPython's rev_parse: that returns the parent of a shallow clone's oldest
        # commit without checking that it exists, and knows less revision syntax.
        result = None
        if not rev.startswith("-"):
            result = self.git.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        if result is None or result.returncode:
            hint = self.git.shallow_hint("check `git log` for valid revisions")
            raise GitError(f"unknown revision '{rev}'", hint=hint)
        return result.stdout.decode().strip()

    def revisions(
        self, policy: Policy, *, date_line: Callable[[str], str | None] | None = None
    ) -> list[Revision]:
        """Commits that touched ``policy``, newest first, following renames and moves.

        With ``date_line`` (text -> the raw effective-date line or None), each revision's
        ``effective_line`` is filled in from the policy's text at that revision: all the
        texts come from one ``git cat-file`` call, and each distinct text is read once.
        """
        history = self._history()
        revisions = [
            Revision(
                commit,
                datetime.fromisoformat(iso_date),
                author,
                subject,
                change.path,
                blob=change.blob,
            )
            for change in self._walk(history, policy)
            for commit, iso_date, author, subject in (history.commits[change.index],)
        ]
        if date_line is None:
            return revisions
        blobs = list(dict.fromkeys(revision.blob for revision in revisions if revision.blob))
        lines: dict[str, str | None] = {}
        for blob, found in zip(blobs, self._cat_objects(blobs), strict=True):
            if found is not None and found[1] == "blob":
                lines[blob] = date_line(found[2].decode("utf-8", "replace"))
        return [
            dataclasses.replace(revision, effective_line=lines.get(revision.blob or ""))
            for revision in revisions
        ]

    def uncommitted(self, roots: Sequence[str] | None = None) -> set[str]:
        """Paths under ``roots`` (default: the policy roots) that differ from HEAD (staged,
        unstaged or untracked)."""
        roots = roots or self.settings.policies_dir
        result = self.git.run(
            "--literal-pathspecs", "status", "--porcelain=v1", "-z", "--no-renames", "--", *roots
        )
        if result.returncode:
            raise GitError(f"git status failed: {os.fsdecode(result.stderr).strip()}")
        return {entry[3:] for entry in os.fsdecode(result.stdout).split("\0") if len(entry) > 3}

    def github_compare_url(self, old_rev: str, new_rev: str) -> str | None:
        """A GitHub compare URL when ``origin`` is on GitHub, else None."""
        result = self.git.run("config", "--get", "remote.origin.url")
        if result.returncode:
            return None
        url = os.fsdecode(result.stdout).strip()
        match = re.match(
            r"^(?:https://github\.com/|git@github\.com:)([^/]+/[^/]+?)(?:\.git)?/?$", url
        )
        if not match:
            return None
        return f"https://github.com/{match.group(1)}/compare/{old_rev}...{new_rev}"
