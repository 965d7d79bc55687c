"""Git history of policies, on real temporary repositories."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from redline.config import Settings
from redline.errors import GitError, InputError, PolicyNotFoundError
from redline.history.git import SHALLOW_HINT, find_repo_root
from redline.history.repo import PolicyRepo
from redline.history.tags import format_release_message, parse_release_message
from redline.history.texts import blob_sha

V1 = """\
# Privacy Policy

Effective date: 01/01/2024

## 1. Data

We collect your email address.
"""
V2 = V1.replace("email address", "email address and name")
V3 = V2.replace("01/01/2024", "03/01/2024") + "\n## 2. Contact\n\nWrite to us.\n"
WORKTREE = V3.replace("Write to us.", "Write to us by post.")
TERMS = "# Terms\n\nBe nice.\n"


@pytest.fixture
def history(policy_repo):
    """privacy.md: added, edited, renamed to privacy-policy.md, edited; terms.md on the side."""
    repo = policy_repo()
    repo.write("policies/privacy.md", V1)
    repo.write("README.md", "# Our policies\n")
    repo.write("policies/README.md", "# Not a policy\n")
    repo.write("policies/notes.txt", "not markdown\n")
    shas = {"added": repo.commit("Add privacy policy")}
    repo.write("policies/terms.md", TERMS)
    shas["terms"] = repo.commit("Add terms")
    repo.write("policies/privacy.md", V2)
    shas["edited"] = repo.commit("Collect names too")
    repo.mv("policies/privacy.md", "policies/privacy-policy.md")
    shas["renamed"] = repo.commit("Rename privacy policy")
    repo.write("policies/privacy-policy.md", V3)
    shas["v3"] = repo.commit("Add contact section")
    repo.write("policies/privacy-policy.md", WORKTREE)
    repo.shas = shas
    return repo


def open_repo(repo, **overrides) -> PolicyRepo:
    return PolicyRepo(repo.settings(**overrides))


# -- repository and policies ------------------------------------------------------------------


def test_find_repo_root_from_a_subdirectory(history):
    assert find_repo_root(history.root / "policies") == history.root


def test_not_a_git_repository(tmp_path):
    with pytest.raises(GitError, match="not a git repository") as info:
        find_repo_root(tmp_path)
    assert "--repo" in str(info.value)
    with pytest.raises(GitError, match="not a git repository"):
        PolicyRepo(Settings(repo_root=tmp_path))


def test_bare_repository(tmp_path):
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    with pytest.raises(GitError, match="is a bare repository"):
        find_repo_root(bare)


def test_policy_repo_needs_the_top_of_the_work_tree(history):
    with pytest.raises(GitError, match="not a git repository"):
        PolicyRepo(Settings(repo_root=history.root / "policies"))


def test_gitpython_is_loaded_only_on_demand(history):
    """Reading history runs git directly; GitPython (slow to import) stays unloaded."""
    code = (
        "import sys\n"
        "from redline.config import load_settings\n"
        "from redline.env import Environment\n"
        "from redline.compare.engine import diff_policy\n"
        "from redline.history.git import find_repo_root\n"
        "from redline.history.repo import PolicyRepo\n"
        "root = find_repo_root(__import__('pathlib').Path('.'))\n"
        "repo = PolicyRepo(load_settings(root, env=Environment()))\n"
        "policy = repo.resolve('privacy-policy')\n"
        "assert repo.revisions(policy) and repo.releases(policy) == []\n"
        "assert diff_policy(repo, policy, 'HEAD~1', None).classification == 'material'\n"
        "assert 'git' not in sys.modules, 'GitPython was imported'\n"
        "assert repo.git.commit_time('HEAD') and 'git' not in sys.modules\n"
        "assert repo.git.remote_names() is not None and 'git' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=history.root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_paths_with_spaces(history):
    history.write("policies/cookie policy.md", "# Cookies\n\nWe use few.\n")
    history.commit("Add cookie policy")
    repo = open_repo(history)
    policy = repo.resolve("cookie policy")
    assert policy.path == "policies/cookie policy.md"
    assert repo.read_text(policy, "HEAD").text == "# Cookies\n\nWe use few.\n"
    assert [r.subject for r in repo.revisions(policy)] == ["Add cookie policy"]


def test_missing_directory(tmp_path):
    with pytest.raises(GitError, match="no such directory"):
        find_repo_root(tmp_path / "missing")


def test_policies_from_working_tree_and_head(history):
    history.write("policies/draft.md", "# Draft\n\nNew.\n")  # untracked, still a policy
    found = [(p.slug, p.path) for p in open_repo(history).policies()]
    assert found == [
        ("draft", "policies/draft.md"),
        ("privacy-policy", "policies/privacy-policy.md"),
        ("terms", "policies/terms.md"),
    ]


def test_policies_include_committed_files_deleted_from_the_working_tree(history):
    (history.root / "policies" / "terms.md").unlink()
    assert "terms" in [p.slug for p in open_repo(history).policies()]


def test_policies_follow_configuration(history):
    history.write("legal/tos.markdown", "# ToS\n\nText.\n")
    repo = open_repo(history, policies_dir="legal", include=["*.markdown"])
    assert [p.path for p in repo.policies()] == ["legal/tos.markdown"]


def test_resolve_by_slug_and_path(history, monkeypatch):
    repo = open_repo(history)
    expected = repo.resolve("privacy-policy")
    assert expected.path == "policies/privacy-policy.md"
    assert expected.abspath == history.root / "policies" / "privacy-policy.md"
    assert repo.resolve("policies/privacy-policy.md") == expected
    assert repo.resolve("./policies/privacy-policy.md") == expected
    monkeypatch.chdir(history.root / "policies")
    assert repo.resolve("privacy-policy.md") == expected


def test_unknown_policy_lists_known_ones(history):
    with pytest.raises(PolicyNotFoundError, match="unknown policy 'cookies'") as info:
        open_repo(history).resolve("cookies")
    assert "known policies: privacy-policy, terms" in str(info.value)


def test_ambiguous_slug_asks_for_a_path(policy_repo):
    repo = policy_repo()
    repo.write("policies/eu/privacy.md", "# EU\n\nText.\n")
    repo.write("policies/us/privacy.md", "# US\n\nText.\n")
    repo.commit("Two privacy policies")
    with pytest.raises(PolicyNotFoundError, match="ambiguous") as info:
        open_repo(repo).resolve("privacy")
    assert "policies/eu/privacy.md, policies/us/privacy.md" in str(info.value)
    assert open_repo(repo).resolve("policies/us/privacy.md").path == "policies/us/privacy.md"


# -- revisions --------------------------------------------------------------------------------


def test_revisions_follow_the_rename(history):
    repo = open_repo(history)
    revisions = repo.revisions(repo.resolve("privacy-policy"))
    shas = history.shas
    assert [r.commit for r in revisions] == [
        shas["v3"],
        shas["renamed"],
        shas["edited"],
        shas["added"],
    ]
    assert [r.path for r in revisions] == [
        "policies/privacy-policy.md",
        "policies/privacy-policy.md",
        "policies/privacy.md",
        "policies/privacy.md",
    ]
    assert [r.subject for r in revisions] == [
        "Add contact section",
        "Rename privacy policy",
        "Collect names too",
        "Add privacy policy",
    ]
    assert {r.author for r in revisions} == {"Pat Policy"}
    assert revisions[0].date == datetime(2024, 1, 5, 12, tzinfo=UTC)
    assert revisions[-1].date == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert revisions[0].short == shas["v3"][:10]
    assert {r.effective_line for r in revisions} == {None}
    with_dates = repo.revisions(repo.resolve("privacy-policy"), date_line=first_date_line)
    assert [r.effective_line for r in with_dates] == [
        "Effective date: 03/01/2024",
        "Effective date: 01/01/2024",
        "Effective date: 01/01/2024",
        "Effective date: 01/01/2024",
    ]


def first_date_line(text: str) -> str | None:
    return next((line for line in text.splitlines() if line.startswith("Effective")), None)


def test_revisions_of_another_policy(history):
    repo = open_repo(history)
    assert [r.commit for r in repo.revisions(repo.resolve("terms"))] == [history.shas["terms"]]


def test_revisions_in_a_repository_without_commits(policy_repo):
    repo = policy_repo()
    repo.write("policies/new.md", "# New\n\nText.\n")
    opened = open_repo(repo)
    policy = opened.resolve("new")
    assert opened.revisions(policy) == []
    assert opened.read_text(policy, None).text.startswith("# New")


# -- reading texts ----------------------------------------------------------------------------


def test_read_text_at_revisions_and_working_tree(history):
    repo = open_repo(history)
    policy = repo.resolve("privacy-policy")
    shas = history.shas

    worktree = repo.read_text(policy, None)
    assert (worktree.text, worktree.commit, worktree.ref) == (WORKTREE, None, "working tree")
    assert worktree.blob == blob_sha(WORKTREE.encode())

    head = repo.read_text(policy, "HEAD")
    assert (head.text, head.commit, head.ref, head.path) == (
        V3,
        shas["v3"],
        "HEAD",
        "policies/privacy-policy.md",
    )
    assert head.blob == history.git("rev-parse", "HEAD:policies/privacy-policy.md").strip()

    # Before the rename the file had another name; it is still found.
    oldest = repo.read_text(policy, shas["added"][:8])
    assert (oldest.text, oldest.path, oldest.commit) == (V1, "policies/privacy.md", shas["added"])
    assert repo.read_text(policy, "HEAD~2").text == V2


def test_resolve_rev(history):
    repo = open_repo(history)
    assert repo.resolve_rev("HEAD") == history.shas["v3"]
    assert repo.resolve_rev("main~1") == history.shas["renamed"]
    assert repo.resolve_rev(history.shas["added"][:7]) == history.shas["added"]


@pytest.mark.parametrize(
    "rev", ["no-such-rev", "HEAD~9", "HEAD:policies", "--all", "0" * 40, "v1..v2"]
)
def test_unknown_revision(history, rev):
    repo = open_repo(history)
    with pytest.raises(GitError, match=f"unknown revision '{re.escape(rev)}'") as info:
        repo.read_text(repo.resolve("terms"), rev)
    assert "git log" in str(info.value)
    assert "unshallow" not in str(info.value)


def test_file_absent_at_a_revision(history):
    repo = open_repo(history)
    with pytest.raises(InputError, match=r"policies/terms\.md: does not exist at revision") as info:
        repo.read_text(repo.resolve("terms"), history.shas["added"])
    assert "redline log" in str(info.value)


def test_file_absent_from_the_working_tree(history):
    (history.root / "policies" / "terms.md").unlink()
    repo = open_repo(history)
    with pytest.raises(InputError, match="not in the working tree"):
        repo.read_text(repo.resolve("terms"), None)


def test_document_is_cached_by_blob(history):
    repo = open_repo(history)
    policy = repo.resolve("privacy-policy")
    # The rename commit did not change the content: same blob, same parsed document.
    renamed_snapshot, renamed = repo.document(policy, history.shas["renamed"])
    edited_snapshot, edited = repo.document(policy, history.shas["edited"])
    assert renamed_snapshot.path != edited_snapshot.path
    assert renamed is edited
    _, head = repo.document(policy, "HEAD")
    assert head is not edited
    assert [s.label for s in head.sections] == [None, "1", "2"]


def test_non_utf8_file(history):
    history.write(
        "policies/latin.md", "# Politique\n\nDonn\xe9es personnelles.\n".encode("latin-1")
    )
    history.commit("Add a Latin-1 policy")
    repo = open_repo(history)
    policy = repo.resolve("latin")
    with pytest.raises(InputError, match=r"policies/latin.md at HEAD:3: not UTF-8 text") as info:
        repo.read_text(policy, "HEAD")
    assert "0xe9" in str(info.value) and "UTF-8" in str(info.value)
    with pytest.raises(InputError, match=r"policies/latin.md:3: not UTF-8 text"):
        repo.read_text(policy, None)


def test_binary_file(history):
    history.write("policies/scan.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    history.commit("Oops, an image")
    repo = open_repo(history)
    policy = repo.resolve("scan")
    with pytest.raises(InputError, match="is a binary file"):
        repo.read_text(policy, "HEAD")
    with pytest.raises(InputError, match="is a binary file"):
        repo.document(policy, None)


def test_utf8_byte_order_mark_is_dropped(history):
    history.write("policies/bom.md", "\ufeff# Terms\n\nText.\n".encode())
    repo = open_repo(history)
    assert repo.read_text(repo.resolve("bom"), None).text == "# Terms\n\nText.\n"


# -- shallow clones ---------------------------------------------------------------------------


def test_shallow_clone_says_how_to_fetch_history(history, tmp_path):
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth", "1", f"file://{history.root}", str(clone)],
        check=True,
        env=history.env(),
        capture_output=True,
    )
    repo = PolicyRepo(Settings(repo_root=clone))
    assert repo.is_shallow()
    policy = repo.resolve("privacy-policy")
    assert [r.commit for r in repo.revisions(policy)] == [history.shas["v3"]]
    assert repo.read_text(policy, "HEAD").text == V3
    for rev in ("HEAD~1", history.shas["added"]):
        with pytest.raises(GitError, match=f"unknown revision '{rev}'") as info:
            repo.read_text(policy, rev)
        assert SHALLOW_HINT in str(info.value)
        assert "fetch-depth: 0" in str(info.value) and "git fetch --unshallow" in str(info.value)
    assert not open_repo(history).is_shallow()


# -- release tags -----------------------------------------------------------------------------

RELEASE_FIELDS = {
    "Policy": "privacy-policy",
    "Version": 2,
    "Effective-Date": "2024-03-01",
    "Classification": "material",
    "Previous-Version": 1,
    "Commits": "abc1234..def5678",
    "Notify": "yes",
    "Short-Notice": "no",
    "Summary": "Names are\n collected   too.",
}


def test_release_message_round_trip():
    message = format_release_message(RELEASE_FIELDS)
    assert message.splitlines()[0] == "redline: privacy-policy v2, effective 2024-03-01"
    assert message.splitlines()[1] == ""
    parsed = parse_release_message(message)
    assert parsed == {
        "Policy": "privacy-policy",
        "Version": "2",
        "Effective-Date": "2024-03-01",
        "Classification": "material",
        "Previous-Version": "1",
        "Commits": "abc1234..def5678",
        "Notify": "yes",
        "Short-Notice": "no",
        "Summary": "Names are collected too.",
    }


def test_release_message_keeps_unknown_trailers_and_skips_none():
    message = format_release_message({**RELEASE_FIELDS, "Previous-Version": None})
    assert "Previous-Version" not in parse_release_message(message)
    parsed = parse_release_message(message + "Reviewed-By: legal team\nnot a trailer\n")
    assert parsed["Reviewed-By"] == "legal team"
    assert "not a trailer" not in parsed.values()


def test_release_message_needs_the_key_fields():
    with pytest.raises(ValueError, match="Effective-Date"):
        format_release_message({"Policy": "x", "Version": 1})


def test_releases_from_annotated_tags(history):
    v1 = format_release_message(
        {**RELEASE_FIELDS, "Version": 1, "Previous-Version": "none", "Effective-Date": "2024-01-01"}
    )
    history.tag(
        "privacy-policy/v1", v1, rev=history.shas["added"], when="2024-01-01T09:00:00+02:00"
    )
    history.tag(
        "privacy-policy/v2",
        format_release_message(RELEASE_FIELDS),
        when="2024-02-01T10:00:00-05:00",
    )
    history.tag("privacy-policy/vnext", "not a release")
    history.tag("terms/v1", format_release_message({**RELEASE_FIELDS, "Policy": "terms"}))
    history.git("tag", "privacy-policy-v9")  # lightweight, and not matching the pattern
    repo = open_repo(history)
    policy = repo.resolve("privacy-policy")

    first, second = repo.releases(policy)
    assert (first.version, first.tag, first.commit) == (
        1,
        "privacy-policy/v1",
        history.shas["added"],
    )
    assert first.previous_version is None
    assert first.effective_date == date(2024, 1, 1)
    assert first.published == datetime(2024, 1, 1, 9, tzinfo=timezone(timedelta(hours=2)))
    assert first.published.utcoffset() == timedelta(hours=2)

    assert (second.slug, second.version, second.commit) == ("privacy-policy", 2, history.shas["v3"])
    assert (second.classification, second.previous_version) == ("material", 1)
    assert (second.notify, second.short_notice) == (True, False)
    assert second.summary == "Names are collected too."
    assert second.published.utcoffset() == timedelta(hours=-5)
    assert second.metadata["Commits"] == "abc1234..def5678"
    assert repo.latest_release(policy) == second
    assert repo.latest_release(repo.resolve("terms")).version == 2


def test_no_releases(history):
    repo = open_repo(history)
    assert repo.releases(repo.resolve("terms")) == []
    assert repo.latest_release(repo.resolve("terms")) is None


def test_release_tags_use_the_tag_prefix(history):
    history.tag("policy/terms/v1", format_release_message({**RELEASE_FIELDS, "Policy": "terms"}))
    assert open_repo(history).releases(open_repo(history).resolve("terms")) == []
    prefixed = open_repo(history, tag_prefix="policy/")
    assert prefixed.tag_name("terms", 3) == "policy/terms/v3"
    assert [r.tag for r in prefixed.releases(prefixed.resolve("terms"))] == ["policy/terms/v1"]


def test_lightweight_release_tag_is_an_error(history):
    history.git("tag", "terms/v1")
    repo = open_repo(history)
    with pytest.raises(GitError, match="tag 'terms/v1' is not annotated"):
        repo.releases(repo.resolve("terms"))


def test_release_tag_without_trailers_is_an_error(history):
    history.tag("terms/v1", "released it\n\nno trailers here\n")
    repo = open_repo(history)
    with pytest.raises(GitError, match="tag 'terms/v1' has no valid Effective-Date"):
        repo.releases(repo.resolve("terms"))


# -- odds and ends ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/policies.git", "https://github.com/acme/policies/compare/a...b"),
        ("git@github.com:acme/policies.git", "https://github.com/acme/policies/compare/a...b"),
        ("https://github.com/acme/policies", "https://github.com/acme/policies/compare/a...b"),
        ("https://gitlab.com/acme/policies.git", None),
    ],
)
def test_github_compare_url(history, url, expected):
    history.git("remote", "add", "origin", url)
    assert open_repo(history).github_compare_url("a", "b") == expected


def test_github_compare_url_without_origin(history):
    assert open_repo(history).github_compare_url("a", "b") is None
