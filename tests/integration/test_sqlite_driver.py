"""SQLite calls run on the event loop's thread, and waiting for the write lock does not block it.

`core.sqlite_driver` replaces aiosqlite's thread per connection: each statement is
called directly. A writer refused because another connection (here a second
process's, played by a plain sqlite3 connection) holds the write lock waits with
asynchronous sleeps: the loop goes on serving everything else meanwhile, and the
write goes through once the lock is free, or fails after the busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from core import sqlite_driver
from core.db import READ_ONLY, Database, _install_sqlite_hooks


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'inline.sqlite3'}")
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE t (x INTEGER)"))
    yield database
    await database.dispose()


def refusals(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Set when the driver is first refused the lock (and goes on waiting for it)."""
    refused = asyncio.Event()
    busy = sqlite_driver._busy

    def noted(error: sqlite3.OperationalError) -> bool:
        if busy(error):
            refused.set()
            return True
        return False

    monkeypatch.setattr(sqlite_driver, "_busy", noted)
    return refused


async def test_statements_run_on_the_loops_thread_without_a_thread_per_connection(db: Database):
    threads = threading.active_count()
    engine = db.engine.execution_options(**{READ_ONLY: True})  # readers: no write lock
    async with engine.connect() as first, engine.connect() as second, engine.connect() as third:
        for number, connection in enumerate((first, second, third)):  # three connections
            assert await connection.scalar(text("SELECT :x"), {"x": number}) == number
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, sqlite_driver.InlineConnection)
        assert threading.active_count() == threads  # aiosqlite: one thread each


async def test_a_writer_waits_for_another_process_lock_without_blocking_the_loop(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    refused = refusals(monkeypatch)
    with closing(sqlite3.connect(tmp_path / "inline.sqlite3", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
        other.execute("INSERT INTO t VALUES (1)")

        async def write() -> None:
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (2)"))

        writing = asyncio.create_task(write())
        await asyncio.wait_for(refused.wait(), timeout=30)
        # Meanwhile the loop serves the rest: a reader sees what is committed.
        async with db.reading() as session:
            assert await session.scalar(text("SELECT count(*) FROM t")) == 0
        assert not writing.done()
        other.execute("COMMIT")
    await asyncio.wait_for(writing, timeout=30)
    async with db.reading() as session:
        assert list(await session.scalars(text("SELECT x FROM t ORDER BY x"))) == [1, 2]


async def test_a_writer_refused_past_the_busy_timeout_fails_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "inline.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x INTEGER)")
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{path}",
        async_creator=sqlite_driver.connector(str(path), busy_timeout=0.05),
    )
    _install_sqlite_hooks(engine)  # BEGIN IMMEDIATE as every write transaction begins
    refused = refusals(monkeypatch)
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            # Refused as a statement is: SQLAlchemy's OperationalError, which the callers
            # (retries, the runner's backoff) know as the database being busy or away.
            with pytest.raises(OperationalError, match="database is locked"):
                async with engine.begin() as connection:
                    await connection.execute(text("INSERT INTO t VALUES (1)"))
            assert refused.is_set()
            other.execute("ROLLBACK")
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM t")) == 0
    finally:
        await engine.dispose()
