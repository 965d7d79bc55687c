"""The notice ledger's state machine: queue and re-queue rows (claims: :mod:`.claims`).

The ledger holds one row per (policy, version, kind, recipient address) and moves it through

    pending -> sending -> sent | failed-temporary | failed-permanent | unknown
    sending -> pending                        (deferred: the server refused for a reason not
                                               about the recipient; or nothing was tried;
                                               or the run that claimed it died)
    pending | failed-temporary -> cancelled   (recipient unsubscribed, removed or unsubscribed
                                               from the policy before the message went out)
    failed-* | unknown -> pending             (only deliberately: :meth:`Notices.requeue`)

``unknown`` means the message was sent but no reply came: it may have been delivered, so it
is never retried automatically. ``attempts`` counts every SMTP try, and the
``notice_events`` table keeps each try (time, outcome, reply) and each deliberate re-queue,
so the proof shows the whole history of a row. The outcomes of tries are recorded by
:mod:`redline.ledger.marks`.

Every state change is guarded by the state it expects (``UPDATE ... WHERE state = ...``), so
a ``sent`` row never changes again and a crashed run leaves at most its in-flight rows in
``sending``, under its lease (:mod:`redline.ledger.leases`). Rows keep a snapshot of the
recipient address, so removing a subscriber never removes the proof that they were told.
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
from redline.ledger.merge import MERGED_REASON
from redline.ledger.schema import (
    UTCDateTime,
    deliverable,
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
    "email_key",
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
        active = sa.select(s.c.id).where(*deliverable(s), subscribed_to(s.c.id, policy))
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
                    n.c.reason.is_distinct_from(MERGED_REASON),
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
        '53', '5'). Each row's history records the re-queue and the state it left. A person
        with more than one row (addresses merged by schema version 4) gets at most one back,
        and none while another of their rows is sent, waiting or may have been delivered.
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
        conditions = [
            *ledger_key(policy, version, kind),
            n.c.state.in_(list(states)),
            ~_live_sibling(set(STATES) - {"cancelled", "failed-permanent", *states}),
        ]
        if codes:
            code_text = sa.cast(n.c.last_code, sa.String)
            conditions.append(sa.or_(*(code_text.like(f"{code}%") for code in codes)))
        now = self._clock()
        count = 0
        with self._write() as conn:
            found = conn.execute(
                sa.select(n.c.id, n.c.state, n.c.email_key).where(*conditions).order_by(n.c.id)
            )
            rows = list({row.email_key: row for row in reversed(found.all())}.values())
            for state, group in groupby(sorted(rows, key=lambda row: row.state), lambda r: r.state):
                ids = [row.id for row in group]
                for chunk in chunks(ids):
                    count += conn.execute(
                        sa.update(n)
                        .where(n.c.id.in_(chunk), n.c.state == state)
                        .values(state="pending", reason=None, updated_at=now)
                    ).rowcount
                    add_events(conn, chunk, now, "requeued", None, f"was {state}")
        LOG.info("re-queued %d %s rows for %s v%d", count, kind, policy, version)
        return count


def _live_sibling(states: set[str]) -> sa.Exists:
    """Whether the row's recipient has another row of its (policy, version, kind) in
    ``states``."""
    n, o = notices_table, notices_table.alias("o")
    return (
        sa.select(sa.literal(1))
        .where(
            o.c.email_key == n.c.email_key,
            o.c.policy == n.c.policy,
            o.c.version == n.c.version,
            o.c.kind == n.c.kind,
            o.c.id != n.c.id,
            o.c.state.in_(sorted(states)),
        )
        .exists()
    )


def chunks(ids: list[int]) -> Iterator[list[int]]:
    """``ids`` in slices of at most BATCH."""
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def add_events(
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
            n.c.email_key == s.c.email_key,
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
            s.c.email_key,
            sa.literal("pending", sa.String),
            sa.literal(0, sa.Integer),
            sa.literal(now, UTCDateTime()),
            sa.literal(now, UTCDateTime()),
        )
        .where(*deliverable(s), subscribed_to(s.c.id, policy), ~existing)
        .order_by(s.c.id)
    )
    return source
