"""Sections of a redline: aligned blocks grouped into the sections they belong to, with stats.

Step 4 of :mod:`redline.compare.engine`.
"""

from __future__ import annotations

from redline.compare.align import block_key
from redline.compare.engine import BlockDiff, Change, SectionDiff, WordOp
from redline.compare.stats import DiffStats, count_section, is_change, total
from redline.document.model import Document, Section


def _section_index(document: Document) -> dict[int, int]:
    """Map ``id(block)`` to the index of its section in ``document.sections``."""
    index: dict[int, int] = {}
    for number, section in enumerate(document.sections):
        if section.heading is not None:
            index[id(section.heading)] = number
        for block in section.blocks:
            index[id(block)] = number
    return index


def group_sections(entries: list[BlockDiff], old: Document, new: Document) -> list[SectionDiff]:
    """The sections of the redline in new-document order, removed ones where they stood."""
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
                    removed[old_number] = _removed_section(old.sections[old_number], old_number)
                    anchors.setdefault(current_new, []).append(old_number)
                target = removed[old_number]
        target.blocks.append(entry)

    ordered: list[SectionDiff] = [removed[n] for n in anchors.get(-1, [])]
    for number in range(len(new.sections)):
        if number in diffs:
            ordered.append(diffs[number])
        ordered.extend(removed[n] for n in anchors.get(number, []))
    places = _Places(old, new, old_to_new)
    for number, section_diff in diffs.items():
        _finish(section_diff, heading_entries.get(number), places, old_index)
    for section_diff in removed.values():
        section_diff.changes = [
            Change("delete", b.old.norm, None) for b in section_diff.blocks if b.old
        ]
        section_diff.stats = count_section(section_diff, ())
    return ordered


class _Places:
    """Where sections stand in the old and new documents, in words for readers."""

    def __init__(self, old: Document, new: Document, old_to_new: dict[int, int]) -> None:
        self.old, self.new, self.old_to_new = old, new, old_to_new

    def same_neighbour(self, old_number: int, new_number: int) -> bool:
        """True when the section follows the same section in both documents."""
        if old_number == 0 or new_number == 0:
            return old_number == new_number
        return self.old_to_new.get(old_number - 1) == new_number - 1

    def origin(self, number: int | None, own: int | None) -> str:
        """The old section a block came from, by name ("" for the section's own)."""
        if number is None or number == own:
            return ""
        return self.old.sections[number].display_name

    def where(self, document: Document, number: int) -> str:
        """ "after Section 8 (Retention)": the place of section ``number``, named by the
        section just before it; "the start" after the preamble, the title or nothing."""
        if number == 0:
            return "the start"
        before = document.sections[number - 1]
        if before.heading is None or (number == 1 and before.title == document.title):
            return "the start"
        return f"after {before.display_name}"


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
        old_index=previous,
        new_index=number,
    )
    return diffs[number]


def _removed_section(section: Section, number: int) -> SectionDiff:
    return SectionDiff(
        status="removed",
        number=None,
        title="",
        old_number=section.label,
        old_title=section.title,
        level=section.level,
        old_index=number,
    )


def _finish(
    section_diff: SectionDiff,
    heading: BlockDiff | None,
    places: _Places,
    old_index: dict[int, int],
) -> None:
    """Set the status, flags, changes and counts of a section of the new document.

    A section whose heading moved carries its blocks along: those are no moves of their
    own. It is reported as moved when it no longer follows the section it followed (a
    subsection that moved with its parent is not). An added section lists only what is new
    in it: text that was there before (under a heading it now follows, or moved in from
    elsewhere) is not reported as inserted. Effective-date lines are never changes.
    """
    old_number, new_number = section_diff.old_index, section_diff.new_index
    carried = heading is not None and heading.status == "moved"
    if (
        carried
        and old_number is not None
        and new_number is not None
        and not places.same_neighbour(old_number, new_number)
    ):
        section_diff.moved = True
        section_diff.moved_from = places.where(places.old, old_number)
        section_diff.moved_to = places.where(places.new, new_number)
    if heading is not None and heading.old is not None and not heading.old.is_heading:
        heading = None  # a paragraph made this heading: the section is new, not retitled
    if heading is not None and heading.old is not None and heading.new is not None:
        old_label, new_label = heading.old.label, heading.new.label
        section_diff.renumbered = bool(old_label and new_label and old_label != new_label)
        section_diff.retitled = block_key(heading.old) != block_key(heading.new)
    changes: list[Change] = []
    for index, block in enumerate(section_diff.blocks):
        if not is_change(block):
            continue
        if block.status == "insert":
            changes.append(Change("insert", None, block.new.norm))  # type: ignore[union-attr]
        elif block.status == "delete":
            changes.append(Change("delete", block.old.norm, None))  # type: ignore[union-attr]
        elif block.status == "moved":
            origin = old_index.get(id(block.old))
            if not (carried and origin == old_number):
                section_diff.moved_blocks[index] = places.origin(origin, old_number)
                changes.append(Change("move", block.old.norm, block.new.norm))  # type: ignore[union-attr]
            changes.extend(_word_changes(block.words))
        else:
            changes.extend(_word_changes(block.words))
    section_diff.changes = changes
    section_diff.stats = count_section(section_diff, section_diff.moved_blocks)
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


def renumbered_runs(sections: list[SectionDiff]) -> list[str]:
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


def section_stats(sections: list[SectionDiff]) -> DiffStats:
    """The counts of the whole diff (see :mod:`redline.compare.stats`)."""
    return total(sections)
