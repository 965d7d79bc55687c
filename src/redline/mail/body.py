"""A notice's body parts, prepared once and filled per recipient, and the greeting's name.

A body holds two per-recipient fields: the unsubscribe link
(:data:`~redline.publish.notice.UNSUBSCRIBE_PLACEHOLDER`) and the subscriber's name
(:data:`~redline.publish.notice.NAME_PLACEHOLDER`). The name is untrusted (CSV import, self
sign-up): :func:`greeting_name` keeps only what reads as a name on one line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import MIMEPart
from typing import Any

from redline.mail.wire import BODY_POLICY, MESSAGE_POLICY
from redline.publish.notice import NAME_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER

#: A longer name is not used in the greeting (the copy without a name is sent).
MAX_GREETING_NAME = 100
PLACEHOLDERS = (UNSUBSCRIBE_PLACEHOLDER, NAME_PLACEHOLDER)
# Invisible format characters kept in names: the joiners some scripts and emoji need.
_JOINERS = frozenset("\u200c\u200d")
_FIRST_STRONG_ISOLATE, _POP_ISOLATE = "\u2068", "\u2069"


def greeting_name(name: str | None) -> str | None:
    """``name`` as the greeting shows it, or None to greet without a name.

    Control and format characters (line breaks, bidi overrides and marks, zero-width
    characters other than the joiners) are dropped and white space runs become one space;
    a name that holds an encoded word (``=?utf-8?…?=``) or is longer than
    :data:`MAX_GREETING_NAME` is not used. A name with right-to-left letters is isolated
    (U+2068 … U+2069), so it cannot reorder the text around it.
    """
    if not name:
        return None
    cleaned = " ".join("".join(map(_kept, name)).split())
    if not cleaned or len(cleaned) > MAX_GREETING_NAME or ("=?" in cleaned and "?=" in cleaned):
        return None
    if any(unicodedata.bidirectional(char) in ("R", "AL") for char in cleaned):
        return f"{_FIRST_STRONG_ISOLATE}{cleaned}{_POP_ISOLATE}"
    return cleaned


def _kept(char: str) -> str:
    """``char`` as a greeting keeps it: white space as a space, no control or format
    character (or unassigned, private or surrogate) but the joiners."""
    if char.isspace():
        return " "
    if unicodedata.category(char).startswith("C") and char not in _JOINERS:
        return ""
    return char


def body_part(text: str, subtype: str) -> MIMEPart:
    """A text part: 7bit or 8bit when every line fits in 998 bytes, else quoted-printable or
    base64 with the short lines RFC 2045 asks for."""
    part = MIMEPart(policy=MESSAGE_POLICY)
    part.set_content(text, subtype=subtype, charset="utf-8")
    if part["Content-Transfer-Encoding"] in ("7bit", "8bit"):
        return part
    part = MIMEPart(policy=BODY_POLICY)
    part.set_content(text, subtype=subtype, charset="utf-8")
    return part


def _stored(value: str) -> str:
    """``value`` as a payload stores it: its UTF-8 bytes, non-ASCII ones surrogate-escaped."""
    return value.encode("utf-8").decode("ascii", "surrogateescape")


@dataclass(frozen=True)
class Body:
    """One body part of a notice, prepared once for all recipients.

    When the part needs no transfer encoding (7bit or 8bit), its headers and payload are made
    once; a recipient's copy only replaces the placeholders in the payload. ``lines`` holds,
    for each line with a placeholder, its length without them and how often each occurs,
    to tell whether a recipient's values keep it within 998 bytes.
    """

    subtype: str
    source: str
    headers: tuple[tuple[str, Any], ...] | None
    payload: str
    lines: tuple[tuple[int, tuple[int, ...]], ...]
    eight_bit: bool

    @classmethod
    def prepare(cls, source: str, subtype: str) -> Body:
        """The body of ``source``, a text or HTML part with the placeholders."""
        part = body_part(source, subtype)
        encoding = part["Content-Transfer-Encoding"]
        if encoding not in ("7bit", "8bit"):
            return cls(subtype, source, None, "", (), False)
        payload = part.get_payload(decode=True).decode("ascii", "surrogateescape")
        lines = []
        for line in payload.splitlines():
            counts = tuple(line.count(mark) for mark in PLACEHOLDERS)
            if any(counts):
                rest = len(line) - sum(
                    n * len(m) for n, m in zip(counts, PLACEHOLDERS, strict=True)
                )
                lines.append((rest, counts))
        return cls(subtype, source, tuple(part.items()), payload, tuple(lines), encoding == "8bit")

    def fits(self, values: Mapping[str, str]) -> bool:
        """Whether ``values`` (by placeholder) go in without encoding the body again: each
        line stays within 998 bytes, the link is ASCII, and a 7bit body gets only ASCII."""
        if self.headers is None or not values.get(UNSUBSCRIBE_PLACEHOLDER, "").isascii():
            return False
        if not self.eight_bit and not all(value.isascii() for value in values.values()):
            return False
        sizes = [len(values.get(mark, "").encode("utf-8")) for mark in PLACEHOLDERS]
        limit = MESSAGE_POLICY.max_line_length
        return all(
            rest + sum(n * size for n, size in zip(counts, sizes, strict=True)) <= limit
            for rest, counts in self.lines
        )

    def part(self, values: Mapping[str, str]) -> MIMEPart:
        """This body with ``values`` (by placeholder) in place of the placeholders."""
        if not self.fits(values):
            return body_part(_replace(self.source, values, str), self.subtype)
        part = MIMEPart(policy=MESSAGE_POLICY)
        for name, header in self.headers or ():
            part[name] = header
        part.set_payload(_replace(self.payload, values, _stored))
        return part


def _replace(text: str, values: Mapping[str, str], form: Any) -> str:
    for mark in PLACEHOLDERS:
        text = text.replace(mark, form(values.get(mark, "")))
    return text
