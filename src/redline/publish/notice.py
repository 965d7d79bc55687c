"""The notice emails: their template context, and the subject, text and HTML rendered from it.

Notice template context (``notice``, ``reminder`` and ``in-effect`` templates), see also
:meth:`NoticeContext.variables` and the filters of :mod:`redline.publish.templates`:

``kind``
    ``"notice"``, ``"reminder"`` or ``"in-effect"``.
``policy``
    ``.slug``, ``.path`` (repository-relative) and ``.title`` (the opening H1, else the slug made
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
    paragraph", "moved from after Section 8 (Retention) to after Section 6 (Sharing)"),
    ``moved_from``, ``moved_to``, ``level``, and the counts ``blocks_changed``, ``blocks_added``,
    ``blocks_removed``, ``blocks_moved``, ``words_inserted``, ``words_deleted``.
``renumbered``
    One line per run of renumbered sections ("Sections 8-12 renumbered to 9-13").
``stats``
    Counts of the whole change, the sum of the sections' counts: ``words_inserted``,
    ``words_deleted``, ``sections_added``, ``sections_removed``, ``sections_modified``,
    ``sections_moved``, ``sections_renumbered``, ``blocks_changed``, ``blocks_added``,
    ``blocks_removed``, ``blocks_moved``, and ``date_line_changed`` (the effective-date line
    is never counted in the others).
``reasons``
    Why the change is classified as it is, one line each ("editorial: link targets only
    (3)").
``links``
    ``redline`` (the best link to the full redline: the site page at ``#redline``, else a
    GitHub compare URL),
    ``page`` (the site page of this version), ``compare`` (GitHub compare URL), ``policy``
    (the policy's site page) and ``feed`` (its Atom feed); each a URL or ``None``.
``diff``
    The diff itself, for the filters ``diff_markdown``, ``diff_html`` and ``diff_text``.
``unsubscribe_url``
    :data:`UNSUBSCRIBE_PLACEHOLDER`; the mailer replaces it per recipient. The text and HTML
    templates must contain it.
``redline_version``
    The version of redline.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from redline.errors import InputError, TemplateError
from redline.publish.links import Links, policy_links
from redline.publish.prose import SectionChange, describe_changes, generate_summary, stats_dict
from redline.vocab import NOTICE_KINDS

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo
    from redline.history.tags import Release
    from redline.publish.templates import Templates

UNSUBSCRIBE_PLACEHOLDER = "@@UNSUBSCRIBE_URL@@"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class RenderedNotice:
    """One rendered notice: subject line, plain-text body and HTML body (CSS inlined).

    Both bodies contain :data:`UNSUBSCRIBE_PLACEHOLDER` where the recipient's unsubscribe
    link goes.
    """

    subject: str
    text: str
    html: str


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
    reasons: tuple[str, ...] = ()

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
            "reasons": list(self.reasons),
            "links": self.links,
            "diff": self.diff,
            "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        }


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
        links=_links(settings, policy.slug, release, compare),
        diff=diff,
        today=today or dt.date.today(),
        reasons=tuple(str(reason) for reason in diff.reasons) if diff is not None else (),
    )


def _links(settings: Settings, slug: str, release: Release, compare: str | None) -> Links:
    """The release's links; the site page's redline is at its ``#redline``."""
    links = policy_links(settings, slug, release.version, compare)
    if links.page and release.previous_version is not None:
        return replace(links, redline=f"{links.page}#redline")
    return links


def render_notice(
    templates: Templates, context: NoticeContext, kind: str = "notice"
) -> RenderedNotice:
    """Render the subject, text and HTML of a notice of ``kind`` (notice|reminder|in-effect).

    ``templates`` is the run's one template environment, shared by all its notices and pages.
    """
    if kind not in NOTICE_KINDS:
        raise InputError(
            f"unknown notice kind {kind!r}", hint=f"use one of: {', '.join(NOTICE_KINDS)}"
        )
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
