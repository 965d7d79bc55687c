"""``redline release``: version, date, log, commit, tag, push and notify changed policies.

Imports ``mail``, ``ledger``, ``publish`` and the layers below. The parts: :mod:`.plan`
(with :mod:`.version`, :mod:`.effective` and :mod:`.results`), :mod:`.messages`,
:mod:`.execute` (with :mod:`.journal`, :mod:`.remote` and :mod:`.notices`) and :mod:`.report`;
the public API is re-exported here.

The rules, exactly (the README quotes them):

Which policies are released
    Every policy at HEAD whose normalised text differs from its last release (the commit of
    its newest ``{tag_prefix}{slug}/vN`` tag), and every policy never released. The text is
    read from HEAD, not from the working tree. A policy is skipped when its last release is
    HEAD itself, when HEAD is an ancestor of that release (a re-run on the commit a release
    was made from, e.g. re-running the workflow of the merge commit), or when the only
    difference is the effective-date line (redline manages that line; a warning says so).

Classification
    From :func:`redline.compare.engine.diff_documents`, last release against HEAD. A first
    release is ``material`` (version 1, ``Previous-Version: none``). Every released policy needs an
    effective-date statement (:mod:`redline.document.dates`; a blank placeholder is filled in).

Effective date of a material change
    ``floor`` is the later of today + ``notice_days`` and the effective date of a release
    that is still pending (its date after today): a new version never takes effect before
    the one it supersedes. An ``Effective-Date: YYYY-MM-DD`` trailer in the message of HEAD
    (the merge commit) asks for a date; else a date the pull request stated in the policy
    (one that differs from the last release's date and from the date in the text released
    then) does. An asked date on or after ``floor`` is used as it is; one before ``floor``
    makes the policy unreleasable (fix: a later date, or ``--allow-short-notice``, which
    releases it and records ``Short-Notice: yes``); a date before today always does. With
    nothing asked, config ``effective_date_by`` decides: ``"release"`` (default) takes
    ``floor`` (or a later date written in a first release), ``"author"`` makes the policy
    unreleasable with the hint ``redline effective-date POLICY --in Nd`` (a first release
    then always states its date). One trailer applies to every material release of the run.

Effective date of an editorial change
    The date of the pending release when one is pending (it keeps that date), else today
    (released at once). A trailer is ignored (a warning says so when no material change
    is released).

Why
    Every new version carries ``reason``, one line with its date's source and whether
    subscribers are told ("material change: notice period of 30 days", "editorial: takes the
    pending release's date 2027-01-05, not notified"). ``check``, ``preview``,
    ``preview-email``, ``changelog --draft`` and ``status`` show this plan
    (:func:`plan_release`); none has rules of its own.

Who is notified
    ``Notify: yes`` for material releases, and for editorial ones when config
    ``notify_editorial`` is true and no release is pending; ``--no-notify`` makes every new
    release ``Notify: no``. A notice shows the changes since the last notified version: the
    newest earlier release with ``Notify: yes``, else the first release (the baseline;
    a first release shows no redline). A pending version keeps its date and its own
    notice: both go out.

What is written
    The effective date into the policy, in the form it is written in
    (:mod:`redline.document.dates`), and an entry into its changelog
    (:mod:`redline.publish.changelog`), then ONE commit by the bot identity (config
    ``bot_name``/``bot_email``) of exactly those files, and one annotated tag per released
    policy on that commit. The tag message carries Policy, Version,
    Effective-Date, Classification, Previous-Version, Commits (``<previous release
    commit>..<released commit>``, only the released commit for a first release), Notify,
    Short-Notice and Summary (:func:`redline.history.tags.format_release_message`).

Unreleasable policies
    A policy without an effective-date statement, with an ambiguous or invalid date, whose
    asked date is refused (above), or whose tag name git refuses (``git check-ref-format``,
    or a leading ``-``) is reported once as a warning with its fix and left out
    (:class:`Unreleasable`); the others are released and the command exits 6
    (:class:`~redline.errors.PoliciesSkipped`). Every git command passes names after ``--``
    or as full refs.

Order and failure
    Every policy is validated (effective-date line, dates, tag names, templates,
    changelog, transport, database, clean files) before anything is written. Then: write
    files, commit, tag, push, notify. If writing, committing, tagging or pushing fails,
    the files, commit and tags made by this run are undone locally, and only while they
    are as this run left them (:func:`roll_back`). Sending failures never undo a release:
    failed notices stay in the ledger for ``redline remind``.

Lock and journal
    :func:`run_release` holds ``<git common dir>/redline/release.lock`` (an OS file lock
    that dies with its holder) from start to end; a second run stops with exit code 7.
    The plan (files with the blob ids of the bytes written, commit message, tags and their
    messages) goes to ``<git dir>/redline/release.json`` before the first write, the
    commit id once it exists. A run that finds the journal finishes the release when its
    commit is in HEAD's history (makes the missing tags; push and notices follow as for
    any unpushed or unsent release), else rolls it back, then plans afresh
    (:func:`resume_interrupted`).

``--push``
    Only from the default branch (config ``default_branch``; in GitHub Actions also the
    push event's repository default branch). A shallow clone is unshallowed first
    (``git fetch --unshallow --tags origin``) and release tags are fetched, so earlier
    releases are known. The remote branch tip is read with ``git ls-remote`` at the
    start; HEAD must contain it, and just before pushing it must not have changed,
    otherwise the run stops with "the branch moved" and nothing remote changes. The
    commit and the tags go in one ``git push --atomic origin HEAD:refs/heads/<branch>
    <tags>``; release tags made earlier but never pushed (a run that crashed before
    pushing) go with them. Notices are sent only after the push.

Idempotence and crashes
    A second run on the same commit finds nothing to release: no commit, no tag, no push.
    Every run then finishes the notices of releases that are still pending (effective date
    today or later) and have ``Notify: yes``: it queues any subscriber without a ledger row,
    puts rows left ``sending`` by a crash back to ``pending``, and sends what is pending or
    failed temporarily (:mod:`redline.mail.send`); when nothing is left it opens no connection
    and sends nothing. So a subscriber who joined after a release also gets the notice of
    a version that has not taken effect yet; nobody gets one twice.

Dates from evidence
    Each policy's date is read with its own settings (``PolicyRepo.settings_for``) and the
    numeric order its evidence gives (:mod:`redline.history.policy_dates`), and written in that
    order. A month-year date can only announce the 1st of a month, so every date of such a
    policy moves to the first 1st on or after it (:func:`redline.document.dates.earliest_writable`).

Subscriptions after a move
    Before queueing notices, subscriptions under a policy's earlier names move to its
    current name (:func:`redline.ledger.subscribers.policy_names`).

``--dry-run``
    Runs every read and check, writes nothing, and prints each git command that would
    change something (fetch, add, commit, tag, push), each file that would be written and
    how many emails would be sent. It needs no sender, secret or SMTP settings: without
    them it warns and counts the waiting subscribers instead of rendering the emails.
"""

from redline.release.effective import choose_effective_date, effective_date_trailer, pending_date
from redline.release.execute import execute_release, run_release
from redline.release.messages import (
    commit_message,
    notice_context,
    provisional_release,
    render_release_notice,
    tag_message,
)
from redline.release.plan import ReleasePlan, plan_release
from redline.release.report import (
    NoticeResult,
    ReleaseReport,
    nothing_released,
    step_summary,
    write_github_failure,
    write_github_files,
)
from redline.release.results import PolicyRelease, Skipped, Unreleasable

__all__ = [
    "NoticeResult",
    "PolicyRelease",
    "ReleasePlan",
    "ReleaseReport",
    "Skipped",
    "Unreleasable",
    "choose_effective_date",
    "commit_message",
    "effective_date_trailer",
    "execute_release",
    "nothing_released",
    "notice_context",
    "pending_date",
    "plan_release",
    "provisional_release",
    "render_release_notice",
    "run_release",
    "step_summary",
    "tag_message",
    "write_github_failure",
    "write_github_files",
]
