"""Leases: which run holds a 'sending' row, until when, and whether that run is still alive.

Every Store is one *run* with a random id (:attr:`Leases.run_id`). A claim writes the run id
and a lease expiry (now + ``lease_seconds``) on each row it takes. While the run works, a
background thread renews the lease of all its in-flight rows every third of the lease, and
the run holds its :class:`~redline.ledger.lock.RunLock`, its sign of life. Another run takes
a 'sending' row only when its lease has expired (a run that hung or lost the database), or,
at start-up recovery, when the lock of the run that claimed it is free (the run crashed: its
rows are taken back at once, without waiting for the lease).
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from redline.errors import StorageError
from redline.ledger.db import Database
from redline.ledger.lock import RunLock, run_is_alive
from redline.ledger.schema import NOW, ledger_key, notices_table

LOG = logging.getLogger("redline.ledger.store")

#: How long a claimed row stays a run's without renewal (seconds).
LEASE_SECONDS = 120.0

_RENEW = (
    sa.update(notices_table)
    .where(
        notices_table.c.run_id == sa.bindparam("p_run"),
        notices_table.c.state == "sending",
    )
    .values(lease_expires=sa.bindparam("p_expires", type_=NOW.type), updated_at=NOW)
)


class Leases(Database):
    """The run of a Database: its id, its lease, its lock and the thread that renews it."""

    def __init__(self, *args: Any, lease_seconds: float = LEASE_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        #: This run's id, written on every row it claims.
        self.run_id = uuid.uuid4().hex
        self.lease = timedelta(seconds=lease_seconds)
        self._run_lock: RunLock | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._run_guard = threading.Lock()

    def lease_expiry(self, now: datetime) -> datetime:
        """When a lease taken or renewed at ``now`` ends."""
        return now + self.lease

    def _start_run(self) -> None:
        """Take the run's lock and start renewing its leases (once, before its first claim)."""
        with self._run_guard:
            if self._run_lock is not None:
                return
            lock = RunLock(self._engine, self._sqlite_path, self.run_id)
            with self._guard():
                lock.acquire()
            self._run_lock = lock
            self._renewer = threading.Thread(
                target=self._keep_renewing, name=f"redline-lease-{self.run_id[:8]}", daemon=True
            )
            self._renewer.start()

    def _keep_renewing(self) -> None:
        while not self._stop.wait(self.lease.total_seconds() / 3):
            try:
                self.renew()
            except StorageError as exc:  # the next try may work; the lease covers the gap
                LOG.warning("could not renew the lease of run %s: %s", self.run_id[:8], exc)

    def renew(self) -> int:
        """Extend the lease of every row this run has in flight; return how many."""
        now = self._clock()
        params = {"p_run": self.run_id, "p_expires": self.lease_expiry(now), "p_now": now}
        with self._write(ledger=True) as conn:
            return conn.execute(_RENEW, params).rowcount

    def _orphans(self, conn: Connection, key: tuple[str, int, str], now: datetime) -> list[str]:
        """The other runs with unexpired leases on rows of ``key`` whose lock is free (dead)."""
        n = notices_table
        runs = conn.execute(
            sa.select(n.c.run_id)
            .distinct()
            .where(
                *ledger_key(*key),
                n.c.state == "sending",
                n.c.run_id.is_not(None),
                n.c.run_id != self.run_id,
                n.c.lease_expires >= now,
            )
        ).scalars()
        return [run for run in runs if not run_is_alive(conn, self._sqlite_path, run)]

    def close(self) -> None:
        """Stop renewing, let go of the run's lock and close every pooled connection."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self._run_lock is not None:
            self._run_lock.release()
            self._run_lock = None
        super().close()
