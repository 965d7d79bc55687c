"""`redline serve` under a real uvicorn process on loopback, on SQLite and PostgreSQL.

One-click unsubscribe with the exact RFC 8058 body, pages that change nothing on GET,
refused tokens, double opt-in with the confirmation caught by aiosmtpd, the rate limit, CSRF
refusals, no enumeration, and the security headers.
"""

from __future__ import annotations

import hashlib
import time
import urllib.parse
from email.message import EmailMessage

import pytest
from itsdangerous import TimestampSigner, URLSafeSerializer, URLSafeTimedSerializer

from html_check import html_problems
from redline.env import Environment
from redline.ledger.store import Store
from redline.ledger.subscribers import make_token
from redline.serve.tokens import Signer, Signup
from serve_world import CONFIG, SECRET, Answer, Client, serve_env, served
from smtp_servers import running_server

KNOWN = "Known.Reader@example.com"
LIMIT = 6
ONE_CLICK = b"List-Unsubscribe=One-Click"
SECURITY = {
    "content-security-policy": "frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


@pytest.fixture
def world(released_repo, database_url):
    """The released repository served over ``database_url``, with one subscriber and an
    aiosmtpd server for the confirmation emails: (served, store, smtp handler)."""
    released_repo.write("redline.toml", CONFIG + f"serve_rate_limit = {LIMIT}\n")
    with Store.open(database_url) as store, running_server() as smtp:
        store.upsert_subscriber(KNOWN, channel="import")
        with served(released_repo.root, serve_env(database_url, smtp.port)) as app:
            yield app, store, smtp.handler


def token_of(store: Store, email: str = KNOWN) -> str:
    subscriber = store.get_subscriber(email)
    assert subscriber is not None
    return make_token(subscriber.email, subscriber.id, env=Environment({"REDLINE_SECRET": SECRET}))


def one_click(client: Client, token: str) -> Answer:
    """POST exactly what a mailbox provider sends (RFC 8058 section 3.2)."""
    return client.request("POST", f"/unsubscribe?token={urllib.parse.quote(token)}", body=ONE_CLICK)


def assert_secure(answer: Answer) -> None:
    for name, value in SECURITY.items():
        assert value in answer.headers.get(name, ""), name


def test_one_click_unsubscribes_at_once_and_is_idempotent(world):
    app, store, _ = world
    client = app.client()
    first = one_click(client, token_of(store))
    assert (first.status, first.text) == (200, "unsubscribed")
    assert_secure(first)
    assert not store.get_subscriber(KNOWN).active
    again = one_click(client, token_of(store))
    assert again.status == 200
    changes = [(c.action, c.channel) for c in store.iter_changes(KNOWN)]
    assert changes == [("subscribed", "import"), ("unsubscribed", "one-click")]


def test_one_click_accepts_a_multipart_body(world):
    app, store, _ = world
    client = app.client()
    boundary = "redline-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        f"One-Click\r\n--{boundary}--\r\n"
    ).encode()
    path = f"/unsubscribe?token={urllib.parse.quote(token_of(store))}"
    content_type = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    answer = client.request("POST", path, body=body, headers=content_type)
    assert (answer.status, answer.text) == (200, "unsubscribed")
    assert not store.get_subscriber(KNOWN).active


def test_tokens_of_the_first_format_still_unsubscribe(world):
    app, store, _ = world
    legacy = URLSafeSerializer(
        SECRET, salt="redline.unsubscribe.v1", signer_kwargs={"digest_method": hashlib.sha256}
    ).dumps(KNOWN.lower())
    assert one_click(app.client(), legacy).status == 200
    assert not store.get_subscriber(KNOWN).active


def test_get_shows_pages_and_changes_nothing(world):
    app, store, _ = world
    client = app.client()
    token = urllib.parse.quote(token_of(store))
    for path in (f"/unsubscribe?token={token}", f"/preferences?token={token}", "/subscribe"):
        page = client.get(path)
        assert page.status == 200, path
        assert html_problems(page.text) == [], path
        assert '<form method="post"' in page.text
        assert_secure(page)
    assert store.get_subscriber(KNOWN).active
    assert [c.action for c in store.iter_changes(KNOWN)] == ["subscribed"]
    health = client.get("/healthz")
    assert (health.status, health.text) == (200, "ok")
    assert_secure(health)
    missing = client.get("/nowhere")
    assert missing.status == 404
    assert_secure(missing)


def _expired_confirm_token() -> str:
    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 49 * 3600

    return URLSafeTimedSerializer(
        SECRET,
        salt="redline.serve.confirm",
        signer=LongAgo,
        signer_kwargs={"digest_method": hashlib.sha256},
    ).dumps({"e": "late@example.com", "p": None, "l": None})


def test_tampered_expired_and_wrong_purpose_tokens_get_a_400_page(world):
    app, store, _ = world
    client = app.client()
    good = token_of(store)
    tampered = good[:-3] + ("AAA" if good[-3:] != "AAA" else "BBB")
    signer = Signer(Environment({"REDLINE_SECRET": SECRET}))
    confirm = signer.confirm_token(Signup("new@example.com", None, None))
    refused = [
        client.get(f"/unsubscribe?token={tampered}"),
        client.post(f"/unsubscribe?token={tampered}", {"List-Unsubscribe": "One-Click"}),
        client.get(f"/preferences?token={tampered}"),
        client.get(f"/unsubscribe?token={confirm}"),  # a confirmation token is not for this
        client.get(f"/confirm?token={urllib.parse.quote(good)}"),  # nor this one for that
        client.get(f"/confirm?token={_expired_confirm_token()}"),
        client.get("/unsubscribe"),
    ]
    for answer in refused:
        assert answer.status == 400, answer.text
        assert "Traceback" not in answer.text and "Error" not in answer.text
        assert "Nothing was changed" in answer.text
        assert html_problems(answer.text) == []
        assert_secure(answer)
    assert "expired" in refused[5].text
    assert store.get_subscriber(KNOWN).active
    assert store.get_subscriber("new@example.com") is None
    assert store.get_subscriber("late@example.com") is None


