"""``redline check``: the notice-window check for pull requests."""

from __future__ import annotations

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import (
    allow_short_notice_option,
    base_option,
    json_option,
    notice_days_option,
    today_option,
)


@click.command()
@base_option()
@json_option("Machine-readable report.")
@today_option()
@notice_days_option("Days of notice a material change needs (config: notice_days, default 30).")
@allow_short_notice_option()
@pass_app
def command(
    app: AppContext,
    base: str | None,
    as_json: bool,
    today: str | None,
    notice_days: int | None,
    allow_short_notice: bool,
) -> None:
    """Check every policy changed since --base against what `redline release` would do.

    Passes saying the date release will set and whether it notifies. Fails where release
    would refuse the policy: a date set in the pull request (or an Effective-Date trailer)
    that gives fewer than notice_days days of notice or lies in the past; with
    effective_date_by = "author", a material change whose date did not move; a date that is
    missing or not valid. Warns when only the date changed. With GITHUB_ACTIONS=true the
    problems are also printed as GitHub annotations (on stderr with --json).

    Exit codes: 0 pass (warnings included); 1 check failed; 2 usage or config error;
    3 git error.
    """
    from rich.text import Text

    from redline.console import emit_json, out
    from redline.document.dates import resolve_today
    from redline.errors import CheckFailed
    from redline.history.repo import PolicyRepo
    from redline.jobs.check import check_policies
    from redline.jobs.check_report import github_annotations, in_github_actions, render_text

    settings = app.settings(notice_days=notice_days)
    day = resolve_today(today, env=app.env)
    report = check_policies(
        PolicyRepo(settings),
        settings,
        base=base,
        today=day,
        allow_short_notice=allow_short_notice,
    )
    if in_github_actions(app.env):
        stream = app.env.stderr if as_json else app.env.stdout
        for line in github_annotations(report):
            stream.write(line + "\n")
        stream.flush()
    if as_json:
        emit_json(report.to_json())
    else:
        styles = {"fail": "bold red", "warn": "yellow", "pass": "green", "": ""}
        for status, line in render_text(report):
            out().print(Text(line, style=styles[status]))
    if report.status == "fail":
        failed = report.count("fail")
        raise CheckFailed(
            f"{failed} of {len(report.policies)} changed policies failed the notice check"
        )
