"""When a new version takes effect: the Effective-Date trailer, a date stated in the pull
request, a pending release's date, the notice period, and the 1st of a month for month-year
dates (:func:`choose_effective_date`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from redline.document.dates import earliest_writable, parse_iso_date
from redline.errors import DateError

if TYPE_CHECKING:
    from redline.history.tags import Release


_TRAILER = re.compile(r"^effective-date[ \t]*:[ \t]*(.*?)[ \t]*$", re.I | re.M)
#: Who sets a material change's effective date (config ``effective_date_by``).
BY_RELEASE, BY_AUTHOR = "release", "author"


def effective_date_trailer(message: str, *, where: str = "HEAD") -> date | None:
    """The date of an ``Effective-Date: YYYY-MM-DD`` trailer in a commit message, if any.

    The last such line wins (as with git trailers); a malformed value is an InputError.
    """
    found = _TRAILER.findall(message)
    if not found:
        return None
    return parse_iso_date(found[-1], what=f"Effective-Date trailer of {where}")


def pending_date(releases: list[Release], today: date) -> date | None:
    """The latest effective date of a release that has not taken effect yet, if any."""
    ahead = [release.effective_date for release in releases if release.effective_date > today]
    return max(ahead) if ahead else None


@dataclass(frozen=True)
class _Floor:
    """The earliest date a material change may take effect, why, and the policy's facts."""

    floor: date
    source: str
    today: date
    notice_days: int
    precision: str
    allow_short_notice: bool
    name: str
    slug: str


def choose_effective_date(
    classification: str,
    *,
    today: date,
    notice_days: int,
    pending: date | None,
    requested: date | None,
    written: date | None,
    allow_short_notice: bool,
    name: str,
    precision: str = "day",
    stated: bool = False,
    by: str = BY_RELEASE,
    slug: str | None = None,
) -> tuple[date, str, bool]:
    """The effective date of a new version: ``(date, where it came from, short notice)``.

    ``pending`` is the date of a release not yet in effect, ``requested`` the Effective-Date
    trailer, ``written`` the date in the policy; ``stated`` says the pull request set that
    date (it differs from the last release's). A trailer or a stated date is used when it
    gives the notice; one before the floor is refused (a DateError) unless
    ``allow_short_notice``; one in the past always. With ``by`` ``"author"`` a material
    change must state its date (or have a trailer). A policy that writes its date as a
    month and year (``precision`` ``"month"``) can only announce the 1st of a month: every
    date is moved to the first one no reader can take as earlier
    (:func:`redline.document.dates.earliest_writable`). ``slug`` names the policy in hints
    (default: ``name`` without folder and ``.md``).
    """
    if classification != "material":
        if pending is not None:
            return pending, "pending release", False
        return today, "released at once", False
    slug = slug or name.rsplit("/", 1)[-1].removesuffix(".md")
    rules = _floor(today, notice_days, pending, precision, allow_short_notice, name, slug)
    if requested is not None:
        return _asked(
            rules, requested, "Effective-Date trailer", "the Effective-Date trailer asks for"
        )
    if stated and written is not None:
        return _asked(rules, written, "date stated in the policy", "the policy states")
    if by == BY_AUTHOR:
        shown = f" (still {written.isoformat()})" if written is not None else ""
        raise DateError(
            f"{name}: material change, but the effective date did not move{shown}; "
            f'with effective_date_by = "author" the pull request must set it, to '
            f"{rules.floor.isoformat()} or later ({rules.source})",
            hint=f"redline effective-date {slug} --in {notice_days}d",
        )
    if written is not None and written > rules.floor:
        return written, "date written in the policy", False
    return rules.floor, rules.source, False


def _floor(
    today: date,
    notice_days: int,
    pending: date | None,
    precision: str,
    allow_short_notice: bool,
    name: str,
    slug: str,
) -> _Floor:
    """The later of today + ``notice_days`` and a pending release's date, writable."""
    floor, source = today + timedelta(days=notice_days), f"notice period of {notice_days} days"
    if pending is not None and pending > floor:
        floor, source = pending, "date of the pending release"
    writable = earliest_writable(floor, precision)
    if writable != floor:
        floor, source = writable, f"{source}, moved to the 1st of a month (month-year date)"
    return _Floor(floor, source, today, notice_days, precision, allow_short_notice, name, slug)


def _asked(rules: _Floor, asked: date, how: str, where: str) -> tuple[date, str, bool]:
    """A date asked for (trailer, or stated in the policy): used, short notice, or refused."""
    name, today = rules.name, rules.today
    if asked < today:
        raise DateError(
            f"{name}: {where} {asked.isoformat()}, which is in the past "
            f"(today is {today.isoformat()})",
            hint=f"set a date on or after {rules.floor.isoformat()} ({rules.source}): "
            f"redline effective-date {rules.slug} --in {rules.notice_days}d",
        )
    writable = earliest_writable(asked, rules.precision)
    if writable != asked:
        how += f" ({asked.isoformat()}, moved to the 1st of a month: month-year date)"
    if writable >= rules.floor:
        return writable, how, False
    if not rules.allow_short_notice:
        days = (writable - today).days
        raise DateError(
            f"{name}: {where} {asked.isoformat()}, which gives {days} days of "
            f"notice; the earliest allowed is {rules.floor.isoformat()} ({rules.source})",
            hint=f"set a date on or after {rules.floor.isoformat()} "
            f"(redline effective-date {rules.slug} --in {rules.notice_days}d), or pass "
            "--allow-short-notice to release with short notice (recorded in the tag)",
        )
    return writable, f"{how} (short notice)", True
