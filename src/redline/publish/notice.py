"""The notice emails: their template context, and the subject, text and HTML rendered from it.

The text and the HTML part render from one context (:meth:`NoticeContext.variables`), and
the built-in layouts take every phrase from one module, ``_email_words.j2``, so the two parts
say the same things. A notice is rendered in copies: for subscribers with a name and without
(``subscriber.name`` is :data:`NAME_PLACEHOLDER`, filled in per recipient, or ``None``), and
in each translated template set (``notice.de.txt.j2`` ...; ``locale`` is then ``"de"``).

The context (README, "Templates", says what each holds): ``kind``, ``policy`` (``slug``,
``path``, ``title``), ``organization``, ``site_name``, ``contact`` (:class:`Contact`),
``subscriber``, ``locale``, ``lang`` and ``dir`` (``rtl`` for a translation into
:data:`RIGHT_TO_LEFT`), ``version``, ``previous_version``,
``effective_date``, ``published``, ``today`` (dates for ``|format_date``, in the copy's
locale), ``days_left``, ``notice_days``, ``classification``, ``material``, ``short_notice``,
``summary`` and ``summary_written`` (people wrote it; never for a first version, whose tag
summary is a note for maintainers), ``changes`` (the one list of what changed:
:class:`ChangeLine`, each section once with its quotes from
:func:`redline.publish.prose.section_quotes`, :class:`~redline.publish.phrases.Phrase`,
then the renumbering lines; at most :data:`CHANGE_LINES`, ``more_changes`` counts the rest),
``sections``
(:class:`~redline.publish.prose.SectionChange`), ``renumbered``, ``stats`` (the counts of
:mod:`redline.compare.stats`), ``reasons`` (why the change is classified as it is:
:class:`Why`),
``links`` (:class:`~redline.publish.links.Links`: ``redline`` is the site page's
``#redline``, else a GitHub compare URL; ``text`` its ``#text``; the site links need
``site_url``), ``diff`` (for the ``diff_*`` filters), ``unsubscribe_url``
(:data:`UNSUBSCRIBE_PLACEHOLDER`, which the text and HTML templates must contain; the mailer
fills it in per recipient) and ``redline_version``. :class:`Contact`, :class:`ChangeLine` and
:class:`Why` are in :mod:`redline.publish.notice_parts`.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from redline.errors import InputError, TemplateError
from redline.publish.changelog_summary import FIRST_VERSION_SUMMARY
from redline.publish.links import Links, policy_links
from redline.publish.notice_parts import ChangeLine, Contact, Why
from redline.publish.phrases import plain
from redline.publish.prose import (
    SectionChange,
    describe_section,
    generate_summary,
    section_quotes,
    stats_dict,
)
from redline.vocab import NOTICE_KINDS

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo
    from redline.history.tags import Release
    from redline.publish.templates import Templates

UNSUBSCRIBE_PLACEHOLDER = "@@UNSUBSCRIBE_URL@@"
#: Where a subscriber's name goes in a body; the mailer fills it in per recipient.
NAME_PLACEHOLDER = "@@SUBSCRIBER_NAME@@"

#: Languages written right to left: a translation into one gets ``dir="rtl"``.
RIGHT_TO_LEFT = frozenset({"ar", "ckb", "dv", "fa", "he", "ps", "sd", "ug", "ur", "yi"})

#: At most this many lines of what changed; the rest are counted (``more_changes``).
CHANGE_LINES = 12

#: A title is not shortened below this many characters to fit a subject.
_SHORTEST_TITLE = 12
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class RenderedNotice:
    """One rendered notice: subject line, plain-text body and HTML body (CSS inlined).

    Both bodies contain :data:`UNSUBSCRIBE_PLACEHOLDER` where the recipient's unsubscribe
    link goes. This copy is for subscribers without a name, in the default templates;
    ``named`` is the copy with :data:`NAME_PLACEHOLDER` for those with one (None when the
    templates do not use the name), and ``translations`` the copies of each translated
    template set, by locale (:meth:`variant` picks one).
    """

    subject: str
    text: str
    html: str
    locale: str | None = None
    named: RenderedNotice | None = None
    translations: Mapping[str, RenderedNotice] = field(default_factory=dict)

    def variant(self, locale: str | None, named: bool) -> RenderedNotice:
        """The copy for a subscriber who reads ``locale`` and has a name or not."""
        chosen = best_locale(locale, self.translations)
        base = self.translations[chosen] if chosen else self
        return base.named or base if named else base

    def variants(self) -> Iterator[tuple[tuple[str | None, bool], RenderedNotice]]:
        """Every copy, by (locale of the translation or None, named)."""
        for locale, base in [(None, self), *self.translations.items()]:
            plain = replace(base, named=None, translations={})
            yield (locale, False), plain
            yield (locale, True), replace(base.named, translations={}) if base.named else plain


def best_locale(wanted: str | None, available: Collection[str]) -> str | None:
    """The locale of ``available`` for someone who reads ``wanted``: the same locale, else
    its language (``de_AT`` reads ``de``), else None (the default templates)."""
    if not wanted:
        return None
    for candidate in (wanted, wanted.split("_")[0]):
        if candidate in available:
            return candidate
    return None


@dataclass(frozen=True)
class PolicyInfo:
    """What templates know about a policy."""

    slug: str
    path: str
    title: str


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
    stats: Mapping[str, int | bool]
    links: Links
    diff: DiffResult | None = None
    today: dt.date = field(default_factory=dt.date.today)
    reasons: tuple[Why, ...] = ()
    changes: tuple[ChangeLine, ...] = ()
    summary_written: bool = False
    organization: str | None = None
    site_name: str | None = None
    contact: Contact | None = None

    def variables(
        self, kind: str, *, locale: str | None = None, named: bool = False
    ) -> dict[str, Any]:
        """The template context for a notice of ``kind``, in ``locale`` (None: the
        configured one), for a subscriber with a name (``named``) or without."""
        published_day = self.published.date() if self.published else None
        variables = {
            "kind": kind,
            "policy": self.policy,
            "organization": self.organization,
            "site_name": self.site_name,
            "contact": self.contact,
            "subscriber": {"name": NAME_PLACEHOLDER if named else None},
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
            "summary_written": self.summary_written,
            "changes": list(self.changes[:CHANGE_LINES]),
            "more_changes": max(len(self.changes) - CHANGE_LINES, 0),
            "sections": list(self.sections),
            "renumbered": list(self.renumbered),
            "stats": dict(self.stats),
            "reasons": list(self.reasons),
            "links": self.links,
            "diff": self.diff,
            "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        }
        if locale:
            direction = "rtl" if locale.split("_")[0] in RIGHT_TO_LEFT else "ltr"
            variables.update(locale=locale, lang=locale.replace("_", "-"), dir=direction)
        return variables


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
    generated = generate_summary(diff) if diff is not None else FIRST_VERSION_SUMMARY
    summary = (release.summary or "").strip() or generated
    changes, sections = _changes(diff)
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
        sections=sections,
        renumbered=tuple(diff.renumbered_runs) if diff is not None else (),
        stats=stats_dict(diff),
        links=_links(settings, policy.slug, release, compare),
        diff=diff,
        today=today or dt.date.today(),
        reasons=tuple(map(Why.of, diff.reasons)) if diff is not None else (),
        changes=changes,
        summary_written=release.previous_version is not None and summary != generated,
        organization=settings.organization,
        site_name=settings.site_name,
        contact=Contact.of(settings.contact),
    )


def _changes(diff: DiffResult | None) -> tuple[tuple[ChangeLine, ...], tuple[SectionChange, ...]]:
    """The one list of what changed (each section once, with its quotes, then the
    renumbering lines), and the changed sections described."""
    if diff is None:
        return (), ()
    lines: list[ChangeLine] = []
    for section in diff.sections:
        change = describe_section(section)
        if change is not None:
            lines.append(ChangeLine(plain(change.name), tuple(section_quotes(section)), change))
    sections = tuple(line.section for line in lines if line.section is not None)
    lines += [ChangeLine(run.rstrip(".")) for run in diff.renumbered_runs]
    return tuple(lines), sections


def _links(settings: Settings, slug: str, release: Release, compare: str | None) -> Links:
    """The release's links; the site page's redline is at its ``#redline``, its full text at
    ``#text``."""
    links = policy_links(settings, slug, release.version, compare)
    if not links.page:
        return links
    links = replace(links, text=f"{links.page}#text")
    if release.previous_version is None:
        return links
    return replace(links, redline=f"{links.page}#redline")


