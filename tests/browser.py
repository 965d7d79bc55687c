"""A real browser for page tests: Debian's chromium, driven by selenium through chromium-driver.

Use the ``browser`` fixture (import it into a test module: ``from browser import browser``)::

    def test_page(browser, tmp_path):
        show(browser, page.as_uri(), width=390)
        assert horizontal_overflow(browser) == 0
        screenshot(browser, "site-index-390")

Without chromium and chromedriver the tests skip with the reason; with
``REDLINE_REQUIRE_BROWSER=1`` (set by ``.ci/run``) they fail instead. Screenshots go to
``$REDLINE_SCREENSHOTS`` when set, else to one temporary directory per test session, which the
session prints at its end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

#: Viewport widths every page is checked at: a phone and a desktop.
PHONE, DESKTOP = 390, 1280
_HEIGHT = 900
_screenshot_dir: Path | None = None


def _binaries() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless chromium for the session (skips, or in CI fails, without one)."""
    found = _binaries()
    if found is None:
        reason = "needs Debian's chromium and chromium-driver (apt-get install chromium-driver)"
        if os.environ.get("REDLINE_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-color-profile=srgb",
        f"--window-size={DESKTOP},{_HEIGHT}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        if _screenshot_dir is not None:
            print(f"\nbrowser screenshots: {_screenshot_dir}")


def show(driver: object, url: str, *, width: int = DESKTOP) -> None:
    """Load ``url`` in a viewport ``width`` CSS pixels wide (a phone's when narrow)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": _HEIGHT, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.get(url)


def horizontal_overflow(driver: object) -> int:
    """CSS pixels the page is wider than its viewport (0: no horizontal scroll)."""
    return int(
        driver.execute_script(
            "const e = document.documentElement;"
            "return Math.max(e.scrollWidth, document.body.scrollWidth) - e.clientWidth;"
        )
    )


def visible(driver: object, css: str) -> list[object]:
    """The elements matching ``css`` that are rendered with a size (not hidden)."""
    from selenium.webdriver.common.by import By

    return [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]


def computed(driver: object, element: object, prop: str) -> str:
    """The computed value of CSS property ``prop`` of ``element``."""
    return str(
        driver.execute_script(
            "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1]);", element, prop
        )
    )


def broken_links(driver: object) -> list[str]:
    """Links of the loaded ``file:`` page to a missing file or to a missing anchor.

    Links to other schemes (https:, mailto:) are not followed; an empty or ``about:`` link
    is broken.
    """
    hrefs = driver.execute_script(
        "return Array.from(document.querySelectorAll('a[href]'), a => a.href);"
    )
    here = urlsplit(driver.current_url).path
    return [href for href in hrefs if not _resolves(driver, here, href)]


def _resolves(driver: object, here: str, href: str) -> bool:
    parts = urlsplit(href)
    if not href or parts.scheme == "about":
        return False
    if parts.scheme != "file":
        return True
    target = Path(unquote(parts.path))
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return False
    fragment = unquote(parts.fragment)
    if not fragment:
        return True
    if parts.path == here:
        return bool(
            driver.execute_script(
                "return document.getElementById(arguments[0]) !== null"
                " || document.getElementsByName(arguments[0]).length > 0;",
                fragment,
            )
        )
    text = target.read_text(encoding="utf-8", errors="replace")
    return f'id="{fragment}"' in text or f'name="{fragment}"' in text


def screenshot(driver: object, name: str) -> Path:
    """Save the whole page as ``NAME.png`` in the screenshot directory; return its path."""
    global _screenshot_dir
    if _screenshot_dir is None:
        chosen = os.environ.get("REDLINE_SCREENSHOTS")
        _screenshot_dir = (
            Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="redline-screens-"))
        )
        _screenshot_dir.mkdir(parents=True, exist_ok=True)
    width = int(driver.execute_script("return document.documentElement.clientWidth;"))
    height = int(driver.execute_script("return document.documentElement.scrollHeight;"))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": width,
            "height": min(height, 16000),
            "deviceScaleFactor": 1,
            "mobile": width < 600,
        },
    )
    path = _screenshot_dir / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": _HEIGHT, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    return path
