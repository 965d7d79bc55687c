"""The one classifier: every form of noise is editorial with its reason and counts no words;
material changes say what made them material."""

from __future__ import annotations

import pytest

from redline.compare.engine import DiffResult, diff_documents
from redline.config import Settings
from redline.document.dates import find_dates, is_date_line
from redline.document.model import parse_document

POLICY = """# Privacy Policy

Last updated: March 5, 2020

## 1. Scope

This policy covers the Service. See [our terms](terms/index.md) for the rules.

Contact us at <privacy@example.com> or https://ec.europa.eu/info/law/index_en.htm today.

## 2. Retention

We keep personal data for 30 days.

- (a) account records;
- (b) payment records.

## 3. Rights

You may ask us to delete your data.
"""


def diff(old: str, new: str, settings: Settings | None = None) -> DiffResult:
    return diff_documents(parse_document(old), parse_document(new), settings=settings)


def changed_runs(result: DiffResult) -> list[str]:
    """The text of every inserted or deleted run of the redline, in order."""
    return [
        op.text.strip()
        for section in result.sections
        for block in section.blocks
        for op in block.words
        if op.op != "equal"
    ]


def codes(result: DiffResult) -> list[str]:
    return [reason.code for reason in result.reasons]


def counted_words(result: DiffResult) -> int:
    """Words the redline inserts or deletes, as its ops and blocks count them."""
    from redline.compare.tokens import count_words

    total = 0
    for section in result.sections:
        for block in section.blocks:
            if block.status in {"insert", "delete"} and not block.date_line:
                total += count_words((block.new or block.old).norm)  # type: ignore[union-attr]
            total += sum(op.words for op in block.words)
    return total


def assert_noise(result: DiffResult, code: str) -> None:
    """Editorial for exactly this reason, and no word of the redline inserted or deleted."""
    assert result.classification == "editorial", [str(r) for r in result.reasons]
    assert codes(result) == [code]
    assert counted_words(result) == 0
    for section in result.sections:
        for block in section.blocks:
            assert all(op.op == "equal" or op.kind != "words" for op in block.words)


def edit(old: str, new: str, text: str = POLICY) -> str:
    assert old in text
    return text.replace(old, new, 1)


# -- the noise forms, one by one ---------------------------------------------------------------


def test_a_link_target_changed_is_editorial_and_shown_whole():
    result = diff(POLICY, edit("terms/index.md", "regulations/ccpa/index.md"))
    assert_noise(result, "link-targets")
    assert str(result.reasons[0]) == "editorial: link targets only (1)"
    ops = [(op.op, op.text.strip()) for s in result.sections for b in s.blocks for op in b.words]
    assert ("delete", "\u27e8terms/index.md\u27e9") in ops
    assert ("insert", "\u27e8regulations/ccpa/index.md\u27e9") in ops


def test_a_link_added_to_words_is_editorial():
    result = diff(POLICY, edit("for the rules", "for the [rules](https://example.com/rules)"))
    assert_noise(result, "link-targets")


def test_http_to_https_in_targets_counts_each_target():
    text = edit("for the rules", "for the [rules](http://example.com/r) and [more](http://x.org)")
    new = text.replace("http://", "https://")
    result = diff(text, new)
    assert_noise(result, "link-targets")
    assert result.reasons[0].count == 2


def test_autolink_to_link_with_the_same_text_is_editorial():
    new = edit("<privacy@example.com>", "[privacy@example.com](mailto:privacy@example.com)")
    result = diff(POLICY, new)
    assert_noise(result, "link-targets")
    inserted = [
        op.text for s in result.sections for b in s.blocks for op in b.words if op.op != "equal"
    ]
    assert inserted == [" \u27e8mailto:privacy@example.com\u27e9"]  # one token, not ".com)."


