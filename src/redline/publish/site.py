"""``redline site``: a static history of every released policy version, with stable URLs.

Layout of OUTDIR (every URL below is stable, so notices can link to it)::

    index.html                 the policies: the version in force and the upcoming one
    feed.atom                  all releases of all policies
    style.css
    <slug>/index.html          the versions of one policy
    <slug>/feed.atom           its releases
    <slug>/changelog/          its changelog (also <slug>/changelog.md)
    <slug>/<N>/index.html      version N: what changed, the redline against N-1, the full text
    <slug>/<N>/redline.html    the standalone redline page
    <slug>/<N>/<slug>.md       the Markdown source of version N

Pages link each other relatively (a copy or a staging preview works anywhere); only the
canonical links and the feeds use ``site_url``. Which version is in force and which are
upcoming is worked out for the build day ``today`` (``redline site --today``, else
``$REDLINE_TODAY``, else the date; the API's default is the date of the last commit), and the
pages say so ("as of …"). Apart from that day the build reads only git (release tags and the
texts at them), never the clock: the same repository built for the same day gives
byte-identical output. It is written to a temporary directory beside OUTDIR and swapped in at
the end; an existing OUTDIR is replaced only if an earlier build made it.

A first version's public pages say "First version" and show no release summary: the summary
of a baseline (``redline init``) is a note for maintainers, kept in the repository's changelog.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import Markup

from redline.compare.html_view import Sides
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
    combined_feed,
    feed_entry,
    identity,
    policy_feed,
    render_feed,
)
from redline.publish.filters import markdown_to_html, nest_headings, unlink_unreachable
from redline.publish.links import site_base
from redline.publish.redline_page import css_string, redline_fragment
from redline.publish.site_files import Writer, check_outdir, finalise_modes, staging_dir, swap
from redline.publish.templates import Templates

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo
    from redline.history.tags import Release

__all__ = ["SITE_MARKER", "SiteReport", "build_site", "collect"]

_MARKER_TEXT = "Built by `redline site`. The whole directory is replaced on every build.\n"
DEFAULT_SITE_NAME = "Policies"
#: The public summary of every first version (the tag's own summary stays in the repository).
FIRST_VERSION_SUMMARY = "First version."
IN_FORCE, UPCOMING, REPLACED = "in-force", "upcoming", "replaced"


@dataclass(frozen=True)
class VersionPage:
    """One released version, what its pages show, and its status on the build day."""

    release: Release
    entry: ChangelogEntry
    diff: DiffResult | None
    source: str
    body: str
    source_name: str
    status: str = REPLACED

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
    #: The folder it is in ("Facebook"), when the policies are in more than one: several
    #: policies may have the same title.
    group: str = ""

    @property
    def slug(self) -> str:
        """The policy's slug (its directory in the site)."""
        return self.policy.slug

    @property
    def in_force(self) -> VersionPage | None:
        """The version in force on the build day (None before the first takes effect)."""
        return next((v for v in self.versions if v.status == IN_FORCE), None)

    @property
    def upcoming(self) -> tuple[VersionPage, ...]:
        """The versions that take effect after the build day, oldest first."""
        return tuple(v for v in self.versions if v.status == UPCOMING)


@dataclass(frozen=True)
class SiteReport:
    """What a build wrote."""

    outdir: Path
    policies: int
    versions: int
    files: int
    today: dt.date


def _statuses(releases: list[Release], today: dt.date) -> list[str]:
    """Each release's status on ``today``: the newest one in effect is in force."""
    effective = [r.version for r in releases if r.effective_date <= today]
    current = max(effective, default=None)
    return [
        IN_FORCE if r.version == current else UPCOMING if r.effective_date > today else REPLACED
        for r in releases
    ]


def _public(entry: ChangelogEntry) -> ChangelogEntry:
    """The entry as the public pages show it: a first version's summary is not shown."""
    if entry.previous_version is None:
        return replace(entry, summary=FIRST_VERSION_SUMMARY)
    return entry


def collect(repo: PolicyRepo, settings: Settings, today: dt.date) -> list[PolicyPages]:
    """Every policy that has releases, sorted by path, with its versions read from git and
    their status on ``today``."""
    collected = []
    for policy in repo.policies():
        releases = repo.releases(policy)
        if not releases:
            continue
        pages = []
        for release, status in zip(releases, _statuses(releases, today), strict=True):
            snapshot, document = repo.document(policy, release.tag)
            diff = release_diff(repo, policy, release)
            entry = entry_for_release(repo, policy, release, settings, diff=diff)
            pages.append(
                VersionPage(
                    release=release,
                    entry=_public(entry),
                    diff=diff,
                    source=snapshot.text,
                    body=document.source[len(document.front_matter_text) :],
                    source_name=PurePosixPath(snapshot.path).name,
                    status=status,
                )
            )
        title = pages[-1].entry.policy.title
        collected.append(PolicyPages(policy, title, tuple(pages)))
    return _grouped(collected)


def _grouped(policies: list[PolicyPages]) -> list[PolicyPages]:
    """``policies`` with their folder's name as their group, when they are in several."""
    folders = [PurePosixPath(pol.policy.path).parent for pol in policies]
    if len(set(folders)) < 2:
        return policies
    return [replace(pol, group=folder.name) for pol, folder in zip(policies, folders, strict=True)]


def _root_prefix(relpath: str) -> str:
    """The relative way back to the site root from the page at ``relpath``."""
    return "../" * (len(PurePosixPath(relpath).parts) - 1)


