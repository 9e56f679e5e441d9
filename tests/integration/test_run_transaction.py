"""`Database.run_transaction`: one write transaction on a Core connection, in one pass."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from typing import cast

import pytest
from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.engine import Connection

from core.db import Database
from core.models import Site

SITES = cast(Table, Site.__table__)


def add_site(connection: Connection, code: str) -> int:
    result = connection.execute(
        insert(SITES).values(code=code, name=code, region="city").returning(SITES.c.id)
    )
    return int(result.scalar_one())


async def sites(database) -> list[str]:
    async with database.engine.connect() as connection:
        return list(
            (await connection.execute(select(SITES.c.code).order_by(SITES.c.code))).scalars()
        )


async def test_the_work_is_committed_and_its_answer_returned(database):
    site_id = await database.run_transaction(lambda connection: add_site(connection, "HQ"))
    assert site_id > 0
    assert await sites(database) == ["HQ"]


async def test_an_exception_rolls_back_everything_the_work_wrote(database):
    def half_done(connection: Connection) -> None:
        add_site(connection, "HQ")
        raise LookupError("the second half failed")

    with pytest.raises(LookupError, match="second half"):
        await database.run_transaction(half_done)
    assert await sites(database) == []
    # The connection went back to the pool usable: the next transaction commits.
    await database.run_transaction(lambda connection: add_site(connection, "ZJ"))
    assert await sites(database) == ["ZJ"]


async def test_on_sqlite_the_write_lock_is_held_from_the_begin(sqlite_template, tmp_path):
    """BEGIN IMMEDIATE, as a session's write transaction: before the work writes anything,
    another writer cannot begin (so what the work reads first cannot be overtaken)."""
    path = str(tmp_path / "faultdesk.sqlite3")
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    refused: list[str] = []

    def work(connection: Connection) -> None:
        rival = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            rival.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            refused.append(str(error))
        finally:
            rival.close()
        add_site(connection, "HQ")

    try:
        await database.run_transaction(work)
        assert refused == ["database is locked"]
        assert await sites(database) == ["HQ"]
    finally:
        await database.dispose()


async def test_a_transaction_cancelled_while_it_waits_for_a_lock_writes_nothing_and_frees_its_connection(
    database, database_url, backend
):
    """A lane's renewal is cancelled mid-transaction when its update is done: the work
    waiting for a lock (SQLite's write lock; a row lock on PostgreSQL) is rolled back, its
    connection goes back to the pool, and the cancellation reaches the caller."""
    site_id = await database.run_transaction(lambda connection: add_site(connection, "HQ"))
    rename = update(SITES).where(SITES.c.id == site_id)
    rival = Database(database_url)
    try:
        async with rival.transaction() as session:
            await session.execute(rename.values(name="the rival's"))
            waiting = asyncio.create_task(
                database.run_transaction(
                    lambda connection: connection.execute(rename.values(name="ours"))
                )
            )

            async def blocked() -> bool:
                if backend == "sqlite":  # it has its connection and waits for the write lock
                    return database.engine.pool.checkedout() == 1
                held = await session.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                )
                return held.scalar_one() == 1

            for _ in range(3000):  # another connection's state: nothing to wait on but a look
                if await blocked():
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("the transaction never came to wait for the lock")
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert database.engine.pool.checkedout() == 0
    finally:
        await rival.dispose()
    async with database.engine.connect() as connection:
        name = (await connection.execute(select(SITES.c.name))).scalar_one()
    assert name == "the rival's"
    await database.run_transaction(
        lambda connection: connection.execute(rename.values(name="ours"))
    )
    async with database.engine.connect() as connection:
        assert (await connection.execute(select(SITES.c.name))).scalar_one() == "ours"
