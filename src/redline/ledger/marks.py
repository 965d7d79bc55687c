"""Recording the outcomes of claimed ledger rows, with their histories, in batches.

Each outcome is one prebuilt UPDATE guarded by the state it expects, plus the row's events;
:meth:`Marks.record_results` writes a batch of them in one transaction (one executemany per
statement): a 'sent' row never changes again (:mod:`redline.ledger.notices`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from redline.ledger.db import Database
from redline.ledger.schema import ID_TYPE, NOW, events_table, notices_table

_MESSAGE_LIMIT = 2000


class Attempt(Protocol):
    """One SMTP try as the ledger records it (:class:`redline.mail.outcome.Attempt`)."""

    @property
    def at(self) -> datetime: ...
    @property
    def outcome(self) -> str: ...
    @property
    def code(self) -> int | None: ...
    @property
    def message(self) -> str: ...


@dataclass(frozen=True)
class Result:
    """The outcome of one claimed row, for :meth:`Marks.record_results`.

    ``state``: 'sent' (with ``message_id``), 'failed-temporary', 'failed-permanent',
    'unknown' (sent, no reply), or 'pending' (deferred: refused for a reason not about the
    recipient; the tries count and stay in the history). ``attempts``: every SMTP try (the
    history; without them one event is made from the reply).
    """

    notice_id: int
    state: str
    smtp_code: int | None = None
    smtp_message: str | bytes | None = None
    attempts: Sequence[Attempt] = ()
    message_id: str | None = None

    def __post_init__(self) -> None:
        if self.state not in _OUTCOMES:
            raise ValueError(f"not an outcome of a try: {self.state!r}")
        if (self.state == "sent") != (self.message_id is not None):
            raise ValueError("a message_id is given exactly when the row was sent")


_OUTCOMES = ("sent", "failed-temporary", "failed-permanent", "unknown", "pending")

# Prebuilt statements: building a statement costs more than running it.
_NID = sa.bindparam("nid", type_=ID_TYPE)
# Only the run that claimed a row records that it was not sent (or a row of no run).
_MINE = sa.or_(
    notices_table.c.run_id.is_(None),
    notices_table.c.run_id == sa.bindparam("p_run", type_=sa.String()),
)
# The claim counted the first try; an outcome adds the retries.
_PLUS_RETRIES = notices_table.c.attempts + sa.bindparam("p_retries", type_=sa.Integer())
_MARK_SENT = (
    sa.update(notices_table)
    .where(notices_table.c.id == _NID, notices_table.c.state != "sent")
    .values(
        state="sent",
        message_id=sa.bindparam("p_message_id", type_=sa.Text()),
        last_code=sa.bindparam("p_code", type_=sa.Integer()),
        last_message=sa.bindparam("p_text", type_=sa.Text()),
        reason=None,
        attempts=_PLUS_RETRIES,
        lease_expires=None,
        sent_at=NOW,
        updated_at=NOW,
    )
)
_MARK_DONE = (
    sa.update(notices_table)
    .where(notices_table.c.id == _NID, notices_table.c.state == "sending", _MINE)
    .values(
        state=sa.bindparam("p_state", type_=sa.String()),
        last_code=sa.bindparam("p_code", type_=sa.Integer()),
        last_message=sa.bindparam("p_text", type_=sa.Text()),
        attempts=_PLUS_RETRIES,
        lease_expires=None,
        updated_at=NOW,
    )
)
_INSERT_EVENTS = sa.insert(events_table)
_RELEASE = (
    sa.update(notices_table)
    .where(notices_table.c.id == _NID, notices_table.c.state == "sending", _MINE)
    .values(
        state="pending",
        attempts=sa.case((notices_table.c.attempts > 0, notices_table.c.attempts - 1), else_=0),
        lease_expires=None,
        updated_at=NOW,
    )
)


class Marks(Database):
    """The outcomes of tries, recorded in the ledger of a Database."""

    #: The run whose rows this records (:class:`~redline.ledger.leases.Leases`).
    run_id: str

    def record_results(self, results: Sequence[Result]) -> int:
        """Record many outcomes, with their histories, in one transaction; rows changed.

        'sent' is accepted from any state except 'sent': the message did go out, so the
        ledger must say so even if another run took the row back meanwhile; a 'sent' row
        never changes (the first proof stands). Any other outcome changes only a 'sending'
        row of this run. A sender flushes every K results or 200 ms: after a crash, at most
        its unflushed results (besides its in-flight rows) are sent again.
        """
        if not results:
            return 0
        now = self._clock()
        sent: list[dict[str, Any]] = []
        done: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for result in results:
            text = _clip(result.smtp_message)
            values = {
                "nid": result.notice_id,
                "p_now": now,
                "p_code": result.smtp_code,
                "p_text": text,
                "p_retries": max(len(result.attempts) - 1, 0),
                "p_run": self.run_id,
            }
            if result.state == "sent":
                sent.append({**values, "p_message_id": result.message_id})
            else:
                done.append({**values, "p_state": result.state})
            events += _events(result, now, text)
        changed = 0
        with self._write(ledger=True) as conn:
            for statement, rows in ((_MARK_SENT, sent), (_MARK_DONE, done)):
                if rows:
                    changed += conn.execute(statement, rows).rowcount
            conn.execute(_INSERT_EVENTS, events)
        return changed

    def mark_sent(
        self,
        notice_id: int,
        *,
        message_id: str,
        smtp_code: int | None,
        smtp_message: str | bytes | None,
        attempts: Sequence[Attempt] = (),
    ) -> bool:
        """Record that one message went out (:meth:`record_results`); False if already sent."""
        result = Result(notice_id, "sent", smtp_code, smtp_message, attempts, message_id)
        return self.record_results([result]) == 1

    def mark_failed(
        self,
        notice_id: int,
        *,
        permanent: bool,
        smtp_code: int | None,
        smtp_message: str | bytes | None,
        attempts: Sequence[Attempt] = (),
    ) -> bool:
        """Record a failed 'sending' row; False if the row was not 'sending'."""
        state = "failed-permanent" if permanent else "failed-temporary"
        return self.mark_done(
            notice_id,
            state,
            smtp_code=smtp_code,
            smtp_message=smtp_message,
            attempts=attempts,
        )

    def mark_done(
        self,
        notice_id: int,
        state: str,
        *,
        smtp_code: int | None,
        smtp_message: str | bytes | None,
        attempts: Sequence[Attempt] = (),
    ) -> bool:
        """Record the outcome ``state`` (not 'sent') of one row (:class:`Result`).

        False if the row was not 'sending' for this run.
        """
        if state == "sent":
            raise ValueError("not an outcome of a try: 'sent' (use mark_sent)")
        return (
            self.record_results([Result(notice_id, state, smtp_code, smtp_message, attempts)]) == 1
        )

    def release_claims(self, notice_ids: Sequence[int]) -> int:
        """Return this run's 'sending' rows whose messages were never tried to 'pending'.

        The attempt each claim counted is taken back. Returns how many rows changed.
        """
        if not notice_ids:
            return 0
        now = self._clock()
        rows = [{"p_now": now, "nid": nid, "p_run": self.run_id} for nid in notice_ids]
        with self._write(ledger=True) as conn:
            return conn.execute(_RELEASE, rows).rowcount

    def release_claim(self, notice_id: int) -> bool:
        """:meth:`release_claims` of one row; False if it was not 'sending' for this run."""
        return self.release_claims([notice_id]) == 1


def _events(result: Result, now: datetime, text: str | None) -> list[dict[str, Any]]:
    """The history events of ``result``: one per try, or one made from the reply."""
    event = "deferred" if result.state == "pending" else result.state
    return [
        {
            "notice_id": result.notice_id,
            "at": attempt.at,
            "event": attempt.outcome,
            "code": attempt.code,
            "message": _clip(attempt.message),
        }
        for attempt in result.attempts
    ] or [
        {
            "notice_id": result.notice_id,
            "at": now,
            "event": event,
            "code": result.smtp_code,
            "message": text,
        }
    ]


def _clip(text: str | bytes | None) -> str | None:
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    return text[:_MESSAGE_LIMIT] if len(text) > _MESSAGE_LIMIT else text