def _subscribe(client: Client, email: str, **form: str | list[str]) -> Answer:
    page = client.get("/subscribe")
    fields = {"email": email, "csrf": page.field("csrf"), **form}
    return client.post("/subscribe", fields)


def _caught(handler, email: str, timeout: float = 10.0) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for received in list(handler.messages):
            if email in received.rcpt_tos:
                return received.parsed()
        time.sleep(0.05)
    raise AssertionError(f"no confirmation email to {email}")


def _link(message: EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()
    return next(line.strip() for line in text.splitlines() if "/confirm?token=" in line)


def test_double_opt_in_end_to_end(world):
    app, store, smtp = world
    client = app.client()
    answer = _subscribe(client, "New.Reader@example.com", policy=["privacy-policy"], locale="en")
    assert answer.status == 200 and "Check your inbox" in answer.text
    message = _caught(smtp, "New.Reader@example.com")
    assert message["Subject"].startswith("Confirm your subscription")
    assert html_problems(message.get_body(("html",)).get_content()) == []
    assert store.get_subscriber("new.reader@example.com") is None  # not before confirming
    path = urllib.parse.urlsplit(_link(message))
    page = client.get(f"{path.path}?{path.query}")
    assert page.status == 200 and "Confirm your subscription" in page.text
    assert store.get_subscriber("new.reader@example.com") is None  # a GET changes nothing
    form = {"token": page.field("token"), "csrf": page.field("csrf")}
    done = client.post("/confirm", form)
    assert done.status == 200 and "You are subscribed" in done.text
    subscriber = store.get_subscriber("new.reader@example.com")
    assert subscriber.active and subscriber.policies == ("privacy-policy",)
    changes = [(c.action, c.channel) for c in store.iter_changes("new.reader@example.com")]
    assert changes == [("confirmation-sent", "page"), ("subscribed", "confirm")]


def test_the_answer_is_the_same_for_known_and_unknown_addresses(world):
    app, _, smtp = world
    every = {"policy": ["privacy-policy", "terms-of-service"], "locale": "en"}
    known = _subscribe(app.client(), KNOWN, **every)
    unknown = _subscribe(app.client(), "stranger@example.com", **every)
    assert (known.status, known.body) == (unknown.status, unknown.body)
    assert known.status == 200
    _caught(smtp, KNOWN)
    _caught(smtp, "stranger@example.com")


def test_form_posts_are_rate_limited_per_client(world):
    app, store, _ = world
    client = app.client()
    page = client.get("/subscribe")
    form = {"email": "not an address", "csrf": page.field("csrf")}
    statuses = [client.post("/subscribe", form).status for _ in range(LIMIT)]
    assert statuses == [400] * LIMIT  # refused for the address, counted all the same
    over = client.post("/subscribe", form)
    assert over.status == 429 and "Traceback" not in over.text
    assert_secure(over)
    assert one_click(client, token_of(store)).status == 200  # a valid one-click still works


def test_forms_without_a_matching_csrf_token_are_refused(world):
    app, store, _ = world
    token = token_of(store)
    client = app.client()
    unsubscribe_page = client.get(f"/unsubscribe?token={urllib.parse.quote(token)}")
    csrf = unsubscribe_page.field("csrf")
    stranger = Client(app.port)  # no cookie: a form posted from another site
    refused = [
        client.post("/unsubscribe", {"token": token}),
        stranger.post("/unsubscribe", {"token": token, "csrf": csrf}),
        client.post("/preferences", {"token": token, "csrf": csrf, "action": "unsubscribe"}),
        client.post("/subscribe", {"email": "x@example.com", "csrf": csrf}),
    ]
    assert [answer.status for answer in refused] == [403] * 4
    assert all("Nothing was changed" in answer.text for answer in refused)
    assert store.get_subscriber(KNOWN).active
    accepted = client.post("/unsubscribe", {"token": token, "csrf": csrf})
    assert accepted.status == 200 and "You are unsubscribed" in accepted.text
    assert [c.channel for c in store.iter_changes(KNOWN)][-1] == "page"


def test_preferences_change_policies_and_unsubscribe_from_everything(world):
    app, store, _ = world
    client = app.client()
    token = urllib.parse.quote(token_of(store))
    page = client.get(f"/preferences?token={token}")
    form = {"token": page.field("token"), "csrf": page.field("csrf")}
    saved = client.post("/preferences", {**form, "policy": ["terms-of-service"], "action": "save"})
    assert saved.status == 200 and "Your preferences are saved" in saved.text
    assert store.get_subscriber(KNOWN).policies == ("terms-of-service",)
    none = client.post("/preferences", {**form, "action": "save"})
    assert none.status == 400 and "Choose at least one policy." in none.text
    gone = client.post("/preferences", {**form, "action": "unsubscribe"})
    assert gone.status == 200 and "You are unsubscribed" in gone.text
    assert not store.get_subscriber(KNOWN).active
    changes = [(c.action, c.channel) for c in store.iter_changes(KNOWN)]
    assert changes[1:] == [("changed", "page"), ("unsubscribed", "page")]
