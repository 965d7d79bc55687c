"""The HTML redline (issue 13): `redline diff --format html` as a process on a real git
repository, validated, and its parts: full document, marks, formatting, titles and dates; the
one rule for policy Markdown as HTML (md.markdown_html); the real data where it is present."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from html_check import heading_outline, html_problems
from redline.compare.engine import diff_documents
from redline.compare.html_view import OPENING, render_html
from redline.document.model import parse_document
from redline.md import markdown_html, markdown_inline
from redline_world import V1, make_repo, redline, v2

BUNDLE = Path("/work/shared/fixtures/pga-versions.bundle")
CORPUS = Path("/work/shared/corpus/000_fe21ec6974767aad.txt")
_HIDDEN = re.compile(r'<span class="visually-hidden">[^<]*</span>')


def dangling(page: str) -> list[str]:
    """The in-page links of ``page`` to an id it lacks, and its relative links."""
    ids = set(re.findall(r'\sid="([^"]*)"', page))
    hrefs = re.findall(r'<a href="([^"]*)"', page)
    return [h for h in hrefs if (h[1:] not in ids if h.startswith("#") else ":" not in h)]


def seen(page: str) -> str:
    """The page without its visually hidden words."""
    return _HIDDEN.sub("", page)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    from conftest import GitPolicyRepo

    repo = make_repo(lambda: GitPolicyRepo(tmp_path_factory.mktemp("redline") / "repo"))
    result = redline(repo, "diff", "privacy", "HEAD~1", "HEAD", "--format", "html")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_standalone_page_is_valid_with_one_h1_and_a_main(page):
    assert html_problems(page) == []
    assert heading_outline(page) == []
    assert page.count("<main>") == 1 and "<style>" in page and "@media print" in page
    assert '<nav aria-label="Changes"' in page and 'id="redline"' in page


def test_readers_see_the_title_and_dates_never_slugs_or_refs(page):
    assert "<h1>Redline: Privacy Policy</h1>" in page
    assert "as of January 2, 2024 → as of January 3, 2024" in page
    assert "HEAD" not in page and "policies/privacy.md" not in page


def test_the_working_copy_is_named_so(policy_repo):
    repo = make_repo(policy_repo)
    (repo.root / "policies/privacy.md").write_text(v2().replace("monthly", "weekly"))
    result = redline(repo, "diff", "privacy", "HEAD", "--format", "html")
    assert "as of January 3, 2024 → working copy" in result.stdout


def test_two_commits_of_one_day_are_told_apart_by_their_ids(policy_repo):
    repo = make_repo(policy_repo)
    repo.write("policies/privacy.md", v2().replace("monthly", "weekly"))
    repo.commit("Same day", when="2024-01-03T15:00:00+00:00")
    old, new = (repo.git("rev-parse", "--short=7", rev).strip() for rev in ("HEAD~1", "HEAD"))
    result = redline(repo, "diff", "privacy", "HEAD~1", "HEAD", "--format", "html")
    assert (
        f"as of January 3, 2024 (commit {old}) → as of January 3, 2024 (commit {new})"
        in result.stdout
    )


def test_every_block_is_shown_in_order_with_unchanged_runs_collapsed(page):
    text = seen(page)
    full = text[text.index('id="full-text"') : text.index('id="changes"')]
    assert "<summary>8 unchanged paragraphs</summary>" in full
    assert '<p class="block heading">5. Contact</p>' in full  # unchanged, in sight
    assert (
        full.index("Unchanged paragraph 8")
        < full.index("We collect your")
        < full.index("Other paragraph 1")
    )
    assert "<del>We store data in the EU.</del>" in full  # deleted, at its old place
    assert 'id="changes"' in page and "<h2>Changes only</h2>" in page


def test_formatting_is_kept_in_and_around_the_marks(page):
    text = seen(page)
    assert "<em>name</em><ins>, <em>email address</em></ins> and <code>user id</code>" in text
    assert "<ins>test our <strong>backups</strong> monthly</ins>" in text
    link = '<a href="https://host.example.com/terms-2025">hosting partner</a>'
    assert link in text and text.count(">hosting partner<") == 2  # full text and changes only
    assert "⟨" not in text and "**" not in text


def test_spaces_sit_outside_the_marks_and_punctuation_is_boxed(page):
    text = seen(page)
    assert "Effective date: 1 <del>March 2024</del> <ins>April 2025</ins>" in text
    assert not re.search(r"<(ins|del)[^>]*> ", text)
    assert not re.search(r" </(ins|del)>", text)
    assert '<del class="punct" title="punctuation changed">.</del>' in text
    assert '<ins class="punct" title="punctuation changed">;</ins>' in text


def test_marks_carry_words_for_screen_readers(page):
    assert '<del><span class="visually-hidden">deleted: </span>' in page
    assert '<ins><span class="visually-hidden">inserted: </span>' in page
    assert '<span class="visually-hidden"> (end of insertion)</span></ins>' in page
    assert "punctuation inserted: " in page
    assert "Deleted text</span> is struck through" in page
    assert "is double-underlined" in page


def test_changes_are_linked_and_stepped(page):
    for n in (1, 2, 3):
        assert f'<a href="#change-{n}">' in page and page.count(f'id="change-{n}"') == 1
    assert '<section id="moved-2" class="moved-away">' in page
    assert '<a href="#moved-2">moved from after Section 1 (Data)</a>' in page
    assert '<a href="#change-2">moved to after Section 4 (Retention)</a>' in page
    assert '<a href="#change-2">next change →</a>' in page
    assert '<a href="#change-1">← previous change</a>' in page


def test_the_fragment_takes_a_heading_level_and_names_the_opening_text():
    new = V1.replace("This policy explains", "This policy now explains")
    result = diff_documents(parse_document(V1), parse_document(new))
    fragment = render_html(result, heading_level=2)
    assert fragment.count("<h2>") == 1  # the title
    assert fragment.count("<h3>") == 3  # the change list, the change, the changes only
    assert f"<h3>{OPENING}</h3>" in fragment and "<h3>Privacy Policy</h3>" not in fragment
    assert f"<h4>{OPENING}</h4>" in fragment  # in the changes only
    assert "<h1" not in fragment and "<h5" not in fragment


def test_raw_html_is_shown_as_text_by_one_rule(policy_repo):
    repo = make_repo(policy_repo)
    text = v2().replace("We never sell data;", "We <b>never</b> sell data; <script>x</script>")
    (repo.root / "policies/privacy.md").write_text(text)
    result = redline(repo, "diff", "privacy", "HEAD", "--format", "html").stdout
    assert "&lt;b&gt;never&lt;/b&gt;" in result and "&lt;script&gt;" in result
    assert "<b>" not in result and "<script>" not in result
    assert markdown_html("a <b>b</b> <script>c</script>") == (
        "<p>a &lt;b&gt;b&lt;/b&gt; &lt;script&gt;c&lt;/script&gt;</p>\n"
    )


def test_export_junk_shows_no_asterisks_and_no_empty_links():
    assert markdown_inline("**1.&#x20;*****Introduction***") == (
        "1. <em><strong>Introduction</strong></em>"
    )
    assert markdown_html("Operated by us.******\n\n************\n\nNext") == (
        "<p>Operated by us.</p>\n<p>Next</p>\n"
    )
    assert markdown_inline("See the law.[](https://example.com/law)") == "See the law."
    assert markdown_html("A rule:\n\n***\n\nend").count("<hr />") == 1  # an author's rule stays


@pytest.mark.skipif(not CORPUS.is_file(), reason="the corpus is not on this machine")
def test_the_exported_policy_has_no_raw_asterisks_or_empty_anchors():
    page = markdown_html(CORPUS.read_text())
    assert "**" not in page and '"></a>' not in page
    assert "<em><strong>Retention of Data</strong></em>" in page


@pytest.mark.skipif(not BUNDLE.is_file(), reason="the PGA bundle is not on this machine")
def test_a_real_facebook_redline_keeps_bold_and_links(tmp_path):
    clone = tmp_path / "pga"
    subprocess.run(["git", "clone", "-q", str(BUNDLE), str(clone)], check=True)
    (clone / "redline.toml").write_text('policies_dir = "."\n')
    log = subprocess.run(
        ["git", "log", "--format=%H", "--", "Facebook/Privacy Policy.md"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    from conftest import GitPolicyRepo

    repo = GitPolicyRepo.__new__(GitPolicyRepo)
    repo.root = clone
    result = redline(repo, "diff", "Facebook/Privacy Policy.md", log[1], log[0], "--format", "html")
    assert result.returncode == 0, result.stderr
    assert html_problems(result.stdout) == [] and heading_outline(result.stdout) == []
    assert "⟨" not in result.stdout and log[0][:7] not in result.stdout
    assert "<h1>Redline: Privacy Policy</h1>" in result.stdout  # no H1 in it: from its name
    assert dangling(result.stdout) == []  # its #annotation-N anchors are not in the page


def test_only_the_first_unnumbered_part_is_the_opening_text():
    old = "Intro text.\n\n# Cookies\n\nWe use cookies.\n"
    result = diff_documents(parse_document(old), parse_document(old.replace("use", "set")))
    fragment = render_html(result)
    assert "<h3>Cookies</h3>" in fragment and OPENING not in fragment


def test_the_running_head_is_a_safe_css_string():
    from redline.publish.redline_page import css_string

    escaped = css_string('A "policy" </style> → b')
    assert not set(escaped) & set("\"'<>&;{}")
    assert escaped.startswith("A \\000022 policy")


def test_why_says_the_reasons_without_repeating_the_classification(page):
    assert '<p class="classification">Material change</p>' in page
    why = re.search(r"<li>Why: ([^<]*)</li>", page)
    assert why is not None and why.group(1).startswith("Words changed in ")
    assert "material:" not in seen(page)


def test_a_block_is_marked_alike_whether_its_text_is_normalised_or_not():
    """The marks of a block whose visible text is its normalised text (the fast way) and of
    one with a ligature and a link target (matched character by character) are the same
    marks, and the full text and the changes only show each changed block alike."""
    old = "# P\n\n## 1. A\n\nWe file reports with **care** and [links](https://a.example).\n"
    new = "# P\n\n## 1. A\n\nWe file weekly reports with **great care** and [links](https://b.example).\n"
    blocks = []
    for word in ("file", "\N{LATIN SMALL LIGATURE FI}le"):
        fragment = render_html(
            diff_documents(
                parse_document(old.replace("file", word)), parse_document(new.replace("file", word))
            )
        )
        found = re.findall(r'<div class="block paragraph">.*?</div>', fragment)
        assert len(found) == 2 and found[0] == found[1]  # the full text, the changes only
        blocks.append(seen(found[0]).replace(word, "file"))
    assert blocks[0] == blocks[1]
    assert (
        "<ins>weekly</ins> reports" in blocks[0]
        and "<ins><strong>great</strong></ins>" in blocks[0]
    )
    assert '<del><span class="link-target">https://a.example</span></del>' in blocks[0]


def test_the_standalone_page_shows_unreachable_links_as_text_as_the_site_does(policy_repo):
    repo = policy_repo()
    text = "# P\n\n## 1. A\n\nSee [note 1](#annotation-1) and [help](/support) first.\n"
    repo.write("policies/p.md", text)
    repo.commit("One")
    repo.write("policies/p.md", text.replace("first", "now"))
    repo.commit("Two")
    page = redline(repo, "diff", "p", "HEAD~1", "HEAD", "--format", "html").stdout
    assert "See note 1 and help" in seen(page) and dangling(page) == []


def test_an_added_or_retitled_section_shows_its_heading_once_marked_in_the_heading():
    old = "# P\n\n## 1. Data\n\nWe keep data.\n\n## 2. Contact\n\nWrite to us.\n"
    new = old.replace("2. Contact", "2. Contact us") + "\n## 3. Cookies\n\nWe use cookies.\n"
    fragment = seen(render_html(diff_documents(parse_document(old), parse_document(new))))
    full = fragment[fragment.index('id="full-text"') : fragment.index('id="changes"')]
    assert full.count("Cookies") == 1 and "<h3><ins>3. Cookies</ins></h3>" in full
    assert full.count("2. Contact") == 1 and "<h3>2. Contact <ins>us</ins></h3>" in full


def test_a_long_change_list_is_folded_and_the_sides_line_starts_with_a_capital(page):
    assert '<p class="sides">As of January 2, 2024 → as of January 3, 2024</p>' in page
    assert '<nav aria-label="Changes" id="change-list"><h2>' in page  # a short list: open
    sections = "".join(f"## {n}. Part {n}\n\nText {n}.\n\n" for n in range(1, 15))
    old, new = f"# P\n\n{sections}", f"# P\n\n{sections.replace('Text', 'New text')}"
    fragment = render_html(diff_documents(parse_document(old), parse_document(new)))
    assert (
        '<nav aria-label="Changes" id="change-list"><details><summary><h3>Changes (14)' in fragment
    )
    assert html_problems(f"<!DOCTYPE html><title>t</title>{fragment}") == []
