"""The sandboxed template environment: where templates are found, how they render and fail.

Templates are looked up first in the policy repository's override directory (config
``templates_dir``, default ``templates``), then in redline's built-in templates (the project's
top-level ``templates/``, shipped in the wheel as ``redline/templates``). An override can
extend the built-in template it replaces: ``{% extends "default/notice.html.j2" %}``.

Templates run in a :class:`~jinja2.sandbox.SandboxedEnvironment` with
:class:`~jinja2.StrictUndefined`; a template whose name (before ``.j2``) ends in ``.html``,
``.htm``, ``.xml`` or ``.atom`` is autoescaped. Any failure (syntax, an undefined name, a
sandbox violation, an exception inside the template) becomes one
:class:`~redline.errors.TemplateError` naming the template file and line.

Filters everywhere (see :mod:`redline.publish.filters`): ``diff_markdown``, ``diff_html``,
``diff_text``, ``format_date`` (in the context's ``locale`` when it sets one, else the
configured locale), ``isodate``, ``rfc3339``, ``markdown`` (policy Markdown to
HTML, raw HTML escaped), ``md_escape`` (plain text made safe inside Markdown), ``reflow``
(plain text refilled to a width, with indents for list items), ``plural``, ``number_word``
and ``text`` (plain text no longer marked safe, so an HTML template escapes it: what a macro
of a template that is not autoescaped returns to an HTML template comes back marked safe).

Translated templates sit beside the default one: ``notice.de.txt.j2`` is the ``de`` variant
of ``notice.txt.j2`` (:meth:`Templates.translations`).

Never put settings, the repository or anything holding secrets into a template context:
templates come from the policy repository, also from pull requests.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import traceback
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.exceptions import SecurityError

from redline import __version__
from redline.errors import ConfigError, RedlineError, TemplateError
from redline.md import md_escape
from redline.publish import filters
from redline.publish.sandbox import LimitedSandbox, OutputLimitError

if TYPE_CHECKING:
    from jinja2.runtime import Context

    from redline.config import Settings

DEFAULT_TEMPLATES_DIR = "templates"
#: A site page or feed may be this many times ``max_template_bytes``.
PAGE_LIMIT_FACTOR = 64

_AUTOESCAPE_SUFFIXES = {".html", ".htm", ".xhtml", ".xml", ".atom"}
_PARTS = frozenset({"subject", "txt", "html"})
# A translated template's locale, as babel spells it (redline.locales.parse_locale): de, pt_BR.
_TRANSLATION = re.compile(r"[a-z]{2,3}(?:_[A-Za-z0-9]{2,8})*")


def packaged_templates_dir() -> Path:
    """The built-in templates: ``redline/templates`` when installed, else the checkout's."""
    package = Path(__file__).resolve().parents[1]
    try:
        installed = Path(str(resources.files("redline") / "templates"))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - zip imports
        installed = package / "templates"
    if (installed / "notice.subject.j2").is_file():
        return installed
    checkout = package.parents[1] / "templates"
    if (checkout / "notice.subject.j2").is_file():
        return checkout
    raise ConfigError(
        f"redline's built-in templates are missing (looked in {installed} and {checkout})",
        hint="reinstall redline",
    )


def template_search_path(settings: Settings) -> list[Path]:
    """Directories searched for templates, the repository's overrides first."""
    override = Path(settings.templates_dir)
    if not override.is_absolute():
        override = settings.repo_root / override
    packaged = packaged_templates_dir()
    if not override.is_dir():
        if settings.templates_dir != DEFAULT_TEMPLATES_DIR:
            raise ConfigError(
                f"templates_dir {settings.templates_dir!r} is not a directory ({override})",
                hint="create it or fix templates_dir in the config",
            )
        return [packaged]
    if override.resolve() == packaged.resolve():
        return [packaged]
    return [override, packaged]


