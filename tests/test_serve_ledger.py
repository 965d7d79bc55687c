"""What `redline serve` relies on outside the web app: every subscription change recorded with
its channel (the CLI's too) and exported as proof; the unsubscribe link defaulting to the
served endpoint; the mailto: List-Unsubscribe beside it."""

from __future__ import annotations

import io
import json
from email import message_from_bytes
from email import policy as email_policy

import pytest

from conftest import redline_in_process
from redline.errors import ConfigError
from redline.ledger.proof import export_notices
from redline.ledger.store import Store
from redline.ledger.subscribers import unsubscribe_link
from redline.mail.send import open_transport
from serve_world import CONFIG, SECRET
from test_notify import POLICY, add_subscribers, make_settings, notify


def test_cli_import_and_unsubscribe_record_their_channels(released_repo, database_url):
    released_repo.write("redline.toml", CONFIG)
    released_repo.write("people.csv", "email,policies\nAna@example.com,privacy-policy\n")
    env = {"REDLINE_DATABASE_URL": database_url, "REDLINE_SECRET": SECRET}
    steps = [
        ("subscribers", "import", str(released_repo.root / "people.csv")),
        ("subscribers", "add", "ana@example.com", "--policy", "terms-of-service"),
        ("subscribers", "unsubscribe", "ANA@example.com"),
        ("subscribers", "add", "ana@example.com", "--resubscribe"),
        ("subscribers", "remove", "ana@example.com"),
    ]
    for args in steps:
        assert redline_in_process(released_repo, *args, **env).returncode == 0, args
    with Store.open(database_url) as store:
        changes = list(store.iter_changes("ana@example.com"))
    assert [(c.action, c.channel) for c in changes] == [
        ("subscribed", "import"),
        ("changed", "cli"),
        ("unsubscribed", "cli"),
        ("resubscribed", "cli"),
        ("removed", "cli"),
    ]
    assert changes[0].detail == {"policies": ["privacy-policy"], "locale": None}
    assert changes[1].detail == {"policies": ["terms-of-service"], "locale": None}
    assert all(c.email == "Ana@example.com" for c in changes)  # as first given
    assert [c.at for c in changes] == sorted(c.at for c in changes)


def test_the_proof_export_lists_the_subscription_changes(tmp_path, database_url):
    with Store.open(database_url) as store:
        add_subscribers(store, ["a@example.com", "b@example.com"])
        store.unsubscribe("b@example.com", channel="one-click")
        settings = make_settings(tmp_path)
        notify(settings, store, open_transport(settings, tmp_path / "outbox"))
        store.upsert_subscriber("stranger@example.com")  # no notice of this policy yet
        as_json, as_text = io.StringIO(), io.StringIO()
        export_notices(store, POLICY, fmt="json", out=as_json)
        export_notices(store, POLICY, fmt="text", out=as_text)
    data = json.loads(as_json.getvalue())
    changes = [(c["email"], c["action"], c["channel"]) for c in data["subscription_changes"]]
    assert changes == [
        ("a@example.com", "subscribed", "import"),
        ("b@example.com", "subscribed", "import"),
        ("b@example.com", "unsubscribed", "one-click"),
        ("stranger@example.com", "subscribed", "cli"),  # subscribed to every policy
    ]
    assert all(c["at"].endswith("Z") for c in data["subscription_changes"])
    text = as_text.getvalue()
    assert " unsubscribed one-click b@example.com\n" in text
    assert text.index("subscription changes") < text.index(f"{POLICY} v2 notice:")


def test_unsubscribe_links_default_to_the_served_endpoint(tmp_path):
    served = make_settings(tmp_path, unsubscribe_url=None, serve_url="https://news.example/p/")
    link = unsubscribe_link(served, "a@example.com", 7)
    assert link.startswith("https://news.example/p/unsubscribe?token=")
    own = make_settings(tmp_path, serve_url="https://news.example")
    assert unsubscribe_link(own, "a@example.com", 7).startswith("https://acme.example/unsubscribe")
    neither = make_settings(tmp_path, unsubscribe_url=None)
    assert unsubscribe_link(neither, "a@example.com", 7) is None


def _headers(tmp_path, store, **overrides):
    settings = make_settings(tmp_path, **overrides)
    outbox = tmp_path / "outbox"
    notify(settings, store, open_transport(settings, outbox))
    data = next(outbox.glob("*.eml")).read_bytes()
    return message_from_bytes(data, policy=email_policy.default)


def test_list_unsubscribe_offers_the_mailto_beside_the_one_click_url(tmp_path, database_url):
    with Store.open(database_url) as store:
        add_subscribers(store, ["reader@example.com"])
        message = _headers(
            tmp_path,
            store,
            unsubscribe_url=None,
            serve_url="https://news.example",
            unsubscribe_mailto="leave@acme.example",
        )
    value = str(message["List-Unsubscribe"])
    url, mailto = (part.strip() for part in value.split(","))
    assert url.startswith("<https://news.example/unsubscribe?token=") and url.endswith(">")
    assert mailto == "<mailto:leave@acme.example?subject=unsubscribe>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_bad_unsubscribe_mailto_is_a_config_error(tmp_path, database_url):
    with Store.open(database_url) as store, pytest.raises(ConfigError, match="unsubscribe_mailto"):
        add_subscribers(store, ["reader@example.com"])
        _headers(tmp_path, store, unsubscribe_mailto="leave@acme.example?cc=x@y.example")
