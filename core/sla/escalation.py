"""Firing a ladder step: remind, page, raise the level, inside the runner's transaction."""

from __future__ import annotations

from typing import Any

from core import outbox, pages
from core.enums import Role, WorkStatus
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
from core.models import DueWork, Page, Person, Site, SlaClock, Ticket
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
            await batch.add_page(tx, page)  # its id, without a flush in a batch
            await pages.schedule_repeat(tx, page, 1)  # repeats until acknowledged
            message = PAGES[level](**step, page_id=page.id)
            await outbox.enqueue(
                tx,
                message,
                key=f"{work.key}:{person_id}",
                recipient_id=person_id,
                page_id=page.id,
            )
            continue
        message = (DeadlineReminder if level == "reminder" else ReporterDeadlineNotice)(**step)
        await outbox.enqueue(tx, message, key=f"{work.key}:{person_id}", recipient_id=person_id)
    await _post_to_site_group(tx, ticket, work, actions, step)
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
    tx: Tx, ticket: Ticket, work: DueWork, actions: list[A], step: dict[str, Any]
) -> None:
    """A paging step is also posted, once, in the site's alert group (no repeats there)."""
    if not PAGING.intersection(actions):
        return
    site = await tx.session.get(Site, ticket.site_id)
    if site is None or site.alert_chat_id is None:
        return
    level = "manager" if A.PAGE_MANAGERS in actions else "page"
    await outbox.enqueue(
        tx, SiteGroupAlert(**step, level=level), key=f"{work.key}:group", chat_id=site.alert_chat_id
    )
