"""``redline effective-date POLICY``: read or set a policy's effective date in place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import date_order_option, json_option, today_option

if TYPE_CHECKING:
    from datetime import date

    from redline.config import Settings
    from redline.document.dates import OrderEvidence
    from redline.history.repo import Policy
    from redline.history.texts import Snapshot


@click.command()
@click.argument("policy")
@click.option("--at", "rev", metavar="REV", help="Read the date at a revision (default: files).")
@json_option()
@click.option("--set", "set_date", metavar="YYYY-MM-DD", help="Set the date to this day.")
@click.option("--in", "in_period", metavar="PERIOD", help="Set the date to today + 30d, 4w ...")
@click.option("--insert", is_flag=True, help="Add an effective-date line if the policy has none.")
@today_option()
@date_order_option("Read 05/06/2020 as MM/DD or DD/MM (config: date_order).", config=False)
@click.option("--locale", help="Language of month names, e.g. de (config: locale).")
@click.option("--date-label", help="Label of the date redline manages (config: date_label).")
@pass_app
def command(
    app: AppContext,
    policy: str,
    rev: str | None,
    as_json: bool,
    set_date: str | None,
    in_period: str | None,
    insert: bool,
    today: str | None,
    date_order: str | None,
    locale: str | None,
    date_label: str | None,
) -> None:
    """Print the effective date of POLICY as YYYY-MM-DD, or set it with --set / --in.

    The date is found wherever the policy states it (a labelled line, front matter, a bare
    date under the title, a kramdown datetime attribute) and rewritten in the same form:
    label, punctuation, emphasis, link, zero padding, month style and the datetime
    attribute stay; every other byte of the file is left as it was.

    Numeric dates (05/06/2020) are read in the order the evidence gives: config, a date of
    this policy that reads one way (now or in an earlier revision), its locale, the other
    policies of the same locale; --json says which decided.

    Exit codes: 0 success; 2 no date, an ambiguous or invalid date, or a bad option;
    3 git error.
    """
    from dataclasses import replace

    from redline.document import dates
    from redline.history.policy_dates import repository_orders, revision_texts
    from redline.history.repo import PolicyRepo

    writing = _writing(set_date, in_period, insert=insert, rev=rev)
    flags = {"date_order": date_order, "locale": locale, "date_label": date_label}
    given = app.settings(**flags)  # validates the flags
    repo = PolicyRepo(app.settings())
    target = repo.resolve(policy)
    # the policy's own settings, with the flags on top
    settings = replace(
        repo.settings_for(target), **{key: getattr(given, key) for key in flags if flags[key]}
    )
    day = dates.resolve_today(today, env=app.env)
    snapshot = repo.read_text(target, rev)
    evidence = dates.resolve_date_order(
        snapshot.text,
        settings,
        history=revision_texts(repo, target),
        repository=repository_orders(repo),
        path=target.path,
    )
    if writing:
        if set_date:
            new_date = dates.parse_iso_date(set_date, what="--set")
        else:
            new_date = day + dates.parse_offset(in_period or "", what="--in")
        _write(app, target, settings, new_date, evidence, insert=insert, as_json=as_json)
    else:
        _read(app, target, snapshot, settings, evidence, rev=rev, day=day, as_json=as_json)


def _writing(set_date: str | None, in_period: str | None, *, insert: bool, rev: str | None) -> bool:
    """True when the options ask to set the date; refuses options that do not go together."""
    from redline.errors import InputError

    if set_date and in_period:
        raise InputError("--set and --in both give the new date", hint="use one of them")
    writing = bool(set_date or in_period)
    if insert and not writing:
        raise InputError("--insert needs a date", hint="add --set YYYY-MM-DD or --in 30d")
    if rev and writing:
        raise InputError("--at reads an old revision; --set/--in write the working tree")
    return writing


def _write(
    app: AppContext,
    target: Policy,
    settings: Settings,
    new_date: date,
    evidence: OrderEvidence,
    *,
    insert: bool,
    as_json: bool,
) -> None:
    """Set the policy's date to ``new_date`` in its own form, and say what changed."""
    from redline.console import LOG, emit_json, err, out
    from redline.document import dates

    edit = dates.write_policy_date(
        target.abspath, new_date, settings, name=target.path, insert=insert, order=evidence.order
    )
    if as_json:
        emit_json(
            {
                "policy": target.slug,
                "path": target.path,
                "date": edit.date.isoformat(),
                "previous": edit.previous.isoformat() if edit.previous else None,
                "changed": edit.changed,
                "inserted": edit.inserted,
                "changes": [{"line": c.line, "old": c.old, "new": c.new} for c in edit.changes],
                "date_order": evidence.to_json(),
            }
        )
        return
    for change in edit.changes:
        old = "(new line)" if change.old is None else change.old.strip()
        LOG.info("%s:%d: %s -> %s", target.path, change.line, old, change.new.strip())
        if app.verbosity >= 0:
            err().print(f"{target.path}:{change.line}: {change.new.strip()}", markup=False)
    if not edit.changed and app.verbosity >= 0:
        err().print(f"{target.path}: already {edit.date.isoformat()}; nothing changed")
    out().print(edit.date.isoformat())


def _read(
    app: AppContext,
    target: Policy,
    snapshot: Snapshot,
    settings: Settings,
    evidence: OrderEvidence,
    *,
    rev: str | None,
    day: date,
    as_json: bool,
) -> None:
    """Print the date the policy states at ``rev`` (the other dates it states on stderr)."""
    from redline.console import LOG, emit_json, err, out
    from redline.document import dates

    where = f"{snapshot.path} at {rev}" if rev else snapshot.path
    options = dates.date_options(settings).with_order(evidence.order)
    effective = dates.find_effective_date(snapshot.text, options, name=where, today=day)
    for warning in effective.warnings:
        LOG.warning("%s: %s", where, warning)
    if as_json:
        data = {
            "policy": target.slug,
            "path": snapshot.path,
            "ref": snapshot.ref if rev else None,
            "commit": snapshot.commit,
            **effective.to_json(),
            "date_order": evidence.to_json(),
        }
        emit_json(data)
        return
    out().print(effective.date.isoformat() if effective.date else "")
    if app.verbosity >= 0:
        for other in effective.others:
            what = other.date.isoformat() if other.date else (other.error or "blank")
            err().print(
                f"{where}:{other.line}: also states {other.label or 'a date'}: {what} "
                "(not managed; config date_label chooses the managed date)",
                markup=False,
            )