def render_notice(
    templates: Templates, context: NoticeContext, kind: str = "notice"
) -> RenderedNotice:
    """Render the subject, text and HTML of a notice of ``kind`` (notice|reminder|in-effect):
    for subscribers with and without a name, in the default templates and in each
    translation of them (``notice.de.txt.j2`` ...).

    ``templates`` is the run's one template environment, shared by all its notices and pages.
    """
    if kind not in NOTICE_KINDS:
        raise InputError(
            f"unknown notice kind {kind!r}", hint=f"use one of: {', '.join(NOTICE_KINDS)}"
        )
    default = _render_copies(templates, context, kind, None)
    translations = {
        locale: _render_copies(templates, context, kind, locale)
        for locale in templates.translations(kind)
    }
    return replace(default, translations=translations)


def _render_copies(
    templates: Templates, context: NoticeContext, kind: str, locale: str | None
) -> RenderedNotice:
    """The copy without a name, with the named copy when the templates use the name."""
    named = _render(templates, context.variables(kind, locale=locale, named=True), locale)
    if NAME_PLACEHOLDER not in named.text + named.html:
        return named
    plain = _render(templates, context.variables(kind, locale=locale), locale)
    return replace(plain, named=named)


def _render(templates: Templates, variables: dict[str, Any], locale: str | None) -> RenderedNotice:
    """One copy: the subject, text and HTML of ``variables``' kind in ``locale``."""
    stem = f"{variables['kind']}.{locale}" if locale else variables["kind"]
    subject_name, text_name, html_name = (
        f"{stem}.{part}.j2" for part in ("subject", "txt", "html")
    )
    subject = _subject(templates, subject_name, variables)
    if not subject:
        raise TemplateError(f"{templates.origin(subject_name)}: the subject came out empty")
    if NAME_PLACEHOLDER in subject:
        raise TemplateError(
            f"{templates.origin(subject_name)}: the subject uses subscriber.name",
            hint="the subject is the same for every recipient; greet by name in the bodies",
        )
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
    return RenderedNotice(subject=subject, text=text, html=html, locale=locale)


def _subject(templates: Templates, name: str, variables: dict[str, Any]) -> str:
    """The subject on one line; over ``max_subject_chars``, rendered again with the policy's
    title shortened at a word boundary by as much as it is over (a long title is cut, not
    the date after it)."""
    subject = " ".join(_CONTROL.sub(" ", templates.render(name, variables)).split())
    over = len(subject) - templates.max_subject_chars
    title = variables["policy"].title
    if over > 0 and title in subject and len(title) - over >= _SHORTEST_TITLE:
        short = textwrap.shorten(title, len(title) - over, placeholder=" …")
        shorter = {**variables, "policy": replace(variables["policy"], title=short)}
        subject = " ".join(_CONTROL.sub(" ", templates.render(name, shorter)).split())
    return subject


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
