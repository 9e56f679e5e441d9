"""Run the Alembic migrations programmatically (`faultdesk db upgrade`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the project's migrations and `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (blocking; env.py runs its own loop)."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Same as `upgrade`, from inside a running event loop (runs in a worker thread)."""
    await asyncio.to_thread(upgrade, url, revision)


def head_revision() -> str:
    """The revision the code expects the database to be at."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return ",".join(sorted(heads))


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema is against the code's migrations."""

    current: str | None  # None: never migrated
    head: str
    known: bool  # False: the database is at a revision this code does not have (newer)

    @property
    def up_to_date(self) -> bool:
        """The database is at the code's head revision."""
        return self.current == self.head

    @property
    def behind(self) -> bool:
        """`faultdesk db upgrade` would change the database."""
        return self.known and not self.up_to_date


async def schema_state(engine: AsyncEngine) -> SchemaState:
    """Read the database's Alembic revision and compare it with the code's head."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    def read(connection: Connection) -> tuple[str, ...]:
        return tuple(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        heads = await connection.run_sync(read)
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    current = ",".join(sorted(heads)) or None
    known = all(_has_revision(script, revision) for revision in heads)
    return SchemaState(current=current, head=head_revision(), known=known)


def _has_revision(script: Any, revision: str) -> bool:
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except (CommandError, RevisionError):
        return False
