"""Survey reminders, spare-loan reminders and complaint escalation, on every backend.

TicketService and ComplaintService will call the `schedule_*` functions themselves; until
then (and harmlessly after, the keys being idempotent) these tests call them right after
the core call that causes them, in a transaction of their own.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core import reminders
from core.enums import Impact, Role, ServiceResult, ServiceType
from core.errors import Conflict, PermissionDenied
from core.models import Complaint, DueWork, OutboxMessage, SpareLoan, Ticket
from core.tickets import ServiceSheet

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHEET = ServiceSheet(
    service_type=ServiceType.HARDWARE_FAULT,
    result=ServiceResult.FIXED_ON_SITE,
    solution="Replaced the video cable",
)


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def runner(helpdesk):
    return helpdesk.runner()


async def messages(helpdesk, code: str) -> list[OutboxMessage]:
    async with helpdesk.core.reading() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.code == code).order_by(OutboxMessage.id)
        )
        return list(rows)


async def recipients(helpdesk, code: str) -> list[int | None]:
    return [row.recipient_id for row in await messages(helpdesk, code)]


async def at(clock, runner, moment: datetime) -> None:
    """Move the clock and let the runner fire what fell due (twice: nothing twice)."""
    clock.set(moment)
    await runner.sweep()
    await runner.sweep()


# --- the satisfaction survey reminder ---------------------------------------------------------


async def resolved_ticket(helpdesk, world) -> Ticket:
    tickets = helpdesk.tickets
    ticket = await tickets.report_fault(
        world.reporter_id, symptom="Screen flickers", impact=Impact.DEGRADED, asset_tag="PC-0001"
    )
    await tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await tickets.arrive(ticket.id, actor_id=world.engineer_id)
    await tickets.resolve(ticket.id, actor_id=world.engineer_id, sheet=SHEET)
    await schedule_survey(helpdesk, ticket.id)
    return ticket


async def schedule_survey(helpdesk, ticket_id: int) -> None:
    """What TicketService will do at resolution."""
    async with helpdesk.core.transaction() as tx:
        ticket = await tx.session.get(Ticket, ticket_id)
        await reminders.schedule_survey_reminder(tx, ticket)


async def test_an_unrated_fix_reminds_the_reporter_once_a_day_later(helpdesk, world, runner, clock):
    ticket = await resolved_ticket(helpdesk, world)
    await at(clock, runner, local(3, 3, 8, 59))
    assert await messages(helpdesk, "survey.reminder") == []
    await at(clock, runner, local(3, 3, 9))
    (reminder,) = await messages(helpdesk, "survey.reminder")
    assert reminder.recipient_id == world.reporter_id
    assert reminder.params["ticket_id"] == ticket.id and reminder.params["cycle"] == 0
    assert reminder.params["fix_confirmed"] is None
    await schedule_survey(helpdesk, ticket.id)  # scheduling again changes nothing
    await at(clock, runner, local(3, 5, 9))
    assert len(await messages(helpdesk, "survey.reminder")) == 1


async def test_a_rated_fix_gets_no_reminder(helpdesk, world, runner, clock):
    ticket = await resolved_ticket(helpdesk, world)
    await helpdesk.tickets.rate(ticket.id, actor_id=world.reporter_id, score=5)
    await at(clock, runner, local(3, 4, 9))
    assert await messages(helpdesk, "survey.reminder") == []


async def test_a_rejected_fix_cancels_the_reminder_of_that_resolution(
    helpdesk, world, runner, clock
):
    ticket = await resolved_ticket(helpdesk, world)
    await helpdesk.tickets.confirm_fix(ticket.id, actor_id=world.reporter_id, confirmed=False)
    await at(clock, runner, local(3, 4, 9))
    assert await messages(helpdesk, "survey.reminder") == []


async def test_a_fix_on_friday_is_asked_about_on_monday_morning(helpdesk, world, runner, clock):
    clock.set(local(3, 6, 10))
    await resolved_ticket(helpdesk, world)
    async with helpdesk.core.reading() as session:
        work = await session.scalar(select(DueWork).where(DueWork.kind == "survey.reminder"))
    assert work is not None and work.due_at == local(3, 9, 9)
    await at(clock, runner, local(3, 7, 10))
    assert await messages(helpdesk, "survey.reminder") == []
    await at(clock, runner, local(3, 9, 9))
    assert await recipients(helpdesk, "survey.reminder") == [world.reporter_id]


# --- spare-device loans ---------------------------------------------------------------------------


async def lent_spare(helpdesk, world) -> SpareLoan:
    tickets = helpdesk.tickets
    ticket = await tickets.report_fault(
        world.reporter_id, symptom="Will not boot", impact=Impact.CANNOT_WORK, asset_tag="PC-0001"
    )
    await tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await tickets.arrive(ticket.id, actor_id=world.engineer_id)
    await tickets.restore(
        ticket.id, actor_id=world.engineer_id, spare_lent=True, spare_description="Spare PC"
    )
    async with helpdesk.core.transaction() as tx:
        loan = await tx.session.scalar(select(SpareLoan).where(SpareLoan.ticket_id == ticket.id))
        assert loan is not None
        await reminders.schedule_loan_reminders(tx, loan)  # what _lend_spare will do
    return loan


async def test_the_engineer_is_reminded_on_the_due_day_and_a_manager_told_a_day_later(
    helpdesk, world, runner, clock
):
    loan = await lent_spare(helpdesk, world)
    assert loan.due_back_at == local(3, 11, 18)  # seven working days
    await at(clock, runner, local(3, 11, 8, 59))
    assert await messages(helpdesk, "loan.due") == []
    await at(clock, runner, local(3, 11, 9))
    (due,) = await messages(helpdesk, "loan.due")
    assert due.recipient_id == world.engineer_id
    assert due.params["loan_id"] == loan.id and due.params["description"] == "Spare PC"
    await at(clock, runner, local(3, 12, 17, 59))
    assert await messages(helpdesk, "loan.overdue") == []
    await at(clock, runner, local(3, 12, 18))
    overdue = await messages(helpdesk, "loan.overdue")
    assert [row.recipient_id for row in overdue] == [world.manager_id]
    assert overdue[0].params["engineer"] == "Wang Wei" and overdue[0].priority == 1
    await at(clock, runner, local(3, 20, 18))
    assert len(await messages(helpdesk, "loan.due")) == 1
    assert len(await messages(helpdesk, "loan.overdue")) == 1


async def test_a_returned_loan_is_neither_reminded_nor_escalated(helpdesk, world, runner, clock):
    loan = await lent_spare(helpdesk, world)
    clock.set(local(3, 10, 15))
    with pytest.raises(PermissionDenied):
        await reminders.return_loan(helpdesk.core, loan.id, actor_id=world.reporter_id)
    returned = await reminders.return_loan(helpdesk.core, loan.id, actor_id=world.engineer_id)
    assert returned.returned_at == local(3, 10, 15)
    with pytest.raises(Conflict):
        await reminders.return_loan(helpdesk.core, loan.id, actor_id=world.engineer_id)
    await at(clock, runner, local(3, 13, 18))
    assert await messages(helpdesk, "loan.due") == []
    assert await messages(helpdesk, "loan.overdue") == []
    assert (await reminders.get_loan(helpdesk.core, loan.id)).returned_at == local(3, 10, 15)


async def test_a_loan_returned_after_the_reminder_is_not_escalated(helpdesk, world, runner, clock):
    loan = await lent_spare(helpdesk, world)
    await at(clock, runner, local(3, 11, 10))
    assert len(await messages(helpdesk, "loan.due")) == 1
    await reminders.return_loan(helpdesk.core, loan.id, actor_id=world.manager_id)
    await at(clock, runner, local(3, 13, 18))
    assert await messages(helpdesk, "loan.overdue") == []


# --- complaints -----------------------------------------------------------------------------------


async def filed_complaint(helpdesk, world) -> Complaint:
    complaint = await helpdesk.complaints.file(world.reporter_id, text="Nobody called back.")
    async with helpdesk.core.transaction() as tx:
        await reminders.schedule_complaint_deadline(tx, complaint)  # what file() will do
    return complaint


@pytest.fixture
async def admin(helpdesk):
    return await helpdesk.people.create_person(name="Admin", role=Role.ADMIN)


async def test_an_unanswered_complaint_goes_to_the_managers_then_a_level_up(
    helpdesk, world, runner, clock, admin
):
    complaint = await filed_complaint(helpdesk, world)
    assert complaint.due_at == local(3, 5, 18)
    await at(clock, runner, local(3, 5, 17, 59))
    assert await messages(helpdesk, "complaint.overdue") == []
    await at(clock, runner, local(3, 5, 18))
    (first,) = await messages(helpdesk, "complaint.overdue")
    assert first.recipient_id == world.manager_id and first.params["level"] == 1
    assert first.params["text"] == "Nobody called back." and first.priority == 1
    await at(clock, runner, local(3, 6, 17, 59))
    assert len(await messages(helpdesk, "complaint.overdue")) == 1
    await at(clock, runner, local(3, 6, 18))
    rows = await messages(helpdesk, "complaint.overdue")
    assert [(row.recipient_id, row.params["level"]) for row in rows] == [
        (world.manager_id, 1),
        (admin.id, 2),
    ]
    await at(clock, runner, local(3, 20, 18))
    assert len(await messages(helpdesk, "complaint.overdue")) == 2


async def test_an_answered_complaint_is_not_escalated(helpdesk, world, runner, clock, admin):
    complaint = await filed_complaint(helpdesk, world)
    await helpdesk.complaints.answer(
        complaint.id, actor_id=world.manager_id, answer="Sorry; called now.", accepted=True
    )
    await at(clock, runner, local(3, 10, 18))
    assert await messages(helpdesk, "complaint.overdue") == []


async def test_a_complaint_answered_after_the_first_escalation_goes_no_higher(
    helpdesk, world, runner, clock, admin
):
    complaint = await filed_complaint(helpdesk, world)
    await at(clock, runner, local(3, 5, 18))
    clock.set(local(3, 6, 10))
    await helpdesk.complaints.answer(
        complaint.id, actor_id=world.manager_id, answer="Handled.", accepted=False
    )
    await at(clock, runner, local(3, 9, 18))
    assert await recipients(helpdesk, "complaint.overdue") == [world.manager_id]


async def test_the_second_level_falls_back_to_managers_when_there_is_no_admin(
    helpdesk, world, runner, clock
):
    await filed_complaint(helpdesk, world)
    await at(clock, runner, local(3, 9, 18))
    rows = await messages(helpdesk, "complaint.overdue")
    assert [(row.recipient_id, row.params["level"]) for row in rows] == [
        (world.manager_id, 1),
        (world.manager_id, 2),
    ]
