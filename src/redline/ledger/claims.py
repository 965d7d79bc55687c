"""Claiming ledger rows for a run, and taking back the rows of runs that died.

A claim is one ``WITH picked AS (SELECT id ... ORDER BY created_at, id LIMIT n [FOR UPDATE
SKIP LOCKED]) UPDATE ... RETURNING`` per claimable state, over the partial index of claimable
rows (``ix_notices_claimable``), the only index in that order: its cost depends on the batch,
not on how many rows are done. (Ordered by id alone, PostgreSQL may walk the primary key
through the rows already sent while its statistics say most rows are pending.)
Only the claimed rows' subscribers are then looked up, and rows of people who left are
cancelled. Several processes share a campaign: on PostgreSQL the claims skip each other's
locked rows, on SQLite they queue on ``BEGIN IMMEDIATE``. A claim takes:

1. 'sending' rows whose lease expired (their run hung or lost the database; a 'recovered'
   event records it),
2. 'pending' rows,
3. with ``retry_failed``, 'failed-temporary' rows, except those this run failed (a run
   tries a row at most once; the next run tries it again).

Never another live run's rows: their leases are renewed (:mod:`redline.ledger.leases`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from redline.ledger.leases import Leases
from redline.ledger.notices import NoticeTask, add_events, chunks
from redline.ledger.schema import (
    ALL_POLICIES,
    CLAIMABLE,
    ID_TYPE,
    NOW,
    ledger_key,
    notices_table,
    subscribers_table,
    subscriptions_table,
)

_RECOVERED = "in flight when a run was interrupted; queued again"
_P = {
    name: sa.bindparam(f"p_{name}", type_=type_)
    for name, type_ in (
        ("policy", sa.String()),
        ("version", sa.Integer()),
        ("kind", sa.String()),
        ("run", sa.String()),
        ("expires", NOW.type),
        ("after_at", NOW.type),
        ("after_id", ID_TYPE),
    )
}


@cache
def _claim(postgresql: bool, state: str, after: bool = False) -> sa.Update:
    """The prebuilt claim of up to ``p_limit`` rows in ``state`` for the run ``p_run``.

    ``after``: only rows after (``p_after_at``, ``p_after_id``) in queue order.
    """
    n = notices_table
    picked = (
        sa.select(n.c.id)
        .where(
            n.c.policy == _P["policy"],
            n.c.version == _P["version"],
            n.c.kind == _P["kind"],
            n.c.state == state,
            CLAIMABLE,
        )
        .order_by(n.c.created_at, n.c.id)
        .limit(sa.bindparam("p_limit", type_=sa.Integer()))
    )
    if state == "sending":
        picked = picked.where(sa.or_(n.c.lease_expires.is_(None), n.c.lease_expires < NOW))
    elif state == "failed-temporary":  # tried once by this run is enough for this run
        picked = picked.where(sa.or_(n.c.run_id.is_(None), n.c.run_id != _P["run"]))
    if after:
        position = sa.tuple_(n.c.created_at, n.c.id)
        picked = picked.where(position > sa.tuple_(_P["after_at"], _P["after_id"]))
    if postgresql:
        picked = picked.with_for_update(skip_locked=True)
    cte = picked.cte("picked")
    return (
        sa.update(n)
        .where(n.c.id.in_(sa.select(cte.c.id)), n.c.state == state)
        .values(
            state="sending",
            attempts=n.c.attempts + 1,
            run_id=_P["run"],
            lease_expires=_P["expires"],
            claimed_at=NOW,
            updated_at=NOW,
        )
        .returning(n.c.id, n.c.attempts, n.c.subscriber_id, n.c.email, n.c.created_at)
    )


class Claims(Leases):
    """Claiming and recovering the ledger rows of a Database, for this Store's run.

    A run remembers where its last claim in each state ended (queue order), and the next
    claim reads on from there: the rows before it were claimed, and until VACUUM their old
    index entries are still in the partial index, which a claim from the start would read
    through. Only when too few rows are left after it does a claim look from the start
    (rows released or re-queued behind it), so an empty claim still means none is left.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cursors: dict[tuple[Any, ...], tuple[datetime, int]] = {}

    def claim_batch(
        self, policy: str, version: int, kind: str, limit: int, *, retry_failed: bool = False
    ) -> list[NoticeTask]:
        """Atomically move up to ``limit`` claimable rows to 'sending' for this run.

        Claimable: 'sending' with an expired lease, 'pending', and with ``retry_failed``
        'failed-temporary' too (but not the rows this run recorded so). Each claim adds one
        attempt. Rows whose subscriber has since unsubscribed, been removed or left the
        policy become 'cancelled' with a reason instead. An empty list means nothing is left
        to claim now (rows that other live runs hold are skipped, not waited for).
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._start_run()
        states = ("sending", "pending", "failed-temporary")[: 3 if retry_failed else 2]
        tasks: list[NoticeTask] = []
        with self._write(ledger=True) as conn:
            now = self._clock()
            params = {
                "p_policy": policy,
                "p_version": version,
                "p_kind": kind,
                "p_run": self.run_id,
                "p_expires": self.lease_expiry(now),
                "p_now": now,
            }
            while len(tasks) < limit:
                rows = self._claim_rows(conn, states, limit - len(tasks), params)
                if not rows:
                    break
                tasks += _admit(conn, rows, policy, version, kind, now)
        return tasks

    def _claim_rows(
        self, conn: Connection, states: Sequence[str], limit: int, params: dict[str, Any]
    ) -> list[sa.Row[Any]]:
        """Up to ``limit`` rows claimed, state by state; a 'recovered' event for reclaims."""
        rows: list[sa.Row[Any]] = []
        for state in states:
            got = self._claim_state(conn, state, limit - len(rows), params)
            if state == "sending":
                add_events(
                    conn, [row.id for row in got], params["p_now"], "recovered", None, _RECOVERED
                )
            rows += sorted(got)
            if len(rows) >= limit:
                break
        return rows

    def _claim_state(
        self, conn: Connection, state: str, limit: int, params: dict[str, Any]
    ) -> list[sa.Row[Any]]:
        """Up to ``limit`` rows in ``state``: after this run's last claim, then from the start."""
        key = (params["p_policy"], params["p_version"], params["p_kind"], state)
        cursor = None if state == "sending" else self._cursors.get(key)
        got: list[sa.Row[Any]] = []
        if cursor is not None:
            after = {"p_after_at": cursor[0], "p_after_id": cursor[1]}
            statement = _claim(self._pg, state, after=True)
            got = conn.execute(statement, {**params, **after, "p_limit": limit}).all()
        if len(got) < limit:
            statement = _claim(self._pg, state)
            got += conn.execute(statement, {**params, "p_limit": limit - len(got)}).all()
        if got and state != "sending":
            last = max((row.created_at, row.id) for row in got)
            self._cursors[key] = max(last, cursor) if cursor else last
        return got

    def recover_in_flight(self, policy: str, version: int, kind: str) -> int:
        """Return the in-flight rows of dead runs to 'pending', at start-up; return how many.

        Taken back: rows whose lease expired, rows of runs whose lock is free (they crashed),
        rows from before leases, and this run's own. Never a live run's. The messages may
        or may not have gone out, so a re-run sends at most those again.
        """
        n = notices_table
        now = self._clock()
        key = (policy, version, kind)
        with self._write() as conn:
            orphans = self._orphans(conn, key, now)
            ids = list(
                conn.execute(
                    sa.select(n.c.id).where(
                        *ledger_key(*key),
                        n.c.state == "sending",
                        sa.or_(
                            n.c.lease_expires.is_(None),
                            n.c.lease_expires < now,
                            n.c.run_id.is_(None),
                            n.c.run_id.in_([self.run_id, *orphans]),
                        ),
                    )
                ).scalars()
            )
            for chunk in chunks(ids):
                conn.execute(
                    sa.update(n)
                    .where(n.c.id.in_(chunk), n.c.state == "sending")
                    .values(state="pending", run_id=None, lease_expires=None, updated_at=now)
                )
                add_events(conn, chunk, now, "recovered", None, _RECOVERED)
            return len(ids)


