"""Firing a ladder step: remind, page, raise the level, inside the runner's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update

from core import outbox, pages, scheduling
from core.enums import OutboxStatus, Role, WorkStatus
from core.messages import (
    DeadlineMessage,
    DeadlinePage,
    DeadlineReminder,
    EscalationPage,
    ManagerAlert,
    MissedDeadline,
    NextDeadline,
    ReporterDeadlineNotice,
    SiteGroupAlert,
    ticket_facts,
)
from core.models import DueWork, OutboxMessage, Page, Person, Site, SlaClock, Ticket
from core.people import people_with_role
from core.sla import batch, deadlines
from core.sla.holder import holder_facts
from core.sla.policy import EscalationAction as A
from core.unit_of_work import Tx

PAGES: dict[str, type[EscalationPage]] = {"page": DeadlinePage, "manager": ManagerAlert}
# Steps with these actions are also posted in the site's alert group, if it has one.
PAGING = frozenset({A.PAGE_ASSIGNEE, A.PAGE_BACKUP, A.PAGE_DISPATCHERS, A.PAGE_MANAGERS})


async def _recipients(tx: Tx, ticket: Ticket, action: A) -> list[Person]:
    """Who an action reaches; with no assignee, the dispatchers stand in for them."""
    assignee = await batch.get(tx, Person, ticket.assignee_id) if ticket.assignee_id else None
    if action in (A.REMIND_ASSIGNEE, A.PAGE_ASSIGNEE):
        if assignee is not None and assignee.active:
            return [assignee]
        return list(await people_with_role(tx, Role.DISPATCHER, ticket.site_id))
    if action is A.PAGE_BACKUP:
        if assignee is None or assignee.backup_id is None:
            return []
        backup = await batch.get(tx, Person, assignee.backup_id)
        return [backup] if backup is not None and backup.active else []
    if action is A.PAGE_DISPATCHERS:
        return list(await people_with_role(tx, Role.DISPATCHER, ticket.site_id))
    if action is A.PAGE_MANAGERS:
        return list(await people_with_role(tx, Role.MANAGER, ticket.site_id))
    if action is A.NOTIFY_REPORTER:
        reporter = await batch.get(tx, Person, ticket.reporter_id)
        return [reporter] if reporter is not None else []
    return []


async def fire_escalation(tx: Tx, work: DueWork) -> None:
    """Carry out one ladder step of one clock, once."""
    assert work.ticket_id is not None
    ticket = await tx.ticket_for_update(work.ticket_id)
    if ticket is None:
        return
    clock = await batch.clock_of_step(
        tx, ticket.id, work.payload["clock"], int(work.payload["cycle"])
    )
    if clock is None or not deadlines.is_running(clock):
        return  # the clock stopped after the step was claimed: nothing to escalate
    fraction = float(work.payload["at"])
    others = await _other_steps(tx, ticket, clock, work)
    if _warns_ahead(work) and any(_overtakes(tx, other, fraction) for other in others):
        # Caught up after downtime: the deadline this step warns of has passed already.
        await _skip(tx, ticket, clock, work, reason="overtaken")
        return
    # A step never goes out before the earlier steps of its clock (a manager alert before
    # the page it escalates): earlier ones still pending fire first, or are dropped when
    # they only warn ahead.
    for earlier in sorted(others, key=_fraction):
        if _fraction(earlier) >= fraction or not _pending_and_due(tx, earlier):
            continue
        if _warns_ahead(earlier):
            await _skip(tx, ticket, clock, earlier, reason="overtaken")
            earlier.status = WorkStatus.CANCELLED
        else:
            await _carry_out(tx, ticket, clock, earlier)
            earlier.status = WorkStatus.DONE
        earlier.done_at = tx.now
        earlier.lease_owner = None
        earlier.lease_until = None
    await _drop_unsent_warnings(tx, ticket, clock, others, fraction)
    await _carry_out(tx, ticket, clock, work)


# Steps with only these actions, below 100 %, warn that a deadline is near: moot once
# it has passed.
ADVANCE_WARNINGS = frozenset({A.REMIND_ASSIGNEE, A.NOTIFY_REPORTER})


def _fraction(work: DueWork) -> float:
    return float(work.payload["at"])


def _warns_ahead(work: DueWork) -> bool:
    """A step that only warns ahead of the deadline (the 80 % reminder)."""
    actions = {A(value) for value in work.payload["actions"]}
    return _fraction(work) < 1.0 and actions <= ADVANCE_WARNINGS


def _pending_and_due(tx: Tx, work: DueWork) -> bool:
    return work.status == WorkStatus.PENDING and work.due_at is not None and work.due_at <= tx.now


def _overtakes(tx: Tx, other: DueWork, fraction: float) -> bool:
    """A later step of the clock already fired, or due now."""
    return _fraction(other) > fraction and (
        other.status == WorkStatus.DONE or _pending_and_due(tx, other)
    )


async def _other_steps(tx: Tx, ticket: Ticket, clock: SlaClock, work: DueWork) -> list[DueWork]:
    """The clock's other ladder steps (this visit), fired or not."""
    prefix = deadlines.step_prefix(ticket.id, clock.cycle, clock.kind)
    return await batch.steps_with_prefix(tx, ticket.id, prefix, but=work.id)


