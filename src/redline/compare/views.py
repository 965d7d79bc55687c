"""Renderings of a redline: terminal (rich), Markdown, and plain text, and what every
rendering shares (the summary, the entries in reading order, the blocks each shows); the HTML
redline is :mod:`redline.compare.html_view` (:func:`render_html` is re-exported here).

Every renderer shows the summary first, then each changed section with its changed blocks.
All policy text is escaped for the target format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from redline.compare.engine import BlockDiff, DiffResult, Reason, SectionDiff, WordOp
from redline.compare.stats import edited, is_change, is_date_change
from redline.compare.tokens import break_lines
from redline.md import md_escape
from redline.vocab import Classification

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from rich.console import Console

#: The summary line of a changed effective-date line, and its place in the redline.
DATE_LINE = "Effective-date line changed (not counted)"
DATE_LINE_NAME = "Effective-date line"
_TAGS = {"insert": ("<ins>", "</ins>"), "delete": ("<del>", "</del>")}


def _marked(
    words: list[WordOp], lines: Callable[[str], str], marks: dict[str, tuple[str, str]]
) -> str:
    """``words`` written with ``lines`` (escape and line breaks), each changed run between
    the marks of its op. A hard line break added is shown as the break it is, one taken out
    not at all: neither is text to mark."""
    parts = []
    for op in words:
        if op.op not in marks:
            parts.append(lines(op.text))
        elif op.kind == "hard-breaks":
            parts.append(lines(op.text) if op.op == "insert" else "")
        else:
            parts.append(marks[op.op][0] + lines(op.text) + marks[op.op][1])
    return "".join(parts)


_CLASS_LABEL = {
    Classification.NONE: "No change",
    Classification.EDITORIAL: "Editorial change",
    Classification.MATERIAL: "Material change",
}


def reason_words(reason: Reason) -> str:
    """What a reason says to readers, without its classification (said before it):
    "words changed in 2 sections", "link targets (3)". Its JSON keeps ``code`` and ``text``."""
    return reason.detail + (f" ({reason.count})" if reason.count else "")


def why(phrases: Iterable[str]) -> str:
    """The reasons' words as one line: "Words changed in 2 sections; section moved"."""
    said = "; ".join(phrases)
    return said[:1].upper() + said[1:]


def summary_lines(result: DiffResult) -> list[str]:
    """Human-readable summary: classification, reasons, counts, moves, the date line, runs.

    Every count is read from ``result.stats`` (see :mod:`redline.compare.stats`).
    """
    stats = result.stats
    counts = [
        f"{n} {label}"
        for n, label in (
            (stats.sections_modified, "modified"),
            (stats.sections_added, "added"),
            (stats.sections_removed, "removed"),
            (stats.sections_moved, "moved"),
            (stats.sections_renumbered, "renumbered"),
        )
        if n
    ]
    lines = [
        f"{_CLASS_LABEL[result.classification]}: {result.policy or result.path} "
        f"({result.from_ref.ref} → {result.to_ref.ref})"
    ]
    if result.reasons:
        lines.append("Why: " + why(map(reason_words, result.reasons)))
    if counts:
        lines.append("Sections: " + ", ".join(counts))
    lines.extend(
        f"Moved: {s.name}, from {s.moved_from} to {s.moved_to}" for s in result.sections if s.moved
    )
    if stats.words_inserted or stats.words_deleted:
        lines.append(f"Words: {stats.words_inserted} inserted, {stats.words_deleted} deleted")
    if stats.date_line_changed:
        lines.append(DATE_LINE)
    lines.extend(result.renumbered_runs)
    lines.extend(f"Warning: {warning}" for warning in result.warnings)
    return lines


def section_status(section: SectionDiff) -> str:
    """ "modified, moved from after Section 8 (Retention)", "unchanged, renumbered (was 6)"."""
    parts = [section.status]
    if section.moved:
        parts.append(f"moved from {section.moved_from}")
    if section.renumbered:
        parts.append(f"renumbered (was {section.old_number})")
    if section.retitled:
        parts.append(f"retitled (was “{section.old_title}”)")
    return ", ".join(parts)


class Shown(NamedTuple):
    """One entry of a rendering: a section at its place, the old place of a moved section
    (``kind`` "left"), or a changed effective-date line ("date", never counted)."""

    kind: str
    section: SectionDiff
    name: str
    status: str
    blocks: list[tuple[str | None, list[WordOp]]]


def layout(result: DiffResult, *, everything: bool = False) -> list[Shown]:
    """What a rendering shows, in reading order: each shown section (``everything``: each
    section), the old place of each moved section after the section that preceded it there,
    and each changed date line."""
    after: dict[int | None, list[SectionDiff]] = {}
    known = {s.old_index for s in result.sections if s.old_index is not None}
    for section in result.sections:
        if section.moved and section.old_index is not None:
            earlier = [n for n in known if n < section.old_index]
            after.setdefault(max(earlier) if earlier else None, []).append(section)
    shown = [_left(s) for s in after.get(None, [])]
    for section in result.sections:
        blocks = shown_blocks(section)
        if section.status != "unchanged" or section.moved or blocks:
            shown.append(Shown("section", section, section.name, section_status(section), blocks))
        elif everything:
            shown.append(Shown("unchanged", section, section.name, section.status, []))
        dates = [(None, b.words) for b in section.blocks if is_date_change(b)]
        if dates:
            shown.append(Shown("date", section, DATE_LINE_NAME, "changed, not counted", dates))
        if section.old_index is not None:
            shown.extend(_left(s) for s in after.get(section.old_index, []))
    return shown


