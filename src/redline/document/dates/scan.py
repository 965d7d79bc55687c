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

import itertools
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from redline.document.dates.grammar import _grammar, _template_at
from redline.document.dates.labels import _kind_of, _label_regex, _managed_label, _norm_label
from redline.document.dates.lines import _Layout, _layout, _Line, _line_at, _lines_from, _top_region
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
from redline.document.dates.results import DateMatch, DatetimeAttribute
from redline.document.dates.tokens import _first, _pad_of, _Reading, _Token, _valid

if TYPE_CHECKING:
    from collections.abc import Iterator

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


# -- imprecise dates --------------------------------------------------------------------------


# -- the numeric order, from evidence ---------------------------------------------------------


# -- one policy's date, as release, init and status need it ----------------------------------


# -- public API: writing -------------------------------------------------------------------


# -- dates on the command line --------------------------------------------------------------