# A step's outbox rank is its percent times this; its page's repeats take the ranks after
# it, so each goes out after the page it repeats and before the next step.
RANKS_PER_STEP = 100


def chain_of(ticket: Ticket, clock: SlaClock) -> str:
    """The outbox chain of one clock's steps: they reach people in ladder order."""
    return deadlines.step_prefix(ticket.id, clock.cycle, clock.kind)


async def _drop_unsent_warnings(
    tx: Tx, ticket: Ticket, clock: SlaClock, others: list[DueWork], fraction: float
) -> None:
    """Drop the still unsent messages of earlier warn-ahead steps (the 80 % reminder).

    Fired in time but not delivered yet (the senders were down, the message waits for
    a retry): the deadline it warns of has passed, so it would only arrive late and
    after the page. A row already in a sender's hand may still go out; if it does,
    recording it marks it sent again, so the table stays true.
    """
    if not batch.may_hold_unsent(tx, ticket.id, chain_of(ticket, clock)):
        return  # nothing of this ladder was waiting when the chunk began
    for earlier in others:
        if _fraction(earlier) >= fraction or not _warns_ahead(earlier):
            continue
        if earlier.status != WorkStatus.DONE:
            continue
        result = await tx.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.key.startswith(f"{earlier.key}:"),
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.DROPPED, lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        dropped = int(getattr(result, "rowcount", 0) or 0)
        if dropped:
            await tx.record(
                "ticket",
                ticket.id,
                "sla.reminder_dropped",
                clock=clock.kind,
                percent=round(_fraction(earlier) * 100),
                messages=dropped,
            )


async def _skip(tx: Tx, ticket: Ticket, clock: SlaClock, work: DueWork, *, reason: str) -> None:
    """Record a step dropped instead of sent late."""
    await tx.record(
        "ticket",
        ticket.id,
        "sla.step_skipped",
        clock=clock.kind,
        percent=round(_fraction(work) * 100),
        reason=reason,
    )


# A manager alert outranks a page, which outranks a reminder, which outranks a notice.
LEVELS = ("reporter", "reminder", "page", "manager")


def _level_of(action: A) -> str:
    if action is A.PAGE_MANAGERS:
        return "manager"
    if action is A.REMIND_ASSIGNEE:
        return "reminder"
    if action is A.NOTIFY_REPORTER:
        return "reporter"
    return "page"


async def _reach(tx: Tx, ticket: Ticket, actions: list[A], reached: dict[int, str]) -> None:
    """Add whom `actions` reach to `reached` (person -> highest level): one message each."""
    for action in actions:
        if action is A.RAISE_SEVERITY:
            continue
        level = _level_of(action)
        for person in await _recipients(tx, ticket, action):
            known = reached.get(person.id)
            if known is None or LEVELS.index(level) > LEVELS.index(known):
                reached[person.id] = level


@dataclass
class Coalesced:
    """The new level's steps already past at a raise, folded into the raising step."""

    steps: list[DueWork] = field(default_factory=list)
    actions: set[A] = field(default_factory=set)
    missed: list[MissedDeadline] = field(default_factory=list)
    next_due: NextDeadline | None = None


