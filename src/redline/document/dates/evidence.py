"""The numeric order of a policy's dates (``05/06/2020``), from evidence: config, its text, its
history, its locale, the other policies of the repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from redline.document.dates.options import DateOptions, date_options
from redline.document.dates.read import split_dates
from redline.document.dates.results import DateMatch
from redline.document.dates.tokens import _valid
from redline.locales import parse_locale

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from redline.config import Settings


ORDER_SOURCES = ("config", "text", "history", "locale", "repository")


# a numeric date that reads only one way: one of its first two numbers cannot be a month
_PROVING = re.compile(
    r"(?<![\d/.\-])(?:(?:1[3-9]|2\d|3[01])[-/.]\d{1,2}|\d{1,2}[-/.](?:1[3-9]|2\d|3[01]))"
    r"[-/.]\d{4}(?!\d)"
)


@dataclass(frozen=True)
class OrderEvidence:
    """What decided how a policy's numeric dates (``05/06/2020``) are read and written.

    ``source`` is one of :data:`ORDER_SOURCES`, consulted in that order, or None when nothing
    decided; ``needed`` is False when the policy's date is not numeric (no order is needed).
    """

    order: str | None
    source: str | None
    detail: str
    needed: bool = True

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "order": self.order,
            "source": self.source,
            "detail": self.detail,
            "needed": self.needed,
        }


def _proved_by(match: DateMatch) -> str | None:
    """The order a numeric date statement proves by itself ("05/14/2020": MDY), or None."""
    token = match._token
    if token is None or token.kind != "numeric" or match.blank:
        return None
    year, a, b = (int(token.match.group(key)) for key in ("y", "a", "b"))
    mdy, dmy = _valid(year, a, b), _valid(year, b, a)
    if (mdy is None) != (dmy is None):
        return "MDY" if mdy else "DMY"
    vouched = match.attribute.date if match.attribute else None
    if vouched is not None and mdy != dmy and vouched in (mdy, dmy):
        return "MDY" if vouched == mdy else "DMY"
    return None


def order_proof(
    text: str, settings: Settings | DateOptions | None = None
) -> tuple[str, DateMatch] | None:
    """The order the date statements of ``text`` prove (managed ones first), and the proof."""
    if not _PROVING.search(text) and "datetime" not in text:
        return None  # the common case in old revisions: no scan needed
    managed, others = split_dates(text, settings)
    for match in (*managed, *others):
        order = _proved_by(match)
        if order:
            return order, match
    return None


@cache
def locale_order(locale: str | None) -> str | None:
    """``"MDY"`` or ``"DMY"`` as ``locale`` writes short dates (babel): en-US MDY, en-GB DMY.

    None without a locale, or for a locale that writes the year first (ja, zh).
    """
    parsed = parse_locale(locale, config_key="locale")
    if parsed is None:
        return None
    from babel import Locale

    pattern = Locale.parse(parsed).date_formats["short"].pattern
    order = "".join(dict.fromkeys(c.upper() for c in pattern if c in "dMy"))
    return order if order in ("MDY", "DMY") else None


def _locale_key(locale: str | None) -> str | None:
    return locale.replace("-", "_").casefold() if locale else None


class RepositoryOrders:
    """The numeric orders the policies of a repository are known to write, per locale.

    Orders come from ``policies`` (``(path, text, options)``, read once, on first use: a date
    that reads one way, else the policy's own ``date_order``) and from :meth:`learn` (what a
    caller resolved already, e.g. from a policy's history). Policies in the same folder are
    asked first, then the whole repository; either way only when they all agree.
    """

    def __init__(self, policies: Iterable[tuple[str, str, DateOptions]] = ()) -> None:
        self._source: Iterator[tuple[str, str, DateOptions]] | None = iter(policies)
        self._known: dict[str, tuple[str | None, str]] = {}  # path -> (locale key, order)

    def learn(self, path: str, options: DateOptions, order: str) -> None:
        """Record that the policy at ``path`` writes ``order``."""
        self._known[path] = (_locale_key(options.locale), order)

    def _load(self) -> None:
        source, self._source = self._source, None
        for path, text, options in source or ():
            found = order_proof(text, options)
            order = found[0] if found else options.date_order
            if order and path not in self._known:
                self.learn(path, options, order)

    def order_for(self, path: str, locale: str | None) -> OrderEvidence | None:
        """The order the other policies of ``locale`` (None: no locale) agree on."""
        self._load()
        key, folder = _locale_key(locale), PurePosixPath(path).parent
        others = [(p, order) for p, (k, order) in self._known.items() if k == key and p != path]
        near = [(p, order) for p, order in others if PurePosixPath(p).parent == folder]
        for proofs, where in ((near, f"in {folder}/"), (others, "in the repository")):
            orders = {order for _, order in proofs}
            if len(orders) == 1:
                order, count = orders.pop(), len(proofs)
                return OrderEvidence(
                    order,
                    "repository",
                    f"{count} other polic{'y' if count == 1 else 'ies'} {where}"
                    f"{f' with locale {locale}' if locale else ''} write {order} "
                    f"(e.g. {proofs[0][0]})",
                )
            if orders:
                return None  # they disagree: no evidence
        return None


def resolve_date_order(
    text: str,
    settings: Settings | DateOptions | None = None,
    *,
    history: Iterable[tuple[str, str]] = (),
    repository: RepositoryOrders | None = None,
    path: str | None = None,
) -> OrderEvidence:
    """How the numeric date of one policy reads, and the evidence that decided it.

    Evidence, in this order: the config (the repository's or the policy's ``date_order``);
    a date in ``text`` that reads only one way (``05/14/2020``); the same in an earlier
    revision (``history`` yields ``(revision, text)`` newest first and is read only up to the
    first proof); the policy's locale; the other policies of ``repository`` with the same
    locale (or none), when they agree. An order never crosses locales.
    """
    opts = date_options(settings)
    if opts.date_order:
        return OrderEvidence(opts.date_order, "config", "date_order in the config")
    managed, _ = split_dates(text, opts)
    numeric = [m for m in managed if m._token is not None and m._token.kind == "numeric"]
    if not numeric or all(m.blank for m in numeric):
        return OrderEvidence(None, None, "the date is not numeric", needed=False)
    found = order_proof(text, opts)
    if found:
        order, match = found
        return OrderEvidence(order, "text", f"line {match.line} writes {match.managed_text!r}")
    for revision, old in history:
        found = order_proof(old, opts)
        if found:
            order, match = found
            detail = f"revision {revision}, line {match.line}, wrote {match.managed_text!r}"
            return OrderEvidence(order, "history", detail)
    order = locale_order(opts.locale)
    if order:
        return OrderEvidence(order, "locale", f"locale {opts.locale} writes short dates {order}")
    evidence = repository.order_for(path or "", opts.locale) if repository else None
    return evidence or OrderEvidence(
        None, None, "no date of this policy, its history or its locale tells, nor do the others"
    )
