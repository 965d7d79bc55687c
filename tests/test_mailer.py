"""The mailer against real aiosmtpd servers: TLS, AUTH, faults, message structure, injection."""

from __future__ import annotations

import re
import socket
import ssl
from email import message_from_bytes
from email import policy as email_policy
from email.headerregistry import Address
from pathlib import Path

import pytest

from conftest import with_env
from redline.config import Settings
from redline.errors import ConfigError, DeliveryError
from redline.mail.message import MessageFactory, message_id
from redline.mail.outbox import OutboxTransport
from redline.mail.outcome import SendFailure
from redline.mail.settings import SmtpConfig, sender_address
from redline.mail.transport import SmtpTransport
from redline.publish.notice import UNSUBSCRIBE_PLACEHOLDER, RenderedNotice
from smtp_servers import Authenticator, FaultHandler, free_port, running_server

SENDER = Address("Acme Legal", addr_spec="legal@acme.example")
UNSUB = "https://acme.example/unsubscribe?token=tok.en_-1&lang=en"
PASSWORD = "s3cret-pa55word"


def make_notice(subject: str = "Our privacy policy changes on 1 July 2025") -> RenderedNotice:
    return RenderedNotice(
        subject=subject,
        text=(
            "Hello,\n\nSection 7 (Transfer of Data): one paragraph changed.\n\n"
            f"Unsubscribe: {UNSUBSCRIBE_PLACEHOLDER}\n"
        ),
        html=(
            "<html><body><p>Section 7 &amp; more</p>"
            f'<p><a href="{UNSUBSCRIBE_PLACEHOLDER}">Unsubscribe</a></p></body></html>'
        ),
    )


def factory(notice: RenderedNotice | None = None, link: str | None = UNSUB) -> MessageFactory:
    return MessageFactory(
        notice or make_notice(),
        sender=SENDER,
        policy="privacy",
        version=3,
        kind="notice",
        unsubscribe=lambda email: link,
    )


def parse(data: bytes):
    return message_from_bytes(data, policy=email_policy.default)


def transport_for(server, **changes) -> SmtpTransport:
    values = {"host": server.host, "port": server.port, "tls": server.tls, "timeout": 10.0}
    values.update(changes)
    return SmtpTransport(SmtpConfig(**values), sleep=lambda seconds: None)


# -- messages ---------------------------------------------------------------------------------


def test_message_has_text_and_html_alternatives_and_headers():
    msg = parse(factory().build("bob@example.com", "Bob Example").as_bytes())
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    text, html = (part.get_content().replace("\r\n", "\n") for part in parts)
    assert not re.search(r"<[a-zA-Z/!][^>]*>", text), "HTML tag in the text part"
    assert "<br" not in text.lower()
    assert f"Unsubscribe: {UNSUB}\n" in text
    assert 'href="https://acme.example/unsubscribe?token=tok.en_-1&amp;lang=en"' in html
    assert UNSUBSCRIBE_PLACEHOLDER not in text + html
    assert msg["List-Unsubscribe"] == f"<{UNSUB}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["From"].addresses[0] == SENDER
    assert msg["To"].addresses[0] == Address("Bob Example", addr_spec="bob@example.com")
    assert msg["Subject"] == "Our privacy policy changes on 1 July 2025"
    assert msg["Date"].datetime.tzinfo is not None
    assert msg["Message-ID"].endswith("@acme.example>")


def test_message_id_is_deterministic_per_policy_version_kind_and_subscriber():
    first = factory().build("bob@example.com")["Message-ID"]
    assert factory().build("bob@example.com")["Message-ID"] == first
    assert first == message_id("privacy", 3, "notice", "bob@example.com", "acme.example")
    others = {
        message_id("privacy", 4, "notice", "bob@example.com", "acme.example"),
        message_id("privacy", 3, "reminder", "bob@example.com", "acme.example"),
        message_id("terms", 3, "notice", "bob@example.com", "acme.example"),
        message_id("privacy", 3, "notice", "carol@example.com", "acme.example"),
    }
    assert first not in others and len(others) == 4


