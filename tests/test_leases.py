"""Leases on real SQLite and PostgreSQL: runs share a campaign, never take a live run's rows,
take back a dead run's at once and an expired lease's; batched results; the v2 -> v3 upgrade."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from redline.ledger.checks import SubscriberInput
from redline.ledger.marks import Result
from redline.ledger.schema import SCHEMA_VERSION
from redline.ledger.store import Store

POLICY = "privacy-policy"
KEY = (POLICY, 1, "notice")
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def queue(url: str, count: int) -> list[str]:
    emails = [f"user{index:05d}@example.com" for index in range(count)]
    with Store.open(url) as store:
        store.upsert_subscribers([SubscriberInput(email) for email in emails])
        store.queue_notices(*KEY)
    return emails


def rows(url: str) -> dict[str, tuple[str, str | None]]:
    with Store.open(url) as store:
        return {r.email: (r.state, r.run_id) for r in store.iter_notices(POLICY)}


def test_two_runs_claim_disjoint_rows_and_never_each_others(database_url):
    queue(database_url, 30)
    with Store.open(database_url) as one, Store.open(database_url) as two:
        assert one.run_id != two.run_id
        first = one.claim_batch(*KEY, 10)
        second = two.claim_batch(*KEY, 10)
        assert not {t.id for t in first} & {t.id for t in second}
        rest = two.claim_batch(*KEY, 100)
        assert len(rest) == 10
        assert one.claim_batch(*KEY, 100) == [] == two.claim_batch(*KEY, 100, retry_failed=True)
        # start-up recovery by either leaves the other's rows alone (it is alive)
        assert two.recover_in_flight(*KEY) == 20  # its own 20
        assert {run for state, run in rows(database_url).values() if state == "sending"} == {
            one.run_id
        }
        assert len(two.claim_batch(*KEY, 100)) == 20


def test_threads_of_many_runs_share_every_row_once(database_url):
    queue(database_url, 600)
    claimed: list[list[int]] = [[] for _ in range(3)]
    start = threading.Barrier(3)

    def run(slot: int) -> None:
        with Store.open(database_url) as own:
            start.wait()
            while batch := own.claim_batch(*KEY, 9):
                claimed[slot] += [task.id for task in batch]
                own.record_results(
                    [Result(t.id, "sent", 250, "OK", message_id=f"<{t.id}@x>") for t in batch]
                )

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [notice_id for ids in claimed for notice_id in ids]
    assert len(every) == len(set(every)) == 600
    assert {state for state, _ in rows(database_url).values()} == {"sent"}


def test_an_expired_lease_is_taken_over_and_a_live_one_is_not(database_url):
    queue(database_url, 5)
    clock = Clock()
    with (
        Store.open(database_url, clock=clock, lease_seconds=60) as slow,
        Store.open(database_url, clock=clock, lease_seconds=60) as other,
    ):
        held = slow.claim_batch(*KEY, 3)
        clock.now += timedelta(seconds=59)
        assert [t.email for t in other.claim_batch(*KEY, 10)] == [
            f"user{i:05d}@example.com" for i in (3, 4)
        ]
        assert slow.renew() == 3  # a slow but live run keeps its rows
        clock.now += timedelta(seconds=59)
        assert other.claim_batch(*KEY, 10) == []
        assert other.renew() == 2
        clock.now += timedelta(seconds=2)  # no renewal for 61 s: the lease is over
        taken = other.claim_batch(*KEY, 10)
        assert sorted(t.id for t in taken) == sorted(t.id for t in held)
        assert {t.attempts for t in taken} == {2}
        # the old holder can no longer record a failure over the new holder's claim
        assert not slow.mark_failed(held[0].id, permanent=True, smtp_code=550, smtp_message="x")
        assert not slow.release_claim(held[1].id)
        with Store.open(database_url) as reader:
            (record,) = [r for r in reader.iter_notices(POLICY, history=True) if r.id == held[0].id]
        assert (record.state, record.run_id) == ("sending", other.run_id)
        # the try happened, so the history keeps it; the state stays the new holder's
        assert [event.event for event in record.history] == ["recovered", "failed-permanent"]


CLAIM_AND_DIE = """
import os, signal, sys
from redline.ledger.store import Store
store = Store.open(sys.argv[1])
tasks = store.claim_batch("privacy-policy", 1, "notice", 4)
print(store.run_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_start_up_recovery_takes_back_a_killed_runs_rows_at_once(database_url):
    queue(database_url, 6)
    with Store.open(database_url) as live:
        live.claim_batch(*KEY, 2)
        dead = subprocess.run(
            [sys.executable, "-c", CLAIM_AND_DIE, database_url],
            capture_output=True,
            text=True,
            env={**os.environ},
            timeout=60,
        )
        assert dead.returncode == -signal.SIGKILL, dead.stderr
        dead_run = dead.stdout.strip()
        sending = [run for state, run in rows(database_url).values() if state == "sending"]
        assert sorted(sending) == sorted([live.run_id] * 2 + [dead_run] * 4)
        with Store.open(database_url) as next_run:
            # leases still run for two minutes, but the dead run's lock is free
            assert next_run.recover_in_flight(*KEY) == 4
            assert next_run.recover_in_flight(*KEY) == 0
        by_state = {}
        for state, run in rows(database_url).values():
            by_state.setdefault(state, []).append(run)
        assert by_state == {"sending": [live.run_id] * 2, "pending": [None] * 4}


def test_record_results_writes_a_batch_with_its_history(database_url):
    queue(database_url, 5)

    class Try:
        def __init__(self, outcome: str, code: int, message: str) -> None:
            self.at, self.outcome, self.code, self.message = START, outcome, code, message

    with Store.open(database_url) as store:
        a, b, c, d, e = store.claim_batch(*KEY, 5)
        results = [
            Result(a.id, "sent", 250, "OK", message_id="<a@x>"),
            Result(
                b.id,
                "sent",
                250,
                b"OK",
                [Try("failed-temporary", 451, "later"), Try("sent", 250, "OK")],
                message_id="<b@x>",
            ),
            Result(c.id, "failed-permanent", 550, "no such user"),
            Result(d.id, "unknown", None, "timed out after DATA"),
            Result(e.id, "pending", 530, "auth needed"),
        ]
        assert store.record_results(results) == 5
        assert store.record_results(results[:1]) == 0  # 'sent' is final
        records = {r.email: r for r in store.iter_notices(POLICY, history=True)}
    got = {r.id: r for r in records.values()}
    assert (got[a.id].state, got[a.id].message_id, got[a.id].attempts) == ("sent", "<a@x>", 1)
    assert got[b.id].attempts == 2
    assert [h.event for h in got[b.id].history] == ["failed-temporary", "sent"]
    assert [h.code for h in got[b.id].history] == [451, 250]
    assert [h.event for h in got[a.id].history] == ["sent", "sent"]  # the refused second try
    assert (got[c.id].state, got[c.id].last_code) == ("failed-permanent", 550)
    assert got[d.id].state == "unknown"
    assert (got[e.id].state, [h.event for h in got[e.id].history]) == ("pending", ["deferred"])
    assert all(r.lease_expires is None for r in got.values())


V2_EXTRA = {
    "sqlite": [
        "CREATE TABLE notice_events (id INTEGER NOT NULL PRIMARY KEY, notice_id INTEGER NOT "
        "NULL REFERENCES notices (id) ON DELETE CASCADE, at DATETIME NOT NULL, event "
        "VARCHAR(20) NOT NULL, code INTEGER, message TEXT)",
    ],
    "postgresql": [
        "ALTER TABLE notices DROP CONSTRAINT ck_notices_state, ADD CONSTRAINT ck_notices_state "
        "CHECK (state IN ('pending', 'sending', 'sent', 'failed-temporary', "
        "'failed-permanent', 'unknown', 'cancelled'))",
        "CREATE TABLE notice_events (id BIGSERIAL PRIMARY KEY, notice_id BIGINT NOT NULL "
        "REFERENCES notices (id) ON DELETE CASCADE, at TIMESTAMP WITH TIME ZONE NOT NULL, "
        "event VARCHAR(20) NOT NULL, code INTEGER, message TEXT)",
    ],
}


def make_v2(url: str) -> None:
    """A version 2 database (test_store's version 1 tables plus version 2's changes)."""
    from test_store import V1_SCHEMA

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            v1 = V1_SCHEMA[engine.dialect.name]
            if engine.dialect.name == "sqlite":  # version 2 rebuilt the table with 'unknown'
                v1 = v1.replace(
                    "'failed-permanent', 'cancelled'", "'failed-permanent', 'unknown', 'cancelled'"
                )
            for statement in [*v1.split(";"), *V2_EXTRA[engine.dialect.name]]:
                if statement.strip():
                    conn.execute(sa.text(statement))
            t = {"t": "2024-01-01 00:00:00"}
            conn.execute(
                sa.text(
                    "INSERT INTO redline_meta (key, value) VALUES ('schema_version', '2'), "
                    "('created_by', 'redline 0.1.0')"
                )
            )
            for email in ("ann@example.com", "ben@example.com"):
                conn.execute(
                    sa.text(
                        "INSERT INTO subscribers (email, created_at, updated_at) "
                        "VALUES (:e, :t, :t)"
                    ),
                    {**t, "e": email},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO subscriptions (subscriber_id, policy, created_at) "
                    "VALUES (1, '*', :t), (2, '*', :t)"
                ),
                t,
            )
            conn.execute(
                sa.text(
                    "INSERT INTO notices (policy, version, kind, subscriber_id, email, state, "
                    "attempts, last_code, created_at, updated_at) VALUES "
                    "('privacy-policy', 1, 'notice', 1, 'ann@example.com', 'unknown', 1, NULL, "
                    ":t, :t), "
                    "('privacy-policy', 1, 'notice', 2, 'ben@example.com', 'sending', 1, NULL, "
                    ":t, :t)"
                ),
                t,
            )
            conn.execute(
                sa.text(
                    "INSERT INTO notice_events (notice_id, at, event, message) "
                    "VALUES (1, :t, 'unknown', 'timed out')"
                ),
                t,
            )
    finally:
        engine.dispose()


