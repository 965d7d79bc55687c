"""The greeting's name is untrusted (a CSV import, a self sign-up): it is escaped in the HTML
part, can break no line and reorder no text, and a message filled in from the notice's
template is still byte for byte the message built in full."""

from __future__ import annotations

import html
import re
from email import message_from_bytes
from email import policy as email_policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redline.mail.body import MAX_GREETING_NAME, greeting_name
from redline.mail.campaign import CampaignFactory
from redline.publish.notice import NAME_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER, RenderedNotice
from test_message_template import DATE, SENDER, assert_same, factory

ANONYMOUS = RenderedNotice(
    subject="Changes to our Privacy Policy",
    text=f"Hello,\n\nSection 7 changed.\n\nUnsubscribe: {UNSUBSCRIBE_PLACEHOLDER}\n",
    html=f'<p>Hello,</p><p>Section 7 changed.</p><a href="{UNSUBSCRIBE_PLACEHOLDER}">x</a>',
)
NAMED = RenderedNotice(
    subject=ANONYMOUS.subject,
    text=ANONYMOUS.text.replace("Hello,", f"Hello {NAME_PLACEHOLDER},"),
    html=ANONYMOUS.html.replace("Hello,", f"Hello {NAME_PLACEHOLDER},"),
)
NOTICE = RenderedNotice(ANONYMOUS.subject, ANONYMOUS.text, ANONYMOUS.html, named=NAMED)
ARABIC = "\u0644\u064a\u0644\u0649 \u0627\u0644\u0639\u0644\u064a"  # Layla Al-Ali
NAMES = {
    "Ana": "Ana",
    "<script>alert('x')</script> & Co": "<script>alert('x')</script> & Co",
    "Evil\r\nBcc: attacker@evil.example\r\n\r\nbody": "Evil Bcc: attacker@evil.example body",
    "Line\u2028Separator\x85Next": "Line Separator Next",
    "\u202eadmin\u202c \u200fmark\u200e": "admin mark",  # bidi overrides and marks dropped
    ARABIC: f"\u2068{ARABIC}\u2069",  # right-to-left: isolated, it cannot reorder the line
    "Zero\u200bWidth\ufeff": "ZeroWidth",
    "\u0645\u200c\u06cc": "\u2068\u0645\u200c\u06cc\u2069",  # the joiners a script needs stay
    "Jürgen Müller-Lüdenscheidt": "Jürgen Müller-Lüdenscheidt",
    "=?utf-8?b?QmNjOiB4?=": None,  # an encoded word: never shown as a name
    "x" * 200: None,  # longer than a name: greeted without one
    " \t ": None,
}


def campaign(link=lambda recipient: "https://acme.example/u?t=1") -> CampaignFactory:
    made = factory(NOTICE, link)
    return CampaignFactory(
        NOTICE,
        sender=SENDER,
        policy=made.policy,
        version=made.version,
        kind=made.kind,
        unsubscribe=link,
        clock=lambda: DATE,
    )


def bodies(data: bytes) -> tuple[str, str]:
    message = message_from_bytes(data, policy=email_policy.default)
    return tuple(message.get_body((kind,)).get_content() for kind in ("plain", "html"))


@pytest.mark.parametrize(("name", "shown"), list(NAMES.items()))
def test_the_greeting_keeps_only_what_reads_as_a_name(name, shown):
    assert greeting_name(name) == shown
    if shown is not None:
        assert len(shown) <= MAX_GREETING_NAME + 2


@pytest.mark.parametrize("name", list(NAMES))
def test_each_name_is_filled_in_safely_and_byte_for_byte(name):
    made = campaign()
    chosen = made.factory(None, name)
    outgoing = assert_same(chosen, "ann@example.com", name)
    text, page = bodies(outgoing.data)
    shown = greeting_name(name)
    if shown is None:
        assert chosen is made.factory(None, None)
        assert text.startswith("Hello,\r\n") and "<p>Hello,</p>" in page
        return
    assert text.startswith(f"Hello {shown},\r\n")
    assert f"<p>Hello {html.escape(shown)},</p>" in page and "<script" not in page
    assert not re.search(r"^Bcc:", text + page, re.M)
    message = message_from_bytes(outgoing.data, policy=email_policy.default)
    assert "Bcc" not in message and message.defects == []
    assert NAME_PLACEHOLDER.encode() not in outgoing.data


def test_the_template_is_used_for_plain_names_and_the_copy_for_others():
    made = campaign()
    named = made.factory(None, "Ana")
    assert named is not made.factory(None, None)
    assert named.template(False, True) is not None  # the named copy has its own template
    outputs = {assert_same(named, f"u{i}@example.com", f"Reader {i}").data for i in range(5)}
    assert len(outputs) == 5


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.one_of(st.none(), st.text(max_size=120)))
def test_property_any_name_fills_in_as_a_full_build_does(name):
    made = campaign()
    try:
        outgoing = assert_same(made.factory(None, name), "ann@example.com", name)
    except Exception as exc:  # the header guard refuses the address or name both ways alike
        with pytest.raises(type(exc)):
            made.factory(None, name).build("ann@example.com", name, date=DATE)
        return
    text, _page = bodies(outgoing.data)
    first = text.split("\r\n", 1)[0]
    assert first == (f"Hello {greeting_name(name)}," if greeting_name(name) else "Hello,")
