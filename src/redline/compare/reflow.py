"""Paragraphs split or merged without a character changed: a reflowed run of blocks.

Old paragraphs A and B that became C, D and E, with the same text once whitespace and hard
line breaks are set aside, are reported block by block as ``reflowed``: ``(A, C)``,
``(B, D)``, ``(None, E)``, each with its new text as one equal run. Nothing in them is an
inserted or deleted word.
"""

from __future__ import annotations

from collections.abc import Callable

from redline.compare.engine import BlockDiff, WordOp
from redline.document.model import Block

_MAX_GROUP = 64  # blocks on one side of one split or merge
_REFLOWING = frozenset({"paragraph", "list_item", "blockquote"})


def reflowed_prefix(
    old: list[Block], new: list[Block], pair: Callable[[Block, Block], BlockDiff]
) -> tuple[list[BlockDiff], int, int]:
    """The entries of the reflowed run that starts ``old`` and ``new`` (one-to-one blocks
    in it are paired with ``pair``), and how many old and new blocks it takes.

    Nothing is taken unless the run has a split or a merge.
    """
    entries: list[BlockDiff] = []
    i = j = 0
    reflowed = False
    while i < len(old) and j < len(new):
        group = _group(old, new, i, j)
        if group is None:
            break
        di, dj = group
        if di == dj == 1:
            entries.append(pair(old[i], new[j]))
        else:
            entries.extend(_entries(old[i : i + di], new[j : j + dj]))
            reflowed = True
        i, j = i + di, j + dj
    return (entries, i, j) if reflowed else ([], 0, 0)


def _flat(block: Block) -> str:
    return "".join(block.norm.replace("\\", " ").split())


def _group(old: list[Block], new: list[Block], i: int, j: int) -> tuple[int, int] | None:
    """How many blocks from ``old[i]`` and ``new[j]`` hold the same text, or None."""
    if old[i].kind not in _REFLOWING or new[j].kind not in _REFLOWING:
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


def _entries(old: list[Block], new: list[Block]) -> list[BlockDiff]:
    entries = []
    for index in range(max(len(old), len(new))):
        before = old[index] if index < len(old) else None
        after = new[index] if index < len(new) else None
        kind = (after or before).kind  # type: ignore[union-attr]
        words = [WordOp("equal", after.norm)] if after is not None else []
        entries.append(BlockDiff("reflowed", kind, before, after, words))
    return entries
