"""``redline notify POLICY``: send a released version's notice to every subscriber, once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import (
    ConfigOption,
    dry_run_option,
    json_option,
    kind_option,
    outbox_option,
    version_option,
)

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo
    from redline.history.tags import Release
    from redline.mail.report import NotifyReport, Requeue
    from redline.mail.transport import Transport
    from redline.publish.notice import RenderedNotice


@click.command()
@click.argument("policy")
@version_option("Released version to notify about (default: the latest release).")
@kind_option("Which email.", default="notice")
@dry_run_option("Render and count; send and record nothing.")
@outbox_option("Write .eml files into DIR instead of using SMTP (same ledger).")
@click.option(
    "--rate",
    cls=ConfigOption,
    config_key="rate",
    type=click.FloatRange(min=0, min_open=True),
    metavar="N",
    help="At most N messages per second (config: rate).",
)
@click.option(
    "--connections",
    cls=ConfigOption,
    config_key="smtp_connections",
    type=click.IntRange(min=1, max=64),
    metavar="N",
    help="Send over N SMTP sessions at once; --rate caps them together (config: "
    "smtp_connections, default 1).",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Send again to the rows that failed (also permanently), e.g. after fixing the cause.",
)
@click.option(
    "--code",
    "codes",
    multiple=True,
    metavar="CODE",
    help="With --retry-failed: only rows whose last reply code is or starts with CODE "
    "(530, 53x, 5xx; repeatable).",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Send again to the rows sent without a reply; some recipients may get two copies.",
)
@json_option("Machine-readable summary on stdout.")
@pass_app
def command(
    app: AppContext,
    policy: str,
    version: int | None,
    kind: str,
    dry_run: bool,
    outbox: Path | None,
    rate: float | None,
    connections: int | None,
    retry_failed: bool,
    codes: tuple[str, ...],
    resend_unknown: bool,
    as_json: bool,
) -> None:
    """Send POLICY's notice to every subscriber who has not had it yet.

    Each recipient has one row in the ledger, so a re-run (after a crash, or to retry
    temporary failures) never sends anyone a second copy, except for the few messages that
    were in flight or not yet recorded when a run was killed (at most 50 plus the larger of
    16 and 2 per connection). Several runs, on one machine or many sharing the database,
    split the work; a server that refuses extra sessions (421) lowers --connections for the
    run. A refusal that is not about the recipient (530, 535, 552 over a size limit, MAIL
    FROM) pauses the run and marks nobody. A message sent without a reply is 'unknown' and
    is sent again only with --resend-unknown. SMTP comes from REDLINE_SMTP_HOST, _PORT,
    _USER, _PASSWORD, _TLS and REDLINE_FROM; without SMTP, give --outbox.

    Exit codes: 0 all sent; 1 some notices failed or are unknown (see the summary); 2 usage
    or config error; 4 delivery error (connection, authentication, TLS, a refusal not about
    the recipient, too many failures in a row); 5 database error.
    """
    from redline.document.dates import resolve_today
    from redline.history.repo import PolicyRepo
    from redline.mail.send import open_transport
    from redline.publish.templates import Templates
    from redline.release import render_release_notice

    requeue = _requeue(retry_failed, codes, resend_unknown)
    settings = app.settings(rate=rate, smtp_connections=connections)
    repo = PolicyRepo(settings)
    target = repo.resolve(policy)
    release = _pick_release(repo, target, version)
    _warn_no_notify(target, release)
    notice = render_release_notice(
        repo,
        target,
        release,
        settings,
        resolve_today(env=app.env),
        templates=Templates(settings),
        kind=kind,
    )
    transport = None if dry_run else open_transport(settings, outbox)
    report = _send(
        app, settings, transport, notice, target.slug, release, kind, dry_run, requeue, as_json
    )
    _show(report, as_json)
    _outcome(report)


def _send(
    app: AppContext,
    settings: Settings,
    transport: Transport | None,
    notice: RenderedNotice,
    slug: str,
    release: Release,
    kind: str,
    dry_run: bool,
    requeue: Requeue,
    as_json: bool,
) -> NotifyReport:
    """Send ``notice`` to whoever has not had it, with a progress bar; a paused run's summary
    is shown before it stops."""
    from redline.ledger.store import Store
    from redline.mail.report import NotifyPaused
    from redline.mail.send import send_notices

    with (
        Store.open(settings.database, clock=settings.env.clock) as store,
        _progress(app, as_json) as progress,
    ):
        try:
            return send_notices(
                settings,
                store,
                transport,
                notice,
                policy=slug,
                version=release.version,
                kind=kind,
                dry_run=dry_run,
                connections=settings.smtp_connections,
                progress=progress,
                requeue=requeue,
            )
        except NotifyPaused as paused:
            progress.close()
            _show(paused.report, as_json)
            raise


def _requeue(retry_failed: bool, codes: tuple[str, ...], resend_unknown: bool) -> Requeue:
    """Which rows to send again, from --retry-failed, --code and --resend-unknown."""
    from redline.console import err
    from redline.errors import InputError
    from redline.mail.report import Requeue

    if codes and not retry_failed:
        raise InputError("--code needs --retry-failed", hint="e.g. --retry-failed --code 530")
    requeue = Requeue(
        failed=retry_failed,
        codes=tuple(code.strip().lower().rstrip("x") for code in codes),
        unknown=resend_unknown,
    )
    if resend_unknown:
        err().print(
            "redline: warning: --resend-unknown sends again every notice that went out "
            "without a reply; a recipient whose server had accepted the first copy gets two",
            markup=False,
        )
    return requeue


def _outcome(report: NotifyReport) -> None:
    """Warn about notices of unknown fate; fail (exit 1) when some failed."""
    from redline.console import err
    from redline.errors import CheckFailed

    if report.unknown:
        err().print(
            f"redline: warning: {report.unknown} notices were sent but the server did not "
            "reply in time; they may have been delivered and are not resent by themselves "
            "(raise smtp_timeout, check the server's log, then run with --resend-unknown "
            "for the ones that did not arrive)",
            markup=False,
        )
    if report.failed:
        err().print(
            f"redline: {report.failed} notices failed or are unknown; a later run retries the "
            "temporary failures, --retry-failed all failures",
            markup=False,
        )
        raise CheckFailed(f"{report.failed} of the notices failed or are unknown")


def _pick_release(repo: PolicyRepo, policy: Policy, version: int | None) -> Release:
    """Release ``version`` of ``policy``, or its latest release."""
    from redline.errors import InputError

    releases = repo.releases(policy)
    if version is None:
        if not releases:
            raise InputError(
                f"{policy.slug}: has no release yet, so there is nothing to notify about",
                hint="release a version first (redline release)",
            )
        return releases[-1]
    for release in releases:
        if release.version == version:
            return release
    known = ", ".join(f"v{release.version}" for release in releases) or "none"
    raise InputError(f"{policy.slug}: no release v{version}", hint=f"released versions: {known}")


def _warn_no_notify(policy: Policy, release: Release) -> None:
    """Say that ``release`` is marked ``Notify: no`` and is notified only because asked."""
    from redline.console import err

    if not release.notify:
        err().print(
            f"redline: warning: {policy.slug} v{release.version} is marked Notify: no "
            f"({release.classification} change); notifying because you asked",
            markup=False,
        )


class _Bar:
    """A rich progress bar on stderr (nothing when quiet, with --json, or not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from redline.console import err

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err(),
            transient=True,
            disable=not enabled,
        )
        self._task = self._progress.add_task("sending", total=None)
        self._started = False

    def __call__(self, done: int, total: int) -> None:
        if not self._started:
            self._progress.start()
            self._started = True
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        """Remove the bar."""
        if self._started:
            self._progress.stop()
            self._started = False

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _progress(app: AppContext, as_json: bool) -> _Bar:
    from redline.console import err

    return _Bar(enabled=not as_json and app.verbosity >= 0 and err().is_terminal)


