"""A policy with two committed versions and an edit in the working tree, for the HTML
redline's tests: bold, italic, code and links around the changes, a changed full stop, a
moved section, a deleted and an inserted paragraph, and long unchanged runs."""

from __future__ import annotations

import subprocess
import sys

FILLER = "".join(f"Unchanged paragraph {n} about how we handle your data.\n\n" for n in range(1, 9))
V1 = (
    "# Privacy Policy\n\nEffective date: 1 March 2024\n\n"
    "This policy explains **what we collect** and why.\n\n"
    "## 1. Data\n\n" + FILLER + "We collect your *name* and `user id` for billing.\n\n"
    "We store data in the EU.\n\n"
    "## 2. Sharing\n\nWe share data with our [hosting partner](https://host.example.com/terms).\n\n"
    "We never sell data.\n\n"
    "## 3. Security\n\nWe encrypt everything. A very long address: "
    "https://example.com/a/very/long/path/that/does/not/wrap/on/a/phone/screen/at/all/ever\n\n"
    "## 4. Retention\n\nWe keep logs for 30 days.\n\n"
    "## 5. Contact\n\n" + FILLER.replace("Unchanged", "Other") + "Write to privacy@example.com.\n"
)


def v2(text: str = V1) -> str:
    """The second version: words, a full stop, a link target, a move and a new paragraph."""
    retention = "## 4. Retention\n\nWe keep logs for 30 days.\n\n"
    moved = text.replace(retention, "").replace("## 2. Sharing", retention + "## 2. Sharing")
    return (
        moved.replace("*name* and", "*name*, *email address* and")
        .replace("We never sell data.", "We never sell data;")
        .replace("https://host.example.com/terms", "https://host.example.com/terms-2025")
        .replace("We store data in the EU.\n\n", "")
        .replace(
            "We encrypt everything.", "We encrypt everything.\n\nWe test our **backups** monthly."
        )
        .replace("1 March 2024", "1 April 2025")
    )


def make_repo(policy_repo):
    """The repository: v1 committed on 2 January 2024, v2 on 3 January 2024."""
    repo = policy_repo()
    repo.write("policies/privacy.md", V1)
    repo.commit("First version", when="2024-01-02T12:00:00+00:00")
    repo.write("policies/privacy.md", v2())
    repo.commit("Second version", when="2024-01-03T12:00:00+00:00")
    return repo


def redline(repo, *args: str) -> subprocess.CompletedProcess[str]:
    """``redline --repo REPO ARGS`` as a process."""
    return subprocess.run(
        [sys.executable, "-m", "redline", "--repo", str(repo.root), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**repo.env(None), "NO_COLOR": "1"},
    )