def _contact_href(contact: str) -> str:
    """A link for config ``contact``: ``mailto:`` for an address, else the URL itself."""
    return contact if "://" in contact or contact.startswith("mailto:") else f"mailto:{contact}"


def site_globals(settings: Settings, today: dt.date) -> dict[str, Any]:
    """What every page shows of the site: its name, organization, contact, subscribe link."""
    contact = settings.contact
    serve = settings.serve_url.rstrip("/") if settings.serve_url else None
    return {
        "title": settings.site_name or DEFAULT_SITE_NAME,
        "organization": settings.organization,
        "url": site_base(settings),
        "contact": contact,
        "contact_href": _contact_href(contact) if contact else None,
        "subscribe": f"{serve}/subscribe" if serve else None,
        "today": today,
    }


def _canonical(base: str | None, relpath: str) -> str | None:
    if not base:
        return None
    if not relpath.endswith("index.html"):
        return f"{base}/{quote(relpath)}"
    directory = str(PurePosixPath(relpath).parent)
    return f"{base}/" if directory == "." else f"{base}/{quote(directory)}/"


def build_site(
    repo: PolicyRepo, settings: Settings, outdir: Path, *, today: dt.date | None = None
) -> SiteReport:
    """Build the site into ``outdir`` (replacing an earlier build there), as of ``today``
    (default: the date of the repository's last commit)."""
    outdir = outdir.resolve()
    check_outdir(outdir)
    day = today or _head_time(repo).date()
    policies = collect(repo, settings, day)
    staging = staging_dir(outdir)
    try:
        build = _Build(
            repo,
            settings,
            Templates(settings),
            Writer(staging),
            site=site_globals(settings, day),
            ident=identity(repo, settings),
        )
        for pol in policies:
            build.policy(pol)
        build.home(policies)
        finalise_modes(staging)
        swap(staging, outdir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SiteReport(
        outdir=outdir,
        policies=len(policies),
        versions=sum(len(p.versions) for p in policies),
        files=build.writer.files,
        today=day,
    )


@dataclass
class _Build:
    """One build: its writer, and what every page shares; collects the combined feed."""

    repo: PolicyRepo
    settings: Settings
    templates: Templates
    writer: Writer
    site: dict[str, Any]
    ident: str
    entries: list[FeedEntry] = field(default_factory=list)

    @property
    def base(self) -> str | None:
        """The site's absolute URL (config ``site_url``), for canonical links and feeds."""
        return self.site["url"]

    def page(self, relpath: str, template: str, **context: Any) -> None:
        """Render ``template`` with the site's context into ``relpath``."""
        variables = {
            "site": self.site,
            "root": _root_prefix(relpath),
            "canonical": _canonical(self.base, relpath),
            **context,
        }
        limit = self.templates.page_limit
        self.writer.write(relpath, self.templates.render(template, variables, limit=limit))

    def version(self, pol: PolicyPages, version: VersionPage) -> FeedEntry:
        """The files of one version; returns its entry of the policy's feed."""
        release = version.release
        folder = f"{pol.slug}/{release.version}"
        context = {
            "policy": pol,
            "version": version,
            "entry": version.entry,
            "redline": self.redline(pol, version),
            "previous": release.previous_version,
            "next": _next_version(pol, release.version),
            "running_head": css_string(f"{pol.title}, version {release.version}"),
        }
        text = Markup(unlink_unreachable(nest_headings(markdown_to_html(version.body), top=3)))
        self.page(f"{folder}/index.html", "site/version.html.j2", text=text, **context)
        if context["redline"] is not None:
            self.page(f"{folder}/redline.html", "site/redline.html.j2", **context)
        self.writer.write(f"{folder}/{version.source_name}", version.source)
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

    def redline(self, pol: PolicyPages, version: VersionPage) -> Markup | None:
        """The redline of ``version`` against the one before, under an h2 (None for a first
        version); its sides are named by version and effective date."""
        if version.diff is None or version.release.previous_version is None:
            return None
        before = next(v for v in pol.versions if v.version == version.release.previous_version)
        sides = Sides(pol.title, self.side(before), self.side(version))
        return redline_fragment(version.diff, sides, heading_level=2)

    def side(self, version: VersionPage) -> str:
        """A version as readers know it: "Version 2 (effective March 1, 2024)"."""
        templates = self.templates
        effective = templates.format_date_in(version.release.effective_date, templates.locale)
        return f"Version {version.version} (effective {effective})"

    def policy(self, pol: PolicyPages) -> None:
        """The files of one policy: its versions, changelog, index page and feed."""
        policy_entries = [self.version(pol, version) for version in pol.versions]
        self.writer.write(
            f"{pol.slug}/changelog.md", _changelog_markdown(self.settings, self.templates, pol)
        )
        self.page(f"{pol.slug}/changelog/index.html", "site/changelog.html.j2", policy=pol)
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


def _changelog_markdown(settings: Settings, templates: Templates, pol: PolicyPages) -> str:
    """The policy's changelog as the Markdown file of its folder, linking versions relatively."""
    parts = [f"# Changelog: {pol.title}\n"]
    for v in reversed(pol.versions):
        has_redline = v.entry.previous_version is not None
        link = redline_link(settings, pol.slug, v.version, has_redline, relative=".")
        parts.append(render_entry(settings, replace(v.entry, link=link), templates))
    return "\n".join(parts)


def _head_time(repo: PolicyRepo) -> dt.datetime:
    if not repo.has_commits():
        return EPOCH
    return repo.git.commit_time("HEAD")
