"""The HTML redline: a fragment the site embeds and the standalone page wraps
(:mod:`redline.publish.redline_page`); its styles are ``templates/redline.css.j2``.

Inside ``<div class="redline" id="redline">``, in this order:

1. the title (heading level ``heading_level``; the parts and each change one level below),
   the two versions as readers know them
   (:class:`Sides`: titles and dates, never slugs or refs), the summary and a legend;
2. ``<nav aria-label="Changes">``: the list of changes, each linking to ``#change-N``;
3. the full document (``id="full-text"``): every block in order, deleted blocks at their
   old place, changed ones marked in place (``<section id="change-N">``, with previous/next
   links), runs of unchanged blocks collapsed in ``<details>``; a moved section leaves a
   note at its old place (``#moved-N``), and each links to the other;
4. the changes only (``id="changes"``), as the Markdown and text renderings show them.

The full document comes first: a lawyer reads a change in its context, and prints it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redline.compare.html_marks import block_html, fallback_html, marked_html, whole_html
from redline.compare.stats import is_change, is_date_change
from redline.compare.views import DATE_LINE, Shown, changed_blocks, layout, summary_lines

if TYPE_CHECKING:
    from redline.compare.engine import BlockDiff, DiffResult, SectionDiff

_esc = html.escape
_CLASS_LABEL = {"none": "No change", "editorial": "Editorial change", "material": "Material change"}
#: What a reader calls the part before the first numbered section.
OPENING = "Opening text"
#: The most changes listed open; a longer list is folded.
LONG_LIST = 12
#: The title of the full document with its changes: a region, not a heading, so that each
#: change is one level below the redline's title.
FULL_TEXT = "Full text with the changes"
_LEGEND = (
    '<div class="legend" role="note"><p>How to read this redline:</p><ul>'
    '<li><span class="sample-del">Deleted text</span> is struck through.</li>'
    '<li><span class="sample-ins">Inserted text</span> is double-underlined.</li>'
    '<li>A changed punctuation mark is boxed: <span class="sample-punct">;</span></li>'
    '<li><span class="sample-moved">Moved text</span> has a bar at its side and says where it '
    "was.</li></ul></div>"
)


@dataclass(frozen=True)
class Sides:
    """What readers call the policy and its two versions: "Privacy Policy", "version 3
    (effective 1 March 2026)", "version 4"; or "as of 2 March 2026", "working copy"."""

    title: str
    old: str
    new: str

    @classmethod
    def of(cls, result: DiffResult) -> Sides:
        """The names a diff knows by itself (its policy and refs), when nothing better is."""
        return cls(result.policy or result.path, result.from_ref.ref, result.to_ref.ref)


def reader_name(section: SectionDiff) -> str:
    """A section's name for readers: the document's first part when it is unnumbered and
    untitled or under the document's title (an H1) is the opening text."""
    first = 0 in {section.new_index, section.old_index}
    unnumbered = section.number is None and section.old_number is None
    if first and unnumbered and section.level <= 1:
        return OPENING
    return section.name


def render_html(result: DiffResult, *, heading_level: int = 2, sides: Sides | None = None) -> str:
    """The redline fragment (see the module docstring): its title at ``heading_level``; the
    change list, each change and the changes only one level below."""
    sides = sides or Sides.of(result)
    level = heading_level
    entries = layout(result, everything=True)
    changes = [entry for entry in entries if entry.kind == "section"]
    numbers = {id(entry.section): n for n, entry in enumerate(changes, 1)}
    parts = [
        '<div class="redline" id="redline">',
        f"<h{level}>Redline: {_esc(sides.title)}</h{level}>",
        f'<p class="sides">{_esc(sides.old)} → {_esc(sides.new)}</p>',
        _summary(result),
        _LEGEND,
    ]
    if changes:
        parts.append(_change_list(changes, numbers, level + 1))
    blocks = _Blocks()  # each changed block is shown twice: marked once
    parts.append(_FullText(numbers, len(changes), level + 1, blocks).render(entries))
    parts.append(_changes_only(result, changes, level + 1, blocks))
    parts.append("</div>")
    return "\n".join(parts)


