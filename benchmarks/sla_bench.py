"""Measured figures for the SLA engine: deadline arithmetic, sweeps, lateness.

    python -m benchmarks.sla_bench [--backend sqlite|postgresql|both] [--tickets 100000]
        [--due 1000] [--lateness-seconds 60] [--quick] [--pg-url URL] [--parts ...]

1. Deadline computations per second: `Policy.target` + `BusinessCalendar.add` for the four
   clocks over random start times across 2026, per calendar, and `deadlines.moment_at`.
2. One `DueWorkRunner.sweep()` over a database holding `--tickets` open tickets (their
   clocks, 12 pending ladder steps and a progress row each, bulk-inserted) of which
   exactly `--due` steps are due; checks that as many `sla.escalated` events were written.
3. Lateness of fired work under `DueWorkRunner.run()` with the wall clock while due work
   is scheduled continuously over a database with background tickets.

Every figure is measured on each run; see benchmarks/README.md for what each one means.
Scratch databases (a temp SQLite file, a PostgreSQL database created on the server named
by --pg-url / FAULTDESK_TEST_PG_URL) are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import os
import pstats
import random
import re
import resource
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import event, func, insert, select, text, update

from benchmarks.common import (
    PersonRows,
    StatementCounter,
    add_backend_options,
    backends_to_measure,
    helpdesk_over,
    parts_to_run,
    percentile,
    progress_printer,
    scratch_database,
    settle,
)
from bot.cli.run import tune_collector
from core import scheduling
from core.audit import HEAD_ID, verify_chain
from core.clock import DEFAULT_TIMEZONE, FrozenClock, SystemClock
from core.db import Database
from core.enums import IMPACT_SEVERITY, AssetKind, Role, TicketStatus, WorkStatus
from core.models import AuditEvent, AuditHead, Department, DueWork, Person, Site, SlaClock, Ticket
from core.sla.deadlines import ALL_CLOCKS, ESCALATION, moment_at, step_key
from core.sla.policy import ClockKind, LadderStep, Policy, load_policy
from core.tickets import PROGRESS
from core.unit_of_work import Tx

TZ = DEFAULT_TIMEZONE
CALENDARS = ("5x8", "7x24", "7x8")
CALENDAR_LABELS = {"5x8": "5x8 (CN holidays)", "7x24": "7x24", "7x8": "7x8"}
REGIONS = ("city", "suburb", "outer", "remote", "resident")
SEVERITY_WEIGHTS = {1: 5, 2: 20, 3: 45, 4: 30}  # share of open tickets by level, in percent
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_SECONDS = 365 * 86_400
# The sweep's "now": Tuesday 3 March 2026, 15:00 in Shanghai, a working afternoon, so
# business time and wall time agree for the last few hours on every calendar.
SWEEP_NOW = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
# Due steps fell due within this long before the sweep's "now" (a short outage's backlog);
# `--due-spread 0` makes them all due at that one instant (Monday 09:00 after a holiday).
DUE_SPREAD = timedelta(minutes=3)
# Mix of the due steps: (fraction of the acknowledge target, share). Steps at 100 % and
# 150 % go to level-1 tickets, so raising the level is a no-op and no other step moves.
DUE_MIX = ((0.8, 0.60), (1.0, 0.25), (1.5, 0.15))
BENCH_KIND = "bench"
SYMPTOMS = (
    "Printer jams on every page",
    "PC does not boot, beeps three times",
    "Projector shows no signal",
    "Laptop screen flickers",
    "Scanner not detected over USB",
    "Conference terminal has no audio",
)
ASSET_KINDS = (AssetKind.PC, AssetKind.PRINTER, AssetKind.LAPTOP, AssetKind.PROJECTOR)
IMPACT_OF = {severity: impact for impact, severity in IMPACT_SEVERITY.items()}


say = progress_printer("sla_bench")


def median(values: Sequence[float]) -> float:
    """The middle value (nearest rank)."""
    return percentile(values, 0.5)


def fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def fmt_s(value: float) -> str:
    return f"{value:,.2f} s"


def fmt_ms(value: float) -> str:
    return f"{value * 1000:,.1f} ms"


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]
) -> None:
    """A plain-text table: a label column and one right-aligned column per backend/figure."""
    label_width = max(len(label) for label, _ in rows)
    widths = [len(column) for column in columns]
    for _, cells in rows:
        for index, cell in enumerate(cells):
            widths[index] = max(widths[index], len(cell))
    print()
    print(title)
    header = " " * label_width + "".join(
        f"  {c:>{w}}" for c, w in zip(columns, widths, strict=True)
    )
    print(header)
    print("-" * len(header))
    for label, cells in rows:
        print(
            f"{label:<{label_width}}"
            + "".join(f"  {cell:>{w}}" for cell, w in zip(cells, widths, strict=True))
        )
    sys.stdout.flush()


# --------------------------------------------------------------------------------------
# 1. Deadline arithmetic


@dataclass
class CalendarFigures:
    """Calls per second for one calendar."""

    cold_target_add: float
    target_add: float
    add_only: float
    moment_at: float


def _random_starts(rng: random.Random, count: int) -> list[datetime]:
    return [YEAR_START + timedelta(seconds=rng.uniform(0, YEAR_SECONDS)) for _ in range(count)]


def _random_levels(rng: random.Random, count: int) -> list[tuple[int, str]]:
    severities = rng.choices(
        list(SEVERITY_WEIGHTS), weights=list(SEVERITY_WEIGHTS.values()), k=count
    )
    return [(severity, rng.choice(REGIONS)) for severity in severities]


def _rate(calls: int, began: float) -> float:
    return calls / max(time.perf_counter() - began, 1e-9)


def _best_rate(calls: int, work: Callable[[], None], passes: int = 3) -> float:
    """Calls per second of the fastest of a few passes (the least disturbed one)."""
    best = 0.0
    for _ in range(passes):
        began = time.perf_counter()
        work()
        best = max(best, _rate(calls, began))
    return best


def _bench_calendar(name: str, samples: int, rng: random.Random) -> CalendarFigures:
    """Target lookup + add counted in calendar `name`, for the 4 clocks of each sample."""
    starts = _random_starts(rng, samples)
    levels = _random_levels(rng, samples)
    policy = load_policy()  # fresh: empty holiday table and day caches
    calls = samples * len(ALL_CLOCKS)

    def target_and_add() -> None:
        for start, (severity, region) in zip(starts, levels, strict=True):
            for kind in ALL_CLOCKS:
                target = policy.target(kind, severity, region, name)
                policy.calendar(name, TZ).add(start, target.within)

    began = time.perf_counter()
    target_and_add()  # first pass: fills the holiday table and the per-day caches
    cold = _rate(calls, began)
    warm = _best_rate(calls, target_and_add)

    calendar = policy.calendar(name, TZ)
    durations = [
        policy.target(kind, severity, region, name).within
        for severity, region in levels
        for kind in ALL_CLOCKS
    ]
    repeated = [start for start in starts for _ in ALL_CLOCKS]

    def add_only() -> None:
        for start, duration in zip(repeated, durations, strict=True):
            calendar.add(start, duration)

    # The real deadlines.moment_at over transient rows: pauses so far and ladder fractions.
    tx = Tx(session=cast(Any, None), now=YEAR_START, policy=policy, dialect="sqlite")
    ticket = Ticket(timezone=TZ)
    clocks = [
        SlaClock(
            started_at=start,
            target_seconds=int(duration.total_seconds()),
            calendar=name,
            paused_seconds=rng.choice((0.0, 0.0, 0.0, rng.uniform(0, 4 * 3600))),
        )
        for start, duration in zip(repeated, durations, strict=True)
    ]
    fractions = [rng.choice((0.8, 1.0, 1.5)) for _ in clocks]

    def moments() -> None:
        for clock, fraction in zip(clocks, fractions, strict=True):
            moment_at(tx, ticket, clock, fraction)

    return CalendarFigures(cold, warm, _best_rate(calls, add_only), _best_rate(calls, moments))


def _bench_policy_mix(samples: int, rng: random.Random) -> tuple[float, float]:
    """What start_clocks computes per ticket, with each target in its `measure_in` calendar.

    Returns (target+add calls/s, tickets/s for 4 targets + 4 x (deadline + 3 steps)).
    """
    policy = load_policy()
    starts = _random_starts(rng, samples)
    levels = _random_levels(rng, samples)
    hours = [rng.choice(CALENDARS) for _ in range(samples)]
    ladders = {kind: policy.ladder(kind) for kind in ALL_CLOCKS}
    tx = Tx(session=cast(Any, None), now=YEAR_START, policy=policy, dialect="sqlite")
    ticket = Ticket(timezone=TZ)

    def run() -> None:
        for start, (severity, region), site_hours in zip(starts, levels, hours, strict=True):
            for kind in ALL_CLOCKS:
                target = policy.target(kind, severity, region, site_hours)
                policy.calendar(target.measure_in, TZ).add(start, target.within)

    def start_clocks_arithmetic() -> None:
        for start, (severity, region), site_hours in zip(starts, levels, hours, strict=True):
            for kind in ALL_CLOCKS:
                target = policy.target(kind, severity, region, site_hours)
                clock = SlaClock(
                    started_at=start,
                    target_seconds=int(target.within.total_seconds()),
                    calendar=target.measure_in,
                    paused_seconds=0.0,
                )
                moment_at(tx, ticket, clock, 1.0)
                for step in ladders[kind]:
                    moment_at(tx, ticket, clock, step.at)

    run()  # warm the caches
    mix = _best_rate(samples * len(ALL_CLOCKS), run)
    return mix, _best_rate(samples, start_clocks_arithmetic)


def deadline_benchmark(samples: int, seed: int) -> None:
    say(f"deadline arithmetic: {samples:,} random starts x 4 clocks per calendar")
    rng = random.Random(seed)
    began = time.perf_counter()
    load_policy()
    policy_load = time.perf_counter() - began
    rows: list[tuple[str, Sequence[str]]] = []
    for name in CALENDARS:
        figures = _bench_calendar(name, samples, rng)
        rows.append(
            (
                CALENDAR_LABELS[name],
                [
                    fmt_int(figures.cold_target_add),
                    fmt_int(figures.target_add),
                    fmt_int(figures.add_only),
                    fmt_int(figures.moment_at),
                    f"{1e6 / figures.target_add:,.1f} µs",
                ],
            )
        )
    mix, per_ticket = _bench_policy_mix(samples, rng)
    rows.append(("policy mix (measure_in)", ["", fmt_int(mix), "", "", f"{1e6 / mix:,.1f} µs"]))
    print_table(
        f"1. Deadline computations per second ({samples:,} random starts in 2026 x 4 clocks, {TZ})",
        ["target+add cold", "target+add", "add only", "moment_at", "per target+add"],
        rows,
    )
    print(
        f"   start_clocks arithmetic (4 targets + 16 moment_at): {fmt_int(per_ticket)} tickets/s"
        f" ({1e6 / per_ticket:,.0f} µs per ticket); policy load {policy_load * 1000:,.0f} ms"
    )


# --------------------------------------------------------------------------------------
# Bulk loading


@dataclass(frozen=True)
class SiteInfo:
    id: int
    region: str
    hours: str
    department_id: int
    engineers: tuple[int, ...]
    staff: tuple[int, ...]


@dataclass
class LoadStats:
    """What a bulk load put into the database."""

    tickets: int = 0
    clocks: int = 0
    pending: int = 0
    done: int = 0
    due: int = 0
    due_tickets: set[int] = field(default_factory=set)
    seconds: float = 0.0


class RowFactory:
    """Rows for open tickets as report_fault + auto-dispatch would have left them."""

    def __init__(
        self,
        policy: Policy,
        sites: Sequence[SiteInfo],
        rng: random.Random,
        now: datetime,
        horizon: timedelta,
        due_spread: timedelta = DUE_SPREAD,
    ) -> None:
        self.policy = policy
        self.due_spread = due_spread
        self.sites = list(sites)
        self.due_sites = [site for site in sites if site.region != "resident"]
        self.rng = rng
        self.now = now
        self.horizon = horizon
        self.ladders: dict[ClockKind, tuple[LadderStep, ...]] = {
            kind: policy.ladder(kind) for kind in ALL_CLOCKS
        }
        # Payloads exactly as start_clocks writes them (cycle 0).
        self.payloads = {
            (kind, step.at): {
                "clock": kind.value,
                "cycle": 0,
                "at": step.at,
                "actions": [action.value for action in step.actions],
            }
            for kind in ALL_CLOCKS
            for step in self.ladders[kind]
        }

    def _severity(self) -> int:
        weights = list(SEVERITY_WEIGHTS.values())
        return self.rng.choices(list(SEVERITY_WEIGHTS), weights=weights)[0]

    def _plan(
        self, site: SiteInfo, severity: int, reported: datetime
    ) -> list[tuple[ClockKind, int, str, datetime, list[tuple[LadderStep, datetime]]]]:
        """Per clock: (kind, target seconds, calendar, due_at, [(step, step due_at)])."""
        plan = []
        for kind in ALL_CLOCKS:
            target = self.policy.target(kind, severity, site.region, site.hours)
            calendar = self.policy.calendar(target.measure_in, TZ)
            seconds = int(target.within.total_seconds())
            # The same arithmetic as deadlines.moment_at with no pauses.
            due = calendar.add(reported, timedelta(seconds=seconds * 1.0 + 0.0))
            steps = [
                (step, calendar.add(reported, timedelta(seconds=seconds * step.at + 0.0)))
                for step in self.ladders[kind]
            ]
            plan.append((kind, seconds, target.measure_in, due, steps))
        return plan

    def _progress(self, site: SiteInfo, reported: datetime) -> tuple[int, datetime]:
        """The first progress message still to come: (number, due_at)."""
        calendar = self.policy.calendar(site.hours, TZ)
        number, due = 1, calendar.add(reported, self.policy.progress_interval)
        while due <= self.now:  # earlier ones were sent
            number, due = number + 1, calendar.add(due, self.policy.progress_interval)
        return number, due

    def _shortest_step(self, site: SiteInfo, severity: int) -> float:
        """Business seconds from report to the ticket's first step (or progress message)."""
        first = self.policy.progress_interval.total_seconds()
        for kind in ALL_CLOCKS:
            target = self.policy.target(kind, severity, site.region, site.hours)
            first = min(first, target.within.total_seconds() * self.ladders[kind][0].at)
        return first

    def future_ticket(self, ticket_id: int) -> tuple[dict[str, Any], list[Any], list[Any]]:
        """A ticket reported recently enough that none of its steps falls due before now+horizon."""
        for _ in range(100):
            site = self.rng.choice(self.sites)
            severity = self._severity()
            # Business time since the report <= wall time since it, so a step whose business
            # offset exceeds (wall age + horizon) is still ahead of now + horizon.
            slack = 0.9 * self._shortest_step(site, severity) - self.horizon.total_seconds()
            if slack < 0:
                continue
            reported = self.now - timedelta(seconds=self.rng.uniform(0, slack))
            plan = self._plan(site, severity, reported)
            limit = self.now + self.horizon
            if all(at > limit for *_, steps in plan for _, at in steps):
                return self._rows(ticket_id, site, severity, reported, plan, None)
        raise RuntimeError(
            f"cannot build a ticket whose steps all fall after {self.horizon} (run too long?)"
        )

    def due_ticket(
        self, ticket_id: int, fraction: float
    ) -> tuple[dict[str, Any], list[Any], list[Any]]:
        """A ticket whose acknowledge step at `fraction` fell due shortly before now."""
        for _ in range(100):
            site = self.rng.choice(self.due_sites)
            severity = 1 if fraction >= 1.0 else self._severity()
            target = self.policy.target(ClockKind.ACKNOWLEDGE, severity, site.region, site.hours)
            spread = self.due_spread.total_seconds()
            due_at = self.now - timedelta(seconds=self.rng.uniform(min(1.0, spread), spread))
            # Wall time = business time here: SWEEP_NOW is mid-afternoon on a working day.
            reported = due_at - timedelta(seconds=target.within.total_seconds() * fraction)
            plan = self._plan(site, severity, reported)
            due_steps = [
                (kind, step.at) for kind, *_, steps in plan for step, at in steps if at <= self.now
            ]
            expected = [
                (ClockKind.ACKNOWLEDGE, step.at)
                for step in self.ladders[ClockKind.ACKNOWLEDGE]
                if step.at <= fraction
            ]
            if due_steps == expected:
                return self._rows(ticket_id, site, severity, reported, plan, fraction)
        raise RuntimeError(f"cannot build a ticket with only ack {fraction:.0%} due")

    def _rows(
        self,
        ticket_id: int,
        site: SiteInfo,
        severity: int,
        reported: datetime,
        plan: list[tuple[ClockKind, int, str, datetime, list[tuple[LadderStep, datetime]]]],
        due_fraction: float | None,
    ) -> tuple[dict[str, Any], list[Any], list[Any]]:
        rng = self.rng
        assigned = bool(site.engineers) and rng.random() < 0.9
        arrival_due = next(due for kind, _, _, due, _ in plan if kind is ClockKind.ARRIVAL)
        ticket = {
            "id": ticket_id,
            "reporter_id": rng.choice(site.staff),
            "site_id": site.id,
            "department_id": site.department_id,
            "asset_kind": rng.choice(ASSET_KINDS),
            "location": f"Room {rng.randint(100, 999)}",
            "symptom": rng.choice(SYMPTOMS),
            "impact": IMPACT_OF[severity],
            "severity": severity,
            "initial_severity": severity,
            "status": TicketStatus.ASSIGNED if assigned else TicketStatus.REPORTED,
            "contact_phone": f"138{rng.randrange(10**8):08d}",
            "assignee_id": rng.choice(site.engineers) if assigned else None,
            "remote": False,
            "region": site.region,
            "service_hours": site.hours,
            "timezone": TZ,
            "reported_at": reported,
            "assigned_at": reported if assigned else None,
            "promised_arrival_at": arrival_due,
            "cycle": 0,
            "version": 1,
        }
        clocks: list[dict[str, Any]] = []
        work: list[dict[str, Any]] = []
        for kind, seconds, calendar, due, steps in plan:
            breached = None
            for step, at in steps:
                fired_before = (
                    due_fraction is not None
                    and kind is ClockKind.ACKNOWLEDGE
                    and step.at < due_fraction
                )
                if fired_before and step.at >= 1.0:
                    breached = due
                work.append(
                    {
                        "key": step_key(ticket_id, 0, kind, step.at),
                        "kind": ESCALATION,
                        "ticket_id": ticket_id,
                        "due_at": at,
                        "payload": self.payloads[(kind, step.at)],
                        "status": WorkStatus.DONE if fired_before else WorkStatus.PENDING,
                        "attempts": 0,
                        "created_at": reported,
                        "done_at": at if fired_before else None,
                    }
                )
            clocks.append(
                {
                    "ticket_id": ticket_id,
                    "kind": kind.value,
                    "cycle": 0,
                    "started_at": reported,
                    "target_seconds": seconds,
                    "calendar": calendar,
                    "paused_seconds": 0.0,
                    "due_at": due,
                    "cancelled": False,
                    "breached_at": breached,
                }
            )
        number, progress_due = self._progress(site, reported)
        work.append(
            {
                "key": f"progress:{ticket_id}:{number}",
                "kind": PROGRESS,
                "ticket_id": ticket_id,
                "due_at": progress_due,
                "payload": {"n": number},
                "status": WorkStatus.PENDING,
                "attempts": 0,
                "created_at": reported,
                "done_at": None,
            }
        )
        return ticket, clocks, work