def test_a_version_2_database_is_upgraded_with_its_data(database_url):
    make_v2(database_url)
    with Store.open(database_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        records = {r.email: r for r in store.iter_notices(POLICY, history=True)}
        assert records["ann@example.com"].state == "unknown"
        assert [e.message for e in records["ann@example.com"].history] == ["timed out"]
        assert (records["ben@example.com"].state, records["ben@example.com"].run_id) == (
            "sending",
            None,
        )
        # the row a version 2 run left in flight has no lease: recovery takes it back
        assert store.recover_in_flight(*KEY) == 1
        (task,) = store.claim_batch(*KEY, 5)
        assert (task.email, task.attempts) == ("ben@example.com", 2)
    engine = sa.create_engine(database_url)
    try:
        indexes = {index["name"] for index in sa.inspect(engine).get_indexes("notices")}
    finally:
        engine.dispose()
    assert {"ix_notices_claimable", "ix_notices_in_flight"} <= indexes
    assert "ix_notices_claim" not in indexes


def test_a_run_retries_a_temporary_failure_of_an_earlier_run_but_not_its_own(database_url):
    queue(database_url, 2)
    with Store.open(database_url) as first:
        for task in first.claim_batch(*KEY, 2):
            first.mark_failed(task.id, permanent=False, smtp_code=451, smtp_message="later")
        assert first.claim_batch(*KEY, 5, retry_failed=True) == []
    with Store.open(database_url) as second:
        again = second.claim_batch(*KEY, 5, retry_failed=True)
        assert [task.attempts for task in again] == [2, 2]
        assert second.claim_batch(*KEY, 5) == []


def test_ledger_commits_do_not_wait_for_the_disk_flush_set_once_per_session(database_url):
    with Store.open(database_url) as store, store._engine.connect() as conn:
        if store.dialect == "postgresql":
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
        else:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_rows_released_behind_a_runs_last_claim_are_still_claimed(database_url):
    queue(database_url, 12)
    with Store.open(database_url) as store:
        first = store.claim_batch(*KEY, 4)
        assert store.release_claims([first[0].id, first[1].id]) == 2
        later = store.claim_batch(*KEY, 6)  # reads on after its last claim
        assert [t.id for t in later] == [t.id + 4 for t in first] + [
            first[3].id + 5,
            first[3].id + 6,
        ]
        rest = store.claim_batch(*KEY, 10)  # too few after it: looks from the start too
        assert sorted(t.id for t in rest) == [
            first[0].id,
            first[1].id,
            first[3].id + 7,
            first[3].id + 8,
        ]
        assert store.claim_batch(*KEY, 10) == []
