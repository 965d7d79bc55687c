"""Schema version 4: one subscriber per address, whatever its case.

Before version 4 only the domain of an address was case-folded, so ``USER1@example.org``
and ``user1@example.org`` could be two subscribers, each sent every notice. The migration
gives every subscriber and ledger row its :func:`~redline.ledger.checks.email_key` and
merges the subscribers that share one:

- the earliest (by subscribed-at, then id) is kept, with the address it was given; the
  others' addresses are recorded in its ``merged_from``;
- it follows the policies its active members followed, each from the earliest
  subscribed-at (all members' when none was active), and is unsubscribed only if all were;
- every ledger row (and so its events) of the others points at it: no proof row is deleted.
  Where the merged person has more than one row for a (policy, version, kind), at most one
  may still be sent: if one was sent (or tried), the others waiting are cancelled with
  :data:`MERGED_REASON`; otherwise the kept subscriber's (or the earliest) waits.

The count goes to the log; the addresses only to ``subscribers list``, never to the log.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from redline.ledger.checks import email_key
from redline.ledger.schema import (
    ALL_POLICIES,
    notices_table,
    subscribers_table,
    subscriptions_table,
)

LOG = logging.getLogger("redline.ledger.store")

#: The reason of a waiting ledger row cancelled because its person was told through another.
MERGED_REASON = "duplicate address (merged): told through another row"
#: States of a row whose message went out, or may have.
_TOLD = ("sent", "unknown", "sending")
_WAITING = ("pending", "failed-temporary")
_NEW_COLUMNS = ((subscribers_table, ("email_key", "merged_from")), (notices_table, ("email_key",)))


@dataclass
class _Member:
    id: int
    email: str
    created_at: datetime
    unsubscribed_at: datetime | None
    name: str | None
    locale: str | None


def migrate_v4(conn: Connection) -> None:
    """Add the identity columns, fill them, merge the case-duplicates, then index."""
    _add_columns(conn)
    s, n = subscribers_table, notices_table
    groups: dict[str, list[_Member]] = defaultdict(list)
    rows = conn.execute(
        sa.select(
            s.c.id, s.c.email, s.c.created_at, s.c.unsubscribed_at, s.c.name, s.c.locale
        ).order_by(s.c.created_at, s.c.id)
    )
    for row in rows:
        groups[email_key(row.email)].append(_Member(**row._asdict()))
    merged = [members for members in groups.values() if len(members) > 1]
    for members in merged:
        _merge(conn, members)
    keys = [{"p_id": m[0].id, "p_key": key} for key, m in groups.items()]
    if keys:
        conn.execute(
            sa.update(s)
            .where(s.c.id == sa.bindparam("p_id"))
            .values(email_key=sa.bindparam("p_key")),
            keys,
        )
    addresses = conn.execute(sa.select(n.c.email).distinct()).scalars().all()
    if addresses:
        conn.execute(
            sa.update(n)
            .where(n.c.email == sa.bindparam("p_email"))
            .values(email_key=sa.bindparam("p_key")),
            [{"p_email": a, "p_key": email_key(a)} for a in addresses],
        )
    _index(conn)
    if merged:
        LOG.warning(
            "merged %d addresses that differ only in case into %d subscribers "
            "(`redline subscribers list --json` shows merged_from)",
            sum(len(members) - 1 for members in merged),
            len(merged),
        )


def _add_columns(conn: Connection) -> None:
    """The new columns (SQLite's rebuild of version 2 may have made them already)."""
    inspector = sa.inspect(conn)
    for table, names in _NEW_COLUMNS:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for name in names:
            if name in present:
                continue
            kind = table.c[name].type.compile(dialect=conn.dialect)
            default = " NOT NULL DEFAULT ''" if name == "email_key" else ""
            conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}{default}"))


def _index(conn: Connection) -> None:
    indexes = {
        index["name"]
        for table in ("subscribers", "notices")
        for index in sa.inspect(conn).get_indexes(table)
    }
    for table in (subscribers_table, notices_table):
        for index in table.indexes:
            if index.name not in indexes:
                index.create(conn)


def _merge(conn: Connection, members: list[_Member]) -> None:
    """Merge ``members`` (earliest first) into the first."""
    s, x, n = subscribers_table, subscriptions_table, notices_table
    keep, others = members[0], members[1:]
    ids = [m.id for m in members]
    active = [m.id for m in members if m.unsubscribed_at is None]
    followed: dict[str, datetime] = {}
    for policy, since in conn.execute(
        sa.select(x.c.policy, x.c.created_at).where(x.c.subscriber_id.in_(active or ids))
    ):
        followed[policy] = min(since, followed.get(policy, since))
    if ALL_POLICIES in followed:
        followed = {ALL_POLICIES: followed[ALL_POLICIES]}
    conn.execute(sa.update(n).where(n.c.subscriber_id.in_(ids)).values(subscriber_id=keep.id))
    conn.execute(sa.delete(x).where(x.c.subscriber_id.in_(ids)))
    conn.execute(sa.delete(s).where(s.c.id.in_([m.id for m in others])))
    if followed:
        conn.execute(
            sa.insert(x),
            [{"subscriber_id": keep.id, "policy": p, "created_at": t} for p, t in followed.items()],
        )
    left = [m.unsubscribed_at for m in members if m.unsubscribed_at is not None]
    conn.execute(
        sa.update(s)
        .where(s.c.id == keep.id)
        .values(
            name=_first(m.name for m in members),
            locale=_first(m.locale for m in members),
            unsubscribed_at=None if active else max(left),
            merged_from=json.dumps([m.email for m in others], ensure_ascii=False),
        )
    )
    _one_live_row(conn, keep)


def _first(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value is not None), None)


def _one_live_row(conn: Connection, keep: _Member) -> None:
    """Cancel the waiting rows of the merged person that another row of theirs made moot."""
    n = notices_table
    rows = conn.execute(
        sa.select(n.c.id, n.c.policy, n.c.version, n.c.kind, n.c.email, n.c.state)
        .where(n.c.subscriber_id == keep.id)
        .order_by(n.c.id)
    ).all()
    campaigns: dict[tuple[str, int, str], list[Any]] = defaultdict(list)
    for row in rows:
        campaigns[(row.policy, row.version, row.kind)].append(row)
    moot: list[int] = []
    for group in campaigns.values():
        waiting = [row for row in group if row.state in _WAITING]
        if any(row.state in _TOLD for row in group):
            moot += [row.id for row in waiting]
        elif len(waiting) > 1:
            chosen = next((r for r in waiting if r.email == keep.email), waiting[0])
            moot += [row.id for row in waiting if row is not chosen]
    if moot:
        conn.execute(
            sa.update(n).where(n.c.id.in_(moot)).values(state="cancelled", reason=MERGED_REASON)
        )
