"""Recording the outcome of each try of a claimed ledger row, with its history.

Each outcome is one prebuilt UPDATE guarded by the state it expects, plus the row's events,
in one transaction: a 'sent' row never changes again (:mod:`redline.ledger.notices`).
"""

from __future__ import annotations

from collections.abc import Sequence
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


# Prebuilt per-message statements: building a statement costs more than running it.
_NID = sa.bindparam("nid", type_=ID_TYPE)
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
        sent_at=NOW,
        updated_at=NOW,
    )
)
_MARK_DONE = (
    sa.update(notices_table)
    .where(notices_table.c.id == _NID, notices_table.c.state == "sending")
    .values(
        state=sa.bindparam("p_state", type_=sa.String()),
        last_code=sa.bindparam("p_code", type_=sa.Integer()),
        last_message=sa.bindparam("p_text", type_=sa.Text()),
        attempts=_PLUS_RETRIES,
        updated_at=NOW,
    )
)
_INSERT_EVENTS = sa.insert(events_table)
_RELEASE = (
    sa.update(notices_table)
    .where(notices_table.c.id == _NID, notices_table.c.state == "sending")
    .values(
        state="pending",
        attempts=sa.case((notices_table.c.attempts > 0, notices_table.c.attempts - 1), else_=0),
        updated_at=NOW,
    )
)


class Marks(Database):
    """The outcomes of tries, recorded in the ledger of a Database."""

    def mark_sent(
        self,
        notice_id: int,
        *,
        message_id: str,
        smtp_code: int | None,
        smtp_message: str | bytes | None,
        attempts: Sequence[Attempt] = (),
    ) -> bool:
        """Record that the message went out, with its Message-ID and the server's reply.

        Accepted from any state except 'sent': the message did go out, so the ledger must
        say so even if another run reset or cancelled the claim meanwhile. A 'sent' row is
        never changed (False is returned); the first proof stands. ``attempts``: every SMTP
        try (the history; without them one event is made from the reply).
        """
        return self._record(
            _MARK_SENT,
            notice_id,
            "sent",
            smtp_code,
            smtp_message,
            attempts,
            p_message_id=message_id,
        )

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
        """Record the outcome of a 'sending' row that was tried but not sent.

        ``state``: 'failed-temporary', 'failed-permanent', 'unknown' (sent, no reply), or
        'pending' (deferred: refused for a reason not about the recipient; the tries count
        and stay in the history). False if the row was not 'sending'.
        """
        if state not in ("failed-temporary", "failed-permanent", "unknown", "pending"):
            raise ValueError(f"not an outcome of a try: {state!r}")
        event = "deferred" if state == "pending" else state
        return self._record(
            _MARK_DONE, notice_id, event, smtp_code, smtp_message, attempts, p_state=state
        )

    def release_claim(self, notice_id: int) -> bool:
        """Return a 'sending' row to 'pending' when its message was never tried.

        The attempt the claim counted is taken back. False if the row was not 'sending'.
        """
        with self._write(ledger=True) as conn:
            return conn.execute(_RELEASE, {"p_now": self._clock(), "nid": notice_id}).rowcount == 1

    def _record(
        self,
        statement: sa.Update,
        notice_id: int,
        event: str,
        code: int | None,
        message: str | bytes | None,
        attempts: Sequence[Attempt],
        **params: Any,
    ) -> bool:
        """One prebuilt guarded UPDATE of one row plus its history, in one transaction."""
        now = self._clock()
        text = _clip(message)
        events = [
            {
                "notice_id": notice_id,
                "at": attempt.at,
                "event": attempt.outcome,
                "code": attempt.code,
                "message": _clip(attempt.message),
            }
            for attempt in attempts
        ] or [{"notice_id": notice_id, "at": now, "event": event, "code": code, "message": text}]
        values = {
            "nid": notice_id,
            "p_now": now,
            "p_code": code,
            "p_text": text,
            "p_retries": max(len(attempts) - 1, 0),
            **params,
        }
        with self._write(ledger=True) as conn:
            changed = conn.execute(statement, values).rowcount == 1
            conn.execute(_INSERT_EVENTS, events)
        return changed


def _clip(text: str | bytes | None) -> str | None:
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    return text[:_MESSAGE_LIMIT] if len(text) > _MESSAGE_LIMIT else text


# -- engine -----------------------------------------------------------------------------------
