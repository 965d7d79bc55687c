"""``redline changelog POLICY``: the changelog entry of the pending change (or a release)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import (
    allow_short_notice_option,
    json_option,
    today_option,
    version_option,
)

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo
    from redline.publish.changelog import ChangelogEntry


@click.command()
@click.argument("policy")
@click.option("--draft", is_flag=True, help="Print the entry to stdout and write nothing.")
@click.option(
    "--summary", metavar="TEXT", help="The summary (instead of the commit's or a generated one)."
)
@version_option(
    "Write the entry of released version N (default: the pending one, last release + 1)."
)
@click.option(
    "--effective-date",
    metavar="YYYY-MM-DD",
    help="Ask for this effective date of the pending version, as an Effective-Date trailer "
    "would (default: the date redline release would set).",
)
@today_option("Take this as today's date (or $REDLINE_TODAY).")
@json_option()
@allow_short_notice_option()
@pass_app
def command(
    app: AppContext,
    policy: str,
    draft: bool,
    summary: str | None,
    version: int | None,
    effective_date: str | None,
    today: str | None,
    as_json: bool,
    allow_short_notice: bool,
) -> None:
    """Add the changelog entry of POLICY's pending change to its changelog.

    The pending change is the working tree against the last release: the entry is the one
    `redline release` would write now (same version, date and summary). The summary comes
    from --summary, a `Policy-Summary:` trailer or a `## Summary` section in the commit
    message, or is generated from the changed sections.
    A version already in the changelog is refused. The changelog's path is config
    changelog_path (default "{dir}/{slug}.changelog.md", beside the policy).
    """
    from redline.history.repo import PolicyRepo
    from redline.publish import changelog

    settings = app.settings()
    repo = PolicyRepo(settings)
    target = repo.resolve(policy)
    asked = _Asked(summary, version, effective_date, today, allow_short_notice)
    entry, markdown = _entry(repo, target, settings, asked)
    path = changelog.changelog_path(settings, target)
    relpath = path.relative_to(settings.repo_root).as_posix()
    if not draft:
        changelog.write_entry(settings, target, entry)
    _show(entry, target, markdown, relpath, draft=draft, as_json=as_json)


@dataclass(frozen=True)
class _Asked:
    """The options that choose the entry: summary, version, date, today, short notice."""

    summary: str | None
    version: int | None
    effective_date: str | None
    today: str | None
    allow_short_notice: bool


def _entry(
    repo: PolicyRepo, target: Policy, settings: Settings, asked: _Asked
) -> tuple[ChangelogEntry, str]:
    """The entry asked for and its Markdown: of released ``version``, else the one
    ``redline release`` would write for the pending change (the same planner)."""
    from redline.document.dates import parse_iso_date, resolve_today
    from redline.errors import InputError
    from redline.publish import changelog
    from redline.release import plan_release

    summary, version, effective_date = asked.summary, asked.version, asked.effective_date
    day = resolve_today(asked.today, env=settings.env)
    releases = repo.releases(target)
    latest = releases[-1].version if releases else 0
    if version is not None and version <= latest:
        if effective_date is not None:
            raise InputError(
                "--effective-date applies only to the pending version",
                hint=f"version {version} was released with its own date",
            )
        release = next((r for r in releases if r.version == version), None)
        if release is None:
            known = ", ".join(str(r.version) for r in releases)
            raise InputError(
                f"{target.slug}: no release v{version}", hint=f"released versions: {known}"
            )
        entry = changelog.entry_for_release(repo, target, release, settings, summary=summary)
        return entry, changelog.render_entry(settings, entry)
    if version is not None and version != latest + 1:
        raise InputError(
            f"{target.slug}: version {version} is neither released nor pending",
            hint=f"the pending version is {latest + 1}",
        )
    when = parse_iso_date(effective_date, what="--effective-date") if effective_date else None
    plan = plan_release(
        repo,
        settings,
        day,
        only=target,
        worktree=True,
        summary=summary,
        requested=when,
        allow_short_notice=asked.allow_short_notice,
    )
    if plan.unreleasable:
        raise plan.unreleasable[0].error
    if not plan.releases:
        raise InputError(
            f"{target.slug}: unchanged since version {latest}; there is no pending change",
            hint="edit the policy first, or pass --version N for the entry of a release",
        )
    item = plan.releases[0]
    return item.entry, item.entry_markdown


def _show(
    entry: ChangelogEntry,
    target: Policy,
    markdown: str,
    relpath: str,
    *,
    draft: bool,
    as_json: bool,
) -> None:
    """The entry as JSON, its Markdown (``--draft``), or the changelog's path."""
    from redline.console import emit_json, err

    if as_json:
        emit_json(
            {
                "policy": target.slug,
                "version": entry.version,
                "effective_date": entry.effective_date.isoformat(),
                "classification": entry.classification,
                "summary": entry.summary,
                "changelog": relpath,
                "written": not draft,
                "markdown": markdown,
            }
        )
    elif draft:
        sys.stdout.write(markdown)
    else:
        sys.stdout.write(f"{relpath}\n")
        err().print(f"added version {entry.version} to {relpath}", markup=False)
