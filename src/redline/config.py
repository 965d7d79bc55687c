"""Settings: ``[tool.redline]`` in the policy repository's pyproject.toml, or ``redline.toml``.

Every key has a type and a default here; command-line flags override the file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redline.errors import ConfigError

ENV_DATABASE_URL = "REDLINE_DATABASE_URL"


@dataclass(frozen=True)
class Settings:
    """Validated configuration of one policy repository."""

    repo_root: Path = Path(".")
    config_file: Path | None = None
    policies_dir: str = "policies"
    include: tuple[str, ...] = ("*.md",)
    exclude: tuple[str, ...] = ("README.md", "*.changelog.md", "CHANGELOG*.md")
    fold_typography: bool = False
    date_order: str | None = None
    locale: str | None = None
    date_label: str | None = None
    notice_days: int = 30
    templates_dir: str = "templates"
    changelog_path: str = "{dir}/{slug}.changelog.md"
    site_url: str | None = None
    unsubscribe_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_tls: str = "starttls"
    smtp_user: str | None = None
    smtp_timeout: float = 30.0
    from_address: str | None = None
    max_send_errors: int = 20
    rate: float | None = None
    remind_days: tuple[int, ...] = (7,)
    send_in_effect: bool = False
    notify_editorial: bool = False
    bot_name: str = "redline-bot"
    bot_email: str = "redline-bot@users.noreply.github.com"
    tag_prefix: str = ""
    default_branch: str | None = None
    max_template_bytes: int = 1_000_000
    max_subject_chars: int = 998
    database_url: str | None = field(default=None, repr=False)

    @property
    def policies_path(self) -> Path:
        """Absolute directory that holds the policy files."""
        return self.repo_root / self.policies_dir

    @property
    def database(self) -> str:
        """SQLAlchemy URL of the subscriber and ledger database."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.repo_root / '.redline' / 'redline.db').as_posix()}"


# key -> (accepted Python types, human description of the type)
_SCHEMA: dict[str, tuple[tuple[type, ...], str]] = {
    "policies_dir": ((str,), "a string"),
    "include": ((str, list), "a string or a list of strings"),
    "exclude": ((str, list), "a string or a list of strings"),
    "fold_typography": ((bool,), "true or false"),
    "date_order": ((str,), '"MDY" or "DMY"'),
    "locale": ((str,), 'a locale such as "de"'),
    "date_label": ((str,), "a string"),
    "notice_days": ((int,), "a whole number of days"),
    "templates_dir": ((str,), "a string"),
    "changelog_path": ((str,), "a string"),
    "site_url": ((str,), "a URL"),
    "unsubscribe_url": ((str,), "a URL containing {token}"),
    "smtp_host": ((str,), "a host name"),
    "smtp_port": ((int,), "a port number"),
    "smtp_tls": ((str,), '"starttls", "ssl" or "none"'),
    "smtp_user": ((str,), "a user name"),
    "smtp_timeout": ((int, float), "a number of seconds"),
    "from_address": ((str,), "an email address"),
    "max_send_errors": ((int,), "a whole number"),
    "rate": ((int, float), "messages per second"),
    "remind_days": ((int, list), "a number of days or a list of them"),
    "send_in_effect": ((bool,), "true or false"),
    "notify_editorial": ((bool,), "true or false"),
    "bot_name": ((str,), "a string"),
    "bot_email": ((str,), "an email address"),
    "tag_prefix": ((str,), "a string"),
    "default_branch": ((str,), "a branch name"),
    "max_template_bytes": ((int,), "a whole number of bytes"),
    "max_subject_chars": ((int,), "a whole number of characters"),
}

_SECRET_KEYS = {"smtp_password", "password", "database_url", "secret"}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="fix the syntax") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def find_config(repo_root: Path) -> tuple[Path | None, dict[str, Any]]:
    """Return the config file of ``repo_root`` and its raw redline table (empty if none)."""
    redline_toml = repo_root / "redline.toml"
    if redline_toml.is_file():
        data = _read_toml(redline_toml)
        return redline_toml, data.get("tool", {}).get("redline", data)
    pyproject = repo_root / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("redline")
        if table is not None:
            return pyproject, table
    return None, {}


def load_settings(
    repo_root: Path,
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Load, validate and merge the configuration; ``overrides`` (flags) win over the file."""
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"{config_file}: config file not found", hint="check --config")
        data = _read_toml(config_file)
        raw = data.get("tool", {}).get("redline", data) if "tool" in data else data
        source = config_file
    else:
        source, raw = find_config(repo_root)
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [tool.redline] must be a table")
    values = {key: _validate(key, value, source) for key, value in raw.items()}
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _validate(key, value, Path("command line"))
    database_url = os.environ.get(ENV_DATABASE_URL) or None
    return Settings(repo_root=repo_root, config_file=source, database_url=database_url, **values)


def _validate(key: str, value: Any, source: Path | None) -> Any:
    where = str(source) if source else "configuration"
    if key in _SECRET_KEYS:
        raise ConfigError(
            f"{where}: key '{key}' must not be kept in a file",
            hint="set it in the environment (see README, 'Secrets')",
        )
    if key not in _SCHEMA:
        known = ", ".join(sorted(_SCHEMA))
        raise ConfigError(f"{where}: unknown key '{key}'", hint=f"known keys: {known}")
    types, description = _SCHEMA[key]
    if isinstance(value, bool) and bool not in types:
        raise ConfigError(f"{where}: key '{key}' must be {description}, not {value!r}")
    if not isinstance(value, types):
        raise ConfigError(f"{where}: key '{key}' must be {description}, not {value!r}")
    if key in {"include", "exclude"}:
        items = [value] if isinstance(value, str) else value
        if not all(isinstance(item, str) for item in items):
            raise ConfigError(f"{where}: key '{key}' must be {description}")
        return tuple(items)
    if key == "remind_days":
        items = [value] if isinstance(value, int) else value
        if not all(isinstance(item, int) and not isinstance(item, bool) for item in items):
            raise ConfigError(f"{where}: key 'remind_days' must be {description}")
        return tuple(items)
    if key == "date_order" and value not in {"MDY", "DMY"}:
        raise ConfigError(f'{where}: key \'date_order\' must be "MDY" or "DMY", not {value!r}')
    if key == "smtp_tls" and value not in {"starttls", "ssl", "none"}:
        raise ConfigError(f"{where}: key 'smtp_tls' must be {description}, not {value!r}")
    if key == "notice_days" and value < 0:
        raise ConfigError(f"{where}: key 'notice_days' must not be negative")
    return value


def known_keys() -> list[str]:
    """Names of every configuration key, for documentation and errors."""
    return sorted(_SCHEMA)


def as_dict(settings: Settings) -> dict[str, Any]:
    """Settings as plain data, without secrets, for ``--json`` and debugging."""
    data = dataclasses.asdict(settings)
    data.pop("database_url", None)
    data["repo_root"] = str(settings.repo_root)
    data["config_file"] = str(settings.config_file) if settings.config_file else None
    return data
