"""Settings: ``[tool.redline]`` in the policy repository's pyproject.toml, or ``redline.toml``.

Every key has a type and a default here; command-line flags override the file.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from redline.config_files import find_config, read_toml, redline_table
from redline.env import Environment
from redline.errors import ConfigError
from redline.layout import Layout, ref_name_problem, safe_name

ENV_DATABASE_URL = "REDLINE_DATABASE_URL"


DEFAULT_EXCLUDE = ("README.md", "CHANGELOG*.md")


@dataclass(frozen=True)
class PolicyConfig:
    """One ``[tool.redline.policies."PATH"]`` table: settings of a single policy."""

    name: str | None = None
    title: str | None = None
    date_label: str | None = None
    date_order: str | None = None
    locale: str | None = None
    notice_days: int | None = None
    previous_paths: tuple[str, ...] = ()


_POLICY_OVERRIDES = ("date_label", "date_order", "locale", "notice_days")


def _meta(
    describe: str,
    bounds: tuple[float, float] | None = None,
    choices: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Field metadata of a configuration key: how errors describe its type, (for numbers)
    its inclusive bounds and (for strings) the values it may take."""
    return {"describe": describe, "bounds": bounds, "choices": choices}


def _key(
    default: Any = None,
    describe: str = "a string",
    *,
    bounds: tuple[float, float] | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A configuration key of :class:`Settings` with an immutable default."""
    return field(default=default, metadata=_meta(describe, bounds, choices))


def _choice(default: str | None, *choices: str) -> Any:
    """A key that takes one of ``choices``: ``"MDY" or "DMY"``."""
    describe = ", ".join(f'"{c}"' for c in choices[:-1]) + f' or "{choices[-1]}"'
    return _key(default, describe, choices=choices)


_STRINGS = "a string or a list of strings"


@dataclass(frozen=True)
class Settings:
    """Validated configuration of one policy repository.

    Every field made with :func:`_key` is a configuration key; its type, description and
    bounds are the schema the config file is checked against.
    """

    repo_root: Path = Path(".")
    config_file: Path | None = None
    policies_dir: tuple[str, ...] = _key(("policies",), "a folder or a list of folders")
    include: tuple[str, ...] = _key(("*.md",), _STRINGS)
    exclude: tuple[str, ...] = _key(DEFAULT_EXCLUDE, _STRINGS)
    extend_exclude: tuple[str, ...] = _key((), _STRINGS)
    locales: dict[str, tuple[str, ...]] = field(
        default_factory=dict, metadata=_meta('a table of locale = pattern(s), e.g. {de = "de/**"}')
    )
    policies: dict[str, PolicyConfig] = field(
        default_factory=dict,
        metadata=_meta('a table of per-policy tables, e.g. [tool.redline.policies."a.md"]'),
    )
    fold_typography: bool = _key(False, "true or false")
    date_order: str | None = _choice(None, "MDY", "DMY")
    locale: str | None = _key(None, 'a locale such as "de"')
    date_label: str | None = _key(None)
    notice_days: int = _key(30, "a whole number of days", bounds=(0, 3650))
    effective_date_by: str = _choice("release", "release", "author")
    links_material: bool = _key(False, "true or false")
    templates_dir: str = _key("templates")
    changelog_path: str = _key("{dir}/{stem}.changelog.md")
    site_url: str | None = _key(None, "a URL")
    site_name: str | None = _key(None, 'a name such as "Example Inc. policies"')
    organization: str | None = _key(None, 'a name such as "Example Inc."')
    contact: str | None = _key(None, "an email address or a URL")
    serve_url: str | None = _key(None, "a URL")
    unsubscribe_url: str | None = _key(None, "a URL containing {token}")
    unsubscribe_mailto: str | None = _key(None, "an email address")
    confirm_hours: int = _key(48, "a whole number of hours", bounds=(1, 8760))
    serve_rate_limit: int = _key(20, "a whole number of requests", bounds=(1, 1_000_000))
    smtp_host: str | None = _key(None, "a host name")
    smtp_port: int | None = _key(None, "a port number", bounds=(1, 65535))
    smtp_tls: str = _choice("starttls", "starttls", "ssl", "none")
    smtp_user: str | None = _key(None, "a user name")
    smtp_timeout: float = _key(30.0, "a number of seconds", bounds=(0.1, 3600))
    from_address: str | None = _key(None, "an email address")
    smtp_connections: int = _key(1, "a whole number of connections", bounds=(1, 64))
    max_send_errors: int = _key(20, "a whole number", bounds=(1, 1_000_000))
    bounce_limit: int = _key(3, "a whole number", bounds=(1, 1000))
    rate: float | None = _key(None, "messages per second", bounds=(0.001, 100_000))
    remind_days: tuple[int, ...] = _key(
        (7,), "a number of days or a list of them", bounds=(0, 3650)
    )
    send_in_effect: bool = _key(False, "true or false")
    notify_editorial: bool = _key(False, "true or false")
    bot_name: str = _key("redline-bot")
    bot_email: str = _key("redline-bot@users.noreply.github.com", "an email address")
    tag_prefix: str = _key("")
    default_branch: str | None = _key(None, "a branch name")
    max_template_bytes: int = _key(
        1_000_000, "a whole number of bytes", bounds=(1_000, 1_000_000_000)
    )
    max_subject_chars: int = _key(998, "a whole number of characters", bounds=(20, 998))
    database_url: str | None = field(default=None, repr=False)
    #: The run's environment (built by the command line; empty when made directly).
    env: Environment = field(default_factory=Environment, repr=False, compare=False)

    @cached_property
    def layout(self) -> Layout:
        """Which files are policies and what they are called (see :mod:`redline.layout`)."""
        return Layout(self)

    def for_policy(self, path: str) -> Settings:
        """These settings with the per-policy table and ``locales`` of the policy at ``path``.

        Pass the result wherever one policy is read or written: its ``date_label``,
        ``date_order``, ``locale`` and ``notice_days`` are then the policy's own.
        """
        own = self.policies.get(path, PolicyConfig())
        changes: dict[str, Any] = {
            key: getattr(own, key) for key in _POLICY_OVERRIDES if getattr(own, key) is not None
        }
        if "locale" not in changes:
            locale = self.layout.locale(path)
            if locale is not None:
                changes["locale"] = locale
        return dataclasses.replace(self, **changes) if changes else self

    @property
    def database(self) -> str:
        """SQLAlchemy URL of the subscriber and ledger database."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.repo_root / '.redline' / 'redline.db').as_posix()}"


# Python types a config value of each annotated type may have in TOML.
_TOML_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "tuple[str, ...]": (str, list),
    "tuple[int, ...]": (int, list),
}