async def _steps_ahead(tx: Tx, ticket: Ticket) -> set[int]:
    """The ticket's pending ladder steps not yet due (before a raise moves them)."""
    rows = await scheduling.pending_for_ticket(tx, ticket.id, deadlines.ESCALATION)
    return {row.id for row in rows if row.due_at is None or row.due_at > tx.now}


async def _past_steps(tx: Tx, ticket: Ticket, ahead: set[int]) -> list[DueWork]:
    """Of the steps that were `ahead`, those a raise has moved into the past."""
    rows = await scheduling.pending_for_ticket(tx, ticket.id, deadlines.ESCALATION)
    return sorted(
        (
            row
            for row in rows
            if row.id in ahead
            and int(row.payload["cycle"]) == ticket.cycle
            and row.due_at is not None
            and row.due_at <= tx.now
        ),
        key=lambda row: (row.due_at, _fraction(row)),
    )


async def _raise(tx: Tx, ticket: Ticket, clock: SlaClock, ahead: set[int]) -> int:
    """Raise the level one step, and again while the new level's deadlines are missed.

    The new level's targets count from when each clock started (the report, the
    dispatch), as the old ones did: 003 §2.1.1 upgrades the *fault* ("故障级别将自动升级")
    and §2.1 asks that each fault level's time limits be met ("满足...相应故障级别的处理
    时限"); the fault was reported when it was, so the raised level's limits count from
    then, not from the raise. A raised deadline may therefore already have passed: if
    that step raises the level too, the fault goes up again now, as the sweep would
    have done step by step.
    """
    await deadlines.change_severity(tx, ticket, ticket.severity - 1, reason=f"{clock.kind}_missed")
    while ticket.severity > 1:
        raising = [
            step
            for step in await _past_steps(tx, ticket, ahead)
            if _fraction(step) >= 1.0 and A.RAISE_SEVERITY.value in step.payload["actions"]
        ]
        if not raising:
            break
        reason = f"{raising[0].payload['clock']}_missed"
        await deadlines.change_severity(tx, ticket, ticket.severity - 1, reason=reason)
    return ticket.severity


async def _coalesce(tx: Tx, ticket: Ticket, clock: SlaClock, ahead: set[int]) -> Coalesced:
    """Fold the steps a raise left in the past into this step (issue: one alert, not a storm).

    Each is marked done and logged as coalesced; a missed deadline is recorded as
    breached at its own due time, as firing it would have; reminders and reporter
    notices among them are moot (the deadline they warn of is gone; the reporter hears
    from the hourly progress message).
    """
    found = Coalesced()
    clocks = await deadlines.clocks_of(tx, ticket)
    for step in await _past_steps(tx, ticket, ahead):
        other = clocks.get(str(step.payload["clock"]))
        if other is None or not deadlines.is_running(other):
            continue  # the runner drops it as it would have
        fraction = _fraction(step)
        if fraction >= 1.0:
            due_at = other.due_at or tx.now
            if other.breached_at is None:
                other.breached_at = due_at
            if other.kind != clock.kind and all(m.clock != other.kind for m in found.missed):
                overdue = int((tx.now - due_at).total_seconds())
                found.missed.append(MissedDeadline(other.kind, due_at, overdue))
        found.actions.update(
            A(value)
            for value in step.payload["actions"]
            if A(value) not in (A.REMIND_ASSIGNEE, A.NOTIFY_REPORTER, A.RAISE_SEVERITY)
        )
        step.status = WorkStatus.DONE
        step.done_at = tx.now
        step.lease_owner = None
        step.lease_until = None
        found.steps.append(step)
        await _skip(tx, ticket, other, step, reason="coalesced")
    upcoming = [
        (c.due_at, c.kind)
        for c in clocks.values()
        if deadlines.is_running(c) and c.due_at is not None and c.due_at > tx.now
    ]
    if upcoming:
        due_at, kind = min(upcoming)
        found.next_due = NextDeadline(kind, due_at)
    return found


