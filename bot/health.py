"""Health, readiness and metrics over HTTP, in polling and webhook mode alike.

A small aiohttp server on `FAULTDESK_HEALTH_LISTEN` (127.0.0.1:9464 by default; "off"
turns it off), started before anything else so an orchestrator sees the process while
it waits for the database or the Bot API:

- `GET /healthz`: 200 `ok` while the process runs (liveness).
- `GET /readyz`: 200 when every check passes, else 503; the JSON body names each check
  and, under `failed`, those that failed:
  `serving` (start-up finished: database migrated, Bot API reached, updates arriving),
  `database` (SELECT 1 answers), `migrations` (the schema is at the code's revision),
  `due_work_runner` and `outbox_sender` (each made progress within
  `FAULTDESK_READY_HEARTBEAT_MAX` seconds), `pages` (no escalation page has waited to
  go out longer than `FAULTDESK_READY_PAGE_AGE_MAX` seconds).
- `GET /metrics`: Prometheus' text format (`bot.metrics`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web
from sqlalchemy import text

from bot.metrics import CONTENT_TYPE, Metrics
from bot.webhook import parse_listen
from core import monitoring
from core.migrate import schema_state
from core.unit_of_work import Core

log = logging.getLogger(__name__)

OFF: Final = ("off", "none", "")
WORKERS: Final = ("due_work_runner", "outbox_sender")
CHECK_TIMEOUT: Final = 5.0  # seconds one database check may take before it counts as failed


@dataclass
class Check:
    """One readiness check's result."""

    ok: bool
    detail: str


@dataclass
class Health:
    """What readiness looks at: the start-up stage, worker heartbeats and the database."""

    core: Core
    heartbeat_max: float = 60.0
    page_age_max: float = 600.0
    stage: str = "starting"
    serving: bool = False
    monotonic: Callable[[], float] = time.monotonic
    beats: dict[str, float] = field(default_factory=dict)

    def beat(self, worker: str) -> None:
        """A background worker made progress."""
        self.beats[worker] = self.monotonic()

    def heartbeat_ages(self) -> dict[str, float]:
        """Seconds since each worker's last beat (only workers that have beaten)."""
        now = self.monotonic()
        return {worker: max(0.0, now - at) for worker, at in self.beats.items()}

    async def checks(self) -> dict[str, Check]:
        """Run every check; none raises."""
        results: dict[str, Check] = {
            "serving": Check(self.serving, "serving" if self.serving else self.stage)
        }
        results["database"] = await self._guarded(self._database)
        if results["database"].ok:
            results["migrations"] = await self._guarded(self._migrations)
        else:
            results["migrations"] = Check(False, "the database cannot be read")
        ages = self.heartbeat_ages()
        for worker in WORKERS:
            age = ages.get(worker)
            if age is None:
                results[worker] = Check(False, "not started")
            elif age > self.heartbeat_max:
                results[worker] = Check(False, f"no progress for {age:.0f} s")
            else:
                results[worker] = Check(True, f"last progress {age:.1f} s ago")
        if results["database"].ok:
            results["pages"] = await self._guarded(self._pages)
        else:
            results["pages"] = Check(False, "the database cannot be read")
        return results

    async def _guarded(self, check: Callable[[], Awaitable[Check]]) -> Check:
        try:
            return await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT)
        except TimeoutError:
            return Check(False, f"no answer within {CHECK_TIMEOUT:.0f} s")
        except Exception as error:
            return Check(False, f"{type(error).__name__}: {error}"[:300])

    async def _database(self) -> Check:
        async with self.core.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return Check(True, self.core.db.dialect)

    async def _migrations(self) -> Check:
        state = await schema_state(self.core.db.engine)
        if state.up_to_date:
            return Check(True, f"at {state.head}")
        return Check(False, f"database at {state.current or 'no revision'}, code at {state.head}")

    async def _pages(self) -> Check:
        oldest = await monitoring.oldest_unsent_page(self.core)
        if oldest is None:
            return Check(True, "no page waiting")
        age = max(0.0, (self.core.clock.now() - oldest).total_seconds())
        ok = age <= self.page_age_max
        return Check(ok, f"oldest unsent page waiting {age:.0f} s")


class HealthServer:
    """Serves /healthz, /readyz and /metrics on its own address."""

    def __init__(self, listen: str, health: Health, metrics: Metrics) -> None:
        self.health = health
        self.metrics = metrics
        self.host, self.port = parse_listen(listen)
        self._runner: web.AppRunner | None = None

    @staticmethod
    def enabled(listen: str) -> bool:
        """False when the setting turns the server off."""
        return listen.strip().lower() not in OFF

    def app(self) -> web.Application:
        """The aiohttp application (exposed for aiohttp's test client)."""
        application = web.Application()
        application.router.add_get("/healthz", self._alive)
        application.router.add_get("/readyz", self._ready)
        application.router.add_get("/metrics", self._metrics)
        return application

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one; `port` tells which)."""
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        addresses = runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        log.info(
            "health and metrics on http://%s:%s (/healthz /readyz /metrics)", self.host, self.port
        )

    async def stop(self) -> None:
        """Stop listening."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _alive(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _ready(self, _request: web.Request) -> web.Response:
        checks = await self.health.checks()
        failed = [name for name, check in checks.items() if not check.ok]
        body: dict[str, Any] = {
            "status": "not ready" if failed else "ready",
            "failed": failed,
            "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()},
        }
        return web.json_response(body, status=503 if failed else 200)

    async def _metrics(self, _request: web.Request) -> web.Response:
        await self.metrics.refresh(self.health.core, self.health.heartbeat_ages())
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})
