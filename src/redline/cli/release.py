"""``redline release``: release every changed policy (date, changelog, commit, tags, notices)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import (
    allow_short_notice_option,
    dry_run_option,
    json_option,
    outbox_option,
    today_option,
)

if TYPE_CHECKING:
    from redline.release import ReleaseReport


@click.command()
@dry_run_option("Change nothing; print each git command and file write, and count the emails.")
@click.option(
    "--push",
    is_flag=True,
    help="Push the release commit and tags to origin (refused if the branch moved).",
)
@click.option("--no-notify", is_flag=True, help="Release without emailing subscribers.")
@allow_short_notice_option(
    "Accept an Effective-Date trailer or a date set in the policy earlier than notice_days "
    "allows (recorded in the tag)."
)
@today_option()
@outbox_option("Write the notices as .eml files into DIR instead of using SMTP.")
@json_option("Machine-readable report on stdout.")
@pass_app
def command(
    app: AppContext,
    dry_run: bool,
    push: bool,
    no_notify: bool,
    allow_short_notice: bool,
    today: str | None,
    outbox: Path | None,
    as_json: bool,
) -> None:
    """Release every policy whose text changed since its last release.

    A material change takes effect after notice_days, or on the date the pull request set
    in the policy or an 'Effective-Date: YYYY-MM-DD' trailer in the merge commit asks for
    when that gives the notice; with effective_date_by = "author" the pull request must set
    it. An editorial change takes effect at once (or on the date of a release still
    pending). redline writes each new effective date and changelog entry, makes one commit
    as the bot, tags each policy version, pushes with --push, and emails the subscribers of
    material changes (`redline check` and `preview` show this plan on the pull request).
    A second run on the same commit only finishes notices an interrupted run left.

    With GITHUB_ACTIONS=true it writes a job summary and the outputs released, policies,
    notices-sent and notices-failed.

    A policy whose date cannot be read or written or gives too little notice, or whose tag
    name git would refuse, is reported with its fix and left out; the others are released. Only one
    release runs in a repository at a time, and a run that was interrupted (killed) is
    finished or rolled back by the next one.

    Exit codes: 0 released, or nothing to release (notices that failed for single
    recipients are reported, and retried by remind); 2 a policy, config or template
    problem (nothing was written); 3 git error (branch moved, push
    rejected: nothing remote changed); 4 the release stands but notices could not be
    delivered (re-run to finish); 5 database error; 6 some policies were left out (the
    others were released); 7 another release is running in this repository.
    """
    from redline.document.dates import resolve_today
    from redline.errors import RedlineError
    from redline.release import run_release, write_github_failure, write_github_files

    settings = app.settings()
    day = resolve_today(today, env=app.env)
    try:
        report = run_release(
            settings,
            today=day,
            dry_run=dry_run,
            push=push,
            notify=not no_notify,
            allow_short_notice=allow_short_notice,
            outbox=outbox,
            echo=None if as_json else _echo,
        )
    except RedlineError as error:
        write_github_failure(error, app.env.environ, dry_run=dry_run)
        raise
    _show(report, as_json)
    write_github_files(report, app.env.environ)
    _refuse(report)


def _refuse(report: ReleaseReport) -> None:
    """Raise the run's error, else exit 6 when changed policies were left out."""
    from redline.errors import PoliciesSkipped

    if report.error is not None:
        raise report.error
    left_out = report.plan.unreleasable
    if left_out:
        names = ", ".join(item.policy.path for item in left_out)
        raise PoliciesSkipped(
            f"{len(left_out)} changed policy(ies) not released: {names}",
            hint="fix what the warnings above say and merge; the next release run releases them",
        )


def _echo(line: str) -> None:
    from redline.console import out

    out().print(line, markup=False, highlight=False)


def _show(report: ReleaseReport, as_json: bool) -> None:
    """The report: JSON, or lines on stdout with warnings on stderr."""
    from redline.console import emit_json, err, out
    from redline.release import nothing_released

    if as_json:
        emit_json(report.to_json())
        return
    plan = report.plan
    console = out()

    def say(text: str = "", style: str | None = None) -> None:
        console.print(text, style=style, markup=False, highlight=False)

    if plan.releases:
        verb = "Would release" if report.dry_run else "Released"
        where = f" in commit {report.commit[:10]}" if report.commit else ""
        if report.pushed:
            where += f", pushed to origin/{report.branch}"
        say(f"{verb} {len(plan.releases)} policy version(s){where}:", "bold")
        for item in plan.releases:
            since = f"from v{item.previous.version}" if item.previous else "first release"
            short = ", SHORT NOTICE" if item.short_notice else ""
            notify = "notify subscribers" if item.notify else "no email"
            say(
                f"  {item.policy.slug} v{item.version} ({since}): {item.classification}, "
                f"effective {item.effective_date.isoformat()} ({item.date_source}{short}); "
                f"{notify}; tag {item.tag}"
            )
            say(f"    {item.summary}")
    else:
        say(f"{nothing_released(plan)}.")
    if report.pushed_tags and not plan.releases:
        say(f"Pushed release tags left by an earlier run: {', '.join(report.pushed_tags)}")
    for skipped in plan.skipped:
        say(f"  {skipped.policy.slug}: {skipped.reason}", "dim")
    for left_out in plan.unreleasable:
        say(f"  {left_out.policy.slug}: NOT RELEASED: {left_out.error.message}", "red")
    for result in report.notices:
        name = f"{result.policy} v{result.version}"
        if result.report is None:
            say(f"Notices of {name}: not sent ({result.error})", "red")
        elif report.dry_run:
            say(f"Notices of {name}: would send {result.report.would_send} emails")
        else:
            r = result.report
            line = f"Notices of {name}: {r.sent} sent, {r.failed} failed"
            if r.failed_temporary:
                line += f" ({r.failed_temporary} temporarily; remind retries them)"
            say(line, "red" if result.error or r.failed else None)
    if report.dry_run:
        say(f"Emails: would send {report.notices_would_send}.")
    for warning in [*plan.warnings, *report.warnings]:
        err().print(f"redline: warning: {warning}", markup=False, highlight=False)
