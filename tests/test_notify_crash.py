"""Two real ``redline notify`` processes with 4 SMTP sessions each on one campaign.

Together they finish it with no duplicate and no miss; when one is killed (SIGKILL) mid-run,
the other finishes its own share and a re-run takes back the killed run's rows: nobody is
missed, and at most the killed run's unrecorded messages (``RESULT_BATCH + 2 x 4``) go out
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
from redline.mail.run import RESULT_BATCH
from smtp_servers import RecordingHandler, running_server
from test_notify import CLI_CONFIG, SECRET, add_subscribers

SUBSCRIBERS = 3000
CONNECTIONS = 4
#: The most messages a killed run has sent without their result in the ledger.
BOUND = RESULT_BATCH + 2 * CONNECTIONS
_MESSAGE_ID = re.compile(rb"^Message-ID: (\S+)\r$", re.MULTILINE)


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
