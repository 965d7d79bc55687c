"""``redline bounces``: record delivery status notifications in the notice ledger."""

from __future__ import annotations

from pathlib import Path

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import json_option


@click.group()
def command() -> None:
    """Record returned notices (bounces), so that the proof shows who was not reached.

    Exit codes: 0 success; 1 some messages were not delivery status notifications and were
    skipped; 2 usage or input error; 5 database error.
    """


@command.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@json_option("Counts (matched, bounced, unmatched, skipped) on stdout.")
@pass_app
def import_(app: AppContext, path: Path, as_json: bool) -> None:
    """Read the bounces in PATH, an mbox file or a Maildir directory.

    Each permanent failure is matched to its notice by the returned message's Message-ID,
    else by recipient (the notice most recently sent to that address), and the ledger row
    is marked bounced with the reason the server gave. After `bounce_limit` bounced notices
    a subscriber is undeliverable: no new notices are queued for them. Delays (temporary
    failures) are counted but not recorded. Importing the same file again changes nothing.
    """
    from redline.console import emit_json, err, out
    from redline.errors import CheckFailed
    from redline.ledger.store import Store
    from redline.mail.bounces import import_bounces

    settings = app.settings()
    with Store.open(settings.database, clock=settings.env.clock) as store:
        report = import_bounces(store, path, limit=settings.bounce_limit)
    for position, reason in report.skipped:
        err().print(f"{path}: message {position}: {reason}", markup=False, highlight=False)
    if as_json:
        emit_json(report.to_json())
    else:
        out().print(f"{path}: {report.summary()}", markup=False, highlight=False, emoji=False)
    if report.skipped:
        raise CheckFailed(
            f"{len(report.skipped)} of {report.messages} messages skipped; the others were recorded"
        )
