"""Several `faultdesk run` processes on one database, behind a round-robin balancer.

What the multi-process end-to-end tests (tests/e2e/test_several_instances.py) and the
fault benchmark (benchmarks/fault_bench.py) share:

- `Balancer`: an HTTP server in the calling process that passes each webhook POST to the
  next instance in turn, as nginx's default `upstream` does (a refused connection goes
  to the next instance; when none answers, 502 and Telegram posts the update again);
- `Instance`/`Fleet`: `python -m bot.cli run` child processes in webhook mode, all
  registering the balancer's URL, each listening on its own port; started, stopped with
  SIGTERM, killed with SIGKILL, paused with SIGSTOP;
- `ThrowawayPostgres`: a PostgreSQL server of its own (scripts/pg-throwaway.sh), so a
  test can stop and restart it without touching anyone else's server;
- `seed_wave`: an office whose tickets were reported a moment ago under a policy whose
  acknowledge target is seconds long, so their escalation steps fall due while the
  instances run, on the wall clock;
- `Deliveries`: what the emulator delivered, per expected message, with the time of each
  delivery, to count duplicates, missing messages and lateness.

Every wait is on an event or a condition; the timeouts are safety nets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from core.clock import FrozenClock
from core.db import Database
from core.enums import Impact, OutboxStatus
from core.migrate import upgrade_async
from core.models import DueWork, OutboxLane, OutboxMessage, Person, ProcessedUpdate, Ticket
from core.models import Instance as InstanceRow
from core.services import Helpdesk
from core.sla.deadlines import ESCALATION
from core.sla.policy import load_policy
from core.unit_of_work import Core
from demo.seed import seed_bulk_staff
from sandbox import BotApiEmulator, SentMessage, SimulatedPerson

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAFleetTokenForFaultdeskInstances-01"
SECRET = "fleet-webhook-secret"
WEBHOOK_PATH = "/telegram/webhook"
RUNNING = re.compile(r"faultdesk: @\S+ running on")
START_TIMEOUT = 300.0  # seconds: a safety net for a busy, shared 2-core machine


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def until(
    condition: Callable[[], Awaitable[bool] | bool],
    *,
    timeout: float = 120.0,  # noqa: ASYNC109 - a safety net, never what orders events
    message: str = "condition not reached",
    every: float = 0.02,
) -> None:
    """Poll a condition (a database or another process has no event to await)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(message)
        await asyncio.sleep(every)


# --- the balancer ------------------------------------------------------------------------------


