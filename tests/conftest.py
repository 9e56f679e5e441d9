"""Shared fixtures: a frozen clock, the default policy, and a fresh database per test on each backend.

Integration tests run on SQLite always and on PostgreSQL when FAULTDESK_TEST_PG_URL names a
server (scripts/test.sh starts a throw-away one). The schema comes from the Alembic
migrations, built once per session and cloned (SQLite) or truncated (PostgreSQL) per test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.audit import GENESIS_HASH
from core.clock import FrozenClock
from core.db import Database
from core.migrate import upgrade
from core.models import Base
from core.services import Helpdesk
from core.sla.policy import Policy, load_policy
from core.unit_of_work import Core

PG_URL = os.environ.get("FAULTDESK_TEST_PG_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]

# Monday 2 March 2026, 09:00 in Shanghai: an ordinary working morning.
MONDAY_9AM = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def run_in_thread(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion even when the caller is inside an event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def pytest_report_header() -> str:
    return f"faultdesk database backends: {', '.join(BACKENDS)}"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY_9AM)


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database made once per session by the migrations; tests truncate it."""
    assert PG_URL is not None
    name = f"faultdesk_test_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        db = Database(PG_URL)
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(sql)
        await db.dispose()

    run_in_thread(admin(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    run_in_thread(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "faultdesk.sqlite3"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_database")
    db = Database(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        await conn.execute(
            text("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, :h)"),
            {"h": GENESIS_HASH},
        )
    await db.dispose()
    yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.fixture
def helpdesk(database: Database, clock: FrozenClock, policy: Policy) -> Helpdesk:
    return Helpdesk(Core(database, clock, policy))


@dataclass
class World:
    """A small office: one city site, its people and a registered PC."""

    site_id: int
    department_id: int
    reporter_id: int
    engineer_id: int
    backup_id: int
    dispatcher_id: int
    manager_id: int
    asset_tag: str


@pytest.fixture
async def world(helpdesk: Helpdesk) -> World:
    from core.assets import AssetRecord
    from core.enums import AssetKind, Role

    people = helpdesk.people
    site = await people.create_site(
        code="HQ", name="Head office", region="city", address="1 Main St"
    )
    dept = await people.create_department(site_id=site.id, name="Finance")
    # Everyone here reads English, as if they had chosen it; Chinese flows set zh_CN.
    reporter = await people.create_person(
        name="Li Na",
        role=Role.STAFF,
        site_id=site.id,
        department_id=dept.id,
        phone="13800000001",
        telegram_user_id=1001,
        language="en",
    )
    engineer = await people.create_person(
        name="Wang Wei", role=Role.ENGINEER, site_id=site.id, telegram_user_id=2001, language="en"
    )
    backup = await people.create_person(
        name="Zhao Lei", role=Role.ENGINEER, site_id=site.id, telegram_user_id=2002, language="en"
    )
    await people.set_backup(engineer.id, backup.id)
    dispatcher = await people.create_person(
        name="Chen Jing",
        role=Role.DISPATCHER,
        site_id=site.id,
        telegram_user_id=3001,
        language="en",
    )
    manager = await people.create_person(
        name="Liu Yang", role=Role.MANAGER, site_id=site.id, telegram_user_id=4001, language="en"
    )
    await helpdesk.assets.register(
        AssetRecord(
            tag="PC-0001",
            kind=AssetKind.PC,
            site_code="HQ",
            location="Room 301",
            brand="Lenovo",
            model="M720",
        )
    )
    # Equal loads: auto-dispatch picks the lowest id, Wang Wei.
    return World(
        site.id, dept.id, reporter.id, engineer.id, backup.id, dispatcher.id, manager.id, "PC-0001"
    )
