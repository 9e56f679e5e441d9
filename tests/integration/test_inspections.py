"""Inspection plans and rounds through the core, on every database backend (002, 003 §2.4, 004).

The clock starts on Monday 2 March 2026, 09:00 in Shanghai; due work fires when the test
moves the clock and sweeps the runner, as the running bot would.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from core.assets import AssetRecord
from core.audit import verify_chain
from core.db import Database
from core.enums import AssetKind, Impact, OutboxStatus, Role, TicketStatus
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.inspections import MONTHLY, SEMIANNUAL
from core.models import (
    DueWork,
    Inspection,
    InspectionItem,
    InspectionPlan,
    OutboxMessage,
    Person,
    Ticket,
)
from core.services import Helpdesk
from core.unit_of_work import Core

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


PROJECTOR_OK = {"image": "ok", "lamp_hours": 2100, "filter_clean": "ok", "remote_batteries": "ok"}
MIC_FAULT = {"sound_clear": "fault", "batteries": "replaced", "cables": "ok"}
TV_OK = {"picture": "ok", "inputs": "ok", "remote_batteries": "ok"}


@pytest.fixture
async def rooms(helpdesk, world):
    """Meeting-room equipment at the head office (the world's PC is not part of it)."""
    for tag, kind, location in (
        ("PJ-01", AssetKind.PROJECTOR, "Meeting room A"),
        ("MIC-01", AssetKind.MICROPHONE, "Meeting room A"),
        ("TV-01", AssetKind.TV, "Meeting room B"),
    ):
        await helpdesk.assets.register(
            AssetRecord(tag=tag, kind=kind, site_code="HQ", location=location)
        )


@pytest.fixture
def runner(helpdesk):
    return helpdesk.runner()


async def monthly_plan(helpdesk, world, **extra):
    return await helpdesk.inspections.create_plan(
        code="HQ-ROOMS",
        name="Meeting rooms",
        cadence=MONTHLY,
        site_id=world.site_id,
        engineer_id=world.engineer_id,
        **extra,
    )


async def rounds(helpdesk) -> dict[str, Inspection]:
    async with helpdesk.core.reading() as session:
        rows = await session.scalars(select(Inspection).order_by(Inspection.id))
        return {row.period: row for row in rows}


async def messages(helpdesk, code: str) -> list[OutboxMessage]:
    async with helpdesk.core.reading() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.code == code).order_by(OutboxMessage.id)
        )
        return list(rows)


async def recipients(helpdesk, code: str, **params) -> list[int]:
    rows = await messages(helpdesk, code)
    return [
        row.recipient_id
        for row in rows
        if all(row.params.get(key) == value for key, value in params.items())
    ]


async def due_work(helpdesk, inspection_id: int) -> dict[str, DueWork]:
    async with helpdesk.core.reading() as session:
        rows = await session.scalars(
            select(DueWork).where(DueWork.key.startswith(f"insp:{inspection_id}:"))
        )
        return {row.key.split(":", 2)[2]: row for row in rows}


async def mark_all_sent(helpdesk) -> None:
    """What the outbox sender would do (no transport in these tests)."""
    async with helpdesk.core.transaction() as tx:
        await tx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENT, sent_at=tx.now)
        )


async def walk(helpdesk, world, inspection_id: int, *, skip_tv: bool = True):
    """Check the projector and the microphone (a fault), and skip (or check) the TV."""
    service = helpdesk.inspections
    view = await service.start(inspection_id, actor_id=world.engineer_id)
    tags = {device.tag: device.asset_id for device in view.devices}
    await service.record_device(
        inspection_id, tags["PJ-01"], actor_id=world.engineer_id, answers=PROJECTOR_OK
    )
    mic = await service.record_device(
        inspection_id,
        tags["MIC-01"],
        actor_id=world.engineer_id,
        answers=MIC_FAULT,
        note="crackles",
        impact=Impact.DEGRADED,
        symptom="Inspection: microphone MIC-01 crackles",
    )
    if skip_tv:
        await service.record_device(
            inspection_id, tags["TV-01"], actor_id=world.engineer_id, skip_reason="Room in use"
        )
    else:
        await service.record_device(
            inspection_id, tags["TV-01"], actor_id=world.engineer_id, answers=TV_OK
        )
    return tags, mic


# --- planning ------------------------------------------------------------------------------------


