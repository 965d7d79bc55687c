"""``redline release`` end to end: real git repositories with a bare ``origin``, a real
aiosmtpd server, SQLite and PostgreSQL (the ``database_url`` fixture), and a simulated
GitHub Actions environment (GITHUB_ACTIONS, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
GITHUB_EVENT_PATH with a push event, GITHUB_REF).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from redline.history.tags import parse_release_message
from redline.ledger.store import Store
from smtp_servers import RecordingHandler, Server, running_server

SECRET = "release-tests-unsubscribe-signing-secret"
TODAY = date(2026, 3, 2)
BOT = "Policy Bot <policy-bot@example.com>"

CONFIG = """\
notice_days = 30
date_order = "MDY"
from_address = "Acme Legal <legal@acme.example>"
unsubscribe_url = "https://acme.example/unsubscribe?token={token}"
bot_name = "Policy Bot"
bot_email = "policy-bot@example.com"
smtp_timeout = 20
"""

PRIVACY = """\
# Privacy Policy

Effective date: 01/15/2026

## 1. Information We Collect

We collect your name and your email address when you sign up.

## 2. Sharing

We share your data with our payment processor only.

## 3. Contact

Write to privacy@acme.example with any question.
"""

TERMS = """\
# Terms of Service

Effective date: 01/15/2026

## 1. Accounts

You must be at least 16 years old to open an account.

## 2. Termination

We may close accounts that break these terms.
"""

_ENV_CLEARED = (
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_EVENT_PATH",
    "GITHUB_REF",
    "REDLINE_TODAY",
    "REDLINE_SMTP_USER",
    "REDLINE_SMTP_PASSWORD",
    "NO_COLOR",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
)


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def run_release(root: Path, args: tuple[str, ...], env: dict[str, str]) -> Outcome:
    """``redline --repo ROOT release ARGS`` in this process, with a clean environment."""
    from redline.cli import cli

    environ: dict[str, str | None] = {name: None for name in _ENV_CLEARED}
    environ.update(env)
    result = CliRunner().invoke(
        cli, ["--repo", str(root), "release", *args], env=environ, catch_exceptions=False
    )
    return Outcome(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="session")
def released_template(tmp_path_factory) -> Path:
    """``origin.git`` and its clone ``work`` with v1 of both policies released (nobody
    emailed), built once and copied into each test."""
    from conftest import GitPolicyRepo

    base = tmp_path_factory.mktemp("released-template")
    origin = base / "origin.git"
    git(base, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    work = GitPolicyRepo(base / "work")
    work.write("redline.toml", CONFIG)
    work.write("policies/privacy-policy.md", PRIVACY)
    work.write("policies/terms-of-service.md", TERMS)
    work.commit("Add the privacy policy and the terms of service")
    work.git("remote", "add", "origin", str(origin))
    work.git("push", "--quiet", "--set-upstream", "origin", "main")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        args = ("--today", "2026-01-01", "--push", "--no-notify", "--json")
        result = run_release(work.root, args, {})
    assert result.returncode == 0, result.stderr
    assert [r["version"] for r in result.json()["releases"]] == [1, 1]
    return base


class World:
    """A policy repository ``work`` cloned from a bare ``origin``, subscribers and SMTP.

    Both policies are released as v1 (effective 2026-01-31, nobody emailed).
    """

    def __init__(self, tmp: Path, template: Path, database_url: str, smtp: Server) -> None:
        from conftest import GitPolicyRepo

        self.tmp = tmp
        self.database_url = database_url
        self.smtp = smtp
        self.origin = tmp / "origin.git"
        shutil.copytree(template / "origin.git", self.origin, symlinks=True)
        shutil.copytree(template / "work", tmp / "work", symlinks=True)
        self.work = GitPolicyRepo(tmp / "work")
        self.root = self.work.root
        self.work.git("remote", "set-url", "origin", str(self.origin))
        with Store.open(database_url) as store:
            store.upsert_subscriber("alice@example.com", "Alice")
            store.upsert_subscriber("bob@example.com", "Bob", policies=["privacy-policy"])
            store.upsert_subscriber("carol@example.com", "Carol", policies=["terms-of-service"])
            store.upsert_subscriber("dave@example.com", "Dave")
            store.unsubscribe("dave@example.com")

    # -- running redline ---------------------------------------------------------------------

    def release(self, *args: str, root: Path | None = None, **env: str) -> Outcome:
        """``redline --repo ROOT release --today TODAY ARGS`` in this process."""
        if "--today" not in args:
            args = ("--today", TODAY.isoformat(), *args)
        environ = {**self.smtp.env(REDLINE_FROM="Acme Legal <legal@acme.example>"), **env}
        return run_release(root or self.root, args, environ)

    # -- changing policies -------------------------------------------------------------------

    def merge(self, message: str, **files: str) -> str:
        """Commit ``files`` (``privacy`` / ``terms`` / a path) as a merged pull request, push."""
        names = {"privacy": "policies/privacy-policy.md", "terms": "policies/terms-of-service.md"}
        paths = []
        for key, text in files.items():
            path = names.get(key, key)
            self.work.write(path, text)
            paths.append(path)
        sha = self.work.commit(message, *paths)
        self.work.git("push", "--quiet", "origin", "main")
        return sha

    def edit(self, key: str, old: str, new: str) -> str:
        """The current text of a policy with one replacement."""
        path = {"privacy": "policies/privacy-policy.md", "terms": "policies/terms-of-service.md"}
        text = (self.root / path[key]).read_text(encoding="utf-8")
        assert old in text, old
        return text.replace(old, new)

    # -- looking at the results --------------------------------------------------------------

    def head(self, where: Path | None = None) -> str:
        return git(where or self.root, "rev-parse", "HEAD").strip()

    def origin_tip(self) -> str:
        return git(self.origin, "rev-parse", "refs/heads/main").strip()

    def origin_tags(self) -> set[str]:
        return set(git(self.origin, "tag", "--list").split())

    def local_tags(self) -> set[str]:
        return set(git(self.root, "tag", "--list").split())

    def tag_fields(self, tag: str, where: Path | None = None) -> dict[str, str]:
        message = git(where or self.origin, "tag", "--list", "--format=%(contents)", tag)
        return parse_release_message(message)

    def status(self) -> str:
        return git(self.root, "status", "--porcelain")

    def origin_file(self, path: str, rev: str = "main") -> str:
        return git(self.origin, "show", f"{rev}:{path}")

    def recipients(self) -> list[str]:
        return sorted(rcpt for msg in self.smtp.handler.messages for rcpt in msg.rcpt_tos)

    def bodies(self) -> list[str]:
        return [
            msg.parsed().get_body(("plain",)).get_content() for msg in self.smtp.handler.messages
        ]

    def ledger(self, slug: str, version: int) -> dict[str, int]:
        with Store.open(self.database_url) as store:
            return store.ledger_counts(slug, version, "notice")


@pytest.fixture(autouse=True)
def _environment(monkeypatch, tmp_path):
    monkeypatch.setenv("REDLINE_SECRET", SECRET)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in _ENV_CLEARED:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def smtp() -> Iterator[Server]:
    with running_server(RecordingHandler()) as server:
        yield server


@pytest.fixture
def world(tmp_path, released_template, database_url, smtp, monkeypatch) -> World:
    monkeypatch.setenv("REDLINE_DATABASE_URL", database_url)
    return World(tmp_path, released_template, database_url, smtp)


@pytest.fixture
def sqlite_world(tmp_path, released_template, smtp, monkeypatch) -> World:
    url = f"sqlite:///{(tmp_path / 'ledger.db').as_posix()}"
    monkeypatch.setenv("REDLINE_DATABASE_URL", url)
    return World(tmp_path, released_template, url, smtp)


def github_env(world: World, tmp: Path, *, ref: str = "refs/heads/main") -> dict[str, str]:
    """A GitHub Actions environment for a push of ``world``'s HEAD to main."""
    head = world.head()
    before = git(world.root, "rev-parse", "HEAD~1").strip()
    event = {
        "ref": ref,
        "before": before,
        "after": head,
        "base_ref": None,
        "created": False,
        "deleted": False,
        "forced": False,
        "compare": f"https://github.com/acme/policies/compare/{before[:12]}...{head[:12]}",
        "commits": [
            {
                "id": head,
                "tree_id": git(world.root, "rev-parse", "HEAD^{tree}").strip(),
                "distinct": True,
                "message": git(world.root, "log", "-1", "--format=%B").strip(),
                "timestamp": "2026-03-02T10:00:00Z",
                "url": f"https://github.com/acme/policies/commit/{head}",
                "author": {"name": "Pat Policy", "email": "pat@example.com", "username": "pat"},
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
                "added": [],
                "removed": [],
                "modified": ["policies/privacy-policy.md"],
            }
        ],
        "head_commit": {"id": head, "message": "merge", "timestamp": "2026-03-02T10:00:00Z"},
        "pusher": {"name": "pat", "email": "pat@example.com"},
        "repository": {
            "id": 123456789,
            "name": "policies",
            "full_name": "acme/policies",
            "private": False,
            "default_branch": "main",
            "master_branch": "main",
            "html_url": "https://github.com/acme/policies",
        },
        "sender": {"login": "pat", "id": 1, "type": "User"},
    }
    event_path = tmp / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    output, summary = tmp / "github_output", tmp / "step_summary"
    output.write_text("", encoding="utf-8")
    summary.write_text("", encoding="utf-8")
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REF": ref,
        "GITHUB_SHA": head,
        "GITHUB_REPOSITORY": "acme/policies",
    }


