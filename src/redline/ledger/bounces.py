"""Bounces in the ledger: a returned notice is marked 'bounced' with the reason, and a
subscriber with ``bounce_limit`` bounced notices becomes undeliverable.

The delivery status notifications are read by :mod:`redline.mail.bounces`; this module
only matches what they say to ledger rows and records it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from redline.errors import InputError
from redline.ledger.checks import email_key, normalize_email
from redline.ledger.db import Database
from redline.ledger.notices import add_events
from redline.ledger.schema import notices_table, subscribers_table
from redline.vocab import NoticeState

LOG = logging.getLogger("redline.ledger.bounces")

BOUNCED = NoticeState.BOUNCED.value
#: Rows a bounce may be about: sent, possibly sent, or bounced already (the same bounce
#: imported again changes nothing).
_BOUNCEABLE = (NoticeState.SENT.value, NoticeState.UNKNOWN.value, BOUNCED)


@dataclass(frozen=True)
class BounceMatch:
    """What one bounce changed: the rows it matched (``newly`` of them marked now) and how
    many subscribers it made undeliverable."""

    matched: int
    newly: int
    undeliverable: int


def message_id_forms(value: str) -> list[str]:
    """A Message-ID with and without its angle brackets (how it may have been stored)."""
    bare = value.strip().strip("<>").strip()
    return [f"<{bare}>", bare] if bare else []


def recipient_key(address: str) -> str:
    """The identity of a bouncing address (:func:`~redline.ledger.checks.email_key`)."""
    try:
        return email_key(normalize_email(address))
    except InputError:  # an address a server wrote may not even be valid
        return address.strip().casefold()


class Bounces(Database):
    """Recording bounces in the notice ledger."""

    def record_bounce(
        self,
        message_ids: Sequence[str],
        recipients: Sequence[str],
        reason: str,
        *,
        limit: int,
    ) -> BounceMatch:
        """Mark the notice a bounce is about 'bounced' with ``reason``.

        The notice is the one with one of ``message_ids`` (the returned message's), else,
        for each of ``recipients``, the one most recently sent to that person. Each newly
        bounced row gets a 'bounced' event; a subscriber with ``limit`` bounced rows is made
        undeliverable (no new notices are queued for them).
        """
        now = self._clock()
        with self._write() as conn:
            rows = _find_by_message_id(conn, message_ids)
            if not rows:
                rows = [row for r in recipients if (row := _find_by_recipient(conn, r))]
            newly = [row.id for row in rows if row.state != BOUNCED]
            if newly:
                n = notices_table
                conn.execute(
                    sa.update(n)
                    .where(n.c.id.in_(newly))
                    .values(state=BOUNCED, reason=reason, updated_at=now)
                )
                add_events(conn, newly, now, BOUNCED, None, reason)
            keys = {row.email_key for row in rows if row.id in newly}
            undeliverable = sum(_mark_undeliverable(conn, key, limit, now) for key in keys)
        return BounceMatch(len(rows), len(newly), undeliverable)


def _find_by_message_id(conn: Connection, message_ids: Sequence[str]) -> list[sa.Row]:
    forms = [form for value in message_ids for form in message_id_forms(value)]
    if not forms:
        return []
    n = notices_table
    statement = sa.select(n.c.id, n.c.state, n.c.email_key).where(
        n.c.message_id.in_(forms), n.c.state.in_(_BOUNCEABLE)
    )
    return list(conn.execute(statement))


def _find_by_recipient(conn: Connection, address: str) -> sa.Row | None:
    n = notices_table
    statement = (
        sa.select(n.c.id, n.c.state, n.c.email_key)
        .where(n.c.email_key == recipient_key(address), n.c.state.in_(_BOUNCEABLE))
        .order_by(n.c.sent_at.desc().nulls_last(), n.c.id.desc())
        .limit(1)
    )
    return conn.execute(statement).first()


def _mark_undeliverable(conn: Connection, key: str, limit: int, now: datetime) -> int:
    """1 if the person ``key`` now has ``limit`` bounced rows and becomes undeliverable."""
    n, s = notices_table, subscribers_table
    count = conn.execute(
        sa.select(sa.func.count()).where(n.c.email_key == key, n.c.state == BOUNCED)
    ).scalar_one()
    if count < limit:
        return 0
    changed = conn.execute(
        sa.update(s)
        .where(s.c.email_key == key, s.c.undeliverable_at.is_(None))
        .values(undeliverable_at=now, updated_at=now)
    ).rowcount
    if changed:
        LOG.info("a subscriber with %d bounced notices is now undeliverable", count)
    return int(changed)
