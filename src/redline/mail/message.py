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
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime
from typing import Any

from redline.env import utc_now
from redline.errors import ConfigError, InputError
from redline.ledger.checks import normalize_email
from redline.ledger.headers import header_text, mailbox
from redline.mail.outcome import PERMANENT, SendFailure
from redline.mail.wire import (
    BODY_POLICY,
    DATE,
    HTML_LINK,
    MESSAGE_ID,
    MESSAGE_POLICY,
    TEXT_LINK,
    TO,
    UNSUBSCRIBE,
    UTF8_POLICY,
    Outgoing,
    Sentinels,
    WireTemplate,
    folded,
)
from redline.publish.notice import UNSUBSCRIBE_PLACEHOLDER, RenderedNotice

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


def _body_part(text: str, subtype: str) -> MIMEPart:
    """A text part: 7bit or 8bit when every line fits in 998 bytes, else quoted-printable or
    base64 with the short lines RFC 2045 asks for."""
    part = MIMEPart(policy=MESSAGE_POLICY)
    part.set_content(text, subtype=subtype, charset="utf-8")
    if part["Content-Transfer-Encoding"] in ("7bit", "8bit"):
        return part
    part = MIMEPart(policy=BODY_POLICY)
    part.set_content(text, subtype=subtype, charset="utf-8")
    return part


