"""Subscriptions follow a policy's renames and moves: those to an earlier name of a policy
move to its current name."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from redline.ledger.db import Database
from redline.ledger.schema import subscriptions_table


class Renames(Database):
    """Moving subscriptions between the names of a policy."""

    def move_subscriptions(
        self, renames: Mapping[str, str], *, dry_run: bool = False
    ) -> dict[str, int]:
        """Move subscriptions to an earlier name of a policy (``old -> current``) to its
        current name; a subscriber of both keeps one. Returns how many subscriptions each
        earlier name had that moved (with ``dry_run``: would move)."""
        x, other = subscriptions_table, subscriptions_table.alias("other")
        moved: dict[str, int] = {}
        with self._write() as conn:
            for old, new in renames.items():
                count = sa.select(sa.func.count()).select_from(x).where(x.c.policy == old)
                found = int(conn.execute(count).scalar_one()) if old != new else 0
                if not found:
                    continue
                moved[old] = found
                if dry_run:
                    continue
                both = (
                    sa.select(sa.literal(1))
                    .where(other.c.subscriber_id == x.c.subscriber_id, other.c.policy == new)
                    .exists()
                )
                conn.execute(sa.update(x).where(x.c.policy == old, ~both).values(policy=new))
                conn.execute(sa.delete(x).where(x.c.policy == old))
        return moved
