"""What the site tells readers: the site's name (never the git remote's), the version in force
and the upcoming one as of the build day, a first version without its baseline note, relative
links even with site_url, one raw-HTML rule, the contact and subscribe links, folder groups;
and the filters that keep its outline and links whole."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from redline.publish.filters import nest_headings, unlink_unreachable
from site_world import TODAY, build, site_repo


@pytest.fixture
def world(policy_repo, tag_release):
    return site_repo(policy_repo, tag_release)


def read(site, name: str) -> str:
    return (site / name).read_text(encoding="utf-8")


def test_the_site_is_named_from_config_never_from_the_remote(released_repo, tmp_path):
    released_repo.git("remote", "add", "origin", "git@github.com:acme/origin.git")
    build(released_repo, tmp_path / "site")
    home = read(tmp_path / "site", "index.html")
    assert "<title>Policies</title>" in home and "<h1>Policies</h1>" in home
    assert "origin" not in home
    assert "Get notified" not in home and "mailto:" not in home  # neither is configured


def test_config_names_the_site_its_organization_contact_and_subscribe_page(world, tmp_path):
    build(world, tmp_path / "site")
    page = read(tmp_path / "site", "privacy-policy/2/index.html")
    assert "<title>Privacy Policy, version 2 – Northwind Kites Ltd.</title>" in page
    assert '<a class="site-title" href="../../index.html">Northwind policies</a>' in page
    assert "<p>© Northwind Kites Ltd.</p>" in page
    assert '<a href="mailto:privacy@northwind.example">privacy@northwind.example</a>' in page
    assert page.count('href="https://notify.northwind.example/subscribe"') == 2  # header, footer
    feed = read(tmp_path / "site", "feed.atom")
    assert "<title>Northwind Kites Ltd.: policy versions</title>" in feed
    assert "<name>Northwind Kites Ltd.</name>" in feed


def test_in_force_and_upcoming_as_of_the_build_day(world, tmp_path):
    build(world, tmp_path / "site")
    home = read(tmp_path / "site", "index.html")
    assert "Status as of December 2, 2026." in home
    row = home[home.index("Privacy Policy</a>") : home.index("</tr>", home.index("Privacy Policy"))]
    assert 'href="privacy-policy/2/index.html">Version 2</a>, effective March 1, 2024' in row
    assert 'class="badge upcoming">Upcoming (takes effect January 1, 2027)' in row
    versions = read(tmp_path / "site", "privacy-policy/index.html")
    assert [m for m in re.findall(r'class="badge ([a-z-]+)"', versions)] == [
        "upcoming",
        "in-force",
        "replaced",
    ]
    # On the day version 3 takes effect, it is in force and version 2 is not.
    build(world, tmp_path / "later", today=dt.date(2027, 1, 1))
    later = read(tmp_path / "later", "privacy-policy/index.html")
    assert re.findall(r'class="badge ([a-z-]+)"', later) == ["in-force", "replaced", "replaced"]
    assert "None announced" in read(tmp_path / "later", "index.html")


def test_the_same_day_gives_the_same_bytes_and_the_default_day_is_the_last_commit(world, tmp_path):
    one = build(world, tmp_path / "one", site_url="https://p.example.com", today=None)
    head = world.git("log", "-1", "--format=%cs").strip()
    assert one.today == dt.date.fromisoformat(head)  # the last commit's day, not the clock
    build(world, tmp_path / "two", site_url="https://p.example.com", today=one.today)
    for page in (tmp_path / "one").rglob("*"):
        if page.is_file():
            twin = tmp_path / "two" / page.relative_to(tmp_path / "one")
            assert twin.read_bytes() == page.read_bytes(), page.name
    assert one.today != TODAY


def test_a_first_version_says_so_and_hides_the_baseline_note(policy_repo, tmp_path):
    from redline.history.repo import PolicyRepo
    from redline.jobs.init import BASELINE_SUMMARY, apply_init, plan_init

    repo = policy_repo("baseline")
    repo.write("policies/privacy-policy.md", "# Privacy Policy\n\nEffective date: 2024-01-15\n")
    repo.commit("Privacy policy", when="2024-06-01T09:00:00+00:00")
    settings = repo.settings()
    apply_init(PolicyRepo(settings), plan_init(PolicyRepo(settings), settings), settings)
    site = tmp_path / "site"
    build(repo, site, today=TODAY)
    assert BASELINE_SUMMARY.split(":")[0] not in "".join(
        page.read_text() for page in site.rglob("*") if page.is_file()
    )
    page = read(site, "privacy-policy/1/index.html")
    assert "First version" in page and "Material change" not in page
    assert "<dt>Effective</dt><dd><strong>January 15, 2024</strong></dd>" in page
    assert "<dt>Published</dt>" not in page  # recorded later than the date it states


def test_changelog_pages_link_relatively_even_with_a_site_url(world, tmp_path):
    build(world, tmp_path / "site", site_url="https://policies.example.com")
    for name in ("privacy-policy/changelog/index.html", "privacy-policy/changelog.md"):
        text = read(tmp_path / "site", name)
        text = re.sub(r'<link rel="canonical" href="[^"]*">', "", text)
        assert "https://policies.example.com" not in text, name
    page = read(tmp_path / "site", "privacy-policy/changelog/index.html")
    assert 'href="../3/index.html#redline"' in page and 'href="../1/index.html"' in page
    assert "(3/index.html#redline)" in read(tmp_path / "site", "privacy-policy/changelog.md")
    feed = read(tmp_path / "site", "feed.atom")
    assert "https://policies.example.com/privacy-policy/3/" in feed  # feeds stay absolute


def test_raw_html_in_policy_text_is_shown_as_text(world, tmp_path, tag_release):
    path = world.root / "policies/terms-of-service.md"
    path.write_text(path.read_text() + "\nWe <b>never</b> sell data <script>x()</script>.\n")
    world.commit("Raw HTML")
    tag_release(world, "terms-of-service", 2, "2024-06-01")
    build(world, tmp_path / "site")
    page = read(tmp_path / "site", "terms-of-service/2/index.html")
    text = page[page.index('<article class="policy-text">') :]
    assert "We &lt;b&gt;never&lt;/b&gt; sell data &lt;script&gt;x()&lt;/script&gt;." in text
    assert "<b>" not in page and "<script" not in page


def test_policies_in_several_folders_are_grouped_by_folder(world, tmp_path, tag_release):
    world.write(
        "policies/kiteboard-pro/privacy-policy.md", "# Privacy Policy\n\nEffective 2024-01-15\n"
    )
    world.commit("Kiteboard Pro")
    tag_release(world, "kiteboard-pro/privacy-policy", 1, "2024-01-15")
    build(world, tmp_path / "site")
    home = read(tmp_path / "site", "index.html")
    assert '<h2 id="kiteboard-pro">kiteboard-pro</h2>' in home and '<h2 id="policies">' in home
    page = read(tmp_path / "site", "kiteboard-pro/privacy-policy/1/index.html")
    assert "<title>Privacy Policy (kiteboard-pro), version 1" in page
    assert '<a href="../../../index.html#kiteboard-pro">kiteboard-pro</a>' in page


def test_policy_headings_nest_below_the_page_without_skipping_a_level():
    html = "<h1>T</h1><h3>a</h3><h2 id=x>b</h2><h5>c</h5><h1>d</h1>"
    assert nest_headings(html, top=3) == ("<h3>T</h3><h4>a</h4><h4 id=x>b</h4><h5>c</h5><h3>d</h3>")
    assert nest_headings("<h2>a</h2><h6>b</h6>", top=5) == "<h5>a</h5><h6>b</h6>"


def test_links_a_reader_cannot_follow_become_their_text():
    html = (
        '<p><a href="#gone">see <em>this</em></a>, <a href="#here">that</a>, <a href="/support">'
        'help</a>, <a href="https://e.com/x" title="t">web</a>, <a href="mailto:a@e.com">mail</a>'
        '<img src="logo.png?w=1" alt="Our &quot;logo&quot;" />'
        '<img src="https://e.com/i.png" alt="i" />'
        '</p><h3 id="here">'
    )
    assert unlink_unreachable(html) == (
        '<p>see <em>this</em>, <a href="#here">that</a>, help, <a href="https://e.com/x" '
        'title="t">web</a>, <a href="mailto:a@e.com">mail</a>Our &quot;logo&quot;'
        '<img src="https://e.com/i.png" alt="i" /></p><h3 id="here">'
    )
