"""Shared fixtures. Add new fixtures below; do not rewrite other people's."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings as hypothesis_settings

# CI runs the property tests on a fixed sequence of examples, so a landing never depends on
# the luck of the draw; locally every run explores new examples (and keeps what fails).
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

if TYPE_CHECKING:
    from redline.config import Settings

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Pat Policy",
    "GIT_AUTHOR_EMAIL": "pat@example.com",
    "GIT_COMMITTER_NAME": "Pat Policy",
    "GIT_COMMITTER_EMAIL": "pat@example.com",
}


class GitPolicyRepo:
    """A real git repository in a temporary directory, driven with the git command line.

    Commits get a fixed identity and, unless given, dates one day apart from 2024-01-01,
    so histories are reproducible. No user or system git configuration is read.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._day = 0
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch=main")

    def env(self, when: str | None = None) -> dict[str, str]:
        """Environment for git: fixed identity and dates, no global or system config."""
        env = {
            **os.environ,
            **GIT_IDENTITY,
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        if when is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
        return env

    def git(self, *args: str, when: str | None = None) -> str:
        """Run ``git args`` in the repository and return its stdout (raises on failure)."""
        result = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args],
            cwd=self.root,
            env=self.env(when),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def write(self, relpath: str, content: str | bytes) -> Path:
        """Write a file in the working tree (bytes as they are, text as UTF-8)."""
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def commit(self, message: str, *files: str, when: str | None = None) -> str:
        """Stage ``files`` (default: everything) and commit; return the commit id."""
        self.git("add", "--", *(files or (".",)))
        if when is None:
            self._day += 1
            when = f"2024-01-{self._day:02d}T12:00:00+00:00"
        self.git("commit", "--quiet", "-m", message, when=when)
        return self.head()

    def head(self) -> str:
        """The commit id of HEAD."""
        return self.git("rev-parse", "HEAD").strip()

    def mv(self, old: str, new: str) -> None:
        """``git mv old new``."""
        self.git("mv", old, new)

    def tag(self, name: str, message: str, *, rev: str = "HEAD", when: str | None = None) -> None:
        """Create an annotated tag."""
        self.git("tag", "-a", name, "-m", message, rev, when=when)

    def settings(self, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """redline settings for this repository (its config file, if any, plus overrides), in
        a run whose variables are ``environ`` (default: this process's environment)."""
        from redline.config import load_settings
        from redline.env import Environment

        env = Environment.from_os() if environ is None else Environment(environ)
        return load_settings(self.root, None, overrides, env=env)


def with_env(settings: Settings, environ: dict[str, str]) -> Settings:
    """``settings`` in a run whose environment variables are ``environ``."""
    from redline.env import Environment

    return dataclasses.replace(settings, env=Environment(environ))


@pytest.fixture
def policy_repo(tmp_path: Path) -> Callable[..., GitPolicyRepo]:
    """Factory of real temporary git repositories: ``policy_repo("name")``."""

    def make(name: str = "repo") -> GitPolicyRepo:
        return GitPolicyRepo(tmp_path / name)

    return make


# -- SMTP (mailer and notify tests; servers in tests/smtp_servers.py) -------------------------


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory: pytest.TempPathFactory):
    """A self-signed certificate for 127.0.0.1/localhost that tests trust explicitly."""
    from smtp_servers import make_certificate

    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


# -- release tags (render, changelog, feeds and site tests) -----------------------------------


@pytest.fixture
def tag_release() -> Callable[..., str]:
    """Create a real annotated release tag with history.format_release_message.

    ``tag_release(repo, "privacy-policy", 2, "2024-03-01", summary=..., when=...)`` returns
    the tag name; Previous-Version is ``version - 1`` (``none`` for version 1).
    """
    from redline.history.tags import format_release_message

    def make(
        repo: GitPolicyRepo,
        slug: str,
        version: int,
        effective: str,
        *,
        classification: str = "material",
        summary: str | None = None,
        rev: str = "HEAD",
        when: str | None = None,
        prefix: str = "",
    ) -> str:
        fields: dict[str, object] = {
            "Policy": slug,
            "Version": version,
            "Effective-Date": effective,
            "Classification": classification,
            "Previous-Version": version - 1 if version > 1 else "none",
            "Notify": "yes" if classification == "material" else "no",
            "Short-Notice": "no",
            "Summary": summary,
        }
        name = f"{prefix}{slug}/v{version}"
        repo.tag(name, format_release_message(fields), rev=rev, when=when)
        return name

    return make


