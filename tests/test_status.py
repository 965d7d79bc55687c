"""``redline status`` before and after a release, on real git repositories, a real aiosmtpd
server, and SQLite and PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from release_world import SECRET, World
from smtp_servers import FaultHandler, RecordingHandler, running_server

RELEASED = date(2026, 3, 2)
EFFECTIVE = date(2026, 4, 1)


def make_world(tmp_path, policy_repo, url):
    handler = FaultHandler(permanent={"erin@example.com": "550 5.1.1 no such mailbox"})
    with running_server(handler) as smtp:
        yield World(tmp_path, policy_repo, url, smtp)


@pytest.fixture
def world(tmp_path, policy_repo, database_url):
    """On SQLite and on PostgreSQL; erin's address is refused permanently."""
    yield from make_world(tmp_path, policy_repo, database_url)


@pytest.fixture
def sqlite_world(tmp_path, policy_repo):
    """As ``world``, on SQLite only."""
    url = f"sqlite:///{(tmp_path / 'ledger.db').as_posix()}"
    yield from make_world(tmp_path, policy_repo, url)


def by_slug(report):
    return {item.policy.slug: item for item in report.policies}


def test_status_before_and_after_a_release(world):
    # Before: the baselines are in effect; nothing pending, nothing to warn about.
    before = by_slug(world.status(RELEASED))
    privacy = before["privacy-policy"]
    assert privacy.current is not None and privacy.current.release.version == 1
    assert privacy.current.notices is None  # the baseline notified nobody
    assert privacy.pending == [] and privacy.warnings == []

    # A merged change that is not released yet.
    world.merge("Share data with advertisers", "payment processor only", "advertising partners")
    merged = by_slug(world.status(RELEASED))["privacy-policy"]
    assert (merged.unreleased, merged.next_version) == ("material", 2)
    assert merged.warnings == [
        "text on main differs from the last release (v1): a material change that "
        "`redline release` would publish as v2, effective 2026-04-01, notifying subscribers "
        "(material change: notice period of 30 days)"
    ]
    assert merged.next_release is not None and merged.next_release["notify"] is True
    assert by_slug(world.status(RELEASED))["terms-of-service"].warnings == []

    # After the release: v2 pending with its days left and its notices.
    report = world.release(RELEASED)
    assert report.notices_sent == 2 and report.notices_failed == 1
    after = by_slug(world.status(RELEASED + timedelta(days=5)))["privacy-policy"]
    assert after.current is not None and after.current.release.version == 1
    [pending] = after.pending
    assert pending.release.version == 2
    assert pending.release.effective_date == EFFECTIVE
    assert pending.days_left == 25
    notices = pending.notices["notice"]
    assert (notices.sent, notices.failed_permanent, notices.pending) == (2, 1, 0)
    assert pending.not_notified == 0
    assert after.unreleased is None
    assert after.warnings == [
        "1 notice of v2 failed permanently (`redline notices privacy-policy --version 2` lists "
        "them; `redline notify privacy-policy --version 2 --retry-failed` re-queues them)"
    ]

    # New subscribers with 5 days left: not yet notified, and short of the full notice.
    with world.store() as store:
        store.upsert_subscriber("new@example.com", "New")
        store.upsert_subscriber("newer@example.com", "Newer", policies=["privacy-policy"])
        store.upsert_subscriber("other@example.com", "Other", policies=["terms-of-service"])
    late = by_slug(world.status(EFFECTIVE - timedelta(days=5)))["privacy-policy"]
    assert late.pending[0].not_notified == 2
    assert (
        "2 subscribers not yet notified of v2 and 5 days left; they can no longer get the "
        "full 30 days of notice"
    ) in late.warnings

    # On the effective date v2 is the version in effect.
    effective = by_slug(world.status(EFFECTIVE))["privacy-policy"]
    assert effective.current is not None and effective.current.release.version == 2
    assert effective.pending == []


