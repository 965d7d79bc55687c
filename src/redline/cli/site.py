"""``redline site OUTDIR``: the static history of every released policy version."""

from __future__ import annotations

from pathlib import Path

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import ConfigOption, json_option


@click.command()
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--site-url",
    cls=ConfigOption,
    config_key="site_url",
    help="Absolute URL the site is published at (config: site_url).",
)
@json_option()
@pass_app
def command(app: AppContext, outdir: Path, site_url: str | None, as_json: bool) -> None:
    """Build the policy-history site into OUTDIR.

    For each released policy: every version's full text, the redline against the previous
    version, the changelog and an Atom feed, at stable URLs (OUTDIR/<slug>/<version>/). The
    same repository always gives byte-identical output. OUTDIR must be new, empty, or an
    earlier build; it is replaced as a whole.
    """
    from redline.console import emit_json, err
    from redline.history.repo import PolicyRepo
    from redline.publish.site import build_site  # lazy: loads jinja2

    settings = app.settings(site_url=site_url)
    report = build_site(PolicyRepo(settings), settings, outdir)
    if as_json:
        emit_json(
            {
                "outdir": str(report.outdir),
                "policies": report.policies,
                "versions": report.versions,
                "files": report.files,
                "site_url": settings.site_url,
            }
        )
        return
    index = report.outdir / "index.html"
    click.echo(str(index))
    err().print(
        f"built {report.versions} versions of {report.policies} policies "
        f"({report.files} files) in {report.outdir}",
        markup=False,
    )
