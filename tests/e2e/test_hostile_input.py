"""Input nobody should send, sent anyway: forged buttons, odd command arguments, broken webhook bodies.

Each gets a clear answer (or HTTP 400), nothing changes, and the log shows nothing above
WARNING: anyone can send these, so they must never look like a failure of ours.
"""

from __future__ import annotations

import logging

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.webhook import SECRET_HEADER
from core.enums import Role
from core.models import FalseReport, Ticket
from sandbox import BotApiEmulator

pytestmark = pytest.mark.e2e

MANAGER = 4001
NOT_VALID = "This button is not valid."


def errors_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records above WARNING, as text."""
    return [
        f"{record.levelname} {record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno > logging.WARNING
    ]


@pytest.mark.parametrize(
    "data",
    [
        "ec:1:ack~éééééééé",  # a signature that is not ASCII
        "ec:1:ack~\u00a0\u00a0\u00a0\u00a0",  # non-ASCII and short
        "qo:²:x~AAAAAAAA",  # a well-formed signature that does not verify
        "~",
        "d:report:x:y:z~ÿÿÿÿÿÿÿÿ",
    ],
)
async def test_forged_callback_data_is_refused_without_an_error(
    bot, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture, data: str
):
    caplog.set_level(logging.INFO)
    await bot.register(MANAGER, "Liu", role=Role.MANAGER)
    liu = emulator.person(MANAGER, "Liu", "en")
    await liu.send("/help")
    await liu.wait_for("/stats")

    query = await liu.press_data(data)

    async def answered() -> bool:
        return query.answered

    await bot.until(answered)
    assert query.show_alert and query.answer_text == NOT_VALID
    assert errors_in(caplog) == []


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/falsereport ² part", "Record a false report"),  # '²' is a digit to isdigit()
        ("/falsereport ١٢ part", "Record a false report"),  # Arabic-Indic digits
        ("/falsereport 12345678901234567890123 part", "There is no ticket #1234567890"),
        ("/falsereport 0 late", "There is no ticket #0."),
        ("/falsereport #-5 other", "Record a false report"),
        ("/summary 0000-01", "Please give the period like 2026-11."),
        ("/summary ٢٠٢٦-١١", "Please give the period like 2026-11."),
        ("/scorecard 0000-Q1", "Please give the period like 2026-Q4."),
        ("/summary 2026-11 " + "X" * 300, "No site has the code"),
        ("/start inv_" + "ä" * 60, "This invitation link is not valid."),
        ("/start asset_" + "\u202e" * 10, "This sticker's link is damaged"),
    ],
)
async def test_odd_command_arguments_get_a_clear_answer(
    bot, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture, command: str, answer: str
):
    caplog.set_level(logging.INFO)
    await bot.register(MANAGER, "Liu", role=Role.MANAGER)
    # Invitations are for people not registered yet: a stranger opens those links.
    liu = emulator.person(MANAGER if "inv_" not in command else 5005, "Liu", "en")

    await liu.send(command)

    await liu.wait_for(answer)
    assert errors_in(caplog) == []
    assert not any("Sorry, something went wrong" in m.text for m in liu.messages())
    async with bot.running.core.reading() as session:
        assert (await session.get(FalseReport, 1)) is None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe{\x00}\x00", "application/json"),  # UTF-16, not UTF-8
        (b'{"update_id": 1, "message": "\xe9t\xe9"}', "application/json"),  # Latin-1 bytes
        (b"not json at all", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'{"message": {}}', "application/json"),  # no update_id
        (b'{"update_id": "7"}', "application/json"),
    ],
)
async def test_a_webhook_body_that_is_not_an_update_gets_400(
    deployment, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture, body, content_type
):
    caplog.set_level(logging.INFO)
    url = deployment.use_webhook("hostile-Secret_1")
    await deployment.start()
    await deployment.register(MANAGER, "Liu", role=Role.MANAGER)

    async with aiohttp.ClientSession() as http:
        headers = {SECRET_HEADER: "hostile-Secret_1", "Content-Type": content_type}
        async with http.post(url, data=body, headers=headers) as response:
            assert response.status == 400
            assert "update" in await response.text() or "JSON" in await response.text()

    # The bot still takes real updates afterwards.
    liu = emulator.person(MANAGER, "Liu", "en")
    await liu.send("/help")
    await liu.wait_for("/stats")
    assert errors_in(caplog) == []


async def fill_report(alice, symptom: str):
    """Alice reports her PC from its sticker up to the summary with ✅ Confirm."""
    await alice.start("asset_PC-0001")
    await alice.wait_for("What is wrong?")
    await alice.send(symptom)
    await alice.wait_for("A photo helps the engineer")
    await alice.press("No photo")
    await alice.wait_for("How badly does it affect work?")
    await alice.press("🟡 It works badly, I can still work")
    await alice.wait_for("A phone number for the engineer?")
    await alice.send("13800000000")
    return await alice.wait_for(lambda m: m.button("✅ Confirm") is not None)


async def test_a_button_of_a_cancelled_dialog_does_not_act_on_the_next_one(
    bot, alice, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    await bot.register_device("PC-0001")
    first = await fill_report(alice, "The fan is loud.")
    await alice.send("/cancel")
    await alice.wait_for("Cancelled. Nothing was changed.")
    second = await fill_report(alice, "The screen flickers.")

    stale = await alice.press("✅ Confirm", message=first)  # the first report's Confirm

    async def answered() -> bool:
        return stale.answered

    await bot.until(answered)
    assert stale.show_alert
    assert stale.answer_text == "This button belongs to a step that is already over."
    async with bot.running.core.reading() as session:
        assert (await session.scalar(select(func.count()).select_from(Ticket))) == 0

    await alice.press("✅ Confirm", message=second)  # the live one still files its report
    await alice.wait_for("Ticket #1 is open.")
    async with bot.running.core.reading() as session:
        tickets = list(await session.scalars(select(Ticket)))
    assert [ticket.symptom for ticket in tickets] == ["The screen flickers."]
    assert errors_in(caplog) == []
