"""What changed, said in plain words: quotes without Markdown (table pipes, heading marks,
hard-break backslashes), a changed link target said as one (its addresses when short), the
phrases in a translation's own language around the policy's words, and the reasons without
the classification repeated."""

from __future__ import annotations

import pytest

from email_world import email_repo, preview
from redline.compare.engine import diff_documents
from redline.document.model import parse_document
from redline.publish.prose import generate_summary, section_quotes

HEAD = "# Cookies\n\n## 1. Cookies we use\n\n"


def quotes(old: str, new: str) -> list[str]:
    diff = diff_documents(parse_document(HEAD + old), parse_document(HEAD + new))
    return [str(p) for s in diff.sections if s.status != "unchanged" for p in section_quotes(s)]


def test_a_table_row_is_quoted_as_its_cells_without_pipes_or_heading_marks():
    table = "| ### Cookie | ### Lifespan |\n| --- | --- |\n| sid | 90 days |\n"
    new = table + "| ### Partner | ### Domain |\n"
    assert quotes(table, new) == ['new table row "Partner · Domain"']


def test_a_stray_table_in_a_paragraph_reads_as_its_words():
    assert quotes("Intro.\n", "Intro.\n\n| | | | --- | --- |ENTER SUMMARY\n") == [
        'new paragraph "ENTER SUMMARY"'
    ]


def test_a_changed_link_target_is_said_as_a_link_with_both_addresses():
    old = "See [our page](https://a.example/cookies) for more.\n"
    new = old.replace("https://a.example/cookies", "https://b.example/c")
    assert quotes(old, new) == ["link to https://a.example/cookies now https://b.example/c"]
    generated = generate_summary(
        diff_documents(parse_document(HEAD + old), parse_document(HEAD + new))
    )
    assert "(https://" not in generated and "⟨" not in generated


def test_addresses_too_long_to_quote_are_counted():
    old = (
        "See [a](https://a.example/1) and [b](https://a.example/2) and [c](https://a.example/3).\n"
    )
    new = old.replace(")", "?entry_point=" + "POLICY_SECTION%3A" * 6 + ")")
    assert quotes(old, new) == ["three links’ addresses changed"]


def test_a_link_into_the_policy_is_not_quoted_nor_a_target_without_its_words():
    old = "Read your rights and your choices here. You can opt out.\n"
    new = old.replace("rights", "[rights](#rights)").replace("choices", "[choices](#choices)")
    assert quotes(old, new) == ["added a link"]
    old = "Read the settings page for your account and your privacy. Thanks.\n"
    new = old.replace("privacy.", "[privacy](https://e.example/p). You can opt out at any time.")
    assert quotes(old, new) == ['added "You can opt out at any time"']


def test_a_heading_with_a_hard_break_is_named_without_its_backslash():
    old = "Text.\n"
    new = "Text.\n\nCreate.  \nGrow.\n---\n\nMore.\n"
    diff = diff_documents(parse_document(HEAD + old), parse_document(HEAD + new))
    assert "Create. Grow.: new section" in generate_summary(diff)
    assert "\\" not in generate_summary(diff)


@pytest.fixture
def emails(policy_repo, tag_release, tmp_path):
    repo = email_repo(policy_repo, tag_release)
    return {
        "en": preview(repo, tmp_path / "en"),
        "de": preview(repo, tmp_path / "de", "--locale", "de"),
    }


def test_the_reasons_do_not_repeat_the_classification(emails):
    text = " ".join(emails["en"]["notice"]["txt"].read_text(encoding="utf-8").split())
    assert "Why this is a material change: words changed in 4 sections; section moved" in text
    assert "material:" not in text


@pytest.mark.parametrize("kind", ["notice", "reminder", "in-effect"])
def test_a_german_copy_says_what_changed_in_german_around_the_policys_words(emails, kind):
    for part in ("txt", "html"):
        body = " ".join(emails["de"][kind][part].read_text(encoding="utf-8").split())
        assert 'neuer Absatz "(d) an analytics provider' in body
        assert "Absatz gestrichen:" in body
        assert "verschoben: bisher hinter Section 4 (Security), jetzt hinter Section 3" in body
        assert "Wortlaut in 4 Abschnitten geändert; Abschnitt verschoben" in body
        for english in ("new paragraph", "removed", "moved from", "words changed", "section"):
            assert english not in body.replace("Section", "")


