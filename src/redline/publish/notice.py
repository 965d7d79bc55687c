"""Jinja2 rendering: the sandboxed template environment, the notice emails and their context.

Templates are looked up first in the policy repository's override directory (config
``templates_dir``, default ``templates``), then in redline's built-in templates (the project's
top-level ``templates/``, shipped in the wheel as ``redline/templates``). An override can
extend the built-in template it replaces: ``{% extends "default/notice.html.j2" %}``.

Templates run in a :class:`~jinja2.sandbox.SandboxedEnvironment` with
:class:`~jinja2.StrictUndefined`; a template whose name (before ``.j2``) ends in ``.html``,
``.htm``, ``.xml`` or ``.atom`` is autoescaped. Any failure (syntax, an undefined name, a
sandbox violation, an exception inside the template) becomes one
:class:`~redline.errors.TemplateError` naming the template file and line.

Notice template context (``notice``, ``reminder`` and ``in-effect`` templates), see also
:meth:`NoticeContext.variables`:

``kind``
    ``"notice"``, ``"reminder"`` or ``"in-effect"``.
``policy``
    ``.slug``, ``.path`` (repository-relative) and ``.title`` (first H1, else the slug made
    readable).
``version``, ``previous_version``
    Release numbers (``previous_version`` is ``None`` for the first release).
``effective_date``, ``published``, ``today``
    A ``date``, an aware ``datetime`` (or ``None``) and the date of rendering; format them with
    ``|format_date`` (``"long"`` by default, or ``"short"``, ``"medium"``, ``"full"``, or a
    Babel pattern) in the configured ``locale``.
``days_left``, ``notice_days``
    Days from ``today`` to the effective date, and from publication to the effective date.
``classification``, ``material``
    ``"material"`` or ``"editorial"``, and ``classification == "material"``.
``short_notice``
    True when the release was made with less than the configured notice period.
``summary``
    The plain-language summary of the change.
``sections``
    The changed sections, each with ``name`` ("Section 7 (Transfer of Data)", a bare title,
    or "Preamble"), ``number``,
    ``title``, ``old_number``, ``old_title``, ``status`` (added|removed|modified|unchanged),
    ``moved``, ``renumbered``, ``retitled``, ``description`` ("one paragraph changed; new
    paragraph"), ``level``, and the counts ``blocks_changed``, ``blocks_added``,
    ``blocks_removed``, ``blocks_moved``, ``words_inserted``, ``words_deleted``.
``renumbered``
    One line per run of renumbered sections ("Sections 8-12 renumbered to 9-13").
``stats``
    Counts of the whole change: ``words_inserted``, ``words_deleted``, ``sections_added``,
    ``sections_removed``, ``sections_modified``, ``sections_moved``, ``sections_renumbered``.
``links``
    ``redline`` (the best link to the full redline: the site page, else a GitHub compare URL),
    ``page`` (the site page of this version), ``compare`` (GitHub compare URL), ``policy``
    (the policy's site page) and ``feed`` (its Atom feed); each a URL or ``None``.
``diff``
    The diff itself, for the filters ``diff_markdown``, ``diff_html`` and ``diff_text``.
``unsubscribe_url``
    :data:`UNSUBSCRIBE_PLACEHOLDER`; the mailer replaces it per recipient. The text and HTML
    templates must contain it.
``redline_version``
    The version of redline.

Filters everywhere: ``diff_markdown``, ``diff_html``, ``diff_text``, ``format_date``,
``isodate``, ``rfc3339``, ``markdown`` (policy Markdown to HTML, raw HTML escaped),
``md_escape`` (plain text made safe inside Markdown), ``reflow`` (plain text refilled to a
width, with indents for list items), ``plural`` and ``number_word``.

Never put settings, the repository or anything holding secrets into a template context:
templates come from the policy repository, also from pull requests.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import textwrap
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
from jinja2.exceptions import SecurityError
from markupsafe import Markup

from redline import __version__
from redline.document.model import is_date_line
from redline.errors import ConfigError, InputError, RedlineError, TemplateError
from redline.publish.sandbox import LimitedSandbox, OutputLimitError

if TYPE_CHECKING:
    from redline.compare.engine import BlockDiff, DiffResult, SectionDiff
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo, Release

UNSUBSCRIBE_PLACEHOLDER = "@@UNSUBSCRIBE_URL@@"
NOTICE_KINDS = ("notice", "reminder", "in-effect")
DEFAULT_TEMPLATES_DIR = "templates"
#: A site page or feed may be this many times ``max_template_bytes``.
PAGE_LIMIT_FACTOR = 64

_AUTOESCAPE_SUFFIXES = {".html", ".htm", ".xhtml", ".xml", ".atom"}
_WORD = re.compile(r"\w+")
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_NOUNS = {
    "paragraph": ("paragraph", "paragraphs"),
    "list_item": ("list item", "list items"),
    "table_row": ("table row", "table rows"),
    "blockquote": ("quotation", "quotations"),
    "code": ("code block", "code blocks"),
    "html": ("HTML block", "HTML blocks"),
}
_MD_SPECIAL = re.compile(r"([\\`<>\[\]|])")
_MD_HTML = re.compile(r"([<>])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BLANK_RUNS = re.compile(r"\n{3,}")
_LIST_MARKER = re.compile(r"\s*((?:[-*+]|\d+[.)])\s+)")
_LIST_ITEM_START = re.compile(r"\n(?=\s*(?:[-*+]|\d+[.)])\s)")


@dataclass(frozen=True)
class RenderedNotice:
    """One rendered notice: subject line, plain-text body and HTML body (CSS inlined).

    Both bodies contain :data:`UNSUBSCRIBE_PLACEHOLDER` where the recipient's unsubscribe
    link goes.
    """

    subject: str
    text: str
    html: str


# --- templates -----------------------------------------------------------------------------


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
                diff_markdown=_diff_markdown,
                diff_html=_diff_html,
                diff_text=_diff_text,
                format_date=self.format_date,
                isodate=isodate,
                rfc3339=rfc3339,
                markdown=markdown_to_html,
                md_escape=md_escape,
                plural=plural,
                number_word=number_word,
                reflow=reflow,
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

    def format_date(self, value: dt.date | dt.datetime | None, style: str = "long") -> str:
        """``value`` formatted for people in the configured locale ("May 1, 2024")."""
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
            return format_date(day, format=style, locale=self.locale)
        except (UnknownLocaleError, ValueError) as exc:
            raise ConfigError(f"locale {self.locale!r}: cannot format dates: {exc}") from None

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


@cache
def _markdown_parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def markdown_to_html(text: str) -> Markup:
    """Policy Markdown as HTML; raw HTML in the source is escaped, never passed through."""
    return Markup(_markdown_parser().render(str(text)))


def md_escape(text: object, html_only: bool = False) -> str:
    """Plain text made safe inside Markdown: no raw HTML, and (unless ``html_only``) no links,
    code spans or table cell breaks either."""
    pattern = _MD_HTML if html_only else _MD_SPECIAL
    return pattern.sub(r"\\\1", str(text))


def isodate(value: dt.date | dt.datetime | None) -> str:
    """``YYYY-MM-DD`` (the date part of a datetime), or '' for None."""
    if value is None:
        return ""
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()


def rfc3339(value: dt.date | dt.datetime) -> str:
    """An RFC 3339 timestamp in UTC, as Atom requires; a date means its midnight UTC."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reflow(text: str, width: int = 72, first: str = "", rest: str = "") -> str:
    """Plain text refilled to ``width``: paragraphs and list items kept, long URLs unbroken.

    ``first`` and ``rest`` indent the first and the following lines (``"  - "``, ``"    "``).
    """
    out = []
    for paragraph in re.split(r"\n\s*\n", str(text).strip()):
        items = _LIST_ITEM_START.split(paragraph)
        lines = []
        for item in items:
            match = _LIST_MARKER.match(item)
            hang = rest + " " * (len(match.group(1).strip()) + 1) if match else rest
            filled = textwrap.fill(
                " ".join(item.split()),
                width=width,
                initial_indent=first if not lines else rest,
                subsequent_indent=hang,
                break_long_words=False,
                break_on_hyphens=False,
            )
            lines.append(filled)
        out.append("\n".join(lines))
        first = rest
    return "\n\n".join(out)


