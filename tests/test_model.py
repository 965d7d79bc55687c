"""The policy document model: normalisation, blocks, headings, labels, sections, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redline.document.headings import split_label
from redline.document.model import _blocks_from_tokens, parse_document
from redline.document.normalize import normalize
from redline.errors import InputError

# -- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a&nbsp;b", "a b"),
        ("AT&amp;T", "AT&T"),
        ("&amp;amp;", "&"),  # double-encoded
        ("&amp;#x20;Service", "Service"),  # double-encoded numeric entity
        ("**SERVICE&#x20;**&#x6D;eans the site", "SERVICE means the site"),
        ("&#169; 2024", "© 2024"),
    ],
)
def test_normalize_decodes_entities(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"1\. Scope", "1. Scope"),
        (r"Section \#4 \(a\)", "Section #4 (a)"),
        (r"the \[bracketed\] word", "the [bracketed] word"),
        (r"\*not emphasis\*", "not emphasis"),
        (r"snake\_case\_name", "snake_case_name"),
        (r"\`ticks\`", "ticks"),
    ],
)
def test_normalize_removes_backslash_escapes(raw, expected):
    assert normalize(raw) == expected


def test_backslash_escaped_and_plain_markup_compare_equal():
    assert normalize(r"\*\*Note\*\* this") == normalize("**Note** this")
    assert normalize(r"a\_b") == normalize("a_b")


@pytest.mark.parametrize(
    "raw",
    [
        "We keep data.",
        "We keep data.******",
        "**We keep data.**",
        "****We **keep** data.",
        "*We* _keep_ ***data***.",
        "We keep `data`.",
    ],
)
def test_normalize_strips_emphasis_runs(raw):
    assert normalize(raw) == "We keep data."


def test_normalize_keeps_underscores_inside_words():
    assert normalize("see privacy_policy_v2 and x_1") == "see privacy_policy_v2 and x_1"


def test_normalize_drops_gitbook_tags():
    raw = '{% hint style="info" %}\nWe never sell data.\n{% endhint %}'
    assert normalize(raw) == "We never sell data."
    assert normalize("A {%- include 'x.md' -%} B") == "A B"


@pytest.mark.parametrize(
    "raw",
    [
        "pri\u00advacy",
        "pri\u200bvacy",
        "pri\u200cvacy",
        "pri\u200dvacy",
        "\ufeffprivacy",
        "pri\u2060vacy",
    ],
)
def test_normalize_drops_zero_width_and_soft_hyphens(raw):
    assert normalize(raw) == "privacy"


def test_normalize_applies_nfkc():
    assert normalize("\ufb01le") == "file"  # ligature
    assert normalize("\uff21\uff22\uff23") == "ABC"  # full-width
    assert normalize("caf\u0065\u0301") == "caf\u00e9"  # combining accent composed
    assert normalize("a\u00a0b\u2003c") == "a b c"  # no-break and em spaces


def test_normalize_collapses_whitespace():
    assert normalize("  We\tkeep \n\n data  ,\nsafely ( always ) .  ") == (
        "We keep data, safely (always)."
    )


def test_normalize_keeps_links_and_their_targets():
    assert normalize("see [our terms](/tos)") == "see our terms \u27e8/tos\u27e9"
    assert normalize("[a\\[2\\]](#n-2) [b](<x y> 'T')") == "a[2] \u27e8#n-2\u27e9 b \u27e8x y\u27e9"
    assert (
        normalize("[w](https://w.example/A_(b)) *y*") == "w \u27e8https://w.example/A_(b)\u27e9 y"
    )
    assert normalize("[https://x.example](https://x.example)") == "https://x.example"
    assert normalize("mail <privacy@example.com>") == "mail privacy@example.com"
    assert normalize("![logo](logo.png) Text") == "Text"


def test_normalize_keeps_typography_by_default():
    raw = "\u201cus\u201d \u2014 the \u2018Service\u2019 \u2013 ok"
    assert normalize(raw) == raw
    assert normalize(raw, fold_typography=True) == "\"us\" - the 'Service' - ok"


def test_normalize_keeps_words_case_and_punctuation():
    assert normalize("We may share data.") != normalize("We may not share data.")
    assert normalize("We share data.") != normalize("we share data.")
    assert normalize("We share data.") != normalize("We share data;")


def test_fold_typography_applies_to_parsed_blocks():
    text = "# Terms\n\nThe \u201cService\u201d \u2014 ours.\n"
    assert parse_document(text).blocks[1].norm == "The \u201cService\u201d \u2014 ours."
    folded = parse_document(text, fold_typography=True)
    assert folded.blocks[1].norm == 'The "Service" - ours.'


def test_fold_typography_is_off_by_default_and_on_via_config(policy_repo):
    from redline.compare.engine import diff_policy
    from redline.history.repo import PolicyRepo

    repo = policy_repo()
    repo.write("policies/terms.md", "# Terms\n\nThe \u201cService\u201d is ours.\n")
    repo.commit("Add terms")
    repo.write("policies/terms.md", '# Terms\n\nThe "Service" is ours.\n')

    default = PolicyRepo(repo.settings())
    assert default.settings.fold_typography is False
    plain = diff_policy(default, default.resolve("terms"), None, None)
    assert plain.classification == "editorial"
    assert plain.stats.sections_modified == 1

    repo.write("redline.toml", "fold_typography = true\n")
    folded = PolicyRepo(repo.settings())
    assert folded.settings.fold_typography is True
    assert diff_policy(folded, folded.resolve("terms"), None, None).classification == "none"


# -- headings and labels ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "label", "title"),
    [
        ("6 Retention of Data", "6", "Retention of Data"),
        ("6. Retention of Data", "6", "Retention of Data"),
        ("6.2 Cookies", "6.2", "Cookies"),
        ("6.2.1. Session cookies", "6.2.1", "Session cookies"),
        ("a) Email address", "a", "Email address"),
        ("a. Email address", "a", "Email address"),
        ("(iii) Third parties", "(iii)", "Third parties"),
        ("(b) Name", "(b)", "Name"),
        ("IV. Remedies", "IV", "Remedies"),
        ("Section 4: Governing Law", "4", "Governing Law"),
        ("§ 3 Liability", "3", "Liability"),
        ("Cookies", None, "Cookies"),
        ("I agree", None, "I agree"),
    ],
)
def test_split_label(heading, label, title):
    assert split_label(heading) == (label, title)


def _headings(text: str) -> list[tuple[int, str | None, str | None]]:
    return [(b.level, b.label, b.title) for b in parse_document(text).blocks if b.is_heading]


def test_atx_and_setext_headings():
    text = (
        "# Privacy Policy\n\nIntro.\n\nScope\n=====\n\nBody.\n\nDetails\n-------\n\n### 2.1 More\n"
    )
    assert _headings(text) == [
        (1, None, "Privacy Policy"),
        (1, None, "Scope"),
        (2, None, "Details"),
        (3, "2.1", "More"),
    ]


def test_bold_numbered_paragraph_is_the_same_section_as_atx_heading():
    exported = parse_document("**6.&#x20;*****Retention of Data***\n\nWe keep data.\n")
    written = parse_document("## 6. Retention of Data\n\nWe keep data.\n")
    (old,), (new,) = exported.sections, written.sections
    assert (old.label, old.title, old.key, old.level) == (new.label, new.title, new.key, new.level)
    assert old.label == "6" and old.title == "Retention of Data" and old.level == 2
    assert old.key == "retention of data"
    assert old.heading.norm == new.heading.norm == "6. Retention of Data"
    assert [b.norm for b in old.blocks] == [b.norm for b in new.blocks] == ["We keep data."]
    assert old.heading.text == "**6.&#x20;*****Retention of Data***"  # original kept for display


@pytest.mark.parametrize(
    ("paragraph", "level", "label"),
    [
        ("**6.2 Cookies**", 3, "6.2"),
        ("_7. Italic Heading_", 2, "7"),
        ("***(iii) Third parties***", 4, "(iii)"),
        ("**a) Email**", 4, "a"),
    ],
)
def test_emphasised_labelled_paragraphs_are_headings(paragraph, level, label):
    (block,) = parse_document(paragraph + "\n").blocks
    assert (block.kind, block.level, block.label) == ("heading", level, label)


@pytest.mark.parametrize(
    "paragraph",
    [
        "**Personal Data**",  # bold, but no label
        "**6. Retention** applies to all data.",  # not wholly bold
        "6. Retention of Data",  # a list item, not a paragraph
        "Retention of data is limited to **6** months",
    ],
)
def test_other_paragraphs_are_not_headings(paragraph):
    assert not any(b.is_heading for b in parse_document(paragraph + "\n").blocks)


def test_bold_label_inside_list_is_not_a_heading():
    blocks = parse_document("- **1. Scope**\n- **2. Terms**\n").blocks
    assert [b.kind for b in blocks] == ["list_item", "list_item"]


# -- blocks and sections ----------------------------------------------------------------------

POLICY = """\
---
title: Example Privacy Policy
effective_date: 2024-01-01
---
# Privacy Policy

