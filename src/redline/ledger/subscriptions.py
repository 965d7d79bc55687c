"""The subscriber repository: who subscribed to which policies, added and changed in bulk.

A subscription names a policy, or :data:`~redline.ledger.schema.ALL_POLICIES` for every
policy. Removing a subscriber keeps their ledger rows (with the address snapshot) as proof.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from redline.errors import StorageError
from redline.ledger.changes import change_detail, change_row, record_change_of, record_changes
from redline.ledger.checks import SubscriberInput, email_key, lookup_key, prepare_subscriber
from redline.ledger.db import Database
from redline.ledger.people import Subscriber, group_subscribers
from redline.ledger.schema import (
    ALL_POLICIES,
    NOW,
    UTCDateTime,
    notices_table,
    subscribed_to,
    subscribers_table,
    subscription_events_table,
    subscriptions_table,
)

_S = subscribers_table
_SUBSCRIBER_VALUES = {
    "email": sa.bindparam("p_email", type_=sa.String()),
    "email_key": sa.bindparam("p_key", type_=sa.String()),
    "name": sa.bindparam("p_name", type_=sa.Text()),
    "locale": sa.bindparam("p_locale", type_=sa.String()),
    "created_at": NOW,
    "updated_at": NOW,
}
_INSERT_SUBSCRIBER = {
    name: insert(_S)
    .values(**_SUBSCRIBER_VALUES)
    .on_conflict_do_nothing(index_elements=["email_key"])
    .returning(_S.c.id, _S.c.email_key)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_UPDATE_SUBSCRIBER = (
    sa.update(_S)
    .where(_S.c.id == sa.bindparam("p_id", type_=sa.Integer()))
    .values(
        name=sa.bindparam("p_name", type_=sa.Text()),
        locale=sa.bindparam("p_locale", type_=sa.String()),
        unsubscribed_at=sa.bindparam("p_unsubscribed", type_=UTCDateTime()),
        updated_at=NOW,
    )
)
_CLEAR_SUBSCRIPTIONS = sa.delete(subscriptions_table).where(
    subscriptions_table.c.subscriber_id == sa.bindparam("p_id", type_=sa.Integer())
)
_RELINK = (
    sa.update(notices_table)
    .where(
        notices_table.c.email_key.in_(sa.bindparam("p_keys", expanding=True)),
        notices_table.c.subscriber_id.is_(None),
    )
    .values(
        subscriber_id=sa.select(_S.c.id)
        .where(_S.c.email_key == notices_table.c.email_key)
        .scalar_subquery()
    )
)


@dataclass
class _Stored:
    id: int
    email: str
    name: str | None
    locale: str | None
    unsubscribed_at: datetime | None
    policies: set[str]


class Subscriptions(Database):
    """The subscriber list of a Database."""

    def upsert_subscriber(
        self,
        email: str,
        name: str | None = None,
        locale: str | None = None,
        policies: Sequence[str] | None = None,
        *,
        resubscribe: bool = False,
        channel: str = "cli",
    ) -> str:
        """Add or update one subscriber; return 'added', 'updated' or 'unchanged'.

        The given values replace the stored ones (``name``/``locale`` None: none;
        ``policies`` None or empty: every policy). Someone who unsubscribed stays
        unsubscribed unless ``resubscribe`` is true. Raises InputError for an invalid
        address, name or policy slug. The change is recorded as made through ``channel``.
        """
        item = SubscriberInput(email, name, locale, tuple(policies) if policies else None)
        return self.upsert_subscribers([item], resubscribe=resubscribe, channel=channel)[0]

    def upsert_subscribers(
        self,
        items: Sequence[SubscriberInput],
        *,
        resubscribe: bool = False,
        channel: str = "import",
    ) -> list[str]:
        """:meth:`upsert_subscriber` for many subscribers in one transaction, in order.

        Addresses are matched by :func:`~redline.ledger.checks.email_key`: a known person
        keeps the address they were first stored with. Raises InputError (and stores
        nothing) if any item is invalid. Each change is recorded as made through ``channel``
        (:mod:`redline.ledger.changes`).
        """
        prepared = [prepare_subscriber(item) for item in items]
        results: list[str | None] = [None] * len(prepared)
        if not prepared:
            return []
        changes: list[dict[str, Any]] = []
        with self._write() as conn:
            known = self._fetch_subscribers(conn, {email_key(item.email) for item in prepared})
            fresh: dict[str, tuple[int, SubscriberInput]] = {}
            for index, item in enumerate(prepared):
                key = email_key(item.email)
                if key not in known and key not in fresh:
                    fresh[key] = (index, item)
            for index in self._add_subscribers(conn, fresh, known) if fresh else ():
                results[index] = "added"
                changes.append(self._change(known, prepared[index], channel, "subscribed"))
            for index, item in enumerate(prepared):
                if results[index] is None:
                    action = self._update_subscriber(conn, item, known, resubscribe)
                    results[index] = "unchanged" if action == "unchanged" else "updated"
                    if action != "unchanged":
                        changes.append(self._change(known, item, channel, action))
            record_changes(conn, changes)
        return [result or "unchanged" for result in results]

    def _add_subscribers(
        self,
        conn: Connection,
        fresh: dict[str, tuple[int, SubscriberInput]],
        known: dict[str, _Stored],
    ) -> list[int]:
        """Insert new subscribers in bulk; return the input indexes of those inserted."""
        now = self._clock()
        rows = conn.execute(
            _INSERT_SUBSCRIBER[conn.dialect.name],
            [
                {
                    "p_email": item.email,
                    "p_key": key,
                    "p_name": item.name,
                    "p_locale": item.locale,
                    "p_now": now,
                }
                for key, (_, item) in fresh.items()
            ],
        ).all()
        inserted = {key: new_id for new_id, key in rows}
        subscriptions: list[dict[str, Any]] = []
        for key, new_id in inserted.items():
            item = fresh[key][1]
            wanted = set(item.policies) if item.policies else {ALL_POLICIES}
            subscriptions += _subscription_rows(new_id, wanted, now)
            known[key] = _Stored(new_id, item.email, item.name, item.locale, None, wanted)
        if subscriptions:
            conn.execute(sa.insert(subscriptions_table), subscriptions)
            # An address may have ledger rows from before it was removed: relink them.
            conn.execute(_RELINK, {"p_keys": sorted(inserted)})
        raced = set(fresh) - set(inserted)
        if raced:  # added by a concurrent run since we looked: update those instead
            known.update(self._fetch_subscribers(conn, raced))
        return [fresh[key][0] for key in inserted]

    def _change(
        self, known: dict[str, _Stored], item: SubscriberInput, channel: str, action: str
    ) -> dict[str, Any]:
        """The change row of ``action`` on the stored subscriber of ``item``."""
        stored = known[email_key(item.email)]
        detail = change_detail(stored.policies, stored.locale)
        return change_row(stored.id, stored.email, self._clock(), channel, action, detail)

    def _fetch_subscribers(self, conn: Connection, keys: set[str]) -> dict[str, _Stored]:
        """The stored subscribers with these identities, by identity."""
        s, x = subscribers_table, subscriptions_table
        found: dict[str, _Stored] = {}
        rows = conn.execute(
            sa.select(s.c.id, s.c.email, s.c.email_key, s.c.name, s.c.locale, s.c.unsubscribed_at)
            .add_columns(x.c.policy)
            .select_from(s.outerjoin(x, x.c.subscriber_id == s.c.id))
            .where(s.c.email_key.in_(sorted(keys)))
        )
        for row in rows:
            stored = found.setdefault(
                row.email_key,
                _Stored(row.id, row.email, row.name, row.locale, row.unsubscribed_at, set()),
            )
            if row.policy is not None:
                stored.policies.add(row.policy)
        return found

    def _update_subscriber(
        self, conn: Connection, item: SubscriberInput, known: dict[str, _Stored], resub: bool
    ) -> str:
        """Update one known subscriber: 'unchanged', 'changed' or 'resubscribed'."""
        now = self._clock()
        wanted = set(item.policies) if item.policies else {ALL_POLICIES}
        key = email_key(item.email)
        stored = known.get(key)
        if stored is None:
            raise StorageError(
                f"database {self.label}: a subscriber was removed during the update",
                hint="try again",
            )
        unsubscribed_at = None if resub else stored.unsubscribed_at
        if stored.policies != wanted:
            conn.execute(_CLEAR_SUBSCRIPTIONS, {"p_id": stored.id})
            conn.execute(sa.insert(subscriptions_table), _subscription_rows(stored.id, wanted, now))
        elif (stored.name, stored.locale, stored.unsubscribed_at) == (
            item.name,
            item.locale,
            unsubscribed_at,
        ):
            return "unchanged"
        conn.execute(
            _UPDATE_SUBSCRIBER,
            {
                "p_id": stored.id,
                "p_name": item.name,
                "p_locale": item.locale,
                "p_unsubscribed": unsubscribed_at,
                "p_now": now,
            },
        )
        known[key] = _Stored(
            stored.id, stored.email, item.name, item.locale, unsubscribed_at, wanted
        )
        return "resubscribed" if stored.unsubscribed_at and not unsubscribed_at else "changed"

    def remove_subscriber(self, email: str, *, channel: str = "cli") -> bool:
        """Delete a subscriber and their subscriptions; their ledger rows and subscription
        changes stay as proof (the removal recorded as made through ``channel``)."""
        key = lookup_key(email)
        if key is None:
            return False
        s = subscribers_table
        with self._write() as conn:
            found = conn.execute(sa.select(s.c.id).where(s.c.email_key == key)).scalar()
            if found is None:
                return False
            record_change_of(conn, key, self._clock(), channel, "removed")
            # Explicit, so the proof keeps its rows even where foreign keys are not enforced.
            for table in (notices_table, subscription_events_table):
                conn.execute(
                    sa.update(table)
                    .where(table.c.subscriber_id == found)
                    .values(subscriber_id=None)
                )
            conn.execute(
                sa.delete(subscriptions_table).where(subscriptions_table.c.subscriber_id == found)
            )
            conn.execute(sa.delete(s).where(s.c.id == found))
            return True

    def unsubscribe(self, email: str, *, channel: str = "cli") -> bool:
        """Mark a subscriber unsubscribed, recorded as made through ``channel``; False if
        unknown or already unsubscribed."""
        key = lookup_key(email)
        if key is None:
            return False
        s = subscribers_table
        now = self._clock()
        with self._write() as conn:
            result = conn.execute(
                sa.update(s)
                .where(s.c.email_key == key, s.c.unsubscribed_at.is_(None))
                .values(unsubscribed_at=now, updated_at=now)
            )
            if result.rowcount != 1:
                return False
            record_change_of(conn, key, now, channel, "unsubscribed")
            return True

    def get_subscriber(self, email: str) -> Subscriber | None:
        """The subscriber with this address (case ignored), or None."""
        key = lookup_key(email)
        if key is None:
            return None
        statement = self._subscriber_query().where(subscribers_table.c.email_key == key)
        with self._read() as conn:
            return next(group_subscribers(conn.execute(statement)), None)

    def subscriber_email(self, subscriber_id: int) -> str | None:
        """The address of the subscriber with this id, or None."""
        s = subscribers_table
        with self._read() as conn:
            return conn.execute(sa.select(s.c.email).where(s.c.id == subscriber_id)).scalar()

    def merged_addresses(self) -> Iterator[tuple[str, list[str]]]:
        """(address, the addresses merged into it) of each subscriber the version 4
        migration merged others into."""
        s = subscribers_table
        statement = sa.select(s.c.email, s.c.merged_from).where(s.c.merged_from.is_not(None))
        for email, merged in self._stream(statement):
            yield email, json.loads(merged)

    def iter_subscribers(
        self, policy: str | None = None, *, include_unsubscribed: bool = False
    ) -> Iterator[Subscriber]:
        """Subscribers ordered by address, streamed (never the whole list in memory).

        ``policy``: only those subscribed to it (directly or to every policy).
        """
        statement = self._subscriber_query()
        for condition in self._subscriber_filter(policy, include_unsubscribed):
            statement = statement.where(condition)
        yield from group_subscribers(self._stream(statement))

    def count_subscribers(
        self, policy: str | None = None, *, include_unsubscribed: bool = False
    ) -> int:
        """Number of active subscribers (of ``policy`` if given)."""
        statement = sa.select(sa.func.count()).select_from(subscribers_table)
        for condition in self._subscriber_filter(policy, include_unsubscribed):
            statement = statement.where(condition)
        with self._read() as conn:
            return int(conn.execute(statement).scalar_one())

    @staticmethod
    def _subscriber_query() -> sa.Select[Any]:
        s, x = subscribers_table, subscriptions_table
        return (
            sa.select(
                s.c.id,
                s.c.email,
                s.c.name,
                s.c.locale,
                s.c.created_at,
                s.c.updated_at,
                s.c.unsubscribed_at,
                s.c.merged_from,
                s.c.undeliverable_at,
                x.c.policy,
            )
            .select_from(s.outerjoin(x, x.c.subscriber_id == s.c.id))
            .order_by(s.c.email_key, x.c.policy)
        )

    @staticmethod
    def _subscriber_filter(
        policy: str | None, include_unsubscribed: bool
    ) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if not include_unsubscribed:
            conditions.append(subscribers_table.c.unsubscribed_at.is_(None))
        if policy is not None:
            conditions.append(subscribed_to(subscribers_table.c.id, policy))
        return conditions


def _subscription_rows(
    subscriber_id: int, policies: set[str], now: datetime
) -> list[dict[str, Any]]:
    """The subscriptions table rows of one subscriber to ``policies``."""
    return [
        {"subscriber_id": subscriber_id, "policy": policy, "created_at": now}
        for policy in sorted(policies)
    ]
