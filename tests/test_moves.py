"""Moved sections shown in every rendering: at the new place "moved from after …", at the
old place "moved to after …", linked both ways in HTML; never a line number; a paragraph
that did not move is never called moved."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from rich.console import Console

from moved_world import POLICY, V1, move_retention, release_of, released
from redline.compare.engine import diff_documents
from redline.compare.views import render_html, render_markdown, render_terminal, render_text
from redline.document.model import parse_document
from redline.publish.notice import build_notice_context, render_notice
from redline.publish.site import build_site
from redline.publish.templates import Templates

FROM = "moved from after Section 4 (Security)"
TO = "moved to after Section 3 (Sharing)"


def diff(old: str, new: str):
    return diff_documents(parse_document(old), parse_document(new), policy="privacy-policy")


@pytest.fixture
def moved_only():
    """Section 5 moved up, not one word changed."""
    return diff(V1, move_retention(V1))


class Anchors(HTMLParser):
    """Each element's id, with the links inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.links: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "section":
            self.stack.append(found.get("id"))
        if tag == "a" and self.stack and self.stack[-1]:
            self.links.setdefault(self.stack[-1], []).append(found.get("href", ""))

    def handle_endtag(self, tag):
        if tag == "section" and self.stack:
            self.stack.pop()


def test_a_moved_section_is_named_even_when_no_word_changed(moved_only):
    result = moved_only
    assert result.stats.sections_moved == 1
    (moved,) = [s for s in result.sections if s.moved]
    assert (moved.name, moved.status, moved.changes) == (
        "Section 5 (Data Retention)",
        "unchanged",
        [],
    )
    assert (moved.moved_from, moved.moved_to) == (
        "after Section 4 (Security)",
        "after Section 3 (Sharing)",
    )
    text = render_text(result)
    assert "Sections: 1 moved\n" in text
    assert (
        "Moved: Section 5 (Data Retention), from after Section 4 (Security) "
        "to after Section 3 (Sharing)"
    ) in text
    assert f"Section 5 (Data Retention) — unchanged, {FROM}\n" in text
    assert f"Section 5 (Data Retention) — {TO}\n" in text
    assert text.index(FROM) < text.index(f"— {TO}")  # new place first, old place after
    assert "line" not in text


def test_html_links_the_new_and_the_old_place(moved_only):
    page = render_html(moved_only)
    anchors = Anchors()
    anchors.feed(page)
    new_place = next(i for i, links in anchors.links.items() if "#moved-1" in links)
    assert new_place == "change-1"
    assert anchors.links["moved-1"] == ["#change-1"]
    assert f'<a href="#moved-1">{FROM}</a>' in page
    assert f'<a href="#change-1">{TO}</a>' in page
    assert page.count('id="moved-1"') == page.count('id="change-1"') == 1


def test_markdown_and_terminal_show_both_places(moved_only):
    markdown = render_markdown(moved_only)
    assert f"#### Section 5 (Data Retention) — unchanged, {FROM}" in markdown
    assert f"#### Section 5 (Data Retention) — {TO}" in markdown
    assert "- Sections: 1 moved" in markdown
    console = Console(file=io.StringIO(), force_terminal=True, width=200, record=True)
    render_terminal(moved_only, console)
    shown = console.export_text()
    assert FROM in shown and TO in shown


def test_edits_inside_a_moved_section_are_redlined_there():
    result = diff(V1, move_retention(V1).replace("30 days", "90 days"))
    text = render_text(result)
    assert f"Section 5 (Data Retention) — modified, {FROM}\n" in text
    assert "  We keep flight logs for[- 30-]{+ 90+} days after you delete your account.\n" in text
    assert "(moved" not in text  # the paragraph moved with its section: not moved itself
    html = render_html(result)
    assert 'class="moved-note"' not in html


def test_a_subsection_that_moves_with_its_parent_is_not_moved():
    old = V1.replace(
        "## 6. Contact", "### 5.1 Backups\n\nBackups are kept for a week.\n\n## 6. Contact"
    ).replace("every year.\n", "every year.\n\nWe train our staff.\n\nWe test our backups.\n")
    result = diff(old, move_retention(old))
    assert [s.name for s in result.sections if s.moved] == ["Section 5 (Data Retention)"]
    text = render_text(result)
    assert "5.1" not in text
    assert "Sections: 1 moved\n" in text


def test_a_paragraph_moved_to_another_section_says_where_from():
    paragraph = "We review our security measures every year.\n\n"
    new = V1.replace(paragraph, "").replace("Write to privacy", paragraph + "Write to privacy")
    result = diff(V1, new)
    text = render_text(result)
    assert "Section 6 (Contact) — modified\n" in text
    assert (
        "  (moved from Section 4 (Security)) We review our security measures every year.\n" in text
    )
    assert not re.search(r"moved.*line \d", text)
    assert "(moved (moved" not in text
    markdown = render_markdown(result)
    assert "> *Moved from Section 4 (Security):* We review our security measures every year." in (
        markdown
    )
    assert '<div class="moved-note">Moved from Section 4 (Security)</div>' in render_html(result)


def test_the_site_version_page_shows_the_move(policy_repo, tag_release, tmp_path):
    repo = released(policy_repo, tag_release)
    build_site(*_site_args(repo), tmp_path / "site")
    page = (tmp_path / "site/privacy-policy/2/index.html").read_text()
    assert 'id="redline"' in page
    assert f'<a href="#moved-3">{FROM}</a>' in page
    assert f'<a href="#change-3">{TO}</a>' in page
    assert "moved from after Section 4 (Security) to after Section 3 (Sharing)" in page


def test_the_notice_email_names_the_move(policy_repo, tag_release):
    repo = released(policy_repo, tag_release)
    policies, policy, release, diff_v2, settings = release_of(repo)
    context = build_notice_context(policies, policy, release, diff_v2, settings)
    notice = render_notice(Templates(settings), context)
    flat = " ".join(notice.text.split())
    expected = (
        "Section 5 (Data Retention): moved from after Section 4 (Security) to after "
        "Section 3 (Sharing)"
    )
    assert expected in flat
    assert expected in " ".join(re.sub(r"<[^>]+>", "", notice.html).split())
    assert (repo.root / POLICY).is_file()


def _site_args(repo):
    from redline.history.repo import PolicyRepo

    settings = repo.settings()
    return PolicyRepo(settings), settings
