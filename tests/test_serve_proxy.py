"""`redline serve` behind a reverse proxy: the client address and scheme come from the
X-Forwarded headers of a trusted proxy only, and the app answers under ``--root-path``."""

from __future__ import annotations

import pytest

from conftest import redline_in_process
from serve_world import CONFIG, Client, serve_env, served
from smtp_servers import running_server

LIMIT = 3


@pytest.fixture
def behind_proxy(released_repo, tmp_path):
    """The app as a proxy on loopback (trusted by default) reaches it, under /notices."""
    released_repo.write("redline.toml", CONFIG + f"serve_rate_limit = {LIMIT}\n")
    url = f"sqlite:///{(tmp_path / 'proxy.db').as_posix()}"
    with (
        running_server() as smtp,
        served(released_repo.root, serve_env(url, smtp.port), "--root-path", "/notices") as app,
    ):
        yield app


def _post_as(client: Client, address: str) -> int:
    """A sign-up POST (refused for its address, so nothing is mailed) from ``address``."""
    proxy = {"X-Forwarded-For": address, "X-Forwarded-Proto": "https"}
    page = client.request("GET", "/subscribe", headers=proxy)
    form = {"email": "not an address", "csrf": page.field("csrf")}
    return client.request("POST", "/subscribe", form, headers=proxy).status


def test_the_rate_limit_counts_the_forwarded_client_address(behind_proxy):
    client = behind_proxy.client()
    assert [_post_as(client, "203.0.113.7") for _ in range(LIMIT)] == [400] * LIMIT
    assert _post_as(client, "203.0.113.7") == 429
    assert _post_as(client, "198.51.100.2") == 400  # another client behind the same proxy


def test_the_csrf_cookie_is_secure_and_scoped_under_the_root_path(behind_proxy):
    client = behind_proxy.client()
    page = client.request("GET", "/subscribe", headers={"X-Forwarded-Proto": "https"})
    cookie = page.headers["set-cookie"]
    assert "Secure" in cookie and "Path=/notices" in cookie and "HttpOnly" in cookie
    plain = behind_proxy.client().request("GET", "/subscribe")
    assert "Secure" not in plain.headers["set-cookie"]


def test_serve_refuses_to_start_without_the_secret(released_repo, tmp_path):
    released_repo.write("redline.toml", CONFIG)
    url = f"sqlite:///{(tmp_path / 'x.db').as_posix()}"
    outcome = redline_in_process(
        released_repo, "serve", "--port", "1", REDLINE_SECRET="", REDLINE_DATABASE_URL=url
    )
    assert outcome.returncode == 2
    assert "REDLINE_SECRET is not set" in outcome.stderr