def test_long_list_unsubscribe_stays_on_one_line():
    link = "https://acme.example/unsubscribe?token=" + "x" * 400
    raw = factory(link=link).build("bob@example.com").as_bytes()
    lines = raw.split(b"\r\n")
    header = [line for line in lines if line.startswith(b"List-Unsubscribe:")]
    assert header == [f"List-Unsubscribe: <{link}>".encode()]
    assert b"=?" not in header[0]
    assert max(len(line) for line in lines) <= 998


@pytest.mark.parametrize(
    ("line", "link"),
    [
        ("x" * 1200, UNSUB),  # a line over 998 bytes: quoted-printable, short lines
        ("y" * 900, UNSUB + "&pad=" + "z" * 200),  # the link would push a line over 998
        ("Grüße", "https://acme.example/abmelden?t=ä"),  # a non-ASCII link
    ],
)
def test_bodies_stay_within_line_limits_and_round_trip(line, link):
    notice = RenderedNotice(
        subject="S",
        text=f"{line} {UNSUBSCRIBE_PLACEHOLDER}\nend\n",
        html=f"<p>{line} <a href='{UNSUBSCRIBE_PLACEHOLDER}'>u</a></p>\n",
    )
    raw = factory(notice, link=link).build("bob@example.com").as_bytes()
    assert max(len(row) for row in raw.split(b"\r\n")) <= 998
    msg = parse(raw)
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == f"{line} {link}\nend\n"
    assert (
        f"{line} <a href='{link.replace('&', '&amp;')}'>u</a>"
        in msg.get_body(("html",)).get_content()
    )
    for part in msg.iter_parts():
        if part["Content-Transfer-Encoding"] in ("quoted-printable", "base64"):
            encoded = part.as_bytes().split(b"\n\n", 1)[1]
            assert max(len(row.rstrip(b"\r")) for row in encoded.split(b"\n")) <= 76


def test_without_unsubscribe_url_a_mailto_link_is_offered_without_one_click():
    msg = parse(factory(link=None).build("bob@example.com").as_bytes())
    assert msg["List-Unsubscribe"] == "<mailto:legal@acme.example?subject=unsubscribe>"
    assert msg["List-Unsubscribe-Post"] is None
    assert "mailto:legal@acme.example?subject=unsubscribe" in msg.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("subject", "name"),
    [
        ("Update\r\nBcc: victim@evil.example", "Bob"),
        ("Update\nX-Injected: yes", "Eve\r\nBcc: victim@evil.example"),
        ("Update\x00\x85\u2028Reply-To: evil@evil.example", 'Eve <eve@evil.example>, "M"\nCc: x@y'),
    ],
)
def test_header_injection_in_subject_and_name_is_neutralised(subject, name):
    raw = factory(make_notice(subject)).build("bob@example.com", name).as_bytes()
    msg = parse(raw)
    for header in ("Bcc", "Cc", "X-Injected", "Reply-To"):
        assert msg[header] is None
    assert [a.addr_spec for a in msg["To"].addresses] == ["bob@example.com"]
    assert "\n" not in str(msg["Subject"]) and "\r" not in str(msg["Subject"])
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"\r\n(Bcc|Cc|X-Injected|Reply-To):", head)
    assert b"\x00" not in raw


def test_invalid_recipient_address_is_a_permanent_failure():
    with pytest.raises(SendFailure) as caught:
        factory().build("not an address")
    assert caught.value.outcome == "failed-permanent"


def test_sender_address_from_env_or_config():
    settings = Settings(from_address="Legal <legal@ACME.example>")
    assert sender_address(settings) == Address("Legal", addr_spec="legal@acme.example")
    assert sender_address(with_env(settings, {"REDLINE_FROM": "ops@acme.example"})).addr_spec == (
        "ops@acme.example"
    )
    with pytest.raises(ConfigError, match="no sender address"):
        sender_address(Settings())
    with pytest.raises(ConfigError, match="not valid"):
        sender_address(Settings(from_address="legal@"))


