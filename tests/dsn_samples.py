"""Delivery status notifications as Postfix and Exim write them, for the bounce tests.

The texts follow what those servers send: Postfix a multipart/report with a
message/delivery-status part and the returned message's headers (text/rfc822-headers),
Exim a plain-text "Mail delivery failed" with an X-Failed-Recipients header.
"""

from __future__ import annotations

from email import message_from_string
from email.message import Message

SENDER = "legal@acme.example"
DATE = "Tue, 01 Dec 2026 10:00:00 +0000"


def postfix_dsn(
    recipient: str,
    message_id: str,
    *,
    status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 Recipient address rejected: User unknown in local recipient table",
    action: str = "failed",
) -> Message:
    """A Postfix bounce ('failed') or delay warning ('delayed') of the notice ``message_id``."""
    subject = (
        "Undelivered Mail Returned to Sender"
        if action == "failed"
        else "Delayed Mail (still being retried)"
    )
    boundary = "3F1A2B4C5D.1764583200/mx.example.org"
    text = f"""\
Return-Path: <>
Received: by mx.example.org (Postfix) id 3F1A2B4C5D; {DATE}
Date: {DATE}
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
Subject: {subject}
To: {SENDER}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Content-Transfer-Encoding: 7bit
Message-Id: <20261201100000.3F1A2B4C5D@mx.example.org>

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

                   The mail system

<{recipient}>: host mx.example.com[192.0.2.1] said: {diagnostic} (in reply
    to RCPT TO command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
X-Postfix-Queue-ID: 3F1A2B4C5D
X-Postfix-Sender: rfc822; {SENDER}
Arrival-Date: {DATE}

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; {diagnostic}

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{SENDER}>
Received: from redline.acme.example by mx.example.org (Postfix) with ESMTP
From: Acme Legal <{SENDER}>
To: {recipient}
Subject: Our privacy policy changes
Message-ID: {message_id}
Date: {DATE}

--{boundary}--
"""
    return message_from_string(text)


def exim_bounce(
    recipient: str,
    message_id: str | None = None,
    *,
    detail: str = "550 5.1.1 <{recipient}>: No such user here",
) -> Message:
    """An Exim 'Mail delivery failed' of a notice; with ``message_id``, the copy of the
    message Exim appends (else, as with ``bounce_return_message = false``, none)."""
    copy = ""
    if message_id is not None:
        copy = f"""
------ This is a copy of the message, including all the headers. ------

Return-path: <{SENDER}>
Received: from redline.acme.example ([192.0.2.9])
\tby mx.example.net with esmtp (Exim 4.96)
From: Acme Legal <{SENDER}>
To: {recipient}
Subject: Our privacy policy changes
Message-ID: {message_id}
Date: {DATE}

Section 7 changed.
"""
    text = f"""\
Return-path: <>
Received: from Debian-exim by mx.example.net with local (Exim 4.96)
\tid 1vQxYz-000AbC-2D; {DATE}
X-Failed-Recipients: {recipient}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: {SENDER}
Content-Type: text/plain; charset=us-ascii
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1vQxYz-000AbC-2D@mx.example.net>
Date: {DATE}

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    host mx.example.com [192.0.2.7]
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    {detail.format(recipient=recipient)}
{copy}"""
    return message_from_string(text)


def not_a_bounce() -> Message:
    """A person's reply, which no bounce detector takes for a bounce."""
    return message_from_string(
        f"From: Ann <ann@example.com>\nTo: {SENDER}\nSubject: Re: Our privacy policy\n"
        f"Date: {DATE}\nMessage-ID: <reply-1@example.com>\n\nThanks, noted.\n"
    )
