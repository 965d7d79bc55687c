"""The site on real policies: three policies of the PGA bundle, each released in its text of
January 2025 and of today's bundle, built, validated, and looked at in a real browser at a
phone's width. Skips when the bundle is absent."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from browser import PHONE, broken_links, browser, horizontal_overflow, show, visible
from html_check import heading_outline, html_problems
from site_world import build

__all__ = ["browser"]

BUNDLE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "pga-versions.bundle"
#: A commit of the bundle from January 2025: the first release of each policy below.
EARLIER = "e4da65dd"
POLICIES = ("Bluesky/Privacy Policy.md", "Reddit/Privacy Policy.md", "X/Terms of Service.md")

pytestmark = pytest.mark.skipif(not BUNDLE.is_file(), reason=f"needs the PGA bundle at {BUNDLE}")


@pytest.fixture(scope="module")
def real_site(tmp_path_factory) -> Path:
    from conftest import GitPolicyRepo

    root = tmp_path_factory.mktemp("real-site")
    clone = root / "bundle"
    subprocess.run(["git", "clone", "-q", str(BUNDLE), str(clone)], check=True)
    repo = GitPolicyRepo(root / "repo")
    repo.write("redline.toml", 'policies_dir = "."\nsite_name = "Policy archive"\n')
    for version, rev, effective in ((1, EARLIER, "2025-01-17"), (2, "HEAD", "2026-06-01")):
        for path in POLICIES:
            text = subprocess.run(
                ["git", "show", f"{rev}:{path}"], cwd=clone, capture_output=True, check=True
            ).stdout
            repo.write(path, text)
        repo.commit(f"Version {version}")
        for path in POLICIES:
            slug = path.removesuffix(".md").lower().replace(" ", "-")
            _tag(repo, slug, version, effective)
    build(repo, root / "site")
    return root / "site"


def _tag(repo, slug: str, version: int, effective: str) -> None:
    from redline.history.tags import format_release_message

    message = format_release_message(
        {
            "Policy": slug,
            "Version": version,
            "Effective-Date": effective,
            "Classification": "material",
            "Previous-Version": version - 1 if version > 1 else "none",
            "Notify": "no",
            "Short-Notice": "no",
        }
    )
    repo.tag(f"{slug}/v{version}", message)


def test_every_real_page_is_valid(real_site):
    pages = sorted(real_site.rglob("*.html"))
    assert (
        len(pages) == 1 + 3 * 5
    )  # the index; per policy its page, changelog, 2 versions, 1 redline
    found = {}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        found[page.relative_to(real_site).as_posix()] = html_problems(text) + heading_outline(text)
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_real_pages_fit_a_phone_and_every_link_resolves(browser, real_site):
    problems = {}
    for page in sorted(real_site.rglob("*.html")):
        show(browser, page.as_uri(), width=PHONE)  # the links are the same at every width
        found = {
            "overflow": horizontal_overflow(browser),
            "broken": broken_links(browser)[:3],
            "h1": len(visible(browser, "h1")),
        }
        if found != {"overflow": 0, "broken": [], "h1": 1}:
            problems[page.relative_to(real_site).as_posix()] = found
    assert problems == {}
