"""A diff described in words: each changed section's change, and a summary that quotes it.

Nothing is counted here: every number comes from the diff's stats
(:mod:`redline.compare.stats`). The summary is plain text; templates escape it for their
format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from redline.compare.stats import ACTIONS, DiffStats, edited, is_change
from redline.compare.tokens import shown_whole
from redline.publish.filters import number_word, plural
from redline.publish.phrases import NOUNS, Phrase, link_targets, plain

if TYPE_CHECKING:
    from redline.compare.engine import BlockDiff, DiffResult, SectionDiff, WordOp

_VERBS = {"changed": "changed", "removed": "removed", "moved": "moved here"}
#: Quotes longer than this many characters are cut at a word boundary.
QUOTE_LIMIT = 60
#: At most this many quoted changes per section; more are counted.
QUOTES_PER_SECTION = 3
_RUNS_PER_BLOCK = 2
#: The kinds of change a summary quotes (the others are noise: see redline.compare.engine).
_QUOTED = frozenset({"words", "link-targets"})


@dataclass(frozen=True)
class SectionChange:
    """One changed section, described for people; the counts are its stats."""

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
    moved_from: str | None = None
    moved_to: str | None = None
    blocks_changed: int = 0
    blocks_added: int = 0
    blocks_removed: int = 0
    blocks_moved: int = 0
    words_inserted: int = 0
    words_deleted: int = 0


def _noun(kind: str, count: int) -> str:
    singular, plural_form = NOUNS.get(kind, NOUNS["paragraph"])
    return plural(count, singular, plural_form)


def _count_phrases(section: SectionDiff) -> list[str]:
    """ "one paragraph changed", "two new list items", from the section's stats."""
    phrases = []
    for action in ACTIONS:
        for kind, count in section.stats.kinds.get(action, {}).items():
            noun = _noun(kind, count)
            if action == "added":
                phrases.append(f"new {noun}" if count == 1 else f"{number_word(count)} new {noun}")
            else:
                phrases.append(f"{number_word(count)} {noun} {_VERBS[action]}")
    return phrases


def _flag_phrases(section: SectionDiff) -> list[Phrase]:
    phrases = []
    if section.moved:
        phrases.append(
            Phrase(
                "section-moved",
                old=plain(section.moved_from or ""),
                new=plain(section.moved_to or ""),
            )
        )
    if section.retitled:
        phrases.append(Phrase("retitled", old=plain(section.old_title or "")))
    return phrases


def describe_section(section: SectionDiff) -> SectionChange | None:
    """The section's change in words, or None when nothing but its numbering changed."""
    if section.status == "added":
        phrases = ["new section"]
    elif section.status == "removed":
        phrases = ["section removed"]
    else:
        phrases = [str(phrase) for phrase in _flag_phrases(section)] + _count_phrases(section)
        if not phrases:
            if section.status == "unchanged":
                return None
            phrases = ["wording adjusted" if section.changes else "formatting changed"]
    stats = section.stats
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
        moved_from=section.moved_from,
        moved_to=section.moved_to,
        blocks_changed=stats.blocks_changed,
        blocks_added=stats.blocks_added,
        blocks_removed=stats.blocks_removed,
        blocks_moved=stats.blocks_moved,
        words_inserted=stats.words_inserted,
        words_deleted=stats.words_deleted,
    )


def describe_changes(diff: DiffResult) -> list[SectionChange]:
    """Every changed section of ``diff`` in document order, described for people."""
    return [change for s in diff.sections if (change := describe_section(s)) is not None]