def test_a_new_visible_contact_address_is_material_and_shown_whole():
    new = edit("<privacy@example.com>", "<dpo@example.org>")
    result = diff(POLICY, new)
    assert result.classification == "material"
    assert [r.code for r in result.reasons] == ["words"]
    changed = changed_runs(result)
    assert changed == ["privacy@example.com", "dpo@example.org"]


def test_a_url_in_the_visible_text_is_material_and_replaced_whole():
    new = edit("https://ec.europa.eu/info/law/index_en.htm", "https://commission.europa.eu/law_en")
    result = diff(POLICY, new)
    assert result.classification == "material"  # a reader sees another address
    assert [r.code for r in result.reasons] == ["words"]
    changed = changed_runs(result)
    assert changed == [
        "https://ec.europa.eu/info/law/index_en.htm",
        "https://commission.europa.eu/law_en",
    ]


def test_links_material_makes_a_target_change_material():
    new = edit("terms/index.md", "regulations/ccpa/index.md")
    result = diff(POLICY, new, Settings(links_material=True))
    assert result.classification == "material"
    assert [str(r) for r in result.reasons] == ["material: link targets (1)"]


def test_an_attribute_list_on_a_heading_is_not_a_retitle():
    result = diff(POLICY, edit("## 2. Retention", "## 2. Retention {: #retention }"))
    assert_noise(result, "attribute-lists")
    (section,) = [s for s in result.sections if s.number == "2"]
    assert section.title == "Retention" and not section.retitled


def test_an_attribute_list_after_a_paragraph_is_not_a_word():
    result = diff(POLICY, edit("for 30 days.", "for 30 days.\n{:.note}"))
    assert_noise(result, "attribute-lists")


@pytest.mark.parametrize("marker", ["\\", "  "], ids=["backslash", "two spaces"])
def test_a_hard_break_is_not_a_word(marker):
    result = diff(POLICY, edit("covers the Service. ", f"covers the Service.{marker}\n"))
    assert_noise(result, "hard-breaks")


def test_a_trailing_backslash_is_a_hard_break():
    assert_noise(diff(POLICY, edit("for 30 days.", "for 30 days.\\")), "hard-breaks")


def test_the_two_hard_break_forms_are_the_same():
    old = edit("covers the Service. ", "covers the Service.  \n")
    assert (
        diff(old, edit("covers the Service. ", "covers the Service.\\\n")).classification == "none"
    )


def test_a_paragraph_split_is_reflowed_not_inserted():
    result = diff(POLICY, edit("the Service. See", "the Service.\n\nSee"))
    assert_noise(result, "reflow")
    assert str(result.reasons[0]) == "editorial: paragraphs split or merged (1)"
    statuses = [b.status for s in result.sections for b in s.blocks if b.status != "equal"]
    assert statuses == ["reflowed", "reflowed"]


def test_paragraphs_merged_and_split_in_one_run():
    old = POLICY + "\nOne two.\n\nThree four.\n\nFive six seven.\n"
    new = POLICY + "\nOne two. Three four.\n\nFive six\nseven.\n"
    merged = POLICY + "\nOne two. Three four. Five\n\nsix seven.\n"
    assert_noise(diff(old, merged), "reflow")
    result = diff(old, new)
    assert result.classification == "editorial"
    assert set(codes(result)) <= {"reflow"} and counted_words(result) == 0


def test_a_bare_date_line_swapped_under_the_title_is_the_date_line():
    old = edit("Last updated: March 5, 2020", "March 5, 2020")
    result = diff(old, edit("Last updated: March 5, 2020", "June 1, 2021"))
    assert_noise(result, "date-line")
    assert str(result.reasons[0]) == "editorial: effective-date line"
    (block,) = [b for s in result.sections for b in s.blocks if b.status != "equal"]
    assert block.status == "modified" and block.date_line


def test_a_date_line_moved_above_the_title_is_the_date_line():
    top = "Last updated: March 5, 2020\n\n# Privacy Policy\n"
    old = POLICY.replace("# Privacy Policy\n\nLast updated: March 5, 2020\n", top)
    assert_noise(diff(old, POLICY), "date-line")
    assert_noise(diff(POLICY, old), "date-line")