def test_the_phrases_of_the_words_module_are_escaped_in_the_html_part(
    policy_repo, tag_release, tmp_path
):
    from email_world import CONFIG, ORGANIZATION
    from html_check import html_problems

    config = CONFIG.replace(ORGANIZATION, "Kites <b>&</b> Co")
    repo = email_repo(policy_repo, tag_release, config)
    for locale in ((), ("--locale", "de")):
        files = preview(repo, tmp_path / "-".join(locale or ["en"]), *locale)
        for kind in ("notice", "reminder", "in-effect"):
            page = files[kind]["html"].read_text(encoding="utf-8")
            assert "<b>" not in page and "Kites &lt;b&gt;&amp;&lt;/b&gt; Co" in page
            assert html_problems(page) == []


def test_a_long_list_of_changes_is_cut_and_the_rest_counted_in_both_parts(
    policy_repo, tag_release, tmp_path
):
    from moved_world import POLICY
    from redline.publish.notice import CHANGE_LINES

    repo = email_repo(policy_repo, tag_release)
    added = "".join(f"\n## {n}. Topic {n}\n\nWe explain topic {n}.\n" for n in range(20, 40))
    repo.write(POLICY, (repo.root / POLICY).read_text() + added)
    repo.commit("Twenty new sections")
    tag_release(repo, "privacy-policy", 3, "2024-04-01", when="2024-03-01T09:00:00+00:00")
    notice = preview(repo, tmp_path, version=3, today="2024-03-02")["notice"]
    text = notice["txt"].read_text(encoding="utf-8")
    page = notice["html"].read_text(encoding="utf-8")
    assert text.count("  - ") == CHANGE_LINES + 1
    assert f"  - and {20 - CHANGE_LINES} more changes\n" in text
    assert page.count("<li") == CHANGE_LINES + 1 and f"and {20 - CHANGE_LINES} more changes" in page


def test_a_long_title_is_shortened_so_the_subject_fits(policy_repo, tag_release, tmp_path):
    from email import message_from_bytes
    from email import policy as email_policy

    from email_world import CONFIG
    from moved_world import POLICY

    repo = email_repo(policy_repo, tag_release, CONFIG + "max_subject_chars = 90\n")
    title = "Privacy Policy for the Northwind Kites Apps, Websites and Connected Flying Devices"
    text = (repo.root / POLICY).read_text()
    repo.write(POLICY, text.replace("# Privacy Policy\n", f"# {title}\n", 1) + "\nMore.\n")
    repo.commit("A long title")
    tag_release(repo, "privacy-policy", 3, "2024-04-01", when="2024-03-01T09:00:00+00:00")
    for locale in ((), ("--locale", "de")):
        preview(repo, tmp_path, *locale, version=3, today="2024-03-02")
    subjects = {
        path.name: message_from_bytes(path.read_bytes(), policy=email_policy.default)["Subject"]
        for path in tmp_path.glob("*.eml")
    }
    assert len(subjects) == 6
    assert all(len(subject) <= 90 and " …" in subject for subject in subjects.values())
    assert subjects["privacy-policy-v3-notice.eml"].endswith(", effective April 1, 2024")
    assert subjects["privacy-policy-v3-notice.de.eml"].endswith(", gültig ab 1. April 2024")
    body = (tmp_path / "privacy-policy-v3-notice.txt").read_text(encoding="utf-8")
    assert title in " ".join(body.split())  # the body keeps the whole title


def test_the_inbox_preview_is_the_first_change_in_the_copys_language(emails):
    import re

    for locale, start in (("en", "new paragraph"), ("de", "neuer Absatz")):
        page = emails[locale]["notice"]["html"].read_text(encoding="utf-8")
        preheader = re.search(r'<div class="preheader"[^>]*>([^<]*)</div>', page)
        assert preheader and preheader.group(1).startswith(f"Section 2 (Data We Collect): {start}")


def test_an_opening_quote_stays_on_the_line_of_what_it_quotes(emails):
    import re

    page = emails["en"]["notice"]["html"].read_text(encoding="utf-8")
    (changes,) = re.findall(r'<ul class="changes".*?</ul>', page, re.S)
    assert 'new paragraph "\u2060(d) an analytics provider' in changes
    assert 'new paragraph "(d)' not in changes


def test_the_german_in_effect_email_says_the_version_is_in_force(emails):
    page = emails["de"]["in-effect"]["html"].read_text(encoding="utf-8")
    assert "von Northwind Kites Ltd. ist jetzt in Kraft</h1>" in page
