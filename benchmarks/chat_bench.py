"""Measured figures for the chat path: a burst of fault reports through emulator, runtime, SQLite.

    python -m benchmarks.chat_bench [--quick] [--users 1000] [--runtime aiogram|ptb|both]
        [--bot process|inline] [--engineers-per 20] [--drain-timeout 240] [--no-bare]
        [--bare-runs 3]

For each runtime, `--users` staff (1 000; 100 with --quick) are seeded in bulk into a
fresh SQLite file, each with a PC in the asset register, plus one engineer per
`--engineers-per` staff. The bot runs as `faultdesk run --runtime <name>` in its own
process (`--bot process`, the default: the deployment as operators run it, with its own
CPU) or inside this process (`--bot inline`), long-polling the sandbox Bot API emulator
over real HTTP. Then every simulated user at once runs the whole report dialog, waiting
for each answer before the next step as a person does:

    /report -> asset tag -> symptom -> photo -> Done -> impact -> share phone -> Confirm

Figures per runtime (all measured on this run):
- updates/s over every update of the burst, and reports/s (tickets opened per second),
  from the first user's first action to the last ticket number shown;
- latency per update from the emulator's own timestamps: when the person's action was
  recorded in the chat, and when the bot's first answer to it appeared there ("reply"),
  and when the answer the person waits for appeared ("step"; e.g. the summary after two
  messages);
- the outbox afterwards: the dispatch cards and "engineer assigned" notices, which the
  sender paces at Telegram's 30 messages/s, and how long after the burst they were all
  out. What the bot posts on its own at start (the survey round it opens on 1-14 June
  and December) goes out before the burst, so the figures are the same on any date;
  every outbox row is listed by message code;
- the emulator's own cost: CPU time of this process (emulator plus simulated people)
  beside the bot process's, and the emulator's time inside its API handlers, to show it is
  not the bottleneck; and how fast the bot sent messages against Telegram's 30/s limit.

Then, in the same run (unless --no-bare), the floor: a bare bot on each framework
(`benchmarks.bare_bot`, its own process, no database) gets the same users and the same
eight updates of the same kinds (/report, two texts, a photo, two button presses, a
shared contact, a press), answering each with one sendMessage; each bare bot runs three
times (`--bare-runs`) and the run with the median CPU per update is the one compared (a
bare burst is about a second of CPU, and one run's figure moved by a third between runs
on the same machine). The last table puts them
side by side: bot CPU per update, faultdesk's as a multiple of the bare aiogram bot's
and of the bare bot on its own framework, reply latency, and each process's idle
resident memory (VmRSS once ready, before the burst).

Quiet messages held for working hours (on a weekend the survey questions posted at
start wait for Monday) are counted apart: the start-up wait is for what is due now.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks.bare_bot import BUTTONS as BARE_BUTTONS
from benchmarks.common import helpdesk_over, percentile, progress_printer, scratch_database
from bot.runtimes import RUNTIMES
from bot.settings import Settings
from core.db import Database
from core.enums import OutboxStatus
from core.models import OutboxMessage, Ticket
from core.sla.policy import load_policy
from demo.seed import BulkOffice, seed_bulk_staff
from sandbox import BotApiEmulator, SentMessage, SimulatedPerson

REPO_ROOT = Path(__file__).resolve().parent.parent
TOKEN = "7100000001:AAChatBenchToken-0123456789abcdefghij"
BOT_USERNAME = "faultdesk_bench_bot"
STEP_TIMEOUT = 300.0  # real seconds one answer may take under the full burst
APOLOGY = "Sorry, something went wrong on our side."  # the router's answer to a failed update
RETRIES = 2  # a person asked to try again does, this many times
READY_TIMEOUT = 240.0  # start-up under cProfile on a loaded machine is slow

Match = Callable[[SentMessage], bool]


progress = progress_printer("chat_bench")


# --- timestamps on the emulator's chat events --------------------------------------------------


class ChatStamps:
    """When each event of one chat was recorded by the emulator (perf_counter seconds)."""

    def __init__(self, person: SimulatedPerson) -> None:
        log = person._log()  # the emulator's chat log: where actions and answers land
        # Events before the stamping began (a message the bot posted on its own) have none.
        self.times: list[float] = [float("nan")] * len(log.events)
        original = log.record

        def record(kind: str, line: str, message: Any = None, *, action: bool = False) -> Any:
            event = original(kind, line, message, action=action)
            self.times.append(time.perf_counter())  # index = event.seq - 1
            return event

        log.record = record  # type: ignore[method-assign]
        self.log = log

    def after(self, seq: int) -> float | None:
        """Time of the first bot event (new message or edit) after event `seq`."""
        for event in self.log.events[seq:]:
            if event.kind in {"bot", "edit"}:
                return self.times[event.seq - 1]
        return None


@dataclass
class Samples:
    """Latencies of every update of a burst, in seconds."""

    reply: list[float] = field(default_factory=list)
    step: list[float] = field(default_factory=list)
    updates: int = 0
    reports: int = 0
    stuck: list[str] = field(default_factory=list)  # users whose answer never came
    apologies: int = 0  # "something went wrong, please try again"
    step_timeout: float = STEP_TIMEOUT
    first_action: float = float("inf")
    last_answer: float = 0.0


async def step(
    person: SimulatedPerson,
    stamps: ChatStamps,
    samples: Samples,
    action: Callable[[], Any],
    expect: Match,
) -> SentMessage:
    """One update: act, wait for the answer, and keep its latencies from the emulator's stamps.

    When the bot apologises ("please try again"), the person does what it asks: the same
    action once more (each try counts as an update, the apology as its answer).
    """
    for attempt in range(1 + RETRIES):
        await action()
        action_seq = stamps.log.cursor  # a person's action moves the cursor onto itself
        acted = stamps.times[action_seq - 1]
        answer = await person.wait_for(
            lambda m: expect(m) or APOLOGY in m.text, timeout=samples.step_timeout
        )
        answered = stamps.times[stamps.log.cursor - 1]
        first = stamps.after(action_seq)
        samples.updates += 1
        samples.step.append(answered - acted)
        samples.reply.append((first if first is not None else answered) - acted)
        samples.first_action = min(samples.first_action, acted)
        samples.last_answer = max(samples.last_answer, answered)
        if expect(answer):
            return answer
        samples.apologies += 1
        if attempt == RETRIES:
            break
    raise AssertionError(f"the bot apologised {1 + RETRIES} times")


def text(part: str) -> Match:
    """Matches a message containing `part`."""
    return lambda message: part in message.text


def with_button(label: str) -> Match:
    """Matches a message offering this button."""
    return lambda message: message.button(label) is not None


async def report(person: SimulatedPerson, tag: str, samples: Samples) -> None:
    """The whole report dialog, as a person runs it; a user left without an answer gives up."""
    try:
        await report_steps(person, tag, samples)
    except AssertionError as error:  # wait_for's timeout
        last = " | ".join(person.transcript().splitlines()[-3:])
        samples.stuck.append(f"{person.first_name}, no answer; the chat ends: {last}")
        del error


async def report_steps(person: SimulatedPerson, tag: str, samples: Samples) -> None:
    """The eight updates of one report."""
    stamps = ChatStamps(person)
    await step(person, stamps, samples, lambda: person.send("/report"), text("Which device"))
    await step(person, stamps, samples, lambda: person.send(tag), text("What is wrong?"))
    await step(
        person,
        stamps,
        samples,
        lambda: person.send("The screen stays black after power on."),
        text("A photo helps"),
    )
    await step(person, stamps, samples, person.send_photo, text("1 photo received"))
    await step(person, stamps, samples, lambda: person.press("✅ Done"), text("How badly does it"))
    await step(
        person,
        stamps,
        samples,
        lambda: person.press("🟡 It works badly, I can still work"),
        text("A phone number for the engineer?"),
    )
    await step(
        person,
        stamps,
        samples,
        lambda: person.reply_keyboard("📱 Share my phone"),
        with_button("✅ Confirm"),
    )
    await step(person, stamps, samples, lambda: person.press("✅ Confirm"), text("is open."))
    samples.reports += 1


async def bare_steps(person: SimulatedPerson, tag: str, samples: Samples) -> None:
    """The same eight updates, of the same kinds, to a bare bot (every answer is "Got it")."""
    stamps = ChatStamps(person)
    answer = text("Got it")
    actions: list[Callable[[], Any]] = [
        lambda: person.send("/report"),
        lambda: person.send(tag),
        lambda: person.send("The screen stays black after power on."),
        person.send_photo,
        lambda: person.press(BARE_BUTTONS[0]),
        lambda: person.press(BARE_BUTTONS[1]),
        person.send_contact,  # what the reply keyboard's "share my phone" sends
        lambda: person.press(BARE_BUTTONS[2]),
    ]
    for action in actions:
        await step(person, stamps, samples, action, answer)
    samples.reports += 1


async def bare_report(person: SimulatedPerson, tag: str, samples: Samples) -> None:
    """One person's mix to the bare bot; a user left without an answer gives up."""
    try:
        await bare_steps(person, tag, samples)
    except AssertionError:  # wait_for's timeout
        samples.stuck.append(f"{person.first_name}, no answer from the bare bot")


