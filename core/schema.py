"""Schema pieces beyond the tables: the audit log's append-only triggers and its head row.

The initial migration runs the same statements; `create_schema` is for tests and
tools that build a throw-away database straight from the models.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from core.audit import GENESIS_HASH, HEAD_ID
from core.models import AuditHead, Base

SQLITE_AUDIT_TRIGGERS = (
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
)

POSTGRES_AUDIT_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
)


def audit_trigger_statements(dialect: str) -> tuple[str, ...]:
    """The trigger DDL for a dialect."""
    return SQLITE_AUDIT_TRIGGERS if dialect == "sqlite" else POSTGRES_AUDIT_TRIGGERS


async def create_schema(engine: AsyncEngine) -> None:
    """Create every table, the audit triggers and the audit head row (no Alembic)."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        for statement in audit_trigger_statements(engine.dialect.name):
            await conn.exec_driver_sql(statement)
        await conn.execute(insert(AuditHead).values(id=HEAD_ID, last_id=0, last_hash=GENESIS_HASH))


async def drop_schema(engine: AsyncEngine) -> None:
    """Drop every table (tests)."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
