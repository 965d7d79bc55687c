"""Atom feeds (RFC 4287): one per policy and one for all policies, one entry per release.

Ids are ``urn:uuid:`` UUIDs derived (uuid5) from the site URL, or without one from the
repository's root commit, so they never change for the same release. Links are absolute
with config ``site_url`` and relative to the feed otherwise. The feed's ``updated`` is the
newest entry's publication time, so the same releases always give byte-identical feeds.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from redline.console import LOG
from redline.publish.links import site_base
from redline.publish.templates import Templates

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo
    from redline.publish.changelog import ChangelogEntry

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class FeedEntry:
    """One release in a feed."""

    id: str
    title: str
    url: str
    published: dt.datetime
    entry: ChangelogEntry


@dataclass(frozen=True)
class Feed:
    """A feed ready to render with ``feed.atom.j2``."""

    id: str
    title: str
    subtitle: str
    author: str
    self_url: str
    alternate_url: str
    updated: dt.datetime
    entries: tuple[FeedEntry, ...]

    def variables(self) -> dict[str, Any]:
        """The template context of ``feed.atom.j2``."""
        return {"feed": self, "entries": list(self.entries)}


def identity(repo: PolicyRepo, settings: Settings) -> str:
    """What feed ids are derived from: the site URL, else the repository's first commit."""
    base = site_base(settings)
    if base:
        return base
    if not repo.has_commits():
        return f"redline:{repo.root.name}"
    if repo.is_shallow():
        LOG.warning(
            "shallow clone and no site_url: feed ids are derived from the oldest commit "
            "present and will change once the full history is fetched; set site_url"
        )
    roots = repo.git.read("rev-list", "--max-parents=0", "HEAD").split()
    return f"redline:git:{min(roots)}"


def urn(name: str, ident: str) -> str:
    """A stable ``urn:uuid:`` for ``name`` within ``ident``."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{ident}#{name}')}"


def author_name(repo: PolicyRepo, settings: Settings) -> str:
    """Who publishes the policies: config ``organization``, else ``site_name``, else the
    origin repository's name, else the directory's."""
    if settings.organization or settings.site_name:
        return str(settings.organization or settings.site_name)
    url = repo.git.remote_url("origin")
    if url is None:
        return repo.root.name
    name = re.sub(r"\.git$", "", url.rstrip("/")).rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return name or repo.root.name


def _published(entry: ChangelogEntry, when: dt.datetime | None) -> dt.datetime:
    if when is not None:
        return when
    return dt.datetime.combine(entry.published, dt.time(), tzinfo=dt.UTC)


def feed_entry(
    entry: ChangelogEntry, *, ident: str, url: str, published: dt.datetime | None = None
) -> FeedEntry:
    """The feed entry of one changelog entry; ``url`` is its page (absolute or relative)."""
    title = (
        f"{entry.policy.title} version {entry.version}, effective "
        f"{entry.effective_date.isoformat()}"
    )
    return FeedEntry(
        id=urn(f"{entry.policy.slug}/v{entry.version}", ident),
        title=title,
        url=url,
        published=_published(entry, published),
        entry=entry,
    )


def make_feed(
    *,
    ident: str,
    name: str,
    title: str,
    subtitle: str,
    author: str,
    self_url: str,
    alternate_url: str,
    entries: list[FeedEntry],
    fallback_updated: dt.datetime = EPOCH,
) -> Feed:
    """A feed of ``entries``, newest first; ``updated`` is the newest publication."""
    ordered = sorted(entries, key=lambda e: (e.published, e.entry.policy.slug, e.entry.version))
    ordered.reverse()
    updated = ordered[0].published if ordered else fallback_updated
    return Feed(
        id=urn(name, ident),
        title=title,
        subtitle=subtitle,
        author=author,
        self_url=self_url,
        alternate_url=alternate_url,
        updated=updated,
        entries=tuple(ordered),
    )


def render_feed(settings: Settings, feed: Feed, templates: Templates | None = None) -> str:
    """The Atom XML of ``feed`` (template ``feed.atom.j2``)."""
    templates = templates or Templates(settings)
    return templates.render("feed.atom.j2", feed.variables(), limit=templates.page_limit)


def policy_feed(
    repo: PolicyRepo,
    policy: Policy,
    settings: Settings,
    entries: list[FeedEntry],
    *,
    title: str,
    fallback_updated: dt.datetime = EPOCH,
) -> Feed:
    """The feed of one policy, published at ``{site}/{slug}/feed.atom``."""
    base = site_base(settings)
    prefix = f"{base}/{quote(policy.slug)}/" if base else ""
    return make_feed(
        ident=identity(repo, settings),
        name=f"{policy.slug}/",
        title=f"{title}: versions",
        subtitle=f"Every published version of {title}, with its effective date.",
        author=author_name(repo, settings),
        self_url=f"{prefix}feed.atom",
        alternate_url=prefix or "./",
        entries=entries,
        fallback_updated=fallback_updated,
    )


def combined_feed(
    repo: PolicyRepo,
    settings: Settings,
    entries: list[FeedEntry],
    *,
    fallback_updated: dt.datetime = EPOCH,
) -> Feed:
    """The feed of all policies, published at ``{site}/feed.atom``.

    ``fallback_updated`` is its ``updated`` while there are no releases at all.
    """
    base = site_base(settings)
    prefix = f"{base}/" if base else ""
    author = author_name(repo, settings)
    return make_feed(
        ident=identity(repo, settings),
        name="/",
        title=f"{author}: policy versions",
        subtitle="Every published version of every policy, with its effective date.",
        author=author,
        self_url=f"{prefix}feed.atom",
        alternate_url=prefix or "./",
        entries=entries,
        fallback_updated=fallback_updated,
    )