class _LoopbackProxy:
    """An aiohttp server on a free loopback port passing requests on with one client session."""

    def __init__(self) -> None:
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def routes(self, app: web.Application) -> None:
        """Add the proxy's routes."""
        raise NotImplementedError

    async def _listen(self, app: web.Application) -> str:
        """Serve `app` on a free loopback port; its base URL."""
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self._session = aiohttp.ClientSession()
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop listening."""
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()


class Balancer(_LoopbackProxy):
    """Round-robin reverse proxy for webhook POSTs; each update goes to the next instance."""

    def __init__(self) -> None:
        super().__init__()
        self.backends: list[str] = []  # http://127.0.0.1:PORT/telegram/webhook
        self.passed: dict[str, int] = {}  # updates each backend answered 2xx
        self.refused = 0  # connection failures (a dead instance), passed on to the next
        self._next = 0

    def routes(self, app: web.Application) -> None:
        """Webhook POSTs only."""
        app.router.add_post(WEBHOOK_PATH, self._forward)

    async def start(self) -> str:
        """Listen on a free loopback port; the URL Telegram is to post to."""
        self.url = await self._listen(web.Application()) + WEBHOOK_PATH
        return self.url

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {
            key: value
            for key, value in request.headers.items()
            if key.lower() in {"content-type", "x-telegram-bot-api-secret-token"}
        }
        assert self._session is not None
        for _ in range(len(self.backends)):
            backend = self.backends[self._next % len(self.backends)]
            self._next += 1
            try:
                async with self._session.post(
                    backend, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
                ) as answer:
                    payload = await answer.read()
                    if 200 <= answer.status < 300:
                        self.passed[backend] = self.passed.get(backend, 0) + 1
                    return web.Response(
                        status=answer.status,
                        body=payload,
                        content_type=answer.content_type or "application/json",
                    )
            except (aiohttp.ClientConnectionError, TimeoutError):
                self.refused += 1  # like nginx's proxy_next_upstream on error
        return web.Response(status=502, text="no instance answered")


class ApiTap(_LoopbackProxy):
    """A pass-through between one instance and the emulator noting each message it sent.

    The emulator cannot tell its clients apart; the tap can, so a test knows which
    instance delivered a message (the one to kill: it holds the rest of its claims).
    """

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target  # the emulator's base URL
        self.sent: set[tuple[int, int]] = set()  # (chat id, message id) of each message
        self.in_flight = 0  # requests passed on whose answers have not come back yet
        self.held = 0  # requests kept back since `hold`
        self._open = asyncio.Event()
        self._open.set()

    def routes(self, app: web.Application) -> None:
        """Every Bot API method."""
        app.router.add_route("*", "/{tail:.*}", self._forward)

    async def start(self) -> str:
        """Listen on a free loopback port; the Bot API base URL to give the instance."""
        self.url = await self._listen(web.Application(client_max_size=60 * 1024**2))
        return self.url

    def hold(self) -> None:
        """Pass nothing more on: later requests wait here, and never reach Telegram."""
        self._open.clear()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {
            key: value
            for key, value in request.headers.items()
            if key.lower() not in {"host", "content-length", "transfer-encoding", "connection"}
        }
        if not self._open.is_set():
            self.held += 1
            await self._open.wait()  # until the process is killed and the tap stops
        self.in_flight += 1
        try:
            return await self._pass_on(request, body, headers)
        finally:
            self.in_flight -= 1

    async def _pass_on(
        self, request: web.Request, body: bytes, headers: dict[str, str]
    ) -> web.StreamResponse:
        assert self._session is not None
        async with self._session.request(
            request.method,
            self.target + request.path_qs,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=120),
        ) as answer:
            payload = await answer.read()
            content_type = answer.headers.get("Content-Type", "application/json")
        if content_type.startswith("application/json"):
            self._note(payload)
        return web.Response(
            status=answer.status, body=payload, headers={"Content-Type": content_type}
        )

    def _note(self, payload: bytes) -> None:
        with contextlib.suppress(ValueError):
            result = json.loads(payload).get("result")
            for message in result if isinstance(result, list) else [result]:
                if isinstance(message, dict) and "message_id" in message and "chat" in message:
                    self.sent.add((int(message["chat"]["id"]), int(message["message_id"])))


# --- the instances ----------------------------------------------------------------------------


def child_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """The environment without the caller's FAULTDESK_* and proxies, plus `settings`."""
    cleared = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("FAULTDESK_") and key.lower() not in cleared
    }
    env["PYTHONPATH"] = str(ROOT)  # this worktree's code, whatever the caller imports
    env.update(settings)
    return env


