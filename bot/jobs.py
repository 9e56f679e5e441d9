"""Scheduled jobs: in-process APScheduler timers that wake idempotent core work.

The database is the source of truth. Every job calls a core function that is safe to
run twice or on two instances at once (inspection rounds are unique per plan and
period; report runs are unique per key), so APScheduler only decides *when* to look,
never *whether* something was done. Nothing is kept in APScheduler's memory store that
a restart could lose: jobs marked `at_start` also run once at start-up, which catches
up whatever fell due while the bot was down.

The registry is a plain mapping, `JOBS`, filled with the `@job` decorator:

    @job("monthly-summary", day=1, hour=8, minute=0)
    async def monthly_summary(helpdesk: Helpdesk, now: datetime) -> object:
        ...  # post last month's summary to the managers, keyed so it posts once

The cron fields are APScheduler's `CronTrigger` fields, read in the jobs' time zone
(Asia/Shanghai by default). A job gets the helpdesk and `now` from the injected clock,
so under an AcceleratedClock (the demo) the core sees domain time; the timers
themselves run on wall time, and the demo fires jobs itself with `run_job(name, ...)`.

Scheduling defaults: `coalesce` (runs missed during a stall collapse into one),
`max_instances=1` (a slow run is not overlapped by the next), and a misfire grace of
six hours (an event loop stalled past 07:30 still plans the day, a run later than that
is left to the next day or the next start-up).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

# APScheduler 3 ships no type information.
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from bot.logs import describe
from core import retention, surveys
from core.clock import DEFAULT_TIMEZONE, Clock
from core.reports.monthly import post_monthly_summary
from core.reports.quarterly import post_quarterly_scorecard
from core.services import Helpdesk

log = logging.getLogger(__name__)

JobRun = Callable[[Helpdesk, datetime], Awaitable[object]]

JOB_DEFAULTS: Final[Mapping[str, Any]] = {
    "coalesce": True,
    "max_instances": 1,
    "misfire_grace_time": 6 * 3600,
}
START_SUFFIX: Final = "@start"
RUNNING_ATTRIBUTE: Final = "faultdesk_running"  # the scheduler's runs in progress


@dataclass(frozen=True)
class Job:
    """A named piece of scheduled work: when it runs, and what it calls."""

    name: str
    run: JobRun
    cron: Mapping[str, int | str] = field(default_factory=dict)
    at_start: bool = False  # also once at start-up, to catch up on time the bot was down
    description: str = ""


JOBS: dict[str, Job] = {}


def job(name: str, *, at_start: bool = False, **cron: int | str) -> Callable[[JobRun], JobRun]:
    """Register a job under `name`, run at the CronTrigger fields `cron`."""

    def register(run: JobRun) -> JobRun:
        if name in JOBS:
            raise ValueError(f"job {name!r} registered twice")
        if not cron:
            raise ValueError(f"job {name!r} needs a schedule (CronTrigger fields)")
        JOBS[name] = Job(name, run, dict(cron), at_start, (run.__doc__ or "").strip())
        return run

    return register


# --- the jobs ------------------------------------------------------------------------------------


@job("inspection-planner", hour=7, minute=30, at_start=True)
async def plan_inspections(helpdesk: Helpdesk, now: datetime) -> object:
    """Create the inspection rounds of the current and next periods (idempotent)."""
    return await helpdesk.inspections.plan_rounds(now)


# Reports and the survey: each posts once per period (ReportRun / SurveyRound keys), so
# running daily through the window and at every start-up only catches up, never repeats.


@job("monthly-summary", day="1-15", hour=8, minute=0, at_start=True)
async def monthly_summary(helpdesk: Helpdesk, now: datetime) -> object:
    """Post last month's summary to the managers (once; by the 15th, 003)."""
    return await post_monthly_summary(helpdesk.core, now)


