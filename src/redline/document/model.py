"""The policy document model: Markdown parsed into blocks and sections, with normalised text.

Blocks come from markdown-it-py's block parser. Inline Markdown is not parsed into tokens;
instead :func:`redline.document.normalize.normalize` strips formatting-only noise from each
block's inline source, which is both faster and more robust against the artifacts of
exported policies (``**6.&#x20;*****Retention of Data***``). Headings give sections their
label, title and key (:mod:`redline.document.headings`).

A document is parsed in content-defined chunks split at safe blank lines
(:mod:`redline.document.chunks`), and each chunk's blocks are cached by the chunk's text, so
two revisions of a large policy share the work for every unchanged chunk.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from redline.document.chunks import _chunks
from redline.document.headings import section_key, split_label
from redline.document.normalize import normalize, strip_attribute_lists
from redline.errors import InputError

_BARE_LABEL = re.compile(r"(?:\d+(?:\.\d+)*|\(?[0-9A-Za-z]{1,6}\))[.):]?|[A-Za-z][.)]")

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
# Besides letters, what a line that can only be paragraph text may start with.
_PLAIN_PUNCTUATION = "(\"'\u201c\u2018"
# A chunk that is a single ATX heading without "#" in its text, or starts with a list item
# marker followed by a plain line.
_SIMPLE_HEADING = re.compile(r"(#{1,6}) ([^#\s](?:[^#\n]*[^#\s])?)[ \t]*(?:\n|$)")
_SIMPLE_ITEM = re.compile(r"(?:[-+*]|\d{1,9}[.)]) (?=[^\W\d_]|[(\"'\u201c\u2018])")


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a policy: a heading, paragraph, list item, table row, quote or code."""

    kind: str
    text: str
    norm: str
    line: int
    end_line: int
    level: int = 0
    label: str | None = None
    title: str | None = None

    @property
    def is_heading(self) -> bool:
        """True for section headings, including bold numbered paragraphs."""
        return self.kind == "heading"


@dataclass(slots=True)
class Section:
    """A heading and the blocks under it up to the next heading; nesting via ``parent``."""

    label: str | None
    title: str
    key: str
    level: int
    heading: Block | None
    blocks: list[Block] = field(default_factory=list)
    parent: int | None = None

    @property
    def display_name(self) -> str:
        """ "Section 7 (Transfer of Data)", "Cookies" or "Preamble"."""
        if self.heading is None:
            return "Preamble"
        if self.label:
            return f"Section {self.label} ({self.title})" if self.title else f"Section {self.label}"
        return self.title


@dataclass(slots=True)
class Document:
    """A parsed policy."""

    source: str
    front_matter: dict[str, Any]
    front_matter_text: str
    body_offset: int
    blocks: list[Block]
    sections: list[Section]
    title: str | None


@cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    parser.disable(["inline", "text_join"])
    return parser


def parse_document(text: str, *, name: str = "<policy>", fold_typography: bool = False) -> Document:
    """Parse policy Markdown into blocks and sections; ``name`` is used in error messages."""
    if "\x00" in text:
        raise InputError(f"{name}: is a binary file, not Markdown", hint="point redline at a .md")
    if not text.strip():
        raise InputError(f"{name}: the file is empty", hint="add the policy text")
    front_matter_text, front_matter = split_front_matter(text, name)
    # Lines end at \n, \r\n or \r only, as in markdown-it (str.splitlines() also splits at
    # form feeds, U+2028 and others, which shifted block texts and line numbers).
    body = text[len(front_matter_text) :].replace("\r\n", "\n").replace("\r", "\n")
    offset = front_matter_text.count("\n")
    blocks: list[Block] = []
    for chunk_offset, chunk in _chunks(body):
        blocks.extend(_parse_chunk(chunk, fold_typography, offset + chunk_offset))
    if not blocks:
        raise InputError(f"{name}: contains no text", hint="add the policy text")
    return make_document(text, front_matter_text, front_matter, blocks)


def make_document(
    source: str, front_matter_text: str, front_matter: dict[str, Any], blocks: list[Block]
) -> Document:
    """The document of ``source`` with these parts: its sections and title follow from them."""
    title = _title_heading(blocks)
    if title is None and isinstance(front_matter.get("title"), str):
        title = " ".join(front_matter["title"].split()) or None
    return Document(
        source=source,
        front_matter=front_matter,
        front_matter_text=front_matter_text,
        body_offset=front_matter_text.count("\n"),
        blocks=blocks,
        sections=_build_sections(blocks),
        title=title,
    )


