"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.migrate import upgrade
from core.models import Base


async def test_migrated_schema_matches_the_models(database):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with database.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_the_audit_chain_starts_at_the_genesis_head(database):
    async with database.engine.connect() as conn:
        row = (await conn.exec_driver_sql("SELECT id, last_id, last_hash FROM audit_head")).one()
    assert tuple(row) == (1, 0, "0" * 64)


def test_people_registered_from_a_group_are_told_in_their_private_chat_after_upgrade(tmp_path):
    path = tmp_path / "old.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url, "0002")
    insert = (
        "INSERT INTO person (id, name, role, telegram_user_id, chat_id, active, created_at) "
        "VALUES (?, ?, ?, ?, ?, 1, '2026-03-02 01:00:00.000000')"
    )
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(insert, (1, "Li Na", "staff", 1001, -1002223334445))  # from a group
        db.execute(insert, (2, "Wang Wei", "engineer", 2001, 2001))
        db.execute(insert, (3, "Zhao Lei", "engineer", 2002, None))  # never wrote yet

    upgrade(url, "0005_chat_groups")

    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT id, chat_id FROM person ORDER BY id").fetchall()
    assert rows == [(1, 1001), (2, 2001), (3, None)]
