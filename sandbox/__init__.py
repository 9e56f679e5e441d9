"""Offline Telegram: a Bot API emulator and simulated people for tests and demos."""

from sandbox.emulator import BotApiEmulator
from sandbox.files import StoredFile
from sandbox.people import SimulatedChannel, SimulatedGroup, SimulatedPerson
from sandbox.state import BotState, CallbackQueryRecord, SentMessage

__all__ = [
    "BotApiEmulator",
    "BotState",
    "CallbackQueryRecord",
    "SentMessage",
    "SimulatedChannel",
    "SimulatedGroup",
    "SimulatedPerson",
    "StoredFile",
]
