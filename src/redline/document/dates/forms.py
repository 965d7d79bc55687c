"""The forms a date statement takes in the body: a labelled line, a line vouched for by a
``datetime`` attribute, a bare date near the top, and a short sentence under the title.

Each form reads one line for the scanner (:class:`redline.document.dates.scan._Scanner`) and
returns its statement, or None when the line is not in that form.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from redline.document.dates.grammar import _template_at
from redline.document.dates.labels import _kind_of
from redline.document.dates.markup import (
    _BLANK_PLACEHOLDER,
    _DECORATION,
    _HWS,
    _LEADING,
    _POST,
    _PREFIX,
    _SENTENCE,
    _SENTENCE_LEAD_MAX,
    _SENTENCE_TAIL,
    _TAIL,
    _TRAILING,
    _wrapping,
)
from redline.document.dates.results import _make_match

if TYPE_CHECKING:
    from redline.document.dates.lines import _Line
    from redline.document.dates.results import DateMatch, DatetimeAttribute
    from redline.document.dates.scan import _Scanner
    from redline.document.dates.tokens import _Reading, _Token

_INVALID_VALUE_MAX = 60  # longer text after a label is prose, not a broken date


def _labelled(
    scanner: _Scanner, line: _Line, attribute: DatetimeAttribute | None
) -> DateMatch | None:
    """``Effective date: May 14, 2020``: a label, then a date, a template or nothing."""
    content = line.content
    head = scanner.label_re.match(content)
    if not head or (head.group("qual") and not head.group("colon")):
        return None
    label = re.sub(rf"{_HWS}+", " ", head.group("qual") + head.group("label"))
    pos = head.end()
    common: dict[str, Any] = {
        "label": label,
        "kind": _kind_of(head.group("label")),
        "source": "label",
        "attribute": attribute,
    }
    found = _labelled_date(scanner, line, pos, attribute)
    if found:
        token, reading, blank = found
        return _make_match(
            line,
            token=token,
            reading=reading,
            start=token.match.start(),
            end=token.match.end(),
            wrapping=_wrapping(content[:pos], content[token.match.end() :], content),
            blank=blank,
            **common,
        )
    if not head.group("colon"):
        return None
    return _unfilled(scanner, line, head, common)


def _labelled_date(
    scanner: _Scanner, line: _Line, pos: int, attribute: DatetimeAttribute | None
) -> tuple[_Token, _Reading, bool] | None:
    """The date after a label at ``pos`` (its reading), or a form template (blank: True)."""
    content = line.content
    token = scanner.grammar.match_at(content, pos)
    if token and _ends_statement(scanner, line, token.match.end()):
        return token, scanner.read(token, attribute), False
    template = _template_at(content, pos, scanner.grammar)
    if template and _POST.fullmatch(content, template[0].match.end()):
        return *template, True
    return None


def _unfilled(
    scanner: _Scanner, line: _Line, head: re.Match[str], common: dict[str, Any]
) -> DateMatch | None:
    """A label and colon with no date after them: a placeholder, nothing (both blank), or a
    value that is no date (an error, unless it is too long to be meant as one)."""
    content, pos = line.content, head.end()
    placeholder = _placeholder(content, head)
    if placeholder:
        start, end, after = placeholder.start(), placeholder.end(), content[placeholder.end() :]
        return _make_match(
            line,
            token=None,
            reading=None,
            start=start,
            end=end,
            wrapping=_wrapping(content[:pos], after, content),
            blank=True,
            **common,
        )
    wrapping = _wrapping(content[:pos], "", content)
    if _POST.fullmatch(content, pos):  # after the label's decoration, before closing markup
        return _make_match(
            line,
            token=None,
            reading=None,
            start=pos,
            end=pos,
            wrapping=wrapping,
            blank=True,
            insert_space=True,
            **common,
        )
    value = _DECORATION.sub(" ", content[pos:]).strip(" .;,")
    if len(value) > _INVALID_VALUE_MAX or not (
        re.search(r"\d", value) or scanner.grammar.month_re.search(value)
    ):
        return None
    return _make_match(
        line,
        token=None,
        reading=None,
        start=pos,
        end=_TRAILING.search(content, pos).start(),  # type: ignore[union-attr]
        wrapping=wrapping,
        error=(
            f"'{value}' is not a date the {common['label']!r} line can use",
            "write it as YYYY-MM-DD or e.g. May 14, 2020 (see README, 'Dates')",
        ),
        **common,
    )


def _ends_statement(scanner: _Scanner, line: _Line, pos: int) -> bool:
    """Whether the date ending at ``pos`` ends its statement (the rest is decoration,
    a link or note after ``|``, ``(``, ``[`` or a dash, or a next sentence)."""
    content = line.content
    if _POST.fullmatch(content, pos) or _TAIL.match(content, pos):
        return True
    tail = _SENTENCE_TAIL.match(content, pos)
    return tail is not None and (tail.group("next") is not None or line.index in scanner.top)


def _placeholder(content: str, head: re.Match[str]) -> re.Match[str] | None:
    """A blank placeholder (``____``, ``TBD``, ``[date]``) after the label's colon."""
    colon_end = head.end("colon")
    found = _BLANK_PLACEHOLDER.search(content, colon_end)
    if not found or not _POST.fullmatch(content, found.end()):
        return None
    if not _LEADING.fullmatch(content, colon_end, found.start()):
        return None
    run = found.group(0)
    if found.start() == colon_end and run[0] in "_-" and run[0] in head.group("pre"):
        return None  # the closing half of __bold__ or a rule, not a placeholder
    return found


def _attributed(scanner: _Scanner, line: _Line, attribute: DatetimeAttribute) -> DateMatch | None:
    """Any line with a ``datetime`` attribute: the date it writes (the one the attribute
    states, else the last), or a warning that its date is in no form redline reads."""
    content = line.content
    if not _DECORATION.sub("", content).strip():
        return None
    readings = [(t, scanner.read(t, attribute)) for t in scanner.grammar.search(content)]
    chosen = next(((t, r) for t, r in readings if r.date == attribute.date), None)
    if chosen is None and readings:
        chosen = readings[-1]
    if chosen is None:
        point = len(content)
        return _make_match(
            line,
            label=_DECORATION.sub(" ", content).strip(" :\uff1a-") or None,
            source="attribute",
            token=None,
            reading=None,
            start=point,
            end=point,
            wrapping=_wrapping(content, "", content),
            attribute=attribute,
            warnings=(
                "the date in this line is not in a form redline reads"
                + ("" if scanner.opts.locale else " (set locale for month names in its language)"),
            ),
        )
    token, reading = chosen
    before = content[: token.match.start()]
    label = _DECORATION.sub(" ", before).strip(" :\uff1a-\u2013\u2014,")
    label = re.sub(r"\s+", " ", label) or None
    return _make_match(
        line,
        label=label,
        source="attribute" if label else "bare",
        token=token,
        reading=reading,
        start=token.match.start(),
        end=token.match.end(),
        wrapping=_wrapping(before, content[token.match.end() :], content),
        attribute=attribute,
    )


def _bare(scanner: _Scanner, line: _Line, attribute: DatetimeAttribute | None) -> DateMatch | None:
    """A date alone on its line, with nothing but decoration around it."""
    content = line.content
    head = re.match(_PREFIX, content, re.I)
    if head is None:
        return None
    token = scanner.grammar.match_at(content, head.end())
    if token is None:
        return None
    post = _POST.match(content, token.match.end())
    if post is None or post.end() != len(content):
        return None
    before, after = content[: head.end()], content[token.match.end() :]
    return _make_match(
        line,
        label=None,
        source="bare",
        token=token,
        reading=scanner.read(token, attribute),
        start=token.match.start(),
        end=token.match.end(),
        wrapping=_wrapping(before, after, content),
        attribute=attribute,
    )


def _sentence(
    scanner: _Scanner, line: _Line, attribute: DatetimeAttribute | None
) -> DateMatch | None:
    """A date in a short sentence near the top: "These terms were last updated on ..."."""
    content = line.content
    for found in _SENTENCE.finditer(content):
        lead = _DECORATION.sub(" ", content[: found.start()]).strip()
        if len(lead) > _SENTENCE_LEAD_MAX or re.search(r"[.!?;:]\s", lead + " "):
            return None
        token = scanner.grammar.match_at(content, found.end())
        if token is None or not _ends_statement(scanner, line, token.match.end()):
            continue
        return _make_match(
            line,
            label=re.sub(rf"{_HWS}+", " ", found.group("label")),
            source="sentence",
            token=token,
            reading=scanner.read(token, attribute),
            start=token.match.start(),
            end=token.match.end(),
            wrapping=_wrapping(content[: found.end()], content[token.match.end() :], content),
            attribute=attribute,
        )
    return None
