"""Tokens of normalised text, what kind each is, and the words that carry meaning.

A token is a word, a number (``1,000.50``, ``2024-03-01``: one token, so a changed date reads
as one replacement), a punctuation mark, or one of the things a diff never cuts into and never
counts as words (:data:`KINDS`):

* ``link-targets``: a link's hidden target (``⟨https://…⟩``, see
  :mod:`redline.document.normalize`): one token each, shown whole, old and new. A URL or an
  e-mail address in the visible text is one token too, shown whole, but it is words: a
  reader sees it change;
* ``attribute-lists``: a kramdown attribute list (``{: #anchor }``, ``{:.note}``);
* ``hard-breaks``: a hard line break (``\\``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from redline.document.normalize import LINK_CLOSE, LINK_OPEN

if TYPE_CHECKING:
    from collections.abc import Callable

    from redline.config import Settings

#: A word, for counting and comparing the words of blocks.
WORD = re.compile(r"\w+")
# A number with its separators is one word: "1.8" is not "18", nor "15,000" "15.000".
_NUMBER_OR_WORD = re.compile(r"(\d+(?:[.,/:-]\d+)*)(?!\w)|\w+")


def meaning_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning, each number whole and set apart (``\\0``
    around it), so that joining words can never join or split a number."""
    return [f"\0{found[1]}\0" if found[1] else found[0] for found in _NUMBER_OR_WORD.finditer(text)]


#: A list item's label at the start of a block: "(a) ", "1. ", "iv) ".
ITEM_LABEL = re.compile(r"^(?:\(\w{1,6}\)|\w{1,6}[.)])\s+")

# greedy, then back off the punctuation that ends a sentence rather than the URL
_URL = r"(?:https?://|ftp://|mailto:|www\.)[^\s<>⟨⟩\"]*[^\s<>⟨⟩\".,;:!?'\u2019)\]]"
_EMAIL = r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_ATTRIBUTES = r"\{(?::[^{}]*|[#.][^{}\s][^{}]*)\}"
TOKEN = re.compile(
    rf"\s*(?:{LINK_OPEN}[^{LINK_CLOSE}]*{LINK_CLOSE}|{_URL}|{_EMAIL}|{_ATTRIBUTES}"
    r"|\d+(?:[.,/:-]\d+)+|\w+(?:['’]\w+)*|[^\w\s])"
)
_WHOLE = re.compile(rf"(?:{LINK_OPEN}[^{LINK_CLOSE}]*{LINK_CLOSE}|{_URL}|{_EMAIL})$")
_LINK_TARGETS = re.compile(rf"{LINK_OPEN}[^{LINK_CLOSE}]*{LINK_CLOSE}")
_MAYBE_DATE = re.compile(r"(?<!\d)(?:1[89]|2\d)\d\d(?!\d)|[:\uff1a]")
#: redline.document.dates.MAX_DATE_LINE, known here so a long block never loads the scanner
#: (a test checks they agree).
LONGEST_DATE_LINE = 160
# A visible URL or e-mail address is one token but words: a reader sees it change. Only a
# link's hidden target is a link target.
_TARGET = rf"{LINK_OPEN}[^{LINK_CLOSE}]*{LINK_CLOSE}"
_NOT_WORDS = re.compile(rf"{_TARGET}|{_ATTRIBUTES}")
_WORDS_AND_TARGETS = re.compile(rf"(?P<target>{_TARGET})|{_ATTRIBUTES}|\w+")

#: A hard line break in normalised text (``\\`` before a space or the end).
HARD_BREAK = re.compile(r"\\(?= |$)")


def break_lines(text: str, escape: Callable[[str], str], line_break: str) -> str:
    """``text`` escaped for a format, each hard line break written as that format's
    ``line_break`` (``<br>``, a new line), never as the backslash it is in normalised text."""
    return line_break.join(escape(part) for part in HARD_BREAK.split(text))


#: The kinds of token that are not words, in the order reasons name them.
KINDS = ("link-targets", "attribute-lists", "hard-breaks")


def tokens(text: str) -> list[str]:
    """The tokens of ``text``, each with the whitespace before it."""
    return TOKEN.findall(text)


def shown_whole(token: str) -> bool:
    """Whether ``token`` is a link target, a URL or an e-mail address: quoted whole, alone."""
    return _WHOLE.match(token.strip()) is not None


