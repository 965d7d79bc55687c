"""The database connection: URLs, the engine with its dialect quirks, transactions, errors.

SQLite runs in WAL mode with a busy timeout, and write transactions start with
``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing. PostgreSQL uses the
psycopg driver with a connect timeout. Error messages name the database but never its
password, nor the parameters of a statement (subscriber addresses).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine

from redline.env import utc_now
from redline.errors import StorageError

LOG = logging.getLogger("redline.ledger.store")

BUSY_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10
#: Rows fetched (or changed by id) at a time.
BATCH = 500
URL_HINT = "use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
# The host, and port, after the credentials of a URL: then its path, its query or its end.
_URL_HOST = re.compile(r"[A-Za-z0-9.\-\[\]:%]*(?=[/?]|$)")
_DURABLE_COMMIT = sa.text("SET LOCAL synchronous_commit = on")


def _escape_credentials(url: str) -> str:
    """``url`` with any '@' in its user name or password percent-encoded.

    ``make_url`` ends the credentials at the first '@', so an unencoded '@' in a password
    would put the rest of it into the host name, and so into every message that shows the
    URL. Here they end at the last '@' before the path that a host name (and port) and
    then the path, the query or the end of the URL follow; failing that (a password with a
    '/'), at the last such '@' anywhere.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or rest.count("@") < 2:
        return url
    slash = rest.find("/")
    at = rest.rfind("@", 0, slash if slash >= 0 else len(rest))
    if at <= 0 or not _URL_HOST.match(rest, at + 1):
        at = rest.rfind("@")
        while at > 0 and not _URL_HOST.match(rest, at + 1):
            at = rest.rfind("@", 0, at)
    if at <= 0:
        return url
    return f"{scheme}://{rest[:at].replace('@', '%40')}{rest[at:]}"


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL of ``url``: SQLite, or PostgreSQL with the psycopg driver."""
    try:
        parsed = sa.make_url(_escape_credentials(url))
    except (sa.exc.ArgumentError, ValueError):
        raise StorageError("the database URL is not valid", hint=URL_HINT) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise StorageError(f"unsupported database '{parsed.drivername}'", hint=URL_HINT)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        _wal(cursor)
        # WAL + NORMAL survives a killed process; a power cut may lose the last commits,
        # which resends those messages rather than skipping anyone.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _wal(cursor: Any) -> None:
    """Switch to WAL. The switch of a new database takes its lock without the busy handler,
    so a process opening it at the same moment as another is told "locked" at once: retry."""
    import sqlite3

    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_on_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get("redline_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _postgresql_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Once per session: ledger commits do not wait for the disk flush (see Database._write).
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SET synchronous_commit = off")
    finally:
        cursor.close()
    dbapi_connection.commit()


def make_engine(url: URL) -> Engine:
    """An engine for ``url`` with redline's SQLite pragmas or PostgreSQL timeouts."""
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    engine = sa.create_engine(
        url,
        pool_pre_ping=False,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "application_name": "redline"},
    )
    event.listen(engine, "connect", _postgresql_on_connect)
    return engine


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite database URL; None for memory, a ``file:`` URI or PostgreSQL."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


class Database:
    """One engine with its transactions and the errors they raise as StorageError.

    Every method runs in its own transaction, and an instance may be shared between threads.
    """

    def __init__(
        self,
        engine: Engine,
        label: str,
        password: str | None = None,
        sqlite_path: Path | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = engine
        # Every timestamp the ledger writes (aware, in UTC) comes from here.
        self._clock = clock
        self.label = label
        self._password = password
        self._sqlite_path = sqlite_path

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self._engine.dialect.name

    @property
    def _pg(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def _describe(self, exc: sa.exc.SQLAlchemyError) -> tuple[str, str | None]:
        # Never str(exc) of a statement error: it carries the SQL parameters (addresses).
        orig = getattr(exc, "orig", None)
        if orig is not None:
            text = str(orig).strip()
        elif isinstance(exc, sa.exc.StatementError):
            text = type(exc).__name__
        else:
            text = str(exc).strip()
        line = text.splitlines()[0] if text else type(exc).__name__
        if self._password:
            line = line.replace(self._password, "***")
        lowered = line.lower()
        hint = None
        if "locked" in lowered or "busy" in lowered:
            hint = "another redline process is using the database; try again when it has finished"
        elif "connect" in lowered or "password" in lowered or "resolve" in lowered:
            hint = "check REDLINE_DATABASE_URL and that the server is running"
        elif "readonly" in lowered or "read-only" in lowered or "permission" in lowered:
            hint = "check the permissions of the database file and its directory"
        return f"database {self.label}: {line}", hint

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            message, hint = self._describe(exc)
            LOG.debug("database error %s", type(exc).__name__)
            raise StorageError(message, hint=hint) from None

    @contextmanager
    def _write(self, *, ledger: bool = False) -> Iterator[Connection]:
        """One committed write transaction (BEGIN IMMEDIATE on SQLite).

        ``ledger``: a per-message state change (a claim, a result, a lease). On PostgreSQL
        its commit does not wait for the disk flush (``synchronous_commit = off``, set once
        per session); a server crash can then lose the last fraction of a second of changes,
        which only returns rows to an earlier state (a resend, never a skip). Every other
        write (subscribers, unsubscribes, the schema) waits for the flush. SQLite's WAL with
        synchronous=NORMAL makes the ledger's trade for every write.
        """
        with self._guard(), self._engine.connect() as conn:
            conn.execution_options(redline_write=True)
            with conn.begin():
                if not ledger and self._pg:
                    conn.execute(_DURABLE_COMMIT)
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._guard(), self._engine.connect() as conn:
            yield conn

    def _stream(self, statement: sa.Select[Any]) -> Iterator[sa.Row[Any]]:
        """Rows of ``statement`` fetched in batches (a server-side cursor on PostgreSQL)."""
        with self._guard(), self._engine.connect() as conn:
            yield from conn.execution_options(yield_per=BATCH).execute(statement)