def _left(section: SectionDiff) -> Shown:
    return Shown("left", section, section.name, f"moved to {section.moved_to}", [])


def changed_blocks(section: SectionDiff) -> list[tuple[int, str | None, BlockDiff]]:
    """The blocks a rendering shows as changed, each with its index and its note ("Moved
    from Section 9 (Security)", or None): the changed blocks, or all of an added or removed
    section.

    A block that moved together with its section is shown only when its words changed, and
    is not called moved.
    """
    whole = section.status in {"added", "removed"}
    shown: list[tuple[int, str | None, BlockDiff]] = []
    for index, block in enumerate(section.blocks):
        if not (_whole_shows(block) if whole else _shows(section, index, block)):
            continue
        origin = section.moved_blocks.get(index)
        note = None
        if origin is not None:
            note = f"Moved from {origin}" if origin else "Moved within this section"
        shown.append((index, note, block))
    return shown


def shown_blocks(section: SectionDiff) -> list[tuple[str | None, list[WordOp]]]:
    """The :func:`changed_blocks` of ``section``, each as its note and its words. A link
    target, URL or e-mail address is one token: a changed one is shown whole, old and new."""
    shown: list[tuple[str | None, list[WordOp]]] = []
    for _index, note, block in changed_blocks(section):
        if block.status == "insert" and block.new is not None:
            shown.append((note, [WordOp("insert", block.new.norm)]))
        elif block.status == "delete" and block.old is not None:
            shown.append((note, [WordOp("delete", block.old.norm)]))
        else:
            shown.append((note, block.words))
    return shown


def _whole_shows(block: BlockDiff) -> bool:
    return not (block.date_line and block.status != "equal")


def _shows(section: SectionDiff, index: int, block: BlockDiff) -> bool:
    if not is_change(block) or (block.kind == "heading" and block.status != "modified"):
        return False
    carried = block.status == "moved" and index not in section.moved_blocks
    return not carried or edited(block)


# -- Markdown -----------------------------------------------------------------------------


def _md(text: str) -> str:
    return md_escape(text, entities=True)


def _md_lines(text: str) -> str:
    return break_lines(text, _md, "<br>")


def _md_block(note: str | None, words: list[WordOp]) -> str:
    text = _marked(words, _md_lines, _TAGS)
    return f"*{_md(note)}:* {text}" if note else text


def render_markdown(result: DiffResult, *, heading_level: int = 3) -> str:
    """GitHub-flavoured Markdown for pull-request comments and changelogs."""
    hashes = "#" * heading_level
    out = [f"{hashes} Redline: {_md(result.policy or result.path)}", ""]
    out.extend(f"- {_md(line)}" for line in summary_lines(result))
    out.append("")
    shown = layout(result)
    for entry in shown:
        out.extend([f"{hashes}# {_md(entry.name)} — {_md(entry.status)}", ""])
        for note, words in entry.blocks:
            out.extend([f"> {_md_block(note, words)}", ""])
    if not shown:
        out.append("No changes.")
    return "\n".join(out).rstrip() + "\n"


# -- plain text and terminal --------------------------------------------------------------

_MARKERS = {"insert": ("{+", "+}"), "delete": ("[-", "-]")}


def _text_lines(text: str) -> str:
    return break_lines(text, str, "\n   ")


def _text_block(note: str | None, words: list[WordOp]) -> str:
    text = _marked(words, _text_lines, _MARKERS)
    return f"({note[0].lower()}{note[1:]}) {text}" if note else text


def render_text(result: DiffResult) -> str:
    """Plain text with ``[-deleted-]`` and ``{+inserted+}`` markers, as wdiff prints."""
    out = list(summary_lines(result))
    for entry in layout(result):
        out.extend(["", f"{entry.name} — {entry.status}"])
        out.extend(f"  {_text_block(note, words)}" for note, words in entry.blocks)
    return "\n".join(out) + "\n"


def render_terminal(result: DiffResult, console: Console) -> None:
    """Print the redline with rich: strike-through deletions, underlined insertions."""
    if not console.is_terminal:
        console.file.write(render_text(result))
        return
    from rich.text import Text

    for number, line in enumerate(summary_lines(result)):
        console.print(Text(line, style="" if number else "bold"))
    for entry in layout(result):
        console.print()
        console.print(Text(f"{entry.name} — {entry.status}", style="bold cyan"))
        for note, words in entry.blocks:
            console.print(_rich_block(note, words, Text))


def _rich_block(note: str | None, words: list[WordOp], text_cls: type) -> object:
    styles = {"insert": "green underline", "delete": "red strike"}
    line = text_cls("  ")
    if note:
        line.append(f"({note[0].lower()}{note[1:]}) ", style="magenta italic")
    for op in words:
        line.append(_text_lines(op.text), style=styles.get(op.op, ""))
    return line


def __getattr__(name: str) -> object:
    """``render_html`` of :mod:`redline.compare.html_view`, which imports this module."""
    if name == "render_html":
        from redline.compare.html_view import render_html

        return render_html
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
