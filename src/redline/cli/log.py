"""``redline log POLICY``: the revisions of a policy, following renames."""

from __future__ import annotations

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import json_option


@click.command()
@click.argument("policy")
@json_option()
@pass_app
def command(app: AppContext, policy: str, as_json: bool) -> None:
    """List each revision of POLICY: date, author, subject, and its effective-date line."""
    from rich.table import Table

    from redline.console import emit_json, out
    from redline.document.dates import first_managed
    from redline.history.policy_dates import policy_options
    from redline.history.repo import PolicyRepo

    repo = PolicyRepo(app.settings())
    target = repo.resolve(policy)
    options = policy_options(repo, target)  # its own date_label and locale, as status reads it

    def date_line(text: str) -> str | None:
        managed = first_managed(text, options)
        return managed.text.strip() if managed else None

    revisions = repo.revisions(target, date_line=date_line)
    if as_json:
        emit_json(
            {
                "policy": target.slug,
                "path": target.path,
                "shallow": repo.is_shallow(),
                "revisions": [
                    {
                        "commit": r.commit,
                        "date": r.date.isoformat(),
                        "author": r.author,
                        "subject": r.subject,
                        "path": r.path,
                        "effective_line": r.effective_line,
                    }
                    for r in revisions
                ],
            }
        )
        return
    table = Table(title=f"{target.slug} ({target.path})", show_lines=False)
    for column in ("commit", "date", "author", "subject", "effective date line"):
        table.add_column(column)
    for r in revisions:
        table.add_row(
            r.short, r.date.date().isoformat(), r.author, r.subject, r.effective_line or ""
        )
    out().print(table)
    if repo.is_shallow():
        from redline.console import LOG
        from redline.history.git import SHALLOW_HINT

        LOG.warning("history may be incomplete: %s", SHALLOW_HINT)
