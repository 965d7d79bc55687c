"""The header guard: encoded words, folded lines and Unicode line breaks never become headers.

Every check parses the serialized bytes, as a mail reader would.
"""

from __future__ import annotations

import base64
from email import message_from_bytes
from email import policy as email_policy
from email.headerregistry import Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import with_env
from redline.config import Settings
from redline.errors import ConfigError, InputError
from redline.ledger.checks import check_email, check_name
from redline.ledger.headers import WORD_JOINER, header_text, mailbox
from redline.mail.message import MessageFactory
from redline.mail.settings import sender_address
from redline.publish.notice import UNSUBSCRIBE_PLACEHOLDER, RenderedNotice

INJECTION = b"Update\r\nReply-To: attacker@evil.example\r\n\r\nConfirm at https://evil.example"
ENCODED = f"=?utf-8?b?{base64.b64encode(INJECTION).decode()}?="
EXPECTED_HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
]
LINK = "https://acme.example/unsubscribe?token=abc"


def notice(subject: str, summary: str = "Section 7 changed.") -> RenderedNotice:
    return RenderedNotice(
        subject=subject,
        text=f"{summary}\n\nUnsubscribe: {UNSUBSCRIBE_PLACEHOLDER}\n",
        html=f"<p>{summary}</p><p><a href='{UNSUBSCRIBE_PLACEHOLDER}'>Unsubscribe</a></p>",
    )


def build(subject: str, name: str | None = "Bob", sender: Address | None = None):
    factory = MessageFactory(
        notice(subject),
        sender=sender or Address("Acme Legal", addr_spec="legal@acme.example"),
        policy="privacy",
        version=2,
        kind="notice",
        unsubscribe=lambda recipient: LINK,
    )
    raw = factory.build("bob@example.com", name).as_bytes()
    return factory, raw, message_from_bytes(raw, policy=email_policy.default)


def assert_well_formed(msg) -> None:
    """Exactly the headers redline sets, each once, one line each; two single-body parts."""
    assert list(msg.keys()) == EXPECTED_HEADERS
    for name, value in msg.items():
        assert "\r" not in value and "\n" not in value, name
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert all(not part.is_multipart() for part in parts)
    assert [a.addr_spec for a in msg["To"].addresses] == ["bob@example.com"]
    assert msg["List-Unsubscribe"] == f"<{LINK}>"


# -- the guard ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Update\r\n Reply-To: x@evil.example", "Update Reply-To: x@evil.example"),  # folded
        ("a\u2028b\u2029c\x85d\x0be\x0cf\x1cg", "a b c d e f g"),  # Unicode line breaks
        ("nul\x00and\x7fdel\x9b", "nul and del"),
        ("  many   spaces\t ", "many spaces"),
        (ENCODED, ENCODED.replace("=?", f"={WORD_JOINER}?")),
        ("lone \ud800 surrogate", "lone surrogate"),
    ],
)
def test_header_text_removes_breaks_and_neutralises_encoded_words(value, expected):
    assert header_text(value) == expected
    assert "=?" not in header_text(value)


@pytest.mark.parametrize("value", ["a\r\nb", "a\u2028b", ENCODED, "x =?iso-8859-1?q?=0A?= y"])
def test_strict_header_text_refuses_instead(value):
    with pytest.raises(InputError, match="header injection"):
        header_text(value, strict=True)
    assert header_text("Jürgen Müller", strict=True) == "Jürgen Müller"


# -- defect 1: an encoded word in the title, the summary or REDLINE_FROM -----------------------


def test_encoded_word_title_adds_no_header_and_keeps_the_body():
    """Defect: the parser decoded the title into Reply-To, a second List-Unsubscribe, a body."""
    factory, raw, msg = build(f"# {ENCODED}")
    assert b"Reply-To" not in raw and raw.count(b"List-Unsubscribe:") == 1
    assert_well_formed(msg)
    assert msg["Subject"] == factory.subject
    assert "Section 7 changed." in msg.get_body(("plain",)).get_content()


