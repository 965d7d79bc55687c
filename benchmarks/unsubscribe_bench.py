"""One-click unsubscribes per second against `redline serve`, with a CLI loop as baseline.

    .venv/bin/python benchmarks/unsubscribe_bench.py [--subscribers 4000] [--threads 8]
        [--workers 2] [--baseline 30]

A fresh git repository and SQLite database get ``--subscribers`` subscribers. Then, in the
same run:

* served: ``redline serve --workers N`` (a real uvicorn process on loopback) takes one
  RFC 8058 one-click POST (``List-Unsubscribe=One-Click``) per subscriber, from
  ``--threads`` client threads, each on one keep-alive connection (http.client); every
  answer must be 200, and the database must then hold no active subscriber;
* baseline: ``redline subscribers unsubscribe TOKEN``, one process per call, as a user
  scripting it would, ``--baseline`` times.

Target: at least 500 one-click unsubscribes a second on SQLite with 2 cores.
"""

from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from serve_world import CONFIG, HOST, SECRET, serve_env, served  # noqa: E402

TARGET = 500.0


def prepare(root: Path, count: int) -> tuple[str, list[str]]:
    """A repository at ``root`` and its database with ``count`` subscribers; (URL, tokens)."""
    from redline.env import Environment
    from redline.ledger.checks import SubscriberInput
    from redline.ledger.store import Store
    from redline.ledger.subscribers import make_token

    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "redline.toml").write_text(CONFIG)
    url = f"sqlite:///{(root / 'redline.db').as_posix()}"
    env = Environment({"REDLINE_SECRET": SECRET})
    with Store.open(url) as store:
        items = [SubscriberInput(f"reader{i}@example.com", None, None, None) for i in range(count)]
        store.upsert_subscribers(items)
        tokens = [make_token(s.email, s.id, env=env) for s in store.iter_subscribers()]
    return url, tokens


def _client(port: int, tokens: list[str], failures: list[int]) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for token in tokens:
        path = f"/unsubscribe?token={urllib.parse.quote(token)}"
        conn.request("POST", path, body=b"List-Unsubscribe=One-Click", headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            failures.append(response.status)
    conn.close()


def served_rate(root: Path, url: str, tokens: list[str], threads: int, workers: int) -> float:
    """One-click unsubscribes per second through the served app."""
    failures: list[int] = []
    with served(root, serve_env(url), workers=workers) as app:
        _client(app.port, tokens[:threads], failures)  # warm every worker's first request
        rest = tokens[threads:]
        shares = [rest[index::threads] for index in range(threads)]
        clients = [
            threading.Thread(target=_client, args=(app.port, share, failures)) for share in shares
        ]
        started = time.perf_counter()
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} one-click POSTs failed: {sorted(set(failures))}")
    return len(rest) / elapsed


def baseline_rate(root: Path, url: str, tokens: list[str]) -> float:
    """``redline subscribers unsubscribe TOKEN`` calls per second, a process each."""
    env = serve_env(url)
    command = [sys.executable, "-m", "redline", "--repo", str(root), "subscribers", "unsubscribe"]
    started = time.perf_counter()
    for token in tokens:
        subprocess.run([*command, token], env=env, check=True, capture_output=True)
    return len(tokens) / (time.perf_counter() - started)


def remaining(url: str) -> int:
    """Active subscribers left."""
    from redline.ledger.store import Store

    with Store.open(url) as store:
        return store.count_subscribers()


def main() -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        url, tokens = prepare(root, args.subscribers + args.baseline)
        cli_tokens, web_tokens = tokens[: args.baseline], tokens[args.baseline :]
        base = baseline_rate(root, url, cli_tokens)
        rate = served_rate(root, url, web_tokens, args.threads, args.workers)
        left = remaining(url)
    print(f"baseline: redline subscribers unsubscribe, a process per call: {base:8.1f}/s")
    print(
        f"served:   one-click POST, {args.workers} workers, {args.threads} keep-alive "
        f"clients:       {rate:8.1f}/s ({rate / base:.0f}x the baseline)"
    )
    print(f"target:   >= {TARGET:.0f}/s on SQLite: {'met' if rate >= TARGET else 'NOT met'}")
    if left:
        raise SystemExit(f"{left} subscribers are still subscribed")


if __name__ == "__main__":
    main()
