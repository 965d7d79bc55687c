"""The Markdown changelog: entries, summaries, the insertion marker, refusals, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from conftest import redline_process
from redline.errors import ConfigError, InputError
from redline.publish import changelog, changelog_pending, changelog_summary

TODAY = dt.date(2024, 2, 1)


def run_cli(repo, *args: str) -> subprocess.CompletedProcess[str]:
    return redline_process(repo, *args, REDLINE_TODAY=TODAY.isoformat())


def open_policy(repo, name: str = "privacy-policy", **overrides):
    from redline.history.repo import PolicyRepo

    settings = repo.settings(**overrides)
    policies = PolicyRepo(settings)
    return policies, policies.resolve(name), settings


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


# -- entries ----------------------------------------------------------------------------------


def test_pending_entry_is_written_below_the_marker(released_repo):
    edit_privacy(released_repo)
    policies, policy, settings = open_policy(released_repo)
    entry = changelog_pending.pending_entry(policies, policy, settings, today=TODAY)
    assert entry.version == 3
    assert entry.previous_version == 2
    assert entry.classification == "material"
    assert entry.effective_date == TODAY + dt.timedelta(days=30)
    assert entry.summary == "Section 13 (Service Providers): one paragraph changed."

    path = changelog.write_entry(settings, policy, entry)
    assert path == released_repo.root / "policies/privacy-policy.changelog.md"
    text = path.read_text()
    assert text.startswith("# Changelog: Privacy Policy\n")
    assert "[Privacy Policy](privacy-policy.md)" in text
    marker = text.index(changelog.MARKER)
    body = text[marker:]
    assert "<!-- redline:entry v3 -->\n## Version 3 — effective March 2, 2024\n" in body
    assert "- **Published:** February 1, 2024" in body
    assert "- **Change:** material" in body
    assert "- **Replaces:** version 2" in body
    assert "| Section 13 (Service Providers) | one paragraph changed | 2 | 0 |" in body
    assert "`redline diff privacy-policy privacy-policy/v2 privacy-policy/v3`" in body
    # nothing left behind by the atomic write
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


def test_entries_are_newest_first_and_duplicates_refused(released_repo):
    policies, policy, settings = open_policy(released_repo)
    releases = policies.releases(policy)
    for release in releases:  # v1 then v2
        changelog.write_entry(
            settings, policy, changelog.entry_for_release(policies, policy, release, settings)
        )
    path = changelog.changelog_path(settings, policy)
    text = path.read_text()
    assert text.index("<!-- redline:entry v2 -->") < text.index("<!-- redline:entry v1 -->")
    assert changelog.entry_versions(text) == {1, 2}
    assert changelog.has_entry(settings, policy, 2)

    again = changelog.entry_for_release(policies, policy, releases[-1], settings)
    with pytest.raises(InputError, match="already has an entry for version 2"):
        changelog.write_entry(settings, policy, again)
    assert path.read_text() == text


def test_entry_of_a_release_uses_its_data(released_repo):
    released_repo.git("remote", "add", "origin", "git@github.com:northwind/policies.git")
    policies, policy, settings = open_policy(released_repo)
    entry = changelog.entry_for_release(policies, policy, policies.releases(policy)[1], settings)
    assert entry.effective_date == dt.date(2024, 3, 1)
    assert entry.published == dt.date(2024, 1, 31)
    assert entry.summary == (
        "Section 7 (Transfer of Data): one paragraph changed; "
        "Section 13 (Service Providers): new paragraph."
    )
    markdown = changelog.render_entry(settings, entry)
    assert (
        "[Full redline of version 2 against version 1]"
        "(https://github.com/northwind/policies/compare/privacy-policy/v1...privacy-policy/v2)"
    ) in markdown


def test_site_link_without_github(released_repo):
    policies, policy, settings = open_policy(released_repo, site_url="https://p.example.com/")
    entry = changelog.entry_for_release(policies, policy, policies.releases(policy)[1], settings)
    assert entry.link == "https://p.example.com/privacy-policy/2/"


def test_first_version_and_unchanged_policy(policy_repo, released_repo):
    fresh = policy_repo("fresh")
    fresh.write(
        "policies/cookie-policy.md",
        "# Cookie Policy\n\nEffective date: 2024-02-10\n\nWe use one cookie.\n",
    )
    fresh.commit("Add cookie policy")
    policies, policy, settings = open_policy(fresh, "cookie-policy")
    entry = changelog_pending.pending_entry(policies, policy, settings, today=TODAY)
    assert (entry.version, entry.previous_version) == (1, None)
    assert entry.summary == changelog_summary.FIRST_VERSION_SUMMARY
    assert entry.effective_date == dt.date(2024, 2, 10)  # the date the policy states
    assert "- **Replaces:** nothing (first version)" in changelog.render_entry(settings, entry)

    policies, policy, settings = open_policy(released_repo)
    with pytest.raises(InputError, match="unchanged since version 2; there is no pending change"):
        changelog_pending.pending_entry(policies, policy, settings, today=TODAY)


def test_date_stated_in_the_policy_wins(released_repo):
    edit_privacy(released_repo)
    path = released_repo.root / "policies/privacy-policy.md"
    path.write_text(path.read_text().replace("03/01/2024", "04/15/2024"))
    policies, policy, settings = open_policy(released_repo, date_order="MDY")
    entry = changelog_pending.pending_entry(policies, policy, settings, today=TODAY)
    assert entry.effective_date == dt.date(2024, 4, 15)
    path.write_text(path.read_text().replace("04/15/2024", "03/01/2024"))  # v2's own date
    entry = changelog_pending.pending_entry(policies, policy, settings, today=TODAY)
    assert entry.effective_date == TODAY + dt.timedelta(days=30)


def test_editorial_change_keeps_a_pending_date(released_repo):
    path = released_repo.root / "policies/privacy-policy.md"
    path.write_text(
        path.read_text().replace("standard contractual clauses.", "standard contractual clauses!")
    )
    policies, policy, settings = open_policy(released_repo)
    entry = changelog_pending.pending_entry(policies, policy, settings, today=TODAY)
    assert entry.classification == "editorial"
    assert entry.effective_date == dt.date(2024, 3, 1)  # v2 is still pending on TODAY
    assert entry.summary.startswith("Editorial changes only, no change of wording in Section 7")
    assert "editorial (no change of wording)" in changelog.render_entry(settings, entry)


# -- summaries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Update\n\nPolicy-Summary: We now keep logs for 30 days.\n",
            "We now keep logs for 30 days.",
        ),
        (
            "Update\n\nBody.\n\nPolicy-Summary: We now keep logs\n  for 30 days.\nAcked-by: A\n",
            "We now keep logs for 30 days.",
        ),
        (
            "Merge #7\n\n## Summary\n\nLogs are kept for 30 days.\n\n- no more IPs\n\n## Tests\n",
            "Logs are kept for 30 days.\n\n- no more IPs",
        ),
        (
            "Update\n\n### Summary\nShorter retention.\n\nCo-authored-by: B <b@x>\n",
            "Shorter retention.",
        ),
        ("Update the policy\n\nJust words.\n", None),
        ("Update\n\nPolicy-Summary:\n", None),
    ],
)
def test_summary_from_message(message, expected):
    assert changelog_summary.summary_from_message(message) == expected


def test_summary_precedence(released_repo):
    edit_privacy(released_repo)
    released_repo.commit(
        "Support\n\n## Summary\n\nProviders also support the app.\n", "policies/privacy-policy.md"
    )
    policies, policy, settings = open_policy(released_repo)
    entry = changelog_pending.pending_entry(policies, policy, settings, today=TODAY)
    assert entry.summary == "Providers also support the app."
    entry = changelog_pending.pending_entry(
        policies, policy, settings, summary="Given.", today=TODAY
    )
    assert entry.summary == "Given."


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
    policies, policy, settings = open_policy(released_repo)
    entry = changelog_pending.pending_entry(policies, policy, settings, today=TODAY)
    assert entry.summary == "Service providers now also support the app."


def test_summary_before_the_last_release_is_not_reused(released_repo, tag_release):
    edit_privacy(released_repo)
    released_repo.commit("Support\n\nPolicy-Summary: Support is covered.")
    tag_release(released_repo, "privacy-policy", 3, "2024-04-01")
    path = released_repo.root / "policies/privacy-policy.md"
    path.write_text(path.read_text().replace("Northwind Kites", "Northwind Kites Ltd"))
    released_repo.commit("Company name")
    policies, policy, settings = open_policy(released_repo)
    entry = changelog_pending.pending_entry(policies, policy, settings, today=TODAY)
    assert entry.version == 4
    assert entry.summary == "Section 1 (Introduction): one paragraph changed."
    v3 = changelog.entry_for_release(policies, policy, policies.releases(policy)[2], settings)
    assert v3.summary == "Support is covered."


# -- the file ---------------------------------------------------------------------------------


def test_marker_missing_is_refused(released_repo):
    edit_privacy(released_repo)
    released_repo.write("policies/privacy-policy.changelog.md", "# History\n\nOld notes.\n")
    policies, policy, settings = open_policy(released_repo)
    entry = changelog_pending.pending_entry(policies, policy, settings, today=TODAY)
    with pytest.raises(InputError, match="no insertion marker <!-- redline:changelog -->"):
        changelog.write_entry(settings, policy, entry)
    assert (released_repo.root / "policies/privacy-policy.changelog.md").read_text() == (
        "# History\n\nOld notes.\n"
    )


def test_existing_file_keeps_its_text_and_line_endings(released_repo):
    original = "# History\r\n\r\nIntro.\r\n\r\n<!-- redline:changelog -->\r\n\r\nOlder notes.\r\n"
    released_repo.write("policies/privacy-policy.changelog.md", original.encode())
    edit_privacy(released_repo)
    policies, policy, settings = open_policy(released_repo)
    entry = changelog_pending.pending_entry(policies, policy, settings, today=TODAY)
    path = changelog.write_entry(settings, policy, entry)
    data = path.read_bytes().decode()
    assert data.startswith("# History\r\n\r\nIntro.\r\n\r\n<!-- redline:changelog -->\r\n\r\n")
    assert data.endswith("\r\n\r\nOlder notes.\r\n")
    assert "\n" not in data.replace("\r\n", "")
    assert data.index("## Version 3") < data.index("Older notes.")
    assert changelog.entry_versions(data) == {3}
    with pytest.raises(InputError, match="already has an entry for version 3"):
        changelog.write_entry(settings, policy, entry)


def test_changelog_path_config(released_repo):
    _policies, policy, settings = open_policy(
        released_repo, changelog_path="docs/changes/{slug}.md"
    )
    assert (
        changelog.changelog_path(settings, policy)
        == released_repo.root / "docs/changes/privacy-policy.md"
    )
    for bad, message in [
        ("{dir}/{nope}.md", "cannot use 'nope'"),
        ("../{slug}.md", "must be a file path inside the repository"),
        ("/tmp/{slug}.md", "must be a file path inside the repository"),
        ("{dir}/{name}", "gives the policy itself"),
    ]:
        _, _, settings = open_policy(released_repo, changelog_path=bad)
        with pytest.raises(ConfigError, match=message):
            changelog.changelog_path(settings, policy)


def test_default_changelog_is_not_a_policy(released_repo):
    edit_privacy(released_repo)
    policies, policy, settings = open_policy(released_repo)
    changelog.write_entry(
        settings, policy, changelog_pending.pending_entry(policies, policy, settings)
    )
    slugs = [p.slug for p in policies.policies()]
    assert slugs == ["privacy-policy", "terms-of-service"]


# -- the command ------------------------------------------------------------------------------


def test_cli_draft_writes_nothing(released_repo):
    edit_privacy(released_repo)
    before = snapshot(released_repo)
    status = released_repo.git("status", "--porcelain")
    result = run_cli(released_repo, "changelog", "privacy-policy", "--draft")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("## Version 3 — effective March 2, 2024\n")
    assert "Section 13 (Service Providers): one paragraph changed." in result.stdout
    assert "redline:entry" not in result.stdout
    assert "privacy-policy.md:3: '03/01/2024' is ambiguous" in result.stderr
    assert snapshot(released_repo) == before
    assert released_repo.git("status", "--porcelain") == status


def test_cli_writes_once_then_refuses(released_repo):
    edit_privacy(released_repo)
    first = run_cli(released_repo, "changelog", "privacy-policy", "--summary", "Support added.")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "policies/privacy-policy.changelog.md\n"
    text = (released_repo.root / "policies/privacy-policy.changelog.md").read_text()
    assert "Support added." in text

    second = run_cli(released_repo, "changelog", "privacy-policy")
    assert second.returncode == 2
    assert "Traceback" not in second.stderr
    assert second.stderr.splitlines()[-1].startswith(
        "redline: error: policies/privacy-policy.changelog.md: already has an entry for version 3"
    )
    assert (released_repo.root / "policies/privacy-policy.changelog.md").read_text() == text


def test_cli_version_of_a_release_and_json(released_repo):
    result = run_cli(released_repo, "changelog", "privacy-policy", "--version", "1", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["version"] == 1
    assert report["written"] is True
    assert report["effective_date"] == "2024-01-15"
    assert "## Version 1 — effective January 15, 2024" in report["markdown"]

    bad = run_cli(released_repo, "changelog", "privacy-policy", "--version", "7")
    assert bad.returncode == 2
    assert "version 7 is neither released nor pending" in bad.stderr
    unchanged = run_cli(released_repo, "changelog", "privacy-policy", "--draft")
    assert unchanged.returncode == 2
    assert "unchanged since version 2" in unchanged.stderr


def test_cli_effective_date_option(released_repo):
    edit_privacy(released_repo)
    result = run_cli(
        released_repo, "changelog", "privacy-policy", "--draft", "--effective-date", "2024-06-01"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("## Version 3 — effective June 1, 2024\n")
    wrong = run_cli(released_repo, "changelog", "privacy-policy", "--effective-date", "June")
    assert wrong.returncode == 2
    assert "--effective-date: 'June' is not a date" in wrong.stderr
