"""``redline subscribers``: import, add, remove, unsubscribe, list and count subscribers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import json_option

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.ledger.store import Store

LOG = logging.getLogger("redline.cli.subscribers")


@click.group()
def command() -> None:
    """Manage who receives policy change notices.

    The list is kept in the database at REDLINE_DATABASE_URL (default: .redline/redline.db
    in the policy repository). Addresses are personal data: only `list` prints them, and
    only to stdout.

    Exit codes: 0 success; 1 some CSV rows were skipped; 2 usage or input error (bad file,
    address, token, or missing REDLINE_SECRET); 5 database error.
    """


def _open(settings: Settings) -> Store:
    from redline.ledger.store import Store

    return Store.open(settings.database, clock=settings.env.clock)


def _known_policies(settings: Settings) -> dict[str, str] | None:
    """The names subscriptions may use, with their policies' current names
    (:func:`redline.ledger.subscribers.policy_names`), or None (not checked) without policies
    yet."""
    from redline.errors import ConfigError, InputError
    from redline.history.repo import PolicyRepo
    from redline.ledger.subscribers import policy_names

    try:
        return policy_names(PolicyRepo(settings))
    except (ConfigError, InputError) as error:  # no policies (yet)
        LOG.warning("%s; policy names are not checked", error.message)
        return None


def _note_renamed(renamed: dict[str, str]) -> None:
    """Say which earlier policy names were stored under their policies' current names."""
    from redline.console import err

    for old, new in sorted(renamed.items()):
        err().print(
            f"redline: note: {old!r} is now {new!r} (renamed or moved); subscribed to {new!r}",
            markup=False,
            highlight=False,
        )


def _say(text: str) -> None:
    from redline.console import out

    out().print(text, markup=False, highlight=False, emoji=False)


@command.command("import")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "--resubscribe",
    is_flag=True,
    help="Also resubscribe listed people who had unsubscribed (only when they asked to).",
)
@json_option("Machine-readable report on stdout.")
@pass_app
def import_(app: AppContext, file: Path, resubscribe: bool, as_json: bool) -> None:
    """Add or update the subscribers in the CSV FILE.

    The header row needs an `email` column; `name`, `locale` and `policies` (space-separated
    policy slugs, empty for all policies) are optional. Addresses are checked for syntax
    only (no DNS). Bad rows are listed with their line numbers and skipped; the others are
    imported. Importing the same file again changes nothing, and nobody who unsubscribed
    is subscribed again without --resubscribe.
    """
    from redline.console import emit_json
    from redline.errors import CheckFailed
    from redline.ledger.csv_import import import_csv

    settings = app.settings()
    known = _known_policies(settings)
    with _open(settings) as store:
        report = import_csv(store, file, known_policies=known, resubscribe=resubscribe)
    _note_renamed(report.renamed)
    if as_json:
        emit_json(report.to_json())
    else:
        for row in report.skipped:
            _say(f"{file}:{row.line}: skipped: {row.reason}")
        _say(f"{file}: {report.summary()}")
    if report.skipped:
        raise CheckFailed(
            f"{len(report.skipped)} of {report.rows} rows skipped; the others were imported",
            hint="fix the rows listed and import the file again",
        )


@command.command()
@click.argument("email")
@click.option("--name", help="Display name (default: keep the stored one).")
@click.option("--locale", help="Language of the notices, e.g. de or pt_BR.")
@click.option(
    "--policy",
    "policies",
    multiple=True,
    metavar="SLUG",
    help="Subscribe to this policy only (repeatable; default: all policies, or keep).",
)
@click.option("--resubscribe", is_flag=True, help="Subscribe again after an unsubscribe.")
@json_option("Machine-readable result on stdout.")
@pass_app
def add(
    app: AppContext,
    email: str,
    name: str | None,
    locale: str | None,
    policies: tuple[str, ...],
    resubscribe: bool,
    as_json: bool,
) -> None:
    """Add the subscriber EMAIL, or update the details given."""
    from redline.console import emit_json, err
    from redline.ledger.subscribers import add_subscriber, earlier_names, subscriber_json

    settings = app.settings()
    known = _known_policies(settings) if policies else None
    if known is not None:
        _note_renamed(earlier_names(known, policies))
    with _open(settings) as store:
        result, subscriber = add_subscriber(
            store,
            email,
            name=name,
            locale=locale,
            policies=policies or None,
            known_policies=known,
            resubscribe=resubscribe,
        )
    if as_json:
        emit_json({"result": result, "subscriber": subscriber_json(subscriber)})
    else:
        _say(f"{result} {subscriber.email}")
    if not subscriber.active:
        err().print(
            f"redline: {subscriber.email} has unsubscribed and gets no notices; "
            "pass --resubscribe only if they asked to subscribe again",
            markup=False,
        )


@command.command()
@click.argument("email")
@pass_app
def remove(app: AppContext, email: str) -> None:
    """Delete the subscriber EMAIL. Notices already recorded stay in the ledger as proof."""
    from redline.errors import InputError

    with _open(app.settings()) as store:
        if not store.remove_subscriber(email):
            raise InputError(
                f"no subscriber {email.strip()}", hint="see `redline subscribers list`"
            )
    _say(f"removed {email.strip()}; the notices already recorded are kept as proof")


@command.command()
@click.argument("target", metavar="EMAIL|TOKEN")
@pass_app
def unsubscribe(app: AppContext, target: str) -> None:
    """Unsubscribe by address, or by the token of an unsubscribe link (needs REDLINE_SECRET)."""
    from redline.errors import InputError
    from redline.ledger.subscribers import resolve_target

    with _open(app.settings()) as store:
        email = resolve_target(store, target, env=app.env)
        subscriber = store.get_subscriber(email)
        if subscriber is None:
            raise InputError(f"no subscriber {email}", hint="see `redline subscribers list`")
        if store.unsubscribe(email):
            _say(f"unsubscribed {subscriber.email}")
        else:
            _say(f"{subscriber.email} had already unsubscribed")


@command.command("list")
@click.option("--policy", metavar="SLUG", help="Only subscribers of this policy.")
@click.option("--all", "include_unsubscribed", is_flag=True, help="Include who unsubscribed.")
@json_option("A JSON array instead of text.")
@pass_app
def list_(app: AppContext, policy: str | None, include_unsubscribed: bool, as_json: bool) -> None:
    """Print the subscribers to stdout (tab-separated, with a header line, or --json)."""
    import sys

    from redline.ledger.checks import check_policy_slug
    from redline.ledger.subscribers import write_subscribers

    if policy is not None:
        check_policy_slug(policy)
    with _open(app.settings()) as store:
        write_subscribers(
            store,
            sys.stdout,
            as_json=as_json,
            policy=policy,
            include_unsubscribed=include_unsubscribed,
        )
    sys.stdout.flush()


@command.command()
@click.option("--policy", metavar="SLUG", help="Only subscribers of this policy.")
@json_option("Machine-readable counts on stdout.")
@pass_app
def count(app: AppContext, policy: str | None, as_json: bool) -> None:
    """Print the number of subscribers (who have not unsubscribed)."""
    from redline.console import emit_json
    from redline.ledger.checks import check_policy_slug

    if policy is not None:
        check_policy_slug(policy)
    with _open(app.settings()) as store:
        active = store.count_subscribers(policy)
        total = store.count_subscribers(policy, include_unsubscribed=True)
    if as_json:
        emit_json({"policy": policy, "subscribed": active, "unsubscribed": total - active})
    else:
        _say(str(active))