async def _load_people(db: Database, now: datetime) -> list[SiteInfo]:
    """Sites (every region x calendar), a department each, engineers, dispatchers, staff."""
    sites: list[dict[str, Any]] = []
    departments: list[dict[str, Any]] = []
    infos: list[SiteInfo] = []
    people = PersonRows(
        telegram_base=10_000_000, created_at=now - timedelta(days=90), with_phones=True
    )

    site_id = 0
    for region in REGIONS:
        for hours in CALENDARS:
            site_id += 1
            sites.append(
                {
                    "id": site_id,
                    "code": f"S{site_id:02d}",
                    "name": f"{region.title()} office {hours}",
                    "region": region,
                    "timezone": TZ,
                    "service_hours": hours,
                    "address": f"{site_id} Bench Road",
                }
            )
            departments.append({"id": site_id, "site_id": site_id, "name": "Operations"})
            engineers = [
                people.add(Role.ENGINEER, site_id, f"Engineer {site_id}-{i}") for i in range(6)
            ]
            for index, engineer in enumerate(engineers):
                people.rows[engineer - 1]["backup_id"] = engineers[index ^ 1]
            for i in range(2):
                people.add(Role.DISPATCHER, site_id, f"Dispatcher {site_id}-{i}")
            people.add(Role.MANAGER, site_id, f"Manager {site_id}")
            staff = [
                people.add(Role.STAFF, site_id, f"Staff {site_id}-{i}", department_id=site_id)
                for i in range(40)
            ]
            infos.append(SiteInfo(site_id, region, hours, site_id, tuple(engineers), tuple(staff)))
    people.add(Role.MANAGER, None, "Head of service")
    people.add(Role.ADMIN, None, "Administrator")
    # Backups point forward as well as back: insert without them, then set them.
    backups = [(p["id"], p["backup_id"]) for p in people.rows if p["backup_id"] is not None]
    for row in people.rows:
        row["backup_id"] = None
    async with db.engine.begin() as conn:
        await conn.execute(insert(Site), sites)
        await conn.execute(insert(Department), departments)
        await conn.execute(insert(Person), people.rows)
        for pid, backup in backups:
            await conn.execute(update(Person).where(Person.id == pid).values(backup_id=backup))
    return infos


