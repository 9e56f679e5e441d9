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
   Chen Jing are paged and the level is raised, and Li Na is told the engineer is late,
   with an apology. Wang Wei gives his new arrival time from his page, and Li Na is
   told it. At 150 % manager Liu Yang is alerted and acknowledges.
5. Wang Wei files the service sheet for the PC; Li Na confirms the fix and rates it.
6. Liu Yang runs /stats.

Then each person's chat is printed as a transcript, and a summary. The exit code is 0
only when every expected message arrived, nothing was logged as an error, and the
emulator saw no call the real Bot API would refuse.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import func, select

from bot.app import Application, build_application
from bot.notifications.reporter import (
    ENGINEER_ARRIVED,
    ENGINEER_ASSIGNED,
    ENGINEER_ON_THE_WAY,
    JOB_ACCEPTED,
)
from bot.settings import Settings
from bot.web.auth import sign_init_data
from core.audit import verify_chain
from core.clock import DEFAULT_TIMEZONE, AcceleratedClock
from core.enums import Impact, OutboxStatus, Role, ServiceResult, ServiceType, TicketStatus
from core.models import DueWork, OutboxMessage, Page, Ticket
from core.sla.deadlines import step_key
from core.sla.policy import load_policy
from core.tickets import ServiceSheet
from demo import journeys, seed
from demo.journeys import Actor
from demo.matching import plain as plain_text
from sandbox import BotApiEmulator, SentMessage

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


# What Li Na and Wang Wei type and choose (in Chinese: that is how they speak).
PC_FAULT = journeys.Fault(
    symptom="电脑按电源键没有反应，指示灯不亮，开不了机。",
    impact=Impact.CANNOT_WORK,
    photo=True,
    photo_caption="电源灯不亮",
)
PROJECTOR_FAULT = journeys.Fault(
    symptom="501会议室投影仪开机后没有画面，下午两点有客户会议。",
    impact=Impact.CANNOT_WORK,
)
PRINTER_FAULT = journeys.Fault(
    symptom="打印机卡纸了，取出纸后还是提示卡纸。",
    impact=Impact.DEGRADED,
    photo_caption="卡纸的位置",
)
LI_NOTE = "我在501开会，十分钟后回来。电脑没有开机密码，备份在桌上的移动硬盘里。"
WANG_NOTE = "好的，我先检查硬盘，等您回来再重装系统。"
NEAR_THE_OFFICE = (31.2402, 121.4903)  # where Wang Wei's phone is at the door: some 40 m off
PC_SHEET = ServiceSheet(
    service_type=ServiceType.HARDWARE_FAULT,
    result=ServiceResult.FIXED_ON_SITE,
    under_warranty=True,
    parts_replaced="固态硬盘 512 GB（保修更换）",
    solution="硬盘故障导致无法开机。保修内更换固态硬盘，重装系统并恢复数据；已提醒用户定期备份。",
)