# -- configuration ----------------------------------------------------------------------------


def test_smtp_config_from_env_over_config_and_defaults(tmp_path):
    settings = Settings(smtp_host="mail.acme.example", smtp_tls="ssl", smtp_user="cfg")
    config = SmtpConfig.from_settings(with_env(settings, {"REDLINE_SMTP_PASSWORD": PASSWORD}))
    assert (config.host, config.port, config.tls, config.user) == (
        "mail.acme.example",
        465,
        "ssl",
        "cfg",
    )
    assert config.password == PASSWORD
    assert PASSWORD not in repr(config)
    env = {
        "REDLINE_SMTP_HOST": "relay.example",
        "REDLINE_SMTP_PORT": "2525",
        "REDLINE_SMTP_TLS": "none",
        "REDLINE_SMTP_USER": "envuser",
    }
    config = SmtpConfig.from_settings(with_env(settings, env))
    assert (config.host, config.port, config.tls, config.user) == (
        "relay.example",
        2525,
        "none",
        "envuser",
    )
    assert SmtpConfig.from_settings(Settings()) is None
    assert SmtpConfig.from_settings(Settings(smtp_host="h")).port == 587
    with pytest.raises(ConfigError, match="REDLINE_SMTP_TLS"):
        SmtpConfig.from_settings(with_env(settings, {"REDLINE_SMTP_TLS": "tls1.3"}))
    with pytest.raises(ConfigError, match="REDLINE_SMTP_PORT"):
        SmtpConfig.from_settings(with_env(settings, {"REDLINE_SMTP_PORT": "smtp"}))
    with pytest.raises(ConfigError, match="REDLINE_SMTP_CA_FILE"):
        SmtpConfig.from_settings(
            with_env(settings, {"REDLINE_SMTP_CA_FILE": str(tmp_path / "none.pem")})
        )


def test_user_without_password_is_refused_before_connecting():
    with pytest.raises(DeliveryError, match="REDLINE_SMTP_PASSWORD"):
        SmtpTransport(SmtpConfig("127.0.0.1", free_port(), "none", user="alice"))


def test_unreachable_server_is_a_delivery_error():
    transport = SmtpTransport(SmtpConfig("127.0.0.1", free_port(), "none", timeout=5))
    with pytest.raises(DeliveryError, match="cannot reach"):
        transport.open()


# -- real servers -----------------------------------------------------------------------------


def test_plain_send_reuses_one_connection():
    with running_server() as server:
        transport = transport_for(server)
        transport.open()
        deliveries = [transport.send(factory().render(f"u{i}@example.com")) for i in range(5)]
        transport.close()
    assert [d.code for d in deliveries] == [250] * 5
    assert deliveries[0].message == "2.0.0 Ok: queued as Q1"
    received = server.handler.messages
    assert [m.rcpt_tos for m in received] == [[f"u{i}@example.com"] for i in range(5)]
    assert {m.connection for m in received} == {1}
    assert all(m.mail_from == "legal@acme.example" for m in received)
    assert received[0].parsed()["Message-ID"] == factory().message_id("u0@example.com")


