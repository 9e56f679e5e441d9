"""The journeys people make through the bot, scripted once for the offline demo and the e2e tests.

A journey presses buttons by their label and waits for the bot's prompts, both named by
the msgid constants of the bot module that shows them and translated into the person's
language: the demo plays the journeys in Chinese and English, the end-to-end tests in
English, and a changed wording changes both. Waiting is the caller's choice: each
`Actor` has its own patience (the demo's accelerated clock on a slow machine needs more
than a test), and a journey that spans time lets it pass through the caller's `Pause`
(the demo runs its accelerated clock or skips ahead, the tests move a frozen clock).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.cards import (
    CARD_TITLE,
    CONSENT_OPERATION,
    NEW_ARRIVAL_TIME,
    PHOTOS_CAPTION,
    VENUE_TITLE,
    WORK_BUTTON_TEXT,
    Op,
)
from bot.dialogs import resolve
from bot.dialogs.arrival import ARRIVAL_RECORDED, ASK_LOCATION
from bot.dialogs.arrival_time import ARRIVAL_TIME_RECORDED, ASK_ARRIVAL_TIME
from bot.dialogs.rate import FOLLOW_UP_ANSWER, RATED, SKIP_BUTTON, score_label
from bot.dialogs.report import (
    ASK_DEVICE,
    ASK_IMPACT,
    ASK_PHONE,
    ASK_PHOTOS,
    ASK_SYMPTOM,
    CONFIRM_BUTTON,
    DONE_BUTTON,
    KEEP_IT_BUTTON,
    NO_PHOTO_BUTTON,
    OFFER_REPORT,
    REPORT_IT_BUTTON,
    SHARE_PHONE_BUTTON,
    TICKET_OPENED,
    USE_PHONE_BUTTON,
    impact_button,
)
from bot.dialogs.thread import ASK_MESSAGE
from bot.dialogs.thread import SENT as THREAD_SENT
from bot.handlers.admin import NO_DEPARTMENT_BUTTON
from bot.handlers.common import ASK_OWN_PHONE, ASSET_PREFIX, INVITE_PREFIX, PHONE_SAVED, WELCOME
from bot.handlers.engineer import SITE_QUEUE_TITLE
from bot.handlers.manager import STATS_TITLE
from bot.handlers.staff import BACKUP_CONFIRMED, FEEDBACK_THANKS
from bot.i18n import Translator
from bot.labels import ROLE, SERVICE_RESULT, SERVICE_TYPE, SEVERITY, label
from bot.notifications.engineer import NEW_DISPATCH, REPORTER_BACKED_UP
from bot.notifications.escalation import (
    ACKNOWLEDGE_BUTTON,
    ACKNOWLEDGED,
    DEADLINE_MISSED,
    LEVEL_RAISED,
    MANAGER_ALERT,
    REMINDER,
)
from bot.notifications.reporter import (
    ARRIVAL_LATE,
    ASK_BACKUP,
    BACKED_UP_BUTTON,
    DEADLINE_MISSED_SORRY,
    FAULT_RESOLVED,
    FIXED_BUTTON,
    NEW_TIME_TO_COME,
)
from bot.notifications.thread import NOTE_FROM, REPLY_BUTTON
from core.enums import FOLLOW_UP_DIMENSIONS, Impact, Role, ServiceResult
from core.tickets import MAX_SYMPTOM, ServiceSheet
from demo.matching import Match, all_of, plain, says, the_message, with_button
from sandbox import CallbackQueryRecord, SentMessage, SimulatedPerson

Pause = Callable[[], Awaitable[None]]
# Answering one question of a dialog: given the question's msgid and the answer to give.
Answering = Callable[[str, Callable[[], Awaitable[None]]], Awaitable[None]]


class JourneyFailure(AssertionError):
    """Someone did not see what the journey expected; the message holds their chat."""


async def no_pause() -> None:
    """Let no time pass."""


async def just_answer(question: str, answer: Callable[[], Awaitable[None]]) -> None:
    """Answer the question, with nothing happening meanwhile."""
    await answer()


@dataclass(eq=False)
class Actor:
    """A simulated person, the language the bot speaks to them, and how long they wait."""

    person: SimulatedPerson
    t: Translator
    patience: float = 5.0  # real seconds any expected message may take
    taken: set[int] = field(default_factory=set)  # ids of the messages `gets` returned

    @property
    def name(self) -> str:
        """Their first name on Telegram."""
        return self.person.first_name

    def says(self, msgid: str, **known: object) -> Match:
        """Matches a message containing that text, in their language."""
        return says(self.t, msgid, **known)

    def offers(self, msgid: str, **params: object) -> Match:
        """Matches a message offering the button labelled with that msgid, in their language."""
        return with_button(self.t(msgid, **params))

    async def sees(self, match: Match, what: str) -> SentMessage:
        """The bot's answer to their latest action (a new message, or an edited one)."""
        try:
            return await self.person.wait_for(match, timeout=self.patience)
        except AssertionError as error:
            raise JourneyFailure(f"{self.name} did not see {what}\n{error}") from None

    async def gets(self, match: Match, what: str) -> SentMessage:
        """A message the bot sent on its own, whenever it came; each one is taken once.

        Outbox messages and direct replies travel separately, so their order in a chat is
        not fixed; this looks at the whole chat, not only after the latest action.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience
        while True:
            for message in self.person.messages():
                if message.message_id not in self.taken and match(message):
                    self.taken.add(message.message_id)
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise JourneyFailure(
                    f"{self.name} did not get {what} within {self.patience:.0f} s\n"
                    f"--- transcript ---\n{self.person.transcript()}"
                )
            try:
                await self.person.wait_for(match, timeout=remaining)
            except AssertionError:
                continue  # the loop reports the timeout with the whole chat

    async def press(
        self, msgid: str, message: SentMessage | None = None, **params: object
    ) -> CallbackQueryRecord:
        """Press the button labelled with that msgid in their language."""
        return await self.tap(self.t(msgid, **params), message)

    async def tap(self, text: str, message: SentMessage | None = None) -> CallbackQueryRecord:
        """Press the button labelled `text` and wait, like a person, until the spinner stops.

        Waiting for the answer keeps each chat's transcript in the order a person saw it
        (the bot edits the card, then answers the press with a toast).
        """
        query = await self.person.press(text, message=message)
        deadline = time.monotonic() + self.patience
        while not query.answered:  # the emulator records answers; no event to await
            if time.monotonic() > deadline:
                raise JourneyFailure(f"{self.name}'s press on [{text}] was never answered")
            await asyncio.sleep(0.01)
        return query


# --- joining ---------------------------------------------------------------------------------


async def open_invitation(newcomer: Actor, payload: str) -> SentMessage:
    """Open the invitation link (/start inv_…) and be welcomed by name."""
    await newcomer.person.start(payload)
    return await newcomer.sees(
        newcomer.says(WELCOME, name=newcomer.name), "the welcome after opening the invitation"
    )


async def share_own_phone(engineer: Actor, welcome: SentMessage) -> SentMessage:
    """Asked in the welcome, the engineer shares their phone with one tap."""
    if not engineer.says(ASK_OWN_PHONE)(welcome):
        raise JourneyFailure(f"{engineer.name} was not asked for their phone")
    await engineer.person.reply_keyboard(engineer.t(SHARE_PHONE_BUTTON))
    return await engineer.sees(engineer.says(PHONE_SAVED), "their phone saved")


async def invite(admin: Actor, role: Role, site: str, *, uses: int = 1, days: int = 14) -> str:
    """/invite people with this role at this site, in no department; the invitation code.

    `uses` is how many people the link registers, `days` how long it stays valid: both
    must be among the buttons the bot offers.
    """
    await admin.person.send("/invite")
    role_text = label(admin.t, ROLE, role.value).capitalize()
    await admin.sees(with_button(role_text), "the /invite role buttons")
    await admin.tap(role_text)
    await admin.sees(with_button(site), "the site buttons")
    await admin.tap(site)
    await admin.sees(admin.offers(NO_DEPARTMENT_BUTTON), "the department buttons")
    await admin.press(NO_DEPARTMENT_BUTTON)
    people = admin.t.plural("{n} person", "{n} people", uses)
    await admin.sees(with_button(people), "the how-many-people buttons")
    await admin.tap(people)
    valid_for = admin.t.plural("{n} day", "{n} days", days)
    await admin.sees(with_button(valid_for), "the how-long buttons")
    await admin.tap(valid_for)
    link = f"start={INVITE_PREFIX}"
    invitation = await admin.sees(lambda message: link in message.text, "the invitation link")
    code = re.search(re.escape(link) + r"([A-Za-z0-9_-]+)", invitation.text)
    if code is None:
        raise JourneyFailure(f"no invitation code in {invitation.text!r}")
    return code.group(1)


# --- reporting a fault -----------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """What a reporter tells the report dialog about a broken device."""

    symptom: str
    impact: Impact
    photo: bool = False
    photo_caption: str | None = None
    typed_phone: str | None = None  # typed; else the phone Telegram has, shared with the button
    phone_on_record: str | None = None  # offered since an earlier report: pressed


@dataclass(frozen=True)
class Report:
    """How the report dialog ended."""

    summary: str  # the report as shown for confirming
    opened: SentMessage  # the answer with the ticket number
    confirm: CallbackQueryRecord  # the Confirm press


async def report_from_sticker(reporter: Actor, tag: str, fault: Fault) -> Report:
    """Scan the sticker on a device (/start asset_TAG) and report its fault."""
    await start_from_sticker(reporter, tag)
    return await report_fault(reporter, fault)


async def report_by_tag(reporter: Actor, tag: str, fault: Fault) -> Report:
    """/report, type the device's asset tag, and report its fault."""
    await reporter.person.send("/report")
    await reporter.sees(reporter.says(ASK_DEVICE), "the device question")
    await reporter.person.send(tag)
    await reporter.sees(reporter.says(ASK_SYMPTOM, limit=MAX_SYMPTOM), "the symptom question")
    return await report_fault(reporter, fault)