async def test_a_monthly_plan_gets_its_current_and_next_round_due_on_the_tenth(
    helpdesk, world, rooms
):
    plan = await monthly_plan(helpdesk, world)
    assert plan.notice_working_days == 3 and plan.due_day == 10
    assert sorted(plan.asset_kinds) == sorted(
        k.value
        for k in (
            AssetKind.PROJECTOR,
            AssetKind.TV,
            AssetKind.MICROPHONE,
            AssetKind.CONFERENCE_TERMINAL,
            AssetKind.AMPLIFIER,
            AssetKind.CENTRAL_CONTROL,
        )
    )
    made = await rounds(helpdesk)
    assert list(made) == ["2026-03", "2026-04"]
    march = made["2026-03"]
    assert (march.starts_on, march.due_at) == (local(3, 1), local(3, 10, 18))
    assert march.status == "planned" and march.engineer_id == world.engineer_id
    view = await helpdesk.inspections.round(march.id)
    # In location order; the world's PC is not meeting-room equipment.
    assert [d.tag for d in view.devices] == ["MIC-01", "PJ-01", "TV-01"]
    work = await due_work(helpdesk, made["2026-04"].id)
    assert {step: row.due_at for step, row in work.items()} == {
        "announce": local(3, 27, 9),
        "remind:start": local(4, 1, 9),
        "remind:due": local(4, 8, 9),  # 4-6 April is Qingming
        "overdue": local(4, 10, 18),
    }


async def test_a_semiannual_desktop_plan_is_announced_fifteen_working_days_ahead(
    helpdesk, world, runner, clock
):
    plan = await helpdesk.inspections.create_plan(
        code="HQ-DESKTOP", name="Desktop health", cadence=SEMIANNUAL, site_id=world.site_id
    )
    assert plan.notice_working_days == 15 and plan.due_day is None
    assert sorted(plan.asset_kinds) == ["laptop", "pc", "printer", "scanner"]
    made = await rounds(helpdesk)
    assert list(made) == ["2026-H1", "2026-H2"]
    h1 = made["2026-H1"]
    assert (h1.starts_on, h1.due_at) == (local(5, 1), local(6, 30, 18))
    assert h1.engineer_id == world.engineer_id  # the least loaded engineer of the site
    assert [d.tag for d in (await helpdesk.inspections.round(h1.id)).devices] == ["PC-0001"]
    with pytest.raises(Conflict) as refused:
        await helpdesk.inspections.start(h1.id, actor_id=world.engineer_id)
    assert refused.value.code == "inspection.not_open"

    await runner.sweep()
    assert await messages(helpdesk, "inspection.announced") == []
    clock.set(local(4, 10, 8, 59))
    await runner.sweep()
    assert await messages(helpdesk, "inspection.announced") == []
    clock.set(local(4, 10, 9))
    await runner.sweep()
    await runner.sweep()
    announced = await messages(helpdesk, "inspection.announced")
    assert sorted(row.recipient_id for row in announced) == sorted(
        [world.reporter_id, world.manager_id]
    )
    assert datetime.fromisoformat(announced[0].params["starts_on"]) == local(5, 1)
    assert datetime.fromisoformat(announced[0].params["due_at"]) == local(6, 30, 18)
    assert (await rounds(helpdesk))["2026-H1"].announced_at == local(4, 10, 9)


async def test_the_planner_is_idempotent_when_run_again(helpdesk, world, rooms, clock):
    await monthly_plan(helpdesk, world)
    before = await rounds(helpdesk)
    assert (await helpdesk.inspections.plan_rounds()).created == ()
    assert (await helpdesk.inspections.plan_rounds()).created == ()
    after = await rounds(helpdesk)
    assert {period: row.id for period, row in after.items()} == {
        period: row.id for period, row in before.items()
    }
    clock.set(local(4, 1, 7, 30))
    assert (await helpdesk.inspections.plan_rounds()).created == (("HQ-ROOMS", "2026-05"),)
    assert (await helpdesk.inspections.plan_rounds()).created == ()
    assert list(await rounds(helpdesk)) == ["2026-03", "2026-04", "2026-05"]
    async with helpdesk.core.reading() as session:
        assert await session.scalar(select(func.count()).select_from(DueWork)) == 12