class DemoFailure(Exception):
    """Something the demo expected did not happen."""


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
        self.actors: dict[str, Actor] = {}
        self.timeline: list[str] = []

    # --- people and their language ------------------------------------------------------

    def add_person(self, persona: seed.Persona) -> Actor:
        """The persona's Telegram account on the emulator, speaking their language."""
        person = self.emulator.person(
            persona.telegram_id,
            persona.name,
            persona.language_code,
            phone_number=persona.phone,
        )
        language = self.i18n.choose(None, persona.language_code)
        actor = Actor(person, self.i18n.get(language), patience=WAIT)
        self.personas[persona.key] = persona
        self.actors[persona.key] = actor
        return actor

    def actor(self, persona: seed.Persona) -> Actor:
        """The persona as the journeys move them."""
        return self.actors[persona.key]

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
        await self.photo_reaches_the_engineer(pc)
        card = await self.dispatch_the_pc(pc)
        await self.talk_through_the_ticket(pc)
        await self.ask_for_backup(pc, card)
        projector, projector_card = await self.report_the_projector()
        await self.miss_the_arrival(projector)
        await self.resolve_the_pc(pc, card)
        await self.alert_the_manager(projector)
        await self.arrive_late(projector, projector_card)
        await self.show_the_stats()
        await self.fix_the_printer()
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
        site = next(spec.name for spec in seed.SITES if spec.code == manager.site)
        code = await journeys.invite(self.actor(admin), manager.role, site)
        self.office.invites[manager.key] = code
        self.narrate(f"{admin.name} makes {manager.name}'s invitation with /invite in the chat")

    async def register_everyone(self) -> None:
        """Each colleague opens the invitation link the admin sent them."""
        for persona in seed.PEOPLE:
            welcome = await journeys.open_invitation(
                self.actor(persona), self.office.invite_payload(persona)
            )
            self.narrate(
                f"{persona.name} ({persona.native_name}) opens the invitation: registered as"
                f" {persona.role.value}, language {persona.language_code}"
            )
            if persona.role is Role.ENGINEER:  # pages show it to those who call them
                await journeys.share_own_phone(self.actor(persona), welcome)
                self.narrate(f"{persona.name} shares his phone when asked")
        await seed.name_backup(self.helpdesk, self.office, seed.WANG_WEI, seed.ZHAO_LEI)
        self.narrate(f"{seed.ZHAO_LEI.name} is named {seed.WANG_WEI.name}'s backup engineer")

    async def report_the_pc(self) -> int:
        """(a) Li Na reports her dead PC from the sticker: symptom, photo, impact, phone."""
        li = seed.LI_NA
        await self.jump_to_local(9, 2)
        self.narrate(
            f"{li.name} scans the sticker on {seed.PC_TAG}"
            f" ({seed.sticker_link(BOT_USERNAME, seed.PC_TAG)})"
        )
        await journeys.report_from_sticker(self.actor(li), seed.PC_TAG, PC_FAULT)
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

    async def reporter_told(self, msgid: str, ticket_id: int, what: str, **known: object) -> None:
        """Li Na gets an update about her ticket."""
        li = self.actor(seed.LI_NA)
        await li.gets(li.says(msgid, ticket=ticket_id, **known), what)

    async def dispatch_the_pc(self, ticket_id: int) -> SentMessage:
        """(b) Wang Wei accepts the dispatch, sets off and arrives."""
        wang, li = seed.WANG_WEI, seed.LI_NA
        card = await journeys.dispatch_card(self.actor(wang), ticket_id)
        self.narrate(f"{wang.name} gets the dispatch card of ticket #{ticket_id}")
        await self.jump_to_local(9, 5)

        async def accepted() -> None:
            await self.reporter_told(JOB_ACCEPTED, ticket_id, "the acceptance", engineer=wang.name)
            self.narrate(f"{wang.name} accepts; {li.name} is told")
            await self.jump_to_local(9, 8)

        async def on_the_way() -> None:
            await self.reporter_told(
                ENGINEER_ON_THE_WAY, ticket_id, "the on-the-way notice", engineer=wang.name
            )
            self.narrate(f"{wang.name} is on the way")
            await self.jump_to_local(9, 25)

        await journeys.accept_and_travel(
            self.actor(wang), card, before_setting_off=accepted, on_the_road=on_the_way
        )
        await self.reporter_told(
            ENGINEER_ARRIVED, ticket_id, "the arrival notice", engineer=wang.name
        )
        self.narrate(f"{wang.name} is on site, in time; {li.name} is told at each step")
        return card

    async def ask_for_backup(self, ticket_id: int, card: SentMessage) -> None:
        """Before reinstalling the system Wang Wei asks Li Na to confirm her backup."""
        wang, li = seed.WANG_WEI, seed.LI_NA
        await self.jump_to_local(9, 30)
        await journeys.ask_backup_consent(self.actor(wang), card, "os_reinstall")
        self.narrate(f"{wang.name} must reinstall the system: {li.name} is asked to back up")
        await journeys.confirm_backup(self.actor(li), ticket_id)
        await journeys.hear_backup_confirmed(self.actor(wang), ticket_id)
        self.narrate(f"{li.name} confirms the backup; {wang.name} may go ahead")

    async def report_the_projector(self) -> tuple[int, SentMessage]:
        """(c) The meeting-room projector is reported by tag and accepted."""
        li, wang = seed.LI_NA, seed.WANG_WEI
        await self.jump_to_local(9, 40)
        # Her number is on record since the first report: one press uses it.
        fault = replace(PROJECTOR_FAULT, phone_on_record=li.phone)
        await journeys.report_by_tag(self.actor(li), seed.PROJECTOR_TAG, fault)
        ticket_id = await self.latest_ticket()
        ticket = await self.helpdesk.tickets.card(ticket_id)
        self.narrate(
            f"{li.name} reports the projector in meeting room 501 by its tag: ticket"
            f" #{ticket_id}, level {ticket.severity}, promised arrival"
            f" {self.hhmm(ticket.promised_arrival_at)}"
        )
        card = await journeys.dispatch_card(self.actor(wang), ticket_id)
        await self.jump_to_local(9, 45)
        await journeys.accept(self.actor(wang), card)
        self.narrate(f"{wang.name} accepts ticket #{ticket_id}, but the PC keeps him busy")
        return ticket_id, card

    async def miss_the_arrival(self, ticket_id: int) -> None:
        """80 %: Wang Wei is reminded; 100 %: he, his backup and the dispatcher are paged."""
        wang, zhao, chen = seed.WANG_WEI, seed.ZHAO_LEI, seed.CHEN_JING
        card = await self.helpdesk.tickets.card(ticket_id)
        arrival = card.clock("arrival")
        deadline = self.hhmm(arrival.due_at if arrival else None)
        await self.jump_before_step(ticket_id, "arrival", 0.8)
        await journeys.deadline_reminder(self.actor(wang), ticket_id)
        self.narrate(
            f"80 % of ticket #{ticket_id}'s arrival time is gone (deadline {deadline}):"
            f" {wang.name} is reminded"
        )
        due = await self.jump_before_step(ticket_id, "arrival", 1.0)
        pages = {}
        for persona in (wang, zhao, chen):
            pages[persona.key] = await journeys.deadline_page(
                self.actor(persona), ticket_id, raised_to=1
            )
        self.narrate(
            f"{self.hhmm(due)}, arrival deadline missed (100 %): {wang.name}, backup {zhao.name}"
            f" and dispatcher {chen.name} are paged; ticket #{ticket_id} is raised to level 1"
        )
        for persona in (zhao, chen, wang):
            await journeys.acknowledge(self.actor(persona), pages[persona.key])
        self.narrate(f"{zhao.name}, {chen.name} and {wang.name} acknowledge their pages")
        await self.tell_the_reporter_of_the_late_arrival(ticket_id, pages[wang.key])
        await journeys.look_at_site_queue(self.actor(chen))
        self.narrate(f"{chen.name} looks at the site's queue (/queue)")

    async def tell_the_reporter_of_the_late_arrival(
        self, ticket_id: int, page: SentMessage
    ) -> None:
        """Li Na hears the engineer is late, with an apology; then his new time (002)."""
        wang, li = seed.WANG_WEI, seed.LI_NA
        await journeys.told_arrival_missed(self.actor(li), ticket_id)
        self.narrate(
            f"{li.name} is told the arrival deadline was missed, with an apology, and that"
            " the engineer's new time will follow"
        )
        reporter = self.actor(li)
        new_time = START.astimezone(SHANGHAI).replace(hour=13, minute=0)
        await journeys.give_new_arrival_time(self.actor(wang), page, ticket_id, f"{new_time:%H:%M}")
        await journeys.told_new_arrival_time(
            reporter, ticket_id, reporter.t.moment(new_time, DEFAULT_TIMEZONE)
        )
        self.narrate(
            f"{wang.name} gives {new_time:%H:%M} as his new arrival time from his page;"
            f" {li.name} is told, with an apology"
        )

    async def resolve_the_pc(self, ticket_id: int, card: SentMessage) -> None:
        """(d) Wang Wei files the service sheet; Li Na confirms the fix and rates it."""
        wang, li = seed.WANG_WEI, seed.LI_NA
        await self.jump_to_local(12, 0)
        await journeys.file_service_sheet(self.actor(wang), card, ticket_id, PC_SHEET)
        self.narrate(
            f"{wang.name} files the service sheet for ticket #{ticket_id}: hardware fault,"
            " under warranty, SSD replaced, fixed on site"
        )
        reporter = self.actor(li)
        resolved = await journeys.resolved_notice(reporter, ticket_id)
        await journeys.confirm_fix_and_rate(
            reporter, resolved, ticket_id, score=5, follow_up=["very_satisfied"]
        )
        self.narrate(f"{li.name} confirms the fix and rates it 5 (very satisfied with the quality)")

    async def alert_the_manager(self, ticket_id: int) -> None:
        """150 %: the manager is alerted and acknowledges."""
        liu = seed.LIU_YANG
        due = await self.jump_before_step(ticket_id, "arrival", 1.5)
        alert = await journeys.manager_alert(self.actor(liu), ticket_id)
        self.narrate(
            f"{self.hhmm(due)}, 150 % of the arrival time and still nobody on site:"
            f" manager {liu.name} is alerted"
        )
        await journeys.acknowledge(self.actor(liu), alert)
        self.narrate(f"{liu.name} acknowledges the alert")

    async def arrive_late(self, ticket_id: int, card: SentMessage) -> None:
        """Wang Wei finally gets to the projector."""
        wang = seed.WANG_WEI
        await self.jump_to_local(12, 50)
        await journeys.set_off(self.actor(wang), card)
        await self.jump_to_local(12, 58)
        await journeys.arrive(self.actor(wang), card)
        await self.reporter_told(
            ENGINEER_ARRIVED, ticket_id, "the late arrival", engineer=wang.name
        )
        self.narrate(f"{wang.name} arrives at the projector, late (arrival recorded as missed)")

    async def photo_reaches_the_engineer(self, ticket_id: int) -> None:
        """Li Na's photo follows the dispatch card to Wang Wei, captioned with the ticket."""
        wang = seed.WANG_WEI
        await journeys.photos_with_card(self.actor(wang), ticket_id, 1)
        self.narrate(
            f"{wang.name}'s dispatch card of ticket #{ticket_id} comes with {seed.LI_NA.name}'s"
            f" photo, captioned with the ticket number"
        )

    async def talk_through_the_ticket(self, ticket_id: int) -> None:
        """Li Na answers the assignment notice; Wang Wei answers her, through the bot."""
        li, wang = self.actor(seed.LI_NA), self.actor(seed.WANG_WEI)
        await self.jump_to_local(9, 27)
        notice = await li.gets(
            li.says(ENGINEER_ASSIGNED, ticket=ticket_id), "the notice naming the engineer"
        )
        await journeys.write_by_reply(li, notice, ticket_id, LI_NOTE)
        relayed = await journeys.hear_in_thread(wang, ticket_id, seed.LI_NA.name)
        self.narrate(
            f"{li.name} replies to the notice about ticket #{ticket_id}: {wang.name} reads it,"
            " with her name and no Telegram account"
        )
        await journeys.answer_in_thread(wang, relayed, ticket_id, WANG_NOTE)
        await journeys.hear_in_thread(li, ticket_id, seed.WANG_WEI.name)
        self.narrate(f"{wang.name} answers with ↩️ Reply; both stay in the ticket's history")

    async def fix_the_printer(self) -> None:
        """(f) The office gets its coordinates; a printer jam typed in plain words, three
        photos as one album, the card with the map, and an arrival verified by location."""
        li, wang = self.actor(seed.LI_NA), self.actor(seed.WANG_WEI)
        await self.jump_to_local(13, 20)
        latitude, longitude = seed.HQ_LOCATION
        await self.helpdesk.people.locate_site(seed.HQ, latitude=latitude, longitude=longitude)
        self.narrate(
            f"{seed.ADMIN.name} gives the head office its place on the map"
            f" (faultdesk site locate {seed.HQ} --lat {latitude} --lon {longitude})"
        )
        await self.jump_to_local(13, 30)
        fault = replace(PRINTER_FAULT, phone_on_record=seed.LI_NA.phone)
        await journeys.report_by_saying(li, seed.PRINTER_TAG, fault, photos=3)
        ticket_id = await self.latest_ticket()
        self.narrate(
            f"{li.name} just types what is wrong; the bot offers it as a report: ticket"
            f" #{ticket_id}, with three photos sent at once"
        )
        card = await journeys.dispatch_card(wang, ticket_id)
        await journeys.photos_with_card(wang, ticket_id, 3)
        await journeys.site_on_the_map(wang, ticket_id)
        self.narrate(
            f"{wang.name} gets the card with the three photos as one album and the office on"
            " the map"
        )
        await self.jump_to_local(13, 35)
        await journeys.accept(wang, card)
        await journeys.set_off(wang, card)
        await self.jump_to_local(13, 50)
        recorded = await journeys.arrive_with_location(wang, card, ticket_id, NEAR_THE_OFFICE)
        await self.reporter_told(
            ENGINEER_ARRIVED, ticket_id, "the arrival notice", engineer=seed.WANG_WEI.name
        )
        ticket = await self.helpdesk.tickets.card(ticket_id)
        self.narrate(
            f"{wang.name} shares his location on arrival: {ticket.arrival_check} at"
            f" {ticket.arrival_distance_m} m from the office, stamped {self.hhmm(ticket.arrived_at)}"
            f" by the system clock ({plain_text(recorded.text)})"
        )

    async def show_the_stats(self) -> None:
        """(e) The manager's /stats."""
        liu = seed.LIU_YANG
        await self.jump_to_local(13, 5)
        await journeys.look_at_stats(self.actor(liu))
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
        for key, actor in self.actors.items():
            persona, person = self.personas[key], actor.person
            header = (
                f"━━ {persona.name} {persona.native_name} · {persona.role.value}"
                f" · {persona.site}{' · ' + persona.department if persona.department else ''}"
                f" · Telegram language {persona.language_code} ━━"
            )
            sections.append(f"{header}\n{person.transcript() or '(no messages)'}")
        return "\n\n".join(sections)


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
        health_listen="127.0.0.1:0",  # any free port: a bot may run beside the demo
        web_listen="127.0.0.1:0",  # the web console, on any free port too
    )


