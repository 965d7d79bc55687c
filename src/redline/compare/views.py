"""Renderings of a redline: terminal (rich), Markdown, standalone HTML, and plain text.

Every renderer shows the summary first, then each changed section with its changed blocks.
All policy text is escaped for the target format.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from redline.compare.engine import BlockDiff, DiffResult, SectionDiff
from redline.md import md_escape
from redline.vocab import Classification

if TYPE_CHECKING:
    from rich.console import Console

_CLASS_LABEL = {
    Classification.NONE: "No change",
    Classification.EDITORIAL: "Editorial change",
    Classification.MATERIAL: "Material change",
}


def summary_lines(result: DiffResult) -> list[str]:
    """Human-readable summary: classification, counts and renumbering runs."""
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
    if counts:
        lines.append("Sections: " + ", ".join(counts))
    if stats.words_inserted or stats.words_deleted:
        lines.append(f"Words: {stats.words_inserted} inserted, {stats.words_deleted} deleted")
    lines.extend(result.renumbered_runs)
    lines.extend(f"Warning: {warning}" for warning in result.warnings)
    return lines


def section_status(section: SectionDiff) -> str:
    """ "modified, moved", "unchanged, renumbered (was 6)", "added", ..."""
    parts = [section.status]
    if section.moved:
        parts.append("moved")
    if section.renumbered:
        parts.append(f"renumbered (was {section.old_number})")
    if section.retitled:
        parts.append(f"retitled (was “{section.old_title}”)")
    return ", ".join(parts)


def _shown_blocks(section: SectionDiff) -> list[BlockDiff]:
    """Blocks worth showing: changed ones, or all of an added/removed section."""
    if section.status in {"added", "removed"}:
        return section.blocks
    return [
        block
        for block in section.blocks
        if block.status != "equal"
        and not (block.new is not None and block.new.is_heading and block.status != "modified")
        and not (block.status == "moved" and section.moved and not _edited(block))
    ]


def _edited(block: BlockDiff) -> bool:
    return any(op.op != "equal" for op in block.words)


def _origin(block: BlockDiff) -> str:
    return f" (moved from line {block.old.line})" if block.old is not None else ""


# -- Markdown -----------------------------------------------------------------------------


def _md(text: str) -> str:
    return md_escape(text, entities=True)


def _md_block(block: BlockDiff) -> str:
    if block.status == "insert" and block.new is not None:
        return f"<ins>{_md(block.new.norm)}</ins>"
    if block.status == "delete" and block.old is not None:
        return f"<del>{_md(block.old.norm)}</del>"
    parts = []
    for op in block.words:
        if op.op == "equal":
            parts.append(_md(op.text))
        elif op.op == "insert":
            parts.append(f"<ins>{_md(op.text)}</ins>")
        else:
            parts.append(f"<del>{_md(op.text)}</del>")
    text = "".join(parts)
    return f"*Moved{_origin(block)}:* {text}" if block.status == "moved" else text


def render_markdown(result: DiffResult, *, heading_level: int = 3) -> str:
    """GitHub-flavoured Markdown for pull-request comments and changelogs."""
    hashes = "#" * heading_level
    out = [f"{hashes} Redline: {_md(result.policy or result.path)}", ""]
    out.extend(f"- {_md(line)}" for line in summary_lines(result))
    out.append("")
    for section in result.changed_sections:
        blocks = _shown_blocks(section)
        if section.status == "unchanged" and not blocks:
            continue
        out.append(f"{hashes}# {_md(section.name)} — {_md(section_status(section))}")
        out.append("")
        for block in blocks:
            out.append(f"> {_md_block(block)}")
            out.append("")
    if not result.changed_sections:
        out.append("No changes.")
    return "\n".join(out).rstrip() + "\n"


# -- HTML ---------------------------------------------------------------------------------

_CSS = """
body{font-family:Georgia,serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.55;
color:#1a1a1a}
nav{background:#f5f5f0;border:1px solid #ddd;padding:.75rem 1rem;margin-bottom:2rem}
nav ol{margin:.25rem 0 0 1.25rem;padding:0}
.summary li{margin:.1rem 0}
section{border-top:1px solid #ddd;padding-top:.5rem;margin-top:1.5rem}
.status{font:600 .85rem sans-serif;color:#555;text-transform:uppercase;letter-spacing:.03em}
del{background:#fde2e1;color:#8a1c1c;text-decoration:line-through}
ins{background:#dcf5dc;color:#135c13;text-decoration:underline}
.moved{border-left:4px solid #6a5acd;padding-left:.75rem}
.moved-note{font:italic .85rem sans-serif;color:#6a5acd}
.block{margin:.6rem 0}
.stepper a{margin-right:1rem;font:.85rem sans-serif}
"""


def _html_block(block: BlockDiff) -> str:
    esc = html.escape
    if block.status == "insert" and block.new is not None:
        body = f"<ins>{esc(block.new.norm)}</ins>"
    elif block.status == "delete" and block.old is not None:
        body = f"<del>{esc(block.old.norm)}</del>"
    else:
        body = "".join(
            esc(op.text)
            if op.op == "equal"
            else f"<{'ins' if op.op == 'insert' else 'del'}>{esc(op.text)}</"
            f"{'ins' if op.op == 'insert' else 'del'}>"
            for op in block.words
        )
    if block.status == "moved":
        note = f'<div class="moved-note">Moved{esc(_origin(block))}</div>'
        return f'<div class="block moved">{note}{body}</div>'
    return f'<div class="block {esc(block.status)}">{body}</div>'


def render_html(result: DiffResult, *, standalone: bool = True) -> str:
    """The redline as HTML: a summary with steps through the changes, then the inline redline."""
    esc = html.escape
    shown = [s for s in result.changed_sections if s.status != "unchanged" or _shown_blocks(s)]
    parts = ['<div class="redline">', '<nav class="summary">']
    parts.append("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in summary_lines(result)))
    parts.append("</ul>")
    if shown:
        parts.append("<strong>Changes</strong><ol>")
        parts.extend(
            f'<li><a href="#change-{n}">{esc(s.name)}</a> — {esc(section_status(s))}</li>'
            for n, s in enumerate(shown, 1)
        )
        parts.append("</ol>")
    parts.append("</nav>")
    for n, section in enumerate(shown, 1):
        parts.append(f'<section id="change-{n}">')
        parts.append(
            f'<h2>{esc(section.name)}</h2><div class="status">{esc(section_status(section))}</div>'
        )
        parts.extend(_html_block(block) for block in _shown_blocks(section))
        steps = []
        if n > 1:
            steps.append(f'<a href="#change-{n - 1}">← previous change</a>')
        if n < len(shown):
            steps.append(f'<a href="#change-{n + 1}">next change →</a>')
        parts.append(f'<div class="stepper">{"".join(steps)}</div></section>')
    if not shown:
        parts.append("<p>No changes.</p>")
    parts.append("</div>")
    fragment = "\n".join(parts)
    if not standalone:
        return fragment
    title = esc(f"Redline: {result.policy or result.path}")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n{fragment}\n</body>\n</html>\n"
    )


# -- plain text and terminal --------------------------------------------------------------


def _text_block(block: BlockDiff) -> str:
    if block.status == "insert" and block.new is not None:
        return "{+" + block.new.norm + "+}"
    if block.status == "delete" and block.old is not None:
        return "[-" + block.old.norm + "-]"
    text = "".join(
        op.text
        if op.op == "equal"
        else ("{+" if op.op == "insert" else "[-") + op.text + ("+}" if op.op == "insert" else "-]")
        for op in block.words
    )
    return f"(moved{_origin(block)}) {text}" if block.status == "moved" else text


def render_text(result: DiffResult) -> str:
    """Plain text with ``[-deleted-]`` and ``{+inserted+}`` markers, as wdiff prints."""
    out = list(summary_lines(result))
    for section in result.changed_sections:
        blocks = _shown_blocks(section)
        if section.status == "unchanged" and not blocks:
            continue
        out.extend(["", f"{section.name} — {section_status(section)}"])
        out.extend(f"  {_text_block(block)}" for block in blocks)
    return "\n".join(out) + "\n"


def render_terminal(result: DiffResult, console: Console) -> None:
    """Print the redline with rich: strike-through deletions, underlined insertions."""
    if not console.is_terminal:
        console.file.write(render_text(result))
        return
    from rich.text import Text

    for line in summary_lines(result):
        console.print(Text(line, style="bold" if line is summary_lines(result)[0] else ""))
    for section in result.changed_sections:
        blocks = _shown_blocks(section)
        if section.status == "unchanged" and not blocks:
            continue
        console.print()
        console.print(Text(f"{section.name} — {section_status(section)}", style="bold cyan"))
        for block in blocks:
            console.print(_rich_block(block, Text))


def _rich_block(block: BlockDiff, text_cls: type) -> object:
    deleted, inserted = "red strike", "green underline"
    line = text_cls("  ")
    if block.status == "insert" and block.new is not None:
        line.append(block.new.norm, style=inserted)
        return line
    if block.status == "delete" and block.old is not None:
        line.append(block.old.norm, style=deleted)
        return line
    if block.status == "moved":
        line.append(f"(moved{_origin(block)}) ", style="magenta italic")
    for op in block.words:
        style = {"equal": "", "insert": inserted, "delete": deleted}[op.op]
        line.append(op.text, style=style)
    return line
