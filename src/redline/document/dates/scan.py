"""Finding date statements: the scanner walks the front matter, then every body line outside
code, and asks each form (:mod:`.forms`, :mod:`.front_matter`) in turn for the line's date.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from redline.document.dates.forms import _attributed, _bare, _labelled, _sentence
from redline.document.dates.front_matter import _front_matter
from redline.document.dates.grammar import _grammar
from redline.document.dates.labels import _label_regex, _managed_label
from redline.document.dates.lines import _Layout, _layout, _Line, _line_at, _lines_from, _top_region
from redline.document.dates.options import DateOptions, date_options
from redline.document.dates.results import DatetimeAttribute
from redline.document.dates.tokens import _first, _pad_of, _valid

if TYPE_CHECKING:
    from collections.abc import Iterator

    from redline.config import Settings
    from redline.document.dates.results import DateMatch
    from redline.document.dates.tokens import _Reading, _Token

_ATTRIBUTE = re.compile(
    r"\bdatetime\s*=\s*(?P<q>[\"']?)(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?P<rest>[T ][^\"'\s}>]*)?(?P=q)",
    re.I,
)


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
                match = _front_matter(self, line)
                if match:
                    yield match
        for line in _lines_from(self.text, layout.body_offset, layout.body_start):
            if line.index in layout.ial or layout.in_code(line.index):
                continue
            match = self._body_line(line)
            if match:
                yield match

    def _body_line(self, line: _Line) -> DateMatch | None:
        """The date statement of a body line: labelled, vouched for by a datetime attribute,
        bare (near the top or with an attribute) or in a sentence near the top."""
        attribute = _attribute_for(self.layout, line)
        near_top = line.index in self.top
        match = _labelled(self, line, attribute)
        if match is None and attribute is not None:
            match = _attributed(self, line, attribute)
        if match is None and (near_top or attribute is not None):
            match = _bare(self, line, attribute)
        if match is None and near_top:
            match = _sentence(self, line, attribute)
        return match

    def read(self, token: _Token, attribute: DatetimeAttribute | None) -> _Reading:
        """``token`` read in the options' order; ``attribute``'s date settles an ambiguity."""
        hint = attribute.date if attribute else None
        return token.read(self.opts.date_order, hint)


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


def find_dates(text: str, settings: Settings | DateOptions | None = None) -> list[DateMatch]:
    """Every date statement in ``text`` (front matter first, then the body in order)."""
    return list(_scan(text, date_options(settings)))


@lru_cache(maxsize=16)
def _scan(text: str, opts: DateOptions) -> tuple[DateMatch, ...]:
    """The scan of one text, kept for the few calls that read, check and rewrite it in turn."""
    return tuple(_Scanner(text, opts).scan())