@job("quarterly-scorecard", month="1,4,7,10", day="1-15", hour=9, minute=0, at_start=True)
async def quarterly_scorecard(helpdesk: Helpdesk, now: datetime) -> object:
    """Post last quarter's scorecard with the payment percentage to the managers (once)."""
    return await post_quarterly_scorecard(helpdesk.core, now)


@job("survey-rounds", month="6,12", day="1-14", hour=10, minute=0, at_start=True)
async def survey_rounds(helpdesk: Helpdesk, now: datetime) -> object:
    """Open the semiannual satisfaction survey at every site and ask the staff (once)."""
    return await surveys.open_rounds(helpdesk.core, now)


@job("retention", hour=3, minute=20, at_start=True)
async def prune_old_rows(helpdesk: Helpdesk, now: datetime) -> object:
    """Prune handled updates, delivered messages and finished tickets' due work by age."""
    return await retention.prune(helpdesk.core, helpdesk.retention, now)


@job("audit-anchor", hour=0, minute=5, at_start=True)
async def audit_anchor(helpdesk: Helpdesk, now: datetime) -> object:
    """Post the audit chain's fingerprint to the audit channel (once a day; off the host)."""
    return await helpdesk.anchors.post_daily(now)


# --- running them ------------------------------------------------------------------------------


async def run_job(name: str, helpdesk: Helpdesk, clock: Clock) -> object:
    """Run one job now, at the clock's time (the demo, the command line, tests)."""
    try:
        spec = JOBS[name]
    except KeyError:
        raise LookupError(f"no job {name!r} (known: {', '.join(sorted(JOBS))})") from None
    return await spec.run(helpdesk, clock.now())


async def _run_logged(
    spec: Job, helpdesk: Helpdesk, clock: Clock, running: set[asyncio.Task[Any]]
) -> None:
    """A scheduled run: a failure is logged and the next run tries again."""
    task = asyncio.current_task()
    if task is not None:
        running.add(task)
    try:
        result = await spec.run(helpdesk, clock.now())
    except Exception:  # the timer must survive a failed run; the data is still consistent
        log.exception("job %s failed", spec.name)
        return
    finally:
        if task is not None:
            running.discard(task)
    log.info("job %s done: %s", spec.name, describe(result))


async def stop_scheduler(scheduler: AsyncIOScheduler) -> None:
    """Stop the timers, and wait for the runs in progress to end.

    APScheduler cancels running coroutine jobs at shutdown without waiting for them; a
    run cut off mid-transaction must still roll back while the database is open, so the
    caller disposes the engine only after this returns. A cancelled run is repeated by
    the next start or the next day (every job is idempotent).
    """
    running = list(getattr(scheduler, RUNNING_ATTRIBUTE, ()))
    if scheduler.running:
        scheduler.shutdown(wait=False)
    if running:
        await asyncio.gather(*running, return_exceptions=True)


def build_scheduler(
    helpdesk: Helpdesk,
    clock: Clock,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    jobs: Mapping[str, Job] | None = None,
) -> AsyncIOScheduler:
    """An AsyncIOScheduler with every registered job (start it inside the event loop)."""
    tz = ZoneInfo(timezone)
    scheduler = AsyncIOScheduler(timezone=tz, job_defaults=dict(JOB_DEFAULTS))
    running: set[asyncio.Task[Any]] = set()  # runs in progress, for stop_scheduler
    setattr(scheduler, RUNNING_ATTRIBUTE, running)
    for spec in (JOBS if jobs is None else jobs).values():
        scheduler.add_job(
            _run_logged,
            CronTrigger(timezone=tz, **spec.cron),
            args=(spec, helpdesk, clock, running),
            id=spec.name,
            name=spec.description or spec.name,
            replace_existing=True,
        )
        if spec.at_start:
            # Fires as soon as the scheduler starts; removed after its one run.
            scheduler.add_job(
                _run_logged,
                DateTrigger(timezone=tz),
                args=(spec, helpdesk, clock, running),
                id=spec.name + START_SUFFIX,
                name=spec.description or spec.name,
                replace_existing=True,
            )
    return scheduler
