"""A sending run's sign of life: a lock held in or beside the database that dies with it.

PostgreSQL: a session advisory lock. SQLite: an OS file lock (``filelock``: flock on POSIX,
LockFileEx on Windows) on a file beside the database. A run holds :class:`RunLock` while it
works, so another run that finds the lock free knows the rows it left in flight are orphans
(:mod:`redline.ledger.leases`); a crashed process never blocks anyone.
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout
from sqlalchemy.engine import Connection, Engine


def lock_key(name: str) -> int:
    """The signed 64-bit key of the lock ``name`` (a PostgreSQL advisory lock key)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _lock_file(database: Path, name: str) -> Path:
    return database.with_name(f"{database.name}.{lock_key(name) & 0xFFFFFFFF:08x}.lock")


class RunLock:
    """The lock ``run <id>``, held from :meth:`acquire` until :meth:`release`.

    On PostgreSQL a dedicated connection holds a session advisory lock; on a SQLite file, an
    OS lock on a file beside it; an in-memory SQLite database lives in this process only,
    where the lock is the Store's own record of its run.
    """

    def __init__(self, engine: Engine, sqlite_path: Path | None, run_id: str) -> None:
        self._engine = engine
        self._name = f"run {run_id}"
        self._path = None if sqlite_path is None else _lock_file(sqlite_path, self._name)
        self._conn: Connection | None = None
        self._file: FileLock | None = None

    def acquire(self) -> None:
        """Take the lock (a fresh run id: nobody else holds it)."""
        if self._engine.dialect.name == "postgresql":
            conn = self._engine.connect()
            conn.execute(sa.select(sa.func.pg_advisory_lock(lock_key(self._name))))
            conn.commit()
            self._conn = conn
        elif self._path is not None:
            self._file = FileLock(self._path, timeout=0, mode=0o600)
            self._file.acquire()

    def release(self) -> None:
        """Let go of the lock (closing its connection, deleting its file)."""
        if self._conn is not None:
            with suppress(sa.exc.SQLAlchemyError):
                self._conn.close()  # the session ends, and its advisory lock with it
            self._conn = None
        if self._file is not None and self._path is not None:
            with suppress(OSError):  # first, so that nobody takes a lock on a file then gone
                self._path.unlink()
            self._file.release()
            self._file = None


def run_is_alive(conn: Connection, sqlite_path: Path | None, run_id: str) -> bool:
    """Whether the run ``run_id`` holds its :class:`RunLock` now (on ``conn``'s server).

    An in-memory SQLite database has no other process, so its other runs count as dead.
    """
    name = f"run {run_id}"
    if conn.dialect.name == "postgresql":
        key = lock_key(name)
        free = conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(key))).scalar()
        return not free  # a transaction lock taken here ends with the caller's transaction
    if sqlite_path is None:
        return False
    path = _lock_file(sqlite_path, name)
    if not path.exists():
        return False
    probe = FileLock(path, timeout=0, mode=0o600)
    try:
        probe.acquire()
    except Timeout:
        return True
    with suppress(OSError):
        path.unlink()
    probe.release()
    return False