async def test_concurrent_planners_on_separate_connections_create_each_round_once(
    helpdesk, world, rooms, clock, database_url, policy
):
    await monthly_plan(helpdesk, world)
    clock.set(local(4, 1, 7, 30))
    databases = [Database(database_url) for _ in range(4)]
    try:
        planners = [Helpdesk(Core(db, clock, policy)).inspections for db in databases]
        results = await asyncio.gather(*(p.plan_rounds() for p in planners))
    finally:
        for db in databases:
            await db.dispose()
    assert sum(len(result.created) for result in results) == 1
    made = await rounds(helpdesk)
    assert list(made) == ["2026-03", "2026-04", "2026-05"]
    assert len(await due_work(helpdesk, made["2026-05"].id)) == 4


async def test_a_plan_owes_no_round_due_before_it_was_made(helpdesk, world, rooms, clock):
    clock.set(local(3, 12, 10))  # after the March round's due date
    await monthly_plan(helpdesk, world)
    assert list(await rounds(helpdesk)) == ["2026-04"]


async def test_bad_plans_are_refused(helpdesk, world):
    with pytest.raises(InvalidInput):
        await helpdesk.inspections.create_plan(
            code="X", name="x", cadence="weekly", site_id=world.site_id
        )
    with pytest.raises(InvalidInput):
        await helpdesk.inspections.create_plan(
            code="X", name="x", cadence=MONTHLY, site_id=world.site_id, engineer_id=world.manager_id
        )
    await monthly_plan(helpdesk, world)
    with pytest.raises(Conflict):
        await monthly_plan(helpdesk, world)


# --- announcements, reminders, escalation -----------------------------------------------------


async def test_announcements_and_reminders_fire_once_at_their_times(
    helpdesk, world, rooms, runner, clock
):
    await monthly_plan(helpdesk, world)
    made = await rounds(helpdesk)
    march, april = made["2026-03"].id, made["2026-04"].id

    # Planned late (window open since Sunday): the March round is announced and the
    # engineer reminded at the first sweep; the due-date reminder comes on Friday.
    await runner.sweep()
    assert sorted(
        await recipients(helpdesk, "inspection.announced", inspection_id=march)
    ) == sorted([world.reporter_id, world.manager_id])
    assert await recipients(helpdesk, "inspection.reminder", inspection_id=march) == [
        world.engineer_id
    ]
    clock.set(local(3, 6, 8, 59))
    await runner.sweep()
    assert len(await recipients(helpdesk, "inspection.reminder", inspection_id=march)) == 1
    clock.set(local(3, 6, 9))
    await runner.sweep()
    await runner.sweep()
    reminders = [
        row.params["which"]
        for row in await messages(helpdesk, "inspection.reminder")
        if row.params["inspection_id"] == march
    ]
    assert reminders == ["start", "due"]

    # April: announced three working days before the 1st.
    assert await recipients(helpdesk, "inspection.announced", inspection_id=april) == []
    clock.set(local(3, 27, 9))
    await runner.sweep()
    await helpdesk.inspections.plan_rounds()
    await runner.sweep()
    assert len(await recipients(helpdesk, "inspection.announced", inspection_id=april)) == 2
    clock.set(local(4, 1, 9))
    await runner.sweep()
    assert await recipients(helpdesk, "inspection.reminder", inspection_id=april) == [
        world.engineer_id
    ]


async def test_an_overdue_round_pages_the_engineer_and_the_managers_once(
    helpdesk, world, rooms, runner, clock
):
    await monthly_plan(helpdesk, world)
    march = (await rounds(helpdesk))["2026-03"].id
    await runner.sweep()
    clock.set(local(3, 10, 17, 59))
    await runner.sweep()
    assert await messages(helpdesk, "inspection.overdue") == []
    clock.set(local(3, 10, 18))
    await runner.sweep()
    await runner.sweep()
    await helpdesk.inspections.plan_rounds()
    clock.set(local(3, 11, 9))
    await runner.sweep()
    overdue = await messages(helpdesk, "inspection.overdue")
    assert sorted(row.recipient_id for row in overdue) == sorted(
        [world.engineer_id, world.manager_id]
    )
    assert overdue[0].params["remaining"] == 3 and overdue[0].priority == 1
    assert (await rounds(helpdesk))["2026-03"].escalated_at == local(3, 10, 18)
    # Still open, it can be completed late; the report says so.
    await walk(helpdesk, world, march)
    view = await helpdesk.inspections.complete(march, actor_id=world.engineer_id)
    assert view.status == "completed"
    (report,) = await messages(helpdesk, "inspection.report")
    assert report.params["on_time"] is False


