"""Atom feeds, parsed with feedparser and checked against RFC 4287's rules."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urljoin

import feedparser
import pytest

from redline.publish.site import build_site

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")


def build(repo, outdir, **overrides):
    from redline.history.repo import PolicyRepo

    settings = repo.settings(**overrides)
    build_site(PolicyRepo(settings), settings, outdir)
    return outdir


def check_atom_rules(path) -> ET.Element:
    """RFC 4287 section 4: the elements a feed and its entries must (not) have."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{name}")) == 1, name
    assert RFC3339.match(root.findtext(f"{ATOM}updated"))
    feed_has_author = root.find(f"{ATOM}author/{ATOM}name") is not None
    self_links = [e for e in root.findall(f"{ATOM}link") if e.get("rel") == "self"]
    assert len(self_links) == 1
    ids = set()
    for entry in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        for name in ("updated", "published"):
            assert RFC3339.match(entry.findtext(f"{ATOM}{name}"))
        assert feed_has_author or entry.find(f"{ATOM}author") is not None
        alternates = [
            e for e in entry.findall(f"{ATOM}link") if e.get("rel", "alternate") == "alternate"
        ]
        assert len(alternates) == 1  # no content with src, so an alternate link is required
        assert alternates[0].get("href")
        entry_id = entry.findtext(f"{ATOM}id")
        assert re.match(r"^urn:uuid:[0-9a-f-]{36}$", entry_id)
        assert entry_id not in ids
        ids.add(entry_id)
        assert entry.find(f"{ATOM}content").get("type") == "html"
    return root


def test_policy_and_combined_feeds_follow_the_atom_rules(released_repo, tmp_path):
    site = build(released_repo, tmp_path / "site", site_url="https://policies.example.com/")
    for path in (
        site / "feed.atom",
        site / "privacy-policy/feed.atom",
        site / "terms-of-service/feed.atom",
    ):
        check_atom_rules(path)

    parsed = feedparser.parse((site / "privacy-policy/feed.atom").read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    feed = parsed.feed
    assert feed.id.startswith("urn:uuid:")
    assert feed.title == "Privacy Policy: versions"
    assert feed.updated == "2024-01-31T09:00:00Z"
    links = {link.rel: link.href for link in feed.links}
    assert links["self"] == "https://policies.example.com/privacy-policy/feed.atom"
    assert links["alternate"] == "https://policies.example.com/privacy-policy/"

    entries = parsed.entries
    assert [e.title for e in entries] == [
        "Privacy Policy version 2, effective 2024-03-01",
        "Privacy Policy version 1, effective 2024-01-15",
    ]
    newest = entries[0]
    assert newest.link == "https://policies.example.com/privacy-policy/2/"
    assert newest.updated == "2024-01-31T09:00:00Z"
    assert newest.published == "2024-01-31T09:00:00Z"
    assert newest.summary == (
        'Section 7 (Transfer of Data): added "and in Switzerland"; '
        'Section 13 (Service Providers): new paragraph "Every service provider signs a data '
        'processing agreement …".'
    )
    assert "March 1, 2024" in newest.content[0].value
    assert newest.tags[0].term == "material"

    combined = feedparser.parse((site / "feed.atom").read_bytes())
    assert combined.bozo == 0
    assert len(combined.entries) == 3
    assert combined.entries[0].id == newest.id  # the same release has the same id everywhere
    assert {e.link for e in combined.entries} == {
        "https://policies.example.com/privacy-policy/2/",
        "https://policies.example.com/privacy-policy/1/",
        "https://policies.example.com/terms-of-service/1/",
    }


def test_ids_are_stable_and_links_relative_without_site_url(released_repo, tmp_path):
    first = build(released_repo, tmp_path / "a")
    second = build(released_repo, tmp_path / "b")
    check_atom_rules(first / "feed.atom")
    assert (first / "feed.atom").read_bytes() == (second / "feed.atom").read_bytes()

    root = ET.parse(first / "privacy-policy/feed.atom").getroot()
    entry = root.find(f"{ATOM}entry")
    href = entry.find(f"{ATOM}link").get("href")
    assert href == "2/"
    # Relative links resolve against the feed's own location to the version page.
    assert urljoin("https://host/site/privacy-policy/feed.atom", href).endswith(
        "/site/privacy-policy/2/"
    )
    assert (first / "privacy-policy" / href / "index.html").is_file()
    combined = ET.parse(first / "feed.atom").getroot()
    for link in combined.iter(f"{ATOM}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href") != "./":
            assert (first / link.get("href") / "index.html").is_file()

    with_url = build(released_repo, tmp_path / "c", site_url="https://policies.example.com")
    other = ET.parse(with_url / "privacy-policy/feed.atom").getroot()
    assert other.findtext(f"{ATOM}id") != root.findtext(f"{ATOM}id")


def test_script_in_summary_is_escaped_in_the_feed(released_repo, tmp_path, tag_release):
    path = released_repo.root / "policies/terms-of-service.md"
    path.write_text(path.read_text() + "\nNo <script>alert(1)</script> in uploads.\n")
    released_repo.commit("Uploads")
    tag_release(
        released_repo,
        "terms-of-service",
        2,
        "2024-04-01",
        summary="Uploads may not contain <script>alert(1)</script>.",
        when="2024-02-02T10:00:00+00:00",
    )
    site = build(released_repo, tmp_path / "site")
    raw = (site / "terms-of-service/feed.atom").read_text()
    assert "<script" not in raw
    root = check_atom_rules(site / "terms-of-service/feed.atom")
    entry = root.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}summary") == "Uploads may not contain <script>alert(1)</script>."
    content = entry.findtext(f"{ATOM}content")  # the HTML, once the XML is parsed
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script" not in content
    parsed = feedparser.parse(raw.encode())
    assert parsed.bozo == 0
    assert parsed.feed.updated == "2024-02-02T10:00:00Z"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/northwind/kite-policies.git", "kite-policies"),
        ("git@github.com:northwind/kite-policies.git", "kite-policies"),
    ],
)
def test_feed_author_is_the_repository_name(released_repo, tmp_path, url, expected):
    released_repo.git("remote", "add", "origin", url)
    site = build(released_repo, tmp_path / "site")
    root = ET.parse(site / "feed.atom").getroot()
    assert root.findtext(f"{ATOM}author/{ATOM}name") == expected
