"""The confirmation email of a sign-up (double opt-in), sent through redline's SMTP settings.

The message is rendered from the templates ``confirm.subject.j2``, ``confirm.txt.j2`` and
``confirm.html.j2`` (overridable in ``templates_dir``) and sent with the same transport as
notices (:class:`~redline.mail.transport.SmtpTransport`, yagmail over smtplib).

A confirmation is sent after the answer (which is the same for every address), so nobody is
told when it fails. When the SMTP server itself fails (cannot be reached, refuses the login),
sign-up closes for :data:`CLOSED_SECONDS` (a 503 page for everyone alike), then the next
sign-up tries again; the failure is logged. Nothing is retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any

from redline.errors import ConfigError, DeliveryError, RedlineError
from redline.ledger.headers import header_text, mailbox
from redline.mail.outcome import SendFailure, redact
from redline.mail.settings import SmtpConfig, sender_address
from redline.mail.transport import SmtpTransport
from redline.mail.wire import MESSAGE_POLICY, UTF8_POLICY, Outgoing

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.publish.templates import Templates

LOG = logging.getLogger("redline.serve.mailer")
#: Seconds sign-up stays closed after the SMTP server failed.
CLOSED_SECONDS = 60.0


@dataclass(frozen=True)
class Confirmation:
    """One confirmation email to write: ``policies`` are titles (empty: every policy)."""

    email: str
    link: str
    policies: Sequence[str]


class ConfirmMailer:
    """Renders and sends confirmation emails; one SMTP session per message."""

    def __init__(self, settings: Settings, templates: Templates, site: Mapping[str, Any]) -> None:
        self.smtp = SmtpConfig.from_settings(settings)
        self.sender = sender_address(settings) if self.smtp else None
        self._templates = templates
        self._site = dict(site)
        self._hours = settings.confirm_hours
        self._clock = settings.env.clock
        self._closed_until = 0.0

    @property
    def available(self) -> bool:
        """Whether an SMTP server is configured (sign-up needs one) and has not just failed."""
        return self.smtp is not None and time.monotonic() >= self._closed_until

    def message(self, item: Confirmation) -> EmailMessage:
        """The confirmation email to ``item.email``."""
        if self.sender is None:
            raise ConfigError("no SMTP server is configured")
        context = {
            **self._site,
            "email": item.email,
            "confirm_url": item.link,
            "policies": list(item.policies),
            "expires_hours": self._hours,
        }
        render = self._templates.render
        utf8 = not item.email.isascii()
        msg = EmailMessage(policy=UTF8_POLICY if utf8 else MESSAGE_POLICY)
        msg["From"] = mailbox(self.sender.addr_spec, self.sender.display_name, field="From")
        msg["To"] = mailbox(item.email)
        msg["Subject"] = header_text(render("confirm.subject.j2", context).strip())
        msg["Date"] = format_datetime(self._clock())
        msg["Message-ID"] = make_msgid("redline.confirm", domain=self.sender.domain)
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(render("confirm.txt.j2", context), charset="utf-8")
        msg.add_alternative(render("confirm.html.j2", context), subtype="html", charset="utf-8")
        return msg

    def send(self, item: Confirmation) -> bool:
        """Send one confirmation; a failure is logged (without the address), never raised."""
        if self.smtp is None or self.sender is None:
            return False
        transport = SmtpTransport(self.smtp)
        try:
            message = self.message(item)
            transport.open()
            transport.send(Outgoing.of(message, self.sender.addr_spec, item.email))
        except SendFailure as failure:
            LOG.warning("a confirmation email was not sent: %s", redact(failure.message))
            return False
        except DeliveryError as error:
            self._closed_until = time.monotonic() + CLOSED_SECONDS
            LOG.warning(
                "a confirmation email was not sent: %s; sign-up is closed for %d s",
                redact(error.message),
                CLOSED_SECONDS,
            )
            return False
        except RedlineError as error:
            LOG.warning("a confirmation email was not sent: %s", error.message)
            return False
        finally:
            transport.close()
        return True
