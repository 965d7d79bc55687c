"""Paragraphs split or merged without a character changed: a reflowed run of blocks.

Old paragraphs A and B that became C, D and E, with the same text once whitespace and hard
line breaks are set aside, are reported block by block as ``reflowed``: ``(A, C)``,
``(B, D)``, ``(None, E)``, each with its new text as one equal run. Nothing in them is an
inserted or deleted word.
"""

from __future__ import annotations

from functools import lru_cache

from redline.compare.engine import BlockDiff, WordOp
from redline.document.model import Block

_MAX_GROUP = 64  # blocks on one side of one split or merge
_REFLOWING = frozenset({"paragraph", "list_item", "blockquote"})


def _flat(block: Block) -> str:
    return _flat_text(block.norm)


@lru_cache(maxsize=4096)
def _flat_text(norm: str) -> str:
    """``norm`` without whitespace and hard breaks: what a split or merge keeps."""
    return "".join(norm.replace("\\", " ").split())


def reflow_group(old: list[Block], new: list[Block], i: int, j: int) -> tuple[int, int] | None:
    """How many blocks from ``old[i]`` and from ``new[j]`` hold the same text (a split or a
    merge when one of them is more than 1), or None."""
    if old[i].kind not in _REFLOWING or new[j].kind not in _REFLOWING:
        return None
    if old[i].norm[:1] != new[j].norm[:1]:
        return None
    a, b = _flat(old[i]), _flat(new[j])
    di = dj = 1
    while a != b:
        if len(a) < len(b):
            if not b.startswith(a) or i + di >= len(old) or di >= _MAX_GROUP:
                return None
            if old[i + di].kind not in _REFLOWING:
                return None
            a += _flat(old[i + di])
            di += 1
        else:
            if not a.startswith(b) or j + dj >= len(new) or dj >= _MAX_GROUP:
                return None
            if new[j + dj].kind not in _REFLOWING:
                return None
            b += _flat(new[j + dj])
            dj += 1
    return di, dj


def reflowed(old: list[Block], new: list[Block]) -> list[BlockDiff]:
    """The entries of one split or merge of ``old`` into ``new``."""
    entries = []
    for index in range(max(len(old), len(new))):
        before = old[index] if index < len(old) else None
        after = new[index] if index < len(new) else None
        kind = (after or before).kind  # type: ignore[union-attr]
        words = [WordOp("equal", after.norm)] if after is not None else []
        entries.append(BlockDiff("reflowed", kind, before, after, words))
    return entries
