"""The changelog entry of a pending change: the one the release planner would write.

``redline changelog POLICY [--draft]`` and ``redline release`` share one planner
(:func:`redline.release.plan_release`); these tests were test_changelog's tests of the second
planner (``publish.changelog_pending``, removed), now asserting the planner's rules.
"""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from conftest import redline_process
from redline.errors import InputError
from redline.history.repo import PolicyRepo
from redline.publish import changelog, changelog_summary
from redline.release import plan_release

TODAY = dt.date(2024, 2, 1)
FLOOR = TODAY + dt.timedelta(days=30)  # 2024-03-02, after v2's pending 2024-03-01


def run_cli(repo, *args: str) -> subprocess.CompletedProcess[str]:
    return redline_process(repo, *args, REDLINE_TODAY=TODAY.isoformat())


def planned(repo, name: str = "privacy-policy", *, summary: str | None = None, **overrides):
    """``(plan, settings, policy)``: what a release would make of the working tree now."""
    settings = repo.settings(**overrides)
    policies = PolicyRepo(settings)
    policy = policies.resolve(name)
    plan = plan_release(policies, settings, TODAY, only=policy, worktree=True, summary=summary)
    return plan, settings, policy


def pending(repo, name: str = "privacy-policy", **options):
    """The one version the planner makes of ``name``."""
    plan, _settings, _policy = planned(repo, name, **options)
    [item] = plan.releases
    return item


def edit_privacy(repo) -> None:
    path = repo.root / "policies/privacy-policy.md"
    path.write_text(
        path.read_text().replace(
            "We use service providers to run the Kiteboard app.",
            "We use service providers to run and support the Kiteboard app.",
        )
    )


def snapshot(repo) -> dict[str, bytes]:
    return {
        str(path.relative_to(repo.root)): path.read_bytes()
        for path in sorted(repo.root.rglob("*"))
        if path.is_file() and ".git" not in path.parts
    }


# -- the entry --------------------------------------------------------------------------------


def test_pending_entry_is_written_below_the_marker(released_repo):
    edit_privacy(released_repo)
    plan, settings, policy = planned(released_repo)
    [item] = plan.releases
    entry = item.entry
    assert (entry.version, entry.previous_version, entry.classification) == (3, 2, "material")
    assert entry.effective_date == FLOOR and entry.published == TODAY
    assert item.reason == "material change: notice period of 30 days"
    assert "Section 13 (Service Providers)" in entry.summary

    path = changelog.write_entry(settings, policy, entry)
    assert path == released_repo.root / "policies/privacy-policy.changelog.md"
    text = path.read_text()
    assert text.startswith("# Changelog: Privacy Policy\n")
    body = text[text.index(changelog.MARKER) :]
    assert "<!-- redline:entry v3 -->\n## Version 3 — effective March 2, 2024\n" in body
    assert "- **Published:** February 1, 2024" in body
    assert "- **Change:** material" in body and "- **Replaces:** version 2" in body
    assert item.changelog_data.decode() == text  # what release would write, byte for byte
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


def test_first_version_and_unchanged_policy(policy_repo, released_repo):
    fresh = policy_repo("fresh")
    fresh.write(
        "policies/cookie-policy.md",
        "# Cookie Policy\n\nEffective date: 2024-02-10\n\nWe use one cookie.\n",
    )
    fresh.commit("Add cookie policy")
    item = pending(fresh, "cookie-policy")
    assert (item.entry.version, item.entry.previous_version) == (1, None)
    assert item.entry.summary == changelog_summary.FIRST_VERSION_SUMMARY
    # release sets the date: 2024-02-10 gives 9 days, so the notice floor
    assert item.entry.effective_date == FLOOR
    settings = fresh.settings()
    assert "- **Replaces:** nothing (first version)" in changelog.render_entry(settings, item.entry)
    # the author sets it: 9 days is too early, and the planner refuses it as release would
    plan, _, _ = planned(fresh, "cookie-policy", effective_date_by="author")
    [refused] = plan.unreleasable
    assert "the policy states 2024-02-10, which gives 9 days of notice" in refused.warning

    plan, _, _ = planned(released_repo)
    assert plan.releases == [] and plan.skipped[0].reason == "unchanged since v2"
    result = run_cli(released_repo, "changelog", "privacy-policy", "--draft")
    assert result.returncode == 2
    assert "unchanged since version 2; there is no pending change" in result.stderr


def test_a_date_stated_in_the_policy_is_used_or_refused(released_repo):
    edit_privacy(released_repo)
    path = released_repo.root / "policies/privacy-policy.md"
    text = path.read_text()
    path.write_text(text.replace("03/01/2024", "04/15/2024"))
    item = pending(released_repo, date_order="MDY")
    assert item.entry.effective_date == dt.date(2024, 4, 15)
    assert item.reason == "material change: date stated in the policy"
    path.write_text(text)  # v2's own date: not moved, so release sets it
    assert pending(released_repo, date_order="MDY").entry.effective_date == FLOOR
    path.write_text(text.replace("03/01/2024", "02/15/2024"))  # stated, before the floor
    plan, _, _ = planned(released_repo, date_order="MDY")
    assert plan.releases == []
    [refused] = plan.unreleasable
    assert "which gives 14 days of notice; the earliest allowed is 2024-03-02" in refused.warning
    assert "--allow-short-notice" in refused.warning


