"""``redline init [--dry-run]``: set up redline in an existing repository of policies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from redline.cli._app import AppContext, pass_app
from redline.cli._options import date_order_option, dry_run_option, json_option, notice_days_option
from redline.errors import PoliciesSkipped

if TYPE_CHECKING:
    from redline.jobs.init import InitPlan
    from redline.jobs.init_files import FileAction

CONFIG_FILES = ("redline.toml", "pyproject.toml")


def config_lines(content: str, path: str) -> list[str]:
    """The redline part of a config file's new content (all of redline.toml)."""
    if path == "pyproject.toml":
        content = content[content.rindex("[tool.redline]") :]
    return content.rstrip("\n").splitlines()


@click.command()
@dry_run_option("Change nothing; show what init would write.")
@json_option("Print the plan as JSON.")
@click.option("--policies-dir", help="Directory of the policies (config: policies_dir).")
@date_order_option("How to read dates such as 03/01/2026 (config: date_order).")
@notice_days_option("Days of notice (config: notice_days).")
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

    Without a config, init proposes one from what the repository holds (site-style
    */index.md, locale folders, company folders) and shows it first. The config goes into
    [tool.redline] of an existing pyproject.toml, else into a new redline.toml; an existing
    redline config, and existing workflow files, are left as they are. Every policy gets an
    annotated tag <name>/v1 on HEAD with the effective date written in it (Notify: no).
    Running init again changes nothing; init refuses when release tags other than its own
    baseline already exist. Options given here are written into a new config.

    Numeric dates are read from evidence (the policy's text, history, locale, the other
    policies), and the orders found are written into a new config. A policy whose date has
    no evidence at all is reported with its fix and gets no baseline; the others do, and
    init exits 6.
    """
    from redline.console import emit_json
    from redline.history.repo import PolicyRepo
    from redline.jobs.init import apply_init, plan_init
    from redline.jobs.init_propose import propose_settings

    settings = app.settings(
        policies_dir=policies_dir, date_order=date_order, notice_days=notice_days
    )
    notes: list[str] = []
    if settings.config_file is None:
        keep = {"policies_dir"} if policies_dir is not None else set()
        settings, notes = propose_settings(PolicyRepo(settings), settings, keep=keep)
    repo = PolicyRepo(settings)
    plan = plan_init(repo, settings, notes=notes)
    if not dry_run:
        apply_init(repo, plan, settings)
    config = next((a for a in plan.files if a.writes and a.path in CONFIG_FILES), None)
    if as_json:
        proposed = config.content if config is not None else None
        emit_json({**plan.to_json(), "config": proposed, "dry_run": dry_run})
        _refuse_skipped(plan)
        return
    _show(plan, config, dry_run=dry_run)
    _refuse_skipped(plan)


def _show(plan: InitPlan, config: FileAction | None, *, dry_run: bool) -> None:
    """What init found, proposes or writes, the tags, and what to do next."""
    from redline.console import err, out

    console = out()

    def say(line: str) -> None:
        console.print(line, markup=False)

    verb = "would " if dry_run else ""
    for note in plan.notes:
        say(f"found   {note}")
    if config is not None:
        say(f"{'proposed' if dry_run else 'writing'} configuration ({config.path}):")
        for line in config_lines(config.content, config.path):
            say(f"    {line}")
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
    for problem in plan.skipped:
        say(f"{verb}skip    {problem.path} (no baseline: {problem.message})")
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


def _refuse_skipped(plan: InitPlan) -> None:
    """Exit 6 when policies got no baseline (each was reported with its fix)."""
    if plan.skipped:
        names = ", ".join(problem.path for problem in plan.skipped)
        raise PoliciesSkipped(
            f"{len(plan.skipped)} policy(ies) got no baseline: {names}",
            hint="set their date_order as the warnings say and run init again; it adds "
            "what is missing",
        )