async def bulk_load(
    db: Database,
    policy: Policy,
    *,
    tickets: int,
    due: int,
    now: datetime,
    horizon: timedelta,
    seed: int,
    chunk: int = 2000,
    due_spread: timedelta = DUE_SPREAD,
) -> LoadStats:
    """Insert `tickets` open tickets, exactly `due` of them with one step due at `now`."""
    began = time.perf_counter()
    rng = random.Random(seed)
    sites = await _load_people(db, now)
    factory = RowFactory(policy, sites, rng, now, horizon, due_spread)
    due_ids = set(rng.sample(range(1, tickets + 1), due))
    fractions = [fraction for fraction, _ in DUE_MIX]
    shares = [share for _, share in DUE_MIX]
    stats = LoadStats(due_tickets=due_ids)
    last_report = time.perf_counter()
    for first in range(1, tickets + 1, chunk):
        ticket_rows: list[dict[str, Any]] = []
        clock_rows: list[dict[str, Any]] = []
        work_rows: list[dict[str, Any]] = []
        for ticket_id in range(first, min(first + chunk, tickets + 1)):
            if ticket_id in due_ids:
                fraction = rng.choices(fractions, weights=shares)[0]
                row, clocks, work = factory.due_ticket(ticket_id, fraction)
            else:
                row, clocks, work = factory.future_ticket(ticket_id)
            ticket_rows.append(row)
            clock_rows.extend(clocks)
            work_rows.extend(work)
        async with db.engine.begin() as conn:
            await conn.execute(insert(Ticket), ticket_rows)
            await conn.execute(insert(SlaClock), clock_rows)
            await conn.execute(insert(DueWork), work_rows)
        stats.tickets += len(ticket_rows)
        stats.clocks += len(clock_rows)
        for row in work_rows:
            if row["status"] is WorkStatus.DONE:
                stats.done += 1
            else:
                stats.pending += 1
                stats.due += row["due_at"] <= now
        if time.perf_counter() - last_report > 10:
            last_report = time.perf_counter()
            say(f"  ... {stats.tickets:,}/{tickets:,} tickets")
    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            for table in ("site", "department", "person", "ticket"):
                # Ids were given explicitly: move the sequences past them.
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT max(id) FROM {table}))"
                    )
                )
    stats.seconds = time.perf_counter() - began
    return stats


