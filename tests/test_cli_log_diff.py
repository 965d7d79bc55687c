"""`redline log` and `redline diff` as whole processes on real git repositories."""

from __future__ import annotations

import json
import subprocess
import sys

POLICY = (
    "# Privacy\n\nEffective date: 2024-01-01\n\n## 1. Data\n\nWe collect your name.\n\n"
    "## 2. Sharing\n\nWe share nothing.\n"
)


def redline(repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "redline", "--repo", str(repo.root), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**repo.env(None), "NO_COLOR": "1"},
    )


def make_history(policy_repo):
    repo = policy_repo()
    repo.write("policies/privacy.md", "\n".join(["Site navigation."] * 150) + "\n\n" + POLICY)
    repo.commit("Add privacy policy")
    text = (repo.root / "policies/privacy.md").read_text()
    repo.write("policies/privacy.md", text.replace("2024-01-01", "2024-03-01"))
    repo.commit("Move the date")
    return repo


def test_log_json_finds_a_date_line_deep_in_the_page(policy_repo):
    repo = make_history(policy_repo)
    result = redline(repo, "log", "privacy", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [r["subject"] for r in data["revisions"]] == ["Move the date", "Add privacy policy"]
    assert [r["effective_line"] for r in data["revisions"]] == [
        "Effective date: 2024-03-01",
        "Effective date: 2024-01-01",
    ]


def test_diff_exit_code_and_formats(policy_repo):
    repo = make_history(policy_repo)
    text = (repo.root / "policies/privacy.md").read_text()
    repo.write("policies/privacy.md", text.replace("We share nothing.", "We share <b>nothing</b>."))
    same = redline(repo, "diff", "privacy", "--exit-code", "--format", "json")
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["classification"] == "none"

    repo.write("policies/privacy.md", text.replace("We share nothing.", "We share <script>."))
    changed = redline(repo, "diff", "privacy", "--exit-code", "--format", "html")
    assert changed.returncode == 1
    assert "<ins>" in changed.stdout and "&lt;script&gt;" in changed.stdout
    assert "<script>" not in changed.stdout
    plain = redline(repo, "diff", "privacy", "HEAD~1", "HEAD")
    assert plain.returncode == 0
    assert "[-2024-01-01-]{+2024-03-01+}" in plain.stdout.replace(" ", "")


def test_diff_bad_input_is_one_line_without_traceback(policy_repo):
    repo = make_history(policy_repo)
    for args, expected in [
        (("diff", "nope"), "unknown policy 'nope'"),
        (("diff", "privacy", "no-such-rev"), "unknown revision 'no-such-rev'"),
    ]:
        result = redline(repo, *args)
        assert result.returncode in {2, 3}
        assert expected in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    repo.write("policies/privacy.md", b"\xff\xfe binary \x00 data")
    result = redline(repo, "diff", "privacy")
    assert result.returncode == 2
    assert "binary" in result.stderr and "Traceback" not in result.stderr
