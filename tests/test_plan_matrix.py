"""What is previewed is what release does: one planner, across a matrix of cases.

For each case, under both ``effective_date_by`` settings, on a real git repository with a
pull request branch: ``check``, ``preview``, ``preview-email`` and ``changelog --draft`` run on
the pull request; then it is merged (fast-forward, so the merged HEAD is the previewed one)
and ``redline release`` runs on the same day, sending to a real aiosmtpd server. The test
asserts the same effective date, the same notify decision, the same notice email (apart from
what differs per recipient: To, Message-ID, Date, the unsubscribe link and token, and the
MIME boundary), the same changelog entry and the same released files; and that check fails
exactly where release refuses the policy.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import date
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest

from conftest import redline_in_process
from redline.errors import RedlineError
from redline.history.repo import PolicyRepo
from redline.jobs.check import check_policies
from redline.jobs.init import apply_init, plan_init
from redline.jobs.preview import build_preview
from redline.jobs.preview_email import preview_email
from redline.jobs.sample_email import SAMPLE_RECIPIENT
from redline.ledger.store import Store
from smtp_servers import running_server

TODAY = date(2026, 3, 2)  # the notice floor is 2026-04-01
SECRET = "plan-matrix-unsubscribe-secret"
SUBSCRIBER = ("Alice Example", "alice@example.com")
CONFIG = """\
notice_days = 30
from_address = "Acme Legal <legal@acme.example>"
unsubscribe_url = "https://acme.example/unsubscribe?token={token}"
effective_date_by = "%s"
"""
PRIVACY = """\
# Privacy Policy

Effective date: 2026-01-15

## 1. Data We Collect

We collect your name and your email address.

## 2. Sharing

We share your data with our payment processor only.
"""
MATERIAL = ("payment processor only.", "payment processor and with advertising partners.")
EDITORIAL = ("your name and your email", "your name, and your email")
PATH = "policies/privacy.md"


@dataclass(frozen=True)
class Case:
    """A pull request: its edits, its commit message, and how release is run."""

    edits: tuple[tuple[str, str], ...]
    message: str = "Change the privacy policy"
    pending: bool = False  # a material release effective 2026-04-11 is made on main first
    allow_short_notice: bool = False


CASES = {
    "material": Case((MATERIAL,)),
    "editorial": Case((EDITORIAL,)),
    "pending release": Case((EDITORIAL,), pending=True),
    "stated before the floor": Case((MATERIAL, ("2026-01-15", "2026-03-20"))),
    "stated after the floor": Case((MATERIAL, ("2026-01-15", "2026-04-15"))),
    "trailer": Case((MATERIAL,), "Change sharing\n\nEffective-Date: 2026-04-20"),
    "trailer before the floor": Case((MATERIAL,), "Urgent\n\nEffective-Date: 2026-03-12"),
    "short-notice override": Case(
        (MATERIAL,), "Urgent\n\nEffective-Date: 2026-03-12", allow_short_notice=True
    ),
}

# (case, effective_date_by) -> (effective date, notify, check status), or the refusal
REFUSED = "refused"
EXPECTED: dict[tuple[str, str], tuple[str, ...] | tuple[str, str, bool, str]] = {}
for _by in ("release", "author"):
    EXPECTED.update(
        {
            ("editorial", _by): ("2026-03-02", False, "pass"),
            ("pending release", _by): ("2026-04-11", False, "pass"),
            ("stated before the floor", _by): (REFUSED, "gives 18 days of notice"),
            ("stated after the floor", _by): ("2026-04-15", True, "pass"),
            ("trailer", _by): ("2026-04-20", True, "pass"),
            ("trailer before the floor", _by): (REFUSED, "gives 10 days of notice"),
            ("short-notice override", _by): ("2026-03-12", True, "warn"),
        }
    )
EXPECTED[("material", "release")] = ("2026-04-01", True, "pass")
EXPECTED[("material", "author")] = (REFUSED, "the effective date did not move")


@pytest.fixture(autouse=True)
def _git_environment(monkeypatch):
    """Release commits with the bot identity; no user or system git configuration."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def _environ(tmp_path: Path) -> dict[str, str]:
    return {
        "REDLINE_TODAY": TODAY.isoformat(),
        "REDLINE_SECRET": SECRET,
        "REDLINE_DATABASE_URL": f"sqlite:///{(tmp_path / 'ledger.db').as_posix()}",
    }


def _pull_request(policy_repo, tmp_path: Path, case: Case, by: str):
    """main with the policy released (``redline init``; plus a pending release), and the
    pull request committed on branch ``change``, checked out."""
    repo = policy_repo()
    repo.write("redline.toml", CONFIG % by)
    repo.write(PATH, PRIVACY)
    repo.commit("Add the privacy policy")
    settings = repo.settings(_environ(tmp_path))
    apply_init(PolicyRepo(settings), plan_init(PolicyRepo(settings), settings), settings)
    repo.commit("Set up redline")
    with Store.open(settings.database) as store:
        store.upsert_subscriber(SUBSCRIBER[1], SUBSCRIBER[0])
    if case.pending:
        text = PRIVACY.replace(*MATERIAL).replace("2026-01-15", "2026-04-11")
        repo.write(PATH, text)
        repo.commit("Share with advertising partners")
        done = redline_in_process(repo, "release", "--no-notify", **_environ(tmp_path))
        assert done.returncode == 0, done.stderr
    repo.git("switch", "--quiet", "-c", "change")
    text = (repo.root / PATH).read_text()
    for old, new in case.edits:
        assert old in text, old
        text = text.replace(old, new)
    repo.write(PATH, text)
    repo.commit(case.message)
    return repo


