"""The standalone HTML redline in a real browser (chromium) at 390 and 1280 px: no horizontal
scroll, marks present and visible without colour, hidden words for screen readers, anchors
both ways, the legend, collapsed runs that open; screenshots saved for people to look at."""

from __future__ import annotations

import shutil
import subprocess

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
from redline_world import make_repo, redline

__all__ = ["browser"]


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> str:
    from conftest import GitPolicyRepo

    base = tmp_path_factory.mktemp("redline-browser")
    repo = make_repo(lambda: GitPolicyRepo(base / "repo"))
    out = base / "redline.html"
    result = redline(repo, "diff", "privacy", "HEAD~1", "HEAD", "--format", "html", "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out.as_uri()


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_the_redline_reads_at_both_widths(browser, url, width):
    show(browser, url, width=width)
    assert horizontal_overflow(browser) == 0
    assert broken_links(browser) == []
    deleted, inserted = visible(browser, "#full-text del"), visible(browser, "#full-text ins")
    assert deleted and inserted
    assert "line-through" in computed(browser, deleted[0], "text-decoration-line")
    assert "underline" in computed(browser, inserted[0], "text-decoration-line")
    assert computed(browser, inserted[0], "text-decoration-style") == "double"
    assert visible(browser, ".legend")
    assert screenshot(browser, f"redline-{width}").stat().st_size > 1000


def test_hidden_words_are_there_for_screen_readers_only(browser, url):
    show(browser, url)
    hidden = browser.find_elements("css selector", "del .visually-hidden")
    assert hidden and hidden[0].get_attribute("textContent") == "deleted: "
    assert hidden[0].size["width"] <= 1 and hidden[0].size["height"] <= 1
    assert computed(browser, hidden[0], "overflow") == "hidden"


def test_moved_anchors_go_both_ways(browser, url):
    show(browser, url)
    browser.find_element("css selector", 'a[href="#moved-2"]').click()
    assert browser.execute_script("return location.hash") == "#moved-2"
    browser.find_element("css selector", '#moved-2 a[href="#change-2"]').click()
    assert browser.execute_script("return location.hash") == "#change-2"
    assert (
        browser.execute_script(
            "return document.getElementById('change-2').getBoundingClientRect().top"
        )
        < 100
    )


def test_unchanged_runs_are_collapsed_and_open(browser, url):
    show(browser, url)
    details = browser.find_elements("css selector", "details.unchanged")
    assert details and not any(d.get_attribute("open") for d in details)
    assert not visible(browser, "details.unchanged .unchanged-text")
    details[2].find_element("css selector", "summary").click()
    assert details[2].get_attribute("open") is not None
    assert visible(browser, "details.unchanged .unchanged-text")


def test_print_shows_the_collapsed_runs_and_no_navigation(browser, url):
    show(browser, url)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        heights = browser.execute_script(
            "return [...document.querySelectorAll('.unchanged-text')].map(e => e.offsetHeight)"
        )
        assert heights and all(heights)  # selenium's is_displayed() calls them hidden
        assert not visible(browser, "nav") and not visible(browser, ".legend")
        assert not visible(browser, "#changes")
        assert screenshot(browser, "redline-print").stat().st_size > 1000
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        browser.get("about:blank")


def test_the_printed_pdf_has_a_running_head_and_page_numbers(browser, url, tmp_path):
    """chromium's own print-to-PDF (the browser fixture skips without chromium); the text of
    the pages is read with poppler's pdftotext where it is installed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    pdf = tmp_path / "redline.pdf"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            url,
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed: the PDF was not read")
    pages = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout.split("\f")
    assert "Page 1 of" in pages[0] and "Page 2 of" in pages[1]
    assert "Privacy Policy: as of January 2, 2024 → as of January 3, 2024" in pages[1]
    assert "Changes only" not in "".join(pages) and "Unchanged paragraph 8" in "".join(pages)


def test_changed_and_unchanged_headings_look_alike_and_the_status_is_a_label(browser, url):
    show(browser, url)
    changed = visible(browser, "#full-text .change > h2")
    unchanged = visible(browser, "#full-text p.block.heading")
    assert changed and unchanged
    for prop in ("font-family", "font-size", "font-weight"):
        assert computed(browser, changed[0], prop) == computed(browser, unchanged[0], prop), prop
    text_font = computed(browser, visible(browser, "#full-text .block.paragraph")[0], "font-family")
    status = visible(browser, "#full-text .change > .status")[0]
    assert computed(browser, status, "font-family") != text_font  # the UI font, not the text's
    assert computed(browser, status, "display") == "inline-block"
    assert computed(browser, changed[0], "font-family") != text_font


def test_printed_the_redline_shows_its_collapsed_runs_flush_and_no_navigation(browser, url):
    show(browser, url)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not visible(browser, "#change-list") and not visible(browser, ".stepper")
        # selenium calls what a closed <details> holds hidden, whatever prints: measure it
        run = browser.find_element("css selector", ".unchanged-text")
        assert browser.execute_script("return arguments[0].getBoundingClientRect().height", run)
        assert computed(browser, run, "padding-left") == "0px"
        assert not visible(browser, "details.unchanged > summary")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        browser.get("about:blank")
