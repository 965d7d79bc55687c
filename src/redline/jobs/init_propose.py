"""A configuration that fits a repository without one, and the text ``init`` writes of it."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from redline.config import DEFAULT_EXCLUDE

if TYPE_CHECKING:
    from collections.abc import Collection

    from redline.config import Settings
    from redline.history.repo import PolicyRepo

_NOT_POLICIES = re.compile(
    r"(readme|changelog|changes|license|licence|contributing|code_of_conduct|security|"
    r"authors|notice)(\..*)?",
    re.IGNORECASE,
)
_LOCALE_FOLDER = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?")


def propose_settings(
    repo: PolicyRepo, settings: Settings, *, keep: Collection[str] = ()
) -> tuple[Settings, list[str]]:
    """Settings that fit the Markdown files of a repository without a configuration.

    The root is ``policies/`` when it holds Markdown, else the deepest folder holding all
    of it; mostly ``*/index.md`` (a site) gives ``include = ["**/index.md"]``; two or more
    top folders named like locales (``en/``, ``de/``, ``pt-br/``) give ``locales``. Keys in
    ``keep`` (given as flags) stay as they are. Returns the settings and what was found.
    """
    files = [
        path
        for path in repo.candidate_paths(roots=(".",))
        if PurePosixPath(path).suffix.lower() in {".md", ".markdown"}
        and not _NOT_POLICIES.fullmatch(PurePosixPath(path).name)
        and not path.endswith(".changelog.md")
        and not any(part.startswith(".") for part in PurePosixPath(path).parts)
    ]
    notes: list[str] = []
    changes: dict[str, Any] = {}
    if (
        "policies_dir" not in keep
        and files
        and not any(settings.layout.root_of(path) for path in files)
    ):
        site_like = all(
            "/" in path and PurePosixPath(path).name.lower() == "index.md" for path in files
        )
        # privacy/index.md, terms/index.md: the folders are the policies' names
        levels = 2 if site_like else 1
        parents = [PurePosixPath(path).parents[levels - 1].as_posix() for path in files]
        root = os.path.commonpath(parents) or "."
        changes["policies_dir"] = (root,)
        notes.append(f"the Markdown files lie under {root}/")
    proposed = dataclasses.replace(settings, **changes) if changes else settings
    inner = [found[1] for path in files if (found := proposed.layout.root_of(path))]
    indexes = [path for path in inner if PurePosixPath(path).name.lower() == "index.md"]
    if "include" not in keep and len(indexes) >= 2 and 2 * len(indexes) > len(inner):
        home = "index.md" in inner  # a site's home page is no policy
        changes["include"] = ("**/index.md", "!/index.md") if home else ("**/index.md",)
        notes.append(f"site-style layout: {len(indexes)} policies are <folder>/index.md")
    folders = sorted({path.split("/", 1)[0] for path in inner if "/" in path})
    locales = [folder for folder in folders if _LOCALE_FOLDER.fullmatch(folder)]
    if "locales" not in keep and len(locales) >= 2:
        changes["locales"] = {folder: (f"{folder}/**",) for folder in locales}
        notes.append(f"locale folders: {', '.join(locales)}")
    elif len(folders) >= 2:
        notes.append(f"{len(folders)} folders of policies: each name keeps its folder")
    return (dataclasses.replace(settings, **changes) if changes else settings), notes


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def config_text(settings: Settings, table: str = "") -> str:
    """The keys ``init`` writes: the settings in use, the optional ones as comments, then a
    ``[<table>policies."PATH"]`` table per policy with settings of its own."""
    roots = settings.policies_dir
    lines = [f"policies_dir = {_toml_value(roots[0] if len(roots) == 1 else roots)}"]
    if tuple(settings.include) != ("*.md",):
        lines.append(f"include = {_toml_value(settings.include)}")
    if tuple(settings.exclude) != DEFAULT_EXCLUDE:
        lines.append(f"exclude = {_toml_value(settings.exclude)}")
    if settings.extend_exclude:
        lines.append(f"extend_exclude = {_toml_value(settings.extend_exclude)}")
    if settings.locales:
        pairs = ", ".join(
            f"{json.dumps(locale)} = {_toml_value(patterns[0] if len(patterns) == 1 else patterns)}"
            for locale, patterns in settings.locales.items()
        )
        lines.append(f"locales = {{{pairs}}}")
    lines += [
        f"notice_days = {settings.notice_days}",
        f"remind_days = {_toml_value(settings.remind_days)}",
        f"send_in_effect = {_toml_value(settings.send_in_effect)}",
    ]
    optional = {
        "date_order": ('"MDY"', "how to read 03/01/2026: MDY or DMY"),
        "locale": ('"en"', "language of month names in the policies"),
        "site_url": ('"https://example.com/policies"', "absolute links in emails and feeds"),
        "unsubscribe_url": (
            '"https://example.com/policy-unsubscribe?token={token}"',
            "one-click unsubscribe link",
        ),
        "from_address": ('"Policies <policies@example.com>"', "sender (or REDLINE_FROM)"),
    }
    for key, (example, comment) in optional.items():
        value = getattr(settings, key)
        if value:
            lines.append(f"{key} = {_toml_value(value)}")
        else:
            lines.append(f"# {key} = {example}  # {comment}")
    for path, own in settings.policies.items():
        lines += ["", f"[{table}policies.{json.dumps(path, ensure_ascii=False)}]"]
        for key, value in dataclasses.asdict(own).items():
            if value not in (None, ()):
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
