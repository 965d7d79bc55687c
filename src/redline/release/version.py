"""One policy's new version: whether it is released, its date, diffs, changelog entry and
notice (:func:`plan_policy`).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from redline.compare.engine import RefInfo, diff_documents
from redline.document.dates import edit_effective_date, find_effective_date
from redline.document.model import parse_document
from redline.document.source import decode_policy
from redline.errors import DateError, InputError
from redline.history.policy_dates import read_policy_date
from redline.history.tags import notice_base
from redline.release.effective import BY_AUTHOR, choose_effective_date, pending_date
from redline.release.messages import with_notice
from redline.release.results import PolicyRelease, Skipped, Unreleasable

if TYPE_CHECKING:
    from redline.compare.engine import DiffResult
    from redline.config import Settings
    from redline.document.dates import DateOptions
    from redline.document.model import Document
    from redline.history.repo import Policy, PolicyRepo
    from redline.history.tags import Release
    from redline.publish.changelog import ChangelogEntry
    from redline.publish.templates import Templates
    from redline.release.plan import ReleasePlan


@dataclass
class _Draft:
    """A policy's new version while it is worked out: HEAD's text (with its byte order
    mark), the policy's settings and releases, the change since the last one and its
    parsed text."""

    policy: Policy
    text: str
    bom: bytes
    settings: Settings
    releases: list[Release]
    classification: str = "material"
    old_doc: Document | None = None
    old_text: str = ""

    @property
    def latest(self) -> Release | None:
        """The last release, None before the first."""
        return self.releases[-1] if self.releases else None


@dataclass(frozen=True)
class _Dated:
    """The new version's effective date, where it came from, and the text that states it."""

    effective: date
    source: str
    short: bool
    pending: date | None
    text: str


def plan_policy(
    plan: ReleasePlan, policy: Policy, templates: Templates
) -> PolicyRelease | Skipped | Unreleasable | None:
    """The new version of ``policy`` a release makes, or why it makes none (None: the
    policy is not committed at HEAD, with a warning in ``plan``)."""
    found = _policy_text(plan, policy)
    if found is None:
        plan.warnings.append(f"{policy.path}: not committed at HEAD; it is not released")
        return None
    text, blob, bom = found
    draft = _Draft(policy, text, bom, plan.repo.settings_for(policy), plan.repo.releases(policy))
    left_alone = _compare(plan, draft, blob)
    if left_alone is not None:
        return left_alone
    dated = _date(plan, draft)
    if not isinstance(dated, _Dated):
        return dated
    return _build(plan, draft, dated, templates)


def _policy_text(plan: ReleasePlan, policy: Policy) -> tuple[str, str, bytes] | None:
    """``(text, blob id, byte order mark)`` of ``policy`` at the plan's head (or in the
    working tree with ``plan.worktree``); None if it is not there."""
    if plan.worktree:  # shown, never written (execute_release refuses such a plan)
        if not policy.abspath.is_file():
            return None
        snapshot = plan.repo.read_text(policy, None)
        return snapshot.text, snapshot.blob, b""
    found = plan.repo.blob_at(plan.head, policy.path)
    if found is None:
        return None
    blob, data = found
    text = decode_policy(data, f"{policy.path} at {plan.head[:10]}")
    return text, blob, codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""


def _tag_problem(repo: PolicyRepo, policy: Policy) -> InputError | None:
    """Why git would refuse ``policy``'s release tags (``git check-ref-format`` and the rule
    of ``git tag`` that a name must not start with a dash), or None."""
    tag = repo.tag_name(policy.slug, 1)
    if repo.git.valid_tag_name(tag):
        return None
    fix = (
        "fix tag_prefix in the config"
        if not repo.git.valid_tag_name(repo.tag_name("policy", 1))
        else "rename the file to letters, digits and dashes (e.g. cookie-policy.md)"
    )
    return InputError(
        f"{policy.path}: its release tag {tag!r} is not a valid git tag name", hint=fix
    )


