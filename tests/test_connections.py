"""One run over several SMTP sessions: each recipient once, one rate cap, one error count,
fewer sessions when the server refuses some, and every end state checked in the ledger.

Real aiosmtpd servers on loopback; every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from redline.errors import exit_code_for
from redline.ledger.store import Store
from redline.mail.report import NotifyPaused
from redline.mail.send import open_transport
from smtp_servers import FaultHandler, RecordingHandler, SessionLimit, running_server
from test_notify import (
    POLICY,
    add_subscribers,
    cli_repo,  # noqa: F401  (a fixture)
    make_settings,
    notify,
    redline,
    smtp,
)


@pytest.fixture
def ledger(database_url: str):
    with Store.open(database_url) as store:
        yield store


def readers(count: int) -> list[str]:
    return [f"reader{i:04d}@example.com" for i in range(count)]


def assert_each_sent_once(
    store: Store, handler: RecordingHandler, emails: list[str], *, retried: bool = False
) -> None:
    """Every recipient got exactly one message, and the ledger says so, row by row (in one
    try, unless ``retried``: a session dropped at MAIL FROM retries on a new one)."""
    assert handler.per_recipient() == dict.fromkeys(emails, 1)
    received = {m.rcpt_tos[0]: m.parsed()["Message-ID"] for m in handler.messages}
    records = {r.email: r for r in store.iter_notices(POLICY, 2, "notice")}
    assert set(records) == set(emails)
    for email, record in records.items():
        assert (record.state, record.last_code) == ("sent", 250), email
        assert record.attempts == 1 or (retried and record.attempts == 2), email
        assert record.message_id == received[email]


def test_four_sessions_send_each_recipient_once(tmp_path, ledger):
    emails = readers(160)
    add_subscribers(ledger, emails)
    calls: list[tuple[int, int]] = []
    handler = RecordingHandler(data_delay=0.01)
    with running_server(handler) as server:
        report = notify(
            make_settings(tmp_path),
            ledger,
            smtp(server),
            connections=4,
            progress=lambda *call: calls.append(call),
        )
    assert (report.sent, report.failed, report.connections, report.connections_refused) == (
        160,
        0,
        4,
        0,
    )
    assert_each_sent_once(ledger, handler, emails)
    assert {m.connection for m in handler.messages} == {1, 2, 3, 4}
    # The bar counts the whole run, one message at a time.
    assert calls == [(i, 160) for i in range(161)]


def test_a_server_that_refuses_sessions_beyond_two_lowers_n(tmp_path, ledger):
    emails = readers(60)
    add_subscribers(ledger, emails)
    limit = SessionLimit(2)
    handler = RecordingHandler(data_delay=0.01)
    with running_server(handler, limit=limit) as server:
        report = notify(make_settings(tmp_path), ledger, smtp(server), connections=4)
    assert (report.sent, report.failed, report.deferred) == (60, 0, 0)
    assert (report.connections, report.connections_refused) == (4, 2)
    assert limit.peak == 2 and limit.refused == 2
    assert_each_sent_once(ledger, handler, emails)


class _Shrinking(FaultHandler):
    """Serves up to 4 sessions, each dropped after 5 messages; after 30 messages, only 1."""

    def __init__(self, limit: SessionLimit) -> None:
        super().__init__(drop_after=5, data_delay=0.005)
        self.limit = limit

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if self.count >= 30:
            self.limit.limit = 1
        return reply


def test_a_session_refused_when_reconnecting_hands_its_message_to_another(tmp_path, ledger):
    emails = readers(120)
    add_subscribers(ledger, emails)
    limit = SessionLimit(4)
    handler = _Shrinking(limit)
    with running_server(handler, limit=limit) as server:
        report = notify(make_settings(tmp_path), ledger, smtp(server), connections=4)
    assert (report.sent, report.failed, report.deferred) == (120, 0, 0)
    assert report.connections_refused >= 1 and limit.refused >= 1
    assert handler.drops >= 1
    assert_each_sent_once(ledger, handler, emails, retried=True)


def test_rate_is_one_cap_over_every_session(tmp_path, ledger):
    add_subscribers(ledger, readers(12))
    with running_server() as server:
        started = time.monotonic()
        report = notify(make_settings(tmp_path), ledger, smtp(server), connections=4, rate=40)
        elapsed = time.monotonic() - started
    assert report.sent == 12
    assert elapsed >= 11 / 40, "twelve messages at 40/s need eleven intervals, whatever N"


def test_failures_in_a_row_count_across_sessions(tmp_path, ledger):
    emails = readers(60)
    add_subscribers(ledger, emails)
    handler = FaultHandler(permanent={email: "550 5.1.1 no such user" for email in emails})
    settings = make_settings(tmp_path, max_send_errors=5)
    with running_server(handler) as server, pytest.raises(NotifyPaused) as caught:
        notify(settings, ledger, smtp(server), connections=4)
    assert exit_code_for(caught.value) == 4
    failed = caught.value.report.failed_permanent
    # Five in a row pause the run; the messages other sessions have in flight finish.
    assert 5 <= failed <= 5 + 3
    counts = ledger.ledger_counts(POLICY, 2, "notice")
    assert counts["failed-permanent"] == failed
    assert counts["pending"] == 60 - failed and counts["sending"] == 0


def test_a_refusal_not_about_the_recipient_pauses_every_session(tmp_path, ledger):
    emails = readers(40)
    add_subscribers(ledger, emails)
    handler = FaultHandler(require_auth=True)
    with running_server(handler) as server, pytest.raises(NotifyPaused, match="530"):
        notify(make_settings(tmp_path), ledger, smtp(server), connections=4)
    assert 1 <= handler.mail_attempts <= 4, "at most the one in flight on each session"
    counts = ledger.ledger_counts(POLICY, 2, "notice")
    assert counts["pending"] == 40 and counts["sending"] == 0
    assert counts["failed-permanent"] == counts["failed-temporary"] == 0


def test_outbox_over_several_sessions_writes_each_file_once(tmp_path, ledger):
    emails = readers(30)
    add_subscribers(ledger, emails)
    settings = make_settings(tmp_path)
    outbox = tmp_path / "outbox"
    report = notify(settings, ledger, open_transport(settings, outbox), connections=3)
    assert report.sent == 30 and len(list(outbox.glob("*.eml"))) == 30
    assert set(r.state for r in ledger.iter_notices(POLICY, 2, "notice")) == {"sent"}


def test_cli_connections_flag_and_config(cli_repo, database_url):  # noqa: F811
    handler = RecordingHandler(data_delay=0.01)
    with Store.open(database_url) as store:
        add_subscribers(store, readers(30))
    emails = ["ann@example.com", "ben@example.com", *readers(30)]
    config = cli_repo.root / "redline.toml"
    with running_server(handler) as server:
        args = ("notify", "privacy-policy", "--json")
        result = redline(cli_repo, database_url, *args, "--connections", "3", **server.env())
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert (summary["sent"], summary["connections"], summary["connections_refused"]) == (
            32,
            3,
            0,
        )
        config.write_text(config.read_text() + "smtp_connections = 2\n")
        result = redline(cli_repo, database_url, *args, "--kind", "reminder", **server.env())
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["connections"] == 2
    assert handler.per_recipient() == dict.fromkeys(emails, 2)  # one notice, one reminder