def test_editorial_change_keeps_a_pending_date_and_notifies_nobody(released_repo):
    path = released_repo.root / "policies/privacy-policy.md"
    path.write_text(
        path.read_text().replace("standard contractual clauses.", "standard contractual clauses!")
    )
    for notify_editorial in (False, True):  # the pending release's notice covers it
        item = pending(released_repo, notify_editorial=notify_editorial)
        assert item.classification == "editorial"
        assert item.entry.effective_date == dt.date(2024, 3, 1)  # v2 is still pending
        assert item.notify is False and item.notice is None
        assert item.reason == (
            "editorial: takes the pending release's date 2024-03-01, not notified"
        )
    assert "editorial (no change of wording)" in item.entry_markdown


# -- summaries --------------------------------------------------------------------------------


def test_summary_precedence(released_repo):
    edit_privacy(released_repo)
    released_repo.commit(
        "Support\n\n## Summary\n\nProviders also support the app.\n", "policies/privacy-policy.md"
    )
    assert pending(released_repo).entry.summary == "Providers also support the app."
    assert pending(released_repo, summary="Given.").entry.summary == "Given."


def test_trailer_of_a_merge_commit(released_repo):
    released_repo.git("checkout", "-q", "-b", "support")
    edit_privacy(released_repo)
    released_repo.commit("Mention support")
    released_repo.git("checkout", "-q", "main")
    released_repo.git(
        "merge",
        "--no-ff",
        "-q",
        "-m",
        "Merge branch 'support'\n\nPolicy-Summary: Service providers now also support the app.",
        "support",
    )
    assert pending(released_repo).summary == "Service providers now also support the app."


def test_summary_before_the_last_release_is_not_reused(released_repo, tag_release):
    edit_privacy(released_repo)
    released_repo.commit("Support\n\nPolicy-Summary: Support is covered.")
    tag_release(released_repo, "privacy-policy", 3, "2024-04-01")
    path = released_repo.root / "policies/privacy-policy.md"
    path.write_text(path.read_text().replace("Northwind Kites", "Northwind Kites Ltd"))
    released_repo.commit("Company name")
    item = pending(released_repo)
    assert item.version == 4
    assert "Section 1 (Introduction)" in item.summary and "Support" not in item.summary


# -- the file ---------------------------------------------------------------------------------


def test_marker_missing_is_refused(released_repo):
    edit_privacy(released_repo)
    released_repo.write("policies/privacy-policy.changelog.md", "# History\n\nOld notes.\n")
    with pytest.raises(InputError, match="no insertion marker <!-- redline:changelog -->"):
        planned(released_repo)
    assert (released_repo.root / "policies/privacy-policy.changelog.md").read_text() == (
        "# History\n\nOld notes.\n"
    )


def test_existing_file_keeps_its_text_and_line_endings(released_repo):
    original = "# History\r\n\r\nIntro.\r\n\r\n<!-- redline:changelog -->\r\n\r\nOlder notes.\r\n"
    released_repo.write("policies/privacy-policy.changelog.md", original.encode())
    edit_privacy(released_repo)
    plan, settings, policy = planned(released_repo)
    [item] = plan.releases
    path = changelog.write_entry(settings, policy, item.entry)
    data = path.read_bytes()
    assert data == item.changelog_data  # the file release would write
    text = data.decode()
    assert text.startswith("# History\r\n\r\nIntro.\r\n\r\n<!-- redline:changelog -->\r\n\r\n")
    assert text.endswith("\r\n\r\nOlder notes.\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert text.index("## Version 3") < text.index("Older notes.")
    with pytest.raises(InputError, match="already has an entry for version 3"):
        planned(released_repo)


def test_default_changelog_is_not_a_policy(released_repo):
    edit_privacy(released_repo)
    plan, settings, policy = planned(released_repo)
    changelog.write_entry(settings, policy, plan.releases[0].entry)
    slugs = [p.slug for p in PolicyRepo(settings).policies()]
    assert slugs == ["privacy-policy", "terms-of-service"]


# -- the command ------------------------------------------------------------------------------


def test_cli_draft_prints_the_entry_release_would_write_and_writes_nothing(released_repo):
    edit_privacy(released_repo)
    before = snapshot(released_repo)
    status = released_repo.git("status", "--porcelain")
    result = run_cli(released_repo, "changelog", "privacy-policy", "--draft")
    assert result.returncode == 0, result.stderr
    assert result.stdout == pending(released_repo).entry_markdown
    assert result.stdout.startswith("## Version 3 — effective March 2, 2024\n")
    assert "redline:entry" not in result.stdout
    assert snapshot(released_repo) == before
    assert released_repo.git("status", "--porcelain") == status


def test_cli_effective_date_is_asked_for_as_a_trailer_would(released_repo):
    edit_privacy(released_repo)
    later = run_cli(
        released_repo, "changelog", "privacy-policy", "--draft", "--effective-date", "2024-06-01"
    )
    assert later.returncode == 0, later.stderr
    assert later.stdout.startswith("## Version 3 — effective June 1, 2024\n")
    early = run_cli(
        released_repo, "changelog", "privacy-policy", "--draft", "--effective-date", "2024-02-10"
    )
    assert early.returncode == 2
    assert "gives 9 days of notice; the earliest allowed is 2024-03-02" in early.stderr