async def test_reminders_go_to_the_backup_when_the_engineer_has_left(
    helpdesk, world, rooms, runner
):
    await monthly_plan(helpdesk, world)
    async with helpdesk.core.transaction() as tx:
        await tx.session.execute(
            update(Person).where(Person.id == world.engineer_id).values(active=False)
        )
    await runner.sweep()
    assert set(await recipients(helpdesk, "inspection.reminder")) == {world.backup_id}


# --- the walk and the report ----------------------------------------------------------------------


async def test_a_completed_round_reports_to_managers_and_is_not_reminded_or_escalated(
    helpdesk, world, rooms, runner, clock
):
    await monthly_plan(helpdesk, world)
    march = (await rounds(helpdesk))["2026-03"].id
    await runner.sweep()  # the late announcement and the start reminder
    clock.set(local(3, 4, 15))
    tags, mic = await walk(helpdesk, world, march)
    with pytest.raises(PermissionDenied):
        await helpdesk.inspections.complete(march, actor_id=world.reporter_id)
    view = await helpdesk.inspections.complete(march, actor_id=world.engineer_id)
    assert view.completed_at == local(3, 4, 15)
    assert view.report_due_at == local(3, 9, 18)  # Thu, Fri, Mon: three working days
    assert view.reported_at == local(3, 4, 15)
    (report,) = await messages(helpdesk, "inspection.report")
    assert report.recipient_id == world.manager_id
    params = report.params
    assert (params["ok"], params["fault"], params["skipped"]) == (1, 1, 1)
    assert params["on_time"] is True
    assert params["consumables_due"] == [
        {
            "tag": "PJ-01",
            "kind": "projector",
            "location": "Meeting room A",
            "item": "lamp_hours",
            "value": 2100,
            "limit": 2000.0,
        }
    ]
    assert params["consumables_replaced"] == [
        {"tag": "MIC-01", "kind": "microphone", "location": "Meeting room A", "item": "batteries"}
    ]
    assert params["tickets"] == [
        {
            "tag": "MIC-01",
            "kind": "microphone",
            "location": "Meeting room A",
            "ticket_id": mic.ticket_id,
        }
    ]
    assert params["skipped_devices"][0]["reason"] == "Room in use"

    await mark_all_sent(helpdesk)
    for moment in (local(3, 6, 9), local(3, 9, 18), local(3, 10, 18), local(3, 12, 9)):
        clock.set(moment)
        await runner.sweep()
    assert await messages(helpdesk, "inspection.overdue") == []
    assert await messages(helpdesk, "inspection.report_overdue") == []
    march_reminders = await recipients(helpdesk, "inspection.reminder", inspection_id=march)
    assert march_reminders == [world.engineer_id]  # the start one only
    with pytest.raises(Conflict):
        await helpdesk.inspections.complete(march, actor_id=world.engineer_id)
    with pytest.raises(Conflict):
        await helpdesk.inspections.record_device(
            march, tags["PJ-01"] + 1000, actor_id=world.engineer_id, answers=PROJECTOR_OK
        )
    async with helpdesk.core.reading() as session:
        assert (await verify_chain(session)).ok


async def test_a_fault_opens_a_ticket_on_behalf_of_the_engineer_linked_to_the_item(
    helpdesk, world, rooms
):
    await monthly_plan(helpdesk, world)
    march = (await rounds(helpdesk))["2026-03"].id
    _, mic = await walk(helpdesk, world, march)
    assert mic.outcome == "fault" and mic.ticket_id is not None
    async with helpdesk.core.reading() as session:
        ticket = await session.get(Ticket, mic.ticket_id)
    assert ticket is not None
    assert ticket.reporter_id == world.engineer_id
    assert ticket.severity == 3 and ticket.status is TicketStatus.ASSIGNED
    assert ticket.symptom == "Inspection: microphone MIC-01 crackles"
    assert ticket.location == "Meeting room A"


async def test_saving_a_device_again_keeps_the_first_result_and_one_ticket(helpdesk, world, rooms):
    await monthly_plan(helpdesk, world)
    march = (await rounds(helpdesk))["2026-03"].id
    tags, mic = await walk(helpdesk, world, march)
    # A crash between saving the item and linking its ticket leaves the link empty; the
    # retry finds the ticket opened for that device and links it instead of opening another.
    async with helpdesk.core.transaction() as tx:
        await tx.session.execute(update(InspectionItem).values(ticket_id=None))
    again = await helpdesk.inspections.record_device(
        march,
        tags["MIC-01"],
        actor_id=world.engineer_id,
        answers={"sound_clear": "ok", "batteries": "ok", "cables": "ok"},
        impact=Impact.DEGRADED,
        symptom="again",
    )
    assert again.outcome == "fault" and again.ticket_id == mic.ticket_id
    async with helpdesk.core.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1


