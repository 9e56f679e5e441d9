"""Whole journeys through the real bot over HTTP, on aiogram and on python-telegram-bot.

The office of the demo (demo.seed) with its people speaking English: they
register by opening their invitation links, then report, dispatch, work, escalate and
rate through the demo's own journeys (demo.journeys), pressing buttons by their label.
The clock is frozen at Monday 09:00 in Shanghai and moved by hand between the journeys'
steps; the due-work runner is woken after each move. The emulator fails a test on any
call the real Bot API would refuse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from seeded_office import OfficeBase
from sqlalchemy import select

from bot.cards import WORK_BUTTON_TEXT, Op
from bot.dialogs import resolve
from bot.notifications.escalation import ACKNOWLEDGE_BUTTON
from core.audit import verify_chain
from core.enums import Impact, ServiceResult, ServiceType, TicketStatus
from core.models import (
    AuditEvent,
    BackupConsent,
    Page,
    Rating,
    Resolution,
    Ticket,
)
from core.tickets import ServiceSheet
from demo import journeys, seed
from demo.journeys import Actor
from sandbox import BotApiEmulator

pytestmark = [
    pytest.mark.e2e,
    # PTB 22 reads RetryAfter.retry_after while building the exception (see test_runtimes).
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]

NOT_VALID = "This button is not valid."
PC_FAULT = journeys.Fault(
    symptom="The PC does not power on; the power light stays off.",
    impact=Impact.CANNOT_WORK,
    photo=True,
)


@dataclass
class Office(OfficeBase):
    """The seeded office and its registered people."""

    deployment: Any  # tests/e2e/conftest.py's Deployment
    emulator: BotApiEmulator
    seeded: seed.Office
    li: Actor
    wang: Actor
    zhao: Actor
    chen: Actor
    liu: Actor


# How long a person waits for an expected message: a safety net, never what a test waits
# for, so generous enough for a busy machine.
PATIENCE = 30.0


@pytest.fixture
async def office(bot: Any, emulator: BotApiEmulator) -> Office:
    """The demo office; everyone registered through their invitation link, in English."""
    seeded = await seed.seed_office(bot.running.helpdesk)
    english = bot.running.bot.i18n.get("en")
    people = {}
    for persona in seed.PEOPLE:
        person = emulator.person(
            persona.telegram_id, persona.name, "en", phone_number=persona.phone
        )
        actor = Actor(person, english, patience=PATIENCE)
        await journeys.open_invitation(actor, seeded.invite_payload(persona))
        people[persona.key] = actor
    await seed.name_backup(bot.running.helpdesk, seeded, seed.WANG_WEI, seed.ZHAO_LEI)
    return Office(
        bot,
        emulator,
        seeded,
        li=people["li_na"],
        wang=people["wang_wei"],
        zhao=people["zhao_lei"],
        chen=people["chen_jing"],
        liu=people["liu_yang"],
    )


async def open_ticket(office: Office, *, tag: str = seed.PROJECTOR_TAG) -> int:
    """A ticket reported through the core (the report dialog has its own journey)."""
    ticket = await office.helpdesk.tickets.report_fault(
        await office.person_id(seed.LI_NA),
        symptom="The projector shows no picture.",
        impact=Impact.CANNOT_WORK,
        asset_tag=tag,
        contact_phone=seed.LI_NA.phone or "",
    )
    return ticket.id


async def test_a_fault_goes_from_the_sticker_to_a_rated_fix(office: Office, emulator):
    li, wang = office.li, office.wang

    report = await journeys.report_from_sticker(li, seed.PC_TAG, PC_FAULT)
    assert "Phone: +8613800138000" in report.summary and "Photos: 1" in report.summary
    assert "Ticket #1 is open." in report.opened.text
    assert "Wang Wei is dispatched. Promised arrival: Mar 2 11:00." in report.opened.text

    card = await journeys.dispatch_card(wang, 1)
    assert "Desktop PC · PC-0001 · Lenovo ThinkCentre M720" in card.text

    async def accepted() -> None:
        assert "accepted by the engineer" in card.text
        await office.later(minutes=10)

    async def on_the_way() -> None:
        assert "engineer on the way" in card.text
        await office.later(minutes=20)

    await journeys.accept_and_travel(
        wang, card, before_setting_off=accepted, on_the_road=on_the_way
    )
    assert "engineer on site" in card.text and "• arrival on site: ✅ Mar 2 09:30" in card.text

    await journeys.ask_backup_consent(wang, card, "os_reinstall")
    assert "Backup consent (OS reinstall): waiting for the reporter" in card.text
    request = await journeys.confirm_backup(li, 1)
    assert "you confirmed your data is backed up (Mar 2 09:30)" in request.text
    await journeys.hear_backup_confirmed(wang, 1)

    await office.later(hours=1)

    async def mistype_the_amount(question: str, answer: Callable[[], Awaitable[None]]) -> None:
        if question == resolve.ASK_AMOUNT:
            await wang.person.send("a lot")
            await wang.person.wait_for("a lot is not an amount")  # explained; asked again
        await answer()

    sheet = ServiceSheet(
        service_type=ServiceType.HARDWARE_FAULT,
        result=ServiceResult.FIXED_ON_SITE,
        under_warranty=True,
        charged=True,
        amount=Decimal(120),
        parts_replaced="SSD 512 GB",
        solution="Failed SSD replaced under warranty; system reinstalled, data restored.",
    )
    summary = await journeys.file_service_sheet(wang, card, 1, sheet, answering=mistype_the_amount)
    assert "Charged: Yes, 120.00 yuan" in summary or "Charged: Yes, 120 yuan" in summary
    await wang.person.wait_for(
        lambda m: m.message_id == card.message_id and "Status: resolved" in m.text
    )

    resolved = await journeys.resolved_notice(li, 1)
    assert "Ticket #1 is resolved by Wang Wei." in resolved.text
    assert "Failed SSD replaced" in resolved.text
    await journeys.confirm_fix_and_rate(li, resolved, 1, score=5)
    assert any("how satisfied are you" in text for text in resolved.edits)
    assert any("The ticket is closed." in text for text in resolved.edits)

    told = [message.text for message in li.person.messages()]
    for news in (
        "Ticket #1: Wang Wei is assigned to your fault.",
        "Ticket #1: Wang Wei has accepted the job.",
        "Ticket #1: Wang Wei is on the way.",
        "Ticket #1: Wang Wei has arrived.",
    ):
        assert any(news in text for text in told), news
    ticket = await office.ticket(1)
    assert ticket.status is TicketStatus.CLOSED
    async with office.deployment.running.core.reading() as session:
        resolution = await session.scalar(select(Resolution).where(Resolution.ticket_id == 1))
        rating = await session.scalar(select(Rating).where(Rating.ticket_id == 1))
        consent = await session.scalar(select(BackupConsent).where(BackupConsent.ticket_id == 1))
        chain = await verify_chain(session)
    assert resolution is not None and rating is not None and consent is not None
    assert (resolution.service_type, resolution.result) == (
        ServiceType.HARDWARE_FAULT,
        ServiceResult.FIXED_ON_SITE,
    )
    assert resolution.under_warranty and resolution.charged
    assert resolution.amount == Decimal("120.00") and resolution.parts_replaced == "SSD 512 GB"
    assert rating.score == 5
    assert consent.confirmed is True and consent.operation == "os_reinstall"
    assert consent.answered_by_id == await office.person_id(seed.LI_NA)
    assert chain.ok
    assert emulator.unanswered_callback_queries() == []


async def test_a_missed_arrival_pages_engineer_backup_and_dispatcher_then_the_manager(
    office: Office,
):
    wang, zhao, chen, liu = office.wang, office.zhao, office.chen, office.liu
    ticket_id = await open_ticket(office)  # 09:00, level 2: on site by 11:00 (2 h in the city)
    card = await journeys.dispatch_card(wang, ticket_id)
    await journeys.accept(wang, card)

    await office.later(minutes=96)  # 80 % of the arrival time
    reminder = await journeys.deadline_reminder(wang, ticket_id)
    assert f"Ticket #{ticket_id}: arrival on site due Mar 2 11:00" in reminder.text
    assert "24 min left" in reminder.text
    assert reminder.button(wang.t(ACKNOWLEDGE_BUTTON)) is None

    await office.later(minutes=24)  # 100 %
    pages = {}
    for person in (wang, zhao, chen):
        page = await journeys.deadline_page(person, ticket_id, raised_to=1)
        assert (
            f"Ticket #{ticket_id}: the arrival on site deadline (Mar 2 11:00) was missed."
            in page.text
        )
        assert "Level raised to Level 1 (critical)." in page.text
        pages[person.name] = page
    assert not any("Escalation: ticket" in message.text for message in liu.person.messages())
    assert (await office.ticket(ticket_id)).severity == 1

    for person in (zhao, chen, wang):
        page = pages[person.name]
        await journeys.acknowledge(person, page)
        assert "✅ Acknowledged at Mar 2 11:00." in page.text
    assert await office.count(Page, Page.ticket_id == ticket_id, Page.level == "page") == 3
    assert (
        await office.count(
            Page,
            Page.ticket_id == ticket_id,
            Page.acknowledged_by_id == Page.recipient_id,
            Page.acknowledged_at.is_not(None),
        )
        == 3
    )

    await office.later(hours=1)  # 150 %: 12:00
    alert = await journeys.manager_alert(liu, ticket_id)
    assert "The arrival on site deadline (Mar 2 11:00) was missed by 1 h." in alert.text
    await journeys.acknowledge(liu, alert)
    assert "✅ Acknowledged at Mar 2 12:00." in alert.text
    manager = await office.person_id(seed.LIU_YANG)
    assert (
        await office.count(
            Page,
            Page.level == "manager",
            Page.recipient_id == manager,
            Page.acknowledged_by_id == manager,
        )
        == 1
    )


async def test_a_service_sheet_survives_restarts_and_messages_sent_while_down(office: Office):
    wang, deployment = office.wang, office.deployment
    ticket_id = await open_ticket(office)
    card = await journeys.dispatch_card(wang, ticket_id)
    await journeys.accept(wang, card)
    await journeys.arrive(wang, card)

    async def restart_and_go_offline(question: str, answer: Callable[[], Awaitable[None]]) -> None:
        if question == resolve.ASK_WARRANTY:
            await deployment.restart()  # nothing in memory survives
            await answer()  # a button from before the restart
        elif question == resolve.ASK_PARTS:
            await deployment.stop()
            await answer()  # waits at Telegram while the bot is down
            await deployment.start()
        else:
            await answer()

    sheet = ServiceSheet(
        service_type=ServiceType.SOFTWARE_FAULT,
        result=ServiceResult.FIXED_ON_SITE,
        parts_replaced="Lamp",
        solution="Lamp burnt out; replaced it.",
    )
    summary = await journeys.file_service_sheet(
        wang, card, ticket_id, sheet, answering=restart_and_go_offline
    )
    assert "Service: Software fault" in summary and "Parts replaced: Lamp" in summary
    assert (await office.ticket(ticket_id)).status is TicketStatus.RESOLVED
    async with office.deployment.running.core.reading() as session:
        resolution = await session.scalar(
            select(Resolution).where(Resolution.ticket_id == ticket_id)
        )
    assert resolution is not None and resolution.service_type is ServiceType.SOFTWARE_FAULT
    assert resolution.parts_replaced == "Lamp" and not resolution.under_warranty


async def test_duplicate_updates_are_handled_once(office: Office, emulator):
    li, wang = office.li, office.wang
    state = emulator.bot_state()

    fault = journeys.Fault(
        symptom="Black screen.", impact=Impact.DEGRADED, typed_phone="13800000000"
    )

    await journeys.start_from_sticker(li, seed.PC_TAG)
    await journeys.describe_fault(li, fault)
    emulator.redeliver(max(state.history))  # the symptom again: must not be taken as a photo
    await journeys.add_photos(li, fault)
    assert not any("Please send a photo" in message.text for message in li.person.messages())

    await journeys.choose_impact(li, fault)
    await journeys.give_phone(li, fault)
    report = await journeys.confirm_report(li)
    confirm_update = next(
        update_id
        for update_id, update in state.history.items()
        if update.kind == "callback_query" and update.payload["id"] == report.confirm.query_id
    )
    emulator.redeliver(confirm_update)  # the Confirm press again: one ticket, not two
    await li.person.send("/my")  # handled after the duplicate: same chat, same lane
    await li.person.wait_for("Your open tickets")
    assert await office.count(Ticket) == 1
    assert sum("is open." in message.text for message in li.person.messages()) == 1

    card = await journeys.dispatch_card(wang, 1)
    accept = await journeys.accept(wang, card)
    assert "accepted by the engineer" in card.text
    accept_update = next(
        update_id
        for update_id, update in state.history.items()
        if update.kind == "callback_query" and update.payload["id"] == accept.query_id
    )
    emulator.redeliver(accept_update)
    await wang.person.send("/queue")
    await wang.person.wait_for("Your open tickets")
    assert await office.count(AuditEvent, AuditEvent.action == "ticket.acknowledged") == 1
    assert card.edits.count(card.text) == 1  # the card was not edited twice
    assert emulator.unanswered_callback_queries() == []


async def test_forged_and_foreign_button_presses_are_refused(office: Office):
    li, wang, zhao = office.li, office.wang, office.zhao
    ticket_id = await open_ticket(office)
    card = await journeys.dispatch_card(wang, ticket_id)
    accept = card.button(wang.t(WORK_BUTTON_TEXT[Op.ACCEPT]))
    assert accept is not None
    genuine = str(accept["callback_data"])
    payload, _, signature = genuine.rpartition("~")
    tampered = payload.replace(":ack:", ":dec:") + "~" + signature

    for person, data in ((wang, tampered), (wang, "ec:1:ack"), (li, "hello"), (li, genuine)):
        query = await person.person.press_data(data, message=card if person is wang else None)

        async def answered(query=query) -> bool:
            return query.answered

        await office.deployment.until(answered)
        assert query.show_alert, data
        if data == genuine:
            assert query.answer_text == "This button is not for you."
        else:
            assert query.answer_text == NOT_VALID, data

    # Zhao Lei is an engineer, but not this ticket's: the genuine button does nothing for him.
    await zhao.person.send("/help")
    await zhao.person.wait_for("/queue")
    refused = await zhao.person.press_data(genuine)

    async def zhao_answered() -> bool:
        return refused.answered

    await office.deployment.until(zhao_answered)
    assert refused.show_alert and refused.answer_text
    assert (await office.ticket(ticket_id)).status is TicketStatus.ASSIGNED

    await journeys.accept(wang, card)  # the real press still works
    assert (await office.ticket(ticket_id)).status is TicketStatus.ACKNOWLEDGED
