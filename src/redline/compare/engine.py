"""The redline engine: align two policy documents block by block, then word by word.

1. Blocks are aligned with ``difflib.SequenceMatcher(autojunk=False)`` over normalised block
   keys (headings are keyed by their title without the number, so renumbering aligns).
2. Inside each replaced range, blocks are paired by word similarity; paired blocks get a
   word-level diff, the rest are deletes and inserts.
3. Deleted and inserted blocks with the same (or nearly the same) text become moves.
4. Blocks are grouped into sections of the new document (deleted blocks into the section
   they left), and each section is reported as added, removed, modified or unchanged with
   moved, renumbered and retitled flags.
5. The whole change is classified: ``none`` (identical after normalisation), ``editorial``
   (same words in the same order once labels, punctuation, case and the effective-date line
   are set aside) or ``material``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

from redline.document.model import Block, Document, Section, is_date_line

if TYPE_CHECKING:
    from collections.abc import Iterator

    from redline.history.repo import Policy, PolicyRepo

# Numbers and dates ("1,000.50", "2024-03-01", "05/14/2020") are one token, so a changed
# date reads as one replacement rather than a patch of digits.
_TOKEN = re.compile(r"\s*(?:\d+(?:[.,/:-]\d+)+|\w+(?:['’]\w+)*|[^\w\s])")
_WORD = re.compile(r"\w+")
_ITEM_LABEL = re.compile(r"^(?:\(\w{1,6}\)|\w{1,6}[.)])\s+")
_PAIR_THRESHOLD = 0.5
_MOVE_THRESHOLD = 0.6
_LOOKAHEAD = 4
_MAX_FUZZY_MOVE_PAIRS = 40_000


@dataclass(frozen=True)
class RefInfo:
    """One side of a diff: what the user asked for and the commit it resolved to."""

    ref: str
    commit: str | None


@dataclass(frozen=True)
class Change:
    """A reported change: ``op`` is insert, delete, replace or move."""

    op: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class WordOp:
    """A run of tokens in a word-level diff: equal, insert or delete."""

    op: str
    text: str


@dataclass
class BlockDiff:
    """One block in the redline: equal, insert, delete, modified or moved."""

    status: str
    kind: str
    old: Block | None
    new: Block | None
    words: list[WordOp] = field(default_factory=list)


@dataclass
class SectionDiff:
    """A section of the redline with its status, flags and changes."""

    status: str
    number: str | None
    title: str
    old_number: str | None
    old_title: str | None
    moved: bool = False
    renumbered: bool = False
    retitled: bool = False
    changes: list[Change] = field(default_factory=list)
    blocks: list[BlockDiff] = field(default_factory=list)
    level: int = 0

    @property
    def name(self) -> str:
        """ "Section 7 (Transfer of Data)", a bare title, or "Preamble"."""
        number = self.number if self.status != "removed" else self.old_number
        title = self.title if self.status != "removed" else (self.old_title or "")
        if number:
            return f"Section {number} ({title})" if title else f"Section {number}"
        return title or "Preamble"

    def to_json(self) -> dict[str, Any]:
        """The JSON form documented in the README."""
        return {
            "status": self.status,
            "number": self.number,
            "title": self.title,
            "old_number": self.old_number,
            "old_title": self.old_title,
            "moved": self.moved,
            "renumbered": self.renumbered,
            "retitled": self.retitled,
            "changes": [{"op": c.op, "old": c.old, "new": c.new} for c in self.changes],
        }


@dataclass
class DiffStats:
    """Counts over the whole diff."""

    words_inserted: int = 0
    words_deleted: int = 0
    sections_added: int = 0
    sections_removed: int = 0
    sections_modified: int = 0
    sections_moved: int = 0
    sections_renumbered: int = 0


@dataclass
class DiffResult:
    """The redline of one policy between two revisions."""

    policy: str
    path: str
    from_ref: RefInfo
    to_ref: RefInfo
    classification: str
    stats: DiffStats
    sections: list[SectionDiff]
    renumbered_runs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed_sections(self) -> list[SectionDiff]:
        """Sections with any status or flag other than plain unchanged."""
        return [
            s
            for s in self.sections
            if s.status != "unchanged" or s.moved or s.renumbered or s.retitled
        ]

    @property
    def change_count(self) -> int:
        """Number of reported changes (changed regions) over all sections."""
        return sum(len(section.changes) for section in self.sections)

    def to_json(self) -> dict[str, Any]:
        """The JSON form documented in the README."""
        return {
            "policy": self.policy,
            "path": self.path,
            "from": {"ref": self.from_ref.ref, "commit": self.from_ref.commit},
            "to": {"ref": self.to_ref.ref, "commit": self.to_ref.commit},
            "classification": self.classification,
            "stats": vars(self.stats).copy(),
            "sections": [section.to_json() for section in self.sections],
            "renumbered_runs": self.renumbered_runs,
            "warnings": self.warnings,
        }


def diff_policy(
    repo: PolicyRepo, policy: Policy, from_rev: str | None, to_rev: str | None
) -> DiffResult:
    """Diff ``policy`` between ``from_rev`` and ``to_rev`` (None: the working tree).

    ``from_rev`` None means the policy's last release, or HEAD if it was never released.
    """
    if from_rev is None:
        latest = repo.latest_release(policy)
        from_rev = latest.tag if latest is not None else "HEAD"
    old_snapshot, old_doc = repo.document(policy, from_rev)
    new_snapshot, new_doc = repo.document(policy, to_rev)
    return diff_documents(
        old_doc,
        new_doc,
        policy=policy.slug,
        path=new_snapshot.path,
        from_ref=RefInfo(old_snapshot.ref, old_snapshot.commit),
        to_ref=RefInfo(new_snapshot.ref, new_snapshot.commit),
    )


def diff_documents(
    old: Document,
    new: Document,
    *,
    policy: str = "",
    path: str = "",
    from_ref: RefInfo | None = None,
    to_ref: RefInfo | None = None,
) -> DiffResult:
    """Compute the redline of ``old`` against ``new``."""
    entries = _align(old.blocks, new.blocks)
    _detect_moves(entries)
    _pair_headings_by_body(entries)
    sections = _group_sections(entries, old, new)
    result = DiffResult(
        policy=policy,
        path=path,
        from_ref=from_ref or RefInfo("old", None),
        to_ref=to_ref or RefInfo("new", None),
        classification=_classify(old, new),
        stats=_stats(sections),
        sections=sections,
        renumbered_runs=_renumbered_runs(sections),
    )
    if not any(block.is_heading for block in new.blocks):
        result.warnings.append("the policy has no headings; it was compared as one section")
    return result


# -- alignment ----------------------------------------------------------------------------


def _key(block: Block) -> str:
    if block.is_heading:
        return "\x00h " + " ".join(_WORD.findall((block.title or block.norm).casefold()))
    return block.norm


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


@lru_cache(maxsize=256)
def _token_matcher(old: str, new: str) -> SequenceMatcher[str]:
    """A word-level matcher of two texts, shared by the pairing and the word diff."""
    return SequenceMatcher(None, _tokens(old), _tokens(new), autojunk=False)


def _similarity(old: Block, new: Block) -> float:
    if old.is_heading != new.is_heading:
        return 0.0
    matcher = _token_matcher(old.norm, new.norm)
    if matcher.real_quick_ratio() < _PAIR_THRESHOLD or matcher.quick_ratio() < _PAIR_THRESHOLD:
        return 0.0
    return matcher.ratio()


def _word_ops(old: str, new: str) -> list[WordOp]:
    matcher = _token_matcher(old, new)
    old_tokens, new_tokens = matcher.a, matcher.b
    ops: list[WordOp] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(WordOp("equal", "".join(new_tokens[j1:j2])))
            continue
        if tag in {"delete", "replace"}:
            ops.append(WordOp("delete", "".join(old_tokens[i1:i2])))
        if tag in {"insert", "replace"}:
            ops.append(WordOp("insert", "".join(new_tokens[j1:j2])))
    return ops


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
    matcher = SequenceMatcher(None, [_key(b) for b in old], [_key(b) for b in new], autojunk=False)
    entries: list[BlockDiff] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            entries.extend(
                _pair(old[i], new[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
        elif tag == "delete":
            entries.extend(BlockDiff("delete", old[i].kind, old[i], None) for i in range(i1, i2))
        elif tag == "insert":
            entries.extend(BlockDiff("insert", new[j].kind, None, new[j]) for j in range(j1, j2))
        else:
            entries.extend(_pair_range(old[i1:i2], new[j1:j2]))
    return entries


def _pair_range(old: list[Block], new: list[Block]) -> list[BlockDiff]:
    """Pair the blocks of a replaced range in order, by similarity, with a short look-ahead."""
    entries: list[BlockDiff] = []
    i = j = 0
    while i < len(old) and j < len(new):
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
        by_key.setdefault(_key(entries[index].old), []).append(index)  # type: ignore[arg-type]
    consumed: set[int] = set()
    unmatched_inserts = []
    for index in inserts:
        candidates = by_key.get(_key(entries[index].new))  # type: ignore[arg-type]
        if candidates:
            source = candidates.pop(0)
            consumed.add(source)
            entries[index] = _moved(entries[source].old, entries[index].new)  # type: ignore[arg-type]
        else:
            unmatched_inserts.append(index)
    remaining = [index for index in deletes if index not in consumed]
    if remaining and len(remaining) * len(unmatched_inserts) <= _MAX_FUZZY_MOVE_PAIRS:
        word_sets = {
            index: frozenset(_WORD.findall(entries[index].old.norm.casefold()))  # type: ignore[union-attr]
            for index in remaining
        }
        for index in unmatched_inserts:
            new_block = entries[index].new
            assert new_block is not None
            new_words = frozenset(_WORD.findall(new_block.norm.casefold()))
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


# -- sections -----------------------------------------------------------------------------


def _section_index(document: Document) -> dict[int, int]:
    """Map ``id(block)`` to the index of its section in ``document.sections``."""
    index: dict[int, int] = {}
    for number, section in enumerate(document.sections):
        if section.heading is not None:
            index[id(section.heading)] = number
        for block in section.blocks:
            index[id(block)] = number
    return index


def _group_sections(entries: list[BlockDiff], old: Document, new: Document) -> list[SectionDiff]:
    old_index, new_index = _section_index(old), _section_index(new)
    old_to_new: dict[int, int] = {}
    heading_entries: dict[int, BlockDiff] = {}
    for entry in entries:
        if entry.new is not None and entry.new.is_heading:
            heading_entries[new_index[id(entry.new)]] = entry
            if entry.old is not None and entry.old.is_heading:
                old_to_new[old_index[id(entry.old)]] = new_index[id(entry.new)]
    if (
        old.sections
        and new.sections
        and not old.sections[0].heading
        and not new.sections[0].heading
    ):
        old_to_new.setdefault(0, 0)

    new_to_old = {value: key for key, value in old_to_new.items()}
    diffs: dict[int, SectionDiff] = {}
    removed: dict[int, SectionDiff] = {}
    anchors: dict[int, list[int]] = {}
    current_new = -1
    for entry in entries:
        if entry.new is not None:
            current_new = new_index[id(entry.new)]
            target = _new_section(diffs, current_new, old, new, new_to_old)
        else:
            old_number = old_index[id(entry.old)]
            if old_number in old_to_new:
                target = _new_section(diffs, old_to_new[old_number], old, new, new_to_old)
            else:
                if old_number not in removed:
                    removed[old_number] = _removed_section(old.sections[old_number])
                    anchors.setdefault(current_new, []).append(old_number)
                target = removed[old_number]
        target.blocks.append(entry)

    ordered: list[SectionDiff] = [removed[n] for n in anchors.get(-1, [])]
    for number in range(len(new.sections)):
        if number in diffs:
            ordered.append(diffs[number])
        ordered.extend(removed[n] for n in anchors.get(number, []))
    for number, section_diff in diffs.items():
        _finish(section_diff, heading_entries.get(number), new_to_old.get(number), old_index)
    for section_diff in removed.values():
        section_diff.changes = [
            Change("delete", b.old.norm, None) for b in section_diff.blocks if b.old
        ]
    return ordered


def _new_section(
    diffs: dict[int, SectionDiff],
    number: int,
    old: Document,
    new: Document,
    new_to_old: dict[int, int],
) -> SectionDiff:
    """The diff of new section ``number``, created on first use."""
    if number in diffs:
        return diffs[number]
    section = new.sections[number]
    previous = new_to_old.get(number)
    old_section = old.sections[previous] if previous is not None else None
    diffs[number] = SectionDiff(
        status="unchanged" if old_section is not None else "added",
        number=section.label,
        title=section.title,
        old_number=old_section.label if old_section else None,
        old_title=old_section.title if old_section else None,
        level=section.level,
    )
    return diffs[number]


def _removed_section(section: Section) -> SectionDiff:
    return SectionDiff(
        status="removed",
        number=None,
        title="",
        old_number=section.label,
        old_title=section.title,
        level=section.level,
    )


def _finish(
    section_diff: SectionDiff,
    heading: BlockDiff | None,
    old_number: int | None,
    old_index: dict[int, int],
) -> None:
    """Set the status, flags and change list of a section that exists in the new document.

    An added section lists only what is new in it: text that was there before (under a
    heading it now follows, or moved in from elsewhere) is not reported as inserted.
    """
    section_moved = heading is not None and heading.status == "moved"
    section_diff.moved = section_moved
    if heading is not None and heading.old is not None and heading.new is not None:
        old_label, new_label = heading.old.label, heading.new.label
        section_diff.renumbered = bool(old_label and new_label and old_label != new_label)
        section_diff.retitled = _key(heading.old) != _key(heading.new)
    changes: list[Change] = []
    for block in section_diff.blocks:
        if block.status == "insert":
            changes.append(Change("insert", None, block.new.norm))  # type: ignore[union-attr]
        elif block.status == "delete":
            changes.append(Change("delete", block.old.norm, None))  # type: ignore[union-attr]
        elif block.status == "moved":
            same_origin = old_index.get(id(block.old)) == old_number
            if not (section_moved and same_origin):
                changes.append(Change("move", block.old.norm, block.new.norm))  # type: ignore[union-attr]
            changes.extend(_word_changes(block.words))
        elif block.status == "modified":
            changes.extend(_word_changes(block.words))
    section_diff.changes = changes
    if section_diff.status != "added" and (changes or section_diff.retitled):
        section_diff.status = "modified"


def _word_changes(words: list[WordOp]) -> list[Change]:
    changes: list[Change] = []
    index = 0
    while index < len(words):
        op = words[index]
        if op.op == "delete":
            following = words[index + 1] if index + 1 < len(words) else None
            if following is not None and following.op == "insert":
                changes.append(Change("replace", op.text.strip(), following.text.strip()))
                index += 2
                continue
            changes.append(Change("delete", op.text.strip(), None))
        elif op.op == "insert":
            changes.append(Change("insert", None, op.text.strip()))
        index += 1
    return changes


def _renumbered_runs(sections: list[SectionDiff]) -> list[str]:
    runs: list[list[SectionDiff]] = []
    extends_run = False  # a run goes on across unnumbered sections, not across numbered ones
    for section in sections:
        if section.renumbered and not section.moved:
            if extends_run:
                runs[-1].append(section)
            else:
                runs.append([section])
            extends_run = True
        elif section.number or section.old_number:
            extends_run = False
    lines = []
    for run in runs:
        top_level = min(s.level for s in run)
        top = [s for s in run if s.level == top_level]
        if len(top) == 1 and len(run) == 1:
            lines.append(f"Section {run[0].old_number} renumbered as {run[0].number}")
        else:
            lines.append(
                f"Sections {top[0].old_number}–{top[-1].old_number} renumbered as "
                f"{top[0].number}–{top[-1].number} ({len(run)} headings)"
            )
    return lines


def _stats(sections: list[SectionDiff]) -> DiffStats:
    stats = DiffStats()
    for section in sections:
        stats.sections_added += section.status == "added"
        stats.sections_removed += section.status == "removed"
        stats.sections_modified += section.status == "modified"
        stats.sections_moved += section.moved
        stats.sections_renumbered += section.renumbered
        for block in section.blocks:
            if block.status == "insert" and block.new is not None:
                stats.words_inserted += len(_WORD.findall(block.new.norm))
            elif block.status == "delete" and block.old is not None:
                stats.words_deleted += len(_WORD.findall(block.old.norm))
            else:
                for op in block.words:
                    if op.op == "insert":
                        stats.words_inserted += len(_WORD.findall(op.text))
                    elif op.op == "delete":
                        stats.words_deleted += len(_WORD.findall(op.text))
    return stats


# -- classification -----------------------------------------------------------------------


def _content_words(
    document: Document, memo: dict[tuple[str, str | None], list[str]]
) -> Iterator[str]:
    """The words that carry meaning: no labels, case, punctuation or effective-date line.

    ``memo`` holds each block's words, so the blocks both documents share are read once.
    """
    for block in document.blocks:
        key = (block.norm, block.title if block.is_heading else None)
        words = memo.get(key)
        if words is None:
            if is_date_line(block.norm):
                words = []
            else:
                text = block.title or "" if block.is_heading else _ITEM_LABEL.sub("", block.norm)
                words = _WORD.findall(text.casefold())
            memo[key] = words
        yield from words


def _classify(old: Document, new: Document) -> str:
    if [b.norm for b in old.blocks] == [b.norm for b in new.blocks]:
        return "none"
    memo: dict[tuple[str, str | None], list[str]] = {}
    old_words, new_words = _content_words(old, memo), _content_words(new, memo)
    if all(a == b for a, b in zip_longest(old_words, new_words)):  # stops at the first change
        return "editorial"
    return "material"
