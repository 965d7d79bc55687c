"""One policy's managed date, read with all the evidence redline has.

Release, init, check, status and effective-date read a policy's date the same way: with the
policy's own settings (:meth:`redline.history.repo.PolicyRepo.settings_for`: its ``date_label``,
``date_order``, ``locale`` and ``notice_days``), its history, and the orders the repository's
other policies write (:class:`redline.document.dates.RepositoryOrders`, each read with its own
settings). This module is that one way.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from redline.document.dates import RepositoryOrders, date_options, inspect_policy_date
from redline.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from redline.document.dates import DateOptions, PolicyDate
    from redline.history.repo import Policy, PolicyRepo


def policy_options(repo: PolicyRepo, policy: Policy) -> DateOptions:
    """The date options of ``policy``: the repository's settings with its own on top."""
    return date_options(repo.settings_for(policy))


def repository_orders(repo: PolicyRepo) -> RepositoryOrders:
    """The orders the working-tree policies of ``repo`` write, each read with its own options
    (read only when a policy's own evidence does not decide)."""

    def policies() -> Iterator[tuple[str, str, DateOptions]]:
        for policy in repo.policies():
            try:
                text = repo.read_text(policy, None).text
            except InputError:
                continue
            yield policy.path, text, policy_options(repo, policy)

    return RepositoryOrders(policies())


def revision_texts(repo: PolicyRepo, policy: Policy) -> Iterator[tuple[str, str]]:
    """``(commit, text)`` of each revision of ``policy``, newest first, read one at a time."""
    for revision in repo.revisions(policy):
        try:
            yield revision.short, repo.read_text(policy, revision.commit).text
        except InputError:
            continue


def read_policy_date(
    repo: PolicyRepo,
    policy: Policy,
    text: str,
    *,
    orders: RepositoryOrders | None,
    today: date,
    history: bool = True,
) -> PolicyDate:
    """The managed date of ``policy`` in ``text``, with the evidence that decides its order
    (its settings, its history unless ``history`` is False, then ``orders``), or its problem."""
    return inspect_policy_date(
        text,
        policy_options(repo, policy),
        name=policy.path,
        history=revision_texts(repo, policy) if history else (),
        repository=orders,
        today=today,
    )


def read_policy_dates(
    repo: PolicyRepo, texts: dict[Policy, str], *, today: date
) -> dict[Policy, PolicyDate]:
    """The dates of several policies: each from its own evidence first (settings, text,
    history, locale); those still undecided then from the orders the others were found to
    write (also those only their history proves), so nothing is read twice."""
    orders = repository_orders(repo)
    found = {
        policy: read_policy_date(repo, policy, text, orders=None, today=today)
        for policy, text in texts.items()
    }
    for policy, read in found.items():
        if read.evidence.order is not None:
            orders.learn(policy.path, read.options, read.evidence.order)
    for policy, read in found.items():
        if read.evidence.needed and read.evidence.order is None:
            found[policy] = read_policy_date(
                repo, policy, texts[policy], orders=orders, today=today, history=False
            )
    return found
