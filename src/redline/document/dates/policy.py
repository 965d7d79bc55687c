"""One policy's date as release, init and status need it: read with its order's evidence, and
checked that a new one can be written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from redline.document.dates.edit import edit_effective_date
from redline.document.dates.evidence import OrderEvidence, RepositoryOrders, resolve_date_order
from redline.document.dates.options import DateOptions, date_options
from redline.document.dates.read import find_effective_date
from redline.document.dates.results import EffectiveDate
from redline.errors import DateError, Problem

if TYPE_CHECKING:
    from collections.abc import Iterable

    from redline.config import Settings


_PROBE = date(2030, 2, 9)  # a day that is also a month: writing it needs the order


@dataclass(frozen=True)
class PolicyDate:
    """A policy's managed date, the options (with the order) it is read with, or its problem.

    ``problem`` is set when the date cannot be read or a new one cannot be written; callers
    report it once (it carries the fix) and skip the policy.
    """

    name: str
    effective: EffectiveDate | None
    evidence: OrderEvidence
    options: DateOptions
    problem: Problem | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "effective": self.effective.to_json() if self.effective else None,
            "date_order": self.evidence.to_json(),
            "problem": self.problem.to_json() if self.problem else None,
        }


def inspect_policy_date(
    text: str,
    settings: Settings | DateOptions | None = None,
    *,
    name: str,
    history: Iterable[tuple[str, str]] = (),
    repository: RepositoryOrders | None = None,
    today: date | None = None,
) -> PolicyDate:
    """Read the managed date of ``text`` and make sure a new one can be written; never raises
    DateError: a missing, ambiguous, invalid or disagreeing date becomes ``problem``.

    A blank placeholder is no problem (``date`` is None; a release fills it in).
    """
    opts = date_options(settings)
    evidence = resolve_date_order(text, opts, history=history, repository=repository, path=name)
    resolved = opts.with_order(evidence.order)
    try:
        effective = find_effective_date(text, resolved, name=name, today=today, require_date=False)
        for match in effective.matches:
            if match.error and not match.blank:
                raise DateError(f"{name}:{match.line}: {match.error}", hint=match.hint)
        if evidence.needed or any(m._token is None and not m.blank for m in effective.matches):
            edit_effective_date(text, _PROBE, resolved, name=name)
    except DateError as error:
        return PolicyDate(name, None, evidence, resolved, Problem.from_error(error, path=name))
    return PolicyDate(name, effective, evidence, resolved)
