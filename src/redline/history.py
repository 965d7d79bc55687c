"""Git history of policies (GitPython): policies, revisions, texts at a revision, releases.

Releases are annotated tags named ``{tag_prefix}{slug}/v{N}``. Their message is a subject
line and ``Key: value`` trailers; :func:`format_release_message` and
:func:`parse_release_message` are the only code that knows that format.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from redline.errors import GitError, InputError, PolicyNotFoundError
from redline.model import Document, is_date_line, normalize, parse_document

if TYPE_CHECKING:
    import git

    from redline.config import Settings

SHALLOW_HINT = (
    "this is a shallow clone: fetch the full history with `git fetch --unshallow`, "
    "or set `fetch-depth: 0` on actions/checkout"
)
_FIELD_SEP = "\x1f"
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


def find_repo_root(path: Path) -> Path:
    """Return the work tree root of the git repository around ``path``."""
    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
    except git.NoSuchPathError:
        raise GitError(f"{path}: no such directory", hint="check --repo") from None
    except git.InvalidGitRepositoryError:
        raise GitError(
            f"{path.resolve()}: not a git repository",
            hint="run redline inside a policy repository or pass --repo",
        ) from None
    if repo.working_tree_dir is None:
        raise GitError(f"{path}: is a bare repository", hint="run redline in a clone with files")
    return Path(repo.working_tree_dir)


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
        import git

        self.settings = settings
        self.root = Path(settings.repo_root).resolve()
        try:
            self.repo: git.Repo = git.Repo(self.root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise GitError(
                f"{self.root}: not a git repository", hint="pass --repo or run inside one"
            ) from None
        self._documents: dict[tuple[str, bool], Document] = {}

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
        if self.has_commits():
            paths.update(
                item.path
                for item in self.repo.head.commit.tree.traverse()
                if item.type == "blob" and self._is_policy_path(item.path)
            )
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
        try:
            self.repo.head.commit  # noqa: B018 - raises ValueError without commits
        except ValueError:
            return False
        return True

    def is_shallow(self) -> bool:
        """True in a shallow clone."""
        return (Path(self.repo.git_dir) / "shallow").exists()

    def resolve_rev(self, rev: str) -> str:
        """Return the commit id that ``rev`` names."""
        import git

        # git itself, not GitPython's rev_parse: that returns the parent of a shallow clone's
        # oldest commit without checking that it exists, and knows less revision syntax.
        try:
            if rev.startswith("-"):
                raise ValueError(rev)
            return self.repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}").strip()
        except (git.GitCommandError, ValueError):
            hint = SHALLOW_HINT if self.is_shallow() else "check `git log` for valid revisions"
            raise GitError(f"unknown revision '{rev}'", hint=hint) from None

    def revisions(self, policy: Policy) -> list[Revision]:
        """Commits that touched ``policy``, newest first, following renames."""
        if not self.has_commits():
            return []
        output = self.repo.git.log(
            "--follow",
            "--name-status",
            f"--format=%x1e%H{_FIELD_SEP}%aI{_FIELD_SEP}%an{_FIELD_SEP}%s",
            "--",
            policy.path,
        )
        revisions = []
        for record in output.split("\x1e")[1:]:
            header, _, changes = record.partition("\n")
            commit, iso_date, author, subject = header.split(_FIELD_SEP, 3)
            path = policy.path
            for change in changes.strip().splitlines():
                parts = change.split("\t")
                if parts and parts[-1]:
                    path = parts[-1]
            effective = self._effective_line(commit, path)
            revisions.append(
                Revision(commit, datetime.fromisoformat(iso_date), author, subject, path, effective)
            )
        return revisions

    def _effective_line(self, commit: str, path: str) -> str | None:
        try:
            blob = self.repo.commit(commit).tree / path
        except KeyError:
            return None
        head = blob.data_stream.read()[:8192].decode("utf-8", "replace")
        return find_date_line(head)

    def _paths_in_history(self, policy: Policy) -> list[str]:
        seen = [policy.path]
        for revision in self.revisions(policy):
            if revision.path not in seen:
                seen.append(revision.path)
        return seen

    def read_text(self, policy: Policy, rev: str | None) -> Snapshot:
        """The policy's text at ``rev`` (None: the working tree)."""
        if rev is None:
            try:
                data = policy.abspath.read_bytes()
            except FileNotFoundError:
                raise InputError(
                    f"{policy.path}: not in the working tree", hint="pass a revision to compare"
                ) from None
            text = decode_policy(data, policy.path)
            return Snapshot(text, policy.path, None, "working tree", blob_sha(data))
        commit_id = self.resolve_rev(rev)
        commit = self.repo.commit(commit_id)
        for path in self._paths_in_history(policy):
            try:
                blob = commit.tree / path
            except KeyError:
                continue
            data = blob.data_stream.read()
            text = decode_policy(data, f"{path} at {rev}")
            return Snapshot(text, path, commit_id, rev, blob.hexsha)
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
        found = []
        for tag in self.repo.tags:
            if not tag.name.startswith(prefix) or not tag.name[len(prefix) :].isdigit():
                continue
            if tag.tag is None:
                raise GitError(
                    f"tag '{tag.name}' is not annotated",
                    hint="release tags carry metadata; recreate it with `git tag -a`",
                )
            found.append(self._release(tag))
        return sorted(found, key=lambda release: release.version)

    def _release(self, tag: git.TagReference) -> Release:
        meta = parse_release_message(tag.tag.message)
        try:
            effective = date.fromisoformat(meta["Effective-Date"])
            version = int(meta.get("Version", tag.name.rsplit("/v", 1)[1]))
        except (KeyError, ValueError):
            raise GitError(
                f"tag '{tag.name}' has no valid Effective-Date/Version trailer",
                hint="see README, 'Release tags'",
            ) from None
        previous = meta.get("Previous-Version", "none")
        return Release(
            slug=meta.get("Policy", tag.name.rsplit("/v", 1)[0]),
            version=version,
            tag=tag.name,
            commit=tag.commit.hexsha,
            effective_date=effective,
            classification=meta.get("Classification", "material"),
            previous_version=int(previous) if previous.isdigit() else None,
            published=datetime.fromtimestamp(tag.tag.tagged_date, tz=_tz(tag.tag.tagger_tz_offset)),
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
        try:
            url = self.repo.remote("origin").url
        except ValueError:
            return None
        match = re.match(
            r"^(?:https://github\.com/|git@github\.com:)([^/]+/[^/]+?)(?:\.git)?/?$", url
        )
        if not match:
            return None
        return f"https://github.com/{match.group(1)}/compare/{old_rev}...{new_rev}"


def _tz(offset_seconds: int) -> Any:
    from datetime import timedelta, timezone

    # GitPython stores the offset west of UTC, as git's altzone does.
    return timezone(timedelta(seconds=-offset_seconds))


def find_date_line(text: str) -> str | None:
    """The raw effective-date line near the top of a policy (or its front matter), if any."""
    for line in text.splitlines()[:80]:
        stripped = line.strip()
        if not stripped:
            continue
        key = stripped.split(":", 1)[0].strip().lower()
        if (
            key in {"effective_date", "effective", "last_updated", "updated", "date"}
            and ":" in line
        ):
            return stripped
        if is_date_line(normalize(stripped.lstrip("#>*-_ "))):
            return stripped
    return None