class Instance:
    """One `faultdesk run` process in webhook mode; its output lines are kept."""

    def __init__(
        self, name: str, runtime: str, settings: Mapping[str, str], folder: Path, tap: ApiTap
    ) -> None:
        self.name = name
        self.tap = tap
        self.runtime = runtime
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"
        self.settings = {
            **settings,
            "FAULTDESK_RUNTIME": runtime,
            "FAULTDESK_WEBHOOK_LISTEN": f"127.0.0.1:{self.port}",
            "FAULTDESK_API_BASE_URL": tap.url,
        }
        self.folder = folder
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        """Start the process (in its own scratch folder: no .env is read)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=self.folder,
            env=child_environment(self.settings),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))
            self._changed.set()
        self._changed.set()

    def text(self) -> str:
        """Everything it wrote."""
        return "\n".join(self.lines)

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        """True until the process has ended."""
        return self.process is not None and self.process.returncode is None

    async def running(self) -> None:
        """Wait for its "running" line (it is serving its webhook then)."""
        deadline = time.monotonic() + START_TIMEOUT
        while not any(RUNNING.search(line) for line in self.lines):
            if self._reader is not None and self._reader.done():
                raise AssertionError(f"{self.name} ended before serving:\n{self.text()}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name} not serving in {START_TIMEOUT} s:\n{self.text()}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1.0)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, whatever it holds."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGCONT)  # a paused process dies as well
            self.process.kill()

    def pause(self) -> None:
        """SIGSTOP: the process holds its connections and does nothing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after `pause`."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    async def stop(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109 - a safety net
        """SIGTERM as systemd stops a service (SIGKILL if it hangs); the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        if self._reader is not None:
            await self._reader
        return code


@dataclass
class Fleet:
    """N instances on one database and one emulator, behind one balancer."""

    emulator: BotApiEmulator
    database_url: str
    folder: Path
    runtimes: Sequence[str]
    policy_file: Path | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    balancer: Balancer = field(default_factory=Balancer)
    instances: list[Instance] = field(default_factory=list)
    born: int = 0  # instances started so far (names them web-1, web-2...)
    retired: list[Instance] = field(default_factory=list)  # replaced by `heal`

    async def _new_instance(self, runtime: str) -> Instance:
        self.born += 1
        name = f"web-{self.born}"
        tap = ApiTap(self.emulator.base_url)
        await tap.start()
        return Instance(name, runtime, self.settings(), self.folder / name, tap)

    def settings(self) -> dict[str, str]:
        """The environment every instance gets (the operator's unit file)."""
        values = {
            "FAULTDESK_BOT_TOKEN": TOKEN,
            "FAULTDESK_API_BASE_URL": self.emulator.base_url,
            "FAULTDESK_DATABASE_URL": self.database_url,
            "FAULTDESK_WEBHOOK_URL": self.balancer.url,
            "FAULTDESK_WEBHOOK_SECRET": SECRET,
            "FAULTDESK_HEALTH_LISTEN": "off",
            "FAULTDESK_DEFAULT_LANGUAGE": "en",
            "FAULTDESK_SHUTDOWN_GRACE": "5",
            "FAULTDESK_LOG_LEVEL": "WARNING",
        }
        if self.policy_file is not None:
            values["FAULTDESK_POLICY_FILE"] = str(self.policy_file)
        values.update(self.extra)
        return values

    async def start(self) -> None:
        """Start the balancer and every instance; return once all are serving."""
        await self.balancer.start()
        for runtime in self.runtimes:
            instance = await self._new_instance(runtime)
            self.instances.append(instance)
            self.balancer.backends.append(instance.url)
            await instance.start()
        await asyncio.gather(*(instance.running() for instance in self.instances))

    async def heal(self) -> None:
        """Start a fresh instance (same runtime, next name) in place of each dead one."""
        started = []
        for index, old in enumerate(self.instances):
            if old.alive():
                continue
            await old.stop()  # collect its exit and output
            self.retired.append(old)
            instance = await self._new_instance(old.runtime)
            self.instances[index] = instance
            self.balancer.backends[index] = instance.url
            await instance.start()
            started.append(instance)
        await asyncio.gather(*(instance.running() for instance in started))

    async def stop(self) -> None:
        """SIGTERM every live instance, then stop the balancer."""
        await asyncio.gather(
            *(instance.stop() for instance in self.instances if instance.process is not None)
        )
        for instance in self.instances + self.retired:
            await instance.tap.stop()
        await self.balancer.stop()

    def sender_of(self, message: SentMessage) -> Instance:
        """The instance that sent `message` (the tap in front of it saw the answer)."""
        for instance in self.instances:
            if (message.chat_id, message.message_id) in instance.tap.sent:
                return instance
        raise AssertionError(f"no instance sent message {message.message_id}")

    def output(self, lines: int = 20) -> str:
        """The last `lines` lines of each instance's output, for a failing assertion."""
        return "\n".join(
            f"--- {i.name} ({i.runtime})\n" + "\n".join(i.lines[-lines:]) for i in self.instances
        )


# --- a PostgreSQL server of one's own -----------------------------------------------------


class ThrowawayPostgres:
    """A server started by scripts/pg-throwaway.sh in its own folder; stoppable, restartable."""

    def __init__(self, folder: Path | None = None) -> None:
        # Directly in the temporary directory: the server runs as the postgres account,
        # which must reach its folder (pytest's own temporary folders are private).
        self.folder = folder or Path(tempfile.gettempdir()) / f"faultdesk-pg-{uuid.uuid4().hex[:8]}"
        self.url = ""

    def _script(self, command: str) -> str:
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / "pg-throwaway.sh"), command, str(self.folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg-throwaway.sh {command} failed:\n{done.stderr}")
        return done.stdout

    async def start(self) -> str:
        """initdb and start; the server URL (database postgres)."""
        printed = await asyncio.to_thread(self._script, "start")
        self.url = printed.strip().split("=", 1)[1]
        return self.url

    async def halt(self) -> None:
        """Stop it at once (immediate mode: every connection is cut, as in a crash)."""
        await asyncio.to_thread(self._script, "stop")

    async def resume(self) -> None:
        """Start the same data directory again on the same port."""
        await asyncio.to_thread(self._script, "resume")

    async def remove(self) -> None:
        """Stop it and delete its folder."""
        await self.halt()
        await asyncio.to_thread(shutil.rmtree, self.folder, True)


async def create_database(server_url: str, name: str) -> str:
    """A new database on the server, with the schema migrated; its URL.

    Its commits are durable (`synchronous_commit` on), as on a production server: the
    throw-away server is started without (scripts/pg-throwaway.sh, for the suite's
    speed), and a server stopped in immediate mode then forgets transactions it had
    acknowledged, claims of outbox rows among them, which no sender can make up for.
    """
    db = Database(server_url)
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        await conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    await db.dispose()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    await upgrade_async(url)
    return url


async def drop_database(server_url: str, name: str) -> None:
    """Drop a database made by `create_database` (its connections are cut)."""
    db = Database(server_url)
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await db.dispose()


# --- the wave ---------------------------------------------------------------------------------

ACKNOWLEDGE_RULE = re.compile(r'(clock = "acknowledge"\n(?:severity = 1\n)?within = )"1h"')


def wave_policy(folder: Path, acknowledge: timedelta) -> Path:
    """The packaged policy with every acknowledge target `acknowledge` long, counted 7x24.

    Acknowledging is the one clock that starts when a ticket is reported, so the ladder's
    steps (80 % reminder, 100 % pages and level raise, 150 % managers) fall due seconds
    after the reports, whatever the day of the week.
    """
    source = (ROOT / "core" / "sla" / "default_policy.toml").read_text(encoding="utf-8")
    seconds = int(acknowledge.total_seconds())
    changed, count = ACKNOWLEDGE_RULE.subn(rf'\1"{seconds}s"\nmeasure_in = "7x24"', source)
    if count != 2:
        raise RuntimeError(f"the packaged policy's acknowledge targets changed ({count} found)")
    # The level-1 rule said measure_in already; keep one measure_in per rule.
    changed = changed.replace('measure_in = "7x24"\nmeasure_in = "7x24"', 'measure_in = "7x24"')
    path = folder / "wave_policy.toml"
    path.write_text(changed, encoding="utf-8")
    load_policy(str(path))  # it validates, or the test stops here
    return path


@dataclass
class Office:
    """The bulk office the waves are reported in: staff with a PC each, and engineers."""

    staff_chat_ids: tuple[int, ...]
    device_tags: tuple[str, ...]
    engineer_chat_ids: tuple[int, ...]
    used: int = 0  # staff who have reported already (each wave takes the next ones)

    def take(self, count: int) -> list[tuple[int, str]]:
        """The next `count` staff who have not reported yet: (Telegram id, their PC's tag)."""
        if self.used + count > len(self.staff_chat_ids):
            raise ValueError("the office has no staff left to report")
        taken = range(self.used, self.used + count)
        self.used += count
        return [(self.staff_chat_ids[n], self.device_tags[n]) for n in taken]


async def seed_office(database_url: str, *, staff: int, engineers: int) -> Office:
    """One site with `staff` registered staff (a PC each) and `engineers` engineers."""
    db = Database(database_url)
    helpdesk = Helpdesk(Core(db, FrozenClock(datetime.now(UTC)), load_policy()))
    bulk = await seed_bulk_staff(helpdesk, staff=staff, engineers=engineers)
    await db.dispose()
    return Office(bulk.staff_telegram_ids, bulk.device_tags, bulk.engineer_telegram_ids)


@dataclass(frozen=True)
class Expected:
    """One message a ticket of the wave must bring its engineer."""

    ticket_id: int
    chat_id: int
    kind: str  # "card" (the dispatch), "reminder" (80 %), "page" (100 %)
    due_at: datetime


@dataclass
class Wave:
    """Tickets reported at one instant; the messages they must bring, and when."""

    reported_at: datetime
    expected: list[Expected]

    @property
    def ticket_ids(self) -> list[int]:
        """The wave's tickets."""
        return sorted({item.ticket_id for item in self.expected})

    @property
    def chats(self) -> set[int]:
        """The engineers' chats the wave writes to."""
        return {item.chat_id for item in self.expected}

    def last_due(self) -> datetime:
        """When the wave's last step falls due."""
        return max(item.due_at for item in self.expected)


async def report_wave(
    database_url: str, policy_file: Path, office: Office, *, tickets: int
) -> Wave:
    """`tickets` faults reported now by the office's next staff, each dispatched at once.

    The expected reminder and page times are read back from the escalation steps the core
    scheduled, so they come from the policy, not from this file.
    """
    reporters = office.take(tickets)
    db = Database(database_url)
    reported_at = datetime.now(UTC)
    helpdesk = Helpdesk(Core(db, FrozenClock(reported_at), load_policy(str(policy_file))))
    ticket_ids = []
    for telegram_id, tag in reporters:
        reporter = await helpdesk.people.find_by_telegram(telegram_id)
        assert reporter is not None
        ticket = await helpdesk.tickets.report_fault(
            reporter.id,
            symptom=f"Wave fault at {tag}: the screen stays black",
            impact=Impact.DEGRADED,
            contact_phone="13800000000",
            asset_tag=tag,
        )
        ticket_ids.append(int(ticket.id))
    expected: list[Expected] = []
    async with helpdesk.core.reading() as session:
        chat_of: dict[int, int] = {}
        for ticket_id in ticket_ids:
            found = await session.get(Ticket, ticket_id)
            assert found is not None and found.assignee_id is not None, "not dispatched"
            engineer = await session.get(Person, found.assignee_id)
            assert engineer is not None and engineer.chat_id is not None
            chat_of[ticket_id] = int(engineer.chat_id)
            expected.append(Expected(ticket_id, chat_of[ticket_id], "card", reported_at))
        steps = await session.scalars(
            select(DueWork).where(DueWork.kind == ESCALATION, DueWork.ticket_id.in_(ticket_ids))
        )
        for row in steps:
            at = float(row.payload.get("at", 0))
            if row.payload.get("clock") != "acknowledge" or row.due_at is None or at > 1.0:
                continue
            assert row.ticket_id is not None
            kind = "reminder" if at < 1.0 else "page"
            expected.append(Expected(row.ticket_id, chat_of[row.ticket_id], kind, utc(row.due_at)))
    await db.dispose()
    if sum(item.kind == "page" for item in expected) != tickets:
        raise AssertionError("the policy did not schedule one acknowledge page per ticket")
    return Wave(reported_at, expected)


# --- counting at the emulator -----------------------------------------------------------------

TICKET = re.compile(r"Ticket #(\d+)\b")


def kind_of(message: SentMessage) -> tuple[int, str] | None:
    """(ticket, kind) of a dispatch card, reminder or page as the engineer reads it."""
    found = TICKET.search(message.text)
    if found is None:
        return None
    ticket = int(found.group(1))
    if message.text.startswith("📣 New dispatch for you"):
        return ticket, "card"
    if message.text.startswith(f"⏰ Ticket #{ticket}:"):
        return ticket, "reminder"
    if message.text.startswith(f"🚨 Ticket #{ticket}: the acceptance deadline"):
        return ticket, "page"
    return None


@dataclass
class Deliveries:
    """What the emulator delivered for each expected message: the messages, oldest first."""

    found: dict[Expected, list[SentMessage]]

    def delivered(self, kind: str) -> dict[Expected, int]:
        """How often each expected message of `kind` was delivered."""
        return {item: len(sent) for item, sent in self.found.items() if item.kind == kind}

    def duplicates(self) -> int:
        """Deliveries beyond the first, over every expected message."""
        return sum(max(0, len(sent) - 1) for sent in self.found.values())

    def missing(self, kind: str) -> list[Expected]:
        """Expected messages of `kind` that never arrived."""
        return [item for item, count in self.delivered(kind).items() if count == 0]

    def lateness(self, kinds: Sequence[str] = ("reminder", "page")) -> list[float]:
        """Seconds from each step's due time to its first delivery."""
        return [
            (sent[0].date - item.due_at).total_seconds()
            for item, sent in self.found.items()
            if sent and item.kind in kinds
        ]

    def first(self, item: Expected) -> SentMessage | None:
        """The first delivery of an expected message."""
        sent = self.found[item]
        return sent[0] if sent else None

    def complete(self) -> bool:
        """Every card and every page has arrived at least once."""
        return not self.missing("card") and not self.missing("page")


def deliveries(emulator: BotApiEmulator, wave: Wave) -> Deliveries:
    """Each expected message's deliveries, read from the emulator's chats (not the outbox)."""
    found: dict[Expected, list[SentMessage]] = {item: [] for item in wave.expected}
    index = {(item.ticket_id, item.kind, item.chat_id): item for item in wave.expected}
    state = emulator.bot_state(TOKEN)
    for chat_id in wave.chats:
        log = state.chats.get(chat_id)
        for message in log.bot_messages.values() if log is not None else ():
            seen = kind_of(message)
            item = index.get((*seen, chat_id)) if seen is not None else None
            if item is not None:
                found[item].append(message)
    for sent in found.values():
        sent.sort(key=lambda message: message.date)
    return Deliveries(found)


def utc(value: datetime) -> datetime:
    """An aware UTC datetime (SQLite gives naive ones back)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- a world and its faults ---------------------------------------------------------------------

# Steps fall due 12 s (reminder, 80 %) and 15 s (page, 100 %) after a wave is reported.
ACKNOWLEDGE = timedelta(seconds=15)
OUTAGE = 3.0  # seconds PostgreSQL is down in the restart scenario, as in the issue


@dataclass
class World:
    """The running instances and everything they talk to."""

    emulator: BotApiEmulator
    fleet: Fleet
    office: Office
    policy_file: Path
    database_url: str
    people: dict[int, SimulatedPerson]
    postgres: ThrowawayPostgres | None = None
    # The harness's own connections, reused by every poll (`running_world` disposes of
    # them): an engine per poll would connect anew 50 times a second.
    db: Database = field(init=False)

    def __post_init__(self) -> None:
        self.db = Database(self.database_url)

    async def heal(self) -> None:
        """Replace any instance an earlier scenario killed."""
        await self.fleet.heal()

    async def count(self, model: type, *where: Any) -> int:
        """Rows of `model` matching `where`, read over the harness's own connections."""
        async with self.db.reading() as session:
            found = await session.scalar(select(func.count()).select_from(model).where(*where))
            return int(found or 0)

    async def all_handled(self) -> None:
        """Wait until Telegram has posted every queued update and each one was handled."""
        state = self.emulator.bot_state(TOKEN)

        async def handled() -> bool:
            if state.queue:
                return False
            return await self.count(ProcessedUpdate, ProcessedUpdate.done_at.is_(None)) == 0

        await until(handled, timeout=120, message=f"updates left unhandled\n{self.fleet.output()}")


@asynccontextmanager
async def running_world(
    folder: Path,
    database_url: str,
    runtimes: Sequence[str],
    postgres: ThrowawayPostgres | None = None,
    *,
    staff: int = 120,
    engineers: int = 8,
    extra: Mapping[str, str] | None = None,
) -> AsyncIterator[World]:
    """Seed the office, start the emulator and the instances; stop everything afterwards."""
    policy_file = wave_policy(folder, ACKNOWLEDGE)
    office = await seed_office(database_url, staff=staff, engineers=engineers)
    async with BotApiEmulator() as emulator:
        emulator.register_bot(TOKEN, username="faultdesk_bot", first_name="faultdesk")
        people = {}
        for telegram_id in office.staff_chat_ids + office.engineer_chat_ids:
            person = emulator.person(telegram_id, f"Person {telegram_id}", "en")
            person.opened_chat_before()
            people[telegram_id] = person
        fleet = Fleet(
            emulator, database_url, folder, runtimes, policy_file=policy_file, extra=extra or {}
        )
        world = World(emulator, fleet, office, policy_file, database_url, people, postgres)
        try:
            await fleet.start()
            yield world
        finally:
            await fleet.stop()
            await world.db.dispose()
        emulator.assert_no_violations()


@dataclass
class Outcome:
    """How a wave came through a fault."""

    wave: Wave
    seen: Deliveries
    fault_at: datetime  # the kill, or PostgreSQL going down
    fault_over_at: datetime  # the kill again, or PostgreSQL back
    # When the killed instance's last lease (an outbox row, a chat, due work) ran out.
    leases_until: datetime | None = None

    def _after(self) -> list[float]:
        """Seconds from the fault's end to each page first delivered after it."""
        return [
            (sent.date - self.fault_over_at).total_seconds()
            for item in self.wave.expected
            if item.kind == "page"
            and (sent := self.seen.first(item)) is not None
            and sent.date > self.fault_over_at
        ]

    def takeover(self) -> float:
        """Seconds from the fault's end to the last page delivered after it (0: none was)."""
        return max(self._after(), default=0.0)

    def first_taken_over(self) -> float:
        """Seconds from the fault's end to the first page delivered after it (0: none was)."""
        return min(self._after(), default=0.0)

    def leases_ran_out(self) -> float | None:
        """Seconds from the kill until the killed instance's last lease ran out."""
        if self.leases_until is None:
            return None
        return (self.leases_until - self.fault_over_at).total_seconds()


async def wave_settled(world: World, wave: Wave) -> bool:
    """Nothing of the wave is waiting in the outbox any more (sent, or given up)."""
    if datetime.now(UTC) <= wave.last_due():
        return False
    pending = await world.count(
        OutboxMessage,
        OutboxMessage.ticket_id.in_(wave.ticket_ids),
        OutboxMessage.status == OutboxStatus.PENDING,
    )
    return pending == 0


async def first_page_out(world: World, wave: Wave) -> None:
    """Wait until the emulator has delivered the wave's first page."""
    await until(
        lambda: any(deliveries(world.emulator, wave).delivered("page").values()),
        timeout=90,
        message=f"no page of the wave was delivered\n{world.fleet.output()}",
    )


async def cards_out(world: World, wave: Wave) -> None:
    """Wait until every dispatch card of the wave was delivered (the quiet before it)."""
    await until(
        lambda: not deliveries(world.emulator, wave).missing("card"),
        timeout=90,
        message=f"the dispatch cards were not delivered\n{world.fleet.output()}",
    )


async def delivered_and_settled(world: World, wave: Wave) -> Deliveries:
    """Wait until every card and page has arrived and the outbox holds nothing of the wave."""
    await until(
        lambda: deliveries(world.emulator, wave).complete(),
        timeout=300,
        message=f"the wave was not delivered\n{world.fleet.output()}",
    )
    # A row sent but not recorded goes out again when its lease runs out: wait for that.
    await until(lambda: wave_settled(world, wave), timeout=300, message="the outbox never settled")
    return deliveries(world.emulator, wave)


async def kill_mid_wave(world: World, *, tickets: int, pause_others: bool = True) -> Outcome:
    """`kill -9` of the instance sending a wave, while it holds the rest of the wave.

    Once the instance has delivered the wave's first page, the tap in front of it lets
    no more requests through to Telegram; when every message Telegram answered it has
    been recorded as sent, it is killed. So it dies holding claimed messages and steps,
    but not in the one window nobody can decide (a message out whose answer was lost
    with the process: README, several instances), which no design can make exactly-once.

    `pause_others`: the other instances are paused (SIGSTOP) while the wave falls due, so
    the one killed holds all of it. Not on SQLite: a process paused inside a write
    transaction would hold the file's lock and stop everyone.
    """
    # What the taps passed before this wave (an earlier test's album and its notices in
    # the same chats) is not the wave's business.
    before = {id(instance.tap): set(instance.tap.sent) for instance in world.fleet.instances}
    wave = await report_wave(world.database_url, world.policy_file, world.office, tickets=tickets)
    await cards_out(world, wave)
    # Paused between Telegram's answer and its record for longer than a lease, an
    # instance would see its card sent again by another (the undecidable case, README):
    # pause none of them before what they sent of the wave so far is recorded.
    await until(
        lambda: every_answer_recorded(world, wave, before),
        timeout=60,
        every=0.2,
        message=f"the dispatch cards were not recorded as sent\n{world.fleet.output()}",
    )
    paused = world.fleet.instances[1:] if pause_others else []
    if paused:
        await pause_outside_transactions(world, paused)
    try:
        await first_page_out(world, wave)
        seen = deliveries(world.emulator, wave)
        first = min(
            (sent[0] for item, sent in seen.found.items() if item.kind == "page" and sent),
            key=lambda message: message.date,
        )
        victim = world.fleet.sender_of(first)
        victim.tap.hold()
        await until(
            lambda: answered_sends_recorded(
                world, victim.tap, wave, since=before.get(id(victim.tap), set())
            ),
            timeout=60,
            message=f"{victim.name} did not record the messages Telegram answered",
        )
        victim.kill()
        killed_at = datetime.now(UTC)
    finally:
        for instance in paused:
            instance.resume()
    leases_until = await leases_held_by(world, victim.pid)
    seen = await delivered_and_settled(world, wave)
    return Outcome(wave, seen, killed_at, killed_at, leases_until)


async def leases_held_by(world: World, pid: int) -> datetime | None:
    """When the last lease of the instance with process id `pid` runs out: its outbox
    rows, its chats and its due work (leases are taken in the instance's name)."""
    owner = select(InstanceRow.id).where(InstanceRow.pid == pid).scalar_subquery()
    statements = (
        select(func.max(OutboxMessage.lease_until)).where(
            OutboxMessage.lease_owner.in_(owner), OutboxMessage.status == OutboxStatus.PENDING
        ),
        select(func.max(OutboxLane.until)).where(OutboxLane.owner.in_(owner)),
        select(func.max(DueWork.lease_until)).where(DueWork.lease_owner.in_(owner)),
    )
    async with world.db.reading() as session:
        moments = [await session.scalar(statement) for statement in statements]
    found = [utc(moment) for moment in moments if moment is not None]
    return max(found, default=None)


# A session inside a transaction this long (seconds) belongs to a paused process.
STUCK_IN_TRANSACTION = 0.5


async def pause_outside_transactions(world: World, instances: Sequence[Instance]) -> None:
    """SIGSTOP `instances` at a moment none of them is inside a database transaction.

    Paused mid-transaction, a process would hold its row locks (a chat's lane among
    them) until resumed, and the instance left running would wait on them instead of
    sending the wave. The server tells: a paused process's session sits "idle in
    transaction"; then every instance is resumed and paused again a moment later.
    """
    if not world.database_url.startswith("postgresql"):  # no sessions to look at
        for instance in instances:
            instance.pause()
        return
    for _ in range(50):
        for instance in instances:
            instance.pause()
        deadline = time.monotonic() + 2 * STUCK_IN_TRANSACTION
        stuck = False
        while time.monotonic() < deadline and not stuck:
            await asyncio.sleep(STUCK_IN_TRANSACTION / 5)  # a session's age, nothing to await
            stuck = await sessions_stuck_in_transaction(world.db) > 0
        if not stuck:
            return
        for instance in instances:
            instance.resume()
        await asyncio.sleep(STUCK_IN_TRANSACTION / 5)  # let them finish what they were doing
    raise AssertionError("the instances could not be paused outside a transaction")


async def sessions_stuck_in_transaction(db: Database) -> int:
    """Sessions of the database inside a transaction for over STUCK_IN_TRANSACTION s."""
    async with db.reading() as session:
        count = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND state LIKE 'idle in transaction%'"
                " AND state_change < clock_timestamp() - make_interval(secs => :age)"
            ),
            {"age": STUCK_IN_TRANSACTION},
        )
    return int(count or 0)


