"""Every generated HTML page validates: each site page, a standalone `redline diff --format
html`, and the HTML part of every email `redline preview-email --kind all` writes. Strict
HTML5 parsing (html5lib) and the heading outline (one h1, no level skipped)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from html_check import heading_outline, html_problems
from site_world import build, redline, site_repo

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def world(policy_repo, tag_release):
    return site_repo(policy_repo, tag_release)


def problems_of(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return html_problems(text) + heading_outline(text)


def test_every_site_page_is_valid(world, tmp_path):
    site = tmp_path / "site"
    build(world, site)
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 11  # 3 index pages, 2 changelogs, 4 versions, 2 redlines
    found = {page.relative_to(site).as_posix(): problems_of(page) for page in pages}
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_standalone_redline_is_valid(world, tmp_path):
    out = tmp_path / "redline.html"
    redline(
        world,
        "diff",
        "privacy-policy",
        "privacy-policy/v1",
        "privacy-policy/v2",
        "--format",
        "html",
        "-o",
        str(out),
    )
    assert "<del" in out.read_text()
    assert problems_of(out) == []


def test_every_email_html_is_valid(world, tmp_path):
    outdir = tmp_path / "mail"
    redline(
        world,
        "preview-email",
        "privacy-policy",
        "--version",
        "2",
        "--kind",
        "all",
        "-o",
        str(outdir),
    )
    pages = sorted(outdir.rglob("*.html"))
    assert len(pages) == 3  # notice, reminder, in-effect
    found = {page.name: problems_of(page) for page in pages}
    assert {name: problems for name, problems in found.items() if problems} == {}