async def test_a_round_is_complete_only_when_every_device_is_saved(helpdesk, world, rooms):
    await monthly_plan(helpdesk, world)
    march = (await rounds(helpdesk))["2026-03"].id
    view = await helpdesk.inspections.start(march, actor_id=world.engineer_id)
    assert view.status == "in_progress" and view.next_device().tag == "MIC-01"
    with pytest.raises(Conflict) as refused:
        await helpdesk.inspections.complete(march, actor_id=world.engineer_id)
    assert refused.value.params["remaining"] == 3
    mic = view.next_device().asset_id
    with pytest.raises(InvalidInput):  # a fault needs its impact
        await helpdesk.inspections.record_device(
            march, mic, actor_id=world.engineer_id, answers=MIC_FAULT
        )
    with pytest.raises(InvalidInput):  # a skip needs its reason
        await helpdesk.inspections.record_device(
            march, mic, actor_id=world.engineer_id, skip_reason="  "
        )
    pc = (await helpdesk.assets.by_tag("PC-0001")).id
    with pytest.raises(InvalidInput):  # the world's PC is not in this round
        await helpdesk.inspections.record_device(
            march, pc, actor_id=world.engineer_id, skip_reason="n/a"
        )
    with pytest.raises(PermissionDenied):
        await helpdesk.inspections.record_device(
            march, mic, actor_id=world.reporter_id, skip_reason="not mine"
        )


async def test_a_report_that_reached_no_manager_is_escalated_to_the_admins(
    helpdesk, world, rooms, runner, clock
):
    admin = await helpdesk.people.create_person(name="Admin", role=Role.ADMIN)
    await monthly_plan(helpdesk, world)
    march = (await rounds(helpdesk))["2026-03"].id
    await walk(helpdesk, world, march, skip_tv=False)
    view = await helpdesk.inspections.complete(march, actor_id=world.engineer_id)
    assert view.report_due_at == local(3, 5, 18)
    # The report is queued but never delivered (the manager blocked the bot, say).
    async with helpdesk.core.transaction() as tx:
        await tx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.code == "inspection.report")
            .values(status=OutboxStatus.FAILED)
        )
    clock.set(local(3, 5, 17, 59))
    await runner.sweep()
    assert await messages(helpdesk, "inspection.report_overdue") == []
    clock.set(local(3, 5, 18))
    await runner.sweep()
    await runner.sweep()
    assert sorted(await recipients(helpdesk, "inspection.report_overdue")) == sorted(
        [world.engineer_id, admin.id]
    )


async def test_a_delivered_report_is_not_escalated(helpdesk, world, rooms, runner, clock):
    await helpdesk.people.create_person(name="Admin", role=Role.ADMIN)
    await monthly_plan(helpdesk, world)
    march = (await rounds(helpdesk))["2026-03"].id
    await walk(helpdesk, world, march, skip_tv=False)
    await helpdesk.inspections.complete(march, actor_id=world.engineer_id)
    await mark_all_sent(helpdesk)
    clock.set(local(3, 6, 9))
    await runner.sweep()
    assert await messages(helpdesk, "inspection.report_overdue") == []


async def test_a_plan_switched_off_stops_its_rounds_reminders(helpdesk, world, rooms, runner):
    plan = await monthly_plan(helpdesk, world)
    async with helpdesk.core.transaction() as tx:
        await tx.session.execute(
            update(InspectionPlan).where(InspectionPlan.id == plan.id).values(active=False)
        )
    await runner.sweep()
    assert await messages(helpdesk, "inspection.announced") == []
    assert await messages(helpdesk, "inspection.reminder") == []
    assert (await helpdesk.inspections.plan_rounds()).created == ()


def test_the_runner_knows_every_kind_inspections_and_reminders_schedule(helpdesk):
    assert set(helpdesk.due_work_handlers()) >= {
        "inspection.announce",
        "inspection.remind",
        "inspection.overdue",
        "inspection.report_due",
        "survey.reminder",
        "loan.due",
        "loan.overdue",
        "complaint.overdue",
    }
