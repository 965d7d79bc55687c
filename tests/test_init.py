"""``redline init`` on real temporary git repositories with history and a bare origin."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest

from redline.errors import ConfigError, GitError, InputError
from redline.history.repo import PolicyRepo
from redline.jobs.init import BASELINE_SUMMARY, apply_init, plan_init
from redline.jobs.init_files import workflow_templates

PRIVACY_V1 = """\
# Privacy Policy

Effective date: 2024-01-15

## 1. Data

We collect your email address.
"""
PRIVACY_V2 = PRIVACY_V1.replace("2024-01-15", "2024-03-01").replace(
    "email address.", "email address and your name."
)
TERMS = "# Terms\n\n_Last updated: May 14, 2024_\n\n## 1. Use\n\nBe nice.\n"
NO_DATE = "# Cookies\n\n## 1. Cookies\n\nWe use one cookie.\n"


def run_redline(root, *args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "redline", "--repo", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture
def repo_with_history(policy_repo, tmp_path):
    """Two policies with several revisions (one renamed), pushed to a bare origin."""
    repo = policy_repo("work")
    repo.write("policies/privacy.md", PRIVACY_V1)
    repo.commit("Add the privacy policy")
    repo.write("policies/terms.md", TERMS)
    repo.commit("Add the terms")
    repo.write("policies/privacy.md", PRIVACY_V2)
    repo.commit("Collect names")
    repo.mv("policies/privacy.md", "policies/privacy-policy.md")
    repo.commit("Rename the privacy policy")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(origin)], check=True)
    repo.git("remote", "add", "origin", str(origin))
    repo.git("push", "--quiet", "origin", "main")
    repo.origin = origin
    return repo


def snapshot(root):
    return {
        path: path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def tags_of(repo):
    return sorted(repo.git("tag", "--list").split())


def test_init_on_a_repository_with_history(repo_with_history):
    repo = repo_with_history
    head = repo.head()
    result = run_redline(repo.root, "init", env=repo.env())
    assert result.returncode == 0, result.stderr
    assert "nobody was emailed" in result.stdout

    assert tags_of(repo) == ["privacy-policy/v1", "terms/v1"]
    policy_repo = PolicyRepo(repo.settings())
    privacy = policy_repo.latest_release(policy_repo.resolve("privacy-policy"))
    assert privacy is not None
    assert privacy.version == 1
    assert privacy.commit == head
    assert privacy.effective_date == date(2024, 3, 1)  # the date at HEAD, not the first one
    assert privacy.notify is False
    assert privacy.previous_version is None
    assert privacy.summary == BASELINE_SUMMARY
    terms = policy_repo.latest_release(policy_repo.resolve("terms"))
    assert terms is not None and terms.effective_date == date(2024, 5, 14)
    tagger = repo.git("for-each-ref", "--format=%(taggername)", "refs/tags/terms/v1").strip()
    assert tagger == "redline-bot"

    config = (repo.root / "redline.toml").read_text()
    assert 'policies_dir = "policies"' in config
    assert "notice_days = 30" in config
    for template in workflow_templates():
        written = repo.root / ".github" / "workflows" / template.name
        assert written.read_text() == template.read_text()
    assert ".redline/" in (repo.root / ".gitignore").read_text().splitlines()
    assert not (repo.root / ".redline").exists()  # no database: nobody to email

    # The written config is valid and the tags travel with the commit.
    repo.git("add", ".")
    repo.git("commit", "--quiet", "-m", "Set up redline")
    repo.git("push", "--quiet", "--follow-tags", "origin", "main")
    remote = subprocess.run(
        ["git", "--git-dir", str(repo.origin), "tag", "--list"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sorted(remote.stdout.split()) == ["privacy-policy/v1", "terms/v1"]
    status = run_redline(repo.root, "diff", "privacy-policy", "--json", env=repo.env())
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["classification"] == "none"


def test_init_again_changes_nothing(repo_with_history):
    repo = repo_with_history
    assert run_redline(repo.root, "init", env=repo.env()).returncode == 0
    before = snapshot(repo.root)
    tag_ids = repo.git("show-ref", "--tags")
    again = run_redline(repo.root, "init", env=repo.env())
    assert again.returncode == 0, again.stderr
    assert "Already set up: nothing to do." in again.stdout
    assert snapshot(repo.root) == before
    assert repo.git("show-ref", "--tags") == tag_ids


def test_dry_run_writes_nothing(repo_with_history):
    repo = repo_with_history
    result = run_redline(repo.root, "init", "--dry-run", "--json", env=repo.env())
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["dry_run"] is True
    assert {f["path"]: f["action"] for f in plan["files"]} == {
        "redline.toml": "create",
        ".github/workflows/redline-preview.yml": "create",
        ".github/workflows/redline-release.yml": "create",
        ".github/workflows/redline-remind.yml": "create",
        ".gitignore": "create",
    }
    assert [(t["tag"], t["effective_date"]) for t in plan["tags"]] == [
        ("privacy-policy/v1", "2024-03-01"),
        ("terms/v1", "2024-05-14"),
    ]
    assert tags_of(repo) == []
    assert repo.git("status", "--porcelain") == ""


def test_refuses_when_release_tags_exist(repo_with_history):
    repo = repo_with_history
    assert run_redline(repo.root, "init", env=repo.env()).returncode == 0
    repo.write("policies/terms.md", TERMS.replace("Be nice.", "Be kind."))
    repo.commit("Reword the terms")
    repo.tag("terms/v2", "redline: terms v2\n\nVersion: 2\nEffective-Date: 2024-06-01\n")
    result = run_redline(repo.root, "init", env=repo.env())
    assert result.returncode == 3
    assert "release tags already exist (terms/v1, terms/v2)" in result.stderr
    assert "Traceback" not in result.stderr


def test_refuses_a_v1_tag_on_other_text(repo_with_history):
    repo = repo_with_history
    first = repo.git("rev-list", "--max-parents=0", "HEAD").strip()
    repo.tag("privacy-policy/v1", "redline: v1\n\nEffective-Date: 2024-01-15\n", rev=first)
    with pytest.raises(GitError, match=r"release tags already exist \(privacy-policy/v1\)"):
        plan_init(PolicyRepo(repo.settings()), repo.settings())


def test_refuses_uncommitted_policies_and_writes_nothing(repo_with_history):
    repo = repo_with_history
    repo.write("policies/cookies.md", NO_DATE)
    repo.write("policies/terms.md", TERMS + "\nMore.\n")
    result = run_redline(repo.root, "init", env=repo.env())
    assert result.returncode == 2
    assert "policies/cookies.md (not committed)" in result.stderr
    assert "policies/terms.md (uncommitted changes)" in result.stderr
    assert not (repo.root / "redline.toml").exists()
    assert tags_of(repo) == []


def test_finishes_what_is_left(repo_with_history):
    """A policy added after an earlier init gets its baseline; existing tags are kept."""
    repo = repo_with_history
    settings = repo.settings()
    apply_init(PolicyRepo(settings), plan_init(PolicyRepo(settings), settings), settings)
    repo.write("policies/cookies.md", NO_DATE)
    repo.commit("Add the cookie policy", when="2024-07-04T09:00:00+00:00")
    settings = repo.settings()
    plan = plan_init(PolicyRepo(settings), settings)
    assert [(t.tag, t.exists) for t in plan.tags] == [
        ("cookies/v1", False),
        ("privacy-policy/v1", True),
        ("terms/v1", True),
    ]
    # No effective date in the file: the date of its last commit, with a warning.
    assert plan.tags[0].effective_date == date(2024, 7, 4)
    assert any("cookies.md: no effective-date statement" in w for w in plan.warnings)
    apply_init(PolicyRepo(settings), plan, settings)
    assert tags_of(repo) == ["cookies/v1", "privacy-policy/v1", "terms/v1"]


def test_a_date_without_evidence_skips_only_that_policy(policy_repo):
    repo = policy_repo()
    repo.write("policies/privacy.md", PRIVACY_V1.replace("2024-01-15", "03/01/2026"))
    repo.write("policies/terms.md", PRIVACY_V1.replace("Privacy", "Terms"))
    repo.commit("Add")
    plan = plan_init(PolicyRepo(repo.settings()), repo.settings())
    assert [t.tag for t in plan.tags] == ["terms/v1"]
    (skipped,) = plan.skipped
    assert skipped.path == "policies/privacy.md" and "ambiguous" in skipped.message
    assert 'policies."policies/privacy.md"' in (skipped.hint or "")
    result = run_redline(repo.root, "init", env=repo.env())
    assert result.returncode == 6, result.stderr
    assert result.stderr.count("'03/01/2026' is ambiguous") == 1
    assert tags_of(repo) == ["terms/v1"]
    result = run_redline(repo.root, "init", "--date-order", "DMY", env=repo.env())
    assert result.returncode == 0, result.stderr
    release = PolicyRepo(repo.settings()).latest_release(
        PolicyRepo(repo.settings()).resolve("privacy")
    )
    assert release is not None and release.effective_date == date(2026, 1, 3)


def test_init_records_the_orders_it_inferred(policy_repo):
    repo = policy_repo()
    repo.write("policies/privacy.md", PRIVACY_V1.replace("2024-01-15", "05/14/2020"))
    repo.write("policies/terms.md", PRIVACY_V1.replace("2024-01-15", "03/01/2021"))
    repo.commit("Add")
    # 02/09/2026 reads both ways; the history (05/14/2020) proves MDY
    repo.write("policies/privacy.md", PRIVACY_V1.replace("2024-01-15", "02/09/2026"))
    repo.commit("New date")
    result = run_redline(repo.root, "init", "--json", env=repo.env())
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["date_orders"] == {"policies/privacy.md": "MDY", "policies/terms.md": "MDY"}
    assert {t["tag"]: t["effective_date"] for t in data["tags"]} == {
        "privacy/v1": "2026-02-09",
        "terms/v1": "2021-03-01",  # the other policy of the repository writes MDY
    }
    assert 'date_order = "MDY"' in (repo.root / "redline.toml").read_text()


def test_disagreeing_orders_are_recorded_per_policy(policy_repo):
    repo = policy_repo()
    repo.write("policies/privacy.md", PRIVACY_V1.replace("2024-01-15", "05/14/2020"))
    repo.write("policies/terms.md", PRIVACY_V1.replace("2024-01-15", "14/05/2020"))
    repo.commit("Add")
    result = run_redline(repo.root, "init", env=repo.env())
    assert result.returncode == 0, result.stderr
    config = (repo.root / "redline.toml").read_text()
    assert '[policies."policies/privacy.md"]\ndate_order = "MDY"' in config
    assert '[policies."policies/terms.md"]\ndate_order = "DMY"' in config
    assert "\ndate_order" not in config.split("[policies.")[0]  # no global order
    settings = repo.settings()  # the written config loads
    assert settings.policies["policies/terms.md"].date_order == "DMY"


def test_existing_config_and_workflows_are_never_clobbered(repo_with_history):
    repo = repo_with_history
    repo.write("pyproject.toml", '[project]\nname = "policies"\n')
    workflow = workflow_templates()[0].name
    custom = "# our own workflow\nname: custom\n"
    repo.write(f".github/workflows/{workflow}", custom)
    repo.write(".gitignore", "/.redline\n")
    settings = repo.settings()
    plan = plan_init(PolicyRepo(settings), settings)
    actions = {f.path: f.action for f in plan.files}
    assert actions["pyproject.toml"] == "append"
    assert actions[f".github/workflows/{workflow}"] == "keep"
    assert actions[".gitignore"] == "keep"
    assert any(workflow in w and "differs" in w for w in plan.warnings)
    apply_init(PolicyRepo(settings), plan, settings)
    pyproject = (repo.root / "pyproject.toml").read_text()
    assert pyproject.startswith('[project]\nname = "policies"\n')
    assert "[tool.redline]" in pyproject
    assert (repo.root / f".github/workflows/{workflow}").read_text() == custom
    assert repo.settings().notice_days == 30  # the appended table loads

    # An existing [tool.redline] is kept as it is, byte for byte.
    repo.write("pyproject.toml", "[tool.redline]\nnotice_days = 45\n")
    plan = plan_init(PolicyRepo(repo.settings()), repo.settings())
    assert {f.path: f.action for f in plan.files}["pyproject.toml"] == "keep"


def test_policies_dir_reaches_the_release_workflow(policy_repo):
    repo = policy_repo()
    repo.write("legal/privacy.md", PRIVACY_V1)
    repo.commit("Add")
    settings = repo.settings(policies_dir="legal")
    plan = plan_init(PolicyRepo(settings), settings)
    release = next(f for f in plan.files if f.path.endswith("redline-release.yml"))
    assert '"legal/**"' in release.content
    assert '"policies/**"' not in release.content
    config = next(f for f in plan.files if f.path == "redline.toml")
    assert 'policies_dir = "legal"' in config.content


def test_empty_repository_and_no_policies(policy_repo):
    repo = policy_repo()
    with pytest.raises(GitError, match="no commits"):
        plan_init(PolicyRepo(repo.settings()), repo.settings())
    repo.write("README.md", "# nothing\n")
    repo.commit("Start")
    with pytest.raises(ConfigError, match="policies_dir 'policies' does not exist"):
        plan_init(PolicyRepo(repo.settings()), repo.settings())
    repo.write("policies/README.md", "# Our policies\n")
    repo.commit("Only a README")
    with pytest.raises(InputError, match=r"no policies found .*include \['\*\.md'\] matched 1"):
        plan_init(PolicyRepo(repo.settings()), repo.settings())
