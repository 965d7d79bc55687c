"""The tables of the subscriber list and the notice ledger, and the clauses queries share.

:mod:`redline.ledger.migrate` creates and upgrades them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from redline.vocab import NOTICE_KINDS, STATES

SCHEMA_VERSION = 6
ALL_POLICIES = "*"


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite stores it naive, in UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC; refuse naive ones."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATE_CHECK = "state IN ({})".format(", ".join(f"'{state}'" for state in STATES))
#: The states a claim takes rows from ('sending' only with an expired lease).
CLAIMABLE_STATES = ("pending", "failed-temporary", "sending")
#: The predicate of the partial index of claimable rows (a claim repeats it word for word, so
#: that SQLite, which matches partial-index predicates literally, uses the index too).
CLAIMABLE = sa.text("state IN ({})".format(", ".join(f"'{s}'" for s in CLAIMABLE_STATES)))

metadata = sa.MetaData()

meta_table = sa.Table(
    "redline_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

subscribers_table = sa.Table(
    "subscribers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # The address as first given (shown, and the To of notices).
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("locale", sa.String(35)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("unsubscribed_at", UTCDateTime),
    # The identity (checks.email_key: the address case-folded) and, when the version 4
    # migration merged case-duplicates into this row, their addresses (a JSON array).
    sa.Column("email_key", sa.String(320), nullable=False, server_default=""),
    sa.Column("merged_from", sa.Text),
    # When bounce_limit hard bounces made the address undeliverable (schema version 5): it
    # is not queued for new notices.
    sa.Column("undeliverable_at", UTCDateTime),
    sa.UniqueConstraint("email", name="uq_subscribers_email"),
    sa.Index("uq_subscribers_email_key", "email_key", unique=True),
)

subscriptions_table = sa.Table(
    "subscriptions",
    metadata,
    sa.Column(
        "subscriber_id",
        sa.Integer,
        sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # A policy slug, or ALL_POLICIES for every policy.
    sa.Column("policy", sa.String(200), primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

notices_table = sa.Table(
    "notices",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("policy", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column(
        "subscriber_id",
        sa.Integer,
        sa.ForeignKey("subscribers.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_code", sa.Integer),
    sa.Column("last_message", sa.Text),
    sa.Column("message_id", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("claimed_at", UTCDateTime),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # The run that claimed a 'sending' row, and until when it holds it (schema version 3).
    sa.Column("run_id", sa.String(32)),
    sa.Column("lease_expires", UTCDateTime),
    # The recipient's identity (checks.email_key of ``email``; schema version 4): a person
    # gets one row per (policy, version, kind) whatever the case of their address.
    sa.Column("email_key", sa.String(320), nullable=False, server_default=""),
    sa.UniqueConstraint("policy", "version", "kind", "email", name="uq_notices_recipient"),
    sa.CheckConstraint(STATE_CHECK, name="ck_notices_state"),
    sa.CheckConstraint(
        "kind IN ({})".format(", ".join(f"'{kind}'" for kind in NOTICE_KINDS)),
        name="ck_notices_kind",
    ),
    # Claims take rows in queue order (created_at, id), which only this index gives without a
    # sort: so the planner never walks the primary key through the rows already done.
    sa.Index(
        "ix_notices_claimable",
        "policy",
        "version",
        "kind",
        "state",
        "created_at",
        "id",
        postgresql_where=CLAIMABLE,
        sqlite_where=CLAIMABLE,
    ),
    # A run's in-flight rows, whose leases it renews.
    sa.Index(
        "ix_notices_in_flight",
        "run_id",
        postgresql_where=sa.text("state = 'sending'"),
        sqlite_where=sa.text("state = 'sending'"),
    ),
    sa.Index("ix_notices_subscriber", "subscriber_id"),
    sa.Index("ix_notices_email", "email"),
    sa.Index("ix_notices_email_key", "email_key", "policy", "version", "kind"),
)

events_table = sa.Table(
    "notice_events",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column(
        "notice_id", ID_TYPE, sa.ForeignKey("notices.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("at", UTCDateTime, nullable=False),
    # An SMTP try's outcome (sent, failed-temporary, failed-permanent, unknown, deferred),
    # or requeued / recovered / bounced.
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("code", sa.Integer),
    sa.Column("message", sa.Text),
    sa.Index("ix_notice_events_notice", "notice_id", "id"),
)

#: How a subscription change came in (``subscription_events.channel``).
CHANNELS = ("one-click", "page", "import", "cli", "confirm")

# Every change to a subscriber (schema version 6), with its time and channel, for the proof:
# ``action`` is subscribed, changed, resubscribed, unsubscribed, removed or confirmation-sent;
# ``detail`` a JSON object (the policies and locale after the change).
subscription_events_table = sa.Table(
    "subscription_events",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column(
        "subscriber_id",
        sa.Integer,
        sa.ForeignKey("subscribers.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("email_key", sa.String(320), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Index("ix_subscription_events_key", "email_key", "id"),
)

#: The current time as a statement parameter (prebuilt statements take it as ``p_now``).
NOW = sa.bindparam("p_now", type_=UTCDateTime())


def subscribed_to(subscriber_id: Any, policy: str) -> sa.Exists:
    """Whether the subscriber ``subscriber_id`` (a column) is subscribed to ``policy``."""
    x = subscriptions_table.alias("x")
    return (
        sa.select(sa.literal(1))
        .where(x.c.subscriber_id == subscriber_id, x.c.policy.in_([ALL_POLICIES, policy]))
        .exists()
    )


def deliverable(s: sa.Table | sa.Alias) -> list[sa.ColumnElement[bool]]:
    """Conditions on subscribers ``s`` that new notices are queued for: subscribed and not
    undeliverable."""
    return [s.c.unsubscribed_at.is_(None), s.c.undeliverable_at.is_(None)]


def ledger_key(policy: str, version: int | None, kind: str | None) -> list[Any]:
    """Conditions on the notices of ``policy`` (and ``version`` and ``kind`` when given)."""
    n = notices_table
    conditions: list[Any] = [n.c.policy == policy]
    if version is not None:
        conditions.append(n.c.version == version)
    if kind is not None:
        conditions.append(n.c.kind == kind)
    return conditions
