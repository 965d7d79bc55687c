"""``redline serve``: the subscriber web app under uvicorn."""

from __future__ import annotations

import click

from redline.cli._app import AppContext, pass_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker processes (one per core; each keeps its own rate-limit counts).",
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    help="Proxies whose X-Forwarded-For/-Proto are trusted (comma-separated, or '*').",
)
@click.option("--root-path", default="", help="URL prefix the proxy serves the app under.")
@pass_app
def command(
    app: AppContext,
    host: str,
    port: int,
    workers: int,
    forwarded_allow_ips: str,
    root_path: str,
) -> None:
    """Serve sign-up (double opt-in), preferences and one-click unsubscribe (RFC 8058).

    Uses the subscriber database (REDLINE_DATABASE_URL or .redline/redline.db), the SMTP
    settings for confirmation emails, and REDLINE_SECRET, which signs every link. Set
    serve_url in the config to the public URL, so notices link to /unsubscribe here. Runs
    until interrupted; GET /healthz answers "ok" while the database does.
    """
    import os

    from redline.console import err
    from redline.serve.app import ENV_CONFIG, ENV_ROOT, App
    from redline.serve.server import run

    settings = app.settings()
    App(settings).close()  # a missing secret, database or template fails here, at once
    os.environ[ENV_ROOT] = str(settings.repo_root)
    if settings.config_file is not None:
        os.environ[ENV_CONFIG] = str(settings.config_file)
    err().print(f"redline: serving on http://{host}:{port}{root_path}/", markup=False)
    if not settings.serve_url:
        err().print(
            "redline: serve_url is not set: confirmation emails link to the address above",
            markup=False,
        )
    run(
        host,
        port,
        workers=workers,
        forwarded_allow_ips=forwarded_allow_ips,
        root_path=root_path,
    )
