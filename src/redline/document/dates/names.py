"""Month and weekday names of English and one configured locale (babel), and their case."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ORDINALS = {1: "st", 2: "nd", 3: "rd"}


def _ordinal(day: int) -> str:
    return "th" if 10 <= day % 100 <= 20 else _ORDINALS.get(day % 10, "th")


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
