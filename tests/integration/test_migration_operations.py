"""Migration 0004 on every backend: the journal keeps its rows as bot 0, and it goes both ways."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from core.db import Database
from core.migrate import alembic_config, head_revision, schema_state


async def _alembic(command: str, url: str, revision: str) -> None:
    from alembic import command as commands

    await asyncio.to_thread(getattr(commands, command), alembic_config(url), revision)


async def test_the_journal_keeps_its_rows_across_the_upgrade_and_the_downgrade(database_url):
    try:
        await _downgrade_and_upgrade(database_url)
    finally:
        # PostgreSQL's test database is shared by the session: leave it at head.
        await _alembic("upgrade", database_url, "head")


async def _downgrade_and_upgrade(database_url: str) -> None:
    await _alembic("downgrade", database_url, "0002")
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO processed_update (update_id, received_at, done_at)"
                " VALUES (41, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), (42, CURRENT_TIMESTAMP, NULL)"
            )
        )
    await database.dispose()

    await _alembic("upgrade", database_url, "head")
    database = Database(database_url)
    async with database.engine.begin() as conn:
        rows = (
            await conn.execute(text("SELECT bot_id, update_id FROM processed_update ORDER BY 2"))
        ).all()
        assert [tuple(row) for row in rows] == [(0, 41), (0, 42)]
        # Another bot's update 41 is a row of its own now.
        await conn.execute(
            text(
                "INSERT INTO processed_update (bot_id, update_id, received_at)"
                " VALUES (7, 41, CURRENT_TIMESTAMP)"
            )
        )
    state = await schema_state(database.engine)
    assert state.up_to_date and state.current == head_revision()
    await database.dispose()

    await _alembic("downgrade", database_url, "0002")
    await _alembic("upgrade", database_url, "head")
    database = Database(database_url)
    async with database.engine.connect() as conn:
        assert (await conn.scalar(text("SELECT count(*) FROM instance"))) == 0
    await database.dispose()
