"""The redline engine: align two policy documents block by block, then word by word.

1. Blocks are aligned with ``difflib.SequenceMatcher(autojunk=False)`` over normalised block
   keys (headings are keyed by their title without the number, so renumbering aligns).
2. Inside each replaced range, a run of paragraphs split or merged without a character
   changed (whitespace and hard breaks aside) becomes ``reflowed`` blocks; the other blocks
   are paired by word similarity, effective-date lines with effective-date lines; paired
   blocks get a word-level diff, the rest are deletes and inserts.
3. Deleted and inserted blocks with the same (or nearly the same) text become moves.
4. Blocks are grouped into sections of the new document (deleted blocks into the section
   they left), and each section is reported as added, removed, modified or unchanged with
   moved, renumbered and retitled flags.
5. The whole change is classified, with its reasons, by :mod:`redline.compare.classify`.

What renderings and counts read (the representation of noise):

* ``BlockDiff.status`` is ``equal``, ``modified``, ``insert``, ``delete``, ``moved`` or
  ``reflowed``. A reflowed group (old paragraphs A, B became C, D, E with the same text) is one
  entry per block: ``(A, C)``, ``(B, D)``, ``(None, E)``; each has ``words`` all ``equal`` (the
  new text, empty when there is no new block). It has no words inserted or deleted: show it
  as the new text (or not at all) and never count it as a change of words.
* ``BlockDiff.date_line`` is True when a changed block (not equal, not reflowed) is the
  effective-date line on every side it has (:func:`redline.document.dates.is_date_line`,
  with the policy's ``date_label``); its word ops then have the kind ``date-line``.
* ``WordOp.kind`` says what a non-equal op changed: ``words`` (counted), or noise that is
  never counted: ``link-targets`` (a link target, URL or e-mail address: one token, so an op
  holds whole targets; show old and new whole), ``attribute-lists``, ``hard-breaks``,
  ``punctuation``, ``case``, ``whitespace``, ``renumbering`` (a list item's label) or
  ``date-line``. ``WordOp.words`` is the number of words the op counts: 0 for all noise, and
  link targets and markup never count inside a ``words`` op either. Count an inserted or
  deleted block's words with :func:`redline.compare.tokens.count_words`.
* In normalised text a link reads ``label ⟨target⟩`` (:mod:`redline.document.normalize`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redline.compare.stats import DiffStats, SectionStats
from redline.compare.tokens import WORD as WORD  # re-exported: the word of every count
from redline.compare.tokens import count_words
from redline.document.model import Block, Document

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.history.repo import Policy, PolicyRepo


@dataclass(frozen=True)
class RefInfo:
    """One side of a diff: what the user asked for and the commit it resolved to."""

    ref: str
    commit: str | None


@dataclass(frozen=True)
class Reason:
    """Why a change is classified as it is: ``editorial: link targets only (3)``.

    ``code`` is a stable identifier for programs (``link-targets``, ``date-line``,
    ``words``, ``moved``, ...); ``detail`` says it for people; ``count`` is how many times it
    was seen (0: not counted).
    """

    classification: str
    code: str
    detail: str
    count: int = 0

    def __str__(self) -> str:
        counted = f" ({self.count})" if self.count else ""
        return f"{self.classification}: {self.detail}{counted}"

    def to_json(self) -> dict[str, Any]:
        """The JSON form documented in the README."""
        return {
            "classification": self.classification,
            "code": self.code,
            "detail": self.detail,
            "count": self.count,
            "text": str(self),
        }


@dataclass(frozen=True)
class Change:
    """A reported change: ``op`` is insert, delete, replace or move."""

    op: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class WordOp:
    """A run of tokens in a word-level diff: equal, insert or delete; ``kind`` says what a
    non-equal run changed (``words``, or a kind of noise: see the module docstring)."""

    op: str
    text: str
    kind: str = "words"

    @property
    def words(self) -> int:
        """The words this op inserts or deletes, as counted: 0 for equal runs and noise."""
        if self.op == "equal" or self.kind != "words":
            return 0
        return count_words(self.text)


@dataclass
class BlockDiff:
    """One block in the redline: equal, insert, delete, modified, moved or reflowed."""

    status: str
    kind: str
    old: Block | None
    new: Block | None
    words: list[WordOp] = field(default_factory=list)
    date_line: bool = False


@dataclass
class SectionDiff:
    """A section of the redline with its status, flags, changes and counts.

    A moved section knows where it was and where it is: ``moved_from`` and ``moved_to`` are
    places ("after Section 8 (Retention)", "the start"). ``moved_blocks`` maps the index of
    each block moved into the section from elsewhere to the old section it came from (""
    when it moved within the section). ``old_index`` and ``new_index`` are the section's
    positions in the old and new document (None where it does not exist).
    """

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
    stats: SectionStats = field(default_factory=SectionStats)
    moved_from: str | None = None
    moved_to: str | None = None
    moved_blocks: dict[int, str] = field(default_factory=dict)
    old_index: int | None = None
    new_index: int | None = None

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
            "moved_from": self.moved_from,
            "moved_to": self.moved_to,
            "renumbered": self.renumbered,
            "retitled": self.retitled,
            "changes": [{"op": c.op, "old": c.old, "new": c.new} for c in self.changes],
            "stats": self.stats.to_json(),
        }


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
    reasons: list[Reason] = field(default_factory=list)

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
            "reasons": [reason.to_json() for reason in self.reasons],
            "stats": vars(self.stats).copy(),
            "sections": [section.to_json() for section in self.sections],
            "renumbered_runs": self.renumbered_runs,
            "warnings": self.warnings,
        }


def diff_policy(
    repo: PolicyRepo, policy: Policy, from_rev: str | None, to_rev: str | None
) -> DiffResult:
    """Diff ``policy`` between ``from_rev`` and ``to_rev`` (None: the working tree), with the
    policy's own settings.

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
        settings=repo.settings_for(policy),
    )


def diff_documents(
    old: Document,
    new: Document,
    *,
    policy: str = "",
    path: str = "",
    from_ref: RefInfo | None = None,
    to_ref: RefInfo | None = None,
    settings: Settings | None = None,
) -> DiffResult:
    """Compute the redline of ``old`` against ``new``, classified with the date label and
    ``links_material`` of ``settings`` (pass the policy's: ``Settings.for_policy``)."""
    from redline.compare.align import align_blocks  # cycle: align imports engine
    from redline.compare.classify import Classifier  # cycle: classify imports engine
    from redline.compare.sections import (  # cycle: sections imports engine
        group_sections,
        renumbered_runs,
        section_stats,
    )

    classifier = Classifier(settings)
    entries = align_blocks(old.blocks, new.blocks, dates=classifier.dates)
    sections = group_sections(entries, old, new)
    classification, reasons = classifier.classify(old, new, sections)
    if classification != "material":
        _count_no_words(sections)
    result = DiffResult(
        policy=policy,
        path=path,
        from_ref=from_ref or RefInfo("old", None),
        to_ref=to_ref or RefInfo("new", None),
        classification=classification,
        stats=section_stats(sections),
        sections=sections,
        renumbered_runs=renumbered_runs(sections),
        reasons=reasons,
    )
    if not any(block.is_heading for block in new.blocks):
        result.warnings.append("the policy has no headings; it was compared as one section")
    return result


def _count_no_words(sections: list[SectionDiff]) -> None:
    """An editorial change has the same words in the same order: what its word diff shows
    changed (words joined or split across a run, a paragraph's words re-cut) is no word."""
    for section in sections:
        section.stats.words_inserted = section.stats.words_deleted = 0
