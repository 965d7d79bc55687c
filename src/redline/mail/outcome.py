"""What became of one message: each SMTP try as an :class:`Attempt`, and the outcome.

The outcome of a message is one of:

* ``sent``;
* ``failed-temporary`` / ``failed-permanent``: a 4xx (after the retries) or 5xx reply about
  the recipient: to RCPT, or to DATA when it is about the mailbox (the message has one
  recipient);
* ``deferred``: a reply that is not about the recipient (to the session, MAIL FROM, AUTH
  (530, 535), or to DATA about the message, such as 552 over a size limit) or a connection
  that keeps failing: the recipient is not marked, and the run pauses;
* ``unknown``: the message was sent but no reply came (a timeout after DATA); it may have
  been delivered, so it is never retried automatically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from redline.vocab import NoticeState

# Outcomes of one SMTP try and of one message (the ledger states, plus "deferred").
SENT = NoticeState.SENT.value
TEMPORARY = NoticeState.FAILED_TEMPORARY.value
PERMANENT = NoticeState.FAILED_PERMANENT.value
UNKNOWN = NoticeState.UNKNOWN.value
DEFERRED = "deferred"
_ADDRESS = re.compile(r"\S+@\S+")

# Replies that are about the session wherever they come: closing, authentication needed/failed.
SESSION_CODES = frozenset({421, 530, 535})
# Basic codes that, without an enhanced status code, are about the mailbox.
_MAILBOX_CODES = frozenset({450, 550, 551, 553})
_ENHANCED_CODE = re.compile(r"[245]\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Attempt:
    """One try of one message: when, its outcome (see the module docstring) and the reply."""

    at: datetime
    outcome: str
    code: int | None
    message: str


@dataclass(frozen=True)
class Delivery:
    """The server's (or outbox's) acceptance of one message, and every try it took."""

    code: int
    message: str
    attempts: tuple[Attempt, ...] = ()


class SendFailure(Exception):
    """One message was not delivered: ``outcome`` is failed-temporary, failed-permanent,
    deferred or unknown; ``attempts`` holds every try (empty when nothing was tried)."""

    def __init__(
        self,
        outcome: str,
        code: int | None,
        message: str,
        attempts: tuple[Attempt, ...] = (),
    ) -> None:
        super().__init__(f"{code or '---'} {message}")
        self.outcome = outcome
        self.code = code
        self.message = message
        self.attempts = attempts


def attempt_at() -> datetime:
    """The time of a try: now, in UTC."""
    return datetime.now(UTC)


def redact(text: str) -> str:
    """``text`` with anything that looks like an email address replaced by ``<address>``."""
    return _ADDRESS.sub("<address>", text)


def recipient_outcome(code: int) -> str:
    """The outcome of a refusal about the recipient with reply ``code``."""
    return PERMANENT if 500 <= code < 600 else TEMPORARY


def about_recipient(code: int, reply: str) -> bool:
    """Whether a reply to DATA (for a one-recipient message) is about the recipient's mailbox.

    By the enhanced status code when there is one (X.1.x addressing, X.2.x mailbox status
    but X.2.3, the message's size), else by the basic code (450, 550, 551, 553). Anything
    else (552 over a size limit, 554, 530, 535, ...) is about the message or the session.
    """
    if code in SESSION_CODES:
        return False
    match = _ENHANCED_CODE.match(reply)
    if match is None:
        return code in _MAILBOX_CODES
    subject, detail = match.groups()
    return subject == "1" or (subject == "2" and detail != "3")
