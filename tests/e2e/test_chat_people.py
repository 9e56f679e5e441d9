"""Staff and engineers in the chat (issue 11, points 1-6), on aiogram and on python-telegram-bot.

Photos reach the engineer, reporter and engineer write to each other through the bot,
reports are withdrawn and looked back on, a plain sentence becomes a report, the
dispatch card carries the map, the device's history and its warranty, and the arrival
is evidenced by the engineer's location. Everything through the emulator, pressing
buttons by their label; each test checks what the person saw and what the database holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from seeded_office import OfficeBase
from sqlalchemy import select

from bot.notifications.reporter import ENGINEER_ASSIGNED
from core.enums import ArrivalCheck, Impact, ServiceResult, ServiceType, TicketStatus
from core.models import AuditEvent, Resolution, TicketNote, TicketPhoto
from core.tickets import ServiceSheet
from demo import journeys, seed
from demo.journeys import Actor
from sandbox import BotApiEmulator, SentMessage, SimulatedPerson

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"),
]

NEAR_HQ = (31.2402, 121.4903)  # some 40 m from the head office's coordinates
Match = Callable[[SentMessage], bool]


@dataclass
class Office(OfficeBase):
    """The demo office with its people registered through their invitations, in English."""

    deployment: Any
    emulator: BotApiEmulator
    li: SimulatedPerson
    wang: SimulatedPerson
    zhao: SimulatedPerson
    chen: SimulatedPerson

    async def open_ticket(self, *, symptom: str = "The projector shows no picture.") -> int:
        """A ticket on the PC reported through the core (the report dialog has its own tests)."""
        ticket = await self.helpdesk.tickets.report_fault(
            await self.person_id(seed.LI_NA),
            symptom=symptom,
            impact=Impact.CANNOT_WORK,
            asset_tag=seed.PC_TAG,
            contact_phone=seed.LI_NA.phone or "",
        )
        return int(ticket.id)

    async def locate_head_office(self) -> None:
        """What `faultdesk site locate HQ --lat … --lon …` does."""
        await self.helpdesk.people.locate_site(
            seed.HQ, latitude=seed.HQ_LOCATION[0], longitude=seed.HQ_LOCATION[1]
        )


@pytest.fixture
async def office(bot: Any, emulator: BotApiEmulator) -> Office:
    seeded = await seed.seed_office(bot.running.helpdesk)
    people = {}
    for persona in seed.PEOPLE:
        # Usernames, to show that nobody learns another's Telegram account from the bot.
        person = emulator.person(
            persona.telegram_id,
            persona.name,
            "en",
            f"tg_{persona.key}",
            phone_number=persona.phone,
        )
        await person.start(seeded.invite_payload(persona))
        await person.wait_for(f"Welcome, {persona.name}! You are registered as")
        people[persona.key] = person
    return Office(
        bot,
        emulator,
        li=people["li_na"],
        wang=people["wang_wei"],
        zhao=people["zhao_lei"],
        chen=people["chen_jing"],
    )


def card_of(ticket_id: int) -> Match:
    """The dispatch card of a ticket."""
    return lambda m: "New dispatch for you" in m.text and f"Ticket #{ticket_id} ·" in m.text


def the(message: SentMessage, *parts: str) -> Match:
    """`message` once it shows every one of `parts`."""
    return lambda m: m.message_id == message.message_id and all(p in m.text for p in parts)


def photos_after(person: SimulatedPerson, message: SentMessage) -> list[SentMessage]:
    """The photos the bot sent the person after `message`."""
    return [m for m in person.messages() if m.message_id > message.message_id and m.kind == "photo"]


async def arrive_accepted(office: Office, ticket_id: int) -> SentMessage:
    """Wang Wei accepts the dispatch of `ticket_id` and is on the way; his card."""
    card = await office.wang.wait_for(card_of(ticket_id), timeout=15)
    await office.wang.press("✅ Accept", message=card)
    await office.wang.wait_for(the(card, "accepted by the engineer"))
    return card


# --- 1. photos reach the engineer -------------------------------------------------------------


async def test_an_album_of_five_reaches_the_engineer_with_the_card_and_later_photos_follow(
    office: Office,
):
    li, wang, chen = office.li, office.wang, office.chen
    await li.start(f"asset_{seed.PC_TAG}")
    await li.wait_for("What is wrong?")
    await li.send("The printer pulls in two sheets and jams.")
    await li.wait_for("A photo helps the engineer")
    await li.send_album(5)  # five updates, one media group, back to back
    await li.wait_for("5 photos received")
    prompts = [
        m for m in li.messages() if "photos received" in m.text or "photo received" in m.text
    ]
    assert len(prompts) == 1  # one prompt counting up, not one per photo
    await li.press("✅ Done")
    await li.wait_for("How badly does it affect work?")
    await li.press("🟠 I cannot do my work with it")
    await li.wait_for("A phone number for the engineer?")
    await li.send("13800000000")
    summary = await li.wait_for(lambda m: m.button("✅ Confirm") is not None)
    assert "Photos: 5" in summary.text
    await li.press("✅ Confirm")
    await li.wait_for("Ticket #1 is open.")
    assert await office.count(TicketPhoto, TicketPhoto.ticket_id == 1) == 5

    card = await wang.wait_for(card_of(1))
    assert "📷 5 photos from the reporter (sent with this card)" in card.text
    await office.deployment.until(lambda: _async_true(len(photos_after(wang, card)) == 5))
    album = photos_after(wang, card)
    assert len({m.media_group_id for m in album}) == 1 and album[0].media_group_id
    assert album[0].caption == "📷 Ticket #1" and all(not m.caption for m in album[1:])

    # The dispatcher opening the ticket gets the photos too.
    await chen.send("/ticket 1")
    view = await chen.wait_for("🕓 Timeline")
    await office.deployment.until(lambda: _async_true(len(photos_after(chen, view)) == 5))

    # A photo sent later, as a reply to the assignment notice, reaches the engineer.
    # Queued messages keep to Telegram's per-chat pace: wait until they are all out.
    await office.deployment.until(office.outbox_idle, timeout=15.0)
    notice = next(m for m in li.messages() if "Wang Wei is assigned to your fault." in m.text)
    await li.send_photo(caption="The jammed tray", reply_to=notice)
    await li.wait_for("✅ Sent to the others on ticket #1.")
    relayed = await wang.wait_for("💬 Ticket #1 · Li Na (staff):")
    assert "The jammed tray" in relayed.text
    later = await wang.wait_for(lambda m: m.kind == "photo" and m.caption == "📷 Ticket #1 · Li Na")
    assert later.file_id is not None
    assert await office.count(TicketPhoto, TicketPhoto.ticket_id == 1) == 6


async def _async_true(value: bool) -> bool:
    return value


async def test_an_album_sent_later_reaches_the_engineer_photo_by_photo_by_button_or_by_reply(
    office: Office,
):
    li, wang = office.li, office.wang
    ticket_id = await office.open_ticket()
    notice = await li.wait_for(
        f"Ticket #{ticket_id}: Wang Wei is assigned to your fault.", timeout=15
    )
    await wang.wait_for(card_of(ticket_id), timeout=15)
    await office.deployment.until(office.outbox_idle, timeout=15.0)
    before = len([m for m in wang.messages() if m.kind == "photo"])

    # Through the button: the dialog stays open for every photo of the album until Done.
    await li.press("💬 Message the engineer", message=notice)
    await li.wait_for("type your message or send a photo")
    await li.send_album(3, caption="Both trays")
    album_prompt = await li.wait_for("Press Done when finished.")
    await li.press("✅ Done", message=album_prompt)
    await li.wait_for(f"✅ Sent to the others on ticket #{ticket_id}.")
    # And as a reply to the notice, without a dialog: each photo of the album is kept.
    await li.send_album(2, reply_to=notice)

    def relayed() -> list[SentMessage]:
        return [
            m
            for m in wang.messages()
            if m.kind == "photo" and m.caption == f"📷 Ticket #{ticket_id} · Li Na"
        ]

    await office.deployment.until(lambda: _async_true(len(relayed()) == 5), timeout=30)
    assert len([m for m in wang.messages() if m.kind == "photo"]) == before + 5
    assert all(m.file_id for m in relayed())
    assert await office.count(TicketPhoto, TicketPhoto.ticket_id == ticket_id) == 5
    assert await office.count(TicketNote, TicketNote.ticket_id == ticket_id) == 5
    assert await office.count(AuditEvent, AuditEvent.action == "ticket.note") == 5
    captioned = await wang.wait_for(
        lambda m: f"Ticket #{ticket_id} · Li Na (staff):" in m.text and "Both trays" in m.text
    )
    assert captioned.kind == "text"


# --- 2. a thread per ticket -------------------------------------------------------------------


async def test_reporter_engineer_and_dispatcher_write_through_the_ticket_without_learning_accounts(
    office: Office,
):
    li, wang, chen = office.li, office.wang, office.chen
    ticket_id = await office.open_ticket()
    notice = await li.wait_for(
        f"Ticket #{ticket_id}: Wang Wei is assigned to your fault.", timeout=15
    )
    assert notice.button("💬 Message the engineer") is not None
    # A reply names the notice by its Telegram message id, which the sender records just
    # after Telegram answers: no person replies within those milliseconds, a test could.
    await office.deployment.until(office.outbox_idle)

    await li.send("The door code is 4321.", reply_to=notice)
    await li.wait_for(f"✅ Sent to the others on ticket #{ticket_id}.")
    relayed = await wang.wait_for(f"💬 Ticket #{ticket_id} · Li Na (staff):", timeout=15)
    assert "The door code is 4321." in relayed.text

    await wang.press("↩️ Reply", message=relayed)
    await wang.wait_for("type your message or send a photo")
    await wang.send("On my way, ten minutes.")
    await wang.wait_for(f"✅ Sent to the others on ticket #{ticket_id}.")
    answer = await li.wait_for(f"💬 Ticket #{ticket_id} · Wang Wei (engineer):", timeout=15)
    assert "On my way, ten minutes." in answer.text

    await chen.send(f"/ticket {ticket_id}")
    view = await chen.wait_for("🕓 Timeline")
    await chen.press("💬 Message", message=view)
    await chen.wait_for("type your message or send a photo")
    await chen.send("The spare printer is in room 105.")
    for person in (li, wang):
        got = await person.wait_for(f"💬 Ticket #{ticket_id} · Chen Jing (dispatcher):", timeout=15)
        assert "room 105" in got.text

    await li.send(f"/ticket {ticket_id}")
    history = await li.wait_for("🕓 Timeline")
    for line in (
        "💬 Li Na: The door code is 4321.",
        "💬 Wang Wei: On my way, ten minutes.",
        "💬 Chen Jing: The spare printer is in room 105.",
    ):
        assert line in history.text
    assert await office.count(TicketNote, TicketNote.ticket_id == ticket_id) == 3
    assert await office.count(AuditEvent, AuditEvent.action == "ticket.note") == 3
    # Names and roles only: no Telegram id, username or profile link crosses over.
    for person, others in ((wang, (li, chen)), (li, (wang, chen)), (chen, (li, wang))):
        seen = "\n".join(m.source for m in person.messages())
        for other in others:
            assert str(other.user_id) not in seen and "tg_" not in seen
            assert "tg://user" not in seen


# --- 3. withdraw and look back ----------------------------------------------------------------


async def test_a_reporter_withdraws_before_arrival_a_dispatcher_cancels_and_both_look_back(
    office: Office,
):
    li, wang, chen = office.li, office.wang, office.chen
    first = await office.open_ticket(symptom="The scanner is dead.")
    await wang.wait_for(card_of(first))
    await li.send("/my")
    listing = await li.wait_for("Your open tickets")
    await li.press(f"#{first}", message=listing)
    view = await li.wait_for("🕓 Timeline")
    assert "📝 reported by Li Na" in view.text and "👷 assigned to Wang Wei" in view.text
    await li.press("🚫 Withdraw", message=view)
    await li.wait_for(f"Why do you withdraw ticket #{first}?")
    await li.send("  ")  # nothing: asked again
    await li.press("It works again")
    await li.wait_for(f"🚫 Ticket #{first} is withdrawn (It works again). The engineer is told.")
    told = await wang.wait_for(f"🚫 Ticket #{first} was cancelled; you need not go.", timeout=15)
    assert "Cancelled by the reporter Li Na: It works again" in told.text
    assert (await office.ticket(first)).status is TicketStatus.CANCELLED

    second = await office.open_ticket(symptom="The monitor flickers.")
    card = await arrive_accepted(office, second)
    await wang.press("📍 Arrived", message=card)  # the head office has no coordinates here
    await wang.wait_for(the(card, "engineer on site"))
    await li.send(f"/ticket {second}")
    on_site = await li.wait_for(
        lambda m: f"Ticket #{second} ·" in m.text and "🕓 Timeline" in m.text
    )
    assert on_site.button("🚫 Withdraw") is None  # the engineer is there: too late to withdraw
    assert on_site.button("💬 Message the engineer") is not None

    await chen.send(f"/ticket {second}")
    desk_view = await chen.wait_for("🕓 Timeline")
    await chen.press("🚫 Cancel ticket", message=desk_view)
    await chen.wait_for(f"Why is ticket #{second} cancelled?")
    await chen.send("Duplicate of an inspection finding")
    await chen.wait_for(f"🚫 Ticket #{second} is cancelled (Duplicate of an inspection finding).")
    # Notices keep to Telegram's per-chat pace: they may take some seconds.
    await li.wait_for(f"Ticket #{second} was cancelled by the dispatcher Chen Jing", timeout=15)
    await wang.wait_for(
        lambda m: (
            f"Ticket #{second} was cancelled" in m.text and "the dispatcher Chen Jing" in m.text
        ),
        timeout=15,
    )

    await li.send("/my")
    empty = await li.wait_for("You have no open tickets.")
    await li.press("🗂 Closed in the last 30 days", message=empty)
    closed = await li.wait_for(the(empty, "Closed in the last 30 days (2)"))
    assert f"#{first}" in closed.text and f"#{second}" in closed.text
    await li.press(f"#{second}", message=closed)
    looked = await li.wait_for(
        lambda m: "🕓 Timeline" in m.text and f"Ticket #{second} ·" in m.text
    )
    assert "🚫 cancelled by Chen Jing: Duplicate of an inspection finding" in looked.text

    await office.zhao.send(f"/ticket {second}")  # not his ticket: not even whether it exists
    await office.zhao.wait_for(f"You have no ticket #{second}.")
    await li.send("/ticket twelve")
    await li.wait_for("Send the ticket number after the command, like /ticket 12.")


# --- 4. start naturally -----------------------------------------------------------------------


async def test_a_sentence_from_staff_is_offered_as_a_report_with_it_as_the_symptom(office: Office):
    li, wang = office.li, office.wang
    await li.send("打印机卡纸了")
    offer = await li.wait_for("Report this as a fault?")
    assert "打印机卡纸了" in offer.text
    await li.send("yes")  # typed instead of pressed: asked again, nothing lost
    await li.wait_for(
        lambda m: "Please press one of the buttons." in m.text and "打印机卡纸了" in m.text
    )
    await li.press("📝 Report it")
    await li.wait_for("Which device is broken?")
    await li.send(seed.PC_TAG)
    kept = await li.wait_for("Or keep what you wrote")
    assert "打印机卡纸了" in kept.text
    await li.press("✅ Keep it", message=kept)
    await li.wait_for("A photo helps the engineer")
    await li.press("No photo")
    await li.wait_for("How badly does it affect work?")
    await li.press("🟡 It works badly, I can still work")
    await li.wait_for("A phone number for the engineer?")
    await li.send("13800000000")
    await li.wait_for(lambda m: m.button("✅ Confirm") is not None)
    await li.press("✅ Confirm")
    await li.wait_for("Ticket #1 is open.")
    assert (await office.ticket(1)).symptom == "打印机卡纸了"

    await wang.send("hello")  # not staff: no report offered
    await wang.wait_for("I did not understand that.")


# --- 5. the dispatch card for the road ----------------------------------------------------------


async def test_the_card_carries_the_map_the_device_history_and_the_warranty_it_prefills(
    office: Office,
):
    wang = office.wang
    await office.locate_head_office()
    tickets = office.helpdesk.tickets
    earlier = await office.open_ticket(symptom="No power.")
    desk = await office.person_id(seed.CHEN_JING)
    await tickets.acknowledge(earlier, actor_id=desk)
    await tickets.arrive(earlier, actor_id=desk)
    await tickets.resolve(
        earlier,
        actor_id=desk,
        sheet=ServiceSheet(ServiceType.HARDWARE_FAULT, ServiceResult.FIXED_ON_SITE, solution="PSU"),
    )
    await tickets.confirm_fix(earlier, actor_id=await office.person_id(seed.LI_NA), confirmed=True)
    await office.later(hours=2)

    ticket_id = await office.open_ticket(symptom="Blue screen at start-up.")
    card = await wang.wait_for(card_of(ticket_id))
    assert "🛡 Under warranty until 2027-06-30" in card.text
    assert "🧰 Earlier repairs of this device:" in card.text
    assert f"#{earlier}: No power. → Fixed on site" in card.text
    venue = await wang.wait_for(lambda m: m.kind == "venue")
    assert venue.location == seed.HQ_LOCATION
    assert f"Ticket #{ticket_id} · Head office" in venue.text and "Zhongshan" in venue.text

    await wang.press("✅ Accept", message=card)
    await wang.wait_for(the(card, "accepted by the engineer"))
    await wang.press("📍 Arrived", message=card)
    await wang.wait_for("to record your arrival")
    await wang.send_location(*NEAR_HQ)
    await wang.wait_for("location verified")
    await wang.wait_for(the(card, "engineer on site"))
    await wang.press("🏁 Resolved", message=card)
    await wang.wait_for("What kind of service was it?")
    await wang.press("Software fault")
    prefilled = await wang.wait_for("Is the device under warranty?")
    assert "📒 The register says: under warranty until 2027-06-30." in prefilled.text
    assert prefilled.button_labels()[:3] == ["📒 As registered: Yes", "Yes", "No"]
    await wang.press("No", message=prefilled)  # the engineer knows better: changed
    await wang.wait_for("Is the service charged?")
    await wang.press("No")
    await wang.wait_for("What is the result?")
    await wang.press("Fixed on site")
    await wang.wait_for("Which parts did you replace?")
    await wang.press("None")
    await wang.wait_for("Is a spare device lent to the user?")
    await wang.press("No")
    await wang.wait_for("Describe the cause and what you did")
    await wang.send("Driver rolled back.")
    sheet = await wang.wait_for(lambda m: m.button("✅ Confirm") is not None)
    assert (
        "Under warranty: No" in sheet.text
        and "📍 Arrived Mar 2 11:00: ✅ location verified" in sheet.text
    )
    await wang.press("✅ Confirm", message=sheet)
    await wang.wait_for(f"✅ Ticket #{ticket_id} resolved.")
    async with office.deployment.running.core.reading() as session:
        resolution = await session.scalar(
            select(Resolution).where(Resolution.ticket_id == ticket_id)
        )
    assert resolution is not None and resolution.under_warranty is False


# --- 6. arrival you can trust -------------------------------------------------------------------


async def test_arrival_is_recorded_from_the_shared_location_verified_outside_or_not_given(
    office: Office,
):
    wang, li = office.wang, office.li
    await office.locate_head_office()
    outcomes = []
    for number, how in enumerate(("near", "far", "none"), start=1):
        ticket_id = await office.open_ticket(symptom=f"Fault {number}")
        card = await arrive_accepted(office, ticket_id)
        await office.later(minutes=30)
        await wang.press("📍 Arrived", message=card)
        prompt = await wang.wait_for("to record your arrival")
        assert prompt.reply_markup is not None and "keyboard" in prompt.reply_markup
        assert (await office.ticket(ticket_id)).status is TicketStatus.ACKNOWLEDGED  # nothing yet
        if how == "near":
            await wang.send("I am at 18 Zhongshan Dong Yi Lu")  # typed: not evidence
            await wang.wait_for("Please share your location with the button below")
            await wang.send_location(*NEAR_HQ, forwarded_from=li.user)
            await wang.wait_for("A forwarded location is not where you are")
            await wang.send_location(*NEAR_HQ)
            done = await wang.wait_for(f"Arrival at ticket #{ticket_id} recorded at")
            assert "✅ location verified (" in done.text and " m from the site)" in done.text
        elif how == "far":
            await wang.reply_keyboard("📍 Share my location")  # the phone is in Moscow
            done = await wang.wait_for(f"Arrival at ticket #{ticket_id} recorded at")
            assert "⚠️ location" in done.text and "km from the site, outside its radius" in done.text
        else:
            await wang.reply_keyboard("Arrive without location")
            done = await wang.wait_for(f"Arrival at ticket #{ticket_id} recorded at")
            assert "❔ no location shared" in done.text
        assert done.reply_markup == {"remove_keyboard": True}
        evidence = {
            "near": "✅ location verified (",
            "far": "km from the site, outside its radius",
            "none": "❔ no location shared",
        }[how]
        shown = await wang.wait_for(the(card, "engineer on site", "📍 Arrived", evidence))
        ticket = await office.ticket(ticket_id)
        outcomes.append((ticket.arrival_check, ticket.arrival_distance_m is not None))
        assert ticket.arrived_at == office.deployment.clock.now()  # stamped, not typed
        assert "📍 Arrived" in shown.text
    assert outcomes == [
        (ArrivalCheck.VERIFIED, True),
        (ArrivalCheck.OUTSIDE, True),
        (ArrivalCheck.NOT_GIVEN, False),
    ]
    await li.send("/ticket 2")
    timeline = await li.wait_for("🕓 Timeline")
    assert "📍 Wang Wei arrived: ⚠️ location" in timeline.text
    await wang.send("/cancel")  # nothing open any more
    await wang.wait_for("There is nothing to cancel.")


# --- the demo's journeys, in English --------------------------------------------------------------


async def test_the_demos_printer_journey_plays_in_english(office: Office):
    """The journeys the demo plays (demo.journeys): a sentence, an album, the card with the
    map, the thread both ways and an arrival verified by location."""
    english = office.deployment.running.bot.i18n.get("en")
    li, wang = Actor(office.li, english, patience=15), Actor(office.wang, english, patience=15)
    await office.locate_head_office()
    fault = journeys.Fault(
        symptom="The printer jams on every page.", impact=Impact.DEGRADED, typed_phone="13800000000"
    )
    report = await journeys.report_by_saying(li, seed.PRINTER_TAG, fault, photos=3)
    assert "Photos: 3" in report.summary and "The printer jams on every page." in report.summary
    card = await journeys.dispatch_card(wang, 1)
    album = await journeys.photos_with_card(wang, 1, 3)
    assert album[0].caption == "📷 Ticket #1"
    venue = await journeys.site_on_the_map(wang, 1)
    assert venue.location == seed.HQ_LOCATION

    notice = await li.gets(li.says(ENGINEER_ASSIGNED, ticket=1), "the assignment notice")
    await office.deployment.until(office.outbox_idle)  # its message id is recorded (see above)
    await journeys.write_by_reply(li, notice, 1, "Tray 2 is the one that jams.")
    relayed = await journeys.hear_in_thread(wang, 1, "Li Na")
    assert "Tray 2 is the one that jams." in relayed.text
    await journeys.answer_in_thread(wang, relayed, 1, "I will bring a new roller.")
    answer = await journeys.hear_in_thread(li, 1, "Wang Wei")
    assert "I will bring a new roller." in answer.text

    await journeys.accept(wang, card)
    await journeys.set_off(wang, card)
    recorded = await journeys.arrive_with_location(wang, card, 1, NEAR_HQ)
    assert "✅ location verified (" in recorded.text
    assert (await office.ticket(1)).arrival_check is ArrivalCheck.VERIFIED
