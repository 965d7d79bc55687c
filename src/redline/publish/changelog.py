"""The Markdown changelog of each policy: one entry per released version, newest first.

The changelog's path comes from config ``changelog_path`` (default
``{dir}/{slug}.changelog.md``, beside the policy). Entries go in below the insertion marker
``<!-- redline:changelog -->``; each is preceded by ``<!-- redline:entry vN -->`` so that a
second entry for the same version is refused. Entries are rendered with the templates
``changelog-entry.md.j2`` (and ``changelog.md.j2`` for a new file).

An entry's summary comes from :mod:`redline.publish.changelog_summary`; the entry of a change
not yet released is worked out by the release planner (``redline.release.plan_release``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from redline.compare.engine import diff_policy
from redline.compare.views import reason_words, why
from redline.errors import ConfigError, InputError
from redline.files import atomic_write, read_inside
from redline.layout import changelog_fields
from redline.publish.changelog_summary import resolve_summary
from redline.publish.links import version_url
from redline.publish.notice import PolicyInfo
from redline.publish.prose import SectionChange, describe_changes, stats_dict
from redline.publish.templates import Templates

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo
    from redline.history.tags import Release

MARKER = "<!-- redline:changelog -->"
_ENTRY_MARK = re.compile(r"^<!-- redline:entry v(\d+) -->[ \t]*\r?$", re.M)


@dataclass(frozen=True)
class ChangelogEntry:
    """One changelog entry: a released (or pending) version of a policy."""

    policy: PolicyInfo
    version: int
    previous_version: int | None
    effective_date: dt.date
    published: dt.date
    classification: str
    summary: str
    sections: tuple[SectionChange, ...]
    renumbered: tuple[str, ...]
    stats: dict[str, int | bool]
    link: str | None
    tag: str
    previous_tag: str | None
    short_notice: bool = False
    compare: str | None = None
    reasons: tuple[str, ...] = ()

    @property
    def why(self) -> str:
        """The reasons as one line for readers (see :func:`redline.compare.views.why`)."""
        return why(self.reasons)

    def variables(self) -> dict[str, Any]:
        """The context of ``changelog-entry.md.j2``."""
        return {
            "policy": self.policy,
            "version": self.version,
            "previous_version": self.previous_version,
            "effective_date": self.effective_date,
            "published": self.published,
            "classification": self.classification,
            "material": self.classification == "material",
            "short_notice": self.short_notice,
            "summary": self.summary,
            "sections": list(self.sections),
            "renumbered": list(self.renumbered),
            "stats": dict(self.stats),
            "link": self.link,
            "compare": self.compare,
            "reasons": list(self.reasons),
            "why": self.why,
            "tag": self.tag,
            "previous_tag": self.previous_tag,
        }


# --- where the changelog lives ----------------------------------------------------------------


def changelog_path(settings: Settings, policy: Policy) -> Path:
    """The absolute path of ``policy``'s changelog (config ``changelog_path``)."""
    try:
        relative = settings.changelog_path.format(**changelog_fields(policy.path, policy.slug))
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"changelog_path {settings.changelog_path!r}: cannot use {exc}",
            hint='use {dir}, {stem}, {slug} and {name}, e.g. "{dir}/{stem}.changelog.md"',
        ) from None
    relpath = PurePosixPath(relative)
    if relpath.is_absolute() or ".." in relpath.parts or not relpath.name:
        raise ConfigError(
            f"changelog_path {settings.changelog_path!r} gives {relative!r} for {policy.path}",
            hint="it must be a file path inside the repository",
        )
    if relpath.as_posix() == policy.path:  # any other changelog is never a policy (layout)
        raise ConfigError(
            f"changelog_path {settings.changelog_path!r} gives the policy itself ({relative})",
            hint='give changelogs their own names, e.g. "{dir}/{stem}.changelog.md"',
        )
    return settings.repo_root / relative


def entry_versions(text: str) -> set[int]:
    """Versions that already have an entry in changelog ``text``."""
    return {int(match.group(1)) for match in _ENTRY_MARK.finditer(text)}


