"""Handler tests: the router over an in-memory chat, on a real database with a frozen clock."""

from __future__ import annotations

import pytest
from chat_harness import ChatHarness

from bot.callbacks import CallbackCodec
from bot.context import BotApp
from bot.handlers import build_router
from bot.i18n import I18n
from core.conversations import ConversationStore


@pytest.fixture(scope="session")
def i18n() -> I18n:
    return I18n()


@pytest.fixture
def chat(helpdesk, i18n) -> ChatHarness:
    app = BotApp(
        helpdesk=helpdesk,
        conversations=ConversationStore(helpdesk.core),
        codec=CallbackCodec(b"test-secret"),
        i18n=i18n,
        bot_username="faultdesk_bot",  # what getMe answers in production
    )
    harness = ChatHarness(app, build_router())
    yield harness
    harness.assert_clean()
