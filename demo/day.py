"""The offline demo: one working Monday at a Shanghai office, played through the real bot.

`faultdesk demo` (and `scripts/run.sh` without a token) starts the sandbox Bot API
emulator, builds the Application exactly as production does on a fresh SQLite file,
with an accelerated clock that starts on Monday 2 March 2026 at 08:55 in Shanghai, and
lets simulated people use the bot the way people do: they open links and press buttons
by their label, in their own language.

1. The office is seeded (sites, departments, devices with stickers, invitations); the
   administrator makes the manager's invitation in the chat with /invite; everyone
   registers by opening their invitation link.
2. Li Na scans the sticker on her dead PC and reports it: symptom, photo, impact, her
   phone, confirm. She gets the ticket number and the promised arrival.
3. Wang Wei gets the dispatch card, accepts, travels, arrives, and asks Li Na to confirm
   her backup before reinstalling the system.
4. A meeting-room projector is reported and accepted, but Wang Wei is busy: at 80 % of
   the arrival deadline he is reminded; at 100 % he, his backup Zhao Lei and dispatcher
   Chen Jing are paged and the level is raised; at 150 % manager Liu Yang is alerted
   and acknowledges.
5. Wang Wei files the service sheet for the PC; Li Na confirms the fix and rates it.
6. Liu Yang runs /stats.

Then each person's chat is printed as a transcript, and a summary. The exit code is 0
only when every expected message arrived, nothing was logged as an error, and the
emulator saw no call the real Bot API would refuse.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import string
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.app import Application, build_application
from bot.dialogs.rate import score_label
from bot.dialogs.report import IMPACT_MARK
from bot.i18n import Translator
from bot.labels import IMPACT, ROLE, SERVICE_RESULT, SERVICE_TYPE, SEVERITY, label
from bot.settings import Settings
from core.audit import verify_chain
from core.clock import DEFAULT_TIMEZONE, AcceleratedClock
from core.enums import Impact, OutboxStatus, ServiceResult, ServiceType, TicketStatus
from core.models import DueWork, OutboxMessage, Page, Ticket
from core.sla.deadlines import step_key
from core.sla.policy import load_policy
from core.tickets import MAX_SYMPTOM
from demo import seed
from sandbox import BotApiEmulator, SentMessage, SimulatedPerson

log = logging.getLogger(__name__)

TOKEN = "7000000001:AAFaultdeskOfflineDemoToken-0123456789"
BOT_USERNAME = "faultdesk_bot"
SHANGHAI = ZoneInfo(DEFAULT_TIMEZONE)
# Monday 2 March 2026, 08:55 in Shanghai: a working morning, just before office hours.
START = datetime(2026, 3, 2, 8, 55, tzinfo=SHANGHAI).astimezone(UTC)
# Domain seconds per real second. Idle stretches are skipped with jumps, so this only sets
# how much office time an interaction seems to take. The outbox sender paces each chat to
# one message per ~1.15 real seconds (Telegram's limit); at ×60 that reads as a minute
# between two notices, where ×600 would make every engineer take ten minutes per press.
DEFAULT_SPEED = 60.0
WAIT = 30.0  # real seconds any expected message may take (generous: slow machines)
STEP_LEAD = timedelta(seconds=20)  # jump to just before a deadline step, then let it fire
DATABASE_NAME = "faultdesk-demo.sqlite3"

Match = Callable[[SentMessage], bool]

# Prompts the demo waits for: msgids exactly as the dialogs use them, so that they are
# found translated too.
ASK_DEVICE = (
    "🛠 <b>Which device is broken?</b>\n"
    "Type the asset tag from its sticker (like <code>PC-0001</code>), or choose the type:"
)
ASK_SYMPTOM = (
    "✏️ <b>What is wrong?</b> Describe the fault in a few words (up to {limit} characters)."
)
ASK_PHONE = (
    "📞 <b>A phone number for the engineer?</b> Tap <b>Share my phone</b> below, or type a number."
)
ASK_BACKUP = (
    "⚠️ <b>Ticket #{ticket}: please back up your data.</b>\n"
    "The engineer is about to {operation}, which may erase data on the device. "
    "Have you backed up your files?"
)
ASK_PARTS = "Which parts did you replace? Type them, or press “None”."


class DemoFailure(Exception):
    """Something the demo expected did not happen."""


# --- matching what people read ---------------------------------------------------------------

_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """Telegram HTML as the person reads it: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", text))


def pattern(t: Translator, msgid: str, **known: object) -> re.Pattern[str]:
    """A regex for a message as `t` renders it; placeholders not in `known` match anything.

    Built from the translated template, so the demo finds its messages in Chinese as in
    English without knowing either.
    """
    parts = []
    for literal, name, _spec, _conversion in string.Formatter().parse(t(msgid)):
        parts.append(re.escape(plain(literal)))
        if name is None:
            continue
        parts.append(re.escape(str(known[name])) if name in known else ".+?")
    return re.compile("".join(parts), re.DOTALL)


