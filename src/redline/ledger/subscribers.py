"""Subscriber list: validation, adding one, listing, and signed unsubscribe tokens.

CSV import is :mod:`redline.ledger.csv_import`.

Subscriber addresses are personal data: functions here never log them, and errors name at
most the one address the user gave. Unsubscribe tokens do not carry the address either:
they sign the subscriber's id and a keyed digest of the address (so a token never fits a
later subscriber who got the same id). Tokens of the first format, which signed the address
itself, are still accepted, so the links in notices already sent keep working.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from redline.errors import ConfigError, InputError
from redline.ledger.checks import (
    SubscriberInput,
    check_email,
    check_name,
    check_policy_slug,
    normalize_email,
)
from redline.ledger.headers import header_text
from redline.ledger.proof import utc_iso
from redline.locales import parse_locale

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.env import Environment
    from redline.ledger.people import Subscriber
    from redline.ledger.store import Store

LOG = logging.getLogger("redline.ledger.subscribers")

ENV_SECRET = "REDLINE_SECRET"
MIN_SECRET_LENGTH = 16
_TOKEN_SALT = "redline.unsubscribe.v2"
_LEGACY_TOKEN_SALT = "redline.unsubscribe.v1"  # signed the address itself


# -- validation -------------------------------------------------------------------------------


class _Policies(Protocol):
    """What :func:`policy_names` reads of a :class:`redline.history.repo.PolicyRepo` (the
    ledger imports nothing about git)."""

    def policies(self) -> Sequence[Any]: ...
    def tag_names(self, policy: Any) -> Sequence[str]: ...


def policy_names(repo: _Policies) -> dict[str, str]:
    """Every name a subscription may use, with the current name of its policy.

    Each policy's own name stands for itself; the names it had before a rename or move, and
    the file-stem names of repositories set up before names were paths (``privacy`` for
    ``legal/privacy.md``), stand for it when no other policy has them
    (:meth:`redline.history.repo.PolicyRepo.tag_names`).
    """
    policies = repo.policies()
    names = {name: policy.slug for policy in policies for name in repo.tag_names(policy)[1:]}
    names.update({policy.slug: policy.slug for policy in policies})
    return names


def earlier_names(known: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """The earlier policy names among ``names``, each with the current name it stands for."""
    return {name: known[name] for name in names if known.get(name, name) != name}


def parse_policies(
    value: str | Collection[str] | None, known: Mapping[str, str] | None = None
) -> tuple[str, ...] | None:
    """Policy slugs from a space-separated string or a list; None (every policy) if empty.

    With ``known`` (:func:`policy_names`), an earlier name becomes the policy's current name
    and a name outside it is refused.
    """
    items = value.split() if isinstance(value, str) else list(value or ())
    slugs: list[str] = []
    for item in items:
        slug = check_policy_slug(item.strip())
        if known is not None:
            if slug not in known:
                current = sorted(set(known.values()))
                names = ", ".join(current) or "none"
                raise InputError(f"unknown policy {slug!r}", hint=f"known policies: {names}")
            slug = known[slug]
        if slug not in slugs:
            slugs.append(slug)
    return tuple(sorted(slugs)) or None


def make_subscriber(
    email: str,
    name: str | None = None,
    locale: str | None = None,
    policies: str | Collection[str] | None = None,
    *,
    known_policies: Mapping[str, str] | None = None,
) -> SubscriberInput:
    """Validate one subscriber's fields (syntax only, no DNS); InputError names the problem."""
    if not email or not email.strip():
        raise InputError("email is empty")
    return SubscriberInput(
        email=check_email(email),
        name=check_name(name),
        locale=parse_locale(locale),
        policies=parse_policies(policies, known_policies),
    )


def add_subscriber(
    store: Store,
    email: str,
    *,
    name: str | None = None,
    locale: str | None = None,
    policies: Collection[str] | None = None,
    known_policies: Mapping[str, str] | None = None,
    resubscribe: bool = False,
    channel: str = "cli",
) -> tuple[str, Subscriber]:
    """Add one subscriber, or update the fields given (None keeps the stored value); the
    change is recorded as made through ``channel``.

    Returns ('added' | 'updated' | 'unchanged', the stored subscriber).
    """
    existing = store.get_subscriber(email)
    if existing is not None:
        name = existing.name if name is None else name
        locale = existing.locale if locale is None else locale
        if policies is None:
            policies = existing.policies
    item = make_subscriber(email, name, locale, policies, known_policies=known_policies)
    result = store.upsert_subscribers([item], resubscribe=resubscribe, channel=channel)[0]
    stored = store.get_subscriber(item.email)
    if stored is None:  # removed by a concurrent run in between
        raise InputError(f"subscriber {item.email} was removed meanwhile", hint="try again")
    return result, stored


