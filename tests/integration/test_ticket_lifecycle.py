"""A ticket's life through the core services, on every database backend."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.audit import verify_chain
from core.enums import Impact, ServiceResult, ServiceType, TicketStatus
from core.errors import Conflict, IllegalTransition, InvalidInput, PermissionDenied
from core.models import (
    AuditEvent,
    BackupConsent,
    OutboxMessage,
    Pause,
    Resolution,
    SlaClock,
    SpareLoan,
    Ticket,
)
from core.sla.policy import PauseReason
from core.tickets import ServiceSheet

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026, Shanghai time."""
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


async def report(helpdesk, world, impact=Impact.CANNOT_WORK, **extra):
    return await helpdesk.tickets.report_fault(
        world.reporter_id,
        symptom="Screen stays black",
        impact=impact,
        asset_tag=world.asset_tag,
        **extra,
    )


async def outbox_codes(helpdesk, recipient_id):
    async with helpdesk.core.reading() as session:
        rows = await session.scalars(
            select(OutboxMessage.code)
            .where(OutboxMessage.recipient_id == recipient_id)
            .order_by(OutboxMessage.id)
        )
        return list(rows)


SHEET = ServiceSheet(
    service_type=ServiceType.HARDWARE_FAULT,
    result=ServiceResult.FIXED_ON_SITE,
    solution="Replaced the video cable",
    parts_replaced="VGA cable",
)


async def test_a_report_starts_every_clock_from_the_seed_targets(helpdesk, world):
    ticket = await report(helpdesk, world)
    card = await helpdesk.tickets.card(ticket.id)

    assert card.severity == 2
    due = {c.kind: c.due_at for c in card.clocks}
    assert due["acknowledge"] == local(2, 10)  # 1 h (001)
    assert due["arrival"] == local(2, 11)  # city: 2 h (000 §2.2.1-2)
    assert due["restore"] == local(2, 17)  # 8 business hours of a 09-18 day (000)
    assert due["resolve"] == local(9, 9)  # level 2: 7 days (003)
    assert card.promised_arrival_at == local(2, 11)


async def test_a_report_is_dispatched_and_everyone_is_told(helpdesk, world):
    ticket = await report(helpdesk, world)

    assert (await helpdesk.tickets.card(ticket.id)).assignee_id == world.engineer_id
    assert await outbox_codes(helpdesk, world.engineer_id) == ["dispatch.new"]
    assert await outbox_codes(helpdesk, world.reporter_id) == ["ticket.assigned"]


async def test_a_report_reached_after_hours_counts_from_the_next_working_morning(
    helpdesk, world, clock
):
    clock.set(local(6, 20))  # Friday evening
    ticket = await report(helpdesk, world)
    due = {c.kind: c.due_at for c in (await helpdesk.tickets.card(ticket.id)).clocks}
    assert due["arrival"] == local(9, 11)  # Monday 09:00 + 2 h


async def test_a_level_one_fault_is_timed_around_the_clock(helpdesk, world, clock):
    clock.set(local(6, 20))
    ticket = await report(helpdesk, world, impact=Impact.BUSINESS_STOPPED)
    due = {c.kind: c.due_at for c in (await helpdesk.tickets.card(ticket.id)).clocks}
    assert due["arrival"] == local(6, 22)  # 7x24 for level 1
    assert due["restore"] == local(7, 1)  # 003: city 5 h


