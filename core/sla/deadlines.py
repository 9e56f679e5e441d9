"""Per-ticket deadlines: start, pause, resume, retarget and stop the SLA clocks.

A clock counts business time in one calendar. Pauses add to `paused_seconds`, so
the clock is due when `between(started_at, due_at) == target + paused`. Each clock
carries its escalation ladder as due-work rows, moved whenever the deadline moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select

from core import deferred, scheduling
from core.models import AuditEvent, DueWork, Pause, SlaClock, Ticket
from core.sla.calendar import BusinessCalendar
from core.sla.policy import ClockKind, PauseReason
from core.unit_of_work import Tx

ESCALATION = "escalation"
ALL_CLOCKS = (ClockKind.ACKNOWLEDGE, ClockKind.ARRIVAL, ClockKind.RESTORE, ClockKind.RESOLVE)


def step_key(ticket_id: int, cycle: int, kind: str, at: float) -> str:
    """Idempotency key of one ladder step: one per ticket, cycle, clock and threshold."""
    return f"esc:{ticket_id}:{cycle}:{kind}:{round(at * 100)}"


def step_prefix(ticket_id: int, cycle: int, kind: str) -> str:
    """Key prefix shared by every step of one clock."""
    return f"esc:{ticket_id}:{cycle}:{kind}:"


def calendar_of(tx: Tx, ticket: Ticket, clock: SlaClock) -> BusinessCalendar:
    """The calendar the clock counts in, in the ticket's time zone."""
    return tx.calendar(clock.calendar, ticket.timezone)


def moment_at(tx: Tx, ticket: Ticket, clock: SlaClock, fraction: float) -> datetime:
    """When the clock reaches `fraction` of its target, given pauses so far."""
    business = timedelta(seconds=clock.target_seconds * fraction + clock.paused_seconds)
    return calendar_of(tx, ticket, clock).add(clock.started_at, business)


def first_deadline(tx: Tx, ticket: Ticket, kind: ClockKind, at: datetime) -> datetime:
    """The deadline a clock of `kind` started at `at` has (`start_clocks` gives it the same).

    Known before the ticket is written: its row goes out with its promised arrival.
    """
    due_at = _new_clock(tx, ticket, kind, at).due_at
    assert due_at is not None  # a clock just started is not paused
    return due_at


def _new_clock(tx: Tx, ticket: Ticket, kind: ClockKind, at: datetime) -> SlaClock:
    """A clock of `kind` started at `at`, with its target and deadline (not yet added)."""
    target = tx.policy.target(kind, ticket.severity, ticket.region, ticket.service_hours)
    clock = SlaClock(
        ticket_id=ticket.id,
        kind=kind.value,
        cycle=ticket.cycle,
        started_at=at,
        target_seconds=int(target.within.total_seconds()),
        calendar=target.measure_in,
        paused_seconds=0.0,
    )
    clock.due_at = moment_at(tx, ticket, clock, 1.0)
    return clock


async def clocks_of(tx: Tx, ticket: Ticket, *, cycle: int | None = None) -> dict[str, SlaClock]:
    """The ticket's clocks of the current (or given) cycle, by kind."""
    rows = await tx.session.scalars(
        select(SlaClock).where(
            SlaClock.ticket_id == ticket.id,
            SlaClock.cycle == (ticket.cycle if cycle is None else cycle),
        )
    )
    return {row.kind: row for row in rows}


def is_running(clock: SlaClock) -> bool:
    """Started, not stopped, not cancelled."""
    return clock.stopped_at is None and not clock.cancelled


async def start_clocks(
    tx: Tx, ticket: Ticket, kinds: Iterable[ClockKind], at: datetime
) -> list[SlaClock]:
    """Start clocks at `at` with targets for the ticket's severity, region and hours.

    The clocks and their ladder steps go out as one insert per table (`core.deferred`),
    not a statement per row: a new ticket schedules a dozen steps.
    """
    if deferred.deferring(tx):  # a batch already holds inserts back; they join it
        return await _start_clocks(tx, ticket, kinds, at)
    async with deferred.deferred_inserts(tx):
        return await _start_clocks(tx, ticket, kinds, at)


async def _start_clocks(
    tx: Tx, ticket: Ticket, kinds: Iterable[ClockKind], at: datetime
) -> list[SlaClock]:
    started = []
    for kind in kinds:
        clock = _new_clock(tx, ticket, kind, at)
        tx.session.add(clock)
        started.append(clock)
        for step in tx.policy.ladder(kind):
            await scheduling.schedule(
                tx,
                key=step_key(ticket.id, ticket.cycle, kind, step.at),
                kind=ESCALATION,
                due_at=moment_at(tx, ticket, clock, step.at),
                ticket_id=ticket.id,
                payload={
                    "clock": kind.value,
                    "cycle": ticket.cycle,
                    "at": step.at,
                    "actions": [action.value for action in step.actions],
                },
            )
    await tx.session.flush()
    return started


async def _steps_of(tx: Tx, ticket: Ticket, clock: SlaClock) -> list[DueWork]:
    """Pending ladder steps of one clock."""
    prefix = step_prefix(ticket.id, clock.cycle, clock.kind)
    rows = await scheduling.pending_for_ticket(tx, ticket.id, ESCALATION)
    return [row for row in rows if row.key.startswith(prefix)]