def test_non_ascii_names_subject_and_body_survive_the_trip():
    notice = RenderedNotice(
        subject="Änderung der Datenschutzerklärung — gültig ab 1. Juli",
        text=f"Grüße,\nAbschnitt 7 „Übermittlung“ geändert.\n{UNSUBSCRIBE_PLACEHOLDER}\n",
        html=f"<p>Grüße — <a href='{UNSUBSCRIBE_PLACEHOLDER}'>abmelden</a></p>",
    )
    with running_server() as server:
        transport = transport_for(server)
        transport.open()
        transport.send(factory(notice).render("jurgen@example.com", "Jürgen Müller"))
        transport.close()
    received = server.handler.messages[0]
    assert "BODY=8BITMIME" in received.mail_options
    assert not received.data.isascii()
    msg = received.parsed()
    assert msg["Subject"] == notice.subject
    assert msg["To"].addresses[0].display_name == "Jürgen Müller"
    assert "Abschnitt 7 „Übermittlung“ geändert." in msg.get_body(("plain",)).get_content()


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_tls_with_auth_logs_in_once(smtp_certificate, tls):
    auth = Authenticator("alice", PASSWORD)
    with running_server(tls=tls, certificate=smtp_certificate, authenticator=auth) as server:
        transport = transport_for(
            server, user="alice", password=PASSWORD, ca_file=smtp_certificate.cert
        )
        transport.open()
        for i in range(3):
            transport.send(factory().render(f"u{i}@example.com"))
        transport.close()
    assert auth.attempts == 1 and auth.failures == 0
    assert len(server.handler.messages) == 3
    assert all(m.authenticated for m in server.handler.messages)


def test_certificate_verification_works_under_strict_x509(smtp_certificate):
    context = ssl.create_default_context()
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.load_verify_locations(smtp_certificate.cert)
    with (
        running_server(tls="ssl", certificate=smtp_certificate) as server,
        socket.create_connection((server.host, server.port), timeout=5) as sock,
        context.wrap_socket(sock, server_hostname=server.host) as tls_sock,
    ):
        assert tls_sock.version()


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_untrusted_certificate_is_refused_before_sending(smtp_certificate, tls):
    auth = Authenticator("alice", PASSWORD)
    with running_server(tls=tls, certificate=smtp_certificate, authenticator=auth) as server:
        transport = transport_for(server, user="alice", password=PASSWORD)
        with pytest.raises(DeliveryError, match="not trusted") as caught:
            transport.open()
    assert "REDLINE_SMTP_CA_FILE" in str(caught.value)
    assert auth.attempts == 0, "credentials must never reach an unverified server"
    assert server.handler.messages == []


def test_failing_auth_aborts_before_sending(smtp_certificate):
    auth = Authenticator("alice", PASSWORD)
    with running_server(tls="starttls", certificate=smtp_certificate, authenticator=auth) as server:
        transport = transport_for(
            server, user="alice", password="wrong-password", ca_file=smtp_certificate.cert
        )
        with pytest.raises(DeliveryError, match="authentication as 'alice' failed") as caught:
            transport.open()
    assert "535" in str(caught.value)
    assert "wrong-password" not in str(caught.value)
    assert auth.failures >= 1  # smtplib tries each offered mechanism (PLAIN, LOGIN)
    assert server.handler.messages == []


def test_starttls_required_but_not_offered_is_a_delivery_error():
    with running_server() as server:
        transport = transport_for(server, tls="starttls")
        with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
            transport.open()
    assert server.handler.messages == []


def test_faults_are_classified_and_retried_with_backoff():
    handler = FaultHandler(
        drop_after=2,
        temporary={
            "soon@example.com": ("451 4.3.0 try again later", 2),
            "bye@example.com": ("421 4.3.2 closing", 1),
            "never@example.com": ("451 4.3.0 still busy", 99),
        },
        permanent={"gone@example.com": "550 5.1.1 <gone@example.com>: no such user"},
    )
    sleeps: list[float] = []
    recipients = [
        "a@example.com",
        "soon@example.com",
        "gone@example.com",
        "b@example.com",
        "bye@example.com",
        "never@example.com",
        "c@example.com",
    ]
    outcomes = {}
    with running_server(handler) as server:
        config = SmtpConfig(server.host, server.port, "none", timeout=10, retries=3, backoff=0.5)
        transport = SmtpTransport(config, sleep=sleeps.append)
        transport.open()
        for rcpt in recipients:
            try:
                outcomes[rcpt] = transport.send(factory().render(rcpt)).code
            except SendFailure as failure:
                outcomes[rcpt] = (failure.outcome, failure.code)
        transport.close()
    assert outcomes == {
        "a@example.com": 250,
        "soon@example.com": 250,
        "gone@example.com": ("failed-permanent", 550),
        "b@example.com": 250,
        "bye@example.com": 250,
        "never@example.com": ("failed-temporary", 451),
        "c@example.com": 250,
    }
    # every good recipient exactly once, the others never
    assert handler.per_recipient() == {
        rcpt: 1 for rcpt, outcome in outcomes.items() if outcome == 250
    }
    assert handler.drops >= 1
    assert handler.rcpt_attempts["never@example.com"] == 4, "one try and three retries"
    assert handler.rcpt_attempts["gone@example.com"] == 1, "5xx must not be retried"
    # exponential backoff: 0.5, 1, 2 for the recipient that never succeeds
    assert sleeps[-3:] == [0.5, 1.0, 2.0]


