"""The static policy-history site: layout, stable URLs, escaping, determinism, the command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from redline.errors import InputError
from redline.publish.site import SITE_MARKER, build_site


def build(repo, outdir: Path, **overrides):
    from redline.history.repo import PolicyRepo

    settings = repo.settings(**overrides)
    return build_site(PolicyRepo(settings), settings, outdir)


def tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in {"href", "src"} and value:
                self.links.append(value)


def test_layout_and_stable_urls(released_repo, tmp_path):
    report = build(released_repo, tmp_path / "site")
    assert (report.policies, report.versions) == (2, 3)
    files = set(tree(tmp_path / "site"))
    expected = {
        "index.html",
        "feed.atom",
        "style.css",
        SITE_MARKER,
        "privacy-policy/index.html",
        "privacy-policy/feed.atom",
        "privacy-policy/changelog.md",
        "privacy-policy/changelog/index.html",
        "privacy-policy/1/index.html",
        "privacy-policy/1/privacy-policy.md",
        "privacy-policy/2/index.html",
        "privacy-policy/2/redline.html",
        "privacy-policy/2/privacy-policy.md",
        "terms-of-service/index.html",
        "terms-of-service/feed.atom",
        "terms-of-service/changelog.md",
        "terms-of-service/changelog/index.html",
        "terms-of-service/1/index.html",
        "terms-of-service/1/terms-of-service.md",
    }
    assert files == expected
    assert report.files == len(expected)


def test_version_page_has_redline_and_full_text(released_repo, tmp_path):
    site = tmp_path / "site"
    build(released_repo, site)
    page = (site / "privacy-policy/2/index.html").read_text()
    assert "<title>Privacy Policy, version 2</title>" in page
    assert "March 1, 2024" in page
    assert '<a href="../1/index.html">Version 1</a>' in page
    assert "Redline: Privacy Policy" in page
    assert re.search(r"<ins>(?:(?!</ins>).)*and in Switzerland(?:(?!</ins>).)*</ins>", page)
    # the full text, rendered, its headings below the page's own h2 "Full text of version 2"
    assert "<h3>Privacy Policy</h3>" in page and "<h4>7. Transfer of Data</h4>" in page
    assert "Every service provider signs a data processing agreement with us." in page
    first = (site / "privacy-policy/1/index.html").read_text()
    assert "Redline against" not in first
    assert "This is the first published version of the policy." in first
    assert '<a href="../2/index.html">Version 2</a>' in first  # replaced by
    source = (site / "privacy-policy/2/privacy-policy.md").read_text()
    assert source == (released_repo.root / "policies/privacy-policy.md").read_text()
    changelog = (site / "privacy-policy/changelog.md").read_text()
    assert changelog.index("## Version 2") < changelog.index("## Version 1")
    # each changelog page links the versions relative to where it lies
    assert "(2/index.html#redline)" in changelog and "(1/index.html)" in changelog
    page = (site / "privacy-policy/changelog/index.html").read_text()
    assert 'href="../2/index.html#redline"' in page


def test_every_relative_link_resolves(released_repo, tmp_path):
    site = tmp_path / "site"
    build(released_repo, site)
    checked = 0
    for page in site.rglob("*.html"):
        parser = Links()
        parser.feed(page.read_text())
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("#"):
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if link.endswith("/"):
                target = target / "index.html"
            assert target.is_file(), f"{page.relative_to(site)}: broken link {link}"
            assert site.resolve() in target.parents
            checked += 1
    assert checked > 20


def test_build_is_deterministic(released_repo, tmp_path):
    build(released_repo, tmp_path / "one", site_url="https://policies.example.com")
    build(released_repo, tmp_path / "two", site_url="https://policies.example.com")
    first, second = tree(tmp_path / "one"), tree(tmp_path / "two")
    assert list(first) == list(second)
    for name in first:
        assert first[name] == second[name], name
    # Rebuilding in place replaces the earlier build and gives the same bytes again.
    build(released_repo, tmp_path / "one", site_url="https://policies.example.com")
    assert tree(tmp_path / "one") == second


def test_script_in_policy_text_is_escaped(released_repo, tmp_path, tag_release):
    path = released_repo.root / "policies/terms-of-service.md"
    path.write_text(
        path.read_text().replace("# Terms of Service", "# Terms of Service <script>x()</script>")
        + "\nUploads with <script>alert(1)</script> or <img src=x onerror=alert(2)> are removed.\n"
        + "\nSee [our rules](javascript:alert(3)) and <a href='javascript:alert(4)'>more</a>.\n"
    )
    released_repo.commit("Uploads")
    tag_release(
        released_repo,
        "terms-of-service",
        2,
        "2024-04-01",
        summary="Uploads with <script>alert(1)</script> are removed.",
    )
    site = tmp_path / "site"
    build(released_repo, site)
    for name in tree(site):
        if name.endswith((".html", ".atom")):
            text = (site / name).read_text()
            assert "<script" not in text, name
            assert "<img" not in text, name
            assert 'href="javascript:' not in text.lower(), name
    page = (site / "terms-of-service/2/index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page


def test_outdir_must_be_new_empty_or_an_earlier_build(released_repo, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="is not empty and was not built by redline"):
        build(released_repo, busy)
    assert (busy / "notes.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    build(released_repo, empty)
    assert (empty / "index.html").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_failed_build_keeps_the_previous_site(released_repo, tmp_path):
    site = tmp_path / "site"
    build(released_repo, site)
    before = tree(site)
    released_repo.write("templates/site/version.html.j2", "{{ nope }}")
    with pytest.raises(Exception, match=r"templates/site/version\.html\.j2:1"):
        build(released_repo, site)
    assert tree(site) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_site_command(released_repo, tmp_path):
    outdir = tmp_path / "public"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "redline",
            "--repo",
            str(released_repo.root),
            "site",
            str(outdir),
            "--site-url",
            "https://policies.example.com",
            "--today",
            "2024-02-15",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=released_repo.env(),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["versions"] == 3
    assert report["site_url"] == "https://policies.example.com"
    assert report["today"] == "2024-02-15"
    page = (outdir / "privacy-policy/2/index.html").read_text()
    assert '<link rel="canonical" href="https://policies.example.com/privacy-policy/2/">' in page
    assert re.search(r'href="\.\./\.\./style\.css"', page)
    # on 2024-02-15 version 2 (effective 2024-03-01) is upcoming, version 1 in force
    assert "Upcoming (takes effect March 1, 2024)" in page and "as of February 15, 2024" in page