# -- unsubscribe tokens -----------------------------------------------------------------------


def signing_secret(env: Environment) -> str:
    """``REDLINE_SECRET``, the key that signs every token; InputError if unset or short."""
    secret = env.get(ENV_SECRET)
    if not secret:
        raise InputError(
            f"{ENV_SECRET} is not set",
            hint="set it to a long random string, the key that signs unsubscribe links",
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise InputError(
            f"{ENV_SECRET} is too short (fewer than {MIN_SECRET_LENGTH} characters)",
            hint="use a long random string, e.g. from `python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`",
        )
    return secret


def _serializer(salt: str, env: Environment) -> Any:
    return _signed_with(salt, signing_secret(env))


@functools.lru_cache(maxsize=8)
def _signed_with(salt: str, secret: str) -> Any:
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(secret, salt=salt, signer_kwargs={"digest_method": hashlib.sha256})


def _address_tag(email: str, env: Environment, *, normalized: bool = False) -> str:
    """A keyed digest of the address (16 bytes): opaque without ``REDLINE_SECRET``.
    ``normalized``: ``email`` is in :func:`normalize_email` form already (as stored)."""
    key = f"{_TOKEN_SALT}\0{signing_secret(env)}".encode()
    text = email if normalized else normalize_email(email)
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _tagged(email: str, tag: str, env: Environment) -> bool:
    """Whether the stored address ``email`` has the digest ``tag`` (checked as stored first,
    then normalised, for an address stored before normalisation changed)."""
    if hmac.compare_digest(_address_tag(email, env, normalized=True), tag):
        return True
    return hmac.compare_digest(_address_tag(email, env), tag)


def make_token(email: str, subscriber_id: int | None, *, env: Environment) -> str:
    """A URL-safe token for the subscriber ``subscriber_id`` with address ``email``.

    It signs (HMAC, ``REDLINE_SECRET``) the id and a keyed digest of the address, never
    the address. Tokens do not expire: an unsubscribe link must keep working. Changing the
    secret invalidates every token already sent. A token without an id (a preview or a
    settings check) names nobody.
    """
    return str(_serializer(_TOKEN_SALT, env).dumps([subscriber_id, _address_tag(email, env)]))


def read_token(token: str, *, env: Environment) -> tuple[int, str] | str:
    """What a token names: (subscriber id, address digest), or an address for a token of the
    first format. InputError if it is not valid."""
    from itsdangerous import BadData

    token = token.strip()
    try:
        claim = _serializer(_TOKEN_SALT, env).loads(token)
    except BadData:
        claim = None
    if claim is None:
        try:
            email = _serializer(_LEGACY_TOKEN_SALT, env).loads(token)
        except BadData:
            raise InputError(
                "the unsubscribe token is not valid",
                hint=f"it was altered, cut short, or signed with a different {ENV_SECRET}",
            ) from None
        if not isinstance(email, str) or "@" not in email:
            raise InputError("the unsubscribe token does not name an address")
        return email
    if (
        not isinstance(claim, list)
        or len(claim) != 2
        or not isinstance(claim[0], int)
        or not isinstance(claim[1], str)
    ):
        raise InputError("the unsubscribe token does not name a subscriber")
    return claim[0], claim[1]


def resolve_target(store: Store, value: str, *, env: Environment) -> str:
    """The address named by ``value``: an email address as given, or an unsubscribe token
    (looked up in ``store``; InputError if it names no current subscriber)."""
    value = value.strip()
    if "@" in value:
        return normalize_email(value)
    claim = read_token(value, env=env)
    if isinstance(claim, str):
        return claim
    subscriber_id, tag = claim
    email = store.subscriber_email(subscriber_id)
    if email is None or not _tagged(email, tag, env):
        email = _merged_into(store, tag, env)
    if email is None:
        raise InputError(
            "the unsubscribe token names no current subscriber",
            hint="they were removed, or the address changed since the notice was sent",
        )
    return email


def unsubscribe_by_token(store: Store, token: str, *, env: Environment, channel: str) -> str | None:
    """Unsubscribe whom an unsubscribe token names (idempotent), recording the change as
    made through ``channel``: their address, or None when it names no current subscriber.
    InputError when the token is not valid. A token of the current format takes one short
    transaction (:meth:`~redline.ledger.optout.OptOut.unsubscribe_id`)."""
    claim = read_token(token, env=env)
    if not isinstance(claim, str):
        subscriber_id, tag = claim
        email = store.unsubscribe_id(
            subscriber_id,
            lambda stored: hmac.compare_digest(_address_tag(stored, env), tag),
            channel,
        )
        if email is not None:
            return email
    try:  # a token of the first format, or of an address merged into another since
        email = resolve_target(store, token, env=env)
    except InputError:
        return None
    store.unsubscribe(email, channel=channel)
    return email


def _merged_into(store: Store, tag: str, env: Environment) -> str | None:
    """The address of the subscriber that an address with digest ``tag`` was merged into
    (a token sent before the merge names the id that address had), or None."""
    for email, merged in store.merged_addresses():
        if any(hmac.compare_digest(_address_tag(old, env), tag) for old in merged):
            return email
    return None


def unsubscribe_template(settings: Settings) -> str | None:
    """Config ``unsubscribe_url``; else, with ``serve_url`` set, the one-click endpoint of
    ``redline serve`` there (``{serve_url}/unsubscribe?token={token}``); else None."""
    if settings.unsubscribe_url:
        return settings.unsubscribe_url
    if settings.serve_url:
        return settings.serve_url.rstrip("/") + "/unsubscribe?token={token}"
    return None


def unsubscribe_link(
    settings: Settings, email: str, subscriber_id: int | None = None
) -> str | None:
    """The subscriber's unsubscribe URL (:func:`unsubscribe_template`), or None if unset.

    ``{token}`` in the URL is replaced by :func:`make_token`. The URL must be safe header
    text without white space (it is also the List-Unsubscribe header).
    """
    template = unsubscribe_template(settings)
    if not template:
        return None
    try:
        header_text(template, strict=True)
    except InputError as exc:
        raise ConfigError(f"unsubscribe_url {exc.message}", hint=exc.hint) from None
    if any(char.isspace() for char in template):
        raise ConfigError("unsubscribe_url contains white space", hint="percent-encode it")
    if "{token}" not in template:
        raise ConfigError(
            f"unsubscribe_url {template!r} has no {{token}} placeholder",
            hint="e.g. https://example.com/policy-unsubscribe?token={token}",
        )
    if not template.startswith(("https://", "http://")):
        raise ConfigError(
            f"unsubscribe_url {template!r} is not an http(s) URL",
            hint="one-click unsubscribe (RFC 8058) needs an https:// URL",
        )
    return template.replace("{token}", make_token(email, subscriber_id, env=settings.env))


# -- listing ----------------------------------------------------------------------------------


def subscriber_json(subscriber: Subscriber) -> dict[str, Any]:
    """One subscriber as plain data (``policies`` null: every policy; ``merged_from``: the
    addresses differing only in case that were merged into it)."""
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "locale": subscriber.locale,
        "policies": list(subscriber.policies) if subscriber.policies is not None else None,
        "subscribed_at": utc_iso(subscriber.created),
        "unsubscribed_at": utc_iso(subscriber.unsubscribed),
        "merged_from": list(subscriber.merged_from),
        "undeliverable_at": utc_iso(subscriber.undeliverable),
    }


def write_subscribers(
    store: Store,
    out: TextIO,
    *,
    as_json: bool = False,
    policy: str | None = None,
    include_unsubscribed: bool = False,
) -> int:
    """Stream the subscriber list to ``out`` as tab-separated lines or a JSON array.

    The text form has a header line; 'all' in POLICIES means every policy. Returns the
    number of subscribers written.
    """
    count = 0
    subscribers = store.iter_subscribers(policy, include_unsubscribed=include_unsubscribed)
    if not as_json:
        out.write("EMAIL\tNAME\tLOCALE\tPOLICIES\tSUBSCRIBED\tUNSUBSCRIBED\n")
    else:
        out.write("[")
    for subscriber in subscribers:
        data = subscriber_json(subscriber)
        if as_json:
            out.write(("," if count else "") + "\n  " + json.dumps(data, ensure_ascii=False))
        else:
            policies = " ".join(data["policies"]) if data["policies"] is not None else "all"
            fields = (data["email"], data["name"], data["locale"], policies)
            dates = (data["subscribed_at"], data["unsubscribed_at"])
            out.write("\t".join(value or "-" for value in (*fields, *dates)) + "\n")
        count += 1
    if as_json:
        out.write("\n]\n" if count else "]\n")
    return count
