"""Offline Telegram: a Bot API emulator and simulated people for tests and demos."""

from sandbox.emulator import BotApiEmulator, BotState, StoredFile
from sandbox.people import (
    CallbackQueryRecord,
    SentMessage,
    SimulatedGroup,
    SimulatedPerson,
)

__all__ = [
    "BotApiEmulator",
    "BotState",
    "CallbackQueryRecord",
    "SentMessage",
    "SimulatedGroup",
    "SimulatedPerson",
    "StoredFile",
]
