"""Subscribers and the notice ledger (SQLAlchemy Core; SQLite by default, PostgreSQL by URL).

The ledger holds one row per (policy, version, kind, recipient address) and moves it through

    pending -> sending -> sent | failed-temporary | failed-permanent | unknown
    sending -> pending                        (deferred: the server refused for a reason not
                                               about the recipient; or nothing was tried)
    pending | failed-temporary -> cancelled   (recipient unsubscribed, removed or unsubscribed
                                               from the policy before the message went out)
    failed-* | unknown -> pending             (only deliberately: :meth:`Store.requeue`)

``unknown`` means the message was sent but no reply came: it may have been delivered, so it
is never retried automatically. ``attempts`` counts every SMTP try, and the
``notice_events`` table keeps each try (time, outcome, reply) and each deliberate re-queue,
so the proof shows the whole history of a row.

Every state change is its own committed transaction and is guarded by the state it expects
(``UPDATE ... WHERE state = ...``), so a ``sent`` row never changes again and a crashed run
leaves at most its in-flight rows in ``sending``. Rows keep a snapshot of the recipient
address, so removing a subscriber never removes the proof that they were told.

SQLite runs in WAL mode with a busy timeout, and write transactions start with
``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing. PostgreSQL claims rows
with ``SELECT ... FOR UPDATE SKIP LOCKED``. The schema is created and upgraded here, and its
version is recorded in the ``redline_meta`` table.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Dialect, Engine

from redline import __version__
from redline.errors import InputError, RunInProgressError, StorageError
from redline.ledger.headers import header_text, mailbox

if TYPE_CHECKING:
    from redline.mail.mailer import Attempt

LOG = logging.getLogger("redline.ledger.store")

SCHEMA_VERSION = 2
ALL_POLICIES = "*"
KINDS = ("notice", "reminder", "in-effect")
STATES = (
    "pending",
    "sending",
    "sent",
    "failed-temporary",
    "failed-permanent",
    "unknown",
    "cancelled",
)
#: States a run never sends again by itself: done, or waiting for a person's decision.
FINISHED_STATES = ("sent", "failed-permanent", "unknown")
BUSY_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10
_MESSAGE_LIMIT = 2000
_BATCH = 500
_URL_HINT = "use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
_SLUG = re.compile(r"(?!/)[^\s\\*,;]{1,200}(?<!/)")  # names are paths: de/privacy
_CODE_PREFIX = re.compile(r"[2-5][0-9]{0,2}")
# The host, and port, after the credentials of a URL: then its path, its query or its end.
_URL_HOST = re.compile(r"[A-Za-z0-9.\-\[\]:%]*(?=[/?]|$)")


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


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_STATE_CHECK = "state IN ({})".format(", ".join(f"'{state}'" for state in STATES))

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
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("locale", sa.String(35)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("unsubscribed_at", UTCDateTime),
    sa.UniqueConstraint("email", name="uq_subscribers_email"),
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
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
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
    sa.UniqueConstraint("policy", "version", "kind", "email", name="uq_notices_recipient"),
    sa.CheckConstraint(_STATE_CHECK, name="ck_notices_state"),
    sa.CheckConstraint(
        "kind IN ({})".format(", ".join(f"'{kind}'" for kind in KINDS)), name="ck_notices_kind"
    ),
    sa.Index("ix_notices_claim", "policy", "version", "kind", "state", "id"),
    sa.Index("ix_notices_subscriber", "subscriber_id"),
    sa.Index("ix_notices_email", "email"),
)

events_table = sa.Table(
    "notice_events",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("notice_id", _ID, sa.ForeignKey("notices.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    # An SMTP try's outcome (sent, failed-temporary, failed-permanent, unknown, deferred),
    # or requeued / recovered.
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("code", sa.Integer),
    sa.Column("message", sa.Text),
    sa.Index("ix_notice_events_notice", "notice_id", "id"),
)

_OUR_TABLES = ("subscribers", "subscriptions", "notices", "notice_events")

_ASYNC_COMMIT = sa.text("SET LOCAL synchronous_commit = off")
_ANALYZE_SUBSCRIBERS = sa.text("ANALYZE subscribers, subscriptions")
_ANALYZE_NOTICES = sa.text("ANALYZE notices")
# Prebuilt per-message statements: building a statement costs more than running it.
_NID = sa.bindparam("nid", type_=_ID)
_NOW = sa.bindparam("p_now", type_=UTCDateTime())
# The claim counted the first try; an outcome adds the retries.
_PLUS_RETRIES = notices_table.c.attempts + sa.bindparam("p_retries", type_=sa.Integer())
_MARK_SENT = (
    sa.update(notices_table)
    .where(notices_table.c.id == _NID, notices_table.c.state != "sent")
    .values(
        state="sent",
        message_id=sa.bindparam("p_message_id", type_=sa.Text()),
        last_code=sa.bindparam("p_code", type_=sa.Integer()),
        last_message=sa.bindparam("p_text", type_=sa.Text()),
        reason=None,
        attempts=_PLUS_RETRIES,
        sent_at=_NOW,
        updated_at=_NOW,
    )
)
_MARK_DONE = (
    sa.update(notices_table)
    .where(notices_table.c.id == _NID, notices_table.c.state == "sending")
    .values(
        state=sa.bindparam("p_state", type_=sa.String()),
        last_code=sa.bindparam("p_code", type_=sa.Integer()),
        last_message=sa.bindparam("p_text", type_=sa.Text()),
        attempts=_PLUS_RETRIES,
        updated_at=_NOW,
    )
)
_INSERT_EVENTS = sa.insert(events_table)
_S = subscribers_table
_SUBSCRIBER_VALUES = {
    "email": sa.bindparam("p_email", type_=sa.String()),
    "name": sa.bindparam("p_name", type_=sa.Text()),
    "locale": sa.bindparam("p_locale", type_=sa.String()),
    "created_at": _NOW,
    "updated_at": _NOW,
}
_INSERT_SUBSCRIBER = {
    name: insert(_S)
    .values(**_SUBSCRIBER_VALUES)
    .on_conflict_do_nothing(index_elements=["email"])
    .returning(_S.c.id, _S.c.email)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_UPDATE_SUBSCRIBER = (
    sa.update(_S)
    .where(_S.c.id == sa.bindparam("p_id", type_=sa.Integer()))
    .values(
        name=sa.bindparam("p_name", type_=sa.Text()),
        locale=sa.bindparam("p_locale", type_=sa.String()),
        unsubscribed_at=sa.bindparam("p_unsubscribed", type_=UTCDateTime()),
        updated_at=_NOW,
    )
)
_CLEAR_SUBSCRIPTIONS = sa.delete(subscriptions_table).where(
    subscriptions_table.c.subscriber_id == sa.bindparam("p_id", type_=sa.Integer())
)
_RELINK = (
    sa.update(notices_table)
    .where(
        notices_table.c.email.in_(sa.bindparam("p_emails", expanding=True)),
        notices_table.c.subscriber_id.is_(None),
    )
    .values(
        subscriber_id=sa.select(_S.c.id)
        .where(_S.c.email == notices_table.c.email)
        .scalar_subquery()
    )
)
_RELEASE = (
    sa.update(notices_table)
    .where(notices_table.c.id == _NID, notices_table.c.state == "sending")
    .values(
        state="pending",
        attempts=sa.case((notices_table.c.attempts > 0, notices_table.c.attempts - 1), else_=0),
        updated_at=_NOW,
    )
)


@dataclass(frozen=True)
class Subscriber:
    """One subscriber; ``policies`` is None when subscribed to every policy."""

    id: int
    email: str
    name: str | None
    locale: str | None
    policies: tuple[str, ...] | None
    created: datetime
    updated: datetime
    unsubscribed: datetime | None

    @property
    def active(self) -> bool:
        """True while the subscriber has not unsubscribed."""
        return self.unsubscribed is None

    def wants(self, policy: str) -> bool:
        """True when active and subscribed to ``policy``."""
        return self.active and (self.policies is None or policy in self.policies)


@dataclass(frozen=True)
class SubscriberInput:
    """What to store for one subscriber (``policies`` None or empty: every policy)."""

    email: str
    name: str | None = None
    locale: str | None = None
    policies: tuple[str, ...] | None = None


@dataclass(frozen=True)
class NoticeTask:
    """A claimed ledger row: one message to send now."""

    id: int
    policy: str
    version: int
    kind: str
    email: str
    name: str | None
    locale: str | None
    attempts: int
    subscriber_id: int


@dataclass(frozen=True)
class NoticeEvent:
    """One entry of a ledger row's history: an SMTP try, a re-queue or a recovery."""

    at: datetime
    event: str
    code: int | None
    message: str | None


