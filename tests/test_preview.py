"""``redline preview``: the pull-request comment, on real temporary git repositories."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from email import message_from_bytes
from email import policy as email_policy

import pytest

from redline.history.repo import PolicyRepo
from redline.jobs.init import apply_init, plan_init
from redline.jobs.preview import COMMENT_LIMIT, MARKER, RESERVE, build_preview
from redline.jobs.sample_email import SAMPLE_RECIPIENT

TODAY = date(2025, 6, 2)
PRIVACY = """\
# Privacy Policy

Effective date: 2025-01-01

## 1. Data We Collect

We collect your email address.

## 2. Sharing

We do not sell your data.
"""
TERMS = """\
# Terms of Service

Effective date: 2025-01-01

## 1. Use

Be kind to other users.
"""


def settle(repo, **overrides):
    settings = repo.settings(**overrides)
    apply_init(PolicyRepo(settings), plan_init(PolicyRepo(settings), settings), settings)
    repo.git("add", ".")
    repo.git("commit", "--quiet", "-m", "Set up redline")


@pytest.fixture
def pull_request(policy_repo):
    """main with two released policies, and a branch 'change' checked out on top of it."""
    repo = policy_repo()
    repo.write("policies/privacy.md", PRIVACY)
    repo.write("policies/terms.md", TERMS)
    repo.commit("Add policies")
    settle(repo)
    repo.git("switch", "--quiet", "-c", "change")
    return repo


def preview_of(repo, tmp_path=None, **options):
    settings = repo.settings()
    return build_preview(
        PolicyRepo(settings), settings, today=TODAY, base="main", output_dir=tmp_path, **options
    )


def test_material_change_shows_class_date_check_redline_and_email(pull_request, tmp_path):
    repo = pull_request
    repo.write(
        "policies/privacy.md",
        PRIVACY.replace("2025-01-01", "2025-07-15").replace(
            "We do not sell your data.", "We share your data with advertising partners."
        ),
    )
    repo.commit("Share data with partners")
    out = tmp_path / "files"
    preview = preview_of(repo, out)
    body = preview.body
    assert body.startswith(MARKER + "\n")
    assert not preview.truncated
    assert "### privacy v2: Material change" in body
    # The date written in the pull request is later than today + 30 days, so release keeps it.
    assert "**Effective date the release would set:** 2025-07-15" in body
    assert "**Notice window (`redline check`):** ✅ pass" in body
    assert "We<del> do not sell</del><ins> share</ins> your data<ins> with advertising" in body
    subject = "**Notice email subject:** "
    assert subject in body
    assert "We are changing our Privacy Policy" in body
    assert "terms" not in body.split("### privacy")[1]  # terms did not change

    [item] = preview.policies
    assert item.release is not None and item.release.version == 2
    eml = out / "privacy-v2.notice.eml"
    html = out / "privacy-v2.redline.html"
    assert {eml, html} <= set(preview.files)
    message = message_from_bytes(eml.read_bytes(), policy=email_policy.default)
    assert message["To"].addresses[0].addr_spec == SAMPLE_RECIPIENT[1]
    assert message["Subject"] in body
    text = message.get_body(("plain",)).get_content()
    assert text.strip().splitlines()[0] in body
    assert "<ins>" in html.read_text() and "advertising partners" in html.read_text()


def test_a_date_left_to_release_passes_and_says_what_release_will_do(pull_request):
    repo = pull_request
    repo.write("policies/privacy.md", PRIVACY.replace("your email address", "your location"))
    repo.commit("Collect location")
    body = preview_of(repo).body
    assert "**Effective date the release would set:** 2025-07-02" in body
    assert "- **Release decision:** material change: notice period of 30 days" in body
    assert "**Notice window (`redline check`):** ✅ pass" in body
    assert (
        "release will set 2025-07-02 (30 days after the release) and notify subscribers: v2, "
        "material change: notice period of 30 days"
    ) in body
    assert "❌ fail" not in body and "did not move" not in body


def test_when_the_author_sets_the_date_an_unmoved_date_fails_in_the_comment(pull_request):
    repo = pull_request
    repo.write("redline.toml", 'effective_date_by = "author"\n')
    repo.write("policies/privacy.md", PRIVACY.replace("your email address", "your location"))
    repo.commit("Collect location")
    preview = preview_of(repo)
    body = preview.body
    assert "**Effective date the release would set:**" not in body
    assert "❌ fail" in body
    assert "material change, but the effective date did not move (still 2025-01-01)" in body
    assert "redline effective-date privacy --in 30d" in body
    [left_out] = preview.left_out  # the same refusal, as release would report it
    assert "did not move" in left_out


def test_editorial_change_sends_no_email(pull_request):
    repo = pull_request
    repo.write(
        "policies/terms.md", TERMS.replace("Be kind to other users.", "Be kind to other users!")
    )
    repo.commit("Punctuation")
    preview = preview_of(repo)
    assert "### terms v2: Editorial change" in preview.body
    assert "**Subscribers:** not emailed" in preview.body
    assert "Notice email" not in preview.body
    assert preview.policies[0].message is None


def test_a_change_release_would_refuse_is_reported_not_crashed(pull_request):
    repo = pull_request
    repo.write("policies/terms.md", "# Terms of Service\n\n## 1. Use\n\nBe kind, always.\n")
    repo.commit("Drop the date line")
    preview = preview_of(repo)
    assert preview.plan_error is None
    [left_out] = preview.left_out
    assert left_out.startswith("policies/terms.md: no effective-date statement found")
    assert "> [!CAUTION]" in preview.body
    assert "> After merging, `redline release` would leave out:" in preview.body
    assert "- **Release:** not released: policies/terms.md: no effective-date" in preview.body
    assert left_out not in preview.warnings
    assert "❌ fail" in preview.body
    assert "> Be kind<del> to other users</del><ins>, always</ins>." in preview.body


def test_long_changes_are_cut_to_the_comment_limit_with_a_pointer(pull_request, tmp_path):
    repo = pull_request
    paragraphs = "\n\n".join(
        f"Paragraph {n}: we keep record {n} for {n % 7 + 1} years and then delete it."
        for n in range(900)
    )
    repo.write("policies/privacy.md", PRIVACY.replace("2025-01-01", "2025-08-01") + paragraphs)
    repo.write(
        "policies/terms.md",
        TERMS.replace("2025-01-01", "2025-08-01") + paragraphs.replace("record", "entry"),
    )
    repo.commit("Add retention details everywhere")
    out = tmp_path / "files"
    preview = preview_of(repo, out)
    assert preview.truncated
    assert len(preview.body) <= COMMENT_LIMIT - RESERVE
    assert len(preview.full_body) > COMMENT_LIMIT
    assert preview.body.startswith(MARKER)
    # Both policies keep their headers, and each cut redline points at its full HTML.
    for name in ("privacy", "terms"):
        assert f"### {name} v2: Material change" in preview.body
        assert f"`{name}-v2.redline.html` in `{out}`" in preview.body
    assert preview.body.count("<details") == preview.body.count("</details>")
    fences = [line for line in preview.body.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0
    assert (out / "privacy-v2.redline.html").stat().st_size > COMMENT_LIMIT

    # A smaller limit cuts harder but fairly: both redlines keep some lines.
    small = preview_of(repo, limit=12_000).body
    assert len(small) <= 12_000
    for name in ("privacy", "terms"):
        section = small.split(f"### {name} v2")[1]
        assert "Paragraph" in section


def run_preview(root, *args, env):
    return subprocess.run(
        [sys.executable, "-m", "redline", "--repo", str(root), "preview", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_preview_needs_no_secrets_and_reads_no_subscriber_data(pull_request, tmp_path):
    repo = pull_request
    repo.write(
        "policies/privacy.md",
        PRIVACY.replace("2025-01-01", "2025-07-15").replace("email address", "postal address"),
    )
    repo.commit("Postal address")
    env = {
        key: value
        for key, value in repo.env().items()
        if not key.startswith(("REDLINE_SMTP", "REDLINE_SECRET", "REDLINE_FROM"))
    }
    # A database that cannot be reached: preview must not even try.
    env["REDLINE_DATABASE_URL"] = "postgresql+psycopg://nobody:wrong@127.0.0.1:9/none"
    env["REDLINE_TODAY"] = TODAY.isoformat()
    env["GITHUB_ACTIONS"] = "true"
    env["GITHUB_SERVER_URL"] = "https://github.com"
    env["GITHUB_REPOSITORY"] = "acme/policies"
    env["GITHUB_RUN_ID"] = "42"
    out = tmp_path / "preview-files"
    result = run_preview(repo.root, "--base", "main", "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(MARKER)
    assert "### privacy v2: Material change" in result.stdout
    assert "<del> email</del><ins> postal</ins> address" in result.stdout
    assert "Traceback" not in result.stderr
    assert not (repo.root / ".redline").exists()
    assert sorted(p.name for p in out.iterdir()) == [
        "preview-full.md",
        "privacy-v2.notice.eml",
        "privacy-v2.redline.html",
    ]


def test_a_removed_policy_is_listed(pull_request):
    repo = pull_request
    repo.git("rm", "--quiet", "policies/terms.md")
    repo.git("commit", "--quiet", "-m", "Retire the terms")
    body = preview_of(repo).body
    assert "### terms: Removed" in body
    assert "tell subscribers it no longer applies" in body


def test_nothing_changed(pull_request):
    preview = preview_of(pull_request)
    assert "would release nothing" in preview.body
    assert "No policy changed" in preview.body


# -- preview-email: the date release would set ------------------------------------------------


def test_preview_email_of_a_never_released_policy_shows_the_date_release_would_set(
    policy_repo, tmp_path
):
    import json

    from conftest import redline_in_process

    repo = policy_repo()
    repo.write("policies/privacy.md", PRIVACY)  # states 2025-01-01, long past
    repo.commit("Add the privacy policy, not released yet")
    out = tmp_path / "mail"
    result = redline_in_process(
        repo, "preview-email", "privacy", "--today", TODAY.isoformat(), "-o", str(out), "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["version"] == 1 and report["effective_date"] == "2025-07-02"
    assert report["date_source"] == "notice period of 30 days"
    assert report["reason"] == "material change: notice period of 30 days"
    assert report["notify"] is True
    text = (out / "privacy-v1-notice.txt").read_text(encoding="utf-8")
    assert "July 2, 2025" in text and "January 1, 2025" not in text


def test_preview_email_of_an_uncommitted_edit_uses_the_release_planner(pull_request, tmp_path):
    from conftest import redline_in_process

    repo = pull_request
    repo.write(
        "policies/privacy.md", PRIVACY.replace("your email address", "your email and location")
    )
    result = redline_in_process(
        repo, "preview-email", "privacy", "--today", TODAY.isoformat(), "-o", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert "privacy: pending version 2, effective 2025-07-02 (material change: notice period " in (
        result.stderr
    )
    repo.write("policies/terms.md", "# Terms of Service\n\n## 1. Use\n\nBe kind.\n")
    broken = redline_in_process(repo, "preview-email", "terms", "-o", str(tmp_path))
    assert broken.returncode == 2
    assert "policies/terms.md: no effective-date statement found" in broken.stderr
