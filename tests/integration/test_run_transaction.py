"""`Database.run_transaction`: one write transaction on a Core connection, in one pass."""

from __future__ import annotations

import shutil
import sqlite3
from typing import cast

import pytest
from sqlalchemy import Table, insert, select
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
