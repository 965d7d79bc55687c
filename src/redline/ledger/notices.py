"""The notice ledger's state machine: queue, claim, recover and re-queue rows.

The ledger holds one row per (policy, version, kind, recipient address) and moves it through

    pending -> sending -> sent | failed-temporary | failed-permanent | unknown
    sending -> pending                        (deferred: the server refused for a reason not
                                               about the recipient; or nothing was tried)
    pending | failed-temporary -> cancelled   (recipient unsubscribed, removed or unsubscribed
                                               from the policy before the message went out)
    failed-* | unknown -> pending             (only deliberately: :meth:`Notices.requeue`)

``unknown`` means the message was sent but no reply came: it may have been delivered, so it
is never retried automatically. ``attempts`` counts every SMTP try, and the
``notice_events`` table keeps each try (time, outcome, reply) and each deliberate re-queue,
so the proof shows the whole history of a row. The outcomes of tries are recorded by
:mod:`redline.ledger.marks`.

Every state change is its own committed transaction and is guarded by the state it expects
(``UPDATE ... WHERE state = ...``), so a ``sent`` row never changes again and a crashed run
leaves at most its in-flight rows in ``sending``. Rows keep a snapshot of the recipient
address, so removing a subscriber never removes the proof that they were told. PostgreSQL
claims rows with ``SELECT ... FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from redline.errors import InputError
from redline.ledger.checks import check_kind, check_policy_slug, check_version
from redline.ledger.db import BATCH, Database
from redline.ledger.schema import (
    UTCDateTime,
    events_table,
    ledger_key,
    notices_table,
    subscribed_to,
    subscribers_table,
)
from redline.vocab import STATES

LOG = logging.getLogger("redline.ledger.store")

_CODE_PREFIX = re.compile(r"[2-5][0-9]{0,2}")
_ANALYZE_SUBSCRIBERS = sa.text("ANALYZE subscribers, subscriptions")
_ANALYZE_NOTICES = sa.text("ANALYZE notices")

_QUEUE_COLUMNS = [
    "policy",
    "version",
    "kind",
    "subscriber_id",
    "email",
    "state",
    "attempts",
    "created_at",
    "updated_at",
]


@dataclass(frozen=True)
class NoticeTask:
    """A claimed ledger row: one message to send now."""

    id: int
    policy: str
    version: int
    kind: str
    email: str
    name: str | None
    locale: str | None
    attempts: int
    subscriber_id: int


class Notices(Database):
    """Queueing and claiming the ledger rows of a Database."""

    def queue_notices(self, policy: str, version: int, kind: str) -> int:
        """Queue a pending row for every active subscriber of ``policy`` that has none yet.

        Idempotent and set-based (one INSERT ... SELECT). Rows cancelled earlier become
        pending again when their subscriber is once more active and subscribed. Returns
        the number of rows queued or revived.
        """
        check_policy_slug(policy)
        check_version(version)
        check_kind(kind)
        s, n = subscribers_table, notices_table
        now = self._clock()
        active = sa.select(s.c.id).where(
            s.c.unsubscribed_at.is_(None), subscribed_to(s.c.id, policy)
        )
        with self._write() as conn:
            if self._pg:
                # Fresh planner statistics: after a bulk import the stale ones pick plans that
                # are quadratic in the number of subscribers.
                conn.execute(_ANALYZE_SUBSCRIBERS)
            insert = (
                _insert(conn, n)
                .from_select(_QUEUE_COLUMNS, _unqueued(policy, version, kind, now))
                .on_conflict_do_nothing()
                .execution_options(preserve_rowcount=True)
            )
            queued = conn.execute(insert).rowcount
            revived = conn.execute(
                sa.update(n)
                .where(
                    n.c.policy == policy,
                    n.c.version == version,
                    n.c.kind == kind,
                    n.c.state == "cancelled",
                    n.c.subscriber_id.in_(active),
                )
                .values(state="pending", reason=None, updated_at=now)
            ).rowcount
            if self._pg and queued > 1000:
                conn.execute(_ANALYZE_NOTICES)
        LOG.info(
            "queued %d and revived %d %s rows for %s v%d", queued, revived, kind, policy, version
        )
        return queued + revived

    def recover_in_flight(self, policy: str, version: int, kind: str) -> int:
        """Return rows left 'sending' by a crashed run to 'pending'; return how many.

        Their messages may or may not have gone out, so a re-run sends at most those again.
        Call it only when no other run is sending this (policy, version, kind).
        """
        n = notices_table
        now = self._clock()
        in_flight = sa.select(n.c.id).where(
            *ledger_key(policy, version, kind), n.c.state == "sending"
        )
        with self._write() as conn:
            ids = list(conn.execute(in_flight).scalars())
            for chunk in _chunks(ids):
                conn.execute(
                    sa.update(n)
                    .where(n.c.id.in_(chunk), n.c.state == "sending")
                    .values(state="pending", updated_at=now)
                )
                _add_events(
                    conn,
                    chunk,
                    now,
                    "recovered",
                    None,
                    "in flight when a run was interrupted; queued again",
                )
            return len(ids)

    def requeue(
        self,
        policy: str,
        version: int,
        kind: str,
        *,
        states: Sequence[str],
        codes: Sequence[str] = (),
    ) -> int:
        """Put the rows in ``states`` back to 'pending', deliberately; return how many.

        For ``notify --retry-failed`` (failed rows) and ``--resend-unknown`` (unknown rows).
        ``codes``: only rows whose last SMTP code starts with one of these digits ('530',
        '53', '5'). Each row's history records the re-queue and the state it left.
        """
        wrong = [state for state in states if state not in STATES or state == "sent"]
        if wrong:
            raise InputError(f"cannot re-queue rows in state {wrong[0]!r}")
        for code in codes:
            if not _CODE_PREFIX.fullmatch(code):
                raise InputError(
                    f"{code!r} is not an SMTP reply code or prefix",
                    hint="use e.g. 530, 53x or 5xx",
                )
        n = notices_table
        conditions = [*ledger_key(policy, version, kind), n.c.state.in_(list(states))]
        if codes:
            code_text = sa.cast(n.c.last_code, sa.String)
            conditions.append(sa.or_(*(code_text.like(f"{code}%") for code in codes)))
        now = self._clock()
        count = 0
        with self._write() as conn:
            rows = conn.execute(sa.select(n.c.id, n.c.state).where(*conditions)).all()
            for state, group in groupby(sorted(rows, key=lambda row: row.state), lambda r: r.state):
                ids = [row.id for row in group]
                for chunk in _chunks(ids):
                    count += conn.execute(
                        sa.update(n)
                        .where(n.c.id.in_(chunk), n.c.state == state)
                        .values(state="pending", reason=None, updated_at=now)
                    ).rowcount
                    _add_events(conn, chunk, now, "requeued", None, f"was {state}")
        LOG.info("re-queued %d %s rows for %s v%d", count, kind, policy, version)
        return count

    def claim_batch(
        self, policy: str, version: int, kind: str, limit: int, *, retry_failed: bool = False
    ) -> list[NoticeTask]:
        """Atomically move up to ``limit`` pending rows to 'sending' and return them.

        With ``retry_failed``, 'failed-temporary' rows are claimed too. Each claim adds one
        attempt. Rows whose subscriber has since unsubscribed, been removed or left the
        policy become 'cancelled' with a reason instead. An empty list means nothing is left
        to claim (on PostgreSQL, rows claimed by a concurrent run are skipped, not waited for).
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        n = notices_table
        states = ("pending", "failed-temporary") if retry_failed else ("pending",)
        tasks: list[NoticeTask] = []
        with self._write() as conn:
            while len(tasks) < limit:
                candidates = _candidates(policy, version, kind, states, limit - len(tasks))
                if self._pg:
                    candidates = candidates.with_for_update(skip_locked=True, of=n)
                rows = conn.execute(candidates).all()
                if not rows:
                    break
                cancel, claim = _sort_candidates(rows)
                now = self._clock()
                for reason, ids in cancel.items():
                    conn.execute(
                        sa.update(n)
                        .where(n.c.id.in_(ids), n.c.state.in_(states))
                        .values(state="cancelled", reason=reason, updated_at=now)
                    )
                if claim:
                    claimed = conn.execute(
                        sa.update(n)
                        .where(n.c.id.in_(list(claim)), n.c.state.in_(states))
                        .values(
                            state="sending",
                            attempts=n.c.attempts + 1,
                            claimed_at=now,
                            updated_at=now,
                        )
                        .returning(n.c.id, n.c.attempts)
                    ).all()
                    tasks += (
                        _task(claim[notice_id], attempts, policy, version, kind)
                        for notice_id, attempts in sorted(claimed)
                    )
        return tasks


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _add_events(
    conn: Connection,
    ids: list[int],
    at: datetime,
    event: str,
    code: int | None,
    message: str | None,
) -> None:
    """The same history event for each of the rows ``ids``."""
    if ids:
        conn.execute(
            sa.insert(events_table),
            [
                {"notice_id": nid, "at": at, "event": event, "code": code, "message": message}
                for nid in ids
            ],
        )


