"""The subscriber store and the notice ledger, on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from datetime import UTC

import pytest
import sqlalchemy as sa

from redline.errors import InputError, StorageError, exit_code_for
from redline.ledger.checks import SubscriberInput
from redline.ledger.schema import SCHEMA_VERSION
from redline.ledger.store import Store
from redline.vocab import NOTICE_KINDS as KINDS
from redline.vocab import STATES

POLICY = "privacy-policy"


@pytest.fixture
def store(database_url):
    with Store.open(database_url) as opened:
        yield opened


def add(store: Store, count: int, *, policies=None, prefix: str = "user") -> list[str]:
    emails = [f"{prefix}{index:05d}@example.com" for index in range(count)]
    store.upsert_subscribers([SubscriberInput(email, policies=policies) for email in emails])
    return emails


def states(store: Store, policy: str = POLICY) -> dict[str, str]:
    return {record.email: record.state for record in store.iter_notices(policy)}


# -- schema ------------------------------------------------------------------------------------


def test_schema_is_created_with_its_version(database_url):
    with Store.open(database_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
    engine = sa.create_engine(database_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            meta = dict(conn.execute(sa.text("SELECT key, value FROM redline_meta")).all())
    finally:
        engine.dispose()
    assert {"redline_meta", "subscribers", "subscriptions", "notices"} <= names
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["created_by"].startswith("redline ")


def test_reopening_keeps_data_and_schema(database_url):
    with Store.open(database_url) as store:
        store.upsert_subscriber("ann@example.com", "Ann")
        store.queue_notices(POLICY, 1, "notice")
    for _ in range(2):
        with Store.open(database_url) as store:
            assert store.schema_version() == SCHEMA_VERSION
            assert store.count_subscribers() == 1
            assert store.ledger_counts(POLICY)["pending"] == 1
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM redline_meta")).scalar()
    finally:
        engine.dispose()
    assert rows == 3  # schema_version, created_at, created_by: nothing added by a re-open


def test_concurrent_first_opens_create_the_schema_once(database_url):
    errors: list[BaseException] = []

    def open_once() -> None:
        try:
            with Store.open(database_url) as store:
                store.count_subscribers()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store.open(database_url) as store:
        assert store.schema_version() == SCHEMA_VERSION


def test_a_newer_schema_is_refused(database_url):
    Store.open(database_url).close()
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE redline_meta SET value = '99' WHERE key = 'schema_version'"))
    engine.dispose()
    with pytest.raises(StorageError, match="schema version 99, newer") as caught:
        Store.open(database_url)
    assert exit_code_for(caught.value) == 5


def test_tables_of_another_program_are_not_taken_over(database_url):
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE subscribers (id INTEGER PRIMARY KEY, x TEXT)"))
    engine.dispose()
    with pytest.raises(StorageError, match="did not create: subscribers"):
        Store.open(database_url)


def test_sqlite_file_gets_its_directory_wal_and_busy_timeout(tmp_path):
    path = tmp_path / "deep" / "er" / "redline.db"
    with Store.open(f"sqlite:///{path}") as store:
        store.upsert_subscriber("ann@example.com")
    assert path.is_file()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store = Store.open(f"sqlite:///{path}")
    try:
        with store._engine.connect() as conn:
            timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
            foreign_keys = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
    finally:
        store.close()
    assert timeout >= 5000
    assert foreign_keys == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://user:pw@localhost/db", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u@localhost/db", "unsupported database"),
        ("not a url at all", "database URL is not valid"),
    ],
)
def test_unusable_urls_fail_with_one_line(url, message):
    with pytest.raises(StorageError, match=message) as caught:
        Store.open(url)
    assert "\n" not in str(caught.value)
    assert "pw" not in str(caught.value)


def test_connection_errors_never_show_the_password():
    with pytest.raises(StorageError) as caught:
        Store.open("postgresql://redline:t0p-s3cret-pw@127.0.0.1:1/redline")
    text = str(caught.value)
    assert "t0p-s3cret-pw" not in text
    assert "\n" not in text
    assert "127.0.0.1" in text
    assert "REDLINE_DATABASE_URL" in text  # the hint


@pytest.mark.postgres
def test_wrong_postgres_password_is_reported_without_it():
    base = os.environ.get("REDLINE_TEST_DATABASE_URL")
    if not base:
        if os.environ.get("REDLINE_REQUIRE_POSTGRES") == "1":
            pytest.fail("REDLINE_REQUIRE_POSTGRES=1 but REDLINE_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL tests need REDLINE_TEST_DATABASE_URL (see .ci/run)")
    url = sa.make_url(base).set(password="wr0ng-pa55word")
    with pytest.raises(StorageError) as caught:
        Store.open(url.render_as_string(hide_password=False))
    assert "wr0ng-pa55word" not in str(caught.value)
    assert "password authentication failed" in str(caught.value)


def test_postgres_scheme_aliases_use_psycopg():
    for scheme in ("postgres", "postgresql"):
        with pytest.raises(StorageError) as caught:
            Store.open(f"{scheme}://u:pw@127.0.0.1:1/db")
        assert "unsupported" not in str(caught.value)


# -- subscribers -------------------------------------------------------------------------------


def test_upsert_reports_added_unchanged_updated(store):
    assert store.upsert_subscriber("Ann@Example.COM", "Ann", "de") == "added"
    assert store.upsert_subscriber("Ann@example.com", "Ann", "de") == "unchanged"
    assert store.upsert_subscriber("Ann@EXAMPLE.com", "Ann B.", "de") == "updated"
    assert store.upsert_subscriber("Ann@example.com", "Ann B.", "de", [POLICY]) == "updated"
    assert store.upsert_subscriber("Ann@example.com", "Ann B.", "de", [POLICY]) == "unchanged"
    subscriber = store.get_subscriber("ann@EXAMPLE.com".replace("ann", "Ann"))
    assert subscriber is not None
    assert subscriber.email == "Ann@example.com"
    assert (subscriber.name, subscriber.locale, subscriber.policies) == ("Ann B.", "de", (POLICY,))
    assert store.count_subscribers() == 1


def test_an_address_is_one_person_whatever_its_case(store):
    assert store.upsert_subscriber("Ann.B@Example.com") == "added"
    assert store.upsert_subscriber("ANN.B@example.COM") == "unchanged"
    assert store.count_subscribers() == 1
    found = store.get_subscriber("ann.b@EXAMPLE.com")
    assert found is not None and found.email == "Ann.B@example.com"  # as first given
    assert store.unsubscribe("ANN.B@EXAMPLE.COM")
    assert store.remove_subscriber("ann.b@example.com")
    assert store.count_subscribers(include_unsubscribed=True) == 0


@pytest.mark.parametrize("name", ["Eve\r\nBcc: all@example.com", "Eve\nX", "Eve\rX", "Eve\x00"])
def test_names_with_line_breaks_or_nul_are_refused(store, name):
    with pytest.raises(InputError, match="header injection"):
        store.upsert_subscriber("eve@example.com", name)
    assert store.count_subscribers() == 0


def test_invalid_rows_in_a_batch_store_nothing(store):
    with pytest.raises(InputError, match="not a valid email address"):
        store.upsert_subscribers([SubscriberInput("ok@example.com"), SubscriberInput("nope")])
    assert store.count_subscribers() == 0


def test_upsert_never_resubscribes_unless_asked(store):
    store.upsert_subscriber("ann@example.com", "Ann")
    assert store.unsubscribe("ann@example.com") is True
    assert store.unsubscribe("ann@example.com") is False
    assert store.upsert_subscriber("ann@example.com", "Ann") == "unchanged"
    assert store.get_subscriber("ann@example.com").unsubscribed is not None
    assert store.upsert_subscriber("ann@example.com", "Ann", resubscribe=True) == "updated"
    assert store.get_subscriber("ann@example.com").active


def test_iter_and_count_filter_by_policy_and_state(store):
    store.upsert_subscriber("b-all@example.com")
    store.upsert_subscriber("a-privacy@example.com", policies=[POLICY])
    store.upsert_subscriber("c-terms@example.com", policies=["terms"])
    store.upsert_subscriber("d-gone@example.com")
    store.unsubscribe("d-gone@example.com")
    assert [s.email for s in store.iter_subscribers()] == [
        "a-privacy@example.com",
        "b-all@example.com",
        "c-terms@example.com",
    ]
    assert [s.email for s in store.iter_subscribers(POLICY)] == [
        "a-privacy@example.com",
        "b-all@example.com",
    ]
    everyone = list(store.iter_subscribers(include_unsubscribed=True))
    assert [s.email for s in everyone][-1] == "d-gone@example.com"
    assert everyone[1].policies is None and everyone[0].policies == (POLICY,)
    assert store.count_subscribers() == 3
    assert store.count_subscribers(POLICY) == 2
    assert store.count_subscribers("terms") == 2
    assert store.count_subscribers(include_unsubscribed=True) == 4


def test_iter_subscribers_streams_in_order(store):
    emails = add(store, 1200)
    stream = store.iter_subscribers()
    first = next(stream)
    assert first.email == emails[0]
    assert [s.email for s in stream] == emails[1:]


def test_remove_subscriber(store):
    store.upsert_subscriber("ann@example.com", policies=[POLICY])
    assert store.remove_subscriber("ANN@EXAMPLE.COM".replace("ANN", "ann")) is True
    assert store.remove_subscriber("ann@example.com") is False
    assert store.remove_subscriber("not an address") is False
    assert store.get_subscriber("ann@example.com") is None


def test_timestamps_are_aware_utc(store):
    store.upsert_subscriber("ann@example.com")
    subscriber = store.get_subscriber("ann@example.com")
    assert subscriber.created.tzinfo is not None
    assert subscriber.created.utcoffset().total_seconds() == 0
    assert subscriber.created.tzinfo == UTC


# -- ledger ------------------------------------------------------------------------------------


def test_queue_is_idempotent_and_respects_subscriptions(store):
    add(store, 5)
    store.upsert_subscriber("terms-only@example.com", policies=["terms"])
    store.upsert_subscriber("privacy-only@example.com", policies=[POLICY])
    store.upsert_subscriber("gone@example.com")
    store.unsubscribe("gone@example.com")
    assert store.queue_notices(POLICY, 2, "notice") == 6
    assert store.queue_notices(POLICY, 2, "notice") == 0
    counts = store.ledger_counts(POLICY, 2, "notice")
    assert counts["pending"] == 6
    assert set(counts) == set(STATES)
    assert "terms-only@example.com" not in states(store)
    assert "gone@example.com" not in states(store)
    # Another kind or version is its own set of rows.
    assert store.queue_notices(POLICY, 2, "reminder") == 6
    assert store.queue_notices(POLICY, 3, "notice") == 6
    # A subscriber added later is queued by the next call, once.
    store.upsert_subscriber("late@example.com")
    assert store.queue_notices(POLICY, 2, "notice") == 1
    assert store.queue_notices(POLICY, 2, "notice") == 0


def test_queue_refuses_bad_keys(store):
    with pytest.raises(InputError, match="unknown notice kind"):
        store.queue_notices(POLICY, 1, "newsletter")
    with pytest.raises(InputError, match="version"):
        store.queue_notices(POLICY, 0, "notice")
    with pytest.raises(InputError, match="slug"):
        store.queue_notices("a policy", 1, "notice")


def test_claim_moves_rows_to_sending_and_counts_attempts(store):
    emails = add(store, 10)
    store.upsert_subscriber(emails[0], "Ann", "de")
    store.queue_notices(POLICY, 1, "notice")
    batch = store.claim_batch(POLICY, 1, "notice", 4)
    assert [task.email for task in batch] == emails[:4]
    first = batch[0]
    assert (first.name, first.locale, first.attempts, first.kind) == ("Ann", "de", 1, "notice")
    assert first.subscriber_id == store.get_subscriber(emails[0]).id
    counts = store.ledger_counts(POLICY, 1, "notice")
    assert (counts["sending"], counts["pending"]) == (4, 6)
    rest = store.claim_batch(POLICY, 1, "notice", 100)
    assert len(rest) == 6
    assert store.claim_batch(POLICY, 1, "notice", 100) == []


def test_two_claimers_never_get_the_same_row(database_url):
    with Store.open(database_url) as store:
        add(store, 1000)
        store.queue_notices(POLICY, 1, "notice")
    claimed: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def claimer(slot: int) -> None:
        try:
            with Store.open(database_url) as own:
                start.wait()
                while batch := own.claim_batch(POLICY, 1, "notice", 7):
                    claimed[slot].extend(task.id for task in batch)
                    time.sleep(0.002)  # as a sender would: let the others get a turn
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    every = [notice_id for ids in claimed for notice_id in ids]
    assert len(every) == len(set(every)) == 1000
    assert sum(1 for ids in claimed if ids) >= 2  # they really competed
    with Store.open(database_url) as store:
        assert store.ledger_counts(POLICY)["sending"] == 1000
        assert {record.attempts for record in store.iter_notices(POLICY)} == {1}


def test_recover_in_flight_returns_only_sending_rows(store):
    add(store, 6)
    store.queue_notices(POLICY, 1, "notice")
    batch = store.claim_batch(POLICY, 1, "notice", 5)
    store.mark_sent(batch[0].id, message_id="<a@redline>", smtp_code=250, smtp_message="OK")
    store.mark_failed(batch[1].id, permanent=True, smtp_code=550, smtp_message="no such user")
    assert store.recover_in_flight(POLICY, 1, "notice") == 3
    assert store.recover_in_flight(POLICY, 1, "notice") == 0
    counts = store.ledger_counts(POLICY, 1, "notice")
    assert counts == {**dict.fromkeys(STATES, 0), "pending": 4, "sent": 1, "failed-permanent": 1}
    again = store.claim_batch(POLICY, 1, "notice", 10)
    assert len(again) == 4
    assert sorted(task.attempts for task in again) == [1, 2, 2, 2]


def test_rows_of_people_who_left_are_cancelled_at_claim(store):
    add(store, 4)
    store.upsert_subscriber("leaver@example.com")
    store.upsert_subscriber("removed@example.com")
    store.upsert_subscriber("switcher@example.com")
    store.queue_notices(POLICY, 1, "notice")
    store.unsubscribe("leaver@example.com")
    store.remove_subscriber("removed@example.com")
    store.upsert_subscriber("switcher@example.com", policies=["terms"])
    claimed = store.claim_batch(POLICY, 1, "notice", 100)
    assert {task.email for task in claimed} == {f"user{i:05d}@example.com" for i in range(4)}
    records = {record.email: record for record in store.iter_notices(POLICY)}
    assert records["leaver@example.com"].state == "cancelled"
    assert records["leaver@example.com"].reason == "unsubscribed"
    assert records["removed@example.com"].reason == "subscriber removed"
    assert records["switcher@example.com"].reason == "no longer subscribed to this policy"
    assert all(records[email].attempts == 0 for email in records if "user" not in email)


def test_a_batch_of_only_cancelled_rows_still_claims_the_rest(store):
    leavers = add(store, 5, prefix="a-leaver")
    add(store, 3, prefix="b-stayer")
    store.queue_notices(POLICY, 1, "notice")
    for email in leavers:
        store.unsubscribe(email)
    batch = store.claim_batch(POLICY, 1, "notice", 3)
    assert [task.email.split("0")[0] for task in batch] == ["b-stayer"] * 3


def test_requeue_revives_cancelled_rows_of_resubscribers(store):
    store.upsert_subscriber("ann@example.com")
    store.queue_notices(POLICY, 1, "notice")
    store.unsubscribe("ann@example.com")
    assert store.claim_batch(POLICY, 1, "notice", 10) == []
    assert states(store) == {"ann@example.com": "cancelled"}
    assert store.queue_notices(POLICY, 1, "notice") == 0
    store.upsert_subscriber("ann@example.com", resubscribe=True)
    assert store.queue_notices(POLICY, 1, "notice") == 1
    assert [task.email for task in store.claim_batch(POLICY, 1, "notice", 10)] == [
        "ann@example.com"
    ]


def test_sent_is_final(store):
    store.upsert_subscriber("ann@example.com")
    store.queue_notices(POLICY, 1, "notice")
    (task,) = store.claim_batch(POLICY, 1, "notice", 1)
    assert store.mark_sent(task.id, message_id="<1@redline>", smtp_code=250, smtp_message="OK")
    assert not store.mark_sent(task.id, message_id="<2@redline>", smtp_code=250, smtp_message="")
    assert not store.mark_failed(task.id, permanent=True, smtp_code=550, smtp_message="x")
    assert not store.release_claim(task.id)
    assert store.recover_in_flight(POLICY, 1, "notice") == 0
    assert store.queue_notices(POLICY, 1, "notice") == 0
    store.unsubscribe("ann@example.com")
    assert store.claim_batch(POLICY, 1, "notice", 5, retry_failed=True) == []
    (record,) = store.iter_notices(POLICY)
    assert (record.state, record.message_id, record.last_code) == ("sent", "<1@redline>", 250)
    assert record.sent_at is not None and record.sent_at >= record.claimed_at


def test_mark_sent_records_a_message_that_went_out_after_a_reset(store):
    store.upsert_subscriber("ann@example.com")
    store.queue_notices(POLICY, 1, "notice")
    (task,) = store.claim_batch(POLICY, 1, "notice", 1)
    store.recover_in_flight(POLICY, 1, "notice")  # another run thought this one had crashed
    assert store.mark_sent(task.id, message_id="<1@redline>", smtp_code=250, smtp_message="OK")
    assert states(store) == {"ann@example.com": "sent"}


def test_failures_and_retries(store, database_url):
    add(store, 3)
    store.queue_notices(POLICY, 1, "notice")
    first, second, third = store.claim_batch(POLICY, 1, "notice", 3)
    assert store.mark_failed(first.id, permanent=False, smtp_code=451, smtp_message="try later")
    assert store.mark_failed(second.id, permanent=True, smtp_code=550, smtp_message=b"no user")
    assert not store.mark_failed(second.id, permanent=False, smtp_code=421, smtp_message="")
    assert store.release_claim(third.id)
    assert [t.id for t in store.claim_batch(POLICY, 1, "notice", 10)] == [third.id]
    # this run tried that row once; the next run retries it
    assert store.claim_batch(POLICY, 1, "notice", 10, retry_failed=True) == []
    with Store.open(database_url) as next_run:
        retry = next_run.claim_batch(POLICY, 1, "notice", 10, retry_failed=True)
    assert [(t.id, t.attempts) for t in retry] == [(first.id, 2)]
    records = {record.id: record for record in store.iter_notices(POLICY)}
    assert records[second.id].state == "failed-permanent"
    assert (records[second.id].last_code, records[second.id].last_message) == (550, "no user")
    assert records[first.id].last_message == "try later"
    assert records[third.id].attempts == 1  # the released claim's attempt was taken back


def test_long_smtp_replies_are_clipped(store):
    store.upsert_subscriber("ann@example.com")
    store.queue_notices(POLICY, 1, "notice")
    (task,) = store.claim_batch(POLICY, 1, "notice", 1)
    store.mark_failed(task.id, permanent=False, smtp_code=451, smtp_message="x" * 10_000)
    (record,) = store.iter_notices(POLICY)
    assert len(record.last_message) == 2000


def test_ledger_survives_subscriber_removal(store):
    store.upsert_subscriber("ann@example.com", "Ann")
    store.upsert_subscriber("bob@example.com", "Bob")
    store.queue_notices(POLICY, 1, "notice")
    for task in store.claim_batch(POLICY, 1, "notice", 10):
        store.mark_sent(task.id, message_id=f"<{task.id}@redline>", smtp_code=250, smtp_message="")
    assert store.remove_subscriber("ann@example.com")
    records = {record.email: record for record in store.iter_notices(POLICY)}
    assert set(records) == {"ann@example.com", "bob@example.com"}
    assert records["ann@example.com"].state == "sent"
    assert records["ann@example.com"].subscriber_id is None
    assert store.ledger_counts(POLICY)["sent"] == 2
    # Coming back does not earn a second copy of the same notice; the proof is relinked.
    store.upsert_subscriber("ann@example.com", "Ann")
    assert store.queue_notices(POLICY, 1, "notice") == 0
    again = {record.email: record for record in store.iter_notices(POLICY)}
    assert again["ann@example.com"].subscriber_id == store.get_subscriber("ann@example.com").id


def test_iter_notices_filters_and_orders(store):
    add(store, 3)
    for version in (2, 1):
        for kind in KINDS:
            store.queue_notices(POLICY, version, kind)
    store.upsert_subscriber("other@example.com", policies=["terms"])
    store.queue_notices("terms", 1, "notice")
    keys = [(r.version, r.kind, r.email) for r in store.iter_notices(POLICY)]
    assert keys == sorted(keys)
    assert len(keys) == 18
    assert {r.kind for r in store.iter_notices(POLICY, 2, "reminder")} == {"reminder"}
    assert len(list(store.iter_notices(POLICY, version=1))) == 9
    assert [r.email for r in store.iter_notices("terms")] == [
        "other@example.com",
        "user00000@example.com",
        "user00001@example.com",
        "user00002@example.com",
    ]
    assert sum(store.ledger_counts(POLICY, kind="in-effect").values()) == 6


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@ss-SECRET@127.0.0.1:1/db",
        "postgresql://u:p@ss@-SECRET@127.0.0.1:1/db?connect_timeout=1",
        "postgresql://u:p@ss-SECRET@127.0.0.1:1/db?options=a@b",
    ],
)
def test_unencoded_at_in_the_password_never_shows_any_of_it(url):
    """Defect: 'u:***@ss-SECRET@...' on stderr and in the job summary."""
    with pytest.raises(StorageError) as caught:
        Store.open(url)
    text = str(caught.value)
    assert "SECRET" not in text and "ss" not in text.replace("postgresql", "")
    assert "postgresql+psycopg://u:***@127.0.0.1:1/db" in text


V1_SCHEMA = {
    "sqlite": """
