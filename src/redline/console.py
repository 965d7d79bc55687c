"""Terminal output: results to stdout, logs and progress to stderr, ``NO_COLOR`` honoured.

:func:`setup_logging` sets the console up once per run with the run's
:class:`~redline.env.Environment`: its streams and its ``NO_COLOR``. Before that (a library
caller), the process's own environment is used.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, TextIO

from redline.env import Environment

if TYPE_CHECKING:
    from rich.console import Console

LOG = logging.getLogger("redline")


_RUN: dict[str, Environment] = {}


def run_env() -> Environment:
    """The environment the console was set up with (else the process's own)."""
    return _RUN.get("env") or Environment.from_os()


def color_enabled(env: Environment) -> bool:
    """False when ``NO_COLOR`` is set to anything (https://no-color.org)."""
    return "NO_COLOR" not in env.environ


def _console(file: TextIO) -> Console:
    from rich.console import Console

    no_color = not color_enabled(run_env())
    return Console(file=file, no_color=no_color, highlight=False, soft_wrap=True)


def out() -> Console:
    """Console for results: the run's stdout."""
    return _console(run_env().stdout)


def err() -> Console:
    """Console for logs, progress and errors: the run's stderr."""
    return _console(run_env().stderr)


class _LowercaseLevelFormatter(logging.Formatter):
    """``redline: warning: …``, like the one-line errors (``redline: error: …``)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        """Format with the level name in lower case."""
        return self._style.format(record).replace(
            f"redline: {record.levelname}:", f"redline: {record.levelname.lower()}:", 1
        )


def setup_logging(verbosity: int, env: Environment) -> None:
    """Set the console up for the run ``env`` and send redline's log to its stderr;
    ``verbosity`` is -1 (quiet), 0, 1 (verbose) or 2 (debug)."""
    _RUN["env"] = env
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(env.stderr)
    handler.setFormatter(_LowercaseLevelFormatter("redline: %(levelname)s: %(message)s"))
    LOG.handlers[:] = [handler]
    LOG.setLevel(level)
    LOG.propagate = False


def emit_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout."""
    stdout = run_env().stdout
    stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    stdout.flush()
