"""Interrupted and concurrent releases: a real ``redline release`` process is SIGKILLed at each
step (``REDLINE_TEST_KILL_AT``, a git pre-push hook, the SMTP server), then a re-run must leave
exactly one release commit, the right tags, one changelog entry per version and one notice per
subscriber; a second run while one holds the repository's lock stops at once and touches
nothing. On SQLite and PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import test_release
from smtp_servers import RecordingHandler, running_server
from test_release import TODAY, World, git

# The fixtures of the release tests: the released repository, SMTP, the clean environment.
_environment = test_release._environment
released_template = test_release.released_template
smtp = test_release.smtp
world = test_release.world

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and sh hooks")

TAGS = {"privacy-policy/v1", "privacy-policy/v2", "terms-of-service/v1", "terms-of-service/v2"}
NOTICES = Counter({"alice@example.com": 2, "bob@example.com": 1, "carol@example.com": 1})


def merge_both(world: World) -> str:
    """A material change of both policies (two tags, four notices)."""
    return world.merge(
        "Share more",
        privacy=world.edit("privacy", "payment processor only", "payment processor and bank"),
        terms=world.edit("terms", "16 years old", "18 years old"),
    )


def start_release(world: World, **env: str) -> subprocess.Popen[str]:
    """``python -m redline release --push`` as its own process."""
    environ = {
        **os.environ,
        **world.smtp.env(REDLINE_FROM="Acme Legal <legal@acme.example>"),
        "REDLINE_TODAY": TODAY.isoformat(),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "redline", "--repo", str(world.root), "release", "--push"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, stderr


def journal(world: World) -> Path:
    return world.root / ".git" / "redline" / "release.json"


def assert_released_once(world: World, merged: str) -> None:
    """One release commit on the merge, both v2 tags on it, everywhere; one entry each."""
    head = world.head()
    assert git(world.root, "rev-list", "--count", f"{merged}..HEAD").strip() == "1"
    assert git(world.root, "rev-parse", "HEAD~1").strip() == merged
    assert world.origin_tip() == head
    assert world.origin_tags() == TAGS and world.local_tags() == TAGS
    for tag in ("privacy-policy/v2", "terms-of-service/v2"):
        assert git(world.origin, "rev-parse", f"{tag}^{{commit}}").strip() == head
    for slug in ("privacy-policy", "terms-of-service"):
        log = world.origin_file(f"policies/{slug}.changelog.md")
        assert log.count("<!-- redline:entry v2 -->") == 1, log
    assert world.status() == ""
    assert not journal(world).exists()


def rerun_and_check(world: World, merged: str) -> dict[str, Any]:
    rerun = world.release("--push", "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert_released_once(world, merged)
    third = world.release("--push", "--json")
    assert third.returncode == 0, third.stderr
    assert third.json()["releases"] == [] and third.json()["notices"] == []
    assert world.head() == git(world.origin, "rev-parse", "main").strip()
    return rerun.json()


@pytest.mark.parametrize(
    ("step", "outcome"),
    [
        ("written", "rolled back"),
        ("staged", "rolled back"),
        ("committed", "finished"),
        ("tag", "finished"),
        ("tagged", "finished"),
    ],
)
def test_a_release_killed_at_a_step_is_finished_or_rolled_back_by_the_next_run(
    world, step, outcome
):
    merged = merge_both(world)
    returncode, stderr = finish(start_release(world, REDLINE_TEST_KILL_AT=step))
    assert returncode == -signal.SIGKILL, stderr
    assert journal(world).exists()
    assert world.origin_tip() == merged  # nothing pushed yet
    assert world.smtp.handler.messages == []

    report = rerun_and_check(world, merged)
    assert any(w.startswith(outcome) for w in report["warnings"]), report["warnings"]
    assert world.smtp.handler.per_recipient() == NOTICES


def test_a_release_killed_during_the_push_is_finished_by_the_next_run(world, tmp_path):
    merged = merge_both(world)
    pid_file = tmp_path / "redline.pid"
    hook = world.root / ".git" / "hooks" / "pre-push"
    hook.write_text(
        f'#!/bin/sh\nkill -9 "$(cat {pid_file})"\nsleep 0.2\nexit 1\n', encoding="utf-8"
    )
    hook.chmod(0o755)
    process = start_release(world)
    pid_file.write_text(str(process.pid), encoding="utf-8")
    returncode, stderr = finish(process)
    hook.unlink()
    assert returncode == -signal.SIGKILL, stderr
    assert world.origin_tip() == merged and journal(world).exists()

    report = rerun_and_check(world, merged)
    assert any(w.startswith("finished") for w in report["warnings"]), report["warnings"]
    assert world.smtp.handler.per_recipient() == NOTICES


class KillOnFirstMessage(RecordingHandler):
    """Records messages; the first one SIGKILLs the sending process before it is answered."""

    def __init__(self) -> None:
        super().__init__()
        self.victim: int | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if self.victim is not None:
            os.kill(self.victim, signal.SIGKILL)
            self.victim = None
            time.sleep(0.2)  # the sender dies before it reads the reply
        return reply


def test_a_release_killed_while_sending_is_sent_once_by_the_next_run(
    tmp_path, released_template, database_url, monkeypatch
):
    monkeypatch.setenv("REDLINE_DATABASE_URL", database_url)
    handler = KillOnFirstMessage()
    with running_server(handler) as server:
        world = World(tmp_path, released_template, database_url, server)
        merged = merge_both(world)
        process = start_release(world)
        handler.victim = process.pid
        returncode, stderr = finish(process)
        assert returncode == -signal.SIGKILL, stderr
        assert len(handler.messages) == 1
        assert world.origin_tip() == world.head() != merged  # released and pushed
        rerun_and_check(world, merged)
        received = handler.per_recipient()
    # Everybody got their notices; the one in flight when the sender died may come twice.
    assert set(received) == set(NOTICES)
    assert all(received[who] >= count for who, count in NOTICES.items())
    assert sum(received.values()) <= sum(NOTICES.values()) + 1


# -- two runs at once ------------------------------------------------------------------------


def test_a_second_release_while_one_runs_stops_and_touches_nothing(world, tmp_path):
    merged = merge_both(world)
    gate = tmp_path / "gate"
    hook = world.root / ".git" / "hooks" / "post-commit"
    # The first run pauses right after its commit, holding the lock, until the gate opens.
    hook.write_text(
        f"#!/bin/sh\ntouch {gate}.waiting\nwhile [ ! -e {gate} ]; do sleep 0.05; done\n",
        encoding="utf-8",
    )
    hook.chmod(0o755)
    first = start_release(world)
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{gate}.waiting").exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never committed"
            time.sleep(0.05)
        files = {
            path: (world.root / path).read_bytes()
            for path in (
                "policies/privacy-policy.md",
                "policies/privacy-policy.changelog.md",
                "policies/terms-of-service.changelog.md",
            )
        }
        head, tags = world.head(), world.local_tags()

        second = world.release("--push")
        assert second.returncode == 7, second.stderr
        assert "another `redline release` is running in this repository" in second.stderr
        assert "Traceback" not in second.stderr
        # The loser changed nothing: not the winner's files, commit, tags or index.
        assert world.head() == head and world.local_tags() == tags
        assert all((world.root / path).read_bytes() == data for path, data in files.items())
        assert world.status() == ""
    finally:
        gate.touch()
        returncode, stderr = finish(first)
        hook.unlink()
    assert returncode == 0, stderr
    assert_released_once(world, merged)
    assert world.smtp.handler.per_recipient() == NOTICES


def test_a_killed_run_frees_the_lock(world):
    merged = merge_both(world)
    returncode, _ = finish(start_release(world, REDLINE_TEST_KILL_AT="committed"))
    assert returncode == -signal.SIGKILL
    assert (world.root / ".git" / "redline" / "release.lock").exists()
    rerun_and_check(world, merged)


# -- the undo touches only what this run wrote ---------------------------------------------


def test_rollback_leaves_a_file_someone_changed_since(world):
    merged = merge_both(world)
    returncode, _ = finish(start_release(world, REDLINE_TEST_KILL_AT="written"))
    assert returncode == -signal.SIGKILL
    # Someone edits one of the files the killed run wrote before the re-run.
    theirs = "# Privacy Policy\n\nEffective date: 05/01/2026\n\nTheir own edit.\n"
    world.work.write("policies/privacy-policy.md", theirs)

    rerun = world.release("--push")
    assert rerun.returncode == 2, rerun.stderr  # their edit is uncommitted: release refuses
    assert "uncommitted changes in policies/privacy-policy.md" in rerun.stderr
    assert (world.root / "policies/privacy-policy.md").read_text(encoding="utf-8") == theirs
    # The files only the killed run had written are rolled back.
    status = world.status().splitlines()
    assert status == [" M policies/privacy-policy.md"], status
    assert world.head() == merged and not journal(world).exists()