def number_word(count: int) -> str:
    """``1`` -> ``"one"`` up to nine, digits from ten on (house style for prose)."""
    return _NUMBER_WORDS[count] if 0 <= count < len(_NUMBER_WORDS) else str(count)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``singular`` when ``count`` is 1, else ``plural_form`` (default ``singular + "s"``)."""
    return singular if count == 1 else (plural_form or singular + "s")


def _diff_markdown(diff: DiffResult) -> str:
    from redline.compare.views import render_markdown

    return render_markdown(diff)


def _diff_html(diff: DiffResult) -> Markup:
    from redline.compare.views import render_html

    return Markup(render_html(diff, standalone=False))


def _diff_text(diff: DiffResult) -> str:
    from redline.compare.views import render_text

    return render_text(diff)


# --- describing a diff in words -------------------------------------------------------------


@dataclass(frozen=True)
class SectionChange:
    """One changed section, described for people."""

    name: str
    number: str | None
    title: str
    old_number: str | None
    old_title: str | None
    status: str
    moved: bool
    renumbered: bool
    retitled: bool
    level: int
    description: str
    blocks_changed: int = 0
    blocks_added: int = 0
    blocks_removed: int = 0
    blocks_moved: int = 0
    words_inserted: int = 0
    words_deleted: int = 0


def _words(text: str | None) -> int:
    return len(_WORD.findall(text)) if text else 0


def _is_date_block(block: BlockDiff) -> bool:
    return all(side is None or is_date_line(side.norm) for side in (block.old, block.new))


def _block_counts(
    blocks: Iterable[BlockDiff], *, section_moved: bool = False
) -> tuple[dict[str, dict[str, int]], int, int]:
    """Changed blocks per action and kind, and the words inserted and deleted.

    Headings (see the retitled flag) and effective-date lines are left out; the blocks of a
    section that moved as a whole count as changed only when their words changed.
    """
    counts: dict[str, dict[str, int]] = {"changed": {}, "new": {}, "removed": {}, "moved": {}}
    inserted = deleted = 0
    action = {"modified": "changed", "insert": "new", "delete": "removed", "moved": "moved"}
    for block in blocks:
        if block.status == "equal" or block.kind == "heading" or _is_date_block(block):
            continue
        kind = block.kind if block.kind in _NOUNS else "paragraph"
        edited = any(op.op != "equal" for op in block.words)
        if block.status == "moved" and section_moved:
            if not edited:
                continue
            bucket = counts["changed"]
        else:
            bucket = counts[action[block.status]]
        bucket[kind] = bucket.get(kind, 0) + 1
        if block.status == "insert":
            inserted += _words(block.new.norm if block.new else None)
        elif block.status == "delete":
            deleted += _words(block.old.norm if block.old else None)
        for op in block.words:
            if op.op == "insert":
                inserted += _words(op.text)
            elif op.op == "delete":
                deleted += _words(op.text)
    return counts, inserted, deleted


def _only_date_changed(section: SectionDiff) -> bool:
    """True when the effective-date line is the section's only changed block."""
    changed = [block for block in section.blocks if block.status != "equal"]
    return bool(changed) and all(_is_date_block(block) for block in changed)