def board_address(app: Application) -> str:
    """The dispatcher's board as Telegram would open it for Chen Jing (signed initData)."""
    persona = seed.CHEN_JING
    user = json.dumps(
        {"id": persona.telegram_id, "first_name": persona.name, "language_code": "en"}
    )
    init_data = sign_init_data({"auth_date": str(int(time.time())), "user": user}, TOKEN)
    return f"{app.bot.web_url}#tgWebAppData={quote(init_data)}"


async def run_demo(
    runtime: str, speed: float, out: TextIO, database: Path, *, serve: bool = False
) -> int:
    """Play the day; print the timeline, the transcripts and the summary; 0 on success."""
    started = time.monotonic()
    clock = AcceleratedClock(START, speed)
    failure: BaseException | None = None
    demo: Demo | None = None
    violations: list[str] = []
    unanswered = 0
    outcome: Outcome | None = None
    metrics: list[str] = []
    board = ""
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
                metrics = await scrape_metrics(app)
                board = board_address(app)
                if serve:
                    print(
                        f"\nthe dispatcher's board (Chen Jing), open until Ctrl-C:\n{board}",
                        file=out,
                        flush=True,
                    )
                    await asyncio.Event().wait()
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
    if metrics:
        lines += ["", "━━ Metrics (GET /metrics at the end of the day, counters that moved) ━━"]
        lines += metrics
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
    if board:
        lines += [
            "",
            "the dispatcher's board (web console, as Chen Jing; served while the bot runs:"
            " `faultdesk demo --serve` keeps it open):",
            board,
        ]
    lines.append("demo OK" if ok else "demo FAILED")
    print("\n".join(lines), file=out, flush=True)
    return 0 if ok else 1


