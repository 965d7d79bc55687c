"""Which files are policies, and what each is called.

A policy is a file under one of the roots (config ``policies_dir``, a folder or a list of
folders) whose path relative to that root matches ``include`` and neither ``exclude`` nor
``extend_exclude``. Patterns are gitignore-style (``*.md``, ``**/index.md``, ``archive/``,
``!keep.md``), matched with :mod:`pathspec`. redline's own outputs are never policies: files
matching the changelog pattern derived from ``changelog_path`` (by default
``*.changelog.md``), and everything in a folder built by ``redline site``.

A policy's name is its path relative to its root, without the extension, with a trailing
``index`` dropped, made safe for git tags (:func:`safe_name`): ``privacy/index.md`` ->
``privacy``, ``de/privacy.md`` -> ``de/privacy``, ``Facebook/Privacy Policy.md`` ->
``facebook/privacy-policy``. Release tags are ``{tag_prefix}{name}/v{N}``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from redline.errors import ConfigError

if TYPE_CHECKING:
    import pathspec

    from redline.config import Settings

SITE_MARKER = ".redline-site"
"""The file ``redline site`` leaves in the folder it builds."""

_UNSAFE_RUN = re.compile(r"[^\w.-]+")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_TAG_VERSION = re.compile(r"v\d+")


def ref_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid git reference name, or None when it is.

    The rules of ``git check-ref-format`` (for a name below ``refs/``): no component may
    start with ``.`` or end with ``.lock``; no ``..``, ``@{``, backslash, space, control
    character or any of ``~^:?*[``; no empty component; it may not end with ``.`` or be
    ``@``.
    """
    if not name:
        return "it is empty"
    if name == "@":
        return "it is '@'"
    forbidden = _REF_FORBIDDEN.search(name)
    if forbidden:
        return f"it contains {forbidden.group()!r}"
    for part in ("..", "@{"):
        if part in name:
            return f"it contains {part!r}"
    if name.endswith("."):
        return "it ends with '.'"
    for component in name.split("/"):
        if not component:
            return "it has an empty path component ('//', or '/' at either end)"
        if component.startswith("."):
            return f"its component {component!r} starts with '.'"
        if component.endswith(".lock"):
            return f"its component {component!r} ends with '.lock'"
    return None


def safe_name(text: str) -> str:
    """``text`` as a policy name: lowercase, each run of characters other than letters,
    digits, ``.``, ``_`` and ``-`` turned into one ``-``, per ``/``-separated component.

    Components lose leading dots and hyphens and trailing dots, hyphens and ``.lock``, so
    the result passes :func:`ref_name_problem` unless it is empty.
    """
    components = []
    for raw in unicodedata.normalize("NFC", text).lower().split("/"):
        component = _UNSAFE_RUN.sub("-", raw.strip())
        component = re.sub(r"-{2,}", "-", component).strip(".-")
        while component.endswith(".lock"):
            component = component.removesuffix(".lock").rstrip(".-")
        component = re.sub(r"\.{2,}", ".", component)
        if component:
            components.append(component)
    return "/".join(components)


def name_for(relpath: str) -> str:
    """The name of the policy at ``relpath`` (relative to its root), before :func:`safe_name`
    is applied: the path without its extension, a trailing ``index`` dropped."""
    pure = PurePosixPath(relpath)
    stem = pure.with_suffix("") if pure.suffix else pure
    if stem.name.lower() == "index" and stem.parent != PurePosixPath("."):
        stem = stem.parent
    return stem.as_posix()


def tag_conflict(first: str, second: str) -> bool:
    """True when the tags ``first/v<N>`` and ``second/v<M>`` cannot both exist in git.

    A tag may not be a folder of another: ``terms/v1`` and ``terms/v1/x/v1`` clash.
    """
    for shorter, longer in ((first, second), (second, first)):
        rest = longer.removeprefix(f"{shorter}/")
        if rest != longer and _TAG_VERSION.fullmatch(rest.split("/", 1)[0]):
            return True
    return False


def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def changelog_fields(path: str, name: str) -> dict[str, str]:
    """The fields config ``changelog_path`` may use, for the policy ``name`` at ``path``."""
    pure = PurePosixPath(path)
    return {"dir": pure.parent.as_posix(), "slug": name, "stem": pure.stem, "name": pure.name}


def changelog_pattern(changelog_path: str) -> str:
    """A gitignore pattern (from the repository root) of every path ``changelog_path`` gives."""
    pattern = changelog_path.replace("{dir}", "**").replace("{slug}", "**/*")
    pattern = pattern.replace("{stem}", "*").replace("{name}", "*")
    pattern = re.sub(r"(\*\*/)+", "**/", pattern.lstrip("/"))
    return pattern.removeprefix("./")


