"""Reading delivery status notifications from an mbox file or a Maildir directory.

The bouncing addresses come from flufl.bounce (Mailman's bounce detectors, which know the
formats Postfix, Exim, qmail, Exchange and others write). The returned message's
Message-ID and the reason (Status and Diagnostic-Code) are read from the parts the
notification carries; :meth:`redline.ledger.store.Store.record_bounce` records them.
"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flufl.bounce import all_failures

from redline.errors import InputError

if TYPE_CHECKING:
    from redline.ledger.store import Store

_ID_HEADERS = ("X-Original-Message-ID", "In-Reply-To")
_QUOTED_ID = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_NOT_A_DSN = "not a delivery status notification; skipped"


@dataclass(frozen=True)
class Bounce:
    """One delivery status notification: who failed, permanently or not, and why."""

    permanent: tuple[str, ...]
    temporary: tuple[str, ...]
    message_ids: tuple[str, ...]
    reason: str


@dataclass
class BounceReport:
    """What ``redline bounces import`` read and recorded."""

    messages: int = 0
    matched: int = 0
    bounced: int = 0
    unmatched: int = 0
    temporary: int = 0
    undeliverable: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "messages": self.messages,
            "matched": self.matched,
            "bounced": self.bounced,
            "unmatched": self.unmatched,
            "temporary": self.temporary,
            "undeliverable": self.undeliverable,
            "skipped": len(self.skipped),
            "skipped_messages": [
                {"message": position, "reason": reason} for position, reason in self.skipped
            ],
        }

    def summary(self) -> str:
        """One line, e.g. '4 messages: 3 matched (3 newly bounced), 1 unmatched, 0 skipped'."""
        return (
            f"{self.messages} messages: {self.matched} matched ({self.bounced} newly bounced), "
            f"{self.unmatched} unmatched, {self.temporary} temporary only, "
            f"{len(self.skipped)} skipped; {self.undeliverable} subscribers now undeliverable"
        )


def read_mailbox(path: Path) -> Iterator[Message]:
    """The messages of the mbox file or Maildir directory ``path``, in order."""
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise InputError(f"{path}: a directory but not a Maildir (no cur/ or new/)")
        box: mailbox.Mailbox[Any] = mailbox.Maildir(path, factory=None, create=False)
        keys = sorted(box.keys())
    else:
        box = mailbox.mbox(path, create=False)
        keys = list(box.keys())
    try:
        for key in keys:
            yield box[key]
    finally:
        box.close()


def parse_bounce(msg: Message) -> Bounce | None:
    """The bounce ``msg`` reports, or None when it is not a delivery status notification."""
    temporary, permanent = all_failures(msg)
    if not temporary and not permanent:
        return None
    return Bounce(
        permanent=tuple(sorted(a.decode("ascii", "replace") for a in permanent)),
        temporary=tuple(sorted(a.decode("ascii", "replace") for a in temporary)),
        message_ids=tuple(original_message_ids(msg)),
        reason=bounce_reason(msg),
    )


def original_message_ids(msg: Message) -> list[str]:
    """The Message-ID of the returned message: from its attached copy or headers, else from
    the DSN's X-Original-Message-ID or In-Reply-To, else a copy quoted in the text."""
    found: list[str] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822" and part.is_multipart():
            found += [str(m["Message-ID"]) for m in part.get_payload() if m["Message-ID"]]
        elif kind == "text/rfc822-headers":
            headers = HeaderParser().parsestr(_text(part))
            found += [str(headers["Message-ID"])] if headers["Message-ID"] else []
    found += [str(msg[name]) for name in _ID_HEADERS if msg[name]]
    if not found:
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                found += _QUOTED_ID.findall(_text(part))
    return list(dict.fromkeys(value.strip() for value in found))


def bounce_reason(msg: Message) -> str:
    """The DSN's Status and Diagnostic-Code, or the indented lines under the failing address
    in a plain-text bounce (Exim's), or its Subject."""
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status" and part.is_multipart():
            for block in part.get_payload():
                words = [str(block[h]) for h in ("Status", "Diagnostic-Code") if block[h]]
                if words:
                    return " ".join(" ".join(words).split())
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            detail = _indented_detail(_text(part))
            if detail:
                return detail
    return " ".join(str(msg["Subject"] or "permanent delivery failure").split())


def _indented_detail(text: str) -> str:
    """The lines indented under the first indented address line, joined."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if "@" in line and line.startswith("  ") and len(line.split()) == 1:
            depth = len(line) - len(line.lstrip())
            detail: list[str] = []
            for below in lines[number + 1 :]:
                if not below.strip() or len(below) - len(below.lstrip()) <= depth:
                    break
                detail.append(below.strip())
            return " ".join(detail)
    return ""


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return str(part.get_payload())


def import_bounces(store: Store, path: Path, *, limit: int) -> BounceReport:
    """Read every message of ``path`` and record its permanent failures in ``store``."""
    report = BounceReport()
    for position, msg in enumerate(read_mailbox(path), start=1):
        report.messages += 1
        bounce = parse_bounce(msg)
        if bounce is None:
            report.skipped.append((position, _NOT_A_DSN))
            continue
        if not bounce.permanent:
            report.temporary += 1
            continue
        match = store.record_bounce(
            bounce.message_ids, bounce.permanent, bounce.reason, limit=limit
        )
        report.matched += 1 if match.matched else 0
        report.unmatched += 0 if match.matched else 1
        report.bounced += match.newly
        report.undeliverable += match.undeliverable
    return report
