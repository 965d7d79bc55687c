"""`redline serve` against hostile or broken input, under a real uvicorn process: bodies over
the size limit, a database that fails mid-request, malformed forms and wrong methods, form
data that is not UTF-8, and HTML in policy titles (the repository is untrusted)."""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse

import pytest
import sqlalchemy as sa

from html_check import html_problems
from redline.ledger.store import Store
from serve_world import CONFIG, HOST, Answer, Client, free_port, serve_env, served
from smtp_servers import running_server
from test_serve import KNOWN, _caught, _link, one_click, token_of

PAGE_TITLE = "Terms & <script>alert(1)</script> of Service"


@pytest.fixture
def app(released_repo, database_url):
    """The released repository served over ``database_url``, with one subscriber and an
    SMTP server: (served, store, database_url)."""
    released_repo.write("redline.toml", CONFIG)
    with Store.open(database_url) as store, running_server() as smtp:
        store.upsert_subscriber(KNOWN, channel="import")
        with served(released_repo.root, serve_env(database_url, smtp.port)) as served_app:
            yield served_app, store, database_url


def _refusal(answer: Answer, status: int) -> str:
    assert answer.status == status, answer.text
    assert "Traceback" not in answer.text
    assert html_problems(answer.text) == []
    return answer.text


def test_a_body_over_the_limit_is_refused_before_it_is_read(app):
    served_app, store, _ = app
    big = b"List-Unsubscribe=One-Click&x=" + b"a" * (2 * 1024 * 1024)
    path = f"/unsubscribe?token={urllib.parse.quote(token_of(store))}"
    text = _refusal(served_app.client().request("POST", path, body=big), 413)
    assert "too large" in text
    conn = http.client.HTTPConnection(HOST, served_app.port, timeout=10)  # no Content-Length
    chunks = (b"a" * 65536 for _ in range(64))
    conn.request("POST", path, body=chunks, encode_chunked=True)
    assert conn.getresponse().status == 413
    conn.close()
    assert store.get_subscriber(KNOWN).active
    assert one_click(served_app.client(), token_of(store)).status == 200  # small ones pass


def test_a_failing_database_is_a_503_that_names_no_database(app):
    served_app, store, url = app
    token = token_of(store)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE subscription_events RENAME TO moved_away"))
    try:
        answer = one_click(served_app.client(), token)
        text = _refusal(answer, 503)
        assert "try again" in text.lower()
        assert "database" not in text.lower() and "redline.db" not in text
        assert "retry-after" in answer.headers
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE moved_away RENAME TO subscription_events"))
        engine.dispose()
    assert store.get_subscriber(KNOWN).active
    assert one_click(served_app.client(), token).status == 200


def test_a_failing_database_writes_no_traceback_to_the_terminal(released_repo, tmp_path):
    released_repo.write("redline.toml", CONFIG)
    url, log = f"sqlite:///{(tmp_path / 'health.db').as_posix()}", tmp_path / "serve.log"
    with served(released_repo.root, serve_env(url), log=log) as served_app:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE redline_meta RENAME TO moved_away"))
        engine.dispose()
        health = served_app.client().get("/healthz")
        assert (health.status, health.text) == (503, "unavailable")
    written = log.read_text(encoding="utf-8")
    assert "health check: database" in written
    assert "Traceback" not in written


def test_malformed_forms_and_wrong_methods_get_pages_that_say_so(app):
    served_app, _, _ = app
    client = served_app.client()
    broken = client.request(
        "POST", "/subscribe", body=b"garbage", headers={"Content-Type": "multipart/form-data"}
    )
    assert "could not be read" in _refusal(broken, 400)
    wrong = client.request("PUT", "/subscribe", body=b"x")
    assert "no such page" not in _refusal(wrong, 405)
    assert "no such page" in _refusal(client.get("/nowhere"), 404)


def test_form_data_that_is_not_utf8_is_refused(app):
    served_app, store, _ = app
    client = served_app.client()
    page = client.get("/subscribe")
    csrf = urllib.parse.quote(page.field("csrf"))
    body = f"csrf={csrf}&email=%FF%FEreader@example.com&policy=privacy-policy".encode()
    text = _refusal(client.request("POST", "/subscribe", body=body), 400)
    assert "UTF-8" in text
    assert [c.action for c in store.iter_changes()] == ["subscribed"]


def test_a_refused_address_is_told_in_one_sentence(app):
    served_app, _, _ = app
    client = served_app.client()
    page = client.get("/subscribe")
    form = {"csrf": page.field("csrf"), "email": "a@example.com, b@example.com"}
    text = _refusal(client.post("/subscribe", form), 400)
    error = re.search(r'<p class="error" role="alert">([^<]*)</p>', text)
    assert error is not None
    assert error.group(1).startswith("Not a valid email address: ")
    assert error.group(1).endswith("SPACE.")