def token_kind(token: str) -> str:
    """``words`` for a word or punctuation, else one of :data:`KINDS`."""
    bare = token.lstrip()
    first = bare[:1]
    if first == LINK_OPEN:
        return "link-targets"
    if first == "{" and len(bare) > 2:
        return "attribute-lists"
    if bare == "\\":
        return "hard-breaks"
    return "words"


def _special(text: str) -> bool:
    """Whether ``text`` may hold a token that is not a word (a few substring tests are much
    faster than one regex search)."""
    return (
        LINK_OPEN in text
        or "{" in text
        or "\\" in text
        or "@" in text
        or "://" in text
        or "www." in text
        or "mailto:" in text
    )


def content_words(text: str, *, links: bool = False) -> list[str]:
    """The case-folded words of ``text``; link targets too (whole) when ``links`` is True."""
    if not _special(text):
        return meaning_words(text.casefold())
    if not links:
        return meaning_words(_NOT_WORDS.sub(" ", text).casefold())
    words: list[str] = []
    for found in _WORDS_AND_TARGETS.finditer(text):
        if found.group("target"):
            words.append(found.group("target"))
        elif found.group(0)[0] != "{":
            words.extend(meaning_words(found.group(0).casefold()))
    return words


def count_words(text: str) -> int:
    """The words of ``text`` a redline counts: link targets and markup are not words."""
    if not _special(text):
        return len(meaning_words(text))
    return len(content_words(text))


def edit_kind(old: Sequence[str], new: Sequence[str]) -> str:
    """What a replaced run of tokens changed: ``words``, a kind of :data:`KINDS`,
    ``punctuation``, ``case`` or ``whitespace`` (words joined or split)."""
    old_kinds, new_kinds = _by_kind(old), _by_kind(new)
    for kind in KINDS:
        if old_kinds.get(kind, []) != new_kinds.get(kind, []) and not _words_differ(
            old_kinds, new_kinds
        ):
            return kind
    old_words, new_words = old_kinds.get("words", []), new_kinds.get("words", [])
    if "".join(old_words) == "".join(new_words) and _letters(old_words) == _letters(new_words):
        return "whitespace"
    old_text, new_text = _letters(old_words), _letters(new_words)
    if old_text == new_text:
        return "punctuation"
    if old_text.casefold() == new_text.casefold():
        return "case"
    return "words"


def _by_kind(run: Iterable[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for token in run:
        found.setdefault(token_kind(token), []).append(token.strip())
    return found


def _letters(words: list[str]) -> str:
    return "".join(meaning_words(" ".join(words)))


def _words_differ(old: dict[str, list[str]], new: dict[str, list[str]]) -> bool:
    return _letters(old.get("words", [])).casefold() != _letters(new.get("words", [])).casefold()


class DateLines:
    """The effective-date statements of blocks, as one policy's settings write them.

    The date scanner of :mod:`redline.document.dates` decides; it is loaded (with its month
    names) only for a text that could hold a date statement: every form of date it reads
    has a four-digit year (one from 1800 to 2999 is taken for a date), and a labelled blank
    has a colon.
    """

    def __init__(self, settings: Settings | None) -> None:
        self.settings = settings
        self._find: Callable[[str], tuple[int, int] | None] | None = None
        self._spans: dict[str, tuple[int, int] | None] = {}  # each text is scanned once

    @staticmethod
    def may_hold(text: str) -> bool:
        """False when ``text`` certainly holds no date statement (found without the scanner)."""
        if len(text) > LONGEST_DATE_LINE and len(_LINK_TARGETS.sub("", text)) > LONGEST_DATE_LINE:
            return False  # a long "prior versions" link does not make a date line prose
        return _MAYBE_DATE.search(text) is not None

    def span(self, text: str) -> tuple[int, int] | None:
        """Where the date statement of a block's text is (label through date), if it has one."""
        if not self.may_hold(text):
            return None
        if text in self._spans:
            return self._spans[text]
        if self._find is None:
            from redline.document.dates import date_options, statement_finder

            self._find = statement_finder(date_options(self.settings))
        found = self._spans[text] = self._find(text)
        return found

    def is_line(self, text: str) -> bool:
        """True when a block's text is an effective-date line and nothing more."""
        span = self.span(text)
        if span is None:
            return False
        from redline.document.dates import is_only_statement

        return is_only_statement(text, span)