def test_encoded_word_summary_in_the_subject_and_body_stays_text():
    factory = MessageFactory(
        notice(f"Privacy policy: {ENCODED}", summary=ENCODED),
        sender=Address("Acme Legal", addr_spec="legal@acme.example"),
        policy="privacy",
        version=2,
        kind="notice",
        unsubscribe=lambda recipient: LINK,
    )
    msg = message_from_bytes(
        factory.build("bob@example.com").as_bytes(), policy=email_policy.default
    )
    assert list(msg.keys()) == EXPECTED_HEADERS
    assert ENCODED in msg.get_body(("plain",)).get_content()  # body text is not decoded


def test_encoded_word_in_redline_from_is_a_config_error_not_a_traceback():
    for raw in (f"{ENCODED} <legal@acme.example>", "Legal\r\nBcc: x@y.example <legal@acme.ex>"):
        with pytest.raises(ConfigError, match="REDLINE_FROM: the sender contains"):
            sender_address(with_env(Settings(), {"REDLINE_FROM": raw}))


def test_sender_domain_is_written_in_idna():
    sender = sender_address(Settings(from_address="Recht <recht@München.example>"))
    assert sender.addr_spec == "recht@xn--mnchen-3ya.example"
    with pytest.raises(ConfigError, match="ASCII local part"):
        sender_address(Settings(from_address="josé@example.com"))


# -- defect 2: names, the same check at import and at send -------------------------------------


def test_encoded_word_name_is_refused_at_import_and_left_out_at_send():
    bad = "=?utf-8?b?" + base64.b64encode(b"a\r\nb").decode() + "?="
    with pytest.raises(InputError, match="encoded word"):
        check_name(bad)
    _, _, msg = build("Update", name=bad)  # a row stored before the check: still sent
    assert_well_formed(msg)
    assert msg["To"].addresses[0].display_name == ""


def test_address_that_can_never_be_a_header_is_refused_at_import():
    with pytest.raises(InputError, match="cannot be written as a mail header"):
        check_email("=?utf-8?b?YQ0KYg==?=@example.com")
    assert check_email("josé@例え.jp") == "josé@例え.jp"
    assert mailbox("user@münchen.de").addresses[0].domain == "xn--mnchen-3ya.de"


# -- property: nothing put in a header ever becomes another header -----------------------------

FRAGMENTS = [
    "=?",
    "?=",
    "=?utf-8?b?",
    "=?utf-8?q?",
    ENCODED,
    "=?utf-8?q?a=0D=0AX-Evil:_1?=",
    "\r\n",
    "\n",
    "\r",
    "\r\n ",
    "\u2028",
    "\u2029",
    "\x85",
    "\x00",
    "\x0b",
    '"',
    "\\",
    "<",
    ">",
    ",",
    ";",
    "@",
    "Reply-To: evil@evil.example",
    "Bcc: x@evil.example",
]
TEXT = st.lists(st.one_of(st.text(max_size=8), st.sampled_from(FRAGMENTS)), max_size=8).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=TEXT, summary=TEXT, name=TEXT, sender_name=TEXT)
def test_any_text_in_subject_name_summary_or_from_parses_back_to_the_same_headers(
    subject, summary, name, sender_name
):
    try:
        sender = sender_address(
            with_env(Settings(), {"REDLINE_FROM": f'"{sender_name}" <l@acme.example>'})
        )
    except ConfigError:
        sender = Address("Acme Legal", addr_spec="legal@acme.example")  # refused clearly
    factory = MessageFactory(
        notice(f"{subject} {summary}", summary),
        sender=sender,
        policy="privacy",
        version=2,
        kind="notice",
        unsubscribe=lambda recipient: LINK,
    )
    msg = message_from_bytes(
        factory.build("bob@example.com", name).as_bytes(), policy=email_policy.default
    )
    assert_well_formed(msg)
    assert msg["Subject"] == factory.subject
    assert msg["From"].addresses == (sender,)
    display = msg["To"].addresses[0].display_name
    assert display in ("", " ".join(name.split()))