def _summary(result: DiffResult) -> str:
    lines = summary_lines(result)[1:]  # the first names the policy and its refs
    items = "".join(f"<li>{_esc(line)}</li>" for line in lines)
    head = f'<p class="classification">{_CLASS_LABEL[result.classification]}</p>'
    return f'<div class="summary">{head}<ul>{items}</ul></div>' if items else head


def _change_list(changes: list[Shown], numbers: dict[int, int], level: int) -> str:
    items = "".join(
        f'<li><a href="#change-{numbers[id(e.section)]}">{_esc(reader_name(e.section))}</a>'
        f' <span class="status">— {_esc(e.status)}</span></li>'
        for e in changes
    )
    title = f"<h{level}>Changes ({len(changes)})</h{level}>"
    if len(changes) > LONG_LIST:  # folded, so that a phone reaches the text
        return (
            f'<nav aria-label="Changes" id="change-list"><details><summary>{title}</summary>'
            f"<ol>{items}</ol></details></nav>"
        )
    return f'<nav aria-label="Changes" id="change-list">{title}<ol>{items}</ol></nav>'


def _status(entry: Shown, n: int, tag: str = "div") -> str:
    """The status line; at a moved section's new place, "moved from …" links to the old."""
    status = _esc(entry.status)
    if entry.kind == "section" and entry.section.moved:
        moved = _esc(f"moved from {entry.section.moved_from}")
        status = status.replace(moved, f'<a href="#moved-{n}">{moved}</a>', 1)
    return f'<{tag} class="status">{status}</{tag}>'


def _block(block: BlockDiff, note: str | None = None) -> str:
    """One changed block as HTML, with its moved note."""
    body = _body(block)
    if note:
        return f'<div class="block moved"><div class="moved-note">{_esc(note)}</div>{body}</div>'
    return f'<div class="block {_kind(block)}">{body}</div>'


def _body(block: BlockDiff) -> str:
    """A changed block's text, marked."""
    if block.status == "insert" and block.new is not None:
        return whole_html("insert", block.new)
    if block.status == "delete" and block.old is not None:
        return whole_html("delete", block.old)
    if block.status == "reflowed":
        return block_html(block.new) if block.new is not None else ""
    return marked_html(block, block.words) if is_change(block) else block_html(block.new)


class _Blocks(dict[tuple[int, str | None], str]):
    """:func:`_block` of each block and note, kept for the one redline being rendered."""

    def __call__(self, block: BlockDiff, note: str | None = None) -> str:
        key = (id(block), note)
        if key not in self:
            self[key] = _block(block, note)
        return self[key]


def _kind(block: BlockDiff) -> str:
    shown = block.new or block.old
    return (shown.kind if shown else "paragraph").replace("_", "-")


def _stepper(n: int, count: int) -> str:
    steps = []
    if n > 1:
        steps.append(f'<a href="#change-{n - 1}">← previous change</a>')
    steps.append('<a href="#change-list">list of changes</a>')
    if n < count:
        steps.append(f'<a href="#change-{n + 1}">next change →</a>')
    return f'<nav class="stepper" aria-label="Change {n} of {count}">{"".join(steps)}</nav>'


def _title(section: SectionDiff, changed: dict[int, str | None]) -> tuple[str, bool]:
    """A changed section's heading in the full document, and whether it is its first block:
    its heading as the document has it (as an unchanged section's reads), marked when it
    changed; its reader name for the opening text and when it has no heading."""
    name = reader_name(section)
    first = section.blocks[0] if section.blocks else None
    if name == OPENING or first is None or first.kind != "heading" or changed.get(0):
        return _esc(name), False  # a moved heading is shown with its note below
    if 0 in changed:
        return _body(first), True
    return (block_html(first.new), True) if first.new is not None else (_esc(name), False)


