"""Firing a ladder step: remind, page, raise the level, inside the runner's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from core import outbox, pages
from core.enums import OutboxStatus, Role, WorkStatus
from core.messages import (
    DeadlineMessage,
    DeadlinePage,
    DeadlineReminder,
    EscalationPage,
    ManagerAlert,
    ReporterDeadlineNotice,
    SiteGroupAlert,
    ticket_facts,
)
from core.models import DueWork, OutboxMessage, Page, Person, Site, SlaClock, Ticket
from core.people import people_with_role
from core.sla import deadlines
from core.sla.holder import holder_facts
from core.sla.policy import EscalationAction as A
from core.unit_of_work import Tx

PAGES: dict[str, type[EscalationPage]] = {"page": DeadlinePage, "manager": ManagerAlert}
# Steps with these actions are also posted in the site's alert group, if it has one.
PAGING = frozenset({A.PAGE_ASSIGNEE, A.PAGE_BACKUP, A.PAGE_DISPATCHERS, A.PAGE_MANAGERS})


async def _recipients(tx: Tx, ticket: Ticket, action: A) -> list[Person]:
    """Who an action reaches; with no assignee, the dispatchers stand in for them."""
    assignee = await tx.session.get(Person, ticket.assignee_id) if ticket.assignee_id else None
    if action in (A.REMIND_ASSIGNEE, A.PAGE_ASSIGNEE):
        if assignee is not None and assignee.active:
            return [assignee]
        return list(await people_with_role(tx, Role.DISPATCHER, ticket.site_id))
    if action is A.PAGE_BACKUP:
        if assignee is None or assignee.backup_id is None:
            return []
        backup = await tx.session.get(Person, assignee.backup_id)
        return [backup] if backup is not None and backup.active else []
    if action is A.PAGE_DISPATCHERS:
        return list(await people_with_role(tx, Role.DISPATCHER, ticket.site_id))
    if action is A.PAGE_MANAGERS:
        return list(await people_with_role(tx, Role.MANAGER, ticket.site_id))
    if action is A.NOTIFY_REPORTER:
        reporter = await tx.session.get(Person, ticket.reporter_id)
        return [reporter] if reporter is not None else []
    return []


async def fire_escalation(tx: Tx, work: DueWork) -> None:
    """Carry out one ladder step of one clock, once."""
    assert work.ticket_id is not None
    ticket = await tx.ticket_for_update(work.ticket_id)
    if ticket is None:
        return
    clock = await tx.session.scalar(
        select(SlaClock).where(
            SlaClock.ticket_id == ticket.id,
            SlaClock.kind == work.payload["clock"],
            SlaClock.cycle == int(work.payload["cycle"]),
        )
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
    rows = await tx.session.scalars(
        select(DueWork).where(
            DueWork.ticket_id == ticket.id,
            DueWork.kind == deadlines.ESCALATION,
            DueWork.key.startswith(prefix),
            DueWork.id != work.id,
        )
    )
    return list(rows)


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
            await tx.audit(
                "ticket",
                ticket.id,
                "sla.reminder_dropped",
                clock=clock.kind,
                percent=round(_fraction(earlier) * 100),
                messages=dropped,
            )


async def _skip(tx: Tx, ticket: Ticket, clock: SlaClock, work: DueWork, *, reason: str) -> None:
    """Record a step dropped instead of sent late."""
    await tx.audit(
        "ticket",
        ticket.id,
        "sla.step_skipped",
        clock=clock.kind,
        percent=round(_fraction(work) * 100),
        reason=reason,
    )


async def _carry_out(tx: Tx, ticket: Ticket, clock: SlaClock, work: DueWork) -> None:
    """Remind, page, raise the level and tell whom the step names, once."""
    fraction = _fraction(work)
    due_at = clock.due_at or tx.now
    if fraction >= 1.0 and clock.breached_at is None:
        clock.breached_at = due_at
    percent = round(fraction * 100)
    actions = [A(value) for value in work.payload["actions"]]
    reached: dict[int, str] = {}  # person -> level; one message per person per step
    for action in actions:
        if action is A.RAISE_SEVERITY:
            continue
        level = "manager" if action is A.PAGE_MANAGERS else "page"
        if action is A.REMIND_ASSIGNEE:
            level = "reminder"
        if action is A.NOTIFY_REPORTER:
            level = "reporter"
        for person in await _recipients(tx, ticket, action):
            # A manager alert outranks a page, which outranks a reminder.
            order = ["reporter", "reminder", "page", "manager"]
            if person.id not in reached or order.index(level) > order.index(reached[person.id]):
                reached[person.id] = level
    facts = ticket_facts(ticket)  # as the step found it, before any raise
    raised_to = None
    if A.RAISE_SEVERITY in actions and ticket.severity > 1:
        raised_to = ticket.severity - 1
        await deadlines.change_severity(tx, ticket, raised_to, reason=f"{clock.kind}_missed")
    step = {
        **facts,
        **await holder_facts(tx, ticket, clock),
        "clock": clock.kind,
        "percent": percent,
        "due_at": due_at,
        "overdue_seconds": int((tx.now - due_at).total_seconds()),
        "raised_to": raised_to,
    }
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
            tx.session.add(page)
            await tx.session.flush()
            await pages.schedule_repeat(tx, page, 1)  # repeats until acknowledged
            message = PAGES[level](**step, page_id=page.id)
            await outbox.enqueue(
                tx,
                message,
                key=f"{work.key}:{person_id}",
                recipient_id=person_id,
                page_id=page.id,
                chain=chain_of(ticket, clock),
                rank=percent * RANKS_PER_STEP,
            )
            continue
        message = (DeadlineReminder if level == "reminder" else ReporterDeadlineNotice)(**step)
        await outbox.enqueue(
            tx,
            message,
            key=f"{work.key}:{person_id}",
            recipient_id=person_id,
            chain=chain_of(ticket, clock),
            rank=percent * RANKS_PER_STEP,
        )
    await _post_to_site_group(tx, ticket, clock, work, actions, step)
    await tx.audit(
        "ticket",
        ticket.id,
        "sla.escalated",
        clock=clock.kind,
        percent=percent,
        actions=[a.value for a in actions],
        recipients=sorted(reached),
        raised_to=raised_to,
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
    site = await tx.session.get(Site, ticket.site_id)
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
