"""``redline remind``: the daily job: reminders, in-effect notices, and retries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import dry_run_option, json_option, outbox_option, today_option

if TYPE_CHECKING:
    from redline.jobs.remind import RemindReport


@click.command()
@dry_run_option("Send and record nothing; count what is due.")
@today_option()
@outbox_option("Write the emails as .eml files into DIR instead of using SMTP.")
@json_option("Machine-readable report on stdout.")
@pass_app
def command(
    app: AppContext, dry_run: bool, today: str | None, outbox: Path | None, as_json: bool
) -> None:
    """Send what is due today for releases that notify subscribers.

    While a version's effective date is ahead: the notice to everyone who has not had it
    (retrying failed and pending ones, and new subscribers), and a reminder N days before
    the date (config remind_days, [] disables). On the effective day: the "now in effect"
    notice when config send_in_effect is true. Reports, as counts, subscribers who can no
    longer get the full notice period. Run it daily (the redline-remind workflow does).

    Exit codes: 0 done (single failed recipients are reported and retried tomorrow);
    2 config or template error; 4 delivery error (SMTP down, authentication, too many
    failures in a row: what was not sent stays pending); 5 database error.
    """
    from redline.console import emit_json
    from redline.document.dates import resolve_today
    from redline.jobs.remind import run_remind

    settings = app.settings()
    report = run_remind(
        settings, today=resolve_today(today, env=app.env), dry_run=dry_run, outbox=outbox
    )
    if as_json:
        emit_json(report.to_json())
    else:
        _show(report)
    if report.error is not None:
        raise report.error


def _show(report: RemindReport) -> None:
    from redline.console import err, out

    console = out()

    def say(text: str, style: str | None = None) -> None:
        console.print(text, style=style, markup=False, highlight=False)

    title = f"redline remind on {report.today.isoformat()}"
    say(title + (" (dry run)" if report.dry_run else ""), "bold")
    if not report.results:
        say("Nothing due today.")
    labels = {"notice": "notice", "reminder": "reminder", "in-effect": "in-effect notice"}
    for result in report.results:
        job = result.job
        name = f"{job.release.slug} v{job.release.version} {labels[job.kind]} ({job.reason})"
        r = result.report
        if r is None:
            say(f"  {name}: not sent ({result.error})", "red")
        elif report.dry_run:
            say(f"  {name}: would send {r.would_send}")
        else:
            line = f"  {name}: {r.sent} sent, {r.failed} failed"
            if r.failed_temporary:
                line += f" ({r.failed_temporary} to retry tomorrow)"
            say(line, "red" if r.failed else None)
    for item in report.short_notice:
        say(f"  short notice: {item.describe()}", "yellow")
    if report.dry_run:
        say(f"Emails: would send {report.would_send}.")
    else:
        say(f"Emails: {report.sent} sent, {report.failed} failed.")
    for warning in report.warnings:
        err().print(f"redline: warning: {warning}", markup=False, highlight=False)
