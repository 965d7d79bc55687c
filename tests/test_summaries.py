"""Generated summaries that say what changed: short changes quoted, long ones cut at a word
boundary, URLs whole; escaped for each format; the reasons shown everywhere."""

from __future__ import annotations

import re

from markupsafe import Markup

from moved_world import NEW_PARAGRAPH, V1, release_of, released
from redline.compare.engine import Reason, diff_documents
from redline.compare.views import render_html, render_markdown, render_text, summary_lines
from redline.document.model import parse_document
from redline.publish.changelog import entry_for_release, render_entry
from redline.publish.notice import build_notice_context, render_notice
from redline.publish.prose import QUOTE_LIMIT, generate_summary, quote
from redline.publish.site import build_site, site_globals
from redline.publish.templates import Templates


def summary(new: str, old: str = V1) -> str:
    return generate_summary(diff_documents(parse_document(old), parse_document(new)))


def test_a_short_change_is_quoted():
    assert summary(V1.replace("30 days", "90 days")) == (
        'Section 5 (Data Retention): "30 days" → "90 days".'
    )


def test_an_inserted_word_is_quoted_with_the_words_around_it():
    assert summary(V1.replace("We protect data", "We protect all data")) == (
        'Section 4 (Security): "protect data" → "protect all data".'
    )


def test_a_new_paragraph_is_cut_at_a_word_boundary():
    new = V1.replace("flight logs.\n", f"flight logs.\n\n{NEW_PARAGRAPH}\n")
    assert summary(new) == (
        'Section 2 (Data We Collect): new paragraph "(d) an analytics provider that measures '
        'how the app is used …".'
    )


def test_removed_text_is_quoted():
    new = V1.replace("We review our security measures every year.\n\n", "")
    assert summary(new) == (
        'Section 4 (Security): paragraph removed: "We review our security measures every year.".'
    )


def test_quote_cuts_long_text_and_keeps_a_long_word_whole():
    long = "word " * 40
    cut = quote(long)
    assert cut.endswith(' …"') and len(cut) <= QUOTE_LIMIT + 4
    assert cut[1:-3].split() == ["word"] * len(cut[1:-3].split())  # whole words only
    url = "https://example.com/" + "x" * 100
    assert quote(url) == f'"{url}"'
    assert quote("short text") == '"short text"'


def test_a_changed_url_is_shown_whole_old_and_new():
    old_url = "https://ec.europa.eu/info/law/data-protection"
    new_url = "https://commission.europa.eu/law"
    new = V1.replace(old_url, new_url).replace("hosting partner", "cloud partner")
    result = diff_documents(parse_document(V1), parse_document(new))
    assert generate_summary(result) == (
        f'Section 3 (Sharing): "hosting partner" → "cloud partner", "{old_url}" → "{new_url}".'
    )
    assert f"[- {old_url}-]{{+ {new_url}+}}" in render_text(result)
    shown = re.sub(r'<span class="visually-hidden">[^<]*</span>', "", render_html(result))
    assert f"<del>{old_url}</del> <ins>{new_url}</ins>" in shown  # the space outside the marks


def test_quotes_are_escaped_for_each_format(policy_repo, tag_release, tmp_path):
    repo = released(policy_repo, tag_release)
    hostile = "We never sell data [see note] <script>alert(1)</script>."
    path = repo.root / "policies/privacy-policy.md"
    path.write_text(path.read_text().replace("Write to privacy@example.com.", hostile))
    repo.commit("Contact")
    tag_release(repo, "privacy-policy", 3, "2024-04-01", when="2024-02-10T09:00:00+00:00")
    policies, policy, release, diff, settings = release_of(repo, version=3)
    entry = entry_for_release(policies, policy, release, settings, diff=diff)
    assert "<script>" in entry.summary  # the model keeps plain text
    markdown = render_entry(settings, entry)
    assert r"We never sell data \[see note\] \<script\>alert(1)\</script\>." in markdown
    notice = render_notice(
        Templates(settings), build_notice_context(policies, policy, release, diff, settings)
    )
    assert "<script" not in notice.html and "&lt;script&gt;" in notice.html
    assert "We never sell data [see note] <script>alert(1)</script>." in " ".join(
        notice.text.split()
    )
    build_site(policies, settings, tmp_path / "site")
    page = (tmp_path / "site/privacy-policy/3/index.html").read_text()
    assert "<script" not in page and "[see note] &lt;script&gt;" in page


def test_the_changelog_email_and_site_use_the_generated_summary(policy_repo, tag_release, tmp_path):
    repo = released(policy_repo, tag_release)
    policies, policy, release, diff, settings = release_of(repo)
    expected = generate_summary(diff)
    assert '"30 days" → "90 days"' in expected
    entry = entry_for_release(policies, policy, release, settings, diff=diff)
    assert entry.summary == expected
    context = build_notice_context(policies, policy, release, diff, settings)
    assert context.summary == expected
    notice = render_notice(Templates(settings), context)
    assert '"30 days" → "90 days"' in " ".join(notice.text.split())
    assert '"30 days" → "90 days"' in notice.html
    build_site(policies, settings, tmp_path / "site")
    page = (tmp_path / "site/privacy-policy/2/index.html").read_text()
    assert "&quot;30 days&quot; → &quot;90 days&quot;" in page


def test_reasons_are_shown_in_every_output(policy_repo, tag_release, tmp_path):
    repo = released(policy_repo, tag_release)
    policies, policy, release, diff, settings = release_of(repo)
    diff.reasons = [Reason("editorial", "link-targets", "link targets only", 3)]
    line = "Why: Link targets only (3)"  # the classification is said before, not again
    assert line in summary_lines(diff)
    assert "editorial: " not in "\n".join(summary_lines(diff)[1:])
    assert diff.to_json()["reasons"][0]["code"] == "link-targets"  # programs keep the codes
    assert diff.to_json()["reasons"][0]["text"] == "editorial: link targets only (3)"
    assert line in render_text(diff) and f"- {line}" in render_markdown(diff)
    assert f"<li>{line}</li>" in render_html(diff)
    entry = entry_for_release(policies, policy, release, settings, diff=diff)
    assert "- **Why:** Link targets only (3)" in render_entry(settings, entry)
    page = Templates(settings).render(
        "site/version.html.j2",
        {
            "site": site_globals(settings, release.effective_date),
            "root": "../../",
            "canonical": None,
            "policy": entry.policy,
            "version": {
                "source_name": "privacy-policy.md",
                "status": "in-force",
                "release": release,
            },
            "entry": entry,
            "redline": Markup(render_html(diff)),
            "text": "",
            "previous": 1,
            "next": None,
        },
    )
    assert "<dt>Why</dt><dd>Link targets only (3)</dd>" in page
    assert 'id="redline"' in page


def test_a_quoted_link_shows_its_target_in_parentheses_never_the_redline_notation():
    old = "# P\n\n## 1. Cookies\n\nSee [here](https://help.example.com/cookies) for cookies.\n"
    new = old.replace("[here](https://help.example.com/cookies)", "[our page](https://e.com/c2)")
    summary = generate_summary(diff_documents(parse_document(old), parse_document(new)))
    assert summary == (
        'Section 1 (Cookies): "here (https://help.example.com/cookies)" → '
        '"our page (https://e.com/c2)".'
    )
