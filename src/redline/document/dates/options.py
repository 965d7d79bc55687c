"""How one policy writes its dates: :class:`DateOptions`, from its config or the repository's."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redline.config import Settings


@dataclass(frozen=True)
class DateOptions:
    """How one policy writes its dates: the config of the repository or of that policy.

    ``date_order`` is the numeric order in use (config, or what :func:`resolve_date_order`
    found); ``locale`` gives month names and, through babel, an order; ``date_label`` chooses
    the managed date when a policy states several.
    """

    date_order: str | None = None
    locale: str | None = None
    date_label: str | None = None
    notice_days: int = 30

    def with_order(self, order: str | None) -> DateOptions:
        """These options with ``order`` (unchanged when ``order`` is None)."""
        if order is None or order == self.date_order:
            return self
        return replace(self, date_order=order)


def date_options(
    settings: Settings | DateOptions | None = None,
    *,
    date_order: str | None = None,
    locale: str | None = None,
    date_label: str | None = None,
    notice_days: int | None = None,
) -> DateOptions:
    """The date options of one policy: ``settings`` with that policy's own values on top.

    Callers pass a policy's ``[tool.redline.policies."path.md"]`` values (or its folder's
    locale) as keywords; None keeps the repository-wide value.
    """
    if isinstance(settings, DateOptions):
        base = settings
    elif settings is None:
        base = DateOptions()
    else:
        base = DateOptions(
            settings.date_order, settings.locale, settings.date_label, settings.notice_days
        )
    changes = {
        key: value
        for key, value in (
            ("date_order", date_order),
            ("locale", locale),
            ("date_label", date_label),
            ("notice_days", notice_days),
        )
        if value is not None
    }
    return replace(base, **changes) if changes else base