@dataclass(frozen=True)
class Match:
    """How a file was judged: ``root`` it lies under, and ``reason`` when it is no policy."""

    root: str | None
    reason: str | None


class Layout:
    """The policy selection of one configuration: roots, patterns, redline's own outputs."""

    def __init__(self, settings: Settings) -> None:
        self.roots = settings.policies_dir
        self.include = settings.include
        self.exclude = (*settings.exclude, *settings.extend_exclude)
        self._include = _spec(self.include)
        self._exclude = _spec(self.exclude)
        self.changelog_path = settings.changelog_path
        self.outputs = changelog_pattern(settings.changelog_path)
        self._outputs = _spec((self.outputs,))
        self._locales = tuple(
            (locale, _spec(patterns)) for locale, patterns in settings.locales.items()
        )

    def root_of(self, relpath: str) -> tuple[str, str] | None:
        """``(root, path relative to it)`` of a repository path under a root, else None."""
        for root in self.roots:
            if root == ".":
                return root, relpath
            if relpath.startswith(f"{root}/"):
                return root, relpath[len(root) + 1 :]
        return None

    def judge(self, relpath: str) -> Match:
        """Whether the repository path ``relpath`` is a policy, and why not."""
        found = self.root_of(relpath)
        if found is None:
            return Match(None, "outside policies_dir")
        root, inner = found
        if not self._include.match_file(inner):
            return Match(root, "include")
        if self._exclude.match_file(inner):
            return Match(root, "exclude")
        if self._outputs.match_file(relpath) and not self._own_changelog(relpath):
            return Match(root, "changelog")
        return Match(root, None)

    def _own_changelog(self, relpath: str) -> bool:
        """True when ``changelog_path`` makes ``relpath`` its own changelog (a config error
        that writing the changelog reports; the file is still the policy)."""
        fields = changelog_fields(relpath, self.name(relpath))
        try:
            return self.changelog_path.format(**fields) == relpath
        except (KeyError, IndexError, ValueError):
            return False

    def locale(self, relpath: str) -> str | None:
        """The locale that config ``locales`` gives the policy at ``relpath``, if any."""
        found = self.root_of(relpath)
        inner = found[1] if found else relpath
        return next((loc for loc, spec in self._locales if spec.match_file(inner)), None)

    def name(self, relpath: str) -> str:
        """The default name of the policy at ``relpath`` (see the module docstring)."""
        found = self.root_of(relpath)
        inner = found[1] if found else relpath
        return safe_name(name_for(inner)) or safe_name(PurePosixPath(relpath).stem) or "policy"

    def describe(self) -> str:
        """The configuration as a user wrote it, for errors."""
        roots = ", ".join(f"{root}/" if root != "." else "./" for root in self.roots)
        text = f"policies_dir {roots}, include {list(self.include)}"
        if self.exclude:
            text += f", exclude {list(self.exclude)}"
        return text


def check_names(named: dict[str, list[str]], *, tag_prefix: str, where: str) -> None:
    """Raise when two policies share a name, a name gives no valid tag, or two tags clash.

    ``named`` maps each policy name to the paths that have it; ``where`` is the config file.
    """
    for name, paths in named.items():
        if len(paths) > 1:
            raise ConfigError(
                f"{paths[0]} and {paths[1]} would both be policy '{name}'",
                hint=f'set a name for one of them: [tool.redline.policies."{paths[1]}"] '
                f'name = "..." (in {where})',
            )
        problem = ref_name_problem(f"{tag_prefix}{name}/v1")
        if problem:
            raise ConfigError(
                f"{paths[0]}: '{tag_prefix}{name}/v1' is not a valid tag name: {problem}",
                hint=f'set another name: [tool.redline.policies."{paths[0]}"] name = "..."',
            )
    for name in named:
        for other in named:
            if other.startswith(f"{name}/") and tag_conflict(name, other):
                raise ConfigError(
                    f"{named[name][0]} and {named[other][0]}: the tags of '{name}' and "
                    f"'{other}' cannot both exist in git",
                    hint=f'set another name: [tool.redline.policies."{named[other][0]}"] '
                    'name = "..."',
                )


def readable_title(name: str) -> str:
    """A title made from a name: ``privacy-policy`` -> ``Privacy Policy``."""
    return " ".join(part.capitalize() for part in re.split(r"[-_\s]+", name) if part) or name