async def test_the_full_life_of_a_ticket(helpdesk, world, clock):
    tickets = helpdesk.tickets
    ticket = await report(helpdesk, world)

    clock.advance(timedelta(minutes=10))
    await tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    clock.advance(timedelta(minutes=5))
    await tickets.depart(ticket.id, actor_id=world.engineer_id)
    clock.advance(timedelta(minutes=50))
    await tickets.arrive(ticket.id, actor_id=world.engineer_id)
    clock.advance(timedelta(minutes=30))
    await tickets.resolve(ticket.id, actor_id=world.engineer_id, sheet=SHEET)
    await tickets.confirm_fix(ticket.id, actor_id=world.reporter_id, confirmed=True)
    await tickets.rate(ticket.id, actor_id=world.reporter_id, score=5, comment="quick")

    card = await tickets.card(ticket.id)
    assert card.status is TicketStatus.CLOSED
    assert {c.kind: c.met for c in card.clocks} == {
        "acknowledge": True,
        "arrival": True,
        "restore": True,
        "resolve": True,
    }
    assert await outbox_codes(helpdesk, world.reporter_id) == [
        "ticket.assigned",
        "ticket.acknowledged",
        "ticket.en_route",
        "ticket.arrived",
        "ticket.resolved",
    ]
    async with helpdesk.core.reading() as session:
        sheet = await session.scalar(select(Resolution).where(Resolution.ticket_id == ticket.id))
        stored = await session.get(Ticket, ticket.id)
        actions = list(
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity == "ticket", AuditEvent.entity_id == ticket.id)
                .order_by(AuditEvent.id)
            )
        )
        report_ = await verify_chain(session)
    assert (
        sheet is not None
        and sheet.parts_replaced == "VGA cable"
        and sheet.result is ServiceResult.FIXED_ON_SITE
    )
    assert stored is not None
    assert stored.arrived_at == local(2, 10, 5)  # system time, not typed in
    assert actions == [
        "ticket.reported",
        "ticket.assigned",
        "ticket.acknowledged",
        "ticket.en_route",
        "ticket.arrived",
        "ticket.resolved",
        "ticket.fix_confirmed",
        "ticket.rated",
        "ticket.closed",
    ]
    assert report_.ok, report_.problems


async def test_an_illegal_move_raises_and_changes_nothing(helpdesk, world):
    ticket = await report(helpdesk, world)
    with pytest.raises(IllegalTransition) as raised:
        await helpdesk.tickets.arrive(ticket.id, actor_id=world.engineer_id)
    assert raised.value.params == {"action": "arrive", "status": "assigned", "ticket_id": ticket.id}
    assert (await helpdesk.tickets.card(ticket.id)).status is TicketStatus.ASSIGNED


async def test_only_the_assignee_or_a_dispatcher_may_work_a_ticket(helpdesk, world):
    ticket = await report(helpdesk, world)
    with pytest.raises(PermissionDenied):
        await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.backup_id)
    with pytest.raises(PermissionDenied):
        await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.reporter_id)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.dispatcher_id)
    assert (await helpdesk.tickets.card(ticket.id)).status is TicketStatus.ACKNOWLEDGED


async def test_a_declined_dispatch_goes_back_to_the_dispatcher(helpdesk, world):
    ticket = await report(helpdesk, world)
    with pytest.raises(InvalidInput):
        await helpdesk.tickets.decline(ticket.id, actor_id=world.engineer_id, reason="  ")
    await helpdesk.tickets.decline(ticket.id, actor_id=world.engineer_id, reason="On leave today")

    card = await helpdesk.tickets.card(ticket.id)
    assert card.status is TicketStatus.REPORTED and card.assignee_id is None
    assert await outbox_codes(helpdesk, world.dispatcher_id) == ["dispatch.declined"]

    await helpdesk.tickets.assign(ticket.id, world.backup_id, actor_id=world.dispatcher_id)
    assert (await helpdesk.tickets.card(ticket.id)).assignee_id == world.backup_id
    assert await outbox_codes(helpdesk, world.backup_id) == ["dispatch.new"]


async def test_waiting_for_parts_stops_only_the_clocks_the_policy_names(helpdesk, world, clock):
    tickets = helpdesk.tickets
    ticket = await report(helpdesk, world)
    await tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    clock.set(local(2, 10))
    await tickets.arrive(ticket.id, actor_id=world.engineer_id)
    clock.set(local(2, 12))
    await tickets.pause(
        ticket.id, actor_id=world.engineer_id, reason=PauseReason.PARTS, note="RAM on order"
    )

    paused = {c.kind: c for c in (await tickets.card(ticket.id)).clocks}
    assert paused["restore"].paused and paused["restore"].due_at is None
    assert paused["resolve"].paused

    # The part arrives next morning: 12:00-18:00 and nothing overnight count as paused business time.
    clock.set(local(3, 10))
    await tickets.resume(ticket.id, actor_id=world.engineer_id)
    resumed = {c.kind: c for c in (await tickets.card(ticket.id)).clocks}
    # 17:00 + 7 paused business hours (12-18 and 9-10) = Mon 18:00 + 6 h = Tue 15:00.
    assert resumed["restore"].due_at == local(3, 15)
    assert resumed["resolve"].due_at == local(10, 7)  # 7x24: 22 h later
    assert (await tickets.card(ticket.id)).status is TicketStatus.ON_SITE
    async with helpdesk.core.reading() as session:
        pause = await session.scalar(select(Pause).where(Pause.ticket_id == ticket.id))
    assert pause is not None and pause.reason == "parts" and pause.note == "RAM on order"
    assert pause.started_at == local(2, 12) and pause.ended_at == local(3, 10)


