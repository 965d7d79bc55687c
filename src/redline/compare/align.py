"""Block alignment of two documents: matched ranges, reflowed runs, similar pairs, moves,
effective-date lines and paired headings.

Steps 1 to 3 of :mod:`redline.compare.engine`.
"""

from __future__ import annotations

from bisect import bisect_right
from difflib import SequenceMatcher
from functools import lru_cache

from redline.compare.engine import WORD, BlockDiff, WordOp
from redline.compare.reflow import reflow_group, reflowed
from redline.compare.tokens import ITEM_LABEL, DateLines, edit_kind, tokens
from redline.document.model import Block

_PAIR_THRESHOLD = 0.5
_MOVE_THRESHOLD = 0.6
_LOOKAHEAD = 4
_MAX_FUZZY_MOVE_PAIRS = 40_000


def align_blocks(
    old: list[Block], new: list[Block], *, dates: DateLines | None = None
) -> list[BlockDiff]:
    """The blocks of ``old`` and ``new`` aligned, paired, with moves, effective-date lines
    (as ``dates`` finds them) and headings paired."""
    entries = _align(old, new)
    _detect_moves(entries)
    _pair_headings_by_body(entries)
    if dates is not None:
        _pair_date_lines(entries, dates)
    return entries


def block_key(block: Block) -> str:
    if block.is_heading:
        return "\x00h " + " ".join(WORD.findall((block.title or block.norm).casefold()))
    return block.norm


@lru_cache(maxsize=256)
def _token_matcher(old: str, new: str) -> SequenceMatcher[str]:
    """A word-level matcher of two texts, shared by the pairing and the word diff."""
    return SequenceMatcher(None, tokens(old), tokens(new), autojunk=False)


def _similarity(old: Block, new: Block) -> float:
    if old.norm == new.norm:  # the same text, also a paragraph made a heading
        return 1.0
    if old.is_heading != new.is_heading:
        return 0.0
    matcher = _token_matcher(old.norm, new.norm)
    if matcher.real_quick_ratio() < _PAIR_THRESHOLD or matcher.quick_ratio() < _PAIR_THRESHOLD:
        return 0.0
    return matcher.ratio()


def _word_ops(
    old: str, new: str, spans: tuple[tuple[int, int], tuple[int, int]] | None = None
) -> list[WordOp]:
    """The word diff of two texts, each run with its kind (see :mod:`redline.compare.engine`).

    A run inside both texts' item labels is ``renumbering``; inside both ``spans`` (the
    texts' date statements, in tokens), ``date-line``.
    """
    matcher = _token_matcher(old, new)
    old_tokens, new_tokens = matcher.a, matcher.b
    labels = (_label_tokens(old, old_tokens), _label_tokens(new, new_tokens))
    ops: list[WordOp] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(WordOp("equal", "".join(new_tokens[j1:j2])))
            continue
        if tag == "replace" and i1 == j1 == 0:
            opening = _opening_token(old_tokens[:i2], new_tokens[:j2])
            if opening is not None:
                ops.extend(opening)
                continue
        if spans is not None and _inside(spans, i1, i2, j1, j2):
            kind = "date-line"
        else:
            kind = edit_kind(old_tokens[i1:i2], new_tokens[j1:j2])
            if kind == "words" and i2 <= labels[0] and j2 <= labels[1]:
                kind = "renumbering"
        if tag in {"delete", "replace"}:
            ops.append(WordOp("delete", "".join(old_tokens[i1:i2]), kind))
        if tag in {"insert", "replace"}:
            ops.append(WordOp("insert", "".join(new_tokens[j1:j2]), kind))
    return ops


def _opening_token(old: list[str], new: list[str]) -> list[WordOp] | None:
    """A token put before (or taken from before) a text's first word, which then gains (or
    loses) the space before it: ``{: #id }`` + `` If`` against ``If``. The word is the same:
    the ops are the token (with that space) and the unchanged rest, not the word replaced."""
    inserted = len(old) < len(new)
    short, long = (old, new) if inserted else (new, old)
    start = len(long) - len(short)  # where the first word stands in the longer run
    if start <= 0 or long[start].lstrip() != short[0] or long[start + 1 :] != short[1:]:
        return None
    first = long[start]
    extra = "".join(long[:start]) + first[: len(first) - len(first.lstrip())]
    kind = edit_kind([], long[:start]) if inserted else edit_kind(long[:start], [])
    op = "insert" if inserted else "delete"
    return [WordOp(op, extra, kind), WordOp("equal", "".join(short))]


def _label_tokens(text: str, text_tokens: list[str]) -> int:
    """How many of the first tokens of ``text`` are its item label ("(a) ", "2. ")."""
    label = ITEM_LABEL.match(text)
    if label is None:
        return 0
    length = count = 0
    for token in text_tokens:
        if length >= label.end() - 1:
            break
        length += len(token)
        count += 1
    return count


