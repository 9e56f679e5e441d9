"""Start-up during an outage: how long from "the Bot API is reachable again" to serving.

`faultdesk run` is started as an operator starts it (its own process, settings from the
environment, the default start-up backoff unless `--backoff-max` says otherwise) while
the local Bot API emulator drops every connection; the database may be missing too
(`--database-late S`: a PostgreSQL database created, or a SQLite folder made, S seconds
after the start). `--outages` seconds after the bot's first failed try the emulator answers again; the
figure is the time from that moment to the bot's "running on" line (it then polls and
serves), with the number of tries it logged. Outage 0 is the baseline: from the process
start to serving with everything up (Python and the framework's imports included).

    python -m benchmarks.startup_bench                       # both runtimes, outages 0,5,20,60 s
    python -m benchmarks.startup_bench --quick               # aiogram, outages 0,5 s
    python -m benchmarks.startup_bench --database-late 3     # the database appears after 3 s

With `--backend postgresql` (or FAULTDESK_TEST_PG_URL set and `--backend both`) the
missing database is a PostgreSQL database on that server, created late and dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from benchmarks.common import PG_URL_VARIABLE, progress_printer, server_statement
from core.migrate import upgrade_async
from sandbox import BotApiEmulator

TOKEN = "7300000001:AAStartupBenchToken-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent
progress = progress_printer("startup")


@dataclass
class Trial:
    """One start during an outage."""

    runtime: str
    backend: str
    outage: float
    serving_after: float  # seconds from "reachable again" to the running line
    api_tries: int
    database_tries: int


class Bot:
    """`python -m bot.cli run` with its output lines, and an event per line."""

    def __init__(self, settings: dict[str, str], folder: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAULTDESK_")}
        env.update(settings, PYTHONPATH=str(ROOT))
        self.env, self.folder = env, folder
        self.lines: list[str] = []
        self.changed = asyncio.Event()
        self.process: asyncio.subprocess.Process | None = None
        self.readers: list[asyncio.Task[None]] = []

    async def start(self, runtime: str) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--runtime",
            runtime,
            cwd=self.folder,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self.readers = [
            asyncio.create_task(self._read(stream))
            for stream in (self.process.stdout, self.process.stderr)
        ]

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode("utf-8", "replace").rstrip())
            self.changed.set()

    async def until(self, text: str, timeout: float = 300.0) -> float:  # noqa: ASYNC109
        """Wait for a line containing `text`; the monotonic time it was seen."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.process is not None and self.process.returncode is not None:
                raise RuntimeError("the bot exited:\n" + "\n".join(self.lines[-20:]))
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.1, deadline - time.monotonic()))
        return time.monotonic()

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 60)
        await asyncio.gather(*self.readers)


async def trial(
    runtime: str,
    backend: str,
    outage: float,
    database_late: float,
    backoff_max: float | None,
    pg_url: str | None,
) -> Trial:
    with tempfile.TemporaryDirectory(prefix="faultdesk-startup-") as folder:
        work = Path(folder)
        name = f"faultdesk_bench_startup_{uuid.uuid4().hex[:8]}"
        if backend == "postgresql":
            assert pg_url is not None
            url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        else:
            volume = work / "volume"
            volume.write_text("not mounted yet" if database_late else "")
            if not database_late:
                volume.unlink()
                volume.mkdir()
            url = f"sqlite:///{volume}/faultdesk.sqlite3"
        if backend == "postgresql" and not database_late:
            await server_statement(pg_url or "", f'CREATE DATABASE "{name}"')
        if not database_late:
            # A restart of a running deployment: the schema is there already.
            await upgrade_async(url)
        settings = {
            "FAULTDESK_BOT_TOKEN": TOKEN,
            "FAULTDESK_DATABASE_URL": url,
            "FAULTDESK_HEALTH_LISTEN": "127.0.0.1:0",
            "FAULTDESK_POLLING_TIMEOUT": "5",
            "FAULTDESK_SHUTDOWN_GRACE": "5",
        }
        if backoff_max is not None:
            settings["FAULTDESK_STARTUP_BACKOFF_MAX"] = str(backoff_max)
        async with BotApiEmulator() as emulator:
            emulator.register_bot(TOKEN, username="startup_bench_bot")
            settings["FAULTDESK_API_BASE_URL"] = emulator.base_url
            emulator.set_outage(outage > 0)
            bot = Bot(settings, work)
            started = time.monotonic()
            await bot.start(runtime)
            try:
                if database_late:
                    await asyncio.sleep(database_late)
                    if backend == "postgresql":
                        await server_statement(pg_url or "", f'CREATE DATABASE "{name}"')
                    else:
                        volume.unlink()
                        volume.mkdir()
                if outage > 0:
                    # The outage counts from the bot's first failed try (imports take a
                    # few seconds before it tries at all).
                    first_try = await bot.until("the Bot API not reachable")
                    await asyncio.sleep(max(0.0, first_try + outage - time.monotonic()))
                back = time.monotonic() if outage > 0 else started
                emulator.set_outage(False)
                serving = await bot.until("running on")
            finally:
                await bot.stop()
                if backend == "postgresql":
                    await server_statement(
                        pg_url or "", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                    )
        return Trial(
            runtime,
            backend,
            outage,
            serving - back,
            bot.count("the Bot API not reachable"),
            sum("the database" in line and "not reachable" in line for line in bot.lines),
        )


async def main(args: argparse.Namespace) -> int:
    runtimes = ["aiogram", "ptb"] if args.runtime == "both" else [args.runtime]
    outages = [float(value) for value in args.outages.split(",")]
    pg_url = args.pg_url or os.environ.get(PG_URL_VARIABLE)
    backends = {"both": ["sqlite", "postgresql"] if pg_url else ["sqlite"]}.get(
        args.backend, [args.backend]
    )
    if "postgresql" in backends and not pg_url:
        print("--backend postgresql needs --pg-url or FAULTDESK_TEST_PG_URL", file=sys.stderr)
        return 2
    cap = (
        "default (FAULTDESK_STARTUP_BACKOFF_MAX=10)"
        if args.backoff_max is None
        else f"{args.backoff_max:g} s"
    )
    print(f"start-up backoff cap: {cap}; database appears after {args.database_late:g} s")
    print(
        f"{'runtime':8} {'database':10} {'outage s':>8} {'API tries':>9} {'DB tries':>8} {'reachable -> serving s':>23}"
    )
    for backend in backends:
        for runtime in runtimes:
            for outage in outages:
                progress(f"{runtime} on {backend}, outage {outage:g} s")
                result = await trial(
                    runtime, backend, outage, args.database_late, args.backoff_max, pg_url
                )
                print(
                    f"{result.runtime:8} {result.backend:10} {result.outage:8g}"
                    f" {result.api_tries:9d} {result.database_tries:8d}"
                    f" {result.serving_after:23.2f}",
                    flush=True,
                )
    return 0


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=["aiogram", "ptb", "both"], default="both")
    parser.add_argument("--outages", default="0,5,20,60", help="seconds the API stays away")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--database-late", type=float, default=0.0)
    parser.add_argument("--backoff-max", type=float, default=None)
    parser.add_argument("--quick", action="store_true", help="aiogram, outages 0 and 5 s")
    args = parser.parse_args()
    if args.quick:
        args.runtime, args.outages = "aiogram", "0,5"
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
