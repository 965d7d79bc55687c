"""The one classifier: whether a change is none, editorial or material, and why.

* ``none``: the two documents are the same block for block after normalisation.
* ``editorial``: the words that carry meaning are the same, in the same order, once these are
  set aside: section and item labels (renumbering), letter case, punctuation, whitespace
  (words joined or split, never a number: ``18`` → ``1.8`` is material), links' hidden
  targets (unless the policy's ``links_material`` is true; a visible URL or e-mail address
  is words), kramdown attribute lists, hard line breaks,
  block boundaries (paragraphs split or merged) and the effective-date statement, wherever
  it stands (the policy's ``date_label`` and the label vocabulary of
  :mod:`redline.document.dates`).
* ``material``: anything else, moving text included.

Every editorial or material classification carries reasons (:class:`Reason`), found in the
redline: editorial ones name each form of noise seen, material ones what made it material.
The codes are stable: ``link-targets``, ``date-line``, ``reflow``, ``renumbering``,
``punctuation``, ``case``, ``whitespace``, ``attribute-lists``, ``hard-breaks``,
``formatting`` (editorial, nothing more precise found); ``words``, ``moved``,
``moved-text``, ``link-targets`` (material).
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import TYPE_CHECKING

from redline.compare.engine import BlockDiff, Reason, SectionDiff
from redline.compare.tokens import (
    ITEM_LABEL,
    DateLines,
    content_words,
    edit_kind,
    token_kind,
    tokens,
)
from redline.vocab import Classification

if TYPE_CHECKING:
    from collections.abc import Iterator

    from redline.config import Settings
    from redline.document.model import Block, Document

EDITORIAL, MATERIAL = Classification.EDITORIAL.value, Classification.MATERIAL.value

#: Editorial reason codes in the order they are listed, what they say, and whether counted.
_EDITORIAL = {
    "date-line": ("effective-date line", False),
    "link-targets": ("link targets", True),
    "reflow": ("paragraphs split or merged", True),
    "renumbering": ("renumbering", True),
    "attribute-lists": ("attribute lists", False),
    "hard-breaks": ("hard line breaks", False),
    "whitespace": ("whitespace", False),
    "punctuation": ("punctuation", False),
    "case": ("case", False),
    "headings": ("paragraphs made headings or headings made paragraphs", True),
}


_MEMO_LIMIT = 200_000


@cache
def _memo(dates: tuple[str | None, ...], links: bool) -> dict[tuple[str, str | None, bool], str]:
    """The content words of blocks by their text, for one policy's date settings."""
    return {}


def _date_key(settings: Settings | None) -> tuple[str | None, ...]:
    """What of ``settings`` decides how its dates read (the fields of its DateOptions)."""
    if settings is None:
        return ()
    return (settings.date_label, settings.date_order, settings.locale)


class Classifier:
    """Classifies changes of one policy, with its settings (None: the defaults)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.dates = DateLines(settings)
        self.links_material = bool(settings is not None and settings.links_material)
        self._memo = _memo(_date_key(settings), self.links_material)

    def classify(
        self, old: Document, new: Document, sections: list[SectionDiff]
    ) -> tuple[str, list[Reason]]:
        """The classification of ``old`` → ``new`` and its reasons, from their redline."""
        if _outline(old) == _outline(new):
            return Classification.NONE.value, []
        unchanged = _unchanged(sections, old, new)
        if self._same_content(
            self._words(old.blocks, unchanged), self._words(new.blocks, unchanged)
        ):
            return EDITORIAL, editorial_reasons(sections)
        return MATERIAL, material_reasons(sections, links=self.links_material)

    @staticmethod
    def _same_content(old_words: Iterator[str], new_words: Iterator[str]) -> bool:
        """Whether both have the same words that carry meaning, joined without spaces (so a
        word split or joined reads the same); read block by block up to the first change."""
        a = b = ""
        while True:
            if len(a) <= len(b):
                more = next(old_words, None)
                if more is None:
                    return a == b and not any(new_words)
                a += more
            else:
                more = next(new_words, None)
                if more is None:
                    return False
                b += more
            shared = min(len(a), len(b))
            if a[:shared] != b[:shared]:
                return False
            a, b = a[shared:], b[shared:]

    def _words(self, blocks: list[Block], unchanged: set[int]) -> Iterator[str]:
        """Each block's content words; kept by text, so blocks both sides (and the revisions
        of a history) share are read once. A block the redline shows unchanged is the same
        on both sides: its date statement, if any, need not be found (the scanner is not
        even loaded when no date line changed)."""
        memo = self._memo
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        for block in blocks:
            dated = id(block) not in unchanged
            key = (block.norm, block.title if block.is_heading else None, dated)
            words = memo.get(key)
            if words is None:
                memo[key] = words = self._block_words(block, dated)
            yield words

    def _block_words(self, block: Block, dated: bool) -> str:
        text = (block.title or "") if block.is_heading else ITEM_LABEL.sub("", block.norm)
        span = self.dates.span(text) if dated else None
        if span is not None:
            text = f"{text[: span[0]]} {text[span[1] :]}"
        return "".join(content_words(text, links=self.links_material))


def _unchanged(sections: list[SectionDiff], old: Document, new: Document) -> set[int]:
    """The blocks (ids) the redline shows unchanged and in place: equal or reflowed, but for
    a block that may be a date line and that a moved block went past (its place matters)."""
    entries = [block for section in sections for block in section.blocks]
    kept = [entry for entry in entries if entry.status in {"equal", "reflowed"}]
    moved = [entry for entry in entries if entry.status == "moved"]
    if moved:
        old_at = {id(block): index for index, block in enumerate(old.blocks)}
        new_at = {id(block): index for index, block in enumerate(new.blocks)}
        moves = [(old_at[id(e.old)], new_at[id(e.new)]) for e in moved]
        kept = [
            entry
            for entry in kept
            if entry.old is None
            or entry.new is None
            or not DateLines.may_hold(entry.old.norm)
            or not _crossed(moves, old_at[id(entry.old)], new_at[id(entry.new)])
        ]
    return {id(side) for entry in kept for side in (entry.old, entry.new)}


def _crossed(moves: list[tuple[int, int]], at_old: int, at_new: int) -> bool:
    """Whether a move (old index, new index) went past the block at these indexes."""
    return any((was < at_old) != (now < at_new) for was, now in moves)


def editorial_reasons(sections: list[SectionDiff]) -> list[Reason]:
    """Each form of noise the redline shows, counted where a count means something."""
    seen: Counter[str] = Counter()
    for section in sections:
        seen["renumbering"] += section.renumbered
        for block in section.blocks:
            _block_noise(block, seen)
    found = [code for code in _EDITORIAL if seen[code]]
    if not found:
        return [Reason(EDITORIAL, "formatting", "formatting only")]
    reasons = []
    for code in found:
        detail, counted = _EDITORIAL[code]
        if len(found) == 1 and code == "link-targets":
            detail += " only"
        reasons.append(Reason(EDITORIAL, code, detail, seen[code] if counted else 0))
    return reasons


def _outline(document: Document) -> list[tuple[bool, str]]:
    """Each block's text and whether it is a heading: equal outlines are no change at all."""
    return [(block.is_heading, block.norm) for block in document.blocks]


