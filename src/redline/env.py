"""The process environment of one run: variables, today, the clock and the standard streams.

The command line builds one :class:`Environment` per run (:meth:`Environment.from_os`) and
passes it down; the core reads variables only through it, and tests pass their own. This is
the only module that reads ``os.environ``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TextIO

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


def utc_now() -> datetime:
    """The system clock, as an aware UTC datetime."""
    return datetime.now(UTC)


def inherited(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child process: this process's variables with ``extra`` on top."""
    return {**os.environ, **extra}


@dataclass(frozen=True)
class Environment:
    """What a run takes from its process. The repr names the variables, never their values
    (some are secrets: ``REDLINE_SECRET``, ``REDLINE_SMTP_PASSWORD``, the database URL).

    ``today`` is a date or a callable returning one; a ``REDLINE_TODAY`` value in
    ``environ`` wins over it (:meth:`current_date`).
    """

    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    today: date | Callable[[], date] = field(default=date.today, repr=False)
    clock: Callable[[], datetime] = field(default=utc_now, repr=False)
    stdin: TextIO = field(default_factory=lambda: sys.stdin, repr=False)
    stdout: TextIO = field(default_factory=lambda: sys.stdout, repr=False)
    stderr: TextIO = field(default_factory=lambda: sys.stderr, repr=False)

    @classmethod
    def from_os(cls) -> Environment:
        """This process's environment (a copy of its variables) and its current streams."""
        return cls(environ=dict(os.environ))

    def __repr__(self) -> str:
        return f"Environment(variables={sorted(self.environ)!r})"

    def get(self, name: str, default: str = "") -> str:
        """The variable ``name``, or ``default`` when it is not set."""
        return self.environ.get(name, default)

    def flag(self, name: str) -> bool:
        """True when the variable ``name`` is ``true`` (any case), as GitHub Actions sets it."""
        return self.get(name).lower() == "true"

    def current_date(self) -> date:
        """Today: ``$REDLINE_TODAY`` when set (YYYY-MM-DD, else InputError), else ``today``."""
        pinned = self.get(ENV_TODAY).strip()
        if pinned:
            return parse_iso_date(pinned, what=ENV_TODAY)
        return self.today() if callable(self.today) else self.today
