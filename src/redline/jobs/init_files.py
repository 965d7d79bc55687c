"""The files ``redline init`` writes: the configuration, the GitHub workflows, ``.gitignore``.

Each is planned as a :class:`FileAction`; an existing file is kept as it is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from redline.config_files import find_config
from redline.errors import InputError
from redline.jobs.init_propose import config_text

if TYPE_CHECKING:
    from redline.config import Settings

WORKFLOWS_DIR = ".github/workflows"
GITIGNORE_ENTRY = ".redline/"


@dataclass(frozen=True)
class FileAction:
    """One file ``init`` writes (``create`` or ``append``) or leaves alone (``keep``)."""

    path: str
    action: str
    reason: str
    content: str = field(default="", repr=False)

    @property
    def writes(self) -> bool:
        """True when applying the plan changes this file."""
        return self.action in {"create", "append"}


def plan_config(settings: Settings) -> FileAction:

    root = settings.repo_root
    existing, _ = find_config(root)
    if settings.config_file is not None:
        existing = settings.config_file
    if existing is not None:
        return FileAction(_relative(existing, root), "keep", "redline is already configured here")
    header = "# redline configuration, written by `redline init` (see README, 'Configuration').\n"
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        text = _read(pyproject)
        separator = "" if text.endswith("\n") or not text else "\n"
        keys = config_text(settings, "tool.redline.")
        content = f"{text}{separator}\n{header}[tool.redline]\n{keys}"
        return FileAction("pyproject.toml", "append", "adds [tool.redline]", content)
    return FileAction("redline.toml", "create", "configuration", header + config_text(settings))


def workflow_templates() -> list[Path]:
    """The workflow files shipped with redline (the project's ``templates/workflows``)."""
    from redline.publish.templates import packaged_templates_dir  # lazy: loads jinja2

    directory = packaged_templates_dir() / "workflows"
    files = sorted(directory.glob("*.yml")) if directory.is_dir() else []
    if not files:
        raise InputError(
            f"redline's workflow templates are missing ({directory})", hint="reinstall redline"
        )
    return files


def path_filters(settings: Settings) -> list[str]:
    """The workflow ``paths:`` filters that match every policy of ``settings``."""
    filters = []
    for root in settings.policies_dir:
        if root != ".":
            filters.append(f"{root}/**")
            continue
        for pattern in settings.include:
            if pattern.startswith("!"):
                continue
            anchored = "/" in pattern.rstrip("/")
            filters.append(pattern.lstrip("/") if anchored else f"**/{pattern}")
    return list(dict.fromkeys(filters))


def workflow_config(settings: Settings) -> str | None:
    """The config file the workflows must pass, when it is not where redline looks anyway."""
    file = settings.config_file
    if file is None:
        return None
    relpath = _relative(file, settings.repo_root)
    return None if relpath in {"redline.toml", "pyproject.toml"} else relpath


def workflow_text(template: Path, settings: Settings) -> str:
    """A shipped workflow, with its ``paths:`` filter matching the configured policies and
    the config file passed to each redline step when it is not in a default place."""
    text = _read(template)
    filters = path_filters(settings)
    if filters != ["policies/**"]:
        text = text.replace('"policies/**"', ", ".join(json.dumps(f) for f in filters))
    config = workflow_config(settings)
    if config is not None:
        text = re.sub(
            r"^(\s+)(command: .*)$",
            lambda m: f"{m.group(1)}{m.group(2)}\n{m.group(1)}config: {json.dumps(config)}",
            text,
            flags=re.MULTILINE,
        )
    return text


def plan_workflows(settings: Settings, warnings: list[str]) -> list[FileAction]:
    config = workflow_config(settings)
    if config is not None and (config.startswith("/") or config.startswith("..")):
        warnings.append(
            f"{config}: the workflows cannot read a config file outside the repository; "
            "move it into the repository and run init again"
        )
    actions = []
    for template in workflow_templates():
        relpath = f"{WORKFLOWS_DIR}/{template.name}"
        target = settings.repo_root / relpath
        content = workflow_text(template, settings)
        if not target.exists():
            actions.append(FileAction(relpath, "create", "GitHub workflow", content))
        elif _read(target) == content:
            actions.append(FileAction(relpath, "keep", "already up to date"))
        else:
            actions.append(
                FileAction(
                    relpath,
                    "keep",
                    "differs from the one redline ships; left as it is (delete it and run "
                    "init again to get redline's)",
                )
            )
    return actions


def plan_gitignore(root: Path) -> FileAction:
    path = root / ".gitignore"
    if not path.exists():
        return FileAction(
            ".gitignore",
            "create",
            "ignores .redline/",
            f"# redline's local database\n{GITIGNORE_ENTRY}\n",
        )
    text = _read(path)
    entries = {line.strip() for line in text.splitlines()}
    if entries & {".redline", ".redline/", "/.redline", "/.redline/"}:
        return FileAction(".gitignore", "keep", ".redline/ is already ignored")
    separator = "" if text.endswith("\n") or not text else "\n"
    content = f"{text}{separator}\n# redline's local database\n{GITIGNORE_ENTRY}\n"
    return FileAction(".gitignore", "append", "adds .redline/", content)


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text", hint="save it as UTF-8") from None


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