def _insert(conn: Connection, table: sa.Table) -> Any:
    """An INSERT supporting ON CONFLICT on both backends."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _unqueued(policy: str, version: int, kind: str, now: datetime) -> sa.Select[Any]:
    """New pending rows (``_QUEUE_COLUMNS``) for the active subscribers of ``policy`` who
    have no row for (policy, version, kind) yet."""
    s, n = subscribers_table, notices_table
    existing = (
        sa.select(sa.literal(1))
        .where(
            n.c.policy == policy,
            n.c.version == version,
            n.c.kind == kind,
            n.c.email == s.c.email,
        )
        .exists()
    )
    # Rows are claimed in id order; ordering the insert makes that the subscribers' order.
    source = (
        sa.select(
            sa.literal(policy, sa.String),
            sa.literal(version, sa.Integer),
            sa.literal(kind, sa.String),
            s.c.id,
            s.c.email,
            sa.literal("pending", sa.String),
            sa.literal(0, sa.Integer),
            sa.literal(now, UTCDateTime()),
            sa.literal(now, UTCDateTime()),
        )
        .where(s.c.unsubscribed_at.is_(None), subscribed_to(s.c.id, policy), ~existing)
        .order_by(s.c.id)
    )
    return source


def _candidates(
    policy: str, version: int, kind: str, states: Sequence[str], limit: int
) -> sa.Select[Any]:
    """Up to ``limit`` rows in ``states``, in id order, with what their subscriber is now."""
    n, s = notices_table, subscribers_table
    return (
        sa.select(
            n.c.id,
            n.c.subscriber_id,
            n.c.email,
            s.c.id.label("live_id"),
            s.c.name,
            s.c.locale,
            s.c.unsubscribed_at,
            subscribed_to(n.c.subscriber_id, policy).label("subscribed"),
        )
        .select_from(n.outerjoin(s, s.c.id == n.c.subscriber_id))
        .where(*ledger_key(policy, version, kind), n.c.state.in_(states))
        .order_by(n.c.id)
        .limit(limit)
    )


def _sort_candidates(
    rows: Sequence[sa.Row[Any]],
) -> tuple[dict[str, list[int]], dict[int, sa.Row[Any]]]:
    """(ids to cancel by reason, rows to claim by id) of :func:`_candidates` rows."""
    cancel: dict[str, list[int]] = {}
    claim: dict[int, sa.Row[Any]] = {}
    for row in rows:
        if row.live_id is None:
            cancel.setdefault("subscriber removed", []).append(row.id)
        elif row.unsubscribed_at is not None:
            cancel.setdefault("unsubscribed", []).append(row.id)
        elif not row.subscribed:
            cancel.setdefault("no longer subscribed to this policy", []).append(row.id)
        else:
            claim[row.id] = row
    return cancel, claim


def _task(row: sa.Row[Any], attempts: int, policy: str, version: int, kind: str) -> NoticeTask:
    """The task of a claimed :func:`_candidates` row."""
    return NoticeTask(
        id=row.id,
        policy=policy,
        version=version,
        kind=kind,
        email=row.email,
        name=row.name,
        locale=row.locale,
        attempts=attempts,
        subscriber_id=row.live_id,
    )
