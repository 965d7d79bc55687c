"""A diff described in words: each changed section's change, and a summary of the whole."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from redline.compare.engine import DiffStats
from redline.document.dates import is_date_line
from redline.publish.filters import number_word, plural

if TYPE_CHECKING:
    from redline.compare.engine import BlockDiff, DiffResult, SectionDiff

_WORD = re.compile(r"\w+")
_NOUNS = {
    "paragraph": ("paragraph", "paragraphs"),
    "list_item": ("list item", "list items"),
    "table_row": ("table row", "table rows"),
    "blockquote": ("quotation", "quotations"),
    "code": ("code block", "code blocks"),
    "html": ("HTML block", "HTML blocks"),
}


@dataclass(frozen=True)
class SectionChange:
    """One changed section, described for people."""

    name: str
    number: str | None
    title: str
    old_number: str | None
    old_title: str | None
    status: str
    moved: bool
    renumbered: bool
    retitled: bool
    level: int
    description: str
    blocks_changed: int = 0
    blocks_added: int = 0
    blocks_removed: int = 0
    blocks_moved: int = 0
    words_inserted: int = 0
    words_deleted: int = 0


def _words(text: str | None) -> int:
    return len(_WORD.findall(text)) if text else 0


def _is_date_block(block: BlockDiff) -> bool:
    return all(side is None or is_date_line(side.norm) for side in (block.old, block.new))


def _block_counts(
    blocks: Iterable[BlockDiff], *, section_moved: bool = False
) -> tuple[dict[str, dict[str, int]], int, int]:
    """Changed blocks per action and kind, and the words inserted and deleted.

    Headings (see the retitled flag) and effective-date lines are left out; the blocks of a
    section that moved as a whole count as changed only when their words changed.
    """
    counts: dict[str, dict[str, int]] = {"changed": {}, "new": {}, "removed": {}, "moved": {}}
    inserted = deleted = 0
    action = {"modified": "changed", "insert": "new", "delete": "removed", "moved": "moved"}
    for block in blocks:
        if block.status == "equal" or block.kind == "heading" or _is_date_block(block):
            continue
        kind = block.kind if block.kind in _NOUNS else "paragraph"
        edited = any(op.op != "equal" for op in block.words)
        if block.status == "moved" and section_moved:
            if not edited:
                continue
            bucket = counts["changed"]
        else:
            bucket = counts[action[block.status]]
        bucket[kind] = bucket.get(kind, 0) + 1
        if block.status == "insert":
            inserted += _words(block.new.norm if block.new else None)
        elif block.status == "delete":
            deleted += _words(block.old.norm if block.old else None)
        for op in block.words:
            if op.op == "insert":
                inserted += _words(op.text)
            elif op.op == "delete":
                deleted += _words(op.text)
    return counts, inserted, deleted


def _only_date_changed(section: SectionDiff) -> bool:
    """True when the effective-date line is the section's only changed block."""
    changed = [block for block in section.blocks if block.status != "equal"]
    return bool(changed) and all(_is_date_block(block) for block in changed)


def _phrases(counts: dict[str, dict[str, int]]) -> list[str]:
    phrases = []
    for action, by_kind in counts.items():
        for kind, count in by_kind.items():
            singular, plural_form = _NOUNS[kind]
            noun = plural(count, singular, plural_form)
            if action == "new":
                phrases.append(f"new {noun}" if count == 1 else f"{number_word(count)} new {noun}")
            else:
                phrases.append(f"{number_word(count)} {noun} {action}")
    return phrases


def describe_section(section: SectionDiff) -> SectionChange | None:
    """The section's change in words, or None when it only moved in numbering (see runs)."""
    counts, inserted, deleted = _block_counts(section.blocks, section_moved=section.moved)
    if section.status == "added":
        phrases = ["new section"]
    elif section.status == "removed":
        phrases = ["section removed"]
    else:
        phrases = _phrases(counts)
        if section.retitled:
            phrases.insert(0, f"retitled (was “{section.old_title}”)")
        if section.moved:
            was = section.renumbered and section.old_number
            phrases.insert(0, f"moved (was Section {was})" if was else "moved")
        if not phrases:
            if section.status == "unchanged" or _only_date_changed(section):
                return None
            phrases = ["wording adjusted" if inserted or deleted else "formatting changed"]
    return SectionChange(
        name=section.name,
        number=section.number,
        title=section.title,
        old_number=section.old_number,
        old_title=section.old_title,
        status=section.status,
        moved=section.moved,
        renumbered=section.renumbered,
        retitled=section.retitled,
        level=section.level,
        description=", ".join(phrases),
        blocks_changed=sum(counts["changed"].values()),
        blocks_added=sum(counts["new"].values()),
        blocks_removed=sum(counts["removed"].values()),
        blocks_moved=sum(counts["moved"].values()),
        words_inserted=inserted,
        words_deleted=deleted,
    )


def describe_changes(diff: DiffResult) -> list[SectionChange]:
    """Every changed section of ``diff`` in document order, described for people."""
    changes = []
    for section in diff.sections:
        change = describe_section(section)
        if change is not None:
            changes.append(change)
    return changes


def generate_summary(diff: DiffResult, *, limit: int = 8) -> str:
    """A summary that reads as if a person wrote it, from the section changes of ``diff``.

    "Section 7 (Transfer of Data): one paragraph changed; Section 13 (Service Providers):
    new paragraph."
    """
    changes = describe_changes(diff)
    runs = [line.rstrip(".") for line in diff.renumbered_runs]
    if diff.classification == "none":
        return "No changes to the text."
    if diff.classification == "editorial":
        names = [change.name for change in changes[:limit]]
        if len(changes) > limit:
            names.append(f"{number_word(len(changes) - limit)} more")
        where = f" in {_join_and(names)}" if names else ""
        extra = "; " + "; ".join(runs) if runs else ""
        return f"Editorial changes only, no change of wording{where}{extra}."
    parts = [f"{change.name}: {change.description}" for change in changes[:limit]]
    if len(changes) > limit:
        rest = len(changes) - limit
        parts.append(f"{number_word(rest)} more {plural(rest, 'section')} changed")
    parts.extend(runs)
    return "; ".join(parts) + "." if parts else "Changes to the text."


def _join_and(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def stats_dict(diff: DiffResult | None) -> dict[str, int]:
    """The diff's statistics as a plain mapping (all zero without a diff)."""
    stats = diff.stats if diff else DiffStats()
    return {item.name: int(getattr(stats, item.name)) for item in fields(DiffStats)}