Effective date: 01/02/2024

We respect
your privacy.

## 1. Data We Collect

- (a) Email address
- (b) Name
  1. First name

> Quoted notice
> over two lines

| Data | Kept for |
|------|----------|
| Logs | 30 days  |

```
retention = 30
```

<div>Raw HTML note</div>

### 1.1 Cookies

We use cookies.

## 2. Contact

Write to us.
"""


def test_blocks_of_every_kind_with_lines():
    document = parse_document(POLICY, name="policies/privacy.md")
    found = [(b.kind, b.norm, b.line, b.end_line) for b in document.blocks]
    assert found == [
        ("heading", "Privacy Policy", 5, 5),
        ("paragraph", "Effective date: 01/02/2024", 7, 7),
        ("paragraph", "We respect your privacy.", 9, 10),
        ("heading", "1. Data We Collect", 12, 12),
        ("list_item", "(a) Email address", 14, 14),
        ("list_item", "(b) Name", 15, 15),
        ("list_item", "First name", 16, 16),
        ("blockquote", "Quoted notice over two lines", 18, 19),
        ("table_row", "Data | Kept for", 21, 21),
        ("table_row", "Logs | 30 days", 23, 23),
        ("code", "retention = 30", 25, 27),
        ("html", "Raw HTML note", 29, 29),
        ("heading", "1.1 Cookies", 31, 31),
        ("paragraph", "We use cookies.", 33, 33),
        ("heading", "2. Contact", 35, 35),
        ("paragraph", "Write to us.", 37, 37),
    ]
    assert document.blocks[2].text == "We respect\nyour privacy."
    assert document.title == "Privacy Policy"


def test_lines_point_into_the_file():
    document = parse_document(POLICY)
    lines = POLICY.splitlines()
    for block in document.blocks:
        assert lines[block.line - 1] in block.text


def test_sections_nest_by_level():
    document = parse_document(POLICY)
    found = [(s.label, s.title, s.key, s.level, s.parent, len(s.blocks)) for s in document.sections]
    assert found == [
        (None, "Privacy Policy", "privacy policy", 1, None, 2),
        ("1", "Data We Collect", "data we collect", 2, 0, 8),
        ("1.1", "Cookies", "cookies", 3, 1, 1),
        ("2", "Contact", "contact", 2, 0, 1),
    ]
    assert document.sections[2].display_name == "Section 1.1 (Cookies)"


def test_text_before_the_first_heading_is_a_preamble():
    document = parse_document("Last updated: today.\n\n# Terms\n\nBody.\n")
    preamble = document.sections[0]
    assert preamble.heading is None and preamble.display_name == "Preamble"
    assert [b.norm for b in preamble.blocks] == ["Last updated: today."]


def test_front_matter_is_metadata_not_text():
    document = parse_document(POLICY)
    assert document.front_matter == {
        "title": "Example Privacy Policy",
        "effective_date": __import__("datetime").date(2024, 1, 1),
    }
    assert document.front_matter_text.startswith("---\ntitle:")
    assert document.body_offset == 4
    assert not any("Example" in b.norm or "effective_date" in b.norm for b in document.blocks)


def test_no_front_matter():
    document = parse_document("# Terms\n\nBody.\n")
    assert (document.front_matter, document.front_matter_text, document.body_offset) == ({}, "", 0)


def test_large_document_is_parsed_like_its_parts():
    """Chunked parsing gives the same blocks as parsing the pieces one by one."""
    sections = [
        f"## {n}. Section {n}\n\n" + "\n\n".join(f"Paragraph {n}.{p} text." for p in range(30))
        for n in range(1, 40)
    ]
    text = "# Big Policy\n\n" + "\n\n".join(sections) + "\n"
    document = parse_document(text)
    assert [s.label for s in document.sections[1:]] == [str(n) for n in range(1, 40)]
    assert len(document.blocks) == 1 + 39 * 31
    lines = text.splitlines()
    for block in document.blocks:
        assert lines[block.line - 1] == block.text


def test_fenced_code_with_blank_lines_is_one_block():
    code = "\n\n".join(f"line {n}" for n in range(60))
    text = "# T\n\n" + "\n\n".join(f"Para {n}." for n in range(50)) + f"\n\n```\n{code}\n```\n"
    document = parse_document(text)
    assert document.blocks[-1].kind == "code"
    assert document.blocks[-1].norm == code


def test_section_parents_across_skipped_levels():
    text = "# A\n\n### B\n\n## C\n\n### D\n\n# E\n\n## F\n\n#### G\n\n### H\n"
    parents = [s.parent for s in parse_document(text).sections]
    assert parents == [None, 0, 0, 2, None, 4, 5, 5]


@pytest.mark.parametrize("separator", ["\x0c", "\u2028", "\x85", "\x1c"])
def test_unicode_line_separators_do_not_shift_blocks(separator):
    text = f"# T\n\nPage one{separator}still page one.\n\nSecond.\n\n- Third.\n"
    blocks = parse_document(text).blocks
    assert [(b.text, b.line) for b in blocks[2:]] == [("Second.", 5), ("- Third.", 7)]


def test_crlf_line_endings():
    text = "# T\r\n\r\nFirst\r\nline.\r\n\r\n## 1. Next\r\n\r\nSecond.\r\n"
    found = [(b.kind, b.norm, b.text, b.line) for b in parse_document(text).blocks]
    assert found == [
        ("heading", "T", "# T", 1),
        ("paragraph", "First line.", "First\nline.", 3),
        ("heading", "1. Next", "## 1. Next", 6),
        ("paragraph", "Second.", "Second.", 8),
    ]


def test_raw_html_with_blank_lines_is_one_block():
    text = "# T\n\nBefore.\n\n<pre>\nkeep\n\nLegal review pending.\n\n</pre>\n\nAfter.\n"
    blocks = parse_document(text).blocks
    assert [b.kind for b in blocks] == ["heading", "paragraph", "html", "paragraph"]
    assert "keep Legal review pending." in blocks[2].norm
    assert (blocks[2].line, blocks[2].end_line, blocks[3].norm) == (5, 10, "After.")


MARKDOWN_PIECES = [
    "We keep data.",
    "We keep\ndata for years.",
    "(a) Email address",
    "\u201cService\u201d means us.",
    "2024 was a year.",
    "# Title",
    "## 3. Scope",
    "## Trailing hashes ##",
    "#NoSpace",
    "**6.&#x20;*****Retention***",
    "************",
    "- (a) item",
    "* star item",
    "- item\n  continued",
    "- item\nlazy continuation",
    "-   wide item",
    "- - -",
    "1. first",
    "2) second",
    "  - nested",
    "    indented code",
    "> quoted\n> more",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "```\ncode\n\nmore code\n```",
    "<!-- comment\n\nstill comment -->",
    "<pre>\n\nx\n</pre>",
    "<div>\nhtml\n</div>",
    "Setext\n======",
    "Para\n- interrupting item",
    "[ref]: https://example.com",
    "_7. Italic Heading_",
    "Line with\x0cform feed",
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(MARKDOWN_PIECES), st.sampled_from(["\n\n", "\n\n\n"])),
        min_size=1,
        max_size=40,
    )
)
def test_chunked_parse_equals_one_markdown_it_parse(pieces):
    """Parsing in small cached chunks, with the plain-text fast path, changes nothing."""
    body = "# Policy\n\n" + "".join(piece + separator for piece, separator in pieces)
    expected = [
        (b.kind, b.norm, b.text, b.line, b.end_line, b.level, b.label, b.title)
        for b in _blocks_from_tokens(body, False)
    ]
    found = [
        (b.kind, b.norm, b.text, b.line, b.end_line, b.level, b.label, b.title)
        for b in parse_document(body).blocks
    ]
    assert found == expected


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\n\t\n"])
def test_empty_input_is_rejected(text):
    with pytest.raises(InputError, match=r"policies/x\.md: the file is empty"):
        parse_document(text, name="policies/x.md")


def test_binary_input_is_rejected():
    with pytest.raises(InputError, match=r"policies/x\.md: is a binary file"):
        parse_document("PK\x03\x04\x00\x00binary", name="policies/x.md")


def test_front_matter_only_is_rejected():
    with pytest.raises(InputError, match="contains no text"):
        parse_document("---\ntitle: x\n---\n", name="x.md")


def test_invalid_front_matter_names_the_line():
    with pytest.raises(InputError, match=r"x\.md:3: invalid YAML front matter"):
        parse_document("---\ntitle: x\nbad: a: b\n---\n# T\n", name="x.md")


def test_front_matter_must_be_a_mapping():
    with pytest.raises(InputError, match="front matter must be a mapping"):
        parse_document("---\n- a\n- b\n---\n# T\n", name="x.md")


def test_paragraph_that_only_starts_and_ends_bold_is_not_a_heading():
    document = parse_document("# T\n\n**10** days of notice to **you**\n")
    assert [b.kind for b in document.blocks] == ["heading", "paragraph"]


def test_a_year_is_not_a_section_label():
    (heading,) = parse_document("## 2020 Update\n").blocks
    assert heading.label is None
    assert heading.title == "2020 Update"


def test_html_comments_are_not_policy_text():
    assert normalize("We keep data <!-- review in Q3 --> for 30 days.") == (
        "We keep data for 30 days."
    )


def test_lone_asterisk_and_unknown_angle_brackets_are_text():
    assert normalize("2 * 3 is **six**") == "2 * 3 is six"
    assert normalize("Write to <Company Name> <b>now</b>") == "Write to <Company Name> now"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("# Privacy Policy\n\nWe care.\n", "Privacy Policy"),
        ("# Privacy Policy {: #top }\n\nWe care.\n", "Privacy Policy"),
        # an export that opens with an H2 and has a question as its first H1: no title
        (
            "## How to manage the info we use\n\nText.\n\n# What is the Privacy Policy?\n\nT.\n",
            None,
        ),
        ("# What is this policy?\n\nText.\n", None),
        ("---\ntitle: Cookie Policy\n---\n## Cookies\n\nText.\n", "Cookie Policy"),
    ],
)
def test_the_title_is_the_opening_h1_unless_it_is_a_question(text, title):
    assert parse_document(text).title == title


def test_a_bold_address_or_year_is_not_a_numbered_section():
    document = parse_document(
        "# T\n\n**350 Bush Street, 2nd Floor**\n\n**2024 Updates**\n\n**6. Data**\n"
    )
    assert [block.kind for block in document.blocks] == [
        "heading",
        "paragraph",
        "paragraph",
        "heading",
    ]