async def _reschedule_steps(tx: Tx, ticket: Ticket, clock: SlaClock) -> None:
    """Move every pending step of a clock to match its current deadline."""
    for work in await _steps_of(tx, ticket, clock):
        await scheduling.set_due(tx, work, moment_at(tx, ticket, clock, float(work.payload["at"])))


async def stop_clock(
    tx: Tx, ticket: Ticket, kind: ClockKind, *, cancelled: bool = False
) -> SlaClock | None:
    """Stop a running clock now: met if now is not past due; cancelled clocks do not count."""
    clock = (await clocks_of(tx, ticket)).get(kind.value)
    if clock is None or not is_running(clock):
        return None
    if clock.paused_since is not None:
        await _end_pause_of(tx, ticket, clock)
    clock.stopped_at = tx.now
    if cancelled:
        clock.cancelled = True
        clock.met = None
    else:
        clock.met = clock.due_at is not None and tx.now <= clock.due_at
        if not clock.met and clock.breached_at is None:
            clock.breached_at = clock.due_at
    await scheduling.cancel_where(
        tx,
        DueWork.ticket_id == ticket.id,
        DueWork.kind == ESCALATION,
        DueWork.key.startswith(step_prefix(ticket.id, clock.cycle, clock.kind)),
    )
    return clock


async def stop_all(tx: Tx, ticket: Ticket, *, cancelled: bool) -> None:
    """Stop every running clock of the current cycle."""
    for kind in ALL_CLOCKS:
        await stop_clock(tx, ticket, kind, cancelled=cancelled)


async def pause_clocks(tx: Tx, ticket: Ticket, reason: PauseReason) -> list[str]:
    """Suspend the clocks the policy says this reason stops; returns their kinds."""
    stopped_kinds = {kind.value for kind in tx.policy.pauses_stop(reason)}
    paused = []
    for clock in (await clocks_of(tx, ticket)).values():
        if (
            clock.kind not in stopped_kinds
            or not is_running(clock)
            or clock.paused_since is not None
        ):
            continue
        clock.paused_since = tx.now
        clock.due_at = None
        for work in await _steps_of(tx, ticket, clock):
            # A step already due stays due: pausing later must not hide an overdue page.
            if work.due_at is not None and work.due_at > tx.now:
                await scheduling.set_due(tx, work, None)
        paused.append(clock.kind)
    return paused


async def _end_pause_of(tx: Tx, ticket: Ticket, clock: SlaClock) -> None:
    """Add the paused business time to the clock and recompute its deadline."""
    assert clock.paused_since is not None
    paused = calendar_of(tx, ticket, clock).between(clock.paused_since, tx.now)
    clock.paused_seconds += paused.total_seconds()
    clock.paused_since = None
    clock.due_at = moment_at(tx, ticket, clock, 1.0)
    await _reschedule_steps(tx, ticket, clock)


async def resume_clocks(tx: Tx, ticket: Ticket) -> list[str]:
    """Restart every paused clock; returns their kinds."""
    resumed = []
    for clock in (await clocks_of(tx, ticket)).values():
        if clock.paused_since is not None and is_running(clock):
            await _end_pause_of(tx, ticket, clock)
            resumed.append(clock.kind)
    return resumed


async def _paused_business_seconds(
    tx: Tx, ticket: Ticket, clock: SlaClock, cal: BusinessCalendar
) -> float:
    """Business time the clock spent paused, recounted from the pause records in `cal`."""
    pauses = await tx.session.scalars(
        select(Pause).where(Pause.ticket_id == ticket.id, Pause.ended_at.is_not(None))
    )
    total = 0.0
    for pause in pauses:
        if clock.kind not in {
            kind.value for kind in tx.policy.pauses_stop(PauseReason(pause.reason))
        }:
            continue
        assert pause.ended_at is not None
        start = max(pause.started_at, clock.started_at)
        if pause.ended_at > start:
            total += cal.between(start, pause.ended_at).total_seconds()
    return total


async def retarget(tx: Tx, ticket: Ticket) -> list[str]:
    """Re-read targets after a severity change; running clocks keep their start."""
    changed = []
    for clock in (await clocks_of(tx, ticket)).values():
        if not is_running(clock):
            continue
        target = tx.policy.target(
            ClockKind(clock.kind), ticket.severity, ticket.region, ticket.service_hours
        )
        seconds = int(target.within.total_seconds())
        if seconds == clock.target_seconds and target.measure_in == clock.calendar:
            continue
        if target.measure_in != clock.calendar:
            clock.calendar = target.measure_in
            clock.paused_seconds = await _paused_business_seconds(
                tx, ticket, clock, calendar_of(tx, ticket, clock)
            )
        clock.target_seconds = seconds
        if clock.paused_since is None:
            clock.due_at = moment_at(tx, ticket, clock, 1.0)
            await _reschedule_steps(tx, ticket, clock)
        changed.append(clock.kind)
    return changed


async def change_severity(tx: Tx, ticket: Ticket, severity: int, *, reason: str) -> AuditEvent:
    """Set the level and move every running deadline to the new targets."""
    previous = ticket.severity
    ticket.severity = severity
    changed = await retarget(tx, ticket)
    return await tx.audit(
        "ticket",
        ticket.id,
        "ticket.severity_changed",
        previous=previous,
        severity=severity,
        reason=reason,
        clocks=changed,
    )