def _phrases(counts: dict[str, dict[str, int]]) -> list[str]:
    phrases = []
    for action, by_kind in counts.items():
        for kind, count in by_kind.items():
            singular, plural_form = _NOUNS[kind]
            noun = plural(count, singular, plural_form)
            if action == "new":
                phrases.append(f"new {noun}" if count == 1 else f"{number_word(count)} new {noun}")
            else:
                phrases.append(f"{number_word(count)} {noun} {action}")
    return phrases


def describe_section(section: SectionDiff) -> SectionChange | None:
    """The section's change in words, or None when it only moved in numbering (see runs)."""
    counts, inserted, deleted = _block_counts(section.blocks, section_moved=section.moved)
    if section.status == "added":
        phrases = ["new section"]
    elif section.status == "removed":
        phrases = ["section removed"]
    else:
        phrases = _phrases(counts)
        if section.retitled:
            phrases.insert(0, f"retitled (was “{section.old_title}”)")
        if section.moved:
            was = section.renumbered and section.old_number
            phrases.insert(0, f"moved (was Section {was})" if was else "moved")
        if not phrases:
            if section.status == "unchanged" or _only_date_changed(section):
                return None
            phrases = ["wording adjusted" if inserted or deleted else "formatting changed"]
    return SectionChange(
        name=section.name,
        number=section.number,
        title=section.title,
        old_number=section.old_number,
        old_title=section.old_title,
        status=section.status,
        moved=section.moved,
        renumbered=section.renumbered,
        retitled=section.retitled,
        level=section.level,
        description=", ".join(phrases),
        blocks_changed=sum(counts["changed"].values()),
        blocks_added=sum(counts["new"].values()),
        blocks_removed=sum(counts["removed"].values()),
        blocks_moved=sum(counts["moved"].values()),
        words_inserted=inserted,
        words_deleted=deleted,
    )


