"""Notice messages: one per recipient, built from a notice rendered once for all of them.

Every header value made from policy text, config or subscriber data goes through
:mod:`redline.ledger.headers`. Addresses are written with an IDNA domain; a message to a
UTF-8 local part gets the UTF-8 policy (sent with SMTPUTF8 when the server offers it).
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, NamedTuple

from redline.env import utc_now
from redline.errors import ConfigError, InputError
from redline.ledger.checks import normalize_email
from redline.ledger.headers import header_text, mailbox
from redline.mail.body import Body, greeting_name
from redline.mail.outcome import PERMANENT, SendFailure
from redline.mail.wire import (
    DATE,
    HTML_LINK,
    HTML_NAME,
    MESSAGE_ID,
    MESSAGE_POLICY,
    TEXT_LINK,
    TEXT_NAME,
    TO,
    UNSUBSCRIBE,
    UTF8_POLICY,
    Outgoing,
    Sentinels,
    WireTemplate,
    folded,
)
from redline.publish.notice import NAME_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER, RenderedNotice

LOG = logging.getLogger("redline.mail.message")

UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")


def message_id(policy: str, version: int, kind: str, email: str, domain: str) -> str:
    """The deterministic Message-ID of one notice to one subscriber."""
    return _message_id(policy, version, kind, domain, _digest(policy, version, kind, email))


def _digest(policy: str, version: int, kind: str, email: str) -> str:
    """The part of a Message-ID that names the subscriber (32 hex digits)."""
    return hashlib.sha256(f"{policy}\0{version}\0{kind}\0{email}".encode()).hexdigest()[:32]


def _message_id(policy: str, version: int, kind: str, domain: str, digest: str) -> str:
    slug = UNSAFE_ID.sub("-", policy).strip("-")[:40] or "policy"
    return f"<redline.{slug}.v{version}.{kind}.{digest}@{domain}>"


class _Fill(NamedTuple):
    """One recipient's fields: the List-Unsubscribe URL, the unsubscribe link of the text and
    of the HTML body, and the greeting's name in each (empty: none)."""

    url: str
    text_link: str
    html_link: str
    text_name: str = ""
    html_name: str = ""

    @classmethod
    def of(cls, url: str, name: str | None) -> _Fill:
        """The fields of a recipient with unsubscribe link ``url`` and ``name``."""
        greeting = greeting_name(name) or ""
        return cls(url, url, html.escape(url, quote=True), greeting, html.escape(greeting))

    def values(self, html_part: bool) -> dict[str, str]:
        """The body's values by placeholder."""
        link, name = (
            (self.html_link, self.html_name) if html_part else (self.text_link, self.text_name)
        )
        return {UNSUBSCRIBE_PLACEHOLDER: link, NAME_PLACEHOLDER: name}


@dataclass(frozen=True)
class Recipient:
    """Who one message goes to, as the unsubscribe callback of a factory sees it."""

    email: str
    subscriber_id: int | None = None


