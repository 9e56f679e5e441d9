"""Rules the core keeps for dispatchers, managers and odd input, on every database backend."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.enums import Impact, Role, TicketStatus
from core.errors import NotFound, PermissionDenied
from core.models import AuditEvent


@pytest.mark.parametrize("number", [0, -5, 2**31, 10**22])
async def test_a_ticket_number_no_ticket_can_have_is_not_found(helpdesk, world, number):
    with pytest.raises(NotFound):
        await helpdesk.tickets.card(number)
    with pytest.raises(NotFound):
        await helpdesk.tickets.cancel(number, actor_id=world.dispatcher_id)


async def branch_ticket(helpdesk) -> tuple[int, int, int]:
    """A ticket at a second site with its own engineer; (ticket, engineer, reporter) ids."""
    people = helpdesk.people
    branch = await people.create_site(code="ZJ", name="Zhangjiang branch", region="suburb")
    engineer = await people.create_person(
        name="Sun Li", role=Role.ENGINEER, site_id=branch.id, telegram_user_id=2101
    )
    other = await people.create_person(
        name="Ma Jun", role=Role.ENGINEER, site_id=branch.id, telegram_user_id=2102
    )
    reporter = await people.create_person(
        name="He Yu", role=Role.STAFF, site_id=branch.id, telegram_user_id=1101
    )
    ticket = await helpdesk.tickets.report_fault(
        reporter.id, symptom="Printer jams", impact=Impact.DEGRADED
    )
    assert ticket.assignee_id == engineer.id
    return ticket.id, other.id, reporter.id


async def test_a_dispatcher_acts_only_on_the_tickets_of_their_own_site(helpdesk, world):
    ticket_id, other_engineer, _reporter = await branch_ticket(helpdesk)
    tickets = helpdesk.tickets
    hq_dispatcher = world.dispatcher_id

    refusals = [
        tickets.assign(ticket_id, other_engineer, actor_id=hq_dispatcher),
        tickets.set_severity(ticket_id, 1, actor_id=hq_dispatcher),
        tickets.cancel(ticket_id, actor_id=hq_dispatcher, reason="not ours"),
        tickets.acknowledge(ticket_id, actor_id=hq_dispatcher),
    ]
    for refused in refusals:
        with pytest.raises(PermissionDenied) as caught:
            await refused
        assert caught.value.params == {"action": "other_site", "ticket_id": ticket_id}
    before = await tickets.card(ticket_id)
    assert (before.status, before.severity) == (TicketStatus.ASSIGNED, 3)

    # A dispatcher with no site serves every site.
    roaming = await helpdesk.people.create_person(
        name="Gao Fei", role=Role.DISPATCHER, telegram_user_id=3101
    )
    await tickets.set_severity(ticket_id, 1, actor_id=roaming.id)
    await tickets.assign(ticket_id, other_engineer, actor_id=roaming.id)
    after = await tickets.card(ticket_id)
    assert (after.severity, after.assignee_id) == (1, other_engineer)

    async with helpdesk.core.reading() as session:
        refused_changes = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity_id == ticket_id, AuditEvent.actor_id == hq_dispatcher)
        )
    assert refused_changes == 0


async def test_the_queue_of_a_dispatcher_holds_their_own_site_and_of_one_without_a_site_all(
    helpdesk, world
):
    ticket_id, _other, _reporter = await branch_ticket(helpdesk)
    hq = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="No network", impact=Impact.CANNOT_WORK
    )
    roaming = await helpdesk.people.create_person(
        name="Gao Fei", role=Role.DISPATCHER, telegram_user_id=3101
    )
    assert [c.id for c in await helpdesk.tickets.queue_for(world.dispatcher_id)] == [hq.id]
    assert {c.id for c in await helpdesk.tickets.queue_for(roaming.id)} == {hq.id, ticket_id}