class _FullText:
    """The full document with the changes in place (item 3 of the module docstring)."""

    def __init__(self, numbers: dict[int, int], count: int, level: int, blocks: _Blocks) -> None:
        self.numbers, self.count, self.level, self.blocks = numbers, count, level, blocks
        self.parts: list[str] = []
        self.quiet: list[str] = []  # the unchanged blocks not yet written

    def render(self, entries: list[Shown]) -> str:
        for entry in entries:
            if entry.kind == "unchanged":
                self._unchanged(entry.section)
            elif entry.kind == "left":
                self._flush()
                n = self.numbers[id(entry.section)]
                self.parts.append(
                    f'<section id="moved-{n}" class="moved-away"><p class="moved-away-name">'
                    f'{_esc(reader_name(entry.section))}: <a href="#change-{n}">'
                    f"{_esc(entry.status)}</a></p></section>"
                )
            elif entry.kind == "section":
                self._section(entry)
        self._flush()
        body = "\n".join(self.parts) or "<p>No text.</p>"
        return (
            '<section id="full-text" aria-labelledby="full-text-title">'
            f'<p class="part-title" id="full-text-title">{FULL_TEXT}</p>{body}</section>'
        )

    def _section(self, entry: Shown) -> None:
        self._flush()
        n, h = self.numbers[id(entry.section)], self.level
        section = entry.section
        changed = {index: note for index, note, _block in changed_blocks(section)}
        title, heading = _title(section, changed)
        self.parts.append(
            f'<section id="change-{n}" class="change"><h{h}>{title}</h{h}>{_status(entry, n)}'
        )
        for index, block in enumerate(section.blocks):
            if index == 0 and heading:
                continue
            if index in changed:
                self._flush()
                self.parts.append(self.blocks(block, changed[index]))
            elif block.new is not None and block.kind != "heading":
                self.quiet.append(
                    f'<div class="block {_kind(block)}">{block_html(block.new)}</div>'
                )
        self._flush()
        self.parts.append(_stepper(n, self.count) + "</section>")

    def _unchanged(self, section: SectionDiff) -> None:
        """An unchanged section: quiet, but for a changed effective-date line (not counted)."""
        for block in section.blocks:
            if is_date_change(block):
                self._flush()
                self.parts.append(
                    f'<div class="block date-line"><div class="date-note">{_esc(DATE_LINE)}'
                    f"</div>{marked_html(block, block.words)}</div>"
                )
            elif block.new is not None and block.kind == "heading":
                self._flush()  # an unchanged section's heading stays in sight
                self.parts.append(f'<p class="block heading">{block_html(block.new)}</p>')
            elif block.new is not None:
                self.quiet.append(
                    f'<div class="block {_kind(block)}">{block_html(block.new)}</div>'
                )

    def _flush(self) -> None:
        if not self.quiet:
            return
        count = len(self.quiet)
        label = f"{count} unchanged paragraph{'s' if count != 1 else ''}"
        self.parts.append(
            f'<details class="unchanged"><summary>{label}</summary>'
            f'<div class="unchanged-text">{"".join(self.quiet)}</div></details>'
        )
        self.quiet = []


def _changes_only(result: DiffResult, changes: list[Shown], level: int, blocks: _Blocks) -> str:
    """The changed sections and their changed blocks only, as the other renderings show."""
    parts = [f'<section id="changes"><h{level}>Changes only</h{level}>']
    for entry in layout(result):
        if entry.kind == "left":
            continue
        name = entry.name if entry.kind == "date" else reader_name(entry.section)
        parts.append(f'<div class="entry"><h{level + 1}>{_esc(name)}')
        parts.append(f'</h{level + 1}><p class="status">{_esc(entry.status)}</p>')
        if entry.kind == "date":
            parts.extend(f'<div class="block">{fallback_html(w)}</div>' for _n, w in entry.blocks)
        else:
            parts.extend(blocks(block, note) for _i, note, block in changed_blocks(entry.section))
        parts.append("</div>")
    if not changes:
        parts.append("<p>No changes.</p>")
    parts.append("</section>")
    return "".join(parts)
