"""``redline site OUTDIR``: the static history of every released policy version."""

from __future__ import annotations

from pathlib import Path

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import ConfigOption, json_option, today_option


@click.command()
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--site-url",
    cls=ConfigOption,
    config_key="site_url",
    help="Absolute URL the site is published at (config: site_url).",
)
@today_option("Show which version is in force on this day (also $REDLINE_TODAY).")
@json_option()
@pass_app
def command(
    app: AppContext, outdir: Path, site_url: str | None, today: str | None, as_json: bool
) -> None:
    """Build the policy-history site into OUTDIR.

    For each released policy: every version's full text, the redline against the previous
    version, the changelog and an Atom feed, at stable URLs (OUTDIR/<slug>/<version>/). The
    pages mark the version in force and the upcoming ones as of today (--today); the same
    repository built for the same day gives byte-identical output. OUTDIR must be new, empty,
    or an earlier build; it is replaced as a whole.
    """
    from redline.console import emit_json, err
    from redline.document.dates import resolve_today
    from redline.history.repo import PolicyRepo
    from redline.publish.site import build_site  # lazy: loads jinja2

    settings = app.settings(site_url=site_url)
    day = resolve_today(today, env=app.env)
    report = build_site(PolicyRepo(settings), settings, outdir, today=day)
    if as_json:
        emit_json(
            {
                "outdir": str(report.outdir),
                "policies": report.policies,
                "versions": report.versions,
                "files": report.files,
                "site_url": settings.site_url,
                "today": report.today.isoformat(),
            }
        )
        return
    index = report.outdir / "index.html"
    click.echo(str(index))
    err().print(
        f"built {report.versions} versions of {report.policies} policies "
        f"({report.files} files) in {report.outdir}, as of {report.today.isoformat()}",
        markup=False,
    )
