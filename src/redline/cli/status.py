"""``redline status [POLICY]``: versions in effect and pending, notices, and warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app

if TYPE_CHECKING:
    from redline.status import StatusReport, VersionStatus


@click.command()
@click.argument("policy", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable status on stdout.")
@click.option("--today", metavar="YYYY-MM-DD", help="Pin today (also $REDLINE_TODAY).")
@pass_app
def command(app: AppContext, policy: str | None, as_json: bool, today: str | None) -> None:
    """Show each policy's version in effect and pending version, notices and warnings.

    For a pending version: its effective date and the days left, and its notices sent,
    failed and pending. Warnings such as "34 subscribers not yet notified of v3 and 5 days
    left" or "text on main differs from the last release". Status only reads; it never
    sends. Exit codes: 0 shown (also with warnings); 2 unknown policy or config error;
    3 git error; 5 database error.
    """
    from redline.console import emit_json
    from redline.dates import resolve_today
    from redline.history import PolicyRepo
    from redline.status import collect_status, open_ledger

    settings = app.settings()
    repo = PolicyRepo(settings)
    day = resolve_today(today)
    store = open_ledger(settings)
    try:
        report = collect_status(repo, settings, today=day, policy=policy, store=store)
    finally:
        if store is not None:
            store.close()
    if as_json:
        emit_json(report.to_json())
    else:
        _show(report)


def _counts(version: VersionStatus) -> str:
    if version.notices is None:
        return "no notices (not emailed)" if not version.release.notify else "notices unknown"
    parts = []
    for kind, counts in version.notices.items():
        if not counts.total and kind != "notice":
            continue
        label = {"notice": "notices", "reminder": "reminders", "in-effect": "in-effect notices"}
        parts.append(
            f"{label[kind]}: {counts.sent} sent, {counts.failed} failed"
            + (f" ({counts.failed_temporary} to retry)" if counts.failed_temporary else "")
            + f", {counts.pending} pending"
        )
    return "; ".join(parts)


def _show(report: StatusReport) -> None:
    from redline.console import err, out

    console = out()

    def say(text: str = "", style: str | None = None) -> None:
        console.print(text, style=style, markup=False, highlight=False)

    say(f"redline status on {report.today.isoformat()} ({report.branch})", "bold")
    for item in report.policies:
        say()
        say(f"{item.policy.slug} ({item.policy.path})", "bold")
        current = item.current
        if current is not None:
            release = current.release
            say(
                f"  in effect: v{release.version} since {release.effective_date.isoformat()} "
                f"({release.classification}); {_counts(current)}"
            )
        else:
            say("  in effect: no released version yet")
        for version in item.pending:
            release = version.release
            days = version.days_left
            say(
                f"  pending:   v{release.version} effective {release.effective_date.isoformat()}"
                f" ({days} day{'s' if days != 1 else ''} left, {release.classification}"
                f"{', short notice' if release.short_notice else ''}); {_counts(version)}"
            )
        for warning in item.warnings:
            say(f"  warning: {warning}", "yellow")
    if not report.policies:
        say("No policies found.")
    for warning in report.warnings:
        err().print(f"redline: warning: {warning}", markup=False, highlight=False)
