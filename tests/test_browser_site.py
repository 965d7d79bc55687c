"""The site in a real browser (headless chromium) at a phone's and a desktop's width: no
horizontal scroll, every link resolves, one h1, the tables become cards on a phone, the
redline's marks are visible, and the print stylesheet drops the chrome. Screenshots of every
page are saved (see tests/browser.py) for people to look at."""

from __future__ import annotations

import pytest

from browser import (
    DESKTOP,
    PHONE,
    broken_links,
    browser,
    computed,
    horizontal_overflow,
    screenshot,
    show,
    visible,
)
from site_world import build, site_repo

__all__ = ["browser"]

PAGES = (
    "index.html",
    "privacy-policy/index.html",
    "privacy-policy/1/index.html",
    "privacy-policy/2/index.html",
    "privacy-policy/3/index.html",
    "privacy-policy/2/redline.html",
    "privacy-policy/changelog/index.html",
    "terms-of-service/index.html",
    "terms-of-service/1/index.html",
)


@pytest.fixture
def site(policy_repo, tag_release, tmp_path):
    build(site_repo(policy_repo, tag_release), tmp_path / "site")
    return tmp_path / "site"


def test_every_page_fits_its_links_resolve_one_h1(browser, site):
    problems = {}
    for page in PAGES:
        for width in (PHONE, DESKTOP):
            show(browser, (site / page).as_uri(), width=width)
            found = {
                "overflow": horizontal_overflow(browser),
                "broken": broken_links(browser),
                "h1": len(visible(browser, "h1")),
            }
            if found != {"overflow": 0, "broken": [], "h1": 1}:
                problems[f"{page} at {width}"] = found
            name = page.removesuffix("index.html").removesuffix(".html").strip("/")
            screenshot(browser, f"site-{name.replace('/', '-') or 'home'}-{width}")
    assert problems == {}


def test_tables_become_cards_on_a_phone_and_badges_say_what_applies(browser, site):
    show(browser, (site / "privacy-policy/index.html").as_uri(), width=PHONE)
    row = visible(browser, "table.versions tbody tr")[0]
    assert computed(browser, row, "display") in {"block", "grid"}
    assert not visible(browser, "table.versions thead th")
    label = browser.execute_script(
        "return getComputedStyle(document.querySelector('table.versions td'), '::before').content;"
    )
    assert label == '"Status"'
    show(browser, (site / "privacy-policy/index.html").as_uri(), width=DESKTOP)
    row = visible(browser, "table.versions tbody tr")[0]
    assert computed(browser, row, "display") == "table-row"
    show(browser, (site / "index.html").as_uri(), width=PHONE)
    text = browser.find_element("css selector", "main").text
    assert "Version 2, effective March 1, 2024" in text
    assert "Upcoming (takes effect January 1, 2027)" in text
    assert "Status as of December 2, 2026." in text
    show(browser, (site / "privacy-policy/1/index.html").as_uri(), width=PHONE)
    text = browser.find_element("css selector", "main").text
    assert "No longer in force" in text and "First version" in text
    assert "privacy-policy" not in text and "/v1" not in text  # no slugs, no refs


def test_redline_marks_are_visible_and_print_drops_the_chrome(browser, site):
    for width in (PHONE, DESKTOP):
        show(browser, (site / "privacy-policy/2/index.html").as_uri(), width=width)
        for mark, line in (("del", "line-through"), ("ins", "underline")):
            shown = visible(browser, f".redline {mark}")
            assert shown, (mark, width)
            assert line in computed(browser, shown[0], "text-decoration-line"), (mark, width)
        assert visible(browser, 'a[href^="#moved-"]'), width

    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not visible(browser, ".site-footer, .crumbs, .page-links, .versions-nav")
        facts = visible(browser, "dl.facts")[0]
        assert computed(browser, facts, "color") == "rgb(0, 0, 0)"
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        browser.get("about:blank")


def test_a_printed_version_page_has_its_running_head_page_numbers_and_no_navigation(browser, site):
    show(browser, (site / "privacy-policy/2/index.html").as_uri())
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not visible(browser, ".crumbs") and not visible(browser, ".page-links")
        assert not visible(browser, "#change-list") and not visible(browser, ".stepper")
        run = browser.find_element("css selector", ".unchanged-text")  # collapsed, printed
        assert browser.execute_script("return arguments[0].getBoundingClientRect().height", run)
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        browser.get("about:blank")
    page = (site / "privacy-policy/2/index.html").read_text()
    head = '@top-left { content: "Privacy Policy\\00002c  version 2"'  # a CSS string
    assert (
        head in page and 'counter(page) " of " counter(pages)' in (site / "style.css").read_text()
    )
