"""Git history of policies: policies, revisions, texts at a revision, releases.

The reads that every command does (repository root, policies at HEAD, revisions, texts,
release tags) run ``git`` directly, a few milliseconds each; GitPython, which costs a
noticeable part of a second to import, is loaded only when ``PolicyRepo.repo`` is used.

Releases are annotated tags named ``{tag_prefix}{slug}/v{N}``. Their message is a subject
line and ``Key: value`` trailers; :func:`format_release_message` and
:func:`parse_release_message` are the only code that knows that format.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from redline.errors import GitError, InputError, PolicyNotFoundError
from redline.files import read_inside
from redline.model import Document, parse_document

if TYPE_CHECKING:
    from collections.abc import Callable

    import git

    from redline.config import Settings

SHALLOW_HINT = (
    "this is a shallow clone: fetch the full history with `git fetch --unshallow`, "
    "or set `fetch-depth: 0` on actions/checkout"
)
_FIELD_SEP = "\x1f"
_OBJECT_ID = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")
_RELEASE_KEYS = (
    "Policy",
    "Version",
    "Effective-Date",
    "Classification",
    "Previous-Version",
    "Commits",
    "Notify",
    "Short-Notice",
    "Summary",
)


def _run_git(
    cwd: Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git args`` in ``cwd`` and return the finished process (output as bytes)."""
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", hint="install git") from None


def find_repo_root(path: Path) -> Path:
    """Return the work tree root of the git repository around ``path``."""
    if not path.exists():
        raise GitError(f"{path}: no such directory", hint="check --repo")
    directory = path if path.is_dir() else path.parent
    result = _run_git(directory, "rev-parse", "--is-bare-repository", "--show-toplevel")
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


@dataclass(frozen=True)
class Policy:
    """A policy file: its slug (the file stem) and repository-relative path."""

    slug: str
    path: str
    abspath: Path


@dataclass(frozen=True)
class Revision:
    """A commit that touched a policy."""

    commit: str
    date: datetime
    author: str
    subject: str
    path: str
    effective_line: str | None = None

    @property
    def short(self) -> str:
        """Abbreviated commit id."""
        return self.commit[:10]


@dataclass(frozen=True)
class Snapshot:
    """A policy's text at one revision (``commit`` is None for the working tree)."""

    text: str
    path: str
    commit: str | None
    ref: str
    blob: str


@dataclass(frozen=True)
class Release:
    """A released policy version, read from its annotated tag."""

    slug: str
    version: int
    tag: str
    commit: str
    effective_date: date
    classification: str
    previous_version: int | None
    published: datetime
    notify: bool
    short_notice: bool
    summary: str
    metadata: dict[str, str] = field(default_factory=dict)


def format_release_message(fields: dict[str, Any]) -> str:
    """Render a release tag message from ``fields`` keyed like the trailers."""
    missing = [key for key in ("Policy", "Version", "Effective-Date") if key not in fields]
    if missing:
        raise ValueError(f"release message needs {', '.join(missing)}")
    subject = (
        f"redline: {fields['Policy']} v{fields['Version']}, effective {fields['Effective-Date']}"
    )
    lines = [subject, ""]
    for key in _RELEASE_KEYS:
        if key in fields and fields[key] is not None:
            value = " ".join(str(fields[key]).split())
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def parse_release_message(text: str) -> dict[str, str]:
    """Parse the trailers of a release tag message (unknown keys are kept)."""
    trailers: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        match = re.match(r"^([A-Z][A-Za-z-]*): (.*)$", line)
        if match:
            trailers[match.group(1)] = match.group(2).strip()
    return trailers


def notice_base(releases: list[Release], version: int) -> Release | None:
    """The release a notice of ``version`` shows changes against: the last notified one.

    That is the newest earlier release tagged ``Notify: yes``; when none was notified, the
    first release (the baseline subscribers started from); None for a first release.
    ``releases`` is a policy's releases, oldest first.
    """
    earlier = [release for release in releases if release.version < version]
    notified = [release for release in earlier if release.notify]
    if notified:
        return notified[-1]
    return earlier[0] if earlier else None


def blob_sha(data: bytes) -> str:
    """The git blob id of ``data`` (what ``git hash-object`` prints)."""
    import hashlib  # only for the working tree; OpenSSL's binding is slow to load

    return hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest()


def decode_policy(data: bytes, where: str) -> str:
    """Decode policy bytes as UTF-8, with one-line errors for binary or other encodings."""
    if b"\x00" in data:
        raise InputError(f"{where}: is a binary file, not Markdown", hint="policies are UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{where}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x})",
            hint="save the file as UTF-8",
        ) from None