def test_sign_up_closes_for_everyone_while_the_smtp_server_is_down(released_repo, tmp_path):
    released_repo.write("redline.toml", CONFIG)
    url = f"sqlite:///{(tmp_path / 'down.db').as_posix()}"
    with served(released_repo.root, serve_env(url, free_port())) as served_app:
        client = served_app.client()
        page = client.get("/subscribe")
        form = {
            "csrf": page.field("csrf"),
            "email": "first@example.com",
            "policy": "privacy-policy",
        }
        assert client.post("/subscribe", form).status == 200  # answered before it is sent
        deadline = time.monotonic() + 10
        while "not available" not in client.get("/subscribe").text:
            assert time.monotonic() < deadline, "sign-up stayed open"
            time.sleep(0.05)
        closed = client.post("/subscribe", {**form, "email": "second@example.com"})
        assert "try again" in _refusal(closed, 503)
        assert closed.headers["retry-after"] == "60"
    with Store.open(url) as store:
        assert list(store.iter_changes()) == []  # no confirmation was sent, none recorded


def test_the_confirmation_link_ignores_the_host_header(released_repo, tmp_path):
    released_repo.write("redline.toml", CONFIG)  # no serve_url
    url = f"sqlite:///{(tmp_path / 'host.db').as_posix()}"
    with running_server() as smtp, served(released_repo.root, serve_env(url, smtp.port)) as app:
        client = app.client()
        evil = {"Host": "evil.example"}
        page = client.request("GET", "/subscribe", headers=evil)
        form = {
            "csrf": page.field("csrf"),
            "email": "victim@example.com",
            "policy": "privacy-policy",
        }
        assert client.request("POST", "/subscribe", form, headers=evil).status == 200
        link = _link(_caught(smtp.handler, "victim@example.com"))
    assert link.startswith(f"http://{HOST}:{app.port}/confirm?token="), link


def test_a_refused_form_says_to_open_the_page_again(app):
    served_app, _, _ = app
    client = served_app.client()
    client.get("/subscribe")  # the cookie
    for csrf in ("", "tampered", client.get("/subscribe").field("csrf")[:-2]):
        form = {"csrf": csrf, "email": "reader@example.com", "policy": "privacy-policy"}
        assert "open the page again" in _refusal(client.post("/subscribe", form), 403)


def test_one_address_gets_at_most_three_confirmations_an_hour(released_repo, tmp_path):
    released_repo.write("redline.toml", CONFIG)
    url = f"sqlite:///{(tmp_path / 'flood.db').as_posix()}"
    with running_server() as smtp, served(released_repo.root, serve_env(url, smtp.port)) as app:
        client = app.client()
        answers = []
        for email in ["victim@example.com"] * 5 + ["other@example.com"]:
            page = client.get("/subscribe")
            form = {"csrf": page.field("csrf"), "email": email, "policy": "privacy-policy"}
            answers.append(client.post("/subscribe", form))
        _caught(smtp.handler, "other@example.com")
        time.sleep(0.3)
        caught = [m for m in list(smtp.handler.messages) if "victim@example.com" in m.rcpt_tos]
    assert len({(answer.status, answer.body) for answer in answers}) == 1  # all alike
    assert len(caught) == 3


def test_policy_titles_are_escaped_in_every_page(released_repo, tag_release, tmp_path):
    terms = released_repo.root / "policies" / "terms-of-service.md"
    text = terms.read_text(encoding="utf-8").split("\n", 1)[1]
    released_repo.write("policies/terms-of-service.md", f"# {PAGE_TITLE}\n{text}")
    released_repo.commit("A title with markup")
    tag_release(released_repo, "terms-of-service", 2, "2024-06-01")
    released_repo.write("redline.toml", CONFIG)
    url = f"sqlite:///{(tmp_path / 'titles.db').as_posix()}"
    with running_server() as smtp, served(released_repo.root, serve_env(url, smtp.port)) as app:
        page = Client(app.port).get("/subscribe")
    assert page.status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>" not in page.text
    assert html_problems(page.text) == []


def test_forwarded_headers_from_an_untrusted_address_are_ignored(app):
    served_app, _, _ = app
    statuses = []
    for index in range(25):  # serve_rate_limit is 20 by default
        conn = http.client.HTTPConnection(
            HOST, served_app.port, timeout=10, source_address=("127.0.0.2", 0)
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-For": f"10.0.0.{index}",
        }
        conn.request("POST", "/unsubscribe?token=bad", body=b"a=b", headers=headers)
        answer = conn.getresponse()
        statuses.append(answer.status)
        conn.close()
    assert statuses[-1] == 429
    assert answer.getheader("Retry-After") == "60"