def describe_changes(diff: DiffResult) -> list[SectionChange]:
    """Every changed section of ``diff`` in document order, described for people."""
    changes = []
    for section in diff.sections:
        change = describe_section(section)
        if change is not None:
            changes.append(change)
    return changes


def generate_summary(diff: DiffResult, *, limit: int = 8) -> str:
    """A summary that reads as if a person wrote it, from the section changes of ``diff``.

    "Section 7 (Transfer of Data): one paragraph changed; Section 13 (Service Providers):
    new paragraph."
    """
    changes = describe_changes(diff)
    runs = [line.rstrip(".") for line in diff.renumbered_runs]
    if diff.classification == "none":
        return "No changes to the text."
    if diff.classification == "editorial":
        names = [change.name for change in changes[:limit]]
        if len(changes) > limit:
            names.append(f"{number_word(len(changes) - limit)} more")
        where = f" in {_join_and(names)}" if names else ""
        extra = "; " + "; ".join(runs) if runs else ""
        return f"Editorial changes only, no change of wording{where}{extra}."
    parts = [f"{change.name}: {change.description}" for change in changes[:limit]]
    if len(changes) > limit:
        rest = len(changes) - limit
        parts.append(f"{number_word(rest)} more {plural(rest, 'section')} changed")
    parts.extend(runs)
    return "; ".join(parts) + "." if parts else "Changes to the text."


