"""`redline serve` in a real browser: subscribe, open the confirmation link from the email
aiosmtpd caught, confirm, change preferences, unsubscribe. Every page has one h1 and no
horizontal scroll at a phone's and a desktop's width, and is photographed at both."""

from __future__ import annotations

import time
import urllib.parse

import pytest

from browser import DESKTOP, PHONE, browser, horizontal_overflow, screenshot, show
from html_check import heading_outline
from redline.ledger.store import Store
from serve_world import CONFIG, serve_env, served
from smtp_servers import running_server

__all__ = ["browser"]


@pytest.fixture
def site(released_repo, tmp_path):
    """The released repository served over a SQLite file: (served, store, smtp handler)."""
    released_repo.write(
        "redline.toml",
        CONFIG + 'site_name = "Kiteboard policies"\norganization = "Kiteboard Ltd."\n'
        'contact = "legal@kiteboard.example"\n',
    )
    url = f"sqlite:///{(tmp_path / 'serve.db').as_posix()}"
    with (
        Store.open(url) as store,
        running_server() as smtp,
        served(released_repo.root, serve_env(url, smtp.port)) as app,
    ):
        yield app, store, smtp.handler


def look(driver, name: str) -> None:
    """Check the page on screen at both widths and photograph it (without reloading it:
    it may be the answer to a POST; test_serve validates the pages as served)."""
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(driver, 10).until(
        lambda d: (
            d.execute_script("return document.readyState") == "complete"
            and "</main>" in d.page_source
        )
    )
    assert heading_outline(driver.page_source) == [], name
    for width in (PHONE, DESKTOP):
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        assert horizontal_overflow(driver) == 0, f"{name} at {width}px"
        screenshot(driver, f"serve-{name}-{width}")


def click(driver, css: str, *, loads: bool = True) -> None:
    """Click the element ``css``; with ``loads``, wait until the next page is there."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, css).click()
    if loads:
        WebDriverWait(driver, 10).until(expected_conditions.staleness_of(page))


def confirmation_link(handler, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if handler.messages:
            text = handler.messages[0].parsed().get_body(("plain",)).get_content()
            return next(line.strip() for line in text.splitlines() if "/confirm?" in line)
        time.sleep(0.05)
    raise AssertionError("no confirmation email arrived")


def test_subscribe_confirm_change_preferences_unsubscribe(browser, site):
    from selenium.webdriver.common.by import By

    app, store, smtp = site
    show(browser, f"{app.url}/subscribe", width=PHONE)
    look(browser, "subscribe")
    browser.find_element(By.ID, "email").send_keys("Pat.Reader@example.com")
    click(browser, "button[type=submit]")
    assert "Check your inbox" in browser.page_source
    look(browser, "check-inbox")

    browser.get(confirmation_link(smtp))
    assert "Pat.Reader@example.com" in browser.page_source
    look(browser, "confirm")
    assert store.get_subscriber("pat.reader@example.com") is None
    click(browser, "button[type=submit]")
    assert "You are subscribed" in browser.page_source
    look(browser, "subscribed")
    assert store.get_subscriber("pat.reader@example.com").policies is None  # every policy

    click(browser, "main a")
    look(browser, "preferences")
    click(browser, "input[value=terms-of-service]", loads=False)
    click(browser, "button[value=save]")
    assert "Your preferences are saved" in browser.page_source
    look(browser, "preferences-saved")
    assert store.get_subscriber("pat.reader@example.com").policies == ("privacy-policy",)

    token = urllib.parse.parse_qs(urllib.parse.urlsplit(browser.current_url).query)
    token = token.get("token") or [browser.find_element(By.NAME, "token").get_attribute("value")]
    show(browser, f"{app.url}/unsubscribe?token={urllib.parse.quote(token[0])}", width=PHONE)
    look(browser, "unsubscribe")
    assert store.get_subscriber("pat.reader@example.com").active  # the GET changed nothing
    click(browser, "button[type=submit]")
    assert "You are unsubscribed" in browser.page_source
    look(browser, "unsubscribed")
    assert not store.get_subscriber("pat.reader@example.com").active
    channels = [c.channel for c in store.iter_changes("pat.reader@example.com")]
    assert channels == ["page", "confirm", "page", "page"]

    show(browser, f"{app.url}/confirm?token=not-a-token", width=PHONE)
    look(browser, "refused")