T = TypeVar("T")
P = ParamSpec("P")


def timed(
    target: Callable[P, Coroutine[Any, Any, T]],
    log: list[tuple[float, T]],
    ended: list[float] | None = None,
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Wrap a bound coroutine method so each call's duration and result are logged (and
    when it ended, into `ended`)."""

    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        began = time.perf_counter()
        result = await target(*args, **kwargs)
        now = time.perf_counter()
        log.append((now - began, result))
        if ended is not None:
            ended.append(now)
        return result

    return wrapper


# --------------------------------------------------------------------------------------
# 2. One sweep over a big table


@dataclass
class SweepFigures:
    rows: list[tuple[str, str]] = field(default_factory=list)
    ok: bool = True
    profile: str = ""  # --profile: the sweep's top cost centres
    statements: str = ""  # --statements: the sweep's slowest statements

    def add(self, label: str, value: str) -> None:
        self.rows.append((label, value))


class StatementTimer:
    """Time spent in each kind of statement (sent until answered), for `--statements`."""

    # Parameter lists (an IN list, a multi-row VALUES) vary in length: one kind each.
    _PARAMS = re.compile(r"(\$\d+|\?|%\(\w+\)s)(\s*,\s*(\$\d+|\?|%\(\w+\)s))+")
    _ROWS = re.compile(r"\)(\s*,\s*\([^()]*\))+")

    def __init__(self, db: Database) -> None:
        self.spent: dict[str, list[float]] = {}  # statement -> [seconds, count]
        self._engine = db.engine.sync_engine
        self._started: list[float] = []
        event.listen(self._engine, "before_cursor_execute", self._before)
        event.listen(self._engine, "after_cursor_execute", self._after)

    def _before(self, *_args: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seconds = time.perf_counter() - self._started.pop()
        shape = self._ROWS.sub(")", self._PARAMS.sub("$n", " ".join(statement.split())))
        entry = self.spent.setdefault(shape, [0.0, 0])
        entry[0] += seconds
        entry[1] += 1

    def close(self) -> None:
        """Stop timing."""
        event.remove(self._engine, "before_cursor_execute", self._before)
        event.remove(self._engine, "after_cursor_execute", self._after)

    def report(self, top: int) -> str:
        """The `top` statements by time spent, with how often each was sent."""
        total = sum(seconds for seconds, _ in self.spent.values())
        lines = [f"{fmt_ms(total)} in {sum(n for _, n in self.spent.values()):,} statements"]
        ranked = sorted(self.spent.items(), key=lambda item: -item[1][0])
        for shape, (seconds, count) in ranked[:top]:
            lines.append(f"{fmt_ms(seconds):>10} {count:>6}x  {shape[:150]}")
        return "\n".join(lines)


async def server_cpu(db: Database) -> dict[int, float] | None:
    """CPU seconds used so far by each server process serving `db` (a server on this
    machine, PostgreSQL only), by process id; None where they cannot be read."""
    if db.dialect != "postgresql":
        return None
    async with db.reading() as session:
        pids = list(
            await session.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
        )
    return _process_cpu(pids)


def _process_cpu(pids: Sequence[int]) -> dict[int, float] | None:
    """CPU seconds used by each of these local PostgreSQL processes; None if one is not."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
                return None  # the server runs elsewhere: this process id is another's
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return used


