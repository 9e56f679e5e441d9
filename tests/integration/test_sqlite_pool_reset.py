"""SQLite connections go back to the pool without a rollback of their own unless one is needed.

The pool's usual rollback on return is one more call to the driver per transaction;
`core.db` rolls back only a connection whose transaction is still open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text

from core.db import Database


async def test_only_a_connection_left_in_a_transaction_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    rollbacks: list[None] = []
    original = aiosqlite.Connection.rollback

    async def counted(self: aiosqlite.Connection) -> Any:
        rollbacks.append(None)
        return await original(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", counted)
    db = Database(f"sqlite:///{tmp_path / 'pool.sqlite3'}")
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
        rollbacks.clear()  # the dialect's first-connect set-up rolls back once
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
        async with db.reading() as session:
            assert await session.scalar(text("SELECT count(*) FROM t")) == 1
        assert rollbacks == []  # committed and returned: nothing rolled back again

        # Returned with a transaction open (below SQLAlchemy's bookkeeping): rolled back.
        connection = await db.engine.connect()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, aiosqlite.Connection)
        await driver.execute("BEGIN IMMEDIATE")
        await driver.execute("INSERT INTO t VALUES (2)")
        assert driver.in_transaction
        await connection.close()
        assert not driver.in_transaction
        assert len(rollbacks) == 1
        async with db.reading() as session:
            assert await session.scalar(text("SELECT count(*) FROM t")) == 1

        # A failed transaction is rolled back by its session, once.
        with pytest.raises(RuntimeError):
            await _failing_insert(db)
        assert len(rollbacks) == 2
        async with db.reading() as session:
            assert await session.scalar(text("SELECT count(*) FROM t")) == 1
    finally:
        await db.dispose()


async def _failing_insert(db: Database) -> None:
    """A service call that writes, then fails before its commit."""
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO t VALUES (3)"))
        raise RuntimeError("the service failed")
