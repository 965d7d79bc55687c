"""Each notice email's HTML part (notice, reminder, in-effect, as `redline preview-email
--kind all` writes it) in a real chromium at a phone's and a desktop's width: no horizontal
scroll, one h1, the links a reader needs, text of at least 16 px, a full-width button on the
phone; and valid HTML. Screenshots are saved for people to look at."""

from __future__ import annotations

import re

import pytest

from browser import (
    DESKTOP,
    PHONE,
    browser,
    computed,
    horizontal_overflow,
    screenshot,
    show,
    visible,
)
from email_world import SITE_URL, email_repo, preview
from html_check import heading_outline, html_problems

__all__ = ["browser"]


# The contrast ratio (WCAG 2) of each element's text colour on the first opaque background
# behind it; the lowest of the page.
CONTRAST = """
const rgb = c => c.match(/[\\d.]+/g).map(Number);
const lum = c => { const v = rgb(c).slice(0, 3).map(x => { x /= 255;
  return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
const back = e => { for (; e; e = e.parentElement) {
  const c = getComputedStyle(e).backgroundColor, parts = rgb(c);
  if (parts.length < 4 || parts[3] > 0) return c; } return "rgb(255,255,255)"; };
let lowest = 21;
for (const e of document.querySelectorAll("body *")) {
  if (!e.offsetWidth || ![...e.childNodes].some(n => n.nodeType === 3 && n.data.trim())) continue;
  const [a, b] = [lum(getComputedStyle(e).color), lum(back(e))].sort((x, y) => y - x);
  lowest = Math.min(lowest, (a + 0.05) / (b + 0.05));
}
return lowest;
"""


def lowest_contrast(driver) -> float:
    return float(driver.execute_script(CONTRAST))


@pytest.fixture
def emails(policy_repo, tag_release, tmp_path):
    return preview(email_repo(policy_repo, tag_release), tmp_path / "mail")


@pytest.mark.parametrize("kind", ["notice", "reminder", "in-effect"])
def test_each_email_reads_well_on_a_phone_and_a_desktop(browser, emails, kind):
    page = emails[kind]["html"]
    text = page.read_text(encoding="utf-8")
    assert html_problems(text) == [] and heading_outline(text) == []
    preheader = re.search(r'<div class="preheader"[^>]*>([^<]*)</div>', text)
    assert preheader and preheader.group(1).startswith("Section 2 (Data We Collect): new")
    for width in (PHONE, DESKTOP):
        show(browser, page.as_uri(), width=width)
        overflow = browser.execute_script(
            "const e = document.documentElement; return e.scrollWidth - e.clientWidth;"
        )
        assert overflow == 0
        assert len(visible(browser, "h1")) == 1
        hrefs = {a.get_attribute("href") for a in visible(browser, "a[href]")}
        assert f"{SITE_URL}/privacy-policy/2/#redline" in hrefs
        assert f"{SITE_URL}/privacy-policy/2/#text" in hrefs
        assert "mailto:privacy@northwind.example" in hrefs
        assert any("unsubscribe?token=PREVIEW-TOKEN" in href for href in hrefs)
        for element in visible(browser, "p, li, a, td"):
            assert float(computed(browser, element, "font-size").removesuffix("px")) >= 16
            assert "sans-serif" in computed(browser, element, "font-family")
        assert lowest_contrast(browser) >= 4.5  # WCAG AA for every text on its background
        assert browser.execute_script("return document.images.length") == 0  # images off: same
        (button,) = visible(browser, "a.button")
        card = visible(browser, "td.content")[0]
        full = button.size["width"] >= card.size["width"] - 2 * 18 - 1
        assert full == (width == PHONE)
        screenshot(browser, f"email-{kind}-{width}")


def test_a_long_link_in_what_changed_wraps_on_a_phone(browser, policy_repo, tag_release, tmp_path):
    from moved_world import POLICY

    repo = email_repo(policy_repo, tag_release)
    long_link = "https://commission.europa.eu/law?entry_point=" + "POLICY_SECTION%3A" * 8
    text = (repo.root / POLICY).read_text().replace("https://commission.europa.eu/law", long_link)
    repo.write(POLICY, text)
    repo.commit("A long link")
    tag_release(repo, "privacy-policy", 3, "2024-04-01", when="2024-03-01T09:00:00+00:00")
    page = preview(repo, tmp_path / "mail", version=3, today="2024-03-02")["notice"]["html"]
    assert long_link in page.read_text(encoding="utf-8")
    show(browser, page.as_uri(), width=PHONE)
    assert horizontal_overflow(browser) == 0
    screenshot(browser, "email-long-link-390")
