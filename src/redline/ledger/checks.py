"""Checks of what the subscriber list and the ledger store: addresses, names, slugs, kinds.

Shared by the store and :mod:`redline.ledger.subscribers`; each raises InputError naming the
problem (never another address than the one given).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from redline.errors import InputError
from redline.ledger.headers import header_text, mailbox
from redline.locales import parse_locale
from redline.vocab import NOTICE_KINDS as KINDS

# The stored forms of the addresses checked last (an import checks each address twice: when
# it reads the row and when it stores the batch); bounded, so memory stays flat.
_CHECKED: OrderedDict[str, str] = OrderedDict()
_CHECKED_MAX = 4096
_CHECKED_LOCK = threading.Lock()
_SLUG = re.compile(r"(?!/)[^\s\\*,;]{1,200}(?<!/)")  # names are paths: de/privacy


@dataclass(frozen=True)
class SubscriberInput:
    """What to store for one subscriber (``policies`` None or empty: every policy)."""

    email: str
    name: str | None = None
    locale: str | None = None
    policies: tuple[str, ...] | None = None


def normalize_email(email: str) -> str:
    """Validate ``email`` (syntax only, no DNS) and return its display form.

    That is email-validator's normalisation: the domain lower-cased (IDNA), the local part
    as given (NFC). The identity of the address is :func:`email_key` of it. Raises
    InputError with the validator's reason.
    """
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InputError(f"not a valid email address: {exc}") from None


def email_key(normalized: str) -> str:
    """The identity of an address in its :func:`normalize_email` form: the local part
    case-folded (``str.casefold``), the domain as email-validator normalised it.

    Two addresses with the same key are one subscriber (as in Mailman 3), whose address is
    shown, and sent to, as it was first given.
    """
    local, _, domain = normalized.rpartition("@")
    return f"{local.casefold()}@{domain}"


def check_email(email: str) -> str:
    """:func:`normalize_email`, refusing also an address that can never be sent.

    The address must make a To header that parses back to itself (the same check as at
    send, :func:`redline.ledger.headers.mailbox`); an encoded word in the local part, say, cannot.
    """
    with _CHECKED_LOCK:
        known = _CHECKED.get(email)
    if known is not None:
        return known
    normalized = normalize_email(email)
    mailbox(normalized)
    with _CHECKED_LOCK:
        _CHECKED[email] = _CHECKED[normalized] = normalized
        while len(_CHECKED) > _CHECKED_MAX:
            _CHECKED.popitem(last=False)
    return normalized


def check_name(name: str | None) -> str | None:
    """Return the stripped name (None if empty), refused unless it is safe header text.

    The header guard (strict) runs here at import and again at send: a line break, a
    control character or an RFC 2047 encoded word in a display name could inject headers.
    """
    if name is None:
        return None
    name = name.strip()
    if len(name) > 200:
        raise InputError("name is longer than 200 characters")
    try:
        header_text(name, strict=True)
    except InputError as exc:
        raise InputError(f"name {exc.message}", hint=exc.hint) from None
    return name or None


def check_policy_slug(slug: str) -> str:
    """Return ``slug`` if it can name a policy in the subscriptions and the ledger."""
    if not _SLUG.fullmatch(slug):
        raise InputError(
            f"policy slug {slug!r} is not valid",
            hint="use the policy's name (its path without .md); separate several with spaces",
        )
    return slug


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a notice kind."""
    if kind not in KINDS:
        raise InputError(f"unknown notice kind {kind!r}", hint=f"use one of: {', '.join(KINDS)}")
    return kind


def check_version(version: int) -> int:
    """Return ``version`` if it is a whole number of at least 1."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputError(f"policy version must be a whole number >= 1, not {version!r}")
    return version


def lookup_key(email: str) -> str | None:
    """The :func:`email_key` of ``email``, or None when it is not an address (so matches
    nobody)."""
    try:
        return email_key(normalize_email(email))
    except InputError:
        return None


def prepare_subscriber(item: SubscriberInput) -> SubscriberInput:
    """``item`` checked and normalised as it is stored; InputError names the problem."""
    policies = tuple(check_policy_slug(p) for p in item.policies) if item.policies else None
    return SubscriberInput(
        email=check_email(item.email),
        name=check_name(item.name),
        locale=parse_locale(item.locale),
        policies=tuple(sorted(set(policies))) if policies else None,
    )