@dataclass(frozen=True)
class NoticeRecord:
    """One ledger row as evidence: who was told what, when, and what the server replied.

    ``history`` is filled only when asked for (:meth:`Store.iter_notices`).
    """

    id: int
    policy: str
    version: int
    kind: str
    email: str
    subscriber_id: int | None
    state: str
    attempts: int
    last_code: int | None
    last_message: str | None
    message_id: str | None
    reason: str | None
    created_at: datetime
    claimed_at: datetime | None
    sent_at: datetime | None
    updated_at: datetime
    history: tuple[NoticeEvent, ...] = ()


# -- validation shared with redline.ledger.subscribers -----------------------------------


def normalize_email(email: str) -> str:
    """Validate ``email`` (syntax only, no DNS) and return it with the domain lower-cased.

    Two addresses that differ only in the case of their domain are the same subscriber;
    the local part keeps its case. Raises InputError with the validator's reason.
    """
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InputError(f"not a valid email address: {exc}") from None


def check_email(email: str) -> str:
    """:func:`normalize_email`, refusing also an address that can never be sent.

    The address must make a To header that parses back to itself (the same check as at
    send, :func:`redline.ledger.headers.mailbox`); an encoded word in the local part, say, cannot.
    """
    normalized = normalize_email(email)
    mailbox(normalized)
    return normalized


def check_name(name: str | None) -> str | None:
    """Return the stripped name (None if empty), refused unless it is safe header text.

    The header guard (strict) runs here at import and again at send: a line break, a
    control character or an RFC 2047 encoded word in a display name could inject headers.
    """
    if name is None:
        return None
    name = name.strip()
    if len(name) > 200:
        raise InputError("name is longer than 200 characters")
    try:
        header_text(name, strict=True)
    except InputError as exc:
        raise InputError(f"name {exc.message}", hint=exc.hint) from None
    return name or None


