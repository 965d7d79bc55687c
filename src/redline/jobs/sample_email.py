"""The sample email of a preview: a notice addressed to a placeholder recipient.

Previews read no subscriber data: the recipient is :data:`SAMPLE_RECIPIENT`, the unsubscribe
link is config ``unsubscribe_url`` with token :data:`SAMPLE_TOKEN`, and the sender is a
placeholder when none is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from typing import TYPE_CHECKING

from redline.errors import ConfigError
from redline.ledger.subscribers import unsubscribe_template
from redline.mail.campaign import CampaignFactory

if TYPE_CHECKING:
    from email.message import EmailMessage

    from redline.config import Settings
    from redline.publish.notice import RenderedNotice

SAMPLE_RECIPIENT = ("Sample Subscriber", "subscriber@example.com")
SAMPLE_SENDER = Address("Policy updates (preview)", addr_spec="policy-updates@example.com")
SAMPLE_TOKEN = "PREVIEW-TOKEN"


@dataclass(frozen=True)
class SampleAddressing:
    """Who a sample email is from, and its sample unsubscribe link."""

    sender: Address
    unsubscribe_url: str | None

    @classmethod
    def of(cls, settings: Settings) -> SampleAddressing:
        """The configured sender (else :data:`SAMPLE_SENDER`) and the sample link."""
        from redline.mail.settings import sender_address  # lazy: loads email_validator

        try:
            sender = sender_address(settings)
        except ConfigError:
            sender = SAMPLE_SENDER
        url = unsubscribe_template(settings)
        return cls(sender, url.replace("{token}", SAMPLE_TOKEN) if url else None)

    def message(
        self,
        notice: RenderedNotice,
        *,
        policy: str,
        version: int,
        kind: str,
        locale: str | None = None,
    ) -> EmailMessage:
        """``notice`` as the message :data:`SAMPLE_RECIPIENT` would get, reading ``locale``
        (None: the copy of the default templates)."""
        factory = CampaignFactory(
            notice,
            sender=self.sender,
            policy=policy,
            version=version,
            kind=kind,
            unsubscribe=lambda _email: self.unsubscribe_url,
        )
        return factory.build(SAMPLE_RECIPIENT[1], SAMPLE_RECIPIENT[0], locale=locale)