async def test_a_remote_fix_does_not_count_against_arrival(helpdesk, world, clock):
    ticket = await report(helpdesk, world)
    clock.advance(timedelta(minutes=20))
    sheet = ServiceSheet(
        service_type=ServiceType.SOFTWARE_FAULT,
        result=ServiceResult.FIXED_REMOTELY,
        solution="Reset profile",
    )
    await helpdesk.tickets.resolve_remotely(ticket.id, actor_id=world.engineer_id, sheet=sheet)
    clocks = {c.kind: c for c in (await helpdesk.tickets.card(ticket.id)).clocks}
    assert clocks["arrival"].cancelled and clocks["arrival"].met is None
    assert clocks["resolve"].met is True


async def test_restoring_with_a_spare_device_sets_its_return_in_seven_working_days(
    helpdesk, world, clock
):
    ticket = await report(helpdesk, world)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await helpdesk.tickets.arrive(ticket.id, actor_id=world.engineer_id)
    await helpdesk.tickets.restore(
        ticket.id, actor_id=world.engineer_id, spare_lent=True, spare_description="Spare PC"
    )
    async with helpdesk.core.reading() as session:
        loan = await session.scalar(select(SpareLoan).where(SpareLoan.ticket_id == ticket.id))
    assert loan is not None
    assert loan.due_back_at == local(11, 18)  # Mon 2 Mar + 7 working days = Wed 11 Mar, end of day
    clocks = {c.kind: c for c in (await helpdesk.tickets.card(ticket.id)).clocks}
    assert clocks["restore"].met is True and clocks["resolve"].stopped_at is None


@pytest.mark.parametrize("how", ["low score", "rejected fix"])
async def test_an_unhappy_reporter_gets_a_second_visit_and_the_manager_is_alerted(
    helpdesk, world, clock, how
):
    tickets = helpdesk.tickets
    ticket = await report(helpdesk, world)
    await tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await tickets.arrive(ticket.id, actor_id=world.engineer_id)
    await tickets.resolve(ticket.id, actor_id=world.engineer_id, sheet=SHEET)
    clock.advance(timedelta(hours=1))
    if how == "low score":
        await tickets.rate(ticket.id, actor_id=world.reporter_id, score=2)
    else:
        await tickets.confirm_fix(
            ticket.id, actor_id=world.reporter_id, confirmed=False, comment="still black"
        )

    card = await tickets.card(ticket.id)
    assert card.status is TicketStatus.ASSIGNED and card.cycle == 1
    assert card.assignee_id == world.engineer_id
    assert all(c.stopped_at is None for c in card.clocks)
    assert card.promised_arrival_at == local(2, 12)  # a fresh 2 h from the second visit's dispatch
    assert "manager.second_visit" in await outbox_codes(helpdesk, world.manager_id)


async def test_a_rating_is_checked_and_given_once(helpdesk, world):
    ticket = await report(helpdesk, world)
    with pytest.raises(Conflict):
        await helpdesk.tickets.rate(ticket.id, actor_id=world.reporter_id, score=4)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await helpdesk.tickets.arrive(ticket.id, actor_id=world.engineer_id)
    await helpdesk.tickets.resolve(ticket.id, actor_id=world.engineer_id, sheet=SHEET)
    with pytest.raises(InvalidInput):
        await helpdesk.tickets.rate(ticket.id, actor_id=world.reporter_id, score=6)
    with pytest.raises(PermissionDenied):
        await helpdesk.tickets.rate(ticket.id, actor_id=world.engineer_id, score=5)
    await helpdesk.tickets.rate(
        ticket.id, actor_id=world.reporter_id, score=4, dimensions={"quality": 4, "attitude": 3}
    )
    with pytest.raises(Conflict):
        await helpdesk.tickets.rate(ticket.id, actor_id=world.reporter_id, score=5)


