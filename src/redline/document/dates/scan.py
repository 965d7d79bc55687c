"""Effective dates: find them in every form policies write them, and rewrite them in place.

redline works on the raw text here, never on the parsed model, so that a rewrite changes the
date and nothing else: label, punctuation, emphasis, links, line endings, trailing newline and
encoding stay byte for byte as they were.

Where a date is found:

* a labelled line (``Effective date:``, ``Last updated``, ``Effective as of`` ...), the date or
  the whole line optionally wrapped in bold, italic, a link, a heading or a list item;
* a bare date alone on an emphasised line near the top (under the title);
* a front matter key (``effective_date``, ``effective``, ``last_updated`` ...);
* any line followed by (or carrying) a kramdown/HTML ``datetime="YYYY-MM-DD"`` attribute,
  which is kept in sync with the human-readable date;
* a labelled line with nothing after the colon, or a placeholder (``____``, ``TBD``,
  ``MM/DD/YYYY``), is a blank date waiting to be filled in.

Forms: ``2020-05-14``, ``05/14/2020`` and ``14/05/2020`` (config ``date_order`` decides when
both readings are valid), ``14.05.2020`` (the same rule),
``May 14, 2020``, ``14 May 2020``, ``May 14th, 2020``, abbreviated months with or without a dot
(``Sept``), optional weekdays, and month names of the config ``locale`` via babel.
"""

from __future__ import annotations

import codecs
import itertools
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from redline.document.dates.command_line import resolve_today
from redline.document.dates.grammar import _check_locale, _grammar, _template_at
from redline.document.dates.labels import (
    _kind_of,
    _label_regex,
    _managed_label,
    _norm_label,
    date_line,
)
from redline.document.dates.lines import (
    _Layout,
    _layout,
    _Line,
    _line_at,
    _lines_from,
    _split_lines,
    _top_region,
)
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
from redline.document.dates.options import DateOptions, date_options
from redline.document.dates.results import (
    DateEdit,
    DateMatch,
    DatetimeAttribute,
    EffectiveDate,
    LineChange,
)
from redline.document.dates.tokens import _first, _pad_of, _Reading, _Token, _Unwritable, _valid
from redline.errors import DateError, InputError, Problem

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from redline.config import Settings


_INVALID_VALUE_MAX = 60  # longer text after a label is prose, not a broken date

# -- small regex building blocks (inline Markdown/HTML decoration around a date) ---------------

