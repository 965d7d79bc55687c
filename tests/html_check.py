"""An HTML validator for generated pages: strict HTML5 parsing with html5lib.

``html_problems(text)`` lists every parse error (bad nesting, a stray end tag, an attribute
twice, a missing doctype …) as "line L, column C: code"; an empty list means the page parses
as the HTML5 specification's parser wants it. ``heading_outline(text)`` checks the outline:
one ``h1`` and no heading level skipped.
"""

from __future__ import annotations

import itertools
import re

import html5lib

_HEADING = re.compile(r"<h([1-6])[\s>]", re.IGNORECASE)


def html_problems(text: str) -> list[str]:
    """Every HTML5 parse error of ``text`` (a whole document), empty when it is valid."""
    parser = html5lib.HTMLParser(strict=False)
    parser.parse(text)
    problems = []
    for (line, column), code, data in parser.errors:
        detail = f" {data}" if data else ""
        problems.append(f"line {line}, column {column}: {code}{detail}")
    if not text.lstrip().lower().startswith("<!doctype html>"):
        problems.append("line 1: the page does not start with <!DOCTYPE html>")
    return problems


def heading_outline(text: str) -> list[str]:
    """Problems of the heading outline: not exactly one h1, or a level skipped."""
    levels = [int(level) for level in _HEADING.findall(text)]
    problems = []
    if levels.count(1) != 1:
        problems.append(f"{levels.count(1)} h1 elements (a page has one)")
    for before, after in itertools.pairwise(levels):
        if after > before + 1:
            problems.append(f"h{before} followed by h{after}: a heading level is skipped")
    return problems
