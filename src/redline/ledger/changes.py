"""Subscription changes: every subscribe, change and unsubscribe, with its time and channel.

Each change is one ``subscription_events`` row (schema version 6), written in the
transaction that made the change, so the proof of notice can show how and when somebody
joined or left (``one-click``, ``page``, ``import``, ``cli``, ``confirm``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from redline.ledger.checks import email_key, lookup_key, normalize_email
from redline.ledger.db import Database
from redline.ledger.schema import (
    ALL_POLICIES,
    CHANNELS,
    notices_table,
    subscribed_to,
    subscribers_table,
    subscription_events_table,
)

_E = subscription_events_table


@dataclass(frozen=True)
class SubscriptionChange:
    """One recorded change: ``detail`` holds the policies and locale after it, if any."""

    at: datetime
    email: str
    subscriber_id: int | None
    channel: str
    action: str
    detail: dict[str, Any] | None


def check_channel(channel: str) -> str:
    """``channel`` if it is one of :data:`~redline.ledger.schema.CHANNELS`."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown subscription channel {channel!r}")
    return channel


def change_detail(policies: Collection[str] | None, locale: str | None) -> str:
    """The ``detail`` of a change that leaves these subscriptions (None or '*': every policy)."""
    chosen = None if not policies or ALL_POLICIES in policies else sorted(policies)
    return json.dumps({"policies": chosen, "locale": locale}, sort_keys=True)


def change_row(
    subscriber_id: int | None,
    email: str,
    at: datetime,
    channel: str,
    action: str,
    detail: str | None = None,
) -> dict[str, Any]:
    """One ``subscription_events`` row."""
    return {
        "subscriber_id": subscriber_id,
        "email": email,
        "email_key": email_key(email),
        "at": at,
        "channel": check_channel(channel),
        "action": action,
        "detail": detail,
    }


def record_changes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` (made by :func:`change_row`) in the caller's transaction."""
    if rows:
        conn.execute(sa.insert(_E), rows)


def record_change_of(conn: Connection, key: str, at: datetime, channel: str, action: str) -> None:
    """Record ``action`` for the stored subscriber with identity ``key``."""
    s = subscribers_table
    values = sa.select(
        s.c.id,
        s.c.email,
        s.c.email_key,
        sa.literal(at, _E.c.at.type),
        sa.literal(check_channel(channel)),
        sa.literal(action),
    ).where(s.c.email_key == key)
    columns = ["subscriber_id", "email", "email_key", "at", "channel", "action"]
    conn.execute(sa.insert(_E).from_select(columns, values))


class Changes(Database):
    """The subscription changes of a Database."""

    def record_confirmation_sent(self, email: str, channel: str = "page") -> None:
        """Record that a confirmation email went to ``email`` (who may not be a subscriber)."""
        s, email = subscribers_table, normalize_email(email)
        with self._write() as conn:
            found = conn.execute(sa.select(s.c.id).where(s.c.email_key == email_key(email)))
            row = change_row(found.scalar(), email, self._clock(), channel, "confirmation-sent")
            record_changes(conn, [row])

    def iter_changes(
        self, email: str | None = None, *, policy: str | None = None
    ) -> Iterator[SubscriptionChange]:
        """Changes in the order made (streamed): of ``email`` (any case), or of everybody
        subscribed to ``policy`` or with a notice of it, or of everybody."""
        statement = sa.select(_E).order_by(_E.c.id)
        if email is not None:
            statement = statement.where(_E.c.email_key == (lookup_key(email) or ""))
        if policy is not None:
            noticed = sa.select(notices_table.c.email_key).where(notices_table.c.policy == policy)
            subscribed = sa.select(subscribers_table.c.email_key).where(
                subscribed_to(subscribers_table.c.id, policy)
            )
            statement = statement.where(
                sa.or_(_E.c.email_key.in_(noticed), _E.c.email_key.in_(subscribed))
            )
        for row in self._stream(statement):
            yield SubscriptionChange(
                at=row.at,
                email=row.email,
                subscriber_id=row.subscriber_id,
                channel=row.channel,
                action=row.action,
                detail=json.loads(row.detail) if row.detail else None,
            )