def check_policy_slug(slug: str) -> str:
    """Return ``slug`` if it can name a policy in the subscriptions and the ledger."""
    if not _SLUG.fullmatch(slug):
        raise InputError(
            f"policy slug {slug!r} is not valid",
            hint="use the policy's name (its path without .md); separate several with spaces",
        )
    return slug


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InputError(f"unknown notice kind {kind!r}", hint=f"use one of: {', '.join(KINDS)}")
    return kind


def _check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputError(f"policy version must be a whole number >= 1, not {version!r}")
    return version


def _lookup_key(email: str) -> str | None:
    try:
        return normalize_email(email)
    except InputError:
        return None


def _now() -> datetime:
    return datetime.now(UTC)


def _clip(text: str | bytes | None) -> str | None:
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    return text[:_MESSAGE_LIMIT] if len(text) > _MESSAGE_LIMIT else text


# -- engine -----------------------------------------------------------------------------------


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


def _parse_url(url: str) -> URL:
    try:
        parsed = sa.make_url(_escape_credentials(url))
    except (sa.exc.ArgumentError, ValueError):
        raise StorageError("the database URL is not valid", hint=_URL_HINT) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise StorageError(f"unsupported database '{parsed.drivername}'", hint=_URL_HINT)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL survives a killed process; a power cut may lose the last commits,
        # which resends those messages rather than skipping anyone.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get("redline_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return sa.create_engine(
        url,
        pool_pre_ping=False,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "application_name": "redline"},
    )


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


# -- the store --------------------------------------------------------------------------------


