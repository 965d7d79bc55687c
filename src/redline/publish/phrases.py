"""The phrases that say what changed, apart from the words they quote, so that a template can
say them in its own language: :class:`Phrase` is one, its ``str`` the English.

The quoted text (``old``, ``new``) is the policy's own words as :func:`plain` text, already
in quotes; ``noun`` is a block kind (``paragraph``, ``list_item`` …, see :data:`NOUNS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from redline.compare.tokens import HARD_BREAK
from redline.document.normalize import LINK_CLOSE, LINK_OPEN
from redline.publish.filters import number_word

NOUNS = {
    "paragraph": ("paragraph", "paragraphs"),
    "list_item": ("list item", "list items"),
    "table_row": ("table row", "table rows"),
    "blockquote": ("quotation", "quotations"),
    "code": ("code block", "code blocks"),
    "html": ("HTML block", "HTML blocks"),
}
#: The English of each kind of phrase (``what``); ``{count}`` is a number in words.
ENGLISH = {
    "new-section": "new section",
    "section-removed": "section removed",
    "section-moved": "moved from {old} to {new}",
    "retitled": "retitled (was “{old}”)",
    "new-block": "new {noun} {new}",
    "block-removed": "{noun} removed: {old}",
    "block-moved": "{noun} moved from {old}: {new}",
    "block-moved-within": "{noun} moved within the section: {new}",
    "reformatted": "{noun} reformatted",
    "reworded": "{noun} reworded",
    "replaced": "{old} → {new}",
    "added": "added {new}",
    "deleted": "deleted {old}",
    "link-changed": "link to {old} now {new}",
    "link-added": "added a link to {new}",
    "link-removed": "removed a link to {old}",
    "a-link-added": "added a link",
    "a-link-removed": "removed a link",
    "links-changed": "{count} links’ addresses changed",
    "link-address": "a link’s address changed",
    "more": "{count} more changes",
    "wording": "wording adjusted",
}

_TARGET = re.compile(f"\\s*{LINK_OPEN}([^{LINK_CLOSE}]*){LINK_CLOSE}")
#: A target that opens a text: its link's words are not part of the text.
_LEADING_TARGET = re.compile(f"^\\s*{LINK_OPEN}[^{LINK_CLOSE}]*{LINK_CLOSE}[\\s.,;:]*")
_HEADING_MARK = re.compile(r"(?:^|(?<=\s))#{1,6}(?=\s)")
_TABLE_RULE = re.compile(r":?-{3,}:?")


@dataclass(frozen=True)
class Phrase:
    """One change said in words: ``what`` (a key of :data:`ENGLISH`) filled in with the
    quoted ``old`` and ``new`` (or section names), a block kind ``noun`` and a ``count``."""

    what: str
    old: str = ""
    new: str = ""
    noun: str = "paragraph"
    count: int = 0

    def __str__(self) -> str:
        singular = NOUNS.get(self.noun, NOUNS["paragraph"])[0]
        return ENGLISH[self.what].format(
            old=self.old, new=self.new, noun=singular, count=number_word(self.count)
        )


def plain(text: str, *, targets: bool = True) -> str:
    """``text`` as a reader of a summary should see it: a link's target in parentheses after
    its words (not the redline's ``⟨…⟩``; left out with ``targets=False``), no heading marks
    (``###``), no table pipes or rules (cells read one after the other, ``·`` between them)
    and no hard-break backslashes. A target that opens ``text`` is left out: the words of
    its link are not in ``text``."""
    text = _LEADING_TARGET.sub("", text)
    text = _TARGET.sub(r" (\1)" if targets else "", HARD_BREAK.sub(" ", text))
    if "#" in text:
        text = _HEADING_MARK.sub(" ", text)
    if "|" in text:
        cells = (cell.strip() for cell in text.split("|"))
        text = " · ".join(cell for cell in cells if cell and not _TABLE_RULE.fullmatch(cell))
    return " ".join(text.split())


def link_targets(text: str) -> list[str]:
    """The link targets in ``text`` (the redline's ``⟨…⟩``)."""
    return _TARGET.findall(text)
