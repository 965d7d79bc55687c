"""Signed, expiring tokens of the web app: the confirmation link, and the forms' CSRF tokens.

Each kind has its own purpose (an itsdangerous salt), so a token made for one purpose never
passes for another; every one is signed with ``REDLINE_SECRET`` and carries its time.
Unsubscribe links keep the non-expiring token of :mod:`redline.ledger.subscribers`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from redline.errors import InputError
from redline.ledger.subscribers import signing_secret

if TYPE_CHECKING:
    from redline.env import Environment

CONFIRM = "confirm"
#: How long a form's CSRF token is good for.
FORM_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Signup:
    """What a confirmation link asks to subscribe: ``policies`` None for every policy."""

    email: str
    policies: tuple[str, ...] | None
    locale: str | None


class Signer:
    """Makes and reads the app's tokens, one serializer per purpose."""

    def __init__(self, env: Environment) -> None:
        self._secret = signing_secret(env)
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        if purpose not in self._serializers:
            self._serializers[purpose] = URLSafeTimedSerializer(
                self._secret,
                salt=f"redline.serve.{purpose}",
                signer_kwargs={"digest_method": hashlib.sha256},
            )
        return self._serializers[purpose]

    def dumps(self, purpose: str, claim: Any) -> str:
        """``claim`` signed for ``purpose``, with the time now."""
        return str(self._serializer(purpose).dumps(claim))

    def loads(self, purpose: str, token: str, max_age: float) -> Any:
        """The claim of a token of ``purpose`` at most ``max_age`` seconds old; InputError
        when it was altered, made for another purpose, or expired."""
        try:
            return self._serializer(purpose).loads(token.strip(), max_age=max_age)
        except SignatureExpired:
            raise InputError("this link has expired", hint="start again") from None
        except BadData:
            raise InputError("this link is not valid", hint="it was altered or cut short") from None

    def confirm_token(self, signup: Signup) -> str:
        """The token of a confirmation link."""
        policies = list(signup.policies) if signup.policies is not None else None
        return self.dumps(CONFIRM, {"e": signup.email, "p": policies, "l": signup.locale})

    def read_confirm(self, token: str, max_age: float) -> Signup:
        """The sign-up a confirmation token asks for (InputError if not valid)."""
        claim = self.loads(CONFIRM, token, max_age)
        if not isinstance(claim, dict) or not isinstance(claim.get("e"), str):
            raise InputError("this link is not valid", hint="start again")
        policies = claim.get("p")
        return Signup(claim["e"], tuple(policies) if policies else None, claim.get("l"))

    def form_token(self, purpose: str, subject: str, nonce: str) -> str:
        """The CSRF token of a form of ``purpose`` about ``subject`` (the page's token, or
        ''), bound to the browser's cookie ``nonce`` (double submit)."""
        return self.dumps(f"form.{purpose}", [_digest(subject), _digest(nonce)])

    def check_form(self, purpose: str, token: str, subject: str, nonce: str) -> None:
        """Refuse (InputError) a CSRF token not made by :meth:`form_token` for these (one
        message for every reason: the page is old, or the form was not sent from it)."""
        try:
            claim = self.loads(f"form.{purpose}", token, FORM_SECONDS)
        except InputError:
            claim = None
        expected = [_digest(subject), _digest(nonce)]
        if (
            not nonce
            or not isinstance(claim, list)
            or not hmac.compare_digest("\0".join(map(str, claim)), "\0".join(expected))
        ):
            raise InputError(
                "this form is out of date or was not sent from its page; open the page again"
            )


def new_nonce() -> str:
    """A fresh random value for the CSRF cookie."""
    return secrets.token_urlsafe(18)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]
