"""Section identity: a heading's label and title ("6.2 Cookies"), and the key sections are
matched by across revisions (the title's words, without the number).
"""

from __future__ import annotations

import re

_WORDS = re.compile(r"\w+")
# A section label at the start of a heading: "6", "6.2", "6.2.1", "a)", "(iii)", "IV.", "§ 3".
_LABEL = re.compile(
    r"^(?:(?:section|article|clause|part|§)\s*)?"
    r"(?P<label>\d+(?:\.\d+)*(?=[.):\s]|$)|\([0-9A-Za-z]{1,6}\)|[A-Za-z](?=[.)])|"
    r"[IVXLCivxlc]{1,6}(?=[.)]))"
    r"[.):]?(?:\s+|$)(?P<title>.*)$",
    re.I,
)


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
