"""One diff, every format: the counts agree, because they are all read from one stats object.

The diff moves and edits a section, adds, removes and changes paragraphs, and changes the
effective-date line (which is never counted, only reported).
"""

from __future__ import annotations

import re

from moved_world import release_of, released
from redline.compare.views import render_html, render_markdown, render_text
from redline.publish.changelog import entry_for_release, render_entry
from redline.publish.notice import build_notice_context, render_notice
from redline.publish.prose import describe_changes
from redline.publish.site import build_site
from redline.publish.templates import Templates

DATE_LINE = "Effective-date line changed"


def test_every_format_gives_the_same_numbers(policy_repo, tag_release, tmp_path):
    repo = released(policy_repo, tag_release)
    policies, policy, release, diff, settings = release_of(repo)
    stats = diff.stats
    assert (stats.sections_modified, stats.sections_moved, stats.date_line_changed) == (4, 1, True)

    sections_line = f"Sections: {stats.sections_modified} modified, {stats.sections_moved} moved"
    words_line = f"Words: {stats.words_inserted} inserted, {stats.words_deleted} deleted"
    text, markdown, html = render_text(diff), render_markdown(diff), render_html(diff)
    build_site(policies, settings, tmp_path / "site")
    page = (tmp_path / "site/privacy-policy/2/index.html").read_text()
    for name, shown in (("text", text), ("markdown", markdown), ("html", html), ("site", page)):
        assert sections_line in shown, name
        assert words_line in shown, name
        assert DATE_LINE in shown, name

    # The sections listed as modified are as many as the summary says.
    assert len(re.findall(r"^.+ — modified", text, re.M)) == stats.sections_modified
    assert len(re.findall(r"^#### .+ — modified", markdown, re.M)) == stats.sections_modified
    assert html.count('<div class="status">modified') == stats.sections_modified

    # JSON: the global stats are the sum of the sections' stats.
    data = diff.to_json()
    assert data["stats"] == stats.as_dict()
    for key in ("words_inserted", "words_deleted", "blocks_changed", "blocks_added"):
        assert sum(s["stats"][key] for s in data["sections"]) == data["stats"][key], key
    assert [s["status"] for s in data["sections"]].count("modified") == stats.sections_modified

    # The changelog entry's table adds up to the same words, one row per described section.
    entry = entry_for_release(policies, policy, release, settings, diff=diff)
    entry_md = render_entry(settings, entry)
    rows = re.findall(r"^\| (?!Section \|)(?!---).+ \| (\d+) \| (\d+) \|$", entry_md, re.M)
    assert len(rows) == len(entry.sections) == len(describe_changes(diff))
    assert sum(int(added) for added, _ in rows) == stats.words_inserted
    assert sum(int(removed) for _, removed in rows) == stats.words_deleted
    assert [s.status for s in entry.sections].count("modified") == stats.sections_modified
    assert DATE_LINE in entry_md
    assert entry.stats == stats.as_dict()

    # The site's list of sections adds up to the same words.
    added = sum(int(n) for n in re.findall(r"\((\d+) words? added", page))
    removed = sum(int(n) for n in re.findall(r"(\d+) (?:words? )?removed\)", page))
    assert (added, removed) == (stats.words_inserted, stats.words_deleted)

    # The email lists the same sections, in text and in HTML.
    context = build_notice_context(policies, policy, release, diff, settings)
    notice = render_notice(Templates(settings), context)
    listed = notice.text.split("What changes\n------------\n")[1].split("\n\n")[0]
    assert len(re.findall(r"^  - ", listed, re.M)) == len(entry.sections)
    assert notice.html.count('class="change-name"') == len(entry.sections)
    assert context.variables("notice")["stats"] == stats.as_dict()


def test_the_date_line_is_never_counted(policy_repo, tag_release):
    from moved_world import V1
    from redline.compare.engine import diff_documents
    from redline.document.model import parse_document

    result = diff_documents(parse_document(V1), parse_document(V1.replace("01/15", "02/15")))
    assert result.stats.date_line_changed
    assert (result.stats.words_inserted, result.stats.words_deleted) == (0, 0)
    assert result.stats.sections_modified == 0 and result.changed_sections == []
    text = render_text(result)
    assert "Effective-date line changed (not counted)\n" in text
    redline = "Effective-date line — changed, not counted\n  Effective date:[- 01/15/2024-]"
    assert redline + "{+ 02/15/2024+}" in text
    assert "Words:" not in text and "Sections:" not in text