async def start_from_sticker(reporter: Actor, tag: str) -> None:
    """Open the sticker's link: the report starts at the symptom."""
    await reporter.person.start(f"{ASSET_PREFIX}{tag}")
    await reporter.sees(reporter.says(ASK_SYMPTOM, limit=MAX_SYMPTOM), "the symptom question")


async def report_fault(reporter: Actor, fault: Fault) -> Report:
    """From the symptom question on: describe, photos, impact, phone, confirm."""
    await describe_fault(reporter, fault)
    await add_photos(reporter, fault)
    await choose_impact(reporter, fault)
    await give_phone(reporter, fault)
    return await confirm_report(reporter)


async def describe_fault(reporter: Actor, fault: Fault) -> None:
    """Type the symptom; the photo question follows."""
    await reporter.person.send(fault.symptom)
    await reporter.sees(reporter.says(ASK_PHOTOS), "the photo question")


async def add_photos(reporter: Actor, fault: Fault) -> None:
    """Send the photo and press Done, or press No photo; the impact question follows."""
    if fault.photo:
        await reporter.person.send_photo(caption=fault.photo_caption)
        await reporter.sees(reporter.offers(DONE_BUTTON), "the photo receipt")
        await reporter.press(DONE_BUTTON)
    else:
        await reporter.press(NO_PHOTO_BUTTON)
    await reporter.sees(reporter.says(ASK_IMPACT), "the impact question")


