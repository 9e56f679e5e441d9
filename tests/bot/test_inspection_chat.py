"""Inspections and reminders in chat: the walk, a restart in the middle, the report, the reminders."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from chat_harness import ChatHarness, ChatMessage, Person
from sqlalchemy import select

from bot.callbacks import CallbackCodec
from bot.context import BotApp
from bot.handlers import build_router
from bot.handlers import inspections as inspection_handlers
from bot.jobs import JOBS, build_scheduler, run_job, stop_scheduler
from bot.router import Router
from bot.sender import OutboxSender
from core import reminders
from core.assets import AssetRecord
from core.conversations import ConversationStore
from core.db import Database
from core.enums import AssetKind, Impact, ServiceResult, ServiceType
from core.inspections import MONTHLY
from core.models import Inspection, InspectionItem, Rating, SpareLoan, Ticket
from core.services import Helpdesk
from core.tickets import ServiceSheet
from core.unit_of_work import Core

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = "▶️ Start inspection"
OK, FAULT, REPLACED = "✅ OK", "❌ Fault", "🔄 Replaced"
SKIP, LATER, NO_NOTE = "⏭ Skip device", "⏸ Later", "No note"
FINISH = "📤 Finish and send the report"


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def router_with_inspections() -> Router:
    """The app's router, with this module registered (until bot.handlers lists it)."""
    router = build_router()
    if "inspect" not in router.commands:
        inspection_handlers.register(router)
    return router


def app_for(helpdesk: Helpdesk, i18n) -> BotApp:
    return BotApp(
        helpdesk=helpdesk,
        conversations=ConversationStore(helpdesk.core),
        codec=CallbackCodec(b"test-secret"),
        i18n=i18n,
    )


@pytest.fixture
def chat(helpdesk, i18n):
    harness = ChatHarness(app_for(helpdesk, i18n), router_with_inspections())
    yield harness
    harness.assert_clean()


@pytest.fixture(autouse=True)
async def english(helpdesk, world):
    for person_id in (
        world.reporter_id,
        world.engineer_id,
        world.backup_id,
        world.dispatcher_id,
        world.manager_id,
    ):
        await helpdesk.people.set_language(person_id, "en")


@pytest.fixture
async def rooms(helpdesk, world):
    for tag, kind, location, model in (
        ("PJ-01", AssetKind.PROJECTOR, "Meeting room A", "EB-X41"),
        ("MIC-01", AssetKind.MICROPHONE, "Meeting room A", ""),
        ("TV-01", AssetKind.TV, "Meeting room B", ""),
    ):
        await helpdesk.assets.register(
            AssetRecord(tag=tag, kind=kind, site_code="HQ", location=location, model=model)
        )
    await helpdesk.inspections.create_plan(
        code="HQ-ROOMS",
        name="Meeting rooms",
        cadence=MONTHLY,
        site_id=world.site_id,
        engineer_id=world.engineer_id,
    )


@pytest.fixture
def runner(helpdesk):
    return helpdesk.runner()


def find(person: Person, text: str) -> ChatMessage:
    for message in reversed(person.messages):
        if text in message.text:
            return message
    raise AssertionError(f"no message with {text!r}: {person.texts()}")


async def restarted(
    chat: ChatHarness, database_url, clock, policy, i18n
) -> tuple[ChatHarness, Database]:
    """A new process on the same database; Telegram (the transport) keeps its messages."""
    database = Database(database_url)
    helpdesk = Helpdesk(Core(database, clock, policy))
    app = app_for(helpdesk, i18n)
    router = router_with_inspections()
    harness = ChatHarness(app, router, first_update_id=10_000)
    harness.transport = chat.transport
    harness.sender = OutboxSender(app, chat.transport)
    return harness, database


