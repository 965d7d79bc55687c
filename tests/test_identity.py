"""One address per person: identity is the address case-folded, the first form is shown.

The import case of issue 15 (a CSV naming one person twice, in two cases, sends one notice)
and the schema version 4 migration, which merges the case-duplicates of an older database
while keeping every proof row. On SQLite and PostgreSQL, against aiosmtpd on loopback.
"""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from redline.cli import cli
from redline.errors import InputError
from redline.ledger.checks import email_key, normalize_email
from redline.ledger.csv_import import import_csv
from redline.ledger.merge import MERGED_REASON
from redline.ledger.schema import SCHEMA_VERSION
from redline.ledger.store import Store
from redline.mail.send import send_notices
from smtp_servers import running_server
from test_leases import V2_EXTRA
from test_notify import NOTICE, SECRET, make_settings, smtp
from test_store import V1_SCHEMA

POLICY = "privacy"


def notify(tmp_path, store: Store, version: int):
    """A real notify run of ``POLICY`` ``version`` to a fresh aiosmtpd; (report, handler)."""
    with running_server() as server:
        report = send_notices(
            make_settings(tmp_path),
            store,
            smtp(server),
            NOTICE,
            policy=POLICY,
            version=version,
            kind="notice",
        )
    return report, server.handler


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("USER1@EXAMPLE.ORG", "user1@example.org"),
        ("Straße@BÜCHER.de", "strasse@bücher.de"),  # casefold, not lower: ß is ss
        ("x@xn--bcher-kva.de", "x@bücher.de"),  # the domain as email-validator gives it
    ],
)
def test_the_key_is_the_whole_address_case_folded(given, key):
    assert email_key(normalize_email(given)) == key


def test_a_csv_naming_one_person_in_two_cases_sends_one_notice(tmp_path, database_url):
    people = [f"reader{i:02d}@example.org,Reader {i}" for i in range(2, 41)]
    rows = ["email,name", "USER1@EXAMPLE.ORG,User One", *people, "user1@example.org,again"]
    path = tmp_path / "subscribers.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with Store.open(database_url) as store:
        report = import_csv(store, path)
        assert (report.added, [row.line for row in report.skipped]) == (40, [42])
        assert store.count_subscribers() == 40
        result, handler = notify(tmp_path, store, 2)
    assert result.sent == 40 and len(handler.messages) == 40
    told = handler.per_recipient()
    assert told["USER1@example.org"] == 1 and "user1@example.org" not in told
    (message,) = [m for m in handler.messages if m.rcpt_tos == ["USER1@example.org"]]
    assert message.parsed()["To"].addresses[0].addr_spec == "USER1@example.org"


def test_cli_commands_match_the_address_in_any_case(policy_repo, database_url):
    repo = policy_repo("policies-repo")
    repo.write("policies/privacy.md", "# Privacy\n\nEffective date: 2024-01-15\n\nText.\n")
    repo.commit("Add policy")
    env = {"REDLINE_DATABASE_URL": database_url, "REDLINE_SECRET": SECRET}

    def run(*args: str):
        result = CliRunner().invoke(cli, ["--repo", str(repo.root), *args], env=env)
        assert result.exit_code == 0, result.output
        return result

    run("subscribers", "add", "Ann.Lee@Example.org")
    assert "unchanged" in run("subscribers", "add", "ANN.LEE@example.ORG").output
    listed = json.loads(run("subscribers", "list", "--json").stdout)
    assert [(entry["email"], entry["merged_from"]) for entry in listed] == [
        ("Ann.Lee@example.org", [])
    ]
    run("subscribers", "unsubscribe", "ann.lee@EXAMPLE.org")
    with Store.open(database_url) as store:
        assert store.count_subscribers() == 0
        assert store.count_subscribers(include_unsubscribed=True) == 1


# -- the version 4 migration ------------------------------------------------------------------

