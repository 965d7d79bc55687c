"""Benchmark ``redline diff --format json`` against ``git diff --word-diff`` (issue 2, section 6).

For each size, a policy and a revision of it are generated and committed into a temporary
git repository. The revision has about 50 scattered word edits, a retitled heading, a deleted
and an inserted paragraph, and a 15-paragraph section moved to the end, so that every later
section is renumbered. Both tools run as whole processes on the same pair; the figures are
medians of several runs after a warm-up run, in wall time (what the targets are about) and
in CPU time (which a busy machine disturbs less). redline runs cold (its cache of parsed
documents in ``.git/redline/cache/`` removed before each run: the target) and warm (both
revisions already parsed once). The baseline, measured in the same run, is
``git diff --no-index --word-diff=porcelain --diff-algorithm=histogram``; ``python -c pass``
is the floor of any Python command. ``--format html`` (the standalone redline page) runs warm
and is shown against the warm JSON run of the same pair, in the same run.

    .venv/bin/python benchmarks/diff_bench.py [--runs 5] [--skip-large]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def _words(text: str) -> list[str]:
    return text.split()


SUBJECTS = _words(
    "Account Data Cookie Device Location Payment Contact Usage Marketing Analytics Support "
    "Security Retention Transfer Disclosure Children Employee Partner Vendor Backup Consent "
    "Profile Billing Identity Session Log Health Voice Image Message Network Browser Survey "
    "Research Event Order Shipping Refund Warranty Feedback"
)
TOPICS = _words(
    "Collection Use Sharing Storage Deletion Access Correction Portability Objection "
    "Retention Security Transfers Consent Notices Limits Rights Requests Audits Safeguards "
    "Exceptions Processing Disclosure Minimisation Accuracy Review Controls Obligations "
    "Remedies Fees Complaints Breaches Archiving Encryption Purposes Recipients Sources "
    "Categories Duration"
)
WORDS = _words(
    "we may collect use share store process retain disclose transfer delete your personal "
    "data information account service provider partner affiliate third party law request "
    "consent purpose legitimate interest contract obligation security measure access right "
    "object restrict correct erase portability notice period days months years reasonable "
    "necessary applicable regulation authority court order protect prevent fraud abuse "
    "improve operate analyse communicate respond support billing payment processor "
    "jurisdiction country outside adequate safeguard clause standard contractual binding "
    "corporate rule record log device browser cookie identifier address email name telephone "
    "location preference setting marketing message unsubscribe withdraw at any time without "
    "affecting lawfulness prior processing based on such including but not limited to where "
    "required permitted by the of and or to in for with from under within upon this policy "
    "these terms our us you"
)


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(14, 31))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(3, 6)))


@dataclass
class Section:
    """A generated section: a title and its paragraphs (a subsection starts at ``split``)."""

    title: str
    paragraphs: list[str]
    sub_title: str | None = None
    split: int = 0
    kinds: list[str] = field(default_factory=list)


def generate(
    paragraphs: int, seed: int, sizes: tuple[int, int] = (8, 20), moved: int = 15
) -> list[Section]:
    """About ``paragraphs`` paragraphs in sections of ``sizes``; the third has ``moved``."""
    rng = random.Random(seed)
    titles = [f"{s} {t}" for s in SUBJECTS for t in TOPICS]
    rng.shuffle(titles)
    sections: list[Section] = []
    made = 0
    while made < paragraphs:
        size = moved if len(sections) == 2 else rng.randint(*sizes)
        index = len(sections)
        title = titles[index % len(titles)] + (
            f" (Part {index // len(titles) + 1})" * (index >= len(titles))
        )
        body = [paragraph(rng) for _ in range(size)]
        kinds = [rng.choice(["p", "p", "p", "li"]) for _ in range(size)]
        section = Section(title, body, kinds=kinds)
        if size >= 14 and index != 2:
            section.sub_title = f"{title} in Detail"
            section.split = size // 2
        sections.append(section)
        made += size
    return sections


def revise(sections: list[Section], seed: int, edits: int = 50) -> list[Section]:
    """Word edits, a retitle, a deleted and an inserted paragraph, a moved section."""
    rng = random.Random(seed + 1)
    new = [
        Section(s.title, list(s.paragraphs), s.sub_title, s.split, list(s.kinds)) for s in sections
    ]
    moved = new.pop(2)  # the 15-paragraph section goes to the end: all later ones renumber
    candidates = [(si, pi) for si, s in enumerate(new) for pi in range(len(s.paragraphs))]
    for si, pi in rng.sample(candidates, min(edits, len(candidates))):
        words = new[si].paragraphs[pi].split(" ")
        at = rng.randrange(1, len(words) - 1)
        words[at] = rng.choice([w for w in WORDS if w != words[at]])
        new[si].paragraphs[pi] = " ".join(words)
    new[len(new) // 3].title = "Revised " + new[len(new) // 3].title
    victim = new[len(new) // 2]
    del victim.paragraphs[1], victim.kinds[1]
    victim.split = max(0, victim.split - 1)
    target = new[(2 * len(new)) // 3]
    target.paragraphs.insert(1, paragraph(rng))
    target.kinds.insert(1, "p")
    target.split += 1 if target.split else 0
    moved.paragraphs[3] = moved.paragraphs[3].replace(" ", "  ", 1)  # a whitespace-only edit
    new.append(moved)
    return new


def render(sections: list[Section], name: str) -> str:
    lines = [
        "---",
        f"title: {name}",
        "---",
        f"# {name}",
        "",
        "Effective date: 01/02/2025",
        "",
    ]
    for number, section in enumerate(sections, start=1):
        lines += [f"## {number}. {section.title}", ""]
        letter = 0
        for index, (text, kind) in enumerate(zip(section.paragraphs, section.kinds, strict=True)):
            if section.sub_title and index == section.split:
                lines += [f"### {number}.1 {section.sub_title}", ""]
            if kind == "li":
                lines += [f"- ({chr(97 + letter % 26)}) {text}", ""]
                letter += 1
            else:
                lines += [text, ""]
    return "\n".join(lines)


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    return subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def make_repo(root: Path, old: str, new: str) -> Path:
    """A repository with the policy at HEAD~1 (old) and HEAD (new), plus both files on disk."""
    root.mkdir(parents=True)
    for args in (("init", "-q", "--initial-branch=main"),):
        git(root, *args)
    policy = root / "policies" / "policy.md"
    policy.parent.mkdir()
    for text, message in ((old, "old"), (new, "new")):
        policy.write_text(text, encoding="utf-8")
        git(root, "add", "policies/policy.md")
        result = git(root, "commit", "-q", "-m", message)
        if result.returncode:
            raise SystemExit(f"git commit failed: {result.stderr}")
    (root.parent / f"{root.name}-old.md").write_text(old, encoding="utf-8")
    (root.parent / f"{root.name}-new.md").write_text(new, encoding="utf-8")
    return root


def redline_command() -> list[str]:
    script = Path(sys.executable).with_name("redline")
    return [str(script)] if script.exists() else [sys.executable, "-m", "redline"]


@dataclass
class Timing:
    """Medians over several runs of one command: wall time and CPU time (user + system)."""

    wall: float
    cpu: float
    stdout: str

    def show(self, target: float | None = None) -> str:
        figures = f"{self.wall:7.3f} s wall {self.cpu:7.3f} s CPU"
        if target is None:
            return figures
        return f"{figures}   {'OK  ' if self.wall <= target else 'SLOW'} (target <= {target:.2f} s)"


# Installed packages have their bytecode compiled; let the measured commands cache theirs.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], runs: int, prepare: Callable[[], None] = lambda: None) -> Timing:
    """Run ``command`` once to warm up, then ``runs`` times, each after ``prepare()``; medians,
    and the last stdout."""
    walls, cpus = [], []
    stdout = ""
    subprocess.run(command, capture_output=True, env=CHILD_ENV, check=False)
    for _ in range(runs):
        prepare()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=CHILD_ENV, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if result.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr}")
        stdout = result.stdout
    return Timing(statistics.median(walls), statistics.median(cpus), stdout)


def git_regions(porcelain: str) -> tuple[int, int]:
    """Hunks, and changed runs (consecutive -/+ lines), of a word-diff porcelain output."""
    hunks = runs = 0
    in_run = False
    for line in porcelain.splitlines():
        if line.startswith("@@"):
            hunks += 1
            in_run = False
        elif line.startswith(("+++", "---", "diff ", "index ")):
            continue
        elif line[:1] in {"+", "-"}:
            if not in_run:
                runs += 1
            in_run = True
        else:
            in_run = False
    return hunks, runs


def bench_pair(
    label: str,
    paragraphs: int,
    target: float,
    workdir: Path,
    runs: int,
    edits: int = 50,
    sizes: tuple[int, int] = (8, 20),
    moved: int = 15,
) -> None:
    sections = generate(paragraphs, paragraphs, sizes, moved)
    old = render(sections, "Example Privacy Policy")
    new = render(revise(sections, seed=paragraphs, edits=edits), "Example Privacy Policy")
    repo = make_repo(workdir / label, old, new)
    command = [*redline_command(), "--repo", str(repo), "diff", "policy", "HEAD~1", "HEAD"]
    cache = repo / ".git" / "redline" / "cache"
    redline = timed(
        [*command, "--format", "json"], runs, lambda: shutil.rmtree(cache, ignore_errors=True)
    )
    warm = timed([*command, "--format", "json"], runs)
    if warm.stdout != redline.stdout:
        raise SystemExit(f"{label}: the warm run's output differs from the cold run's")
    html = timed([*command, "--format", "html"], runs)  # documents cached, as in the warm run
    data = json.loads(redline.stdout)
    changes = sum(len(section["changes"]) for section in data["sections"])
    git_diff = timed(
        [
            "git",
            "diff",
            "--no-index",
            "--word-diff=porcelain",
            "--diff-algorithm=histogram",
            str(workdir / f"{label}-old.md"),
            str(workdir / f"{label}-new.md"),
        ],
        runs,
    )
    hunks, git_runs = git_regions(git_diff.stdout)
    stats = data["stats"]
    print(f"\n{label}: {paragraphs} paragraphs, {len(old) / 1e6:.2f} MB -> {len(new) / 1e6:.2f} MB")
    print(f"  redline diff --format json  {redline.show(target)}")
    print(f"    warm (documents cached)   {warm.show()}")
    print(
        f"  redline diff --format html  {html.show(target)}   "
        f"{html.wall / warm.wall:.1f}x the warm JSON's wall, {html.cpu / warm.cpu:.1f}x its CPU"
    )
    print(f"  git diff --word-diff        {git_diff.show()}")
    print(
        f"  ratio redline/git           {redline.wall / git_diff.wall:7.1f}x wall "
        f"{redline.cpu / max(git_diff.cpu, 1e-3):5.1f}x CPU"
    )
    print(
        f"  changed regions: redline {changes} changes "
        f"({data['classification']}; {stats['words_inserted']}+/{stats['words_deleted']}- words, "
        f"{stats['sections_modified']} modified, {stats['sections_moved']} moved, "
        f"{stats['sections_renumbered']} renumbered in {len(data['renumbered_runs'])} runs)"
    )
    print(f"                   git {hunks} hunks, {git_runs} changed runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--skip-large", action="store_true", help="skip the 20,000-paragraph case")
    args = parser.parse_args()

    print(
        f"redline: {' '.join(redline_command())}; median of {args.runs} runs; {os.cpu_count()} CPUs"
    )
    floor = timed([sys.executable, "-c", "pass"], args.runs)
    print(f"\npython -c pass (floor)         {floor.show()}")
    help_timing = timed([*redline_command(), "--help"], args.runs)
    print(f"redline --help                {help_timing.show(0.15)}")

    with tempfile.TemporaryDirectory(prefix="redline-bench-") as tmp:
        workdir = Path(tmp)
        bench_pair("typical", 40, 0.25, workdir, args.runs, edits=5, sizes=(3, 6), moved=4)
        bench_pair("large", 2_000, 0.3, workdir, args.runs)
        if not args.skip_large:
            bench_pair("huge", 20_000, 3.0, workdir, args.runs)


if __name__ == "__main__":
    main()