async def choose_impact(reporter: Actor, fault: Fault) -> None:
    """Press how badly the fault affects work."""
    await reporter.tap(impact_button(reporter.t, fault.impact))


async def give_phone(reporter: Actor, fault: Fault) -> None:
    """Use the number on record, type one, or share the phone Telegram has."""
    if fault.phone_on_record:
        use = reporter.t(USE_PHONE_BUTTON, phone=fault.phone_on_record)
        await reporter.sees(with_button(use), "the phone on record")
        await reporter.tap(use)
        return
    await reporter.sees(reporter.says(ASK_PHONE), "the phone question")
    if fault.typed_phone:
        await reporter.person.send(fault.typed_phone)
    else:
        await reporter.person.reply_keyboard(reporter.t(SHARE_PHONE_BUTTON))


async def confirm_report(reporter: Actor) -> Report:
    """Check the summary and confirm: the ticket is open."""
    summary = await reporter.sees(reporter.offers(CONFIRM_BUTTON), "the summary to confirm")
    shown = summary.text
    press = await reporter.press(CONFIRM_BUTTON, summary)
    opened = await reporter.sees(reporter.says(TICKET_OPENED), "the ticket number")
    return Report(shown, opened, press)


# --- the engineer's card ---------------------------------------------------------------------


async def dispatch_card(engineer: Actor, ticket_id: int) -> SentMessage:
    """The engineer's dispatch card of a ticket."""
    return await engineer.gets(
        all_of(engineer.says(NEW_DISPATCH), engineer.says(CARD_TITLE, ticket=ticket_id)),
        f"the dispatch card of ticket #{ticket_id}",
    )


