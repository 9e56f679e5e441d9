"""Shared fixtures: a frozen clock, a virtual real time, the default policy, and a fresh
database per test on each backend.

Integration tests run on SQLite always and on PostgreSQL when FAULTDESK_TEST_PG_URL names a
server (scripts/test.sh starts a throw-away one). The schema comes from the Alembic
migrations, built once per session and cloned (SQLite) or truncated (PostgreSQL) per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

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


T = TypeVar("T")


class VirtualTime:
    """Real seconds for tests: a monotonic reading and sleeps that end only when time is moved.

    `run(work)` lets every task run as far as it can; when all of them wait (in `sleep`,
    or on an event) and no I/O is in flight, it moves time to the earliest sleeper and
    wakes it, one sleeper at a time. `moving()` does the same in the background while a
    test body runs. Time never moves while something is still working, so a busy machine
    changes how long a test takes, never what it sees. Database transactions count as
    I/O while the `virtual_time` fixture is active; wrap any other I/O (HTTP to the
    emulator) in `io()`. Pass the instance as a monotonic clock (`SendLimiter(clock=...)`,
    `AcceleratedClock(monotonic=...)`) and `sleep` as a sleep.
    """

    # Loop iterations with no I/O begun or in flight after which every task is waiting;
    # an await chain between two I/O calls is a handful of iterations, not this many.
    SPINS = 100
    # Fewer will do when the loop shows its queue of ready callbacks empty this many times
    # in a row: then nothing can run until a sleeper, an event or I/O wakes it.
    QUIET = 3
    # I/O operations at one instant beyond which a task must be looping without waiting
    # (a loop that finds nothing to do and looks again at once): fail, do not hang.
    BUSY = 10_000

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._in_flight = 0
        self._begun = 0
        self._begun_before_now = 0  # I/O operations begun before time last moved
        self._idle = asyncio.Event()
        self._idle.set()
        self._slept = asyncio.Event()  # a sleeper arrived (for `moving`)

    def __call__(self) -> float:
        """The current reading, in seconds."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Wait until time has been moved `seconds` on."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        self._slept.set()
        await future

    @asynccontextmanager
    async def io(self) -> AsyncIterator[None]:
        """Real I/O: time stands still until it is done."""
        self._in_flight += 1
        self._begun += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def settle(self, within: float = 120.0) -> None:
        """Return once no task can go on before time moves (`within`: real seconds, a safety net)."""
        deadline = time.monotonic() + within
        while True:
            busy = self._begun - self._begun_before_now
            assert busy <= self.BUSY, f"busy loop: {busy} I/O operations at {self.now:.6f} s"
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"tasks still working after {within} s"
            if self._in_flight:
                # Not wait_for: on 3.11 it swallows a cancel that comes as the event is set.
                async with asyncio.timeout(remaining):
                    await self._idle.wait()
            begun = self._begun
            ready = getattr(asyncio.get_running_loop(), "_ready", None)  # CPython's loop
            quiet = 0
            for _ in range(self.SPINS):
                await asyncio.sleep(0)
                quiet = quiet + 1 if ready is not None and not ready else 0
                if quiet >= self.QUIET or self._in_flight:
                    break
            if not self._in_flight and self._begun == begun:
                return

    def _next_sleeper(self) -> asyncio.Future[None] | None:
        while self._sleepers and self._sleepers[0][2].done():  # cancelled waits
            heapq.heappop(self._sleepers)
        return self._sleepers[0][2] if self._sleepers else None

    def _wake_next(self, until: float) -> None:
        wake, _, future = heapq.heappop(self._sleepers)
        assert wake <= until, f"still waiting at {wake:.3f} s"
        if wake > self.now:
            self.now = wake
            self._begun_before_now = self._begun
        future.set_result(None)

    async def run(self, work: Awaitable[T], *, until: float = 3600.0) -> T:
        """Run `work` to its end, moving time whenever nothing else can happen."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                await self.settle()
                if task.done():
                    return task.result()
                assert self._next_sleeper(), "deadlock: every task waits for an event nobody sets"
                self._wake_next(until)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    @asynccontextmanager
    async def moving(self, *, until: float = 3600.0) -> AsyncIterator[None]:
        """Move time in the background, as `run` does, while the block runs."""

        async def keep_moving() -> None:
            try:
                while True:
                    await self.settle()
                    if self._next_sleeper() is None:
                        self._slept.clear()
                        await self._slept.wait()
                        continue
                    self._wake_next(until)
            except Exception as error:  # fail the sleepers, or the test would wait forever
                for *_, future in self._sleepers:
                    if not future.done():
                        future.set_exception(error)
                raise

        keeper = asyncio.create_task(keep_moving(), name="virtual-time")
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    def sleeping(self) -> int:
        """How many waits are pending."""
        return sum(1 for *_, future in self._sleepers if not future.done())


@pytest.fixture
def virtual_time(monkeypatch: pytest.MonkeyPatch) -> VirtualTime:
    """Virtual real time; database transactions count as I/O, so time stands still during them."""
    virtual = VirtualTime()
    for name in ("transaction", "reading"):
        original = getattr(Database, name)

        def tracked(self: Database, _original: Any = original) -> Any:
            @asynccontextmanager
            async def bracketed() -> AsyncIterator[Any]:
                async with virtual.io(), _original(self) as session:
                    yield session

            return bracketed()

        monkeypatch.setattr(Database, name, tracked)
    return virtual


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
