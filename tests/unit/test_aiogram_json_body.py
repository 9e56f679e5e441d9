"""The aiogram runtime sends a call that uploads no file as a JSON body (typed values, the
keyboard as an object), and one that uploads a file as multipart, as aiogram does."""

from __future__ import annotations

import json

from aiogram import Bot
from aiogram.methods import GetUpdates, SendDocument, SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import FormData
from aiohttp.payload import JsonPayload

from bot.runtimes.aiogram import JsonBodySession


def body(payload: object) -> object:
    assert isinstance(payload, JsonPayload) and payload.content_type == "application/json"
    return json.loads(payload.decode())


def test_a_call_without_a_file_goes_as_json_with_typed_values():
    session = JsonBodySession()
    bot = Bot("42:TEST", session=session)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="✅ 确认", callback_data="d:1:x")]]
    )
    sent = SendMessage(
        chat_id=-1001,
        text="Принтер <b>打印机</b> & «x»",
        parse_mode="HTML",
        reply_markup=keyboard,
        disable_notification=False,  # left out, as aiogram leaves an empty form field out
    )
    assert body(session.build_form_data(bot, sent)) == {
        "chat_id": -1001,
        "text": "Принтер <b>打印机</b> & «x»",
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "✅ 确认", "callback_data": "d:1:x"}]]},
    }
    polled = GetUpdates(offset=5, timeout=10, allowed_updates=["message", "callback_query"])
    assert body(session.build_form_data(bot, polled)) == {
        "offset": 5,
        "timeout": 10,
        "allowed_updates": ["message", "callback_query"],
    }


def test_a_call_that_uploads_a_file_goes_as_multipart():
    session = JsonBodySession()
    bot = Bot("42:TEST", session=session)
    upload = SendDocument(chat_id=7, document=BufferedInputFile(b"%PDF", filename="sheet.pdf"))
    assert isinstance(session.build_form_data(bot, upload), FormData)