@dataclass(frozen=True)
class _Body:
    """One body part of a notice, prepared once for all recipients.

    When the part needs no transfer encoding (7bit or 8bit), its headers and payload are made
    once; a recipient's copy only replaces the placeholder in the payload. ``room`` is the
    longest link that keeps every line within 998 bytes.
    """

    subtype: str
    source: str
    headers: tuple[tuple[str, Any], ...] | None
    payload: str
    room: int

    @classmethod
    def prepare(cls, source: str, subtype: str) -> _Body:
        part = _body_part(source, subtype)
        if part["Content-Transfer-Encoding"] not in ("7bit", "8bit"):
            return cls(subtype, source, None, "", 0)
        # The payload as stored: the encoded bytes, non-ASCII ones surrogate-escaped.
        payload = part.get_payload(decode=True).decode("ascii", "surrogateescape")
        limit = MESSAGE_POLICY.max_line_length
        width = len(UNSUBSCRIBE_PLACEHOLDER)
        room = limit
        for line in payload.splitlines():
            if count := line.count(UNSUBSCRIBE_PLACEHOLDER):
                room = min(room, (limit - len(line) + count * width) // count)
        return cls(subtype, source, tuple(part.items()), payload, room)

    def fits(self, link: str) -> bool:
        """Whether ``link`` goes in without encoding the body again."""
        return self.headers is not None and len(link) <= self.room and link.isascii()

    def part(self, link: str) -> MIMEPart:
        """This body with ``link`` in place of the placeholder."""
        if not self.fits(link):
            return _body_part(self.source.replace(UNSUBSCRIBE_PLACEHOLDER, link), self.subtype)
        part = MIMEPart(policy=MESSAGE_POLICY)
        for name, header in self.headers:
            part[name] = header
        part.set_payload(self.payload.replace(UNSUBSCRIBE_PLACEHOLDER, link))
        return part


@dataclass(frozen=True)
class Recipient:
    """Who one message goes to, as the unsubscribe callback of a factory sees it."""

    email: str
    subscriber_id: int | None = None


class MessageFactory:
    """Builds each recipient's message from one notice rendered for all of them.

    The notice's :data:`~redline.publish.notice.UNSUBSCRIBE_PLACEHOLDER` becomes the
    recipient's link (HTML-escaped in the HTML part). Without a link (no ``unsubscribe_url``
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
        self._text = _Body.prepare(notice.text, "plain")
        self._html = _Body.prepare(notice.html, "html")
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
            url = self._url(Recipient(email, subscriber_id))
            return self._assemble(
                to,
                self.message_id(email),
                format_datetime(date or self._clock()),
                (url, url, html.escape(url, quote=True)),
            )
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
            return self._render(to, Recipient(email, subscriber_id), date or self._clock())
        except (ValueError, UnicodeError, MessageError) as exc:
            raise SendFailure(PERMANENT, None, f"cannot build the message: {exc}") from None

    def _render(self, to: Any, recipient: Recipient, date: datetime) -> Outgoing:
        address = to.addresses[0].addr_spec
        utf8 = not address.isascii()
        url = self._url(recipient)
        escaped = html.escape(url, quote=True)
        digest = _digest(self.policy, self.version, self.kind, recipient.email)
        mid = _message_id(self.policy, self.version, self.kind, self.sender.domain, digest)
        when = format_datetime(date)
        fits = self._boundary and self._boundary not in url
        fits = fits and self._text.fits(url) and self._html.fits(escaped)
        template = self.template(utf8, url.startswith("https://")) if fits else None
        if template is None:
            message = self._assemble(to, mid, when, (url, url, escaped))
            return Outgoing.of(message, self.sender.addr_spec, address)
        data = self._fill(template, utf8, to, when, (url, url, escaped), digest)
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
        links: tuple[str, str, str],
        digest: str,
    ) -> bytes:
        """A copy of ``template`` (see :meth:`_assemble` for ``links``)."""
        policy = UTF8_POLICY if utf8 else MESSAGE_POLICY
        date = self._dates.get((utf8, when))
        if date is None:
            if len(self._dates) >= 8:
                self._dates.clear()
            date = self._dates[utf8, when] = folded(policy, "Date", when)
        url, text_link, html_link = links
        values = {
            TO: folded(policy, "To", to),
            DATE: date,
            UNSUBSCRIBE: folded(policy, "List-Unsubscribe", self._list_unsubscribe(url)),
            TEXT_LINK: text_link.encode("ascii"),
            HTML_LINK: html_link.encode("ascii"),
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
        links = (marks.url, marks.text_link, marks.html_link)
        lines = {
            TO: folded(policy, "To", to),
            DATE: folded(policy, "Date", when),
            MESSAGE_ID: folded(policy, "Message-ID", mid),
            UNSUBSCRIBE: folded(policy, "List-Unsubscribe", self._list_unsubscribe(marks.url)),
        }
        template = WireTemplate.cut(self._assemble(to, mid, when, links, utf8), marks, lines)
        # The probe: a copy for someone else must be what building it in full gives.
        probe = mailbox("pr\u00f8be@example.com" if utf8 else "probe@example.com", "Pr\u00f8be")
        url = "https://probe.example/u?t=1" if one_click else "mailto:probe@example.com"
        links = (url, url, url)
        digest = _digest(self.policy, self.version, self.kind, "probe")
        mid = _message_id(self.policy, self.version, self.kind, self.sender.domain, digest)
        full = self._assemble(probe, mid, when, links).as_bytes()
        if template is not None and self._fill(template, utf8, probe, when, links, digest) != full:
            LOG.debug("the notice's template differs from a message built in full; not used")
            template = None
        self._templates[key] = template
        return template

    def _assemble(
        self,
        to: Any,
        mid: str,
        date: str,
        links: tuple[str, str, str],
        utf8: bool | None = None,
    ) -> EmailMessage:
        """The message: ``links`` are the List-Unsubscribe URL and the links of the text and
        HTML bodies; ``utf8`` (default: whether the address needs it) picks the policy."""
        if utf8 is None:
            utf8 = not to.addresses[0].addr_spec.isascii()
        url, text_link, html_link = links
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
        boundary = self._boundary if self._boundary and self._boundary not in url else None
        # Without a boundary here, the generator picks one that is not in the bodies.
        msg["Content-Type"] = (
            f'multipart/alternative; boundary="{boundary}"' if boundary else "multipart/alternative"
        )
        msg.attach(self._text.part(text_link))
        msg.attach(self._html.part(html_link))
        return msg


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