def parse_github_output(text: str) -> dict[str, str]:
    """Parse ``$GITHUB_OUTPUT`` as the runner does; heredoc delimiters must be random."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            assert re.fullmatch(r"ghadelimiter_[0-9a-f]{32}", delimiter), delimiter
            value: list[str] = []
            while lines[index] != delimiter:
                value.append(lines[index])
                index += 1
            index += 1
            outputs[name] = "\n".join(value)
        else:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


def later(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


# -- a material change -------------------------------------------------------------------------


def test_material_change_is_dated_logged_committed_tagged_pushed_and_notified(world, tmp_path):
    edited = world.edit("privacy", "payment processor only", "payment and analytics providers")
    merged = world.merge(
        "Merge pull request #7 from acme/analytics\n\nShare usage data with our analytics provider",
        privacy=edited,
    )
    env = github_env(world, tmp_path)
    result = world.release("--push", "--json", **env)
    assert result.returncode == 0, result.stderr
    report = result.json()

    effective = later(30)
    [item] = report["releases"]
    assert item["policy"] == "privacy-policy"
    assert item["version"] == 2 and item["previous_version"] == 1
    assert item["classification"] == "material"
    assert item["effective_date"] == effective
    assert item["date_source"] == "notice period of 30 days"
    assert item["notify"] is True and item["short_notice"] is False
    assert [u["policy"] for u in report["unchanged"]] == ["terms-of-service"]

    # One bot commit on top of the merge, pushed with the tag.
    release_commit = world.head()
    assert report["commit"] == release_commit and report["pushed"] is True
    assert git(world.root, "rev-parse", "HEAD~1").strip() == merged
    assert world.origin_tip() == release_commit
    author = git(world.root, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s").strip()
    assert author == f"{BOT}|{BOT}|redline: release privacy-policy v2"
    assert world.status() == ""

    # The date is written in the policy's own form, the changelog has the entry.
    policy = world.origin_file("policies/privacy-policy.md")
    assert "Effective date: 01/31/2026\n" in edited  # set by the baseline release
    assert policy == edited.replace("01/31/2026", "04/01/2026")
    changelog = world.origin_file("policies/privacy-policy.changelog.md")
    assert "<!-- redline:entry v2 -->" in changelog and "<!-- redline:entry v1 -->" in changelog
    assert changelog.index("entry v2") < changelog.index("entry v1")

    # The annotated tag carries the metadata.
    assert {"privacy-policy/v1", "privacy-policy/v2", "terms-of-service/v1"} <= world.origin_tags()
    fields = world.tag_fields("privacy-policy/v2")
    v1_commit = git(world.origin, "rev-parse", "privacy-policy/v1^{commit}").strip()
    assert fields["Policy"] == "privacy-policy"
    assert fields["Version"] == "2"
    assert fields["Effective-Date"] == effective
    assert fields["Classification"] == "material"
    assert fields["Previous-Version"] == "1"
    assert fields["Commits"] == f"{v1_commit}..{merged}"
    assert fields["Notify"] == "yes" and fields["Short-Notice"] == "no"
    assert fields["Summary"]
    assert git(world.origin, "rev-parse", "privacy-policy/v2^{commit}").strip() == release_commit

    # Every subscriber of the privacy policy got one notice; nobody else got anything.
    assert world.recipients() == ["alice@example.com", "bob@example.com"]
    [body, _] = world.bodies()
    assert "April 1, 2026" in body and "Sharing" in body
    assert world.ledger("privacy-policy", 2)["sent"] == 2
    assert report["notices_sent"] == 2 and report["notices_failed"] == 0

    # GitHub outputs and job summary.
    outputs = parse_github_output(Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
    assert outputs["released"] == "true"
    assert outputs["notices-sent"] == "2" and outputs["notices-failed"] == "0"
    [listed] = json.loads(outputs["policies"])
    assert listed["policy"] == "privacy-policy" and listed["version"] == 2
    assert listed["effective_date"] == effective and listed["tag"] == "privacy-policy/v2"
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert summary.startswith("## redline release\n")
    assert "`policies/privacy-policy.md` | v2 (from v1) | material | 2026-04-01" in summary


def test_heredoc_delimiters_are_random():
    from redline.github import format_github_outputs

    outputs = {"released": "true", "policies": "[\n  1\n]"}
    first, second = format_github_outputs(outputs), format_github_outputs(outputs)
    assert first != second
    assert parse_github_output(first) == parse_github_output(second) == outputs


# -- an editorial change -----------------------------------------------------------------------


def test_editorial_change_is_released_at_once_without_email(sqlite_world):
    world = sqlite_world
    world.merge(
        "Fix punctuation",
        terms=world.edit("terms", "break these terms.", "break these Terms!"),
    )
    result = world.release("--push", "--json")
    assert result.returncode == 0, result.stderr
    [item] = result.json()["releases"]
    assert (item["policy"], item["version"], item["classification"]) == (
        "terms-of-service",
        2,
        "editorial",
    )
    assert item["effective_date"] == TODAY.isoformat()
    assert item["date_source"] == "released at once"
    assert item["notify"] is False
    assert world.tag_fields("terms-of-service/v2")["Notify"] == "no"
    assert "Effective date: 03/02/2026" in world.origin_file("policies/terms-of-service.md")
    assert world.smtp.handler.messages == []
    assert world.ledger("terms-of-service", 2)["pending"] == 0


def test_editorial_change_notifies_when_config_says_so(sqlite_world):
    world = sqlite_world
    world.merge(
        "Config and a typo",
        **{
            "redline.toml": CONFIG + "notify_editorial = true\n",
            "terms": world.edit("terms", "break these terms.", "break these Terms!"),
        },
    )
    result = world.release("--push", "--json")
    assert result.returncode == 0, result.stderr
    [item] = result.json()["releases"]
    assert item["classification"] == "editorial" and item["notify"] is True
    assert world.recipients() == ["alice@example.com", "carol@example.com"]


# -- a policy without an effective-date line ---------------------------------------------------


def test_policy_without_effective_date_line_is_left_out_and_the_rest_released(
    sqlite_world, tmp_path
):
    world = sqlite_world
    cookies = "# Cookie Policy\n\n## 1. Cookies\n\nWe use one session cookie.\n"
    world.merge(
        "Add the cookie policy, share more data",
        **{
            "policies/cookie-policy.md": cookies,
            "privacy": world.edit("privacy", "payment processor only", "partners"),
        },
    )
    env = github_env(world, tmp_path)
    result = world.release("--push", **env)
    assert result.returncode == 6, result.stderr
    warning = (
        "redline: warning: policies/cookie-policy.md: no effective-date statement found; "
        "policies/cookie-policy.md is not released (fix: "
    )
    assert result.stderr.count(warning) == 1
    assert "Effective date: 2026-04-01" in result.stderr  # the exact line to add
    assert "1 changed policy(ies) not released: policies/cookie-policy.md" in result.stderr
    assert "Traceback" not in result.stderr
    # The valid policy is released, pushed and notified; the cookie policy is untouched.
    assert "privacy-policy/v2" in world.origin_tags()
    assert not any(tag.startswith("cookie-policy/") for tag in world.local_tags())
    assert world.origin_tip() == world.head() and world.status() == ""
    assert world.origin_file("policies/cookie-policy.md") == cookies
    assert world.recipients() == ["alice@example.com", "bob@example.com"]
    outputs = parse_github_output(Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
    assert outputs["released"] == "true"
    assert [p["policy"] for p in json.loads(outputs["policies"])] == ["privacy-policy"]
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert "**Not released** (see the warnings): `policies/cookie-policy.md`" in summary

    # Fixed and merged, the next run releases it (and only it).
    world.merge(
        "Date the cookie policy",
        **{"policies/cookie-policy.md": cookies.replace("\n\n", "\n\nEffective date:\n\n", 1)},
    )
    again = world.release("--push", "--json")
    assert again.returncode == 0, again.stderr
    assert [r["tag"] for r in again.json()["releases"]] == ["cookie-policy/v1"]
    assert again.json()["unreleasable"] == []


def test_odd_file_names_release_under_safe_tag_names(sqlite_world):
    world = sqlite_world
    text = "# Odd\n\nEffective date: 01/01/2026\n\n## 1. Odd\n\nText.\n"
    names = ["policies/cookie policy.md", "policies/..md", "policies/-rf.md"]
    world.merge("Odd names", **dict.fromkeys(names, text))
    result = world.release("--push", "--json")
    assert result.returncode == 0, result.stderr
    tags = {item["tag"] for item in result.json()["releases"]}
    assert {"cookie-policy/v1", "rf/v1"} <= tags and len(tags) == 3
    assert tags <= world.origin_tags()


def test_tag_names_git_refuses_are_left_out_before_anything_is_written(sqlite_world):
    world = sqlite_world
    head = world.merge(
        "A tag prefix git refuses, and a change",
        **{"redline.toml": CONFIG + 'tag_prefix = "-"\n'},
        privacy=world.edit("privacy", "payment processor only", "partners"),
    )
    dry = world.release("--dry-run", "--json")
    assert dry.returncode == 6, dry.stderr
    # Under the new prefix neither policy has a release yet, and neither can be tagged.
    left_out = {item["path"]: item for item in dry.json()["unreleasable"]}
    assert sorted(left_out) == ["policies/privacy-policy.md", "policies/terms-of-service.md"]
    privacy = left_out["policies/privacy-policy.md"]
    assert privacy["problem"].endswith(
        "its release tag '-privacy-policy/v1' is not a valid git tag name"
    )
    assert all(item["fix"] == "fix tag_prefix in the config" for item in left_out.values())

    result = world.release("--push")
    assert result.returncode == 6, result.stderr
    assert "usage: git" not in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("its release tag '-privacy-policy/v1'") == 1
    assert world.head() == head and world.status() == ""
    assert world.local_tags() == world.origin_tags()


# -- two policies in one merge -----------------------------------------------------------------


def test_two_policies_in_one_merge_make_one_commit_and_two_tags(world):
    merged = world.merge(
        "Merge pull request #9: privacy and terms",
        privacy=world.edit("privacy", "payment processor only", "payment processor and bank"),
        terms=world.edit("terms", "16 years old", "18 years old"),
    )
    result = world.release("--push", "--json")
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert [(r["policy"], r["version"]) for r in report["releases"]] == [
        ("privacy-policy", 2),
        ("terms-of-service", 2),
    ]
    # One commit, both tags on it, both pushed.
    assert git(world.root, "rev-list", "--count", f"{merged}..HEAD").strip() == "1"
    release_commit = world.head()
    for tag in ("privacy-policy/v2", "terms-of-service/v2"):
        assert git(world.origin, "rev-parse", f"{tag}^{{commit}}").strip() == release_commit
    subject = git(world.root, "log", "-1", "--format=%s").strip()
    assert subject == "redline: release privacy-policy v2, terms-of-service v2"
    changed = git(world.root, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == [
        "policies/privacy-policy.changelog.md",
        "policies/privacy-policy.md",
        "policies/terms-of-service.changelog.md",
        "policies/terms-of-service.md",
    ]
    # Alice follows both policies and gets two notices; Bob and Carol one each.
    assert world.recipients() == [
        "alice@example.com",
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    ]


# -- a second change while one is pending ------------------------------------------------------


def test_second_change_while_one_is_pending(world):
    # v2: material, a later date asked for in the merge commit's trailer.
    world.merge(
        "Merge pull request #10\n\nAnalytics.\n\nEffective-Date: " + later(60),
        privacy=world.edit("privacy", "payment processor only", "payment and analytics providers"),
    )
    first = world.release("--push", "--json")
    assert first.returncode == 0, first.stderr
    [v2] = first.json()["releases"]
    assert (v2["version"], v2["effective_date"], v2["date_source"]) == (
        2,
        later(60),
        "Effective-Date trailer",
    )
    assert len(world.smtp.handler.messages) == 2

    # v3: material, ten days later; today + 30 is before v2's date, so v3 takes v2's date.
    world.merge(
        "Merge pull request #11: a phone number",
        privacy=world.edit("privacy", "with any question.", "or call +44 20 7946 0000."),
    )
    second = world.release("--push", "--json", "--today", later(10))
    assert second.returncode == 0, second.stderr
    [v3] = second.json()["releases"]
    assert (v3["version"], v3["classification"], v3["effective_date"]) == (
        3,
        "material",
        later(60),
    )
    assert v3["date_source"] == "date of the pending release"
    assert v3["notice_since_version"] == 2
    assert world.tag_fields("privacy-policy/v2")["Effective-Date"] == later(60)  # unchanged
    assert len(world.smtp.handler.messages) == 4
    v3_bodies = world.bodies()[2:]
    assert all("Section 3 (Contact)" in body for body in v3_bodies)
    assert not any("Sharing" in body for body in v3_bodies)  # only the changes since v2

    # v4: editorial while v2 and v3 are pending: keeps the pending date, no email.
    world.merge("Typo", privacy=world.edit("privacy", "when you sign up.", "when you sign up!"))
    third = world.release("--push", "--json", "--today", later(12))
    assert third.returncode == 0, third.stderr
    [v4] = third.json()["releases"]
    assert (v4["version"], v4["classification"], v4["effective_date"], v4["notify"]) == (
        4,
        "editorial",
        later(60),
        False,
    )
    assert v4["date_source"] == "pending release"
    assert len(world.smtp.handler.messages) == 4


def test_notice_shows_changes_since_the_last_notified_version(sqlite_world):
    world = sqlite_world
    world.merge(
        "Analytics (announced later)",
        privacy=world.edit("privacy", "payment processor only", "payment and analytics providers"),
    )
    quiet = world.release("--push", "--no-notify", "--json")
    assert quiet.returncode == 0, quiet.stderr
    assert world.tag_fields("privacy-policy/v2")["Notify"] == "no"
    assert world.smtp.handler.messages == []

    world.merge(
        "Phone number",
        privacy=world.edit("privacy", "with any question.", "or call +44 20 7946 0000."),
    )
    result = world.release("--push", "--json", "--today", later(5))
    assert result.returncode == 0, result.stderr
    [v3] = result.json()["releases"]
    assert v3["version"] == 3 and v3["notice_since_version"] == 1
    # v2 was never announced, so the v3 notice shows both changes (since v1).
    bodies = world.bodies()
    assert len(bodies) == 2
    assert all("Section 2 (Sharing)" in body and "Section 3 (Contact)" in body for body in bodies)


# -- idempotence -------------------------------------------------------------------------------


def test_release_twice_on_the_same_commit_does_nothing_the_second_time(world):
    world.merge("More sharing", privacy=world.edit("privacy", "processor only", "processors"))
    first = world.release("--push", "--json")
    assert first.returncode == 0, first.stderr
    head, tip, tags = world.head(), world.origin_tip(), world.origin_tags()
    sent = len(world.smtp.handler.messages)
    assert sent == 2

    second = world.release("--push")
    assert second.returncode == 0, second.stderr
    assert "Nothing to release" in second.stdout
    assert "privacy-policy: released as v2 at this commit" in second.stdout
    assert world.head() == head and world.origin_tip() == tip and world.origin_tags() == tags
    assert world.status() == ""
    assert len(world.smtp.handler.messages) == sent
    assert world.ledger("privacy-policy", 2)["sent"] == 2


# -- a crash between the tag and the emails ----------------------------------------------------


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (an SMTP server hanging)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_crash_between_tag_and_emails_then_rerun_finishes_the_emails(world, black_hole, tmp_path):
    merged = world.merge(
        "Sharing", privacy=world.edit("privacy", "payment processor only", "partners")
    )
    env = {
        **os.environ,
        "REDLINE_SMTP_HOST": "127.0.0.1",
        "REDLINE_SMTP_PORT": str(black_hole),
        "REDLINE_SMTP_TLS": "none",
        "REDLINE_TODAY": TODAY.isoformat(),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "redline", "--repo", str(world.root), "release", "--push"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while "privacy-policy/v2" not in world.origin_tags():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the release never pushed its tag"
            time.sleep(0.05)
        time.sleep(0.3)  # now it is connecting to the SMTP server that never answers
        assert process.poll() is None
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.communicate()
    release_commit = world.origin_tip()
    assert world.smtp.handler.messages == []
    assert world.ledger("privacy-policy", 2)["sent"] == 0

    # The workflow is re-run: a fresh checkout of the merge commit that triggered it.
    ci = tmp_path / "ci"
    git(tmp_path, "clone", "--quiet", str(world.origin), str(ci))
    git(ci, "checkout", "--quiet", "-B", "main", merged)
    rerun = world.release("--push", "--json", root=ci)
    assert rerun.returncode == 0, rerun.stderr
    report = rerun.json()
    assert report["releases"] == [] and report["commit"] is None and report["pushed"] is False
    reasons = {u["policy"]: u["reason"] for u in report["unchanged"]}
    assert reasons["privacy-policy"].startswith("already released as v2 at")
    assert world.origin_tip() == release_commit
    assert world.origin_tags() == {"privacy-policy/v1", "privacy-policy/v2", "terms-of-service/v1"}
    assert world.recipients() == ["alice@example.com", "bob@example.com"]
    assert [(n["policy"], n["version"], n["sent"]) for n in report["notices"]] == [
        ("privacy-policy", 2, 2)
    ]

    # A third run sends nobody anything twice.
    third = world.release("--push", "--json")
    assert third.returncode == 0, third.stderr
    assert third.json()["notices"] == []
    assert len(world.smtp.handler.messages) == 2


def test_smtp_down_then_rerun_sends_the_pending_notices(sqlite_world, tmp_path):
    world = sqlite_world
    world.merge("Sharing", privacy=world.edit("privacy", "payment processor only", "partners"))
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    env = github_env(world, tmp_path)
    down = world.release("--push", REDLINE_SMTP_PORT=str(closed), **env)
    assert down.returncode == 4, down.stderr
    assert "the release stands" in down.stderr
    assert "privacy-policy/v2" in world.origin_tags()  # the release was not undone
    outputs = parse_github_output(Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
    assert outputs["released"] == "true" and outputs["notices-sent"] == "0"

    up = world.release("--push", "--json")
    assert up.returncode == 0, up.stderr
    assert up.json()["notices_sent"] == 2
    assert world.recipients() == ["alice@example.com", "bob@example.com"]


# -- the branch moved ----------------------------------------------------------------------------


def push_from_elsewhere(world: World, name: str) -> str:
    """Someone else merges into main on origin; return the new tip."""
    other = world.tmp / name
    if not other.exists():
        git(world.tmp, "clone", "--quiet", str(world.origin), str(other))
    git(other, "pull", "--quiet", "--ff-only")
    (other / "README.md").write_text(f"{name} was here\n", encoding="utf-8")
    git(other, "add", "README.md")
    env = {"GIT_AUTHOR_NAME": "Other", "GIT_AUTHOR_EMAIL": "o@example.com"}
    subprocess.run(
        ["git", "-c", "user.name=Other", "-c", "user.email=o@example.com", "commit", "-qm", name],
        cwd=other,
        env={**os.environ, **env},
        check=True,
    )
    git(other, "push", "--quiet", "origin", "main")
    return git(other, "rev-parse", "HEAD").strip()


def test_push_refused_when_main_moved_before_the_run(sqlite_world):
    world = sqlite_world
    merged = world.merge("Sharing", privacy=world.edit("privacy", "processor only", "processors"))
    tags = world.origin_tags()
    moved = push_from_elsewhere(world, "other")
    result = world.release("--push")
    assert result.returncode == 3
    assert f"origin/main moved before this run: it is at {moved[:10]}" in result.stderr
    assert "nothing was pushed" in result.stderr
    assert world.origin_tip() == moved and world.origin_tags() == tags
    assert world.head() == merged and world.status() == "" and world.local_tags() == tags
    assert world.smtp.handler.messages == []


def test_push_refused_when_main_moves_during_the_run_and_local_changes_are_undone(sqlite_world):
    world = sqlite_world
    merged = world.merge("Sharing", privacy=world.edit("privacy", "processor only", "processors"))
    tags = world.origin_tags()
    clone = world.tmp / "racer"
    git(world.tmp, "clone", "--quiet", str(world.origin), str(clone))
    # The moment redline has committed, someone else merges into main.
    hook = world.root / ".git" / "hooks" / "post-commit"
    hook.write_text(
        "#!/bin/sh\n"
        f"cd {clone} && git pull -q --ff-only && echo racer > RACER && git add RACER && "
        "git -c user.name=Racer -c user.email=r@example.com commit -qm racer && "
        "git push -q origin main\n",
        encoding="utf-8",
    )
    hook.chmod(0o755)
    result = world.release("--push")
    hook.unlink()
    assert result.returncode == 3, result.stderr
    assert "moved while this run was releasing" in result.stderr
    racer = git(clone, "rev-parse", "HEAD").strip()
    assert world.origin_tip() == racer and world.origin_tags() == tags
    # This run's commit and tags are undone locally: a later run starts clean.
    assert world.head() == merged and world.status() == "" and world.local_tags() == tags
    assert world.smtp.handler.messages == []


# -- a shallow clone -----------------------------------------------------------------------------


def test_shallow_clone_is_unshallowed_and_knows_earlier_releases(sqlite_world, tmp_path):
    world = sqlite_world
    world.merge("Sharing", privacy=world.edit("privacy", "processor only", "processors"))
    shallow = tmp_path / "shallow"
    git(
        tmp_path,
        "clone",
        "--quiet",
        "--depth=1",
        "--no-tags",
        f"file://{world.origin}",
        str(shallow),
    )
    assert (shallow / ".git" / "shallow").exists()
    assert git(shallow, "tag", "--list") == ""
    result = world.release("--push", "--json", root=shallow)
    assert result.returncode == 0, result.stderr
    [item] = result.json()["releases"]
    assert (item["policy"], item["version"], item["previous_version"]) == ("privacy-policy", 2, 1)
    assert not (shallow / ".git" / "shallow").exists()
    assert world.origin_tip() == world.head(shallow)
    assert "privacy-policy/v2" in world.origin_tags()


# -- dry run, short notice, branches -----------------------------------------------------------


def test_dry_run_changes_nothing_and_prints_commands_files_and_emails(sqlite_world, tmp_path):
    world = sqlite_world
    head = world.merge("Sharing", privacy=world.edit("privacy", "processor only", "processors"))
    tip, tags = world.origin_tip(), world.origin_tags()
    env = github_env(world, tmp_path)
    result = world.release("--dry-run", "--push", **env)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "would write: policies/privacy-policy.md (effective date 2026-04-01)" in text
    assert "would write: policies/privacy-policy.changelog.md (entry for v2)" in text
    assert "would run: git fetch --tags origin" in text
    assert "would run: git add -- policies/privacy-policy.md" in text
    assert "would run: git commit -m 'redline: release privacy-policy v2 ...'" in text
    assert "would run: git tag -a -m 'redline: privacy-policy v2, effective 2026-04-01 ...'" in text
    assert "-- privacy-policy/v2 HEAD  # as Policy Bot <policy-bot@example.com>" in text
    assert "    | Effective-Date: 2026-04-01" in text
    assert (
        "would run: git push --atomic --porcelain origin HEAD:refs/heads/main "
        "refs/tags/privacy-policy/v2" in text
    )
    assert "Emails: would send 2." in text
    assert world.head() == head and world.status() == ""
    assert world.local_tags() == tags and world.origin_tags() == tags
    assert world.origin_tip() == tip
    assert world.smtp.handler.messages == []
    assert sum(world.ledger("privacy-policy", 2).values()) == 0
    outputs = parse_github_output(Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
    assert outputs["released"] == "false" and outputs["notices-sent"] == "0"
    assert json.loads(outputs["policies"])[0]["version"] == 2  # what it would release
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert summary.startswith("## redline release (dry run)\n")
    assert "Would release 1 policy version(s)." in summary
    assert "| privacy-policy v2 | 2 |" in summary


def test_short_notice_trailer_is_refused_unless_allowed(sqlite_world):
    world = sqlite_world
    head = world.merge(
        "Urgent change\n\nEffective-Date: " + later(10),
        privacy=world.edit("privacy", "processor only", "processors"),
    )
    refused = world.release("--push")
    assert refused.returncode == 6  # left out as unreleasable, like a date set too early
    assert "gives 10 days of notice; the earliest allowed is 2026-04-01" in refused.stderr
    assert "--allow-short-notice" in refused.stderr
    assert world.head() == head and "privacy-policy/v2" not in world.origin_tags()

    allowed = world.release("--push", "--allow-short-notice", "--json")
    assert allowed.returncode == 0, allowed.stderr
    [item] = allowed.json()["releases"]
    assert item["effective_date"] == later(10) and item["short_notice"] is True
    fields = world.tag_fields("privacy-policy/v2")
    assert fields["Short-Notice"] == "yes" and fields["Effective-Date"] == later(10)


def test_push_from_a_branch_other_than_the_default_is_refused(sqlite_world, tmp_path):
    world = sqlite_world
    world.merge("Sharing", privacy=world.edit("privacy", "processor only", "processors"))
    tags = world.origin_tags()
    env = github_env(world, tmp_path, ref="refs/heads/feature")
    result = world.release("--push", **env)
    assert result.returncode == 3
    assert "not to the default branch main" in result.stderr
    assert world.origin_tags() == tags


def test_uncommitted_policy_edits_are_refused(sqlite_world):
    world = sqlite_world
    world.merge("Sharing", privacy=world.edit("privacy", "processor only", "processors"))
    head = world.head()
    world.work.write("policies/privacy-policy.md", "# Privacy Policy\n\nhalf-finished\n")
    result = world.release()
    assert result.returncode == 2
    assert "uncommitted changes in policies/privacy-policy.md" in result.stderr
    assert world.head() == head and "privacy-policy/v2" not in world.local_tags()


# -- the date rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("classification", "pending", "requested", "written", "allow", "expected"),
    [
        ("material", None, None, None, False, (30, "notice period of 30 days", False)),
        ("material", None, None, 45, False, (45, "date written in the policy", False)),
        ("material", None, None, 20, False, (30, "notice period of 30 days", False)),
        ("material", None, 40, 90, False, (40, "Effective-Date trailer", False)),
        ("material", 50, None, None, False, (50, "date of the pending release", False)),
        ("material", 20, None, None, False, (30, "notice period of 30 days", False)),
        ("material", None, 5, None, True, (5, "Effective-Date trailer (short notice)", True)),
        ("editorial", None, 40, None, False, (0, "released at once", False)),
        ("editorial", 12, None, None, False, (12, "pending release", False)),
    ],
)
def test_choose_effective_date(classification, pending, requested, written, allow, expected):
    from redline.release import choose_effective_date

    def day(offset: int | None) -> date | None:
        return None if offset is None else TODAY + timedelta(days=offset)

    chosen = choose_effective_date(
        classification,
        today=TODAY,
        notice_days=30,
        pending=day(pending),
        requested=day(requested),
        written=day(written),
        allow_short_notice=allow,
        name="p.md",
    )
    assert chosen == (day(expected[0]), expected[1], expected[2])


def test_trailer_in_the_past_is_refused_even_with_short_notice():
    from redline.errors import DateError
    from redline.release import choose_effective_date, effective_date_trailer

    requested = effective_date_trailer("Merge\n\nEffective-Date: 2026-03-01\n")
    assert requested == date(2026, 3, 1)
    with pytest.raises(DateError, match="in the past"):
        choose_effective_date(
            "material",
            today=TODAY,
            notice_days=30,
            pending=None,
            requested=requested,
            written=None,
            allow_short_notice=True,
            name="p.md",
        )
    assert effective_date_trailer("no trailer here\n") is None


def test_editing_only_the_date_line_releases_nothing(sqlite_world):
    world = sqlite_world
    head = world.merge(
        "Move the date by hand", privacy=world.edit("privacy", "01/31/2026", "06/01/2026")
    )
    result = world.release("--push", "--json")
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["releases"] == []
    reasons = {u["policy"]: u["reason"] for u in report["unchanged"]}
    assert reasons["privacy-policy"] == "unchanged since v1 (date line only)"
    assert any("only the effective-date line was edited" in w for w in report["warnings"])
    assert world.head() == head and world.local_tags() == world.origin_tags()


def test_a_local_release_is_pushed_by_the_next_run_with_push(sqlite_world):
    world = sqlite_world
    world.merge("Sharing", privacy=world.edit("privacy", "processor only", "processors"))
    local = world.release("--no-notify", "--json")
    assert local.returncode == 0, local.stderr
    release_commit = world.head()
    assert "privacy-policy/v2" in world.local_tags()
    assert "privacy-policy/v2" not in world.origin_tags()

    pushed = world.release("--push", "--json")
    assert pushed.returncode == 0, pushed.stderr
    report = pushed.json()
    assert report["releases"] == [] and report["pushed"] is True
    assert report["pushed_tags"] == ["privacy-policy/v2"]
    assert world.origin_tip() == release_commit
    assert "privacy-policy/v2" in world.origin_tags()


# -- real policy repositories: dates from evidence, per-policy settings, moves ----------------


def _policy(title: str, date_line: str, body: str = "We collect your email address.") -> str:
    return f"# {title}\n\n{date_line}\n\n## 1. Data\n\n{body}\n"


def _release_json(repo, *args: str, **env: str) -> tuple[int, dict]:
    from conftest import redline_in_process

    result = redline_in_process(repo, "release", "--no-notify", "--json", *args, **env)
    return result.returncode, json.loads(result.stdout) if result.stdout else {}


def _released(data: dict) -> dict[str, str]:
    return {item["path"]: item["effective_date"] for item in data["releases"]}


def test_release_writes_the_order_the_old_date_proves(policy_repo, tag_release):
    repo = policy_repo("mdy")
    repo.write("policies/privacy.md", _policy("Privacy", "Effective date: 05/14/2020"))
    repo.write("policies/terms.md", _policy("Terms", "Effective date: 03/01/2021"))
    repo.commit("Add")
    tag_release(repo, "privacy", 1, "2020-05-14")
    tag_release(repo, "terms", 1, "2021-03-01")
    text = (repo.root / "policies/privacy.md").read_text()
    repo.write("policies/privacy.md", text.replace("email address", "email and postal address"))
    repo.commit("Privacy: postal address")
    code, data = _release_json(repo, "--today", "2026-01-10")
    # the ambiguous 03/01/2021 of the unchanged terms blocks nothing
    assert code == 0 and data["unreleasable"] == []
    assert _released(data) == {"policies/privacy.md": "2026-02-09"}
    assert "Effective date: 02/09/2026" in (repo.root / "policies/privacy.md").read_text()


def test_locales_never_share_an_order(policy_repo, tag_release):
    repo = policy_repo("locales")
    repo.write("redline.toml", 'policies_dir = "."\nlocales = {en = "en/**", de = "de/**"}\n')
    repo.write("en/privacy.md", _policy("Privacy", "Effective date: 05/14/2020"))
    german = _policy("Datenschutz", "Effective date: 03.01.2021", "Wir speichern.")
    repo.write("de/privacy.md", german)
    repo.commit("Add")
    tag_release(repo, "en/privacy", 1, "2020-05-14")
    tag_release(repo, "de/privacy", 1, "2021-01-03")
    text = (repo.root / "de/privacy.md").read_text()
    repo.write("de/privacy.md", text.replace("Wir speichern.", "Wir speichern nichts."))
    repo.commit("DE: nichts")
    code, data = _release_json(repo, "--today", "2026-01-10")
    assert code == 0, data
    assert _released(data) == {"de/privacy.md": "2026-02-09"}
    # DMY, as de writes, though en/ writes MDY
    assert "Effective date: 09.02.2026" in (repo.root / "de/privacy.md").read_text()


def test_month_year_dates_move_to_the_first_of_a_month(policy_repo, tag_release):
    repo = policy_repo("month")
    repo.write("policies/privacy.md", _policy("Privacy", "Last updated: December 2025"))
    repo.commit("Add")
    tag_release(repo, "privacy", 1, "2025-12-01")
    text = (repo.root / "policies/privacy.md").read_text()
    repo.write("policies/privacy.md", text.replace("email address", "email and postal address"))
    repo.commit("Privacy: postal address")
    # 30 days from 2026-01-10 is 2026-02-09; "February 2026" may be read as February 1
    code, data = _release_json(repo, "--today", "2026-01-10")
    assert code == 0, data
    assert _released(data) == {"policies/privacy.md": "2026-03-01"}
    assert "Last updated: March 2026" in (repo.root / "policies/privacy.md").read_text()
    assert "month" in data["releases"][0]["date_source"]


def test_month_year_trailer_is_moved_or_refused(policy_repo, tag_release):
    repo = policy_repo("month-trailer")
    repo.write("policies/privacy.md", _policy("Privacy", "Last updated: December 2025"))
    repo.commit("Add")
    tag_release(repo, "privacy", 1, "2025-12-01")
    text = (repo.root / "policies/privacy.md").read_text()
    repo.write("policies/privacy.md", text.replace("email address", "email and postal address"))
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "Edit\n\nEffective-Date: 2026-02-01")
    # "February 2026" on Feb 1 gives 22 days, not 30: refused, nothing written
    code, data = _release_json(repo, "--today", "2026-01-10")
    assert code == 6 and not data["releases"]
    assert "gives 22 days of notice" in data["unreleasable"][0]["problem"]
    assert "December 2025" in (repo.root / "policies/privacy.md").read_text()
    repo.git("commit", "-q", "--amend", "-m", "Edit\n\nEffective-Date: 2026-03-15")
    code, data = _release_json(repo, "--today", "2026-01-10")
    assert code == 0, data
    assert _released(data) == {"policies/privacy.md": "2026-04-01"}  # never before asked


def test_per_policy_notice_days_and_date_label(policy_repo, tag_release):
    repo = policy_repo("own")
    repo.write(
        "redline.toml",
        '[policies."policies/privacy.md"]\nnotice_days = 60\ndate_label = "Last revised"\n',
    )
    two_dates = "Effective date: 2020-01-01\n\nLast revised: 2020-05-14"
    repo.write("policies/privacy.md", _policy("Privacy", two_dates))
    repo.write("policies/terms.md", _policy("Terms", "Effective date: 2020-01-01"))
    repo.commit("Add")
    tag_release(repo, "privacy", 1, "2020-05-14")
    tag_release(repo, "terms", 1, "2020-01-01")
    for path in ("policies/privacy.md", "policies/terms.md"):
        text = (repo.root / path).read_text()
        repo.write(path, text.replace("email address", "email and postal address"))
    repo.commit("Postal address")
    code, data = _release_json(repo, "--today", "2026-01-10")
    assert code == 0, data
    assert _released(data) == {
        "policies/privacy.md": "2026-03-11",  # its own 60 days
        "policies/terms.md": "2026-02-09",
    }
    privacy = (repo.root / "policies/privacy.md").read_text()
    assert "Effective date: 2020-01-01" in privacy and "Last revised: 2026-03-11" in privacy


def test_a_date_without_evidence_is_left_out_once(policy_repo, tag_release):
    repo = policy_repo("no-evidence")
    repo.write("policies/privacy.md", _policy("Privacy", "Effective date: 03/01/2021"))
    repo.write("policies/terms.md", _policy("Terms", "Effective date: 2021-03-01"))
    repo.commit("Add")
    code, data = _release_json(repo, "--today", "2026-01-10")
    assert code == 6
    assert _released(data) == {"policies/terms.md": "2026-02-09"}
    (left_out,) = data["unreleasable"]
    assert left_out["path"] == "policies/privacy.md" and "date_order" in left_out["fix"]
    assert data["warnings"].count(next(w for w in data["warnings"] if "03/01/2021" in w)) == 1


def test_subscribers_of_the_old_name_get_the_notice_after_a_move(
    policy_repo, tag_release, tmp_path, monkeypatch
):
    from conftest import redline_in_process

    repo = policy_repo("moved")
    repo.write("redline.toml", CONFIG.replace('date_order = "MDY"\n', ""))
    repo.write("policies/privacy.md", _policy("Privacy", "Effective date: 2026-01-15"))
    repo.write("policies/terms.md", _policy("Terms", "Effective date: 2026-01-15"))
    repo.commit("Add")
    tag_release(repo, "privacy", 1, "2026-01-15")
    tag_release(repo, "terms", 1, "2026-01-15")
    database = f"sqlite:///{tmp_path / 'subscribers.db'}"
    env = {"REDLINE_DATABASE_URL": database, "REDLINE_SECRET": SECRET}
    with Store.open(database) as store:
        store.upsert_subscriber("old@example.com", "Old", policies=["privacy"])
        store.upsert_subscriber("terms@example.com", "Terms", policies=["terms"])
    (repo.root / "policies/legal").mkdir()
    repo.mv("policies/privacy.md", "policies/legal/privacy.md")
    repo.commit("Move the privacy policy")
    # an import under the old name is stored under the new one, with a note
    csv = tmp_path / "late.csv"
    csv.write_text("email,policies\nlate@example.com,privacy\n")
    imported = redline_in_process(repo, "subscribers", "import", str(csv), **env)
    assert imported.returncode == 0, imported.stderr
    assert "'privacy' is now 'legal/privacy'" in imported.stderr
    text = (repo.root / "policies/legal/privacy.md").read_text()
    repo.write("policies/legal/privacy.md", text.replace("email address", "postal address"))
    repo.commit("Privacy: postal address")
    outbox = tmp_path / "outbox"
    result = redline_in_process(
        repo, "release", "--today", "2026-03-02", "--outbox", str(outbox), "--json", **env
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [item["tag"] for item in data["releases"]] == ["legal/privacy/v2"]
    assert any("1 of privacy to legal/privacy" in w for w in data["warnings"])
    recipients = sorted(
        re.search(r"^To: .*?<?([\w.]+@example\.com)>?$", eml.read_text(), re.M).group(1)
        for eml in outbox.glob("*.eml")
    )
    assert recipients == ["late@example.com", "old@example.com"]
    with Store.open(database) as store:
        assert store.get_subscriber("old@example.com").policies == ("legal/privacy",)