def test_a_date_line_anywhere_is_the_date_line():
    old, new = POLICY + "\nRevised: 05/06/2020\n", POLICY + "\nRevised: 2021-07-08\n"
    assert_noise(diff(old, new), "date-line")


def test_a_date_line_with_links_after_it():
    line = "Effective June 16, 2025 | [View printable version](https://x.example/p/1)"
    old = edit("Last updated: March 5, 2020", line)
    new = edit("Last updated: March 5, 2020", line.replace("June", "December").replace("1)", "2)"))
    result = diff(old, new)
    assert result.classification == "editorial"
    assert codes(result) == ["date-line", "link-targets"] and counted_words(result) == 0
    same_links = edit("Last updated: March 5, 2020", line.replace("June", "May"))
    assert_noise(diff(old, same_links), "date-line")
    renamed = edit("Last updated: March 5, 2020", line.replace("printable", "old"))
    result = diff(old, renamed)
    assert result.classification == "material"
    assert [str(r) for r in result.reasons] == ["material: words changed in 1 section"]


def test_a_date_line_replaced_by_another_form_is_one_change():
    result = diff(POLICY, edit("Last updated: March 5, 2020", "Effective date: 2021-06-01"))
    assert_noise(result, "date-line")


@pytest.mark.parametrize(
    ("label", "settings"),
    [
        ("Revised:", None),
        ("Last update:", None),
        ("Last modified", None),
        ("Policy version date:", Settings(date_label="Policy version date")),
    ],
)
def test_date_label_variants_are_date_lines(label, settings):
    old = edit("Last updated: March 5, 2020", f"{label} March 5, 2020")
    new = edit("Last updated: March 5, 2020", f"{label} April 9, 2021")
    assert find_dates(f"{label} March 5, 2020", settings)  # the dates package agrees
    assert is_date_line(f"{label} March 5, 2020", settings)
    assert_noise(diff(old, new, settings), "date-line")


def test_the_comparison_knows_the_longest_date_line():
    from redline.compare.tokens import LONGEST_DATE_LINE
    from redline.document.dates import MAX_DATE_LINE

    assert LONGEST_DATE_LINE == MAX_DATE_LINE


def test_an_unconfigured_label_is_not_a_date_line():
    old = edit("Last updated: March 5, 2020", "Policy version date: March 5, 2020")
    new = edit("Last updated: March 5, 2020", "Policy version date: April 9, 2021")
    assert diff(old, new).classification == "material"


def test_a_date_in_a_sentence_is_not_the_date_line():
    result = diff(POLICY, edit("for 30 days.", "for 30 days until March 5, 2020."))
    assert result.classification == "material"


def test_words_after_the_date_statement_still_count():
    old = edit("Last updated: March 5, 2020", "Last updated: March 5, 2020. We sell data.")
    new = edit("Last updated: March 5, 2020", "Last updated: May 1, 2021. We sell nothing.")
    assert diff(old, new).classification == "material"
    same = edit("Last updated: March 5, 2020", "Last updated: May 1, 2021. We sell data.")
    assert codes(diff(old, same)) == ["date-line"]


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("for 30 days.", "for 30 days;", "punctuation"),
        ("We keep personal", "we keep Personal", "case"),
        ("delete your data", "delete your  data", None),  # normalised away: none
        ("the Service", "the Ser vice", "whitespace"),
    ],
)
def test_punctuation_case_and_whitespace(old, new, code):
    result = diff(POLICY, edit(old, new))
    if code is None:
        assert result.classification == "none" and result.reasons == []
    else:
        assert_noise(result, code)