class PolicyRepo:
    """The policies of one git repository and their history."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.repo_root).resolve()
        toplevel = None
        if self.root.is_dir():
            result = self._git("rev-parse", "--show-toplevel")
            toplevel = Path(os.fsdecode(result.stdout).strip()) if not result.returncode else None
        if toplevel is None or toplevel.resolve() != self.root:
            raise GitError(
                f"{self.root}: not a git repository", hint="pass --repo or run inside one"
            )
        self._documents: dict[tuple[str, bool], Document] = {}

    @cached_property
    def repo(self) -> git.Repo:
        """The GitPython repository, for commands that write (imported on first use)."""
        import git

        return git.Repo(self.root)

    def _git(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return _run_git(self.root, *args, stdin=stdin)

    def _cat_objects(self, specs: list[str]) -> list[tuple[str, str, bytes] | None]:
        """(id, type, content) of the object each of ``specs`` names; None where there is none."""
        if not specs:
            return []
        result = self._git("cat-file", "--batch", stdin="".join(f"{s}\n" for s in specs).encode())
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

    # -- policies ---------------------------------------------------------------------------

    def _is_policy_path(self, relpath: str) -> bool:
        posix = PurePosixPath(relpath)
        base = PurePosixPath(self.settings.policies_dir)
        if base != PurePosixPath(".") and base not in posix.parents:
            return False
        name = posix.name
        included = any(fnmatch.fnmatch(name, pattern) for pattern in self.settings.include)
        excluded = any(fnmatch.fnmatch(name, pattern) for pattern in self.settings.exclude)
        return included and not excluded

    def policies(self) -> list[Policy]:
        """Policies in the working tree and at HEAD, sorted by path."""
        paths: set[str] = set()
        directory = self.root / self.settings.policies_dir
        if directory.is_dir():
            for file in directory.rglob("*"):
                relpath = file.relative_to(self.root).as_posix()
                if file.is_file() and ".git" not in file.parts and self._is_policy_path(relpath):
                    paths.add(relpath)
        listing = self._git("ls-tree", "-r", "-z", "HEAD", "--", self.settings.policies_dir)
        if not listing.returncode:  # fails without commits
            for entry in os.fsdecode(listing.stdout).split("\0"):
                info, _, relpath = entry.partition("\t")
                if info.split(" ")[1:2] == ["blob"] and self._is_policy_path(relpath):
                    paths.add(relpath)
        return [self._policy(path) for path in sorted(paths)]

    def _policy(self, relpath: str) -> Policy:
        return Policy(slug=PurePosixPath(relpath).stem, path=relpath, abspath=self.root / relpath)

    def resolve(self, name: str) -> Policy:
        """Find a policy by repository path, path relative to the cwd, or slug."""
        known = self.policies()
        candidates = {name, name.removeprefix("./")}
        as_path = Path(name)
        if as_path.exists():
            with contextlib.suppress(ValueError):
                candidates.add(as_path.resolve().relative_to(self.root).as_posix())
        for policy in known:
            if policy.path in candidates:
                return policy
        by_slug = [policy for policy in known if policy.slug == name]
        if len(by_slug) == 1:
            return by_slug[0]
        if len(by_slug) > 1:
            paths = ", ".join(policy.path for policy in by_slug)
            raise PolicyNotFoundError(f"policy '{name}' is ambiguous", hint=f"use a path: {paths}")
        names = ", ".join(policy.slug for policy in known) or "none"
        raise PolicyNotFoundError(
            f"unknown policy '{name}' in {self.root / self.settings.policies_dir}",
            hint=f"known policies: {names}",
        )

    # -- revisions --------------------------------------------------------------------------

    def has_commits(self) -> bool:
        """False in a repository without any commit yet."""
        return not self._git("rev-parse", "--verify", "--quiet", "HEAD").returncode

    def is_shallow(self) -> bool:
        """True in a shallow clone."""
        return self._git("rev-parse", "--is-shallow-repository").stdout.strip() == b"true"

    def resolve_rev(self, rev: str) -> str:
        """Return the commit id that ``rev`` names."""
        # Not GitPython's rev_parse: that returns the parent of a shallow clone's oldest
        # commit without checking that it exists, and knows less revision syntax.
        result = None
        if not rev.startswith("-"):
            result = self._git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        if result is None or result.returncode:
            hint = SHALLOW_HINT if self.is_shallow() else "check `git log` for valid revisions"
            raise GitError(f"unknown revision '{rev}'", hint=hint)
        return result.stdout.decode().strip()

    def revisions(
        self, policy: Policy, *, date_line: Callable[[str], str | None] | None = None
    ) -> list[Revision]:
        """Commits that touched ``policy``, newest first, following renames.

        With ``date_line`` (text -> the raw effective-date line or None), each revision's
        ``effective_line`` is filled in from the policy's text at that revision.
        """
        log = self._log(policy)
        if date_line is None:
            return [
                Revision(commit, datetime.fromisoformat(iso_date), author, subject, path)
                for commit, iso_date, author, subject, path in log
            ]
        blobs = self._cat_files([f"{commit}:{path}" for commit, _, _, _, path in log])
        revisions = []
        for (commit, iso_date, author, subject, path), blob in zip(log, blobs, strict=True):
            text = blob[1].decode("utf-8", "replace") if blob else None
            revisions.append(
                Revision(
                    commit,
                    datetime.fromisoformat(iso_date),
                    author,
                    subject,
                    path,
                    date_line(text) if text is not None else None,
                )
            )
        return revisions

    def _log(self, policy: Policy) -> list[tuple[str, str, str, str, str]]:
        """(commit, ISO date, author, subject, path then) of each commit touching ``policy``."""
        result = self._git(
            "log",
            "--follow",
            "--name-status",
            f"--format=%x1e%H{_FIELD_SEP}%aI{_FIELD_SEP}%an{_FIELD_SEP}%s",
            "--",
            policy.path,
        )
        if result.returncode:  # no commits yet
            return []
        log = []
        for record in result.stdout.decode("utf-8", "replace").split("\x1e")[1:]:
            header, _, changes = record.partition("\n")
            commit, iso_date, author, subject = header.split(_FIELD_SEP, 3)
            path = policy.path
            for change in changes.strip().splitlines():
                parts = change.split("\t")
                if parts and parts[-1]:
                    path = parts[-1]
            log.append((commit, iso_date, author, subject, path))
        return log

    def _paths_in_history(self, policy: Policy) -> list[str]:
        seen = [policy.path]
        for *_, path in self._log(policy):
            if path not in seen:
                seen.append(path)
        return seen

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
        hint = SHALLOW_HINT if self.is_shallow() else "choose a revision from `redline log`"
        raise InputError(f"{policy.path}: does not exist at revision '{rev}'", hint=hint)

    def document(self, policy: Policy, rev: str | None) -> tuple[Snapshot, Document]:
        """Read and parse the policy at ``rev``; parsed documents are cached by blob id."""
        snapshot = self.read_text(policy, rev)
        fold = self.settings.fold_typography
        key = (snapshot.blob, fold)
        if key not in self._documents:
            where = f"{snapshot.path} at {rev}" if rev else snapshot.path
            self._documents[key] = parse_document(snapshot.text, name=where, fold_typography=fold)
        return snapshot, self._documents[key]

    # -- releases ---------------------------------------------------------------------------

    def tag_name(self, slug: str, version: int) -> str:
        """The release tag of ``slug`` at ``version``."""
        return f"{self.settings.tag_prefix}{slug}/v{version}"

    def releases(self, policy: Policy) -> list[Release]:
        """Released versions of ``policy`` from its annotated tags, oldest first."""
        prefix = f"{self.settings.tag_prefix}{policy.slug}/v"
        fields = "%(refname:strip=2)%1f%(objecttype)%1f%(*objecttype)%1f%(*objectname)"
        listing = self._git(
            "for-each-ref",
            f"--format={fields}%1f%(creatordate:iso-strict)%1f%(contents)%1e",
            f"refs/tags/{prefix.rsplit('/', 1)[0]}/",
        )
        if listing.returncode:
            raise GitError(f"cannot list tags: {os.fsdecode(listing.stderr).strip()}")
        found = []
        for record in listing.stdout.decode("utf-8", "replace").split("\x1e")[:-1]:
            name, kind, target_kind, target, created, message = record.lstrip("\n").split("\x1f")
            if not name.startswith(prefix) or not name[len(prefix) :].isdigit():
                continue
            if kind != "tag":
                raise GitError(
                    f"tag '{name}' is not annotated",
                    hint="release tags carry metadata; recreate it with `git tag -a`",
                )
            commit = target if target_kind == "commit" else self.resolve_rev(name)
            found.append(self._release(name, commit, datetime.fromisoformat(created), message))
        return sorted(found, key=lambda release: release.version)

    def _release(self, name: str, commit: str, published: datetime, message: str) -> Release:
        meta = parse_release_message(message)
        try:
            effective = date.fromisoformat(meta["Effective-Date"])
            version = int(meta.get("Version", name.rsplit("/v", 1)[1]))
        except (KeyError, ValueError):
            raise GitError(
                f"tag '{name}' has no valid Effective-Date/Version trailer",
                hint="see README, 'Release tags'",
            ) from None
        previous = meta.get("Previous-Version", "none")
        return Release(
            slug=meta.get("Policy", name.rsplit("/v", 1)[0]),
            version=version,
            tag=name,
            commit=commit,
            effective_date=effective,
            classification=meta.get("Classification", "material"),
            previous_version=int(previous) if previous.isdigit() else None,
            published=published,
            notify=meta.get("Notify", "yes") == "yes",
            short_notice=meta.get("Short-Notice", "no") == "yes",
            summary=meta.get("Summary", ""),
            metadata=meta,
        )

    def latest_release(self, policy: Policy) -> Release | None:
        """The newest release of ``policy``, or None if it was never released."""
        releases = self.releases(policy)
        return releases[-1] if releases else None

    def github_compare_url(self, old_rev: str, new_rev: str) -> str | None:
        """A GitHub compare URL when ``origin`` is on GitHub, else None."""
        result = self._git("config", "--get", "remote.origin.url")
        if result.returncode:
            return None
        url = os.fsdecode(result.stdout).strip()
        match = re.match(
            r"^(?:https://github\.com/|git@github\.com:)([^/]+/[^/]+?)(?:\.git)?/?$", url
        )
        if not match:
            return None
        return f"https://github.com/{match.group(1)}/compare/{old_rev}...{new_rev}"
