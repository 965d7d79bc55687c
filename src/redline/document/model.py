"""The policy document model: Markdown parsed into blocks and sections, with normalised text.

Blocks come from markdown-it-py's block parser. Inline Markdown is not parsed into tokens;
instead :func:`normalize` strips formatting-only noise from each block's inline source, which
is both faster and more robust against the artifacts of exported policies
(``**6.&#x20;*****Retention of Data***``).

A document is parsed in content-defined chunks split at safe blank lines, and each chunk's
blocks are cached by the chunk's text, so two revisions of a large policy share the work
for every unchanged chunk.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from redline.errors import InputError

_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_ESCAPED_MARKUP = re.compile(r"\\([*_`])")
_GITBOOK_TAG = re.compile(r"\{%-?.*?-?%\}", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^>\s]+|[^@>\s]+@[^@>\s]+\.[^>\s]+)>")
# Formatting tags only: anything else in angle brackets ("<Company Name>", "<script>") is text.
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|b|big|br|center|cite|code|del|details|div|em|figure|figcaption|font|h[1-6]|"
    r"hr|i|img|ins|kbd|mark|p|s|small|span|strike|strong|sub|summary|sup|table|tbody|td|th|"
    r"thead|tr|u|ul|ol|li|blockquote|section|article|header|footer|nav|main)"
    r"(?:\s[^<>]*)?/?>",
    re.I,
)
_WORDS = re.compile(r"\w+")
# An emphasis run touches a word on at least one side; a lone "*" as in "2 * 3" is text.
_STARS = re.compile(r"(?<!\s)\*+|\*+(?!\s)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_BARE_LABEL = re.compile(r"(?:\d+(?:\.\d+)*|\(?[0-9A-Za-z]{1,6}\))[.):]?|[A-Za-z][.)]")
_UNDERSCORES = re.compile(r"(?<![\w])_+|_+(?![\w])")
_CODE_TICKS = re.compile(r"`+")
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
# After whitespace is collapsed, the only whitespace left is single spaces.
_SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:!?)\]])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[]) ")
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)

# A section label at the start of a heading: "6", "6.2", "6.2.1", "a)", "(iii)", "IV.", "§ 3".
_LABEL = re.compile(
    r"^(?:(?:section|article|clause|part|§)\s*)?"
    r"(?P<label>\d+(?:\.\d+)*(?=[.):\s]|$)|\([0-9A-Za-z]{1,6}\)|[A-Za-z](?=[.)])|"
    r"[IVXLCivxlc]{1,6}(?=[.)]))"
    r"[.):]?(?:\s+|$)(?P<title>.*)$",
    re.I,
)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_DATE_LABEL = re.compile(
    r"^(?:effective(?:\s+date|\s+as\s+of)?|last\s+(?:updated|modified|revised)|updated|"
    r"date\s+of\s+last\s+revision)\b",
    re.I,
)
# Besides letters, what a line that can only be paragraph text may start with.
_PLAIN_PUNCTUATION = "(\"'\u201c\u2018"
# A chunk that is a single ATX heading without "#" in its text, or starts with a list item
# marker followed by a plain line.
_SIMPLE_HEADING = re.compile(r"(#{1,6}) ([^#\s](?:[^#\n]*[^#\s])?)[ \t]*(?:\n|$)")
_SIMPLE_ITEM = re.compile(r"(?:[-+*]|\d{1,9}[.)]) (?=[^\W\d_]|[(\"'\u201c\u2018])")
# A blank (or whitespace-only) line followed by a line that cannot continue a block; and a
# line that may open a fence or raw HTML block (which may hold blank lines).
_SAFE_FIRST_CUT = re.compile(r"[^\S\n]*\n(?=[^ \t\n<])")
_SAFE_CUT = re.compile(r"\n(?=([^\S\n]*\n)[^ \t\n<])")  # cut at end(1); "\n" first is fast
_FENCE_OR_HTML_LINE = re.compile(r"^ {0,3}(?:```|~~~|<)", re.M)
# Raw HTML blocks (CommonMark types 1-5) may contain blank lines; they end at these markers.
_RAW_HTML = re.compile(
    r" {0,3}<((?:script|pre|style|textarea)(?=[\s>]|$)|!--|\?|!\[CDATA\[|![A-Za-z])", re.I
)
_RAW_HTML_END = {
    "script": "</script>",
    "pre": "</pre>",
    "style": "</style>",
    "textarea": "</textarea>",
    "!--": "-->",
    "?": "?>",
    "![cdata[": "]]>",
}


def decode_entities(text: str) -> str:
    """Decode HTML entities, also double-encoded ones (``&amp;#x20;``)."""
    for _ in range(3):
        if "&" not in text or not _ENTITY.search(text):
            break
        text = html.unescape(text)
    return text


def normalize(text: str, *, fold_typography: bool = False) -> str:
    """Return ``text`` without formatting-only differences, for comparison.

    Each step runs only when its trigger character is present: most paragraphs of a
    policy are plain text, and this is the hottest function of a parse.
    """
    if "{" in text:  # a one-character test is several times faster than one for "{%"
        text = _GITBOOK_TAG.sub(" ", text)
    text = decode_entities(text)
    if not text.isascii():  # ASCII is already NFKC and has no invisible characters
        text = unicodedata.normalize("NFKC", text)
        text = _INVISIBLE.sub("", text)
    if "[" in text:
        text = _IMAGE.sub(" ", text)
        text = _LINK.sub(_link_text, text)
        text = _REF_LINK.sub(r"\1", text)
    if "<" in text:
        text = _HTML_COMMENT.sub(" ", text)
        text = _AUTOLINK.sub(r"\1", text)
        text = _HTML_TAG.sub(" ", text)
    if "\\" in text:
        text = _ESCAPED_MARKUP.sub(r"\1", text)  # before the runs, so no backslash is left behind
    if "*" in text:
        text = _STARS.sub("", text)
    if "_" in text:
        text = _UNDERSCORES.sub("", text)
    if "`" in text:
        text = _CODE_TICKS.sub("", text)
    if "\\" in text:
        text = _BACKSLASH_ESCAPE.sub(r"\1", text)
    if fold_typography:
        text = text.translate(_TYPOGRAPHY)
    # Every whitespace character but " " is unprintable, so a printable text without
    # doubled or outer spaces is already collapsed (and this test is faster than the split).
    if not text.isprintable() or "  " in text or text.startswith(" ") or text.endswith(" "):
        text = " ".join(text.split())
    if _SPACE_BEFORE_PUNCT.search(text):
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    if ("(" in text and "( " in text) or ("[" in text and "[ " in text):
        text = _SPACE_AFTER_OPEN.sub(r"\1", text)
    return text


def _link_text(match: re.Match[str]) -> str:
    label, target = match.group(1), match.group(2)
    if not target or not label.strip() or label.strip() == target:
        return label or target
    return f"{label} ({target})"


def section_key(title: str) -> str:
    """A section's identity without its number: case-folded words of the title."""
    return " ".join(_WORDS.findall(title.casefold()))


def split_label(heading: str) -> tuple[str | None, str]:
    """Split a normalised heading into label and title: "6.2 Cookies" -> ("6.2", "Cookies")."""
    match = _LABEL.match(heading)
    if not match or (not match.group("title").strip() and not match.group("label")[0].isdigit()):
        return None, heading
    label = match.group("label").rstrip(".")
    if label.isdigit() and len(label) >= 4:  # "## 2020 Update" names a year, not a section
        return None, heading
    return label, match.group("title").strip(" .:-\u2013\u2014")


def is_date_line(norm: str) -> bool:
    """True for a short block that states an effective or last-updated date."""
    return len(norm) <= 160 and bool(_DATE_LABEL.match(norm))


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
    title = next((b.norm for b in blocks if b.is_heading and b.level == 1), None)
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


def _chunks(body: str) -> list[tuple[int, str]]:
    """Split ``body`` at blank lines where Markdown context cannot continue across the cut.

    Chunks are mostly single blocks, so that an edit (or a renumbered heading) leaves the
    chunks around it, and their cached blocks, unchanged.
    """
    chunks: list[tuple[int, str]] = []
    may_span = "```" in body or "~~~" in body or ("<" in body and _FENCE_OR_HTML_LINE.search(body))
    if not may_span:  # nothing can hold a blank line: find the cuts with a regex
        first = _SAFE_FIRST_CUT.match(body)
        cuts = [first.end()] if first else []
        cuts.extend(match.end(1) for match in _SAFE_CUT.finditer(body))
        start = line = 0
        for cut in cuts:
            chunks.append((line, body[start:cut]))
            line += chunks[-1][1].count("\n")
            start = cut
        if start < len(body):
            chunks.append((line, body[start:] if body.endswith("\n") else body[start:] + "\n"))
        return chunks
    lines = body.split("\n")
    if lines[-1] == "":
        lines.pop()
    start = 0
    fence: str | None = None
    raw_html_end: str | None = None
    for index, line in enumerate(lines):
        if raw_html_end is not None:
            if raw_html_end in line.lower():
                raw_html_end = None
            continue
        first = line.lstrip(" ")[:1]
        if first in {"`", "~"} and (fence_match := _FENCE.match(line)):
            marker = fence_match.group(1)
            if fence is None:
                fence = marker[0] * len(marker)
            elif marker.startswith(fence):
                fence = None
        elif first == "<" and fence is None:
            raw_html_end = _raw_html_end(line)
        if fence is not None or raw_html_end is not None or line.strip():
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if not following or following[0] in " \t" or following.startswith("<"):
            continue
        chunks.append((start, "\n".join(lines[start : index + 1]) + "\n"))
        start = index + 1
    if start < len(lines):
        chunks.append((start, "\n".join(lines[start:]) + "\n"))
    return chunks


def _raw_html_end(line: str) -> str | None:
    """The end marker of a raw HTML block (which may hold blank lines) that ``line`` opens."""
    match = _RAW_HTML.match(line)
    if not match:
        return None
    opener = match.group(1).lower()
    end = _RAW_HTML_END.get(opener, ">")
    return None if end in line[match.end() :].lower() else end


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
        label, title = split_label(norm)
        return [_block("heading", lines, span, norm, raw, heading_level, label, title)]
    if not containers and _is_emphasis_only(raw):
        label, title = split_label(norm)
        if label is not None and title:
            level = 1 + label.count(".") + 1 if label[0].isdigit() else 4
            return [_block("heading", lines, span, norm, raw, level, label, title)]
    kind = containers[-1] if containers else "paragraph"
    return [_block(kind, lines, span, norm, raw)]


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
        title = norm
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
