"""When a new version takes effect: the Effective-Date trailer, a pending release's date,
the notice period, and the 1st of a month for month-year dates.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

from redline.document.dates import earliest_writable, parse_iso_date
from redline.errors import DateError

if TYPE_CHECKING:
    from redline.history.tags import Release


_TRAILER = re.compile(r"^effective-date[ \t]*:[ \t]*(.*?)[ \t]*$", re.I | re.M)


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
) -> tuple[date, str, bool]:
    """The effective date of a new version: ``(date, where it came from, short notice)``.

    ``pending`` is the date of a release not yet in effect, ``requested`` the Effective-Date
    trailer, ``written`` the date in the policy at HEAD. A policy that writes its date as a
    month and year (``precision`` ``"month"``) can only announce the 1st of a month: every
    date is moved to the first one no reader can take as earlier
    (:func:`redline.document.dates.earliest_writable`). See the module docstring.
    """
    if classification != "material":
        if pending is not None:
            return pending, "pending release", False
        return today, "released at once", False
    minimum = today + timedelta(days=notice_days)
    floor, source = minimum, f"notice period of {notice_days} days"
    if pending is not None and pending > minimum:
        floor, source = pending, "date of the pending release"
    writable = earliest_writable(floor, precision)
    if writable != floor:
        floor, source = writable, f"{source}, moved to the 1st of a month (month-year date)"
    if requested is not None:
        if requested < today:
            raise DateError(
                f"{name}: the Effective-Date trailer asks for {requested.isoformat()}, "
                f"which is in the past (today is {today.isoformat()})",
                hint="ask for a future date in the merge commit's Effective-Date trailer",
            )
        asked, how = earliest_writable(requested, precision), "Effective-Date trailer"
        if asked != requested:
            how += f" ({requested.isoformat()}, moved to the 1st of a month: month-year date)"
        if asked >= floor:
            return asked, how, False
        if not allow_short_notice:
            days = (asked - today).days
            raise DateError(
                f"{name}: the Effective-Date trailer asks for {requested.isoformat()}, which "
                f"gives {days} days of notice; the earliest allowed is {floor.isoformat()} "
                f"({source})",
                hint="remove the trailer or ask for a later date, or pass "
                "--allow-short-notice to release with short notice (recorded in the tag)",
            )
        return asked, f"{how} (short notice)", True
    if written is not None and written > floor:
        return written, "date written in the policy", False
    return floor, source, False
