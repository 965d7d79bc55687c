"""The standalone HTML redline (``redline diff --format html``, the site's ``redline.html``):
the fragment of :mod:`redline.compare.html_view`, as every page shows it
(:func:`redline_fragment`), in ``templates/redline.html.j2``, with the policy's title and its
two versions as readers know them (:func:`reader_sides`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING

from markupsafe import Markup

from redline.compare.html_view import Sides, render_html
from redline.publish.filters import unlink_unreachable

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult, RefInfo
    from redline.history.repo import Policy, PolicyRepo
    from redline.publish.templates import Templates

#: What the working tree is called as one side of a redline.
WORKING_COPY = "working copy"


def render_redline_page(
    result: DiffResult, templates: Templates, sides: Sides, *, organization: str = ""
) -> str:
    """The whole page: one ``<h1>``, the CSS inlined, a print stylesheet."""
    capitalised = sides.old[:1].upper() + sides.old[1:]  # it starts the redline's sides line
    context = {
        "title": sides.title,
        "old": sides.old,
        "new": sides.new,
        "organization": organization,
        "running_head": css_string(f"{sides.title}: {sides.old} → {sides.new}"),
        "redline": redline_fragment(result, replace(sides, old=capitalised), heading_level=1),
        "generated": dt.date.today(),
    }
    return templates.render("redline.html.j2", context, limit=templates.page_limit)


def redline_fragment(result: DiffResult, sides: Sides, *, heading_level: int) -> Markup:
    """The redline fragment as every page shows it: with each link its reader cannot follow
    (an anchor the page lacks, a relative target) shown as its text
    (:func:`redline.publish.filters.unlink_unreachable`)."""
    return Markup(unlink_unreachable(render_html(result, heading_level=heading_level, sides=sides)))


def reader_sides(
    repo: PolicyRepo, policy: Policy, result: DiffResult, templates: Templates
) -> Sides:
    """The policy's title and "version 3 (effective 1 March 2026)" for a release, "as of
    2 March 2026" for another commit (with its short id when both sides would read the
    same), "working copy" for the working tree."""
    from babel.dates import format_date

    releases = {release.commit: release for release in repo.releases(policy)}
    title = repo.title(policy, result.to_ref.commit)

    def label(ref: RefInfo) -> str:
        if ref.commit is None:
            return WORKING_COPY
        day = format_date(repo.git.commit_time(ref.commit).date(), "long", templates.locale)
        release = releases.get(ref.commit)
        if release is None:
            return f"as of {day}"
        effective = format_date(release.effective_date, "long", templates.locale)
        return f"version {release.version} (effective {effective})"

    old, new = label(result.from_ref), label(result.to_ref)
    if old == new and result.from_ref.commit and result.to_ref.commit:
        # two commits of one day: only their ids tell them apart
        old += f" (commit {result.from_ref.commit[:7]})"
        new += f" (commit {result.to_ref.commit[:7]})"
    return Sides(title, old, new)


def css_string(text: str) -> str:
    """``text`` safe inside a double-quoted CSS string (and unchanged by HTML escaping): every
    character but letters, digits and spaces written as a CSS escape (its space ends it)."""
    return "".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x} " for c in text)
