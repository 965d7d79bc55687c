"""Subscribers and the notice ledger in one database (SQLAlchemy Core; SQLite by default,
PostgreSQL by URL).

:class:`Store` is the one object callers open; its parts, each on the same
:class:`~redline.ledger.db.Database`: the engine and its dialect quirks
(:mod:`~redline.ledger.db`), the run lock (:mod:`~redline.ledger.lock`), the tables and
migrations (:mod:`~redline.ledger.schema`), the subscriber repository
(:mod:`~redline.ledger.subscriptions`, :mod:`~redline.ledger.renames`,
:mod:`~redline.ledger.optout`) with its changes (:mod:`~redline.ledger.changes`), the
ledger's state machine (:mod:`~redline.ledger.notices`, :mod:`~redline.ledger.claims`,
:mod:`~redline.ledger.leases`, :mod:`~redline.ledger.marks`, :mod:`~redline.ledger.bounces`)
and its evidence (:mod:`~redline.ledger.evidence`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from redline.env import utc_now
from redline.errors import StorageError
from redline.ledger.bounces import Bounces
from redline.ledger.changes import Changes
from redline.ledger.claims import Claims
from redline.ledger.db import LOG, URL_HINT, make_engine, parse_url, sqlite_file
from redline.ledger.evidence import Evidence
from redline.ledger.leases import LEASE_SECONDS
from redline.ledger.marks import Marks
from redline.ledger.migrate import Schema
from redline.ledger.notices import Notices
from redline.ledger.optout import OptOut
from redline.ledger.renames import Renames
from redline.ledger.schema import SCHEMA_VERSION
from redline.ledger.subscriptions import Subscriptions


class Store(
    Subscriptions, Renames, OptOut, Changes, Claims, Notices, Marks, Evidence, Bounces, Schema
):
    """The subscriber list and the notice ledger in one database.

    Open with :meth:`Store.open`; use as a context manager or call :meth:`close`. Every
    method runs in its own transaction, and a Store may be shared between threads.
    """

    @classmethod
    def open(
        cls,
        url: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        lease_seconds: float = LEASE_SECONDS,
    ) -> Store:
        """Connect to ``url``, creating the SQLite file's directory and the schema if needed.

        ``postgresql://`` and ``postgres://`` URLs use the psycopg driver. Raises
        StorageError with one line (never the password) when the database cannot be used.
        Every timestamp the store writes comes from ``clock``. The Store is one sending run
        (:mod:`~redline.ledger.leases`): its claims hold their rows for ``lease_seconds``,
        renewed while it is open.
        """
        parsed = parse_url(url)
        label = parsed.render_as_string(hide_password=True)
        path = sqlite_file(parsed)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create the database directory {path.parent}: {exc.strerror}"
                ) from None
            label = str(path)
        try:
            engine = make_engine(parsed)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StorageError(f"cannot use database {label}: {exc}", hint=URL_HINT) from None
        password = parsed.password and str(parsed.password)
        store = cls(engine, label, password, path, clock, lease_seconds=lease_seconds)
        try:
            store._prepare_schema()
        except BaseException:
            engine.dispose()
            raise
        LOG.debug("opened database %s (schema version %d)", label, SCHEMA_VERSION)
        return store

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
