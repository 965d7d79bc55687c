"""``redline site``: a static history of every released policy version, with stable URLs.

Layout of OUTDIR (every URL below is stable, so notices can link to it)::

    index.html                 the policies
    feed.atom                  all releases of all policies
    style.css
    <slug>/index.html          the versions of one policy
    <slug>/feed.atom           its releases
    <slug>/changelog/          its changelog (also <slug>/changelog.md)
    <slug>/<N>/index.html      version N: what changed, the redline against N-1, the full text
    <slug>/<N>/redline.html    the standalone redline page
    <slug>/<N>/<slug>.md       the Markdown source of version N

The build reads only git (release tags and the texts at them), never the clock, so the same
repository gives byte-identical output. It is written to a temporary directory beside OUTDIR
and swapped in at the end; an existing OUTDIR is replaced only if an earlier build made it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import Markup

from redline.compare.views import render_html
from redline.errors import InputError
from redline.layout import SITE_MARKER
from redline.publish.changelog import (
    ChangelogEntry,
    entry_for_release,
    redline_link,
    release_diff,
    render_entry,
)
from redline.publish.feeds import (
    EPOCH,
    FeedEntry,
    author_name,
    combined_feed,
    feed_entry,
    identity,
    policy_feed,
    render_feed,
)
from redline.publish.filters import markdown_to_html
from redline.publish.links import site_base
from redline.publish.templates import Templates

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo
    from redline.history.tags import Release

_MARKER_TEXT = "Built by `redline site`. The whole directory is replaced on every build.\n"


@dataclass(frozen=True)
class VersionPage:
    """One released version and what its pages show."""

    release: Release
    entry: ChangelogEntry
    diff: DiffResult | None
    source: str
    body: str
    source_name: str

    @property
    def version(self) -> int:
        """The version number."""
        return self.release.version


@dataclass(frozen=True)
class PolicyPages:
    """A released policy and its versions, oldest first."""

    policy: Policy
    title: str
    versions: tuple[VersionPage, ...]

    @property
    def slug(self) -> str:
        """The policy's slug (its directory in the site)."""
        return self.policy.slug

    @property
    def latest(self) -> VersionPage:
        """The newest released version."""
        return self.versions[-1]


@dataclass(frozen=True)
class SiteReport:
    """What a build wrote."""

    outdir: Path
    policies: int
    versions: int
    files: int


def collect(repo: PolicyRepo, settings: Settings) -> list[PolicyPages]:
    """Every policy that has releases, sorted by path, with its versions read from git."""
    collected = []
    for policy in repo.policies():
        releases = repo.releases(policy)
        if not releases:
            continue
        pages = []
        for release in releases:
            snapshot, document = repo.document(policy, release.tag)
            diff = release_diff(repo, policy, release)
            pages.append(
                VersionPage(
                    release=release,
                    entry=entry_for_release(repo, policy, release, settings, diff=diff),
                    diff=diff,
                    source=snapshot.text,
                    body=document.source[len(document.front_matter_text) :],
                    source_name=PurePosixPath(snapshot.path).name,
                )
            )
        title = pages[-1].entry.policy.title
        collected.append(PolicyPages(policy, title, tuple(pages)))
    return collected


