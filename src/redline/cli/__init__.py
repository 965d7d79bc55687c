"""The ``redline`` command: a thin click layer over the core modules.

Each subcommand lives in its own module in this package and is imported only when it runs,
so ``redline --help`` stays fast. A module ``foo_bar.py`` defines ``command`` and becomes
``redline foo-bar``. The configuration gives the defaults of the options that mirror its keys
(:mod:`redline.cli._options`).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import click

from redline import __version__
from redline.cli._app import AppContext
from redline.errors import RedlineError, exit_code_for


class ReportedError(click.ClickException):
    """A RedlineError shown as one line on stderr with its mapped exit code."""

    def __init__(self, error: RedlineError) -> None:
        super().__init__(str(error))
        self.exit_code = exit_code_for(error)

    def show(self, file: Any = None) -> None:
        """Print ``redline: error: ...`` to stderr."""
        click.echo(f"redline: error: {self.message}", err=True)


class LazyGroup(click.Group):
    """A group whose commands are modules of ``redline.cli``, imported on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Names of all subcommand modules, without importing them."""
        return sorted(
            entry.name.removesuffix(".py").replace("_", "-")
            for entry in os.scandir(Path(__file__).parent)
            if entry.name.endswith(".py") and not entry.name.startswith("_")
        )

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import ``redline.cli.<name>`` and return its ``command``."""
        if cmd_name not in self.list_commands(ctx):
            return None
        module = importlib.import_module(f"redline.cli.{cmd_name.replace('-', '_')}")
        return module.command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand, turning redline errors into one-line messages."""
        try:
            return super().invoke(ctx)
        except RedlineError as error:
            raise ReportedError(error) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="redline")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    help="Policy repository (default: the git repository around the current directory).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: redline.toml or [tool.redline] in pyproject.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.pass_context
def cli(
    ctx: click.Context, repo: Path | None, config_file: Path | None, verbose: int, quiet: bool
) -> None:
    """Version legal policies kept in git, redline their changes and notify subscribers.

    Exit codes: 0 success; 1 check failed or differences found (--exit-code) or notices
    failed; 2 usage, config or input error; 3 git error; 4 delivery error; 5 storage error;
    6 policies left out (each reported with its fix); 7 another release is running.
    """
    from redline.console import setup_logging
    from redline.env import Environment

    env = Environment.from_os()
    verbosity = -1 if quiet else min(verbose, 2)
    setup_logging(verbosity, env)
    ctx.obj = AppContext(repo=repo, config_file=config_file, verbosity=verbosity, env=env)
    name = ctx.invoked_subcommand
    command = cli.get_command(ctx, name) if name else None
    if name and command is not None:
        from redline.cli._options import config_defaults

        ctx.default_map = {name: config_defaults(ctx.obj, command)}


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="redline")
