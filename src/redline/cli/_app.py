"""The settings object that the root command builds and every subcommand receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.env import Environment


@dataclass
class AppContext:
    """Global options, and the configuration loaded from them on first use."""

    repo: Path | None
    config_file: Path | None
    verbosity: int
    #: The run's environment (:meth:`redline.env.Environment.from_os`, built once by the root
    #: command; under click's CliRunner it holds the ``env`` the runner set).
    env: Environment
    _settings: dict[tuple[tuple[str, Any], ...], Settings] = field(default_factory=dict)

    def settings(self, **overrides: Any) -> Settings:
        """Load the repository's configuration; non-None ``overrides`` (flags) win."""
        key = tuple(sorted(overrides.items()))
        if key not in self._settings:
            from redline.config import load_settings
            from redline.history.git import find_repo_root

            root = find_repo_root(self.repo or Path.cwd())
            self._settings[key] = load_settings(root, self.config_file, overrides, env=self.env)
        return self._settings[key]


pass_app = click.make_pass_decorator(AppContext)