def test_renumbering_sections_and_items():
    renumbered = edit("## 3. Rights", "## 4. Rights")
    result = diff(POLICY, renumbered)
    assert_noise(result, "renumbering")
    items = edit("(b) payment", "(c) payment")
    assert_noise(diff(POLICY, items), "renumbering")


def test_several_forms_list_each():
    new = edit("terms/index.md", "rules.md")
    new = edit("for 30 days.", "for 30 days;", new)
    new = edit("Last updated: March 5, 2020", "Last updated: June 1, 2021", new)
    result = diff(POLICY, new)
    assert result.classification == "editorial"
    assert codes(result) == ["date-line", "link-targets", "punctuation"]
    assert str(result.reasons[1]) == "editorial: link targets (1)"


# -- material changes and none ------------------------------------------------------------------


def test_words_changed_in_two_sections():
    new = edit("30 days", "90 days", edit("delete your data", "correct your data"))
    result = diff(POLICY, new)
    assert result.classification == "material"
    assert [str(r) for r in result.reasons] == ["material: words changed in 2 sections"]


def test_a_section_moved():
    moved = POLICY.replace("## 3. Rights\n\nYou may ask us to delete your data.\n", "")
    moved = moved.replace(
        "## 2. Retention", "## 3. Rights\n\nYou may ask us to delete your data.\n\n## 2. Retention"
    )
    result = diff(POLICY, moved)
    assert result.classification == "material"
    assert codes(result) == ["moved"] and str(result.reasons[0]) == "material: section moved"


def test_a_new_paragraph_with_a_link_is_material():
    new = edit("for 30 days.", "for 30 days.\n\nWe also sell it to [partners](p.md).")
    result = diff(POLICY, new)
    assert result.classification == "material" and codes(result) == ["words"]


def test_none_has_no_reasons():
    result = diff(POLICY, POLICY.replace("We keep", "We **keep**"))
    assert result.classification == "none" and result.reasons == []
    assert result.to_json()["reasons"] == []


def test_reasons_are_in_the_json():
    data = diff(POLICY, edit("terms/index.md", "rules.md")).to_json()
    assert data["reasons"] == [
        {
            "classification": "editorial",
            "code": "link-targets",
            "detail": "link targets only",
            "count": 1,
            "text": "editorial: link targets only (1)",
        }
    ]


def test_diff_policy_uses_the_policy_settings(policy_repo):
    from redline.compare.engine import diff_policy
    from redline.history.repo import PolicyRepo

    repo = policy_repo()
    body = "# Terms\n\nPolicy version date: March 5, 2020\n\nSee [the rules](rules.md).\n"
    repo.write("policies/terms.md", body)
    repo.commit("Add terms")
    edited = body.replace("March 5, 2020", "April 9, 2021").replace("rules.md", "r2.md")
    repo.write("policies/terms.md", edited)
    plain = PolicyRepo(repo.settings())
    assert diff_policy(plain, plain.resolve("terms"), None, None).classification == "material"

    repo.write(
        "redline.toml", '[policies."policies/terms.md"]\ndate_label = "Policy version date"\n'
    )
    configured = PolicyRepo(repo.settings())
    result = diff_policy(configured, configured.resolve("terms"), None, None)
    assert codes(result) == ["date-line", "link-targets"]

    table = '[policies."policies/terms.md"]\ndate_label = "Policy version date"\n'
    repo.write("redline.toml", f"links_material = true\n{table}")
    strict = PolicyRepo(repo.settings())
    result = diff_policy(strict, strict.resolve("terms"), None, None)
    assert result.classification == "material" and codes(result) == ["link-targets"]