async def sweep_benchmark(
    backend: str,
    pg_url: str | None,
    policy: Policy,
    tickets: int,
    due: int,
    seed: int,
    due_spread: timedelta = DUE_SPREAD,
    profile: int = 0,
    statements: int = 0,
) -> SweepFigures:
    figures = SweepFigures()
    say(f"{backend}: building {tickets:,} tickets ({due:,} due) for the sweep")
    began = time.perf_counter()
    async with scratch_database(backend, pg_url, "sweep") as url:
        schema_seconds = time.perf_counter() - began
        loader = Database(url)
        try:
            stats = await bulk_load(
                loader,
                policy,
                tickets=tickets,
                due=due,
                now=SWEEP_NOW,
                horizon=timedelta(0),
                seed=seed,
                due_spread=due_spread,
            )
            settle_seconds = await settle(loader)
        finally:
            await loader.dispose()
        build_seconds = time.perf_counter() - began
        say(f"{backend}: built in {build_seconds:,.1f} s; sweeping")

        db = Database(url)
        counter: StatementCounter | None = None
        try:
            async with db.reading() as session:
                head = await session.get(AuditHead, HEAD_ID)
                pending = await session.scalar(
                    select(func.count())
                    .select_from(DueWork)
                    .where(DueWork.status == WorkStatus.PENDING)
                )
                due_now = await session.scalar(
                    select(func.count())
                    .select_from(DueWork)
                    .where(DueWork.status == WorkStatus.PENDING, DueWork.due_at <= SWEEP_NOW)
                )
            if head is None:
                raise RuntimeError("audit head row missing after the migration")
            if due_now != due or pending != stats.pending:
                figures.ok = False
            helpdesk = helpdesk_over(db, clock=FrozenClock(SWEEP_NOW), policy=policy)
            runner = helpdesk.runner()
            started = time.perf_counter()
            await runner.next_wake()  # opens the connection; the runner has one in service
            first_wake = time.perf_counter() - started
            claims: list[tuple[float, list[int]]] = []
            chunks: list[tuple[float, None]] = []
            chunk_ends: list[float] = []  # chunks may overlap (PostgreSQL): when each ended
            runner.claim = timed(runner.claim, claims)  # type: ignore[method-assign]
            runner._fire_chunk = timed(  # type: ignore[method-assign]
                runner._fire_chunk, chunks, chunk_ends
            )
            counter = StatementCounter(db)
            timer = StatementTimer(db) if statements else None
            server_before = await server_cpu(db)
            # The collector as `faultdesk run` sets it once serving (undone after the sweep).
            thresholds = gc.get_threshold()
            tune_collector()
            profiler = cProfile.Profile() if profile else None
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                if profiler is not None:
                    profiler.enable()
                result = await runner.sweep()
                if profiler is not None:
                    profiler.disable()
                sweep_seconds = time.perf_counter() - started
                sweep_cpu = time.process_time() - cpu_started
            finally:
                gc.unfreeze()
                gc.set_threshold(*thresholds)
            server_after = await server_cpu(db)
            # A chunk ends with its commit: the last to end committed the last step.
            last_step = max(chunk_ends) - started if chunk_ends else 0.0
            sent = counter.count
            counter.close()
            counter = None
            if timer is not None:
                timer.close()
                figures.statements = timer.report(statements)
            wakes: list[float] = []
            next_at = None
            for _ in range(7):
                started = time.perf_counter()
                next_at = await runner.next_wake()
                wakes.append(time.perf_counter() - started)
            async with db.reading() as session:
                escalated = await session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "sla.escalated")
                )
                tickets_hit = await session.scalar(
                    select(func.count(func.distinct(AuditEvent.entity_id))).where(
                        AuditEvent.action == "sla.escalated"
                    )
                )
                left_due = await session.scalar(
                    select(func.count())
                    .select_from(DueWork)
                    .where(DueWork.status == WorkStatus.PENDING, DueWork.due_at <= SWEEP_NOW)
                )
                chain = await verify_chain(session)
        finally:
            if counter is not None:
                counter.close()
            await db.dispose()

    full_claims = [seconds for seconds, ids in claims if ids]
    empty_claims = [seconds for seconds, ids in claims if not ids]
    checked = (
        escalated == due
        and result.fired == due
        and result.failed == 0
        and left_due == 0
        and chain.ok
        and next_at is not None
        and next_at > SWEEP_NOW
    )
    figures.ok = figures.ok and checked
    figures.add("build: schema (migrations)", fmt_s(schema_seconds))
    figures.add("build: bulk insert", fmt_s(stats.seconds))
    upkeep = "VACUUM ANALYZE" if backend == "postgresql" else "WAL checkpoint"
    figures.add("build: after-load upkeep", f"{upkeep} {fmt_s(settle_seconds)}")
    figures.add("build: total", fmt_s(build_seconds))
    figures.add("tickets / sla_clock rows", f"{stats.tickets:,} / {stats.clocks:,}")
    figures.add("due_work pending rows", fmt_int(pending or 0))
    figures.add("  of which due at now", fmt_int(due_now or 0))
    figures.add("sweep: total", fmt_s(sweep_seconds))
    figures.add("sweep: last step committed after", fmt_s(last_step))
    figures.add("sweep: steps fired", fmt_int(result.fired))
    figures.add("sweep: fired/s", fmt_int(result.fired / sweep_seconds))
    figures.add("sweep: CPU of this process", fmt_s(sweep_cpu))
    if server_before is not None and server_after is not None:
        # Processes that began during the sweep count whole (the reading session's own
        # use is a few milliseconds).
        server = sum(cpu - server_before.get(pid, 0.0) for pid, cpu in server_after.items())
        figures.add("sweep: CPU of the database server", fmt_s(server))
    figures.add("sweep: claim rounds (non-empty)", str(len(full_claims)))
    if full_claims:
        claimed = len(claims[0][1])
        figures.add(f"claim round ({claimed} rows), first", fmt_ms(full_claims[0]))
    if empty_claims:
        figures.add("claim round (nothing due)", fmt_ms(median(empty_claims)))
    if chunks:
        figures.add(
            f"fire chunk ({runner.chunk} rows) median / max",
            f"{fmt_ms(median([s for s, _ in chunks]))} / {fmt_ms(max(s for s, _ in chunks))}",
        )
        spans = [(end - seconds, end) for (seconds, _), end in zip(chunks, chunk_ends, strict=True)]
        most = max(sum(1 for b, e in spans if b <= begin < e) for begin, _ in spans)
        figures.add("chunks in flight at once, most", str(most))
    figures.add("SQL statements per fired step", f"{sent / max(result.fired, 1):,.1f}")
    figures.add("next_wake() first call (connect)", fmt_ms(first_wake))
    figures.add("next_wake() after sweep, median", fmt_ms(median(wakes)))
    figures.add(
        "sla.escalated events (check)",
        f"{escalated:,} on {tickets_hit:,} tickets {'OK' if escalated == due else 'MISMATCH'}",
    )
    figures.add("audit chain / due left (check)", f"{'ok' if chain.ok else 'BROKEN'} / {left_due}")
    if profiler is not None:
        figures.profile = _top_costs(profiler, profile)
    return figures


