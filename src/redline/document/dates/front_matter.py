"""Dates in YAML front matter: a date key (``effective_date``, ``last_updated`` ...) and its
one-line scalar value, for the scanner (:class:`redline.document.dates.scan._Scanner`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from redline.document.dates.grammar import _template_at
from redline.document.dates.labels import _kind_of, _norm_label
from redline.document.dates.results import _make_match

if TYPE_CHECKING:
    from redline.document.dates.lines import _Line
    from redline.document.dates.results import DateMatch
    from redline.document.dates.scan import _Scanner

_FRONT_MATTER_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)[ \t]*:(?P<rest>.*)$")
_FM_TIME = re.compile(r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")


def _front_matter(scanner: _Scanner, line: _Line) -> DateMatch | None:
    """The date statement of a front matter line whose key names a date, or None."""
    found = _FRONT_MATTER_KEY.match(line.content)
    if not found:
        return None
    key = found.group("key")
    if _kind_of(key) == "other" and _norm_label(key) != scanner.label_norm:
        return None
    rest = found.group("rest")
    offset = found.start("rest") + (len(rest) - len(rest.lstrip()))
    value = _yaml_scalar(rest.strip())
    if value is None:
        return None  # a block scalar, a list or an unterminated quote: not a date value
    quoted = rest.strip()[:1] in ("'", '"')
    if quoted:
        offset += 1
    common: dict[str, Any] = {"label": key, "source": "front_matter", "wrapping": ()}
    if value.strip() == "" or (not quoted and value in ("null", "~")):
        if value or quoted:
            start, end = offset, offset + len(value)
        else:
            start = end = _insertion_point(line.content, found.start("rest"))
        return _make_match(
            line,
            token=None,
            reading=None,
            start=start,
            end=end,
            blank=True,
            insert_space=not value and not quoted,
            **common,
        )
    return _front_matter_value(scanner, line, offset, value, common)


def _front_matter_value(
    scanner: _Scanner, line: _Line, offset: int, value: str, common: dict[str, Any]
) -> DateMatch:
    """The statement of a filled-in value at ``offset``: a date (a time may follow), a form
    template (blank), or an error."""
    token = scanner.grammar.match_at(line.content, offset, offset + len(value))
    if token and _FM_TIME.match(value, token.match.end() - offset):
        return _make_match(
            line,
            token=token,
            reading=scanner.read(token, None),
            start=token.match.start(),
            end=token.match.end(),
            **common,
        )
    template = _template_at(line.content, offset, scanner.grammar)
    if template and template[0].match.end() == offset + len(value):
        token, reading = template
        return _make_match(
            line,
            token=token,
            reading=reading,
            start=token.match.start(),
            end=token.match.end(),
            blank=True,
            **common,
        )
    return _make_match(
        line,
        token=None,
        reading=None,
        start=offset,
        end=offset + len(value),
        error=(
            f"front matter key '{common['label']}': {value!r} is not a date",
            "write it as YYYY-MM-DD",
        ),
        **common,
    )


def _yaml_scalar(raw: str) -> str | None:
    """The text of a one-line YAML scalar without quotes and trailing comment."""
    if raw[:1] in ("'", '"'):
        close = raw.find(raw[0], 1)
        if close < 0 or raw[close + 1 :].strip()[:1] not in ("", "#"):
            return None
        return raw[1:close]
    if raw[:1] in ("|", ">", "[", "{", "&", "*", "!"):
        return None
    comment = re.search(r"[ \t]#", raw)
    return raw[: comment.start()].rstrip() if comment else raw


def _insertion_point(content: str, minimum: int) -> int:
    """Where a blank date is filled in: after the last visible character, past one space."""
    point = max(len(content.rstrip(" \t")), minimum)
    return point + 1 if content[point : point + 1] in (" ", "\t") else point
