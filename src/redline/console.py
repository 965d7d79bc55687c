"""Terminal output: results to stdout, logs and progress to stderr, ``NO_COLOR`` honoured."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

LOG = logging.getLogger("redline")


def color_enabled() -> bool:
    """False when ``NO_COLOR`` is set to anything (https://no-color.org)."""
    return "NO_COLOR" not in os.environ


def out() -> Console:
    """Console for results: the current ``sys.stdout``."""
    from rich.console import Console

    return Console(file=sys.stdout, no_color=not color_enabled(), highlight=False, soft_wrap=True)


def err() -> Console:
    """Console for logs, progress and errors: the current ``sys.stderr``."""
    from rich.console import Console

    return Console(file=sys.stderr, no_color=not color_enabled(), highlight=False, soft_wrap=True)


class _LowercaseLevelFormatter(logging.Formatter):
    """``redline: warning: …``, like the one-line errors (``redline: error: …``)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        """Format with the level name in lower case."""
        return self._style.format(record).replace(
            f"redline: {record.levelname}:", f"redline: {record.levelname.lower()}:", 1
        )


def setup_logging(verbosity: int) -> None:
    """Send redline's log to stderr; ``verbosity`` is -1 (quiet), 0, 1 (verbose) or 2 (debug)."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LowercaseLevelFormatter("redline: %(levelname)s: %(message)s"))
    LOG.handlers[:] = [handler]
    LOG.setLevel(level)
    LOG.propagate = False


def emit_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