class Store:
    """The subscriber list and the notice ledger in one database.

    Open with :meth:`Store.open`; use as a context manager or call :meth:`close`. Every
    method runs in its own transaction, and a Store may be shared between threads.
    """

    def __init__(
        self,
        engine: Engine,
        label: str,
        password: str | None = None,
        sqlite_path: Path | None = None,
    ) -> None:
        self._engine = engine
        self.label = label
        self._password = password
        self._sqlite_path = sqlite_path

    # -- lifecycle ------------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to ``url``, creating the SQLite file's directory and the schema if needed.

        ``postgresql://`` and ``postgres://`` URLs use the psycopg driver. Raises
        StorageError with one line (never the password) when the database cannot be used.
        """
        parsed = _parse_url(url)
        label = parsed.render_as_string(hide_password=True)
        path = _sqlite_file(parsed)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create the database directory {path.parent}: {exc.strerror}"
                ) from None
            label = str(path)
        try:
            engine = _make_engine(parsed)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StorageError(f"cannot use database {label}: {exc}", hint=_URL_HINT) from None
        store = cls(engine, label, parsed.password and str(parsed.password), path)
        try:
            store._prepare_schema()
        except BaseException:
            engine.dispose()
            raise
        LOG.debug("opened database %s (schema version %d)", label, SCHEMA_VERSION)
        return store

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the cross-process lock ``name`` for the block; RunInProgressError if taken.

        The lock dies with its holder (a PostgreSQL session advisory lock, or an flock on a
        file beside the SQLite database), so a crashed run never blocks the next one.
        """
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        busy = RunInProgressError(
            f"another redline run is already sending {name}",
            hint="wait for it to finish, then run again to pick up what it left",
        )
        if self.dialect == "postgresql":
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
            return
        if self._sqlite_path is None:  # an in-memory database lives in this process only
            yield
            return
        lock_file = self._sqlite_path.with_name(
            f"{self._sqlite_path.name}.{key & 0xFFFFFFFF:08x}.lock"
        )
        descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise busy from None
            yield
        finally:
            os.close(descriptor)

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self._engine.dialect.name

    @property
    def _pg(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    # -- transactions and errors ----------------------------------------------------------------

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

        ``ledger``: a per-message state change. On PostgreSQL its commit does not wait for
        the disk flush; a server crash can then lose the last fraction of a second of
        changes, which only returns rows to an earlier state (a resend, never a skip).
        SQLite's WAL with synchronous=NORMAL makes the same trade for every write.
        """
        with self._guard(), self._engine.connect() as conn:
            conn.execution_options(redline_write=True)
            with conn.begin():
                if ledger and self._pg:
                    conn.execute(_ASYNC_COMMIT)
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._guard(), self._engine.connect() as conn:
            yield conn

    def _stream(self, statement: sa.Select[Any]) -> Iterator[sa.Row[Any]]:
        """Rows of ``statement`` fetched in batches (a server-side cursor on PostgreSQL)."""
        with self._guard(), self._engine.connect() as conn:
            yield from conn.execution_options(yield_per=_BATCH).execute(statement)

    # -- schema ---------------------------------------------------------------------------------

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
                _create(conn)
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

    # -- subscribers ----------------------------------------------------------------------------

    def upsert_subscriber(
        self,
        email: str,
        name: str | None = None,
        locale: str | None = None,
        policies: Sequence[str] | None = None,
        *,
        resubscribe: bool = False,
    ) -> str:
        """Add or update one subscriber; return 'added', 'updated' or 'unchanged'.

        The given values replace the stored ones (``name``/``locale`` None: none;
        ``policies`` None or empty: every policy). Someone who unsubscribed stays
        unsubscribed unless ``resubscribe`` is true. Raises InputError for an invalid
        address, name or policy slug.
        """
        item = SubscriberInput(email, name, locale, tuple(policies) if policies else None)
        return self.upsert_subscribers([item], resubscribe=resubscribe)[0]

    def upsert_subscribers(
        self, items: Sequence[SubscriberInput], *, resubscribe: bool = False
    ) -> list[str]:
        """:meth:`upsert_subscriber` for many subscribers in one transaction, in order.

        Raises InputError (and stores nothing) if any item is invalid.
        """
        prepared = [_prepare(item) for item in items]
        results: list[str | None] = [None] * len(prepared)
        if not prepared:
            return []
        with self._write() as conn:
            known = self._fetch_subscribers(conn, {item.email for item in prepared})
            fresh: dict[str, tuple[int, SubscriberInput]] = {}
            for index, item in enumerate(prepared):
                if item.email not in known and item.email not in fresh:
                    fresh[item.email] = (index, item)
            if fresh:
                for index in self._add_subscribers(conn, fresh, known):
                    results[index] = "added"
            for index, item in enumerate(prepared):
                if results[index] is None:
                    results[index] = self._update_subscriber(conn, item, known, resubscribe)
        return [result or "unchanged" for result in results]

    def _add_subscribers(
        self,
        conn: Connection,
        fresh: dict[str, tuple[int, SubscriberInput]],
        known: dict[str, _Stored],
    ) -> list[int]:
        """Insert new subscribers in bulk; return the input indexes of those inserted."""
        now = _now()
        rows = conn.execute(
            _INSERT_SUBSCRIBER[conn.dialect.name],
            [
                {"p_email": email, "p_name": item.name, "p_locale": item.locale, "p_now": now}
                for email, (_, item) in fresh.items()
            ],
        ).all()
        inserted = {email: new_id for new_id, email in rows}
        subscriptions: list[dict[str, Any]] = []
        for email, new_id in inserted.items():
            item = fresh[email][1]
            wanted = set(item.policies) if item.policies else {ALL_POLICIES}
            subscriptions += [
                {"subscriber_id": new_id, "policy": policy, "created_at": now}
                for policy in sorted(wanted)
            ]
            known[email] = _Stored(new_id, item.name, item.locale, None, wanted)
        if subscriptions:
            conn.execute(sa.insert(subscriptions_table), subscriptions)
            # An address may have ledger rows from before it was removed: relink them.
            conn.execute(_RELINK, {"p_emails": sorted(inserted)})
        raced = set(fresh) - set(inserted)
        if raced:  # added by a concurrent run since we looked: update those instead
            known.update(self._fetch_subscribers(conn, raced))
        return [fresh[email][0] for email in inserted]

    def _fetch_subscribers(self, conn: Connection, emails: set[str]) -> dict[str, _Stored]:
        s, x = subscribers_table, subscriptions_table
        found: dict[str, _Stored] = {}
        rows = conn.execute(
            sa.select(s.c.id, s.c.email, s.c.name, s.c.locale, s.c.unsubscribed_at, x.c.policy)
            .select_from(s.outerjoin(x, x.c.subscriber_id == s.c.id))
            .where(s.c.email.in_(sorted(emails)))
        )
        for row in rows:
            stored = found.setdefault(
                row.email, _Stored(row.id, row.name, row.locale, row.unsubscribed_at, set())
            )
            if row.policy is not None:
                stored.policies.add(row.policy)
        return found

    def _update_subscriber(
        self, conn: Connection, item: SubscriberInput, known: dict[str, _Stored], resub: bool
    ) -> str:
        now = _now()
        wanted = set(item.policies) if item.policies else {ALL_POLICIES}
        stored = known.get(item.email)
        if stored is None:
            raise StorageError(
                f"database {self.label}: a subscriber was removed during the update",
                hint="try again",
            )
        unsubscribed_at = None if resub else stored.unsubscribed_at
        if stored.policies != wanted:
            conn.execute(_CLEAR_SUBSCRIPTIONS, {"p_id": stored.id})
            _subscribe(conn, stored.id, wanted, now)
        elif (stored.name, stored.locale, stored.unsubscribed_at) == (
            item.name,
            item.locale,
            unsubscribed_at,
        ):
            return "unchanged"
        conn.execute(
            _UPDATE_SUBSCRIBER,
            {
                "p_id": stored.id,
                "p_name": item.name,
                "p_locale": item.locale,
                "p_unsubscribed": unsubscribed_at,
                "p_now": now,
            },
        )
        known[item.email] = _Stored(stored.id, item.name, item.locale, unsubscribed_at, wanted)
        return "updated"

    def remove_subscriber(self, email: str) -> bool:
        """Delete a subscriber and their subscriptions; their ledger rows stay as proof."""
        key = _lookup_key(email)
        if key is None:
            return False
        s = subscribers_table
        with self._write() as conn:
            found = conn.execute(sa.select(s.c.id).where(s.c.email == key)).scalar()
            if found is None:
                return False
            # Explicit, so the proof keeps its rows even where foreign keys are not enforced.
            conn.execute(
                sa.update(notices_table)
                .where(notices_table.c.subscriber_id == found)
                .values(subscriber_id=None)
            )
            conn.execute(
                sa.delete(subscriptions_table).where(subscriptions_table.c.subscriber_id == found)
            )
            conn.execute(sa.delete(s).where(s.c.id == found))
            return True

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

    def unsubscribe(self, email: str) -> bool:
        """Mark a subscriber unsubscribed; False if unknown or already unsubscribed."""
        key = _lookup_key(email)
        if key is None:
            return False
        s = subscribers_table
        now = _now()
        with self._write() as conn:
            result = conn.execute(
                sa.update(s)
                .where(s.c.email == key, s.c.unsubscribed_at.is_(None))
                .values(unsubscribed_at=now, updated_at=now)
            )
            return result.rowcount == 1

    def get_subscriber(self, email: str) -> Subscriber | None:
        """The subscriber with this address (domain case ignored), or None."""
        key = _lookup_key(email)
        if key is None:
            return None
        statement = self._subscriber_query().where(subscribers_table.c.email == key)
        with self._read() as conn:
            return next(_group_subscribers(conn.execute(statement)), None)

    def subscriber_email(self, subscriber_id: int) -> str | None:
        """The address of the subscriber with this id, or None."""
        s = subscribers_table
        with self._read() as conn:
            return conn.execute(sa.select(s.c.email).where(s.c.id == subscriber_id)).scalar()

    def iter_subscribers(
        self, policy: str | None = None, *, include_unsubscribed: bool = False
    ) -> Iterator[Subscriber]:
        """Subscribers ordered by address, streamed (never the whole list in memory).

        ``policy``: only those subscribed to it (directly or to every policy).
        """
        statement = self._subscriber_query()
        for condition in self._subscriber_filter(policy, include_unsubscribed):
            statement = statement.where(condition)
        yield from _group_subscribers(self._stream(statement))

    def count_subscribers(
        self, policy: str | None = None, *, include_unsubscribed: bool = False
    ) -> int:
        """Number of active subscribers (of ``policy`` if given)."""
        statement = sa.select(sa.func.count()).select_from(subscribers_table)
        for condition in self._subscriber_filter(policy, include_unsubscribed):
            statement = statement.where(condition)
        with self._read() as conn:
            return int(conn.execute(statement).scalar_one())

    @staticmethod
    def _subscriber_query() -> sa.Select[Any]:
        s, x = subscribers_table, subscriptions_table
        return (
            sa.select(
                s.c.id,
                s.c.email,
                s.c.name,
                s.c.locale,
                s.c.created_at,
                s.c.updated_at,
                s.c.unsubscribed_at,
                x.c.policy,
            )
            .select_from(s.outerjoin(x, x.c.subscriber_id == s.c.id))
            .order_by(s.c.email, x.c.policy)
        )

    @staticmethod
    def _subscriber_filter(
        policy: str | None, include_unsubscribed: bool
    ) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if not include_unsubscribed:
            conditions.append(subscribers_table.c.unsubscribed_at.is_(None))
        if policy is not None:
            conditions.append(_subscribed_to(subscribers_table.c.id, policy))
        return conditions

    # -- ledger ---------------------------------------------------------------------------------

    def queue_notices(self, policy: str, version: int, kind: str) -> int:
        """Queue a pending row for every active subscriber of ``policy`` that has none yet.

        Idempotent and set-based (one INSERT ... SELECT). Rows cancelled earlier become
        pending again when their subscriber is once more active and subscribed. Returns
        the number of rows queued or revived.
        """
        check_policy_slug(policy)
        _check_version(version)
        _check_kind(kind)
        s, n = subscribers_table, notices_table
        now = _now()
        existing = (
            sa.select(sa.literal(1))
            .where(
                n.c.policy == policy,
                n.c.version == version,
                n.c.kind == kind,
                n.c.email == s.c.email,
            )
            .exists()
        )
        # Rows are claimed in id order; ordering the insert makes that the subscribers' order.
        source = (
            sa.select(
                sa.literal(policy, sa.String),
                sa.literal(version, sa.Integer),
                sa.literal(kind, sa.String),
                s.c.id,
                s.c.email,
                sa.literal("pending", sa.String),
                sa.literal(0, sa.Integer),
                sa.literal(now, UTCDateTime()),
                sa.literal(now, UTCDateTime()),
            )
            .where(s.c.unsubscribed_at.is_(None), _subscribed_to(s.c.id, policy), ~existing)
            .order_by(s.c.id)
        )
        columns = [
            "policy",
            "version",
            "kind",
            "subscriber_id",
            "email",
            "state",
            "attempts",
            "created_at",
            "updated_at",
        ]
        active = sa.select(s.c.id).where(
            s.c.unsubscribed_at.is_(None), _subscribed_to(s.c.id, policy)
        )
        with self._write() as conn:
            if self._pg:
                # Fresh planner statistics: after a bulk import the stale ones pick plans that
                # are quadratic in the number of subscribers.
                conn.execute(_ANALYZE_SUBSCRIBERS)
            insert = (
                _insert(conn, n)
                .from_select(columns, source)
                .on_conflict_do_nothing()
                .execution_options(preserve_rowcount=True)
            )
            queued = conn.execute(insert).rowcount
            revived = conn.execute(
                sa.update(n)
                .where(
                    n.c.policy == policy,
                    n.c.version == version,
                    n.c.kind == kind,
                    n.c.state == "cancelled",
                    n.c.subscriber_id.in_(active),
                )
                .values(state="pending", reason=None, updated_at=now)
            ).rowcount
            if self._pg and queued > 1000:
                conn.execute(_ANALYZE_NOTICES)
        LOG.info(
            "queued %d and revived %d %s rows for %s v%d", queued, revived, kind, policy, version
        )
        return queued + revived

    def recover_in_flight(self, policy: str, version: int, kind: str) -> int:
        """Return rows left 'sending' by a crashed run to 'pending'; return how many.

        Their messages may or may not have gone out, so a re-run sends at most those again.
        Call it only when no other run is sending this (policy, version, kind).
        """
        n = notices_table
        now = _now()
        in_flight = sa.select(n.c.id).where(
            *_ledger_key(policy, version, kind), n.c.state == "sending"
        )
        with self._write() as conn:
            ids = list(conn.execute(in_flight).scalars())
            for chunk in _chunks(ids):
                conn.execute(
                    sa.update(n)
                    .where(n.c.id.in_(chunk), n.c.state == "sending")
                    .values(state="pending", updated_at=now)
                )
                _add_events(
                    conn,
                    chunk,
                    now,
                    "recovered",
                    None,
                    "in flight when a run was interrupted; queued again",
                )
            return len(ids)

    def requeue(
        self,
        policy: str,
        version: int,
        kind: str,
        *,
        states: Sequence[str],
        codes: Sequence[str] = (),
    ) -> int:
        """Put the rows in ``states`` back to 'pending', deliberately; return how many.

        For ``notify --retry-failed`` (failed rows) and ``--resend-unknown`` (unknown rows).
        ``codes``: only rows whose last SMTP code starts with one of these digits ('530',
        '53', '5'). Each row's history records the re-queue and the state it left.
        """
        wrong = [state for state in states if state not in STATES or state == "sent"]
        if wrong:
            raise InputError(f"cannot re-queue rows in state {wrong[0]!r}")
        for code in codes:
            if not _CODE_PREFIX.fullmatch(code):
                raise InputError(
                    f"{code!r} is not an SMTP reply code or prefix",
                    hint="use e.g. 530, 53x or 5xx",
                )
        n = notices_table
        conditions = [*_ledger_key(policy, version, kind), n.c.state.in_(list(states))]
        if codes:
            code_text = sa.cast(n.c.last_code, sa.String)
            conditions.append(sa.or_(*(code_text.like(f"{code}%") for code in codes)))
        now = _now()
        count = 0
        with self._write() as conn:
            rows = conn.execute(sa.select(n.c.id, n.c.state).where(*conditions)).all()
            for state, group in groupby(sorted(rows, key=lambda row: row.state), lambda r: r.state):
                ids = [row.id for row in group]
                for chunk in _chunks(ids):
                    count += conn.execute(
                        sa.update(n)
                        .where(n.c.id.in_(chunk), n.c.state == state)
                        .values(state="pending", reason=None, updated_at=now)
                    ).rowcount
                    _add_events(conn, chunk, now, "requeued", None, f"was {state}")
        LOG.info("re-queued %d %s rows for %s v%d", count, kind, policy, version)
        return count

    def claim_batch(
        self, policy: str, version: int, kind: str, limit: int, *, retry_failed: bool = False
    ) -> list[NoticeTask]:
        """Atomically move up to ``limit`` pending rows to 'sending' and return them.

        With ``retry_failed``, 'failed-temporary' rows are claimed too. Each claim adds one
        attempt. Rows whose subscriber has since unsubscribed, been removed or left the
        policy become 'cancelled' with a reason instead. An empty list means nothing is left
        to claim (on PostgreSQL, rows claimed by a concurrent run are skipped, not waited for).
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        n, s = notices_table, subscribers_table
        states = ("pending", "failed-temporary") if retry_failed else ("pending",)
        tasks: list[NoticeTask] = []
        with self._write() as conn:
            while len(tasks) < limit:
                candidates = (
                    sa.select(
                        n.c.id,
                        n.c.subscriber_id,
                        n.c.email,
                        s.c.id.label("live_id"),
                        s.c.name,
                        s.c.locale,
                        s.c.unsubscribed_at,
                        _subscribed_to(n.c.subscriber_id, policy).label("subscribed"),
                    )
                    .select_from(n.outerjoin(s, s.c.id == n.c.subscriber_id))
                    .where(*_ledger_key(policy, version, kind), n.c.state.in_(states))
                    .order_by(n.c.id)
                    .limit(limit - len(tasks))
                )
                if self._pg:
                    candidates = candidates.with_for_update(skip_locked=True, of=n)
                rows = conn.execute(candidates).all()
                if not rows:
                    break
                cancel: dict[str, list[int]] = {}
                claim: dict[int, sa.Row[Any]] = {}
                for row in rows:
                    if row.live_id is None:
                        cancel.setdefault("subscriber removed", []).append(row.id)
                    elif row.unsubscribed_at is not None:
                        cancel.setdefault("unsubscribed", []).append(row.id)
                    elif not row.subscribed:
                        cancel.setdefault("no longer subscribed to this policy", []).append(row.id)
                    else:
                        claim[row.id] = row
                now = _now()
                for reason, ids in cancel.items():
                    conn.execute(
                        sa.update(n)
                        .where(n.c.id.in_(ids), n.c.state.in_(states))
                        .values(state="cancelled", reason=reason, updated_at=now)
                    )
                if claim:
                    claimed = conn.execute(
                        sa.update(n)
                        .where(n.c.id.in_(list(claim)), n.c.state.in_(states))
                        .values(
                            state="sending",
                            attempts=n.c.attempts + 1,
                            claimed_at=now,
                            updated_at=now,
                        )
                        .returning(n.c.id, n.c.attempts)
                    ).all()
                    for notice_id, attempts in sorted(claimed):
                        row = claim[notice_id]
                        tasks.append(
                            NoticeTask(
                                id=notice_id,
                                policy=policy,
                                version=version,
                                kind=kind,
                                email=row.email,
                                name=row.name,
                                locale=row.locale,
                                attempts=attempts,
                                subscriber_id=row.live_id,
                            )
                        )
        return tasks

    def mark_sent(
        self,
        notice_id: int,
        *,
        message_id: str,
        smtp_code: int | None,
        smtp_message: str | bytes | None,
        attempts: Sequence[Attempt] = (),
    ) -> bool:
        """Record that the message went out, with its Message-ID and the server's reply.

        Accepted from any state except 'sent': the message did go out, so the ledger must
        say so even if another run reset or cancelled the claim meanwhile. A 'sent' row is
        never changed (False is returned); the first proof stands. ``attempts``: every SMTP
        try (the history; without them one event is made from the reply).
        """
        return self._record(
            _MARK_SENT,
            notice_id,
            "sent",
            smtp_code,
            smtp_message,
            attempts,
            p_message_id=message_id,
        )

    def mark_failed(
        self,
        notice_id: int,
        *,
        permanent: bool,
        smtp_code: int | None,
        smtp_message: str | bytes | None,
        attempts: Sequence[Attempt] = (),
    ) -> bool:
        """Record a failed 'sending' row; False if the row was not 'sending'."""
        state = "failed-permanent" if permanent else "failed-temporary"
        return self.mark_done(
            notice_id,
            state,
            smtp_code=smtp_code,
            smtp_message=smtp_message,
            attempts=attempts,
        )

    def mark_done(
        self,
        notice_id: int,
        state: str,
        *,
        smtp_code: int | None,
        smtp_message: str | bytes | None,
        attempts: Sequence[Attempt] = (),
    ) -> bool:
        """Record the outcome of a 'sending' row that was tried but not sent.

        ``state``: 'failed-temporary', 'failed-permanent', 'unknown' (sent, no reply), or
        'pending' (deferred: refused for a reason not about the recipient; the tries count
        and stay in the history). False if the row was not 'sending'.
        """
        if state not in ("failed-temporary", "failed-permanent", "unknown", "pending"):
            raise ValueError(f"not an outcome of a try: {state!r}")
        event = "deferred" if state == "pending" else state
        return self._record(
            _MARK_DONE, notice_id, event, smtp_code, smtp_message, attempts, p_state=state
        )

    def release_claim(self, notice_id: int) -> bool:
        """Return a 'sending' row to 'pending' when its message was never tried.

        The attempt the claim counted is taken back. False if the row was not 'sending'.
        """
        with self._write(ledger=True) as conn:
            return conn.execute(_RELEASE, {"p_now": _now(), "nid": notice_id}).rowcount == 1

    def _record(
        self,
        statement: sa.Update,
        notice_id: int,
        event: str,
        code: int | None,
        message: str | bytes | None,
        attempts: Sequence[Attempt],
        **params: Any,
    ) -> bool:
        """One prebuilt guarded UPDATE of one row plus its history, in one transaction."""
        now = _now()
        text = _clip(message)
        events = [
            {
                "notice_id": notice_id,
                "at": attempt.at,
                "event": attempt.outcome,
                "code": attempt.code,
                "message": _clip(attempt.message),
            }
            for attempt in attempts
        ] or [{"notice_id": notice_id, "at": now, "event": event, "code": code, "message": text}]
        values = {
            "nid": notice_id,
            "p_now": now,
            "p_code": code,
            "p_text": text,
            "p_retries": max(len(attempts) - 1, 0),
            **params,
        }
        with self._write(ledger=True) as conn:
            changed = conn.execute(statement, values).rowcount == 1
            conn.execute(_INSERT_EVENTS, events)
        return changed

    def ledger_counts(
        self, policy: str, version: int | None = None, kind: str | None = None
    ) -> dict[str, int]:
        """Number of rows in each state (every state present, 0 if none)."""
        n = notices_table
        statement = (
            sa.select(n.c.state, sa.func.count())
            .where(*_ledger_key(policy, version, kind))
            .group_by(n.c.state)
        )
        counts = dict.fromkeys(STATES, 0)
        with self._read() as conn:
            for state, count in conn.execute(statement):
                counts[state] = int(count)
        return counts

    def count_unnotified(self, policy: str, version: int, kind: str) -> int:
        """Active subscribers of ``policy`` still waiting for this (policy, version, kind).

        Those without a row in :data:`FINISHED_STATES`: queued, failed temporarily, or
        subscribed since the last run (not queued yet). An 'unknown' row (sent, no reply)
        is not waiting: only ``notify --resend-unknown`` sends it again. Read-only.
        """
        s, n = subscribers_table, notices_table
        finished = (
            sa.select(sa.literal(1))
            .where(
                *_ledger_key(policy, version, kind),
                n.c.email == s.c.email,
                n.c.state.in_(FINISHED_STATES),
            )
            .exists()
        )
        statement = (
            sa.select(sa.func.count())
            .select_from(s)
            .where(s.c.unsubscribed_at.is_(None), _subscribed_to(s.c.id, policy), ~finished)
        )
        with self._read() as conn:
            return int(conn.execute(statement).scalar_one())

    def iter_notices(
        self,
        policy: str,
        version: int | None = None,
        kind: str | None = None,
        *,
        history: bool = False,
    ) -> Iterator[NoticeRecord]:
        """Ledger rows of ``policy`` ordered by version, kind and address, streamed.

        ``history``: with each row's events (its tries, re-queues and recoveries) in order.
        """
        n, e = notices_table, events_table
        order = [n.c.version, n.c.kind, n.c.email, n.c.id]
        if not history:
            statement = sa.select(n).where(*_ledger_key(policy, version, kind)).order_by(*order)
            for row in self._stream(statement):
                yield NoticeRecord(**row._asdict())
            return
        statement = (
            sa.select(
                n,
                e.c.at.label("event_at"),
                e.c.event,
                e.c.code.label("event_code"),
                e.c.message.label("event_message"),
            )
            .select_from(n.outerjoin(e, e.c.notice_id == n.c.id))
            .where(*_ledger_key(policy, version, kind))
            .order_by(*order, e.c.id)
        )
        columns = [column.name for column in n.columns]
        for _, group in groupby(self._stream(statement), key=lambda row: row.id):
            rows = list(group)
            events = tuple(
                NoticeEvent(row.event_at, row.event, row.event_code, row.event_message)
                for row in rows
                if row.event is not None
            )
            yield NoticeRecord(**{name: getattr(rows[0], name) for name in columns}, history=events)


@dataclass
class _Stored:
    id: int
    name: str | None
    locale: str | None
    unsubscribed_at: datetime | None
    policies: set[str]


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _BATCH):
        yield ids[start : start + _BATCH]