def has_entry(settings: Settings, policy: Policy, version: int) -> bool:
    """True when ``policy``'s changelog already has an entry for ``version``."""
    path = changelog_path(settings, policy)
    return path.is_file() and version in entry_versions(_read(path, settings.repo_root))


# --- entries ------------------------------------------------------------------------------


def build_entry(
    repo: PolicyRepo,
    policy: Policy,
    settings: Settings,
    *,
    version: int,
    effective_date: dt.date,
    published: dt.date,
    classification: str,
    diff: DiffResult | None,
    summary: str,
    previous_version: int | None,
    short_notice: bool = False,
    rev: str | None = None,
) -> ChangelogEntry:
    """A changelog entry from its parts; ``rev`` is where the policy's title is read."""
    tag = repo.tag_name(policy.slug, version)
    previous_tag = repo.tag_of(policy, previous_version) if previous_version is not None else None
    compare = repo.github_compare_url(previous_tag, tag) if previous_tag else None
    return ChangelogEntry(
        policy=PolicyInfo(policy.slug, policy.path, repo.title(policy, rev)),
        version=version,
        previous_version=previous_version,
        effective_date=effective_date,
        published=published,
        classification=classification,
        summary=summary,
        sections=tuple(describe_changes(diff)) if diff is not None else (),
        renumbered=tuple(diff.renumbered_runs) if diff is not None else (),
        stats=stats_dict(diff),
        link=redline_link(settings, policy.slug, version, previous_version is not None),
        tag=tag,
        previous_tag=previous_tag,
        short_notice=short_notice,
        compare=compare,
        reasons=tuple(map(reason_words, diff.reasons)) if diff is not None else (),
    )


def redline_link(
    settings: Settings, slug: str, version: int, has_redline: bool = True, *, relative: str = ""
) -> str | None:
    """Where a reader sees the full redline of ``version``: its site page at ``#redline``.

    For a page of the site, the page relative to it (``relative`` is the way from that page
    to the policy's folder: ``.`` in it, ``../`` from its changelog page), with or without
    ``site_url``; else the absolute page with ``site_url``; else None: the repository's
    changelog has no site to point at. The page alone for a first version, which has no
    redline.
    """
    if relative:
        page: str | None = f"{'' if relative == '.' else relative}{version}/index.html"
    else:
        page = version_url(settings, slug, version)
    if page is None:
        return None
    return f"{page}#redline" if has_redline else page


def release_diff(repo: PolicyRepo, policy: Policy, release: Release) -> DiffResult | None:
    """The diff of ``release`` against its previous version (None for a first release)."""
    if release.previous_version is None:
        return None

    return diff_policy(repo, policy, repo.tag_of(policy, release.previous_version), release.tag)


def entry_for_release(
    repo: PolicyRepo,
    policy: Policy,
    release: Release,
    settings: Settings,
    *,
    summary: str | None = None,
    diff: DiffResult | None = None,
) -> ChangelogEntry:
    """The changelog entry of an existing release (read from its tag).

    ``diff`` is the release's diff against its previous version when the caller has it.
    """
    if diff is None:
        diff = release_diff(repo, policy, release)
    previous_tag = (
        repo.tag_of(policy, release.previous_version)
        if release.previous_version is not None
        else None
    )
    summary = resolve_summary(
        repo,
        policy,
        diff,
        explicit=summary or release.summary or None,
        since=previous_tag,
        until=release.tag,
    )
    return release_entry(repo, policy, settings, release, diff, summary, rev=release.commit)


def release_entry(
    repo: PolicyRepo,
    policy: Policy,
    settings: Settings,
    release: Release,
    diff: DiffResult | None,
    summary: str,
    *,
    rev: str | None = None,
) -> ChangelogEntry:
    """The entry of ``release`` (tagged or pending): ``build_entry`` with the release's facts."""
    return build_entry(
        repo,
        policy,
        settings,
        version=release.version,
        effective_date=release.effective_date,
        published=release.published.date(),
        classification=release.classification,
        diff=diff,
        summary=summary,
        previous_version=release.previous_version,
        short_notice=release.short_notice,
        rev=rev,
    )


