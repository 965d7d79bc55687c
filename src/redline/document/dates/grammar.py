"""The grammar of date tokens: compiled patterns for English plus a locale, and form templates."""

from __future__ import annotations

import re
from functools import cache

from redline.document.dates.markup import _DWS
from redline.document.dates.names import _Names
from redline.document.dates.tokens import _Reading, _Style, _Token
from redline.locales import parse_locale


class _Grammar:
    """Compiled date patterns for English plus an optional locale."""

    def __init__(self, locale: str | None) -> None:
        self.locale = parse_locale(locale, config_key="locale")
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


@cache
def _grammar(locale: str | None) -> _Grammar:
    return _Grammar(locale)


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