def _add_events(
    conn: Connection,
    ids: list[int],
    at: datetime,
    event: str,
    code: int | None,
    message: str | None,
) -> None:
    """The same history event for each of the rows ``ids``."""
    if ids:
        conn.execute(
            _INSERT_EVENTS,
            [
                {"notice_id": nid, "at": at, "event": event, "code": code, "message": message}
                for nid in ids
            ],
        )


def _prepare(item: SubscriberInput) -> SubscriberInput:
    locale = item.locale.strip() if item.locale else None
    if locale and (len(locale) > 35 or not re.fullmatch(r"[A-Za-z0-9_-]+", locale)):
        raise InputError(f"locale {locale!r} is not valid", hint="use a code such as de or pt_BR")
    policies = tuple(check_policy_slug(p) for p in item.policies) if item.policies else None
    return SubscriberInput(
        email=check_email(item.email),
        name=check_name(item.name),
        locale=locale or None,
        policies=tuple(sorted(set(policies))) if policies else None,
    )


def _subscribe(conn: Connection, subscriber_id: int, policies: set[str], now: datetime) -> None:
    conn.execute(
        sa.insert(subscriptions_table),
        [
            {"subscriber_id": subscriber_id, "policy": p, "created_at": now}
            for p in sorted(policies)
        ],
    )


