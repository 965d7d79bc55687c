"""Finding and reading the configuration file: ``redline.toml`` or ``[tool.redline]`` in
``pyproject.toml``."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from redline.errors import ConfigError


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="fix the syntax") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def redline_table(data: dict[str, Any], path: Path, *, top_level: bool) -> Any:
    """The ``[tool.redline]`` table of ``data``; with ``top_level``, else ``data`` itself."""
    tool = data.get("tool")
    if tool is None:
        return data if top_level else None
    if not isinstance(tool, dict):
        raise ConfigError(
            f"{path}: key 'tool' must be a table, not {tool!r}",
            hint="write [tool.redline] with the redline keys under it",
        )
    table = tool.get("redline")
    if table is None and top_level:
        return {key: value for key, value in data.items() if key != "tool"}
    return table


def find_config(repo_root: Path) -> tuple[Path | None, dict[str, Any]]:
    """Return the config file of ``repo_root`` and its raw redline table (empty if none)."""
    redline_toml = repo_root / "redline.toml"
    if redline_toml.is_file():
        return redline_toml, redline_table(read_toml(redline_toml), redline_toml, top_level=True)
    pyproject = repo_root / "pyproject.toml"
    if pyproject.is_file():
        table = redline_table(read_toml(pyproject), pyproject, top_level=False)
        if table is not None:
            return pyproject, table
    return None, {}