async def press_on_card(
    engineer: Actor, card: SentMessage, button: str, then: str
) -> CallbackQueryRecord:
    """Press a button on the card; wait until the card offers the button `then`."""
    press = await engineer.press(button, card)
    await engineer.sees(
        all_of(the_message(card), engineer.offers(then)),
        f"the card offering {engineer.t(then)!r} after {engineer.t(button)!r}",
    )
    return press


async def accept(engineer: Actor, card: SentMessage) -> CallbackQueryRecord:
    """✅ Accept the dispatch."""
    return await press_on_card(
        engineer, card, WORK_BUTTON_TEXT[Op.ACCEPT], WORK_BUTTON_TEXT[Op.DEPART]
    )


async def set_off(engineer: Actor, card: SentMessage) -> None:
    """🚗 On the way."""
    await press_on_card(engineer, card, WORK_BUTTON_TEXT[Op.DEPART], WORK_BUTTON_TEXT[Op.ARRIVE])


async def arrive(engineer: Actor, card: SentMessage) -> None:
    """📍 Arrived: the card offers to resolve."""
    await press_on_card(engineer, card, WORK_BUTTON_TEXT[Op.ARRIVE], WORK_BUTTON_TEXT[Op.RESOLVE])


async def accept_and_travel(
    engineer: Actor,
    card: SentMessage,
    *,
    before_setting_off: Pause = no_pause,
    on_the_road: Pause = no_pause,
) -> None:
    """Accept the dispatch, set off and arrive, with time passing in between."""
    await accept(engineer, card)
    await before_setting_off()
    await set_off(engineer, card)
    await on_the_road()
    await arrive(engineer, card)


# --- data backup before risky work -----------------------------------------------------------


async def ask_backup_consent(
    engineer: Actor, card: SentMessage, operation: str = "os_reinstall"
) -> None:
    """💾 Ask backup consent on the card and name the risky operation."""
    ask = WORK_BUTTON_TEXT[Op.CONSENT]
    await press_on_card(engineer, card, ask, CONSENT_OPERATION[operation])
    await press_on_card(engineer, card, CONSENT_OPERATION[operation], ask)


async def confirm_backup(reporter: Actor, ticket_id: int) -> SentMessage:
    """The reporter gets the backup request and confirms the data is backed up."""
    request = await reporter.gets(
        all_of(reporter.says(ASK_BACKUP, ticket=ticket_id), reporter.offers(BACKED_UP_BUTTON)),
        "the backup request",
    )
    await reporter.press(BACKED_UP_BUTTON, request)
    await reporter.sees(
        reporter.says(BACKUP_CONFIRMED, ticket=ticket_id), "the backup confirmation"
    )
    return request


async def hear_backup_confirmed(engineer: Actor, ticket_id: int) -> SentMessage:
    """The engineer is told the reporter's data is backed up."""
    return await engineer.gets(
        engineer.says(REPORTER_BACKED_UP, ticket=ticket_id), "the reporter's backup confirmation"
    )


# --- escalation ------------------------------------------------------------------------------


async def deadline_reminder(engineer: Actor, ticket_id: int) -> SentMessage:
    """80 %: the reminder that a deadline is near."""
    return await engineer.gets(engineer.says(REMINDER, ticket=ticket_id), "the 80 % reminder")


