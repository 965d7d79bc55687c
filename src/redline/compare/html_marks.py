"""One block of the HTML redline: its Markdown shown by the one rule (:mod:`redline.md`), with
the word diff's runs marked in it, so bold, italic, code and links stay inside and around
``<ins>``/``<del>``.

A word diff is over normalised text (:mod:`redline.document.normalize`); the marks are put
back onto the block's source by matching the normalised characters, spaces aside, to the
characters a reader sees. What only one of them has stays unmarked: a link's target (shown
only when it changed, old and new), raw HTML shown as text, an export's leftovers. When the
two cannot be matched, the block is shown from its normalised text instead, marks and all.

Spaces stay outside the marks; a change of punctuation only gets a visible box; each mark
carries visually hidden words for screen readers ("deleted: ", "inserted: ", and an end).
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import TYPE_CHECKING, NamedTuple

from redline.compare.tokens import break_lines, token_kind, tokens
from redline.document.normalize import LINK_CLOSE, LINK_OPEN
from redline.md import inline_tokens, markdown_inline

if TYPE_CHECKING:
    from redline.compare.engine import BlockDiff, WordOp
    from redline.document.model import Block

_ITEM_MARKER = re.compile(r"^\s*(?:[-*+]|(\d{1,9}[.)]))\s+")
_HEADING_MARKS = re.compile(r"^\s*#{1,6}\s+|\s+#+\s*$")
_QUOTE_MARK = re.compile(r"^\s*>\s?", re.M)
_PLAIN = re.compile(r"[\\`*_\[\]<>&!{\n]|  ")
_HIDDEN = '<span class="visually-hidden">{}</span>'
_LABELS = {
    "delete": ("deleted: ", " (end of deletion)"),
    "insert": ("inserted: ", " (end of insertion)"),
}
_PUNCT_LABELS = {
    "delete": ("punctuation deleted: ", ""),
    "insert": ("punctuation inserted: ", ""),
}
_TAG = {"delete": "del", "insert": "ins"}


class Char(NamedTuple):
    """One character a reader sees, with the tags it sits in and the op that owns it."""

    text: str
    tags: tuple[str, ...]
    owner: int | None


def open_mark(op: str, kind: str = "words") -> str:
    """The opening ``<ins>``/``<del>`` of a run, with its hidden words (a box for punctuation)."""
    before = (_PUNCT_LABELS if kind == "punctuation" else _LABELS)[op][0]
    klass = ' class="punct" title="punctuation changed"' if kind == "punctuation" else ""
    return f"<{_TAG[op]}{klass}>{_HIDDEN.format(before)}"


def close_mark(op: str, kind: str = "words") -> str:
    """The closing tag of :func:`open_mark`."""
    after = (_PUNCT_LABELS if kind == "punctuation" else _LABELS)[op][1]
    return (_HIDDEN.format(after) if after else "") + f"</{_TAG[op]}>"


def inline_source(block: Block) -> tuple[str, str]:
    """A block's inline Markdown without its block marks, and the list label shown before it."""
    text, label = block.text, ""
    if block.kind == "heading":
        text = _HEADING_MARKS.sub("", text)
    elif block.kind == "list_item":
        found = _ITEM_MARKER.match(text)
        if found:
            label, text = (found.group(1) or ""), text[found.end() :]
    elif block.kind == "blockquote":
        text = _QUOTE_MARK.sub("", text)
    elif block.kind == "table_row":
        text = " | ".join(cell.strip() for cell in text.strip().strip("|").split("|"))
    return text, label


def block_html(block: Block) -> str:
    """An unchanged block as HTML (a plain text skips the Markdown parser)."""
    if block.kind == "code":
        return f"<code>{html.escape(block.norm)}</code>"
    text, label = inline_source(block)
    body = html.escape(text) if not _PLAIN.search(text) else markdown_inline(text)
    return f"{html.escape(label)} {body}" if label else body


def whole_html(op: str, block: Block) -> str:
    """A block inserted or deleted whole, in one mark."""
    return open_mark(op) + block_html(block) + close_mark(op)