_ATTRIBUTE = re.compile(
    r"\bdatetime\s*=\s*(?P<q>[\"']?)(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?P<rest>[T ][^\"'\s}>]*)?(?P=q)",
    re.I,
)
_FRONT_MATTER_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)[ \t]*:(?P<rest>.*)$")
_FM_TIME = re.compile(r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")


# -- month and weekday names --------------------------------------------------------------


# -- the grammar of date tokens ------------------------------------------------------------


# -- templates: placeholders that say which form to write -----------------------------------


# -- public results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyFile:
    """A policy's text with what is needed to write it back byte for byte."""

    path: Path
    text: str
    bom: bytes

    def encode(self, text: str) -> bytes:
        """``text`` in the file's encoding, with its byte order mark if it had one."""
        return self.bom + text.encode("utf-8")


# -- scanning ---------------------------------------------------------------------------------


def _insertion_point(content: str, minimum: int) -> int:
    """Where a blank date is filled in: after the last visible character, past one space."""
    point = max(len(content.rstrip(" \t")), minimum)
    return point + 1 if content[point : point + 1] in (" ", "\t") else point


def _attribute_for(layout: _Layout, line: _Line) -> DatetimeAttribute | None:
    """The ``datetime`` attribute on ``line`` or in a kramdown IAL on the next line."""
    candidates = [line]
    if line.index + 1 in layout.ial:
        candidates.append(_line_at(layout.text, line.end, line.index + 1))
    for candidate in candidates:
        found = _ATTRIBUTE.search(candidate.content) if "=" in candidate.content else None
        if not found:
            continue
        y, m, d = found.group("y"), found.group("m"), found.group("d")
        return DatetimeAttribute(
            line=candidate.index + 1,
            value=found.group(0),
            date=_valid(int(y), int(m), int(d)),
            start=candidate.start + found.start("y"),
            end=candidate.start + found.end("d"),
            pad_month=_first(_pad_of(m), _pad_of(d), True),
            pad_day=_first(_pad_of(d), _pad_of(m), True),
        )
    return None


class _Scanner:
    """Finds every date statement in one text."""

    def __init__(self, text: str, opts: DateOptions) -> None:
        self.text = text
        self.opts = opts
        self.grammar = _grammar(opts.locale)
        self.layout = _layout(text)
        self.label_re = _label_regex(opts.date_label)
        self.label_norm = _managed_label(opts)
        self.top = _top_region(self.layout)

    def scan(self) -> Iterator[DateMatch]:
        """The date statements in order: front matter first, then the body."""
        layout = self.layout
        if layout.front_matter:
            first, last = layout.front_matter
            for line in itertools.islice(_lines_from(self.text), first + 1, last):
                match = self._front_matter(line)
                if match:
                    yield match
        top = self.top
        for line in _lines_from(self.text, layout.body_offset, layout.body_start):
            if line.index in layout.ial or layout.in_code(line.index):
                continue
            attribute = _attribute_for(layout, line)
            match = self._labelled(line, attribute)
            if match is None and attribute is not None:
                match = self._attributed(line, attribute)
            if match is None and (line.index in top or attribute is not None):
                match = self._bare(line, attribute)
            if match is None and line.index in top:
                match = self._sentence(line, attribute)
            if match:
                yield match

    # -- helpers building DateMatch objects ----------------------------------------------

    def _make(
        self,
        line: _Line,
        *,
        label: str | None,
        source: str,
        token: _Token | None,
        reading: _Reading | None,
        start: int,
        end: int,
        wrapping: tuple[str, ...],
        kind: str | None = None,
        attribute: DatetimeAttribute | None = None,
        blank: bool = False,
        insert_space: bool = False,
        error: tuple[str, str | None] | None = None,
        warnings: tuple[str, ...] = (),
    ) -> DateMatch:
        value = None if blank or reading is None else reading.date
        message = hint = None
        if error:
            message, hint = error
        elif reading is not None and reading.error and not blank:
            message, hint = reading.error, reading.hint
        notes = list(warnings) + list(reading.warnings if reading else ())
        if attribute is not None:
            if attribute.date is None:
                notes.append(f"datetime attribute {attribute.value!r} is not a valid date")
            elif value is None and reading is None and not blank:
                value = attribute.date
            elif value is not None and attribute.date != value:
                notes.append(
                    f"datetime attribute says {attribute.date.isoformat()} but the text says "
                    f"{value.isoformat()}; setting the date rewrites both"
                )
        if blank:
            form = "blank" if token is None else f"placeholder {reading.pattern}"  # type: ignore[union-attr]
        elif reading is not None:
            form = reading.pattern
        else:
            form = "datetime attribute only"
        precision = reading.precision if reading is not None and not blank else "day"
        return DateMatch(
            date=value,
            line=line.index + 1,
            text=line.content,
            label=label,
            kind=kind or (_kind_of(label) if source != "bare" else "other"),
            source=source,
            form=form,
            wrapping=wrapping,
            start=line.start + start,
            end=line.start + end,
            blank=blank,
            error=message,
            hint=hint,
            attribute=attribute,
            warnings=tuple(notes),
            line_start=line.start,
            line_end=line.end,
            precision=precision,
            _token=token,
            _reading=reading,
            _insert_space=insert_space,
        )

    def _read(self, token: _Token, attribute: DatetimeAttribute | None) -> _Reading:
        hint = attribute.date if attribute else None
        return token.read(self.opts.date_order, hint)

    # -- the forms ---------------------------------------------------------------------------

    def _labelled(self, line: _Line, attribute: DatetimeAttribute | None) -> DateMatch | None:
        content = line.content
        head = self.label_re.match(content)
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
        found: tuple[_Token, _Reading] | None = None
        token = self.grammar.match_at(content, pos)
        if token and self._ends_statement(line, token.match.end()):
            found, blank = (token, self._read(token, attribute)), False
        else:
            template = _template_at(content, pos, self.grammar)
            if template and _POST.fullmatch(content, template[0].match.end()):
                found, blank = template, True
        if found:
            token, reading = found
            return self._make(
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
        placeholder = self._placeholder(content, head)
        if placeholder:
            return self._make(
                line,
                token=None,
                reading=None,
                start=placeholder.start(),
                end=placeholder.end(),
                wrapping=_wrapping(content[:pos], content[placeholder.end() :], content),
                blank=True,
                **common,
            )
        if _POST.fullmatch(content, pos):
            point = pos  # after the label's decoration, before any closing markup
            return self._make(
                line,
                token=None,
                reading=None,
                start=point,
                end=point,
                wrapping=_wrapping(content[:pos], "", content),
                blank=True,
                insert_space=True,
                **common,
            )
        value = _DECORATION.sub(" ", content[pos:]).strip(" .;,")
        if len(value) <= _INVALID_VALUE_MAX and (
            re.search(r"\d", value) or self.grammar.month_re.search(value)
        ):
            return self._make(
                line,
                token=None,
                reading=None,
                start=pos,
                end=_TRAILING.search(content, pos).start(),  # type: ignore[union-attr]
                wrapping=_wrapping(content[:pos], "", content),
                error=(
                    f"'{value}' is not a date the {label!r} line can use",
                    "write it as YYYY-MM-DD or e.g. May 14, 2020 (see README, 'Dates')",
                ),
                **common,
            )
        return None

    def _ends_statement(self, line: _Line, pos: int) -> bool:
        """Whether the date ending at ``pos`` ends its statement (the rest is decoration,
        a link or note after ``|``, ``(``, ``[`` or a dash, or a next sentence)."""
        content = line.content
        if _POST.fullmatch(content, pos) or _TAIL.match(content, pos):
            return True
        tail = _SENTENCE_TAIL.match(content, pos)
        return tail is not None and (tail.group("next") is not None or line.index in self.top)

    @staticmethod
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

    def _attributed(self, line: _Line, attribute: DatetimeAttribute) -> DateMatch | None:
        content = line.content
        if not _DECORATION.sub("", content).strip():
            return None
        tokens = self.grammar.search(content)
        readings = [(t, self._read(t, attribute)) for t in tokens]
        chosen = next(((t, r) for t, r in readings if r.date == attribute.date), None)
        if chosen is None and readings:
            chosen = readings[-1]
        if chosen is None:
            point = len(content)
            label = _DECORATION.sub(" ", content).strip(" :\uff1a-") or None
            return self._make(
                line,
                label=label,
                source="attribute",
                token=None,
                reading=None,
                start=point,
                end=point,
                wrapping=_wrapping(content, "", content),
                attribute=attribute,
                warnings=(
                    "the date in this line is not in a form redline reads"
                    + ("" if self.opts.locale else " (set locale for month names in its language)"),
                ),
            )
        token, reading = chosen
        before = content[: token.match.start()]
        label = _DECORATION.sub(" ", before).strip(" :\uff1a-\u2013\u2014,")
        label = re.sub(r"\s+", " ", label) or None
        return self._make(
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

    def _bare(self, line: _Line, attribute: DatetimeAttribute | None) -> DateMatch | None:
        content = line.content
        head = re.match(_PREFIX, content, re.I)
        if head is None:
            return None
        token = self.grammar.match_at(content, head.end())
        if token is None:
            return None
        post = _POST.match(content, token.match.end())
        if post is None or post.end() != len(content):
            return None
        before, after = content[: head.end()], content[token.match.end() :]
        return self._make(
            line,
            label=None,
            source="bare",
            token=token,
            reading=self._read(token, attribute),
            start=token.match.start(),
            end=token.match.end(),
            wrapping=_wrapping(before, after, content),
            attribute=attribute,
        )

    def _sentence(self, line: _Line, attribute: DatetimeAttribute | None) -> DateMatch | None:
        """A date in a short sentence near the top: "These terms were last updated on ..."."""
        content = line.content
        for found in _SENTENCE.finditer(content):
            lead = _DECORATION.sub(" ", content[: found.start()]).strip()
            if len(lead) > _SENTENCE_LEAD_MAX or re.search(r"[.!?;:]\s", lead + " "):
                return None
            token = self.grammar.match_at(content, found.end())
            if token is None or not self._ends_statement(line, token.match.end()):
                continue
            return self._make(
                line,
                label=re.sub(rf"{_HWS}+", " ", found.group("label")),
                source="sentence",
                token=token,
                reading=self._read(token, attribute),
                start=token.match.start(),
                end=token.match.end(),
                wrapping=_wrapping(content[: found.end()], content[token.match.end() :], content),
                attribute=attribute,
            )
        return None

    def _front_matter(self, line: _Line) -> DateMatch | None:
        found = _FRONT_MATTER_KEY.match(line.content)
        if not found:
            return None
        key = found.group("key")
        norm = _norm_label(key)
        known = _kind_of(key) != "other" or norm == self.label_norm
        if not known:
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
            return self._make(
                line,
                token=None,
                reading=None,
                start=start,
                end=end,
                blank=True,
                insert_space=not value and not quoted,
                **common,
            )
        token = self.grammar.match_at(line.content, offset, offset + len(value))
        if token and _FM_TIME.match(value, token.match.end() - offset):
            return self._make(
                line,
                token=token,
                reading=self._read(token, None),
                start=token.match.start(),
                end=token.match.end(),
                **common,
            )
        template = _template_at(line.content, offset, self.grammar)
        if template and template[0].match.end() == offset + len(value):
            token, reading = template
            return self._make(
                line,
                token=token,
                reading=reading,
                start=token.match.start(),
                end=token.match.end(),
                blank=True,
                **common,
            )
        return self._make(
            line,
            token=None,
            reading=None,
            start=offset,
            end=offset + len(value),
            error=(
                f"front matter key '{key}': {value!r} is not a date",
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


# -- public API: reading -------------------------------------------------------------------


def find_dates(text: str, settings: Settings | DateOptions | None = None) -> list[DateMatch]:
    """Every date statement in ``text`` (front matter first, then the body in order)."""
    return list(_scan(text, date_options(settings)))


@lru_cache(maxsize=16)
def _scan(text: str, opts: DateOptions) -> tuple[DateMatch, ...]:
    """The scan of one text, kept for the few calls that read, check and rewrite it in turn."""
    return tuple(_Scanner(text, opts).scan())


def _missing(
    text: str,
    settings: Settings | DateOptions | None,
    name: str,
    suggestion: date,
    others: list[DateMatch],
) -> DateError:
    layout = _layout(text)
    line = date_line(settings, suggestion)
    if layout.title is not None:
        where = f"under the title {layout.title_text!r} (line {layout.title.index + 1})"
    elif layout.front_matter:
        where = "after the front matter"
    else:
        where = "at the top"
    label = date_options(settings).date_label
    if label and others:
        found = ", ".join(f"{m.label or 'unlabelled'!r} (line {m.line})" for m in others)
        return DateError(
            f"{name}: no date labelled {label!r} (config date_label); found {found}",
            hint=f"change date_label, or add {line!r} {where}",
        )
    return DateError(
        f"{name}: no effective-date statement found",
        hint=(
            f"add this line {where}: {line!r}; or run "
            f"`redline effective-date POLICY --insert --set {suggestion.isoformat()}`"
        ),
    )


def split_dates(
    text: str, settings: Settings | DateOptions | None = None
) -> tuple[list[DateMatch], list[DateMatch]]:
    """All date statements of ``text``, split into the managed ones and the others.

    Never raises for a missing, blank or ambiguous date; :func:`find_effective_date` does.
    """
    return _choose(find_dates(text, settings), settings)


def strip_dates(text: str, settings: Settings | DateOptions | None = None) -> str:
    """``text`` without its date statements, to compare two revisions apart from their dates.

    Lines that only state a date (labelled, bare, front matter, kramdown attribute lines) are
    removed; a date inside other text (a line vouched for by a datetime attribute) is cut out.
    """
    cuts: list[tuple[int, int]] = []
    lines = _split_lines(text)
    for match in find_dates(text, settings):
        if match.source == "attribute":
            cuts.append((match.start, match.end))
        else:
            cuts.append((match.line_start, match.line_end))
        attribute = match.attribute
        if attribute is not None:
            if attribute.line == match.line:
                cuts.append((attribute.start, attribute.end))
            else:
                line = lines[attribute.line - 1]
                cuts.append((line.start, line.end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(cuts):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    for start, end in reversed(merged):
        text = text[:start] + text[end:]
    return text


_KINDS = ("effective", "updated", "other")  # which kind of date is managed, first wins


def _rank(match: DateMatch, label: str | None) -> int | None:
    """Where ``match`` stands in choosing the managed date (0 first; None: never managed);
    ``label`` is the normalised config ``date_label``."""
    if label is not None:
        return 0 if match.label and _norm_label(match.label) == label else None
    return _KINDS.index(match.kind)


def _choose(
    matches: list[DateMatch], settings: Settings | DateOptions | None
) -> tuple[list[DateMatch], list[DateMatch]]:
    """Split ``matches`` into the managed occurrences and the others."""
    label = _managed_label(date_options(settings))
    ranks = [_rank(m, label) for m in matches]
    best = min((r for r in ranks if r is not None), default=None)
    managed = [
        m for m, rank in zip(matches, ranks, strict=True) if rank is not None and rank == best
    ]
    others = [m for m in matches if m not in managed]
    return managed, others


def first_managed(text: str, settings: Settings | DateOptions | None = None) -> DateMatch | None:
    """The first managed date statement of ``text`` (``split_dates(text)[0][0]``, or None),
    scanning only as far as needed: to the first effective date (or labelled one)."""
    opts = date_options(settings)
    label = _managed_label(opts)
    firsts: dict[int, DateMatch] = {}
    for match in _Scanner(text, opts).scan():
        rank = _rank(match, label)
        if rank == 0:
            return match
        if rank is not None:
            firsts.setdefault(rank, match)
    return firsts[min(firsts)] if firsts else None


def find_effective_date(
    text: str,
    settings: Settings | DateOptions | None = None,
    *,
    name: str = "<policy>",
    today: date | None = None,
    require_date: bool = True,
) -> EffectiveDate:
    """The date redline manages in ``text`` (and all other dates found).

    Without config ``date_label`` an effective date wins over a last-updated date, which wins
    over an unlabelled one. Raises DateError, with the file, line and what to do, when there is
    none (showing the exact line to add, dated ``today`` + notice_days), when it is ambiguous,
    invalid, or blank (unless ``require_date`` is False), or when the candidates disagree.
    """
    opts = date_options(settings)
    matches = find_dates(text, settings)
    managed, others = _choose(matches, settings)
    if not managed:
        suggestion = (today or resolve_today()) + timedelta(days=opts.notice_days)
        raise _missing(text, settings, name, suggestion, others)
    if require_date:
        for match in managed:
            if match.error:
                raise DateError(f"{name}:{match.line}: {match.error}", hint=match.hint)
    values = sorted({m.date for m in managed if m.date is not None and not m.error})
    if len(values) > 1:
        listed = "; ".join(
            f"line {m.line}: {m.text.strip()!r}" for m in managed if m.date is not None
        )
        labels = {_norm_label(m.label or "") for m in managed}
        hint = (
            "set date_label to the label of the date redline manages"
            if len(labels) > 1 and not opts.date_label
            else "make them agree, or keep only one"
        )
        raise DateError(f"{name}: the policy states different dates: {listed}", hint=hint)
    value = values[0] if values else None
    if value is None and require_date:
        first = managed[0]
        raise DateError(
            f"{name}:{first.line}: the effective date is blank ({first.text.strip()!r})",
            hint="fill it in with `redline effective-date POLICY --set YYYY-MM-DD`",
        )
    return EffectiveDate(value, tuple(managed), tuple(others))


# -- imprecise dates --------------------------------------------------------------------------


def earliest_reading(value: date, precision: str) -> date:
    """The earliest day a reader can take ``value``, written with ``precision``, to mean.

    A month-year date ("December 2025") may be read as the first of the month, so its notice
    runs from there: release must treat the effective day as this one.
    """
    return value.replace(day=1) if precision == "month" else value


def earliest_writable(floor: date, precision: str) -> date:
    """The first date on or after ``floor`` that no reader can take as earlier than ``floor``.

    For a month-year date that is ``floor`` when it is the 1st, else the 1st of the next month
    ("March 2026" cannot announce 2026-03-11: readers may take it as March 1).
    """
    if precision != "month" or floor.day == 1:
        return floor
    return (floor.replace(day=28) + timedelta(days=4)).replace(day=1)


# -- the numeric order, from evidence ---------------------------------------------------------

ORDER_SOURCES = ("config", "text", "history", "locale", "repository")
# a numeric date that reads only one way: one of its first two numbers cannot be a month
_PROVING = re.compile(
    r"(?<![\d/.\-])(?:(?:1[3-9]|2\d|3[01])[-/.]\d{1,2}|\d{1,2}[-/.](?:1[3-9]|2\d|3[01]))"
    r"[-/.]\d{4}(?!\d)"
)


@dataclass(frozen=True)
class OrderEvidence:
    """What decided how a policy's numeric dates (``05/06/2020``) are read and written.

    ``source`` is one of :data:`ORDER_SOURCES`, consulted in that order, or None when nothing
    decided; ``needed`` is False when the policy's date is not numeric (no order is needed).
    """

    order: str | None
    source: str | None
    detail: str
    needed: bool = True

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "order": self.order,
            "source": self.source,
            "detail": self.detail,
            "needed": self.needed,
        }


def _proved_by(match: DateMatch) -> str | None:
    """The order a numeric date statement proves by itself ("05/14/2020": MDY), or None."""
    token = match._token
    if token is None or token.kind != "numeric" or match.blank:
        return None
    year, a, b = (int(token.match.group(key)) for key in ("y", "a", "b"))
    mdy, dmy = _valid(year, a, b), _valid(year, b, a)
    if (mdy is None) != (dmy is None):
        return "MDY" if mdy else "DMY"
    vouched = match.attribute.date if match.attribute else None
    if vouched is not None and mdy != dmy and vouched in (mdy, dmy):
        return "MDY" if vouched == mdy else "DMY"
    return None


def order_proof(
    text: str, settings: Settings | DateOptions | None = None
) -> tuple[str, DateMatch] | None:
    """The order the date statements of ``text`` prove (managed ones first), and the proof."""
    if not _PROVING.search(text) and "datetime" not in text:
        return None  # the common case in old revisions: no scan needed
    managed, others = split_dates(text, settings)
    for match in (*managed, *others):
        order = _proved_by(match)
        if order:
            return order, match
    return None


@cache
def locale_order(locale: str | None) -> str | None:
    """``"MDY"`` or ``"DMY"`` as ``locale`` writes short dates (babel): en-US MDY, en-GB DMY.

    None without a locale, or for a locale that writes the year first (ja, zh).
    """
    parsed = _check_locale(locale)
    if parsed is None:
        return None
    from babel import Locale

    pattern = Locale.parse(parsed).date_formats["short"].pattern
    order = "".join(dict.fromkeys(c.upper() for c in pattern if c in "dMy"))
    return order if order in ("MDY", "DMY") else None


def _locale_key(locale: str | None) -> str | None:
    return locale.replace("-", "_").casefold() if locale else None


class RepositoryOrders:
    """The numeric orders the policies of a repository are known to write, per locale.

    Orders come from ``policies`` (``(path, text, options)``, read once, on first use: a date
    that reads one way, else the policy's own ``date_order``) and from :meth:`learn` (what a
    caller resolved already, e.g. from a policy's history). Policies in the same folder are
    asked first, then the whole repository; either way only when they all agree.
    """

    def __init__(self, policies: Iterable[tuple[str, str, DateOptions]] = ()) -> None:
        self._source: Iterator[tuple[str, str, DateOptions]] | None = iter(policies)
        self._known: dict[str, tuple[str | None, str]] = {}  # path -> (locale key, order)

    def learn(self, path: str, options: DateOptions, order: str) -> None:
        """Record that the policy at ``path`` writes ``order``."""
        self._known[path] = (_locale_key(options.locale), order)

    def _load(self) -> None:
        source, self._source = self._source, None
        for path, text, options in source or ():
            found = order_proof(text, options)
            order = found[0] if found else options.date_order
            if order and path not in self._known:
                self.learn(path, options, order)

    def order_for(self, path: str, locale: str | None) -> OrderEvidence | None:
        """The order the other policies of ``locale`` (None: no locale) agree on."""
        self._load()
        key, folder = _locale_key(locale), PurePosixPath(path).parent
        others = [(p, order) for p, (k, order) in self._known.items() if k == key and p != path]
        near = [(p, order) for p, order in others if PurePosixPath(p).parent == folder]
        for proofs, where in ((near, f"in {folder}/"), (others, "in the repository")):
            orders = {order for _, order in proofs}
            if len(orders) == 1:
                order, count = orders.pop(), len(proofs)
                return OrderEvidence(
                    order,
                    "repository",
                    f"{count} other polic{'y' if count == 1 else 'ies'} {where}"
                    f"{f' with locale {locale}' if locale else ''} write {order} "
                    f"(e.g. {proofs[0][0]})",
                )
            if orders:
                return None  # they disagree: no evidence
        return None


def resolve_date_order(
    text: str,
    settings: Settings | DateOptions | None = None,
    *,
    history: Iterable[tuple[str, str]] = (),
    repository: RepositoryOrders | None = None,
    path: str | None = None,
) -> OrderEvidence:
    """How the numeric date of one policy reads, and the evidence that decided it.

    Evidence, in this order: the config (the repository's or the policy's ``date_order``);
    a date in ``text`` that reads only one way (``05/14/2020``); the same in an earlier
    revision (``history`` yields ``(revision, text)`` newest first and is read only up to the
    first proof); the policy's locale; the other policies of ``repository`` with the same
    locale (or none), when they agree. An order never crosses locales.
    """
    opts = date_options(settings)
    if opts.date_order:
        return OrderEvidence(opts.date_order, "config", "date_order in the config")
    managed, _ = split_dates(text, opts)
    numeric = [m for m in managed if m._token is not None and m._token.kind == "numeric"]
    if not numeric or all(m.blank for m in numeric):
        return OrderEvidence(None, None, "the date is not numeric", needed=False)
    found = order_proof(text, opts)
    if found:
        order, match = found
        return OrderEvidence(order, "text", f"line {match.line} writes {match.managed_text!r}")
    for revision, old in history:
        found = order_proof(old, opts)
        if found:
            order, match = found
            detail = f"revision {revision}, line {match.line}, wrote {match.managed_text!r}"
            return OrderEvidence(order, "history", detail)
    order = locale_order(opts.locale)
    if order:
        return OrderEvidence(order, "locale", f"locale {opts.locale} writes short dates {order}")
    evidence = repository.order_for(path or "", opts.locale) if repository else None
    return evidence or OrderEvidence(
        None, None, "no date of this policy, its history or its locale tells, nor do the others"
    )


# -- one policy's date, as release, init and status need it ----------------------------------

_PROBE = date(2030, 2, 9)  # a day that is also a month: writing it needs the order


@dataclass(frozen=True)
class PolicyDate:
    """A policy's managed date, the options (with the order) it is read with, or its problem.

    ``problem`` is set when the date cannot be read or a new one cannot be written; callers
    report it once (it carries the fix) and skip the policy.
    """

    name: str
    effective: EffectiveDate | None
    evidence: OrderEvidence
    options: DateOptions
    problem: Problem | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "effective": self.effective.to_json() if self.effective else None,
            "date_order": self.evidence.to_json(),
            "problem": self.problem.to_json() if self.problem else None,
        }


def inspect_policy_date(
    text: str,
    settings: Settings | DateOptions | None = None,
    *,
    name: str,
    history: Iterable[tuple[str, str]] = (),
    repository: RepositoryOrders | None = None,
    today: date | None = None,
) -> PolicyDate:
    """Read the managed date of ``text`` and make sure a new one can be written; never raises
    DateError: a missing, ambiguous, invalid or disagreeing date becomes ``problem``.

    A blank placeholder is no problem (``date`` is None; a release fills it in).
    """
    opts = date_options(settings)
    evidence = resolve_date_order(text, opts, history=history, repository=repository, path=name)
    resolved = opts.with_order(evidence.order)
    try:
        effective = find_effective_date(text, resolved, name=name, today=today, require_date=False)
        for match in effective.matches:
            if match.error and not match.blank:
                raise DateError(f"{name}:{match.line}: {match.error}", hint=match.hint)
        if evidence.needed or any(m._token is None and not m.blank for m in effective.matches):
            edit_effective_date(text, _PROBE, resolved, name=name)
    except DateError as error:
        return PolicyDate(name, None, evidence, resolved, Problem.from_error(error, path=name))
    return PolicyDate(name, effective, evidence, resolved)


# -- public API: writing -------------------------------------------------------------------


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
        edits = [e for m in current.matches for e in _edits_for(m, value, name)]
        new_text = _apply(text, edits)
        old_lines, new_lines = _split_lines(text), _split_lines(new_text)
        changes = tuple(
            LineChange(old.index + 1, old.content, new.content)
            for old, new in zip(old_lines, new_lines, strict=True)
            if old.content != new.content
        )
    try:
        after = find_effective_date(new_text, readback, name=name)
    except DateError as problem:
        written = "; ".join(repr(change.new.strip()) for change in changes)
        reason = problem.message.removeprefix(f"{name}:").lstrip("0123456789:").strip()
        raise DateError(
            f"{name}: writing {value.isoformat()} as {written} would not read back: {reason}",
            hint=problem.hint,
        ) from None
    if after.date != earliest_reading(value, after.precision):
        written = "; ".join(repr(change.new.strip()) for change in changes)
        raise DateError(
            f"{name}: writing {value.isoformat()} as {written} would read back as "
            f"{after.date.isoformat() if after.date else 'no date'}",
            hint="check date_order in [tool.redline], or write the date as YYYY-MM-DD",
        )
    return DateEdit(new_text, value, previous, changes, inserted, after)


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


def read_policy_file(
    path: Path, *, name: str | None = None, root: Path | None = None
) -> PolicyFile:
    """Read a policy for rewriting: UTF-8 text and its byte order mark, if any.

    With ``root`` (the repository), a link that leads outside it is refused.
    """
    from redline.files import read_inside
    from redline.history.texts import decode_policy

    where = name or str(path)
    try:
        data = path.read_bytes() if root is None else read_inside(root, path)
    except FileNotFoundError:
        raise InputError(f"{where}: no such file", hint="check the policy name") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror}") from None
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    return PolicyFile(path, decode_policy(data, where), bom)


def write_policy_date(
    path: Path,
    value: date,
    settings: Settings | DateOptions | None = None,
    *,
    name: str | None = None,
    insert: bool = False,
    order: str | None = None,
) -> DateEdit:
    """Set the managed date of the policy file at ``path``; the write is atomic.

    ``order`` is the numeric order :func:`resolve_date_order` found. The file is left untouched
    when the date is already ``value`` in its written form. A link is never written through,
    and nothing outside the repository of ``settings`` is touched.
    """
    from redline.files import atomic_write

    root = None if settings is None or isinstance(settings, DateOptions) else settings.repo_root
    policy = read_policy_file(path, name=name, root=root)
    opts = date_options(settings).with_order(order)
    edit = edit_effective_date(policy.text, value, opts, name=name or str(path), insert=insert)
    if edit.changed:
        atomic_write(path, policy.encode(edit.text), root=root)
    return edit


# -- dates on the command line --------------------------------------------------------------