# --- the emulator, timed ------------------------------------------------------------------------


class TimedEmulator(BotApiEmulator):
    """The emulator, counting the time spent inside its API method handlers."""

    def __init__(self, *, strict_rate_limits: bool = False) -> None:
        super().__init__(strict_rate_limits=strict_rate_limits)
        self.handler_seconds = 0.0
        self.handled = 0

    async def _call(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        try:
            return await super()._call(*args, **kwargs)
        finally:
            if args[1] != "getUpdates":  # a long poll's wait is not work
                self.handler_seconds += time.perf_counter() - started
                self.handled += 1


# --- the bot ------------------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc), 0.0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


class BotProcess:
    """`faultdesk run` against the emulator, in its own process."""

    def __init__(
        self,
        runtime: str,
        database_url: str,
        api_base_url: str,
        folder: Path,
        profile: Path | None = None,
        *,
        bare: bool = False,
    ) -> None:
        self.log_path = folder / f"bot-{'bare-' if bare else ''}{runtime}.log"
        self.profile = profile
        env = {key: value for key, value in os.environ.items() if not key.startswith("FAULTDESK_")}
        env.update(
            FAULTDESK_BOT_TOKEN=TOKEN,
            FAULTDESK_API_BASE_URL=api_base_url,
            FAULTDESK_DEFAULT_LANGUAGE="en",
            FAULTDESK_POLLING_TIMEOUT="10",
            FAULTDESK_SHUTDOWN_GRACE="10",
            FAULTDESK_HEALTH_LISTEN="127.0.0.1:0",  # any free port: benches may run side by side
            # This checkout's code, whatever the working directory or an installed copy.
            PYTHONPATH=os.pathsep.join(
                [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        )
        self._log = self.log_path.open("wb")
        # The working directory is the scratch folder: no .env of the repository is read.
        profiler = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
        command = (
            ["-m", "benchmarks.bare_bot", runtime, "--token", TOKEN, "--api-base-url", api_base_url]
            if bare
            else ["-m", "bot.cli", "run", "--runtime", runtime, "-d", database_url]
        )
        self.process = subprocess.Popen(
            [sys.executable, *profiler, *command],
            cwd=folder,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def cpu_seconds(self) -> float:
        """CPU used so far."""
        return process_cpu_seconds(self.process.pid)

    def check_alive(self) -> None:
        """Raise with the bot's log if it exited."""
        if self.process.poll() is not None:
            raise RuntimeError(f"the bot exited ({self.process.returncode}):\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        """The end of the bot's log."""
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def stop(self) -> None:
        """SIGINT, as Ctrl-C: the bot finishes in-flight work and exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(self.process.wait, 60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait)
        self._log.close()


class InlineBot:
    """The Application inside this process, as the end-to-end tests run it."""

    def __init__(self, runtime: str, database_url: str, api_base_url: str) -> None:
        from bot.app import build_application

        settings = Settings(
            _env_file=None,
            bot_token=TOKEN,
            api_base_url=api_base_url,
            database_url=database_url,
            runtime=runtime,
            default_language="en",
            polling_timeout=10,
            shutdown_grace=10.0,
            webhook_url=None,
            policy_file=None,
            health_listen="127.0.0.1:0",
        )
        self.runtime = runtime
        self.app = build_application(settings, policy=load_policy())

    async def start(self) -> None:
        """Start polling."""
        await self.app.start(self.runtime)

    def cpu_seconds(self) -> float:
        """Shared with this process: not separable."""
        return 0.0

    def check_alive(self) -> None:
        """Nothing to check."""

    async def stop(self) -> None:
        """Stop the Application."""
        await self.app.stop()


# --- one run --------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """The figures of one runtime."""

    runtime: str
    users: int
    samples: Samples
    burst_seconds: float
    outbox_expected: int
    outbox_sent_at_burst_end: int
    drain_seconds: float | None
    bot_cpu: float
    driver_cpu: float
    emulator_calls: int
    burst_sends: int
    emulator_seconds: float
    peak_sends_per_second: int
    seconds_over_limit: int
    violations: list[str]
    tickets: int
    outbox_codes: dict[str, int]
    idle_rss_mib: float = 0.0  # the bot process once ready and idle (0.0 inline)


async def outbox_counts(db: Database) -> tuple[int, int, int]:
    """(sent, not yet sent though due, deferred) outbox rows.

    Deferred: quiet messages held for the recipient's working hours (on a weekend the
    survey questions the bot posts at start wait for Monday), which no wait here can drain.
    """
    now = datetime.now(UTC)
    async with db.reading() as session:
        rows = (
            await session.execute(
                select(
                    OutboxMessage.status, OutboxMessage.available_at > now, func.count()
                ).group_by(OutboxMessage.status, OutboxMessage.available_at > now)
            )
        ).all()
    sent = deferred = unsent = 0
    for status, later, count in rows:
        if OutboxStatus(status) is OutboxStatus.SENT:
            sent += int(count)
        elif later:
            deferred += int(count)
        else:
            unsent += int(count)
    return sent, unsent, deferred


async def outbox_by_code(db: Database) -> dict[str, int]:
    """Outbox rows by message code (what the bot had to send, besides its replies)."""
    async with db.reading() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.code, func.count())
                .group_by(OutboxMessage.code)
                .order_by(OutboxMessage.code)
            )
        ).all()
    return {str(code): int(count) for code, count in rows}


async def ticket_count(db: Database) -> int:
    """Tickets opened."""
    async with db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


async def wait_until(
    condition: Callable[[], Any], seconds: float, what: str, bot: BotProcess | InlineBot
) -> None:
    """Poll an async condition (the database and the emulator's log have no events)."""
    deadline = time.monotonic() + seconds
    while not await condition():
        bot.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {seconds:.0f} s")
        await asyncio.sleep(0.05)


def messages_out(emulator: BotApiEmulator) -> int:
    """Messages the bot has sent or edited so far (each took a turn of its send limiter)."""
    return len(emulator.bot_state().sends) + len(emulator.calls("editMessageText"))


def send_rate(emulator: BotApiEmulator) -> tuple[int, int]:
    """(most messages the bot sent in any one wall second, seconds with more than 30)."""
    per_second: dict[int, int] = {}
    for record in emulator.bot_state().sends:
        second = int(record.at)
        per_second[second] = per_second.get(second, 0) + 1
    if not per_second:
        return 0, 0
    return max(per_second.values()), sum(1 for n in per_second.values() if n > 30)


@dataclass(frozen=True)
class Options:
    """How to run each runtime's burst."""

    users: int
    engineers_per: int
    mode: str  # "process" or "inline"
    drain_timeout: float
    strict_limits: bool
    profile: Path | None
    step_timeout: float = STEP_TIMEOUT


async def run_one(runtime: str, options: Options, folder: Path) -> RunResult:
    """One runtime's burst on a scratch SQLite database of its own."""
    async with scratch_database("sqlite", None, f"chat-{runtime}") as url:
        return await burst(runtime, url, options, folder)


async def burst(runtime: str, url: str, options: Options, folder: Path) -> RunResult:
    """Seed, start, warm up, burst, drain, measure, stop."""
    users, engineers_per, mode = options.users, options.engineers_per, options.mode
    drain_timeout = options.drain_timeout
    db = Database(url)
    helpdesk = helpdesk_over(db)
    engineers = max(1, users // engineers_per)
    office: BulkOffice = await seed_bulk_staff(helpdesk, staff=users, engineers=engineers)
    progress(f"{runtime}: seeded {users} staff, {engineers} engineers, {users} PCs")

    emulator = TimedEmulator(strict_rate_limits=options.strict_limits)
    emulator.register_bot(TOKEN, username=BOT_USERNAME, first_name="faultdesk")
    await emulator.start()
    # Everyone exists, and has started the bot, before the bot runs: what it posts on its
    # own at start (a survey round in June and December) reaches them as it would.
    staff = [
        emulator.person(telegram_id, f"Staff {n}", "en")
        for n, telegram_id in enumerate(office.staff_telegram_ids)
    ]
    for person in staff:
        person.opened_chat_before()
    engineer_people = [
        emulator.person(telegram_id, f"Engineer {telegram_id}", "en")
        for telegram_id in office.engineer_telegram_ids
    ]
    bot: BotProcess | InlineBot
    if mode == "process":
        profile = options.profile / f"bot-{runtime}.prof" if options.profile else None
        bot = BotProcess(runtime, url, emulator.base_url, folder, profile)
    else:
        bot = InlineBot(runtime, url, emulator.base_url)
        await bot.start()
    try:

        async def polling() -> bool:
            return bool(emulator.calls("getUpdates"))

        await wait_until(polling, READY_TIMEOUT, "the bot did not start polling", bot)
        for engineer in engineer_people:  # engineers say hello first
            await engineer.start()
            await engineer.wait_for("Welcome back", timeout=STEP_TIMEOUT)

        async def drained() -> bool:
            return (await outbox_counts(db))[1] == 0

        # What the bot posts on its own at start goes out before the burst, so that the
        # burst's latencies and outbox figures are the reports' alone on any date.
        await wait_until(drained, drain_timeout, "the start-up posts did not go out", bot)
        sent_before, unsent, deferred = await outbox_counts(db)
        start_posts = sent_before + unsent + deferred
        idle_rss = rss_mib(bot.process.pid) if isinstance(bot, BotProcess) else 0.0
        progress(f"{runtime}: bot ready ({mode}); {users} reports at once")

        samples = Samples(step_timeout=options.step_timeout)
        emulator_seconds_before = emulator.handler_seconds
        emulator_calls_before = emulator.handled
        sends_before = messages_out(emulator)
        cpu_driver_before = time.process_time()
        cpu_bot_before = bot.cpu_seconds()
        started = time.perf_counter()
        await asyncio.gather(
            *(
                report(person, tag, samples)
                for person, tag in zip(staff, office.device_tags, strict=True)
            )
        )
        burst_end = time.perf_counter()
        cpu_driver = time.process_time() - cpu_driver_before
        cpu_bot = bot.cpu_seconds() - cpu_bot_before
        emulator_seconds = emulator.handler_seconds - emulator_seconds_before
        emulator_calls = emulator.handled - emulator_calls_before
        burst_sends = messages_out(emulator) - sends_before
        sent_at_end, _, _ = await outbox_counts(db)
        progress(f"{runtime}: burst done in {burst_end - started:.1f} s; waiting for the outbox")

        drain_seconds: float | None = None
        with contextlib.suppress(TimeoutError):
            await wait_until(drained, drain_timeout, "outbox not drained", bot)
            drain_seconds = time.perf_counter() - burst_end
        expected = sum(await outbox_counts(db)) - start_posts
        peak, over = send_rate(emulator)
        tickets = await ticket_count(db)
        outbox_codes = await outbox_by_code(db)
    except BaseException:
        if isinstance(bot, BotProcess):
            progress(f"{runtime}: bot log tail:\n{bot.tail()}")
        raise
    finally:
        await bot.stop()
        await emulator.stop()
        await db.dispose()
    return RunResult(
        runtime=runtime,
        users=users,
        samples=samples,
        burst_seconds=samples.last_answer - samples.first_action,
        outbox_expected=expected,
        outbox_sent_at_burst_end=sent_at_end - sent_before,
        drain_seconds=drain_seconds,
        bot_cpu=cpu_bot,
        driver_cpu=cpu_driver,
        emulator_calls=emulator_calls,
        burst_sends=burst_sends,
        emulator_seconds=emulator_seconds,
        peak_sends_per_second=peak,
        seconds_over_limit=over,
        violations=list(emulator.violations),
        tickets=tickets,
        outbox_codes=outbox_codes,
        idle_rss_mib=idle_rss,
    )


@dataclass
class BareResult:
    """The figures of one bare bot over the same mix."""

    runtime: str
    users: int
    samples: Samples
    burst_seconds: float
    bot_cpu: float
    idle_rss_mib: float


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (Linux /proc), 0.0 where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def bare_run(runtime: str, options: Options, folder: Path) -> BareResult:
    """The same users and the same eight-update mix against a bare bot on `runtime`."""
    users = options.users
    emulator = TimedEmulator(strict_rate_limits=options.strict_limits)
    emulator.register_bot(TOKEN, username=BOT_USERNAME, first_name="bare")
    await emulator.start()
    staff = [emulator.person(9_000_000 + n, f"Staff {n}", "en") for n in range(users)]
    for person in staff:
        person.opened_chat_before()
    bot = BotProcess(runtime, "", emulator.base_url, folder, bare=True)
    try:

        async def polling() -> bool:
            return bool(emulator.calls("getUpdates"))

        await wait_until(polling, READY_TIMEOUT, "the bare bot did not start polling", bot)
        idle_rss = rss_mib(bot.process.pid)
        progress(f"bare {runtime}: ready; {users} users at once")
        samples = Samples(step_timeout=options.step_timeout)
        cpu_before = bot.cpu_seconds()
        await asyncio.gather(
            *(bare_report(person, f"PC-{n:05d}", samples) for n, person in enumerate(staff))
        )
        cpu = bot.cpu_seconds() - cpu_before
    except BaseException:
        progress(f"bare {runtime}: log tail:\n{bot.tail()}")
        raise
    finally:
        await bot.stop()
        await emulator.stop()
    return BareResult(
        runtime=runtime,
        users=users,
        samples=samples,
        burst_seconds=samples.last_answer - samples.first_action,
        bot_cpu=cpu,
        idle_rss_mib=idle_rss,
    )


# --- output ---------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    """Milliseconds, aligned."""
    return f"{seconds * 1000:8.0f}"


def print_table(results: Sequence[RunResult], mode: str) -> None:
    """The figures, one row per runtime, and the notes that explain them."""
    print(f"\nchat bench: report dialog burst · bot {mode} · SQLite · loopback HTTP emulator")
    header = (
        f"{'runtime':8} {'users':>6} {'updates':>8} {'burst s':>8} {'upd/s':>7} {'rep/s':>6}"
        f" {'reply p50':>9} {'p90':>8} {'p99':>8} {'max':>8} {'step p50':>9} {'step p99':>8}"
        f" {'sorry':>5} {'stuck':>5}"
    )
    print(header + "\n" + "-" * len(header))
    for r in results:
        s = r.samples
        print(
            f"{r.runtime:8} {r.users:6d} {s.updates:8d} {r.burst_seconds:8.1f}"
            f" {s.updates / r.burst_seconds:7.1f} {s.reports / r.burst_seconds:6.1f}"
            f" {ms(percentile(s.reply, 0.5)):>9} {ms(percentile(s.reply, 0.9))}"
            f" {ms(percentile(s.reply, 0.99))} {ms(max(s.reply))}"
            f" {ms(percentile(s.step, 0.5)):>9} {ms(percentile(s.step, 0.99))}"
            f" {s.apologies:5d} {len(s.stuck):5d}"
        )
    print(
        "(latencies in ms, from the emulator's stamps of the action and the answer;"
        " sorry: updates the bot\n answered with its apology, each retried by the person;"
        " stuck: users left without an answer)\n"
    )
    header = (
        f"{'runtime':8} {'tickets':>7} {'outbox':>7} {'sent in burst':>13} {'drained s':>9}"
        f" {'bot CPU s':>9} {'ms/update':>9} {'driver CPU s':>12} {'emu calls':>9}"
        f" {'emu µs/call':>11}"
        f" {'emu % wall':>10} {'sends/s':>7} {'peak sends/s':>12} {'s over 30/s':>11}"
    )
    print(header + "\n" + "-" * len(header))
    for r in results:
        drained = f"{r.drain_seconds:9.1f}" if r.drain_seconds is not None else "  not yet"
        per_call = r.emulator_seconds / r.emulator_calls * 1e6 if r.emulator_calls else 0.0
        bot_cpu = f"{r.bot_cpu:9.1f}" if r.bot_cpu else "   shared"
        per_update = (
            f"{1000 * r.bot_cpu / r.samples.updates:9.1f}"
            if r.bot_cpu and r.samples.updates
            else "        —"
        )
        print(
            f"{r.runtime:8} {r.tickets:7d} {r.outbox_expected:7d} {r.outbox_sent_at_burst_end:13d}"
            f" {drained} {bot_cpu} {per_update} {r.driver_cpu:12.1f} {r.emulator_calls:9d}"
            f" {per_call:11.0f}"
            f" {100 * r.emulator_seconds / r.burst_seconds:9.1f}%"
            f" {r.burst_sends / r.burst_seconds:7.1f}"
            f" {r.peak_sends_per_second:12d} {r.seconds_over_limit:11d}"
        )
    for r in results:
        codes = ", ".join(f"{code} {count}" for code, count in r.outbox_codes.items())
        print(f"{r.runtime} outbox rows by message, start-up posts included: {codes or 'none'}")
    print(
        "\noutbox: dispatch cards + 'engineer assigned' notices, paced by the sender at"
        " Telegram's limits;\n  drained s: after the burst's last answer. What the bot posts"
        " on its own at start (a survey\n  round on 1-14 June and December) is sent before"
        " the burst begins."
        "\ndriver CPU: this process (emulator + simulated people); bot CPU: the bot process"
        " (ms/update: its CPU per update of the burst)."
        "\nemu % wall: time inside the emulator's API handlers over the burst's wall time."
        "\nsends/s: messages sent and edited by the bot (replies and outbox) over the burst's"
        " wall time; the bot\n  paces both at 27/s overall (two at a time under load) to stay"
        " under Telegram's 30/s, so a\n  burst is bound by that budget once the bot's CPU per"
        " update allows more."
        "\npeak sends/s: the most messages the bot sent (replies and outbox) in one second;"
        " Telegram allows 30/s per bot."
    )
    for r in results:
        if r.samples.stuck:
            print(f"\n{r.runtime}: {len(r.samples.stuck)} user(s) never got an answer:")
            for line in r.samples.stuck[:10]:
                print(f"  - {line}")
        if r.violations:
            print(f"\n{r.runtime}: {len(r.violations)} emulator violation(s):")
            for line in r.violations[:10]:
                print(f"  - {line}")


def print_side_by_side(results: Sequence[RunResult], bare: Sequence[BareResult]) -> None:
    """faultdesk's CPU per update and idle memory beside the bare bots of the same run."""
    print("\nside by side: the same users and update mix, bare framework bots vs faultdesk")
    header = (
        f"{'bot':16} {'updates':>8} {'burst s':>8} {'CPU s':>7} {'ms/update':>9}"
        f" {'x bare aiogram':>14} {'x bare same':>11} {'reply p50':>9} {'p99':>8}"
        f" {'idle RSS MiB':>12}"
    )
    print(header + "\n" + "-" * len(header))
    per_update = {
        f"bare {b.runtime}": b.bot_cpu / b.samples.updates if b.samples.updates else 0.0
        for b in bare
    }
    floor = per_update.get("bare aiogram", 0.0)
    rows: list[tuple[str, str, Samples, float, float, float]] = [
        (f"bare {b.runtime}", b.runtime, b.samples, b.burst_seconds, b.bot_cpu, b.idle_rss_mib)
        for b in bare
    ]
    rows += [
        (f"faultdesk {r.runtime}", r.runtime, r.samples, r.burst_seconds, r.bot_cpu, r.idle_rss_mib)
        for r in results
    ]
    for name, runtime, s, seconds, cpu, rss in rows:
        each = cpu / s.updates if s.updates else 0.0
        same = per_update.get(f"bare {runtime}", 0.0)
        x_floor = f"{each / floor:14.1f}" if floor and cpu else "             —"
        x_same = f"{each / same:11.1f}" if same and cpu else "          —"
        print(
            f"{name:16} {s.updates:8d} {seconds:8.1f} {cpu:7.1f} {1000 * each:9.2f}"
            f" {x_floor} {x_same}"
            f" {ms(percentile(s.reply, 0.5)):>9} {ms(percentile(s.reply, 0.99))}"
            f" {rss:12.0f}"
        )
    print(
        "(CPU of the bot's own process over the burst; x bare: its CPU per update over the bare"
        " bot's;\n idle RSS: the bot process's resident memory once ready, before the burst;"
        " the bare bots\n answer each update with one sendMessage, a button press also with"
        " answerCallbackQuery)"
    )
    for b in bare:
        if b.samples.stuck:
            print(f"bare {b.runtime}: {len(b.samples.stuck)} user(s) never got an answer")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.chat_bench",
        description="A burst of fault reports through emulator + runtime + SQLite.",
    )
    parser.add_argument("--quick", action="store_true", help="100 users instead of 1 000")
    parser.add_argument("--users", type=int, help="simulated staff reporting at once")
    parser.add_argument("--runtime", choices=(*RUNTIMES, "both"), default="both")
    parser.add_argument(
        "--bot",
        choices=("process", "inline"),
        default="process",
        help="the bot in its own process (default) or inside the benchmark's event loop",
    )
    parser.add_argument("--engineers-per", type=int, default=20, help="staff per engineer")
    parser.add_argument(
        "--drain-timeout", type=float, help="seconds to wait for the outbox after the burst"
    )
    parser.add_argument(
        "--strict-limits",
        action="store_true",
        help="the emulator answers 429 like Telegram when the bot exceeds 30/s or 1/s per chat",
    )
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=STEP_TIMEOUT,
        help="seconds a user waits for an answer before giving up (counted as stuck)",
    )
    parser.add_argument(
        "--no-bare",
        action="store_true",
        help="skip the bare framework bots run beside faultdesk (process mode only)",
    )
    parser.add_argument(
        "--bare-runs",
        type=int,
        default=3,
        help="runs of each bare bot; the one with the median CPU per update is compared",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="folder for a cProfile of each bot process (bot-<runtime>.prof); prints the top",
    )
    return parser.parse_args(argv)


# Cost centres: where a function's own time is counted, by the file it lives in (first match).
IDLE = "idle: waiting in epoll (not CPU)"
COST_CENTRES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (IDLE, ("<method 'poll' of 'select.epoll' objects>",)),
    ("SQLAlchemy", ("/sqlalchemy/",)),
    ("greenlet (SQLAlchemy's async bridge)", ("greenlet",)),
    (
        "start-up: importing modules",
        ("<frozen importlib", "marshal.loads", "builtins.compile", "builtins.exec"),
    ),
    (
        "aiosqlite hand-off (queue to its thread)",
        ("/aiosqlite/", "<method 'put_nowait' of '_queue.SimpleQueue' objects>"),
    ),
    ("sqlite3 (in this thread)", ("sqlite3", "_sqlite3")),
    ("asyncpg / psycopg", ("/asyncpg/", "/psycopg")),
    ("pydantic", ("/pydantic", "pydantic_core")),
    ("aiogram", ("/aiogram/",)),
    ("python-telegram-bot", ("/telegram/",)),
    ("aiohttp / yarl / multidict", ("/aiohttp/", "/yarl/", "/multidict/")),
    ("httpx / httpcore / h11 / anyio", ("/httpx/", "/httpcore/", "/h11/", "/anyio/")),
    ("asyncio + selectors + ssl", ("/asyncio/", "selectors.py", "ssl.py", "<method 'poll'")),
    ("threading / queue (driver hand-off)", ("threading.py", "queue.py", "<method 'acquire'")),
    ("json", ("/json/", "<built-in method _json", "_json.")),
    ("logging", ("/logging/",)),
    ("babel / gettext / i18n", ("/babel/", "gettext.py")),
    ("apscheduler", ("/apscheduler/",)),
    ("faultdesk: bot/", ("/bot/",)),
    ("faultdesk: core/", ("/core/",)),
)


def cost_centres(stats: Any) -> list[tuple[str, float]]:
    """Own time by cost centre, seconds, largest first (what the rest is goes to 'other')."""
    totals: dict[str, float] = {}
    for (filename, _line, function), entry in stats.stats.items():
        own = entry[2]
        where = f"{filename} {function}"
        name = next(
            (label for label, marks in COST_CENTRES if any(mark in where for mark in marks)),
            "other (builtins, stdlib, C calls)",
        )
        totals[name] = totals.get(name, 0.0) + own
    return sorted(totals.items(), key=lambda item: -item[1])


def print_profile(path: Path, lines: int = 25) -> None:
    """The bot's cost centres, and the functions it spent its own time in."""
    import pstats

    if not path.exists():
        progress(f"no profile at {path}")
        return
    stats = pstats.Stats(str(path), stream=sys.stdout)
    centres = cost_centres(stats)
    busy = sum(seconds for name, seconds in centres if name != IDLE) or 1.0
    print(
        f"\nprofile of the bot process: {path}\ncost centres (own wall time of the main"
        " thread over the whole run, start-up included; % of the time not idle):"
    )
    for name, seconds in centres:
        share = f"{100 * seconds / busy:5.1f} %" if name != IDLE else "      "
        print(f"  {name:42} {seconds:8.2f} s {share}")
    print(f"top {lines} functions by own time:")
    stats.sort_stats("tottime").print_stats(lines)


def main(argv: Sequence[str] | None = None) -> int:
    # SIGTERM ends the run like Ctrl-C does, so the bot process is stopped too.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    args = parse_args(argv)
    users = args.users or (100 if args.quick else 1000)
    drain = args.drain_timeout if args.drain_timeout is not None else (60 if args.quick else 240)
    runtimes = RUNTIMES if args.runtime == "both" else (args.runtime,)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        args.profile = args.profile.resolve()
    options = Options(
        users=users,
        engineers_per=args.engineers_per,
        mode=args.bot,
        drain_timeout=drain,
        strict_limits=args.strict_limits,
        profile=args.profile if args.bot == "process" else None,
        step_timeout=args.step_timeout,
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="faultdesk-chat-bench-") as folder:
        for runtime in runtimes:
            results.append(asyncio.run(run_one(runtime, options, Path(folder))))
        bare: list[BareResult] = []
        bare_runs: dict[str, list[float]] = {}
        if not args.no_bare:
            for runtime in runtimes:
                # A bare burst is about a second of CPU: measured once, its figure moved by
                # a third from run to run. The run with the median CPU per update is used.
                runs = [
                    asyncio.run(bare_run(runtime, options, Path(folder)))
                    for _ in range(args.bare_runs)
                ]
                runs.sort(key=lambda run: run.bot_cpu / max(run.samples.updates, 1))
                bare.append(runs[len(runs) // 2])
                bare_runs[runtime] = [run.bot_cpu / max(run.samples.updates, 1) for run in runs]
    print_table(results, args.bot)
    if bare:
        print_side_by_side(results, bare)
        for runtime, figures in bare_runs.items():
            each = " ".join(f"{1000 * figure:.2f}" for figure in figures)
            print(f"bare {runtime}: {len(figures)} run(s), ms/update {each} (the median used)")
    if options.profile is not None:
        for runtime in runtimes:
            print_profile(options.profile / f"bot-{runtime}.prof")
    failed = [r for r in results if r.violations or r.samples.reports != r.users]
    bare_failed = [b for b in bare if b.samples.reports != b.users]
    return 1 if failed or bare_failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
