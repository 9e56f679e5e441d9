"""Firing a ladder step: remind, page, raise the level, inside the runner's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core import outbox, pages
from core.enums import Role
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
