"""The parts of a notice's context that say who to contact, what changed and why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redline.compare.engine import Reason
    from redline.publish.phrases import Phrase
    from redline.publish.prose import SectionChange

_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Contact:
    """Config ``contact``: an email address (``url`` is its ``mailto:``) or a URL."""

    text: str
    url: str
    email: bool

    @classmethod
    def of(cls, value: str | None) -> Contact | None:
        """The contact of config ``contact`` (None when it is not set)."""
        text = (value or "").strip().removeprefix("mailto:")
        if not text:
            return None
        if "@" in text and "/" not in text and ":" not in text:
            return cls(text, f"mailto:{text}", True)
        return cls(text, text, False)


@dataclass(frozen=True)
class Why:
    """One reason for the classification: its ``code`` (``words``, ``moved`` …), its English
    words without the classification (``text``) and the number in them (0: none)."""

    code: str
    text: str
    number: int = 0

    @classmethod
    def of(cls, reason: Reason) -> Why:
        """The reason said for a notice."""
        counted = f" ({reason.count})" if reason.count else ""
        found = _NUMBER.search(reason.detail)
        number = reason.count or (int(found.group()) if found else 0)
        return cls(reason.code, f"{reason.detail}{counted}", number)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class ChangeLine:
    """One line of what changed: a section and its quoted changes, or a renumbering."""

    name: str
    quotes: tuple[Phrase, ...] = ()
    section: SectionChange | None = None
