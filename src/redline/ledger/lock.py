"""The cross-process lock of a sending run, held in or beside the database.

PostgreSQL: a session advisory lock. SQLite: an OS file lock (``filelock``: flock on POSIX,
LockFileEx on Windows) on a file beside the database. Either dies with its holder, so a
crashed run never blocks the next one, and nothing platform-specific is imported here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout

from redline.errors import RunInProgressError
from redline.ledger.db import Database


def lock_key(name: str) -> int:
    """The signed 64-bit key of the lock ``name`` (a PostgreSQL advisory lock key)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Locking(Database):
    """:meth:`exclusive` on top of a :class:`~redline.ledger.db.Database`."""

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the cross-process lock ``name`` for the block; RunInProgressError if taken."""
        key = lock_key(name)
        busy = RunInProgressError(
            f"another redline run is already sending {name}",
            hint="wait for it to finish, then run again to pick up what it left",
        )
        if self._pg:
            with self._advisory_lock(key, busy):
                yield
        elif self._sqlite_path is None:  # an in-memory database lives in this process only
            yield
        else:
            path = self._sqlite_path
            with _file_lock(path.with_name(f"{path.name}.{key & 0xFFFFFFFF:08x}.lock"), busy):
                yield

    @contextmanager
    def _advisory_lock(self, key: int, busy: RunInProgressError) -> Iterator[None]:
        with self._guard(), self._engine.connect() as conn:
            taken = conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar()
            conn.commit()
            if not taken:
                raise busy
            try:
                yield
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                conn.commit()


@contextmanager
def _file_lock(path: Path, busy: RunInProgressError) -> Iterator[None]:
    """Hold an OS lock on the file ``path`` (created if needed) for the block, or raise ``busy``."""
    lock = FileLock(path, timeout=0, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise busy from None
    try:
        yield
    finally:
        lock.release()
