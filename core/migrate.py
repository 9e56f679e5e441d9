"""Run the Alembic migrations programmatically (`faultdesk db upgrade`), and tell where a
database stands against them without touching it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.engine import make_url
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


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against this code's migrations."""

    current: frozenset[str]  # the revisions the database records (empty: none)
    heads: frozenset[str]  # this code's latest revisions
    known: frozenset[str]  # every revision this code knows
    has_tables: bool  # any table at all (a database without revisions may still be foreign)

    @property
    def up_to_date(self) -> bool:
        """The database is at this code's head."""
        return self.current == self.heads

    @property
    def empty(self) -> bool:
        """Nothing in it yet: `faultdesk db upgrade` makes the schema."""
        return not self.current and not self.has_tables

    @property
    def newer(self) -> bool:
        """A newer faultdesk migrated it (a revision this code does not know)."""
        return bool(self.current - self.known)


@lru_cache(maxsize=1)
def script_directory() -> ScriptDirectory:
    """The project's migration scripts (read once: parsing them takes a moment)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def known_revisions() -> frozenset[str]:
    """Every revision this code has a migration for."""
    return frozenset(script.revision for script in script_directory().walk_revisions())


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    """Read the recorded revisions (without changing anything)."""

    def read(connection: Connection) -> tuple[frozenset[str], bool]:
        tables = inspect(connection).get_table_names()
        current = MigrationContext.configure(connection).get_current_heads()
        return frozenset(current), bool(tables)

    async with engine.connect() as connection:
        current, has_tables = await connection.run_sync(read)
    heads = frozenset(script_directory().get_heads())
    # Walking every revision is only needed to tell "behind" from "newer".
    known = heads if current == heads else known_revisions()
    return SchemaStatus(current, heads, known, has_tables)


def head_revision() -> str:
    """The revision the code expects the database to be at (heads joined by commas)."""
    return ",".join(sorted(script_directory().get_heads()))


@dataclass(frozen=True)
class SchemaState:
    """A database's revision against the code's head, as one string each (for people)."""

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
    """`schema_status` as one revision string each (the operator's view)."""
    status = await schema_status(engine)
    return SchemaState(
        current=",".join(sorted(status.current)) or None,
        head=",".join(sorted(status.heads)),
        known=not status.newer,
    )
