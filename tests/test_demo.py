"""The README's main command runs the whole release end to end in a subprocess."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

from redline.cli._demo import SAMPLE_POLICIES

ROOT = Path(__file__).resolve().parents[1]


def fingerprint(directory: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
    }


def clean_machine_env(tmp_path: Path) -> dict[str, str]:
    """No git identity or config, no redline settings; a polluted GitHub environment."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("REDLINE_", "GIT_", "GITHUB_"))
    }
    github_output = tmp_path / "github-output"
    github_output.write_text("")
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        TMPDIR=str(tmp_path),
        NO_COLOR="1",
        # A run inside GitHub Actions must not write to the real job's outputs, nor use a
        # real database.
        GITHUB_ACTIONS="true",
        GITHUB_OUTPUT=str(github_output),
        REDLINE_DATABASE_URL="postgresql+psycopg://nobody:wrong@127.0.0.1:9/none",
    )
    return env


def test_demo_runs_the_whole_release(tmp_path):
    policies_before = fingerprint(SAMPLE_POLICIES)
    result = subprocess.run(
        [sys.executable, "-m", "redline.cli._demo", "--today", "2026-04-01"],
        cwd=ROOT,
        env=clean_machine_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    first = out.splitlines()[0]
    assert first.startswith("redline demo in ")
    workdir = Path(first.removeprefix("redline demo in "))
    assert workdir.parent == tmp_path  # a new temporary directory

    # What the README promises it prints.
    assert "Material change: privacy-policy" in out  # the redline
    assert "[- 30-]{+ 90+}" in out
    assert "New effective date: 2026-05-01" in out  # 2026-04-01 + 30 days
    assert "## Version 2 — effective May 1, 2026" in out  # the changelog entry
    assert f"Site: {workdir / 'site' / 'index.html'}" in out
    assert f"Emails: 3 notices in {workdir / 'outbox'}" in out

    # And the outputs exist.
    repo = workdir / "policies-repo"
    assert "Effective date: 05/01/2026" in (repo / "policies/privacy-policy.md").read_text()
    assert (repo / "policies/privacy-policy.changelog.md").is_file()
    assert (workdir / "site/index.html").is_file()
    assert (workdir / "site/privacy-policy/2/index.html").is_file()
    emails = sorted((workdir / "outbox").glob("*.eml"))
    assert len(emails) == 3  # Dev Patel follows only the terms of service
    recipients = set()
    for path in emails:
        message = message_from_bytes(path.read_bytes(), policy=email_policy.default)
        recipients.add(message["To"].addresses[0].addr_spec)
        assert message["Subject"] == (
            "Changes to Harbor Lane Ltd.’s Privacy Policy, effective May 1, 2026"
        )
        assert message["List-Unsubscribe"].startswith("<https://policies.example.com/")
    assert all(address.endswith("@example.com") for address in recipients)
    tags = subprocess.run(
        ["git", "--git-dir", str(workdir / "origin.git"), "tag", "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(tags) == ["privacy-policy/v1", "privacy-policy/v2", "terms-of-service/v1"]

    # Nothing left behind in the project, and nothing written to the real GitHub job.
    assert fingerprint(SAMPLE_POLICIES) == policies_before
    assert not (ROOT / "demo-output").exists()
    assert (tmp_path / "github-output").read_text() == ""
    assert "Traceback" not in result.stderr


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = subprocess.run(
        [sys.executable, "-m", "redline.cli._demo", "--output", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "is not empty" in result.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"
