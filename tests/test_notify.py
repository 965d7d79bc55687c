"""Sending notices through the ledger: faults, exactly-once, crashes, modes and privacy.

Every test runs on SQLite and, when configured, PostgreSQL (the ``database_url`` fixture),
against real aiosmtpd servers on loopback.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest

from conftest import with_env
from redline.config import Settings
from redline.env import Environment
from redline.errors import (
    ConfigError,
    DeliveryError,
    InputError,
    exit_code_for,
)
from redline.ledger.checks import SubscriberInput
from redline.ledger.store import Store
from redline.mail.outbox import OutboxTransport
from redline.mail.report import NotifyPaused, Requeue
from redline.mail.send import open_transport, send_notices
from redline.mail.settings import SmtpConfig
from redline.mail.transport import SmtpTransport
from redline.publish.notice import UNSUBSCRIBE_PLACEHOLDER, RenderedNotice
from smtp_servers import Authenticator, FaultHandler, running_server

POLICY = "privacy"
PASSWORD = "n0t-in-any-log"
SECRET = "unsubscribe-signing-secret-for-tests"
NOTICE = RenderedNotice(
    subject="Our privacy policy changes on 1 July 2025",
    text=f"Section 7 changed.\n\nUnsubscribe: {UNSUBSCRIBE_PLACEHOLDER}\n",
    html=f'<p>Section 7 changed.</p><p><a href="{UNSUBSCRIBE_PLACEHOLDER}">Unsubscribe</a></p>',
)


@pytest.fixture
def ledger(database_url: str):
    with Store.open(database_url) as store:
        yield store


def make_settings(tmp_path: Path, **overrides) -> Settings:
    values = {
        "repo_root": tmp_path,
        "from_address": "Acme Legal <legal@acme.example>",
        "unsubscribe_url": "https://acme.example/unsubscribe?token={token}",
        "max_send_errors": 20,
        "env": Environment({"REDLINE_SECRET": SECRET}),
    }
    values.update(overrides)
    return Settings(**values)


def smtp(server, **changes) -> SmtpTransport:
    values = {"host": server.host, "port": server.port, "tls": server.tls, "timeout": 10.0}
    values.update({"retries": 2, "backoff": 0.01, **changes})
    return SmtpTransport(SmtpConfig(**values))


def add_subscribers(store: Store, emails, policies=None) -> None:
    store.upsert_subscribers(
        [SubscriberInput(email, f"Reader {i}", None, policies) for i, email in enumerate(emails)]
    )


def notify(settings, store, transport, **options):
    return send_notices(
        settings, store, transport, NOTICE, policy=POLICY, version=2, kind="notice", **options
    )


def states(store: Store) -> dict[str, str]:
    return {record.email: record.state for record in store.iter_notices(POLICY, 2, "notice")}


# -- faults and exactly-once ------------------------------------------------------------------


def test_faults_end_states_and_every_good_subscriber_served_once(tmp_path, ledger, database_url):
    emails = [f"reader{i:02d}@example.com" for i in range(30)]
    add_subscribers(ledger, emails)
    add_subscribers(ledger, ["other-policy@example.com"], policies=["terms"])
    add_subscribers(ledger, ["left@example.com"])
    ledger.unsubscribe("left@example.com")
    handler = FaultHandler(
        drop_after=4,
        temporary={
            "reader03@example.com": ("451 4.3.0 greylisted", 2),
            "reader07@example.com": ("421 4.3.2 shutting down", 1),
            "reader09@example.com": ("451 4.2.2 mailbox full", 99),
        },
        permanent={
            "reader11@example.com": "550 5.1.1 <reader11@example.com>: no such user",
            "reader12@example.com": "553 5.1.3 bad address syntax",
        },
    )
    settings = make_settings(tmp_path)
    with running_server(handler) as server:
        report = notify(settings, ledger, smtp(server))
    good = set(emails) - {"reader09@example.com", "reader11@example.com", "reader12@example.com"}
    assert handler.per_recipient() == dict.fromkeys(good, 1)
    assert (report.sent, report.failed_temporary, report.failed_permanent) == (27, 1, 2)
    assert report.queued == 30 and report.recovered == 0
    end = states(ledger)
    assert end.pop("reader09@example.com") == "failed-temporary"
    assert end.pop("reader11@example.com") == "failed-permanent"
    assert end.pop("reader12@example.com") == "failed-permanent"
    assert set(end.values()) == {"sent"} and set(end) == good
    records = {r.email: r for r in ledger.iter_notices(POLICY, 2, "notice")}
    assert records["reader11@example.com"].last_code == 550
    assert "no such user" in records["reader11@example.com"].last_message
    assert records["reader09@example.com"].last_code == 451
    sent = records["reader00@example.com"]
    assert sent.last_code == 250 and sent.last_message.startswith("2.0.0 Ok: queued as Q")
    received = {m.rcpt_tos[0]: m.parsed() for m in handler.messages}
    assert sent.message_id == received["reader00@example.com"]["Message-ID"]
    assert report.ledger["sent"] == 27 and report.ledger["sending"] == 0

    # A later run retries only the failed-temporary row; nobody gets a second copy.
    with running_server() as server, Store.open(database_url) as later:
        again = notify(settings, later, smtp(server))
    assert server.handler.per_recipient() == {"reader09@example.com": 1}
    assert (again.sent, again.failed, again.already_sent, again.queued) == (1, 0, 27, 0)
    assert again.skipped == {
        "already notified in an earlier run": 27,
        "failed permanently in an earlier run": 2,
    }
    assert states(ledger)["reader09@example.com"] == "sent"
    assert states(ledger)["reader11@example.com"] == "failed-permanent"


def test_each_message_carries_the_recipients_own_unsubscribe_link(tmp_path, ledger):
    add_subscribers(ledger, ["ann@example.com", "ben@example.com"])
    with running_server() as server:
        notify(make_settings(tmp_path), ledger, smtp(server))
    links = {}
    for received in server.handler.messages:
        msg = received.parsed()
        header = msg["List-Unsubscribe"]
        assert header.startswith("<https://acme.example/unsubscribe?token=") and header.endswith(
            ">"
        )
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = header[1:-1]
        assert url in msg.get_body(("plain",)).get_content()
        assert url.replace("&", "&amp;") in msg.get_body(("html",)).get_content()
        links[received.rcpt_tos[0]] = url
    assert len(set(links.values())) == 2


def test_unsubscribed_after_queueing_is_cancelled_not_sent(tmp_path, ledger):
    add_subscribers(ledger, ["stay@example.com", "go@example.com", "switch@example.com"])
    ledger.queue_notices(POLICY, 2, "notice")
    ledger.unsubscribe("go@example.com")
    ledger.upsert_subscriber("switch@example.com", policies=["terms"])
    with running_server() as server:
        report = notify(make_settings(tmp_path), ledger, smtp(server))
    assert server.handler.per_recipient() == {"stay@example.com": 1}
    assert report.sent == 1 and report.cancelled == 2
    assert report.skipped == {"unsubscribed or no longer subscribed": 2}
    assert states(ledger) == {
        "stay@example.com": "sent",
        "go@example.com": "cancelled",
        "switch@example.com": "cancelled",
    }


@pytest.mark.parametrize("failure", ["bad-password", "untrusted-certificate"])
def test_auth_or_tls_failure_aborts_before_anything_is_sent(
    tmp_path, ledger, smtp_certificate, failure
):
    add_subscribers(ledger, ["ann@example.com", "ben@example.com"])
    auth = Authenticator("mailer", PASSWORD)
    with running_server(tls="starttls", certificate=smtp_certificate, authenticator=auth) as server:
        if failure == "bad-password":
            transport = smtp(server, user="mailer", password="wrong", ca_file=smtp_certificate.cert)
        else:
            transport = smtp(server, user="mailer", password=PASSWORD)
        with pytest.raises(DeliveryError) as caught:
            notify(make_settings(tmp_path), ledger, transport)
    assert exit_code_for(caught.value) == 4
    assert server.handler.messages == []
    assert sum(ledger.ledger_counts(POLICY).values()) == 0
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("reply", "state"), [("550 5.7.1 rejected", "failed-permanent"), ("451 4.7.1 later", None)]
)
def test_many_failures_in_a_row_pause_the_run(tmp_path, ledger, reply, state):
    emails = [f"r{i}@example.com" for i in range(10)]
    add_subscribers(ledger, emails)
    times = 1 if reply.startswith("5") else 99
    handler = FaultHandler(
        temporary={} if state else {e: (reply, times) for e in emails},
        permanent={e: reply for e in emails} if state else {},
    )
    with running_server(handler) as server, pytest.raises(NotifyPaused) as caught:
        notify(make_settings(tmp_path, max_send_errors=3), ledger, smtp(server))
    error = caught.value
    assert exit_code_for(error) == 4
    assert "3 delivery failures in a row" in str(error)
    assert error.report.paused and error.report.failed == 3
    counts = ledger.ledger_counts(POLICY, 2, "notice")
    assert counts[state or "failed-temporary"] == 3
    assert counts["pending"] == 7 and counts["sending"] == 0
    assert handler.messages == []


# -- modes ------------------------------------------------------------------------------------


def test_outbox_mode_goes_through_the_ledger(tmp_path, ledger):
    add_subscribers(ledger, [f"r{i}@example.com" for i in range(5)])
    outbox = tmp_path / "outbox"
    settings = make_settings(tmp_path)
    report = notify(settings, ledger, open_transport(settings, outbox))
    files = sorted(outbox.glob("*.eml"))
    assert report.sent == 5 and len(files) == 5
    assert report.transport == f"outbox {outbox}"
    records = list(ledger.iter_notices(POLICY, 2, "notice"))
    assert {r.state for r in records} == {"sent"}
    assert {r.last_message.removeprefix("written to ") for r in records} == {f.name for f in files}
    again = notify(settings, ledger, open_transport(settings, outbox))
    assert again.sent == 0 and again.already_sent == 5
    assert len(list(outbox.iterdir())) == 5


def test_two_runs_at_once_share_the_notices_and_send_each_once(tmp_path, ledger, database_url):
    emails = [f"r{i:03d}@example.com" for i in range(120)]
    add_subscribers(ledger, emails)
    settings = make_settings(tmp_path)
    reports = {}
    # A second Store is a second run.
    with (
        running_server(FaultHandler(data_delay=0.005)) as server,
        Store.open(database_url) as other,
    ):
        thread = threading.Thread(
            target=lambda: reports.setdefault("second", notify(settings, other, smtp(server)))
        )
        thread.start()
        reports["first"] = notify(settings, ledger, smtp(server))
        thread.join()
    assert server.handler.per_recipient() == dict.fromkeys(emails, 1)
    assert reports["first"].sent + reports["second"].sent == len(emails)
    assert reports["first"].sent and reports["second"].sent, "both runs sent some"
    assert set(states(ledger).values()) == {"sent"}


def test_dry_run_renders_and_counts_but_sends_and_records_nothing(tmp_path, ledger):
    add_subscribers(ledger, ["a@example.com", "b@example.com"])
    settings = make_settings(tmp_path)
    with running_server() as server:
        notify(settings, ledger, smtp(server))
        add_subscribers(ledger, ["c@example.com", "d@example.com", "e@example.com"])
        before = list(ledger.iter_notices(POLICY))
        report = notify(settings, ledger, smtp(server), dry_run=True)
        assert list(ledger.iter_notices(POLICY)) == before
        assert server.handler.count == 2
    assert report.dry_run and (report.would_send, report.already_sent, report.sent) == (3, 2, 0)
    # no transport is needed for a dry run
    assert notify(settings, ledger, None, dry_run=True).would_send == 3


def test_open_transport_needs_smtp_or_an_outbox(tmp_path):
    settings = make_settings(tmp_path)
    with pytest.raises(ConfigError, match="neither SMTP nor an outbox") as caught:
        open_transport(settings, None)
    assert "--outbox" in str(caught.value)
    assert isinstance(open_transport(settings, tmp_path / "out"), OutboxTransport)
    host = {"REDLINE_SMTP_HOST": "127.0.0.1"}
    assert isinstance(open_transport(with_env(settings, host), None), SmtpTransport)
    with pytest.raises(DeliveryError, match="REDLINE_SMTP_PASSWORD"):
        open_transport(with_env(settings, {**host, "REDLINE_SMTP_USER": "mailer"}), None)


def test_rate_limits_messages_per_second_and_progress_counts_each(tmp_path, ledger):
    add_subscribers(ledger, [f"r{i}@example.com" for i in range(6)])
    calls: list[tuple[int, int]] = []
    with running_server() as server:
        started = time.monotonic()
        report = notify(
            make_settings(tmp_path),
            ledger,
            smtp(server),
            rate=20,
            progress=lambda *a: calls.append(a),
        )
        elapsed = time.monotonic() - started
    assert report.sent == 6
    assert elapsed >= 5 / 20, "six messages at 20/s need at least five intervals"
    assert calls == [(i, 6) for i in range(7)]


def test_logs_report_and_errors_never_show_addresses_or_password(tmp_path, ledger, caplog):
    emails = [f"private{i}@example.com" for i in range(6)]
    add_subscribers(ledger, emails)
    handler = FaultHandler(
        temporary={"private1@example.com": ("451 4.3.0 <private1@example.com> later", 99)},
        permanent={"private2@example.com": "550 5.1.1 <private2@example.com> unknown"},
    )
    caplog.set_level(logging.DEBUG, logger="redline")
    caplog.set_level(logging.DEBUG, logger="yagmail")
    auth = Authenticator("mailer", PASSWORD)
    ours_logger = logging.getLogger("redline")
    ours_logger.addHandler(caplog.handler)  # even if the CLI turned propagation off
    try:
        with running_server(handler, authenticator=auth) as server:
            transport = smtp(server, user="mailer", password=PASSWORD)
            report = notify(make_settings(tmp_path), ledger, transport)
    finally:
        ours_logger.removeHandler(caplog.handler)
    assert auth.attempts >= 1 and auth.failures == 0  # one login per (re)connection
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("redline", "yagmail")]
    logged = "\n".join(record.getMessage() for record in ours)
    exported = json.dumps(report.to_json())
    assert report.failed == 2
    assert "550 5.1.1 <address> unknown" in exported
    assert "notice #" in logged, "failures are logged, by ledger row"
    for email in emails:
        assert email not in logged
        assert email not in exported
    assert PASSWORD not in logged


# -- the command ------------------------------------------------------------------------------

CLI_CONFIG = """\
from_address = "Northwind Legal <legal@northwind.example>"
unsubscribe_url = "https://northwind.example/unsubscribe?token={token}"
max_send_errors = 5
"""


@pytest.fixture
def cli_repo(released_repo, database_url):
    released_repo.write("redline.toml", CLI_CONFIG)
    with Store.open(database_url) as store:
        add_subscribers(store, ["ann@example.com", "ben@example.com"])
        add_subscribers(store, ["terms-only@example.com"], policies=["terms-of-service"])
    return released_repo


def redline(repo, database_url, *args, **env):
    full_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("REDLINE_SMTP", "REDLINE_FROM"))
    }
    full_env.update({"REDLINE_DATABASE_URL": database_url, "REDLINE_SECRET": SECRET, **env})
    return subprocess.run(
        [sys.executable, "-m", "redline", "--repo", str(repo.root), *args],
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
    )


def test_cli_outbox_sends_each_subscriber_once(cli_repo, database_url, tmp_path):
    outbox = tmp_path / "outbox"
    result = redline(cli_repo, database_url, "notify", "privacy-policy", "--outbox", str(outbox))
    assert result.returncode == 0, result.stderr
    assert "privacy-policy v2 notice via outbox" in result.stdout
    assert re.search(r"sent\s+2\n", result.stdout)
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    msg = message_from_bytes(files[0].read_bytes(), policy=email_policy.default)
    assert "Privacy Policy" in msg["Subject"]
    assert "Section 7" in msg.get_body(("plain",)).get_content()
    again = redline(
        cli_repo, database_url, "notify", "privacy-policy", "--outbox", str(outbox), "--json"
    )
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["sent"], report["version"]) == (0, 2)
    assert report["skipped"] == {"already notified in an earlier run": 2}
    assert len(list(outbox.iterdir())) == 2


def test_cli_dry_run_and_version_and_kind(cli_repo, database_url):
    result = redline(
        cli_repo, database_url, "notify", "privacy-policy", "--version", "1", "--dry-run",
        "--kind", "reminder", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["dry_run"], report["would_send"], report["kind"], report["version"]) == (
        True,
        2,
        "reminder",
        1,
    )
    with Store.open(database_url) as store:
        assert sum(store.ledger_counts("privacy-policy").values()) == 0
    missing = redline(cli_repo, database_url, "notify", "privacy-policy", "--version", "9")
    assert missing.returncode == 2
    assert "no release v9" in missing.stderr and "v1, v2" in missing.stderr


def test_cli_without_smtp_or_outbox_fails_clearly(cli_repo, database_url):
    result = redline(cli_repo, database_url, "notify", "privacy-policy")
    assert result.returncode == 2
    assert result.stderr.startswith("redline: error: notices cannot be delivered")
    assert "Traceback" not in result.stderr
    with Store.open(database_url) as store:
        assert sum(store.ledger_counts("privacy-policy").values()) == 0


def test_cli_smtp_failures_exit_1_and_auth_failure_exits_4(cli_repo, database_url):
    handler = FaultHandler(permanent={"ben@example.com": "550 5.1.1 <ben@example.com> unknown"})
    with running_server(handler) as server:
        result = redline(cli_repo, database_url, "notify", "privacy-policy", **server.env())
    assert result.returncode == 1, result.stderr
    assert handler.per_recipient() == {"ann@example.com": 1}
    assert "1 x failed-permanent: 550 5.1.1 <address> unknown" in result.stdout
    assert "ben@example.com" not in result.stdout + result.stderr

    auth = Authenticator("mailer", PASSWORD)
    with running_server(authenticator=auth) as server:
        env = server.env(REDLINE_SMTP_USER="mailer", REDLINE_SMTP_PASSWORD="wrong-" + PASSWORD)
        result = redline(cli_repo, database_url, "notify", "privacy-policy", "--json", **env)
    assert result.returncode == 4
    assert "authentication as 'mailer' failed" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout
    assert server.handler.messages == []


# -- hardening: refusals not about the recipient, unknown outcomes, bad rows --------------------


def history(store: Store, email: str) -> list[tuple[str, int | None]]:
    (record,) = [
        r for r in store.iter_notices(POLICY, 2, "notice", history=True) if r.email == email
    ]
    return [(event.event, event.code) for event in record.history]


def test_auth_required_pauses_at_once_and_marks_nobody(tmp_path, ledger):
    """Defect: 20 subscribers were marked failed-permanent with 530 before the run paused."""
    emails = [f"r{i:02d}@example.com" for i in range(30)]
    add_subscribers(ledger, emails)
    auth = Authenticator("mailer", PASSWORD)
    handler = FaultHandler(require_auth=True)
    settings = make_settings(tmp_path)
    with running_server(handler, authenticator=auth) as server:
        with pytest.raises(NotifyPaused, match=r"530 5\.7\.0 Authentication required") as caught:
            notify(settings, ledger, smtp(server))
        assert exit_code_for(caught.value) == 4
        assert caught.value.report.deferred == 1 and caught.value.report.failed == 0
        counts = ledger.ledger_counts(POLICY, 2, "notice")
        assert counts["pending"] == 30 and counts["failed-permanent"] == 0
        assert handler.mail_attempts == 1, "one refusal is enough to stop"
        # The credentials are fixed: everyone gets it once, and the proof keeps both tries.
        report = notify(settings, ledger, smtp(server, user="mailer", password=PASSWORD))
    assert report.sent == 30
    assert handler.per_recipient() == dict.fromkeys(emails, 1)
    assert history(ledger, "r00@example.com") == [("deferred", 530), ("sent", 250)]
    (first,) = [r for r in ledger.iter_notices(POLICY, 2, "notice") if r.email == "r00@example.com"]
    assert first.attempts == 2


def test_552_on_data_pauses_without_marking_the_recipient(tmp_path, ledger):
    add_subscribers(ledger, ["ann@example.com", "ben@example.com"])
    handler = FaultHandler(data_reply="552 5.3.4 Message size exceeds fixed limit")
    with running_server(handler) as server, pytest.raises(NotifyPaused, match="552"):
        notify(make_settings(tmp_path), ledger, smtp(server))
    assert states(ledger) == {"ann@example.com": "pending", "ben@example.com": "pending"}
    assert handler.data_attempts == 1


def test_retry_failed_requeues_old_530_rows_by_code_and_keeps_both_attempts(tmp_path, ledger):
    """Defect: after the credentials were fixed, nothing re-queued the 530 rows."""
    add_subscribers(ledger, ["ann@example.com", "ben@example.com", "gone@example.com"])
    ledger.queue_notices(POLICY, 2, "notice")
    tasks = {t.email: t for t in ledger.claim_batch(POLICY, 2, "notice", 10)}
    for email, code in (("ann@example.com", 530), ("ben@example.com", 530)):
        ledger.mark_failed(tasks[email].id, permanent=True, smtp_code=code, smtp_message="5.7.0")
    ledger.mark_failed(
        tasks["gone@example.com"].id, permanent=True, smtp_code=550, smtp_message="no such user"
    )
    settings = make_settings(tmp_path)
    with running_server() as server:
        plain = notify(settings, ledger, smtp(server))
        assert plain.sent == 0 and plain.failed_before == 3
        dry = notify(
            settings, ledger, None, dry_run=True, requeue=Requeue(failed=True, codes=("53",))
        )
        assert (dry.would_send, dry.requeued) == (2, 2)
        report = notify(
            settings, ledger, smtp(server), requeue=Requeue(failed=True, codes=("530",))
        )
    assert report.requeued == 2 and report.sent == 2
    assert server.handler.per_recipient() == {"ann@example.com": 1, "ben@example.com": 1}
    assert states(ledger)["gone@example.com"] == "failed-permanent"
    assert history(ledger, "ann@example.com") == [
        ("failed-permanent", 530),
        ("requeued", None),
        ("sent", 250),
    ]
    with pytest.raises(InputError, match="not an SMTP reply code"):
        ledger.requeue(POLICY, 2, "notice", states=["failed-permanent"], codes=["5.7"])


def test_slow_data_reply_is_unknown_sent_once_and_resent_only_on_request(tmp_path, ledger):
    """Defect: 4 copies in one run, 'failed-temporary' in the ledger, a 5th copy next run."""
    add_subscribers(ledger, ["ann@example.com", "ben@example.com"])
    handler = FaultHandler(data_delay=1.0)
    settings = make_settings(tmp_path)
    with running_server(handler) as server:
        report = notify(settings, ledger, smtp(server, timeout=0.4, retries=3))
        assert (report.unknown, report.failed, report.sent) == (2, 2, 0)
        assert handler.per_recipient() == {"ann@example.com": 1, "ben@example.com": 1}
        assert set(states(ledger).values()) == {"unknown"}
        handler.data_delay = 0
        again = notify(settings, ledger, smtp(server))
        assert again.sent == 0 and again.skipped == {"delivery unknown since an earlier run": 2}
        assert ledger.count_unnotified(POLICY, 2, "notice") == 0
        resent = notify(settings, ledger, smtp(server), requeue=Requeue(unknown=True))
    assert resent.requeued == 2 and resent.sent == 2
    assert handler.per_recipient() == {"ann@example.com": 2, "ben@example.com": 2}
    assert history(ledger, "ann@example.com") == [
        ("unknown", None),
        ("requeued", None),
        ("sent", 250),
    ]


def test_attempts_count_every_smtp_try(tmp_path, ledger):
    """Defect: attempts stayed 1 after 4 SMTP tries."""
    add_subscribers(ledger, ["ann@example.com"])
    handler = FaultHandler(temporary={"ann@example.com": ("451 4.3.0 later", 99)})
    with running_server(handler) as server:
        notify(make_settings(tmp_path), ledger, smtp(server, retries=3))
    (record,) = ledger.iter_notices(POLICY, 2, "notice", history=True)
    assert handler.rcpt_attempts["ann@example.com"] == 4
    assert record.attempts == 4 and record.state == "failed-temporary"
    assert [e.event for e in record.history] == ["failed-temporary"] * 4


def test_a_row_with_an_unusable_name_or_address_never_stops_the_run(tmp_path, ledger, database_url):
    """Defect: one name with an encoded CR/LF ended every notify in a traceback, 0 of 51 sent."""
    import sqlalchemy as sa

    emails = [f"r{i:02d}@example.com" for i in range(50)]
    add_subscribers(ledger, emails)
    add_subscribers(ledger, ["v@example.com", "w@example.com"])
    engine = sa.create_engine(database_url)
    encoded = "=?utf-8?b?" + base64.b64encode(b"a\r\nb").decode() + "?="
    with engine.begin() as conn:  # rows stored before names and addresses were checked
        conn.execute(
            sa.text("UPDATE subscribers SET name = :n WHERE email = 'v@example.com'"),
            {"n": encoded},
        )
        conn.execute(
            sa.text("UPDATE subscribers SET email = :e WHERE email = 'w@example.com'"),
            {"e": encoded + "@example.com"},
        )
    engine.dispose()
    with running_server() as server:
        report = notify(make_settings(tmp_path), ledger, smtp(server))
    assert report.sent == 51 and report.failed_permanent == 1
    assert server.handler.per_recipient()["v@example.com"] == 1
    assert ledger.ledger_counts(POLICY, 2, "notice")["sending"] == 0
    (bad,) = [r for r in ledger.iter_notices(POLICY, 2, "notice") if r.state != "sent"]
    assert bad.state == "failed-permanent"
    assert "cannot be written as a mail header" in bad.last_message


def test_cli_retry_failed_and_resend_unknown(cli_repo, database_url, tmp_path):
    outbox = tmp_path / "outbox"
    with Store.open(database_url) as store:
        store.queue_notices("privacy-policy", 2, "notice")
        tasks = {t.email: t for t in store.claim_batch("privacy-policy", 2, "notice", 10)}
        store.mark_failed(
            tasks["ann@example.com"].id, permanent=True, smtp_code=535, smtp_message="x"
        )
        store.mark_done(tasks["ben@example.com"].id, "unknown", smtp_code=None, smtp_message="late")
    lonely = redline(cli_repo, database_url, "notify", "privacy-policy", "--code", "535")
    assert lonely.returncode == 2 and "--code needs --retry-failed" in lonely.stderr
    result = redline(
        cli_repo, database_url, "notify", "privacy-policy", "--outbox", str(outbox),
        "--retry-failed", "--code", "5xx", "--resend-unknown", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "a recipient whose server had accepted the first copy gets two" in result.stderr
    report = json.loads(result.stdout)
    assert (report["requeued"], report["sent"]) == (2, 2)
    assert len(list(outbox.glob("*.eml"))) == 2
