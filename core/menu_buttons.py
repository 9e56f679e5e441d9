"""Who should see the console in their chat's menu button, and what the bot last set there.

The bot sets a Mini App menu button in the private chat of every active person with a
console screen, and puts the default back when they lose it (role change, deactivation,
the console switched off). This module reads the people and remembers what was set
(`MenuButton` rows), so that a pass calls Telegram only for the chats that must change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from core.console import CONSOLE_ROLES
from core.models import AuditEvent, MenuButton, Person
from core.unit_of_work import Core


@dataclass(frozen=True)
class ConsoleChat:
    """A private chat whose person has a console screen, and their language."""

    chat_id: int
    language: str | None


@dataclass(frozen=True)
class Remembered:
    """What the bot last set in a chat (a digest), whether Telegram refused it, and when."""

    shown: str
    failed: bool
    set_at: datetime


async def console_chats(core: Core) -> list[ConsoleChat]:
    """Active people with a console screen and a private chat, one entry per chat."""
    async with core.reading() as session:
        rows = await session.execute(
            select(Person.chat_id, Person.language)
            .where(
                Person.active.is_(True),
                Person.role.in_(sorted(CONSOLE_ROLES)),
                Person.chat_id.is_not(None),
                Person.chat_id > 0,  # private chats; groups and channels have negative ids
            )
            .order_by(Person.id)
        )
        chats: dict[int, ConsoleChat] = {}
        for chat_id, language in rows:
            if chat_id is not None:  # excluded by the query; narrows the type
                chats.setdefault(chat_id, ConsoleChat(chat_id, language))
        return list(chats.values())


async def remembered(core: Core, bot_id: int) -> dict[int, Remembered]:
    """Every chat where this bot set a button, by chat id."""
    async with core.reading() as session:
        # Columns, not ORM objects: a pass reads every chat's row.
        rows = await session.execute(
            select(
                MenuButton.chat_id, MenuButton.shown, MenuButton.failed, MenuButton.set_at
            ).where(MenuButton.bot_id == bot_id)
        )
        return {chat: Remembered(shown, failed, at) for chat, shown, failed, at in rows}


async def remember(
    core: Core, bot_id: int, chat_id: int, shown: str, *, failed: bool, now: datetime
) -> None:
    """Record what was set in a chat (or that Telegram refused it)."""
    async with core.transaction() as tx:
        row = await tx.session.get(MenuButton, (bot_id, chat_id))
        if row is None:
            tx.session.add(
                MenuButton(bot_id=bot_id, chat_id=chat_id, shown=shown, failed=failed, set_at=now)
            )
        else:
            row.shown, row.failed, row.set_at = shown, failed, now


async def forget(core: Core, bot_id: int, chat_id: int) -> None:
    """The chat is back to Telegram's default button: nothing to remember."""
    async with core.transaction() as tx:
        await tx.session.execute(
            delete(MenuButton).where(MenuButton.bot_id == bot_id, MenuButton.chat_id == chat_id)
        )


async def people_marker(core: Core) -> int:
    """The newest audit event about a person (registered, role set, deactivated...): a
    cheap indexed read that tells a pass whether anyone changed since the last one."""
    async with core.reading() as session:
        newest = await session.scalar(
            select(func.max(AuditEvent.id)).where(AuditEvent.entity == "person")
        )
        return int(newest or 0)
