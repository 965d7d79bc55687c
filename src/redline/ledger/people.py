"""One subscriber as the subscriber list reads it, from the rows of a subscriber query."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa

from redline.ledger.schema import ALL_POLICIES


@dataclass(frozen=True)
class Subscriber:
    """One subscriber; ``policies`` is None when subscribed to every policy.

    ``email`` is the address as first given; ``merged_from`` the addresses, differing from
    it only in case, that the schema version 4 migration merged into this subscriber.
    """

    id: int
    email: str
    name: str | None
    locale: str | None
    policies: tuple[str, ...] | None
    created: datetime
    updated: datetime
    unsubscribed: datetime | None
    merged_from: tuple[str, ...] = ()
    undeliverable: datetime | None = None

    @property
    def active(self) -> bool:
        """True while the subscriber has not unsubscribed."""
        return self.unsubscribed is None

    def wants(self, policy: str) -> bool:
        """True when active and subscribed to ``policy``."""
        return self.active and (self.policies is None or policy in self.policies)


def group_subscribers(rows: Iterable[sa.Row[Any]]) -> Iterator[Subscriber]:
    """The subscribers of ``rows`` (one per subscription, ordered by subscriber)."""
    for _, group in groupby(rows, key=lambda row: row.id):
        members = list(group)
        first = members[0]
        policies = {row.policy for row in members if row.policy is not None}
        yield Subscriber(
            id=first.id,
            email=first.email,
            name=first.name,
            locale=first.locale,
            policies=None if ALL_POLICIES in policies else tuple(sorted(policies)),
            created=first.created_at,
            updated=first.updated_at,
            unsubscribed=first.unsubscribed_at,
            merged_from=tuple(json.loads(first.merged_from)) if first.merged_from else (),
            undeliverable=first.undeliverable_at,
        )
