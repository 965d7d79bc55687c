"""Benchmark redline on a real policy repository: the PGA bundle (134 policies, 4,857 commits).

Targets (the real-repositories issue): ``redline status`` and ``redline init --dry-run`` on the
134 policies within 1.5 s, ``redline log`` of the 492-revision ``Facebook/Privacy Policy.md``
within 1 s, and ``redline diff`` of the largest policy between its first and last revision.
Each redline command runs as a whole process, with a git command doing the same reading as
its baseline in the same run, and ``python -c pass`` as the floor of any Python command.
Figures are medians of several runs after a warm-up, in wall and CPU seconds.

    .venv/bin/python benchmarks/real_bench.py [--runs 5] [--bundle PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = ROOT.parent / "shared" / "fixtures" / "pga-versions.bundle"
LONG_HISTORY = "Facebook/Privacy Policy.md"
CONFIG = 'policies_dir = "."\n'


@dataclass(frozen=True)
class Timing:
    """Median wall and CPU seconds of one command over several runs."""

    wall: float
    cpu: float
    returncode: int


def measure(args: list[str], cwd: Path, runs: int, *, stdin: bytes | None = None) -> Timing:
    """Run ``args`` once to warm up, then ``runs`` times; return the medians."""
    walls: list[float] = []
    cpus: list[float] = []
    returncode = 0
    for index in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(
            args, cwd=cwd, input=stdin, capture_output=True, check=False, env=_env()
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        returncode = result.returncode
        if index:
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return Timing(statistics.median(walls), statistics.median(cpus), returncode)


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GITHUB_")}
    env.update(NO_COLOR="1", GIT_CONFIG_NOSYSTEM="1", REDLINE_TODAY="2026-12-01")
    return env


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def largest_policy(repo: Path) -> str:
    """The repository path of the largest Markdown file at HEAD."""
    sizes = []
    for line in _git(repo, "ls-tree", "-r", "-l", "HEAD").splitlines():
        info, _, path = line.partition("\t")
        if path.endswith(".md") and path != "README.md":
            sizes.append((int(info.split()[3]), path))
    return max(sizes)[1]


def blobs_of(repo: Path, path: str) -> bytes:
    """``git cat-file --batch`` input naming every revision of ``path``."""
    commits = _git(repo, "log", "--format=%H", "--", path).split()
    return "".join(f"{commit}:{path}\n" for commit in commits).encode()


def report(
    name: str,
    timing: Timing,
    baseline: Timing,
    floor: Timing,
    target: float,
    expected: tuple[int, ...] = (0,),
) -> None:
    """One line of figures for a redline command against its baseline."""
    verdict = "met" if timing.wall <= target else "NOT met"
    if timing.returncode not in expected:
        verdict = f"FAILED: the command exited {timing.returncode}"
    print(
        f"{name:<34} {timing.wall:6.3f} s wall {timing.cpu:6.3f} s cpu"
        f" | baseline {baseline.wall:6.3f} s ({timing.wall / baseline.wall:5.1f}x)"
        f" | python floor {floor.wall:5.3f} s | target <= {target:.2f} s: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    options = parser.parse_args()
    if not options.bundle.is_file():
        print(f"skipped: {options.bundle} is absent (see shared/fixtures/README.md)")
        return
    redline = [sys.executable, "-m", "redline"]
    work = Path(tempfile.mkdtemp(prefix="redline-real-bench."))
    try:
        repo = work / "pga"
        subprocess.run(["git", "clone", "-q", str(options.bundle), str(repo)], check=True)
        config = work / "redline.toml"
        config.write_text(CONFIG)
        base = [*redline, "--repo", str(repo), "--config", str(config)]
        runs = options.runs
        floor = measure([sys.executable, "-c", "pass"], repo, runs)
        history = measure(["git", "log", "--format=%H", "--name-only", "HEAD"], repo, runs)
        print(f"PGA bundle: {len(_git(repo, 'rev-list', 'HEAD').split())} commits; {runs} runs")
        report("redline status", measure([*base, "status"], repo, runs), history, floor, 1.5)
        # Exit 6: one policy of the bundle has a date no evidence can read; it is left out.
        report(
            "redline init --dry-run",
            measure([*base, "init", "--dry-run"], repo, runs),
            history,
            floor,
            1.5,
            expected=(0, 6),
        )
        batch = blobs_of(repo, LONG_HISTORY)
        revisions = batch.count(b"\n")
        read_all = measure(["git", "cat-file", "--batch"], repo, runs, stdin=batch)
        report(
            f"redline log ({revisions} revisions)",
            measure([*base, "log", LONG_HISTORY], repo, runs),
            read_all,
            floor,
            1.0,
        )
        largest = largest_policy(repo)
        first = _git(repo, "log", "--format=%H", "--reverse", "--", largest).split()[0]
        size = len(_git(repo, "show", f"HEAD:{largest}").encode())
        word_diff = measure(
            ["git", "diff", "--word-diff=porcelain", first, "HEAD", "--", largest], repo, runs
        )
        report(
            f"redline diff ({size // 1024} KB, first..HEAD)",
            measure([*base, "diff", largest, first, "HEAD", "--json"], repo, runs),
            word_diff,
            floor,
            0.3,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