def says(t: Translator, msgid: str, **known: object) -> Match:
    """Matches a message containing that text."""
    regex = pattern(t, msgid, **known)
    return lambda message: regex.search(message.text) is not None


def with_button(text: str) -> Match:
    """Matches a message offering a button with exactly this label."""
    return lambda message: message.button(text) is not None


def all_of(*matches: Match) -> Match:
    """Matches when every one matches."""
    return lambda message: all(match(message) for match in matches)


def the_message(message: SentMessage) -> Match:
    """Matches one particular message (in whatever version it is now)."""
    return lambda candidate: candidate.message_id == message.message_id


# --- the demo ----------------------------------------------------------------------------------


class ErrorLog(logging.Handler):
    """Keeps warnings and errors logged while the demo runs, to show and to judge by."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Remember the record."""
        self.records.append(record)

    @property
    def errors(self) -> list[logging.LogRecord]:
        """Records at ERROR or above."""
        return [record for record in self.records if record.levelno >= logging.ERROR]


@contextmanager
def captured_logs() -> Iterator[ErrorLog]:
    """Collect the log's warnings and errors instead of printing them among the chats."""
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@dataclass
class Outcome:
    """What the demo found at the end."""

    tickets: list[tuple[int, str, int]] = field(default_factory=list)  # id, status, level
    pages: int = 0
    pages_acknowledged: int = 0
    manager_alerts: int = 0
    outbox_sent: int = 0
    outbox_unsent: int = 0
    audit_events: int = 0
    audit_ok: bool = False


