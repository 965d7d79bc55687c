"""``redline changelog POLICY``: the changelog entry of the pending change (or a release)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import json_option, today_option, version_option

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
    help="Effective date of the pending version (default: the date the policy states, else "
    "today + notice_days for a material change).",
)
@today_option("Take this as today's date (or $REDLINE_TODAY).")
@json_option()
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
) -> None:
    """Add the changelog entry of POLICY's pending change to its changelog.

    The pending change is the working tree against the last release; its version is the last
    release + 1. The summary comes from --summary, a `Policy-Summary:` trailer or a
    `## Summary` section in the commit message, or is generated from the changed sections.
    A version already in the changelog is refused. The changelog's path is config
    changelog_path (default "{dir}/{slug}.changelog.md", beside the policy).
    """
    from redline.history.repo import PolicyRepo
    from redline.publish import changelog

    settings = app.settings()
    repo = PolicyRepo(settings)
    target = repo.resolve(policy)
    entry = _entry(repo, target, settings, summary, version, effective_date, today)
    markdown = changelog.render_entry(settings, entry)
    path = changelog.changelog_path(settings, target)
    relpath = path.relative_to(settings.repo_root).as_posix()
    if not draft:
        changelog.write_entry(settings, target, entry)
    _show(entry, target, markdown, relpath, draft=draft, as_json=as_json)


def _entry(
    repo: PolicyRepo,
    target: Policy,
    settings: Settings,
    summary: str | None,
    version: int | None,
    effective_date: str | None,
    today: str | None,
) -> ChangelogEntry:
    """The entry asked for: of released ``version``, else of the pending change."""
    from redline.document.dates import parse_iso_date, resolve_today
    from redline.errors import InputError
    from redline.publish import changelog
    from redline.publish.changelog_pending import pending_entry

    day = resolve_today(today, env=settings.env)
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
        return changelog.entry_for_release(repo, target, release, settings, summary=summary)
    if version is not None and version != latest + 1:
        raise InputError(
            f"{target.slug}: version {version} is neither released nor pending",
            hint=f"the pending version is {latest + 1}",
        )
    when = parse_iso_date(effective_date, what="--effective-date") if effective_date else None
    return pending_entry(repo, target, settings, summary=summary, effective_date=when, today=day)


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
