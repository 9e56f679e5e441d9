"""What the benchmark scripts share: progress lines, percentiles, scratch databases and the
helpdesk over them, upkeep after a bulk load, statement counts, and the backend options.

Each script keeps its own measuring code; nothing here measures anything.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url

from bot.bootstrap import bootstrap
from bot.settings import Settings
from core.clock import Clock
from core.db import Database
from core.enums import Role
from core.migrate import upgrade_async
from core.services import Helpdesk
from core.sla.policy import Policy

PG_URL_VARIABLE = "FAULTDESK_TEST_PG_URL"  # the variable the tests use
BACKENDS = ("sqlite", "postgresql")


def progress_printer(bench: str) -> Callable[[str], None]:
    """A function printing `[bench] message` progress lines on stderr (figures go to stdout)."""

    def progress(message: str) -> None:
        print(f"[{bench}] {message}", file=sys.stderr, flush=True)

    return progress


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile, `share` from 0 to 1 (0.99 for p99); NaN when there are none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# --- scratch databases ---------------------------------------------------------------------------


async def server_statement(pg_url: str, statement: str) -> None:
    """Run one statement on the PostgreSQL server outside a transaction (CREATE DATABASE)."""
    db = Database(pg_url)
    try:
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(statement)
    finally:
        await db.dispose()


@asynccontextmanager
async def scratch_database(backend: str, pg_url: str | None, label: str) -> AsyncIterator[str]:
    """A fresh database migrated by Alembic, removed afterwards; its URL.

    SQLite: a file in a temporary folder. PostgreSQL: a database
    `faultdesk_bench_<label>_<random>` created on the server `pg_url` names (the role needs
    CREATEDB) and dropped at the end.
    """
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"faultdesk-bench-{label}-") as directory:
            url = f"sqlite:///{Path(directory) / f'{label}.sqlite3'}"
            await upgrade_async(url)
            yield url
        return
    assert pg_url is not None
    name = f"faultdesk_bench_{label}_{uuid.uuid4().hex[:8]}"
    await server_statement(pg_url, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        await upgrade_async(url)
        yield url
    finally:
        await server_statement(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def helpdesk_over(
    db: Database, *, clock: Clock | None = None, policy: Policy | None = None
) -> Helpdesk:
    """The helpdesk over a benchmark's open database, built by the composition root."""
    return bootstrap(Settings(database_url=db.url), clock=clock, policy=policy, database=db)


async def settle(db: Database) -> float:
    """After a bulk load: VACUUM ANALYZE (as autovacuum would) / fold the SQLite WAL back.

    Returns the seconds it took.
    """
    began = time.perf_counter()
    async with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            # Outside any transaction (the engine's hooks would BEGIN IMMEDIATE). faultdesk
            # never runs ANALYZE on SQLite, so neither does a benchmark.
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - began


class StatementCounter:
    """Counts statements sent to the database (BEGIN and SAVEPOINT included)."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        self._engine = db.engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        """Stop counting."""
        event.remove(self._engine, "before_cursor_execute", self._seen)


# --- bulk-loaded rows ----------------------------------------------------------------------------


@dataclass
class PersonRows:
    """Rows of the person table for one bulk insert: ids from 1, Telegram ids from a base.

    Every row has the same columns, as an executemany insert needs.
    """

    telegram_base: int
    created_at: datetime
    with_phones: bool = False  # 139 and the id, as a contact number
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self, role: Role, site_id: int | None, name: str, *, department_id: int | None = None
    ) -> int:
        """One more person (no backup yet); the new id."""
        person_id = len(self.rows) + 1
        self.rows.append(
            {
                "id": person_id,
                "name": name,
                "role": role,
                "site_id": site_id,
                "department_id": department_id,
                "phone": f"139{person_id:08d}" if self.with_phones else None,
                "telegram_user_id": self.telegram_base + person_id,
                "chat_id": self.telegram_base + person_id,
                "backup_id": None,
                "active": True,
                "created_at": self.created_at,
            }
        )
        return person_id


# --- the command line: which databases, which parts --------------------------------------------------------------------


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """`--backend sqlite|postgresql|both` and `--pg-url` (default $FAULTDESK_TEST_PG_URL)."""
    parser.add_argument(
        "--backend",
        choices=(*BACKENDS, "both"),
        help="which databases to measure (default: both with a server, else sqlite)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(PG_URL_VARIABLE),
        help=f"PostgreSQL server URL (default ${PG_URL_VARIABLE}); scratch databases are"
        " created on it and dropped",
    )


def parts_to_run(parser: argparse.ArgumentParser, listed: str, known: Sequence[str]) -> set[str]:
    """The comma-separated `--parts` as a set; an error naming any part not `known`."""
    parts = {part.strip() for part in listed.split(",") if part.strip()}
    unknown = parts - set(known)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    return parts


def backends_to_measure(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The backends `--backend` names (both when a server is named); an error without one."""
    if args.backend is None:
        args.backend = "both" if args.pg_url else "sqlite"
    if args.backend != "sqlite" and not args.pg_url:
        parser.error(f"PostgreSQL needs --pg-url or {PG_URL_VARIABLE}")
    return list(BACKENDS) if args.backend == "both" else [args.backend]
