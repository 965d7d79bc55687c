"""``redline check`` on real temporary git repositories, through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pytest

from conftest import CI_VARIABLES, CliOutcome, redline_in_process
from redline.config import Settings
from redline.history.repo import PolicyRepo
from redline.jobs.check import check_change
from redline.jobs.check_report import CheckReport, Finding, PolicyCheck, github_annotations
from redline.jobs.init import apply_init, plan_init

TODAY = "2026-01-01"
POLICY = """# Privacy Policy

Effective date: {date}

## 1. Scope

This policy covers the Acme app.

## 2. Data we collect

We collect your email address and your name.

## 3. Sharing

We never sell your data.
"""


def policy(when: str = "2025-06-01", **edits: str) -> str:
    text = POLICY.format(date=when)
    for old, new in edits.items():
        old = old.replace("_", " ")
        assert old in text, old
        text = text.replace(old, new)
    return text


def run(repo, *args: str, **env: str) -> CliOutcome:
    """``redline --repo ROOT check ARGS`` in this process (fast), with a clean environment."""
    return redline_in_process(repo, "check", *args, **env)


def run_process(repo, *args: str, **env: str) -> CliOutcome:
    """The same as a separate ``python -m redline`` process: real exit codes and streams."""
    environ = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    environ.update(env)
    result = subprocess.run(
        [sys.executable, "-m", "redline", "--repo", str(repo.root), "check", *args],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )
    return CliOutcome(result.returncode, result.stdout, result.stderr)


def check_json(repo, *args: str, **env: str) -> tuple[int, dict, str]:
    result = run(repo, "--json", "--today", TODAY, *args, **env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


@pytest.fixture
def feature(policy_repo):
    """A repository whose main branch has the policies released as v1 (``redline init``),
    effective 2025-06-01, on branch feature."""
    repo = policy_repo()
    repo.write("policies/privacy.md", policy())
    repo.write("policies/terms.md", "# Terms\n\nEffective date: 2025-06-01\n\nBe nice.\n")
    repo.commit("policies")
    settings = repo.settings()
    apply_init(PolicyRepo(settings), plan_init(PolicyRepo(settings), settings), settings)
    repo.commit("Set up redline")
    repo.git("checkout", "--quiet", "-b", "feature")
    return repo


def by_author(repo) -> None:
    """``effective_date_by = "author"``: the pull request must set the date."""
    config = repo.root / "redline.toml"
    text = config.read_text() if config.exists() else ""
    config.write_text(text + 'effective_date_by = "author"\n')


def only(report: dict) -> dict:
    assert len(report["policies"]) == 1, report
    return report["policies"][0]


# -- each rule -------------------------------------------------------------------------------


def test_material_change_without_moving_the_date_passes_as_release_sets_it(feature):
    feature.write("policies/privacy.md", policy(We_never_sell="We sell"))
    code, report, _ = check_json(feature)
    assert code == 0
    assert report["status"] == "pass"
    entry = only(report)
    assert (entry["change"], entry["classification"], entry["date_changed"]) == (
        "modified",
        "material",
        False,
    )
    assert entry["old_date"] == entry["new_date"] == "2025-06-01"
    assert entry["days_of_notice"] == 30
    assert entry["release"]["effective_date"] == "2026-01-31"
    assert entry["release"]["notify"] is True
    [finding] = entry["findings"]
    assert finding == {
        "level": "notice",
        "message": "release will set 2026-01-31 (30 days after the release) and notify "
        "subscribers: v2, material change: notice period of 30 days",
        "line": 3,
    }


def test_material_change_without_moving_the_date_fails_when_the_author_sets_it(feature):
    by_author(feature)
    feature.write("policies/privacy.md", policy(We_never_sell="We sell"))
    process = run_process(feature, "--json", "--today", TODAY)
    assert process.returncode == 1
    assert process.stderr == "redline: error: 1 of 1 changed policies failed the notice check\n"
    assert json.loads(process.stdout)["status"] == "fail"
    code, report, _ = check_json(feature)
    assert code == 1
    assert report["today"] == TODAY and report["notice_days"] == 30
    entry = only(report)
    assert (entry["path"], entry["policy"], entry["status"]) == (
        "policies/privacy.md",
        "privacy",
        "fail",
    )
    assert entry["release"] is None
    [finding] = entry["findings"]
    assert finding["level"] == "error" and finding["line"] == 3
    assert (
        "material change, but the effective date did not move (still 2025-06-01)"
        in (finding["message"])
    )
    assert "(fix: redline effective-date privacy --in 30d)" in finding["message"]
    assert report["summary"] == {"failed": 1, "warned": 0, "passed": 0}
    # the author sets the date: now it passes, with that date
    feature.write("policies/privacy.md", policy("2026-02-15", We_never_sell="We sell"))
    code, report, _ = check_json(feature)
    assert code == 0
    assert (
        "release will set 2026-02-15 (45 days after the release)"
        in (only(report)["findings"][0]["message"])
    )


def test_short_notice_fails_with_days_given_and_required(feature):
    feature.write("policies/privacy.md", policy("2026-01-13", We_never_sell="We sell"))
    code, report, _ = check_json(feature)
    assert code == 1
    entry = only(report)
    assert (entry["status"], entry["days_of_notice"], entry["date_changed"]) == ("fail", 12, True)
    message = entry["findings"][0]["message"]
    assert "the policy states 2026-01-13, which gives 12 days of notice" in message
    assert "the earliest allowed is 2026-01-31 (notice period of 30 days)" in message
    assert "--allow-short-notice" in message
    # what release --allow-short-notice would do: a warning, not a failure
    code, report, _ = check_json(feature, "--allow-short-notice")
    assert (code, only(report)["status"]) == (0, "warn")
    assert (
        "release will set 2026-01-13 (12 days after the release) on SHORT NOTICE"
        in (only(report)["findings"][0]["message"])
    )


def test_enough_notice_passes(feature):
    feature.write("policies/privacy.md", policy("2026-01-31", We_never_sell="We sell"))
    code, report, _ = check_json(feature)
    assert code == 0
    entry = only(report)
    assert (entry["status"], entry["classification"], entry["days_of_notice"]) == (
        "pass",
        "material",
        30,
    )
    assert entry["findings"] == [
        {
            "level": "notice",
            "message": "release will set 2026-01-31 (30 days after the release) and notify "
            "subscribers: v2, material change: date stated in the policy",
            "line": 3,
        }
    ]


def test_date_in_the_past_fails(feature):
    feature.write("policies/privacy.md", policy("2025-12-31", We_never_sell="We sell"))
    code, report, _ = check_json(feature)
    assert code == 1
    assert (
        "the policy states 2025-12-31, which is in the past (today is 2026-01-01)"
        in (only(report)["findings"][0]["message"])
    )


@pytest.mark.parametrize(
    ("written", "fragment"),
    [
        ("2026-02-30", "3: '2026-02-30' is not a valid date"),
        ("03/04/2026", "3: '03/04/2026' is ambiguous"),
        ("soon, 2026", "3: 'soon, 2026' is not a date"),
        ("", "3: the effective date is blank"),
    ],
)
def test_invalid_ambiguous_or_blank_date_fails(feature, written, fragment):
    feature.write("policies/privacy.md", policy(written, We_never_sell="We sell"))
    code, report, _ = check_json(feature)
    assert code == 1
    entry = only(report)
    assert entry["status"] == "fail" and entry["new_date"] is None
    assert fragment in entry["findings"][0]["message"]
    assert entry["findings"][0]["line"] == 3


def test_ambiguous_date_passes_with_date_order(feature):
    feature.write("redline.toml", 'date_order = "DMY"\n')
    feature.write("policies/privacy.md", policy("03/04/2026", We_never_sell="We sell"))
    code, report, _ = check_json(feature)
    assert code == 0
    assert only(report)["new_date"] == "2026-04-03"


def test_missing_date_line_fails_and_says_what_to_add(feature):
    text = policy(We_never_sell="We sell").replace("Effective date: 2025-06-01\n\n", "")
    feature.write("policies/privacy.md", text)
    code, report, _ = check_json(feature)
    assert code == 1
    message = only(report)["findings"][0]["message"]
    assert "no effective-date statement found" in message
    assert "'Effective date: 2026-01-31'" in message


def test_only_the_date_changed_warns(feature):
    feature.write("policies/privacy.md", policy("2026-03-01"))
    code, report, _ = check_json(feature)
    assert code == 0
    assert report["status"] == "warn"
    entry = only(report)
    assert (entry["status"], entry["date_changed"], entry["release"]) == ("warn", True, None)
    assert (
        "only the effective date changed (2025-06-01 -> 2026-03-01); nothing else in the "
        "policy did, so release will release nothing"
    ) in entry["findings"][0]["message"]
    assert report["summary"] == {"failed": 0, "warned": 1, "passed": 0}


def test_editorial_change_passes(feature):
    feature.write(
        "policies/privacy.md",
        policy(We_collect_your_email_address="We collect your Email Address,"),
    )
    code, report, _ = check_json(feature)
    assert code == 0
    entry = only(report)
    assert (entry["status"], entry["classification"], entry["date_changed"]) == (
        "pass",
        "editorial",
        False,
    )
    assert entry["findings"][0]["message"] == (
        "release will set 2026-01-01 (0 days after the release) and not notify subscribers: "
        "v2, editorial: released at once, not notified"
    )


def test_formatting_only_change_passes(feature):
    feature.write("policies/privacy.md", policy(We_never_sell="We  never  **sell**"))
    code, report, _ = check_json(feature)
    assert code == 0
    assert (only(report)["status"], only(report)["classification"]) == ("pass", "none")
    assert only(report)["findings"][0]["message"] == (
        "release will release nothing (unchanged since v1)"
    )


def test_date_line_change_alone_is_not_material_in_any_form(feature):
    feature.write("policies/privacy.md", policy("**March 1, 2026**"))
    code, report, _ = check_json(feature)
    assert code == 0
    entry = only(report)
    assert entry["status"] != "fail" and entry["classification"] != "material"
    # the date line in bold is a formatting change: released at once, nobody notified
    assert entry["release"] is None or entry["release"]["notify"] is False


def test_new_and_removed_policies(feature):
    feature.write("policies/cookies.md", "# Cookies\n\n*Effective date: 2020-01-01*\n\nYum.\n")
    (feature.root / "policies" / "terms.md").unlink()
    code, report, _ = check_json(feature)
    assert code == 0
    by_path = {p["path"]: p for p in report["policies"]}
    assert set(by_path) == {"policies/cookies.md", "policies/terms.md"}
    added, removed = by_path["policies/cookies.md"], by_path["policies/terms.md"]
    assert (added["change"], added["status"], added["new_date"]) == ("added", "pass", "2020-01-01")
    assert added["release"]["version"] == 1
    assert added["release"]["effective_date"] == "2026-01-31"  # the notice floor
    assert (removed["change"], removed["status"]) == ("removed", "warn")
    by_author(feature)  # a new policy must state a date that gives the notice
    code, report, _ = check_json(feature)
    assert code == 1
    assert "which is in the past" in report["policies"][0]["findings"][0]["message"]


def test_policy_deleted_in_a_commit_on_the_branch_is_reported(feature):
    feature.git("rm", "--quiet", "policies/terms.md")
    feature.commit("drop the terms")
    code, report, _ = check_json(feature)
    assert code == 0
    entry = only(report)
    assert (entry["path"], entry["policy"], entry["change"], entry["status"]) == (
        "policies/terms.md",
        "terms",
        "removed",
        "warn",
    )


def test_unchanged_policies_are_not_listed_and_one_failure_fails_all(feature):
    code, report, _ = check_json(feature)
    assert (code, report["status"], report["policies"]) == (0, "pass", [])
    feature.write("policies/privacy.md", policy("2026-03-01", We_never_sell="We sell"))
    feature.write("policies/terms.md", "# Terms\n\nEffective date: 2026-01-05\n\nBe kind.\n")
    code, report, _ = check_json(feature)
    assert code == 1
    assert [(p["path"], p["status"]) for p in report["policies"]] == [
        ("policies/privacy.md", "pass"),
        ("policies/terms.md", "fail"),
    ]
    assert report["summary"] == {"failed": 1, "warned": 0, "passed": 1}


def test_notice_days_from_config_and_flag(feature):
    feature.write("policies/privacy.md", policy("2026-01-13", We_never_sell="We sell"))
    feature.write("redline.toml", "notice_days = 10\n")
    code, report, _ = check_json(feature)
    assert (code, report["notice_days"], only(report)["status"]) == (0, 10, "pass")
    code, report, _ = check_json(feature, "--notice-days", "20")
    assert (code, report["notice_days"]) == (1, 20)
    message = only(report)["findings"][0]["message"]
    assert "gives 12 days of notice; the earliest allowed is 2026-01-21" in message


# -- the base revision ------------------------------------------------------------------------


def test_default_base_is_the_merge_base_with_main(feature):
    main_tip = feature.head()
    feature.write("policies/privacy.md", policy(We_never_sell="We sell"))
    feature.write("policies/privacy.md", policy("2026-01-10", We_never_sell="We sell"))
    feature.commit("sell data")  # committed on the feature branch: still checked
    feature.git("checkout", "--quiet", "main")
    feature.write("policies/terms.md", "# Terms\n\nEffective date: 2025-06-01\n\nBe kind.\n")
    feature.commit("main moves on")
    feature.git("checkout", "--quiet", "feature")
    code, report, _ = check_json(feature)
    assert code == 1
    assert report["base"] == {"ref": "merge-base(main, HEAD)", "commit": main_tip}
    assert [p["path"] for p in report["policies"]] == ["policies/privacy.md"]
    code, report, _ = check_json(feature, "--base", "HEAD")
    assert (code, report["policies"], report["base"]["ref"]) == (0, [], "HEAD")


def test_default_branch_from_config(policy_repo):
    repo = policy_repo()
    repo.git("checkout", "--quiet", "-b", "trunk")
    repo.write("policies/privacy.md", policy())
    repo.commit("policies")
    repo.write("policies/privacy.md", policy(We_never_sell="We sell"))
    by_author(repo)  # a first release must then state a date that gives the notice
    result = run_process(repo, "--today", TODAY)
    assert result.returncode == 2
    assert result.stderr.startswith("redline: error: no default branch to compare with")
    assert "--base" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    repo.write("redline.toml", 'default_branch = "trunk"\neffective_date_by = "author"\n')
    code, report, _ = check_json(repo)
    assert code == 1 and report["base"]["ref"] == "merge-base(trunk, HEAD)"
    repo.write("redline.toml", 'default_branch = "develop"\n')
    result = run(repo, "--today", TODAY)
    assert result.returncode == 3
    assert "default_branch 'develop' (config) exists neither locally nor on origin" in result.stderr


def test_unknown_base_is_a_git_error(feature):
    result = run(feature, "--base", "no-such-branch", "--today", TODAY)
    assert result.returncode == 3
    assert result.stderr.startswith("redline: error: unknown revision 'no-such-branch'")


# -- output ---------------------------------------------------------------------------------


def test_human_report_and_github_annotations(feature):
    by_author(feature)
    feature.write("policies/privacy.md", policy(We_never_sell="We sell"))
    feature.write("policies/terms.md", "# Terms\n\nEffective date: 2026-02-01\n\nBe nice.\n")
    result = run(feature, "--today", TODAY, GITHUB_ACTIONS="true", NO_COLOR="1")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "::error file=policies/privacy.md,line=3,title=redline check::redline release would "
        "refuse it: material change, but the effective date did not move (still 2025-06-01); "
        'with effective_date_by = "author" the pull request must set it, to 2026-01-31 or '
        "later (notice period of 30 days) (fix: redline effective-date privacy --in 30d)"
    )
    assert lines[1] == (
        "::warning file=policies/terms.md,line=3,title=redline check::only the effective date "
        "changed (2025-06-01 -> 2026-02-01); nothing else in the policy did, so release will "
        "release nothing (redline manages that date)"
    )
    assert lines[2].startswith("redline check: 2 changed policies against merge-base(main, HEAD)")
    assert lines[3].startswith("FAIL  policies/privacy.md:3  redline release would refuse it")
    assert lines[4].startswith("WARN  policies/terms.md:3  only the effective date changed")
    assert lines[5] == "FAIL: 1 failed, 1 with warnings, 0 passed"
    plain = run(feature, "--today", TODAY)
    assert "::error" not in plain.stdout + plain.stderr


def test_annotations_go_to_stderr_with_json(feature):
    feature.write("policies/privacy.md", policy("2026-01-13", We_never_sell="We sell"))
    result = run(feature, "--json", "--today", TODAY, GITHUB_ACTIONS="true")
    assert json.loads(result.stdout)["status"] == "fail"
    assert result.stderr.startswith("::error file=policies/privacy.md,line=3,title=redline check::")


def test_annotation_escaping():
    report = CheckReport("main", "0" * 40, date(2026, 1, 1), 30)
    entry = PolicyCheck("odd", "policies/a,b:c.md", "modified")
    entry.findings = [
        Finding("error", "100% wrong\nsecond line", 7),
        Finding("warning", "no line"),
        Finding("notice", "not annotated"),
    ]
    report.policies.append(entry)
    assert github_annotations(report) == [
        "::error file=policies/a%2Cb%3Ac.md,line=7,title=redline check::100%25 wrong%0Asecond line",
        "::warning file=policies/a%2Cb%3Ac.md,title=redline check::no line",
    ]


def test_today_from_environment_and_bad_today(feature):
    feature.write("policies/privacy.md", policy("2026-01-13", We_never_sell="We sell"))
    environ_today = run(feature, "--json", REDLINE_TODAY="2025-12-01")
    assert environ_today.returncode == 0
    assert json.loads(environ_today.stdout)["today"] == "2025-12-01"
    flag_wins = run(feature, "--json", "--today", TODAY, REDLINE_TODAY="2025-12-01")
    assert flag_wins.returncode == 1
    bad = run_process(feature, "--today", "01/01/2026")
    assert bad.returncode == 2
    assert bad.stderr == (
        "redline: error: --today: '01/01/2026' is not a date (write it as YYYY-MM-DD, "
        "e.g. 2025-07-01)\n"
    )
    bad_env = run(feature, REDLINE_TODAY="soon")
    assert bad_env.returncode == 2
    assert bad_env.stderr.startswith("redline: error: REDLINE_TODAY: 'soon' is not a date")


# -- the rules as a function ------------------------------------------------------------------


def test_check_change_with_kramdown_and_front_matter():
    old = (
        '---\neffective_date: 2025-06-01\n---\n# P\n\n*June 1, 2025*\n{: datetime="2025-06-01" }\n'
    )
    new = old.replace("2025-06-01", "2026-03-01").replace("June 1, 2025", "March 1, 2026")
    result = check_change(
        old + "\nText.\n",
        new + "\nOther text.\n",
        Settings(notice_days=60),
        today=date(2026, 1, 1),
        policy="p",
        path="p.md",
        planned=None,  # no release plan: the date and the classification only
    )
    assert (result.status, result.classification, result.new_date) == (
        "pass",
        "material",
        date(2026, 3, 1),
    )
    assert (result.old_date, result.days_of_notice) == (date(2025, 6, 1), 59)
    assert result.findings[0].message == "redline release plans no version of it"


def test_a_date_only_its_history_proves_passes(policy_repo):
    repo = policy_repo("history-order")
    text = "# Privacy\n\nEffective date: 05/14/2020\n\n## 1. Data\n\nWe collect your email.\n"
    repo.write("policies/privacy.md", text)
    base = repo.commit("Add")
    edited = text.replace("05/14/2020", "02/09/2026").replace("email.", "email and phone.")
    repo.write("policies/privacy.md", edited)
    repo.commit("Privacy: phone")
    result = redline_in_process(repo, "check", "--base", base, "--today", "2026-01-10", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    (checked,) = json.loads(result.stdout)["policies"]
    assert checked["new_date"] == "2026-02-09" and checked["days_of_notice"] == 30


def test_a_release_that_would_stop_fails_the_check(feature):
    feature.write("policies/privacy.md", policy(We_never_sell="We sell"))
    written = redline_in_process(feature, "changelog", "privacy", "--today", TODAY)  # by hand
    assert written.returncode == 0, written.stderr
    code, report, _ = check_json(feature)
    assert (code, report["status"]) == (1, "fail")
    assert "already has an entry for version 2" in report["release_error"]
    result = run(feature, "--today", TODAY, NO_COLOR="1")
    assert "FAIL  redline release would stop: policies/privacy.changelog.md" in result.stdout


def test_a_date_set_on_an_editorial_change_is_not_used_and_says_so(feature):
    feature.write(
        "policies/privacy.md",
        policy("2026-03-01", We_collect_your_email_address="We collect your Email Address,"),
    )
    code, report, _ = check_json(feature)
    assert (code, report["status"]) == (0, "warn")
    entry = only(report)
    assert entry["release"]["effective_date"] == TODAY  # released at once
    assert [f["message"] for f in entry["findings"]][1:] == [
        "the date set in the policy (2026-03-01) is not used: an editorial change takes "
        "effect 2026-01-01 (released at once)"
    ]
