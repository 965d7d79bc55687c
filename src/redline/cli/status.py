"""``redline status [POLICY]``: one line per policy, its problems, and a summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import json_option, today_option

if TYPE_CHECKING:
    from redline.jobs.status_report import PolicyStatus, StatusReport, VersionStatus


@click.command()
@click.argument("policy", required=False)
@json_option("Machine-readable status on stdout.")
@click.option("--problems", is_flag=True, help="Show only the policies that need action.")
@today_option()
@pass_app
def command(
    app: AppContext, policy: str | None, as_json: bool, problems: bool, today: str | None
) -> None:
    """Show each policy's version in effect, pending version and date, and problems.

    One line per policy, then each problem or warning with what to do, then a summary. A
    policy whose date cannot be read or written is reported once and the others still show.
    Status only reads; it never sends. Exit codes: 0 shown (also with problems); 2 unknown
    policy or config error; 3 git error; 5 database error.
    """
    from redline.console import emit_json
    from redline.document.dates import resolve_today
    from redline.history.repo import PolicyRepo
    from redline.jobs.status import collect_status, open_ledger

    settings = app.settings()
    repo = PolicyRepo(settings)
    day = resolve_today(today, env=app.env)
    store = open_ledger(settings)
    try:
        report = collect_status(repo, settings, today=day, policy=policy, store=store)
    finally:
        if store is not None:
            store.close()
    shown = [item for item in report.policies if item.needs_action or not problems]
    if as_json:
        emit_json({**report.to_json(), "policies": [item.to_json() for item in shown]})
    else:
        _show(report, shown)


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
            + (f", {counts.unknown} unknown" if counts.unknown else "")
            + (f", {counts.bounced} bounced" if counts.bounced else "")
            + f", {counts.pending} pending"
        )
    return "; ".join(parts)


def _line(item: PolicyStatus) -> str:
    """The one line of a policy: name, version in force, pending version and date, problems."""
    parts = [item.policy.path]
    current = item.current
    if current is not None:
        release = current.release
        parts.append(
            f"in effect: v{release.version} since {release.effective_date.isoformat()} "
            f"({release.classification}; {_counts(current)})"
        )
    else:
        parts.append("in effect: none")
    for version in item.pending:
        release, days = version.release, version.days_left
        parts.append(
            f"pending: v{release.version} effective {release.effective_date.isoformat()} "
            f"({days} day{'s' if days != 1 else ''} left, {release.classification}"
            f"{', short notice' if release.short_notice else ''}; {_counts(version)})"
        )
    effective = item.date.effective if item.date else None
    if effective is not None and effective.date is not None:
        parts.append(f"date line: {effective.date.isoformat()}")
    actions = len(item.problems) + len(item.warnings)
    if actions:
        parts.append(f"{actions} to act on")
    return "  ".join(parts[:1] + ["| " + part for part in parts[1:]])


def _show(report: StatusReport, shown: list[PolicyStatus]) -> None:
    from redline.console import err, out

    console = out()

    def say(text: str = "", style: str | None = None) -> None:
        console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)

    say(f"redline status on {report.today.isoformat()} ({report.branch})", "bold")
    for item in shown:
        say(_line(item))
        for problem in item.problems:
            say(f"  problem: {problem}", "red")
        for warning in item.warnings:
            say(f"  warning: {warning}", "yellow")
    if not report.policies:
        say("No policies found.")
    elif not shown:
        say("No policy needs action.")
    counts = report.summary()
    say(
        f"{counts['policies']} polic{'y' if counts['policies'] == 1 else 'ies'}: "
        f"{counts['in_effect']} in effect, {counts['pending']} with a pending version, "
        f"{counts['never_released']} without a release, {counts['unreleased_changes']} with "
        f"unreleased changes; {counts['date_problems']} with a date problem, "
        f"{counts['needing_action']} needing action",
        "bold",
    )
    for warning in report.warnings:
        err().print(f"redline: warning: {warning}", markup=False, highlight=False)