T = {f"t{n}": f"2024-0{n}-01 00:00:00" for n in range(1, 5)}
# id, address, subscribed at, unsubscribed at
SUBSCRIBERS = [
    (1, "ann@example.com", "t1", None),
    (2, "ANN@example.com", "t2", "t3"),  # left; merged into 1 (earlier, active)
    (3, "Bob@example.com", "t2", "t3"),
    (4, "bob@example.com", "t1", "t4"),  # earlier than 3 though a later id: 3 merges into 4
    (5, "cat@example.com", "t1", None),
    (6, "Dee@example.com", "t1", None),
    (7, "DEE@example.com", "t2", None),
]
SUBSCRIPTIONS = [
    (1, "*", "t1"),
    (2, "terms", "t2"),
    (3, "terms", "t2"),
    (4, "privacy", "t1"),
    (5, "*", "t1"),
    (6, "privacy", "t3"),
    (7, "privacy", "t2"),
    (7, "terms", "t2"),
]
# subscriber, address, version, state
NOTICES = [
    (1, "ann@example.com", 1, "sent"),
    (2, "ANN@example.com", 1, "sent"),  # the same campaign twice: both rows are proof
    (1, "ann@example.com", 2, "pending"),
    (2, "ANN@example.com", 2, "sent"),  # told at v2 already: ann's pending row is moot
    (6, "Dee@example.com", 2, "pending"),
    (7, "DEE@example.com", 2, "failed-temporary"),  # one of the two waits on
    (3, "Bob@example.com", 2, "cancelled"),
    (1, "ann@example.com", 3, "sent"),
    (2, "ANN@example.com", 3, "failed-permanent"),  # a retry would tell Ann twice
    (6, "Dee@example.com", 3, "unknown"),
    (7, "DEE@example.com", 3, "unknown"),  # a resend goes to one of the two
]


