"""Git history of policies: policies, revisions, texts at a revision, releases.

The reads that every command does (repository root, policies at HEAD, revisions, texts,
release tags) run ``git`` directly, a few milliseconds each; GitPython, which costs a
noticeable part of a second to import, is loaded only when ``PolicyRepo.repo`` is used.

Which files are policies and what they are called is :mod:`redline.layout`'s business.
A policy's history follows renames: one ``git log -M --raw`` over the policy roots, read
once per HEAD, gives every commit's changes with git's rename detection, and each policy's
chain of paths is walked back through it (and through ``previous_paths`` declared in the
config, for a rename git cannot see).

Releases are annotated tags named ``{tag_prefix}{name}/v{N}``. Their message is a subject
line and ``Key: value`` trailers; :func:`format_release_message` and
:func:`parse_release_message` are the only code that knows that format. The tags of a policy
are those under its name, plus those under the name of any earlier path of the policy (a
move changes the name, not the version numbers) and under the file stem of any of its paths
(the name redline gave policies before names were paths), when no other policy has that name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from redline.document.cache import parse_cached
from redline.document.model import Document
from redline.errors import ConfigError, GitError, InputError, PolicyNotFoundError, RedlineError
from redline.files import read_inside
from redline.layout import SITE_MARKER, check_names

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import git

    from redline.config import Settings

SHALLOW_HINT = (
    "this is a shallow clone: fetch the full history with `git fetch --unshallow`, "
    "or set `fetch-depth: 0` on actions/checkout"
)
_FIELD_SEP = "\x1f"
_RECORD_SEP = "\x1e"
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


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


class PolicyRepo:
    """The policies of one git repository and their history."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.repo_root).resolve()
        toplevel = None
        if self.root.is_dir():
            result = self._git(
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

    def candidate_paths(self, roots: Sequence[str] | None = None) -> list[str]:
        """Files under ``roots`` (default: the policy roots): tracked, untracked but not
        ignored, and committed at HEAD; never what ``redline site`` built."""
        roots = roots or self.settings.policies_dir
        listing = self._git(
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
        committed = self._git(
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
        from redline.layout import safe_name

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

    def _history(self) -> _History:
        """The commits of the policy roots with their changes (renames detected); cached by HEAD."""
        signature = self._head_signature()
        if self._history_cache is not None and self._history_cache[0] == signature:
            return self._history_cache[1]
        head = self._git("rev-parse", "--verify", "--quiet", "HEAD")
        head_id = head.stdout.decode().strip() if not head.returncode else ""
        history = _History(head_id, [], {})
        if head_id:
            roots = self.settings.policies_dir
            declared = [p for own in self.settings.policies.values() for p in own.previous_paths]
            pathspec = [] if "." in roots else [*roots, *declared]
            result = self._git(
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
        result = self._git(
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

    def uncommitted(self) -> set[str]:
        """Paths under the policy roots that differ from HEAD (staged, unstaged or untracked)."""
        roots = self.settings.policies_dir
        result = self._git(
            "--literal-pathspecs", "status", "--porcelain=v1", "-z", "--no-renames", "--", *roots
        )
        if result.returncode:
            raise GitError(f"git status failed: {os.fsdecode(result.stderr).strip()}")
        return {entry[3:] for entry in os.fsdecode(result.stdout).split("\0") if len(entry) > 3}

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
        """The policy's title: config ``title``, else its first H1 or front-matter ``title``
        at ``rev``, else one made from the last part of its name."""
        if policy.title:
            return policy.title
        try:
            found = self.document(policy, rev)[1].title
        except RedlineError:
            found = None
        if found:
            return found
        from redline.publish.notice import readable_title

        return readable_title(policy.slug.rpartition("/")[2])

    # -- releases ---------------------------------------------------------------------------

    def tag_name(self, slug: str, version: int) -> str:
        """The release tag a new release of ``slug`` at ``version`` gets."""
        return f"{self.settings.tag_prefix}{slug}/v{version}"

    def tag_of(self, policy: Policy, version: int) -> str:
        """The tag of ``policy``'s release ``version``: the existing one (perhaps under an
        earlier name of the policy), else the one a new release gets."""
        found = next((r.tag for r in self.releases(policy) if r.version == version), None)
        return found or self.tag_name(policy.slug, version)

    def tag_names(self, policy: Policy) -> list[str]:
        """The names whose tags are ``policy``'s releases: its own name first, then the names
        and file stems of its earlier paths (and its own stem) that no other policy claims."""
        layout = self.settings.layout
        paths = self._paths_in_history(policy)
        earlier = [layout.name(path) for path in paths[1:]]
        stems = [PurePosixPath(path).stem for path in paths]
        names = [policy.slug]
        for name in dict.fromkeys([*earlier, *stems]):
            if name not in names and self._claims().get(name, {policy.path}) <= {policy.path}:
                names.append(name)
        return names

    def _claims(self) -> dict[str, set[str]]:
        """Current policy paths by each name and file stem they have; cached by HEAD."""
        head = self._history().head
        if self._claims_cache is None or self._claims_cache[0] != head:
            claims: dict[str, set[str]] = {}
            for other in self.policies():
                for name in {other.slug, PurePosixPath(other.path).stem}:
                    claims.setdefault(name, set()).add(other.path)
            self._claims_cache = (head, claims)
        return self._claims_cache[1]

    def releases(self, policy: Policy) -> list[Release]:
        """Released versions of ``policy`` from its annotated tags, oldest first.

        Tags under the policy's own name win over tags of the same version under an
        earlier name (see :meth:`tag_names`).
        """
        signature = self._tags_signature()
        if self._releases_cache is None or self._releases_cache[0] != signature:
            try:  # one git call for every policy: commands go through them all
                known = self.policies()
            except RedlineError:
                known = []
            found = self.releases_of(known)
            self._releases_cache = (signature, {p: found[p.path] for p in known})
        cached = self._releases_cache[1]
        if policy not in cached:
            cached[policy] = self.releases_of([policy])[policy.path]
        return list(cached[policy])

    def _tags_signature(self) -> tuple[Any, ...]:
        """What changes whenever a tag is made, moved or deleted: the packed refs, and the
        names and times of the loose tags' folders (a tag write renames a file into one)."""
        _, common_dir = self._git_dirs
        signature: list[Any] = [self._head_signature()]
        for folder, _, files in os.walk(common_dir / "refs" / "tags"):
            with contextlib.suppress(OSError):
                signature.append((folder, os.stat(folder).st_mtime_ns, tuple(sorted(files))))
        with contextlib.suppress(OSError):
            info = (common_dir / "packed-refs").stat()
            signature.append((info.st_mtime_ns, info.st_size, info.st_ino))
        return tuple(signature)

    def releases_of(self, policies: Sequence[Policy]) -> dict[str, list[Release]]:
        """The releases of each of ``policies`` (by path, oldest first), from one git call."""
        prefix = self.settings.tag_prefix
        owners: dict[str, tuple[str, int]] = {}
        for policy in policies:
            for position, name in enumerate(self.tag_names(policy)):
                owners.setdefault(f"{prefix}{name}", (policy.path, position))
        fields = "%(refname:strip=2)%1f%(objecttype)%1f%(*objecttype)%1f%(*objectname)"
        listing = self._git(
            "for-each-ref",
            f"--format={fields}%1f%(creatordate:iso-strict)%1f%(contents)%1e",
            *(f"refs/tags/{base}/" for base in owners),
        )
        if listing.returncode:
            raise GitError(f"cannot list tags: {os.fsdecode(listing.stderr).strip()}")
        found: dict[str, dict[int, tuple[int, Release]]] = {p.path: {} for p in policies}
        for record in listing.stdout.decode("utf-8", "replace").split("\x1e")[:-1]:
            name, kind, target_kind, target, created, message = record.lstrip("\n").split("\x1f")
            base, _, number = name.rpartition("/v")
            if base not in owners or not number.isdigit():
                continue
            if kind != "tag":
                raise GitError(
                    f"tag '{name}' is not annotated",
                    hint="release tags carry metadata; recreate it with `git tag -a`",
                )
            path, position = owners[base]
            commit = target if target_kind == "commit" else self.resolve_rev(name)
            release = self._release(name, commit, datetime.fromisoformat(created), message)
            versions = found[path]
            if release.version not in versions or position < versions[release.version][0]:
                versions[release.version] = (position, release)
        return {
            path: [versions[version][1] for version in sorted(versions)]
            for path, versions in found.items()
        }

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
