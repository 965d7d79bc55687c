"""``redline preview [--base REV] [-o DIR]``: the pull-request comment of a policy change."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import (
    DIRECTORY,
    allow_short_notice_option,
    base_option,
    json_option,
    today_option,
)

if TYPE_CHECKING:
    from redline.env import Environment


@click.command()
@base_option()
@click.option(
    "-o",
    "--output-dir",
    type=DIRECTORY,
    metavar="DIR",
    help="Also write the full HTML redlines, the notice .eml files and the uncut comment.",
)
@today_option()
@json_option("Machine-readable report with the body.")
@allow_short_notice_option()
@pass_app
def command(
    app: AppContext,
    base: str | None,
    output_dir: Path | None,
    today: str | None,
    as_json: bool,
    allow_short_notice: bool,
) -> None:
    """Print the Markdown comment body for a pull request that changes policies.

    For each policy the release would publish after merging (and each one the pull request
    changes): the classification, the effective date the release would set, the notice
    window result of `redline check`, the redline, and the subject and text of the notice
    email. The body starts with <!-- redline-preview --> and stays under GitHub's
    65,536-character comment limit: long redlines and emails are cut, with a pointer to the
    full HTML redline (-o DIR writes it).

    Needs no secrets and reads no subscriber data. Exit codes: 0 the preview was printed
    (also when the notice window check fails: `redline check` reports that); 2 config or
    input error; 3 git error.
    """
    from redline.console import emit_json, err
    from redline.document.dates import resolve_today
    from redline.files import atomic_write
    from redline.history.repo import PolicyRepo
    from redline.jobs.preview import build_preview

    settings = app.settings()
    repo = PolicyRepo(settings)
    preview = build_preview(
        repo,
        settings,
        today=resolve_today(today, env=app.env),
        base=base,
        output_dir=output_dir,
        pointer=_run_pointer(app.env),
        allow_short_notice=allow_short_notice,
    )
    if output_dir is not None:
        full = output_dir / "preview-full.md"
        atomic_write(full, preview.full_body)
        preview.files.append(full)
    for warning in preview.warnings:
        err().print(f"redline: warning: {warning}", markup=False, highlight=False)
    if preview.truncated:
        err().print(
            f"redline: the comment was cut to {len(preview.body)} characters to fit GitHub's "
            "limit"
            + (f"; the uncut one is {output_dir / 'preview-full.md'}" if output_dir else ""),
            markup=False,
            highlight=False,
        )
    if as_json:
        emit_json({**preview.to_json(), "body": preview.body})
        return
    app.env.stdout.write(preview.body)
    app.env.stdout.flush()


def _run_pointer(env: Environment) -> str | None:
    """Where the full files are in a GitHub Actions run (None outside one)."""
    run_id = env.get("GITHUB_RUN_ID")
    if env.get("GITHUB_ACTIONS") != "true" or not run_id:
        return None
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    url = f"{server}/{env.get('GITHUB_REPOSITORY')}/actions/runs/{run_id}"
    return f"the files of [this workflow run]({url})"