async def every_answer_recorded(
    world: World, wave: Wave, before: Mapping[int, set[tuple[int, int]]]
) -> bool:
    """`answered_sends_recorded` for every instance's tap (`before`: by tap, what it passed
    before the wave)."""
    for instance in world.fleet.instances:
        since = before.get(id(instance.tap), set())
        if not await answered_sends_recorded(world, instance.tap, wave, since=since):
            return False
    return True


async def answered_sends_recorded(
    world: World, tap: ApiTap, wave: Wave, *, since: set[tuple[int, int]] | None = None
) -> bool:
    """Nothing is on its way through `tap`, and every message Telegram answered it to the
    wave's engineers (after `since`, what it had passed before) is recorded as sent."""
    if tap.in_flight:
        return False
    earlier = since or set()
    answered = {
        (chat, message)
        for chat, message in tap.sent
        if chat in wave.chats and (chat, message) not in earlier
    }
    if not answered:
        return True
    chat = func.coalesce(OutboxMessage.chat_id, Person.chat_id)
    async with world.db.reading() as session:
        rows = await session.execute(
            select(chat, OutboxMessage.message_id)
            .outerjoin(Person, Person.id == OutboxMessage.recipient_id)
            .where(OutboxMessage.status == OutboxStatus.SENT, chat.in_(wave.chats))
        )
        recorded = {(int(c), int(m)) for c, m in rows.all() if m is not None}
    return answered <= recorded


async def restart_postgres_mid_wave(
    world: World, *, tickets: int, outage: float = OUTAGE
) -> Outcome:
    """PostgreSQL stops for `outage` seconds once a wave's first page is out, then starts."""
    assert world.postgres is not None, "a world on a server of its own"
    wave = await report_wave(world.database_url, world.policy_file, world.office, tickets=tickets)
    await first_page_out(world, wave)
    await world.postgres.halt()
    down_at = datetime.now(UTC)
    await asyncio.sleep(outage)  # the fault's length, not a wait for anything
    await world.postgres.resume()
    back_at = datetime.now(UTC)
    seen = await delivered_and_settled(world, wave)
    return Outcome(wave, seen, down_at, back_at)
