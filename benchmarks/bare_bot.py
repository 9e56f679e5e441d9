"""A bare bot on one framework, the floor the chat bench compares faultdesk with.

    python -m benchmarks.bare_bot aiogram|ptb --token TOKEN --api-base-url URL

It long-polls the Bot API at URL (the sandbox emulator in the chat bench) and answers
every update with one sendMessage carrying an inline keyboard of the chat bench's button
labels (so the simulated person can press them next); a pressed button is also answered
with answerCallbackQuery, as any bot must. No database, no state, no translations: what
a framework costs per update with nothing of the application on top. It runs until
SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence
from typing import Any

# The labels the chat bench's report mix presses (benchmarks.chat_bench.report_steps).
BUTTONS = ("✅ Done", "🟡 It works badly, I can still work", "✅ Confirm")


def _reply_text(number: int) -> str:
    """The answer: short, and different each time as a real reply would be."""
    return f"Got it ({number})."


async def run_aiogram(token: str, api_base_url: str, stop: asyncio.Event) -> None:
    """aiogram: Dispatcher long polling, one handler per update type."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import (
        CallbackQuery,
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        Message,
    )

    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=f"b{n}")]
            for n, label in enumerate(BUTTONS)
        ]
    )
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base_url))
    bot = Bot(token, session=session)
    dispatcher = Dispatcher(disable_fsm=True)
    counter = iter(range(1, 1 << 62))

    @dispatcher.message()
    async def on_message(message: Message) -> None:
        await bot.send_message(message.chat.id, _reply_text(next(counter)), reply_markup=keyboard)

    @dispatcher.callback_query()
    async def on_callback(query: CallbackQuery) -> None:
        await bot.answer_callback_query(query.id)
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        await bot.send_message(chat_id, _reply_text(next(counter)), reply_markup=keyboard)

    polling = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=10, handle_signals=False)
    )
    await stop.wait()
    await dispatcher.stop_polling()
    await polling
    await bot.session.close()


async def run_ptb(token: str, api_base_url: str, stop: asyncio.Event) -> None:
    """python-telegram-bot: Application long polling, updates handled concurrently."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler

    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"b{n}")] for n, label in enumerate(BUTTONS)]
    )
    api = api_base_url.rstrip("/")
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .job_queue(None)
        .connection_pool_size(256)
        # faultdesk handles chats concurrently too; PTB's default would queue every update.
        .concurrent_updates(256)
        .build()
    )
    counter = iter(range(1, 1 << 62))

    async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if update.callback_query is not None:
            await update.callback_query.answer()
        if chat is not None:
            await context.bot.send_message(
                chat.id, _reply_text(next(counter)), reply_markup=keyboard
            )

    application.add_handler(TypeHandler(Update, on_update))
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(timeout=10)
        await application.start()
        await stop.wait()
        await application.updater.stop()
        await application.stop()


RUNNERS: dict[str, Any] = {"aiogram": run_aiogram, "ptb": run_ptb}


async def main_async(framework: str, token: str, api_base_url: str) -> None:
    """Run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await RUNNERS[framework](token, api_base_url, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the bot."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_bot", description=__doc__)
    parser.add_argument("framework", choices=tuple(RUNNERS))
    parser.add_argument("--token", required=True)
    parser.add_argument("--api-base-url", required=True)
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.framework, args.token, args.api_base_url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
