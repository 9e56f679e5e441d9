"""Fixtures for the emulator's own tests: a running emulator with one bot and real clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import telegram
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from sandbox import BotApiEmulator, SimulatedPerson

TOKEN = "123456789:AAEmulatorTestTokenForFaultdesk-0123"


class LoopbackAiohttpSession(AiohttpSession):
    """aiogram's own session, minus the 250 ms SSL grace sleep on close (plain loopback HTTP)."""

    async def close(self) -> None:
        """Close the client session immediately."""
        if self._session is not None and not self._session.closed:
            await self._session.close()


@pytest.fixture
def token() -> str:
    """The registered test bot's token."""
    return TOKEN


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """A started emulator with the test bot registered; fails the test on leftover violations."""
    async with BotApiEmulator() as emu:
        emu.register_bot(TOKEN, username="faultdesk_bot", first_name="faultdesk")
        yield emu
        emu.assert_no_violations()


@pytest.fixture
async def aiogram_bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    """A real aiogram Bot pointed at the emulator."""
    session = LoopbackAiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
    bot = Bot(TOKEN, session=session)
    yield bot
    await session.close()


@pytest.fixture
async def ptb_bot(emulator: BotApiEmulator) -> AsyncIterator[telegram.Bot]:
    """A real, initialized python-telegram-bot Bot pointed at the emulator."""
    bot = telegram.Bot(
        TOKEN,
        base_url=f"{emulator.base_url}/bot",
        base_file_url=f"{emulator.base_url}/file/bot",
    )
    async with bot:
        yield bot


@pytest.fixture
def alice(emulator: BotApiEmulator) -> SimulatedPerson:
    """An English-speaking user."""
    return emulator.person(user_id=1001, first_name="Alice", language_code="en")


@pytest.fixture
def bob(emulator: BotApiEmulator) -> SimulatedPerson:
    """A Russian-speaking user."""
    return emulator.person(user_id=1002, first_name="Bob", language_code="ru", username="bob")