async def _carry_out(tx: Tx, ticket: Ticket, clock: SlaClock, work: DueWork) -> None:
    """Remind, page, raise the level and tell whom the step names, once.

    A raise folds the new level's steps already past into this step: whom they would
    have reached get this step's message (at the highest level any of them called
    for), saying which other deadlines are missed and what is due next.
    """
    fraction = _fraction(work)
    due_at = clock.due_at or tx.now
    if fraction >= 1.0 and clock.breached_at is None:
        clock.breached_at = due_at
    percent = round(fraction * 100)
    actions = [A(value) for value in work.payload["actions"]]
    reached: dict[int, str] = {}  # person -> level; one message per person per step
    await _reach(tx, ticket, actions, reached)
    facts = ticket_facts(ticket)  # as the step found it, before any raise
    raised_to = None
    coalesced = Coalesced()
    if A.RAISE_SEVERITY in actions and ticket.severity > 1:
        # Only steps the raise moves into the past are folded in; those due already
        # fire on their own, in ladder order.
        ahead = await _steps_ahead(tx, ticket)
        raised_to = await _raise(tx, ticket, clock, ahead)
        coalesced = await _coalesce(tx, ticket, clock, ahead)
        await _reach(tx, ticket, sorted(coalesced.actions), reached)
    step = {
        **facts,
        **await holder_facts(tx, ticket, clock),
        "clock": clock.kind,
        "percent": percent,
        "due_at": due_at,
        "overdue_seconds": int((tx.now - due_at).total_seconds()),
        "raised_to": raised_to,
        "also_missed": tuple(coalesced.missed),
        "next_due": coalesced.next_due,
    }
    chain = chain_of(ticket, clock)
    for person_id, level in sorted(reached.items()):
        message: DeadlineMessage
        if level in PAGES:
            page = Page(
                ticket_id=ticket.id,
                recipient_id=person_id,
                clock=clock.kind,
                level=level,
                step_key=work.key,
                created_at=tx.now,
            )
            await batch.add_page(tx, page)  # its id, without a flush in a batch
            await pages.schedule_repeat(tx, page, 1)  # repeats until acknowledged
            message = PAGES[level](**step, page_id=page.id)
            await outbox.enqueue(
                tx,
                message,
                key=f"{work.key}:{person_id}",
                recipient_id=person_id,
                page_id=page.id,
                chain=chain,
                rank=percent * RANKS_PER_STEP,
            )
            continue
        message = (DeadlineReminder if level == "reminder" else ReporterDeadlineNotice)(**step)
        await outbox.enqueue(
            tx,
            message,
            key=f"{work.key}:{person_id}",
            recipient_id=person_id,
            chain=chain,
            rank=percent * RANKS_PER_STEP,
            # A warning ahead of the deadline is moot once it has passed: a sender that
            # comes back later (or takes over) drops it instead of sending it late.
            expires_at=due_at if _warns_ahead(work) else None,
        )
    everything = [*actions, *sorted(coalesced.actions - set(actions))]
    await _post_to_site_group(tx, ticket, clock, work, everything, step)
    extra: dict[str, Any] = {}
    if coalesced.steps:
        extra["coalesced"] = [
            {"clock": s.payload["clock"], "percent": round(_fraction(s) * 100)}
            for s in coalesced.steps
        ]
    await tx.record(
        "ticket",
        ticket.id,
        "sla.escalated",
        clock=clock.kind,
        percent=percent,
        actions=[a.value for a in actions],
        recipients=sorted(reached),
        raised_to=raised_to,
        **extra,
    )


async def _post_to_site_group(
    tx: Tx,
    ticket: Ticket,
    clock: SlaClock,
    work: DueWork,
    actions: list[A],
    step: dict[str, Any],
) -> None:
    """A paging step is also posted, once, in the site's alert group (no repeats there)."""
    if not PAGING.intersection(actions):
        return
    site = await batch.get(tx, Site, ticket.site_id)
    if site is None or site.alert_chat_id is None:
        return
    level = "manager" if A.PAGE_MANAGERS in actions else "page"
    await outbox.enqueue(
        tx,
        SiteGroupAlert(**step, level=level),
        key=f"{work.key}:group",
        chat_id=site.alert_chat_id,
        chain=chain_of(ticket, clock),
        rank=step["percent"] * RANKS_PER_STEP,
    )