def test_a_split_after_an_edited_paragraph_is_still_reflowed():
    old = POLICY + "\nWe may share data.\n\nOne two three. Four five six.\n"
    new = POLICY + "\nWe never share data.\n\nOne two three.\n\nFour five six.\n"
    result = diff(old, new)
    assert result.classification == "material"
    statuses = [b.status for s in result.sections for b in s.blocks if b.status != "equal"]
    assert statuses == ["modified", "reflowed", "reflowed"]
    assert counted_words(result) == 2  # "may" out, "never" in; nothing of the split


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("up to 18 months", "up to 1.8 months"),
        ("up to 18 months", "up to 1 8 months"),
        ("a cap of $15,000", "a cap of $15.000"),
        ("a cap of $100.00", "a cap of $10000"),
        ("within 24-hour", "within 2-4-hour"),
    ],
)
def test_a_number_changed_by_punctuation_or_spacing_is_material(old, new):
    text = edit("for the rules", f"for the rules, {old}")
    result = diff(text, text.replace(old, new))
    assert result.classification == "material", [str(r) for r in result.reasons]
    assert [r.code for r in result.reasons] == ["words"]


@pytest.mark.parametrize(
    ("line", "old", "new"),
    [
        (  # a note with a long link after "|": the line is longer than 160 characters
            "Effective April 2, 2026 | [Archived versions](https://www.example.com/t/privacy_"
            "archive?hl=en&entry_point=POLICY_ANNOTATION%3A0.ex.0-WhatProductsDoesThisPolicy)",
            "April 2, 2026",
            "May 2, 2026",
        ),
        (  # a link straight after the date, no "|"
            "Last modified on 08/12/2026 [See prior versions](https://www.example.tv/legal/archive/)",
            "08/12/2026",
            "04/02/2027",
        ),
        ("This policy is effective as of 15 January 2026.", "15 January 2026", "1 March 2026"),
    ],
)
def test_every_form_of_date_line_the_date_reader_knows_is_editorial(line, old, new):
    text = POLICY.replace("# Privacy Policy\n", f"# Privacy Policy\n\n{line}\n", 1)
    result = diff(text, text.replace(old, new))
    assert_noise(result, "date-line")
    assert result.stats.date_line_changed


def test_a_sentence_dating_something_else_is_not_the_date_line():
    line = "The new fees are effective as of 15 January 2026."
    text = POLICY.replace("We keep", f"{line} We keep")
    result = diff(text, text.replace("15 January 2026", "1 March 2026"))
    assert result.classification == "material"


def test_a_paragraph_made_a_heading_with_the_same_words_is_editorial():
    text = POLICY.replace("We keep personal data", "Our promise\n\nWe keep personal data")
    made = text.replace("Our promise\n", "Our promise\n-----------\n")
    result = diff(text, made)
    assert_noise(result, "headings")
    assert result.reasons[0].count == 1
    assert not any(section.retitled for section in result.sections)


def test_an_editorial_change_counts_no_words_even_where_its_runs_do_not_pair():
    text = POLICY.replace("personal data for", "User DataUsage Data for")
    result = diff(text, text.replace("User DataUsage Data", "User Data Usage Data"))
    assert result.classification == "editorial"
    assert (result.stats.words_inserted, result.stats.words_deleted) == (0, 0)
    assert all(s.stats.words_inserted == s.stats.words_deleted == 0 for s in result.sections)


def test_a_date_line_followed_by_a_link_to_other_versions_is_the_date_line():
    line = "Last modified on 08/12/2026 [See prior versions of these Terms](https://e.com/archive)"
    text = POLICY.replace("# Privacy Policy\n", f"# Privacy Policy\n\n{line}\n", 1)
    result = diff(text, text.replace("08/12/2026", "09/01/2026"))
    assert_noise(result, "date-line")


@pytest.mark.parametrize("forward", [True, False], ids=["added", "removed"])
def test_an_attribute_list_before_a_paragraph_leaves_its_first_word_unmarked(forward):
    plain = POLICY.replace("You may ask", "If you write, you may ask")
    marked = plain.replace("If you write", "{: #rights }\nIf you write")
    result = diff(plain, marked) if forward else diff(marked, plain)
    assert_noise(result, "attribute-lists")
    assert [run for run in changed_runs(result)] == ["{: #rights }"]
