"""The label vocabulary: which labels state a date, of which kind, and the line to add."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import TYPE_CHECKING

from redline.document.dates.markup import _HWS, _MID, _PREFIX
from redline.document.dates.options import DateOptions, date_options

if TYPE_CHECKING:
    from redline.config import Settings


DEFAULT_LABEL = "Effective date"


_EFFECTIVE_LABELS = ("effective date", "effective as of", "effective")


_UPDATED_LABELS = (
    "date of last revision",
    "last updated",
    "last update",
    "last modified",
    "last revised",
    "last changed",
    "updated",
    "revised",
    "modified",
    "dated",
)


_EXTRA_FRONT_MATTER_KEYS = frozenset({"lastmod", "last mod", "modified"})  # "updated" kind


def _norm_label(label: str) -> str:
    """Comparable form of a label or front matter key: 'Last_Updated:' -> 'last updated'."""
    label = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", label)
    label = re.sub(r"&nbsp;|&#160;|&#xa0;|&#x20;|[\s_\-]+", " ", label, flags=re.I)
    return label.strip(" :\uff1a*").casefold()


def _kind_of(label: str | None) -> str:
    norm = _norm_label(label or "")
    if norm in _EFFECTIVE_LABELS:
        return "effective"
    if norm in _UPDATED_LABELS or norm in _EXTRA_FRONT_MATTER_KEYS:
        return "updated"
    return "other"


@cache
def _label_regex(date_label: str | None) -> re.Pattern[str]:
    labels = set(_EFFECTIVE_LABELS) | set(_UPDATED_LABELS)
    if date_label and _norm_label(date_label):
        labels.add(_norm_label(date_label))
    alternatives = sorted(labels, key=len, reverse=True)
    words = "|".join(
        rf"{_HWS}+".join(re.escape(word) for word in label.split()) for label in alternatives
    )
    qualifier = rf"(?P<qual>(?:[^\W\d_][\w'\u2019-]*{_HWS}+){{0,3}}?)"
    return re.compile(rf"{_PREFIX}{qualifier}(?P<label>{words})(?![^\W_]){_MID}", re.I)


def date_line(settings: Settings | DateOptions | None, value: date) -> str:
    """The line to add to a policy that has no effective-date statement."""
    label = date_options(settings).date_label or DEFAULT_LABEL
    if re.search(r"[_-]", label) or label.islower():
        label = _norm_label(label).capitalize()
    return f"{label}: {value.isoformat()}"


def _managed_label(opts: DateOptions) -> str | None:
    return _norm_label(opts.date_label) if opts.date_label else None
