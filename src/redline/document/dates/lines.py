"""Lines and the layout of a text (front matter, fences, IALs, headings, the title), found
without splitting every line.
"""

from __future__ import annotations

import bisect
import itertools
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator


_TOP_LINES = 6  # non-blank lines under the title where a bare emphasised date is accepted


_IAL_LINE = re.compile(r"^[ \t]*\{:[^}]*\}[ \t]*$")


_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)")


_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


_FRONT_MATTER_OPEN = re.compile(r"^---[ \t]*$")


_FRONT_MATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")


_EOL = re.compile(r"\r\n|\n|\r")


# the start of a line that may be a fence, an IAL or a heading; after a line ending, found with
# the \n-only pattern when the text has no \r (a literal first character is searched fast)
_STRUCTURE_LINE = re.compile(r"[ \t]*\{:| {0,3}[#`~=]")


_STRUCTURE_LF = re.compile(rf"\n(?={_STRUCTURE_LINE.pattern})")


_STRUCTURE_ANY = re.compile(rf"[\r\n](?={_STRUCTURE_LINE.pattern})")


class _Line(NamedTuple):  # a tuple: made for every line scanned
    index: int  # 0-based
    start: int
    content: str
    eol: str

    @property
    def end(self) -> int:
        return self.start + len(self.content) + len(self.eol)


def _line_at(text: str, start: int, index: int, crs: bool = True) -> _Line:
    """The line of ``text`` at offset ``start``; ``crs`` False says the text has no carriage
    return (then str.find finds the line ending, faster than a regex)."""
    if crs:
        eol = _EOL.search(text, start)
        end, after = eol.span() if eol else (len(text), len(text))
    else:
        end = text.find("\n", start)
        end, after = (end, end + 1) if end >= 0 else (len(text), len(text))
    return _Line(index, start, text[start:end], text[end:after])


def _lines_from(text: str, start: int = 0, index: int = 0) -> Iterator[_Line]:
    """The lines of ``text`` from offset ``start`` (a line start), numbered from ``index``."""
    crs = "\r" in text
    while start < len(text):
        line = _line_at(text, start, index, crs)
        yield line
        start, index = line.end, index + 1


def _split_lines(text: str) -> list[_Line]:
    return list(_lines_from(text))


def _line_before(text: str, line: _Line) -> _Line:
    """The line before ``line`` (which is not the first)."""
    end = line.start - (2 if text.startswith("\r\n", line.start - 2) else 1)
    start = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
    return _Line(line.index - 1, start, text[start:end], text[end : line.start])


def _structure_lines(text: str, start: int, index: int) -> Iterator[_Line]:
    """The lines from offset ``start`` (line ``index``) on that may be a fence, IAL or heading."""
    crs = "\r" in text
    offsets = itertools.chain(
        (start,) if _STRUCTURE_LINE.match(text, start) else (),
        (found.end() for found in (_STRUCTURE_ANY if crs else _STRUCTURE_LF).finditer(text, start)),
    )
    for offset in offsets:
        index += text.count("\n", start, offset)
        if crs:
            index += text.count("\r", start, offset) - text.count("\r\n", start, offset)
        start = offset
        yield _line_at(text, offset, index, crs)


@dataclass
class _Layout:
    """What date scanning needs of a text's structure, found without splitting every line:
    one regex finds the lines that may open or close a fence or be an IAL or a heading, and
    every other line is text or blank."""

    text: str
    front_matter: tuple[int, int] | None = None  # indexes of the opening and closing lines
    body_offset: int = 0  # where the line after the front matter starts
    code: list[tuple[int, int]] = field(default_factory=list)  # first and last line of fences
    ial: set[int] = field(default_factory=set)
    title: _Line | None = None  # the last line of the first H1 (setext underline included)
    title_text: str | None = None
    headings: set[int] = field(default_factory=set)

    @property
    def body_start(self) -> int:
        return self.front_matter[1] + 1 if self.front_matter else 0

    def in_code(self, index: int) -> bool:
        at = bisect.bisect(self.code, (index, sys.maxsize)) - 1
        return at >= 0 and index <= self.code[at][1]


def _layout(text: str) -> _Layout:
    layout = _Layout(text)
    lines = _lines_from(text)
    first = next(lines, None)
    if first is not None and _FRONT_MATTER_OPEN.match(first.content):
        close = next((ln for ln in lines if _FRONT_MATTER_CLOSE.match(ln.content)), None)
        if close is not None:
            layout.front_matter, layout.body_offset = (0, close.index), close.end
    fence: tuple[str, int] | None = None  # the open fence and its first line
    ended: set[int] = set()  # headings and setext underlines: no setext text
    for line in _structure_lines(text, layout.body_offset, layout.body_start):
        opened = _FENCE.match(line.content)
        if fence is not None:
            marker, start = fence
            if opened and opened.group(1)[0] == marker[0] and len(opened.group(1)) >= len(marker):
                layout.code.append((start, line.index))
                fence = None
        elif opened:
            fence = (opened.group(1), line.index)
        elif _IAL_LINE.match(line.content):
            layout.ial.add(line.index)
        elif atx := _ATX.match(line.content):
            layout.headings.add(line.index)
            ended.add(line.index)
            if layout.title is None and len(atx.group(1)) == 1:
                layout.title, layout.title_text = line, line.content.strip()
        elif _SETEXT_H1.match(line.content) and (heading := _setext_text(layout, line, ended)):
            layout.headings.add(heading.index)
            ended.add(line.index)
            if layout.title is None:
                layout.title, layout.title_text = line, heading.content.strip()
    if fence is not None:
        layout.code.append((fence[1], sys.maxsize))  # an unclosed fence runs to the end
    return layout


def _setext_text(layout: _Layout, underline: _Line, ended: set[int]) -> _Line | None:
    """The line a setext underline makes a heading: the line before it (past IAL lines) if
    that is body text, not blank, code, a heading or an underline."""
    line = underline
    while line.index > layout.body_start:
        line = _line_before(layout.text, line)
        if line.index not in layout.ial:
            if line.index in ended or layout.in_code(line.index) or not line.content.strip():
                return None
            return line
    return None


def _top_region(layout: _Layout) -> set[int]:
    """Line indexes 'near the top': the first non-blank lines under the title."""
    title = layout.title
    start, index = (
        (title.end, title.index + 1) if title else (layout.body_offset, layout.body_start)
    )
    region: set[int] = set()
    for line in _lines_from(layout.text, start, index):
        if line.index in layout.headings or len(region) >= _TOP_LINES:
            break
        if line.content.strip():
            region.add(line.index)
    return region