async def deadline_page(person: Actor, ticket_id: int, raised_to: int) -> SentMessage:
    """100 %: the page for a missed deadline, with the level raised, to acknowledge."""
    return await person.gets(
        all_of(
            person.says(DEADLINE_MISSED, ticket=ticket_id),
            person.says(LEVEL_RAISED, level=label(person.t, SEVERITY, raised_to)),
            person.offers(ACKNOWLEDGE_BUTTON),
        ),
        "the 100 % page",
    )


async def manager_alert(manager: Actor, ticket_id: int) -> SentMessage:
    """150 %: the manager's escalation alert, to acknowledge."""
    return await manager.gets(
        all_of(manager.says(MANAGER_ALERT, ticket=ticket_id), manager.offers(ACKNOWLEDGE_BUTTON)),
        "the 150 % manager alert",
    )


async def told_arrival_missed(reporter: Actor, ticket_id: int) -> SentMessage:
    """The reporter hears the engineer is late, with an apology, and that a new time follows."""
    return await reporter.gets(
        all_of(
            reporter.says(DEADLINE_MISSED_SORRY, ticket=ticket_id),
            reporter.says(NEW_TIME_TO_COME),
        ),
        "the missed arrival, with an apology",
    )


async def give_new_arrival_time(
    engineer: Actor, message: SentMessage, ticket_id: int, typed: str
) -> None:
    """🕐 New arrival time on a card or a page; the engineer types when they will be there."""
    await engineer.press(NEW_ARRIVAL_TIME, message)
    await engineer.sees(
        engineer.says(ASK_ARRIVAL_TIME, ticket=ticket_id), "the question when they will be there"
    )
    await engineer.person.send(typed)
    await engineer.sees(
        engineer.says(ARRIVAL_TIME_RECORDED, ticket=ticket_id), "the new arrival time recorded"
    )


async def told_new_arrival_time(reporter: Actor, ticket_id: int, time: str) -> SentMessage:
    """The reporter gets the engineer's new time (as they read it), with an apology."""
    return await reporter.gets(
        reporter.says(ARRIVAL_LATE, ticket=ticket_id, time=time), "the engineer's new arrival time"
    )


async def acknowledge(person: Actor, page: SentMessage) -> None:
    """Press the page's acknowledge button and see it recorded."""
    await person.press(ACKNOWLEDGE_BUTTON, page)
    await person.sees(all_of(the_message(page), person.says(ACKNOWLEDGED)), "the acknowledged page")


# --- the service sheet -----------------------------------------------------------------------


async def answer_with_button(
    engineer: Actor, question: str, button: str, answering: Answering = just_answer
) -> None:
    """Wait for a question offering the button; press it."""
    prompt = await engineer.sees(
        all_of(engineer.says(question), engineer.offers(button)), repr(engineer.t(question))
    )

    async def press() -> None:
        await engineer.press(button, prompt)

    await answering(question, press)


async def answer_in_words(
    engineer: Actor, question: str, text: str, answering: Answering = just_answer
) -> None:
    """Wait for a question; type the answer."""
    await engineer.sees(engineer.says(question), repr(engineer.t(question)))

    async def send() -> None:
        await engineer.person.send(text)

    await answering(question, send)


def yes_or_no(value: bool) -> str:
    """The Yes or No button of the service sheet."""
    return resolve.YES_BUTTON if value else resolve.NO_BUTTON