def _inside(
    spans: tuple[tuple[int, int], tuple[int, int]], i1: int, i2: int, j1: int, j2: int
) -> bool:
    (old_start, old_end), (new_start, new_end) = spans
    return old_start <= i1 <= i2 <= old_end and new_start <= j1 <= j2 <= new_end


def _pair(old: Block, new: Block) -> BlockDiff:
    if old.norm == new.norm:
        return BlockDiff("equal", new.kind, old, new, [WordOp("equal", new.norm)])
    old_text = old.title if old.is_heading and old.title else old.norm
    new_text = new.title if new.is_heading and new.title else new.norm
    if old_text == new_text:  # a renumbered heading: nothing to diff word by word
        return BlockDiff("equal", new.kind, old, new, [WordOp("equal", new_text)])
    words = _word_ops(old_text, new_text)
    status = "modified" if any(op.op != "equal" for op in words) else "equal"
    return BlockDiff(status, new.kind, old, new, words)


def _align(old: list[Block], new: list[Block]) -> list[BlockDiff]:
    matcher = SequenceMatcher(
        None, [block_key(b) for b in old], [block_key(b) for b in new], autojunk=False
    )
    entries: list[BlockDiff] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            entries.extend(
                _pair(old[i], new[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
        elif tag == "replace":
            entries.extend(_pair_range(old[i1:i2], new[j1:j2]))
        elif tag == "delete":
            entries.extend(BlockDiff("delete", old[i].kind, old[i], None) for i in range(i1, i2))
        else:
            entries.extend(BlockDiff("insert", new[j].kind, None, new[j]) for j in range(j1, j2))
    return entries


def _pair_range(old: list[Block], new: list[Block]) -> list[BlockDiff]:
    """Pair the blocks of a replaced range in order: split or merged paragraphs as reflowed,
    the others by similarity, with a short look-ahead."""
    entries: list[BlockDiff] = []
    i = j = 0
    while i < len(old) and j < len(new):
        group = reflow_group(old, new, i, j)
        if group is not None and group != (1, 1):
            entries.extend(reflowed(old[i : i + group[0]], new[j : j + group[1]]))
            i, j = i + group[0], j + group[1]
            continue
        if _similarity(old[i], new[j]) >= _PAIR_THRESHOLD:
            entries.append(_pair(old[i], new[j]))
            i, j = i + 1, j + 1
            continue
        ahead_new = next(
            (k for k in range(1, _LOOKAHEAD) if j + k < len(new) and _similar(old[i], new[j + k])),
            None,
        )
        ahead_old = next(
            (k for k in range(1, _LOOKAHEAD) if i + k < len(old) and _similar(old[i + k], new[j])),
            None,
        )
        if ahead_new is not None and (ahead_old is None or ahead_new <= ahead_old):
            entries.extend(BlockDiff("insert", b.kind, None, b) for b in new[j : j + ahead_new])
            j += ahead_new
        elif ahead_old is not None:
            entries.extend(BlockDiff("delete", b.kind, b, None) for b in old[i : i + ahead_old])
            i += ahead_old
        else:
            entries.append(BlockDiff("delete", old[i].kind, old[i], None))
            entries.append(BlockDiff("insert", new[j].kind, None, new[j]))
            i, j = i + 1, j + 1
    entries.extend(BlockDiff("delete", b.kind, b, None) for b in old[i:])
    entries.extend(BlockDiff("insert", b.kind, None, b) for b in new[j:])
    return entries


def _similar(old: Block, new: Block) -> bool:
    return _similarity(old, new) >= _PAIR_THRESHOLD


def _detect_moves(entries: list[BlockDiff]) -> None:
    """Turn matching delete/insert pairs into moves at the insert's position (in place)."""
    deletes = [index for index, e in enumerate(entries) if e.status == "delete"]
    inserts = [index for index, e in enumerate(entries) if e.status == "insert"]
    if not deletes or not inserts:
        return
    by_key: dict[str, list[int]] = {}
    for index in deletes:
        by_key.setdefault(block_key(entries[index].old), []).append(index)  # type: ignore[arg-type]
    consumed: set[int] = set()
    unmatched_inserts = []
    for index in inserts:
        candidates = by_key.get(block_key(entries[index].new))  # type: ignore[arg-type]
        if candidates:
            source = candidates.pop(0)
            consumed.add(source)
            entries[index] = _moved(entries[source].old, entries[index].new)  # type: ignore[arg-type]
        else:
            unmatched_inserts.append(index)
    remaining = [index for index in deletes if index not in consumed]
    if remaining and len(remaining) * len(unmatched_inserts) <= _MAX_FUZZY_MOVE_PAIRS:
        word_sets = {
            index: frozenset(WORD.findall(entries[index].old.norm.casefold()))  # type: ignore[union-attr]
            for index in remaining
        }
        for index in unmatched_inserts:
            new_block = entries[index].new
            assert new_block is not None
            new_words = frozenset(WORD.findall(new_block.norm.casefold()))
            if len(new_words) < 4:
                continue
            best, best_score = None, _MOVE_THRESHOLD
            for source in remaining:
                if source in consumed:
                    continue
                old_words = word_sets[source]
                union = len(old_words | new_words)
                score = len(old_words & new_words) / union if union else 0.0
                if score > best_score:
                    best, best_score = source, score
            if best is not None and _similarity(entries[best].old, new_block) >= _MOVE_THRESHOLD:  # type: ignore[arg-type]
                consumed.add(best)
                entries[index] = _moved(entries[best].old, new_block)  # type: ignore[arg-type]
    for index in sorted(consumed, reverse=True):
        del entries[index]


def _pair_headings_by_body(entries: list[BlockDiff]) -> None:
    """Pair an inserted heading with a deleted one whose section body now follows it.

    This recognises a section that was retitled too much to pair by similarity, in place or
    moved: most of the new section's blocks come from the old section of the deleted heading.
    """
    deleted = {
        id(e.old): index
        for index, e in enumerate(entries)
        if e.status == "delete" and e.old is not None and e.old.is_heading
    }
    if not deleted:
        return
    old_headings = sorted(
        (e.old for e in entries if e.old is not None and e.old.is_heading), key=lambda b: b.line
    )
    heading_lines = [heading.line for heading in old_headings]
    consumed: list[int] = []
    for index, entry in enumerate(entries):
        if entry.status != "insert" or entry.new is None or not entry.new.is_heading:
            continue
        body: list[BlockDiff] = []
        for following in entries[index + 1 :]:
            if following.new is not None and following.new.is_heading:
                break
            if following.new is not None:
                body.append(following)
        origins: dict[int, list[BlockDiff]] = {}
        for block in body:
            if block.old is not None:
                position = bisect_right(heading_lines, block.old.line) - 1
                if position >= 0:
                    origins.setdefault(id(old_headings[position]), []).append(block)
        candidates = [(len(v), k) for k, v in origins.items() if k in deleted]
        if not candidates:
            continue
        count, origin = max(candidates)
        if 2 * count < len(body) or deleted[origin] in consumed:
            continue
        source = entries[deleted[origin]].old
        assert source is not None
        moved = sum(block.status == "moved" for block in origins[origin])
        entries[index] = (
            _moved(source, entry.new) if 2 * moved > count else _pair(source, entry.new)
        )
        consumed.append(deleted[origin])
    for index in sorted(consumed, reverse=True):
        del entries[index]


def _moved(old: Block, new: Block) -> BlockDiff:
    paired = _pair(old, new)
    return BlockDiff("moved", new.kind, old, new, paired.words)


def _pair_date_lines(entries: list[BlockDiff], dates: DateLines) -> None:
    """Pair deleted and inserted effective-date lines, in order, at the insert's position;
    mark every changed entry that is an effective-date line on each of its sides (in place)."""
    deletes = [i for i, e in enumerate(entries) if e.status == "delete" and _is_date(e.old, dates)]
    inserts = [i for i, e in enumerate(entries) if e.status == "insert" and _is_date(e.new, dates)]
    pairs = list(zip(deletes, inserts, strict=False))
    for source, target in pairs:
        entries[target] = _pair(entries[source].old, entries[target].new)  # type: ignore[arg-type]
    for source in sorted((source for source, _ in pairs), reverse=True):
        del entries[source]
    for entry in entries:
        if entry.status in {"equal", "reflowed"}:
            continue
        sides = [side for side in (entry.old, entry.new) if side is not None]
        entry.date_line = all(dates.is_line(side.norm) for side in sides)
        if entry.old is None or entry.new is None or entry.status not in {"modified", "moved"}:
            continue
        spans = _token_spans(entry.old, dates), _token_spans(entry.new, dates)
        if spans[0] is not None and spans[1] is not None:
            entry.words = _word_ops(_text(entry.old), _text(entry.new), (spans[0], spans[1]))
        # a date line whose note (or anything but its date statement) changed is a change
        entry.date_line = entry.date_line and all(
            op.op == "equal" or op.kind == "date-line" for op in entry.words
        )


def _is_date(block: Block | None, dates: DateLines) -> bool:
    return block is not None and dates.is_line(block.norm)


def _text(block: Block) -> str:
    return block.title if block.is_heading and block.title else block.norm


def _token_spans(block: Block, dates: DateLines) -> tuple[int, int] | None:
    """The date statement of ``block``'s diffed text, in tokens (first, after the last)."""
    text = _text(block)
    span = dates.span(text)
    if span is None:
        return None
    inside, end = [], 0
    for index, token in enumerate(tokens(text)):
        start, end = end + len(token) - len(token.lstrip()), end + len(token)
        if span[0] <= start and end <= span[1]:
            inside.append(index)
    return (inside[0], inside[-1] + 1) if inside else None
