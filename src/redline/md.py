"""Markdown both ways: the one escaper (plain text made safe inside Markdown) and the one
rule for showing policy Markdown as HTML (the site's full text and the redline's runs).

The HTML rule (:func:`markdown_html`, :func:`inline_tokens`): CommonMark with tables; raw HTML
in the source is never passed through but shown as the text it is (``<script>`` and ``<b>``
alike); what exported policies leave behind is tidied away: emphasis runs that emphasise
nothing (``**1.&#x20;**``, ``******``) show no asterisks, and an empty link ``[](url)``
makes no anchor.
"""

from __future__ import annotations

import html
import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it.token import Token

#: Characters that may start a link, code span, emphasis, heading, strikethrough, quote or
#: table cell break, or raw HTML.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
_HTML = re.compile(r"([<>])")
# An encoded space or a line of asterisks only (an export's leftover emphasis, not a rule
# an author drew: that is "***", "---" or "* * *" after a blank line).
_ENCODED_SPACE = re.compile(r"&(?:#x0*20|#0*32|nbsp);", re.I)
_STAR_LINE = re.compile(r"^[ \t]*\*{4,}[ \t]*$|(?<=\S)(\n[ \t]*\*{3}[ \t]*)$", re.M)
_STAR_RUN = re.compile(r"\*{2,}")


def md_escape(
    text: object, html_only: bool = False, *, entities: bool = False, one_line: bool = False
) -> str:
    """``text`` with every Markdown special character backslash-escaped.

    ``html_only`` escapes only ``<`` and ``>``: for summaries people write in Markdown, whose
    links and emphasis are meant. ``entities`` writes ``&``, ``<`` and ``>`` as HTML entities
    first: for the redline, whose text sits between ``<ins>``/``<del>`` tags and is shown
    verbatim when that Markdown is read as HTML. ``one_line`` collapses whitespace runs (and
    newlines) to single spaces: for list items and table cells.
    """
    value = html.escape(str(text), quote=False) if entities else str(text)
    if one_line:
        value = " ".join(value.split())
    return (_HTML if html_only else _SPECIAL).sub(r"\\\1", value)


@cache
def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def _tidy_source(text: str) -> str:
    if "&" in text:
        text = _ENCODED_SPACE.sub(" ", text)
    return _STAR_LINE.sub("", text) if "***" in text else text


def _tidy_inline(children: list[Token]) -> list[Token]:
    """Inline tokens without literal asterisk runs and without empty links."""
    out: list[Token] = []
    for token in children:
        if token.type == "text" and "**" in token.content:
            token.content = _STAR_RUN.sub("", token.content)
        if token.type == "link_close" and out and out[-1].type == "link_open":
            out.pop()
            continue
        out.append(token)
    return out


def markdown_html(text: str) -> str:
    """A whole policy's Markdown as HTML, by the one rule (see the module docstring)."""
    parser = _parser()
    env: dict[str, Any] = {}
    tokens = parser.parse(_tidy_source(str(text)), env)
    for token in tokens:
        if token.type == "inline" and token.children:
            token.children = _tidy_inline(token.children)
    return str(parser.renderer.render(tokens, parser.options, env))


def inline_tokens(text: str) -> list[Token]:
    """One block's inline Markdown as markdown-it tokens, by the one rule: the runs of a
    redline are drawn from these."""
    found = _parser().parseInline(_tidy_source(str(text)))
    return _tidy_inline(found[0].children or []) if found else []


@lru_cache(maxsize=65536)
def markdown_inline(text: str) -> str:
    """One block's inline Markdown as HTML (no ``<p>``), by the one rule; kept for the next
    call, since a site renders the unchanged text of one version in the redline of the next."""
    parser = _parser()
    return str(parser.renderer.render(inline_tokens(text), parser.options, {}))
