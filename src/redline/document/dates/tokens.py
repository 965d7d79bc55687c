"""One date token: how it reads (date, precision, numeric order) and writes a new date alike."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from redline.document.dates.names import _apply_case, _case_of, _ordinal

if TYPE_CHECKING:
    from redline.document.dates.grammar import _Grammar


DATE_ORDER_HINT = (
    'set date_order = "MDY" or "DMY" in [tool.redline] (or in the policy\'s '
    '[tool.redline.policies."PATH"] table), or the policy\'s locale'
)


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
