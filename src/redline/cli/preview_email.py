"""``redline preview-email POLICY``: write the exact notice email as .eml, .txt and .html."""

from __future__ import annotations

from pathlib import Path

import click

from redline.cli._app import AppContext, pass_app

KINDS = ("notice", "reminder", "in-effect")
SAMPLE_RECIPIENT = ("Sample Subscriber", "subscriber@example.com")
SAMPLE_TOKEN = "PREVIEW-TOKEN"


@click.command()
@click.argument("policy")
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the files (default: .redline/preview in the repository).",
)
@click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    help="Preview the notice of released version N (default: the pending change, else the "
    "latest release).",
)
@click.option(
    "--kind",
    type=click.Choice([*KINDS, "all"]),
    default="notice",
    show_default=True,
    help="Which email.",
)
@click.option(
    "--today", metavar="YYYY-MM-DD", help="Take this as today's date (or $REDLINE_TODAY)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def command(
    app: AppContext,
    policy: str,
    outdir: Path | None,
    version: int | None,
    kind: str,
    today: str | None,
    as_json: bool,
) -> None:
    """Render POLICY's notice email and write it as .eml, .txt and .html files.

    Without --version it shows the version `redline release` would make of the working
    tree, with the effective date release would set.

    The files show exactly what subscribers would get, addressed to a sample recipient, with
    a sample unsubscribe link (config unsubscribe_url with token PREVIEW-TOKEN). Nothing is
    sent and no subscriber data is read.
    """
    from email.headerregistry import Address

    from redline.console import emit_json, err
    from redline.document.dates import resolve_today
    from redline.errors import ConfigError, InputError
    from redline.files import atomic_write
    from redline.history.repo import PolicyRepo
    from redline.mail.mailer import MESSAGE_POLICY, MessageFactory, sender_address
    from redline.publish import changelog
    from redline.publish.notice import build_notice_context, render_notice
    from redline.release.core import notice_context, plan_release, provisional_release

    settings = app.settings()
    repo = PolicyRepo(settings)
    target = repo.resolve(policy)
    day = resolve_today(today)
    context = None
    source = None  # why the pending version gets its date
    if version is not None:
        release = next((r for r in repo.releases(target) if r.version == version), None)
        if release is None:
            known = ", ".join(str(r.version) for r in repo.releases(target)) or "none"
            raise InputError(
                f"{target.slug}: no release v{version}", hint=f"released versions: {known}"
            )
        what = f"release v{version}"
    else:
        # What `redline release` would make of the working tree: the same planner.
        plan = plan_release(repo, settings, day, only=target, worktree=True)
        if plan.unreleasable:
            raise plan.unreleasable[0].error
        if plan.releases:
            item = plan.releases[0]
            release = provisional_release(plan, item)
            context = notice_context(plan, item)
            what, source = f"pending version {release.version}", item.date_source
        else:
            latest = repo.latest_release(target)
            if latest is None:  # the planner releases every policy never released
                raise InputError(f"{target.slug}: has no release and no pending change")
            release = latest
            what = f"release v{release.version} (no pending change)"
    if context is None:
        diff = changelog.release_diff(repo, target, release)
        context = build_notice_context(repo, target, release, diff, settings, today=day)
    try:
        sender = sender_address(settings)
    except ConfigError:
        sender = Address("Policy updates (preview)", addr_spec="policy-updates@example.com")
    unsubscribe_url = (
        settings.unsubscribe_url.replace("{token}", SAMPLE_TOKEN)
        if settings.unsubscribe_url
        else None
    )
    directory = outdir or settings.repo_root / ".redline" / "preview"
    written: list[dict[str, str]] = []
    for name in KINDS if kind == "all" else (kind,):
        notice = render_notice(settings, context, name)
        factory = MessageFactory(
            notice,
            sender=sender,
            policy=target.slug,
            version=release.version,
            kind=name,
            unsubscribe=lambda _email: unsubscribe_url,
        )
        message = factory.build(SAMPLE_RECIPIENT[1], SAMPLE_RECIPIENT[0])
        stem = f"{target.slug}-v{release.version}-{name}"
        text_part = message.get_body(("plain",))
        html_part = message.get_body(("html",))
        files = {suffix: directory / f"{stem}.{suffix}" for suffix in ("eml", "txt", "html")}
        atomic_write(files["eml"], message.as_bytes(policy=MESSAGE_POLICY))
        atomic_write(files["txt"], text_part.get_content() if text_part else notice.text)
        atomic_write(files["html"], html_part.get_content() if html_part else notice.html)
        written.append(
            {"kind": name, "subject": notice.subject, **{k: str(v) for k, v in files.items()}}
        )
    if as_json:
        emit_json(
            {
                "policy": target.slug,
                "version": release.version,
                "effective_date": release.effective_date.isoformat(),
                "date_source": source,
                "what": what,
                "files": written,
            }
        )
        return
    err().print(
        f"{target.slug}: {what}, effective {release.effective_date.isoformat()}"
        + (f" ({source})" if source else ""),
        markup=False,
    )
    for item in written:
        err().print(f"{item['kind']}: {item['subject']}", markup=False)
        for key in ("eml", "txt", "html"):
            click.echo(item[key])