async def test_the_engineer_walks_a_meeting_room_round_survives_a_restart_and_the_manager_gets_the_report(
    chat, helpdesk, world, rooms, runner, database_url, clock, policy, i18n
):
    await runner.sweep()  # the round is open: the start reminder is due now
    await chat.deliver()
    wang = chat.person(2001, "Wang")
    reminder = find(wang, "Inspection round open")
    assert "Meeting rooms (2026-03) at Head office" in reminder.text
    assert "3 devices to check, due Mar 10 18:00" in reminder.text
    await wang.press(START, message=reminder)

    # The microphone comes first (location, then tag): one item fails.
    step = wang.last()
    assert "Device 1 of 3: <b>Microphone · MIC-01 · Meeting room A</b>" in step.text
    assert "1/3. <b>Sound clear, no crackle</b>?" in step.text
    assert step.buttons() == [OK, FAULT, SKIP, LATER]
    await wang.press(FAULT, message=step)
    assert "2/3. <b>Batteries</b>?" in step.text
    assert step.buttons() == [OK, REPLACED, FAULT, SKIP, LATER]
    await wang.press(REPLACED, message=step)
    await wang.press(OK, message=step)
    assert "A fault was found" in step.text
    await wang.send("Crackles when the cable moves")
    impact = wang.last()
    assert "How badly does this fault affect" in impact.text
    await wang.press("It works badly, I can still work", message=impact)
    async with helpdesk.core.reading() as session:
        ticket = await session.scalar(select(Ticket))
    assert ticket is not None and ticket.severity == 3 and ticket.reporter_id == world.engineer_id
    assert "Microphone · MIC-01 · Meeting room A" in ticket.symptom
    assert "Sound clear, no crackle" in ticket.symptom
    assert "Crackles when the cable moves" in ticket.symptom
    step = impact  # the walk goes on in the same message; the ticket's news arrive below it
    assert f"Ticket #{ticket.id}" in find(wang, "New dispatch").text  # Wang is least loaded
    assert f"❌ MIC-01 saved with a fault; ticket #{ticket.id} opened." in step.text
    assert "Device 2 of 3: <b>Projector · PJ-01 · Meeting room A · EB-X41</b>" in step.text
    await wang.press(OK, message=step)
    assert "2/4. <b>Lamp hours</b>?" in step.text and step.buttons() == [SKIP, LATER]

    # The bot restarts here: a new process, the same database.
    chat2, database = await restarted(chat, database_url, clock, policy, i18n)
    try:
        wang2 = chat2.person(2001, "Wang")
        await wang2.send("/inspect")
        step = wang2.last()
        assert "Carrying on where you stopped." in step.text
        assert "2/4. <b>Lamp hours</b>?" in step.text
        assert "Image sharp and bright: ✅ OK" in step.text  # kept across the restart
        await wang2.send("about two thousand")
        assert "is not a number from 0 to 100000" in wang2.last().text
        await wang2.send("2100")
        step = wang2.last()
        assert "3/4. <b>Air filter clean</b>?" in step.text
        await wang2.press(OK, message=step)
        await wang2.press(REPLACED, message=step)  # remote control batteries
        await wang2.press(NO_NOTE, message=step)
        assert "✅ PJ-01 saved." in step.text
        assert "Device 3 of 3: <b>TV / display · TV-01 · Meeting room B</b>" in step.text
        await wang2.press(SKIP, message=step)
        assert "Why is this device skipped?" in step.text
        await wang2.press("Room in use", message=step)
        assert "⏭ TV-01 skipped." in step.text
        assert "All 3 devices done: ✅ 1 OK · ❌ 1 with a fault · ⏭ 1 skipped." in step.text
        await wang2.press(FINISH, message=step)
        assert "Inspection completed" in step.text
        assert await chat2.app.conversations.load(2001, 2001) is None
        chat2.assert_clean()
    finally:
        await database.dispose()

    async with helpdesk.core.reading() as session:
        items = {item.outcome: item for item in await session.scalars(select(InspectionItem))}
        inspection = await session.scalar(select(Inspection).where(Inspection.period == "2026-03"))
    assert set(items) == {"ok", "fault", "skipped"}
    assert items["ok"].consumables == {"lamp_hours": 2100, "remote_batteries": "replaced"}
    assert items["fault"].ticket_id == ticket.id
    assert items["skipped"].note == "Room in use"
    assert inspection.status == "completed"

    liu = chat.person(4001, "Liu")
    report = find(liu, "Inspection report")
    text = report.text
    assert "Meeting rooms (2026-03) at Head office" in text
    assert "by Wang Wei · on time" in text
    assert "✅ 1 OK · ❌ 1 with a fault · ⏭ 1 skipped (of 3)" in text
    assert "• Projector PJ-01 (Meeting room A): Lamp hours 2100 (replace over 2000)" in text
    assert "• Projector PJ-01 (Meeting room A): Remote control batteries" in text
    assert "• Microphone MIC-01 (Meeting room A): Batteries" in text
    assert f"• #{ticket.id}: Microphone MIC-01 (Meeting room A)" in text
    assert "• TV / display TV-01: Room in use" in text
    assert report.buttons() == [f"#{ticket.id}"]


