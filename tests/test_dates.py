"""Effective dates: every written form found, read, and rewritten without touching other bytes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from conftest import CI_VARIABLES
from conftest import redline_in_process as redline
from redline.config import Settings
from redline.document import dates
from redline.env import Environment
from redline.errors import ConfigError, DateError, InputError

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "000_fe21ec6974767aad.txt"
MDY = Settings(date_order="MDY")
DMY = Settings(date_order="DMY")
DE = Settings(locale="de")
NEW = date(2021, 1, 2)


def wrap(line: str) -> str:
    """A small policy around ``line`` (the date statement)."""
    return f"# Privacy Policy\n\n{line}\n\n## 1. Scope\n\nWe collect what we need.\n"


def assert_only_span_changed(old: str, new: str, match: dates.DateMatch, new_text: str) -> None:
    """``new`` equals ``old`` with the managed date replaced, and nothing else."""
    assert new == old[: match.start] + new_text + old[match.end :]


# (the date statement, settings, date read, the statement after setting NEW)
FORMS = [
    ("Effective date: 05/14/2020", MDY, date(2020, 5, 14), "Effective date: 01/02/2021"),
    ("Effective date: 5/14/2020", MDY, date(2020, 5, 14), "Effective date: 1/2/2021"),
    ("Effective date: 14/05/2020", DMY, date(2020, 5, 14), "Effective date: 02/01/2021"),
    ("Effective Date: 2020-05-14", None, date(2020, 5, 14), "Effective Date: 2021-01-02"),
    ("EFFECTIVE DATE 14.05.2020", DMY, date(2020, 5, 14), "EFFECTIVE DATE 02.01.2021"),
    (
        "Effective date: **May 25, 2018**",
        None,
        date(2018, 5, 25),
        "Effective date: **January 2, 2021**",
    ),
    (
        "**Effective date:** May 25, 2018",
        None,
        date(2018, 5, 25),
        "**Effective date:** January 2, 2021",
    ),
    ("_Last Updated: March 3, 2020_", None, date(2020, 3, 3), "_Last Updated: January 2, 2021_"),
    (
        "*Last updated: [July 18, 2022](https://example.com/changes)*",
        None,
        date(2022, 7, 18),
        "*Last updated: [January 2, 2021](https://example.com/changes)*",
    ),
    (
        "Effective as of May 14th, 2020.",
        None,
        date(2020, 5, 14),
        "Effective as of January 2nd, 2021.",
    ),
    ("Effective May 1ST, 2020", None, date(2020, 5, 1), "Effective January 2ND, 2021"),
    ("Last modified - 14 May 2020", None, date(2020, 5, 14), "Last modified - 2 January 2021"),
    (
        "Last revised: 14th of May 2020",
        None,
        date(2020, 5, 14),
        "Last revised: 2nd of January 2021",
    ),
    ("Updated: Sept 14, 2020", None, date(2020, 9, 14), "Updated: Jan 2, 2021"),
    ("Updated: Sept. 4, 2020", None, date(2020, 9, 4), "Updated: Jan. 2, 2021"),
    ("Updated: Mar. 04, 2020", None, date(2020, 3, 4), "Updated: Jan. 02, 2021"),
    (
        "Date of last revision: MAY 14, 2020",
        None,
        date(2020, 5, 14),
        "Date of last revision: JANUARY 2, 2021",
    ),
    (
        "Last updated on Thursday, May 14, 2020",
        None,
        date(2020, 5, 14),
        "Last updated on Saturday, January 2, 2021",
    ),
    ("> Effective date: 2020-05-14", None, date(2020, 5, 14), "> Effective date: 2021-01-02"),
    ("- Effective date: 2020-05-14", None, date(2020, 5, 14), "- Effective date: 2021-01-02"),
    ("### Effective date: 2020-05-14", None, date(2020, 5, 14), "### Effective date: 2021-01-02"),
    ("Effective date:&#x20;05/14/2020", MDY, date(2020, 5, 14), "Effective date:&#x20;01/02/2021"),
    (
        "<strong>Effective date:</strong> May 14, 2020<br>",
        None,
        date(2020, 5, 14),
        "<strong>Effective date:</strong> January 2, 2021<br>",
    ),
    ("*May 14, 2020*", None, date(2020, 5, 14), "*January 2, 2021*"),
    ("_2020-05-14_", None, date(2020, 5, 14), "_2021-01-02_"),
    ("Effective date: 14. Mai 2020", DE, date(2020, 5, 14), "Effective date: 2. Januar 2021"),
    ("Effective date: 14. Okt. 2020", DE, date(2020, 10, 14), "Effective date: 2. Jan. 2021"),
    (
        "| Effective date | 14 May 2020 |",
        None,
        date(2020, 5, 14),
        "| Effective date | 2 January 2021 |",
    ),
    (
        'Effective date: <time datetime="2020-05-14">May 14, 2020</time>',
        None,
        date(2020, 5, 14),
        'Effective date: <time datetime="2021-01-02">January 2, 2021</time>',
    ),
    (
        'Effective date: 05/14/2020 {: datetime="2020-05-14" }',
        None,
        date(2020, 5, 14),
        'Effective date: 01/02/2021 {: datetime="2021-01-02" }',
    ),
]


@pytest.mark.parametrize(("line", "config", "expected", "after"), FORMS)
def test_every_form_reads_and_round_trips(line, config, expected, after):
    text = wrap(line)
    found = dates.find_effective_date(text, config)
    assert found.date == expected
    assert found.primary.line == 3
    assert found.primary.text == line
    new = dates.set_effective_date(text, NEW, config)
    assert new == wrap(after)
    assert dates.find_effective_date(new, config).date == NEW
    assert dates.set_effective_date(new, NEW, config) == new  # setting twice changes nothing
    back = dates.set_effective_date(new, expected, config)
    assert dates.find_effective_date(back, config).date == expected


@pytest.mark.parametrize(("line", "config", "expected", "after"), FORMS)
def test_crlf_and_missing_final_newline_are_kept(line, config, expected, after):
    crlf = wrap(line).replace("\n", "\r\n")
    assert dates.set_effective_date(crlf, NEW, config) == wrap(after).replace("\n", "\r\n")
    bare = f"# Policy\r\n\r\n{line}"
    assert dates.set_effective_date(bare, NEW, config) == f"# Policy\r\n\r\n{after}"


def test_detected_form_label_and_wrapping():
    found = dates.find_effective_date(wrap("*Last updated: [July 18, 2022](https://x.test)*"))
    match = found.primary
    assert (match.label, match.kind, match.source) == ("Last updated", "updated", "label")
    assert match.form == "Month DD, YYYY"
    assert set(match.wrapping) == {"italic", "link"}
    assert match.managed_text == "July 18, 2022"
    data = found.to_json()
    assert data["date"] == "2022-07-18"
    assert data["line"] == 3
    assert data["text"] == "*Last updated: [July 18, 2022](https://x.test)*"
    assert data["form"] == "Month DD, YYYY"
    assert dates.find_effective_date(wrap("Effective date: 5/4/2020"), MDY).primary.form == (
        "M/D/YYYY"
    )
    assert dates.find_effective_date(wrap("Updated: Sept 4th, 2020")).primary.form == (
        "Sept Dth, YYYY"
    )


def test_bytes_outside_the_date_are_untouched():
    text = (
        "\ufeff# Título\r\n\r\n*Effective date:*  **14 May 2020**  \r\n\r\n"
        "Café & naïve – “quotes”\n"
    )
    found = dates.find_effective_date(text)
    new = dates.set_effective_date(text, date(2023, 11, 30))
    assert_only_span_changed(text, new, found.primary, "30 November 2023")


def test_in_text_dates_and_code_blocks_are_not_effective_dates():
    text = (
        "# Policy\n\nEffective date: 05/14/2020\n\n"
        "The CCPA took effect on 01/01/2020.\n\n"
        "```\nEffective date: 2019-01-01\n```\n\n"
        "We will update the \u201ceffective date\u201d at the top.\n"
    )
    matches = dates.find_dates(text)
    assert [(m.line, m.date) for m in matches] == [(3, date(2020, 5, 14))]
    new = dates.set_effective_date(text, date(2020, 6, 30))
    assert "01/01/2020" in new and "2019-01-01" in new
    assert "Effective date: 06/30/2020" in new


STRUCTURE = [
    # a setext title over a kramdown IAL: the date under it is near the top
    ("Policy\n{: .title}\n======\n\n**2020-01-02**\n", [(5, date(2020, 1, 2))]),
    # "===" after a closing fence underlines nothing: the title is "# Title"
    ("```\ncode\n```\n===\n\n# Title\n\n*May 1, 2020*\n", [(8, date(2020, 5, 1))]),
    # a fence closes only with as many markers or more; an unclosed one runs to the end
    ("~~~\n~~\n~~~~\nUpdated: 2020-03-04\n", [(4, date(2020, 3, 4))]),
    ("# Title\n\nEffective date: 2020-01-01\n\n~~~~\n~~~\nUpdated: 2021-01-01\n",
     [(3, date(2020, 1, 1))]),
    # a heading right under the title ends the top: a bare date below is no statement
    ("# Title\n## Part\n\n*May 1, 2020*\n", []),
    ("---\neffective_date: 2020-01-02\n---\nTitle\n=====\n\nEffective date: 2020-01-02\n",
     [(2, date(2020, 1, 2)), (7, date(2020, 1, 2))]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), STRUCTURE)
@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_fences_ials_and_headings_with_every_line_ending(text, expected, eol):
    text = text.replace("\n", eol)
    assert [(m.line, m.date) for m in dates.find_dates(text)] == expected


def test_missing_date_names_a_setext_title_past_fences():
    text = "```\n# not a title\n```\nPolicy\n{: .x}\n===\n\nText.\n"
    with pytest.raises(DateError) as caught:
        dates.find_effective_date(text, today=date(2030, 1, 1))
    assert "under the title 'Policy' (line 6)" in caught.value.hint


# -- ambiguity and invalid dates ---------------------------------------------------------------


def test_ambiguous_numeric_date_names_the_key():
    text = wrap("Effective date: 05/06/2020")
    with pytest.raises(DateError) as caught:
        dates.find_effective_date(text, name="policies/p.md")
    message = str(caught.value)
    assert message.startswith("policies/p.md:3: '05/06/2020' is ambiguous")
    assert "May 6, 2020" in message and "June 5, 2020" in message
    assert "date_order" in message
    assert dates.find_effective_date(text, MDY).date == date(2020, 5, 6)
    assert dates.find_effective_date(text, DMY).date == date(2020, 6, 5)
    dotted = wrap("Effective date: 05.06.2020")
    with pytest.raises(DateError, match="date_order"):
        dates.find_effective_date(dotted)
    assert dates.find_effective_date(dotted, DMY).date == date(2020, 6, 5)


def test_setting_an_ambiguous_date_needs_the_order():
    text = wrap("Effective date: 05/05/2020")
    assert dates.find_effective_date(text).date == date(2020, 5, 5)
    with pytest.raises(DateError, match=r"MM/DD/YYYY or DD/MM/YYYY.*date_order"):
        dates.set_effective_date(text, date(2020, 6, 14))
    assert "06/14/2020" in dates.set_effective_date(text, date(2020, 6, 14), MDY)
    # A date that proves its order (14 is no month) is rewritten in that order.
    unambiguous = wrap("Effective date: 05/14/2020")
    assert dates.set_effective_date(unambiguous, date(2026, 2, 9)) == wrap(
        "Effective date: 02/09/2026"
    )
    assert "1/9/2027" in dates.set_effective_date(
        wrap("Effective date: 5/14/2020"), date(2027, 1, 9)
    )


def test_a_datetime_attribute_settles_the_order():
    text = wrap('Effective date: 05/06/2020\n{: datetime="2020-06-05" }')
    found = dates.find_effective_date(text)
    assert found.date == date(2020, 6, 5)
    new = dates.set_effective_date(text, date(2021, 7, 30))
    assert 'Effective date: 30/07/2021\n{: datetime="2021-07-30" }' in new


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("Effective date: 02/30/2020", "'02/30/2020' is not a valid date"),
        ("Effective date: February 30, 2020", "'February 30, 2020' is not a valid date"),
        ("Effective date: 2020-13-01", "'2020-13-01' is not a valid date"),
        ("Effective date: 14/05/20", "'14/05/20' is not a date"),
    ],
)
def test_invalid_dates_are_reported_with_line(line, fragment):
    with pytest.raises(DateError) as caught:
        dates.find_effective_date(wrap(line), name="p.md")
    assert str(caught.value).startswith("p.md:3: ")
    assert fragment in str(caught.value)
    fixed = dates.set_effective_date(wrap(line), date(2020, 3, 1), MDY)
    assert dates.find_effective_date(fixed, MDY).date == date(2020, 3, 1)


def test_wrong_weekday_is_a_warning():
    found = dates.find_effective_date(wrap("Effective: Monday, May 14, 2020"))
    assert found.date == date(2020, 5, 14)
    assert any("wrong weekday" in w and "Thursday" in w for w in found.warnings)


# -- front matter, kramdown, several dates, placeholders ----------------------------------------


@pytest.mark.parametrize(
    ("front", "after"),
    [
        ("effective_date: 2020-05-14", "effective_date: 2021-01-02"),
        ('effective_date: "2020-05-14"', 'effective_date: "2021-01-02"'),
        ("effective: 'May 14, 2020'  # keep", "effective: 'January 2, 2021'  # keep"),
        ("last_updated: 2020-05-14T09:30:00Z", "last_updated: 2021-01-02T09:30:00Z"),
        ("lastmod: 14.05.2020", "lastmod: 02.01.2021"),
        ("effectiveDate: 2020-05-14", "effectiveDate: 2021-01-02"),
        ("effective_date:", "effective_date: 2021-01-02"),
        ('effective_date: ""', 'effective_date: "2021-01-02"'),
        ("effective_date: ~", "effective_date: 2021-01-02"),
    ],
)
def test_front_matter_keys(front, after):
    text = f"---\ntitle: Privacy\n{front}\n---\n# Privacy\n\nText.\n"
    new = dates.set_effective_date(text, NEW, DMY)
    assert new == f"---\ntitle: Privacy\n{after}\n---\n# Privacy\n\nText.\n"
    found = dates.find_effective_date(new, DMY)
    assert found.date == NEW
    assert found.primary.source == "front_matter"
    assert found.primary.line == 3


def test_front_matter_and_body_are_kept_in_sync():
    text = "---\neffective_date: 2020-05-14\n---\n# P\n\n**Effective date:** May 14, 2020\n"
    found = dates.find_effective_date(text)
    assert [m.line for m in found.matches] == [2, 6]
    new = dates.set_effective_date(text, NEW)
    assert (
        new == "---\neffective_date: 2021-01-02\n---\n# P\n\n**Effective date:** January 2, 2021\n"
    )


def test_disagreeing_statements_are_an_error():
    text = "---\neffective_date: 2020-01-01\n---\n# P\n\nEffective date: May 14, 2020\n"
    with pytest.raises(DateError, match=r"different dates: line 2: .*line 6"):
        dates.find_effective_date(text, name="p.md")


def test_kramdown_attribute_is_kept_in_sync():
    text = '# Notice\n\n*Effective September 8, 2020*\n{: datetime="2020-09-8" }\n\n## At x\n'
    found = dates.find_effective_date(text)
    assert found.date == date(2020, 9, 8)
    assert found.primary.attribute is not None and found.primary.attribute.line == 4
    new = dates.set_effective_date(text, date(2021, 10, 3))
    assert new == '# Notice\n\n*Effective October 3, 2021*\n{: datetime="2021-10-3" }\n\n## At x\n'


def test_kramdown_attribute_vouches_for_unlabelled_and_localised_lines():
    plain = '# Mozilla Privacy Policy\n\nMarch 6, 2026\n{: datetime="2026-03-06" }\n\n## Smart\n'
    found = dates.find_effective_date(plain)
    assert (found.date, found.primary.source) == (date(2026, 3, 6), "bare")
    assert dates.set_effective_date(plain, NEW).splitlines()[2:4] == [
        "January 2, 2021",
        '{: datetime="2021-01-02" }',
    ]
    french = '## Avis\n\n*Date d\u2019effet : 28 septembre 2017*\n{: datetime="2017-09-28" }\n'
    unread = dates.find_effective_date(french)
    assert unread.date == date(2017, 9, 28)  # from the attribute
    assert any("set locale" in w for w in unread.warnings)
    with pytest.raises(DateError, match="set locale"):
        dates.set_effective_date(french, NEW)
    fr = Settings(locale="fr")
    assert '*Date d\u2019effet : 2 janvier 2021*\n{: datetime="2021-01-02" }' in (
        dates.set_effective_date(french, NEW, fr)
    )


def test_attribute_disagreeing_with_text_is_a_warning_and_set_fixes_both():
    text = wrap('Effective date: May 14, 2020 {: datetime="2020-05-15" }')
    found = dates.find_effective_date(text)
    assert found.date == date(2020, 5, 14)
    assert any("datetime attribute says 2020-05-15" in w for w in found.warnings)
    new = dates.set_effective_date(text, date(2020, 5, 14))
    assert 'May 14, 2020 {: datetime="2020-05-14" }' in new
    assert dates.find_effective_date(new).warnings == []


def test_several_dates_effective_wins_and_date_label_chooses():
    text = wrap("Effective date: May 25, 2018\nLast updated: March 3, 2020")
    found = dates.find_effective_date(text)
    assert found.date == date(2018, 5, 25)
    assert [(m.label, m.date) for m in found.others] == [("Last updated", date(2020, 3, 3))]
    chosen = Settings(date_label="last updated")
    assert dates.find_effective_date(text, chosen).date == date(2020, 3, 3)
    new = dates.set_effective_date(text, NEW, chosen)
    assert "Effective date: May 25, 2018\nLast updated: January 2, 2021" in new
    with pytest.raises(DateError) as caught:
        dates.find_effective_date(text, Settings(date_label="Revised"), name="p.md")
    message = str(caught.value)
    assert "no date labelled 'Revised' (config date_label)" in message
    assert "'Effective date' (line 3), 'Last updated' (line 4)" in message


def test_two_lines_with_different_labels_of_one_kind_are_ambiguous_without_date_label():
    text = wrap("Effective: May 25, 2018\nEffective date: March 3, 2020")
    with pytest.raises(DateError, match="set date_label"):
        dates.find_effective_date(text)
    assert dates.find_effective_date(text, Settings(date_label="Effective")).date == date(
        2018, 5, 25
    )


def test_custom_date_label_is_recognised():
    text = wrap("Stand: 14. Mai 2020")
    config = Settings(locale="de", date_label="Stand")
    assert dates.find_effective_date(text, config).date == date(2020, 5, 14)
    assert "Stand: 2. Januar 2021" in dates.set_effective_date(text, NEW, config)


@pytest.mark.parametrize(
    ("line", "config", "after"),
    [
        ("Effective date:", None, "Effective date: 2021-01-02"),
        ("Effective date: ", None, "Effective date: 2021-01-02"),
        ("**Effective date:**", None, "**Effective date:** 2021-01-02"),
        ("__Effective date:__", None, "__Effective date:__ 2021-01-02"),
        ("Effective date: ________", None, "Effective date: 2021-01-02"),
        ("Effective date: **____**", None, "Effective date: **2021-01-02**"),
        ("Effective date: [DATE]", None, "Effective date: 2021-01-02"),
        ("Effective date: TBD", None, "Effective date: 2021-01-02"),
        ("| Effective date | |", None, "| Effective date | 2021-01-02 |"),
        ("Effective date: MM/DD/YYYY", MDY, "Effective date: 01/02/2021"),
        ("Effective date: D/M/YYYY", DMY, "Effective date: 2/1/2021"),
        ("Effective date: DD.MM.YYYY", DMY, "Effective date: 02.01.2021"),
        ("Effective date: Month D, YYYY", None, "Effective date: January 2, 2021"),
        ("Effective date: D Mon YYYY", None, "Effective date: 2 Jan 2021"),
    ],
)
def test_blank_placeholders_are_filled_in(line, config, after):
    text = wrap(line)
    found = dates.find_effective_date(text, config, require_date=False)
    assert found.date is None and found.primary.blank
    with pytest.raises(DateError, match=r"p\.md:3: the effective date is blank"):
        dates.find_effective_date(text, config, name="p.md")
    new = dates.set_effective_date(text, NEW, config)
    assert new == wrap(after)
    assert dates.find_effective_date(new, config).date == NEW


def test_filling_a_numeric_placeholder_needs_the_order():
    with pytest.raises(DateError, match="would not read back: '01/02/2021' is ambiguous"):
        dates.set_effective_date(wrap("Effective date: MM/DD/YYYY"), NEW)


def test_placeholder_is_filled_even_next_to_a_filled_statement():
    text = "---\neffective_date:\n---\n# P\n\nEffective date: May 14, 2020\n"
    assert dates.find_effective_date(text).date == date(2020, 5, 14)
    new = dates.set_effective_date(text, NEW)
    assert new == "---\neffective_date: 2021-01-02\n---\n# P\n\nEffective date: January 2, 2021\n"


# -- missing dates and --insert ------------------------------------------------------------


def test_missing_date_error_shows_the_exact_line():
    text = "# Privacy Policy\n\nWe respect your privacy.\n"
    with pytest.raises(DateError) as caught:
        dates.find_effective_date(text, name="policies/p.md", today=date(2025, 6, 1))
    message = str(caught.value)
    assert message.startswith("policies/p.md: no effective-date statement found")
    assert "under the title '# Privacy Policy' (line 1): 'Effective date: 2025-07-01'" in message
    assert "--insert --set 2025-07-01" in message
    with pytest.raises(DateError, match="'Effective date: 2021-01-02'"):
        dates.set_effective_date(text, NEW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# P\n\nBody.\n", "# P\n\nEffective date: 2021-01-02\n\nBody.\n"),
        ("# P\nBody.\n", "# P\n\nEffective date: 2021-01-02\n\nBody.\n"),
        ("# P\r\n\r\nBody.", "# P\r\n\r\nEffective date: 2021-01-02\r\n\r\nBody."),
        ("# P", "# P\n\nEffective date: 2021-01-02"),
        ("# P\n", "# P\n\nEffective date: 2021-01-02\n"),
        ("P\n=\n\nBody.\n", "P\n=\n\nEffective date: 2021-01-02\n\nBody.\n"),
        ("Intro.\n\n# P\n\nBody.\n", "Intro.\n\n# P\n\nEffective date: 2021-01-02\n\nBody.\n"),
        ("Body only.\n", "Effective date: 2021-01-02\n\nBody only.\n"),
        ("---\nx: 1\n---\nBody.\n", "---\nx: 1\n---\n\nEffective date: 2021-01-02\n\nBody.\n"),
        (
            "```\n# not a title\n```\n# P\n",
            "```\n# not a title\n```\n# P\n\nEffective date: 2021-01-02\n",
        ),
    ],
)
def test_insert_adds_the_line_under_the_title(text, expected):
    edit = dates.edit_effective_date(text, NEW, insert=True)
    assert edit.text == expected
    assert edit.inserted and edit.previous is None
    assert edit.changes[0].new == "Effective date: 2021-01-02"
    assert expected.splitlines()[edit.changes[0].line - 1] == "Effective date: 2021-01-02"
    # once inserted, --insert only sets the date
    assert dates.set_effective_date(edit.text, NEW, insert=True) == edit.text


def test_insert_uses_date_label():
    edit = dates.edit_effective_date("# P\n", NEW, Settings(date_label="last_updated"), insert=True)
    assert edit.text == "# P\n\nLast updated: 2021-01-02\n"


# -- locales -------------------------------------------------------------------------------


def test_locale_month_names_via_babel():
    text = wrap("Gültig ab 14. Mai 2020")
    config = Settings(locale="de", date_label="Gültig ab")
    assert dates.find_effective_date(text, config).date == date(2020, 5, 14)
    assert "Gültig ab 1. März 2021" in dates.set_effective_date(text, date(2021, 3, 1), config)
    assert dates.find_effective_date(wrap("Effective date: 14. Mai 2020"), DE).date == date(
        2020, 5, 14
    )
    without_locale = wrap("Effective date: 14. Mai 2020")
    with pytest.raises(DateError, match="not a date"):
        dates.find_effective_date(without_locale)
    spanish = Settings(locale="es")
    assert dates.find_effective_date(wrap("Effective: 3 de marzo de 2020"), spanish).date == date(
        2020, 3, 3
    )


def test_unknown_locale_is_a_config_error():
    with pytest.raises(ConfigError, match="config key 'locale': unknown locale 'xx-nope'"):
        dates.find_dates("Effective date: 2020-05-14\n", Settings(locale="xx-nope"))


# -- files ------------------------------------------------------------------------------------


def test_write_policy_date_keeps_bom_crlf_mode_and_is_atomic(tmp_path):
    path = tmp_path / "policy.md"
    original = (
        b"\xef\xbb\xbf# Policy\r\n\r\nEffective date: 05/14/2020\r\n\r\nText \xe2\x80\x93 more."
    )
    path.write_bytes(original)
    path.chmod(0o640)
    edit = dates.write_policy_date(path, date(2020, 12, 31), name="policies/policy.md")
    assert edit.changed and edit.previous == date(2020, 5, 14)
    assert [(c.line, c.old, c.new) for c in edit.changes] == [
        (3, "Effective date: 05/14/2020", "Effective date: 12/31/2020")
    ]
    assert path.read_bytes() == original.replace(b"05/14/2020", b"12/31/2020")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.md"]
    before = path.stat().st_mtime_ns
    assert not dates.write_policy_date(path, date(2020, 12, 31)).changed
    assert path.stat().st_mtime_ns == before


def test_write_policy_date_never_writes_through_a_symlink(tmp_path):
    real = tmp_path / "real.md"
    real.write_text("# P\n\nEffective date: 2020-05-14\n")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    with pytest.raises(InputError, match="symbolic link"):
        dates.write_policy_date(link, NEW)
    assert link.is_symlink()
    assert real.read_text() == "# P\n\nEffective date: 2020-05-14\n"


def test_write_policy_date_rejects_non_utf8(tmp_path):
    path = tmp_path / "latin1.md"
    path.write_bytes("# P\n\nEffective date: 2020-05-14\n\nCaf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        dates.write_policy_date(path, NEW)


def test_command_line_dates():
    assert dates.parse_iso_date("2025-07-01", what="--set") == date(2025, 7, 1)
    with pytest.raises(InputError, match="--set: '2025-7-1' is not a date"):
        dates.parse_iso_date("2025-7-1", what="--set")
    assert dates.parse_offset("30d").days == 30
    assert dates.parse_offset("4w").days == 28
    assert dates.parse_offset("10").days == 10
    with pytest.raises(InputError, match="not a period"):
        dates.parse_offset("1 month")
    pinned = Environment({"REDLINE_TODAY": "2024-02-29"}, today=date(2030, 1, 1))
    assert dates.resolve_today(env=pinned) == date(2024, 2, 29)
    assert dates.resolve_today("2025-01-01", env=pinned) == date(2025, 1, 1)
    assert dates.resolve_today(env=Environment(today=date(2030, 1, 1))) == date(2030, 1, 1)
    with pytest.raises(InputError, match="REDLINE_TODAY: 'tomorrow'"):
        dates.resolve_today(env=Environment({"REDLINE_TODAY": "tomorrow"}))


def test_strip_dates_removes_only_date_statements():
    text = (
        "---\neffective_date: 2020-05-14\n---\n# P\n\n*Effective date: May 14, 2020*\n"
        '{: datetime="2020-05-14" }\n\nBody 05/14/2020.\n'
    )
    assert dates.strip_dates(text) == "---\n---\n# P\n\n\nBody 05/14/2020.\n"


# -- the corpus page -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> str:
    if not CORPUS.is_file():
        pytest.skip(f"corpus page {CORPUS} is absent (it lives outside the repository)")
    return CORPUS.read_text(encoding="utf-8")


def test_corpus_page(corpus):
    found = dates.find_effective_date(corpus, name="corpus")
    assert found.date == date(2020, 5, 14)
    assert found.primary.text == "Effective date: 05/14/2020"
    assert found.primary.form == "MM/DD/YYYY"
    assert found.others == ()  # the CCPA's "took effect on 01/01/2020" is not a date statement
    new = dates.set_effective_date(corpus, date(2020, 12, 31))
    assert_only_span_changed(corpus, new, found.primary, "12/31/2020")
    assert dates.set_effective_date(new, date(2020, 12, 31)) == new
    assert dates.find_effective_date(new).date == date(2020, 12, 31)
    crlf = corpus.replace("\n", "\r\n")
    assert dates.set_effective_date(crlf, date(2020, 12, 31)) == new.replace("\n", "\r\n")


# -- properties ------------------------------------------------------------------------------

PROPERTY_FORMS = [
    ("Effective date: {}", "2020-05-14", None),
    ("Effective date: {}", "05/14/2020", MDY),
    ("Effective date: {}", "14/05/2020", DMY),
    ("Effective date: {}", "5.4.2020", DMY),
    ("**Last updated:** {}", "May 14, 2020", None),
    ("_Effective {}_", "Sept. 4th, 2020", None),
    ("Updated: {}", "Thursday, 14 May 2020", None),
    ("Effective date: {}", "14. Mai 2020", DE),
    ("*{}*", "MAY 04, 2020", None),
]
LINE_ENDINGS = st.sampled_from(["\n", "\r\n"])
SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="*_#>-[`~{"),
    max_size=40,
).map(str.strip)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    form=st.sampled_from(PROPERTY_FORMS),
    value=st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)),
    before=SAFE_TEXT,
    after=SAFE_TEXT,
    eol=LINE_ENDINGS,
    final_newline=st.booleans(),
)
def test_set_then_read_property(form, value, before, after, eol, final_newline):
    template, written, config = form
    head = f"# Policy{eol}{eol}{template.format(written)}{eol}{eol}"
    tail = f"Para {before}.{eol}{eol}More {after}." + (eol if final_newline else "")
    text = head + tail
    original = dates.find_effective_date(text, config)
    new = dates.set_effective_date(text, value, config)
    assert dates.find_effective_date(new, config).date == value
    assert dates.set_effective_date(new, value, config) == new
    assert new.startswith(f"# Policy{eol}{eol}") and new.endswith(tail)
    changed = new[len(f"# Policy{eol}{eol}") : len(new) - len(tail)]
    assert changed.endswith(eol + eol) and eol not in changed[: -2 * len(eol)]
    back = dates.set_effective_date(new, original.date, config)
    assert dates.find_effective_date(back, config).date == original.date


PIECES = [
    "Effective date:", "Last updated", "Updated:", "**", "*", "_", "# Title", "\n", "\r\n",
    " ", "05/14/2020", "May 14, 2020", "14. Mai 2020", "---", "effective_date: ", ",", "x",
    '{: datetime="2020-05-14" }', "[", "](https://x.test)", "TBD", "MM/DD/YYYY", "```", "=",
    "2020-05-14", ":", "Sept.", "4th",
]  # fmt: skip


@hsettings(max_examples=150, deadline=None)
@given(parts=st.lists(st.sampled_from(PIECES), max_size=16))
def test_any_text_is_read_or_refused_cleanly(parts):
    """Arbitrary arrangements of date fragments never crash and never corrupt other lines."""
    text = "".join(parts)
    config = Settings(date_order="MDY", locale="de")
    dates.find_dates(text, config)
    dates.strip_dates(text, config)
    try:
        edit = dates.edit_effective_date(text, NEW, config, insert=True)
    except DateError:
        return
    found = dates.find_effective_date(edit.text, config)
    assert found.date == dates.earliest_reading(NEW, found.precision)
    if not edit.inserted:
        old_lines, new_lines = text.split("\n"), edit.text.split("\n")
        assert len(old_lines) == len(new_lines)
        changed = {c.line for c in edit.changes}
        for number, (old, new) in enumerate(zip(old_lines, new_lines, strict=True), start=1):
            assert old == new or number in changed


@hsettings(max_examples=150, deadline=None)
@given(
    parts=st.lists(st.sampled_from(PIECES), max_size=16),
    label=st.sampled_from([None, "Updated", "Last updated"]),
)
def test_first_managed_is_the_first_of_split_dates(parts, label):
    """first_managed stops early, and finds what a whole scan finds first."""
    text = "".join(parts)
    config = Settings(date_order="MDY", date_label=label)
    managed, _ = dates.split_dates(text, config)
    assert dates.first_managed(text, config) == (managed[0] if managed else None)


# -- the command line: redline effective-date ----------------------------------------------------


@pytest.fixture
def repo(policy_repo):
    repo = policy_repo()
    repo.write("redline.toml", 'date_order = "MDY"\n')
    repo.write(
        "policies/privacy.md",
        "# Privacy\r\n\r\n**Effective date:** 05/14/2020\r\n\r\nLast updated: June 2, 2020\r\n",
    )
    repo.write("policies/terms.md", "# Terms\n\nBe nice.\n")
    repo.commit("policies")
    return repo


def test_cli_reads_the_date(repo):
    result = redline(repo, "effective-date", "privacy")
    assert (result.returncode, result.stdout) == (0, "2020-05-14\n")
    assert "policies/privacy.md:5: also states Last updated: 2020-06-02" in result.stderr
    quiet = redline(repo, "-q", "effective-date", "policies/privacy.md")
    assert (quiet.stdout, quiet.stderr) == ("2020-05-14\n", "")


def test_cli_log_shows_the_line_the_policy_config_manages(repo):
    repo.write(
        "redline.toml",
        'date_order = "MDY"\n[policies."policies/privacy.md"]\ndate_label = "Last updated"\n',
    )
    result = redline(repo, "log", "privacy", "--json")
    lines = [r["effective_line"] for r in json.loads(result.stdout)["revisions"]]
    assert lines == ["Last updated: June 2, 2020"]


def test_cli_json(repo):
    result = redline(repo, "effective-date", "privacy", "--json")
    data = json.loads(result.stdout)
    assert data["policy"] == "privacy" and data["path"] == "policies/privacy.md"
    assert (data["date"], data["line"], data["text"]) == (
        "2020-05-14",
        3,
        "**Effective date:** 05/14/2020",
    )
    assert (data["form"], data["label"], data["source"], data["wrapping"]) == (
        "MM/DD/YYYY",
        "Effective date",
        "label",
        ["bold"],
    )
    assert (data["ref"], data["commit"]) == (None, None)
    assert [(o["label"], o["date"], o["line"]) for o in data["others"]] == [
        ("Last updated", "2020-06-02", 5)
    ]


def test_cli_set_in_place_and_at_revision(repo):
    path = repo.root / "policies" / "privacy.md"
    before = path.read_bytes()
    result = redline(repo, "effective-date", "privacy", "--set", "2020-12-31")
    assert (result.returncode, result.stdout) == (0, "2020-12-31\n")
    assert "policies/privacy.md:3: **Effective date:** 12/31/2020" in result.stderr
    assert path.read_bytes() == before.replace(b"05/14/2020", b"12/31/2020")
    again = redline(repo, "effective-date", "privacy", "--set", "2020-12-31")
    assert "already 2020-12-31; nothing changed" in again.stderr
    at_head = redline(repo, "effective-date", "privacy", "--at", "HEAD", "--json")
    data = json.loads(at_head.stdout)
    assert (data["date"], data["ref"], data["commit"]) == ("2020-05-14", "HEAD", repo.head())


def test_cli_set_in_days_and_json(repo):
    result = redline(
        repo, "effective-date", "privacy", "--in", "30d", "--json", REDLINE_TODAY="2026-01-01"
    )
    data = json.loads(result.stdout)
    assert data == {
        "policy": "privacy",
        "path": "policies/privacy.md",
        "date": "2026-01-31",
        "previous": "2020-05-14",
        "changed": True,
        "inserted": False,
        "changes": [
            {
                "line": 3,
                "old": "**Effective date:** 05/14/2020",
                "new": "**Effective date:** 01/31/2026",
            }
        ],
        "date_order": {
            "order": "MDY",
            "source": "config",
            "detail": "date_order in the config",
            "needed": True,
        },
    }
    pinned = redline(repo, "effective-date", "privacy", "--in", "2w", "--today", "2026-01-01")
    assert pinned.stdout == "2026-01-15\n"


def test_cli_missing_date_and_insert(repo):
    missing = redline(repo, "effective-date", "terms", "--today", "2026-01-01")
    assert missing.returncode == 2
    assert missing.stderr == (
        "redline: error: policies/terms.md: no effective-date statement found (add this line "
        "under the title '# Terms' (line 1): 'Effective date: 2026-01-31'; or run "
        "`redline effective-date POLICY --insert --set 2026-01-31`)\n"
    )
    no_insert = redline(repo, "effective-date", "terms", "--set", "2026-02-01")
    assert no_insert.returncode == 2 and "'Effective date: 2026-02-01'" in no_insert.stderr
    inserted = redline(repo, "effective-date", "terms", "--insert", "--set", "2026-02-01")
    assert inserted.returncode == 0
    assert (repo.root / "policies" / "terms.md").read_text() == (
        "# Terms\n\nEffective date: 2026-02-01\n\nBe nice.\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "2026-01-01", "--in", "3d"], "--set and --in both give the new date"),
        (["--insert"], "--insert needs a date"),
        (["--at", "HEAD", "--set", "2026-01-01"], "--at reads an old revision"),
        (["--set", "2026-02-30"], "--set: '2026-02-30' is not a date"),
        (["--in", "soon"], "--in: 'soon' is not a period"),
        (["--locale", "xx-nope"], "config key 'locale': unknown locale 'xx-nope'"),
    ],
)
def test_cli_usage_errors(repo, args, message):
    result = redline(repo, "effective-date", "privacy", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(f"redline: error: {message}")
    assert len(result.stderr.splitlines()) == 1


def test_cli_ambiguity_names_the_key_and_flag_resolves(policy_repo):
    repo = policy_repo()
    repo.write("policies/privacy.md", "# Privacy\n\nEffective date: 03/04/2020\n")
    repo.commit("an ambiguous date, and no evidence anywhere")
    process = subprocess.run(
        [sys.executable, "-m", "redline", "--repo", str(repo.root), "effective-date", "privacy"],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in CI_VARIABLES},
    )
    assert process.returncode == 2
    assert process.stderr == (
        "redline: error: policies/privacy.md:3: '03/04/2020' is ambiguous: March 4, 2020 "
        '(MM/DD/YYYY) or April 3, 2020 (DD/MM/YYYY) (set date_order = "MDY" or "DMY" in '
        '[tool.redline] (or in the policy\'s [tool.redline.policies."PATH"] table), or the '
        "policy's locale)\n"
    )
    resolved = redline(repo, "effective-date", "privacy", "--date-order", "DMY")
    assert resolved.stdout == "2020-04-03\n"
    labelled = redline(repo, "effective-date", "privacy", "--date-label", "Revised")
    assert labelled.returncode == 2
    assert "no date labelled 'Revised' (config date_label)" in labelled.stderr
