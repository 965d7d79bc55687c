"""``redline init [--dry-run]``: set up redline in an existing repository of policies."""

from __future__ import annotations

import click

from redline.cli._app import AppContext, pass_app


@click.command()
@click.option("--dry-run", is_flag=True, help="Change nothing; show what init would write.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--policies-dir", help="Directory of the policies (config: policies_dir).")
@click.option(
    "--date-order",
    type=click.Choice(["MDY", "DMY"]),
    help="How to read dates such as 03/01/2026 (config: date_order).",
)
@click.option(
    "--notice-days", type=click.IntRange(min=0), help="Days of notice (config: notice_days)."
)
@pass_app
def command(
    app: AppContext,
    dry_run: bool,
    as_json: bool,
    policies_dir: str | None,
    date_order: str | None,
    notice_days: int | None,
) -> None:
    """Write the config, the GitHub workflows and baseline release tags; email nobody.

    The config goes into [tool.redline] of an existing pyproject.toml, else into a new
    redline.toml; an existing redline config, and existing workflow files, are left as they
    are. Every policy gets an annotated tag <slug>/v1 on HEAD with the effective date
    written in it (Notify: no). Running init again changes nothing; init refuses when
    release tags other than its own baseline already exist. Options given here are written
    into a new config.
    """
    from redline.console import emit_json, err, out
    from redline.history import PolicyRepo
    from redline.initrepo import apply_init, plan_init

    settings = app.settings(
        policies_dir=policies_dir, date_order=date_order, notice_days=notice_days
    )
    repo = PolicyRepo(settings)
    plan = plan_init(repo, settings)
    if not dry_run:
        apply_init(repo, plan, settings)
    if as_json:
        emit_json({**plan.to_json(), "dry_run": dry_run})
        return
    console = out()

    def say(line: str) -> None:
        console.print(line, markup=False)

    verb = "would " if dry_run else ""
    for action in plan.files:
        if action.writes:
            say(f"{verb}{action.action:<7} {action.path} ({action.reason})")
        else:
            say(f"kept    {action.path} ({action.reason})")
    for tag in plan.tags:
        if tag.exists:
            say(f"kept    tag {tag.tag} (effective {tag.effective_date})")
        else:
            say(
                f"{verb}tag     {tag.tag} on {tag.commit[:10]}, effective "
                f"{tag.effective_date} (from {tag.date_source})"
            )
    for warning in plan.warnings:
        err().print(f"redline: warning: {warning}", markup=False)
    if dry_run:
        say(f"Dry run: {plan.changes} change(s) not made; nobody is emailed by init.")
    elif plan.changes:
        written = [a.path for a in plan.files if a.writes]
        say(
            f"Set up redline: {plan.changes} change(s); nobody was emailed. Next: review and "
            "commit the files, then push the commit and the tags:"
        )
        if written:
            say(f"  git add {' '.join(written)}")
            say('  git commit -m "Set up redline"')
        say("  git push --follow-tags")
    else:
        say("Already set up: nothing to do.")
