"""GitHub Actions I/O: step outputs (``$GITHUB_OUTPUT``, multi-line values behind random
delimiters), the job summary (``$GITHUB_STEP_SUMMARY``) and the event that triggered the run."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from redline.errors import InputError

LOG = logging.getLogger("redline.github")


def format_github_outputs(outputs: Mapping[str, str]) -> str:
    """``$GITHUB_OUTPUT`` lines; multi-line values use a random heredoc delimiter."""
    lines = []
    for name, value in outputs.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            while delimiter in value:  # pragma: no cover - 128 random bits
                delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}")
        else:
            lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


def append_github_file(variable: str, text: str, environ: Mapping[str, str]) -> None:
    """Append ``text`` to the file named by ``$variable`` (a warning when it is not set)."""
    target = environ.get(variable)
    if not target:
        LOG.warning("%s is not set; not writing it", variable)
        return
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise InputError(f"{variable}={target}: cannot write: {exc.strerror}") from None


def read_github_event(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The webhook payload at ``$GITHUB_EVENT_PATH`` (None outside Actions or if unreadable)."""
    path = environ.get("GITHUB_EVENT_PATH")
    if environ.get("GITHUB_ACTIONS") != "true" or not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        LOG.warning("cannot read the GitHub event at %s: %s", path, exc)
        return None
    return data if isinstance(data, dict) else None
