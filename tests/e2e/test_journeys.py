"""Whole journeys through the real bot over HTTP, on aiogram and on python-telegram-bot.

The office of the demo (demo.seed) with its people speaking English: they
register by opening their invitation links, then report, dispatch, work, escalate and
rate exactly as people do, pressing buttons by their label. The clock is frozen at
Monday 09:00 in Shanghai and moved by hand; the due-work runner is woken after each
move. The emulator fails a test on any call the real Bot API would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from core.audit import verify_chain
from core.enums import Impact, OutboxStatus, ServiceResult, ServiceType, TicketStatus
from core.models import (
    AuditEvent,
    BackupConsent,
    OutboxMessage,
    Page,
    Rating,
    Resolution,
    Ticket,
)
from demo import seed
from sandbox import BotApiEmulator, SentMessage, SimulatedPerson

pytestmark = [
    pytest.mark.e2e,
    # PTB 22 reads RetryAfter.retry_after while building the exception (see test_runtimes).
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]

NOT_VALID = "This button is not valid."


@dataclass
class Office:
    """The seeded office and its registered people."""

    deployment: Any  # tests/e2e/conftest.py's Deployment
    emulator: BotApiEmulator
    seeded: seed.Office
    li: SimulatedPerson
    wang: SimulatedPerson
    zhao: SimulatedPerson
    chen: SimulatedPerson
    liu: SimulatedPerson

    @property
    def helpdesk(self) -> Any:
        """The running Application's core services."""
        return self.deployment.running.helpdesk

    async def person_id(self, persona: seed.Persona) -> int:
        return await seed.person_id(self.helpdesk, persona)

    async def later(self, **delta: float) -> None:
        """Once every queued message is out, move the frozen clock; wake runner and sender.

        Moving the clock while the sender holds rows waiting for their turn under the
        per-chat limit would outrun their leases (time passes, but nobody is idle).
        """
        await self.deployment.until(self.outbox_idle, timeout=15.0)
        self.deployment.clock.advance(timedelta(**delta))
        app = self.deployment.running
        assert app.runner is not None and app.sender is not None
        app.runner.wake()
        app.sender.wake()

    async def outbox_idle(self) -> bool:
        """No message is waiting to be sent now."""
        now = self.deployment.clock.now()
        return (
            await self.count(
                OutboxMessage,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.available_at <= now,
            )
            == 0
        )

    async def ticket(self, ticket_id: int) -> Ticket:
        async with self.deployment.running.core.reading() as session:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None
            return ticket

    async def count(self, model: type, *where: object) -> int:
        async with self.deployment.running.core.reading() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


@pytest.fixture
async def office(bot: Any, emulator: BotApiEmulator) -> Office:
    """The demo office; everyone registered through their invitation link, in English."""
    seeded = await seed.seed_office(bot.running.helpdesk)
    people = {}
    for persona in seed.PEOPLE:
        person = emulator.person(
            persona.telegram_id, persona.name, "en", phone_number=persona.phone
        )
        await person.start(seeded.invite_payload(persona))
        await person.wait_for(f"Welcome, {persona.name}! You are registered as")
        people[persona.key] = person
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


Match = Callable[[SentMessage], bool]


def card_of(ticket_id: int) -> Match:
    """Matches the dispatch card of a ticket."""
    return lambda m: "New dispatch for you" in m.text and f"Ticket #{ticket_id} ·" in m.text


def the(message: SentMessage, *parts: str) -> Match:
    """Matches `message` once it shows every one of `parts`."""
    return lambda m: m.message_id == message.message_id and all(p in m.text for p in parts)