async def scrape_metrics(app: Application) -> list[str]:
    """The bot's /metrics as Prometheus scrapes it: the faultdesk samples that are not 0."""
    server = app.health_server
    if server is None:
        return []
    url = f"http://{server.host}:{server.port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        exposition = await response.text()
    kept = []
    for line in exposition.splitlines():
        if line.startswith("#") or not line.startswith("faultdesk_"):
            continue
        sample, _, value = line.rpartition(" ")
        name = sample.partition("{")[0]
        if name.endswith(("_created", "_bucket")) or float(value) == 0:
            continue
        kept.append(line)
    return kept


def main(
    runtime: str = "aiogram",
    speed: float = DEFAULT_SPEED,
    out: TextIO | None = None,
    *,
    keep_database: bool = False,
    serve: bool = False,
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
        code = asyncio.run(run_demo(runtime, speed, stream, path, serve=serve))
        print(
            f"the day's database is kept: faultdesk audit verify -d sqlite:///{path}", file=stream
        )
        return code
    with tempfile.TemporaryDirectory(prefix="faultdesk-demo-") as folder:
        return asyncio.run(
            run_demo(runtime, speed, stream, Path(folder) / DATABASE_NAME, serve=serve)
        )


if __name__ == "__main__":
    raise SystemExit(main())