async def file_service_sheet(
    engineer: Actor,
    card: SentMessage,
    ticket_id: int,
    sheet: ServiceSheet,
    *,
    answering: Answering = just_answer,
) -> str:
    """🏁 Resolved on the card, answer the service sheet's questions, confirm; the summary.

    Covers a visit that fixed the device on site or took it back. `answering` is given
    each question with the way to answer it, for whatever should happen meanwhile.
    """
    if sheet.result not in (ServiceResult.FIXED_ON_SITE, ServiceResult.TAKEN_BACK):
        raise ValueError(f"no journey files a sheet with the result {sheet.result}")
    await engineer.press(WORK_BUTTON_TEXT[Op.RESOLVE], card)
    sheet_type = SERVICE_TYPE[sheet.service_type]
    await answer_with_button(engineer, resolve.ASK_SERVICE_TYPE, sheet_type, answering)
    warranty = yes_or_no(sheet.under_warranty)
    await answer_with_button(engineer, resolve.ASK_WARRANTY, warranty, answering)
    await answer_with_button(engineer, resolve.ASK_CHARGED, yes_or_no(sheet.charged), answering)
    if sheet.charged:
        await answer_in_words(engineer, resolve.ASK_AMOUNT, str(sheet.amount), answering)
    result = SERVICE_RESULT[sheet.result]
    await answer_with_button(engineer, resolve.ASK_RESULT, result, answering)
    if sheet.parts_replaced:
        await answer_in_words(engineer, resolve.ASK_PARTS, sheet.parts_replaced, answering)
    else:
        await answer_with_button(engineer, resolve.ASK_PARTS, resolve.NO_PARTS_BUTTON, answering)
    spare = yes_or_no(sheet.spare_lent)
    await answer_with_button(engineer, resolve.ASK_SPARE, spare, answering)
    await answer_in_words(engineer, resolve.ASK_SOLUTION, sheet.solution, answering)
    summary = await engineer.sees(
        all_of(engineer.says(resolve.ASK_CONFIRM), engineer.offers(resolve.CONFIRM_BUTTON)),
        "the service sheet to confirm",
    )
    shown = summary.text
    await engineer.press(resolve.CONFIRM_BUTTON, summary)
    await engineer.sees(
        engineer.says(resolve.SHEET_FILED, ticket=ticket_id), "the filed service sheet"
    )
    return shown


# --- confirming the fix ----------------------------------------------------------------------


async def resolved_notice(reporter: Actor, ticket_id: int) -> SentMessage:
    """The reporter is told the fault is resolved and asked whether it is fixed."""
    return await reporter.gets(
        all_of(reporter.says(FAULT_RESOLVED, ticket=ticket_id), reporter.offers(FIXED_BUTTON)),
        "the request to confirm the fix",
    )


async def confirm_fix_and_rate(
    reporter: Actor,
    resolved: SentMessage,
    ticket_id: int,
    score: int,
    follow_up: Sequence[str] = (),
) -> None:
    """✅ Fixed, a score, the follow-up answers given (FOLLOW_UP_ANSWER keys); Skip the rest."""
    await reporter.press(FIXED_BUTTON, resolved)
    stars = score_label(reporter.t, score)
    await reporter.sees(all_of(the_message(resolved), with_button(stars)), "the scores")
    await reporter.tap(stars, resolved)
    asked = all_of(
        the_message(resolved),
        reporter.says(RATED, ticket=ticket_id),
        reporter.offers(SKIP_BUTTON),
    )
    await reporter.sees(asked, "the score recorded and a follow-up question")
    questions = len(FOLLOW_UP_DIMENSIONS)
    for number, answer in enumerate(follow_up, start=1):
        await reporter.press(FOLLOW_UP_ANSWER[answer], resolved)
        if number < questions:
            await reporter.sees(asked, f"follow-up question {number + 1}")
    if len(follow_up) < questions:
        await reporter.press(SKIP_BUTTON, resolved)
    await reporter.sees(all_of(the_message(resolved), reporter.says(FEEDBACK_THANKS)), "the thanks")


# --- looking around --------------------------------------------------------------------------


async def look_at_site_queue(person: Actor) -> SentMessage:
    """/queue: the open tickets of the site (a dispatcher's or a manager's view)."""
    await person.person.send("/queue")
    return await person.sees(person.says(SITE_QUEUE_TITLE), "the site's queue")


async def look_at_stats(manager: Actor) -> SentMessage:
    """/stats: today's figures and this month's KPIs."""
    await manager.person.send("/stats")
    return await manager.sees(manager.says(STATS_TITLE), "the statistics")


# --- photos, a ticket's thread, arrival by location ------------------------------------------


