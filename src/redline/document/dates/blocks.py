"""The date statement of one block of normalised text, for the comparison to set aside.

The same label vocabulary and configured ``date_label`` as the rest of the package decide it
(:func:`redline.document.dates.labels._label_regex`), and the same scanner reads the date: a
block is a date line when it is a labelled date (``Revised: May 5, 2020``, ``Last update:``
with a blank or a placeholder) or a bare date (``March 5, 2020``), wherever it stands.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache, partial
from typing import TYPE_CHECKING

from redline.document.dates.labels import _label_regex
from redline.document.dates.markup import _BLANK_PLACEHOLDER
from redline.document.dates.options import DateOptions, date_options
from redline.document.dates.scan import find_dates

if TYPE_CHECKING:
    from redline.config import Settings

#: Longer, a block is prose that mentions a date, not a date line.
MAX_DATE_LINE = 160
_MAX_BARE = 60  # a bare date with its decoration
_YEAR = re.compile(r"\d{4}")  # every form of date the scanner reads has one
_WORD = re.compile(r"\w+")
_NOTE = ("|", "(", "\u27e8", "-", "\u2013", "\u2014")  # what starts a note after a date
# A sentence states the policy's own date only when it speaks of the policy ("These terms
# were last updated on ..."), never of something in it ("The new fees apply from ...").
_OF_THE_POLICY = re.compile(
    r"\b(?:this|these|our|the)\s+(?:[\w-]+\s+)?(?:policy|policies|terms|notice|statement|"
    r"agreement|guidelines|conditions|document)\b",
    re.I,
)
# After a date, a link (its text and target) to other versions of the policy.
_LINKED_NOTE = re.compile("[ .,;:]*[^\u27e8\u27e9]{0,80}\u27e8[^\u27e9]*\u27e9[ .]*")
_LINK_TARGET = re.compile("\u27e8[^\u27e9]*\u27e9")  # a link's target in normalised text


def _too_long(text: str) -> bool:
    """Longer than a date line, not counting its links' targets (a line's "prior versions"
    link can be long)."""
    return len(text) > MAX_DATE_LINE and len(_LINK_TARGET.sub("", text)) > MAX_DATE_LINE


def date_statement(
    text: str, settings: Settings | DateOptions | None = None
) -> tuple[int, int] | None:
    """The span in ``text`` (one block's normalised text) of its date statement, from the
    start of the label (or of a bare date) to the end of the date; None when it has none."""
    if _too_long(text):
        return None
    return statement_finder(date_options(settings))(text)


def is_date_line(text: str, settings: Settings | DateOptions | None = None) -> bool:
    """True when ``text`` (one block's normalised text) is a date statement and nothing else
    but decoration, punctuation and a few words of a link after it."""
    return is_only_statement(text, date_statement(text, settings))


def is_only_statement(text: str, span: tuple[int, int] | None) -> bool:
    """Whether ``span`` (``text``'s date statement) is all of ``text`` that has words, but for
    a note after it (after "|", "(" or a dash: links to other versions), a few words, or
    the words of a sentence that speaks of the policy ("This policy is effective as of")."""
    if span is None:
        return False
    start, end = span
    lead = text[:start]
    if _WORD.search(lead) and not (_OF_THE_POLICY.search(lead) and len(lead) <= 60):
        return False
    if _LINKED_NOTE.fullmatch(text[end:]):
        return True  # "... 04/02/2025 See prior versions of Terms of Service ⟨…⟩"
    rest = _LINK_TARGET.sub("", text[end:]).lstrip(" .,;:*_")
    return rest.startswith(_NOTE) or len(_WORD.findall(rest)) <= 3


@cache
def statement_finder(options: DateOptions) -> Callable[[str], tuple[int, int] | None]:
    """:func:`date_statement` for one policy's options, remembering the texts it read (for
    the comparison, which asks of every block of every revision)."""
    return lru_cache(maxsize=32768)(partial(_statement, options=options))


def _statement(text: str, options: DateOptions) -> tuple[int, int] | None:
    if not text or _too_long(text):
        return None
    label = _label_regex(options.date_label).match(text)
    year = _YEAR.search(text)
    if label is None and (len(text) > _MAX_BARE or year is None):
        return None
    # Normalised, a link after the date has lost the "[" that ends a statement for the
    # scanner ("Effective May 5, 2020 | Archived versions ⟨…⟩", "Last modified on 08/12/2026
    # See prior versions ⟨…⟩"): the part before "|", and the text up to its first year, are
    # read alone too.
    parts = dict.fromkeys((text, text.partition(" | ")[0], text[: year.end()] if year else text))
    for part in parts:
        span = _scan(part, options, label)
        if span is not None:
            return span
    return None


def _scan(text: str, options: DateOptions, label: re.Match[str] | None) -> tuple[int, int] | None:
    """The span of the labelled (``label``, the label's match) or bare date of ``text``."""
    for match in find_dates(text, options):
        if match.source == "bare":
            return 0, len(text)
        if match.source == "sentence" and _OF_THE_POLICY.search(text[: match.start]):
            return match.start, match.end  # "This policy is effective as of 15 January 2026."
        if match.source != "label" or label is None:
            continue
        if match.blank:
            placeholder = _BLANK_PLACEHOLDER.match(text, label.end())
            return 0, placeholder.end() if placeholder else label.end()
        return 0, match.end
    return None
