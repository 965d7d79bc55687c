"""A released repository for the notice email tests: the privacy policy of
:mod:`moved_world` (version 2 moves Section 5 up and edits it, adds a paragraph, changes a
URL) with the email's config keys set, and the emails ``redline preview-email`` writes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import moved_world

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import GitPolicyRepo

ORGANIZATION = "Northwind Kites Ltd."
CONTACT = "privacy@northwind.example"
SITE_URL = "https://policies.northwind.example"
CONFIG = f"""\
site_url = "{SITE_URL}"
organization = "{ORGANIZATION}"
contact = "{CONTACT}"
unsubscribe_url = "https://notify.northwind.example/unsubscribe?token={{token}}"
"""
#: The day the emails are rendered on: a week before version 2 takes effect.
TODAY = "2024-02-23"


def email_repo(
    policy_repo: Callable[..., GitPolicyRepo], tag_release: Callable[..., Any], config: str = CONFIG
) -> GitPolicyRepo:
    """The repository described in the module docstring, with ``config``."""
    repo = moved_world.released(policy_repo, tag_release)
    repo.write("redline.toml", config)
    repo.commit("The email's config")
    return repo


def preview(
    repo: GitPolicyRepo,
    outdir: Path,
    *args: str,
    version: int = 2,
    today: str = TODAY,
) -> dict[str, dict[str, Path]]:
    """``redline preview-email privacy-policy --version VERSION --kind all -o OUTDIR ARGS`` on
    ``today``: the files written, by kind and suffix (eml, txt, html)."""
    import json

    from conftest import redline_in_process

    outcome = redline_in_process(
        repo,
        "preview-email",
        "privacy-policy",
        "--version",
        str(version),
        "--kind",
        "all",
        "-o",
        str(outdir),
        "--json",
        *args,
        REDLINE_TODAY=today,
    )
    assert outcome.returncode == 0, outcome.stderr
    files = json.loads(outcome.stdout)["files"]
    return {
        item["kind"]: {key: Path(item[key]) for key in ("eml", "txt", "html")} for item in files
    }
