"""``redline remind``: reminders, in-effect notices and retries, on real git repositories,
a real aiosmtpd server, and SQLite and PostgreSQL (the ``database_url`` fixture).

Timeline: privacy-policy v2 (material) is released on 2026-03-02 with 30 days of notice, so
it takes effect on 2026-04-01; the 7-day reminder is due on 2026-03-25.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from redline.errors import DeliveryError
from redline.jobs.remind import IN_EFFECT_GRACE_DAYS, reminder_days
from release_world import FROM, SECRET, World
from smtp_servers import FaultHandler, RecordingHandler, running_server

RELEASED = date(2026, 3, 2)
EFFECTIVE = date(2026, 4, 1)
REMINDER_DAY = date(2026, 3, 25)
PRIVACY_READERS = ["alice@example.com", "bob@example.com", "erin@example.com"]


def make_world(tmp_path, policy_repo, database_url, handler=None, config=""):
    server = running_server(handler or RecordingHandler())
    smtp = server.__enter__()
    world = World(tmp_path, policy_repo, database_url, smtp, config=config)
    world.stop = lambda: server.__exit__(None, None, None)
    return world


def released_world(tmp_path, policy_repo, url):
    """privacy-policy v2 released on RELEASED; its notice went to every subscriber."""
    world = make_world(tmp_path, policy_repo, url)
    world.merge("Share data with advertisers", "payment processor only", "advertising partners")
    report = world.release(RELEASED)
    assert [(i.policy.slug, i.version, i.effective_date) for i in report.plan.releases] == [
        ("privacy-policy", 2, EFFECTIVE)
    ]
    assert report.notices_sent == 3
    world.smtp.handler.messages.clear()
    return world


@pytest.fixture
def world(tmp_path, policy_repo, database_url):
    """A released world on SQLite and on PostgreSQL."""
    world = released_world(tmp_path, policy_repo, database_url)
    yield world
    world.stop()


@pytest.fixture
def sqlite_world(tmp_path, policy_repo):
    """A released world on SQLite only (for rules that do not depend on the database)."""
    url = f"sqlite:///{(tmp_path / 'ledger.db').as_posix()}"
    world = released_world(tmp_path, policy_repo, url)
    yield world
    world.stop()


def test_nothing_due_between_the_notice_and_the_reminder(sqlite_world):
    report = sqlite_world.remind(RELEASED + timedelta(days=1))
    assert report.results == []
    assert report.sent == 0
    assert sqlite_world.received() == []


def test_reminder_day_sends_one_reminder_to_each_subscriber(world):
    assert reminder_days(world_release(world), (7,)) == [REMINDER_DAY]
    report = world.remind(REMINDER_DAY)
    assert [(r.job.kind, r.job.reason) for r in report.results] == [("reminder", "7 days left")]
    assert report.sent == 3
    received = world.received()
    assert [rcpt for rcpt, _, _ in received] == PRIVACY_READERS
    assert {kind for _, kind, _ in received} == {"reminder"}
    assert all("Privacy Policy" in subject for _, _, subject in received)
    assert all("April 1, 2026" in subject for _, _, subject in received)
    with world.store() as store:
        assert store.ledger_counts("privacy-policy", 2, "reminder")["sent"] == 3

    # Running again the same day, or the next days, sends nothing more.
    for day in (REMINDER_DAY, REMINDER_DAY + timedelta(days=1)):
        again = world.remind(day)
        assert again.sent == 0 and again.results == []
    assert len(world.received()) == 3


def test_a_missed_reminder_day_is_caught_up_once(sqlite_world):
    report = sqlite_world.remind(REMINDER_DAY + timedelta(days=2))
    assert [r.job.kind for r in report.results] == ["reminder"]
    assert report.results[0].job.reason == "catch-up: the 7-day reminder was not sent"
    assert report.sent == 3
    assert sqlite_world.remind(REMINDER_DAY + timedelta(days=3)).sent == 0


def test_remind_days_empty_disables_reminders(tmp_path, policy_repo):
    url = f"sqlite:///{(tmp_path / 'ledger.db').as_posix()}"
    world = make_world(tmp_path, policy_repo, url)
    try:
        (world.root / "redline.toml").write_text(
            (world.root / "redline.toml")
            .read_text()
            .replace("remind_days = [7]", "remind_days = []")
        )
        world.work.commit("No reminders", "redline.toml")
        world.merge("Share", "payment processor only", "advertising partners")
        world.release(RELEASED)
        world.smtp.handler.messages.clear()
        assert world.remind(REMINDER_DAY).results == []
        assert world.received() == []
    finally:
        world.stop()


def test_effective_day_sends_in_effect_notice_when_configured(world):
    # Without send_in_effect: nothing on the day, and the notice is no longer retried.
    with world.store() as store:
        store.upsert_subscriber("late@example.com", "Late")
    report = world.remind(EFFECTIVE)
    assert report.results == []
    assert world.received() == []

    report = world.remind(EFFECTIVE, settings={"send_in_effect": True})
    assert [(r.job.kind, r.job.reason) for r in report.results] == [
        ("in-effect", "effective today")
    ]
    received = world.received()
    assert [rcpt for rcpt, _, _ in received] == sorted([*PRIVACY_READERS, "late@example.com"])
    assert {kind for _, kind, _ in received} == {"in-effect"}
    # Once only; and not at all after the grace period.
    assert world.remind(EFFECTIVE + timedelta(days=1), settings={"send_in_effect": True}).sent == 0
    late = EFFECTIVE + timedelta(days=IN_EFFECT_GRACE_DAYS + 1)
    assert world.remind(late, settings={"send_in_effect": True}).results == []


def test_new_subscribers_get_the_notice_and_short_notice_is_reported(sqlite_world):
    day = EFFECTIVE - timedelta(days=10)
    with sqlite_world.store() as store:
        store.upsert_subscriber("new@example.com", "New Reader")
        store.upsert_subscriber("newer@example.com", "Newer", policies=["privacy-policy"])
    report = sqlite_world.remind(day)
    assert [(r.job.kind, r.job.reason) for r in report.results] == [
        ("notice", "2 subscribers waiting")
    ]
    assert [(rcpt, kind) for rcpt, kind, _ in sqlite_world.received()] == [
        ("new@example.com", "notice"),
        ("newer@example.com", "notice"),
    ]
    [short] = report.short_notice
    assert (short.policy, short.version, short.days_left, short.required) == (
        "privacy-policy",
        2,
        10,
        30,
    )
    assert (short.notified_late, short.waiting) == (2, 0)
    assert "2 subscribers notified with only 10 days of notice" in short.describe()
    assert "@" not in json.dumps(report.to_json())  # counts only, never addresses


def test_failed_notices_are_retried_while_the_date_is_ahead(tmp_path, policy_repo, database_url):
    handler = FaultHandler(temporary={"bob@example.com": ("451 4.3.0 try again later", 2)})
    world = make_world(tmp_path, policy_repo, database_url, handler=handler)
    try:
        world.merge("Share", "payment processor only", "advertising partners")
        report = world.release(RELEASED)
        assert report.notices_sent == 2 and report.notices_failed == 1
        with world.store() as store:
            assert store.ledger_counts("privacy-policy", 2, "notice")["failed-temporary"] == 1
        world.smtp.handler.messages.clear()

        # Dry run: counts the retry, sends and records nothing.
        dry = world.remind(RELEASED + timedelta(days=1), dry_run=True)
        assert dry.would_send == 1 and world.received() == []

        retry = world.remind(RELEASED + timedelta(days=1))
        assert [(r.job.kind, r.job.reason) for r in retry.results] == [
            ("notice", "1 subscriber waiting")
        ]
        assert [rcpt for rcpt, _, _ in world.received()] == ["bob@example.com"]
        with world.store() as store:
            counts = store.ledger_counts("privacy-policy", 2, "notice")
        assert (counts["sent"], counts["failed-temporary"]) == (3, 0)
    finally:
        world.stop()


def test_an_unreachable_server_stops_the_run_and_keeps_work_pending(sqlite_world):
    with sqlite_world.store() as store:
        store.upsert_subscriber("new@example.com", "New")
    sqlite_world.stop()  # the SMTP server goes away
    report = sqlite_world.remind(REMINDER_DAY)
    assert isinstance(report.error, DeliveryError)
    assert "cannot reach the SMTP server" in str(report.error)
    with sqlite_world.store() as store:
        assert store.count_unnotified("privacy-policy", 2, "notice") == 1
        assert store.ledger_counts("privacy-policy", 2, "reminder")["sent"] == 0


def run_cli(world, *args):
    from redline.cli import cli

    unset = ("REDLINE_TODAY", "GITHUB_ACTIONS", "REDLINE_SMTP_USER", "REDLINE_SMTP_PASSWORD")
    env = {
        **dict.fromkeys(unset),
        **world.smtp.env(REDLINE_FROM=FROM),
        "REDLINE_SECRET": SECRET,
        "REDLINE_DATABASE_URL": world.database_url,
    }
    return CliRunner().invoke(
        cli, ["--repo", str(world.root), "remind", *args], env=env, catch_exceptions=False
    )


def test_command_line_json_and_exit_codes(sqlite_world):
    result = run_cli(sqlite_world, "--json", "--today", REMINDER_DAY.isoformat())
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sent"] == 3
    assert [(j["policy"], j["version"], j["kind"]) for j in data["jobs"]] == [
        ("privacy-policy", 2, "reminder")
    ]
    text = run_cli(sqlite_world, "--today", REMINDER_DAY.isoformat())
    assert text.exit_code == 0
    assert "Nothing due today." in text.stdout
    sqlite_world.stop()
    with sqlite_world.store() as store:
        store.upsert_subscriber("new@example.com", "New")
    down = run_cli(sqlite_world, "--today", (REMINDER_DAY + timedelta(days=1)).isoformat())
    assert down.exit_code == 4
    assert "cannot reach the SMTP server" in down.stderr


def world_release(world):
    from redline.history.repo import PolicyRepo

    repo = PolicyRepo(world.settings())
    release = repo.latest_release(repo.resolve("privacy-policy"))
    assert release is not None
    return release