CREATE TABLE redline_meta ("key" VARCHAR(64) NOT NULL, value TEXT NOT NULL, PRIMARY KEY ("key"));
CREATE TABLE subscribers (id INTEGER NOT NULL, email VARCHAR(320) NOT NULL, name TEXT,
  locale VARCHAR(35), created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL,
  unsubscribed_at DATETIME, PRIMARY KEY (id), CONSTRAINT uq_subscribers_email UNIQUE (email));
CREATE TABLE notices (id INTEGER NOT NULL, policy VARCHAR(200) NOT NULL,
  version INTEGER NOT NULL, kind VARCHAR(16) NOT NULL, subscriber_id INTEGER,
  email VARCHAR(320) NOT NULL, state VARCHAR(20) NOT NULL, attempts INTEGER NOT NULL,
  last_code INTEGER, last_message TEXT, message_id TEXT, reason TEXT,
  created_at DATETIME NOT NULL, claimed_at DATETIME, sent_at DATETIME,
  updated_at DATETIME NOT NULL, PRIMARY KEY (id),
  CONSTRAINT uq_notices_recipient UNIQUE (policy, version, kind, email),
  CONSTRAINT ck_notices_state CHECK (state IN ('pending', 'sending', 'sent',
    'failed-temporary', 'failed-permanent', 'cancelled')),
  CONSTRAINT ck_notices_kind CHECK (kind IN ('notice', 'reminder', 'in-effect')),
  FOREIGN KEY(subscriber_id) REFERENCES subscribers (id) ON DELETE SET NULL);