def _show(report: NotifyReport, as_json: bool) -> None:
    """Print the run's summary: JSON, or lines on stdout."""
    from redline.console import emit_json, out

    if as_json:
        emit_json(report.to_json())
        return
    console = out()
    where = f" via {report.transport}" if report.transport else ""
    head = f"{report.policy} v{report.version} {report.kind}{where}"
    if report.dry_run:
        console.print(f"{head}: dry run, nothing was sent or recorded", markup=False)
        rows = [("would send", report.would_send)]
        if report.requeued:
            rows.append(("of them re-queued on purpose", report.requeued))
    else:
        console.print(f"{head}: {report.elapsed:.1f} s", markup=False)
        rows = [
            ("sent", report.sent),
            ("failed, will be retried", report.failed_temporary),
            ("failed permanently", report.failed_permanent),
            ("sent without a reply, delivery unknown", report.unknown),
        ]
        if report.requeued:
            rows.append(("re-queued on purpose", report.requeued))
        if report.deferred:
            rows.append(("refused, not about the recipient, left pending", report.deferred))
        if report.recovered:
            rows.append(("in flight when a run was interrupted, queued again", report.recovered))
        if report.connections_refused:
            rows.append(
                (
                    f"SMTP sessions of {report.connections} the server refused",
                    report.connections_refused,
                )
            )
    rows += [(f"skipped: {reason}", count) for reason, count in report.skipped.items()]
    width = max(len(label) for label, _ in rows)
    for label, count in rows:
        console.print(f"  {label:<{width}}  {count}", markup=False)
    if report.reasons:
        console.print("failures:", markup=False)
        for reason, count in report.reasons.most_common():
            console.print(f"  {count} x {reason}", markup=False)
    if report.paused:
        console.print(f"paused: {report.paused}", markup=False)
    if report.ledger:
        totals = ", ".join(f"{state} {count}" for state, count in report.ledger.items() if count)
        console.print(f"ledger: {totals or 'empty'}", markup=False)
