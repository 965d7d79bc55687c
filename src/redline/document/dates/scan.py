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

import bisect
import calendar
import codecs
import itertools
import os
import re
import sys
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache, lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple

from redline.errors import ConfigError, DateError, InputError, Problem

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo

ENV_TODAY = "REDLINE_TODAY"
DEFAULT_LABEL = "Effective date"
DATE_ORDER_HINT = (
    'set date_order = "MDY" or "DMY" in [tool.redline] (or in the policy\'s '
    '[tool.redline.policies."PATH"] table), or the policy\'s locale'
)

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
_TOP_LINES = 6  # non-blank lines under the title where a bare emphasised date is accepted
_INVALID_VALUE_MAX = 60  # longer text after a label is prose, not a broken date

# -- small regex building blocks (inline Markdown/HTML decoration around a date) ---------------

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
_ATTRIBUTE = re.compile(
    r"\bdatetime\s*=\s*(?P<q>[\"']?)(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?P<rest>[T ][^\"'\s}>]*)?(?P=q)",
    re.I,
)
_IAL_LINE = re.compile(r"^[ \t]*\{:[^}]*\}[ \t]*$")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)")
_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER_OPEN = re.compile(r"^---[ \t]*$")
_FRONT_MATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
_FRONT_MATTER_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)[ \t]*:(?P<rest>.*)$")
_FM_TIME = re.compile(r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_EOL = re.compile(r"\r\n|\n|\r")
# the start of a line that may be a fence, an IAL or a heading; after a line ending, found with
# the \n-only pattern when the text has no \r (a literal first character is searched fast)
_STRUCTURE_LINE = re.compile(r"[ \t]*\{:| {0,3}[#`~=]")
_STRUCTURE_LF = re.compile(rf"\n(?={_STRUCTURE_LINE.pattern})")
_STRUCTURE_ANY = re.compile(rf"[\r\n](?={_STRUCTURE_LINE.pattern})")
_BLANK_PLACEHOLDER = re.compile(
    r"(?:_{2,}|-{2,}|\?{2,}|\.{3}|\u2026|TB[AD]|\\?\[[^\]\n]{0,30}\\?\]|<[^>\n]{1,30}>"
    r"|xx/xx/xxxx|xx\.xx\.xxxx)",
    re.I,
)

_ORDINALS = {1: "st", 2: "nd", 3: "rd"}


def _ordinal(day: int) -> str:
    return "th" if 10 <= day % 100 <= 20 else _ORDINALS.get(day % 10, "th")


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


# -- month and weekday names --------------------------------------------------------------


@dataclass(frozen=True)
class _Name:
    value: int  # month 1..12, weekday 0..6 (Monday 0)
    source: str  # "en" or the configured locale
    style: str  # "wide", "abbr" or "both"


class _Names:
    """Month or weekday names of English and, if configured, one more locale."""

    def __init__(self, kind: str, locales: tuple[str, ...]) -> None:
        from babel.dates import get_day_names, get_month_names

        self.kind = kind
        self.lookup: dict[str, list[_Name]] = {}
        self.wide: dict[str, dict[int, str]] = {}
        self.abbr: dict[str, dict[int, str]] = {}
        getter = get_month_names if kind == "month" else get_day_names
        for source in locales:
            wide = dict(getter("wide", "format", source))
            abbr = dict(getter("abbreviated", "format", source))
            self.wide[source], self.abbr[source] = wide, abbr
            styles: dict[tuple[str, int], set[str]] = {}
            for context in ("format", "stand-alone"):
                for value, name in getter("wide", context, source).items():
                    styles.setdefault((name.casefold(), value), set()).add("wide")
                for value, name in getter("abbreviated", context, source).items():
                    styles.setdefault((name.rstrip(".").casefold(), value), set()).add("abbr")
            if source == "en":
                extra = {"sept": 9} if kind == "month" else {"tues": 1, "thur": 3, "thurs": 3}
                for name, value in extra.items():
                    styles.setdefault((name, value), set()).add("abbr")
            for (name, value), found in styles.items():
                style = "both" if len(found) == 2 else found.pop()
                self.lookup.setdefault(name, []).append(_Name(value, source, style))

    def pattern(self) -> str:
        names = sorted(self.lookup, key=len, reverse=True)
        return r"(?<![^\W\d_])(?:" + "|".join(re.escape(n) for n in names) + r")(?![^\W\d_])"

    def find(self, text: str, preferred: str) -> _Name:
        entries = self.lookup[text.casefold()]
        return next((e for e in entries if e.source == preferred), entries[0])

    def render(self, value: int, source: str, style: str, dot: bool, case: str, sept: bool) -> str:
        """The name of ``value`` in the given style; ``dot`` is whether the original had one."""
        wide = self.wide[source][value]
        if style == "wide":
            return _apply_case(wide, case)
        native = self.abbr[source][value]
        core = native.rstrip(".")
        if source == "en" and self.kind == "month" and value == 9 and sept:
            core = "Sept"
        if any(name.endswith(".") for name in self.abbr[source].values()):
            with_dot = dot and native.endswith(".")
        else:
            with_dot = dot and core.casefold() != wide.casefold()
        return _apply_case(core, case) + ("." if with_dot else "")


def _case_of(text: str) -> str:
    if len(text) > 1 and text.isupper():
        return "upper"
    if text.islower():
        return "lower"
    if text[:1].isupper():
        return "title"
    return "native"


def _apply_case(name: str, case: str) -> str:
    if case == "upper":
        return name.upper()
    if case == "lower":
        return name.lower()
    if case == "title":
        return name[:1].upper() + name[1:]
    return name


# -- the grammar of date tokens ------------------------------------------------------------


class _Grammar:
    """Compiled date patterns for English plus an optional locale."""

    def __init__(self, locale: str | None) -> None:
        self.locale = _check_locale(locale)
        sources = ("en",) if self.locale in (None, "en") else ("en", self.locale)
        self.preferred = sources[-1]
        self.months = _Names("month", sources)
        self.weekdays = _Names("weekday", sources)
        mon, wd = self.months.pattern(), self.weekdays.pattern()
        self.month_re = re.compile(mon, re.I)
        weekday = rf"(?:(?P<wd>{wd})(?P<wdot>\.)?,?{_DWS})?"
        self.patterns: dict[str, re.Pattern[str]] = {
            "ymd": re.compile(
                r"(?<![\d/.\-])(?P<y>\d{4})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})(?![\d])"
            ),
            "numeric": re.compile(
                r"(?<![\d/.\-])(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)(?P<y>\d{4})(?!\d)"
            ),
            "month_first": re.compile(
                rf"{weekday}(?P<mon>{mon})(?P<mdot>\.)?{_DWS}(?P<d>\d{{1,2}})"
                rf"(?:(?P<ord>st|nd|rd|th)(?![^\W\d_]))?,?{_DWS}(?P<y>\d{{4}})(?!\d)",
                re.I,
            ),
            "day_first": re.compile(
                rf"(?<![\d.]){weekday}(?P<d>\d{{1,2}})(?:(?P<ord>st|nd|rd|th)(?![^\W\d_])|(?P<odot>\.))?"
                rf"{_DWS}(?:(?:of|de){_DWS})?(?P<mon>{mon})(?P<mdot>\.)?,?{_DWS}"
                rf"(?:(?:de|del){_DWS})?(?P<y>\d{{4}})(?!\d)",
                re.I,
            ),
            "month_year": re.compile(
                rf"(?<![\d.])(?P<mon>{mon})(?P<mdot>\.)?,?{_DWS}(?P<y>\d{{4}})(?!\d)", re.I
            ),
        }

    def match_at(self, text: str, pos: int, end: int | None = None) -> _Token | None:
        """The longest date token starting exactly at ``pos``."""
        best: _Token | None = None
        for kind, pattern in self.patterns.items():
            found = pattern.match(text, pos, len(text) if end is None else end)
            if found and (best is None or found.end() > best.match.end()):
                best = _Token(kind, found, self)
        return best

    def search(self, text: str) -> list[_Token]:
        """All non-overlapping date tokens in ``text``, in order (longest wins an overlap)."""
        found = [
            _Token(kind, m, self) for kind, p in self.patterns.items() for m in p.finditer(text)
        ]
        found.sort(key=lambda t: (t.match.start(), -t.match.end()))
        chosen: list[_Token] = []
        for token in found:
            if not chosen or token.match.start() >= chosen[-1].match.end():
                chosen.append(token)
        return chosen


def _check_locale(locale: str | None) -> str | None:
    if not locale:
        return None
    from babel import Locale, UnknownLocaleError

    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ConfigError(
            f"config key 'locale': unknown locale {locale!r}",
            hint='use a language code such as "de", "fr" or "pt_BR"',
        ) from None
    return str(parsed)


@cache
def _grammar(locale: str | None) -> _Grammar:
    return _Grammar(locale)


@dataclass(frozen=True)
class _Style:
    """How a date token writes its parts, so a new date can be written the same way."""

    order: str | None  # "MDY"/"DMY" for numeric tokens; None when it cannot be told
    pad_month: bool = True
    pad_day: bool = True
    month_source: str = "en"
    month_style: str = "wide"
    month_case: str = "native"
    month_dot: bool = False
    sept: bool = False
    ordinal_upper: bool = False
    weekday_source: str = "en"
    weekday_style: str = "wide"
    weekday_case: str = "native"
    weekday_dot: bool = False


@dataclass(frozen=True)
class _Reading:
    date: date | None
    style: _Style
    pattern: str
    error: str | None = None
    hint: str | None = None
    warnings: tuple[str, ...] = ()
    precision: str = "day"


def _pad_of(digits: str) -> bool | None:
    if len(digits) == 1:
        return False
    return True if digits.startswith("0") else None


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _spoken(value: date) -> str:
    return f"{calendar.month_name[value.month]} {value.day}, {value.year}"


@dataclass(frozen=True)
class _Token:
    """One date token found in a line: its kind and regex match."""

    kind: str
    match: re.Match[str]
    grammar: _Grammar

    @property
    def text(self) -> str:
        return self.match.group(0)

    def read(self, date_order: str | None, hint: date | None = None) -> _Reading:
        """Interpret the token; ``hint`` (a datetime attribute) settles a numeric order."""
        g = self.match.groupdict()
        year = int(g["y"])
        if self.kind == "numeric":
            return self._read_numeric(int(g["a"]), int(g["b"]), year, g, date_order, hint)
        if self.kind == "ymd":
            pm, pd = _pad_of(g["m"]), _pad_of(g["d"])
            style = _Style("YMD", _first(pm, pd, True), _first(pd, pm, True))
            value = _valid(year, int(g["m"]), int(g["d"]))
            return self._finish(value, style)
        month = self.grammar.months.find(g["mon"], self.grammar.preferred)
        name_style = month.style if month.style != "both" else ("abbr" if g["mdot"] else "wide")
        if self.kind == "month_year":
            style = _Style(
                None,
                month_source=month.source,
                month_style=name_style,
                month_case=_case_of(g["mon"]),
                month_dot=bool(g["mdot"]),
                sept=g["mon"].casefold() == "sept",
            )
            return self._finish(date(year, month.value, 1), style, precision="month")
        weekday = self.grammar.weekdays.find(g["wd"], self.grammar.preferred) if g["wd"] else None
        style = _Style(
            None,
            pad_day=_first(_pad_of(g["d"]), False),
            month_source=month.source,
            month_style=name_style,
            month_case=_case_of(g["mon"]),
            month_dot=bool(g["mdot"]),
            sept=g["mon"].casefold() == "sept",
            ordinal_upper=bool(g["ord"]) and g["ord"].isupper(),
            weekday_source=weekday.source if weekday else "en",
            weekday_style=("wide" if not weekday or weekday.style in ("wide", "both") else "abbr"),
            weekday_case=_case_of(g["wd"]) if g["wd"] else "native",
            weekday_dot=bool(g["wdot"]),
        )
        value = _valid(year, month.value, int(g["d"]))
        warnings: tuple[str, ...] = ()
        if value and weekday and weekday.value != value.weekday():
            actual = calendar.day_name[value.weekday()]
            warnings = (f"'{self.text}' names the wrong weekday: {_spoken(value)} is a {actual}",)
        return self._finish(value, style, warnings)

    def _read_numeric(
        self,
        a: int,
        b: int,
        year: int,
        g: dict[str, Any],
        date_order: str | None,
        hint: date | None,
    ) -> _Reading:
        mdy, dmy = _valid(year, a, b), _valid(year, b, a)
        error = error_hint = None
        if hint is not None and hint in (mdy, dmy) and mdy != dmy:
            order: str | None = "MDY" if hint == mdy else "DMY"
        elif mdy and dmy:
            order = date_order
            if order is None and mdy != dmy:
                error = (
                    f"'{self.text}' is ambiguous: {_spoken(mdy)} (MM/DD/YYYY) "
                    f"or {_spoken(dmy)} (DD/MM/YYYY)"
                )
                error_hint = DATE_ORDER_HINT
        elif mdy or dmy:
            order = "MDY" if mdy else "DMY"
        else:
            order = date_order
        month_digits, day_digits = (g["a"], g["b"]) if order != "DMY" else (g["b"], g["a"])
        pm, pd = _pad_of(month_digits), _pad_of(day_digits)
        style = _Style(order, _first(pm, pd, True), _first(pd, pm, True))
        if error:
            return _Reading(None, style, self._pattern(style), error, error_hint)
        value = (mdy if order == "MDY" else dmy) if (mdy or dmy) else None
        if value is None and mdy and dmy:  # same date either way, order unknown
            value = mdy
        return self._finish(value, style)

    def _finish(
        self,
        value: date | None,
        style: _Style,
        warnings: tuple[str, ...] = (),
        precision: str = "day",
    ) -> _Reading:
        pattern = self._pattern(style)
        if value is None:
            return _Reading(
                None,
                style,
                pattern,
                f"'{self.text}' is not a valid date",
                "write a real calendar date, e.g. YYYY-MM-DD",
            )
        return _Reading(value, style, pattern, warnings=warnings, precision=precision)

    def _pattern(self, style: _Style) -> str:
        """The token with its fields replaced by placeholders: '05/14/2020' -> 'MM/DD/YYYY'."""
        g = self.match

        def digits(letter: str, group: str) -> str:
            return letter * 2 if len(g.group(group)) == 2 else letter

        fields: dict[str, str] = {"y": "YYYY"}
        if self.kind == "ymd":
            fields |= {"m": digits("M", "m"), "d": digits("D", "d")}
        elif self.kind == "numeric":
            first, second = ("M", "D") if style.order == "MDY" else ("D", "M")
            if style.order is None:
                first = second = "N"
            fields |= {"a": digits(first, "a"), "b": digits(second, "b")}
        else:
            month = "Month" if style.month_style == "wide" else ("Sept" if style.sept else "Mon")
            fields["mon"] = _apply_case(month, style.month_case)
            if self.kind == "month_year":
                return _replace_groups(g, fields)
            fields["d"] = digits("D", "d")
            if g.group("ord"):
                fields["ord"] = "TH" if style.ordinal_upper else "th"
            if g.group("wd"):
                fields["wd"] = "Weekday" if style.weekday_style == "wide" else "Wkd"
        return _replace_groups(g, fields)

    def render(self, value: date, style: _Style) -> str:
        """Write ``value`` the way this token is written."""
        g = self.match
        fields: dict[str, str] = {"y": f"{value.year:04d}"}
        month = _num(value.month, style.pad_month)
        day = _num(value.day, style.pad_day)
        if self.kind == "ymd":
            fields |= {"m": month, "d": day}
        elif self.kind == "numeric":
            if style.order is None and value.month != value.day:
                raise _Unwritable(
                    f"cannot tell whether '{self.text}' is MM/DD/YYYY or DD/MM/YYYY",
                    DATE_ORDER_HINT,
                )
            first, second = (month, day) if style.order != "DMY" else (day, month)
            fields |= {"a": first, "b": second}
        else:
            fields["mon"] = self.grammar.months.render(
                value.month,
                style.month_source,
                style.month_style,
                style.month_dot,
                style.month_case,
                style.sept,
            )
            if g.group("mdot"):
                fields["mdot"] = ""
            if self.kind == "month_year":
                return _replace_groups(g, fields)
            fields["d"] = day
            if g.group("ord"):
                suffix = _ordinal(value.day)
                fields["ord"] = suffix.upper() if style.ordinal_upper else suffix
            if g.group("wd"):
                fields["wd"] = self.grammar.weekdays.render(
                    value.weekday(),
                    style.weekday_source,
                    style.weekday_style,
                    style.weekday_dot,
                    style.weekday_case,
                    False,
                )
                if g.group("wdot"):
                    fields["wdot"] = ""
        return _replace_groups(g, fields)


class _Unwritable(Exception):
    """A date token cannot be written with a new date (raised inside this module only)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def _first(*values: bool | None) -> bool:
    return next(v for v in values if v is not None)  # type: ignore[return-value]


def _num(value: int, pad: bool) -> str:
    return f"{value:02d}" if pad else str(value)


def _replace_groups(match: re.Match[str], fields: dict[str, str]) -> str:
    """The matched text with the named groups in ``fields`` replaced (right to left)."""
    text, base = match.group(0), match.start()
    spans = [
        (match.start(name) - base, match.end(name) - base, new)
        for name, new in fields.items()
        if match.group(name) is not None
    ]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


# -- templates: placeholders that say which form to write -----------------------------------

_TEMPLATES: dict[str, re.Pattern[str]] = {
    "ymd": re.compile(r"(?P<y>YYYY)(?P<s>[-/.])(?P<m>MM?)(?P=s)(?P<d>DD?)(?![A-Za-z])", re.I),
    "numeric": re.compile(
        r"(?P<a>MM?|DD?)(?P<s>[-/.])(?P<b>MM?|DD?)(?P=s)(?P<y>YYYY)(?![A-Za-z])", re.I
    ),
    "month_first": re.compile(
        r"(?P<mon>Month|MMMM|MMM|Mon)(?P<mdot>\.)?[ \t]+(?P<d>DD?)(?P<ord>)?,?[ \t]+(?P<y>YYYY)"
        r"(?P<wd>)?(?P<wdot>)?",
        re.I,
    ),
    "day_first": re.compile(
        r"(?P<d>DD?)(?P<odot>\.)?[ \t]+(?P<mon>Month|MMMM|MMM|Mon)(?P<mdot>\.)?,?[ \t]+(?P<y>YYYY)"
        r"(?P<ord>)?(?P<wd>)?(?P<wdot>)?",
        re.I,
    ),
}


def _template_at(text: str, pos: int, grammar: _Grammar) -> tuple[_Token, _Reading] | None:
    """A form template such as ``MM/DD/YYYY`` or ``Month D, YYYY`` starting at ``pos``."""
    for kind, pattern in _TEMPLATES.items():
        found = pattern.match(text, pos)
        if not found:
            continue
        g = found.groupdict()
        if kind == "numeric":
            first, second = g["a"].upper(), g["b"].upper()
            if first[0] == second[0]:
                continue
            month, day = (first, second) if first[0] == "M" else (second, first)
            style = _Style("MDY" if first[0] == "M" else "DMY", len(month) == 2, len(day) == 2)
        elif kind == "ymd":
            style = _Style("YMD", len(g["m"]) == 2, len(g["d"]) == 2)
        else:
            wide = g["mon"].casefold() in ("month", "mmmm")
            style = _Style(
                None,
                pad_day=len(g["d"]) == 2,
                month_source=grammar.preferred,
                month_style="wide" if wide else "abbr",
                month_dot=bool(g["mdot"]),
            )
        token = _Token(kind, found, grammar)
        return token, _Reading(None, style, found.group(0))
    return None


# -- public results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DatetimeAttribute:
    """A kramdown (``{: datetime="..." }``) or HTML ``datetime`` attribute next to a date."""

    line: int
    value: str
    date: date | None
    start: int  # offsets in the text of the YYYY-MM-DD part, rewritten on --set
    end: int
    pad_month: bool
    pad_day: bool

    def render(self, value: date) -> str:
        """``value`` written with this attribute's zero padding."""
        return (
            f"{value.year:04d}-{_num(value.month, self.pad_month)}-{_num(value.day, self.pad_day)}"
        )


@dataclass(frozen=True)
class DateMatch:
    """One date statement found in a policy.

    ``date`` is None for a blank placeholder or when ``error`` says why it cannot be read.
    ``start``/``end`` are offsets of the date text in the policy text (equal for a blank).
    """

    date: date | None
    line: int
    text: str
    label: str | None
    kind: str  # "effective", "updated" or "other"
    source: str  # "label", "front_matter", "bare" or "attribute"
    form: str
    wrapping: tuple[str, ...]
    start: int
    end: int
    blank: bool = False
    error: str | None = None
    hint: str | None = None
    attribute: DatetimeAttribute | None = None
    warnings: tuple[str, ...] = ()
    line_start: int = 0
    line_end: int = 0  # offset after the line's line ending
    precision: str = "day"  # "month" for a month-year date such as "December 2025"
    _token: _Token | None = field(default=None, repr=False, compare=False)
    _reading: _Reading | None = field(default=None, repr=False, compare=False)
    _insert_space: bool = field(default=False, repr=False, compare=False)

    @property
    def managed_text(self) -> str:
        """The date as written (empty for a blank)."""
        return self.text[self.start - self.line_start : self.end - self.line_start]

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "date": self.date.isoformat() if self.date else None,
            "line": self.line,
            "text": self.text,
            "date_text": self.managed_text,
            "label": self.label,
            "kind": self.kind,
            "source": self.source,
            "form": self.form,
            "wrapping": list(self.wrapping),
            "blank": self.blank,
            "precision": self.precision,
            "datetime_attribute": (
                {
                    "line": self.attribute.line,
                    "value": self.attribute.value,
                    "date": self.attribute.date.isoformat() if self.attribute.date else None,
                }
                if self.attribute
                else None
            ),
            "error": self.error,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class EffectiveDate:
    """The date redline manages in a policy, and every other date found there.

    ``matches`` are the occurrences of the managed date (front matter and body are kept in
    sync); ``date`` is None only when they are all blank placeholders.
    """

    date: date | None
    matches: tuple[DateMatch, ...]
    others: tuple[DateMatch, ...]

    @property
    def primary(self) -> DateMatch:
        """The first filled-in occurrence (or the first one, if all are blank)."""
        return next((m for m in self.matches if m.date is not None), self.matches[0])

    @property
    def precision(self) -> str:
        """``"month"`` when the date is written as a month and year only, else ``"day"``."""
        return self.primary.precision

    @property
    def warnings(self) -> list[str]:
        """Warnings of the managed occurrences, prefixed with their line numbers."""
        return [f"line {m.line}: {w}" for m in self.matches for w in m.warnings]

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``: the managed date, its primary line and all dates."""
        primary = self.primary
        return {
            "date": self.date.isoformat() if self.date else None,
            "text": primary.text,
            "line": primary.line,
            "label": primary.label,
            "form": primary.form,
            "source": primary.source,
            "precision": primary.precision,
            "wrapping": list(primary.wrapping),
            "occurrences": [m.to_json() for m in self.matches],
            "others": [m.to_json() for m in self.others],
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class LineChange:
    """One line that a date edit changed (``old`` is None for an inserted line)."""

    line: int
    old: str | None
    new: str


@dataclass(frozen=True)
class DateEdit:
    """The result of setting a policy's effective date."""

    text: str
    date: date
    previous: date | None
    changes: tuple[LineChange, ...]
    inserted: bool
    effective: EffectiveDate

    @property
    def changed(self) -> bool:
        """True when the text changed."""
        return bool(self.changes)


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


class _Line(NamedTuple):  # a tuple: made for every line scanned
    index: int  # 0-based
    start: int
    content: str
    eol: str

    @property
    def end(self) -> int:
        return self.start + len(self.content) + len(self.eol)


def _line_at(text: str, start: int, index: int, crs: bool = True) -> _Line:
    """The line of ``text`` at offset ``start``; ``crs`` False says the text has no carriage
    return (then str.find finds the line ending, faster than a regex)."""
    if crs:
        eol = _EOL.search(text, start)
        end, after = eol.span() if eol else (len(text), len(text))
    else:
        end = text.find("\n", start)
        end, after = (end, end + 1) if end >= 0 else (len(text), len(text))
    return _Line(index, start, text[start:end], text[end:after])


def _lines_from(text: str, start: int = 0, index: int = 0) -> Iterator[_Line]:
    """The lines of ``text`` from offset ``start`` (a line start), numbered from ``index``."""
    crs = "\r" in text
    while start < len(text):
        line = _line_at(text, start, index, crs)
        yield line
        start, index = line.end, index + 1


def _split_lines(text: str) -> list[_Line]:
    return list(_lines_from(text))


def _line_before(text: str, line: _Line) -> _Line:
    """The line before ``line`` (which is not the first)."""
    end = line.start - (2 if text.startswith("\r\n", line.start - 2) else 1)
    start = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
    return _Line(line.index - 1, start, text[start:end], text[end : line.start])


def _structure_lines(text: str, start: int, index: int) -> Iterator[_Line]:
    """The lines from offset ``start`` (line ``index``) on that may be a fence, IAL or heading."""
    crs = "\r" in text
    offsets = itertools.chain(
        (start,) if _STRUCTURE_LINE.match(text, start) else (),
        (found.end() for found in (_STRUCTURE_ANY if crs else _STRUCTURE_LF).finditer(text, start)),
    )
    for offset in offsets:
        index += text.count("\n", start, offset)
        if crs:
            index += text.count("\r", start, offset) - text.count("\r\n", start, offset)
        start = offset
        yield _line_at(text, offset, index, crs)


@dataclass
class _Layout:
    """What date scanning needs of a text's structure, found without splitting every line:
    one regex finds the lines that may open or close a fence or be an IAL or a heading, and
    every other line is text or blank."""

    text: str
    front_matter: tuple[int, int] | None = None  # indexes of the opening and closing lines
    body_offset: int = 0  # where the line after the front matter starts
    code: list[tuple[int, int]] = field(default_factory=list)  # first and last line of fences
    ial: set[int] = field(default_factory=set)
    title: _Line | None = None  # the last line of the first H1 (setext underline included)
    title_text: str | None = None
    headings: set[int] = field(default_factory=set)

    @property
    def body_start(self) -> int:
        return self.front_matter[1] + 1 if self.front_matter else 0

    def in_code(self, index: int) -> bool:
        at = bisect.bisect(self.code, (index, sys.maxsize)) - 1
        return at >= 0 and index <= self.code[at][1]


def _layout(text: str) -> _Layout:
    layout = _Layout(text)
    lines = _lines_from(text)
    first = next(lines, None)
    if first is not None and _FRONT_MATTER_OPEN.match(first.content):
        close = next((ln for ln in lines if _FRONT_MATTER_CLOSE.match(ln.content)), None)
        if close is not None:
            layout.front_matter, layout.body_offset = (0, close.index), close.end
    fence: tuple[str, int] | None = None  # the open fence and its first line
    ended: set[int] = set()  # headings and setext underlines: no setext text
    for line in _structure_lines(text, layout.body_offset, layout.body_start):
        opened = _FENCE.match(line.content)
        if fence is not None:
            marker, start = fence
            if opened and opened.group(1)[0] == marker[0] and len(opened.group(1)) >= len(marker):
                layout.code.append((start, line.index))
                fence = None
        elif opened:
            fence = (opened.group(1), line.index)
        elif _IAL_LINE.match(line.content):
            layout.ial.add(line.index)
        elif atx := _ATX.match(line.content):
            layout.headings.add(line.index)
            ended.add(line.index)
            if layout.title is None and len(atx.group(1)) == 1:
                layout.title, layout.title_text = line, line.content.strip()
        elif _SETEXT_H1.match(line.content) and (heading := _setext_text(layout, line, ended)):
            layout.headings.add(heading.index)
            ended.add(line.index)
            if layout.title is None:
                layout.title, layout.title_text = line, heading.content.strip()
    if fence is not None:
        layout.code.append((fence[1], sys.maxsize))  # an unclosed fence runs to the end
    return layout


def _setext_text(layout: _Layout, underline: _Line, ended: set[int]) -> _Line | None:
    """The line a setext underline makes a heading: the line before it (past IAL lines) if
    that is body text, not blank, code, a heading or an underline."""
    line = underline
    while line.index > layout.body_start:
        line = _line_before(layout.text, line)
        if line.index not in layout.ial:
            if line.index in ended or layout.in_code(line.index) or not line.content.strip():
                return None
            return line
    return None


def _top_region(layout: _Layout) -> set[int]:
    """Line indexes 'near the top': the first non-blank lines under the title."""
    title = layout.title
    start, index = (
        (title.end, title.index + 1) if title else (layout.body_offset, layout.body_start)
    )
    region: set[int] = set()
    for line in _lines_from(layout.text, start, index):
        if line.index in layout.headings or len(region) >= _TOP_LINES:
            break
        if line.content.strip():
            region.add(line.index)
    return region


@dataclass(frozen=True)
class DateOptions:
    """How one policy writes its dates: the config of the repository or of that policy.

    ``date_order`` is the numeric order in use (config, or what :func:`resolve_date_order`
    found); ``locale`` gives month names and, through babel, an order; ``date_label`` chooses
    the managed date when a policy states several.
    """

    date_order: str | None = None
    locale: str | None = None
    date_label: str | None = None
    notice_days: int = 30

    def with_order(self, order: str | None) -> DateOptions:
        """These options with ``order`` (unchanged when ``order`` is None)."""
        if order is None or order == self.date_order:
            return self
        return replace(self, date_order=order)


def date_options(
    settings: Settings | DateOptions | None = None,
    *,
    date_order: str | None = None,
    locale: str | None = None,
    date_label: str | None = None,
    notice_days: int | None = None,
) -> DateOptions:
    """The date options of one policy: ``settings`` with that policy's own values on top.

    Callers pass a policy's ``[tool.redline.policies."path.md"]`` values (or its folder's
    locale) as keywords; None keeps the repository-wide value.
    """
    if isinstance(settings, DateOptions):
        base = settings
    elif settings is None:
        base = DateOptions()
    else:
        base = DateOptions(
            settings.date_order, settings.locale, settings.date_label, settings.notice_days
        )
    changes = {
        key: value
        for key, value in (
            ("date_order", date_order),
            ("locale", locale),
            ("date_label", date_label),
            ("notice_days", notice_days),
        )
        if value is not None
    }
    return replace(base, **changes) if changes else base


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


def _insertion_point(content: str, minimum: int) -> int:
    """Where a blank date is filled in: after the last visible character, past one space."""
    point = max(len(content.rstrip(" \t")), minimum)
    return point + 1 if content[point : point + 1] in (" ", "\t") else point


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


def date_line(settings: Settings | DateOptions | None, value: date) -> str:
    """The line to add to a policy that has no effective-date statement."""
    label = date_options(settings).date_label or DEFAULT_LABEL
    if re.search(r"[_-]", label) or label.islower():
        label = _norm_label(label).capitalize()
    return f"{label}: {value.isoformat()}"


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


def _managed_label(opts: DateOptions) -> str | None:
    return _norm_label(opts.date_label) if opts.date_label else None


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

    @classmethod
    def from_repo(
        cls, repo: PolicyRepo, options_for: Callable[[Policy], DateOptions] | None = None
    ) -> RepositoryOrders:
        """The orders of the working-tree policies of ``repo`` (read only when needed)."""

        def policies() -> Iterator[tuple[str, str, DateOptions]]:
            for policy in repo.policies():
                try:
                    text = repo.read_text(policy, None).text
                except InputError:
                    continue
                options = options_for(policy) if options_for else date_options(repo.settings)
                yield policy.path, text, options

        return cls(policies())

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


def revision_texts(repo: PolicyRepo, policy: Policy) -> Iterator[tuple[str, str]]:
    """``(commit, text)`` of each revision of ``policy``, newest first, read one at a time."""
    for revision in repo.revisions(policy):
        try:
            yield revision.short, repo.read_text(policy, revision.commit).text
        except InputError:
            continue


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
    from redline.history.repo import decode_policy

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


def parse_iso_date(value: str, *, what: str) -> date:
    """Parse a YYYY-MM-DD value given on the command line or in the environment."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(
            f"{what}: {value!r} is not a date", hint="write it as YYYY-MM-DD, e.g. 2025-07-01"
        ) from None


def parse_offset(value: str, *, what: str = "--in") -> timedelta:
    """Parse a period such as ``30d``, ``30`` or ``4w``."""
    found = re.fullmatch(r"\s*(\d{1,5})\s*([dw]?)\s*", value, re.I)
    if not found:
        raise InputError(
            f"{what}: {value!r} is not a period", hint="write a number of days or weeks: 30d, 4w"
        )
    days = int(found.group(1)) * (7 if found.group(2).lower() == "w" else 1)
    return timedelta(days=days)


def resolve_today(value: str | None = None) -> date:
    """Today: ``value`` (from ``--today``), else $REDLINE_TODAY, else the system date."""
    if value:
        return parse_iso_date(value, what="--today")
    env = os.environ.get(ENV_TODAY, "").strip()
    if env:
        return parse_iso_date(env, what=ENV_TODAY)
    return date.today()
