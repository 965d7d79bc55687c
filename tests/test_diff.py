"""The redline engine on the real corpus page edited as editors do, and its properties."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redline.compare.engine import DiffResult, RefInfo, diff_documents, diff_policy
from redline.document.model import Document, parse_document

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "000_fe21ec6974767aad.txt"
_HEADING = re.compile(r"^\*\*(\d+)\.&#x20;\*{5}(.*?)\*{3}$", re.M)


@pytest.fixture(scope="module")
def corpus() -> str:
    if not CORPUS.is_file():
        pytest.skip(f"corpus page {CORPUS} is absent (it lives outside the repository)")
    return CORPUS.read_text(encoding="utf-8")


def diff(old: str, new: str) -> DiffResult:
    return diff_documents(parse_document(old, name="old"), parse_document(new, name="new"))


def changed(result: DiffResult) -> dict[str | None, object]:
    """Changed sections keyed by number (old number for removed ones)."""
    return {s.number if s.status != "removed" else s.old_number: s for s in result.changed_sections}


def section_span(text: str, number: int) -> tuple[int, int]:
    """Character span of corpus section ``number``: its bold heading up to the next one."""
    starts = {int(m.group(1)): m.start() for m in _HEADING.finditer(text)}
    following = [start for n, start in starts.items() if n > number]
    return starts[number], min(following) if following else _footer_start(text)


def _footer_start(text: str) -> int:
    last = max(m.end() for m in _HEADING.finditer(text))
    return last + text[last:].index("\n\n") + 2


def first_paragraph(text: str, number: int) -> str:
    """The raw source of the first body paragraph of corpus section ``number``."""
    start, end = section_span(text, number)
    section = parse_document(text[start:end])
    return next(b.text for b in section.blocks if b.kind == "paragraph" and len(b.norm) > 60)


def move_section(text: str, number: int, before: int) -> str:
    start, end = section_span(text, number)
    target = section_span(text, before)[0]
    assert target < start
    return text[:target] + text[start:end] + text[target:start] + text[end:]


# -- the corpus, edited as editors do ---------------------------------------------------------


def test_corpus_against_itself_is_none(corpus):
    result = diff(corpus, corpus)
    assert result.classification == "none"
    assert result.changed_sections == []
    assert result.change_count == 0
    assert len(result.sections) == len(parse_document(corpus).sections)


def test_one_word_in_one_section(corpus):
    paragraph = first_paragraph(corpus, 6)
    word = max(re.findall(r"[A-Za-z]{6,}", paragraph), key=len)
    edited = corpus.replace(paragraph, paragraph.replace(word, "indefinitely", 1))
    result = diff(corpus, edited)
    assert result.classification == "material"
    (section,) = result.changed_sections
    assert (section.status, section.number, section.title) == ("modified", "6", "Retention of Data")
    assert not (section.moved or section.renumbered or section.retitled)
    assert [(c.op, c.old, c.new) for c in section.changes] == [("replace", word, "indefinitely")]
    assert (result.stats.words_inserted, result.stats.words_deleted) == (1, 1)
    assert result.stats.sections_modified == 1
    (block,) = [b for b in section.blocks if b.status != "equal"]
    assert block.status == "modified" and block.kind == "paragraph"


def test_new_paragraph(corpus):
    paragraph = first_paragraph(corpus, 9)
    added = "We also keep encrypted backups for thirty days."
    result = diff(corpus, corpus.replace(paragraph, f"{paragraph}\n\n{added}"))
    assert result.classification == "material"
    (section,) = result.changed_sections
    assert (section.status, section.number) == ("modified", "9")
    assert [(c.op, c.old, c.new) for c in section.changes] == [("insert", None, added)]
    assert (result.stats.words_inserted, result.stats.words_deleted) == (8, 0)


def test_deleted_paragraph(corpus):
    paragraph = first_paragraph(corpus, 7)
    result = diff(corpus, corpus.replace(paragraph + "\n\n", ""))
    (section,) = result.changed_sections
    assert section.number == "7"
    ((op, old, new),) = [(c.op, c.old, c.new) for c in section.changes]
    assert (
        op == "delete" and new is None and old.startswith(parse_document(paragraph).blocks[0].norm)
    )


def test_section_moved(corpus):
    result = diff(corpus, move_section(corpus, 9, before=7))
    (section,) = result.changed_sections
    assert (section.status, section.number, section.old_number) == ("unchanged", "9", "9")
    assert section.moved and not section.renumbered and not section.retitled
    assert section.changes == []
    assert {b.status for b in section.blocks} == {"moved"}
    assert result.stats.sections_moved == 1
    assert (result.stats.sections_added, result.stats.sections_removed) == (0, 0)
    assert (result.stats.words_inserted, result.stats.words_deleted) == (0, 0)
    assert all(b.status not in {"insert", "delete"} for s in result.sections for b in s.blocks)
    numbers = [s.number for s in result.sections if s.number]
    assert numbers.index("9") < numbers.index("7")


def test_section_moved_and_lightly_edited(corpus):
    moved = move_section(corpus, 9, before=7)
    paragraph = first_paragraph(corpus, 9)
    word = max(re.findall(r"[A-Za-z]{6,}", paragraph), key=len)
    result = diff(corpus, moved.replace(paragraph, paragraph.replace(word, "paramount", 1)))
    (section,) = result.changed_sections
    assert (section.status, section.number, section.moved) == ("modified", "9", True)
    assert [(c.op, c.old, c.new) for c in section.changes] == [("replace", word, "paramount")]
    assert (result.stats.sections_added, result.stats.sections_removed) == (0, 0)


def test_section_moved_and_retitled(corpus):
    start, _ = section_span(corpus, 9)
    moved = move_section(corpus, 9, before=7)
    old_heading = corpus[start : corpus.index("\n", start)]
    result = diff(corpus, moved.replace(old_heading, "**9.&#x20;*****Safeguarding Your Data***"))
    (section,) = result.changed_sections
    assert (section.number, section.title, section.old_title) == (
        "9",
        "Safeguarding Your Data",
        "Security of Data",
    )
    assert section.moved and section.retitled and section.status == "modified"
    assert (result.stats.sections_added, result.stats.sections_removed) == (0, 0)
    assert all(c.op in {"replace", "insert", "delete"} for c in section.changes)


def test_paragraph_moved_to_another_section(corpus):
    paragraph = first_paragraph(corpus, 9)
    target = first_paragraph(corpus, 6)
    edited = corpus.replace(paragraph + "\n\n", "").replace(target, f"{target}\n\n{paragraph}")
    result = diff(corpus, edited)
    sections = changed(result)
    assert list(sections) == ["6"]  # the move is reported once, where the text went
    assert [c.op for c in sections["6"].changes] == ["move"]
    assert not sections["6"].moved  # the section did not move, one paragraph did
    assert (result.stats.words_inserted, result.stats.words_deleted) == (0, 0)


def _renumber(text: str, first: int, by: int) -> str:
    def shift(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return f"**{number + by if number >= first else number}.&#x20;*****{match.group(2)}***"

    return _HEADING.sub(shift, text)


def test_sections_renumbered_only(corpus):
    result = diff(corpus, _renumber(corpus, 5, 1))
    assert result.classification == "editorial"
    assert result.renumbered_runs == ["Sections 5–20 renumbered as 6–21 (16 headings)"]
    assert result.stats.sections_renumbered == 16
    for section in result.changed_sections:
        assert section.status == "unchanged" and section.renumbered and not section.moved
        assert int(section.number) == int(section.old_number) + 1
        assert section.changes == []
    assert result.change_count == 0


def test_new_section_renumbers_the_rest(corpus):
    start, _ = section_span(corpus, 5)
    new_section = "**5.&#x20;*****Cookie Choices***\n\nYou can refuse cookies at any time.\n\n"
    edited = _renumber(corpus, 5, 1)
    edited = edited[:start] + new_section + edited[start:]
    result = diff(corpus, edited)
    assert result.classification == "material"
    assert result.renumbered_runs == ["Sections 5–20 renumbered as 6–21 (16 headings)"]
    sections = changed(result)
    assert sections["5"].status == "added" and sections["5"].title == "Cookie Choices"
    assert [c.op for c in sections["5"].changes] == ["insert", "insert"]
    renumbered = [s for s in result.changed_sections if s.renumbered]
    assert len(renumbered) == 16
    assert {s.status for s in renumbered} == {"unchanged"}
    assert result.stats.sections_added == 1


def _numbered(titles: list[str]) -> str:
    body = "\n\n".join(f"## {n}. {t}\n\nText about {t.lower()}." for n, t in enumerate(titles, 1))
    return f"# Policy\n\n{body}\n"


def test_separate_renumbered_runs():
    old = _numbered(["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta", "Theta"])
    new = _numbered(["Alpha", "Iota", "Beta", "Gamma", "Epsilon", "Eta", "Theta"])
    result = diff(old, new)
    assert result.renumbered_runs == [
        "Sections 2–3 renumbered as 3–4 (2 headings)",
        "Sections 7–8 renumbered as 6–7 (2 headings)",
    ]
    assert [s.title for s in result.sections if s.renumbered] == ["Beta", "Gamma", "Eta", "Theta"]
    assert result.stats.sections_renumbered == 4
    assert (result.stats.sections_added, result.stats.sections_removed) == (1, 2)
    single = diff(_numbered(["Alpha", "Beta", "Gamma"]), _numbered(["Beta", "Alpha", "Gamma"]))
    assert single.renumbered_runs in (["Section 1 renumbered as 2"], ["Section 2 renumbered as 1"])


def test_reexport_changing_only_artifacts_is_not_material(corpus):
    # Bold headings become ATX headings, "**X&#x20;**&#x6D;eans" becomes "**X** means", more
    # "****" lines appear, entities become characters and the other way round, and the
    # file gets Windows line endings.
    reexported = _HEADING.sub(lambda m: f"## {m.group(1)}. {m.group(2)}", corpus)
    reexported = re.sub(
        r"\*\*([A-Z ]+)&#x20;\*\*&#x([0-9A-Fa-f]+);",
        lambda m: f"**{m.group(1)}** {chr(int(m.group(2), 16))}",
        reexported,
    )
    reexported = reexported.replace("\n\n****\n\n", "\n\n").replace(
        "\n\n************\n\n", "\n\n************\n\n********\n\n"
    )
    reexported = reexported.replace("\u201c", "&#x201C;").replace("&#x20;", "&amp;#x20;")
    reexported = reexported.replace("OÜ", "O&Uuml;").replace("\n", "\r\n")
    assert reexported != corpus
    result = diff(corpus, reexported)
    assert result.classification in {"none", "editorial"}
    assert result.stats.words_inserted == result.stats.words_deleted == 0
    assert all(s.status == "unchanged" for s in result.sections)


def test_retitled_section(corpus):
    start, _ = section_span(corpus, 6)
    heading = corpus[start : corpus.index("\n", start)]
    result = diff(corpus, corpus.replace(heading, "**6.&#x20;*****How Long We Keep Data***"))
    assert result.classification == "material"
    (section,) = result.changed_sections
    assert (section.number, section.old_number) == ("6", "6")
    assert (section.title, section.old_title) == ("How Long We Keep Data", "Retention of Data")
    assert section.retitled and not section.renumbered and section.status == "modified"
    assert section.changes and all(c.op in {"replace", "insert", "delete"} for c in section.changes)


def test_section_retitled_beyond_recognition_keeps_its_identity(corpus):
    start, _ = section_span(corpus, 6)
    heading = corpus[start : corpus.index("\n", start)]
    new_heading = "**6.&#x20;*****How Long We Keep Your Personal Information***"
    result = diff(corpus, corpus.replace(heading, new_heading))
    (section,) = result.changed_sections
    assert (section.status, section.number, section.old_title) == (
        "modified",
        "6",
        "Retention of Data",
    )
    assert section.retitled and not section.moved
    assert (result.stats.sections_added, result.stats.sections_removed) == (0, 0)
    assert {c.op for c in section.changes} <= {"replace", "insert", "delete"}


def test_removed_section(corpus):
    start, end = section_span(corpus, 9)
    result = diff(corpus, corpus[:start] + corpus[end:])
    assert result.classification == "material"
    (section,) = result.changed_sections
    assert (section.status, section.old_number, section.old_title) == (
        "removed",
        "9",
        "Security of Data",
    )
    assert section.changes and {c.op for c in section.changes} == {"delete"}
    assert result.stats.sections_removed == 1
    names = [s.name for s in result.sections]
    assert (
        names.index("Section 9 (Security of Data)")
        == names.index("Section 8 (Disclosure of Data)") + 1
    )


def test_added_section(corpus):
    footer = re.search(r"^\u00a9", corpus, re.M).start()  # the page footer after section 20
    added = "**21.&#x20;*****Dispute Resolution***\n\nDisputes go to arbitration.\n\n"
    result = diff(corpus, corpus[:footer] + added + corpus[footer:])
    assert result.classification == "material"
    (section,) = result.changed_sections
    assert (section.status, section.number, section.old_number) == ("added", "21", None)
    # The footer now sits under the new heading, but it is not new text.
    assert [(c.op, c.new) for c in section.changes] == [
        ("insert", "21. Dispute Resolution"),
        ("insert", "Disputes go to arbitration."),
    ]
    assert result.stats.sections_added == 1
    assert (result.stats.words_inserted, result.stats.words_deleted) == (7, 0)


def test_new_heading_splitting_a_section():
    old = "# T\n\n## 1. Scope\n\nAlpha text here.\n\nBeta text here.\n"
    new = "# T\n\n## 1. Scope\n\nAlpha text here.\n\n## 2. Beta\n\nBeta text here.\n"
    result = diff(old, new)
    (section,) = result.changed_sections
    assert (section.status, section.number) == ("added", "2")
    assert [(c.op, c.new) for c in section.changes] == [("insert", "2. Beta")]


def test_effective_date_line_only_is_editorial(corpus):
    line = re.search(r"^Effective date: .*$", corpus, re.M).group(0)
    result = diff(corpus, corpus.replace(line, "Effective date: 09/30/2024"))
    assert result.classification == "editorial"
    assert result.changed_sections == []  # the date line is reported once, as a flag
    assert result.stats.date_line_changed


def test_other_dates_are_material(corpus):
    match = re.search(r"took effect on (\d\d/\d\d/\d{4})", corpus)
    result = diff(corpus, corpus.replace(match.group(0), "took effect on 01/01/2021"))
    assert result.classification == "material"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("We share data with partners.", "We share data, with partners!"),
        ("We share data with partners.", "WE SHARE DATA WITH PARTNERS."),
        ("(a) Email address", "(b) Email address"),
    ],
)
def test_punctuation_case_and_item_labels_are_editorial(old, new):
    result = diff(f"# Terms\n\n## 1. Scope\n\n{old}\n", f"# Terms\n\n## 1. Scope\n\n{new}\n")
    assert result.classification == "editorial"


def test_file_without_headings_is_one_section():
    result = diff("We keep data.\n\nWe share data.\n", "We keep data.\n\nWe never share data.\n")
    assert result.warnings == ["the policy has no headings; it was compared as one section"]
    (section,) = result.sections
    assert section.name == "Preamble" and section.status == "modified"
    assert [(c.op, c.old, c.new) for c in section.changes] == [("insert", None, "never")]


def test_json_shape():
    result = diff_documents(
        parse_document("# T\n\n## 1. A\n\nOne.\n"),
        parse_document("# T\n\n## 1. A\n\nTwo.\n"),
        policy="terms",
        path="policies/terms.md",
        from_ref=RefInfo("v1", "a" * 40),
        to_ref=RefInfo("working tree", None),
    )
    data = result.to_json()
    assert data["policy"] == "terms" and data["path"] == "policies/terms.md"
    assert data["from"] == {"ref": "v1", "commit": "a" * 40}
    assert data["to"] == {"ref": "working tree", "commit": None}
    assert data["classification"] == "material"
    assert set(data["stats"]) == {
        "words_inserted",
        "words_deleted",
        "sections_added",
        "sections_removed",
        "sections_modified",
        "sections_moved",
        "sections_renumbered",
        "blocks_changed",
        "blocks_added",
        "blocks_removed",
        "blocks_moved",
        "date_line_changed",
    }
    section = data["sections"][1]
    assert section == {
        "status": "modified",
        "number": "1",
        "title": "A",
        "old_number": "1",
        "old_title": "A",
        "moved": False,
        "moved_from": None,
        "moved_to": None,
        "renumbered": False,
        "retitled": False,
        "changes": [{"op": "replace", "old": "One", "new": "Two"}],
        "stats": {
            "words_inserted": 1,
            "words_deleted": 1,
            "blocks_changed": 1,
            "blocks_added": 0,
            "blocks_removed": 0,
            "blocks_moved": 0,
            "date_line_changed": False,
        },
    }


def test_diff_policy_between_revisions(policy_repo):
    from redline.history.repo import PolicyRepo
    from redline.history.tags import format_release_message

    repo = policy_repo()
    repo.write("policies/terms.md", "# Terms\n\n## 1. Use\n\nBe nice.\n")
    first = repo.commit("v1")
    repo.tag(
        "terms/v1",
        format_release_message({"Policy": "terms", "Version": 1, "Effective-Date": "2024-01-01"}),
    )
    repo.write("policies/terms.md", "# Terms\n\n## 1. Use\n\nBe very nice.\n")
    second = repo.commit("v2")
    repo.write("policies/terms.md", "# Terms\n\n## 1. Use\n\nBe very nice, always.\n")
    opened = PolicyRepo(repo.settings())
    policy = opened.resolve("terms")

    result = diff_policy(opened, policy, None, None)  # last release -> working tree
    assert (result.from_ref, result.to_ref) == (
        RefInfo("terms/v1", first),
        RefInfo("working tree", None),
    )
    assert [c.op for c in result.changed_sections[0].changes] == ["insert", "insert"]

    result = diff_policy(opened, policy, "HEAD~1", "HEAD")
    assert (result.from_ref.commit, result.to_ref.commit) == (first, second)
    assert (result.policy, result.path) == ("terms", "policies/terms.md")
    assert [(c.op, c.new) for c in result.changed_sections[0].changes] == [("insert", "very")]
    assert diff_policy(opened, policy, "HEAD", "HEAD").classification == "none"


# -- properties -------------------------------------------------------------------------------

VOCABULARY = "we may share your data with partners only when law requires it and never sell"
WORDS = st.sampled_from([*VOCABULARY.split(), "personal", "cookies", "remain", "for", "days"])
SENTENCE = st.lists(WORDS, min_size=1, max_size=12).map(lambda w: " ".join(w).capitalize() + ".")
TITLE = st.lists(WORDS, min_size=1, max_size=3).map(lambda w: " ".join(w).title())
SECTION = st.tuples(TITLE, st.lists(SENTENCE, min_size=0, max_size=4))
POLICY_SECTIONS = st.lists(SECTION, min_size=1, max_size=6)


def render(sections: list[tuple[str, list[str]]], *, bold: bool = False) -> str:
    parts = ["# Policy", "Effective date: 01/01/2024"]
    for number, (title, paragraphs) in enumerate(sections, start=1):
        parts.append(f"**{number}.&#x20;*****{title}***" if bold else f"## {number}. {title}")
        parts.extend(paragraphs)
    return "\n\n".join(parts) + "\n"


@st.composite
def edited(draw: st.DrawFn) -> tuple[list, list]:
    """A policy and an edited copy: words changed, paragraphs added, removed, moved."""
    old = draw(POLICY_SECTIONS)
    new = [(title, list(paragraphs)) for title, paragraphs in old]
    for _ in range(draw(st.integers(0, 5))):
        index = draw(st.integers(0, len(new) - 1))
        paragraphs = new[index][1]
        action = draw(st.sampled_from(["word", "add", "drop", "retitle", "move", "section"]))
        if action == "word" and paragraphs:
            at = draw(st.integers(0, len(paragraphs) - 1))
            words = paragraphs[at].rstrip(".").split()
            words[draw(st.integers(0, len(words) - 1))] = draw(WORDS)
            paragraphs[at] = " ".join(words) + "."
        elif action == "add":
            paragraphs.insert(draw(st.integers(0, len(paragraphs))), draw(SENTENCE))
        elif action == "drop" and paragraphs:
            paragraphs.pop(draw(st.integers(0, len(paragraphs) - 1)))
        elif action == "retitle":
            new[index] = (draw(TITLE), paragraphs)
        elif action == "move":
            new.insert(draw(st.integers(0, len(new) - 1)), new.pop(index))
        elif action == "section":
            new.insert(index, draw(SECTION))
    return old, new


def _side_texts(result: DiffResult, side: str) -> list[tuple[int, str]]:
    """(line, text) of every block on one side, rebuilt from the reported blocks and words."""
    keep = {"new": {"equal", "insert"}, "old": {"equal", "delete"}}[side]
    rebuilt = []
    for section in result.sections:
        for block in section.blocks:
            source = block.new if side == "new" else block.old
            if source is None:
                continue
            if block.status in {"modified", "moved"}:
                text = "".join(op.text for op in block.words if op.op in keep)
            else:
                text = source.norm
            rebuilt.append((source.line, text))
    return rebuilt


def _expected(document: Document) -> list[tuple[int, set[str]]]:
    # A changed heading is redlined by its title, its number being reported as a flag.
    return [(b.line, {b.norm, b.title} if b.is_heading else {b.norm}) for b in document.blocks]


def _assert_rebuilds(old: Document, new: Document, result: DiffResult) -> None:
    rebuilt_new = _side_texts(result, "new")
    assert [line for line, _ in rebuilt_new] == [b.line for b in new.blocks]  # in order
    for (_, text), (_, allowed) in zip(rebuilt_new, _expected(new), strict=True):
        assert text in allowed
    rebuilt_old = sorted(_side_texts(result, "old"))
    assert [line for line, _ in rebuilt_old] == [b.line for b in old.blocks]  # each once
    for (_, text), (_, allowed) in zip(rebuilt_old, _expected(old), strict=True):
        assert text in allowed


def _assert_counts_match_changes(result: DiffResult) -> None:
    """The word counts in the stats are the words of the reported changes, but for noise
    (here: letter case), which the redline shows and never counts."""
    inserted = deleted = 0
    for section in result.sections:
        noise = {
            (op.op, op.text.strip())
            for block in section.blocks
            for op in block.words
            if op.op != "equal" and op.kind != "words"
        }
        for change in section.changes:
            if change.op in {"insert", "replace"} and ("insert", change.new) not in noise:
                inserted += len(re.findall(r"\w+", change.new))
            if change.op in {"delete", "replace"} and ("delete", change.old) not in noise:
                deleted += len(re.findall(r"\w+", change.old))
    assert (inserted, deleted) == (result.stats.words_inserted, result.stats.words_deleted)


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(POLICY_SECTIONS, st.booleans())
def test_identical_text_is_none(sections, bold):
    text = render(sections, bold=bold)
    result = diff(text, text)
    assert result.classification == "none"
    assert result.changed_sections == [] and result.change_count == 0


@PROPERTY_SETTINGS
@given(POLICY_SECTIONS)
def test_formatting_only_is_never_material(sections):
    result = diff(render(sections, bold=True), render(sections, bold=False))
    assert result.classification in {"none", "editorial"}


@PROPERTY_SETTINGS
@given(edited(), st.booleans())
def test_reported_changes_rebuild_both_texts(pair, bold):
    old_sections, new_sections = pair
    old = parse_document(render(old_sections, bold=bold))
    new = parse_document(render(new_sections))
    result = diff_documents(old, new)
    _assert_rebuilds(old, new, result)
    _assert_counts_match_changes(result)
    if [b.norm for b in old.blocks] == [b.norm for b in new.blocks]:
        assert result.classification == "none"
    else:
        assert result.classification != "none"


def test_rebuild_on_the_edited_corpus(corpus):
    edited_corpus = _renumber(move_section(corpus, 9, before=7), 12, 1)
    paragraph = first_paragraph(corpus, 3)
    edited_corpus = edited_corpus.replace(paragraph, paragraph.replace(" our ", " the ", 1))
    old, new = parse_document(corpus), parse_document(edited_corpus)
    result = diff_documents(old, new)
    _assert_rebuilds(old, new, result)
    _assert_counts_match_changes(result)
