"""Preview a notice email: the exact message subscribers would get, as .eml, .txt and .html.

The message is the sample of :mod:`redline.jobs.sample_email`: nothing is sent and no
subscriber data is read. With a locale, it is the copy a subscriber of that locale gets (a
translated template set, else the default one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import InputError
from redline.files import atomic_write
from redline.history.repo import PolicyRepo
from redline.jobs.sample_email import SampleAddressing
from redline.locales import parse_locale
from redline.mail.message import MESSAGE_POLICY
from redline.publish.notice import build_notice_context, render_notice
from redline.release import notice_context, plan_release, provisional_release

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.history.repo import Policy
    from redline.history.tags import Release
    from redline.publish.notice import NoticeContext, RenderedNotice
    from redline.release import PolicyRelease


@dataclass
class EmailPreview:
    """What was previewed, and the files written for each kind of email."""

    policy: str
    version: int
    effective_date: dt.date
    date_source: str | None  # why a pending version gets its date
    what: str
    reason: str | None = None  # the planner's one line: its date and whether it notifies
    notify: bool | None = None  # whether release would email it (None: a release's own)
    locale: str | None = None  # the subscriber's locale previewed (None: the default copy)
    files: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON document of ``preview-email --json``."""
        return {
            "policy": self.policy,
            "version": self.version,
            "effective_date": self.effective_date.isoformat(),
            "date_source": self.date_source,
            "reason": self.reason,
            "notify": self.notify,
            "what": self.what,
            "locale": self.locale,
            "files": self.files,
        }


def preview_email(
    settings: Settings,
    policy: str,
    *,
    kinds: Iterable[str],
    version: int | None = None,
    today: dt.date,
    outdir: Path | None = None,
    allow_short_notice: bool = False,
    locale: str | None = None,
) -> EmailPreview:
    """Write the emails of ``kinds`` for ``policy`` (default: its pending change, else its
    latest release; with ``version``, that release) into ``outdir``, as a subscriber who
    reads ``locale`` gets them; ``allow_short_notice`` plans as ``redline release
    --allow-short-notice`` would."""
    from redline.publish.templates import Templates  # lazy: loads jinja2

    repo = PolicyRepo(settings)
    target = repo.resolve(policy)
    release, context, what, planned = _subject_of_preview(
        repo, settings, target, version, today, allow_short_notice
    )
    preview = EmailPreview(
        target.slug,
        release.version,
        release.effective_date,
        planned.date_source if planned else None,
        what,
        planned.reason if planned else None,
        planned.notify if planned else None,
        parse_locale(locale),
    )
    directory = outdir or settings.repo_root / ".redline" / "preview"
    templates = Templates(settings)
    sample = SampleAddressing.of(settings)
    for kind in kinds:
        notice = render_notice(templates, context, kind)
        preview.files.append(_write_files(notice, sample, preview, kind, directory))
    return preview


def _subject_of_preview(
    repo: PolicyRepo,
    settings: Settings,
    target: Policy,
    version: int | None,
    today: dt.date,
    allow_short_notice: bool,
) -> tuple[Release, NoticeContext, str, PolicyRelease | None]:
    """The release to preview, its notice context, what it is, and the planned version
    (None for a release made earlier)."""
    from redline.publish import changelog  # lazy: loads jinja2

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
        plan = plan_release(
            repo,
            settings,
            today,
            only=target,
            worktree=True,
            allow_short_notice=allow_short_notice,
        )
        if plan.unreleasable:
            raise plan.unreleasable[0].error
        if plan.releases:
            item = plan.releases[0]
            release = provisional_release(plan, item)
            what = f"pending version {release.version}"
            return release, notice_context(plan, item), what, item
        latest = repo.latest_release(target)
        if latest is None:  # the planner releases every policy never released
            raise InputError(f"{target.slug}: has no release and no pending change")
        release = latest
        what = f"release v{release.version} (no pending change)"
    diff = changelog.release_diff(repo, target, release)
    context = build_notice_context(repo, target, release, diff, settings, today=today)
    return release, context, what, None


def _write_files(
    notice: RenderedNotice,
    sample: SampleAddressing,
    preview: EmailPreview,
    kind: str,
    directory: Path,
) -> dict[str, str]:
    """Write one kind's message as .eml, .txt and .html; its subject and file names."""
    message = sample.message(
        notice, policy=preview.policy, version=preview.version, kind=kind, locale=preview.locale
    )
    stem = f"{preview.policy}-v{preview.version}-{kind}"
    if preview.locale:
        stem += f".{preview.locale}"
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    files = {suffix: directory / f"{stem}.{suffix}" for suffix in ("eml", "txt", "html")}
    atomic_write(files["eml"], message.as_bytes(policy=MESSAGE_POLICY))
    atomic_write(files["txt"], text_part.get_content() if text_part else notice.text)
    atomic_write(files["html"], html_part.get_content() if html_part else notice.html)
    subject = str(message["Subject"])
    return {"kind": kind, "subject": subject, **{k: str(v) for k, v in files.items()}}
