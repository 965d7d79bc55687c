"""Peak memory and time of `subscribers import` at growing sizes: it must stay flat.

    .venv/bin/python benchmarks/import_bench.py [--sizes 10000,100000] [--big]
                                                [--database-url URL]

Each size is a generated CSV (email, name, locale, policies) imported by ``import_csv``
into a fresh SQLite database (or a fresh schema of ``--database-url``, PostgreSQL) in a
fresh process, which reports its peak resident memory (``ru_maxrss``) and how much of it
came after start-up (the interpreter and redline's imports, measured before the import).
``--big`` adds 1,000,000 rows. Target: the peak at the largest size <= 1.5x the peak at
the smallest, in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_schema import drop_schema, fresh_schema

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.5

CHILD = """
import json, resource, sys, time
from pathlib import Path
from redline.ledger.csv_import import import_csv
from redline.ledger.store import Store

url, path = sys.argv[1], Path(sys.argv[2])
with Store.open(url) as store:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    report = import_csv(store, path)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = store.count_subscribers()
print(json.dumps({"kib": peak, "startup_kib": before, "seconds": elapsed,
                  "added": report.added, "count": count}))
"""


def write_csv(path: Path, rows: int) -> None:
    """``rows`` subscribers, every tenth with two policies, every seventh with a locale."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("email,name,locale,policies\n")
        for i in range(rows):
            locale = "de" if i % 7 == 0 else ""
            policies = "privacy-policy terms" if i % 10 == 0 else ""
            out.write(f"person{i:07d}@example.com,Person Nummer {i},{locale},{policies}\n")


def database(base: str | None, directory: Path, size: int) -> tuple[str, str | None]:
    """(a URL of an empty database, the PostgreSQL schema to drop afterwards)."""
    if base is None:
        return f"sqlite:///{directory / f'import-{size}.db'}", None
    return fresh_schema(base)


def measure(size: int, base: str | None, directory: Path) -> dict:
    csv_path = directory / f"subscribers-{size}.csv"
    write_csv(csv_path, size)
    url, schema = database(base, directory, size)
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, url, str(csv_path)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        if schema:
            drop_schema(base or "", schema)
    if done.returncode:
        sys.exit(f"import of {size} rows failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    assert result["count"] == result["added"] == size, result
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--big", action="store_true", help="add 1,000,000 rows")
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: SQLite files)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")] + ([1_000_000] if args.big else [])
    backend = "postgresql" if args.database_url else "sqlite"
    print(f"subscribers import on {backend}: peak RSS per size (same run)")
    with tempfile.TemporaryDirectory(prefix="redline-import-bench-") as tmp:
        results = {size: measure(size, args.database_url, Path(tmp)) for size in sizes}
    for size, r in results.items():
        growth = (r["kib"] - r["startup_kib"]) / 1024
        print(
            f"  {size:>9,} rows: peak {r['kib'] / 1024:7.1f} MiB "
            f"(+{growth:6.1f} MiB during the import), {r['seconds']:7.1f} s, "
            f"{size / r['seconds']:8,.0f} rows/s"
        )
    small, large = results[sizes[0]]["kib"], results[sizes[-1]]["kib"]
    ratio = large / small
    verdict = "ok" if ratio <= TARGET else "MISSED"
    print(f"peak at {sizes[-1]:,} / at {sizes[0]:,}: {ratio:.2f}x (target <= {TARGET}x) {verdict}")


if __name__ == "__main__":
    main()