def _top_costs(profiler: cProfile.Profile, top: int) -> str:
    """The `top` functions by own time (and by cumulative time) during the sweep."""
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return text.getvalue()


# --------------------------------------------------------------------------------------
# 3. Lateness under run()


async def lateness_benchmark(
    backend: str,
    pg_url: str | None,
    policy: Policy,
    *,
    background: int,
    seconds: float,
    rate: float,
    ahead: tuple[float, float],
    seed: int,
) -> SweepFigures:
    figures = SweepFigures()
    say(f"{backend}: lateness run of {seconds:g} s over {background:,} background tickets")
    began = time.perf_counter()
    async with scratch_database(backend, pg_url, "lateness") as url:
        loader = Database(url)
        try:
            # Steps must stay ahead of the whole run, building and draining included.
            horizon = timedelta(seconds=seconds + ahead[1] + 300)
            stats = await bulk_load(
                loader,
                policy,
                tickets=background,
                due=0,
                now=SystemClock().now(),
                horizon=horizon,
                seed=seed,
            )
            await settle(loader)
        finally:
            await loader.dispose()
        build_seconds = time.perf_counter() - began

        db = Database(url)
        try:
            helpdesk = helpdesk_over(db, policy=policy)
            core = helpdesk.core
            fired: set[str] = set()
            expected: list[int] = []  # how many will have been scheduled, once known
            all_fired = asyncio.Event()

            async def bench(_tx: Tx, work: DueWork) -> None:
                fired.add(work.key)
                if expected and len(fired) >= expected[0]:
                    all_fired.set()

            handlers = {**helpdesk.due_work_handlers(), BENCH_KIND: bench}
            runner = scheduling.DueWorkRunner(core, handlers)  # default max_idle
            runner.record_lateness = True
            sweeps: list[tuple[float, Any]] = []
            wakes: list[tuple[float, Any]] = []
            runner.sweep = timed(runner.sweep, sweeps)  # type: ignore[method-assign]
            runner.next_wake = timed(runner.next_wake, wakes)  # type: ignore[method-assign]
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop))
            await asyncio.sleep(0.5)  # the runner's first sweep; it is asleep now
            rng = random.Random(seed)
            loop = asyncio.get_running_loop()
            scheduled = 0
            schedule_times: list[float] = []
            start, cpu_started = loop.time(), time.process_time()
            while (elapsed := loop.time() - start) < seconds:
                # Near the end, schedule no further ahead than the end of the run.
                latest = max(ahead[0], min(ahead[1], seconds - elapsed))
                offset = timedelta(seconds=rng.uniform(ahead[0], latest))
                t0 = time.perf_counter()
                async with core.transaction() as tx:
                    await scheduling.schedule(
                        tx,
                        key=f"{BENCH_KIND}:{scheduled}",
                        kind=BENCH_KIND,
                        due_at=tx.now + offset,
                    )
                schedule_times.append(time.perf_counter() - t0)
                scheduled += 1
                await asyncio.sleep(max(0.0, start + scheduled / rate - loop.time()))
            expected.append(scheduled)
            if len(fired) >= scheduled:
                all_fired.set()
            with contextlib.suppress(TimeoutError):  # missing ones show as scheduled > fired
                async with asyncio.timeout(ahead[1] + 5):
                    await all_fired.wait()
            stop.set()
            await task
            run_seconds, run_cpu = loop.time() - start, time.process_time() - cpu_started
        finally:
            await db.dispose()
    lateness = [
        (fired_at - due_at).total_seconds()
        for key, due_at, fired_at in runner.fired_log
        if key.startswith(f"{BENCH_KIND}:")
    ]
    others = sum(1 for key, *_ in runner.fired_log if not key.startswith(f"{BENCH_KIND}:"))
    figures.ok = len(lateness) == scheduled and others == 0
    figures.add("build (background tickets)", fmt_s(build_seconds))
    figures.add("background pending rows", fmt_int(stats.pending))
    figures.add("run length (incl. drain)", fmt_s(run_seconds))
    figures.add("scheduled / fired", f"{scheduled:,} / {len(lateness):,}")
    if lateness:
        figures.add("lateness p50", fmt_ms(percentile(lateness, 0.5)))
        figures.add("lateness p99", fmt_ms(percentile(lateness, 0.99)))
        figures.add("lateness max", fmt_ms(max(lateness)))
        figures.add("early (negative) firings", str(sum(1 for late in lateness if late < 0)))
    figures.add("schedule() transaction p50 / p99", _p50_p99(schedule_times))
    figures.add("runner sweeps", fmt_int(len(sweeps)))
    figures.add("CPU of this process (runner+producer)", fmt_s(run_cpu))
    figures.add("sweep p50 / p99", _p50_p99([s for s, _ in sweeps]))
    figures.add("next_wake() p50 / p99", _p50_p99([s for s, _ in wakes]))
    if others:
        figures.add("other work fired (should be 0)", str(others))
    return figures


