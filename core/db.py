"""Engine and transactions: SQLite (WAL, `core.sqlite_driver`) by default, PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState
from sqlalchemy.util import await_only, greenlet_spawn

from core import sqlite_driver

DEFAULT_SQLITE_PATH = "faultdesk.sqlite3"
T = TypeVar("T")

# Execution option that marks a session as read-only, so SQLite can open a
# deferred transaction instead of taking the write lock up front.
READ_ONLY = "faultdesk_read_only"


def normalize_url(url: str) -> URL:
    """Turn a user-given database URL into one with an async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(f"unsupported database: {backend!r} (use sqlite or postgresql)")
    return parsed


def default_url(path: str | Path = DEFAULT_SQLITE_PATH) -> str:
    """The embedded SQLite file URL."""
    return f"sqlite+aiosqlite:///{Path(path)}"


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for writers.

    pysqlite's own transaction handling begins lazily and upgrades read locks to
    write locks mid-transaction, which deadlocks two writers; taking the write
    lock at BEGIN makes concurrent writers queue for it instead (`core.sqlite_driver`
    waits without holding up the event loop).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(
        dbapi_connection: Any, record: ConnectionPoolEntry, state: PoolResetState
    ) -> None:
        # Nearly every connection comes back with its transaction committed or rolled
        # back; the pool's usual rollback then is one more call to the driver per
        # transaction for nothing. Roll back only what is still open.
        if state.terminate_only:
            return
        driver = record.driver_connection
        if getattr(driver, "in_transaction", True):
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        sql = "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
        driver = conn.connection.driver_connection
        if isinstance(driver, sqlite_driver.InlineConnection):
            # Straight on the connection: a quarter of a short transaction's cost went to
            # running BEGIN as a statement through SQLAlchemy. Its errors are wrapped
            # as SQLAlchemy wraps a statement's (the write lock not had in time).
            try:
                await_only(driver.begin(sql))
            except sqlite3.Error as error:
                raise DBAPIError.instance(sql, None, error, sqlite3.Error) from error
        else:
            conn.exec_driver_sql(sql)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for `url` with the settings each backend needs."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        options: dict[str, Any]
        if database and database != ":memory:":
            # A folder that cannot be made yet (a volume not mounted) fails at connect,
            # where start-up waits for it like any unreachable database.
            with contextlib.suppress(OSError):
                Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
            # Calls on the event loop's thread, not a thread of aiosqlite's own.
            options = {"async_creator": sqlite_driver.connector(os.path.abspath(database))}
        else:  # in memory: aiosqlite's thread, waiting in SQLite itself
            options = {"connect_args": {"timeout": sqlite_driver.BUSY_TIMEOUT}}
        engine = create_async_engine(parsed, echo=echo, pool_reset_on_return=None, **options)
        _install_sqlite_hooks(engine)
        return engine
    return create_async_engine(parsed, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


class Database:
    """Owns the engine and opens sessions; one write transaction per service call."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: commits on success, rolls back on any error."""
        async with self._writer() as session, session.begin():
            yield session

    async def run_transaction(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in one write transaction on a Core connection; its answer.

        For the short transactions of Core statements run around every update (the
        chat's lane, the update's finish, a dialog's step): a session's transaction
        passes into SQLAlchemy's greenlet and back for its begin, each statement, its
        commit and its close; here `work` runs synchronously in one pass, which cost
        half the CPU for a transaction of three statements. An exception `work` raises
        rolls the transaction back and is raised here.

        The connection is checked out, used and given back inside that one pass, on the
        sync engine: an `AsyncConnection` would close itself in a task of its own (so that
        a cancellation cannot cut the close short), one more task and turn of the event
        loop for every transaction. A cancellation that reaches the work while it waits
        (for a lock) unwinds it in the same pass: rolled back, the connection given back.
        """
        return await greenlet_spawn(_within_transaction, self.engine.sync_engine, work)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction (never takes SQLite's write lock)."""
        async with self._reader() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _within_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.begin() as connection:
        return work(connection)
