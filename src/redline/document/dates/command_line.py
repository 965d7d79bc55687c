"""Dates on the command line and in the environment: ``YYYY-MM-DD``, periods, today."""

from __future__ import annotations

import re
from datetime import date, timedelta

from redline.env import ENV_TODAY, Environment, parse_iso_date
from redline.errors import InputError

__all__ = ["ENV_TODAY", "parse_iso_date", "parse_offset", "resolve_today"]


def parse_offset(value: str, *, what: str = "--in") -> timedelta:
    """Parse a period such as ``30d``, ``30`` or ``4w``."""
    found = re.fullmatch(r"\s*(\d{1,5})\s*([dw]?)\s*", value, re.I)
    if not found:
        raise InputError(
            f"{what}: {value!r} is not a period", hint="write a number of days or weeks: 30d, 4w"
        )
    days = int(found.group(1)) * (7 if found.group(2).lower() == "w" else 1)
    return timedelta(days=days)


def resolve_today(value: str | None = None, *, env: Environment) -> date:
    """Today: ``value`` (from ``--today``), else $REDLINE_TODAY, else the system date."""
    if value:
        return parse_iso_date(value, what="--today")
    return env.current_date()