class Demo:
    """The emulator, the running bot, the clock, and the people of the office."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        app: Application,
        clock: AcceleratedClock,
        out: TextIO,
    ) -> None:
        self.emulator = emulator
        self.app = app
        self.clock = clock
        self.out = out
        self.helpdesk = app.helpdesk
        self.i18n = app.bot.i18n
        self.office = seed.Office()
        self.personas: dict[str, seed.Persona] = {}
        self.people: dict[str, SimulatedPerson] = {}
        self.timeline: list[str] = []
        self._consumed: set[tuple[int, int]] = set()  # (chat, message) taken by notice()

    # --- people and their language ------------------------------------------------------

    def add_person(self, persona: seed.Persona) -> SimulatedPerson:
        """The persona's Telegram account, on the emulator."""
        person = self.emulator.person(
            persona.telegram_id,
            persona.name,
            persona.language_code,
            phone_number=persona.phone,
        )
        self.personas[persona.key] = persona
        self.people[persona.key] = person
        return person

    def t(self, persona: seed.Persona) -> Translator:
        """The language the bot speaks to this persona (from their Telegram app)."""
        return self.i18n.get(self.i18n.choose(None, persona.language_code))

    # --- waiting for what people see -----------------------------------------------------

    async def reply(self, persona: seed.Persona, match: Match, what: str) -> SentMessage:
        """The bot's answer to the persona's latest action (new or edited message)."""
        person = self.people[persona.key]
        try:
            return await person.wait_for(match, timeout=WAIT)
        except AssertionError as error:
            raise DemoFailure(f"{persona.name} did not see {what}\n{error}") from None

    async def notice(self, persona: seed.Persona, match: Match, what: str) -> SentMessage:
        """A message the bot sends on its own (outbox), whenever it came, each taken once.

        Outbox messages and direct replies travel separately, so their order in a chat is
        not fixed; this looks at the whole chat, not only after the latest action.
        """
        person = self.people[persona.key]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            for message in person.messages():
                key = (message.chat_id, message.message_id)
                if key not in self._consumed and match(message):
                    self._consumed.add(key)
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DemoFailure(
                    f"{persona.name} did not get {what} within {WAIT:.0f} s\n"
                    f"--- transcript ---\n{person.transcript()}"
                )
            try:
                await person.wait_for(match, timeout=remaining)
            except AssertionError:
                continue  # the loop reports the timeout with the full story

    async def press(
        self, persona: seed.Persona, msgid: str, message: SentMessage | None = None
    ) -> None:
        """Press a button by its msgid, as labelled in the persona's language."""
        await self.tap(persona, self.t(persona)(msgid), message)

    async def tap(
        self, persona: seed.Persona, text: str, message: SentMessage | None = None
    ) -> None:
        """Press the button labelled `text` and wait, like a person, until the spinner stops.

        Waiting for the answer keeps each chat's transcript in the order a person saw it
        (the bot edits the card, then answers the press with a toast).
        """
        query = await self.people[persona.key].press(text, message=message)
        deadline = time.monotonic() + WAIT
        while not query.answered:  # the emulator records answers; no event to await
            if time.monotonic() > deadline:
                raise DemoFailure(f"{persona.name}'s press on [{text}] was never answered")
            await asyncio.sleep(0.01)

    # --- time -------------------------------------------------------------------------------

    def local_time(self) -> str:
        """The demo clock in Shanghai, HH:MM."""
        return self.clock.now().astimezone(SHANGHAI).strftime("%H:%M")

    def narrate(self, text: str) -> None:
        """One line of the timeline, printed as it happens."""
        line = f"  {self.local_time()}  {text}"
        self.timeline.append(line)
        print(line, file=self.out, flush=True)

    def wake(self) -> None:
        """After a jump, the runner and the sender look at the clock again at once."""
        if self.app.runner is not None:
            self.app.runner.wake()
        if self.app.sender is not None:
            self.app.sender.wake()

    async def jump_to(self, moment: datetime) -> None:
        """Skip an idle stretch: once every queued message is out, the clock shows `moment`.

        Only idle time is skipped: a jump while the sender still holds messages (waiting
        for their turn under Telegram's per-chat limit) would outrun their leases.
        """
        await self.outbox_drained()
        delta = moment - self.clock.now()
        if delta > timedelta(0):
            self.clock.jump(delta)
            self.wake()

    async def jump_to_local(self, hour: int, minute: int) -> None:
        """Skip to a time of the demo day, Shanghai time."""
        day = START.astimezone(SHANGHAI)
        await self.jump_to(day.replace(hour=hour, minute=minute, second=0).astimezone(UTC))

    async def jump_before_step(self, ticket_id: int, clock: str, at: float) -> datetime:
        """Skip to just before an escalation step of a ticket's clock falls due; its time."""
        key = step_key(ticket_id, 0, clock, at)
        async with self.app.core.reading() as session:
            due = await session.scalar(select(DueWork.due_at).where(DueWork.key == key))
        if due is None:
            raise DemoFailure(f"no escalation step {key} is scheduled")
        await self.jump_to(due - STEP_LEAD)
        return due

    def hhmm(self, moment: datetime | None) -> str:
        """A moment in Shanghai, HH:MM."""
        return moment.astimezone(SHANGHAI).strftime("%H:%M") if moment else "—"

    # --- the day --------------------------------------------------------------------------

    async def play(self) -> None:
        """Everything that happens on the demo Monday."""
        await self.set_up_office()
        await self.register_everyone()
        pc = await self.report_the_pc()
        card = await self.dispatch_the_pc(pc)
        await self.ask_for_backup(pc, card)
        projector, projector_card = await self.report_the_projector()
        await self.miss_the_arrival(projector)
        await self.resolve_the_pc(pc, card)
        await self.alert_the_manager(projector)
        await self.arrive_late(projector, projector_card)
        await self.show_the_stats()
        await self.outbox_drained()

    async def set_up_office(self) -> None:
        """Sites, departments, devices and invitations; the admin invites the manager by chat."""
        self.office = await seed.seed_office(self.helpdesk, without_invites={seed.LIU_YANG.key})
        for persona in (seed.ADMIN, *seed.PEOPLE):
            self.add_person(persona)
        self.narrate(
            f"{seed.ADMIN.name} (admin) registers {len(self.office.sites)} sites,"
            f" {len(self.office.departments)} departments and {len(self.office.devices)}"
            f" devices ({', '.join(self.office.devices)}) and makes invitations"
        )
        admin, manager = seed.ADMIN, seed.LIU_YANG
        t = self.t(admin)
        await self.people[admin.key].send("/invite")
        role = label(t, ROLE, manager.role.value).capitalize()
        await self.reply(admin, with_button(role), "the /invite role buttons")
        await self.tap(admin, role)
        site_name = next(spec.name for spec in seed.SITES if spec.code == manager.site)
        await self.reply(admin, with_button(site_name), "the site buttons")
        await self.tap(admin, site_name)
        await self.reply(admin, with_button(t("No department")), "the department buttons")
        await self.press(admin, "No department")
        one_person = t.plural("{n} person", "{n} people", 1)
        await self.reply(admin, with_button(one_person), "the how-many-people buttons")
        await self.tap(admin, one_person)
        fortnight = t.plural("{n} day", "{n} days", 14)
        await self.reply(admin, with_button(fortnight), "the how-long buttons")
        await self.tap(admin, fortnight)
        invitation = await self.reply(
            admin, lambda message: "start=inv_" in message.text, "the invitation link"
        )
        code = re.search(r"start=inv_([A-Za-z0-9_-]+)", invitation.text)
        if code is None:
            raise DemoFailure(f"no invitation code in {invitation.text!r}")
        self.office.invites[manager.key] = code.group(1)
        self.narrate(f"{admin.name} makes {manager.name}'s invitation with /invite in the chat")

    async def register_everyone(self) -> None:
        """Each colleague opens the invitation link the admin sent them."""
        for persona in seed.PEOPLE:
            await self.people[persona.key].start(self.office.invite_payload(persona))
            await self.reply(
                persona,
                says(
                    self.t(persona),
                    "Welcome, {name}! You are registered as {role}.",
                    name=persona.name,
                ),
                "the welcome after opening the invitation",
            )
            self.narrate(
                f"{persona.name} ({persona.native_name}) opens the invitation: registered as"
                f" {persona.role.value}, language {persona.language_code}"
            )
        await seed.name_backup(self.helpdesk, self.office, seed.WANG_WEI, seed.ZHAO_LEI)
        self.narrate(f"{seed.ZHAO_LEI.name} is named {seed.WANG_WEI.name}'s backup engineer")

    async def report_the_pc(self) -> int:
        """(a) Li Na reports her dead PC from the sticker: symptom, photo, impact, phone."""
        li = seed.LI_NA
        t, person = self.t(li), self.people[li.key]
        await self.jump_to_local(9, 2)
        self.narrate(
            f"{li.name} scans the sticker on {seed.PC_TAG}"
            f" ({seed.sticker_link(BOT_USERNAME, seed.PC_TAG)})"
        )
        await person.start(f"{seed.ASSET_PREFIX}{seed.PC_TAG}")
        await self.reply(li, says(t, ASK_SYMPTOM, limit=MAX_SYMPTOM), "the symptom question")
        await person.send("电脑按电源键没有反应，指示灯不亮，开不了机。")
        await self.reply(
            li,
            says(t, "📷 A photo helps the engineer. Send one or more, or press No photo."),
            "the photo question",
        )
        await person.send_photo(caption="电源灯不亮")
        received = t.plural(
            "📷 {n} photo received. Send more, or press Done.",
            "📷 {n} photos received. Send more, or press Done.",
            1,
        )
        await self.reply(li, lambda m: plain(received) in m.text, "the photo receipt")
        await self.press(li, "✅ Done")
        await self.reply(li, says(t, "⚖️ <b>How badly does it affect work?</b>"), "the impact")
        await self.tap(li, impact_button(t, Impact.CANNOT_WORK))
        await self.reply(li, says(t, ASK_PHONE), "the phone")
        await person.reply_keyboard(t("📱 Share my phone"))
        confirm = t("✅ Confirm")
        await self.reply(li, with_button(confirm), "the summary to confirm")
        await self.tap(li, confirm)
        await self.reply(li, says(t, "✅ <b>Ticket #{ticket} is open.</b>"), "the ticket number")
        ticket_id = await self.latest_ticket()
        card = await self.helpdesk.tickets.card(ticket_id)
        self.narrate(
            f"{li.name} reports it (symptom, photo, level {card.severity}, shares her phone):"
            f" ticket #{ticket_id}, promised arrival {self.hhmm(card.promised_arrival_at)}"
        )
        return ticket_id

    async def latest_ticket(self) -> int:
        """The newest ticket's number."""
        async with self.app.core.reading() as session:
            ticket_id = await session.scalar(select(func.max(Ticket.id)))
        if ticket_id is None:
            raise DemoFailure("no ticket was opened")
        return int(ticket_id)

    async def dispatch_card(self, ticket_id: int) -> SentMessage:
        """Wang Wei's dispatch card for a ticket."""
        wang = seed.WANG_WEI
        t = self.t(wang)
        return await self.notice(
            wang,
            all_of(
                says(t, "📣 <b>New dispatch for you</b>"),
                says(t, "🔧 <b>Ticket #{ticket}</b> · {level}", ticket=ticket_id),
            ),
            f"the dispatch card of ticket #{ticket_id}",
        )

    async def card_step(
        self, persona: seed.Persona, card: SentMessage, msgid: str, then: str
    ) -> None:
        """Press a card button; wait until the card offers `then`."""
        await self.press(persona, msgid, card)
        t = self.t(persona)
        await self.reply(
            persona,
            all_of(the_message(card), with_button(t(then))),
            f"the card offering {t(then)!r} after {t(msgid)!r}",
        )

    async def reporter_told(self, msgid: str, ticket_id: int, what: str, **known: object) -> None:
        """Li Na gets an update about her ticket."""
        li = seed.LI_NA
        await self.notice(li, says(self.t(li), msgid, ticket=ticket_id, **known), what)

    async def dispatch_the_pc(self, ticket_id: int) -> SentMessage:
        """(b) Wang Wei accepts the dispatch, sets off and arrives."""
        wang, li = seed.WANG_WEI, seed.LI_NA
        card = await self.dispatch_card(ticket_id)
        self.narrate(f"{wang.name} gets the dispatch card of ticket #{ticket_id}")
        await self.jump_to_local(9, 5)
        await self.card_step(wang, card, "✅ Accept", "🚗 On the way")
        await self.reporter_told(
            "👍 <b>Ticket #{ticket}</b>: {engineer} has accepted the job.",
            ticket_id,
            "the acceptance",
            engineer=wang.name,
        )
        self.narrate(f"{wang.name} accepts; {li.name} is told")
        await self.jump_to_local(9, 8)
        await self.card_step(wang, card, "🚗 On the way", "📍 Arrived")
        await self.reporter_told(
            "🚗 <b>Ticket #{ticket}</b>: {engineer} is on the way.",
            ticket_id,
            "the on-the-way notice",
            engineer=wang.name,
        )
        self.narrate(f"{wang.name} is on the way")
        await self.jump_to_local(9, 25)
        await self.card_step(wang, card, "📍 Arrived", "🏁 Resolved")
        await self.reporter_told(
            "📍 <b>Ticket #{ticket}</b>: {engineer} has arrived.",
            ticket_id,
            "the arrival notice",
            engineer=wang.name,
        )
        self.narrate(f"{wang.name} is on site, in time; {li.name} is told at each step")
        return card

    async def ask_for_backup(self, ticket_id: int, card: SentMessage) -> None:
        """Before reinstalling the system Wang Wei asks Li Na to confirm her backup."""
        wang, li = seed.WANG_WEI, seed.LI_NA
        await self.jump_to_local(9, 30)
        await self.card_step(wang, card, "💾 Ask backup consent", "OS reinstall")
        await self.card_step(wang, card, "OS reinstall", "🏁 Resolved")
        tl = self.t(li)
        request = await self.notice(
            li,
            all_of(
                says(tl, ASK_BACKUP, ticket=ticket_id),
                with_button(tl("💾 I have backed up my data")),
            ),
            "the backup request",
        )
        self.narrate(f"{wang.name} must reinstall the system: {li.name} is asked to back up")
        await self.press(li, "💾 I have backed up my data", request)
        await self.reply(
            li,
            says(
                tl,
                "💾 <b>Ticket #{ticket}</b>: you confirmed your data is backed up ({time}). "
                "The engineer may proceed.",
                ticket=ticket_id,
            ),
            "the backup confirmation",
        )
        await self.notice(
            wang,
            says(
                self.t(wang),
                "💾 Ticket #{ticket}: the reporter confirmed the data is backed up. You may go ahead.",
                ticket=ticket_id,
            ),
            "the backup confirmation",
        )
        self.narrate(f"{li.name} confirms the backup; {wang.name} may go ahead")

    async def report_the_projector(self) -> tuple[int, SentMessage]:
        """(c) The meeting-room projector is reported by tag and accepted."""
        li, wang = seed.LI_NA, seed.WANG_WEI
        t, person = self.t(li), self.people[li.key]
        await self.jump_to_local(9, 40)
        await person.send("/report")
        await self.reply(li, says(t, ASK_DEVICE), "the device question")
        await person.send(seed.PROJECTOR_TAG)
        await self.reply(li, says(t, ASK_SYMPTOM, limit=MAX_SYMPTOM), "the symptom question")
        await person.send("501会议室投影仪开机后没有画面，下午两点有客户会议。")
        await self.reply(li, with_button(t("No photo")), "the photo question")
        await self.press(li, "No photo")
        await self.reply(li, says(t, "⚖️ <b>How badly does it affect work?</b>"), "the impact")
        await self.tap(li, impact_button(t, Impact.CANNOT_WORK))
        # Her number is on record since the first report: one press uses it.
        use_phone = t("Use {phone}", phone=li.phone)
        await self.reply(li, with_button(use_phone), "the phone on record")
        await self.tap(li, use_phone)
        confirm = t("✅ Confirm")
        await self.reply(li, with_button(confirm), "the summary to confirm")
        await self.tap(li, confirm)
        await self.reply(li, says(t, "✅ <b>Ticket #{ticket} is open.</b>"), "the ticket number")
        ticket_id = await self.latest_ticket()
        ticket = await self.helpdesk.tickets.card(ticket_id)
        self.narrate(
            f"{li.name} reports the projector in meeting room 501 by its tag: ticket"
            f" #{ticket_id}, level {ticket.severity}, promised arrival"
            f" {self.hhmm(ticket.promised_arrival_at)}"
        )
        card = await self.dispatch_card(ticket_id)
        await self.jump_to_local(9, 45)
        await self.card_step(wang, card, "✅ Accept", "🚗 On the way")
        self.narrate(f"{wang.name} accepts ticket #{ticket_id}, but the PC keeps him busy")
        return ticket_id, card

    async def miss_the_arrival(self, ticket_id: int) -> None:
        """80 %: Wang Wei is reminded; 100 %: he, his backup and the dispatcher are paged."""
        wang, zhao, chen = seed.WANG_WEI, seed.ZHAO_LEI, seed.CHEN_JING
        card = await self.helpdesk.tickets.card(ticket_id)
        arrival = card.clock("arrival")
        deadline = self.hhmm(arrival.due_at if arrival else None)
        await self.jump_before_step(ticket_id, "arrival", 0.8)
        tw = self.t(wang)
        await self.notice(
            wang,
            says(tw, "⏰ <b>Ticket #{ticket}</b>: {clock} due {due}, {left}.", ticket=ticket_id),
            "the 80 % reminder",
        )
        self.narrate(
            f"80 % of ticket #{ticket_id}'s arrival time is gone (deadline {deadline}):"
            f" {wang.name} is reminded"
        )
        due = await self.jump_before_step(ticket_id, "arrival", 1.0)
        pages = {}
        for persona in (wang, zhao, chen):
            t = self.t(persona)
            pages[persona.key] = await self.notice(
                persona,
                all_of(
                    says(
                        t,
                        "🚨 <b>Ticket #{ticket}</b>: the {clock} deadline ({due}) was {missed}.",
                        ticket=ticket_id,
                    ),
                    says(t, "Level raised to {level}.", level=label(t, SEVERITY, 1)),
                    with_button(t("✅ Acknowledge page")),
                ),
                "the 100 % page",
            )
        self.narrate(
            f"{self.hhmm(due)}, arrival deadline missed (100 %): {wang.name}, backup {zhao.name}"
            f" and dispatcher {chen.name} are paged; ticket #{ticket_id} is raised to level 1"
        )
        for persona in (zhao, chen, wang):
            await self.acknowledge(persona, pages[persona.key])
        self.narrate(f"{zhao.name}, {chen.name} and {wang.name} acknowledge their pages")
        await self.people[chen.key].send("/queue")
        await self.reply(chen, says(self.t(chen), "📋 <b>Open tickets</b>: {n}"), "the queue")
        self.narrate(f"{chen.name} looks at the site's queue (/queue)")

    async def acknowledge(self, persona: seed.Persona, page: SentMessage) -> None:
        """Press the page's acknowledge button and see it recorded."""
        t = self.t(persona)
        await self.press(persona, "✅ Acknowledge page", page)
        await self.reply(
            persona,
            all_of(the_message(page), says(t, "✅ Acknowledged at {at}.")),
            "the acknowledged page",
        )

    async def resolve_the_pc(self, ticket_id: int, card: SentMessage) -> None:
        """(d) Wang Wei files the service sheet; Li Na confirms the fix and rates it."""
        wang, li = seed.WANG_WEI, seed.LI_NA
        tw, person = self.t(wang), self.people[wang.key]
        await self.jump_to_local(12, 0)
        await self.press(wang, "🏁 Resolved", card)

        async def choose(question: str, msgid: str) -> None:
            prompt = await self.reply(
                wang, all_of(says(tw, question), with_button(tw(msgid))), repr(question)
            )
            await self.tap(wang, tw(msgid), prompt)

        async def type_in(question: str, text: str) -> None:
            await self.reply(wang, says(tw, question), repr(question))
            await person.send(text)

        await choose("What kind of service was it?", SERVICE_TYPE[ServiceType.HARDWARE_FAULT])
        await choose("Is the device under warranty?", "Yes")
        await choose("Is the service charged?", "No")
        await choose("What is the result?", SERVICE_RESULT[ServiceResult.FIXED_ON_SITE])
        await type_in(ASK_PARTS, "固态硬盘 512 GB（保修更换）")
        await choose("Is a spare device lent to the user?", "No")
        await type_in(
            "Describe the cause and what you did (required). Type it:",
            "硬盘故障导致无法开机。保修内更换固态硬盘，重装系统并恢复数据；已提醒用户定期备份。",
        )
        await choose("Press ✅ Confirm to file the sheet.", "✅ Confirm")
        await self.reply(
            wang,
            says(
                tw,
                "✅ Ticket #{ticket} resolved. The reporter is asked to confirm the fix and rate it.",
                ticket=ticket_id,
            ),
            "the filed service sheet",
        )
        self.narrate(
            f"{wang.name} files the service sheet for ticket #{ticket_id}: hardware fault,"
            " under warranty, SSD replaced, fixed on site"
        )
        tl = self.t(li)
        resolved = await self.notice(
            li,
            all_of(
                says(tl, "✅ <b>Ticket #{ticket} is resolved</b> by {engineer}.", ticket=ticket_id),
                with_button(tl("✅ Fixed")),
            ),
            "the request to confirm the fix",
        )
        await self.press(li, "✅ Fixed", resolved)
        stars = score_label(tl, 5)
        await self.reply(li, all_of(the_message(resolved), with_button(stars)), "the scores")
        await self.tap(li, stars, resolved)
        await self.reply(
            li,
            all_of(the_message(resolved), with_button(tl("Skip"))),
            "the follow-up question",
        )
        await self.press(li, "Very satisfied", resolved)
        await self.reply(li, all_of(the_message(resolved), with_button(tl("Skip"))), "question 2")
        await self.press(li, "Skip", resolved)
        await self.reply(
            li,
            all_of(the_message(resolved), says(tl, "Thank you for your feedback!")),
            "the thanks",
        )
        self.narrate(f"{li.name} confirms the fix and rates it 5 (very satisfied with the quality)")

    async def alert_the_manager(self, ticket_id: int) -> None:
        """150 %: the manager is alerted and acknowledges."""
        liu = seed.LIU_YANG
        t = self.t(liu)
        due = await self.jump_before_step(ticket_id, "arrival", 1.5)
        alert = await self.notice(
            liu,
            all_of(
                says(t, "🚨 <b>Escalation: ticket #{ticket}</b>", ticket=ticket_id),
                with_button(t("✅ Acknowledge page")),
            ),
            "the 150 % manager alert",
        )
        self.narrate(
            f"{self.hhmm(due)}, 150 % of the arrival time and still nobody on site:"
            f" manager {liu.name} is alerted"
        )
        await self.acknowledge(liu, alert)
        self.narrate(f"{liu.name} acknowledges the alert")

    async def arrive_late(self, ticket_id: int, card: SentMessage) -> None:
        """Wang Wei finally gets to the projector."""
        wang = seed.WANG_WEI
        await self.jump_to_local(12, 50)
        await self.card_step(wang, card, "🚗 On the way", "📍 Arrived")
        await self.jump_to_local(12, 58)
        await self.card_step(wang, card, "📍 Arrived", "🏁 Resolved")
        await self.reporter_told(
            "📍 <b>Ticket #{ticket}</b>: {engineer} has arrived.",
            ticket_id,
            "the late arrival",
            engineer=wang.name,
        )
        self.narrate(f"{wang.name} arrives at the projector, late (arrival recorded as missed)")

    async def show_the_stats(self) -> None:
        """(e) The manager's /stats."""
        liu = seed.LIU_YANG
        await self.jump_to_local(13, 5)
        await self.people[liu.key].send("/stats")
        await self.reply(liu, says(self.t(liu), "📊 <b>{place}</b> · {now}"), "the statistics")
        self.narrate(f"{liu.name} runs /stats")

    async def outbox_drained(self) -> None:
        """Every queued message went out (the chats are complete)."""
        deadline = time.monotonic() + WAIT
        while True:
            async with self.app.core.reading() as session:
                pending = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.available_at <= self.clock.now(),
                    )
                )
            if not pending:
                return
            if time.monotonic() > deadline:
                raise DemoFailure(f"{pending} outbox message(s) still unsent")
            await asyncio.sleep(0.05)  # the database has no event to await

    # --- the end ----------------------------------------------------------------------------

    async def outcome(self) -> Outcome:
        """Count what happened, from the database."""
        result = Outcome()
        async with self.app.core.reading() as session:
            rows = (
                await session.execute(
                    select(Ticket.id, Ticket.status, Ticket.severity).order_by(Ticket.id)
                )
            ).all()
            result.tickets = [
                (row.id, TicketStatus(row.status).value, row.severity) for row in rows
            ]
            result.pages = int(await session.scalar(select(func.count()).select_from(Page)) or 0)
            result.pages_acknowledged = int(
                await session.scalar(
                    select(func.count()).select_from(Page).where(Page.acknowledged_at.is_not(None))
                )
                or 0
            )
            result.manager_alerts = int(
                await session.scalar(
                    select(func.count()).select_from(Page).where(Page.level == "manager")
                )
                or 0
            )
            for status, count in (
                await session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            ).all():
                if OutboxStatus(status) is OutboxStatus.SENT:
                    result.outbox_sent += int(count)
                else:
                    result.outbox_unsent += int(count)
            report = await verify_chain(session)
            result.audit_events = report.events
            result.audit_ok = report.ok
        return result

    def transcripts(self) -> str:
        """Every chat, one section per person."""
        sections = []
        for key, person in self.people.items():
            persona = self.personas[key]
            header = (
                f"━━ {persona.name} {persona.native_name} · {persona.role.value}"
                f" · {persona.site}{' · ' + persona.department if persona.department else ''}"
                f" · Telegram language {persona.language_code} ━━"
            )
            sections.append(f"{header}\n{person.transcript() or '(no messages)'}")
        return "\n\n".join(sections)