def test_status_without_a_database_and_for_one_policy(tmp_path, policy_repo):
    from redline.history.repo import PolicyRepo
    from redline.jobs.status import collect_status, open_ledger

    with running_server(RecordingHandler()) as smtp:
        url = f"sqlite:///{tmp_path / 'other.db'}"
        world = World(tmp_path, policy_repo, url, smtp, environ={"REDLINE_SECRET": SECRET})
    settings = world.settings()
    assert open_ledger(settings) is None  # no .redline/redline.db: status creates none
    report = collect_status(
        PolicyRepo(settings), settings, today=RELEASED, policy="privacy-policy", store=None
    )
    assert [item.policy.slug for item in report.policies] == ["privacy-policy"]
    assert any("notice counts are unknown" in warning for warning in report.warnings)
    assert not (world.root / ".redline").exists()


def run_cli(world, *args):
    from redline.cli import cli

    return CliRunner().invoke(
        cli,
        ["--repo", str(world.root), "status", *args],
        env={
            "REDLINE_SECRET": SECRET,
            "REDLINE_DATABASE_URL": world.database_url,
            "REDLINE_TODAY": None,
            "GITHUB_ACTIONS": None,
        },
        catch_exceptions=False,
    )


def test_command_line_text_and_json(sqlite_world):
    world = sqlite_world
    world.merge("Share data with advertisers", "payment processor only", "advertising partners")
    world.release(RELEASED)
    text = run_cli(world, "--today", "2026-03-27")
    assert text.exit_code == 0, text.stderr
    [line] = [row for row in text.stdout.splitlines() if row.startswith("policies/privacy")]
    assert "| in effect: v1 since 2026-01-15" in line
    assert "| pending: v2 effective 2026-04-01 (5 days left, material;" in line
    assert "notices: 2 sent, 1 failed, 0 pending" in line
    assert "| 1 to act on" in line
    assert "  warning: 1 notice of v2 failed permanently" in text.stdout
    assert text.stdout.splitlines()[-1].startswith("2 policies: 2 in effect, 1 with a pending")
    only = run_cli(world, "--problems", "--today", "2026-03-27").stdout
    assert "policies/privacy-policy.md" in only and "policies/terms-of-service.md" not in only

    data = json.loads(run_cli(world, "privacy-policy", "--json", "--today", "2026-03-27").stdout)
    [policy] = data["policies"]
    assert policy["current"]["version"] == 1
    [pending] = policy["pending"]
    assert (pending["version"], pending["days_left"]) == (2, 5)
    assert pending["notices"]["notice"] == {
        "sent": 2,
        "failed_temporary": 0,
        "failed_permanent": 1,
        "unknown": 0,
        "bounced": 0,
        "pending": 0,
        "cancelled": 0,
    }
    assert "@" not in json.dumps(data["policies"])

    unknown = run_cli(world, "nope")
    assert unknown.exit_code == 2
    assert "unknown policy 'nope'" in unknown.stderr


def test_unknown_notices_and_a_policy_release_would_leave_out(sqlite_world):
    import sqlalchemy as sa

    from redline.ledger.schema import notices_table

    world = sqlite_world
    world.merge("Share data with advertisers", "payment processor only", "advertising partners")
    world.release(RELEASED)
    with world.store() as store, store._engine.begin() as conn:
        conn.execute(
            sa.update(notices_table)
            .where(notices_table.c.state == "sent", notices_table.c.version == 2)
            .values(state="unknown")
        )
    # A second change whose date line release can't rewrite: two dates that disagree.
    world.merge(
        "terms: a second, different date line",
        "## 1.",
        "Effective date: March 3, 2021\n\n## 1.",
        path="policies/terms-of-service.md",
    )
    report = by_slug(world.status(RELEASED + timedelta(days=1)))
    privacy = report["privacy-policy"]
    [pending] = privacy.pending
    assert pending.notices["notice"].unknown == 2
    assert any(
        "2 notices of v2 may or may not have been delivered" in w and "--resend-unknown" in w
        for w in privacy.warnings
    )
    terms = report["terms-of-service"]
    assert not any("would leave it out" in w for w in terms.warnings)  # reported once
    assert [problem.message for problem in terms.problems] == [
        "policies/terms-of-service.md: the policy states different dates: line 3: 'Effective "
        "date: 2026-01-15'; line 5: 'Effective date: March 3, 2021'"
    ]
