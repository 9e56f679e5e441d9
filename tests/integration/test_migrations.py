"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
