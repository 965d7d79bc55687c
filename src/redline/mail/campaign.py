"""The messages of one campaign: each recipient's from the copy of the notice they read.

A rendered notice has a copy per (translation, with or without the subscriber's name)
(:meth:`~redline.publish.notice.RenderedNotice.variants`); each copy gets its own
:class:`~redline.mail.message.MessageFactory`, prepared once, and a recipient's message comes
from the copy in their locale (else the default templates), with their name when
:func:`~redline.mail.body.greeting_name` keeps one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redline.mail.body import greeting_name
from redline.mail.message import MessageFactory
from redline.publish.notice import best_locale

if TYPE_CHECKING:
    from datetime import datetime
    from email.message import EmailMessage

    from redline.mail.wire import Outgoing
    from redline.publish.notice import RenderedNotice


class CampaignFactory:
    """Builds each recipient's message from the copy of ``notice`` for their locale and name;
    ``options`` are those of :class:`~redline.mail.message.MessageFactory`."""

    def __init__(self, notice: RenderedNotice, **options: Any) -> None:
        self.notice = notice
        made: dict[tuple[str, str, str], MessageFactory] = {}
        self._factories: dict[tuple[str | None, bool], MessageFactory] = {}
        for key, copy in notice.variants():
            content = (copy.subject, copy.text, copy.html)
            if content not in made:
                made[content] = MessageFactory(copy, **options)
            self._factories[key] = made[content]
        self.default = self._factories[None, False]
        self.sender = self.default.sender
        self.policy, self.version, self.kind = (
            options["policy"],
            options["version"],
            options["kind"],
        )

    def factory(self, locale: str | None, name: str | None) -> MessageFactory:
        """The factory of the copy for a recipient who reads ``locale`` and is ``name``."""
        chosen = best_locale(locale, self.notice.translations)
        return self._factories[chosen, greeting_name(name) is not None]

    def message_id(self, email: str) -> str:
        """Message-ID of this notice to ``email`` (the same in every copy)."""
        return self.default.message_id(email)

    def build(
        self,
        email: str,
        name: str | None = None,
        *,
        locale: str | None = None,
        subscriber_id: int | None = None,
        date: datetime | None = None,
    ) -> EmailMessage:
        """The complete message to one recipient (see :meth:`MessageFactory.build`)."""
        return self.factory(locale, name).build(email, name, subscriber_id=subscriber_id, date=date)

    def render(
        self,
        email: str,
        name: str | None = None,
        *,
        locale: str | None = None,
        subscriber_id: int | None = None,
        date: datetime | None = None,
    ) -> Outgoing:
        """The message to one recipient, serialised (see :meth:`MessageFactory.render`)."""
        return self.factory(locale, name).render(
            email, name, subscriber_id=subscriber_id, date=date
        )