# -- quotes ------------------------------------------------------------------------------------


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` in quotes, as :func:`plain` text, cut at a word boundary with an ellipsis
    when longer than ``limit``; the first word is kept whole, however long (a URL)."""
    words = plain(text).split()
    if not words or len(" ".join(words)) <= limit:
        return f'"{" ".join(words)}"'
    kept = words[0]
    for word in words[1:]:
        if len(kept) + 1 + len(word) > limit:
            break
        kept += " " + word
    return f'"{kept.rstrip(",;:")} …"' if kept != " ".join(words) else f'"{kept}"'


def _spans(words: list[WordOp]) -> list[tuple[str, str]]:
    """The changed runs of ``words`` as (old, new) texts out to whole words, with a word of
    context when short: ("30 days", "90 days"). Runs of noise only (case, punctuation,
    white space, markup) are left out; a changed link target is kept, whole."""
    old = new = ""
    runs: list[list[int]] = []  # [old start, old end, new start, new end, quoted]
    for op in words:
        if op.op != "equal" and not (runs and runs[-1][1] == len(old) and runs[-1][3] == len(new)):
            runs.append([len(old), len(old), len(new), len(new), 0])
        if op.op != "insert":
            old += op.text
        if op.op != "delete":
            new += op.text
        if op.op != "equal":
            runs[-1][1], runs[-1][3] = len(old), len(new)
            runs[-1][4] |= op.kind in _QUOTED
    spans: list[tuple[int, int, int, int, int]] = []
    for run in runs:
        span = (*_word_span(old, run[0], run[1]), *_word_span(new, run[2], run[3]), run[4])
        if spans and (span[0] <= spans[-1][1] or span[2] <= spans[-1][3]):
            last = spans.pop()
            span = (
                last[0],
                max(last[1], span[1]),
                last[2],
                max(last[3], span[3]),
                last[4] | span[4],
            )
        spans.append(span)
    return [_with_context(old, new, span[:4]) for span in spans if span[4]]


def _word_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``text[start:end]`` without its outer white space, out to whole words."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:  # nothing on this side: an insertion or deletion point
        return start, end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    changed_end = end
    while end < len(text) and not text[end].isspace():
        end += 1
    if not any(char.isalnum() for char in text[changed_end:end]):
        end = changed_end  # only the punctuation after the change: not part of the quote
    return start, end


def _with_context(old: str, new: str, span: tuple[int, int, int, int]) -> tuple[str, str]:
    """The run's old and new text; a short run gets the words around it, so a reader sees
    where it is: ("for 30 days", "for 90 days"), ("protect data", "protect all data")."""
    o1, o2, n1, n2 = span
    old_part, new_part = old[o1:o2], new[n1:n2]
    if any(shown_whole(part) for part in f"{old_part} {new_part}".split()):
        return old_part, new_part  # a link target or URL: shown whole, alone
    before = old[:o1].split()[-1:]
    after = [word for word in (w.rstrip(".,;:") for w in old[o2:].split()[:1]) if word]
    if not (old_part and new_part):
        if len((old_part or new_part).split()) > 2:
            return old_part, new_part
        context_before, context_after = before, after
    elif (
        min(len(old_part.split()), len(new_part.split())) < 2
        and max(len(old_part.split()), len(new_part.split())) <= 3
    ):
        context_before, context_after = ([], after) if after else (before, [])
    else:
        return old_part, new_part
    return (
        " ".join([*context_before, *old_part.split(), *context_after]),
        " ".join([*context_before, *new_part.split(), *context_after]),
    )


def _block_quotes(section: SectionDiff, index: int, block: BlockDiff) -> list[Phrase]:
    """What changed in one block, quoted: ``"30 days" → "90 days"``, ``new paragraph "…"``."""
    kind = block.kind
    if block.status == "insert" and block.new is not None:
        return [Phrase("new-block", new=quote(block.new.norm), noun=kind)]
    if block.status == "delete" and block.old is not None:
        return [Phrase("block-removed", old=quote(block.old.norm), noun=kind)]
    quotes = []
    if index in section.moved_blocks:
        origin = section.moved_blocks[index]
        moved = quote(block.new.norm if block.new else "")
        what = "block-moved" if origin else "block-moved-within"
        quotes.append(Phrase(what, old=plain(origin or ""), new=moved, noun=kind))
    if not edited(block):
        return quotes
    runs = _spans(block.words)
    if not runs:
        return [*quotes, Phrase("reformatted", noun=kind)]
    phrases = [_run_phrase(old, new) for old, new in runs]
    if sum(not phrase.what.startswith("link") for phrase in phrases) > _RUNS_PER_BLOCK:
        return [*quotes, Phrase("reworded", noun=kind)]
    return [*quotes, *phrases]


def _run_phrase(old: str, new: str) -> Phrase:
    """One changed run said in words; a run whose words are the same is a link's target."""
    shown_old, shown_new = plain(old, targets=False), plain(new, targets=False)
    if shown_old == shown_new:
        return _link_phrase(link_targets(old), link_targets(new))
    if shown_old and shown_new:
        return Phrase("replaced", old=quote(old), new=quote(new))
    return Phrase("added", new=quote(new)) if shown_new else Phrase("deleted", old=quote(old))


def _link_phrase(old: list[str], new: list[str]) -> Phrase:
    """A changed link target: its addresses when short (an anchor in the policy, ``#…``,
    is not an address to quote), else only that it changed."""
    shown = all(len(target) <= QUOTE_LIMIT and not target.startswith("#") for target in old + new)
    if old and new:
        one = len(old) == len(new) == 1 and shown
        return Phrase("link-changed", old=old[0], new=new[0]) if one else Phrase("link-address")
    if new:
        return (
            Phrase("link-added", new=new[0]) if len(new) == 1 and shown else Phrase("a-link-added")
        )
    if old:
        return (
            Phrase("link-removed", old=old[0])
            if len(old) == 1 and shown
            else Phrase("a-link-removed")
        )
    return Phrase("link-address")


def _merged(phrases: list[Phrase]) -> list[Phrase]:
    """``phrases`` with the changed link addresses not quoted said once, counted, and a link
    added or removed without its address said once."""
    unnamed = {"a-link-added", "a-link-removed"}
    phrases = [p for i, p in enumerate(phrases) if p.what not in unnamed or p not in phrases[:i]]
    links = sum(phrase.what == "link-address" for phrase in phrases)
    if links < 2:
        return phrases
    first = next(i for i, phrase in enumerate(phrases) if phrase.what == "link-address")
    rest = [phrase for phrase in phrases if phrase.what != "link-address"]
    return [*rest[:first], Phrase("links-changed", count=links), *rest[first:]]


def section_quotes(section: SectionDiff) -> list[Phrase]:
    """The changes of ``section`` quoted, at most :data:`QUOTES_PER_SECTION` of them."""
    if section.status in {"added", "removed"}:
        return [Phrase("new-section" if section.status == "added" else "section-removed")]
    quotes: list[Phrase] = []
    for index, block in enumerate(section.blocks):
        if is_change(block) and block.kind != "heading":
            quotes.extend(_block_quotes(section, index, block))
    # What changed in words first; a block only reformatted is counted when quotes run out.
    quotes.sort(key=lambda phrase: phrase.what == "reformatted")
    phrases = _merged(_flag_phrases(section) + quotes)
    if len(phrases) > QUOTES_PER_SECTION:
        rest = len(phrases) - QUOTES_PER_SECTION + 1
        phrases = [*phrases[: QUOTES_PER_SECTION - 1], Phrase("more", count=rest)]
    return phrases or [Phrase("wording")]


def generate_summary(diff: DiffResult, *, limit: int = 8) -> str:
    """A summary that says what changed, quoting short changes, from ``diff``'s sections.

    ``Section 7 (Data Retention): “30 days” → “90 days”; Section 13 (Service Providers):
    new paragraph “Every provider signs …”.``
    """
    changes = [s for s in diff.sections if describe_section(s) is not None]
    runs = [line.rstrip(".") for line in diff.renumbered_runs]
    if diff.classification == "none":
        return "No changes to the text."
    if diff.classification == "editorial":
        names = [plain(section.name) for section in changes[:limit]]
        if len(changes) > limit:
            names.append(f"{number_word(len(changes) - limit)} more")
        where = f" in {_join_and(names)}" if names else ""
        extra = "; " + "; ".join(runs) if runs else ""
        return f"Editorial changes only, no change of wording{where}{extra}."
    parts = [f"{plain(s.name)}: {', '.join(map(str, section_quotes(s)))}" for s in changes[:limit]]
    if len(changes) > limit:
        rest = len(changes) - limit
        parts.append(f"{number_word(rest)} more {plural(rest, 'section')} changed")
    parts.extend(runs)
    return "; ".join(parts) + "." if parts else "Changes to the text."


def _join_and(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def stats_dict(diff: DiffResult | None) -> dict[str, int | bool]:
    """The diff's statistics as a plain mapping (all zero without a diff)."""
    return (diff.stats if diff else DiffStats()).as_dict()
