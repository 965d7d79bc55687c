"""The counts of a redline: one :class:`SectionStats` per section, and their sum.

Every count any page shows (the summary lines, the changelog entry, the site, the email, the
JSON) is read from these objects; nothing recounts. The rules, computed once here:

* Words: every word inserted or deleted in the redline, headings included (a retitled
  heading's words count), as :mod:`redline.compare.tokens` counts them: noise (link targets,
  punctuation, case, attribute lists, hard breaks, paragraphs split or merged) is no words.
* Blocks: changed, added, removed and moved paragraphs, list items, table rows ... (headings
  are not blocks here: they show as the section's retitled flag or as an added or removed
  section). A block that moved together with its section counts only if its words changed,
  as changed.
* The effective-date line is never counted, neither in words nor in blocks nor in a section's
  status: a change of it is reported once, as ``date_line_changed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from redline.compare.tokens import count_words

if TYPE_CHECKING:
    from collections.abc import Iterable

    from redline.compare.engine import BlockDiff, SectionDiff

#: What happened to a counted block, and the block statuses that lead there.
ACTIONS = ("changed", "added", "removed", "moved")
_ACTION = {"modified": "changed", "insert": "added", "delete": "removed", "moved": "moved"}


def is_change(block: BlockDiff) -> bool:
    """True for a block the redline shows as changed: not equal, not reflowed, not a date."""
    return block.status in _ACTION and not block.date_line


def is_date_change(block: BlockDiff) -> bool:
    """True for a changed effective-date line (reported once, never counted)."""
    return block.status in _ACTION and block.date_line


def edited(block: BlockDiff) -> bool:
    """True when ``block``'s own words changed (a moved block may be unchanged)."""
    return any(op.op != "equal" for op in block.words)


@dataclass
class SectionStats:
    """The counts of one section. ``kinds`` maps an action to block kinds and counts."""

    words_inserted: int = 0
    words_deleted: int = 0
    date_line_changed: bool = False
    kinds: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    def blocks(self, action: str) -> int:
        """How many blocks had ``action`` (changed, added, removed, moved)."""
        return sum(self.kinds.get(action, {}).values())

    @property
    def blocks_changed(self) -> int:
        """Blocks whose words changed in place."""
        return self.blocks("changed")

    @property
    def blocks_added(self) -> int:
        """New blocks."""
        return self.blocks("added")

    @property
    def blocks_removed(self) -> int:
        """Removed blocks."""
        return self.blocks("removed")

    @property
    def blocks_moved(self) -> int:
        """Blocks moved here from elsewhere (not with their section)."""
        return self.blocks("moved")

    def to_json(self) -> dict[str, Any]:
        """The JSON form documented in the README."""
        return {
            "words_inserted": self.words_inserted,
            "words_deleted": self.words_deleted,
            **{f"blocks_{action}": self.blocks(action) for action in ACTIONS},
            "date_line_changed": self.date_line_changed,
        }


@dataclass
class DiffStats:
    """Counts over the whole diff: the sum of its sections' :class:`SectionStats`."""

    words_inserted: int = 0
    words_deleted: int = 0
    sections_added: int = 0
    sections_removed: int = 0
    sections_modified: int = 0
    sections_moved: int = 0
    sections_renumbered: int = 0
    blocks_changed: int = 0
    blocks_added: int = 0
    blocks_removed: int = 0
    blocks_moved: int = 0
    date_line_changed: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        """The counts as a plain mapping (the JSON ``stats`` and template ``stats``)."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


def count_section(section: SectionDiff, moved_in: Iterable[int]) -> SectionStats:
    """The counts of ``section``; ``moved_in`` are the indexes of blocks moved into it."""
    moved_here = set(moved_in)
    stats = SectionStats()
    for index, block in enumerate(section.blocks):
        if block.status not in _ACTION:
            continue
        if block.date_line:
            stats.date_line_changed = True
            continue
        if block.status == "insert" and block.new is not None:
            stats.words_inserted += count_words(block.new.norm)
        elif block.status == "delete" and block.old is not None:
            stats.words_deleted += count_words(block.old.norm)
        for op in block.words:
            if op.op == "insert":
                stats.words_inserted += op.words
            elif op.op == "delete":
                stats.words_deleted += op.words
        if block.kind == "heading":
            continue
        action = _ACTION[block.status]
        if action == "moved" and index not in moved_here:
            if not edited(block):
                continue
            action = "changed"
        by_kind = stats.kinds.setdefault(action, {})
        by_kind[block.kind] = by_kind.get(block.kind, 0) + 1
    return stats


def total(sections: Iterable[SectionDiff]) -> DiffStats:
    """The diff's counts: section statuses and flags, and the sum of the sections' stats."""
    result = DiffStats()
    for section in sections:
        result.sections_added += section.status == "added"
        result.sections_removed += section.status == "removed"
        result.sections_modified += section.status == "modified"
        result.sections_moved += section.moved
        result.sections_renumbered += section.renumbered
        stats = section.stats
        result.words_inserted += stats.words_inserted
        result.words_deleted += stats.words_deleted
        result.blocks_changed += stats.blocks_changed
        result.blocks_added += stats.blocks_added
        result.blocks_removed += stats.blocks_removed
        result.blocks_moved += stats.blocks_moved
        result.date_line_changed = result.date_line_changed or stats.date_line_changed
    return result