async def test_stale_and_typed_answers_are_refused_without_losing_the_place(
    chat, helpdesk, world, rooms
):
    wang = chat.person(2001, "Wang")
    await wang.send("/inspect")
    step = wang.last()
    first = step.keyboard  # the microphone's first item
    await wang.send("fine")
    assert "Please answer with the buttons above" in wang.last().text
    await wang.press(OK, message=step)
    assert "2/3. <b>Batteries</b>?" in step.text
    # The OK of the first item, pressed again from an old copy of the keyboard.
    old = next(b.data for row in first.rows for b in row if b.text == OK)
    await wang.press_data(old, message_id=step.message_id)
    assert "earlier question" in wang.last().text
    assert "2/3. <b>Batteries</b>?" in step.text
    await wang.press(LATER, message=step)
    assert "Paused." in step.text
    assert await chat.app.conversations.load(2001, 2001) is None
    async with helpdesk.core.reading() as session:
        assert await session.scalar(select(InspectionItem)) is None


async def test_inspect_says_so_when_no_round_is_open_and_staff_cannot_use_it(chat, helpdesk, world):
    wang = chat.person(2001, "Wang")
    await wang.send("/inspect")
    assert "No inspection round is open for you now." in wang.last().text
    li = chat.person(1001, "Li")
    await li.send("/inspect")
    assert "/inspect is not available for your role." in li.last().text


async def test_staff_are_told_of_the_round_ahead_with_its_dates(
    chat, helpdesk, world, rooms, runner, clock
):
    clock.set(local(3, 27, 9))
    await runner.sweep()
    await chat.deliver()
    li = chat.person(1001, "Li")
    notice = find(li, "Inspection announced")
    assert "Meeting rooms (2026-04) at Head office" in notice.text
    assert "between <b>Wed, Apr 1</b> and <b>Fri, Apr 10</b>" in notice.text
    assert notice.buttons() == []


async def test_an_overdue_round_pages_the_manager_without_a_start_button(
    chat, helpdesk, world, rooms, runner, clock
):
    clock.set(local(3, 10, 18))
    await runner.sweep()
    await chat.deliver()
    liu = chat.person(4001, "Liu")
    page = find(liu, "Inspection overdue")
    assert "3 of 3 devices not checked. Engineer: Wang Wei." in page.text
    assert page.buttons() == []
    wang = chat.person(2001, "Wang")
    assert find(wang, "Inspection overdue").buttons() == [START]


# --- reminders --------------------------------------------------------------------------------------


async def test_the_engineer_records_the_spare_device_back_from_its_reminder(
    chat, helpdesk, world, runner, clock
):
    tickets = helpdesk.tickets
    ticket = await tickets.report_fault(
        world.reporter_id, symptom="Will not boot", impact=Impact.CANNOT_WORK, asset_tag="PC-0001"
    )
    await tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await tickets.arrive(ticket.id, actor_id=world.engineer_id)
    await tickets.restore(
        ticket.id, actor_id=world.engineer_id, spare_lent=True, spare_description="Spare PC"
    )
    sheet = ServiceSheet(
        service_type=ServiceType.HARDWARE_FAULT, result=ServiceResult.TAKEN_BACK, solution="PSU"
    )
    await tickets.resolve(ticket.id, actor_id=world.engineer_id, sheet=sheet)  # clocks stop
    async with helpdesk.core.transaction() as tx:
        loan = await tx.session.scalar(select(SpareLoan))
        await reminders.schedule_loan_reminders(tx, loan)
    clock.set(local(3, 11, 9))
    await runner.sweep()
    await chat.deliver()
    wang = chat.person(2001, "Wang")
    due = find(wang, "Spare device due back today")
    assert f"ticket #{ticket.id} (Room 301)" in due.text
    assert (
        "Spare PC, lent Mar 2 09:00; the original device is due back by Mar 11 18:00." in due.text
    )
    await wang.press("✅ Returned", message=due)
    assert "the spare device (Spare PC) is back, recorded Mar 11 09:00." in due.text
    assert due.buttons() == []
    clock.set(local(3, 13, 9))
    await runner.sweep()
    await chat.deliver()
    assert all("Spare device overdue" not in text for text in chat.person(4001).texts())