def _compare(plan: ReleasePlan, draft: _Draft, blob: str) -> Skipped | Unreleasable | None:
    """Skip a policy released at or after HEAD or unchanged since its last release (a first
    release whose tag git refuses is unreleasable); else fill in the draft's change."""
    policy, latest = draft.policy, draft.latest
    if latest is None:
        bad_name = _tag_problem(plan.repo, policy)
        return Unreleasable(policy, bad_name) if bad_name is not None else None
    if latest.commit == plan.head and not plan.worktree:
        return Skipped(policy, latest, f"released as v{latest.version} at this commit")
    if not plan.worktree and plan.repo.is_ancestor(plan.head, latest.commit):
        return Skipped(
            policy,
            latest,
            f"already released as v{latest.version} at {latest.commit[:10]}, "
            "which contains this commit",
        )
    old_snapshot, draft.old_doc = plan.repo.document(policy, latest.commit)
    draft.old_text = old_snapshot.text
    if old_snapshot.blob == blob:
        return Skipped(policy, latest, f"unchanged since v{latest.version}")
    fold = plan.settings.fold_typography
    head_doc = parse_document(draft.text, name=f"{policy.path} at HEAD", fold_typography=fold)
    draft.classification = diff_documents(
        draft.old_doc, head_doc, settings=draft.settings
    ).classification
    if draft.classification == "none":
        return Skipped(policy, latest, f"unchanged since v{latest.version}")
    return None


def _date(plan: ReleasePlan, draft: _Draft) -> _Dated | Skipped | Unreleasable:
    """The new version's effective date and text; unreleasable when the date cannot be read
    or written, skipped when only the effective-date line changed."""
    policy, latest, path = draft.policy, draft.latest, draft.policy.path
    # The policy's own settings, its history and the other policies decide how its date
    # reads and is written; a date that cannot be read or written is found here.
    current = read_policy_date(plan.repo, policy, draft.text, orders=plan.orders, today=plan.today)
    if current.problem is not None:
        problem = current.problem
        return Unreleasable(policy, DateError(problem.message, hint=problem.hint))
    assert current.effective is not None  # read whenever there is no problem
    options = current.options
    try:
        probe = edit_effective_date(
            draft.text, latest.effective_date if latest else plan.today, options, name=path
        ).text
    except DateError as problem:
        return Unreleasable(policy, problem)
    date_only = _only_the_date_line(plan, draft, probe)
    if date_only is not None:
        return date_only
    pending = pending_date(draft.releases, plan.today)
    written = current.effective.date
    by = draft.settings.effective_date_by
    stated = _stated(draft, written, options, by, plan.today)
    try:
        effective, source, short = choose_effective_date(
            draft.classification,
            today=plan.today,
            notice_days=options.notice_days,
            pending=pending,
            requested=plan.requested_date,
            written=written,
            allow_short_notice=plan.allow_short_notice,
            name=path,
            precision=current.effective.precision,
            stated=stated,
            by=by,
            slug=policy.slug,
        )
    except DateError as problem:  # a date too early, in the past, or not set by the author
        return Unreleasable(policy, problem)
    try:
        new_text = edit_effective_date(draft.text, effective, options, name=path).text
    except DateError as problem:  # pragma: no cover - the probe above writes the same line
        return Unreleasable(policy, problem)
    if stated and written is not None and written != effective:  # an editorial change
        plan.warnings.append(
            f"{path}: the date set in the policy ({written.isoformat()}) is not used: an "
            f"editorial change takes effect {effective.isoformat()} ({source})"
        )
    return _Dated(effective, source, short, pending, new_text)


def _only_the_date_line(plan: ReleasePlan, draft: _Draft, probe: str) -> Skipped | None:
    """Skipped, with a warning, when only the effective-date line changed: ``probe`` (the
    text with the last release's date written back) reads as that release."""
    latest, path = draft.latest, draft.policy.path
    if latest is None or draft.old_doc is None or draft.classification != "editorial":
        return None
    probe_doc = parse_document(probe, name=path, fold_typography=plan.settings.fold_typography)
    if diff_documents(draft.old_doc, probe_doc, settings=draft.settings).classification != "none":
        return None
    plan.warnings.append(
        f"{path}: only the effective-date line was edited since v{latest.version}; "
        f"redline manages that date ({latest.effective_date.isoformat()}), so there "
        "is nothing to release"
    )
    why = f"unchanged since v{latest.version} (date line only)"
    return Skipped(draft.policy, latest, why, date_only=True)


def _stated(
    draft: _Draft, written: date | None, options: DateOptions, by: str, today: date
) -> bool:
    """True when the pull request set the policy's date: it differs from the last release's
    date and from the date written in the text released then (a first release's date is the
    author's own only with ``effective_date_by = "author"``)."""
    latest = draft.latest
    if latest is None:
        return by == BY_AUTHOR
    if written is None or written == latest.effective_date:
        return False
    try:
        released = find_effective_date(draft.old_text, options, today=today).date
    except DateError:
        released = None
    return written != released