def _schema() -> dict[str, tuple[tuple[type, ...], str]]:
    """key -> (accepted Python types, description), derived from :class:`Settings`."""
    schema = {}
    for item in dataclasses.fields(Settings):
        if "describe" not in item.metadata:
            continue
        annotation = str(item.type).removesuffix(" | None")
        types = (dict,) if annotation.startswith("dict[") else _TOML_TYPES[annotation]
        schema[item.name] = (types, item.metadata["describe"])
    return schema


_SCHEMA = _schema()
_NUMBER_BOUNDS: dict[str, tuple[float, float]] = {
    item.name: item.metadata["bounds"]
    for item in dataclasses.fields(Settings)
    if item.metadata.get("bounds")
}
"""Inclusive bounds of numeric keys (``remind_days``: of each entry)."""
_CHOICES: dict[str, tuple[str, ...]] = {
    item.name: item.metadata["choices"]
    for item in dataclasses.fields(Settings)
    if item.metadata.get("choices")
}

_POLICY_SCHEMA: dict[str, tuple[tuple[type, ...], str]] = {
    "name": ((str,), 'a policy name such as "privacy"'),
    "title": ((str,), "a string"),
    "previous_paths": ((str, list), "a path or a list of paths"),
    **{key: _SCHEMA[key] for key in _POLICY_OVERRIDES},
}

_SECRET_KEYS = {"smtp_password", "password", "database_url", "secret"}
# Shape only, so loading the config never imports babel; redline.locales checks the locale
# itself where it is used.
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*")


def load_settings(
    repo_root: Path,
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    env: Environment,
) -> Settings:
    """Load, validate and merge the configuration; ``overrides`` (flags) win over the file.
    The settings keep the run's ``env`` (``REDLINE_DATABASE_URL`` comes from it)."""
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"{config_file}: config file not found", hint="check --config")
        raw = redline_table(read_toml(config_file), config_file, top_level=True)
        source: Path | None = config_file
    else:
        source, raw = find_config(repo_root)
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [tool.redline] must be a table, not {raw!r}")
    where = str(source) if source else "configuration"
    values = {key: _validate(key, value, where) for key, value in raw.items()}
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _validate(key, value, "command line")
    if "policies_dir" in values:
        values["policies_dir"] = _check_roots(repo_root, values["policies_dir"], where)
    url = env.get(ENV_DATABASE_URL) or None
    return Settings(repo_root=repo_root, config_file=source, database_url=url, env=env, **values)


def _fail(where: str, key: str, description: str, value: Any) -> ConfigError:
    return ConfigError(f"{where}: key '{key}' must be {description}, not {value!r}")