def _title_heading(blocks: list[Block]) -> str | None:
    """The text of the H1 that titles the document, or None.

    Only an H1 that is the document's first heading is a title, and never a question: an
    exported policy that opens with "How to manage the info we use" (H2) and goes on to
    "What is the Privacy Policy and what does it cover?" (H1) has no title heading.
    """
    first = next((block for block in blocks if block.is_heading), None)
    if first is None or first.level != 1 or first.norm.endswith("?"):
        return None
    return strip_attribute_lists(first.norm) or None


def split_front_matter(text: str, name: str) -> tuple[str, dict[str, Any]]:
    """The YAML front matter block of ``text`` (or "") and its data; ``name`` is for errors."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return "", {}
    import yaml

    try:
        data = yaml.safe_load(match.group(1) or "") or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 2}" if mark is not None else ""
        raise InputError(
            f"{name}{line}: invalid YAML front matter", hint="fix it or remove the --- block"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{name}: front matter must be a mapping of keys to values")
    return match.group(0), data


def _shift(blocks: Sequence[Block], offset: int) -> list[Block]:
    if not offset:
        return list(blocks)
    return [
        Block(
            b.kind, b.text, b.norm, b.line + offset, b.end_line + offset, b.level, b.label, b.title
        )
        for b in blocks
    ]


# chunk text -> the line offset it was first parsed at, and its blocks there
_chunk_cache: dict[tuple[str, bool], tuple[int, tuple[Block, ...]]] = {}
_CHUNK_CACHE_LIMIT = 200_000


def _parse_chunk(chunk: str, fold_typography: bool, offset: int) -> list[Block]:
    """The blocks of ``chunk`` starting at line ``offset`` (0-based) of the file."""
    key = (chunk, fold_typography)
    cached = _chunk_cache.get(key)
    if cached is None:
        simple = _simple_blocks(chunk, fold_typography)
        blocks = simple if simple is not None else _blocks_from_tokens(chunk, fold_typography)
        cached = (offset, tuple(_shift(blocks, offset)))
        if len(_chunk_cache) >= _CHUNK_CACHE_LIMIT:
            _chunk_cache.clear()
        _chunk_cache[key] = cached
    return _shift(cached[1], offset - cached[0])  # at the same offset: the cached blocks


def _simple_blocks(chunk: str, fold: bool) -> list[Block] | None:
    """Blocks of a chunk of plain paragraphs, or of one simple heading or list item; else None.

    A plain line starts with a letter, an opening bracket or a quote. No Markdown block
    (heading, list, quote, code, table, HTML, thematic break, setext underline) starts with
    one, so each run of plain lines is a paragraph, exactly as markdown-it parses it: this
    spares markdown-it's per-call overhead on the many small chunks of a policy.
    """
    heading = _SIMPLE_HEADING.match(chunk)
    if heading:
        if chunk[heading.end() :].strip():
            return None
        level, raw = len(heading.group(1)), heading.group(2)
        return _inline_block(raw, [0, 1], chunk.split("\n"), [], level, fold)
    item = _SIMPLE_ITEM.match(chunk)
    lines = chunk.split("\n")
    for line in lines[1:] if item else lines:  # each starts with a letter, "(" or a quote
        first = line[:1]
        if first and (first.isdecimal() or not (first.isalnum() or first in _PLAIN_PUNCTUATION)):
            return None
    blocks: list[Block] = []
    start = None
    for index, line in enumerate(lines):
        if line.strip():
            start = index if start is None else start
            continue
        if start is None:
            continue
        containers = ["list_item"] if item and start == 0 else []
        raw = "\n".join(lines[start:index])[item.end() if containers and item else 0 :]
        blocks.extend(_inline_block(raw.strip(), [start, index], lines, containers, 0, fold))
        start = None
    return blocks


def _blocks_from_tokens(source: str, fold: bool) -> list[Block]:
    lines = source.split("\n")
    tokens = _markdown().parse(source)
    blocks: list[Block] = []
    containers: list[str] = []
    row_cells: list[str] = []
    row_map: list[int] | None = None
    heading_level = 0
    for token in tokens:
        kind = token.type
        if kind == "list_item_open":
            containers.append("list_item")
        elif kind == "blockquote_open":
            containers.append("blockquote")
        elif kind in {"list_item_close", "blockquote_close"}:
            containers.pop()
        elif kind == "heading_open":
            heading_level = int(token.tag[1])
        elif kind == "heading_close":
            heading_level = 0
        elif kind == "tr_open":
            row_cells, row_map = [], token.map
        elif kind == "tr_close":
            norm = " | ".join(normalize(cell, fold_typography=fold) for cell in row_cells)
            if norm.strip(" |") and row_map:
                blocks.append(_block("table_row", lines, row_map, norm, " | ".join(row_cells)))
            row_map = None
        elif kind == "inline" and row_map is not None:
            row_cells.append(token.content)
        elif kind == "inline" and token.map is not None:
            blocks.extend(
                _inline_block(token.content, token.map, lines, containers, heading_level, fold)
            )
        elif kind in {"fence", "code_block"} and token.map:
            norm = token.content.strip()
            if norm:
                blocks.append(_block("code", lines, token.map, norm, token.content))
        elif kind == "html_block" and token.map:
            norm = normalize(token.content, fold_typography=fold)
            if norm:
                blocks.append(_block("html", lines, token.map, norm, token.content))
    return blocks


def _inline_block(
    raw: str,
    span: list[int],
    lines: list[str],
    containers: list[str],
    heading_level: int,
    fold: bool,
) -> list[Block]:
    norm = normalize(raw, fold_typography=fold)
    if not norm:
        return []
    if heading_level:
        label, title = split_label(strip_attribute_lists(norm))
        return [_block("heading", lines, span, norm, raw, heading_level, label, title)]
    if not containers and _is_emphasis_only(raw):
        label, title = split_label(norm)
        if label is not None and title and _section_number(label):
            level = 1 + label.count(".") + 1 if label[0].isdigit() else 4
            return [_block("heading", lines, span, norm, raw, level, label, title)]
    kind = containers[-1] if containers else "paragraph"
    return [_block(kind, lines, span, norm, raw)]


def _section_number(label: str) -> bool:
    """Whether a bold paragraph's leading number can number a section: "6", "12.3", "(b)";
    not "350" of "**350 Bush Street, 2nd Floor**" nor a year."""
    first = label.strip("()").split(".")[0]
    return not first.isdigit() or int(first) < 100


def _is_emphasis_only(raw: str) -> bool:
    """True when a paragraph is wholly bold or italic: ``**6. Retention**``, ``_1. Scope_``.

    ``**10** days' notice to **you**`` starts and ends with emphasis but is not wholly
    emphasised, so candidates are checked with markdown-it's inline parser.
    """
    stripped = raw.strip()
    if not (
        len(stripped) > 2
        and "\n" not in stripped
        and stripped[0] in "*_"
        and stripped.rstrip("\\")[-1] in "*_"
    ):
        return False
    depth = 0
    emphasised_text = False
    for token in _inline_markdown().parseInline(stripped)[0].children or []:
        if token.type in {"strong_open", "em_open"}:
            depth += 1
        elif token.type in {"strong_close", "em_close"}:
            depth -= 1
        elif depth:
            emphasised_text = emphasised_text or bool(token.content.strip())
        else:
            plain = token.content.strip(" *_\u00a0")
            # Exporters leave the label outside the emphasis: "**6.&#x20;*****Title***".
            if plain and (emphasised_text or not _BARE_LABEL.fullmatch(plain)):
                return False
    return emphasised_text


@cache
def _inline_markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def _block(
    kind: str,
    lines: list[str],
    span: list[int],
    norm: str,
    raw: str,
    level: int = 0,
    label: str | None = None,
    title: str | None = None,
) -> Block:
    start, end = span
    text = "\n".join(lines[start:end]) if lines else raw
    if kind == "heading" and title is None:
        title = strip_attribute_lists(norm)
    return Block(kind, text, norm, start + 1, end, level, label, title)


def _build_sections(blocks: list[Block]) -> list[Section]:
    sections: list[Section] = []
    current: Section | None = None
    open_headings: list[tuple[int, int]] = []  # (level, index): possible parents, levels rising
    for block in blocks:
        if block.is_heading:
            while open_headings and open_headings[-1][0] >= block.level:
                open_headings.pop()
            title = block.title or block.norm
            current = Section(
                label=block.label,
                title=title,
                key=section_key(title),
                level=block.level,
                heading=block,
                parent=open_headings[-1][1] if open_headings else None,
            )
            open_headings.append((block.level, len(sections)))
            sections.append(current)
        else:
            if current is None:
                current = Section(label=None, title="", key="", level=0, heading=None)
                sections.append(current)
            current.blocks.append(block)
    return sections
