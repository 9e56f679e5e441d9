"""Complaints through the core service, on every database backend (004 §1.3.4, §1.3.6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.audit import verify_chain
from core.enums import ComplaintStatus, Impact, Role, TicketStatus
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.models import AuditEvent, Complaint, OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


async def outbox_rows(helpdesk, code):
    async with helpdesk.core.reading() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.code == code).order_by(OutboxMessage.id)
        )
        return list(rows)


async def audit_actions(helpdesk, complaint_id):
    async with helpdesk.core.reading() as session:
        rows = await session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity == "complaint", AuditEvent.entity_id == complaint_id)
            .order_by(AuditEvent.id)
        )
        return list(rows)


async def a_ticket(helpdesk, world):
    return await helpdesk.tickets.report_fault(
        world.reporter_id,
        symptom="Printer jams on every page",
        impact=Impact.DEGRADED,
        asset_tag=world.asset_tag,
    )


async def test_a_complaint_is_recorded_due_in_three_working_days_and_the_managers_are_told(
    helpdesk, world
):
    complaint = await helpdesk.complaints.file(
        world.reporter_id, text="  The engineer came two hours late.  "
    )

    async with helpdesk.core.reading() as session:
        stored = await session.get(Complaint, complaint.id)
    assert stored is not None
    assert stored.status is ComplaintStatus.RECEIVED
    assert stored.text == "The engineer came two hours late."
    assert stored.ticket_id is None
    # Filed Monday 09:00: Tue, Wed, Thu are the three working days; due at Thursday's close.
    assert stored.due_at == local(2026, 3, 5, 18)
    assert await audit_actions(helpdesk, complaint.id) == ["complaint.filed"]
    new = await outbox_rows(helpdesk, "complaint.new")
    assert [row.recipient_id for row in new] == [world.manager_id]
    assert new[0].params["complaint_id"] == complaint.id
    received = await outbox_rows(helpdesk, "complaint.received")
    assert [row.recipient_id for row in received] == [world.reporter_id]
    assert datetime.fromisoformat(received[0].params["due_at"]) == local(2026, 3, 5, 18)


async def test_the_due_date_skips_the_weekend(helpdesk, world, clock):
    clock.set(local(2026, 3, 5, 16))  # Thursday afternoon
    complaint = await helpdesk.complaints.file(world.reporter_id, text="Nobody called back.")
    assert complaint.due_at == local(2026, 3, 10, 18)  # Fri, Mon, Tue


async def test_the_due_date_skips_the_national_day_week_and_counts_the_adjusted_saturday(
    helpdesk, world, clock
):
    clock.set(local(2026, 9, 30, 15))
    complaint = await helpdesk.complaints.file(world.reporter_id, text="Projector still broken.")
    assert complaint.due_at == local(2026, 10, 10, 18)


async def test_a_complaint_about_a_ticket_belongs_to_that_tickets_site(helpdesk, world):
    other = await helpdesk.people.create_site(code="BR", name="Branch", region="city")
    branch_manager = await helpdesk.people.create_person(
        name="Sun Mei", role=Role.MANAGER, site_id=other.id, telegram_user_id=4002
    )
    ticket = await a_ticket(helpdesk, world)
    complaint = await helpdesk.complaints.file(
        world.reporter_id, text="Slow repair.", ticket_id=ticket.id
    )
    view = await helpdesk.complaints.get(complaint.id)
    assert view.ticket_id == ticket.id and view.site_id == world.site_id
    assert view.reporter_name == "Li Na"
    recipients = {row.recipient_id for row in await outbox_rows(helpdesk, "complaint.new")}
    assert recipients == {world.manager_id}
    assert branch_manager.id not in recipients


async def test_a_complaint_needs_words_and_not_too_many(helpdesk, world):
    with pytest.raises(InvalidInput) as empty:
        await helpdesk.complaints.file(world.reporter_id, text="   ")
    assert empty.value.code == "complaint.text_required"
    with pytest.raises(InvalidInput) as long:
        await helpdesk.complaints.file(world.reporter_id, text="x" * 2001)
    assert long.value.code == "text.too_long"
    async with helpdesk.core.reading() as session:
        assert (await session.scalars(select(Complaint))).all() == []


async def test_nobody_complains_about_someone_elses_ticket(helpdesk, world):
    ticket = await a_ticket(helpdesk, world)
    colleague = await helpdesk.people.create_person(
        name="Qian Hui", role=Role.STAFF, site_id=world.site_id, telegram_user_id=1002
    )
    with pytest.raises(PermissionDenied):
        await helpdesk.complaints.file(colleague.id, text="Bad service.", ticket_id=ticket.id)
    with pytest.raises(NotFound):
        await helpdesk.complaints.file(world.reporter_id, text="Bad service.", ticket_id=999)


async def test_a_manager_confirms_then_answers_and_the_reporter_is_told_each_time(
    helpdesk, world, clock
):
    complaint = await helpdesk.complaints.file(world.reporter_id, text="Late again.")
    clock.advance(timedelta(hours=1))
    confirmed = await helpdesk.complaints.confirm(complaint.id, actor_id=world.manager_id)
    assert confirmed.status is ComplaintStatus.CONFIRMED
    assert confirmed.confirmed_at == local(2026, 3, 2, 10)
    with pytest.raises(Conflict):
        await helpdesk.complaints.confirm(complaint.id, actor_id=world.manager_id)

    clock.advance(timedelta(hours=2))
    answered = await helpdesk.complaints.answer(
        complaint.id,
        actor_id=world.manager_id,
        answer="We spoke to the engineer; it will not happen again.",
        accepted=True,
    )
    assert answered.status is ComplaintStatus.ANSWERED and answered.answered
    assert answered.accepted is True and answered.answered_at == local(2026, 3, 2, 12)
    with pytest.raises(Conflict):
        await helpdesk.complaints.answer(
            complaint.id, actor_id=world.manager_id, answer="Again", accepted=False
        )
    assert await audit_actions(helpdesk, complaint.id) == [
        "complaint.filed",
        "complaint.confirmed",
        "complaint.answered",
    ]
    to_reporter = [
        row.code
        for row in await outbox_rows(helpdesk, "complaint.confirmed")
        + await outbox_rows(helpdesk, "complaint.answered")
        if row.recipient_id == world.reporter_id
    ]
    assert to_reporter == ["complaint.confirmed", "complaint.answered"]
    answer_row = (await outbox_rows(helpdesk, "complaint.answered"))[0]
    assert answer_row.params["accepted"] is True
    assert "not happen again" in answer_row.params["answer"]
    async with helpdesk.core.reading() as session:
        assert (await verify_chain(session)).ok


async def test_an_answer_without_confirmation_confirms_as_well(helpdesk, world):
    complaint = await helpdesk.complaints.file(world.reporter_id, text="Rude on the phone.")
    view = await helpdesk.complaints.answer(
        complaint.id, actor_id=world.manager_id, answer="We apologise.", accepted=False
    )
    assert view.confirmed_at is not None and view.accepted is False
    with pytest.raises(Conflict):
        await helpdesk.complaints.confirm(complaint.id, actor_id=world.manager_id)


async def test_only_a_manager_of_the_site_or_an_admin_handles_a_complaint(helpdesk, world):
    complaint = await helpdesk.complaints.file(world.reporter_id, text="Never came.")
    other = await helpdesk.people.create_site(code="BR", name="Branch", region="city")
    foreign = await helpdesk.people.create_person(
        name="Sun Mei", role=Role.MANAGER, site_id=other.id, telegram_user_id=4002
    )
    admin = await helpdesk.people.create_person(
        name="Admin", role=Role.ADMIN, telegram_user_id=5001
    )
    for actor in (world.reporter_id, world.engineer_id, world.dispatcher_id, foreign.id):
        with pytest.raises(PermissionDenied):
            await helpdesk.complaints.confirm(complaint.id, actor_id=actor)
    with pytest.raises(InvalidInput):
        await helpdesk.complaints.answer(
            complaint.id, actor_id=world.manager_id, answer=" ", accepted=True
        )
    view = await helpdesk.complaints.confirm(complaint.id, actor_id=admin.id)
    assert view.status is ComplaintStatus.CONFIRMED
    with pytest.raises(NotFound):
        await helpdesk.complaints.confirm(12345, actor_id=world.manager_id)


async def test_accepted_complaints_are_counted_for_the_kpi_in_their_window(helpdesk, world, clock):
    first = await helpdesk.complaints.file(world.reporter_id, text="One")
    second = await helpdesk.complaints.file(world.reporter_id, text="Two")
    third = await helpdesk.complaints.file(world.reporter_id, text="Three")
    await helpdesk.complaints.answer(
        first.id, actor_id=world.manager_id, answer="Yes", accepted=True
    )
    await helpdesk.complaints.answer(
        second.id, actor_id=world.manager_id, answer="No", accepted=False
    )
    clock.set(local(2026, 4, 2, 9))
    await helpdesk.complaints.answer(
        third.id, actor_id=world.manager_id, answer="Yes", accepted=True
    )

    march = (local(2026, 3, 1, 0), local(2026, 4, 1, 0))
    assert (
        await helpdesk.complaints.accepted_count(world.site_id, since=march[0], until=march[1]) == 1
    )
    assert (
        await helpdesk.complaints.accepted_count(None, since=march[0], until=local(2026, 5, 1, 0))
        == 2
    )
    other = await helpdesk.people.create_site(code="BR", name="Branch", region="city")
    assert await helpdesk.complaints.accepted_count(other.id, since=march[0], until=march[1]) == 0


async def test_the_complaint_log_lists_a_sites_complaints_and_the_open_ones(helpdesk, world):
    done = await helpdesk.complaints.file(world.reporter_id, text="Answered one")
    waiting = await helpdesk.complaints.file(world.reporter_id, text="Open one")
    await helpdesk.complaints.answer(
        done.id, actor_id=world.manager_id, answer="Ok", accepted=False
    )

    log = await helpdesk.complaints.for_site(world.site_id)
    assert [v.id for v in log] == [done.id, waiting.id]
    assert [v.id for v in await helpdesk.complaints.for_site(world.site_id, open_only=True)] == [
        waiting.id
    ]
    assert [v.id for v in await helpdesk.complaints.for_reporter(world.reporter_id)] == [
        waiting.id,
        done.id,
    ]
    assert log[0].timezone == "Asia/Shanghai"


async def test_recent_tickets_offer_the_reporters_own_tickets_newest_first(helpdesk, world):
    first = await a_ticket(helpdesk, world)
    second = await a_ticket(helpdesk, world)
    await helpdesk.tickets.cancel(first.id, actor_id=world.reporter_id, reason="works again")
    choices = await helpdesk.complaints.recent_tickets(world.reporter_id)
    assert [c.id for c in choices] == [second.id, first.id]
    assert choices[1].status is TicketStatus.CANCELLED
    assert await helpdesk.complaints.recent_tickets(world.engineer_id) == []
