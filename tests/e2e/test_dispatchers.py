"""Dispatchers and managers through the real bot over HTTP, on aiogram and on python-telegram-bot.

The demo office (demo.seed) speaking English: everyone registers through their
invitation link. The clock is frozen at Monday 09:00 in Shanghai and moved by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from seeded_office import Office, answer_to, open_ticket, seeded_office, the
from sqlalchemy import select

from core.enums import OutboxStatus, Role, ServiceResult, ServiceType, TicketStatus
from core.models import AuditEvent, OutboxMessage
from core.tickets import ServiceSheet
from demo import journeys, seed
from demo.journeys import Actor
from sandbox import BotApiEmulator

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]


@pytest.fixture
async def office(bot: Any, emulator: BotApiEmulator) -> Office:
    """The demo office; everyone registered through their invitation link, in English."""
    return await seeded_office(bot, emulator)


# --- point 9: dispatchers act on their own sites ---------------------------------------------


async def test_a_dispatcher_acts_on_their_own_site_and_one_without_a_site_on_all(
    office: Office,
):
    chen = office.chen  # dispatcher at the head office
    hq = await open_ticket(office, await office.person_id(seed.LI_NA), "Projector flickers.")
    branch_staff = await office.newcomer(1101, "He Yu", Role.STAFF, site=seed.BRANCH)
    he_yu = await office.helpdesk.people.find_by_telegram(branch_staff.user_id)
    branch = await open_ticket(office, he_yu.id, "Printer jams on every page.")
    gao = await office.newcomer(3101, "Gao Fei", Role.DISPATCHER)  # no site: all sites

    await chen.send("/queue")
    own = await chen.wait_for("Open tickets")
    assert f"#{hq}" in own.text and f"#{branch}" not in own.text

    await gao.send("/queue")
    every = await gao.wait_for("Open tickets")
    assert f"#{hq}" in every.text and f"#{branch}" in every.text
    await gao.press(f"#{branch}", message=every)
    card = await gao.wait_for(lambda m: m.button("🎚 Set level") is not None)
    level_data = str(card.button("🎚 Set level")["callback_data"])

    # The branch's card button pressed by the head office's dispatcher: refused, unchanged.
    refused = await chen.press_data(level_data, message=own)
    assert await answer_to(office, refused) == (
        f"Ticket #{branch} belongs to another site; that site's dispatchers handle it."
    )
    assert refused.show_alert
    assert (await office.ticket(branch)).severity == 3
    await gao.press("🎚 Set level", message=card)
    await gao.wait_for(the(card, "Choose the new level:"))
    await gao.press("Level 1 (critical)", message=card)
    await gao.wait_for(the(card, f"Ticket #{branch} · Level 1 (critical)"))
    assert (await office.ticket(branch)).severity == 1
    assert (await office.ticket(branch)).status is TicketStatus.ASSIGNED


# --- point 7: alerts that say what to do ------------------------------------------------------


async def test_a_page_says_who_holds_the_ticket_and_offers_what_helps(office: Office):
    wang, zhao, chen, liu = office.wang, office.zhao, office.chen, office.liu
    sun = await office.newcomer(2003, "Sun Li", Role.ENGINEER, site=seed.HQ, phone="+8613900139003")
    ticket_id = await open_ticket(
        office, await office.person_id(seed.LI_NA), "No picture.", tag=seed.PROJECTOR_TAG
    )
    card = await wang.wait_for(lambda m: f"Ticket #{ticket_id} ·" in m.text)
    await office.later(minutes=5)
    await wang.press("✅ Accept", message=card)
    await wang.wait_for(the(card, "accepted by the engineer"))

    await office.later(minutes=91)  # 10:36, 80 %: Wang is reminded
    await wang.wait_for(f"Ticket #{ticket_id}: arrival on site due Mar 2 11:00")
    await office.later(minutes=24)  # 11:00, 100 %: paged, with where the ticket stands
    missed = f"Ticket #{ticket_id}: the arrival on site deadline (Mar 2 11:00) was missed."
    page = await chen.wait_for(missed)
    for line in (
        "📍 Head office · Meeting room 501",
        "Engineer: Wang Wei · ☎ +8613900139001",
        "Accepted at Mar 2 09:05, not on the way yet.",
    ):
        assert line in page.text, line
    assert page.button_labels() == [
        "✅ Acknowledge page",
        "🔀 Reassign",
        "🎚 Set level",
        "📄 Open ticket",
    ]
    own = await wang.wait_for(missed)
    assert own.button_labels() == ["✅ Acknowledge page", "🕐 New arrival time", "📄 Open ticket"]
    backup = await zhao.wait_for(missed)

    for person, message, at in ((chen, page, "11:03"), (wang, own, "11:05")):
        await office.later(minutes=3 if person is chen else 2)
        await person.press("✅ Acknowledge page", message=message)
        await person.wait_for(the(message, f"✅ Acknowledged at Mar 2 {at}."))
    assert "🔀 Reassign" in page.button_labels()  # the tools stay after acknowledging
    await chen.press("🔀 Reassign", message=page)
    choose = await chen.wait_for("Choose the engineer:")
    assert f"Ticket #{ticket_id} ·" in choose.text
    await chen.press("👷 Sun Li", message=choose)
    await chen.wait_for(the(choose, "Status: dispatched · Sun Li"))
    await sun.wait_for(lambda m: f"Ticket #{ticket_id} ·" in m.text and "New dispatch" in m.text)

    await office.later(minutes=10)  # 11:15: the backup's page repeats, as things stand now
    repeat = await zhao.wait_for("Reminder 1: not acknowledged yet.")
    assert repeat.message_id != backup.message_id
    for line in (
        "Engineer: Sun Li · ☎ +8613900139003",
        "Dispatched at Mar 2 11:05, not accepted yet.",
        "✅ Acknowledged by Chen Jing (Mar 2 11:03), Wang Wei (Mar 2 11:05).",
    ):
        assert line in repeat.text, line

    await office.later(minutes=45)  # 12:00, 150 %: the managers' alert
    alert = await liu.wait_for(f"Escalation: ticket #{ticket_id}")
    assert "Engineer: Sun Li · ☎ +8613900139003" in alert.text
    assert "✅ Acknowledged by Chen Jing (Mar 2 11:03), Wang Wei (Mar 2 11:05)." in alert.text
    assert alert.button_labels() == ["✅ Acknowledge page", "📄 Open ticket"]
    await liu.press("📄 Open ticket", message=alert)
    opened = await liu.wait_for(lambda m: f"Ticket #{ticket_id} · Level" in m.text)
    assert "Sun Li" in opened.text


# --- point 8: the reporter is never left guessing ------------------------------------------------


async def test_the_reporter_is_told_of_a_late_arrival_with_the_engineers_new_time(
    office: Office,
):
    li, wang, chen = office.li, office.wang, office.chen
    ticket_id = await open_ticket(
        office, await office.person_id(seed.LI_NA), "No picture.", tag=seed.PROJECTOR_TAG
    )
    card = await wang.wait_for(lambda m: f"Ticket #{ticket_id} ·" in m.text)
    await wang.press("✅ Accept", message=card)
    await wang.wait_for(the(card, "accepted by the engineer"))

    await office.later(minutes=100)  # 10:40: the promise (11:00) will not hold
    await wang.press("🕐 New arrival time", message=card)
    await wang.wait_for(f"When will you be at ticket #{ticket_id}?")
    await wang.send("25:99")
    await wang.wait_for("Please type a time like 14:30.")
    await wang.send("10:15")
    ask = await wang.wait_for("That time has already passed; please give a time ahead.")
    await wang.press("+1 h", message=ask)  # 10:40 + 1 h
    await wang.wait_for(f"Ticket #{ticket_id}: expected arrival Mar 2 11:40 recorded")
    await wang.wait_for(the(card, "🕐 Expected arrival (engineer): Mar 2 11:40"))
    sorry = await li.wait_for("later than promised")
    assert sorry.text == (
        f"🕐 Ticket #{ticket_id}: we are sorry, Wang Wei will be later than promised "
        "(Mar 2 11:00). New expected arrival: Mar 2 11:40."
    )

    await office.later(minutes=20)  # 11:00: the deadline passes
    missed = await li.wait_for("we missed the deadline for arrival on site")
    assert "Sorry! It has been escalated." in missed.text
    assert "Wang Wei now expects to arrive at Mar 2 11:40." in missed.text
    page = await chen.wait_for(f"Ticket #{ticket_id}: the arrival on site deadline")
    assert "🕐 Wang Wei expects to arrive at Mar 2 11:40." in page.text

    # From the page itself, as the demo plays it: the engineer moves the time again.
    english = office.deployment.running.bot.i18n.get("en")
    own = await wang.wait_for(f"Ticket #{ticket_id}: the arrival on site deadline")
    await journeys.give_new_arrival_time(Actor(wang, english), own, ticket_id, "12:00")
    again = await journeys.told_new_arrival_time(Actor(li, english), ticket_id, "Mar 2 12:00")
    assert again.text.endswith("New expected arrival: Mar 2 12:00.")

    ticket = await office.ticket(ticket_id)
    assert ticket.expected_arrival_at is not None
    assert ticket.promised_arrival_at is not None
    async with office.deployment.running.core.reading() as session:
        recorded = list(
            await session.scalars(
                select(AuditEvent.data).where(AuditEvent.action == "ticket.arrival_expected")
            )
        )
    assert [entry["late"] for entry in recorded] == [True, True]


async def test_a_caught_up_restart_pages_before_alerting_and_sends_no_stale_reminder(
    office: Office,
):
    li, wang, chen, liu = office.li, office.wang, office.chen, office.liu
    ticket_id = await open_ticket(
        office, await office.person_id(seed.LI_NA), "No picture.", tag=seed.PROJECTOR_TAG
    )
    card = await wang.wait_for(lambda m: f"Ticket #{ticket_id} ·" in m.text)
    await wang.press("✅ Accept", message=card)
    await wang.wait_for(the(card, "accepted by the engineer"))
    await office.deployment.until(office.outbox_idle)
    calls_before = len(office.emulator.calls("sendMessage"))

    await office.deployment.stop()  # down over 80 %, 100 % and 150 % of the arrival time
    office.deployment.clock.advance(timedelta(hours=3, minutes=5))  # 12:05
    await office.deployment.start()

    missed = f"Ticket #{ticket_id}: the arrival on site deadline (Mar 2 11:00) was missed"
    page = await wang.wait_for(missed)
    await chen.wait_for(missed)
    alert = await liu.wait_for(f"Escalation: ticket #{ticket_id}")
    english = office.deployment.running.bot.i18n.get("en")
    told = await journeys.told_arrival_missed(Actor(li, english), ticket_id)
    assert "We will tell you the new time as soon as the engineer gives it." in told.text
    await office.deployment.until(office.outbox_idle)
    assert not any("due Mar 2 11:00" in m.text for m in wang.messages())  # no stale reminder

    # In the order they went out: the pages before the managers' alert.
    order = [
        int(call.params["chat_id"])
        for call in office.emulator.calls("sendMessage")[calls_before:]
        if "was missed" in str(call.params.get("text", ""))
    ]
    assert order.index(liu.chat_id) > max(
        order.index(wang.chat_id), order.index(chen.chat_id), order.index(office.zhao.chat_id)
    ), order
    assert page.button("✅ Acknowledge page") is not None
    assert alert.button("✅ Acknowledge page") is not None


# --- point 10: quiet hours ------------------------------------------------------------------------


async def test_progress_waits_for_the_morning_while_a_page_goes_out_at_night(office: Office):
    li, wang = office.li, office.wang
    await office.later(hours=7)  # Monday 16:00
    ticket_id = await open_ticket(
        office, await office.person_id(seed.LI_NA), "No picture.", tag=seed.PROJECTOR_TAG
    )
    card = await wang.wait_for(lambda m: f"Ticket #{ticket_id} ·" in m.text)
    await wang.press("✅ Accept", message=card)
    await wang.wait_for(the(card, "accepted by the engineer"))
    await office.deployment.until(office.outbox_idle)

    # Down from 16:00 to 22:00: the 17:00 progress and the 18:00 arrival deadline fall due.
    await office.deployment.stop()
    office.deployment.clock.advance(timedelta(hours=6))
    await office.deployment.start()

    await wang.wait_for(f"Ticket #{ticket_id}: the arrival on site deadline")  # at once
    await li.wait_for("we missed the deadline for arrival on site")
    await office.deployment.until(office.outbox_idle)
    assert not any("open for" in m.text for m in li.messages())
    async with office.deployment.running.core.reading() as session:
        held = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.code == "ticket.progress")
        )
    assert held is not None and held.status is OutboxStatus.PENDING
    assert held.available_at == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)  # Tuesday 09:00

    await office.later(hours=11)  # Tuesday 09:00: the day starts
    progress = await li.wait_for("open for")
    assert f"Ticket #{ticket_id}" in progress.text


async def test_a_survey_reminder_falling_due_at_night_waits_for_the_morning(office: Office):
    li = office.li
    await office.later(hours=7)  # Monday 16:00
    ticket_id = await open_ticket(
        office, await office.person_id(seed.LI_NA), "No picture.", tag=seed.PROJECTOR_TAG
    )
    wang_id = await office.person_id(seed.WANG_WEI)
    await office.helpdesk.tickets.acknowledge(ticket_id, actor_id=wang_id)
    sheet = ServiceSheet(
        service_type=ServiceType.SOFTWARE_FAULT,
        result=ServiceResult.FIXED_REMOTELY,
        solution="Switched the projector's input back to HDMI.",
    )
    await office.helpdesk.tickets.resolve_remotely(ticket_id, actor_id=wang_id, sheet=sheet)
    await li.wait_for("Is it fixed?")
    await office.deployment.until(office.outbox_idle)

    # Down from Monday 16:00 to Tuesday 21:00: the reminder (due Tuesday 16:00) is caught up.
    await office.deployment.stop()
    office.deployment.clock.advance(timedelta(hours=29))
    await office.deployment.start()

    async def reminder_queued() -> bool:
        return await office.count(OutboxMessage, OutboxMessage.code == "survey.reminder") == 1

    await office.deployment.until(reminder_queued)
    await office.deployment.until(office.outbox_idle)
    assert not any("Please tell us how it went" in m.text for m in li.messages())
    async with office.deployment.running.core.reading() as session:
        held = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.code == "survey.reminder")
        )
    assert held is not None and held.status is OutboxStatus.PENDING
    assert held.available_at == datetime(2026, 3, 4, 1, 0, tzinfo=UTC)  # Wednesday 09:00

    await office.later(hours=12)  # Wednesday 09:00: the day starts
    reminder = await li.wait_for("Please tell us how it went")
    assert f"Ticket #{ticket_id}" in reminder.text
    assert "❌ Not fixed" in reminder.button_labels()
    assert await office.count(AuditEvent, AuditEvent.action == "survey.reminded") == 1
