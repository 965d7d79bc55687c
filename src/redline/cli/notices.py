"""``redline notices POLICY``: proof of notice, from the ledger."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import kind_option, version_option
from redline.errors import PolicyNotFoundError

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.ledger.store import Store


@click.command()
@click.argument("policy")
@version_option("Only this version (default: all).")
@kind_option("Only this kind of email (default: all).")
@click.option(
    "--export",
    "fmt",
    type=click.Choice(["csv", "json"]),
    help="Write CSV or JSON instead of the text listing (default with -o: from its suffix).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write to FILE (atomically, readable only by you) instead of stdout.",
)
@pass_app
def command(
    app: AppContext,
    policy: str,
    version: int | None,
    kind: str | None,
    fmt: str | None,
    output: Path | None,
) -> None:
    """Show who was told what about POLICY, and when: proof of notice for an auditor.

    One line per recipient and email: its state (pending, sending, sent, failed-temporary,
    failed-permanent, unknown, cancelled, or bounced: returned by the recipient's server, so
    not received), the number of SMTP tries, the Message-ID, the SMTP server's reply (for a
    bounced row, the bounce's reason), the times queued, claimed, sent and last changed, all
    in UTC (ISO 8601), and its history (every try, re-queue, recovery and bounce).
    Every export starts with when and by what it was made. Removed subscribers stay in it.

    Exit codes: 0 success (also when nothing is recorded); 2 usage or input error;
    3 git error; 5 database error.
    """
    from redline.console import err
    from redline.ledger.proof import export_notices
    from redline.ledger.store import Store  # lazy: loads SQLAlchemy

    settings = app.settings()
    if fmt is None:
        suffix = output.suffix.lower().lstrip(".") if output else ""
        fmt = suffix if suffix in ("csv", "json") else "text"
    with Store.open(settings.database, clock=settings.env.clock) as store:
        slug = _slug(settings, store, policy)
        summary = export_notices(
            store,
            slug,
            version=version,
            kind=kind,
            fmt=fmt,
            out=None if output else sys.stdout,
            path=output,
        )
    sys.stdout.flush()
    if not summary.records and (output or fmt != "text"):
        err().print(f"redline: no notices recorded for {slug}", markup=False)
    if output:
        err().print(f"redline: wrote {summary.records} notices to {output}", markup=False)


def _slug(settings: Settings, store: Store, name: str) -> str:
    """The policy's slug; a policy no longer in the repository still has its ledger."""
    from redline.history.repo import PolicyRepo
    from redline.ledger.checks import check_policy_slug

    try:
        return PolicyRepo(settings).resolve(name).slug
    except PolicyNotFoundError:
        if any(store.ledger_counts(check_policy_slug(name)).values()):
            return name
        raise
