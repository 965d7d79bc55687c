"""The one Markdown escaper: plain text (policy text, names, messages) made safe inside Markdown."""

from __future__ import annotations

import html
import re

#: Characters that may start a link, code span, emphasis, heading, strikethrough, quote or
#: table cell break, or raw HTML.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
_HTML = re.compile(r"([<>])")


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
