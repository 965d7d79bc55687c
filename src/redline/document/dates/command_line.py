"""Dates on the command line and in the environment: ``YYYY-MM-DD``, periods, today."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta

from redline.errors import InputError

ENV_TODAY = "REDLINE_TODAY"


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
