"""Release tags: annotated tags named ``{tag_prefix}{name}/v{N}``, and their messages.

A message is a subject line and ``Key: value`` trailers; :func:`format_release_message` and
:func:`parse_release_message` are the only code that knows that format. The tags of a policy
are those under its name, plus those under the name of any earlier path of the policy (a
move changes the name, not the version numbers) and under the file stem of any of its paths
(the name redline gave policies before names were paths), when no other policy has that name.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from redline.errors import GitError, RedlineError
from redline.history.renames import RenameHistory

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from redline.history.repo import Policy

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


class ReleaseTags(RenameHistory):
    """The release part of :class:`~redline.history.repo.PolicyRepo`: each policy's tags,
    read in one git call and cached until a tag or HEAD changes."""

    policies: Callable[[], list[Policy]]
    resolve_rev: Callable[[str], str]
    _claims_cache: tuple[str, dict[str, set[str]]] | None
    _releases_cache: tuple[tuple[Any, ...], dict[Policy, list[Release]]] | None

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
        listing = self.git.run(
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
