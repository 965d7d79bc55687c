"""The Markdown and HTML decoration policies put around a date and its label (regex parts)."""

from __future__ import annotations

import re

_HWS = r"(?:[ \t\u00a0\u202f]|&nbsp;|&#160;|&#xa0;|&#x20;|&#32;)"


_DWS = r"(?:[ \t\u00a0\u202f]|&nbsp;|&#160;|&#xa0;|&#x20;)+"


_TAGS = r"(?:strong|b|em|i|u|mark|time|span|small|p)"


_OPEN = rf"(?:\*++|_++|~~|\[|\(|<{_TAGS}\b[^>]*>)"


_EMPH = r"(?:\*++|_++|~~)"


_CLOSE = (
    r"(?:\*++|_++|~~|\]\([^)]*\)|\]\[[^\]]*\]|\]|\)|\||\{:[^}]*\}"
    rf"|</{_TAGS}>|<br\s*/?>)"
)


_PREFIX = (
    r"^[ \t]*(?:>[ \t]*)*(?:(?:[-*+]|\d{1,3}[.)])[ \t]+)?(?:#{1,6}[ \t]+)?"
    rf"(?P<pre>(?:{_OPEN}|\||{_HWS})*+)"
)


_MID = (
    rf"(?P<mid>(?:{_EMPH}|</{_TAGS}>|{_HWS})*+"
    rf"(?P<colon>[:\uff1a|]|[-\u2013\u2014](?={_HWS}))?"
    rf"(?:{_EMPH}|</{_TAGS}>|{_HWS})*+"
    rf"(?:(?:on|from|as\s+of)(?={_HWS}){_HWS}+)?"
    rf"(?:{_OPEN}|{_HWS})*+)"
)


_POST = re.compile(rf"(?:{_CLOSE}|{_HWS}|[.;,]|\\)*+", re.I)


# what may follow a date that ends its statement: links or notes after "|", "(", "[" or a dash,
# or (near the top, or before another label) a new sentence
_TAIL = re.compile(rf"(?:{_CLOSE}|{_HWS}|\\)*+(?:[|(\[]|[-\u2013\u2014]{_HWS})", re.I)


_SENTENCE_TAIL = re.compile(
    rf"(?:{_CLOSE}|{_HWS}|\\)*+[.;]{_HWS}+(?P<next>(?:last{_HWS}+)?(?:updated|revised|modified))?",
    re.I,
)


# a date in a sentence under the title: "This policy is effective as of 3 February 2021."
_SENTENCE = re.compile(
    rf"(?<![^\W_])(?P<label>effective|(?:last{_HWS}+)?(?:updated|revised|modified|changed))"
    rf"(?:{_HWS}+(?:as{_HWS}+of|on|from|since))?{_HWS}+(?:{_OPEN})*",
    re.I,
)


_SENTENCE_LEAD_MAX = 80  # characters before the label; longer, it is prose about something else


_LEADING = re.compile(rf"(?:{_EMPH}|</{_TAGS}>|{_HWS}|\[|<{_TAGS}\b[^>]*>)*+", re.I)


_TRAILING = re.compile(rf"(?:{_CLOSE}|{_HWS}|[.;,]|\\)*+$", re.I)


_DECORATION = re.compile(rf"{_OPEN}|{_CLOSE}|{_HWS}|\\", re.I)


_BLANK_PLACEHOLDER = re.compile(
    r"(?:_{2,}|-{2,}|\?{2,}|\.{3}|\u2026|TB[AD]|\\?\[[^\]\n]{0,30}\\?\]|<[^>\n]{1,30}>"
    r"|xx/xx/xxxx|xx\.xx\.xxxx)",
    re.I,
)


def _wrapping(before: str, after: str, line: str) -> tuple[str, ...]:
    found = []
    stripped = line.lstrip()
    if stripped.startswith("#"):
        found.append("heading")
    elif stripped.startswith(">"):
        found.append("quote")
    elif re.match(r"^(?:[-*+]|\d{1,3}[.)])[ \t]", stripped):
        found.append("list")
    around = before + " " + after
    if re.search(r"\*\*|__|<strong\b|<b>", around, re.I):
        found.append("bold")
    if re.search(r"(?<!\*)\*(?!\*)|\*\*\*|(?<![_\w])_(?!_)|___|<em\b|<i>", around, re.I):
        found.append("italic")
    if "](" in after or "][" in after:
        found.append("link")
    if re.search(r"\bdatetime\s*=", line, re.I):
        found.append("datetime attribute")
    return tuple(found)
