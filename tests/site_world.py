"""A released repository for the site's page tests: the privacy policy in three versions
(version 2 moves a section, version 3 takes effect after the build day) and the terms of
service in one, with the site's config keys set. Real git repository, real release tags."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import moved_world

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from conftest import GitPolicyRepo

#: The build day of every site built here: version 3 is upcoming on it.
TODAY = dt.date(2026, 12, 2)
CONFIG = """\
site_name = "Northwind policies"
organization = "Northwind Kites Ltd."
contact = "privacy@northwind.example"
serve_url = "https://notify.northwind.example"
"""
TERMS = """\
# Terms of Service of the Kiteboard App, the Kiteboard Website and Kiteboard Flight Logs

Effective date: 01/15/2024

## 1. Using Kiteboard

You must be at least 16 years old to use the Kiteboard app. See
https://northwind.example/a-very-long-address/that-does-not-fit/on-a-phone-screen/at-all.

## 2. Your Content

You keep the rights to the flight logs you upload.
"""


def v3() -> str:
    """Version 3: bold and a link added, a full stop changed, a date in 2027."""
    return (
        moved_world.v2()
        .replace("03/01/2024", "01/01/2027")
        .replace("encryption at rest", "**strong** encryption at rest")
        .replace("Write to privacy@example.com.", "Write to [our team](https://example.com/c)!")
    )


def site_repo(
    policy_repo: Callable[..., GitPolicyRepo], tag_release: Callable[..., Any]
) -> GitPolicyRepo:
    """The repository described in the module docstring."""
    repo = moved_world.released(policy_repo, tag_release)
    repo.write("redline.toml", CONFIG)
    repo.write("policies/terms-of-service.md", TERMS)
    repo.commit("Terms of service and the site's config")
    tag_release(repo, "terms-of-service", 1, "2024-01-15", when="2024-02-01T09:00:00+00:00")
    repo.write(moved_world.POLICY, v3())
    repo.commit("Privacy policy: stronger encryption, contact form")
    tag_release(repo, "privacy-policy", 3, "2027-01-01", when="2026-11-20T09:00:00+00:00")
    return repo


def build(
    repo: GitPolicyRepo, outdir: Path, today: dt.date | None = TODAY, **overrides: object
) -> Any:
    """Build the site of ``repo`` into ``outdir`` as of ``today`` (None: the build's default);
    returns the report."""
    from redline.history.repo import PolicyRepo
    from redline.publish.site import build_site

    settings = repo.settings(**overrides)
    return build_site(PolicyRepo(settings), settings, outdir, today=today)


def redline(repo: GitPolicyRepo, *args: str) -> str:
    """Run ``redline ARGS`` on ``repo`` as a process; its stdout (it must succeed)."""
    result = subprocess.run(
        [sys.executable, "-m", "redline", "--repo", str(repo.root), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**repo.env(None), "NO_COLOR": "1", "REDLINE_TODAY": TODAY.isoformat()},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