CREATE INDEX ix_notices_email ON notices (email);
CREATE INDEX ix_notices_claim ON notices (policy, version, kind, state, id);
CREATE INDEX ix_notices_subscriber ON notices (subscriber_id);
CREATE TABLE subscriptions (subscriber_id INTEGER NOT NULL, policy VARCHAR(200) NOT NULL,
  created_at DATETIME NOT NULL, PRIMARY KEY (subscriber_id, policy),
  FOREIGN KEY(subscriber_id) REFERENCES subscribers (id) ON DELETE CASCADE);
""",
    "postgresql": """
CREATE TABLE redline_meta (key VARCHAR(64) NOT NULL, value TEXT NOT NULL, PRIMARY KEY (key));
CREATE TABLE subscribers (id SERIAL NOT NULL, email VARCHAR(320) NOT NULL, name TEXT,
  locale VARCHAR(35), created_at TIMESTAMP WITH TIME ZONE NOT NULL,
  updated_at TIMESTAMP WITH TIME ZONE NOT NULL, unsubscribed_at TIMESTAMP WITH TIME ZONE,
  PRIMARY KEY (id), CONSTRAINT uq_subscribers_email UNIQUE (email));
CREATE TABLE notices (id BIGSERIAL NOT NULL, policy VARCHAR(200) NOT NULL,
  version INTEGER NOT NULL, kind VARCHAR(16) NOT NULL, subscriber_id INTEGER,
  email VARCHAR(320) NOT NULL, state VARCHAR(20) NOT NULL, attempts INTEGER NOT NULL,
  last_code INTEGER, last_message TEXT, message_id TEXT, reason TEXT,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL, claimed_at TIMESTAMP WITH TIME ZONE,
  sent_at TIMESTAMP WITH TIME ZONE, updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
  PRIMARY KEY (id), CONSTRAINT uq_notices_recipient UNIQUE (policy, version, kind, email),
  CONSTRAINT ck_notices_state CHECK (state IN ('pending', 'sending', 'sent',
    'failed-temporary', 'failed-permanent', 'cancelled')),
  CONSTRAINT ck_notices_kind CHECK (kind IN ('notice', 'reminder', 'in-effect')),
  FOREIGN KEY(subscriber_id) REFERENCES subscribers (id) ON DELETE SET NULL);
