"""The words redline stores and prints: notice kinds, ledger states and classifications.

Each is a :class:`~enum.StrEnum` whose values are the strings the database, the JSON output
and the command line have always used, so code can name them while stored data is unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class NoticeKind(StrEnum):
    """Which email a ledger row is about."""

    NOTICE = "notice"
    REMINDER = "reminder"
    IN_EFFECT = "in-effect"


class NoticeState(StrEnum):
    """Where one notice to one recipient stands in the ledger."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED_TEMPORARY = "failed-temporary"
    FAILED_PERMANENT = "failed-permanent"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    #: Accepted, then returned by a delivery status notification (``redline bounces import``).
    BOUNCED = "bounced"


class Classification(StrEnum):
    """How much a change matters: formatting only, editorial, or material."""

    NONE = "none"
    EDITORIAL = "editorial"
    MATERIAL = "material"


#: Every notice kind, in the order they go out.
NOTICE_KINDS: tuple[str, ...] = tuple(kind.value for kind in NoticeKind)
#: Every ledger state.
STATES: tuple[str, ...] = tuple(state.value for state in NoticeState)
#: States a run never sends again by itself: done, or waiting for a person's decision. A
#: bounced notice is finished but was not received: it is never resent automatically, and
#: the proof counts it apart from 'sent'.
FINISHED_STATES: tuple[str, ...] = (
    NoticeState.SENT.value,
    NoticeState.FAILED_PERMANENT.value,
    NoticeState.UNKNOWN.value,
    NoticeState.BOUNCED.value,
)
#: The failed states, which ``notify --retry-failed`` re-queues.
FAILED_STATES: tuple[str, ...] = (
    NoticeState.FAILED_TEMPORARY.value,
    NoticeState.FAILED_PERMANENT.value,
)