def _p50_p99(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{fmt_ms(percentile(values, 0.5))} / {fmt_ms(percentile(values, 0.99))}"


# --------------------------------------------------------------------------------------
# Command line


def print_backend_table(title: str, results: dict[str, SweepFigures]) -> None:
    backends = list(results)
    labels: list[str] = []
    for figures in results.values():
        for label, _ in figures.rows:
            if label not in labels:
                labels.append(label)
    cells = {b: dict(results[b].rows) for b in backends}
    rows = [(label, [cells[b].get(label, "-") for b in backends]) for label in labels]
    print_table(title, backends, rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sla_bench",
        description="Measure the SLA engine: deadline arithmetic, sweeps and lateness.",
    )
    add_backend_options(parser)
    parser.add_argument("--tickets", type=int, help="open tickets for the sweep (100000)")
    parser.add_argument("--due", type=int, help="steps due at the sweep (1000)")
    parser.add_argument("--lateness-seconds", type=float, help="length of the lateness run (60)")
    parser.add_argument(
        "--background-tickets", type=int, help="open tickets under the lateness run (10000)"
    )
    parser.add_argument(
        "--rate", type=float, default=20.0, help="due work scheduled per second (20)"
    )
    parser.add_argument(
        "--samples", type=int, help="random start times per calendar for part 1 (20000)"
    )
    parser.add_argument(
        "--parts",
        default="deadlines,sweep,lateness",
        help="comma-separated parts to run: deadlines, sweep, lateness (all)",
    )
    parser.add_argument(
        "--due-spread",
        type=float,
        default=DUE_SPREAD.total_seconds(),
        help="seconds over which the due steps fell due before now; 0: all at once (180)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="run the sweep under cProfile and print its top N cost centres (0: off)",
    )
    parser.add_argument(
        "--statements",
        type=int,
        default=0,
        metavar="N",
        help="time each statement of the sweep and print the N that took longest (0: off)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fast sanity run: 10000 tickets, 100 due, 5 s lateness, 2000 background tickets",
    )
    args = parser.parse_args(argv)
    defaults = (
        {
            "tickets": 10_000,
            "due": 100,
            "lateness_seconds": 5.0,
            "background_tickets": 2_000,
            "samples": 2_000,
        }
        if args.quick
        else {
            "tickets": 100_000,
            "due": 1_000,
            "lateness_seconds": 60.0,
            "background_tickets": 10_000,
            "samples": 20_000,
        }
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.backends = backends_to_measure(parser, args)
    args.parts = parts_to_run(parser, args.parts, ("deadlines", "sweep", "lateness"))
    if not 0 <= args.due <= args.tickets:
        parser.error("--due must be between 0 and --tickets")
    if not 0 <= args.due_spread <= 3600:
        parser.error("--due-spread must be between 0 and 3600 seconds")
    if args.profile < 0:
        parser.error("--profile must be 0 or more")
    if args.statements < 0:
        parser.error("--statements must be 0 or more")
    if not 0 < args.lateness_seconds <= 1800:
        parser.error("--lateness-seconds must be in (0, 1800]")
    return args


async def run_databases(args: argparse.Namespace, backends: Sequence[str]) -> bool:
    policy = load_policy()
    ok = True
    if "sweep" in args.parts:
        results = {}
        for backend in backends:
            results[backend] = await sweep_benchmark(
                backend,
                args.pg_url,
                policy,
                args.tickets,
                args.due,
                args.seed,
                due_spread=timedelta(seconds=args.due_spread),
                profile=args.profile,
                statements=args.statements,
            )
            ok = ok and results[backend].ok
        due_when = (
            "all due at that one instant"
            if args.due_spread == 0
            else f"fallen due over the last {args.due_spread:g} s"
        )
        print_backend_table(
            f"2. Sweep: {args.tickets:,} open tickets, {args.due:,} due steps"
            f" (FrozenClock at Tue 2026-03-03 15:00 Shanghai, {due_when})",
            results,
        )
        for backend, figures in results.items():
            if figures.profile:
                print(f"\nTop cost centres of the {backend} sweep (under cProfile):")
                print(figures.profile)
            if figures.statements:
                print(f"\nStatements of the {backend} sweep by time until answered:")
                print(figures.statements)
    if "lateness" in args.parts:
        results = {}
        for backend in backends:
            results[backend] = await lateness_benchmark(
                backend,
                args.pg_url,
                policy,
                background=args.background_tickets,
                seconds=args.lateness_seconds,
                rate=args.rate,
                ahead=(0.1, 5.0),
                seed=args.seed,
            )
            ok = ok and results[backend].ok
        print_backend_table(
            f"3. Lateness: DueWorkRunner.run() with SystemClock, max_idle 5 s,"
            f" ~{args.rate:g} items/s due 0.1-5 s ahead, {args.lateness_seconds:g} s",
            results,
        )
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    backends = args.backends
    began = time.perf_counter()
    print(
        f"faultdesk SLA benchmark: backends {', '.join(backends)}; python"
        f" {sys.version.split()[0]}; {os.cpu_count()} CPUs; seed {args.seed};"
        f" load average {os.getloadavg()[0]:.2f}"
    )
    if "deadlines" in args.parts:
        deadline_benchmark(args.samples, args.seed)
    ok = True
    if args.parts & {"sweep", "lateness"}:
        ok = asyncio.run(run_databases(args, backends))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"\ntotal wall time {time.perf_counter() - began:,.1f} s; peak RSS {peak_mb:,.0f} MB;"
        f" load average {os.getloadavg()[0]:.2f};"
        f" checks {'OK' if ok else 'FAILED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
