"""Writing a date: every occurrence of the managed date rewritten in its own form, or the
line inserted under the title, and the result read back.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from redline.document.dates.evidence import _proved_by
from redline.document.dates.labels import date_line
from redline.document.dates.lines import _layout, _Line, _split_lines
from redline.document.dates.options import DateOptions, date_options
from redline.document.dates.read import _choose, _missing, earliest_reading, find_effective_date
from redline.document.dates.results import DateEdit, DateMatch, EffectiveDate, LineChange
from redline.document.dates.scan import find_dates
from redline.document.dates.tokens import _Unwritable
from redline.errors import DateError

if TYPE_CHECKING:
    from redline.config import Settings


def _edits_for(match: DateMatch, value: date, name: str) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []
    token, reading = match._token, match._reading
    if token is not None and reading is not None:
        try:
            new = token.render(value, reading.style)
        except _Unwritable as problem:
            raise DateError(f"{name}:{match.line}: {problem.message}", hint=problem.hint) from None
        edits.append((match.start, match.end, new))
    elif match.blank:
        space = match._insert_space and match.start > match.line_start
        space = space and not match.text[match.start - match.line_start - 1].isspace()
        following = match.text[match.end - match.line_start :][:1]
        padding = " " if following == "|" else ""  # an empty table cell
        edits.append((match.start, match.end, (" " if space else "") + value.isoformat() + padding))
    elif match.source == "attribute":
        raise DateError(
            f"{name}:{match.line}: cannot rewrite {match.text.strip()!r}: "
            "its date is not in a form redline reads",
            hint="set locale to the policy's language, or write the date as YYYY-MM-DD",
        )
    else:
        edits.append((match.start, match.end, value.isoformat()))
    if match.attribute is not None:
        attr = match.attribute
        edits.append((attr.start, attr.end, attr.render(value)))
    return edits


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(set(edits), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _insert_line(
    text: str, value: date, settings: Settings | DateOptions | None
) -> tuple[str, int]:
    """``text`` with the effective-date line added under the title; returns its 1-based line."""
    layout, lines = _layout(text), _split_lines(text)
    new_line = date_line(settings, value)
    eol = next((ln.eol for ln in lines if ln.eol), "\n")
    if layout.title is not None:
        anchor: _Line | None = layout.title
    elif layout.front_matter:
        anchor = lines[layout.front_matter[1]]
    else:
        anchor = None
    if anchor is None:
        following = lines[0] if lines else None
        gap = eol if following is not None and following.content.strip() else ""
        return new_line + eol + gap + text, 1
    position = anchor.end
    following = lines[anchor.index + 1] if anchor.index + 1 < len(lines) else None
    if not anchor.eol:  # the title is the last line and has no line ending: keep it that way
        return text + eol + eol + new_line, anchor.index + 3
    if following is None:
        return text + eol + new_line + eol, anchor.index + 3
    addition = eol + new_line + eol
    if following.content.strip():
        addition += eol
    return text[:position] + addition + text[position:], anchor.index + 3


def edit_effective_date(
    text: str,
    value: date,
    settings: Settings | DateOptions | None = None,
    *,
    name: str = "<policy>",
    insert: bool = False,
) -> DateEdit:
    """Set the managed date of ``text`` to ``value``, written in the form it was written in.

    Every occurrence of the managed date (front matter and body) and its datetime attribute is
    rewritten; all other characters stay as they were. Without a date statement, ``insert``
    adds the line ``Effective date: YYYY-MM-DD`` under the title; otherwise DateError shows that
    line. The result is read back, in the order the old date proves or ``settings`` gives, to
    make sure it states ``value`` (a month-year date: its month).
    """
    inserted = False
    readback = date_options(settings)
    try:
        current = find_effective_date(text, settings, name=name, require_date=False)
    except DateError:
        matches = find_dates(text, settings)
        managed, others = _choose(matches, settings)
        if managed or not insert:
            if not managed:
                raise _missing(text, settings, name, value, others) from None
            raise
        new_text, line = _insert_line(text, value, settings)
        changes: tuple[LineChange, ...] = (LineChange(line, None, date_line(settings, value)),)
        previous = None
        inserted = True
    else:
        previous = current.date
        # the date as written proves its order ("05/14/2020"): the new one reads back in it
        proved = next(filter(None, map(_proved_by, current.matches)), None)
        readback = readback.with_order(proved)
        new_text, changes = _rewrite(text, current, value, name)
    after = _read_back(new_text, value, readback, name, changes)
    return DateEdit(new_text, value, previous, changes, inserted, after)


def _rewrite(
    text: str, current: EffectiveDate, value: date, name: str
) -> tuple[str, tuple[LineChange, ...]]:
    """``text`` with every occurrence of ``current`` set to ``value``, and the lines changed."""
    edits = [e for m in current.matches for e in _edits_for(m, value, name)]
    new_text = _apply(text, edits)
    old_lines, new_lines = _split_lines(text), _split_lines(new_text)
    changes = tuple(
        LineChange(old.index + 1, old.content, new.content)
        for old, new in zip(old_lines, new_lines, strict=True)
        if old.content != new.content
    )
    return new_text, changes


def _read_back(
    new_text: str,
    value: date,
    readback: DateOptions,
    name: str,
    changes: tuple[LineChange, ...],
) -> EffectiveDate:
    """The managed date of ``new_text``; DateError when it does not state ``value``."""
    written = "; ".join(repr(change.new.strip()) for change in changes)
    try:
        after = find_effective_date(new_text, readback, name=name)
    except DateError as problem:
        reason = problem.message.removeprefix(f"{name}:").lstrip("0123456789:").strip()
        raise DateError(
            f"{name}: writing {value.isoformat()} as {written} would not read back: {reason}",
            hint=problem.hint,
        ) from None
    if after.date != earliest_reading(value, after.precision):
        raise DateError(
            f"{name}: writing {value.isoformat()} as {written} would read back as "
            f"{after.date.isoformat() if after.date else 'no date'}",
            hint="check date_order in [tool.redline], or write the date as YYYY-MM-DD",
        )
    return after


def set_effective_date(
    text: str,
    value: date,
    settings: Settings | DateOptions | None = None,
    *,
    name: str = "<policy>",
    insert: bool = False,
) -> str:
    """``text`` with its managed date set to ``value`` (see :func:`edit_effective_date`)."""
    return edit_effective_date(text, value, settings, name=name, insert=insert).text
