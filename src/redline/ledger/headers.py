"""The one guard for mail header values built from policy text, config or subscriber data.

It lives in the ledger, the lowest layer that needs it: subscriber addresses and names are
checked with it at import, and :mod:`redline.mail` checks every header again at send.

Cleaning a value of control characters is not enough: when a header is set, the stdlib
parser decodes RFC 2047 encoded words (``=?utf-8?b?...?=``), and an encoded word can carry
CR/LF that then become new headers or a new body. :func:`header_text` therefore decodes
nothing and leaves nothing that a later step could decode into a line break:

* control characters (category Cc, NUL, CR and LF among them), Unicode line and paragraph
  separators and lone surrogates are removed, and runs of white space become one space (a
  folded line becomes one line);
* every ``=?`` gets a WORD JOINER (U+2060) between its two characters, so neither the stdlib
  nor any mail reader sees an encoded word that redline did not make; the text looks the same.

With ``strict`` it refuses such a value instead (subscriber names, the sender's name).
:func:`mailbox` builds an address header through the guard and checks, after the parser's
decoding step, that the header says exactly what was put in. Both run at import and at send.
"""

from __future__ import annotations

import re
from email.errors import NonASCIILocalPartDefect
from email.headerregistry import Address, HeaderRegistry
from typing import Any

from redline.errors import InputError

WORD_JOINER = "\u2060"
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_ENCODED_WORD = "=?"
_ADDRESS_HEADER = HeaderRegistry()["To"]


def header_text(value: str, *, strict: bool = False) -> str:
    """``value`` as one safe line of header text (see the module docstring).

    With ``strict``, a value that would need more than stripping and joining spaces raises
    InputError naming the problem (never the value) instead of being repaired.
    """
    if strict:
        if _BREAKS.search(value):
            raise InputError(
                "contains a line break, NUL or control character (refused: header injection)"
            )
        if _ENCODED_WORD in value:
            raise InputError(
                "contains '=?', the start of an RFC 2047 encoded word (refused: header injection)",
                hint="write the text itself, not its MIME encoding",
            )
    text = " ".join(_BREAKS.sub(" ", value).split())
    return text.replace(_ENCODED_WORD, f"={WORD_JOINER}?")


def wire_address(email: str) -> str:
    """``email`` as it goes into headers and the envelope: the domain in IDNA (A-labels).

    An ASCII address is returned as it is. A non-ASCII local part stays UTF-8 and needs a
    server that offers SMTPUTF8. InputError if the address is not valid.
    """
    if email.isascii():
        return email
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InputError(f"not a valid email address: {exc}") from None
    return f"{checked.local_part}@{checked.ascii_domain}"


def mailbox(email: str, name: str | None = None, *, field: str = "To") -> Any:
    """The parsed ``field`` header ``"Name" <email>`` (or the bare address), ready to set.

    ``email`` is written with :func:`wire_address`, ``name`` goes through
    :func:`header_text` (strict). InputError unless the parsed header holds exactly that one
    address and name, without defects (a UTF-8 local part aside).
    """
    addr = wire_address(email)
    display = header_text(name, strict=True) if name else ""
    if display:
        quoted = display.replace("\\", "\\\\").replace('"', '\\"')
        text = f'"{quoted}" <{addr}>'
    else:
        text = addr
    try:
        header = _ADDRESS_HEADER(field, text)
        username, _, domain = addr.rpartition("@")
        expected = (Address(display, username, domain),)
    except ValueError:  # the parser decoded a line break out of the address
        raise InputError("the address cannot be written as a mail header") from None
    defects = [
        defect
        for defect in header.defects
        if not (isinstance(defect, NonASCIILocalPartDefect) and not addr.isascii())
    ]
    if defects or header.addresses != expected:
        problem = defects[0] if defects else "it does not parse back to the same address"
        raise InputError(f"the address cannot be written as a mail header: {problem}")
    return header