def _block_noise(block: BlockDiff, seen: Counter[str]) -> None:
    """Count the noise ``block`` shows into ``seen``."""
    if block.old is not None and block.new is not None:
        seen["headings"] += block.old.is_heading != block.new.is_heading
    if block.status == "equal":
        if block.old is not None and block.new is not None and block.old.norm != block.new.norm:
            seen["attribute-lists"] += _attributes(block.old) != _attributes(block.new)
        return
    if block.date_line:
        seen["date-line"] += 1
    elif block.status == "reflowed":
        seen["reflow"] += block.old is not None and block.new is not None
    elif block.status in {"insert", "delete"}:
        side = block.new if block.status == "insert" else block.old
        assert side is not None
        kind = edit_kind([], tokens(side.norm))
        seen["reflow" if kind == "words" else kind] += 1  # same words elsewhere: a reflow
    else:
        kinds = _op_kinds(block)
        if block.status == "moved" and not kinds:
            kinds["date-line"] = 1  # the same words in the same order: it moved past a date
        for kind, count in kinds.items():
            seen[kind] += count


def _attributes(block: Block) -> list[str]:
    """The attribute lists of a block (a heading's are not in its title, so not diffed)."""
    return [token.strip() for token in tokens(block.norm) if token_kind(token) == "attribute-lists"]


def _op_kinds(block: BlockDiff) -> Counter[str]:
    """The kinds of the changed runs of ``block``: a deleted run with the inserted run after
    it counts once, and link targets count one per target."""
    kinds: Counter[str] = Counter()
    previous = None
    for op in block.words:
        if op.op == "insert" and previous is not None and previous.op == "delete":
            count = len(tokens(op.text)) - len(tokens(previous.text))
            kinds[op.kind] += max(count, 0) if op.kind == "link-targets" else 0
        elif op.op != "equal":
            kinds[op.kind] += len(tokens(op.text)) if op.kind == "link-targets" else 1
        previous = op
    return kinds


def material_reasons(sections: list[SectionDiff], *, links: bool) -> list[Reason]:
    """What made a change material: words changed (in how many sections), sections or text
    moved, and link targets when they count (``links_material``)."""
    worded = moved_sections = moved_text = targets = 0
    for section in sections:
        moved_sections += section.moved
        changed = False
        for block in section.blocks:
            changed = changed or _changes_words(block)
            if block.status == "moved" and not section.moved and not block.date_line:
                moved_text += 1
            if links and block.status in {"modified", "moved"}:
                targets += _op_kinds(block)["link-targets"]
        worded += changed
    reasons = []
    if worded:
        noun = "section" if worded == 1 else "sections"
        reasons.append(Reason(MATERIAL, "words", f"words changed in {worded} {noun}"))
    if moved_sections:
        detail = "section moved" if moved_sections == 1 else f"{moved_sections} sections moved"
        reasons.append(Reason(MATERIAL, "moved", detail))
    if moved_text:
        reasons.append(Reason(MATERIAL, "moved-text", "paragraphs moved", moved_text))
    if targets:
        reasons.append(Reason(MATERIAL, "link-targets", "link targets", targets))
    return reasons or [Reason(MATERIAL, "words", "words changed")]


def _changes_words(block: BlockDiff) -> bool:
    """True when ``block`` inserts, deletes or replaces counted words."""
    if block.date_line or block.status in {"equal", "reflowed"}:
        return False
    if block.status in {"insert", "delete"}:
        side = block.new if block.status == "insert" else block.old
        return side is not None and bool(content_words(side.norm))
    return any(op.words for op in block.words)
