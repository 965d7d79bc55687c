"""The classifier on a real history: every consecutive pair of the longest one in the bundle."""

from __future__ import annotations

import itertools
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from redline.compare.engine import diff_documents
from redline.config import Settings
from redline.document.model import parse_document

BUNDLE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "pga-versions.bundle"


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo), *args], input=data, capture_output=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The texts of the policy with the most revisions, oldest first."""
    if not BUNDLE.is_file():
        pytest.skip(f"the bundle {BUNDLE} is absent (it lives outside the repository)")
    repo = tmp_path_factory.mktemp("pga") / "repo"
    subprocess.run(["git", "clone", "-q", str(BUNDLE), str(repo)], check=True)
    paths = Counter(
        line for line in _git(repo, "log", "--format=", "--name-only").decode().splitlines() if line
    )
    path = max((p for p in paths if p.endswith(".md")), key=lambda p: (paths[p], p))
    log = _git(repo, "log", "--follow", "--name-only", "--format=%H", "--", path).decode()
    lines = [line for line in log.splitlines() if line]
    revisions = [f"{lines[i]}:{lines[i + 1]}" for i in range(0, len(lines), 2)][::-1]
    assert len(revisions) > 100
    return _texts(repo, revisions)


def _texts(repo: Path, revisions: list[str]) -> list[str]:
    """The blobs of ``revisions`` (``commit:path``) in one ``git cat-file --batch``."""
    out = _git(repo, "cat-file", "--batch", data="".join(f"{r}\n" for r in revisions).encode())
    texts, at = [], 0
    while at < len(out):
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        texts.append(out[header_end + 1 : header_end + 1 + size].decode("utf-8", "replace"))
        at = header_end + 1 + size + 1
    return texts


@pytest.mark.slow
def test_every_consecutive_pair_is_classified_with_reasons(history):
    documents = [
        parse_document(text, name=f"v{n}") for n, text in enumerate(history) if text.strip()
    ]
    seen: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for old, new in itertools.pairwise(documents):
        result = diff_documents(old, new, settings=Settings())
        seen[result.classification] += 1
        if result.classification == "none":
            assert result.reasons == []
        else:
            assert result.reasons, (old.source[:80], new.source[:80])
            assert {r.classification for r in result.reasons} == {result.classification}
        codes.update(reason.code for reason in result.reasons)
    assert seen["editorial"] and seen["material"]
    assert codes["link-targets"]  # this history's commonest noise: tracking links in targets
