"""The browser helper itself works: a page is loaded, measured and photographed."""

from __future__ import annotations

from browser import PHONE, broken_links, browser, horizontal_overflow, screenshot, show
from html_check import heading_outline, html_problems

__all__ = ["browser"]


def test_browser_measures_overflow_and_links(browser, tmp_path):
    page = tmp_path / "index.html"
    page.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>t</title>'
        '</head><body><h1 id="top">T</h1><a href="#top">ok</a><a href="missing.html">x</a>'
        '<div style="width:900px">wide</div></body></html>'
    )
    show(browser, page.as_uri(), width=PHONE)
    assert horizontal_overflow(browser) > 400
    assert [link.rsplit("/", 1)[-1] for link in broken_links(browser)] == ["missing.html"]
    assert screenshot(browser, "smoke").stat().st_size > 1000
    assert html_problems(page.read_text()) == []
    assert heading_outline(page.read_text()) == []


def test_validator_reports_bad_nesting():
    assert html_problems("<!DOCTYPE html><html><head><title>t</title></head><body><p><div></p>")
    assert heading_outline("<h1>a</h1><h3>b</h3><h1>c</h1>")
