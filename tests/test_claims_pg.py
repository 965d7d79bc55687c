"""The claim reads the partial index of claimable rows, not the rows already done.

On PostgreSQL, EXPLAIN of the claim names ix_notices_claimable. With a few thousand rows the
planner may prefer a sequential scan, which is as good at that size, so the test turns
sequential scans off in its session (``SET enable_seqscan = off``): it asks whether the
index *can* serve the claim, which is what keeps a claim cheap at a million rows. SQLite's
EXPLAIN QUERY PLAN must name it too (SQLite matches a partial index's predicate literally).
'sending' rows (in flight, with an expired lease) may come from the partial index of
in-flight rows instead, which is as small.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from redline.ledger.checks import SubscriberInput
from redline.ledger.claims import _claim
from redline.ledger.store import Store

KEY = ("privacy-policy", 1, "notice")
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def plan(url: str, state: str, *, after: bool = False) -> str:
    """The query plan of the claim of rows in ``state`` (``after`` a run's last claim)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            statement = _claim(engine.dialect.name == "postgresql", state, after)
            compiled = statement.compile(dialect=engine.dialect)
            params = compiled.construct_params(
                {
                    "p_policy": KEY[0],
                    "p_version": KEY[1],
                    "p_kind": KEY[2],
                    "p_run": "0" * 32,
                    "p_expires": NOW + timedelta(minutes=2),
                    "p_now": NOW,
                    "p_limit": 20,
                    "p_after_at": NOW - timedelta(days=1),
                    "p_after_id": 10,
                }
            )
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET enable_seqscan = off")
                lines = conn.exec_driver_sql(f"EXPLAIN {compiled.string}", params).scalars()
            else:
                ordered = tuple(params[name] for name in compiled.positiontup or ())
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}", ordered)
                lines = (row[-1] for row in rows)
            return "\n".join(lines)
    finally:
        engine.dispose()


def fill(url: str, rows: int, done: float) -> None:
    """``rows`` queued notices, the first ``done`` of them sent (in bulk), then ANALYZE."""
    with Store.open(url) as store:
        store.upsert_subscribers([SubscriberInput(f"user{i:05d}@example.com") for i in range(rows)])
        store.queue_notices(*KEY)
        store.claim_batch(*KEY, 5)  # a few in flight
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            low = conn.execute(sa.text("SELECT min(id) FROM notices")).scalar()
            conn.execute(
                sa.text("UPDATE notices SET state = 'sent' WHERE id < :last"),
                {"last": low + int(rows * done)},
            )
            conn.exec_driver_sql("ANALYZE notices")
    finally:
        engine.dispose()


@pytest.mark.parametrize("done", [0.01, 0.9])
@pytest.mark.parametrize("state", ["pending", "sending", "failed-temporary"])
def test_the_claim_uses_the_partial_index_of_claimable_rows(database_url, state, done):
    """Early in a campaign (statistics: nearly all pending) and late (nearly all sent)."""
    fill(database_url, 3000, done)
    for after in (False, True) if state != "sending" else (False,):
        text = plan(database_url, state, after=after)
        # 'sending' rows may come from either partial index: both hold only rows not done
        partial = ("ix_notices_claimable", "ix_notices_in_flight")
        used = [name for name in partial if name in text]
        assert used == ["ix_notices_claimable"] or (state == "sending" and used), text
        assert "notices_pkey on notices notices_1" not in text, text  # every row by id
        assert "SCAN notices\n" not in text + "\n", text
