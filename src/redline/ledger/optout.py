"""The one-click unsubscribe of one subscriber by id: one short write transaction of
prebuilt statements (look up, check, mark, record the change), for the web app's busiest
path."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from redline.ledger.changes import change_row
from redline.ledger.db import Database
from redline.ledger.schema import NOW, subscribers_table, subscription_events_table

_S = subscribers_table
_P_ID = sa.bindparam("p_id", type_=sa.Integer())
_BY_ID = sa.select(_S.c.email, _S.c.unsubscribed_at).where(_S.c.id == _P_ID)
_MARK = (
    sa.update(_S)
    .where(_S.c.id == _P_ID, _S.c.unsubscribed_at.is_(None))
    .values(unsubscribed_at=NOW, updated_at=NOW)
)
_RECORD = sa.insert(subscription_events_table)


class OptOut(Database):
    """Unsubscribing by subscriber id."""

    def unsubscribe_id(
        self, subscriber_id: int, accept: Callable[[str], bool], channel: str
    ) -> str | None:
        """Unsubscribe the subscriber ``subscriber_id`` if ``accept`` (given their address)
        says it is theirs, recording the change as made through ``channel``; return the
        address (also when they had unsubscribed already), or None when no such subscriber
        is accepted."""
        now = self._clock()
        with self._write() as conn:
            found = conn.execute(_BY_ID, {"p_id": subscriber_id}).first()
            if found is None or not accept(found.email):
                return None
            if found.unsubscribed_at is None:
                conn.execute(_MARK, {"p_id": subscriber_id, "p_now": now})
                row = change_row(subscriber_id, found.email, now, channel, "unsubscribed")
                conn.execute(_RECORD, [row])
            return str(found.email)
