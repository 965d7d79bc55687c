"""What reading and editing dates returns: date statements, the managed date, edits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from redline.document.dates.labels import _kind_of
from redline.document.dates.tokens import _num, _Reading, _Token

if TYPE_CHECKING:
    from redline.document.dates.lines import _Line


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


def _make_match(
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
    """The date statement of ``line`` whose date is at ``start:end`` (offsets in the line)."""
    value = None if blank or reading is None else reading.date
    message = hint = None
    if error:
        message, hint = error
    elif reading is not None and reading.error and not blank:
        message, hint = reading.error, reading.hint
    notes = (*warnings, *(reading.warnings if reading else ()))
    if attribute is not None:
        value, vouched = _vouched(attribute, value, only=reading is None and not blank)
        notes += vouched
    return DateMatch(
        date=value,
        line=line.index + 1,
        text=line.content,
        label=label,
        kind=kind or (_kind_of(label) if source != "bare" else "other"),
        source=source,
        form=_form(token, reading, blank),
        wrapping=wrapping,
        start=line.start + start,
        end=line.start + end,
        blank=blank,
        error=message,
        hint=hint,
        attribute=attribute,
        warnings=notes,
        line_start=line.start,
        line_end=line.end,
        precision=reading.precision if reading is not None and not blank else "day",
        _token=token,
        _reading=reading,
        _insert_space=insert_space,
    )


def _vouched(
    attribute: DatetimeAttribute, value: date | None, *, only: bool
) -> tuple[date | None, tuple[str, ...]]:
    """The date a statement with ``attribute`` states (the attribute's when it is ``only``
    source), and the warnings when the two disagree or the attribute is no date."""
    if attribute.date is None:
        return value, (f"datetime attribute {attribute.value!r} is not a valid date",)
    if value is None and only:
        return attribute.date, ()
    if value is not None and attribute.date != value:
        return value, (
            f"datetime attribute says {attribute.date.isoformat()} but the text says "
            f"{value.isoformat()}; setting the date rewrites both",
        )
    return value, ()


def _form(token: _Token | None, reading: _Reading | None, blank: bool) -> str:
    """How the date is written: its pattern, a placeholder's, or what stands for it."""
    if blank:
        return "blank" if token is None else f"placeholder {reading.pattern}"  # type: ignore[union-attr]
    if reading is not None:
        return reading.pattern
    return "datetime attribute only"