def _insert(conn: Connection, table: sa.Table) -> Any:
    """An INSERT supporting ON CONFLICT on both backends."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _subscribed_to(subscriber_id: Any, policy: str) -> sa.Exists:
    x = subscriptions_table.alias("x")
    return (
        sa.select(sa.literal(1))
        .where(x.c.subscriber_id == subscriber_id, x.c.policy.in_([ALL_POLICIES, policy]))
        .exists()
    )


def _ledger_key(policy: str, version: int | None, kind: str | None) -> list[Any]:
    n = notices_table
    conditions: list[Any] = [n.c.policy == policy]
    if version is not None:
        conditions.append(n.c.version == version)
    if kind is not None:
        conditions.append(n.c.kind == kind)
    return conditions


def _group_subscribers(rows: Iterable[sa.Row[Any]]) -> Iterator[Subscriber]:
    for _, group in groupby(rows, key=lambda row: row.id):
        members = list(group)
        first = members[0]
        policies = {row.policy for row in members if row.policy is not None}
        yield Subscriber(
            id=first.id,
            email=first.email,
            name=first.name,
            locale=first.locale,
            policies=None if ALL_POLICIES in policies else tuple(sorted(policies)),
            created=first.created_at,
            updated=first.updated_at,
            unsubscribed=first.unsubscribed_at,
        )


def _set_meta(conn: Connection, key: str, value: str) -> None:
    updated = conn.execute(
        sa.update(meta_table).where(meta_table.c.key == key).values(value=value)
    ).rowcount
    if not updated:
        conn.execute(sa.insert(meta_table).values(key=key, value=value))


def _create(conn: Connection) -> None:
    """A new database: the current schema at once."""
    metadata.create_all(conn)
    _set_meta(conn, "created_at", _now().isoformat(timespec="seconds"))
    _set_meta(conn, "created_by", f"redline {__version__}")


def _migrate_v2(conn: Connection) -> None:
    """Version 2: the 'unknown' state, and the notice_events table (the attempts history).

    SQLite cannot change a CHECK constraint, so the notices table is rebuilt (with the
    table definition of version 2; a later change of it needs a frozen copy here).
    """
    n = notices_table
    if conn.dialect.name == "sqlite":
        conn.execute(sa.text("ALTER TABLE notices RENAME TO notices_v1"))
        for index in n.indexes:
            conn.execute(sa.text(f"DROP INDEX {index.name}"))
        n.create(conn)
        columns = ", ".join(column.name for column in n.columns)
        conn.execute(sa.text(f"INSERT INTO notices ({columns}) SELECT {columns} FROM notices_v1"))
        conn.execute(sa.text("DROP TABLE notices_v1"))
    else:
        conn.execute(
            sa.text(
                "ALTER TABLE notices DROP CONSTRAINT ck_notices_state, "
                f"ADD CONSTRAINT ck_notices_state CHECK ({_STATE_CHECK})"
            )
        )
    events_table.create(conn)


_MIGRATIONS = {2: _migrate_v2}