def make_v2_with_case_duplicates(url: str) -> None:
    """A schema version 2 database (raw SQL, as redline 0.1 made it) with case-duplicates,
    and a history event on two of their rows."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            v1 = V1_SCHEMA[engine.dialect.name]
            if engine.dialect.name == "sqlite":  # version 2 rebuilt the table with 'unknown'
                v1 = v1.replace("'failed-permanent',", "'failed-permanent', 'unknown',")
            for statement in [*v1.split(";"), *V2_EXTRA[engine.dialect.name]]:
                if statement.strip():
                    conn.execute(sa.text(statement))
            conn.execute(
                sa.text("INSERT INTO redline_meta (key, value) VALUES ('schema_version', '2')")
            )
            for _, email, since, left in SUBSCRIBERS:  # ids in order, as serials give them
                conn.execute(
                    sa.text(
                        "INSERT INTO subscribers (email, created_at, updated_at, "
                        "unsubscribed_at) VALUES (:e, :c, :c, :u)"
                    ),
                    {"e": email, "c": T[since], "u": left and T[left]},
                )
            for sid, policy, since in SUBSCRIPTIONS:
                conn.execute(
                    sa.text("INSERT INTO subscriptions VALUES (:i, :p, :c)"),
                    {"i": sid, "p": policy, "c": T[since]},
                )
            for sid, email, version, state in NOTICES:
                conn.execute(
                    sa.text(
                        "INSERT INTO notices (policy, version, kind, subscriber_id, email, "
                        "state, attempts, created_at, updated_at) VALUES "
                        "('privacy', :v, 'notice', :i, :e, :s, 1, :c, :c)"
                    ),
                    {"v": version, "i": sid, "e": email, "s": state, "c": T["t3"]},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO notice_events (notice_id, at, event, code, message) VALUES "
                    "(2, :t, 'sent', 250, 'queued'), (6, :t, 'failed-temporary', 451, 'later')"
                ),
                {"t": T["t3"]},
            )
    finally:
        engine.dispose()


def test_a_database_with_case_duplicates_is_merged_keeping_every_proof_row(
    tmp_path, database_url, caplog
):
    make_v2_with_case_duplicates(database_url)
    with caplog.at_level(logging.INFO, logger="redline"):
        store = Store.open(database_url)
    with store:
        assert store.schema_version() == SCHEMA_VERSION == 6
        logged = [r.getMessage() for r in caplog.records if "differ only in case" in r.message]
        assert logged == [
            "merged 3 addresses that differ only in case into 3 subscribers "
            "(`redline subscribers list --json` shows merged_from)"
        ]
        assert "@" not in caplog.text
        everyone = {s.email: s for s in store.iter_subscribers(include_unsubscribed=True)}
        assert sorted(everyone) == [
            "Dee@example.com",
            "ann@example.com",
            "bob@example.com",
            "cat@example.com",
        ]
        ann, bob, dee = (
            everyone["ann@example.com"],
            everyone["bob@example.com"],
            everyone["Dee@example.com"],
        )
        assert (ann.id, ann.merged_from, ann.policies, ann.active) == (
            1,
            ("ANN@example.com",),
            None,
            True,
        )
        # All of Bob's rows had left: he stays unsubscribed, from the last one's date.
        assert (bob.id, bob.merged_from, bob.policies) == (
            4,
            ("Bob@example.com",),
            ("privacy", "terms"),
        )
        assert bob.unsubscribed.isoformat() == "2024-04-01T00:00:00+00:00"
        assert (dee.id, dee.policies, dee.active) == (6, ("privacy", "terms"), True)
        records = {r.id: r for r in store.iter_notices(POLICY)}
        assert sorted(records) == list(range(1, len(NOTICES) + 1))  # no proof row deleted
        assert {r.id: r.subscriber_id for r in records.values()} == {
            1: 1,
            2: 1,
            3: 1,
            4: 1,
            5: 6,
            6: 6,
            7: 4,
            8: 1,
            9: 1,
            10: 6,
            11: 6,
        }
        history = {
            r.id: [e.event for e in r.history] for r in store.iter_notices(POLICY, history=True)
        }
        assert history[2] == ["sent"] and history[6] == ["failed-temporary"]
        assert (records[3].state, records[3].reason) == ("cancelled", MERGED_REASON)
        assert (records[5].state, records[6].state) == ("pending", "cancelled")
        assert {r.email_key for r in records.values()} == {
            "ann@example.com",
            "dee@example.com",
            "bob@example.com",
        }
        # A notify afterwards tells only who was not told: Dee once, Cat; never Ann again.
        dry = send_notices(
            make_settings(tmp_path),
            store,
            None,
            NOTICE,
            policy=POLICY,
            version=2,
            kind="notice",
            dry_run=True,
        )
        assert (dry.would_send, dry.already_sent) == (2, 1)
        report, handler = notify(tmp_path, store, 2)
        assert handler.per_recipient() == {"Dee@example.com": 1, "cat@example.com": 1}
        assert report.sent == 2
        assert store.queue_notices(POLICY, 2, "notice") == 0  # merged rows are not revived
        report, handler = notify(tmp_path, store, 1)
        assert handler.per_recipient() == {"Dee@example.com": 1, "cat@example.com": 1}
        assert store.ledger_counts(POLICY, 1)["sent"] == 4
    with Store.open(database_url) as again:  # opening again changes nothing
        assert again.count_subscribers(include_unsubscribed=True) == 4
        assert len(list(again.iter_notices(POLICY))) == len(NOTICES) + 3


def test_merged_from_is_in_the_list_json(policy_repo, database_url):
    make_v2_with_case_duplicates(database_url)
    repo = policy_repo("policies-repo")
    repo.write("policies/privacy.md", "# Privacy\n\nEffective date: 2024-01-15\n\nText.\n")
    repo.commit("Add policy")
    result = CliRunner().invoke(
        cli,
        ["--repo", str(repo.root), "subscribers", "list", "--json", "--all"],
        env={"REDLINE_DATABASE_URL": database_url, "REDLINE_SECRET": SECRET},
    )
    assert result.exit_code == 0, result.output
    merged = {e["email"]: e["merged_from"] for e in json.loads(result.stdout)}
    assert merged == {
        "ann@example.com": ["ANN@example.com"],
        "bob@example.com": ["Bob@example.com"],
        "cat@example.com": [],
        "Dee@example.com": ["DEE@example.com"],
    }


def test_an_unsubscribe_link_sent_to_a_merged_address_still_works(database_url):
    from redline.env import Environment
    from redline.ledger.subscribers import make_token, resolve_target

    env = Environment({"REDLINE_SECRET": SECRET})
    make_v2_with_case_duplicates(database_url)
    sent_before = make_token("ANN@example.com", 2, env=env)  # id 2 is merged into 1
    with Store.open(database_url) as store:
        assert resolve_target(store, sent_before, env=env) == "ann@example.com"
        assert resolve_target(store, make_token("ann@example.com", 1, env=env), env=env) == (
            "ann@example.com"
        )
        stranger = make_token("zed@example.com", 2, env=env)
        with pytest.raises(InputError, match="names no current subscriber"):
            resolve_target(store, stranger, env=env)


def test_a_merged_person_is_never_requeued_twice(database_url):
    make_v2_with_case_duplicates(database_url)
    with Store.open(database_url) as store:
        assert store.requeue(POLICY, 3, "notice", states=["failed-permanent"]) == 0
        assert store.requeue(POLICY, 3, "notice", states=["unknown"]) == 1
        states = {r.id: r.state for r in store.iter_notices(POLICY, 3)}
        assert states == {8: "sent", 9: "failed-permanent", 10: "pending", 11: "unknown"}
        assert store.requeue(POLICY, 3, "notice", states=["unknown"]) == 0  # one is waiting