class MessageFactory:
    """Builds each recipient's message from one notice rendered for all of them.

    The notice's :data:`~redline.publish.notice.UNSUBSCRIBE_PLACEHOLDER` becomes the
    recipient's link (HTML-escaped in the HTML part), and its
    :data:`~redline.publish.notice.NAME_PLACEHOLDER` the recipient's name as
    :func:`~redline.mail.body.greeting_name` cleans it (escaped in the HTML part; empty
    without one: :class:`~redline.mail.campaign.CampaignFactory` sends those the copy
    without the name). Without a link (no ``unsubscribe_url``
    configured) the notice offers ``mailto:<sender>?subject=unsubscribe`` instead, and no
    one-click header. Everything that is the same for every recipient is prepared once; the
    subject, names and the link go through :func:`~redline.ledger.headers.header_text`.

    :meth:`render` gives the serialised message, from a :class:`~redline.mail.wire.WireTemplate`
    of the notice where it can: the same bytes as :meth:`build` then ``as_bytes()``.
    """

    def __init__(
        self,
        notice: RenderedNotice,
        *,
        sender: Address,
        policy: str,
        version: int,
        kind: str,
        unsubscribe: Callable[[Recipient], str | None],
        unsubscribe_mailto: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.sender = sender
        self._clock = clock
        self._from = mailbox(sender.addr_spec, sender.display_name, field="From")
        self.policy = policy
        self.version = version
        self.kind = kind
        self.subject = header_text(notice.subject)
        # Parsed once; the check after the parser's decoding step costs nothing per message.
        self._subject = MESSAGE_POLICY.header_factory("Subject", self.subject)
        if str(self._subject) != self.subject:
            raise InputError("the notice subject cannot be written as a mail header")
        self._unsubscribe = unsubscribe
        self._fallback = f"mailto:{sender.addr_spec}?subject=unsubscribe"
        # Config unsubscribe_mailto: a mailto: List-Unsubscribe beside the https one.
        self._mailto = _mailto(unsubscribe_mailto) if unsubscribe_mailto else None
        self._text = Body.prepare(notice.text, "plain")
        self._html = Body.prepare(notice.html, "html")
        digest = hashlib.sha256(f"{notice.subject}\0{notice.text}\0{notice.html}".encode())
        # One MIME boundary per notice, never inside its bodies, keeps Content-Type repeated.
        boundary = f"=_redline_{digest.hexdigest()[:32]}"
        self._boundary = None if boundary in notice.text + notice.html else boundary
        # By (UTF-8 headers, one-click unsubscribe); None: build every copy in full.
        self._templates: dict[tuple[bool, bool], WireTemplate | None] = {}
        self._dates: dict[tuple[bool, str], bytes] = {}

    def message_id(self, email: str) -> str:
        """Message-ID of this notice to ``email``."""
        return message_id(self.policy, self.version, self.kind, email, self.sender.domain)

    def build(
        self,
        email: str,
        name: str | None = None,
        *,
        subscriber_id: int | None = None,
        date: datetime | None = None,
    ) -> EmailMessage:
        """The complete message to one recipient.

        A name that cannot be a header is left out (the message goes to the bare address);
        an address that cannot be one, or any other problem building this one message,
        raises SendFailure (failed-permanent, with the reason).
        """
        to = _recipient_header(email, name)
        try:
            fill = _Fill.of(self._url(Recipient(email, subscriber_id)), name)
            when = format_datetime(date or self._clock())
            return self._assemble(to, self.message_id(email), when, fill)
        except (ValueError, UnicodeError, MessageError) as exc:
            raise SendFailure(PERMANENT, None, f"cannot build the message: {exc}") from None

    def render(
        self,
        email: str,
        name: str | None = None,
        *,
        subscriber_id: int | None = None,
        date: datetime | None = None,
    ) -> Outgoing:
        """The message to one recipient, serialised, with its envelope: the bytes of
        :meth:`build` (same failures), made by filling in the notice's template."""
        to = _recipient_header(email, name)
        try:
            fill = _Fill.of(self._url(Recipient(email, subscriber_id)), name)
            return self._render(to, email, fill, date or self._clock())
        except (ValueError, UnicodeError, MessageError) as exc:
            raise SendFailure(PERMANENT, None, f"cannot build the message: {exc}") from None

    def _render(self, to: Any, email: str, fill: _Fill, date: datetime) -> Outgoing:
        address = to.addresses[0].addr_spec
        utf8 = not address.isascii()
        digest = _digest(self.policy, self.version, self.kind, email)
        mid = _message_id(self.policy, self.version, self.kind, self.sender.domain, digest)
        when = format_datetime(date)
        fits = self._boundary_for(fill) is not None
        fits = fits and self._text.fits(fill.values(False)) and self._html.fits(fill.values(True))
        template = self.template(utf8, fill.url.startswith("https://")) if fits else None
        if template is None:
            message = self._assemble(to, mid, when, fill)
            return Outgoing.of(message, self.sender.addr_spec, address)
        data = self._fill(template, utf8, to, when, fill, digest)
        return Outgoing(data, self.sender.addr_spec, address, mid, utf8, template.eight_bit)

    def _url(self, recipient: Recipient) -> str:
        link = self._unsubscribe(recipient)
        return header_text(link) if link else self._fallback

    def _fill(
        self,
        template: WireTemplate,
        utf8: bool,
        to: Any,
        when: str,
        fill: _Fill,
        digest: str,
    ) -> bytes:
        """A copy of ``template`` with one recipient's ``fill``."""
        policy = UTF8_POLICY if utf8 else MESSAGE_POLICY
        date = self._dates.get((utf8, when))
        if date is None:
            if len(self._dates) >= 8:
                self._dates.clear()
            date = self._dates[utf8, when] = folded(policy, "Date", when)
        values = {
            TO: folded(policy, "To", to),
            DATE: date,
            UNSUBSCRIBE: folded(policy, "List-Unsubscribe", self._list_unsubscribe(fill.url)),
            TEXT_LINK: fill.text_link.encode("ascii"),
            HTML_LINK: fill.html_link.encode("ascii"),
            TEXT_NAME: fill.text_name.encode("utf-8"),
            HTML_NAME: fill.html_name.encode("utf-8"),
        }
        return template.fill(values, digest)

    def _list_unsubscribe(self, url: str) -> str:
        """The List-Unsubscribe value: ``<url>``, then the configured mailto: one, if any."""
        if self._mailto and url != self._mailto:
            return f"<{url}>, <{self._mailto}>"
        return f"<{url}>"

    def template(self, utf8: bool, one_click: bool) -> WireTemplate | None:
        """The notice's template for one variant (UTF-8 headers, one-click unsubscribe),
        made and checked on first use; None when every such copy is built in full."""
        key = (utf8, one_click)
        if key in self._templates:
            return self._templates[key]
        marks = Sentinels.make(one_click)
        policy = UTF8_POLICY if utf8 else MESSAGE_POLICY
        to = mailbox(marks.to)
        when = format_datetime(self._clock())
        mid = _message_id(self.policy, self.version, self.kind, self.sender.domain, marks.digest)
        fill = _Fill(marks.url, marks.text_link, marks.html_link, marks.text_name, marks.html_name)
        lines = {
            TO: folded(policy, "To", to),
            DATE: folded(policy, "Date", when),
            MESSAGE_ID: folded(policy, "Message-ID", mid),
            UNSUBSCRIBE: folded(policy, "List-Unsubscribe", self._list_unsubscribe(marks.url)),
        }
        template = WireTemplate.cut(self._assemble(to, mid, when, fill, utf8), marks, lines)
        # The probe: a copy for someone else must be what building it in full gives.
        probe = mailbox("pr\u00f8be@example.com" if utf8 else "probe@example.com", "Pr\u00f8be")
        url = "https://probe.example/u?t=1" if one_click else "mailto:probe@example.com"
        fill = _Fill.of(url, "Probe O'Name")
        digest = _digest(self.policy, self.version, self.kind, "probe")
        mid = _message_id(self.policy, self.version, self.kind, self.sender.domain, digest)
        full = self._assemble(probe, mid, when, fill).as_bytes()
        if template is not None and self._fill(template, utf8, probe, when, fill, digest) != full:
            LOG.debug("the notice's template differs from a message built in full; not used")
            template = None
        self._templates[key] = template
        return template

    def _assemble(
        self,
        to: Any,
        mid: str,
        date: str,
        fill: _Fill,
        utf8: bool | None = None,
    ) -> EmailMessage:
        """The message with one recipient's ``fill``; ``utf8`` (default: whether the address
        needs it) picks the policy."""
        if utf8 is None:
            utf8 = not to.addresses[0].addr_spec.isascii()
        url = fill.url
        msg = EmailMessage(policy=UTF8_POLICY if utf8 else MESSAGE_POLICY)
        msg["From"] = self._from
        msg["To"] = to
        msg["Subject"] = self._subject
        msg["Date"] = date
        msg["Message-ID"] = mid
        msg["List-Unsubscribe"] = self._list_unsubscribe(url)
        if url.startswith("https://"):
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"
        msg["MIME-Version"] = "1.0"
        boundary = self._boundary_for(fill)
        # Without a boundary here, the generator picks one that is not in the bodies.
        msg["Content-Type"] = (
            f'multipart/alternative; boundary="{boundary}"' if boundary else "multipart/alternative"
        )
        msg.attach(self._text.part(fill.values(False)))
        msg.attach(self._html.part(fill.values(True)))
        return msg

    def _boundary_for(self, fill: _Fill) -> str | None:
        """The notice's MIME boundary, unless this recipient's fields contain it."""
        if self._boundary and not any(self._boundary in value for value in fill):
            return self._boundary
        return None


def _mailto(address: str) -> str:
    """``mailto:ADDRESS?subject=unsubscribe`` for config ``unsubscribe_mailto`` (an ASCII
    address; ConfigError otherwise)."""
    try:
        checked = normalize_email(address)
    except InputError as problem:
        raise ConfigError(f"unsubscribe_mailto {problem.message}") from None
    if not checked.isascii() or any(char in checked for char in "<>,?&%\"' "):
        raise ConfigError(f"unsubscribe_mailto {address!r} cannot be a mailto: header link")
    return f"mailto:{checked}?subject=unsubscribe"


def _recipient_header(email: str, name: str | None) -> Any:
    """The To header of one message; see :meth:`MessageFactory.build`."""
    try:
        return mailbox(email, name)
    except InputError as problem:
        if not name:
            raise SendFailure(PERMANENT, None, f"invalid address: {problem.message}") from None
        reason = problem.message
    try:
        to = mailbox(email)
    except InputError as problem:
        raise SendFailure(PERMANENT, None, f"invalid address: {problem.message}") from None
    LOG.warning("a subscriber's name was left out of the To header: it %s", reason)
    return to
