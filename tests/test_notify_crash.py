"""Crashes: two real ``redline notify`` processes with 4 SMTP sessions each on one campaign,
and one process on one session killed again and again.

Together they finish it with no duplicate and no miss; when one is killed (SIGKILL) mid-run,
the other finishes its own share and a re-run takes back the killed run's rows: nobody is
missed, and at most the killed run's unrecorded messages (``RESULT_BATCH + HANDED``) go out
twice. Every end state is checked per recipient in the ledger; SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import pytest

from redline.ledger.store import Store
from redline.mail.run import HANDED, RESULT_BATCH
from smtp_servers import RecordingHandler, running_server
from test_notify import CLI_CONFIG, NOTICE, POLICY, SECRET, add_subscribers

SUBSCRIBERS = 3000
CONNECTIONS = 4
#: The most messages a killed run has sent without their result in the ledger.
BOUND = RESULT_BATCH + max(HANDED, 2 * CONNECTIONS)
_MESSAGE_ID = re.compile(rb"^Message-ID: (\S+)\r$", re.MULTILINE)


@pytest.fixture
def ledger(database_url: str):
    with Store.open(database_url) as store:
        yield store


@pytest.fixture
def campaign(released_repo, database_url):
    released_repo.write("redline.toml", CLI_CONFIG)
    emails = [f"crash{i:05d}@example.com" for i in range(SUBSCRIBERS)]
    with Store.open(database_url) as store:
        add_subscribers(store, emails)
    return released_repo, emails


def start(repo, database_url: str, server) -> subprocess.Popen[str]:
    """``redline notify privacy-policy --connections 4 --json`` in its own process."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("REDLINE_SMTP", "REDLINE_FROM"))
    }
    env.update({"REDLINE_DATABASE_URL": database_url, "REDLINE_SECRET": SECRET, **server.env()})
    argv = [
        sys.executable, "-m", "redline", "--repo", str(repo.root),
        "notify", "privacy-policy", "--connections", str(CONNECTIONS), "--json",
    ]  # fmt: skip
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out)


def sending(database_url: str) -> dict[str, str]:
    """The rows in flight: address -> the run that holds it."""
    with Store.open(database_url) as store:
        rows = store.iter_notices("privacy-policy", 2, "notice")
        return {r.email: r.run_id for r in rows if r.state == "sending"}


def assert_ledger_says_sent(database_url: str, handler: RecordingHandler, emails: list[str]):
    """Every row is 'sent', with the Message-ID of a message the server received."""
    received = {m.rcpt_tos[0]: set() for m in handler.messages}
    for m in handler.messages:
        received[m.rcpt_tos[0]].add(_MESSAGE_ID.search(m.data).group(1).decode())
    with Store.open(database_url) as store:
        records = {r.email: r for r in store.iter_notices("privacy-policy", 2, "notice")}
    assert set(records) == set(emails) and not sending(database_url)
    for email, record in records.items():
        assert (record.state, record.last_code) == ("sent", 250), email
        assert received[email] == {record.message_id}, email


def test_two_processes_finish_a_campaign_together_once_each(campaign, database_url):
    repo, emails = campaign
    handler = RecordingHandler(data_delay=0.002)
    with running_server(handler) as server:
        procs = [start(repo, database_url, server) for _ in range(2)]
        reports = [finish(proc) for proc in procs]
    assert handler.per_recipient() == dict.fromkeys(emails, 1), "no duplicate, no miss"
    assert sum(report["sent"] for report in reports) == SUBSCRIBERS
    assert all(report["sent"] for report in reports), "both processes sent a share"
    assert all(report["connections"] == CONNECTIONS for report in reports)
    assert len({m.connection for m in handler.messages}) == 2 * CONNECTIONS
    assert_ledger_says_sent(database_url, handler, emails)