def impact_button(t: Translator, impact: Impact) -> str:
    """The label of an impact button in the report dialog."""
    return f"{IMPACT_MARK[impact]} {label(t, IMPACT, impact)}"


def demo_settings(emulator_url: str, database_url: str, runtime: str) -> Settings:
    """Settings as an operator would give them, pointed at the emulator (no .env read)."""
    return Settings(
        _env_file=None,  # pydantic-settings: read no .env file
        bot_token=TOKEN,
        api_base_url=emulator_url,
        database_url=database_url,
        runtime=runtime,
        default_language="zh_CN",
        polling_timeout=10,
        shutdown_grace=5.0,
        webhook_url=None,
        webhook_secret=None,
        admin_telegram_ids="",
        policy_file=None,
    )


async def run_demo(runtime: str, speed: float, out: TextIO, database: Path) -> int:
    """Play the day; print the timeline, the transcripts and the summary; 0 on success."""
    started = time.monotonic()
    clock = AcceleratedClock(START, speed)
    failure: BaseException | None = None
    demo: Demo | None = None
    violations: list[str] = []
    unanswered = 0
    outcome: Outcome | None = None
    print(
        f"faultdesk offline demo · runtime {runtime} · clock ×{speed:g} from"
        f" {START.astimezone(SHANGHAI):%a %d %b %Y %H:%M} {DEFAULT_TIMEZONE}\n"
        f"database {database} · no Telegram token: a local Bot API emulator stands in\n",
        file=out,
        flush=True,
    )
    with captured_logs() as logs:
        emulator = BotApiEmulator(clock=clock.now)
        emulator.register_bot(TOKEN, username=BOT_USERNAME, first_name="faultdesk")
        await emulator.start()
        try:
            app = build_application(
                demo_settings(emulator.base_url, f"sqlite:///{database}", runtime),
                clock=clock,
                policy=load_policy(),
            )
            demo = Demo(emulator, app, clock, out)
            try:
                await app.start(runtime)
                await demo.play()
                outcome = await demo.outcome()
            except Exception as error:  # reported below with the transcripts so far
                failure = error
            finally:
                await app.stop()
        finally:
            await emulator.stop()
        violations = list(emulator.violations)
        unanswered = len(emulator.unanswered_callback_queries())
        errors = logs.errors
        warnings = [record for record in logs.records if record.levelno < logging.ERROR]
    elapsed = time.monotonic() - started
    if demo is not None:
        print("\n" + demo.transcripts(), file=out)
    lines = ["", "━━ Summary ━━"]
    if outcome is not None:
        statuses = ", ".join(
            f"#{n} {status} (level {level})" for n, status, level in outcome.tickets
        )
        lines += [
            f"tickets: {len(outcome.tickets)} — {statuses}",
            f"pages sent: {outcome.pages} (manager alerts {outcome.manager_alerts}),"
            f" acknowledged {outcome.pages_acknowledged}",
            f"outbox messages sent: {outcome.outbox_sent}, unsent: {outcome.outbox_unsent}",
            f"audit log: {outcome.audit_events} events,"
            f" {'hash chain intact' if outcome.audit_ok else 'CHAIN BROKEN'}",
        ]
    lines += [
        f"emulator violations: {len(violations)}",
        *[f"  - {violation}" for violation in violations],
        f"unanswered button presses: {unanswered}",
        f"errors logged: {len(errors)}, warnings: {len(warnings)}",
        *[
            f"  - {record.levelname} {record.name}: {record.getMessage()}"
            for record in logs.records
        ],
        f"run time: {elapsed:.1f} s real; demo clock {START.astimezone(SHANGHAI):%H:%M}"
        f"–{clock.now().astimezone(SHANGHAI):%H:%M}",
    ]
    ok = (
        failure is None
        and not violations
        and not unanswered
        and not errors
        and outcome is not None
        and outcome.audit_ok
    )
    if failure is not None:
        lines += ["", f"FAILED: {type(failure).__name__}: {failure}"]
    lines.append("demo OK" if ok else "demo FAILED")
    print("\n".join(lines), file=out, flush=True)
    return 0 if ok else 1


def main(
    runtime: str = "aiogram",
    speed: float = DEFAULT_SPEED,
    out: TextIO | None = None,
    *,
    keep_database: bool = False,
) -> int:
    """Run the offline demo; the exit code (0 success).

    The database is a fresh temporary file, or with `keep_database` ./faultdesk-demo.sqlite3,
    recreated on every run (./faultdesk.sqlite3 is never touched).
    """
    stream = out if out is not None else sys.stdout
    if keep_database:
        path = Path(DATABASE_NAME).resolve()
        for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
        code = asyncio.run(run_demo(runtime, speed, stream, path))
        print(
            f"the day's database is kept: faultdesk audit verify -d sqlite:///{path}", file=stream
        )
        return code
    with tempfile.TemporaryDirectory(prefix="faultdesk-demo-") as folder:
        return asyncio.run(run_demo(runtime, speed, stream, Path(folder) / DATABASE_NAME))


if __name__ == "__main__":
    raise SystemExit(main())
