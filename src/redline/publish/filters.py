"""The template filters that need no template environment: dates, Markdown, prose, diffs."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from html import unescape
from typing import TYPE_CHECKING
from urllib.parse import unquote

from markupsafe import Markup

from redline.compare.views import render_html, render_markdown, render_text
from redline.md import markdown_html

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_LIST_MARKER = re.compile(r"\s*((?:[-*+]|\d+[.)])\s+)")
_LIST_ITEM_START = re.compile(r"\n(?=\s*(?:[-*+]|\d+[.)])\s)")
_LINK = re.compile(r'<a href="([^"]*)"(?: title="[^"]*")?>(.*?)</a>', re.S)
_IMAGE = re.compile(r'<img src="([^"]*)" alt="([^"]*)"[^>]*>')
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_ID = re.compile(r'\sid="([^"]*)"')
_HEADING = re.compile(r"<h([1-6])(\s[^>]*)?>(.*?)</h\1>", re.S)


def markdown_to_html(text: str) -> Markup:
    """Policy Markdown as HTML by the one rule of :func:`redline.md.markdown_html`: raw HTML
    in the source is shown as text (escaped), never rendered."""
    return Markup(markdown_html(str(text)))


def nest_headings(html: str, *, top: int) -> str:
    """``html`` with its headings moved below a page's own: the first at level ``top``, and
    none more than one level below the one before it (no level skipped), h6 at most.

    Only for HTML made from policy Markdown, whose raw HTML is escaped: every ``<hN>`` in it
    is a Markdown heading.
    """
    offset = top - min((int(m.group(1)) for m in _HEADING.finditer(html)), default=top)
    previous = top - 1

    def nest(match: re.Match[str]) -> str:
        nonlocal previous
        level = max(top, min(int(match.group(1)) + offset, previous + 1, 6))
        previous = level
        return f"<h{level}{match.group(2) or ''}>{match.group(3)}</h{level}>"

    return _HEADING.sub(nest, html)


def unlink_unreachable(html: str) -> str:
    """Policy ``html`` with each link a reader of the site cannot follow shown as its text,
    and each image it cannot load as its alt text: a relative or root-relative target (an
    exported page's ``/support`` or ``logo.png``, meant for its own site) and an anchor
    the page does not have (``#information-use`` of a page exported without its ids).
    Absolute targets (``https:``, ``mailto:``) are kept."""
    ids = {unescape(found) for found in _ID.findall(html)}

    def reachable(target: str) -> bool:
        target = unescape(target)
        if target.startswith("#"):
            return unquote(target[1:]) in ids
        return bool(_SCHEME.match(target))

    def link(match: re.Match[str]) -> str:
        return match.group(0) if reachable(match.group(1)) else match.group(2)

    def image(match: re.Match[str]) -> str:
        return match.group(0) if reachable(match.group(1)) else match.group(2)

    return _IMAGE.sub(image, _LINK.sub(link, html))


def isodate(value: dt.date | dt.datetime | None) -> str:
    """``YYYY-MM-DD`` (the date part of a datetime), or '' for None."""
    if value is None:
        return ""
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()


def rfc3339(value: dt.date | dt.datetime) -> str:
    """An RFC 3339 timestamp in UTC, as Atom requires; a date means its midnight UTC."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reflow(text: str, width: int = 72, first: str = "", rest: str = "") -> str:
    """Plain text refilled to ``width``: paragraphs and list items kept, long URLs unbroken.

    ``first`` and ``rest`` indent the first and the following lines (``"  - "``, ``"    "``).
    """
    out = []
    for paragraph in re.split(r"\n\s*\n", str(text).strip()):
        items = _LIST_ITEM_START.split(paragraph)
        lines = []
        for item in items:
            match = _LIST_MARKER.match(item)
            hang = rest + " " * (len(match.group(1).strip()) + 1) if match else rest
            filled = textwrap.fill(
                " ".join(item.split()),
                width=width,
                initial_indent=first if not lines else rest,
                subsequent_indent=hang,
                break_long_words=False,
                break_on_hyphens=False,
            )
            lines.append(filled)
        out.append("\n".join(lines))
        first = rest
    return "\n\n".join(out)


def number_word(count: int) -> str:
    """``1`` -> ``"one"`` up to nine, digits from ten on (house style for prose)."""
    return _NUMBER_WORDS[count] if 0 <= count < len(_NUMBER_WORDS) else str(count)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``singular`` when ``count`` is 1, else ``plural_form`` (default ``singular + "s"``)."""
    return singular if count == 1 else (plural_form or singular + "s")


def diff_markdown(diff: DiffResult) -> str:

    return render_markdown(diff)


def diff_html(diff: DiffResult) -> Markup:

    return Markup(render_html(diff))


def diff_text(diff: DiffResult) -> str:

    return render_text(diff)