def _canonical(data: bytes, name: str, email: str) -> list[tuple[str, str]]:
    """A message without what differs per recipient and per copy: To, Message-ID, Date, the
    List-Unsubscribe headers, the unsubscribe token and the MIME boundaries."""
    message = message_from_bytes(data, policy=email_policy.default)
    skip = {"to", "message-id", "date", "list-unsubscribe", "list-unsubscribe-post"}
    skip |= {"content-type", "content-transfer-encoding", "mime-version"}
    found = [(key.lower(), str(value)) for key, value in message.items() if key.lower() not in skip]
    for part in message.walk():
        if part.is_multipart():
            found.append(("multipart", part.get_content_type()))
            continue
        text = re.sub(r"unsubscribe\?token=[^\s\"'<>&]+", "unsubscribe?token=T", part.get_content())
        found.append((part.get_content_type(), text.replace(email, "E").replace(name, "N")))
    return found


@pytest.mark.parametrize("by", ["release", "author"])
@pytest.mark.parametrize("name", list(CASES))
def test_preview_is_what_release_does(policy_repo, tmp_path, name, by):
    case, expected = CASES[name], EXPECTED[(name, by)]
    repo = _pull_request(policy_repo, tmp_path, case, by)
    environ, short = _environ(tmp_path), case.allow_short_notice
    settings = repo.settings(environ)
    policies = PolicyRepo(settings)
    check = check_policies(policies, settings, base="main", today=TODAY, allow_short_notice=short)
    preview = build_preview(policies, settings, today=TODAY, base="main", allow_short_notice=short)
    flags = ["--allow-short-notice"] if short else []
    draft = redline_in_process(repo, "changelog", "privacy", "--draft", *flags, **environ)
    try:
        emailed = preview_email(
            settings,
            "privacy",
            kinds=("notice",),
            today=TODAY,
            outdir=tmp_path / "preview-email",
            allow_short_notice=short,
        )
    except RedlineError as refused:
        emailed, email_error = None, str(refused)
    [checked] = check.policies
    [shown] = preview.policies

    repo.git("switch", "--quiet", "main")
    repo.git("merge", "--quiet", "--ff-only", "change")
    with running_server() as smtp:
        released = redline_in_process(
            repo,
            "release",
            "--json",
            *flags,
            **environ,
            REDLINE_SMTP_HOST=smtp.host,
            REDLINE_SMTP_PORT=str(smtp.port),
            REDLINE_SMTP_TLS="none",
        )
        received = list(smtp.handler.messages)
    report = json.loads(released.stdout)

    if expected[0] == REFUSED:
        # release refuses it, and so does everything that shows the plan: check fails
        assert released.returncode == 6, released.stderr
        assert report["releases"] == [] and received == []
        [refusal] = report["unreleasable"]
        assert expected[1] in refusal["problem"]
        assert checked.status == "fail" and check.status == "fail"
        assert refusal["problem"].removeprefix(f"{PATH}: ") in checked.findings[-1].message
        assert shown.release is None
        assert any(refusal["problem"] in line for line in preview.left_out)
        assert emailed is None and refusal["problem"] in email_error
        assert draft.returncode == 2 and refusal["problem"] in draft.stderr
        return

    effective, notify, verdict = expected
    assert released.returncode == 0, released.stderr
    [item] = report["releases"]
    planned = shown.release
    assert planned is not None
    # the same date, the same notify decision, the same reason, everywhere
    assert item["effective_date"] == effective == planned.effective_date.isoformat()
    assert checked.release is not None and checked.release["effective_date"] == effective
    assert emailed is not None and emailed.effective_date.isoformat() == effective
    assert item["notify"] is notify is planned.notify is checked.release["notify"]
    assert item["reason"] == planned.reason == checked.release["reason"] == emailed.reason
    assert item["short_notice"] is planned.short_notice is short
    # check passes (warns on short notice), saying what release does
    assert (checked.status, check.status) == (verdict, verdict)
    assert f"release will set {effective}" in checked.findings[-1].message
    # the same changelog entry and the same files
    tag = item["tag"]
    log = repo.git("show", f"{tag}:policies/privacy.changelog.md")
    assert draft.returncode == 0, draft.stderr
    assert draft.stdout == planned.entry_markdown and draft.stdout in log
    assert log.encode() == planned.changelog_data
    assert repo.git("show", f"{tag}:{PATH}").encode() == planned.data
    # the same email, to the sample recipient and to the subscriber
    if not notify:
        assert received == [] and shown.message is None
        return
    [sent] = received
    assert sent.rcpt_tos == [SUBSCRIBER[1]]
    real = _canonical(sent.data, *SUBSCRIBER)
    assert shown.message is not None
    assert _canonical(shown.message.as_bytes(), *SAMPLE_RECIPIENT) == real
    eml = Path(emailed.files[0]["eml"]).read_bytes()
    assert _canonical(eml, *SAMPLE_RECIPIENT) == real