def _admit(
    conn: Connection,
    rows: Sequence[sa.Row[Any]],
    policy: str,
    version: int,
    kind: str,
    now: datetime,
) -> list[NoticeTask]:
    """Tasks of the claimed ``rows`` whose subscriber still wants ``policy``; cancel the rest.

    Only these rows' subscribers and subscriptions are read (by primary key).
    """
    s, x = subscribers_table, subscriptions_table
    ids = [row.subscriber_id for row in rows if row.subscriber_id is not None]
    people = {p.id: p for p in conn.execute(sa.select(s).where(s.c.id.in_(ids)))}
    wanting = set(
        conn.execute(
            sa.select(x.c.subscriber_id).where(
                x.c.subscriber_id.in_(ids), x.c.policy.in_([ALL_POLICIES, policy])
            )
        ).scalars()
    )
    cancel: dict[str, list[int]] = {}
    tasks: list[NoticeTask] = []
    for row in rows:
        person = people.get(row.subscriber_id)
        if person is None:
            cancel.setdefault("subscriber removed", []).append(row.id)
        elif person.unsubscribed_at is not None:
            cancel.setdefault("unsubscribed", []).append(row.id)
        elif person.undeliverable_at is not None:
            cancel.setdefault("undeliverable (bounced)", []).append(row.id)
        elif person.id not in wanting:
            cancel.setdefault("no longer subscribed to this policy", []).append(row.id)
        else:
            tasks.append(
                NoticeTask(
                    id=row.id,
                    policy=policy,
                    version=version,
                    kind=kind,
                    email=row.email,
                    name=person.name,
                    locale=person.locale,
                    attempts=row.attempts,
                    subscriber_id=person.id,
                )
            )
    _cancel(conn, cancel, now)
    return tasks


def _cancel(conn: Connection, cancel: dict[str, list[int]], now: datetime) -> None:
    """Cancel the claimed rows of people who left, by reason; their claim's attempt undone."""
    n = notices_table
    for reason, cancelled in cancel.items():
        conn.execute(
            sa.update(n)
            .where(n.c.id.in_(cancelled), n.c.state == "sending")
            .values(
                state="cancelled",
                reason=reason,
                attempts=n.c.attempts - 1,
                run_id=None,
                lease_expires=None,
                updated_at=now,
            )
        )
