"""Creating and upgrading the schema of :mod:`redline.ledger.schema`.

The schema is created and upgraded when a store opens, and its version is recorded in the
``redline_meta`` table; a database of a newer redline, or with tables redline did not
create, is refused.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from redline import __version__
from redline.errors import StorageError
from redline.ledger.db import Database
from redline.ledger.schema import (
    SCHEMA_VERSION,
    STATE_CHECK,
    events_table,
    meta_table,
    metadata,
    notices_table,
    subscribers_table,
    subscription_events_table,
)

LOG = logging.getLogger("redline.ledger.store")

_OUR_TABLES = (
    "subscribers",
    "subscriptions",
    "notices",
    "notice_events",
    "subscription_events",
)


def _set_meta(conn: Connection, key: str, value: str) -> None:
    updated = conn.execute(
        sa.update(meta_table).where(meta_table.c.key == key).values(value=value)
    ).rowcount
    if not updated:
        conn.execute(sa.insert(meta_table).values(key=key, value=value))


def _create(conn: Connection, now: datetime) -> None:
    """A new database, created at ``now``: the current schema at once."""
    metadata.create_all(conn)
    _set_meta(conn, "created_at", now.isoformat(timespec="seconds"))
    _set_meta(conn, "created_by", f"redline {__version__}")


def _migrate_v2(conn: Connection) -> None:
    """Version 2: the 'unknown' state, and the notice_events table (the attempts history).

    SQLite cannot change a CHECK constraint, so the notices table is rebuilt, with the
    current definition; :func:`_migrate_v3` then finds its columns and index in place.
    """
    n = notices_table
    if conn.dialect.name == "sqlite":
        conn.execute(sa.text("ALTER TABLE notices RENAME TO notices_v1"))
        for index in sa.inspect(conn).get_indexes("notices_v1"):
            conn.execute(sa.text(f"DROP INDEX {index['name']}"))
        n.create(conn)
        columns = ", ".join(c["name"] for c in sa.inspect(conn).get_columns("notices_v1"))
        conn.execute(sa.text(f"INSERT INTO notices ({columns}) SELECT {columns} FROM notices_v1"))
        conn.execute(sa.text("DROP TABLE notices_v1"))
    else:
        conn.execute(
            sa.text(
                "ALTER TABLE notices DROP CONSTRAINT ck_notices_state, "
                f"ADD CONSTRAINT ck_notices_state CHECK ({STATE_CHECK})"
            )
        )
    events_table.create(conn)


def _migrate_v3(conn: Connection) -> None:
    """Version 3: leases (run_id, lease_expires) and the partial index of claimable rows,
    which replaces the index of every row by state."""
    inspector = sa.inspect(conn)
    present = {column["name"] for column in inspector.get_columns("notices")}
    for name in ("run_id", "lease_expires"):
        if name not in present:
            spec = notices_table.c[name].type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE notices ADD COLUMN {name} {spec}"))
    indexes = {index["name"] for index in inspector.get_indexes("notices")}
    if "ix_notices_claim" in indexes:
        conn.execute(sa.text("DROP INDEX ix_notices_claim"))
    for index in notices_table.indexes:
        if index.name in {"ix_notices_claimable", "ix_notices_in_flight"} - indexes:
            index.create(conn)


def _migrate_v4(conn: Connection) -> None:
    """Version 4: one subscriber per case-folded address (:mod:`redline.ledger.merge`)."""
    from redline.ledger.merge import migrate_v4  # it builds on this module's tables

    migrate_v4(conn)


def _rebuild_sqlite(conn: Connection, tables: tuple[sa.Table, ...]) -> None:
    """Recreate ``tables`` (referenced ones first) with their current definitions, rows kept.

    SQLite cannot change a CHECK constraint in place. Each table is renamed, its indexes
    dropped, created anew and refilled; the old ones are dropped referencing ones first, so
    no ON DELETE CASCADE reaches the copies.
    """
    for table in tables:
        conn.execute(sa.text(f"ALTER TABLE {table.name} RENAME TO {table.name}_old"))
        for index in sa.inspect(conn).get_indexes(f"{table.name}_old"):
            conn.execute(sa.text(f"DROP INDEX {index['name']}"))
    for table in tables:
        table.create(conn)
        columns = ", ".join(c.name for c in table.columns)
        conn.execute(
            sa.text(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {table.name}_old")
        )
    for table in reversed(tables):
        conn.execute(sa.text(f"DROP TABLE {table.name}_old"))


def _migrate_v5(conn: Connection) -> None:
    """Version 5: the 'bounced' state and subscribers.undeliverable_at."""
    spec = subscribers_table.c.undeliverable_at.type.compile(dialect=conn.dialect)
    conn.execute(sa.text(f"ALTER TABLE subscribers ADD COLUMN undeliverable_at {spec}"))
    if conn.dialect.name == "sqlite":
        _rebuild_sqlite(conn, (notices_table, events_table))
    else:
        conn.execute(
            sa.text(
                "ALTER TABLE notices DROP CONSTRAINT ck_notices_state, "
                f"ADD CONSTRAINT ck_notices_state CHECK ({STATE_CHECK})"
            )
        )


def _migrate_v6(conn: Connection) -> None:
    """Version 6: subscription_events, every subscription change with its time and channel."""
    subscription_events_table.create(conn)


_MIGRATIONS = {
    2: _migrate_v2,
    3: _migrate_v3,
    4: _migrate_v4,
    5: _migrate_v5,
    6: _migrate_v6,
}


class Schema(Database):
    """Creating, upgrading and reading the version of the schema of a Database."""

    def _prepare_schema(self) -> None:
        with self._write() as conn:
            if self._pg:
                # Serialise concurrent first runs; DDL is transactional on PostgreSQL.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7264601)"))
            current = self._read_version(conn)
            if current > SCHEMA_VERSION:
                raise StorageError(
                    f"database {self.label} has schema version {current}, newer than this "
                    f"redline supports ({SCHEMA_VERSION})",
                    hint="upgrade redline",
                )
            if current == 0:
                _create(conn, self._clock())
                _set_meta(conn, "schema_version", str(SCHEMA_VERSION))
                return
            for version in range(current + 1, SCHEMA_VERSION + 1):
                _MIGRATIONS[version](conn)
                _set_meta(conn, "schema_version", str(version))
                LOG.info("database schema upgraded to version %d", version)

    def _read_version(self, conn: Connection) -> int:
        inspector = sa.inspect(conn)
        if not inspector.has_table(meta_table.name):
            foreign = [name for name in _OUR_TABLES if inspector.has_table(name)]
            if foreign:
                raise StorageError(
                    f"database {self.label} has tables redline did not create: "
                    + ", ".join(foreign),
                    hint="give redline its own database or PostgreSQL schema",
                )
            return 0
        value = conn.execute(
            sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
        ).scalar()
        if value is None or not value.isdigit():
            raise StorageError(
                f"database {self.label} has no valid schema version in redline_meta",
                hint="restore the database from a backup or start a new one",
            )
        return int(value)

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        with self._read() as conn:
            return self._read_version(conn)