async def test_an_unrated_fix_is_asked_about_again_and_can_be_rated_from_the_reminder(
    chat, helpdesk, world, runner, clock
):
    tickets = helpdesk.tickets
    ticket = await tickets.report_fault(
        world.reporter_id, symptom="Screen flickers", impact=Impact.DEGRADED, asset_tag="PC-0001"
    )
    await tickets.acknowledge(ticket.id, actor_id=world.engineer_id)
    await tickets.arrive(ticket.id, actor_id=world.engineer_id)
    sheet = ServiceSheet(
        service_type=ServiceType.HARDWARE_FAULT,
        result=ServiceResult.FIXED_ON_SITE,
        solution="Cable",
    )
    resolved = await tickets.resolve(ticket.id, actor_id=world.engineer_id, sheet=sheet)
    async with helpdesk.core.transaction() as tx:
        await reminders.schedule_survey_reminder(tx, await tx.session.get(Ticket, resolved.id))
    clock.set(local(3, 3, 9))
    await runner.sweep()
    await chat.deliver()
    li = chat.person(1001, "Li")
    reminder = find(li, "Please tell us how it went")
    assert f"Ticket #{ticket.id}</b> (Screen flickers) was resolved Mar 2 09:00." in reminder.text
    assert reminder.buttons() == ["✅ Fixed", "❌ Not fixed"]
    await li.press("✅ Fixed", message=reminder)
    await li.press("5 · Very satisfied", message=reminder)
    async with helpdesk.core.reading() as session:
        rating = await session.scalar(select(Rating))
    assert rating is not None and rating.score == 5


async def test_an_overdue_complaint_reaches_the_manager_with_the_answer_button(
    chat, helpdesk, world, runner, clock
):
    complaint = await helpdesk.complaints.file(world.reporter_id, text="Nobody called back.")
    async with helpdesk.core.transaction() as tx:
        await reminders.schedule_complaint_deadline(tx, complaint)
    clock.set(local(3, 5, 18))
    await runner.sweep()
    await chat.deliver()
    liu = chat.person(4001, "Liu")
    page = find(liu, "is overdue")
    assert (
        f"Complaint #{complaint.id} is overdue</b>: it had to be answered by Mar 5 18:00."
        in page.text
    )
    assert "From Li Na: <i>Nobody called back.</i>" in page.text
    assert page.buttons() == ["✔ Confirm receipt", "✍️ Answer…"]


# --- the scheduler ------------------------------------------------------------------------------------


async def test_the_planner_job_runs_at_start_up_then_daily_at_half_past_seven(
    helpdesk, world, rooms, clock
):
    assert JOBS["inspection-planner"].at_start
    scheduler = build_scheduler(helpdesk, clock)
    daily = scheduler.get_job("inspection-planner")
    assert str(daily.trigger) == "cron[hour='7', minute='30']"
    assert scheduler.get_job("inspection-planner@start") is not None
    clock.set(local(4, 2, 7, 30))  # a month later: May's round is now due to be planned
    scheduler.start()
    try:
        # APScheduler runs the start-up job on its own (real-time) schedule: wait for its
        # outcome; the deadline is a safety net for a busy machine, not part of the test.
        deadline = time.monotonic() + 60
        while True:
            async with helpdesk.core.reading() as session:
                periods = set(await session.scalars(select(Inspection.period)))
            if "2026-05" in periods or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        assert periods == {"2026-03", "2026-04", "2026-05"}
        assert scheduler.get_job("inspection-planner@start") is None  # ran once, gone
    finally:
        await stop_scheduler(scheduler)  # runs still going end before the database closes
    # A demo with an accelerated clock fires it by hand; a second run finds nothing to do.
    assert (await run_job("inspection-planner", helpdesk, clock)).created == ()
    with pytest.raises(LookupError):
        await run_job("no-such-job", helpdesk, clock)