# --- rendering and writing ------------------------------------------------------------------


def render_entry(
    settings: Settings, entry: ChangelogEntry, templates: Templates | None = None
) -> str:
    """The Markdown of one entry (template ``changelog-entry.md.j2``), without its marker."""
    templates = templates or Templates(settings)
    return templates.render("changelog-entry.md.j2", entry.variables()).strip() + "\n"


def render_new_changelog(
    settings: Settings, policy: Policy, title: str, templates: Templates | None = None
) -> str:
    """The text of a new changelog (template ``changelog.md.j2``); it must hold the marker."""
    templates = templates or Templates(settings)
    path = changelog_path(settings, policy)
    policy_link = os.path.relpath(policy.abspath, path.parent)
    text = templates.render(
        "changelog.md.j2",
        {
            "policy": PolicyInfo(policy.slug, policy.path, title),
            # percent-encoded: a path with a space is no link destination in Markdown
            "policy_link": quote(PurePosixPath(*Path(policy_link).parts).as_posix()),
            "marker": MARKER,
        },
    )
    if MARKER not in text:
        raise InputError(
            f"{templates.origin('changelog.md.j2')}: a new changelog must contain {MARKER}",
            hint="put {{ marker }} where entries go",
        )
    return text


def insert_entry(text: str, entry_markdown: str, version: int, where: str) -> str:
    """``text`` with ``entry_markdown`` inserted below the marker, newest first.

    Refuses a second entry for ``version`` and a changelog without the marker.
    """
    if version in entry_versions(text):
        raise InputError(
            f"{where}: already has an entry for version {version}",
            hint="each version is logged once; edit the existing entry by hand to change it",
        )
    index = text.find(MARKER)
    if index < 0:
        raise InputError(
            f"{where}: no insertion marker {MARKER}",
            hint="add the marker on its own line where new entries should go",
        )
    newline = "\r\n" if "\r\n" in text else "\n"
    end = text.find("\n", index)
    head, tail = (text, "") if end < 0 else (text[: end + 1], text[end + 1 :])
    if end < 0:
        head += newline
    block = f"<!-- redline:entry v{version} -->\n{entry_markdown.strip()}\n"
    block = block.replace("\n", newline)
    tail = tail.lstrip("\r\n")
    return head + newline + block + (newline + tail if tail else "")


def changelog_with_entry(
    settings: Settings,
    policy: Policy,
    entry: ChangelogEntry,
    *,
    templates: Templates | None = None,
    entry_markdown: str | None = None,
) -> tuple[Path, str]:
    """``policy``'s changelog path and its text with ``entry`` added; nothing is written.

    A missing changelog starts from ``changelog.md.j2``; ``entry_markdown`` is the entry's
    Markdown when the caller has rendered it. Raises :class:`~redline.errors.InputError`
    when the version already has an entry.
    """
    templates = templates or Templates(settings)
    path = changelog_path(settings, policy)
    where = path.relative_to(settings.repo_root).as_posix()
    if path.is_file():
        text = _read(path, settings.repo_root)
    elif path.exists():
        raise InputError(f"{where}: is not a file", hint="fix changelog_path in the config")
    else:
        text = render_new_changelog(settings, policy, entry.policy.title, templates)
    markdown = entry_markdown or render_entry(settings, entry, templates)
    return path, insert_entry(text, markdown, entry.version, where)


def write_entry(
    settings: Settings,
    policy: Policy,
    entry: ChangelogEntry,
    *,
    templates: Templates | None = None,
) -> Path:
    """Add ``entry`` to ``policy``'s changelog (created if missing), atomically.

    Raises :class:`~redline.errors.InputError` when the version already has an entry.
    """
    path, text = changelog_with_entry(settings, policy, entry, templates=templates)
    atomic_write(path, text, root=settings.repo_root)
    return path


def _read(path: Path, root: Path) -> str:
    try:
        return read_inside(root, path).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: is not UTF-8 text", hint="save it as UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