CREATE INDEX ix_notices_email ON notices (email);
CREATE INDEX ix_notices_claim ON notices (policy, version, kind, state, id);
CREATE INDEX ix_notices_subscriber ON notices (subscriber_id);
CREATE TABLE subscriptions (subscriber_id INTEGER NOT NULL, policy VARCHAR(200) NOT NULL,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY (subscriber_id, policy),
  FOREIGN KEY(subscriber_id) REFERENCES subscribers (id) ON DELETE CASCADE);
""",
}


def test_a_version_1_database_is_upgraded_with_its_data(database_url):
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            for statement in V1_SCHEMA[engine.dialect.name].split(";"):
                if statement.strip():
                    conn.execute(sa.text(statement))
            conn.execute(
                sa.text(
                    "INSERT INTO redline_meta (key, value) VALUES ('schema_version', '1'), "
                    "('created_by', 'redline 0.1.0')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO subscribers (email, created_at, updated_at) "
                    "VALUES ('ann@example.com', :t, :t)"
                ),
                {"t": "2024-01-01 00:00:00"},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO subscriptions (subscriber_id, policy, created_at) "
                    "VALUES (1, '*', :t)"
                ),
                {"t": "2024-01-01 00:00:00"},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO notices (policy, version, kind, subscriber_id, email, state, "
                    "attempts, last_code, created_at, updated_at) VALUES ('privacy-policy', 1, "
                    "'notice', 1, 'ann@example.com', 'failed-permanent', 1, 530, :t, :t)"
                ),
                {"t": "2024-01-01 00:00:00"},
            )
    finally:
        engine.dispose()
    with Store.open(database_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.requeue(POLICY, 1, "notice", states=["failed-permanent"], codes=["530"]) == 1
        (task,) = store.claim_batch(POLICY, 1, "notice", 5)
        assert task.attempts == 2
        assert store.mark_done(task.id, "unknown", smtp_code=None, smtp_message="no reply")
        (record,) = store.iter_notices(POLICY, history=True)
    assert (record.state, record.attempts) == ("unknown", 2)
    assert [event.event for event in record.history] == ["requeued", "unknown"]
    with Store.open(database_url) as store:  # opening again changes nothing
        assert store.ledger_counts(POLICY)["unknown"] == 1


def test_a_password_with_a_slash_and_an_at_is_parsed_whole():
    from redline.ledger.db import parse_url

    parsed = parse_url("postgresql://u:pa/s@s@db.example:5432/name")
    assert (parsed.password, parsed.host, parsed.database) == ("pa/s@s", "db.example", "name")
