"""The Markdown changelog: entries, summaries, the insertion marker, refusals, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from conftest import redline_process
from redline.errors import ConfigError, InputError
from redline.publish import changelog, changelog_summary

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


# -- entries ----------------------------------------------------------------------------------


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
        'Section 7 (Transfer of Data): added "and in Switzerland"; '
        'Section 13 (Service Providers): new paragraph "Every service provider signs a data '
        'processing agreement …".'
    )
    markdown = changelog.render_entry(settings, entry)
    # No site_url: the repository's changelog has no site page to point at (the site's
    # own changelog pages link their versions relatively: tests/test_site.py).
    assert "Full redline" not in markdown and "index.html" not in markdown
    assert (
        "[Compare on GitHub]"
        "(https://github.com/northwind/policies/compare/privacy-policy/v1...privacy-policy/v2)"
    ) in markdown
    assert "redline diff" not in markdown  # never a command for a reader to run


def test_site_link_without_github(released_repo):
    policies, policy, settings = open_policy(released_repo, site_url="https://p.example.com/")
    entry = changelog.entry_for_release(policies, policy, policies.releases(policy)[1], settings)
    assert entry.link == "https://p.example.com/privacy-policy/2/#redline"
    markdown = changelog.render_entry(settings, entry)
    assert "(https://p.example.com/privacy-policy/2/#redline)" in markdown
    assert "Compare on GitHub" not in markdown
    first = changelog.entry_for_release(policies, policy, policies.releases(policy)[0], settings)
    assert first.link == "https://p.example.com/privacy-policy/1/"  # no redline to point at


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


# -- the file ---------------------------------------------------------------------------------


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


# -- the command ------------------------------------------------------------------------------


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


def test_cli_effective_date_must_be_a_date(released_repo):
    # what a good date does: tests/test_changelog_draft.py
    edit_privacy(released_repo)
    wrong = run_cli(released_repo, "changelog", "privacy-policy", "--effective-date", "June")
    assert wrong.returncode == 2
    assert "--effective-date: 'June' is not a date" in wrong.stderr


def test_the_changelog_links_a_policy_whose_path_has_spaces(policy_repo):
    from markdown_it import MarkdownIt

    repo = policy_repo()
    repo.write("policies/Privacy Policy.md", "# Privacy Policy\n\nEffective date: 2024-01-01\n")
    repo.commit("Add the policy", "policies/Privacy Policy.md")
    policies, policy, settings = open_policy(repo, "privacy-policy")
    entry = changelog.build_entry(
        policies,
        policy,
        settings,
        version=1,
        effective_date=dt.date(2024, 1, 1),
        published=dt.date(2024, 1, 1),
        classification="material",
        diff=None,
        summary="First.",
        previous_version=None,
    )
    text = changelog.changelog_with_entry(settings, policy, entry)[1]
    links = [
        token.attrs["href"]
        for block in MarkdownIt("commonmark").parse(text)
        for token in block.children or []
        if token.type == "link_open"
    ]
    assert "Privacy%20Policy.md" in links