async def report_pc_from_sticker(li: SimulatedPerson) -> SentMessage:
    """Li Na's report of her dead PC, from the sticker to the ticket number."""
    await li.start(f"asset_{seed.PC_TAG}")
    await li.wait_for("What is wrong?")
    await li.send("The PC does not power on; the power light stays off.")
    await li.wait_for("A photo helps the engineer")
    await li.send_photo()
    await li.wait_for("1 photo received")
    await li.press("✅ Done")
    await li.wait_for("How badly does it affect work?")
    await li.press("🟠 I cannot do my work with it")
    await li.wait_for("A phone number for the engineer?")
    await li.reply_keyboard("📱 Share my phone")
    summary = await li.wait_for(lambda m: m.button("✅ Confirm") is not None)
    assert "Phone: +8613800138000" in summary.text and "Photos: 1" in summary.text
    await li.press("✅ Confirm")
    return await li.wait_for("Ticket #1 is open.")


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

    opened = await report_pc_from_sticker(li)
    assert "Wang Wei is dispatched. Promised arrival: Mar 2 11:00." in opened.text

    card = await wang.wait_for(card_of(1))
    assert "Desktop PC · PC-0001 · Lenovo ThinkCentre M720" in card.text
    await wang.press("✅ Accept", message=card)
    await wang.wait_for(the(card, "accepted by the engineer"))
    await office.later(minutes=10)
    await wang.press("🚗 On the way", message=card)
    await wang.wait_for(the(card, "engineer on the way"))
    await office.later(minutes=20)
    await wang.press("📍 Arrived", message=card)
    await wang.wait_for(the(card, "engineer on site", "• arrival on site: ✅ Mar 2 09:30"))

    await wang.press("💾 Ask backup consent", message=card)
    await wang.wait_for(the(card, "Which operation may lose data?"))
    await wang.press("OS reinstall", message=card)
    await wang.wait_for(the(card, "Backup consent (OS reinstall): waiting for the reporter"))
    request = await li.wait_for("please back up your data")
    await li.press("💾 I have backed up my data", message=request)
    await li.wait_for("you confirmed your data is backed up (Mar 2 09:30)")
    await wang.wait_for("the reporter confirmed the data is backed up")

    await office.later(hours=1)
    await wang.press("🏁 Resolved", message=card)
    await wang.wait_for("What kind of service was it?")
    await wang.press("Hardware fault")
    await wang.wait_for("Is the device under warranty?")
    await wang.press("Yes")
    await wang.wait_for("Is the service charged?")
    await wang.press("Yes")
    await wang.wait_for("How much, in yuan?")
    await wang.send("a lot")
    await wang.wait_for("a lot is not an amount")  # explained; the step waits again
    await wang.send("120")
    await wang.wait_for("What is the result?")
    await wang.press("Fixed on site")
    await wang.wait_for("Which parts did you replace?")
    await wang.send("SSD 512 GB")
    await wang.wait_for("Is a spare device lent to the user?")
    await wang.press("No")
    await wang.wait_for("Describe the cause and what you did")
    await wang.send("Failed SSD replaced under warranty; system reinstalled, data restored.")
    sheet = await wang.wait_for(lambda m: m.button("✅ Confirm") is not None)
    assert "Charged: Yes, 120.00 yuan" in sheet.text or "Charged: Yes, 120 yuan" in sheet.text
    await wang.press("✅ Confirm", message=sheet)
    await wang.wait_for("✅ Ticket #1 resolved.")
    await wang.wait_for(the(card, "Status: resolved"))

    resolved = await li.wait_for("Ticket #1 is resolved by Wang Wei.")
    assert "Failed SSD replaced" in resolved.text
    await li.press("✅ Fixed", message=resolved)
    await li.wait_for(the(resolved, "how satisfied are you"))
    await li.press("5 · Very satisfied", message=resolved)
    await li.wait_for(the(resolved, "The ticket is closed."))
    await li.press("Skip", message=resolved)
    await li.wait_for(the(resolved, "Thank you for your feedback!"))

    told = [message.text for message in li.messages()]
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
    card = await wang.wait_for(card_of(ticket_id))
    await wang.press("✅ Accept", message=card)
    await wang.wait_for(the(card, "accepted by the engineer"))

    await office.later(minutes=96)  # 80 % of the arrival time
    reminder = await wang.wait_for(f"Ticket #{ticket_id}: arrival on site due Mar 2 11:00")
    assert "24 min left" in reminder.text and reminder.button("✅ Acknowledge page") is None

    await office.later(minutes=24)  # 100 %
    pages = {}
    for person in (wang, zhao, chen):
        pages[person.first_name] = await person.wait_for(
            f"Ticket #{ticket_id}: the arrival on site deadline (Mar 2 11:00) was missed."
        )
        assert "Level raised to Level 1 (critical)." in pages[person.first_name].text
        assert pages[person.first_name].button("✅ Acknowledge page") is not None
    assert not any("Escalation: ticket" in message.text for message in liu.messages())
    assert (await office.ticket(ticket_id)).severity == 1

    for person in (zhao, chen, wang):
        page = pages[person.first_name]
        await person.press("✅ Acknowledge page", message=page)
        await person.wait_for(the(page, "✅ Acknowledged at Mar 2 11:00."))
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
    alert = await liu.wait_for(f"Escalation: ticket #{ticket_id}")
    assert "The arrival on site deadline (Mar 2 11:00) was missed by 1 h." in alert.text
    await liu.press("✅ Acknowledge page", message=alert)
    await liu.wait_for(the(alert, "✅ Acknowledged at Mar 2 12:00."))
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
    wang = office.wang
    ticket_id = await open_ticket(office)
    card = await wang.wait_for(card_of(ticket_id))
    await wang.press("✅ Accept", message=card)
    await wang.wait_for(the(card, "accepted by the engineer"))
    await wang.press("📍 Arrived", message=card)
    await wang.wait_for(the(card, "engineer on site"))
    await wang.press("🏁 Resolved", message=card)
    await wang.wait_for("What kind of service was it?")
    await wang.press("Software fault")
    prompt = await wang.wait_for("Is the device under warranty?")

    await office.deployment.restart()  # nothing in memory survives
    await wang.press("No", message=prompt)  # a button from before the restart
    await wang.wait_for("Is the service charged?")
    await wang.press("No")
    await wang.wait_for("What is the result?")
    await wang.press("Fixed on site")
    await wang.wait_for("Which parts did you replace?")

    await office.deployment.stop()
    await wang.send("Lamp")  # waits at Telegram while the bot is down
    await office.deployment.start()

    await wang.wait_for("Is a spare device lent to the user?")
    await wang.press("No")
    await wang.wait_for("Describe the cause and what you did")
    await wang.send("Lamp burnt out; replaced it.")
    sheet = await wang.wait_for(lambda m: m.button("✅ Confirm") is not None)
    assert "Service: Software fault" in sheet.text and "Parts replaced: Lamp" in sheet.text
    await wang.press("✅ Confirm", message=sheet)
    await wang.wait_for(f"✅ Ticket #{ticket_id} resolved.")
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

    await li.start(f"asset_{seed.PC_TAG}")
    await li.wait_for("What is wrong?")
    await li.send("Black screen.")
    await li.wait_for("A photo helps the engineer")
    emulator.redeliver(max(state.history))  # the symptom again: must not be taken as a photo
    await li.press("No photo")
    await li.wait_for("How badly does it affect work?")
    assert not any("Please send a photo" in message.text for message in li.messages())

    await li.press("🟡 It works badly, I can still work")
    await li.wait_for("A phone number for the engineer?")
    await li.send("13800000000")
    await li.wait_for(lambda m: m.button("✅ Confirm") is not None)
    press = await li.press("✅ Confirm")
    await li.wait_for("Ticket #1 is open.")
    confirm_update = next(
        update_id
        for update_id, update in state.history.items()
        if update.kind == "callback_query" and update.payload["id"] == press.query_id
    )
    emulator.redeliver(confirm_update)  # the Confirm press again: one ticket, not two
    await li.send("/my")  # handled after the duplicate: same chat, same lane
    await li.wait_for("Your open tickets")
    assert await office.count(Ticket) == 1
    assert sum("is open." in message.text for message in li.messages()) == 1

    card = await wang.wait_for(card_of(1))
    accept = await wang.press("✅ Accept", message=card)
    await wang.wait_for(the(card, "accepted by the engineer"))
    accept_update = next(
        update_id
        for update_id, update in state.history.items()
        if update.kind == "callback_query" and update.payload["id"] == accept.query_id
    )
    emulator.redeliver(accept_update)
    await wang.send("/queue")
    await wang.wait_for("Your open tickets")
    assert await office.count(AuditEvent, AuditEvent.action == "ticket.acknowledged") == 1
    assert card.edits.count(card.text) == 1  # the card was not edited twice
    assert emulator.unanswered_callback_queries() == []