async def test_the_backup_consent_records_who_and_when(helpdesk, world, clock):
    ticket = await report(helpdesk, world)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await helpdesk.tickets.arrive(ticket.id, actor_id=world.engineer_id)
    consent = await helpdesk.tickets.request_backup_consent(
        ticket.id, actor_id=world.engineer_id, operation="os_reinstall"
    )
    clock.advance(timedelta(minutes=3))
    with pytest.raises(PermissionDenied):
        await helpdesk.tickets.answer_backup_consent(
            consent.id, actor_id=world.engineer_id, confirmed=True
        )
    await helpdesk.tickets.answer_backup_consent(
        consent.id, actor_id=world.reporter_id, confirmed=True
    )
    with pytest.raises(Conflict):
        await helpdesk.tickets.answer_backup_consent(
            consent.id, actor_id=world.reporter_id, confirmed=False
        )
    async with helpdesk.core.reading() as session:
        stored = await session.get(BackupConsent, consent.id)
    assert stored is not None and stored.confirmed is True
    assert stored.answered_by_id == world.reporter_id and stored.answered_at == local(2, 9, 3)
    assert "consent.answered" in await outbox_codes(helpdesk, world.engineer_id)


async def test_a_charged_sheet_needs_an_amount(helpdesk, world):
    ticket = await report(helpdesk, world)
    await helpdesk.tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await helpdesk.tickets.arrive(ticket.id, actor_id=world.engineer_id)
    bad = ServiceSheet(
        service_type=ServiceType.HARDWARE_FAULT, result=ServiceResult.FIXED_ON_SITE, charged=True
    )
    with pytest.raises(InvalidInput):
        await helpdesk.tickets.resolve(ticket.id, actor_id=world.engineer_id, sheet=bad)
    good = ServiceSheet(
        service_type=ServiceType.HARDWARE_FAULT,
        result=ServiceResult.FIXED_ON_SITE,
        charged=True,
        amount=Decimal("120.00"),
    )
    await helpdesk.tickets.resolve(ticket.id, actor_id=world.engineer_id, sheet=good)


async def test_a_second_report_for_the_same_device_within_30_days_is_flagged(
    helpdesk, world, clock
):
    first = await report(helpdesk, world)
    clock.advance(timedelta(days=29))
    second = await report(helpdesk, world)
    clock.advance(timedelta(days=31))
    third = await report(helpdesk, world)
    assert (await helpdesk.tickets.card(second.id)).repeat_of_id == first.id
    assert (await helpdesk.tickets.card(third.id)).repeat_of_id is None
    assert (await outbox_codes(helpdesk, world.manager_id)).count("manager.repeat_failure") == 1


async def test_an_unknown_asset_tag_is_refused_and_nothing_is_stored(helpdesk, world):
    with pytest.raises(InvalidInput) as raised:
        await helpdesk.tickets.report_fault(
            world.reporter_id, symptom="x", impact=Impact.DEGRADED, asset_tag="NOPE-1"
        )
    assert raised.value.code == "asset.unknown_tag"
    async with helpdesk.core.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 0
        assert await session.scalar(select(func.count()).select_from(SlaClock)) == 0


async def test_a_dispatcher_raising_the_level_pulls_the_deadlines_in(helpdesk, world):
    ticket = await report(helpdesk, world, impact=Impact.DEGRADED)
    before = {c.kind: c.due_at for c in (await helpdesk.tickets.card(ticket.id)).clocks}
    with pytest.raises(PermissionDenied):
        await helpdesk.tickets.set_severity(ticket.id, 1, actor_id=world.engineer_id)
    await helpdesk.tickets.set_severity(ticket.id, 1, actor_id=world.dispatcher_id)
    after = {c.kind: c.due_at for c in (await helpdesk.tickets.card(ticket.id)).clocks}
    assert before["restore"] == local(2, 17) and after["restore"] == local(2, 14)
    assert before["resolve"] == local(12, 9) and after["resolve"] == local(3, 9)