def test_sigkill_one_of_two_processes_then_rerun_misses_nobody(campaign, database_url):
    repo, emails = campaign
    seed = random.randrange(1 << 30)
    target = random.Random(seed).randrange(300, 1500)
    handler = RecordingHandler(data_delay=0.002)
    with running_server(handler) as server:
        killed, other = start(repo, database_url, server), start(repo, database_url, server)
        deadline = time.monotonic() + 120
        # Mid-run: some messages sent, and both runs holding rows.
        while handler.count < target or len(set((in_flight := sending(database_url)).values())) < 2:
            assert killed.poll() is None, f"finished before the kill (seed {seed})"
            assert time.monotonic() < deadline, f"the runs did not both start (seed {seed})"
            time.sleep(0.01)
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=30)
        assert killed.returncode == -signal.SIGKILL
        at_kill = sending(database_url)  # the killed run's rows do not change any more
        survivor = finish(other)
        left = sending(database_url)  # the other run recorded all of its own
        rerun = finish(start(repo, database_url, server))
    assert in_flight and left, f"the killed run held rows (seed {seed})"
    (dead,) = set(left.values())
    assert left == {email: run for email, run in at_kill.items() if run == dead}
    assert survivor["recovered"] == 0, "a live run never takes another live run's rows"
    assert rerun["recovered"] == len(left), "the re-run takes back the dead run's rows"
    got = handler.per_recipient()
    assert set(got) == set(emails), f"someone was missed (seed {seed})"
    duplicates = {email for email, count in got.items() if count > 1}
    assert duplicates <= set(left), f"a duplicate the killed run had recorded (seed {seed})"
    assert len(duplicates) <= BOUND and max(got.values()) <= 2, f"seed {seed}"
    assert_ledger_says_sent(database_url, handler, emails)


# -- one process with one session, killed again and again ---------------------------------

WORKER = """
import json, sys
from pathlib import Path
from redline.config import Settings
from redline.env import Environment
from redline.mail.settings import SmtpConfig
from redline.mail.transport import SmtpTransport
from redline.mail.send import send_notices
from redline.publish.notice import RenderedNotice
from redline.ledger.store import Store

url, port, root, subject, text, html = sys.argv[1:]
settings = Settings(
    repo_root=Path(root),
    from_address="legal@acme.example",
    unsubscribe_url="https://acme.example/u?token={token}",
    env=Environment.from_os(),
)
transport = SmtpTransport(SmtpConfig("127.0.0.1", int(port), "none", timeout=10))
with Store.open(url) as store:
    report = send_notices(
        settings, store, transport, RenderedNotice(subject, text, html),
        policy="privacy", version=2, kind="notice",
    )
print(json.dumps(report.to_json()))
"""


def test_sigkill_at_random_points_then_rerun_serves_everyone(tmp_path, ledger, database_url):
    """SIGKILL notify mid-run several times: nobody is skipped, duplicates stay in flight."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    emails = [f"crash{i:04d}@example.com" for i in range(2000)]
    add_subscribers(ledger, emails)
    in_flight: set[str] = set()
    kills = 0
    with running_server(RecordingHandler(keep_data=False)) as server:
        handler = server.handler
        argv = [
            sys.executable, "-c", WORKER, database_url, str(server.port), str(tmp_path),
            NOTICE.subject, NOTICE.text, NOTICE.html,
        ]  # fmt: skip
        env = {**os.environ, "REDLINE_SECRET": SECRET}
        for round_ in range(5):
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if round_ == 4:
                out, err = proc.communicate(timeout=120)
                assert proc.returncode == 0, err.decode()
                final = json.loads(out)
                break
            if round_ == 0:
                time.sleep(rng.uniform(0.05, 1.0))  # anywhere from start-up to sending
            else:
                target = handler.count + rng.randrange(20, 300)
                deadline = time.monotonic() + 60
                while handler.count < target and proc.poll() is None:
                    assert time.monotonic() < deadline, f"worker stalled (seed {seed})"
                    time.sleep(0.002)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
            kills += proc.returncode == -signal.SIGKILL
            in_flight |= {
                record.email
                for record in ledger.iter_notices(POLICY, 2, "notice")
                if record.state == "sending"
            }
    assert kills >= 3, f"the worker finished too early to be killed (seed {seed})"
    got = handler.per_recipient()
    assert set(got) == set(emails), f"someone was skipped (seed {seed})"
    duplicates = {email for email, count in got.items() if count > 1}
    assert duplicates <= in_flight, f"a duplicate was not in flight at a kill (seed {seed})"
    assert all(count <= 1 + kills for count in got.values())
    assert ledger.ledger_counts(POLICY, 2, "notice")["sent"] == len(emails)
    assert final["sent"] + final["skipped"].get("already notified in an earlier run", 0) == len(
        emails
    )
