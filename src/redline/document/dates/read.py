"""The managed date of a text: the date statements split into the managed ones and the others,
and the checks that it is there, readable and agreed on.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from redline.document.dates.labels import _managed_label, _norm_label, date_line
from redline.document.dates.lines import _layout, _split_lines
from redline.document.dates.options import DateOptions, date_options
from redline.document.dates.results import DateMatch, EffectiveDate
from redline.document.dates.scan import _Scanner, find_dates
from redline.env import Environment
from redline.errors import DateError

if TYPE_CHECKING:
    from redline.config import Settings


def _today(settings: Settings | DateOptions | None) -> date:
    """Today in the run of ``settings`` (the system date without Settings)."""
    if settings is None or isinstance(settings, DateOptions):
        return Environment().current_date()
    return settings.env.current_date()


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
        suggestion = (today or _today(settings)) + timedelta(days=opts.notice_days)
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
