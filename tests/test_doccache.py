"""The on-disk cache of parsed documents: hits, misses, corrupt and foreign files, pruning."""

from __future__ import annotations

import dataclasses
import os

import pytest

from redline.document import cache as doccache
from redline.document.cache import parse_cached
from redline.document.model import Document, parse_document
from redline.history.repo import PolicyRepo
from redline.history.texts import blob_sha

TEXT = (
    "---\ntitle: Privacy\nupdated: 2024-03-01\n---\n# Privacy\n\nEffective date: 2024-01-01\n\n"
    "## 1. Data\n\nWe collect your **name** &amp; email.\n\n- (a) one\n- (b) two\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode\n```\n\n**2. Sharing**\n\nWe share nothing.\n"
)


def same(a: Document, b: Document) -> bool:
    return dataclasses.astuple(a) == dataclasses.astuple(b)


def cached(text: str, folder, fold: bool = False) -> Document:
    blob = blob_sha(text.encode())
    return parse_cached(text, blob=blob, folder=folder, fold_typography=fold)


def test_a_second_read_comes_from_the_cache_and_equals_a_parse(tmp_path, monkeypatch):
    first = cached(TEXT, tmp_path)
    assert same(first, parse_document(TEXT))
    assert len(list(tmp_path.iterdir())) == 1
    monkeypatch.setattr(doccache, "parse_document", None)  # a parse would fail
    again = cached(TEXT, tmp_path)
    assert same(again, first)
    assert again.front_matter == {"title": "Privacy", "updated": first.front_matter["updated"]}


def test_fold_typography_has_its_own_entry(tmp_path):
    text = "# Terms\n\nThe \u201cservice\u201d \u2014 ours.\n"
    assert cached(text, tmp_path).blocks[1].norm != cached(text, tmp_path, fold=True).blocks[1].norm
    assert len(list(tmp_path.iterdir())) == 2
    assert same(cached(text, tmp_path, fold=True), parse_document(text, fold_typography=True))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: data[:-10] + bytes(10),
        lambda data: b"",
        lambda data: data.replace(b"redline-doc-", b"redline-doc-0", 1),
    ],
    ids=["truncated", "corrupt", "empty", "other-code"],
)
def test_a_bad_cache_file_is_ignored_and_replaced(tmp_path, damage):
    cached(TEXT, tmp_path)
    (path,) = tmp_path.iterdir()
    good = path.read_bytes()
    path.write_bytes(damage(good))
    assert same(cached(TEXT, tmp_path), parse_document(TEXT))
    assert path.read_bytes() == good


def test_an_unwritable_cache_still_parses(tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be")
    assert same(cached(TEXT, blocker), parse_document(TEXT))


def test_the_least_recently_used_files_are_pruned(tmp_path, monkeypatch):
    texts = [f"# Policy {n}\n\n" + "Text. " * 2000 + "\n" for n in range(4)]
    for text in texts:
        cached(text, tmp_path)
    for age, path in enumerate(sorted(tmp_path.iterdir())):
        os.utime(path, (1_000_000 + age, 1_000_000 + age))  # long ago
    size = max(path.stat().st_size for path in tmp_path.iterdir())
    monkeypatch.setattr(doccache, "MAX_BYTES", 2 * size)
    cached(texts[0], tmp_path)  # a hit makes it recently used
    cached("# New\n\n" + "Text. " * 2000 + "\n", tmp_path)
    names = {path.name.split("-")[0] for path in tmp_path.iterdir()}
    assert names == {blob_sha(texts[0].encode()), blob_sha(b"# New\n\n" + b"Text. " * 2000 + b"\n")}


def test_policy_repo_documents_are_cached_in_the_git_folder(policy_repo):
    repo = policy_repo()
    repo.write("policies/privacy.md", TEXT)
    repo.commit("Add privacy policy")
    policy_repo_ = PolicyRepo(repo.settings())
    policy = policy_repo_.resolve("privacy")
    _, document = policy_repo_.document(policy, "HEAD")
    folder = repo.root / ".git" / "redline" / "cache"
    assert [path.name for path in folder.iterdir()] == [f"{blob_sha(TEXT.encode())}-0"]
    assert same(document, parse_document(TEXT))