def marked_html(diff: BlockDiff, words: list[WordOp]) -> str:
    """A changed block with its runs marked in its formatted text (see the module docstring)."""
    new, old = diff.new, diff.old
    if new is None or old is None or "code" in (new.kind, old.kind):
        return fallback_html(words)
    new_text, label = inline_source(new)
    new_chars = _owned(new_text, words, {"equal", "insert"})
    old_chars = _owned(inline_source(old)[0], words, {"equal", "delete"})
    if new_chars is None or old_chars is None:
        return fallback_html(words)
    body = _merge(new_chars, old_chars, words)
    return f"{html.escape(label)} {body}" if label else body


def fallback_html(words: list[WordOp]) -> str:
    """The block from its normalised text: each run escaped, marked, spaces outside."""
    parts = []
    for op in words:
        text = break_lines(op.text, html.escape, "<br>")
        if op.op == "equal" or (op.kind == "hard-breaks" and op.op == "insert"):
            parts.append(text)
        elif op.kind != "hard-breaks":
            stripped = text.lstrip()
            space = text[: len(text) - len(stripped)]
            parts.append(
                f"{space}{open_mark(op.op, op.kind)}{stripped}{close_mark(op.op, op.kind)}"
            )
    return "".join(parts)


def _visible(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """The characters a reader sees of inline Markdown, each with its open tags; a hard
    break is ``"\\n"``, a link's target a tag."""
    chars: list[tuple[str, tuple[str, ...]]] = []
    stack: list[str] = []
    for token in inline_tokens(text):
        kind = token.type
        if kind.endswith("_open"):
            href = token.attrs.get("href")
            stack.append(f'<a href="{html.escape(str(href))}">' if href is not None else token.tag)
        elif kind.endswith("_close") and stack:
            stack.pop()
        elif kind in {"text", "code_inline"}:
            tags = (*stack, "code") if kind == "code_inline" else tuple(stack)
            chars.extend((char, tags) for char in token.content)
        elif kind in {"softbreak", "hardbreak"}:
            chars.append((" " if kind == "softbreak" else "\n", tuple(stack)))
    return chars


def _owned(text: str, words: list[WordOp], ops: set[str]) -> list[Char] | None:
    """The visible characters of one side, each owned by the op whose normalised characters
    it matches; None when the side's normalised text is not all found."""
    parts: list[str] = []
    owner_of: list[int] = []  # the op of each character of the wanted text
    for index, op in enumerate(words):
        if op.op in ops:
            for token in tokens(op.text):
                if token_kind(token) == "words":
                    word = token.strip()
                    parts.append(word)
                    owner_of.extend([index] * len(word))
    wanted = "".join(parts)
    seen = _visible(text)
    shown = "".join(char for char, _tags in seen)
    owners: list[int | None] = [None] * len(seen)
    if "".join(shown.split()) == wanted and unicodedata.is_normalized("NFKC", shown):
        # what a reader sees is the normalised text, spaces aside: each its character's owner
        places = [place for place, char in enumerate(shown) if not char.isspace()]
        for place, owner in zip(places, owner_of, strict=True):
            owners[place] = owner
    elif _match(seen, wanted, owner_of, owners) < len(wanted):
        return None
    _fill(owners)
    return [Char(char, tags, owner) for (char, tags), owner in zip(seen, owners, strict=True)]


def _match(
    seen: list[tuple[str, tuple[str, ...]]],
    wanted: str,
    owner_of: list[int],
    owners: list[int | None],
) -> int:
    """Each visible character that matches the next of ``wanted`` (compared in NFKC, spaces
    aside) gets its owner; how many characters of ``wanted`` were matched."""
    at = 0
    for place, (char, _tags) in enumerate(seen):
        key = (char if char.isascii() else unicodedata.normalize("NFKC", char)).strip()
        if key and wanted.startswith(key, at):
            owners[place] = owner_of[at]
            at += len(key)
    return at


def _fill(owners: list[int | None]) -> None:
    """A character between two of the same op belongs to it; any other stays unowned."""
    last: tuple[int, int | None] | None = None
    for place, owner in enumerate(owners):
        if owner is None:
            continue
        if last is not None and last[1] == owner:
            for gap in range(last[0] + 1, place):
                owners[gap] = owner
        last = (place, owner)


def _merge(new: list[Char], old: list[Char], words: list[WordOp]) -> str:
    """The new side's characters with the deleted runs of the old side (and changed link
    targets, which no reader sees as text) put at their place."""
    out = _Writer(words)
    pending = [
        index
        for index, op in enumerate(words)
        if op.op == "delete" or (op.op == "insert" and op.kind == "link-targets")
    ]
    for char in new:
        if char.owner is not None:
            while pending and pending[0] < char.owner:
                out.run(pending.pop(0), old)
        out.char(char)
    for index in pending:
        out.run(index, old)
    return out.done()


class _Writer:
    """Writes characters as HTML, opening and closing tags and marks as they change; a mark
    goes inside the tags already open and around the ones its run opens."""

    def __init__(self, words: list[WordOp]) -> None:
        self.words = words
        self.parts: list[str] = []
        self.open: tuple[str, ...] = ()
        self.key: tuple[tuple[str, ...], str | None] | None = None  # of the last character
        self.last = " "
        self.after_run = False
        self.text: list[str] = []  # characters in the tags now open, not yet written

    def _write_text(self) -> None:
        if self.text:
            self.parts.append(html.escape("".join(self.text)).replace("\n", "<br>"))
            self.text = []

    def _tags(self, wanted: tuple[str, ...]) -> None:
        keep = 0
        while keep < min(len(self.open), len(wanted)) and self.open[keep] == wanted[keep]:
            keep += 1
        self.parts.extend(_closing(tag) for tag in reversed(self.open[keep:]))
        self.parts.extend(_opening(tag) for tag in wanted[keep:])
        self.open = wanted

    def _emit(self, text: str, tags: tuple[str, ...], mark: str | None = None) -> None:
        if (tags, mark) == self.key:  # most characters sit in what the one before opened
            self.text.append(text)
            self.last = text
            return
        self._write_text()
        self.key = (tags, mark)
        if mark is not None:
            common = 0
            while (
                common < min(len(tags), len(self.open))
                and tags[common] == self.open[common]
                and not self.open[common].startswith("mark:")
            ):
                common += 1
            tags = (*tags[:common], mark, *tags[common:])
        self._tags(tags)
        self.text.append(text)
        self.last = text

    def _space(self, op: WordOp) -> None:
        """The space a run starts with, outside its mark."""
        if op.text[:1].isspace() and not self.last.isspace():
            self._emit(" ", ())

    def char(self, char: Char) -> None:
        op = self.words[char.owner] if char.owner is not None else None
        if op is not None and self.after_run:
            self._space(op)
        self.after_run = False
        if op is None or op.op == "equal":
            self._emit(char.text, char.tags)
        else:
            self._emit(char.text, char.tags, f"mark:{op.op}:{op.kind}")

    def run(self, index: int, old: list[Char]) -> None:
        """A deleted run, or a changed link target shown whole."""
        op = self.words[index]
        chars = [char for char in old if char.owner == index] if op.op == "delete" else []
        if op.kind == "link-targets":
            target = op.text.strip().strip(LINK_OPEN + LINK_CLOSE)
            chars = [Char(c, ('<span class="link-target">',), index) for c in target]
        if op.kind == "hard-breaks" or not chars:
            return
        self._space(op)
        for char in chars:
            self._emit(char.text, char.tags, f"mark:{op.op}:{op.kind}")
        self.after_run = True

    def done(self) -> str:
        self._write_text()
        self._tags(())
        self.key = None
        return "".join(self.parts)


def _opening(tag: str) -> str:
    if tag.startswith("mark:"):
        _, op, kind = tag.split(":")
        return open_mark(op, kind)
    return tag if tag.startswith("<") else f"<{tag}>"


def _closing(tag: str) -> str:
    if tag.startswith("mark:"):
        _, op, kind = tag.split(":")
        return close_mark(op, kind)
    return f"</{tag.lstrip('<').split(' ', 1)[0].rstrip('>')}>"
