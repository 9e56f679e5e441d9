"""Engineers and dispatchers in chat: the dispatch card, its dialogs, /queue and pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from chat_harness import ChatMessage, Person
from sqlalchemy import select

from bot.chat import InlineKeyboard
from core.enums import Impact, Role, ServiceResult, ServiceType, TicketStatus
from core.errors import NotFound
from core.models import BackupConsent, Page, Pause, Resolution, SlaClock, SpareLoan, Ticket
from core.tickets import ServiceSheet

SHANGHAI = ZoneInfo("Asia/Shanghai")

ACCEPT = "✅ Accept"
DECLINE = "↩️ Decline"
ON_THE_WAY = "🚗 On the way"
ARRIVED = "📍 Arrived"
RESTORED = "🩹 Restored"
RESOLVED = "🏁 Resolved"
PAUSE = "⏸ Pause"
RESUME = "▶️ Resume"
CONSENT = "💾 Ask backup consent"
REMOTE = "📞 Resolved remotely"
NEW_TIME = "🕐 New arrival time"
ACK_PAGE = "✅ Acknowledge page"
BACK = "◀ Back"


@pytest.fixture(autouse=True)
async def english(helpdesk, world):
    """Everyone reads English, so queued messages render in English too."""
    for person_id in (
        world.reporter_id,
        world.engineer_id,
        world.backup_id,
        world.dispatcher_id,
        world.manager_id,
    ):
        await helpdesk.people.set_language(person_id, "en")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


async def report(helpdesk, world, *, impact=Impact.CANNOT_WORK, symptom="Printer jams"):
    return await helpdesk.tickets.report_fault(
        world.reporter_id, symptom=symptom, impact=impact, asset_tag=world.asset_tag
    )


def data_of(message: ChatMessage, label: str) -> str:
    """The callback data behind a button (to press it again later, like a double tap)."""
    assert isinstance(message.keyboard, InlineKeyboard)
    for row in message.keyboard.rows:
        for button in row:
            if button.text == label and button.data:
                return button.data
    raise AssertionError(f"no button {label!r} on {message.buttons()}")


def find(person: Person, text: str) -> ChatMessage:
    """The newest message of a person containing `text`."""
    for message in reversed(person.messages):
        if text in message.text:
            return message
    raise AssertionError(f"no message with {text!r}: {person.texts()}")


async def dispatched_card(chat, helpdesk, world) -> tuple[Person, ChatMessage]:
    """A fresh ticket dispatched to Wang Wei, and his card."""
    await report(helpdesk, world)
    await chat.deliver()
    wang = chat.person(2001, "Wang")
    return wang, find(wang, "New dispatch")


async def ticket_row(helpdesk, ticket_id: int = 1) -> Ticket:
    async with helpdesk.core.reading() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


async def test_the_engineer_works_the_whole_ticket_from_one_card_edited_in_place(
    chat, helpdesk, world
):
    wang, card = await dispatched_card(chat, helpdesk, world)
    text = card.text
    assert "Ticket #1" in text and "Level 2 (major)" in text
    assert "Desktop PC · PC-0001 · Lenovo M720" in text
    assert "Head office, Room 301 · 1 Main St" in text
    assert "Li Na · 13800000001" in text and "Printer jams" in text
    assert "Promised arrival: Mar 2 11:00" in text
    assert "• arrival on site: by Mar 2 11:00" in text
    assert "Repeat failure" not in text
    assert card.buttons() == [ACCEPT, DECLINE]

    await wang.press(ACCEPT, message=card)
    assert card.buttons() == [ON_THE_WAY, ARRIVED, NEW_TIME, PAUSE, CONSENT, REMOTE]
    assert "accepted by the engineer · Wang Wei" in card.text
    assert "• acceptance: ✅ Mar 2 09:00" in card.text

    await wang.press(ON_THE_WAY, message=card)
    assert card.buttons() == [ARRIVED, NEW_TIME]
    await wang.press(ARRIVED, message=card)
    assert card.buttons() == [RESTORED, RESOLVED, PAUSE, CONSENT]
    assert "• arrival on site: ✅ Mar 2 09:00" in card.text

    # Before reinstalling the OS the reporter confirms the backup (000 §2.2.1-3).
    await wang.press(CONSENT, message=card)
    assert card.buttons() == ["OS reinstall", "Disk format", "Disk swap", "⬅️ Back"]
    await wang.press("OS reinstall", message=card)
    assert "Backup consent (OS reinstall): waiting for the reporter" in card.text
    assert card.buttons() == [RESTORED, RESOLVED, PAUSE, CONSENT]
    async with helpdesk.core.reading() as session:
        consent = await session.scalar(select(BackupConsent))
    assert consent is not None and consent.operation == "os_reinstall"
    await helpdesk.tickets.answer_backup_consent(
        consent.id, actor_id=world.reporter_id, confirmed=True
    )
    await chat.deliver()
    assert "the reporter confirmed the data is backed up" in wang.last().text

    # Service restored with a spare laptop; the original is due back in 7 working days.
    await wang.press(RESTORED, message=card)
    await wang.press("Yes, a spare")
    await wang.send("Laptop SP-07")
    assert "Spare device lent: Laptop SP-07" in wang.last().text
    assert "by Mar 11 18:00" in wang.last().text
    assert "the original is due back by Mar 11 18:00" in card.text
    assert "Backup consent (OS reinstall): ✅ confirmed Mar 2 09:00" in card.text
    assert card.buttons() == [RESOLVED, PAUSE]

    await wang.press(RESOLVED, message=card)
    await wang.press("Hardware fault")
    await wang.press("No")  # warranty
    await wang.press("No")  # charged
    await wang.press("Fixed on site")
    await wang.send("Power supply unit")
    await wang.press("No")  # spare lent at resolution
    await wang.send("Replaced the PSU; explained surge protection to the user.")
    summary = wang.last().text
    assert "Service: Hardware fault" in summary and "Result: Fixed on site" in summary
    assert "Parts replaced: Power supply unit" in summary
    await wang.press("✅ Confirm")
    assert "Ticket #1 resolved" in wang.last().text

    assert "Status: <b>resolved · Wang Wei</b>" in card.text
    assert card.buttons() == []
    assert card is find(wang, "Ticket #1</b> · Level")  # one card, edited each time
    assert len(card.edits) == 7  # accept, go, arrive, consent menu + request, restore, resolve
    ticket = await ticket_row(helpdesk)
    assert ticket.status is TicketStatus.RESOLVED and ticket.category is ServiceType.HARDWARE_FAULT
    async with helpdesk.core.reading() as session:
        sheet = await session.scalar(select(Resolution))
        loan = await session.scalar(select(SpareLoan))
    assert sheet is not None and sheet.result is ServiceResult.FIXED_ON_SITE
    assert sheet.parts_replaced == "Power supply unit"
    assert loan is not None and loan.description == "Laptop SP-07"


async def test_a_decline_with_a_reason_reaches_the_dispatcher_who_reassigns_to_the_backup(
    chat, helpdesk, world
):
    wang, card = await dispatched_card(chat, helpdesk, world)
    await wang.press(DECLINE, message=card)
    assert "Why do you decline ticket #1?" in wang.last().text
    await wang.press("On leave")
    assert "You declined ticket #1" in wang.last().text
    assert "waiting for dispatch" in card.text and card.buttons() == []

    chen = chat.person(3001, "Chen")
    notice = find(chen, "declined ticket #1")
    assert "Wang Wei declined ticket #1</b>: <i>On leave</i>" in notice.text
    assert notice.buttons() == ["👷 Wang Wei", "👷 Zhao Lei", "🎚 Set level"]
    await chen.press("👷 Zhao Lei", message=notice)
    assert "dispatched · Zhao Lei" in notice.text
    assert notice.buttons() == ["🔀 Reassign", "🎚 Set level"]
    assert any(a.text == "Assigned to Zhao Lei." for a in chat.transport.answers)

    zhao = chat.person(2002, "Zhao")
    assert find(zhao, "New dispatch").buttons() == [ACCEPT, DECLINE]
    assert (await ticket_row(helpdesk)).assignee_id == world.backup_id


async def test_a_typed_decline_reason_is_passed_on_as_typed(chat, helpdesk, world):
    wang, card = await dispatched_card(chat, helpdesk, world)
    await wang.press(DECLINE, message=card)
    await wang.send_other()
    assert "Please type the reason" in wang.last().text
    await wang.send("Stuck at the other site until 3 pm")
    chen = chat.person(3001, "Chen")
    assert "<i>Stuck at the other site until 3 pm</i>" in find(chen, "declined").text


async def test_pause_asks_the_reason_and_a_note_and_resume_brings_the_buttons_back(
    chat, helpdesk, world
):
    wang, card = await dispatched_card(chat, helpdesk, world)
    await wang.press(ACCEPT, message=card)
    await wang.press(ARRIVED, message=card)
    await wang.press(PAUSE, message=card)
    await wang.send("parts")  # buttons only here
    assert "Please choose with the buttons" in wang.last().text
    await wang.press("Waiting for parts")
    await wang.send("PSU for the M720 ordered")
    assert "Ticket #1 paused: waiting for parts" in wang.last().text
    assert card.buttons() == [RESUME]
    assert "• service restored: ⏸ paused" in card.text
    async with helpdesk.core.reading() as session:
        pause = await session.scalar(select(Pause))
    assert pause is not None and (pause.reason, pause.note) == ("parts", "PSU for the M720 ordered")

    await wang.press(RESUME, message=card)
    assert card.buttons() == [RESTORED, RESOLVED, PAUSE, CONSENT]
    assert (await ticket_row(helpdesk)).status is TicketStatus.ON_SITE


async def test_the_resolution_dialog_rejects_bad_input_at_each_step_and_keeps_the_answers(
    chat, helpdesk, world
):
    wang, card = await dispatched_card(chat, helpdesk, world)
    await wang.press(ACCEPT, message=card)
    await wang.press(ARRIVED, message=card)
    await wang.press(RESOLVED, message=card)

    await wang.send("software")  # a button step
    assert "Please choose with the buttons above" in wang.last().text
    await wang.press("Software fault")
    await wang.send_other()  # a sticker
    assert "Please choose with the buttons above" in wang.last().text
    await wang.press("Yes")  # under warranty
    await wang.press("Yes")  # charged
    await wang.send("a lot")
    assert wang.last().text == "a lot is not an amount; write it like 120 or 99.50."
    await wang.send_other()
    assert "Please type the amount" in wang.last().text
    await wang.send("-5")
    assert "is not an amount" in wang.last().text
    await wang.send("120,50")
    await wang.press("Second visit needed")
    await wang.send("tomorrow 10:00")
    assert "exactly as YYYY-MM-DD HH:MM, e.g. <code>2026-03-03 10:00</code>" in wang.last().text
    await wang.send("2026-02-30 10:00")
    assert "exactly as YYYY-MM-DD HH:MM" in wang.last().text
    await wang.send("2026-03-01 10:00")
    assert "already passed" in wang.last().text
    await wang.send("2026-03-05 14:00")
    await wang.press("None")  # parts
    await wang.send_other()
    assert "Please choose with the buttons above" in wang.last().text
    await wang.press("No")  # spare
    await wang.send_other()
    assert "Please type the solution" in wang.last().text
    await wang.send("Reinstalled the printer driver")

    summary = wang.last().text
    for expected in (
        "Service: Software fault",
        "Under warranty: Yes",
        "Charged: Yes, 120.50 yuan",
        "Result: Second visit needed · Mar 5 14:00",
        "Parts replaced: none",
        "Spare device lent: No",
        "Solution: <i>Reinstalled the printer driver</i>",
    ):
        assert expected in summary
    await wang.press("✅ Confirm")
    assert "Second visit: Mar 5 14:00." in wang.last().text
    async with helpdesk.core.reading() as session:
        sheet = await session.scalar(select(Resolution))
    assert sheet is not None
    assert sheet.amount == Decimal("120.50") and sheet.charged and sheet.under_warranty
    assert sheet.result is ServiceResult.SECOND_VISIT
    assert sheet.second_visit_at == local(5, 14)
    assert sheet.service_type is ServiceType.SOFTWARE_FAULT


async def test_back_revisits_earlier_answers_of_the_service_sheet(chat, helpdesk, world):
    wang, card = await dispatched_card(chat, helpdesk, world)
    await wang.press(ACCEPT, message=card)
    await wang.press(ARRIVED, message=card)
    await wang.press(RESOLVED, message=card)
    assert wang.last().buttons()[-1] == "✖ Cancel" and BACK not in wang.last().buttons()
    await wang.press("Software fault")
    assert wang.last().buttons()[-2:] == [BACK, "✖ Cancel"]
    await wang.press("Yes")  # under warranty
    await wang.press("Yes")  # charged
    await wang.send("120")
    await wang.press("Fixed on site")
    await wang.press("None")  # parts
    await wang.press("No")  # spare
    await wang.send("Reinstalled the driver")
    summary = wang.last()
    assert "Charged: Yes, 120.00 yuan" in summary.text and "Result: Fixed on site" in summary.text
    old_back = data_of(summary, BACK)

    # Back, step by step, to the result; a second visit after all.
    await wang.press(BACK, message=summary)
    assert "Describe the cause and what you did" in wang.last().text
    await wang.press_data(old_back, message_id=summary.message_id)  # the summary's Back again
    assert chat.transport.answers[-1].text == "This button belongs to a step that is already over."
    for question in ("spare device lent", "Which parts did you replace", "What is the result"):
        await wang.press(BACK)
        assert question in wang.last().text
    await wang.press("Second visit needed")
    await wang.send("2026-03-05 14:00")
    await wang.press("None")
    await wang.press("No")
    await wang.send("Driver reinstalled; the board needs a part")
    summary = wang.last().text
    assert "Result: Second visit needed · Mar 5 14:00" in summary
    assert "Solution: <i>Driver reinstalled; the board needs a part</i>" in summary
    assert "Charged: Yes, 120.00 yuan" in summary  # kept from before

    # Back to "charged" (through the steps taken) and answer No: the amount goes.
    for _ in range(7):  # solution, spare, parts, visit, result, amount, charged
        await wang.press(BACK)
    assert "Is the service charged?" in wang.last().text
    await wang.press("No")
    await wang.press("Fixed on site")
    await wang.press("None")
    await wang.press("No")
    await wang.send("Driver reinstalled")
    summary = wang.last().text
    assert "Charged: No" in summary and "Result: Fixed on site" in summary
    await wang.press("✅ Confirm")
    async with helpdesk.core.reading() as session:
        sheet = await session.scalar(select(Resolution))
    assert sheet is not None and not sheet.charged and sheet.amount is None
    assert sheet.result is ServiceResult.FIXED_ON_SITE and sheet.second_visit_at is None
    assert sheet.under_warranty and sheet.solution == "Driver reinstalled"


async def test_cancelling_the_resolution_changes_nothing(chat, helpdesk, world):
    wang, card = await dispatched_card(chat, helpdesk, world)
    await wang.press(ACCEPT, message=card)
    await wang.press(ARRIVED, message=card)
    await wang.press(RESOLVED, message=card)
    await wang.press("Network maintenance")
    await wang.send("/cancel")
    assert wang.last().text == "Cancelled. Nothing was changed."
    await wang.send("hello")  # no dialog any more
    assert "/help" in wang.last().text
    assert (await ticket_row(helpdesk)).status is TicketStatus.ON_SITE
    assert card.buttons() == [RESTORED, RESOLVED, PAUSE, CONSENT]


async def test_a_remote_fix_skips_the_on_site_questions(chat, helpdesk, world):
    wang, card = await dispatched_card(chat, helpdesk, world)
    await wang.press(ACCEPT, message=card)
    await wang.press(REMOTE, message=card)
    await wang.press("Software fault")
    await wang.press("No")
    await wang.press("No")
    await wang.send("Talked the user through clearing the print queue")
    assert "Result: Fixed remotely" in wang.last().text
    assert "Parts replaced" not in wang.last().text
    await wang.press("✅ Confirm")
    ticket = await ticket_row(helpdesk)
    assert ticket.status is TicketStatus.RESOLVED and ticket.remote
    assert "• arrival on site: not needed" in card.text


async def test_another_engineer_pressing_the_card_is_refused(chat, helpdesk, world):
    _wang, card = await dispatched_card(chat, helpdesk, world)
    zhao = chat.person(2002, "Zhao")
    await zhao.press_data(data_of(card, ACCEPT), message_id=card.message_id)
    assert (
        chat.transport.answers[-1].text == "Only the assigned engineer or a dispatcher can do that."
    )
    await zhao.press_data(data_of(card, DECLINE), message_id=card.message_id)
    assert (
        chat.transport.answers[-1].text == "Only the assigned engineer or a dispatcher can do that."
    )
    assert await chat.app.conversations.load(2002, 2002) is None  # no dialog was opened
    assert (await ticket_row(helpdesk)).status is TicketStatus.ASSIGNED
    assert zhao.messages == []
    stranger = chat.person(1001, "Li")  # the reporter cannot press engineer buttons at all
    await stranger.press_data(data_of(card, ACCEPT), message_id=card.message_id)
    assert chat.transport.answers[-1].text == "This button is not for you."


async def test_a_double_press_of_accept_gets_a_clear_answer_and_no_needless_edit(
    chat, helpdesk, world
):
    wang, card = await dispatched_card(chat, helpdesk, world)
    accept = data_of(card, ACCEPT)
    await wang.press(ACCEPT, message=card)
    await wang.press_data(accept, message_id=card.message_id)  # the second tap of a double tap
    answer = chat.transport.answers[-1]
    assert answer.text == "That is not possible now: ticket #1 is accepted by the engineer."
    assert answer.alert
    assert len(card.edits) == 1  # nothing changed, so no "message is not modified" edit


async def test_a_stale_card_is_refreshed_to_the_current_state_with_the_reason(
    chat, helpdesk, world
):
    wang, card = await dispatched_card(chat, helpdesk, world)
    await wang.press(ACCEPT, message=card)
    # Meanwhile the ticket is worked from elsewhere (another device, the dispatcher).
    await helpdesk.tickets.arrive(1, actor_id=world.engineer_id)
    sheet = ServiceSheet(ServiceType.OTHER, ServiceResult.FIXED_ON_SITE, solution="Reseated cable")
    await helpdesk.tickets.resolve(1, actor_id=world.engineer_id, sheet=sheet)
    await wang.press(ARRIVED, message=card)
    assert chat.transport.answers[-1].text == "That is not possible now: ticket #1 is resolved."
    assert "Status: <b>resolved · Wang Wei</b>" in card.text
    assert card.buttons() == []
    # "Resolved" from an older version of the card would open the dialog: refused up front.
    old_resolve = chat.app.codec.pack("ec", 1, "fix", "oldfp0")
    await wang.press_data(old_resolve, message_id=card.message_id)
    assert chat.transport.answers[-1].text == "That is not possible now: ticket #1 is resolved."
    assert await chat.app.conversations.load(2001, 2001) is None
    assert len(card.edits) == 2


async def test_reassigning_and_cancelling_tell_the_engineer_to_stand_down(chat, helpdesk, world):
    wang, card = await dispatched_card(chat, helpdesk, world)
    await wang.press(ACCEPT, message=card)
    await helpdesk.tickets.assign(1, world.backup_id, actor_id=world.dispatcher_id)
    await chat.deliver()
    assert "Ticket #1 was given to another engineer; you need not go." in wang.last().text
    await wang.press(ARRIVED, message=card)  # his old card no longer works for him
    assert (
        chat.transport.answers[-1].text == "Only the assigned engineer or a dispatcher can do that."
    )
    await helpdesk.tickets.cancel(1, actor_id=world.reporter_id, reason="works again")
    await chat.deliver()
    zhao = chat.person(2002, "Zhao")
    assert "Ticket #1 was cancelled; you need not go." in zhao.last().text


async def test_queue_lists_tickets_by_nearest_deadline_in_pages_edited_in_place(
    chat, helpdesk, world, clock
):
    for number in range(12):
        if number:
            clock.advance(timedelta(minutes=5))
        await report(helpdesk, world, symptom=f"Fault number {number + 1}")
    # Accepting #1 stops its 1-hour acceptance clock: its next deadline is arrival at 11:00.
    await helpdesk.tickets.acknowledge(1, actor_id=world.engineer_id)
    clock.set(local(2, 10, 10))
    await chat.deliver()

    chen = chat.person(3001, "Chen")
    await chen.send("/queue")
    listing = chen.last()
    assert "Open tickets</b>: 12 · page 1/3" in listing.text
    assert listing.buttons() == ["#2", "#3", "#4", "#5", "#6", "Next ▶"]
    assert "1. <b>#2</b> · Level 2 (major) · dispatched · Zhao Lei" in listing.text
    assert "acceptance by Mar 2 10:05 · overdue by 5 min" in listing.text
    await chen.press("Next ▶")
    assert "acceptance by Mar 2 10:30 · 20 min left" in listing.text  # #7
    assert listing.buttons() == ["#7", "#8", "#9", "#10", "#11", "◀ Prev", "Next ▶"]
    assert "page 2/3" in listing.text
    await chen.press("Next ▶")
    assert listing.buttons() == ["#12", "#1", "◀ Prev"]
    assert "arrival on site by Mar 2 11:00 · 50 min left" in listing.text
    await chen.press("◀ Prev")
    assert "page 2/3" in listing.text
    assert chen.messages == [listing]  # every page in the same message
    await chen.press("#9")
    assert "Ticket #9</b>" in chen.last().text
    assert chen.last().buttons() == ["🔀 Reassign", "🎚 Set level"]

    wang = chat.person(2001, "Wang")
    await wang.send("/queue")
    mine = wang.last()
    assert "Your open tickets</b>: 6 · page 1/2" in mine.text
    assert mine.buttons() == ["#3", "#5", "#7", "#9", "#11", "Next ▶"]
    await wang.press("#3")
    assert wang.last().buttons() == [ACCEPT, DECLINE]


async def test_an_empty_queue_says_so(chat, world):
    wang = chat.person(2001, "Wang")
    await wang.send("/queue")
    assert wang.last().text == "📋 No open tickets for you. 🎉"
    li = chat.person(1001, "Li")
    await li.send("/queue")
    assert li.last().text == "/queue is not available for your role."


async def test_a_dispatcher_sets_level_1_and_the_card_shows_the_new_deadlines(
    chat, helpdesk, world
):
    await report(helpdesk, world)
    chen = chat.person(3001, "Chen")
    await chen.send("/queue")
    await chen.press("#1")
    card = chen.last()
    assert "• service restored: by Mar 2 17:00" in card.text
    assert "• full fix: by Mar 9 09:00" in card.text
    await chen.press("🎚 Set level", message=card)
    assert card.buttons() == [
        "Level 1 (critical)",
        "• Level 2 (major)",
        "Level 3 (minor)",
        "Level 4 (low)",
        "⬅️ Back",
    ]
    await chen.press("Level 1 (critical)", message=card)
    assert "Level 1 (critical)" in card.text
    assert "• service restored: by Mar 2 14:00" in card.text
    assert "• full fix: by Mar 3 09:00" in card.text
    assert card.buttons() == ["🔀 Reassign", "🎚 Set level"]
    assert (
        chat.transport.answers[-1].text == "Level set to Level 1 (critical); deadlines recomputed."
    )
    assert (await ticket_row(helpdesk)).severity == 1
    # An engineer cannot set levels.
    wang = chat.person(2001, "Wang")
    await wang.press_data(data_of(card, "🎚 Set level"), message_id=card.message_id)
    assert (
        chat.transport.answers[-1].text == "Only the assigned engineer or a dispatcher can do that."
    )


async def test_a_missed_deadline_pages_engineer_backup_and_dispatcher_then_the_manager(
    chat, helpdesk, world, clock
):
    wang, card = await dispatched_card(chat, helpdesk, world)
    await wang.press(ACCEPT, message=card)

    clock.set(local(2, 10, 36))  # 80 %: a reminder (swept on time, not caught up later)
    await helpdesk.runner().sweep()
    await chat.deliver()
    clock.set(local(2, 11))
    await helpdesk.runner().sweep()
    await chat.deliver()
    pages = {}
    for user_id in (2001, 2002, 3001):
        page = find(chat.person(user_id), "was missed")
        assert "the arrival on site deadline (Mar 2 11:00) was missed." in page.text
        assert "Level raised to Level 1 (critical)." in page.text
        assert "Engineer: Wang Wei" in page.text
        # What helps each reader: the late engineer gives a new arrival time; the
        # dispatcher reassigns or sets the level.
        tools = {2001: [NEW_TIME], 3001: ["🔀 Reassign", "🎚 Set level"]}.get(user_id, [])
        assert page.buttons() == [ACK_PAGE, *tools, "📄 Open ticket"]
        pages[user_id] = page
    assert "⏰ <b>Ticket #1</b>: arrival on site due Mar 2 11:00" in find(wang, "⏰").text

    ack = data_of(pages[2001], ACK_PAGE)
    await wang.press(ACK_PAGE, message=pages[2001])
    assert "✅ Acknowledged at Mar 2 11:00." in pages[2001].text
    assert "was missed" in pages[2001].text
    assert pages[2001].buttons() == [NEW_TIME, "📄 Open ticket"]
    async with helpdesk.core.reading() as session:
        acked = (
            await session.scalars(select(Page).where(Page.recipient_id == world.engineer_id))
        ).one()
    assert acked.acknowledged_at == local(2, 11)
    await wang.press_data(ack, message_id=pages[2001].message_id)
    assert chat.transport.answers[-1].text == "This page was already acknowledged."
    assert len(pages[2001].edits) == 1
    notice = await helpdesk.tickets.page_notice(acked.id)
    assert notice.message is not None
    assert (notice.message.kind, notice.ticket_id, notice.message.clock) == (
        "sla.page",
        1,
        "arrival",
    )
    with pytest.raises(NotFound):
        await helpdesk.tickets.page_notice(999)

    clock.set(local(2, 12))
    await helpdesk.runner().sweep()
    await chat.deliver()
    liu = chat.person(4001, "Liu")
    alert = find(liu, "Escalation")
    assert "Escalation: ticket #1</b>" in alert.text
    assert "The arrival on site deadline (Mar 2 11:00) was missed by 1 h." in alert.text
    assert "Engineer: Wang Wei" in alert.text and "Printer jams · Room 301" in alert.text
    assert alert.buttons() == [ACK_PAGE, "📄 Open ticket"]
    await liu.press(ACK_PAGE, message=alert)
    assert "Acknowledged at Mar 2 12:00." in alert.text
    await liu.press("📄 Open ticket", message=alert)
    assert "Ticket #1</b> · Level 1 (critical)" in liu.last().text
    assert liu.last().buttons() == []  # managers read; dispatchers act


async def test_a_repeat_failure_is_flagged_on_the_card(chat, helpdesk, world):
    first = await report(helpdesk, world)
    await helpdesk.tickets.cancel(
        first.id, actor_id=world.reporter_id, reason="x"
    )  # does not count
    second = await report(helpdesk, world)
    sheet = ServiceSheet(ServiceType.SOFTWARE_FAULT, ServiceResult.FIXED_ON_SITE, solution="x")
    await helpdesk.tickets.acknowledge(second.id, actor_id=world.engineer_id)
    await helpdesk.tickets.arrive(second.id, actor_id=world.engineer_id)
    await helpdesk.tickets.resolve(second.id, actor_id=world.engineer_id, sheet=sheet)
    await report(helpdesk, world, symptom="Same again")
    await chat.deliver()
    wang = chat.person(2001, "Wang")
    card = find(wang, "Same again")
    assert (
        f"⚠️ <b>Repeat failure</b>: this device had ticket #{second.id} within 30 days." in card.text
    )


async def test_clock_rows_are_shown_for_the_current_visit_only(helpdesk, world):
    """Sanity check of the data the card uses: one row per clock of the current cycle."""
    await report(helpdesk, world)
    card = await helpdesk.tickets.card(1)
    assert [c.kind for c in card.clocks] == ["acknowledge", "arrival", "restore", "resolve"]
    async with helpdesk.core.reading() as session:
        assert len((await session.scalars(select(SlaClock))).all()) == 4


async def test_an_unassigned_ticket_reaches_the_dispatcher_with_the_engineers_to_choose(
    chat, helpdesk, world
):
    branch = await helpdesk.people.create_site(code="BR", name="Branch", region="city")
    await helpdesk.people.create_person(
        name="Qian Hui",
        role=Role.DISPATCHER,
        site_id=branch.id,
        telegram_user_id=3002,
        language="en",
    )
    await helpdesk.tickets.report_fault(
        world.reporter_id, symptom="Projector dark", impact=Impact.DEGRADED, site_id=branch.id
    )
    # The branch has no engineer yet; one joins before the message goes out.
    await helpdesk.people.create_person(
        name="Sun Li", role=Role.ENGINEER, site_id=branch.id, telegram_user_id=2003, language="en"
    )
    await chat.deliver()
    qian = chat.person(3002, "Qian")
    notice = find(qian, "needs an engineer")
    assert "Ticket #1 needs an engineer" in notice.text and "Level 3 (minor)" in notice.text
    assert notice.buttons() == ["👷 Sun Li", "🎚 Set level"]
    await qian.press("👷 Sun Li", message=notice)
    assert "dispatched · Sun Li" in notice.text
    assert find(chat.person(2003, "Sun"), "New dispatch for you").buttons() == [ACCEPT, DECLINE]


async def test_a_second_visit_comes_back_to_the_engineer_as_a_new_card(chat, helpdesk, world):
    wang, card = await dispatched_card(chat, helpdesk, world)
    await wang.press(ACCEPT, message=card)
    await wang.press(ARRIVED, message=card)
    sheet = ServiceSheet(ServiceType.HARDWARE_FAULT, ServiceResult.FIXED_ON_SITE, solution="ok")
    await helpdesk.tickets.resolve(1, actor_id=world.engineer_id, sheet=sheet)
    await helpdesk.tickets.rate(1, actor_id=world.reporter_id, score=2)  # not satisfied
    await chat.deliver()
    again = find(wang, "Second visit for you")
    assert again is not card and again.buttons() == [ACCEPT, DECLINE]
    assert "• acceptance: by Mar 2 10:00" in again.text  # fresh clocks for the new visit