async def report_by_saying(reporter: Actor, tag: str, fault: Fault, *, photos: int) -> Report:
    """Just type what is wrong: take the offer, give the device's tag, keep the text, send
    `photos` photos at once (an album when several), then impact, phone and confirm."""
    await reporter.person.send(fault.symptom)
    await reporter.sees(reporter.says(OFFER_REPORT), "the offer to report it")
    await reporter.press(REPORT_IT_BUTTON)
    await reporter.sees(reporter.says(ASK_DEVICE), "the device question")
    await reporter.person.send(tag)
    await reporter.sees(reporter.offers(KEEP_IT_BUTTON), "the offer to keep what was written")
    await reporter.press(KEEP_IT_BUTTON)
    await reporter.sees(reporter.says(ASK_PHOTOS), "the photo question")
    if photos > 1:
        await reporter.person.send_album(photos, caption=fault.photo_caption)
    elif photos == 1:
        await reporter.person.send_photo(caption=fault.photo_caption)
    if photos:
        received = reporter.t.plural(
            "📷 {n} photo received. Send more, or press Done.",
            "📷 {n} photos received. Send more, or press Done.",
            photos,
        )
        await reporter.sees(lambda m: plain(received) in m.text, f"the receipt of {photos} photos")
        await reporter.press(DONE_BUTTON)
    else:
        await reporter.press(NO_PHOTO_BUTTON)
    await reporter.sees(reporter.says(ASK_IMPACT), "the impact question")
    await choose_impact(reporter, fault)
    await give_phone(reporter, fault)
    return await confirm_report(reporter)


async def photos_with_card(engineer: Actor, ticket_id: int, count: int) -> list[SentMessage]:
    """The reporter's photos that follow the dispatch card, captioned with the ticket number
    (one album when several)."""
    captioned = engineer.says(PHOTOS_CAPTION, ticket=ticket_id)
    first = await engineer.gets(
        lambda m: m.kind == "photo" and captioned(m), f"the photos of ticket #{ticket_id}"
    )
    album = [first]
    if first.media_group_id is not None:
        album = [m for m in engineer.person.messages() if m.media_group_id == first.media_group_id]
    if len(album) != count:
        raise JourneyFailure(f"{engineer.name} got {len(album)} photos, not {count}")
    return album


async def site_on_the_map(engineer: Actor, ticket_id: int) -> SentMessage:
    """The site's place on the map, sent with the dispatch card."""
    titled = engineer.says(VENUE_TITLE, ticket=ticket_id)
    return await engineer.gets(
        lambda m: m.kind == "venue" and titled(m), f"the map of ticket #{ticket_id}'s site"
    )


async def write_by_reply(writer: Actor, about: SentMessage, ticket_id: int, text: str) -> None:
    """Reply to a message about a ticket: the text goes to the others on it."""
    await writer.person.send(text, reply_to=about)
    await writer.sees(writer.says(THREAD_SENT, ticket=ticket_id), "the thread's receipt")


async def hear_in_thread(reader: Actor, ticket_id: int, author: str) -> SentMessage:
    """A message someone wrote about the ticket, relayed by the bot with their name."""
    return await reader.gets(
        reader.says(NOTE_FROM, ticket=ticket_id, author=author),
        f"{author}'s message about ticket #{ticket_id}",
    )


async def answer_in_thread(writer: Actor, relayed: SentMessage, ticket_id: int, text: str) -> None:
    """↩️ Reply on a relayed message and type the answer."""
    await writer.press(REPLY_BUTTON, relayed)
    await writer.sees(writer.says(ASK_MESSAGE, ticket=ticket_id), "the thread's prompt")
    await writer.person.send(text)
    await writer.sees(writer.says(THREAD_SENT, ticket=ticket_id), "the thread's receipt")


async def arrive_with_location(
    engineer: Actor, card: SentMessage, ticket_id: int, where: tuple[float, float]
) -> SentMessage:
    """📍 Arrived at a site with coordinates: share the phone's location; the arrival as
    recorded (the card then offers to resolve)."""
    await engineer.press(WORK_BUTTON_TEXT[Op.ARRIVE], card)
    await engineer.sees(engineer.says(ASK_LOCATION, ticket=ticket_id), "the request to share")
    await engineer.person.send_location(*where)
    recorded = await engineer.sees(
        engineer.says(ARRIVAL_RECORDED, ticket=ticket_id), "the arrival as recorded"
    )
    await engineer.sees(
        all_of(the_message(card), engineer.offers(WORK_BUTTON_TEXT[Op.RESOLVE])),
        "the card after the arrival",
    )
    return recorded