def test_outbox_writes_each_message_atomically_and_idempotently(tmp_path: Path):
    outbox = OutboxTransport(tmp_path / "out")
    outbox.open()
    message = factory().render("bob@example.com", "Bob")
    first = outbox.send(message)
    outbox.send(factory().render("bob@example.com", "Bob"))
    files = sorted((tmp_path / "out").iterdir())
    assert len(files) == 1, "a re-sent message replaces its own file"
    assert files[0].suffix == ".eml"
    assert first.code == 250 and files[0].name in first.message
    parsed = parse(files[0].read_bytes())
    assert parsed["Message-ID"] == message.message_id
    outbox.send(factory().render("carol@example.com"))
    assert len(list((tmp_path / "out").iterdir())) == 2
    assert not list((tmp_path / "out").glob(".*"))


def test_outbox_that_cannot_be_created_is_a_delivery_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DeliveryError, match="cannot create outbox"):
        OutboxTransport(blocker / "out").open()


# -- refusals that are not about the recipient, slow replies, encodings ------------------------


def test_530_before_rcpt_is_deferred_not_a_recipient_failure():
    """Defect: 530 (AUTH required, credentials unset) marked each recipient failed-permanent."""
    handler = FaultHandler(require_auth=True)
    with running_server(handler) as server:
        transport = transport_for(server)
        transport.open()
        with pytest.raises(SendFailure) as caught:
            transport.send(factory().render("ann@example.com"))
        transport.close()
    failure = caught.value
    assert (failure.outcome, failure.code) == ("deferred", 530)
    assert [a.outcome for a in failure.attempts] == ["deferred"], "5xx is not retried"
    assert handler.rcpt_attempts == {} and handler.messages == []


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ("552 5.3.4 Message size exceeds fixed limit", "deferred"),
        ("552 Message size exceeds fixed maximum message size", "deferred"),
        ("554 5.7.1 Message rejected as spam", "deferred"),
        ("550 5.1.1 <ann@example.com>: no such user", "failed-permanent"),
        ("552 5.2.2 Mailbox full", "failed-permanent"),
        ("550 Requested action not taken: mailbox unavailable", "failed-permanent"),
    ],
)
def test_data_replies_are_about_the_recipient_only_when_they_say_so(reply, outcome):
    with running_server(FaultHandler(data_reply=reply)) as server:
        transport = transport_for(server)
        transport.open()
        with pytest.raises(SendFailure) as caught:
            transport.send(factory().render("ann@example.com"))
        transport.close()
    assert caught.value.outcome == outcome
    assert caught.value.code == int(reply[:3])


def test_data_reply_slower_than_the_timeout_is_unknown_and_never_retried():
    """Defect: the message was queued, the reply came late, and it was sent 4 times."""
    handler = FaultHandler(data_delay=1.5)
    with running_server(handler) as server:
        transport = transport_for(server, timeout=0.5, retries=3)
        transport.open()
        with pytest.raises(SendFailure) as caught:
            transport.send(factory().render("ann@example.com"))
        # The next message goes out on a new connection.
        handler.data_delay = 0
        assert transport.send(factory().render("ben@example.com")).code == 250
        transport.close()
    assert caught.value.outcome == "unknown"
    assert "may have been delivered" in caught.value.message
    assert len(caught.value.attempts) == 1
    assert handler.per_recipient() == {"ann@example.com": 1, "ben@example.com": 1}


