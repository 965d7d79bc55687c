"""Absolute links of a release: its site pages, its feed and the GitHub compare URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from redline.config import Settings


@dataclass(frozen=True)
class Links:
    """Absolute links for a release; each is None when it cannot be built."""

    redline: str | None = None
    text: str | None = None  # the full new text (the site page's #text; set by the notice)
    page: str | None = None
    compare: str | None = None
    policy: str | None = None
    feed: str | None = None


def site_base(settings: Settings) -> str | None:
    """``site_url`` without a trailing slash, or None when it is not configured."""
    return settings.site_url.rstrip("/") if settings.site_url else None


def version_url(settings: Settings, slug: str, version: int) -> str | None:
    """The stable site URL of one released version (``{site_url}/{slug}/{version}/``)."""
    base = site_base(settings)
    return f"{base}/{quote(slug)}/{version}/" if base else None


def policy_links(settings: Settings, slug: str, version: int, compare: str | None = None) -> Links:
    """The links of one version: site pages when ``site_url`` is set, and ``compare``."""
    base = site_base(settings)
    page = version_url(settings, slug, version)
    return Links(
        redline=page or compare,
        page=page,
        compare=compare,
        policy=f"{base}/{quote(slug)}/" if base else None,
        feed=f"{base}/{quote(slug)}/feed.atom" if base else None,
    )