class _Writer:
    """Writes the pages of one build below a root directory, keeping count."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0

    def write(self, relpath: str, text: str) -> None:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        self.files += 1


def _root_prefix(relpath: str) -> str:
    """The relative way back to the site root from the page at ``relpath``."""
    return "../" * (len(PurePosixPath(relpath).parts) - 1)


def _site_context(title: str, settings: Settings, relpath: str) -> dict[str, Any]:
    base = site_base(settings)
    directory = str(PurePosixPath(relpath).parent)
    canonical = None
    if base:
        canonical = f"{base}/" if directory == "." else f"{base}/{quote(directory)}/"
        if not relpath.endswith("index.html"):
            canonical = f"{base}/{quote(relpath)}"
    return {
        "site": {"title": title, "url": base},
        "root": _root_prefix(relpath),
        "canonical": canonical,
    }


def build_site(repo: PolicyRepo, settings: Settings, outdir: Path) -> SiteReport:
    """Build the site into ``outdir`` (replacing an earlier build there)."""
    outdir = outdir.resolve()
    _check_outdir(outdir)
    policies = collect(repo, settings)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".tmp", dir=outdir.parent))
    try:
        build = _Build(
            repo,
            settings,
            Templates(settings),
            _Writer(staging),
            title=author_name(repo),
            ident=identity(repo, settings),
            base=site_base(settings),
        )
        for pol in policies:
            build.policy(pol)
        build.home(policies)
        _finalise_modes(staging)
        _swap(staging, outdir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SiteReport(
        outdir=outdir,
        policies=len(policies),
        versions=sum(len(p.versions) for p in policies),
        files=build.writer.files,
    )


@dataclass
class _Build:
    """One build: its writer, and what every page shares; collects the combined feed."""

    repo: PolicyRepo
    settings: Settings
    templates: Templates
    writer: _Writer
    title: str
    ident: str
    base: str | None
    entries: list[FeedEntry] = field(default_factory=list)

    def page(self, relpath: str, template: str, **context: Any) -> None:
        """Render ``template`` with the site's context into ``relpath``."""
        variables = {**_site_context(self.title, self.settings, relpath), **context}
        limit = self.templates.page_limit
        self.writer.write(relpath, self.templates.render(template, variables, limit=limit))

    def version(self, pol: PolicyPages, version: VersionPage) -> FeedEntry:
        """The files of one version; returns its entry of the policy's feed."""
        release = version.release
        rel = f"{pol.slug}/{release.version}/index.html"
        redline_html = Markup(render_html(version.diff, standalone=False)) if version.diff else None
        self.page(
            rel,
            "site/version.html.j2",
            policy=pol,
            version=version,
            entry=version.entry,
            redline=redline_html,
            text=markdown_to_html(version.body),
            previous=release.previous_version,
            next=_next_version(pol, release.version),
        )
        if version.diff is not None:
            self.writer.write(
                f"{pol.slug}/{release.version}/redline.html", render_html(version.diff)
            )
        self.writer.write(f"{pol.slug}/{release.version}/{version.source_name}", version.source)
        slug_url = quote(pol.slug)
        absolute = f"{self.base}/{slug_url}/{release.version}/" if self.base else None
        self.entries.append(
            feed_entry(
                version.entry,
                ident=self.ident,
                url=absolute or f"{slug_url}/{release.version}/",
                published=release.published,
            )
        )
        return feed_entry(
            version.entry,
            ident=self.ident,
            url=absolute or f"{release.version}/",
            published=release.published,
        )

    def policy(self, pol: PolicyPages) -> None:
        """The files of one policy: its versions, changelog, index page and feed."""
        policy_entries = [self.version(pol, version) for version in pol.versions]
        changelog_md = _changelog_markdown(self.settings, self.templates, pol, relative=".")
        self.writer.write(f"{pol.slug}/changelog.md", changelog_md)
        self.page(
            f"{pol.slug}/changelog/index.html",
            "site/changelog.html.j2",
            policy=pol,
            changelog=markdown_to_html(
                _changelog_markdown(self.settings, self.templates, pol, relative="../")
            ),
        )
        self.page(f"{pol.slug}/index.html", "site/policy.html.j2", policy=pol)
        feed = policy_feed(self.repo, pol.policy, self.settings, policy_entries, title=pol.title)
        self.writer.write(f"{pol.slug}/feed.atom", render_feed(self.settings, feed, self.templates))

    def home(self, policies: list[PolicyPages]) -> None:
        """The index page, the combined feed, the style sheet and the marker file."""
        self.page("index.html", "site/index.html.j2", policies=policies)
        feed = combined_feed(
            self.repo, self.settings, self.entries, fallback_updated=_head_time(self.repo)
        )
        self.writer.write("feed.atom", render_feed(self.settings, feed, self.templates))
        self.writer.write("style.css", self.templates.render("site/style.css.j2", {}))
        self.writer.write(SITE_MARKER, _MARKER_TEXT)


def _next_version(pol: PolicyPages, version: int) -> int | None:
    later = [v.version for v in pol.versions if v.version > version]
    return min(later) if later else None


def _changelog_markdown(
    settings: Settings, templates: Templates, pol: PolicyPages, *, relative: str
) -> str:
    """The policy's changelog as a page of the site ``relative`` to the policy's folder
    (``.``: in it, ``../``: one below it) links its versions."""
    parts = [f"# Changelog: {pol.title}\n"]
    for v in reversed(pol.versions):
        link = redline_link(
            settings, pol.slug, v.version, v.entry.previous_version is not None, relative=relative
        )
        parts.append(render_entry(settings, replace(v.entry, link=link), templates))
    return "\n".join(parts)


def _head_time(repo: PolicyRepo) -> dt.datetime:
    if not repo.has_commits():
        return EPOCH
    return repo.git.commit_time("HEAD")


def _check_outdir(outdir: Path) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"{outdir}: is not a directory", hint="choose a directory for the site")
    if outdir.is_dir() and any(outdir.iterdir()) and not (outdir / SITE_MARKER).is_file():
        raise InputError(
            f"{outdir}: is not empty and was not built by redline",
            hint="choose an empty or new directory; redline replaces the whole directory",
        )
    if outdir == Path(outdir.anchor):
        raise InputError(f"{outdir}: cannot build a site at the file system root")


def _finalise_modes(staging: Path) -> None:
    """Give the staged tree ordinary permissions (mkdtemp makes its directory private)."""
    mask = os.umask(0o022)
    os.umask(mask)
    os.chmod(staging, 0o777 & ~mask)


def _swap(staging: Path, outdir: Path) -> None:
    """Put ``staging`` in the place of ``outdir``; the old build is removed afterwards."""
    if not outdir.exists():
        os.replace(staging, outdir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".old", dir=outdir.parent))
    os.rmdir(old)
    os.replace(outdir, old)
    try:
        os.replace(staging, outdir)
    except OSError:
        os.replace(old, outdir)
        raise
    shutil.rmtree(old, ignore_errors=True)