async def test_forged_and_foreign_button_presses_are_refused(office: Office):
    li, wang, zhao = office.li, office.wang, office.zhao
    ticket_id = await open_ticket(office)
    card = await wang.wait_for(card_of(ticket_id))
    accept = card.button("✅ Accept")
    assert accept is not None
    genuine = str(accept["callback_data"])
    payload, _, signature = genuine.rpartition("~")
    tampered = payload.replace(":ack:", ":dec:") + "~" + signature

    for person, data in ((wang, tampered), (wang, "ec:1:ack"), (li, "hello"), (li, genuine)):
        query = await person.press_data(data, message=card if person is wang else None)

        async def answered(query=query) -> bool:
            return query.answered

        await office.deployment.until(answered)
        assert query.show_alert, data
        if data == genuine:
            assert query.answer_text == "This button is not for you."
        else:
            assert query.answer_text == NOT_VALID, data

    # Zhao Lei is an engineer, but not this ticket's: the genuine button does nothing for him.
    await zhao.send("/help")
    await zhao.wait_for("/queue")
    refused = await zhao.press_data(genuine)

    async def zhao_answered() -> bool:
        return refused.answered

    await office.deployment.until(zhao_answered)
    assert refused.show_alert and refused.answer_text
    assert (await office.ticket(ticket_id)).status is TicketStatus.ASSIGNED

    await wang.press("✅ Accept", message=card)  # the real press still works
    await wang.wait_for(the(card, "accepted by the engineer"))
    assert (await office.ticket(ticket_id)).status is TicketStatus.ACKNOWLEDGED
