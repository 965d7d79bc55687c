"""The outbox: notices written as ``.eml`` files into a directory instead of sent."""

from __future__ import annotations

import os
from pathlib import Path

from redline.errors import DeliveryError, InputError
from redline.files import atomic_write
from redline.mail.message import UNSAFE_ID
from redline.mail.outcome import SENT, Attempt, Delivery, attempt_at
from redline.mail.wire import Outgoing


class OutboxTransport:
    """Writes each message atomically as ``<Message-ID local part>.eml`` into a directory.

    The file name is deterministic, so a message re-sent after a crash replaces its own file.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.description = f"outbox {directory}"

    def open(self) -> None:
        """Create the directory and check that it is writable."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"cannot create outbox {self.directory}: {exc.strerror}") from None
        if not os.access(self.directory, os.W_OK):
            raise DeliveryError(f"outbox {self.directory} is not writable")

    def clone(self) -> OutboxTransport:
        """The same directory (files are written atomically, one per message)."""
        return OutboxTransport(self.directory)

    def send(self, message: Outgoing, *, may_yield: bool = False) -> Delivery:
        """Write ``message`` to its file (UTF-8 headers when its address needs them)."""
        mid = message.message_id.strip("<>")
        name = UNSAFE_ID.sub("_", mid.split("@", 1)[0].replace(".", "-")) + ".eml"
        try:
            atomic_write(self.directory / name, message.data)
        except InputError as exc:
            raise DeliveryError(f"outbox: {exc.message}", hint=exc.hint) from None
        reply = f"written to {name}"
        return Delivery(250, reply, (Attempt(attempt_at(), SENT, 250, reply),))

    def close(self) -> None:
        """Nothing to release."""
