"""The web console served by the running bot, in polling and in webhook mode, on both
runtimes: /web in chat gives a one-time link, the Mini App's initData opens the board."""

from __future__ import annotations

import contextlib
import json
import time

import aiohttp
from sqlalchemy import func, select

from bot.web.auth import sign_init_data
from core.enums import Role
from core.models import WebLogin

DISPATCHER = 7301
STAFF = 7302


async def logins(bot, *, used: bool | None = None) -> int:
    """Login links in the database (only spent or unspent ones when asked)."""
    query = select(func.count()).select_from(WebLogin)
    if used is not None:
        query = query.where(WebLogin.used_at.is_not(None) if used else WebLogin.used_at.is_(None))
    async with bot.running.core.reading() as session:
        return int(await session.scalar(query))


def link_of(message) -> str:
    """The URL of the message's only button."""
    assert message.reply_markup is not None, message.text
    (button,) = message.reply_markup["inline_keyboard"][0]
    return str(button["url"])


def signed(telegram_id: int, token: str) -> str:
    user = json.dumps({"id": telegram_id, "first_name": "D", "language_code": "en"})
    return sign_init_data({"auth_date": str(int(time.time())), "user": user}, token)


async def check_console(bot, emulator) -> str:
    """/web, the link, the cookie, the board; the spent link; returns the console's base."""
    await bot.register(DISPATCHER, "Dora", role=Role.DISPATCHER, language="en")
    dora = emulator.person(user_id=DISPATCHER, first_name="Dora", language_code="en")
    await dora.send("/web")
    reply = await dora.wait_for("web console")
    assert "works once, within 10 minutes" in reply.text
    link = link_of(reply)
    base = link.split("login/")[0]
    assert base == bot.running.bot.web_url and base.endswith("/web/")
    async with aiohttp.ClientSession() as browser:
        async with browser.get(link, allow_redirects=False) as opened:
            assert opened.status == 302, await opened.text()
            cookie = opened.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
        async with browser.get(
            f"{base}api/board", headers={"Cookie": cookie.split(";")[0]}
        ) as board:
            assert board.status == 200
            assert (await board.json())["tickets"] == []
        async with browser.get(link, allow_redirects=False) as again:
            assert again.status == 401
        async with browser.get(
            f"{base}api/me",
            headers={"X-Telegram-Init-Data": signed(DISPATCHER, bot.settings().bot_token)},
        ) as me:
            assert me.status == 200 and (await me.json())["name"] == "Dora"
        async with browser.get(f"{base}api/me") as nobody:
            assert nobody.status == 401
    assert await logins(bot, used=True) == 1
    return base


async def test_the_console_is_served_beside_long_polling(deployment, emulator):
    deployment.overrides["web_listen"] = "127.0.0.1:0"
    await deployment.start()
    await check_console(deployment, emulator)


async def test_the_console_is_served_on_the_webhook_address(deployment, emulator):
    url = deployment.use_webhook("s3cret-for-the-web-test")
    await deployment.start()
    base = await check_console(deployment, emulator)
    assert base == url.split("/telegram/")[0] + "/web/"


async def test_staff_get_no_link_and_a_bot_without_console_says_so(bot, emulator):
    await bot.register(STAFF, "Sam", language="en")
    await bot.register(DISPATCHER, "Dora", role=Role.DISPATCHER, language="en")
    sam = emulator.person(user_id=STAFF, first_name="Sam", language_code="en")
    await sam.send("/web")

    async def answered() -> bool:
        return bool(sam.messages())

    await bot.until(answered)
    assert all(
        m.reply_markup is None or "login/" not in str(m.reply_markup) for m in sam.messages()
    )
    dora = emulator.person(user_id=DISPATCHER, first_name="Dora", language_code="en")
    await dora.send("/web")
    reply = await dora.wait_for("not switched on")
    assert reply.reply_markup is None
    assert await logins(bot) == 0


async def test_the_demo_serves_the_board_it_prints(tmp_path):
    """`faultdesk demo --serve`: after the day, the printed address opens the board."""
    import asyncio
    import io
    from urllib.parse import unquote

    from demo import day

    out = io.StringIO()
    playing = asyncio.create_task(
        day.run_demo("aiogram", day.DEFAULT_SPEED, out, tmp_path / "demo.sqlite3", serve=True)
    )
    try:
        while "open until Ctrl-C:\n" not in out.getvalue():
            assert not playing.done(), out.getvalue()[-3000:]
            await asyncio.sleep(0.2)  # polling the demo's output; no event to wait on
        address = out.getvalue().split("open until Ctrl-C:\n")[1].splitlines()[0]
        base, _, fragment = address.partition("#tgWebAppData=")
        async with aiohttp.ClientSession() as browser:
            async with browser.get(base) as page:
                assert page.status == 200 and "console.js" in await page.text()
            async with browser.get(
                f"{base}api/board", headers={"X-Telegram-Init-Data": unquote(fragment)}
            ) as board:
                assert board.status == 200
                body = await board.json()
        assert body["may_act"] is True and body["total_open"] == len(body["tickets"])
    finally:
        playing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await playing


async def test_a_tickets_photo_is_fetched_from_telegram_by_the_running_bot(deployment, emulator):
    """The ticket page's pictures come through the bot's own transport (getFile, then the
    download), on each runtime."""
    from core.enums import Impact
    from sandbox.people import TINY_PNG

    deployment.overrides["web_listen"] = "127.0.0.1:0"
    await deployment.start()
    reporter = await deployment.register(7303, "Rita", language="en")
    await deployment.register(7304, "Eddie", role=Role.ENGINEER, language="en")
    await deployment.register(DISPATCHER, "Dora", role=Role.DISPATCHER, language="en")
    rita = emulator.person(user_id=7303, first_name="Rita", language_code="en")
    eddie = emulator.person(user_id=7304, first_name="Eddie", language_code="en")
    dora = emulator.person(user_id=DISPATCHER, first_name="Dora", language_code="en")
    for person in (rita, eddie, dora):
        person._open_private_chat()  # each has a chat with the bot: dispatch reaches them
    # A photo Rita sent, as Telegram keeps it (the emulator's file store).
    stored = rita._bot.files.add(TINY_PNG, kind="photo", mime_type="image/png")
    ticket = await deployment.running.helpdesk.tickets.report_fault(
        reporter, symptom="Cracked screen", impact=Impact.DEGRADED, photos=[stored.file_id]
    )
    base = deployment.running.bot.web_url
    headers = {"X-Telegram-Init-Data": signed(DISPATCHER, deployment.settings().bot_token)}
    async with aiohttp.ClientSession() as browser:
        async with browser.get(f"{base}api/tickets/{ticket.id}/photos/0", headers=headers) as got:
            assert got.status == 200, await got.text()
            assert got.content_type == "image/png"
            assert await got.read() == TINY_PNG
        async with browser.get(f"{base}api/tickets/{ticket.id}/photos/0") as nobody:
            assert nobody.status == 401
