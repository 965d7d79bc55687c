"""What the web app does to the subscriber list, apart from HTTP: look up the subscriber a
token names, sign up, confirm, change preferences and unsubscribe, each change recorded with
its channel (:mod:`redline.ledger.changes`)."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redline.errors import ConfigError, InputError
from redline.ledger.checks import check_email
from redline.ledger.subscribers import (
    add_subscriber,
    make_token,
    parse_policies,
    policy_names,
    read_token,
    resolve_target,
    unsubscribe_by_token,
)
from redline.locales import parse_locale
from redline.serve.tokens import Signup

if TYPE_CHECKING:
    from redline.config import Settings
    from redline.ledger.people import Subscriber
    from redline.ledger.store import Store

LOG = logging.getLogger("redline.serve")


@dataclass(frozen=True)
class Choice:
    """A value a form offers: a policy (slug, title) or a locale (code, its own name).
    ``group``: a policy's folder (policies of several services share titles)."""

    value: str
    label: str
    group: str = ""

    @property
    def name(self) -> str:
        """The label, with the folder when there is one: "Privacy Policy (Facebook)"."""
        return f"{self.label} ({self.group})" if self.group else self.label


def released_policies(settings: Settings) -> tuple[list[Choice], dict[str, str] | None]:
    """The released policies one may subscribe to, and every name a subscription may use
    (None, unchecked, when the repository has no policies yet)."""
    from redline.history.repo import PolicyRepo

    try:
        repo = PolicyRepo(settings)
        policies = repo.policies()
        known = policy_names(repo)
    except (ConfigError, InputError) as error:
        LOG.warning("%s; the sign-up form offers every policy only", error.message)
        return [], None
    releases = repo.releases_of(policies)
    choices = [  # each titled as its latest release has it
        Choice(
            policy.slug,
            repo.title(policy, releases[policy.path][-1].tag),
            posixpath.dirname(policy.path),
        )
        for policy in policies
        if releases[policy.path]
    ]
    return choices, known


def offered_locales(settings: Settings) -> list[Choice]:
    """The languages notices are written in: the default locale, then those of config
    ``locales``, each named in itself."""
    from babel import Locale

    codes = [settings.locale or "en", *sorted(settings.locales)]
    unique = [code for index, code in enumerate(codes) if code not in codes[:index]]
    return [Choice(code, Locale.parse(code).get_display_name(code) or code) for code in unique]


class Service:
    """The subscriber list as the web app changes it."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.policies, self._known = released_policies(settings)
        self.locales = offered_locales(settings)

    def subscriber(self, token: str) -> Subscriber | None:
        """The subscriber an unsubscribe token names; None when that subscriber is gone.
        InputError when the token itself is not valid."""
        env = self.settings.env
        read_token(token, env=env)
        try:
            email = resolve_target(self.store, token, env=env)
        except InputError:
            return None
        return self.store.get_subscriber(email)

    def unsubscribe(self, token: str, channel: str) -> str | None:
        """Unsubscribe whom ``token`` names (idempotent): their address, or None when they
        are gone. InputError when the token is not valid."""
        return unsubscribe_by_token(self.store, token, env=self.settings.env, channel=channel)

    def choose(self, email: str, policies: Sequence[str], locale: str) -> Signup:
        """A sign-up from the form's fields; InputError names what is wrong."""
        return Signup(check_email(email), self.chosen_policies(policies), self.chosen(locale))

    def chosen_policies(self, selected: Sequence[str]) -> tuple[str, ...] | None:
        """The policies ticked (None: every policy, also those released later)."""
        offered = {choice.value for choice in self.policies}
        if not offered or set(selected) >= offered:
            return None
        if not selected:
            raise InputError("choose at least one policy")
        return parse_policies(list(selected), self._known)

    def chosen(self, locale: str) -> str | None:
        """The locale picked (None: the default one)."""
        code = parse_locale(locale)
        if code is not None and code not in {choice.value for choice in self.locales}:
            raise InputError(f"notices are not written in {locale!r}")
        return None if code == self.locales[0].value else code

    def confirm(self, signup: Signup) -> Subscriber:
        """Subscribe as confirmed (again, if they had unsubscribed: they asked to)."""
        _, subscriber = add_subscriber(
            self.store,
            signup.email,
            locale=signup.locale or "",
            policies=signup.policies or (),
            known_policies=self._known,
            resubscribe=True,
            channel="confirm",
        )
        return subscriber

    def save(self, subscriber: Subscriber, policies: Sequence[str], locale: str) -> Subscriber:
        """Store the preferences chosen on the page (subscribed again if they had left)."""
        _, saved = add_subscriber(
            self.store,
            subscriber.email,
            locale=self.chosen(locale) or "",
            policies=self.chosen_policies(policies) or (),
            known_policies=self._known,
            resubscribe=True,
            channel="page",
        )
        return saved

    def names(self, policies: Sequence[str] | None) -> list[str]:
        """What ``policies`` are called (empty for None, every policy)."""
        known = {choice.value: choice.name for choice in self.policies}
        return [known.get(slug, slug) for slug in policies or ()]

    def token_of(self, subscriber: Subscriber) -> str:
        """The subscriber's unsubscribe token (the key to their preferences page)."""
        return make_token(subscriber.email, subscriber.id, env=self.settings.env)
