"""Wording a Chinese-reading engineer and dispatcher see: deadline names, durations, levels.

A deadline still to come must not read as a status already reached ("已恢复服务"), a
Chinese duration runs together ("1小时12分钟"), and a level reads the same in the queue,
on the card and in the answer to setting it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.enums import Impact, Role
from sandbox import BotApiEmulator

pytestmark = pytest.mark.e2e

LI, WANG, CHEN = 1001, 2001, 3001


async def test_a_chinese_card_queue_and_level_read_as_one_wording(bot, emulator: BotApiEmulator):
    reporter = await bot.register(LI, "李娜", language="zh_CN")
    await bot.register(WANG, "王伟", role=Role.ENGINEER, language="zh_CN")
    await bot.register(CHEN, "陈静", role=Role.DISPATCHER, language="zh_CN")
    await bot.register_device("PC-0001")
    wang = emulator.person(WANG, "王伟", "zh-hans")
    chen = emulator.person(CHEN, "陈静", "zh-hans")
    for person in (wang, emulator.person(LI, "李娜", "zh-hans")):
        person.opened_chat_before()
    await bot.running.helpdesk.tickets.report_fault(
        reporter, symptom="电脑无法开机", impact=Impact.CANNOT_WORK, asset_tag="PC-0001"
    )

    card = await wang.wait_for("工单 #1")
    assert "二级故障（严重）" in card.text
    assert "• 恢复服务：3月2日 17:00前" in card.text  # the deadline, still to come
    assert "已恢复服务" not in card.text
    await wang.press("✅ 接单", message=card)
    await wang.wait_for(lambda m: m.message_id == card.message_id and "• 接单：✅" in m.text)

    bot.clock.advance(timedelta(minutes=48))  # 09:48: arrival due 11:00
    await wang.send("/queue")
    listing = await wang.wait_for("我的未结工单")
    assert "到场 3月2日 11:00前 · 剩余1小时12分钟" in listing.text
    assert "1小时 12分钟" not in listing.text

    await chen.send("/queue")
    queue = await chen.wait_for("#1")
    assert "1. #1 · 二级故障（严重） ·" in queue.text
    assert "2级" not in queue.text
    await chen.press("#1", message=queue)
    opened = await chen.wait_for(lambda m: m.button("🎚 设置级别") is not None)
    await chen.press("🎚 设置级别", message=opened)
    await chen.wait_for(lambda m: m.button("一级故障（紧急）") is not None)
    press = await chen.press("一级故障（紧急）", message=opened)

    async def answered() -> bool:
        return press.answered

    await bot.until(answered)
    assert press.answer_text == "已设为一级故障（紧急），时限已重新计算。"