def test_every_try_is_an_attempt():
    handler = FaultHandler(temporary={"ann@example.com": ("451 4.3.0 later", 99)})
    with running_server(handler) as server:
        transport = transport_for(server, retries=3)
        transport.open()
        with pytest.raises(SendFailure) as caught:
            transport.send(factory().render("ann@example.com"))
        transport.close()
    assert [a.outcome for a in caught.value.attempts] == ["failed-temporary"] * 4
    assert [a.code for a in caught.value.attempts] == [451] * 4


@pytest.mark.parametrize("password", ["pässwörd-ünïcode", "密码-パスワード"])
def test_non_ascii_password_logs_in_as_utf8(password):
    """Defect: a UnicodeEncodeError traceback after the commit and tag were made."""
    auth = Authenticator("mailer", password)
    with running_server(authenticator=auth) as server:
        transport = transport_for(server, user="mailer", password=password)
        transport.open()
        transport.send(factory().render("ann@example.com"))
        transport.close()
    assert auth.failures == 0 and auth.attempts == 1
    assert server.handler.messages[0].authenticated


def test_credentials_auth_cannot_carry_are_refused_by_the_config():
    settings = Settings(smtp_host="mail.acme.example")
    for env, variable in (
        ({"REDLINE_SMTP_PASSWORD": "a\0b"}, "REDLINE_SMTP_PASSWORD"),
        ({"REDLINE_SMTP_PASSWORD": "bad\udcff"}, "REDLINE_SMTP_PASSWORD"),
        ({"REDLINE_SMTP_USER": "u\0"}, "REDLINE_SMTP_USER"),
    ):
        with pytest.raises(ConfigError, match=variable) as caught:
            SmtpConfig.from_settings(with_env(settings, env))
        assert "a\0b" not in str(caught.value) and "bad" not in str(caught.value)


def test_idn_domain_is_written_in_idna_in_the_outbox(tmp_path: Path):
    """Defect: the .eml said To: <user@=?utf-8?q?m=C3=BCnchen?=.de>."""
    outbox = OutboxTransport(tmp_path)
    outbox.open()
    outbox.send(factory().render("user@münchen.de", "Jürgen"))
    data = next(tmp_path.glob("*.eml")).read_bytes()
    assert b"=?utf-8?q?m" not in data
    assert parse(data)["To"].addresses[0].addr_spec == "user@xn--mnchen-3ya.de"


def test_utf8_local_part_is_sent_with_smtputf8_or_fails_clearly(tmp_path: Path):
    """Defect: josé@例え.jp was imported but always failed permanently at send."""
    with running_server() as server:
        transport = transport_for(server)
        transport.open()
        assert transport.send(factory().render("josé@例え.jp", "José")).code == 250
        transport.close()
    received = server.handler.messages[0]
    assert received.rcpt_tos == ["josé@xn--r8jz45g.jp"]
    assert "SMTPUTF8" in received.mail_options
    assert 'To: "José" <josé@xn--r8jz45g.jp>\r\n'.encode() in received.data  # RFC 6532
    outbox = OutboxTransport(tmp_path)
    outbox.send(factory().render("josé@例え.jp"))
    assert "josé@xn--r8jz45g.jp".encode() in next(tmp_path.glob("*.eml")).read_bytes()
    with running_server(smtputf8=False) as server:
        transport = transport_for(server)
        transport.open()
        with pytest.raises(SendFailure, match="needs SMTPUTF8") as caught:
            transport.send(factory().render("josé@例え.jp"))
        transport.close()
    assert caught.value.outcome == "failed-permanent"