RELEASED_PRIVACY_V1 = """\
# Privacy Policy

Effective date: 01/15/2024

## 1. Introduction

Northwind Kites ("we") explains here how the Kiteboard app handles personal data.

## 7. Transfer of Data

We may transfer data to our hosting partner in the European Union.

We protect transferred data with standard contractual clauses.

## 13. Service Providers

We use service providers to run the Kiteboard app.
"""

RELEASED_TERMS_V1 = """\
# Terms of Service

Effective date: 01/15/2024

## 1. Using Kiteboard

You must be at least 16 years old to use the Kiteboard app.

## 2. Your Content

You keep the rights to the flight logs you upload.
"""


@pytest.fixture
def released_repo(
    policy_repo: Callable[..., GitPolicyRepo], tag_release: Callable[..., str]
) -> GitPolicyRepo:
    """Two policies: privacy-policy released as v1 and v2, terms-of-service as v1.

    v2 of the privacy policy changes one paragraph in Section 7 and adds one paragraph to
    Section 13. Tags carry fixed dates, so builds are reproducible.
    """
    repo = policy_repo("released")
    repo.write("policies/privacy-policy.md", RELEASED_PRIVACY_V1)
    repo.write("policies/terms-of-service.md", RELEASED_TERMS_V1)
    repo.commit("Add the privacy policy and the terms")
    tag_release(repo, "privacy-policy", 1, "2024-01-15", when="2024-01-10T09:00:00+00:00")
    tag_release(repo, "terms-of-service", 1, "2024-01-15", when="2024-01-10T09:05:00+00:00")
    v2 = RELEASED_PRIVACY_V1.replace("01/15/2024", "03/01/2024").replace(
        "in the European Union.", "in the European Union and in Switzerland."
    )
    v2 += "\nEvery service provider signs a data processing agreement with us.\n"
    repo.write("policies/privacy-policy.md", v2)
    repo.commit("Privacy policy: transfers to Switzerland, processing agreements")
    tag_release(repo, "privacy-policy", 2, "2024-03-01", when="2024-01-31T09:00:00+00:00")
    return repo


# -- databases: every ledger test runs on SQLite and on PostgreSQL ----------------------------

ENV_TEST_DATABASE_URL = "REDLINE_TEST_DATABASE_URL"
ENV_REQUIRE_POSTGRES = "REDLINE_REQUIRE_POSTGRES"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A URL of an empty database: a SQLite file, or a fresh schema in PostgreSQL.

    PostgreSQL comes from REDLINE_TEST_DATABASE_URL; without it those tests skip, unless
    REDLINE_REQUIRE_POSTGRES=1 (CI), where they fail.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'redline.db').as_posix()}"
        return
    base = os.environ.get(ENV_TEST_DATABASE_URL)
    if not base:
        if os.environ.get(ENV_REQUIRE_POSTGRES) == "1":
            pytest.fail(f"{ENV_REQUIRE_POSTGRES}=1 but {ENV_TEST_DATABASE_URL} is not set")
        pytest.skip(f"PostgreSQL tests need {ENV_TEST_DATABASE_URL} (see .ci/run)")
    import uuid

    import sqlalchemy as sa

    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# -- running the redline command line (plain helpers: `from conftest import ...`) ----------------

CI_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_BASE_REF", "REDLINE_TODAY", "NO_COLOR")
"""Variables a CI runner may set that change redline's output; the in-process runner clears them."""


@dataclass
class CliOutcome:
    """What one run of the command line did."""

    returncode: int
    stdout: str
    stderr: str


def redline_in_process(repo: GitPolicyRepo, *args: str, **env: str) -> CliOutcome:
    """``redline --repo ROOT ARGS`` in this process (fast), without CI variables, plus ``env``."""
    from click.testing import CliRunner

    from redline.cli import cli

    environ: dict[str, str | None] = {name: None for name in CI_VARIABLES}
    environ.update(env)
    result = CliRunner().invoke(
        cli, ["--repo", str(repo.root), *args], env=environ, catch_exceptions=False
    )
    return CliOutcome(result.exit_code, result.stdout, result.stderr)


def redline_process(
    repo: GitPolicyRepo, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m redline --repo ROOT ARGS`` as a separate process, in the repository's git
    environment plus ``env``: real exit codes and streams."""
    return subprocess.run(
        [sys.executable, "-m", "redline", "--repo", str(repo.root), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**repo.env(), **env},
    )
