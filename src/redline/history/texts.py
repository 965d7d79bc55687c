"""Policy texts: the bytes of a policy at a revision or in the working tree, decoded and
parsed (parsed documents are cached by blob id)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from redline.document.cache import parse_cached
from redline.document.source import decode_policy
from redline.errors import GitError, InputError, RedlineError
from redline.files import read_inside
from redline.history.renames import RenameHistory
from redline.layout import readable_title

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from redline.document.model import Document
    from redline.history.repo import Policy

_OBJECT_ID = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class Snapshot:
    """A policy's text at one revision (``commit`` is None for the working tree)."""

    text: str
    path: str
    commit: str | None
    ref: str
    blob: str


def blob_sha(data: bytes) -> str:
    """The git blob id of ``data`` (what ``git hash-object`` prints)."""
    import hashlib  # only for the working tree; OpenSSL's binding is slow to load

    return hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest()


class PolicyTexts(RenameHistory):
    """The text part of :class:`~redline.history.repo.PolicyRepo`: objects read with
    ``git cat-file --batch``, policy texts and their parsed documents."""

    root: Path
    resolve_rev: Callable[[str], str]
    _documents: dict[tuple[str, bool], Document]

    def _cat_objects(self, specs: list[str]) -> list[tuple[str, str, bytes] | None]:
        """(id, type, content) of the object each of ``specs`` names; None where there is none."""
        if not specs:
            return []
        stdin = "".join(f"{spec}\n" for spec in specs).encode()
        result = self.git.run("cat-file", "--batch", stdin=stdin)
        if result.returncode:
            raise GitError(f"git cat-file failed: {os.fsdecode(result.stderr).strip()}")
        found: list[tuple[str, str, bytes] | None] = []
        data, position = result.stdout, 0
        for _ in specs:
            end = data.index(b"\n", position)
            header = data[position:end].split()
            if len(header) == 3 and header[2].isdigit() and _OBJECT_ID.fullmatch(header[0]):
                size = int(header[2])
                content = data[end + 1 : end + 1 + size]
                position = end + 1 + size + 1
                found.append((header[0].decode(), header[1].decode(), content))
            else:  # "<spec> missing" or "ambiguous"
                position = end + 1
                found.append(None)
        return found

    def _cat_files(self, specs: list[str]) -> list[tuple[str, bytes] | None]:
        """(blob id, content) of each ``rev:path`` in ``specs``; None where there is no file."""
        return [
            (found[0], found[2]) if found and found[1] == "blob" else None
            for found in self._cat_objects(specs)
        ]

    def blob_at(self, rev: str, path: str) -> tuple[str, bytes] | None:
        """(blob id, content) of the file ``path`` at ``rev``; None when there is none."""
        return self._cat_files([f"{rev}:{path}"])[0]

    def commit_message(self, rev: str) -> str:
        """The message of the commit ``rev`` names."""
        found = self._cat_objects([f"{rev}^{{commit}}"])[0]
        if found is None:
            raise GitError(f"unknown revision '{rev}'")
        return found[2].partition(b"\n\n")[2].decode("utf-8", "replace")

    def read_text(self, policy: Policy, rev: str | None) -> Snapshot:
        """The policy's text at ``rev`` (None: the working tree)."""
        if rev is None:
            try:
                data = read_inside(self.root, policy.abspath)
            except FileNotFoundError:
                raise InputError(
                    f"{policy.path}: not in the working tree", hint="pass a revision to compare"
                ) from None
            text = decode_policy(data, policy.path)
            return Snapshot(text, policy.path, None, "working tree", blob_sha(data))
        # One git call for the commit and the file (resolve_rev() explains a failure).
        plain = not rev.startswith("-") and "\n" not in rev
        commit, found = (
            self._cat_objects([f"{rev}^{{commit}}", f"{rev}:{policy.path}"])
            if plain
            else (None, None)
        )
        commit_id = commit[0] if commit and commit[1] == "commit" else self.resolve_rev(rev)
        if found is not None and found[1] == "blob":
            text = decode_policy(found[2], f"{policy.path} at {rev}")
            return Snapshot(text, policy.path, commit_id, rev, found[0])
        earlier = self._paths_in_history(policy)[1:]  # names before a rename
        blobs = self._cat_files([f"{commit_id}:{path}" for path in earlier])
        for path, blob in zip(earlier, blobs, strict=True):
            if blob is not None:
                text = decode_policy(blob[1], f"{path} at {rev}")
                return Snapshot(text, path, commit_id, rev, blob[0])
        hint = self.git.shallow_hint("choose a revision from `redline log`")
        raise InputError(f"{policy.path}: does not exist at revision '{rev}'", hint=hint)

    def snapshots_at(self, rev: str, policies: Sequence[Policy]) -> dict[str, Snapshot | None]:
        """Each policy's text at ``rev`` under its current path (None where it is not there),
        read in one git call."""
        commit = self.resolve_rev(rev)
        found = self._cat_files([f"{commit}:{policy.path}" for policy in policies])
        return {
            policy.path: Snapshot(
                decode_policy(blob[1], f"{policy.path} at {rev}"), policy.path, commit, rev, blob[0]
            )
            if blob is not None
            else None
            for policy, blob in zip(policies, found, strict=True)
        }

    def document(self, policy: Policy, rev: str | None) -> tuple[Snapshot, Document]:
        """Read and parse the policy at ``rev``; parsed documents are cached by blob id, in
        memory and in ``.git/redline/cache/``."""
        snapshot = self.read_text(policy, rev)
        fold = self.settings.fold_typography
        key = (snapshot.blob, fold)
        if key not in self._documents:
            self._documents[key] = parse_cached(
                snapshot.text,
                blob=snapshot.blob,
                folder=self._git_dirs[1] / "redline" / "cache",
                name=f"{snapshot.path} at {rev}" if rev else snapshot.path,
                fold_typography=fold,
            )
        return snapshot, self._documents[key]

    def title(self, policy: Policy, rev: str | None) -> str:
        """The policy's title: config ``title``, else its opening H1 (not a question) or
        front-matter ``title`` at ``rev``, else one made from the last part of its name."""
        if policy.title:
            return policy.title
        try:
            found = self.document(policy, rev)[1].title
        except RedlineError:
            found = None
        if found:
            return found
        return readable_title(policy.slug.rpartition("/")[2])
