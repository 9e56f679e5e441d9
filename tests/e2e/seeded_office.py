"""The demo office for the e2e tests of dispatchers, managers and groups (imported by them).

The office of demo.seed with its people speaking English; each registered by opening
their invitation link. The clock is frozen at Monday 09:00 in Shanghai and moved by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from core.enums import Impact, OutboxStatus, Role
from core.models import OutboxMessage, Ticket
from demo import seed
from sandbox import BotApiEmulator, SentMessage, SimulatedPerson

Match = Callable[[SentMessage], bool]


class OfficeBase:
    """What every e2e office offers: its services, the frozen clock moved by hand, counts."""

    deployment: Any  # tests/e2e/conftest.py's Deployment

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
        await self.deployment.until(self.outbox_idle)
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

    async def count(self, model: type, *where: object) -> int:
        async with self.deployment.running.core.reading() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)))

    async def ticket(self, ticket_id: int) -> Ticket:
        async with self.deployment.running.core.reading() as session:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None
            return ticket


@dataclass
class Office(OfficeBase):
    """The seeded office and its registered people."""

    deployment: Any  # tests/e2e/conftest.py's Deployment
    emulator: BotApiEmulator
    seeded: seed.Office
    people: dict[str, SimulatedPerson]

    def __getattr__(self, key: str) -> SimulatedPerson:
        people = self.__dict__.get("people") or {}
        if key in people:
            return people[key]
        raise AttributeError(key)

    async def newcomer(
        self,
        telegram_id: int,
        name: str,
        role: Role,
        *,
        site: str | None = None,
        phone: str | None = None,
    ) -> SimulatedPerson:
        """Someone registered by the administrator's tools, who has opened the bot before."""
        await self.helpdesk.people.create_person(
            name=name,
            role=role,
            site_id=self.seeded.sites[site] if site else None,
            phone=phone,
            telegram_user_id=telegram_id,
            language="en",
        )
        person = self.emulator.person(telegram_id, name, "en")
        person.opened_chat_before()
        return person


async def seeded_office(bot: Any, emulator: BotApiEmulator) -> Office:
    """The demo office; everyone registered through their invitation link, in English."""
    seeded = await seed.seed_office(bot.running.helpdesk)
    people = {}
    for persona in seed.PEOPLE:
        person = emulator.person(
            persona.telegram_id, persona.name, "en", phone_number=persona.phone
        )
        await person.start(seeded.invite_payload(persona))
        await person.wait_for(f"Welcome, {persona.name}! You are registered as")
        if persona.role is Role.ENGINEER:  # asked for their phone when they register
            await person.reply_keyboard("📱 Share my phone")
            await person.wait_for("📱 Saved your phone number")
        people[persona.key.split("_")[0]] = person
    await seed.name_backup(bot.running.helpdesk, seeded, seed.WANG_WEI, seed.ZHAO_LEI)
    return Office(bot, emulator, seeded, people)


def the(message: SentMessage, *parts: str) -> Match:
    """Matches `message` once it shows every one of `parts`."""
    return lambda m: m.message_id == message.message_id and all(p in m.text for p in parts)


async def open_ticket(
    office: Office, reporter_id: int, symptom: str, *, tag: str | None = None
) -> int:
    """A ticket reported through the core (the report dialog has its own journeys)."""
    ticket = await office.helpdesk.tickets.report_fault(
        reporter_id,
        symptom=symptom,
        impact=Impact.DEGRADED,
        contact_phone="13800000000",
        asset_tag=tag,
    )
    return int(ticket.id)


async def answer_to(office: Office, query: Any) -> str | None:
    """The text a pressed button was answered with."""

    async def answered() -> bool:
        return bool(query.answered)

    await office.deployment.until(answered)
    return query.answer_text
