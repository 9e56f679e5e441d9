"""Rules the core keeps for dispatchers, managers and odd input, on every database backend."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core import outbox
from core.enums import Impact, Role, TicketStatus, WorkStatus
from core.errors import IllegalTransition, InvalidInput, NotFound, PermissionDenied
from core.messages import DeadlinePage, SurveyQuestion
from core.models import AuditEvent, DueWork, OutboxMessage
from core.sla import deadlines
from core.sla.escalation import fire_escalation


@pytest.mark.parametrize("number", [0, -5, 2**31, 10**22])
async def test_a_ticket_number_no_ticket_can_have_is_not_found(helpdesk, world, number):
    with pytest.raises(NotFound):
        await helpdesk.tickets.card(number)
    with pytest.raises(NotFound):
        await helpdesk.tickets.cancel(number, actor_id=world.dispatcher_id, reason="test")


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


SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026, Shanghai time."""
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


async def accepted_ticket(helpdesk, world) -> int:
    """A level-2 ticket at 09:00, accepted: arrival due 11:00 (80 % 10:36, 150 % 12:00)."""
    ticket = await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Printer jams", impact=Impact.CANNOT_WORK, asset_tag="PC-0001"
    )
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    return int(ticket.id)


async def rows(helpdesk, *codes: str) -> list[OutboxMessage]:
    async with helpdesk.core.reading() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.code.in_(codes))
                .order_by(OutboxMessage.id)
            )
        )


async def test_a_caught_up_sweep_drops_the_reminder_and_pages_before_the_managers(
    helpdesk, world, clock
):
    ticket_id = await accepted_ticket(helpdesk, world)
    clock.set(local(2, 12, 5))  # nothing ran past 80 %, 100 % and 150 % of arrival at once

    await helpdesk.runner().sweep()

    assert await rows(helpdesk, "sla.reminder") == []  # never a reminder after the page
    sent = await rows(helpdesk, "sla.page", "sla.manager_alert", "sla.reporter_notice")
    codes = [row.code for row in sent]
    assert codes.count("sla.page") == 3 and codes.count("sla.manager_alert") == 1
    alert = next(row for row in sent if row.code == "sla.manager_alert")
    pages = [row for row in sent if row.code == "sla.page"]
    assert all(page.id < alert.id and page.available_at <= alert.available_at for page in pages)
    assert [row.recipient_id for row in sent if row.code == "sla.reporter_notice"] == [
        world.reporter_id
    ]
    async with helpdesk.core.reading() as session:
        skipped = list(
            await session.scalars(
                select(AuditEvent.data).where(
                    AuditEvent.action == "sla.step_skipped", AuditEvent.entity_id == ticket_id
                )
            )
        )
    assert skipped == [{"clock": "arrival", "percent": 80, "reason": "overtaken"}]


async def test_a_step_due_with_an_earlier_one_pending_carries_that_one_out_first(
    helpdesk, world, clock
):
    ticket_id = await accepted_ticket(helpdesk, world)
    clock.set(local(2, 12, 5))
    prefix = deadlines.step_prefix(ticket_id, 0, "arrival")
    async with helpdesk.core.transaction() as tx:
        work = await tx.session.scalar(select(DueWork).where(DueWork.key == f"{prefix}150"))
        assert work is not None
        # The 150 % step's handler runs before anything fired the 80 % and 100 % steps
        # (another runner holds them, say): the alert must not go before the page.
        await fire_escalation(tx, work)
        earlier = {
            row.key: row.status
            for row in await tx.session.scalars(
                select(DueWork).where(DueWork.key.in_([f"{prefix}80", f"{prefix}100"]))
            )
        }
    assert earlier == {f"{prefix}80": WorkStatus.CANCELLED, f"{prefix}100": WorkStatus.DONE}
    sent = await rows(helpdesk, "sla.reminder", "sla.page", "sla.manager_alert")
    assert [row.code for row in sent] == ["sla.page"] * 3 + ["sla.manager_alert"]
    assert (await helpdesk.tickets.card(ticket_id)).severity == 1  # the page's raise happened


async def test_the_engineers_new_arrival_time_is_recorded_and_the_reporter_told(
    helpdesk, world, clock
):
    ticket_id = await accepted_ticket(helpdesk, world)
    tickets = helpdesk.tickets
    clock.set(local(2, 10, 30))

    with pytest.raises(InvalidInput) as past:
        await tickets.expect_arrival(ticket_id, local(2, 10), actor_id=world.engineer_id)
    assert past.value.code == "arrival.time_past"
    with pytest.raises(PermissionDenied):
        await tickets.expect_arrival(ticket_id, local(2, 12), actor_id=world.backup_id)
    await tickets.expect_arrival(ticket_id, local(2, 10, 50), actor_id=world.engineer_id)
    await tickets.expect_arrival(ticket_id, local(2, 11, 40), actor_id=world.engineer_id)

    told = await rows(helpdesk, "ticket.arrival_expected")
    assert [(row.recipient_id, row.params["late"]) for row in told] == [
        (world.reporter_id, False),
        (world.reporter_id, True),  # after the promised 11:00: the notice apologises
    ]
    card = await tickets.card(ticket_id)
    assert card.expected_arrival_at == local(2, 11, 40)
    assert card.promised_arrival_at == local(2, 11)  # the promise stays on record
    assert card.clock("arrival").due_at == local(2, 11)
    async with helpdesk.core.reading() as session:
        recorded = list(
            await session.scalars(
                select(AuditEvent.data).where(AuditEvent.action == "ticket.arrival_expected")
            )
        )
    assert [entry["late"] for entry in recorded] == [False, True]

    await tickets.arrive(ticket_id, actor_id=world.engineer_id)
    with pytest.raises(IllegalTransition):
        await tickets.expect_arrival(ticket_id, local(2, 12), actor_id=world.engineer_id)


