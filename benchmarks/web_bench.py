"""Measured figures for the web console's board: its JSON and its first screen.

    python -m benchmarks.web_bench [--tickets 5000] [--runs 20] [--backend ...] [--no-browser]

A scratch database is bulk-loaded with `--tickets` open tickets (5 000) over 20 sites, as
report_fault and auto-dispatch leave them: four SLA clocks and their ladder steps each
(the same loader as benchmarks/sla_bench.py). Then, per backend:

- the board's JSON as the page asks for it first (`?limit=100`: the first screen's rows,
  with the counts over every ticket) for the administrator (every open ticket): `--runs`
  GETs of /web/api/board through the console's aiohttp application with a signed
  initData, wall time per request (the queries, the rows and the JSON encoding), median
  and worst, and the body's size, and the CPU time the request took in this process (the
  server and the SQLite thread; the load average is printed, since wall times stretch on
  a busy machine): read whole before every request (a person changed, as on the first
  load: every ticket is placed again and the page's rows read), after a ticket change
  before every request (the changed tickets are placed again and patched in), unchanged
  (the board kept for the current change marker is served), and every ticket at once
  without paging, read whole; the same for one site's dispatcher (a site's share);
- with Chromium (Debian's package, as the browser tests use; `--no-browser` skips it): the
  Mini App opened in headless Chromium on a phone-sized window, the time from navigation
  to the first screen drawn (the page's own `consoleReadyAt`: /api/me, /api/board and the
  first 100 rows rendered), median and worst over `--loads` loads (5), with the board read
  whole before each load (a person changed) and unchanged.

Every figure is measured on the run that prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from benchmarks.common import (
    add_backend_options,
    backends_to_measure,
    helpdesk_over,
    progress_printer,
    scratch_database,
    settle,
)
from benchmarks.sla_bench import SWEEP_NOW, bulk_load
from bot.i18n import I18n
from bot.web.auth import sign_init_data
from bot.web.server import INIT_HEADER, WebConfig, WebConsole, WebServer
from core.clock import FrozenClock
from core.db import Database
from core.enums import Role
from core.models import Person
from core.sla.policy import load_policy

TOKEN = "123456:BENCH-token-for-the-web-console-abcdef"
PAGE_QUERY = "?limit=100"  # what the page asks for first (console.js: PAGE rows)
say = progress_printer("web_bench")


def init_data(telegram_id: int) -> str:
    user = json.dumps({"id": telegram_id, "first_name": "B", "language_code": "en"})
    return sign_init_data({"auth_date": str(int(time.time())), "user": user}, TOKEN)


Client = TestClient[web.Request, web.Application]


async def time_json(
    client: Client,
    telegram_id: int,
    runs: int,
    change: Callable[[], Awaitable[object]] | None,
    query: str = PAGE_QUERY,
) -> tuple[list[float], list[float], int, int, float]:
    """Seconds per GET /web/api/board`query`, the body's bytes, the tickets listed and the
    first (warming) request's seconds; with `change`, something is changed before each
    request (untimed), so none is served from the board kept for the previous marker."""
    headers = {INIT_HEADER: init_data(telegram_id)}
    seconds: list[float] = []
    cpu: list[float] = []
    size = count = 0
    for _ in range(runs + 1):
        if change is not None:
            await change()
        began = time.perf_counter()
        began_cpu = time.process_time()
        response = await client.get("/web/api/board" + query, headers=headers)
        body = await response.read()
        elapsed = time.perf_counter() - began
        cpu.append(time.process_time() - began_cpu)
        assert response.status == 200, body[:200]
        seconds.append(elapsed)
        size = len(body)
        count = len(json.loads(body)["tickets"])
    return seconds[1:], cpu[1:], size, count, seconds[0]  # the first warms the caches


def chromium() -> Any:
    """Headless Chromium on a phone-sized window, as the browser tests drive it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=360,780"):
        options.add_argument(argument)
    return webdriver.Chrome(
        service=Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver"),
        options=options,
    )


