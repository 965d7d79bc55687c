"""``redline preview-email POLICY``: write the exact notice email as .eml, .txt and .html."""

from __future__ import annotations

from pathlib import Path

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import (
    DIRECTORY,
    allow_short_notice_option,
    json_option,
    kind_option,
    today_option,
    version_option,
)
from redline.vocab import NOTICE_KINDS


@click.command()
@click.argument("policy")
@click.option(
    "-o",
    "--output",
    "outdir",
    type=DIRECTORY,
    help="Directory for the files (default: .redline/preview in the repository).",
)
@version_option(
    "Preview the notice of released version N (default: the pending change, else the "
    "latest release)."
)
@kind_option("Which email.", default="notice", with_all=True)
@today_option("Take this as today's date (or $REDLINE_TODAY).")
@click.option(
    "--locale",
    metavar="LOCALE",
    help="Show the copy a subscriber of LOCALE gets (e.g. de): a translated template set "
    "(notice.de.txt.j2 ...) where one exists, else the default.",
)
@json_option()
@allow_short_notice_option()
@pass_app
def command(
    app: AppContext,
    policy: str,
    outdir: Path | None,
    version: int | None,
    kind: str,
    today: str | None,
    locale: str | None,
    as_json: bool,
    allow_short_notice: bool,
) -> None:
    """Render POLICY's notice email and write it as .eml, .txt and .html files.

    Without --version it shows the version `redline release` would make of the working
    tree, with the effective date release would set.

    The files show exactly what subscribers would get, addressed to a sample recipient
    ("Sample Subscriber"), with a sample unsubscribe link (config unsubscribe_url with token
    PREVIEW-TOKEN). Nothing is sent and no subscriber data is read. With --locale the files
    are named POLICY-vN-KIND.LOCALE.*.
    """
    from redline.console import emit_json, err
    from redline.document.dates import resolve_today
    from redline.jobs.preview_email import preview_email

    preview = preview_email(
        app.settings(),
        policy,
        kinds=NOTICE_KINDS if kind == "all" else (kind,),
        version=version,
        today=resolve_today(today, env=app.env),
        outdir=outdir,
        allow_short_notice=allow_short_notice,
        locale=locale,
    )
    if as_json:
        emit_json(preview.to_json())
        return
    source = preview.reason
    err().print(
        f"{preview.policy}: {preview.what}, effective {preview.effective_date.isoformat()}"
        + (f" ({source})" if source else ""),
        markup=False,
    )
    for item in preview.files:
        err().print(f"{item['kind']}: {item['subject']}", markup=False)
        for key in ("eml", "txt", "html"):
            click.echo(item[key])
