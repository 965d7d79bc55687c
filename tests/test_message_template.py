"""A notice serialised once and filled per recipient is byte for byte a message built in full.

``MessageFactory.render`` fills the notice's template (To, Date, Message-ID,
List-Unsubscribe, the body links); ``build(...).as_bytes()`` builds and serialises the whole
message. Both must give the same bytes for every recipient, through the same header guard.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from email.headerregistry import Address
from email.utils import getaddresses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redline.ledger.subscribers import unsubscribe_link
from redline.mail.message import MessageFactory
from redline.publish.notice import UNSUBSCRIBE_PLACEHOLDER, RenderedNotice
from test_notify import make_settings

DATE = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
SENDER = Address("Acme Legal", addr_spec="legal@acme.example")
INJECTION = b"x\r\nBcc: attacker@evil.example\r\n\r\nClick https://evil.example"
ENCODED = f"=?utf-8?b?{base64.b64encode(INJECTION).decode()}?="
NOTICE = RenderedNotice(
    subject="Änderung der Datenschutzerklärung — gültig ab 1. Juli",
    text=(
        "Grüße,\n\nAbschnitt 7 „Übermittlung“ geändert.\n\n"
        f"Abmelden: {UNSUBSCRIBE_PLACEHOLDER}\nNoch einmal: {UNSUBSCRIBE_PLACEHOLDER}\n"
    ),
    html=(
        "<html><body><p>Grüße &amp; mehr</p>"
        f'<p><a href="{UNSUBSCRIBE_PLACEHOLDER}">abmelden</a></p></body></html>'
    ),
)
RECIPIENTS = [
    ("ann@example.com", "Ann Example"),
    ("bob@example.com", None),
    ("jurgen@example.com", "Jürgen Müller-Lüdenscheidt"),
    ("user@münchen.de", "Zoë"),  # IDN domain: written in IDNA
    ("josé@例え.jp", "José Ñúñez"),  # UTF-8 local part: SMTPUTF8, RFC 6532 headers
    ("用户@例子.广告", None),
    ("quote@example.com", 'Dr. "Q" O\'Brien, Jr. \\ (ret.)'),
    ("long@example.com", "A very long display name " * 12),
    ("evil@example.com", "Evil\r\nBcc: attacker@evil.example"),  # header injection: dropped
    ("word@example.com", ENCODED),  # an encoded word: refused by the guard, dropped
    ("sep@example.com", "Line\u2028Separator"),
]


def factory(notice: RenderedNotice = NOTICE, link=lambda recipient: None) -> MessageFactory:
    return MessageFactory(
        notice,
        sender=SENDER,
        policy="privacy",
        version=4,
        kind="notice",
        unsubscribe=link,
        clock=lambda: DATE,
    )


def signed_links(tmp_path):
    settings = make_settings(tmp_path)
    return lambda recipient: unsubscribe_link(settings, recipient.email, recipient.subscriber_id)


def assert_same(made: MessageFactory, email: str, name: str | None, subscriber_id: int = 7):
    outgoing = made.render(email, name, subscriber_id=subscriber_id, date=DATE)
    full = made.build(email, name, subscriber_id=subscriber_id, date=DATE)
    assert outgoing.data == full.as_bytes()
    # The envelope is what smtplib's send_message would take from the headers.
    assert outgoing.sender == "legal@acme.example"
    assert outgoing.recipient == getaddresses([str(full["To"])])[0][1]
    assert outgoing.message_id == full["Message-ID"]
    assert outgoing.smtputf8 == (not outgoing.recipient.isascii())
    return outgoing


@pytest.mark.parametrize("one_click", [True, False])
def test_every_recipient_gets_the_bytes_of_a_full_build(tmp_path, caplog, one_click):
    made = factory(link=signed_links(tmp_path) if one_click else lambda recipient: None)
    outputs = [assert_same(made, address, name, i) for i, (address, name) in enumerate(RECIPIENTS)]
    # The template was used for both header variants (plain and RFC 6532).
    assert made.template(False, one_click) is not None
    assert made.template(True, one_click) is not None
    assert len({out.data for out in outputs}) == len(RECIPIENTS)
    for out in outputs:
        msg = message_from_bytes(out.data, policy=email_policy.default)
        assert "Bcc" not in msg and msg.defects == []
        assert b"attacker@evil.example" not in out.data
        assert ("List-Unsubscribe-Post" in msg) == one_click
    assert "left out of the To header" in caplog.text


def test_each_copy_carries_its_own_link_date_and_message_id(tmp_path):
    made = factory(link=signed_links(tmp_path))
    first = made.render("ann@example.com", "Ann", subscriber_id=1, date=DATE)
    later = datetime(2025, 6, 1, 9, 30, 1, tzinfo=UTC)
    second = made.render("ben@example.com", "Ben", subscriber_id=2, date=later)
    assert (
        second.data == made.build("ben@example.com", "Ben", subscriber_id=2, date=later).as_bytes()
    )
    one, two = (message_from_bytes(o.data, policy=email_policy.default) for o in (first, second))
    assert one["List-Unsubscribe"] != two["List-Unsubscribe"]
    link = one["List-Unsubscribe"].strip("<>")
    assert link in one.get_body(("plain",)).get_content()
    assert one["Date"] != two["Date"] and one["Message-ID"] != two["Message-ID"]


@pytest.mark.parametrize(
    "link",
    [
        "https://acme.example/u?token=" + "x" * 990,  # too long for the body's lines
        "https://acme.example/u?token=tök",  # not ASCII: the body is encoded again
        "https://acme.example/u?a=1&b=<2>\"'",  # HTML-escaped in the HTML part
        "https://acme.example/=?utf-8?q?x?=",  # an encoded word, neutralised by the guard
    ],
)
def test_links_that_do_not_fit_the_template_are_built_in_full_with_the_same_bytes(link):
    made = factory(link=lambda recipient: link)
    assert_same(made, "ann@example.com", "Ann")
    assert_same(made, "josé@例え.jp", "José")


def test_a_notice_that_needs_a_transfer_encoding_is_built_in_full_with_the_same_bytes():
    long_line = RenderedNotice(
        subject="Changes",
        text=("word " * 300) + f"\n{UNSUBSCRIBE_PLACEHOLDER}\n",
        html=f"<p>{'word ' * 300}</p><a href='{UNSUBSCRIBE_PLACEHOLDER}'>x</a>",
    )
    made = factory(long_line, link=lambda recipient: "https://acme.example/u?t=1")
    assert_same(made, "ann@example.com", "Ann")
    assert made.template(False, True) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.one_of(st.none(), st.text(max_size=80)),
    local=st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]", fullmatch=True),
    token=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60),
)
def test_property_template_equals_full_build(name, local, token):
    made = factory(link=lambda recipient: f"https://acme.example/u?t={token}")
    email = f"{local.replace('..', '.')}@example.com"
    try:
        made.build(email, name, date=DATE)
    except Exception as exc:  # an address or name the guard refuses fails both ways alike
        with pytest.raises(type(exc)):
            made.render(email, name, date=DATE)
        return
    assert_same(made, email, name)
