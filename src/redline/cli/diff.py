"""``redline diff POLICY [FROM [TO]]``: a legal-grade redline of two revisions of a policy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import ConfigOption, json_option

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo

FORMATS = ("terminal", "markdown", "html", "json")


@click.command()
@click.argument("policy")
@click.argument("from_rev", metavar="[FROM]", required=False)
@click.argument("to_rev", metavar="[TO]", required=False)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    help="Output format (default: terminal on a TTY, otherwise plain text with [-/-] {+/+}).",
)
@json_option("Same as --format json.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE."
)
@click.option(
    "--exit-code", is_flag=True, help="Exit 1 when the classification is not 'none' (as git diff)."
)
@click.option(
    "--fold-typography/--no-fold-typography",
    cls=ConfigOption,
    config_key="fold_typography",
    default=None,
    help="Treat curly quotes and dashes as straight ones (config: fold_typography).",
)
@pass_app
def command(
    app: AppContext,
    policy: str,
    from_rev: str | None,
    to_rev: str | None,
    output_format: str | None,
    as_json: bool,
    output: Path | None,
    exit_code: bool,
    fold_typography: bool | None,
) -> None:
    """Redline POLICY between FROM and TO.

    FROM defaults to the last release of POLICY (HEAD if never released), TO to the
    working tree.

    POLICY is a name (see `redline status`), a path, or a path the policy had before a
    rename or at FROM and TO (even when gone from the working tree). Classification: none,
    editorial (formatting, punctuation, case, renumbering, the effective-date line) or
    material (any change of words). See README, 'JSON output of redline diff'.
    """
    from redline.compare.engine import diff_policy
    from redline.compare.views import render_markdown, render_terminal, render_text
    from redline.console import emit_json, out
    from redline.files import atomic_write
    from redline.history.repo import PolicyRepo

    settings = app.settings(fold_typography=fold_typography)
    repo = PolicyRepo(settings)
    revisions = [rev for rev in (from_rev, to_rev) if rev is not None]
    found = repo.resolve(policy, at=revisions)
    result = diff_policy(repo, found, from_rev, to_rev)
    fmt = "json" if as_json else output_format
    if fmt is None:
        fmt = "terminal" if output is None and sys.stdout.isatty() else "text"
    if output is not None:
        import json

        rendered = {
            "json": lambda: json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n",
            "markdown": lambda: render_markdown(result),
            "html": lambda: _page(repo, found, result, settings),
        }.get(fmt, lambda: render_text(result))()
        atomic_write(output, rendered)
    elif fmt == "json":
        emit_json(result.to_json())
    elif fmt == "markdown":
        sys.stdout.write(render_markdown(result))
    elif fmt == "html":
        sys.stdout.write(_page(repo, found, result, settings))
    else:
        render_terminal(result, out())
    if exit_code and result.classification != "none":
        sys.exit(1)


def _page(repo: PolicyRepo, policy: Policy, result: DiffResult, settings: Settings) -> str:
    """The standalone HTML redline, with the policy's title and the versions' dates."""
    from redline.publish.redline_page import reader_sides, render_redline_page
    from redline.publish.templates import Templates

    templates = Templates(settings)
    sides = reader_sides(repo, policy, result, templates)
    return render_redline_page(result, templates, sides, organization=settings.organization or "")
