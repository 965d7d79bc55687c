"""Rename tracing: a policy's history follows renames and moves.

One ``git log -M --raw`` over the policy roots, read once per HEAD, gives every commit's
changes with git's rename detection, and each policy's chain of paths is walked back through
it (and through ``previous_paths`` declared in the config, for a rename git cannot see).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import GitError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from redline.config import Settings
    from redline.history.git import Git
    from redline.history.repo import Policy

_FIELD_SEP = "\x1f"
_RECORD_SEP = "\x1e"


@dataclass(frozen=True)
class _Change:
    """One file change of one commit in the policy history (``index`` 0 is the newest)."""

    index: int
    status: str
    path: str
    old_path: str | None
    blob: str


@dataclass
class _History:
    """Every commit touching the policy roots, newest first, and its changes by path."""

    head: str
    commits: list[tuple[str, str, str, str]]
    by_path: dict[str, list[_Change]]


def _parse_log(text: str, history: _History) -> None:
    """Fill ``history`` from ``git log --raw -z`` output in the format :meth:`_history` asks."""
    for index, record in enumerate(text.split(_RECORD_SEP)[1:]):
        header, _, changes = record.partition("\0")
        commit, iso_date, author, subject = header.split(_FIELD_SEP, 3)
        history.commits.append((commit, iso_date, author, subject))
        tokens = changes.split("\0")
        position = 0
        while position < len(tokens):
            token = tokens[position].lstrip("\n")
            position += 1
            if not token.startswith(":"):
                continue
            *_, blob, status = token.split(" ")
            old_path = None
            if status[:1] in {"R", "C"}:
                old_path = tokens[position]
                position += 1
            path = tokens[position]
            position += 1
            if status[:1] != "D":
                change = _Change(index, status[:1], path, old_path, blob)
                history.by_path.setdefault(path, []).append(change)


class RenameHistory:
    """The history part of :class:`~redline.history.repo.PolicyRepo`: the policy roots' log,
    read once per HEAD, and each policy's paths through it."""

    settings: Settings
    git: Git
    _git_dirs: tuple[Path, Path]
    _history_cache: tuple[tuple[Any, ...], _History] | None
    _cat_files: Callable[[list[str]], list[tuple[str, bytes] | None]]

    def _head_signature(self) -> tuple[Any, ...]:
        """What changes whenever HEAD moves: HEAD itself, and the files of the ref it names.

        Cheaper than asking git, so the history read once can be reused safely.
        """
        git_dir, common_dir = self._git_dirs
        try:
            head = (git_dir / "HEAD").read_bytes()
        except OSError:
            return (None,)
        signature: list[Any] = [head]
        if head.startswith(b"ref: "):
            ref = os.fsdecode(head[5:].strip())
            for file in (git_dir / ref, common_dir / ref, common_dir / "packed-refs"):
                try:
                    info = file.stat()
                except OSError:
                    signature.append(None)
                else:
                    signature.append((info.st_mtime_ns, info.st_size, info.st_ino))
        return tuple(signature)

    def _history(self) -> _History:
        """The commits of the policy roots with their changes (renames detected); cached by HEAD."""
        signature = self._head_signature()
        if self._history_cache is not None and self._history_cache[0] == signature:
            return self._history_cache[1]
        head = self.git.run("rev-parse", "--verify", "--quiet", "HEAD")
        head_id = head.stdout.decode().strip() if not head.returncode else ""
        history = _History(head_id, [], {})
        if head_id:
            roots = self.settings.policies_dir
            declared = [p for own in self.settings.policies.values() for p in own.previous_paths]
            pathspec = [] if "." in roots else [*roots, *declared]
            result = self.git.run(
                "-c",
                "log.showSignature=false",
                "--literal-pathspecs",
                "log",
                "-M",
                "--no-merges",
                "--raw",
                "-z",
                "--no-abbrev",
                f"--format={_RECORD_SEP}%H{_FIELD_SEP}%aI{_FIELD_SEP}%an{_FIELD_SEP}%s",
                head_id,
                "--",
                *pathspec,
            )
            if result.returncode:
                raise GitError(f"git log failed: {os.fsdecode(result.stderr).strip()}")
            _parse_log(os.fsdecode(result.stdout), history)
        self._history_cache = (signature, history)
        return history

    def _walk(self, history: _History, policy: Policy) -> Iterator[_Change]:
        """The changes that made ``policy``, newest first: back through each rename, and
        from the commit that added it on to its declared ``previous_paths``, in order."""
        declared = list(policy.previous_paths)
        tracked: str | None = policy.path
        start = 0
        while tracked is not None:
            following = None
            for change in history.by_path.get(tracked, ()):
                if change.index < start:
                    continue
                yield change
                if change.status in "RAC":
                    start = change.index + 1
                    following = change.old_path if change.status == "R" else None
                    break
            if following is None and declared:
                following = declared.pop(0)
            tracked = following

    def _paths_in_history(self, policy: Policy) -> list[str]:
        """The policy's path now, then every earlier path it had (declared ones included)."""
        paths = [policy.path]
        for change in self._walk(self._history(), policy):
            paths += [change.path] + ([change.old_path] if change.old_path else [])
        return list(dict.fromkeys([*paths, *policy.previous_paths]))

    def moves_since(self, rev: str) -> dict[str, str]:
        """Policy files renamed or moved between ``rev`` and the working tree: new -> old path.

        Uses git's rename detection on the whole change (committed, staged or not), plus the
        ``previous_paths`` of policies whose earlier path existed at ``rev``.
        """
        result = self.git.run(
            "--literal-pathspecs",
            "diff",
            "-M",
            "--name-status",
            "-z",
            rev,
            "--",
            *([] if "." in self.settings.policies_dir else self.settings.policies_dir),
        )
        if result.returncode:
            raise GitError(f"git diff failed: {os.fsdecode(result.stderr).strip()}")
        tokens = os.fsdecode(result.stdout).split("\0")
        moves = {
            tokens[i + 2]: tokens[i + 1]
            for i in range(len(tokens) - 2)
            if tokens[i][:1] == "R" and tokens[i][1:].isdigit()
        }
        for own_path, own in self.settings.policies.items():
            if own_path in moves:
                continue
            existing = self._cat_files([f"{rev}:{path}" for path in own.previous_paths])
            found = next((p for p, b in zip(own.previous_paths, existing, strict=True) if b), None)
            if found is not None and found != own_path:
                moves[own_path] = found
        return moves
