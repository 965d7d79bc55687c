"""Content-defined chunks: a policy body cut at blank lines where no Markdown context
(fence, raw HTML block, indented continuation) can continue, so unchanged chunks of two
revisions are parsed once.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


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