def first_screen(driver: Any, url: str) -> float:
    """Milliseconds from navigation to the first screen drawn (the page's own mark)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    driver.get(url)
    ready = WebDriverWait(driver, 60).until(
        lambda d: d.execute_script("return window.consoleReadyAt || null")
    )
    return float(ready)


async def time_first_screen(
    url: str, loads: int, before: Callable[[], Awaitable[object]] | None
) -> list[float]:
    """The first screen's milliseconds over `loads` loads (after one warming load); with
    `before`, something is changed before each load, so the board is read whole."""
    driver = await asyncio.to_thread(chromium)
    times: list[float] = []
    try:
        for _ in range(loads + 1):
            if before is not None:
                await before()
            times.append(await asyncio.to_thread(first_screen, driver, url))
    finally:
        await asyncio.to_thread(driver.quit)
    return times[1:]


async def measure(backend: str, args: argparse.Namespace) -> None:
    now = SWEEP_NOW  # mid-afternoon on a working day, as the sweep benchmark loads it
    async with scratch_database(backend, args.pg_url, "web") as url:
        db = Database(url)
        try:
            say(f"{backend}: loading {args.tickets:,} open tickets")
            policy = load_policy()
            await bulk_load(
                db,
                policy,
                tickets=args.tickets,
                due=min(args.tickets // 10, 500),
                now=now,
                horizon=timedelta(0),
                seed=2026,
            )
            await settle(db)
            helpdesk = helpdesk_over(db, clock=FrozenClock(now), policy=policy)
            async with helpdesk.core.reading() as session:
                admin_row = (
                    await session.execute(
                        select(Person.id, Person.telegram_user_id).where(Person.role == Role.ADMIN)
                    )
                ).one()
                admin_id, admin = admin_row
                dispatcher = await session.scalar(
                    select(Person.telegram_user_id)
                    .where(Person.role == Role.DISPATCHER, Person.site_id.is_not(None))
                    .order_by(Person.id)
                    .limit(1)
                )
            assert admin is not None and dispatcher is not None
            console = WebConsole(helpdesk, I18n(default="en"), WebConfig(bot_token=TOKEN))
            root = web.Application()
            console.mount(root)
            levels = itertools.cycle((2, 3))

            async def change() -> object:
                # A dispatcher-level change through the service the chat uses.
                return await helpdesk.tickets.set_severity(1, next(levels), actor_id=admin_id)

            async def other_change() -> object:
                # A change to a person, not a ticket (a login link issued): the board
                # cannot be patched and is read whole, as on the first load.
                return await console.console.issue_login(admin_id, valid_for=timedelta(minutes=5))

            cases: tuple[tuple[str, Callable[[], Awaitable[object]] | None, str], ...] = (
                (
                    "read whole (first load, or a person/site/device changed)",
                    other_change,
                    PAGE_QUERY,
                ),
                ("after a ticket change", change, PAGE_QUERY),
                ("unchanged", None, PAGE_QUERY),
                ("every ticket at once (no paging), read whole", other_change, ""),
            )
            async with TestClient(TestServer(root)) as client:
                for who, telegram_id in (("all sites", admin), ("one site", dispatcher)):
                    for state, before, query in cases:
                        seconds, cpu, size, count, first = await time_json(
                            client, telegram_id, args.runs, before, query
                        )
                        print(
                            f"{backend:10} board JSON{query}, {who} ({count:,} tickets"
                            f" sent, {size / 1024:,.0f} KiB), {state}:"
                            f" median {statistics.median(seconds) * 1000:.0f} ms,"
                            f" worst {max(seconds) * 1000:.0f} ms over {len(seconds)} requests"
                            f" (the first, warming request: {first * 1000:.0f} ms);"
                            f" CPU time (this process, database thread included)"
                            f" median {statistics.median(cpu) * 1000:.0f} ms"
                        )
            if args.browser and backend == "sqlite":
                server = WebServer(console, "127.0.0.1:0")
                await server.start()
                try:
                    page = f"http://127.0.0.1:{server.port}/web/#tgWebAppData={quote(init_data(admin))}"
                    for state, before in (
                        ("the board read whole (a person changed before each load)", other_change),
                        ("the board unchanged", None),
                    ):
                        times = await time_first_screen(page, args.loads, before)
                        print(
                            f"{backend:10} board first screen in Chromium ({args.tickets:,}"
                            f" tickets, 360 px), {state}: median"
                            f" {statistics.median(times):.0f} ms, worst {max(times):.0f} ms"
                            f" over {len(times)} loads"
                        )
                finally:
                    await server.stop()
        finally:
            await db.dispose()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.web_bench",
        description="Measure the web console's board: its JSON and its first screen.",
    )
    add_backend_options(parser)
    parser.add_argument("--tickets", type=int, default=5000, help="open tickets (5000)")
    parser.add_argument("--runs", type=int, default=20, help="requests per figure (20)")
    parser.add_argument("--loads", type=int, default=5, help="page loads per Chromium figure (5)")
    parser.add_argument(
        "--no-browser", dest="browser", action="store_false", help="skip the Chromium figure"
    )
    args = parser.parse_args(argv)
    if args.tickets < 1 or args.runs < 1 or args.loads < 1:
        parser.error("--tickets, --runs and --loads must be at least 1")
    args.backends = backends_to_measure(parser, args)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Wall times stretch on a shared machine; CPU time and the load say by how much.
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for backend in args.backends:
        asyncio.run(measure(backend, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