def _build(plan: ReleasePlan, draft: _Draft, dated: _Dated, templates: Templates) -> PolicyRelease:
    """The new version with its diffs, changelog entry and (when it notifies) its notice."""
    policy, latest = draft.policy, draft.latest
    fold = plan.settings.fold_typography
    new_doc = parse_document(dated.text, name=policy.path, fold_typography=fold)
    version = latest.version + 1 if latest else 1
    tag = plan.repo.tag_name(policy.slug, version)
    notify = plan.notify and (
        draft.classification == "material"
        or (plan.settings.notify_editorial and dated.pending is None)
    )
    diff, base, notice_diff = _diffs(plan, draft, new_doc, tag, version, notify)
    summary, entry, entry_markdown, log_path, log_text = _changelog(
        plan, draft, dated, diff, version, tag, templates
    )
    item = PolicyRelease(
        reason=_reason(draft.classification, dated, notify),
        policy=policy,
        previous=latest,
        version=version,
        tag=tag,
        classification=draft.classification,
        effective_date=dated.effective,
        date_source=dated.source,
        short_notice=dated.short,
        notify=notify,
        summary=summary,
        diff=diff,
        notice_base=base,
        notice_diff=notice_diff,
        entry=entry,
        entry_markdown=entry_markdown,
        changelog=log_path,
        text=dated.text,
        data=draft.bom + dated.text.encode("utf-8"),
        changelog_data=log_text.encode("utf-8"),
    )
    return with_notice(plan, item) if notify else item


def _reason(classification: str, dated: _Dated, notify: bool) -> str:
    """Why the new version gets its date and whether subscribers are told, in one line."""
    told = "subscribers notified" if notify else "not notified"
    if classification == "material":
        short = "" if notify else f"; {told}"
        return f"material change: {dated.source}{short}"
    if dated.source == "pending release":
        return f"editorial: takes the pending release's date {dated.effective.isoformat()}, {told}"
    return f"editorial: {dated.source}, {told}"


def _diffs(
    plan: ReleasePlan, draft: _Draft, new_doc: Document, tag: str, version: int, notify: bool
) -> tuple[DiffResult | None, Release | None, DiffResult | None]:
    """``(diff since the last release, the notice's base release, diff since that base)``."""
    policy, latest = draft.policy, draft.latest

    def since(release: Release, old_doc: Document) -> DiffResult:
        return diff_documents(
            old_doc,
            new_doc,
            policy=policy.slug,
            path=policy.path,
            from_ref=RefInfo(release.tag, release.commit),
            to_ref=RefInfo(tag, None),
            settings=draft.settings,
        )

    diff = None
    if latest is not None and draft.old_doc is not None:
        diff = since(latest, draft.old_doc)
    base = notice_base(draft.releases, version) if notify else None
    if base is None:
        return diff, None, None
    if latest is not None and base.version == latest.version:
        return diff, base, diff
    return diff, base, since(base, plan.repo.document(policy, base.commit)[1])


def _changelog(
    plan: ReleasePlan,
    draft: _Draft,
    dated: _Dated,
    diff: DiffResult | None,
    version: int,
    tag: str,
    templates: Templates,
) -> tuple[str, ChangelogEntry, str, str, str]:
    """``(summary, changelog entry, its Markdown, changelog path, changelog text)``; a
    changelog that already has an entry for ``version`` is refused."""
    from redline.publish import changelog  # lazy: loads jinja2

    repo, settings, policy, latest = plan.repo, plan.settings, draft.policy, draft.latest
    summary = changelog.resolve_summary(
        repo,
        policy,
        diff,
        explicit=plan.summary,
        since=latest.tag if latest else None,
        until=plan.head,
    )
    entry = changelog.build_entry(
        repo,
        policy,
        settings,
        version=version,
        effective_date=dated.effective,
        published=plan.today,
        classification=draft.classification,
        diff=diff,
        summary=summary,
        previous_version=latest.version if latest else None,
        short_notice=dated.short,
        rev=plan.head,
    )
    entry_markdown = changelog.render_entry(settings, entry, templates)
    log_path = changelog.changelog_path(settings, policy).relative_to(settings.repo_root)
    if changelog.has_entry(settings, policy, version):
        raise InputError(
            f"{log_path.as_posix()}: already has an entry for version {version}, "
            "which is not released",
            hint=f"remove that entry (or tag the release {tag} by hand) and run release again",
        )
    log_text = changelog.changelog_with_entry(
        settings, policy, entry, templates=templates, entry_markdown=entry_markdown
    )[1]
    return summary, entry, entry_markdown, log_path.as_posix(), log_text
