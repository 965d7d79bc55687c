"""Options and parameter types that several commands share, and config keys as click defaults.

Each ``*_option`` factory makes the same click option every command used to spell out; the
help text stays each command's own where it differs. An option made with ``config_key``
mirrors a configuration key: :func:`config_defaults` turns the repository's configuration
into the command's ``ctx.default_map`` (as black does with pyproject.toml), so a flag given
wins over the config file, and the config file over the built-in default, exactly as when
the flag's ``None`` left the key to :func:`redline.config.load_settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from redline.errors import RedlineError
from redline.vocab import NOTICE_KINDS

if TYPE_CHECKING:
    from redline.cli._app import AppContext

F = TypeVar("F", bound=Callable[..., Any])

DATE_ORDER = click.Choice(["MDY", "DMY"])
VERSION = click.IntRange(min=1)
NOTICE_DAYS = click.IntRange(min=0)
DIRECTORY = click.Path(file_okay=False, path_type=Path)


class ConfigOption(click.Option):
    """An option whose default is the configuration key ``config_key``."""

    def __init__(self, *args: Any, config_key: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config_key = config_key


def config_defaults(app: AppContext, command: click.Command) -> dict[str, Any]:
    """The ``default_map`` of ``command``: the configured value of each of its config options.

    Empty without a config file, or when the configuration cannot be loaded (the command
    then reports that itself, as it always did, and ``--help`` still works).
    """
    options = [param for param in command.params if isinstance(param, ConfigOption)]
    if not options:
        return {}
    try:
        settings = app.settings()
    except RedlineError:
        return {}
    if settings.config_file is None:
        return {}
    values = {option.name: getattr(settings, option.config_key) for option in options}
    return {name: value for name, value in values.items() if name and value is not None}


def json_option(help: str = "Machine-readable output.") -> Callable[[F], F]:
    """``--json``: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def today_option(help: str = "Pin today (also $REDLINE_TODAY).") -> Callable[[F], F]:
    """``--today YYYY-MM-DD``: the date taken as today."""
    return click.option("--today", metavar="YYYY-MM-DD", help=help)


def dry_run_option(help: str) -> Callable[[F], F]:
    """``--dry-run``: change, send and record nothing."""
    return click.option("--dry-run", is_flag=True, help=help)


def outbox_option(help: str) -> Callable[[F], F]:
    """``--outbox DIR``: write the emails as .eml files instead of using SMTP."""
    return click.option("--outbox", type=DIRECTORY, metavar="DIR", help=help)


def version_option(help: str) -> Callable[[F], F]:
    """``--version N``: one version of the policy."""
    return click.option("--version", "version", type=VERSION, help=help)


def kind_option(
    help: str, *, default: str | None = None, with_all: bool = False
) -> Callable[[F], F]:
    """``--kind``: which notice email (with ``with_all``, also ``all``)."""
    choices = [*NOTICE_KINDS, "all"] if with_all else list(NOTICE_KINDS)
    return click.option(
        "--kind",
        type=click.Choice(choices),
        default=default,
        show_default=default is not None,
        help=help,
    )


def base_option() -> Callable[[F], F]:
    """``--base REV``: the revision a pull request is compared with."""
    return click.option(
        "--base",
        metavar="REV",
        help="Compare with REV (default: the merge base of HEAD with the default branch).",
    )


def notice_days_option(help: str) -> Callable[[F], F]:
    """``--notice-days``: days of notice a material change needs (config ``notice_days``)."""
    return click.option(
        "--notice-days", cls=ConfigOption, config_key="notice_days", type=NOTICE_DAYS, help=help
    )


def date_order_option(help: str, *, config: bool = True) -> Callable[[F], F]:
    """``--date-order MDY|DMY`` (config ``date_order``).

    Without ``config`` the global key is no default: ``effective-date`` puts the flag over
    the policy's own table, which itself wins over the global key.
    """
    if not config:
        return click.option("--date-order", type=DATE_ORDER, help=help)
    return click.option(
        "--date-order", cls=ConfigOption, config_key="date_order", type=DATE_ORDER, help=help
    )


def allow_short_notice_option(
    help: str = "Plan as `redline release --allow-short-notice` would: accept a date that "
    "gives less than notice_days of notice.",
) -> Callable[[F], F]:
    """``--allow-short-notice``: release (or plan) with a date before the notice floor."""
    return click.option("--allow-short-notice", is_flag=True, help=help)