async def test_a_non_urgent_notice_waits_for_the_recipients_working_day_and_a_page_never(
    helpdesk, world, clock
):
    branch = await helpdesk.people.create_site(
        code="DC", name="Data centre", region="city", service_hours="7x24"
    )
    night_owl = await helpdesk.people.create_person(
        name="Fang Hui", role=Role.STAFF, site_id=branch.id, telegram_user_id=1201
    )
    roaming = await helpdesk.people.create_person(
        name="Gao Fei", role=Role.STAFF, telegram_user_id=1202
    )
    clock.set(local(6, 22))  # Friday 22:00: the head office (5x8) is closed until Monday
    question = SurveyQuestion(round_id=1, period="2026-H1", closes_at=local(20, 18))
    page = DeadlinePage(
        ticket_id=1,
        symptom="x",
        severity=1,
        status=TicketStatus.ASSIGNED,
        location="",
        tz="Asia/Shanghai",
        clock="arrival",
        percent=100,
        due_at=local(6, 21),
        overdue_seconds=3600,
        assignee=None,
    )
    await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="x", impact=Impact.BUSINESS_STOPPED
    )  # ticket 1, for the page to be about
    async with helpdesk.core.transaction() as tx:
        for person_id in (world.reporter_id, night_owl.id, roaming.id):
            await outbox.enqueue(tx, question, key=f"q:{person_id}", recipient_id=person_id)
        await outbox.enqueue(tx, page, key="p", recipient_id=world.engineer_id)
        await outbox.enqueue(tx, question, key="q:engineer", recipient_id=world.engineer_id)

    async with helpdesk.core.reading() as session:
        available = {
            row.key: row.available_at for row in await session.scalars(select(OutboxMessage))
        }
    assert available[f"q:{world.reporter_id}"] == local(9, 9)  # Monday 09:00
    assert available["q:engineer"] == local(9, 9)
    assert available[f"q:{night_owl.id}"] == local(6, 22)  # a 7x24 site is never closed
    assert available[f"q:{roaming.id}"] == local(6, 22)  # no site: no hours to keep
    assert available["p"] == local(6, 22)  # pages are never held


async def test_a_new_ticket_goes_to_the_sites_engineer_with_the_fewest_open_tickets(helpdesk):
    """Based at the site before roaming, fewest open tickets, then the lowest id; a
    withdrawn ticket no longer counts, and engineers named to leave out are left out."""
    from core.people import least_loaded_engineer

    people, tickets = helpdesk.people, helpdesk.tickets
    site = await people.create_site(code="ZJ", name="Zhangjiang branch", region="suburb")
    elsewhere = await people.create_site(code="PD", name="Pudong branch", region="suburb")
    roaming = await people.create_person(name="Roams", role=Role.ENGINEER, telegram_user_id=2201)
    first = await people.create_person(
        name="Sun Li", role=Role.ENGINEER, site_id=site.id, telegram_user_id=2202
    )
    second = await people.create_person(
        name="Ma Jun", role=Role.ENGINEER, site_id=site.id, telegram_user_id=2203
    )
    await people.create_person(
        name="Far Away", role=Role.ENGINEER, site_id=elsewhere.id, telegram_user_id=2204
    )
    reporter = await people.create_person(
        name="He Yu", role=Role.STAFF, site_id=site.id, telegram_user_id=1201
    )

    async def reported() -> Any:
        return await tickets.report_fault(reporter.id, symptom="Jams", impact=Impact.DEGRADED)

    one, two, three = await reported(), await reported(), await reported()
    # 0-0: the lower id; then the one with none; then 1-1: the lower id again.
    assert [one.assignee_id, two.assignee_id, three.assignee_id] == [first.id, second.id, first.id]
    for withdrawn in (one, three):
        await tickets.cancel(withdrawn.id, actor_id=reporter.id, reason="works again")
    assert (await reported()).assignee_id == first.id  # 0 open against 1
    async with helpdesk.core.transaction() as tx:
        left_out = await least_loaded_engineer(tx, site.id, exclude=[first.id])
        assert left_out is not None and left_out.id == second.id
        only_roaming = await least_loaded_engineer(tx, site.id, exclude=[first.id, second.id])
        assert only_roaming is not None and only_roaming.id == roaming.id
        nobody = await least_loaded_engineer(tx, site.id, exclude=[first.id, second.id, roaming.id])
        assert nobody is None
