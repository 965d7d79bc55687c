"""Shared fixtures. Add new fixtures below; do not rewrite other people's."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

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

    def settings(self, **overrides: object) -> Settings:
        """redline settings for this repository (its config file, if any, plus overrides)."""
        from redline.config import load_settings

        return load_settings(self.root, None, overrides)


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
