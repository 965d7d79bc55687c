"""A released policy repository for the remind and status tests.

:class:`World` is a real git repository ``work`` with a bare ``origin``, set up with
``redline init`` (baseline v1 of each policy, nobody emailed), subscribers in a real
database (``database_url``: SQLite or PostgreSQL), and a real aiosmtpd server. Releases run
through :mod:`redline.release` with a fast-retrying SMTP transport.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from redline.config import Settings
from redline.history.repo import PolicyRepo
from redline.jobs.init import apply_init, plan_init
from redline.ledger.store import Store
from redline.mail.settings import SmtpConfig
from redline.mail.transport import SmtpTransport
from smtp_servers import Server

_DATES = ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")
SECRET = "remind-and-status-tests-unsubscribe-secret"
FROM = "Acme Legal <legal@acme.example>"
CONFIG = """\
notice_days = 30
remind_days = [7]
from_address = "Acme Legal <legal@acme.example>"
unsubscribe_url = "https://acme.example/unsubscribe?token={token}"
"""
PRIVACY = """\
# Privacy Policy

Effective date: 2026-01-15

## 1. Information We Collect

We collect your name and your email address when you sign up.

## 2. Sharing

We share your data with our payment processor only.
"""
TERMS = """\
# Terms of Service

Effective date: 2026-01-15

## 1. Accounts

You must be at least 16 years old to open an account.
"""
SUBSCRIBERS = (
    ("alice@example.com", "Alice", None),
    ("bob@example.com", "Bob", ["privacy-policy"]),
    ("carol@example.com", "Carol", ["terms-of-service"]),
    ("erin@example.com", "Erin", None),
)


class World:
    """A policy repository after ``redline init``, with subscribers and an SMTP server."""

    def __init__(
        self,
        tmp: Path,
        policy_repo,
        database_url: str,
        smtp: Server,
        config: str = "",
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """``environ`` is the variables of every in-process run (default: ``REDLINE_SECRET``
        and ``REDLINE_DATABASE_URL``, the ledger in ``database_url``)."""
        self.database_url = database_url
        self.environ = (
            {"REDLINE_SECRET": SECRET, "REDLINE_DATABASE_URL": database_url}
            if environ is None
            else environ
        )
        self.smtp = smtp
        self.origin = tmp / "origin.git"
        subprocess.run(
            ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(self.origin)],
            check=True,
        )
        self.work = policy_repo("work")
        self.root = self.work.root
        self.work.write("redline.toml", CONFIG + config)
        self.work.write("policies/privacy-policy.md", PRIVACY)
        self.work.write("policies/terms-of-service.md", TERMS)
        self.work.commit("Add the policies", when="2026-01-10T09:00:00+00:00")
        settings = self.settings()
        apply_init(PolicyRepo(settings), plan_init(PolicyRepo(settings), settings), settings)
        self.work.commit("Set up redline", when="2026-01-10T10:00:00+00:00")
        self.work.git("remote", "add", "origin", str(self.origin))
        self.work.git("push", "--quiet", "--follow-tags", "origin", "main")
        with self.store() as store:
            for email, name, policies in SUBSCRIBERS:
                store.upsert_subscriber(email, name, policies=policies)

    def settings(self, **overrides: object) -> Settings:
        return self.work.settings(self.environ, **overrides)

    def store(self) -> Store:
        return Store.open(self.database_url)

    def transport(self) -> SmtpTransport:
        """SMTP to the test server, retrying fast."""
        return SmtpTransport(
            SmtpConfig(
                host=self.smtp.host,
                port=self.smtp.port,
                tls="none",
                timeout=10.0,
                retries=1,
                backoff=0.01,
            )
        )

    def merge(
        self, message: str, old: str, new: str, path: str = "policies/privacy-policy.md"
    ) -> None:
        """Commit a change of one policy on main (as a merged pull request) and push it."""
        text = (self.root / path).read_text(encoding="utf-8")
        assert old in text, old
        self.work.write(path, text.replace(old, new))
        self.work.commit(message, path)
        self.work.git("push", "--quiet", "origin", "main")

    def release(self, today: date):
        """Release what changed on ``today``, push, and send the notices.

        The release commit and tags are dated ``today``, as if the run happened then.
        """
        from redline.release import execute_release, plan_release

        settings = self.settings()
        when = f"{today.isoformat()}T09:00:00+00:00"
        saved = {name: os.environ.get(name) for name in _DATES}
        os.environ.update(dict.fromkeys(_DATES, when))
        try:
            plan = plan_release(PolicyRepo(settings), settings, today)
            return execute_release(plan, push=True, transport=self.transport(), environ={})
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def remind(self, today: date, **options):
        from redline.jobs.remind import run_remind

        options.setdefault("transport", self.transport())
        settings = self.settings(**options.pop("settings", {}))
        return run_remind(settings, today=today, **options)

    def status(self, today: date, policy: str | None = None):
        from redline.jobs.status import collect_status

        settings = self.settings()
        with self.store() as store:
            return collect_status(
                PolicyRepo(settings), settings, today=today, policy=policy, store=store
            )

    def received(self) -> list[tuple[str, str, str]]:
        """(recipient, kind from the Message-ID, subject) of every message the server got."""
        found = []
        for message in self.smtp.handler.messages:
            parsed = message.parsed()
            kind = str(parsed["Message-ID"]).split(".")[3]
            for rcpt in message.rcpt_tos:
                found.append((rcpt, kind, str(parsed["Subject"])))
        return sorted(found)