class _ContainedLoader(jinja2.FileSystemLoader):
    """A file loader that refuses templates resolving outside its directory (symlinks)."""

    def __init__(self, directory: Path, display: str) -> None:
        super().__init__(str(directory))
        self._root = directory.resolve()
        self._display = display

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """The template's source, after checking where the file really is."""
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(filename).resolve()
        if self._root != real and self._root not in real.parents:
            raise TemplateError(
                f"{self._display}/{template}: links to a file outside {self._display}/",
                hint="templates must be regular files inside the templates directory",
            )
        return source, filename, uptodate


def _plain_text(value: object) -> str:
    """``value`` as plain text, no longer marked safe (a words macro's output): an HTML
    template then escapes it."""
    return str(value)


def _autoescape(name: str | None) -> bool:
    if name is None:
        return True
    stem = name[:-3] if name.endswith(".j2") else name
    return PurePosixPath(stem).suffix.lower() in _AUTOESCAPE_SUFFIXES


class Templates:
    """The sandboxed template environment of one policy repository."""

    def __init__(self, settings: Settings) -> None:
        self.search_path = template_search_path(settings)
        packaged = self.search_path[-1]
        self.locale = settings.locale or "en"
        self._repo_root = settings.repo_root
        loader = jinja2.ChoiceLoader(
            [
                *(_ContainedLoader(path, self._dir_name(path)) for path in self.search_path),
                jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(str(packaged))}),
            ]
        )
        self.max_bytes = settings.max_template_bytes
        self.max_subject_chars = settings.max_subject_chars
        env = LimitedSandbox(
            max_bytes=self.page_limit,
            loader=loader,
            undefined=jinja2.StrictUndefined,
            autoescape=_autoescape,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        env.add_filters(
            dict(
                diff_markdown=filters.diff_markdown,
                diff_html=filters.diff_html,
                diff_text=filters.diff_text,
                format_date=self.format_date,
                isodate=filters.isodate,
                rfc3339=filters.rfc3339,
                markdown=filters.markdown_to_html,
                md_escape=md_escape,
                plural=filters.plural,
                number_word=filters.number_word,
                reflow=filters.reflow,
                text=_plain_text,
            )
        )
        env.globals.update(redline_version=__version__, lang=self.locale.replace("_", "-"))
        self.env = env

    @property
    def page_limit(self) -> int:
        """Byte limit of a site page or feed, which may hold a whole policy and its redline."""
        return PAGE_LIMIT_FACTOR * self.max_bytes

    def _dir_name(self, directory: Path) -> str:
        try:
            return directory.relative_to(self._repo_root).as_posix()
        except ValueError:
            return str(directory)

    @jinja2.pass_context
    def format_date(
        self, context: Context, value: dt.date | dt.datetime | None, style: str = "long"
    ) -> str:
        """``value`` formatted for people ("May 1, 2024") in the context's ``locale`` (a
        translated notice), else the configured one."""
        locale = context.get("locale")
        return self.format_date_in(value, locale if isinstance(locale, str) else self.locale, style)

    def format_date_in(
        self, value: dt.date | dt.datetime | None, locale: str, style: str = "long"
    ) -> str:
        """``value`` formatted for people in ``locale``."""
        if value is None:
            return ""
        from babel.core import UnknownLocaleError
        from babel.dates import format_date

        day = value.date() if isinstance(value, dt.datetime) else value
        if isinstance(day, str):
            try:
                day = dt.date.fromisoformat(day)
            except ValueError:
                raise ValueError(f"format_date needs a date, not {day[:40]!r}") from None
        if not isinstance(day, dt.date):
            raise TypeError(f"format_date needs a date, not {type(day).__name__}")
        try:
            return format_date(day, format=style, locale=locale)
        except (UnknownLocaleError, ValueError) as exc:
            raise ConfigError(f"locale {locale!r}: cannot format dates: {exc}") from None

    def translations(self, stem: str) -> tuple[str, ...]:
        """The locales that have every part of template ``stem`` translated: ``("de",)``
        when ``notice.de.subject.j2``, ``notice.de.txt.j2`` and ``notice.de.html.j2`` exist
        (in templates_dir or built in). A translation with a part missing is an error."""
        found: dict[str, set[str]] = {}
        for directory in self.search_path:
            for path in directory.glob(f"{stem}.*.j2"):
                locale, _, part = path.name[len(stem) + 1 : -3].rpartition(".")
                if _TRANSLATION.fullmatch(locale) and part in _PARTS:
                    found.setdefault(locale, set()).add(part)
        for locale, parts in sorted(found.items()):
            if parts != set(_PARTS):
                missing = ", ".join(f"{stem}.{locale}.{part}.j2" for part in _PARTS - parts)
                raise TemplateError(
                    f"the {locale!r} translation of {stem} is incomplete: {missing} missing",
                    hint="add the missing templates, or remove the translation's other parts",
                )
        return tuple(sorted(found))

    def origin(self, name: str) -> str:
        """Where template ``name`` comes from, for messages: a repository path or 'built-in'."""
        for directory in self.search_path:
            candidate = directory / name
            if candidate.is_file():
                return self._display(str(candidate))
        return name

    def render(self, name: str, context: Mapping[str, Any], *, limit: int | None = None) -> str:
        """Render template ``name`` into at most ``limit`` bytes (default ``max_template_bytes``).

        Every failure, the limit included, becomes a :class:`TemplateError`.
        """
        limit = self.max_bytes if limit is None else limit
        try:
            template = self.env.get_template(name)
            return self.env.render_limited(template.generate(context), limit)
        except jinja2.TemplateNotFound as exc:
            searched = ", ".join(self._display(str(p)) for p in self.search_path)
            raise TemplateError(
                f"template {exc.name!r} not found (searched {searched})",
                hint="restore the file or remove the override that includes it",
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            where = self._display(exc.filename) if exc.filename else exc.name or name
            raise TemplateError(
                f"{where}:{exc.lineno}: template syntax error: {exc.message}",
                hint="fix the template",
            ) from None
        except RedlineError:
            raise
        except OutputLimitError as exc:
            raise TemplateError(
                f"{self._locate(exc, name)}: {exc}",
                hint="make the template produce less, or raise max_template_bytes in the config",
            ) from None
        except SecurityError as exc:
            raise TemplateError(
                f"{self._locate(exc, name)}: unsafe template operation refused: {exc}",
                hint="templates run in a sandbox and may only use the documented context",
            ) from None
        except (
            jinja2.TemplateError,
            ArithmeticError,
            LookupError,
            TypeError,
            ValueError,
            AttributeError,
            RecursionError,
        ) as exc:
            message = str(exc) or type(exc).__name__
            if not isinstance(exc, jinja2.TemplateError):
                message = f"{type(exc).__name__}: {message}"
            raise TemplateError(
                f"{self._locate(exc, name)}: template error: {message}",
                hint="fix the template; see the template context in the README",
            ) from None

    def _locate(self, exc: BaseException, name: str) -> str:
        """``file:line`` of the innermost template frame of ``exc``'s traceback."""
        roots = [os.path.normpath(str(path)) + os.sep for path in self.search_path]
        location = None
        for frame in traceback.extract_tb(exc.__traceback__):
            filename = os.path.normpath(frame.filename)
            if any(filename.startswith(root) for root in roots):
                location = f"{self._display(filename)}:{frame.lineno}"
        return location or self.origin(name)

    def _display(self, filename: str) -> str:
        path = Path(filename)
        for directory in self.search_path[:-1]:
            try:
                return (
                    Path(directory).relative_to(self._repo_root) / path.relative_to(directory)
                ).as_posix()
            except ValueError:
                continue
        try:
            return f"{path.relative_to(self.search_path[-1]).as_posix()} (built-in)"
        except ValueError:
            return filename