def _strings(key: str, value: Any, where: str, description: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
        raise _fail(where, key, description, value)
    return tuple(items)


def _relative_path(key: str, value: str, where: str) -> str:
    """``value`` as a normalised path inside the repository (``.`` for the root itself)."""
    if "\0" in value or value.startswith(("/", "~")) or re.match(r"[A-Za-z]:[\\/]", value):
        raise ConfigError(
            f"{where}: key '{key}' must be a path inside the repository, not {value!r}",
            hint='give it relative to the repository root, e.g. "policies"',
        )
    normal = posixpath.normpath(value.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        raise ConfigError(
            f"{where}: key '{key}' = {value!r} points outside the repository",
            hint="redline reads policies only inside the repository it runs in",
        )
    return normal


def _check_roots(repo_root: Path, roots: tuple[str, ...], where: str) -> tuple[str, ...]:
    """The policy roots, each inside the repository (also through symlinks), none nested."""
    top = repo_root.resolve()
    for root in roots:
        resolved = (top / root).resolve()
        if resolved != top and top not in resolved.parents:
            raise ConfigError(
                f"{where}: key 'policies_dir' = {root!r} leads outside the repository "
                f"(to {resolved})",
                hint="point it at a folder inside the repository, not a symlink out of it",
            )
    for root in roots:
        for other in roots:
            if root != other and (root == "." or other.startswith(f"{root}/")):
                raise ConfigError(
                    f"{where}: key 'policies_dir' lists {other!r} inside {root!r}",
                    hint="list each folder once; patterns choose files inside it",
                )
    return roots


def _check_number(key: str, value: float, where: str) -> None:
    low, high = _NUMBER_BOUNDS[key]
    if not low <= value <= high:  # also false for NaN
        raise ConfigError(
            f"{where}: key '{key}' = {value!r} is out of range",
            hint=f"use a value from {low:g} to {high:g}",
        )


def _validate(key: str, value: Any, where: str) -> Any:
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
        raise _fail(where, key, description, value)
    if not isinstance(value, types):
        raise _fail(where, key, description, value)
    if key == "policies_dir":
        paths = _strings(key, value, where, description)
        return tuple(dict.fromkeys(_relative_path(key, path, where) for path in paths))
    if key in {"include", "exclude", "extend_exclude"}:
        return _strings(key, value, where, description)
    if key == "locales":
        return _locales(value, where)
    if key == "policies":
        return _policies(value, where)
    if key == "remind_days":
        items = [value] if isinstance(value, int) else value
        if not all(isinstance(item, int) and not isinstance(item, bool) for item in items):
            raise _fail(where, key, description, value)
        for item in items:
            _check_number(key, item, where)
        return tuple(items)
    if key in _NUMBER_BOUNDS:
        _check_number(key, value, where)
    if key in _CHOICES and value not in _CHOICES[key]:
        raise _fail(where, key, description, value)
    if key == "locale" and not _LOCALE.fullmatch(value):
        raise _fail(where, key, description, value)
    return value


def _locales(value: dict[str, Any], where: str) -> dict[str, tuple[str, ...]]:
    locales = {}
    for locale, patterns in value.items():
        if not _LOCALE.fullmatch(locale):
            raise ConfigError(
                f"{where}: key 'locales' has {locale!r}, which is no locale",
                hint='use language codes such as "de" or "pt-BR"',
            )
        locales[locale] = _strings(f"locales.{locale}", patterns, where, _STRINGS)
    return locales


def _policies(value: dict[str, Any], where: str) -> dict[str, PolicyConfig]:

    tables = {}
    for path, table in value.items():
        key = f'policies."{path}"'
        if not isinstance(table, dict):
            raise _fail(where, key, "a table of per-policy settings", table)
        values: dict[str, Any] = {}
        for name, item in table.items():
            if name not in _POLICY_SCHEMA:
                known = ", ".join(sorted(_POLICY_SCHEMA))
                raise ConfigError(
                    f"{where}: unknown key '{name}' in [tool.redline.{key}]",
                    hint=f"known keys: {known}",
                )
            types, description = _POLICY_SCHEMA[name]
            if isinstance(item, bool) or not isinstance(item, types):
                raise _fail(where, f"{key}.{name}", description, item)
            if name == "previous_paths":
                items = _strings(f"{key}.{name}", item, where, description)
                values[name] = tuple(_relative_path(f"{key}.{name}", p, where) for p in items)
            elif name == "name":
                if safe_name(item) != item or ref_name_problem(f"{item}/v1"):
                    raise ConfigError(
                        f"{where}: key '{key}.name' = {item!r} is not a safe policy name",
                        hint=f"use lowercase letters, digits, '-', '.' and '/', e.g. "
                        f"{safe_name(item) or 'privacy'!r}",
                    )
                values[name] = item
            elif name == "title":
                values[name] = item
            else:
                values[name] = _validate(name, item, where)
        tables[_relative_path(key, path, where)] = PolicyConfig(**values)
    return tables
