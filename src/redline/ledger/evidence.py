"""Reading the ledger as evidence: rows with their history, counts by state.

Read-only; :mod:`redline.ledger.proof` exports these records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

import sqlalchemy as sa

from redline.ledger.db import Database
from redline.ledger.schema import (
    deliverable,
    events_table,
    ledger_key,
    notices_table,
    subscribed_to,
    subscribers_table,
)
from redline.vocab import FINISHED_STATES, STATES


@dataclass(frozen=True)
class NoticeEvent:
    """One entry of a ledger row's history: an SMTP try, a re-queue or a recovery."""

    at: datetime
    event: str
    code: int | None
    message: str | None


@dataclass(frozen=True)
class NoticeRecord:
    """One ledger row as evidence: who was told what, when, and what the server replied.

    ``history`` is filled only when asked for (:meth:`Evidence.iter_notices`).
    """

    id: int
    policy: str
    version: int
    kind: str
    email: str
    subscriber_id: int | None
    state: str
    attempts: int
    last_code: int | None
    last_message: str | None
    message_id: str | None
    reason: str | None
    created_at: datetime
    claimed_at: datetime | None
    sent_at: datetime | None
    updated_at: datetime
    #: The run that last claimed the row, and until when it holds it while 'sending'.
    run_id: str | None = None
    lease_expires: datetime | None = None
    #: The recipient's identity (the address case-folded: checks.email_key).
    email_key: str = ""
    history: tuple[NoticeEvent, ...] = ()


class Evidence(Database):
    """What the ledger of a Database says happened."""

    def ledger_counts(
        self, policy: str, version: int | None = None, kind: str | None = None
    ) -> dict[str, int]:
        """Number of rows in each state (every state present, 0 if none)."""
        n = notices_table
        statement = (
            sa.select(n.c.state, sa.func.count())
            .where(*ledger_key(policy, version, kind))
            .group_by(n.c.state)
        )
        counts = dict.fromkeys(STATES, 0)
        with self._read() as conn:
            for state, count in conn.execute(statement):
                counts[state] = int(count)
        return counts

    def count_unnotified(self, policy: str, version: int, kind: str) -> int:
        """Active subscribers of ``policy`` still waiting for this (policy, version, kind).

        Those without a row in :data:`FINISHED_STATES`: queued, failed temporarily, or
        subscribed since the last run (not queued yet). An 'unknown' row (sent, no reply)
        is not waiting: only ``notify --resend-unknown`` sends it again. Read-only.
        """
        s, n = subscribers_table, notices_table
        finished = (
            sa.select(sa.literal(1))
            .where(
                *ledger_key(policy, version, kind),
                n.c.email_key == s.c.email_key,
                n.c.state.in_(FINISHED_STATES),
            )
            .exists()
        )
        statement = (
            sa.select(sa.func.count())
            .select_from(s)
            .where(*deliverable(s), subscribed_to(s.c.id, policy), ~finished)
        )
        with self._read() as conn:
            return int(conn.execute(statement).scalar_one())

    def iter_notices(
        self,
        policy: str,
        version: int | None = None,
        kind: str | None = None,
        *,
        history: bool = False,
    ) -> Iterator[NoticeRecord]:
        """Ledger rows of ``policy`` ordered by version, kind and address, streamed.

        ``history``: with each row's events (its tries, re-queues and recoveries) in order.
        """
        n, e = notices_table, events_table
        order = [n.c.version, n.c.kind, n.c.email, n.c.id]
        if not history:
            statement = sa.select(n).where(*ledger_key(policy, version, kind)).order_by(*order)
            for row in self._stream(statement):
                yield NoticeRecord(**row._asdict())
            return
        statement = (
            sa.select(
                n,
                e.c.at.label("event_at"),
                e.c.event,
                e.c.code.label("event_code"),
                e.c.message.label("event_message"),
            )
            .select_from(n.outerjoin(e, e.c.notice_id == n.c.id))
            .where(*ledger_key(policy, version, kind))
            .order_by(*order, e.c.id)
        )
        columns = [column.name for column in n.columns]
        for _, group in groupby(self._stream(statement), key=lambda row: row.id):
            rows = list(group)
            events = tuple(
                NoticeEvent(row.event_at, row.event, row.event_code, row.event_message)
                for row in rows
                if row.event is not None
            )
            yield NoticeRecord(**{name: getattr(rows[0], name) for name in columns}, history=events)