def _join_and(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- the notice ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyInfo:
    """What templates know about a policy."""

    slug: str
    path: str
    title: str


@dataclass(frozen=True)
class Links:
    """Absolute links for a release; each is None when it cannot be built."""

    redline: str | None = None
    page: str | None = None
    compare: str | None = None
    policy: str | None = None
    feed: str | None = None


@dataclass(frozen=True)
class NoticeContext:
    """Everything the notice templates may use (see the module docstring)."""

    policy: PolicyInfo
    version: int
    previous_version: int | None
    effective_date: dt.date
    published: dt.datetime | None
    classification: str
    summary: str
    short_notice: bool
    sections: tuple[SectionChange, ...]
    renumbered: tuple[str, ...]
    stats: Mapping[str, int]
    links: Links
    diff: DiffResult | None = None
    today: dt.date = field(default_factory=dt.date.today)

    def variables(self, kind: str) -> dict[str, Any]:
        """The template context for a notice of ``kind``."""
        published_day = self.published.date() if self.published else None
        return {
            "kind": kind,
            "policy": self.policy,
            "version": self.version,
            "previous_version": self.previous_version,
            "effective_date": self.effective_date,
            "published": self.published,
            "today": self.today,
            "days_left": (self.effective_date - self.today).days,
            "notice_days": (self.effective_date - published_day).days if published_day else None,
            "classification": self.classification,
            "material": self.classification == "material",
            "short_notice": self.short_notice,
            "summary": self.summary,
            "sections": list(self.sections),
            "renumbered": list(self.renumbered),
            "stats": dict(self.stats),
            "links": self.links,
            "diff": self.diff,
            "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        }


def site_base(settings: Settings) -> str | None:
    """``site_url`` without a trailing slash, or None when it is not configured."""
    return settings.site_url.rstrip("/") if settings.site_url else None


def version_url(settings: Settings, slug: str, version: int) -> str | None:
    """The stable site URL of one released version (``{site_url}/{slug}/{version}/``)."""
    base = site_base(settings)
    return f"{base}/{quote(slug)}/{version}/" if base else None


def policy_links(settings: Settings, slug: str, version: int, compare: str | None = None) -> Links:
    """The links of one version: site pages when ``site_url`` is set, and ``compare``."""
    base = site_base(settings)
    page = version_url(settings, slug, version)
    return Links(
        redline=page or compare,
        page=page,
        compare=compare,
        policy=f"{base}/{quote(slug)}/" if base else None,
        feed=f"{base}/{quote(slug)}/feed.atom" if base else None,
    )


def readable_title(slug: str) -> str:
    """A title made from a file stem: ``privacy-policy`` -> ``Privacy Policy``."""
    return " ".join(part.capitalize() for part in re.split(r"[-_\s]+", slug) if part) or slug


def stats_dict(diff: DiffResult | None) -> dict[str, int]:
    """The diff's statistics as a plain mapping (all zero without a diff)."""
    from redline.compare.engine import DiffStats

    stats = diff.stats if diff else DiffStats()
    return {item.name: int(getattr(stats, item.name)) for item in fields(DiffStats)}


def build_notice_context(
    repo: PolicyRepo,
    policy: Policy,
    release: Release,
    diff: DiffResult | None,
    settings: Settings,
    *,
    today: dt.date | None = None,
) -> NoticeContext:
    """The notice context of ``release``; ``diff`` compares it with the previous version.

    ``diff`` may be None for a first release. The summary is the release's own summary, else
    one generated from ``diff``.
    """
    compare = None
    if release.previous_version is not None:
        previous_tag = repo.tag_of(policy, release.previous_version)
        compare = repo.github_compare_url(previous_tag, release.tag)
    summary = (release.summary or "").strip()
    if not summary:
        summary = generate_summary(diff) if diff is not None else "First published version."
    return NoticeContext(
        policy=PolicyInfo(
            slug=policy.slug, path=policy.path, title=repo.title(policy, release.commit or None)
        ),
        version=release.version,
        previous_version=release.previous_version,
        effective_date=release.effective_date,
        published=release.published,
        classification=release.classification,
        summary=summary,
        short_notice=release.short_notice,
        sections=tuple(describe_changes(diff)) if diff is not None else (),
        renumbered=tuple(diff.renumbered_runs) if diff is not None else (),
        stats=stats_dict(diff),
        links=policy_links(settings, policy.slug, release.version, compare),
        diff=diff,
        today=today or dt.date.today(),
    )


def render_notice(
    settings: Settings, context: NoticeContext, kind: str = "notice"
) -> RenderedNotice:
    """Render the subject, text and HTML of a notice of ``kind`` (notice|reminder|in-effect)."""
    if kind not in NOTICE_KINDS:
        raise InputError(
            f"unknown notice kind {kind!r}", hint=f"use one of: {', '.join(NOTICE_KINDS)}"
        )
    templates = Templates(settings)
    variables = context.variables(kind)
    subject_name, text_name, html_name = (
        f"{kind}.{part}.j2" for part in ("subject", "txt", "html")
    )
    subject = " ".join(_CONTROL.sub(" ", templates.render(subject_name, variables)).split())
    if not subject:
        raise TemplateError(f"{templates.origin(subject_name)}: the subject came out empty")
    if len(subject) > templates.max_subject_chars:
        raise TemplateError(
            f"{templates.origin(subject_name)}: the subject has {len(subject):,} characters, "
            f"over the limit of {templates.max_subject_chars}",
            hint="shorten the subject template, or raise max_subject_chars in the config",
        )
    text = tidy_text(templates.render(text_name, variables))
    html = inline_css(templates.render(html_name, variables), templates.origin(html_name))
    for name, body in ((text_name, text), (html_name, html)):
        if UNSUBSCRIBE_PLACEHOLDER not in body:
            raise TemplateError(
                f"{templates.origin(name)}: the notice has no unsubscribe link",
                hint="place {{ unsubscribe_url }} where the recipient's link goes",
            )
    return RenderedNotice(subject=subject, text=text, html=html)


def tidy_text(text: str) -> str:
    """Plain text with trailing spaces removed, blank-line runs collapsed, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"


def inline_css(html: str, origin: str = "HTML") -> str:
    """``html`` with its ``<style>`` rules inlined into ``style`` attributes (for email)."""
    import css_inline

    inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True)
    try:
        return inliner.inline(html)
    except (css_inline.InlineError, ValueError) as exc:
        raise TemplateError(f"{origin}: cannot inline the CSS: {exc}") from None
